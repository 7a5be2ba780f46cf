/**
 * Chat under the SDK's one retry policy (src/internal/retry.ts, the same as discovery's), on the `TestClock`: a
 * scripted `HttpClient` behind `ChutesProvider.layerTest`, so the waits pass in virtual time. A `Retry-After` within
 * the cap is waited (never less than the backoff); one over the cap ends the retries at once with the error carrying
 * it; the free-models daily cap is not retried; `onRetry` hears of each retry before its wait.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as ChutesProvider from "../../src/ChutesProvider.js"
import type * as ChutesSettings from "../../src/ChutesSettings.js"
import { json, type Scripted, scriptedClient } from "../support/http.js"

const completion = json(200, {
  id: "c1",
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello after the retries" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
})

const DAILY_CAP =
  "Free models limit reached for today - maintain >= $10 balance or upgrade subscription to pro to unlock more."

/** The model over a provider whose client answers from `script`; the retry events recorded. */
const scripted = (script: ReadonlyArray<Scripted>, retry: ChutesLanguageModel.RetryOptions = {}) => {
  const { client, requests } = scriptedClient(script)
  const events: Array<ChutesSettings.RetryEvent> = []
  const layer = ChutesLanguageModel.layer({
    model: "chutes-pro",
    retry: { ...retry, onRetry: (event) => Effect.sync(() => void events.push(event)) }
  }).pipe(
    Layer.provide(ChutesProvider.layerTest({ httpClient: client })),
    Layer.orDie,
    Layer.merge(Logger.minimumLogLevel(LogLevel.Error))
  )
  return { layer, requests, events }
}

/** Lets the scripted transport answer (promise turns, not clock time). */
const settle = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))

/** Settles until `count` requests have arrived (the first call also builds the layer), or gives up. */
const requestsReach = (requests: { readonly length: number }, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500 && requests.length < count; i++) yield* settle
  })

const generate = (layer: Layer.Layer<LanguageModel.LanguageModel>) =>
  LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(layer), Effect.either)

describe("chat retries (TestClock)", () => {
  it.effect("a Retry-After within the cap is waited, not less; the hook hears of each retry before its wait", () =>
    Effect.gen(function*() {
      const { events, layer, requests } = scripted([
        json(429, { detail: "Infrastructure is at maximum capacity, try again later" }, { "retry-after": "3" }),
        json(503, { detail: "busy" }, { "retry-after": "0" }),
        completion
      ])
      const fiber = yield* Effect.fork(generate(layer))
      yield* requestsReach(requests, 1)
      assert.strictEqual(requests.length, 1)
      yield* settle
      yield* TestClock.adjust("2999 millis")
      yield* settle
      assert.strictEqual(requests.length, 1, "still waiting for Retry-After")
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.strictEqual(requests.length, 2)
      // `Retry-After: 0` does not shorten the second backoff step (500..1000 ms).
      yield* TestClock.adjust("499 millis")
      yield* settle
      assert.strictEqual(requests.length, 2, "Retry-After: 0 waits the backoff")
      yield* TestClock.adjust("501 millis")
      yield* settle
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isRight(result) && result.right.text === "Hello after the retries")
      assert.strictEqual(requests.length, 3)
      assert.deepStrictEqual(
        events.map((e) => [e.operation, e.attempt, e.maxAttempts, e.reason]),
        [["chat", 2, 4, "HTTP 429"], ["chat", 3, 4, "HTTP 503"]]
      )
      assert.strictEqual(Duration.toMillis(events[0]!.delay), 3000)
      assert.isTrue(ChutesAiError.isChutesAiError(events[0]!.error))
    }))

  it.effect("a Retry-After over the cap ends the retries at once, the error carrying it", () =>
    Effect.gen(function*() {
      const { events, layer, requests } = scripted([json(429, { detail: "slow down" }, { "retry-after": "120" }), completion])
      // No clock moves: the call ends without waiting.
      const result = yield* generate(layer)
      assert.strictEqual(requests.length, 1)
      assert.deepStrictEqual(events, [])
      const error = Either.isLeft(result) ? result.left : undefined
      assert.strictEqual(ChutesAiError.kind(error), "RateLimited")
      assert.strictEqual(error?._tag === "HttpResponseError" && error.response.headers["retry-after"], "120")
    }))

  it.effect("the free-models daily cap is not retried; it says when it resets", () =>
    Effect.gen(function*() {
      const { events, layer, requests } = scripted([json(429, { detail: DAILY_CAP }), completion])
      const result = yield* generate(layer)
      assert.strictEqual(requests.length, 1)
      assert.deepStrictEqual(events, [])
      const error = Either.isLeft(result) ? result.left : undefined
      assert.strictEqual(ChutesAiError.kind(error), "DailyCapReached")
      assert.isFalse(ChutesAiError.isRetryable(error))
      // The TestClock stands at the epoch: the next 00:00 UTC is a day later.
      assert.include(error?.description, "resets at 1970-01-02 00:00 UTC (in 24 h 0 min)")
    }))

  it.effect("the default policy: 3 retries (4 attempts), backoff from 500 ms, then the last error", () =>
    Effect.gen(function*() {
      const { events, layer, requests } = scripted([json(503, { detail: "busy" })])
      const fiber = yield* Effect.fork(generate(layer))
      for (let i = 0; i < 10 && Option.isNone(yield* Fiber.poll(fiber)); i++) {
        yield* settle
        yield* TestClock.adjust("1 second")
      }
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(requests.length, 4)
      assert.strictEqual(ChutesAiError.kind(Either.isLeft(result) ? result.left : undefined), "ServiceUnavailable")
      const delays = events.map((e) => Duration.toMillis(e.delay))
      assert.deepStrictEqual(events.map((e) => e.attempt), [2, 3, 4])
      for (const [index, delay] of delays.entries()) {
        assert.isTrue(delay >= 250 * 2 ** index && delay <= 500 * 2 ** index, `retry ${index + 1}: ${delay} ms`)
      }
    }))

  it.effect("streaming retries before the answer, with the same policy", () =>
    Effect.gen(function*() {
      const { layer, requests } = scripted([
        json(429, { detail: "busy" }, { "retry-after": "2" }),
        { status: 200, body: "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"streamed\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", headers: { "content-type": "text/event-stream" } }
      ])
      const fiber = yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(
        Stream.runCollect,
        Effect.provide(layer),
        Effect.fork
      )
      yield* requestsReach(requests, 1)
      yield* settle
      yield* TestClock.adjust("1999 millis")
      yield* settle
      assert.strictEqual(requests.length, 1)
      yield* TestClock.adjust("1 millis")
      yield* settle
      const parts = Array.from(yield* Fiber.join(fiber))
      assert.strictEqual(requests.length, 2)
      assert.strictEqual(parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join(""), "streamed")
    }))
})
