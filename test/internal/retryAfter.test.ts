/**
 * The SDK's one retry schedule (src/internal/retry.ts), on its own: the backoff arithmetic, and `Retry-After`, which
 * can lengthen a retry's wait but never shorten it below the backoff (`0`, `-1`, `1.5` or a date in the past must not
 * turn retries into a tight loop against a struggling service), and which ends the retries when it is over the cap.
 * The delays are the schedule's own, run with the jitter pinned (`Random.fixed`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ChutesSettings from "../../src/ChutesSettings.js"
import * as Retry from "../../src/internal/retry.js"

const policy = ChutesSettings.makeRetryPolicy()
const now = Date.UTC(2026, 11, 5, 12, 0, 0)

/** A failure as the test writes it: retryable unless said otherwise, with a `Retry-After` header or not. */
interface Failure {
  readonly retryAfter?: string | undefined
  readonly retryable?: boolean | undefined
}

const retrying: Retry.Retrying<Failure> = {
  operation: "test",
  judge: (failure) => ({
    retryable: failure.retryable ?? true,
    retryAfterMillis: Retry.parseRetryAfter(failure.retryAfter, now),
    reason: "test"
  })
}

/**
 * The waits the schedule decides for these failures in turn, as its `onRetry` hook hears them: one per retry, none
 * once it ends the retries.
 */
const delays = (failures: ReadonlyArray<Failure>, random: number, options: ChutesSettings.RetryOptions = {}) =>
  Effect.suspend(() => {
    const waits: Array<number> = []
    const policy = ChutesSettings.makeRetryPolicy({
      ...options,
      onRetry: (event) =>
        Effect.zipRight(Effect.sync(() => void waits.push(Duration.toMillis(event.delay))), options.onRetry?.(event) ?? Effect.void)
    })
    return Schedule.run(Retry.schedule(policy, retrying), 0, failures).pipe(
      Effect.withRandom(Random.fixed([random])),
      Effect.as(waits)
    )
  })

describe("the backoff", () => {
  it.effect("doubles the step from 500 ms up to 8 s, with half of it jittered", () =>
    Effect.gen(function*() {
      const six = Array.from({ length: 6 }, () => ({}))
      assert.deepStrictEqual(yield* delays(six, 0, { maxRetries: 6 }), [250, 500, 1000, 2000, 4000, 4000])
      assert.deepStrictEqual(yield* delays(six, 1, { maxRetries: 6 }), [500, 1000, 2000, 4000, 8000, 8000])
    }))

  it.effect("the default policy: 3 retries, then the retries end", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        [policy.maxRetries, ...[policy.baseDelay, policy.maxDelay, policy.retryAfterCap].map(Duration.toMillis)],
        [3, 500, 8000, 30_000]
      )
      assert.deepStrictEqual(yield* delays(Array.from({ length: 10 }, () => ({})), 1), [500, 1000, 2000])
    }))

  it.effect("a failure that is not retryable ends the retries", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* delays([{}, { retryable: false }, {}], 1), [500])
    }))
})

describe("Retry-After and the backoff", () => {
  for (const header of ["0", "-1", "1.5", "Thu, 01 Jan 2026 00:00:00 GMT", "  0  "]) {
    it.effect(`${JSON.stringify(header)} waits the backoff step`, () =>
      Effect.gen(function*() {
        const withHeader = yield* delays([{ retryAfter: header }, { retryAfter: header }, { retryAfter: header }], 0)
        assert.deepStrictEqual(withHeader, yield* delays([{}, {}, {}], 0))
        for (const delay of withHeader) assert.isAtLeast(delay, 250)
      }))
  }

  it("reads neither a negative nor a fractional number as a date", () => {
    assert.isUndefined(Retry.parseRetryAfter("-1", now))
    assert.isUndefined(Retry.parseRetryAfter("1.5", now))
    assert.strictEqual(Retry.parseRetryAfter("Sat, 05 Dec 2026 12:00:09 GMT", now), 9000)
  })

  it("parses Retry-After seconds and dates", () => {
    assert.strictEqual(Retry.parseRetryAfter("7", 0), 7000)
    assert.strictEqual(Retry.parseRetryAfter("Wed, 21 Oct 2015 07:28:05 GMT", Date.UTC(2015, 9, 21, 7, 28, 0)), 5000)
    assert.isUndefined(Retry.parseRetryAfter("soon", 0))
    assert.isUndefined(Retry.parseRetryAfter(undefined, 0))
  })

  it.effect("a longer Retry-After within the cap wins over the backoff", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* delays([{ retryAfter: "12" }, {}], 0.5), [12_000, 750])
      assert.deepStrictEqual(yield* delays([{ retryAfter: "30" }], 0.5), [30_000], "the cap itself is waited")
    }))

  it.effect("a Retry-After over the cap ends the retries: no wait of the cap, no wait at all", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* delays([{ retryAfter: "120" }, {}], 0.5), [])
      assert.deepStrictEqual(yield* delays([{}, { retryAfter: "31" }, {}], 0.5), [375])
      assert.deepStrictEqual(yield* delays([{ retryAfter: "120" }], 0.5, { retryAfterCap: "5 minutes" }), [120_000])
    }))
})

describe("the free-models daily cap", () => {
  it("is a 429 saying so; a capacity 429 is not", () => {
    const free = "Free models limit reached for today - maintain >= $10 balance or upgrade subscription to pro to unlock more."
    assert.isTrue(Retry.isDailyCap(429, JSON.stringify({ detail: free })))
    assert.isTrue(Retry.isDailyCap(429, "Daily limit reached"))
    assert.isFalse(Retry.isDailyCap(429, "Infrastructure is at maximum capacity, try again later"))
    assert.isFalse(Retry.isDailyCap(429, undefined))
    assert.isFalse(Retry.isDailyCap(503, free))
  })
})

describe("the onRetry hook", () => {
  it.effect("is told of each retry before its wait, and of nothing else", () =>
    Effect.gen(function*() {
      const events: Array<ChutesSettings.RetryEvent> = []
      const onRetry = (event: ChutesSettings.RetryEvent) => Effect.sync(() => void events.push(event))
      const result = yield* delays([{}, { retryAfter: "3" }, { retryAfter: "120" }], 1, { onRetry })
      assert.deepStrictEqual(result, [500, 3000])
      assert.deepStrictEqual(
        events.map((e) => [e.operation, e.attempt, e.maxAttempts, e.reason, Duration.toMillis(e.delay)]),
        [["test", 2, 4, "test", 500], ["test", 3, 4, "test", 3000]]
      )
    }))
})
