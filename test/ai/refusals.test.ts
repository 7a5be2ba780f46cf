/**
 * The gateway's 402 and 429 refusals as kinds a program matches on (issue 16, point 4): quota exhausted (with
 * `resetsAt`), subscription cap, TEE without subscription or balance, a creator with zero balance, capacity (retried),
 * the free-models daily cap (not retried), the edge limiter's HTML page. Over loopback against FakeChutes' `Refusal`
 * faults (the live bodies), and on the `TestClock` for the "resets in …" wording.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Match from "effect/Match"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as Errors from "../../src/ai/internal/errors.js"
import * as ChutesProvider from "../../src/ChutesProvider.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { json, scriptedClient } from "../support/http.js"
import { modelLayer } from "./harness.js"

const retry = { maxRetries: 2, baseDelay: "1 millis", maxDelay: "2 millis" } as const

interface Case {
  readonly refusal: Extract<FakeChutes.Fault, { readonly _tag: "Refusal" }>["refusal"]
  readonly kind: ChutesAiError.Kind
  readonly status: number
  /** Requests the call made with 2 retries allowed. */
  readonly requests: number
  readonly says: RegExp
}

const cases: ReadonlyArray<Case> = [
  { refusal: "QuotaExceeded", kind: "QuotaExceeded", status: 402, requests: 1, says: /quota resets \d{4}-\d\d-\d\d 00:00 UTC \(in \d+ h \d+ min|in \d+ min/ },
  { refusal: "QuotaExceededNoQuota", kind: "QuotaExceeded", status: 402, requests: 1, says: /balance is \$-0\.059/ },
  { refusal: "SubscriptionCap", kind: "SubscriptionCapReached", status: 402, requests: 1, says: /usage cap/ },
  { refusal: "TeeRequiresSubscription", kind: "TeeRequiresSubscription", status: 402, requests: 1, says: /TEE models/ },
  { refusal: "CreatorZeroBalance", kind: "CreatorZeroBalance", status: 402, requests: 1, says: /creator's balance is zero, not yours/ },
  { refusal: "Capacity", kind: "Capacity", status: 429, requests: 3, says: /at capacity/ },
  { refusal: "FreeModelsDailyCap", kind: "DailyCapReached", status: 429, requests: 1, says: /resets at \d{4}-\d\d-\d\d 00:00 UTC \(in / },
  { refusal: "EdgeLimiter", kind: "EdgeRateLimited", status: 429, requests: 3, says: /edge rate limiter/ }
]

describe("402 and 429 kinds", () => {
  for (const c of cases) {
    it.scopedLive(`${c.refusal} -> ${c.kind} (${c.requests === 1 ? "not retried" : "retried"})`, () =>
      Effect.gen(function*() {
        const fake = yield* FakeChutes.make()
        fake.fault({ _tag: "Refusal", route: "chat", refusal: c.refusal })
        const error = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
          Effect.provide(modelLayer(fake, { retry })),
          Effect.flip
        )
        assert.instanceOf(error, ChutesAiError.HttpResponseError)
        const typed = error as ChutesAiError.HttpResponseError
        assert.strictEqual(typed.kind, c.kind, "the kind is a field")
        assert.strictEqual(ChutesAiError.kind(error), c.kind)
        assert.strictEqual(typed.response.status, c.status)
        assert.match(typed.description ?? "", c.says)
        assert.strictEqual(fake.counters.chat, c.requests)
        assert.strictEqual(ChutesAiError.isRetryable(error), c.requests > 1)
      }))
  }

  it.scopedLive("streamText meets the same kinds (a 402 is plain JSON even for a stream)", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "SubscriptionCap" })
      const error = yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(
        Stream.runDrain,
        Effect.provide(modelLayer(fake)),
        Effect.flip
      )
      assert.strictEqual(ChutesAiError.kind(error), "SubscriptionCapReached")
    }))

  it.scopedLive("QuotaExceeded carries resetsAt from quota_reset_timestamp (the next 00:00 UTC of the fake's clock)", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "QuotaExceeded" })
      const error = (yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake)),
        Effect.flip
      )) as ChutesAiError.HttpResponseError
      const midnight = new Date(fake.now)
      midnight.setUTCHours(24, 0, 0, 0)
      assert.isDefined(error.resetsAt)
      assert.strictEqual(DateTime.toEpochMillis(error.resetsAt!), midnight.getTime())
    }))

  it.scopedLive("the account's own 402 (quota used up, balance 0) is QuotaExceeded too", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.account.set({ balance: 0, quotaUsage: { me: { quota: 5, used: 5 } } })
      const error = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake)),
        Effect.flip
      )
      assert.strictEqual(ChutesAiError.kind(error), "QuotaExceeded")
      assert.isDefined((error as ChutesAiError.HttpResponseError).resetsAt)
    }))

  it.scopedLive("CreatorZeroBalance and DailyCapReached fail over to the next model; the 402s of the account do not", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "CreatorZeroBalance", times: 1 })
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "FreeModelsDailyCap", times: 1 })
      const layer = modelLayer(fake, {
        model: "zai-org/GLM-5-TEE",
        fallbackModels: ["zai-org/GLM-5.1-TEE", "deepseek-ai/DeepSeek-V3.2-TEE"],
        retry
      })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(
        ChutesLanguageModel.responseInfo(response)?.failover.map((step) => step.kind),
        ["CreatorZeroBalance", "DailyCapReached"]
      )
      assert.strictEqual(fake.counters.chat, 3)
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "TeeRequiresSubscription" })
      const error = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(layer), Effect.flip)
      assert.strictEqual(ChutesAiError.kind(error), "TeeRequiresSubscription")
      assert.strictEqual(fake.counters.chat, 4, "no failover, no retry")
    }))

  it("a program matches on the kind, no text parsed", () => {
    const advice = (kind: ChutesAiError.Kind | undefined) =>
      Match.value(kind).pipe(
        Match.when("QuotaExceeded", () => "wait for the reset or add balance"),
        Match.when("DailyCapReached", () => "free models again at 00:00 UTC"),
        Match.whenOr("Capacity", "EdgeRateLimited", "RateLimited", () => "try again in a minute"),
        Match.orElse(() => "other")
      )
    const error = (kind: ChutesAiError.Kind) =>
      Errors.responseError({ method: "generateText", url: "http://x", status: 429, headers: {}, kind, text: "no words" })
    assert.strictEqual(advice(ChutesAiError.kind(error("DailyCapReached"))), "free models again at 00:00 UTC")
    assert.strictEqual(advice(ChutesAiError.kind(error("Capacity"))), "try again in a minute")
  })
})

describe("reset times on the TestClock", () => {
  const scripted = (body: unknown, status: number) => {
    const { client, requests } = scriptedClient([json(status, body)])
    const layer = ChutesLanguageModel.layer({ model: "chutes-pro", retry: { maxRetries: 0 } }).pipe(
      Layer.provide(ChutesProvider.layerTest({ httpClient: client })),
      Layer.orDie,
      Layer.merge(Logger.minimumLogLevel(LogLevel.Error))
    )
    return { layer, requests }
  }

  it.effect("QuotaExceeded: the reset as a UTC time and in N h M min", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-06-11T20:47:30Z"))
      const { layer } = scripted({
        detail: {
          message: "Quota exceeded and account balance is $0.0, please pay with fiat or send tao to 5HGj",
          quota_reset_timestamp: "2026-06-12T00:00:00+00:00"
        }
      }, 402)
      const error = (yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(layer),
        Effect.flip
      )) as ChutesAiError.HttpResponseError
      assert.strictEqual(error.kind, "QuotaExceeded")
      assert.include(error.description, "the quota resets 2026-06-12 00:00 UTC (in 3 h 13 min)")
      assert.strictEqual(DateTime.formatIso(error.resetsAt!), "2026-06-12T00:00:00.000Z")
    }))

  it.effect("DailyCapReached: resets at the next 00:00 UTC, minutes only when under an hour", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-06-11T23:15:00Z"))
      const { layer, requests } = scripted({
        detail: "Free models limit reached for today - maintain >= $10 balance or upgrade subscription to pro to " +
          "unlock more."
      }, 429)
      const error = (yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(layer),
        Effect.flip
      )) as ChutesAiError.HttpResponseError
      assert.strictEqual(error.kind, "DailyCapReached")
      assert.include(error.description, "it resets at 2026-06-12 00:00 UTC (in 45 min)")
      assert.strictEqual(DateTime.formatIso(error.resetsAt!), "2026-06-12T00:00:00.000Z")
      assert.strictEqual(requests.filter((r) => r.url.endsWith("/chat/completions")).length, 1)
    }))

  it("resetsAt survives the ChutesAiError schema", () => {
    const error = Errors.responseError({
      method: "generateText",
      url: "http://x",
      status: 402,
      headers: {},
      kind: "QuotaExceeded",
      text: "x",
      resetsAt: Date.parse("2026-06-12T00:00:00Z")
    })
    const encoded = JSON.parse(JSON.stringify(Schema.encodeSync(ChutesAiError.ChutesAiError)(error)))
    assert.strictEqual(encoded.resetsAt, "2026-06-12T00:00:00.000Z")
    const decoded = Schema.decodeUnknownSync(ChutesAiError.ChutesAiError)(encoded)
    assert.strictEqual(decoded._tag === "HttpResponseError" && DateTime.formatIso(decoded.resetsAt!), encoded.resetsAt)
  })
})
