/**
 * Failures as typed `AiError`s (the status table of docs/ai.md, "Errors"), retries before the first byte only, mid-stream errors, and
 * redaction — over loopback against FakeChutes.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as ChutesCredentials from "../../src/ChutesCredentials.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { modelLayer } from "./harness.js"

const fastRetry = (maxRetries: number): ChutesLanguageModel.RetryOptions => ({
  maxRetries,
  baseDelay: "1 millis",
  maxDelay: "5 millis"
})

/** The error of one `generateText`, checked to hold no secret. */
const failure = (
  fake: FakeChutes.FakeChutesServer,
  options: Parameters<typeof modelLayer>[1] = {}
) =>
  LanguageModel.generateText({ prompt: "Hi" }).pipe(
    Effect.provide(modelLayer(fake, options)),
    Effect.flip,
    Effect.tap((error) =>
      Effect.sync(() => {
        for (const text of [JSON.stringify(error), error.message, String(error)]) {
          assert.notInclude(text, fake.apiKey)
          assert.notInclude(text, fake.apiKey.slice(4, 40))
        }
      })
    )
  )

const statusOf = (error: AiError.AiError): number | undefined =>
  error._tag === "HttpResponseError" ? error.response.status : undefined

/** A stream's parts up to its failure, and the failure. */
const partsAndError = <R>(stream: Stream.Stream<Response.StreamPart<{}>, AiError.AiError, R>) =>
  stream.pipe(
    Stream.either,
    Stream.runCollect,
    Effect.map((chunk) => {
      const items = Array.from(chunk)
      const parts = items.flatMap((item) => (Either.isRight(item) ? [item.right] : []))
      const errors = items.flatMap((item) => (Either.isLeft(item) ? [item.left] : []))
      return { parts, error: errors[0] }
    })
  )

describe("HTTP status table", () => {
  it.scopedLive("400 -> BadRequest with the service's detail; not retried", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ status: 400, body: { detail: "temperature must be <= 2" } })
      const error = yield* failure(fake, { retry: fastRetry(3) })
      assert.instanceOf(error, AiError.HttpResponseError)
      assert.strictEqual(ChutesAiError.kind(error), "BadRequest")
      assert.strictEqual(statusOf(error), 400)
      assert.include(error.description, "temperature must be <= 2")
      assert.strictEqual(fake.counters.chat, 1)
    }))

  it.scopedLive("401 with an API key -> Unauthorized, naming the key by its last 4 characters only", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const secret = `cpk_${"f".repeat(32)}.${"e".repeat(32)}.rejectedKeyrejectedKeyrejectedXYZW`
      const error = yield* failure(fake, {
        credentials: ChutesCredentials.layerStatic(ChutesCredentials.make({ kind: "api_key", source: "test", secret })),
        retry: fastRetry(3)
      })
      assert.strictEqual(ChutesAiError.kind(error), "Unauthorized")
      assert.strictEqual(statusOf(error), 401)
      assert.include(error.description, "…XYZW")
      assert.notInclude(JSON.stringify(error), secret.slice(0, 40))
      assert.strictEqual(fake.counters.chat, 1)
    }))

  it.scopedLive("402 -> QuotaExceeded with the detail object's message and reset time", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Status", route: "chat", status: 402 })
      const error = yield* failure(fake)
      assert.strictEqual(ChutesAiError.kind(error), "QuotaExceeded")
      assert.include(error.description, "Quota exceeded")
      assert.include(error.description, "the quota resets 2026-11-26 00:00 UTC")
    }))

  it.scopedLive("403 naming the scope -> MissingScope, saying chutes:invoke", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ status: 403, body: { detail: "Insufficient scope" } })
      const error = yield* failure(fake)
      assert.strictEqual(ChutesAiError.kind(error), "MissingScope")
      assert.include(error.description, "chutes:invoke")
    }))

  it.scopedLive("404 model not found -> ModelNotFound with did-you-mean from the catalog; not retried", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const error = yield* failure(fake, { model: "zai-org/GLM-4.7-TEE", retry: fastRetry(3) })
      assert.strictEqual(ChutesAiError.kind(error), "ModelNotFound")
      assert.include(error.description, "model not found: zai-org/GLM-4.7-TEE")
      assert.include(error.description, "did you mean \"chutes/zai-org/GLM-5")
      assert.strictEqual(fake.counters.chat, 1)
    }))

  it.scopedLive("429 -> RateLimited, retried with backoff, then the error", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Status", route: "chat", status: 429 })
      const error = yield* failure(fake, { retry: fastRetry(2) })
      assert.strictEqual(ChutesAiError.kind(error), "RateLimited")
      assert.isTrue(ChutesAiError.isRetryable(error))
      assert.strictEqual(fake.counters.chat, 3)
    }))

  it.scopedLive("429 twice, then an answer: retried, and the answer comes through", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Status", route: "chat", status: 429, times: 2 })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, { retry: fastRetry(2) }))
      )
      assert.strictEqual(response.text, "Hello from FakeChutes")
      assert.strictEqual(fake.counters.chat, 3)
    }))

  it.scopedLive("a Retry-After beyond the cap ends the retries", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Status", route: "chat", status: 429, headers: { "retry-after": "120" } })
      const error = yield* failure(fake, { retry: { ...fastRetry(3), retryAfterCap: "10 seconds" } })
      assert.strictEqual(ChutesAiError.kind(error), "RateLimited")
      assert.strictEqual(fake.counters.chat, 1)
      assert.strictEqual(error._tag === "HttpResponseError" && error.response.headers["retry-after"], "120")
    }))

  it.scopedLive("503 No instances -> NoInstances; another 503 -> ServiceUnavailable; 500 / 502 -> ServerError", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.setAvailability("zai-org/GLM-5-TEE", "no-instances")
      const none = yield* failure(fake, { retry: fastRetry(1) })
      assert.strictEqual(ChutesAiError.kind(none), "NoInstances")
      assert.strictEqual(statusOf(none), 503)
      assert.strictEqual(fake.counters.chat, 2)
      fake.reset()
      fake.fault({ _tag: "Status", route: "chat", status: 503, times: 1 })
      assert.strictEqual(ChutesAiError.kind(yield* failure(fake)), "ServiceUnavailable")
      fake.fault({ _tag: "Status", route: "chat", status: 500, times: 1 })
      assert.strictEqual(ChutesAiError.kind(yield* failure(fake)), "ServerError")
      fake.fault({ _tag: "Html", route: "chat", status: 502, times: 1 })
      const html = yield* failure(fake)
      assert.strictEqual(ChutesAiError.kind(html), "ServerError")
      assert.include(html.description, "HTML page: chutes.ai | 502: Bad Gateway")
    }))

  it.scopedLive("errors before the stream starts are the same typed errors", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const error = yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(
        Stream.runDrain,
        Effect.provide(modelLayer(fake, { model: "zai-org/GLM-4.7-TEE" })),
        Effect.flip
      )
      assert.strictEqual(ChutesAiError.kind(error), "ModelNotFound")
    }))

  it.scopedLive("a secret echoed in an error body is scrubbed", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ status: 400, body: { detail: `bad request from Bearer ${fake.apiKey}` } })
      const error = yield* failure(fake)
      assert.include(error.description, "<redacted>")
    }))

  it.live("the service unreachable -> HttpRequestError / Transport, retried", () =>
    Effect.gen(function*() {
      const fake = yield* Effect.promise(() => FakeChutes.start())
      yield* Effect.promise(() => fake.close())
      const error = yield* failure(fake, { retry: fastRetry(1) })
      assert.instanceOf(error, AiError.HttpRequestError)
      assert.strictEqual(ChutesAiError.kind(error), "Transport")
      assert.include(error.description, "ECONNREFUSED")
    }))
})

describe("mid-stream errors", () => {
  it.scopedLive("a raw {\"error\": …} line without data: -> ServiceError after the earlier parts; no retry", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({
        content: "Zwölf Boxkämpfer jagen Viktor",
        stream: { deltaChars: 4, errorAfter: 4, error: { message: "CUDA out of memory", code: 500 } }
      })
      const { error, parts } = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(modelLayer(fake, { retry: fastRetry(3) }))
      )
      assert.isDefined(error)
      assert.instanceOf(error, AiError.UnknownError)
      assert.strictEqual(ChutesAiError.kind(error), "ServiceError")
      assert.include(error?.description, "CUDA out of memory (code 500)")
      assert.strictEqual(
        parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join(""),
        "Zwölf Boxkäm",
        "the parts before the error arrive"
      )
      assert.strictEqual(fake.counters.chat, 1, "no retry after the first byte")
    }))

  it.scopedLive("a data: {\"error\": …} event is the same error", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "abc", stream: { errorAfter: 1, errorPrefixed: true } })
      const { error } = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(modelLayer(fake))
      )
      assert.strictEqual(ChutesAiError.kind(error), "ServiceError")
    }))

  it.scopedLive("no hang when the service keeps the connection open after the error line or after [DONE]", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script(
        { content: "abc", stream: { errorAfter: 2, keepOpen: true } },
        { content: "abc", stream: { keepOpen: true } }
      )
      const layer = modelLayer(fake)
      const failed = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(layer),
        Effect.timeoutOption(Duration.seconds(10))
      )
      assert.isTrue(Option.isSome(failed), "the stream ended")
      assert.strictEqual(ChutesAiError.kind(Option.getOrUndefined(failed)?.error), "ServiceError")
      const done = yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(
        Stream.runCollect,
        Effect.provide(layer),
        Effect.timeoutOption(Duration.seconds(10))
      )
      assert.isTrue(Option.isSome(done), "the stream ended at [DONE]")
    }))

  it.scopedLive("a stream that ends before the model finished -> StreamTruncated", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "abc", finishReason: null, stream: { omitDone: true, usage: "none" } })
      const { error } = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(modelLayer(fake))
      )
      assert.strictEqual(ChutesAiError.kind(error), "StreamTruncated")
    }))
})

describe("the kind on the error a program sees", () => {
  it.scopedLive("a status error is @effect/ai's HttpResponseError with the kind as a field", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Status", route: "chat", status: 402 })
      const error = yield* failure(fake)
      assert.instanceOf(error, AiError.HttpResponseError)
      assert.instanceOf(error, ChutesAiError.HttpResponseError)
      assert.strictEqual(error instanceof ChutesAiError.HttpResponseError && error.kind, "QuotaExceeded")
    }))

  it.scopedLive("a mid-stream error is @effect/ai's UnknownError with the kind as a field", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "abc", stream: { errorAfter: 1, errorPrefixed: true } })
      const { error } = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(modelLayer(fake))
      )
      assert.instanceOf(error, ChutesAiError.UnknownError)
      assert.strictEqual(error instanceof ChutesAiError.UnknownError && error.kind, "ServiceError")
    }))

  it.scopedLive("a program handles one kind with catchIf and leaves the others", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ status: 402, body: { detail: "Quota exceeded" } }, { status: 400, body: { detail: "bad" } })
      const layer = modelLayer(fake)
      const answer = LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.map((response) => response.text),
        Effect.catchIf(
          (error) => ChutesAiError.kind(error) === "QuotaExceeded",
          () => Effect.succeed("out of quota")
        ),
        Effect.provide(layer)
      )
      assert.strictEqual(yield* answer, "out of quota")
      const other = yield* Effect.flip(answer)
      assert.strictEqual(ChutesAiError.kind(other), "BadRequest")
    }))
})
