/**
 * Bounded reads over loopback: hostile answers (an endless or trickling completion body, a stream held open with
 * `: keep-alive` comments, an endless SSE line, endless tool-call arguments) end in typed `AiError`s, fast, under
 * small caps and short deadlines; honest answers (a slow but steady stream) are not cut. And a 404 for a retired model
 * names its successor.
 *
 * Every hostile case is wrapped in a test-side `timeoutOption`: without the bounds the call would hang (or, without
 * the fake's own write caps, read until memory ran out), and the test fails instead of waiting.
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
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { modelLayer } from "./harness.js"
import { hostileServer } from "./hostile.js"

/** A stream's parts up to its failure, and the failure; `None` if it did not end within 10 s. */
const partsAndError = <R>(stream: Stream.Stream<Response.StreamPart<{}>, AiError.AiError, R>) =>
  stream.pipe(
    Stream.either,
    Stream.runCollect,
    Effect.map((chunk) => {
      const items = Array.from(chunk)
      return {
        parts: items.flatMap((item) => (Either.isRight(item) ? [item.right] : [])),
        error: items.flatMap((item) => (Either.isLeft(item) ? [item.left] : []))[0]
      }
    }),
    Effect.timeoutOption(Duration.seconds(10))
  )

const textOf = (parts: ReadonlyArray<Response.StreamPart<{}>>) =>
  parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")

describe("non-streaming: body cap and deadline", () => {
  it.scopedLive("an endless chunked 2xx body -> InvalidResponse at the byte cap, having read little past it", () =>
    Effect.gen(function*() {
      const server = yield* hostileServer("endless", 8 * 1024 * 1024)
      const result = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(server, { limits: { maxBodyBytes: 1024 * 1024 } })),
        Effect.flip,
        Effect.timeoutOption(Duration.seconds(10))
      )
      assert.isTrue(Option.isSome(result), "the call ended")
      const error = Option.getOrThrow(result)
      assert.instanceOf(error, AiError.MalformedOutput)
      assert.strictEqual(ChutesAiError.kind(error), "InvalidResponse")
      assert.include(error.description, "larger than 1048576 bytes")
      assert.include(error.description, "limits.maxBodyBytes")
      // The client hung up at the cap instead of draining the answer: the server saw the connection close before it
      // had written its 8 MiB. (How far past 1 MiB it got depends on the kernel's socket buffers, not on the SDK.)
      yield* Effect.sleep(Duration.millis(50))
      assert.isTrue(server.hungUp(), "the client closed the connection")
      assert.isBelow(server.written(), 8 * 1024 * 1024, `the server wrote ${server.written()} bytes`)
    }))

  it.scopedLive("a content-length over the cap fails before the body is read", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "x".repeat(200_000) })
      const error = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, { limits: { maxBodyBytes: 64 * 1024 } })),
        Effect.flip
      )
      assert.strictEqual(ChutesAiError.kind(error), "InvalidResponse")
      assert.match(error.description ?? "", /larger than 65536 bytes \(content-length \d+; limits\.maxBodyBytes\)/)
      // Under the cap, the same answer comes through.
      fake.chat.script({ content: "x".repeat(200_000) })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, { limits: { maxBodyBytes: 1024 * 1024 } }))
      )
      assert.strictEqual(response.text.length, 200_000)
    }))

  it.scopedLive("a body that trickles forever -> Timeout at the completion deadline", () =>
    Effect.gen(function*() {
      const server = yield* hostileServer("trickle")
      const result = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(server, { timeouts: { completion: "400 millis" } })),
        Effect.flip,
        Effect.timeoutOption(Duration.seconds(10))
      )
      assert.isTrue(Option.isSome(result), "the call ended")
      const error = Option.getOrThrow(result)
      assert.instanceOf(error, AiError.UnknownError)
      assert.strictEqual(ChutesAiError.kind(error), "Timeout")
      assert.include(error.description, "within 400ms (timeouts.completion)")
      assert.isFalse(ChutesAiError.isRetryable(error))
      // The deadline interrupted the read: the connection was closed, not left trickling.
      yield* Effect.sleep(Duration.millis(50))
      assert.isTrue(server.hungUp(), "the client closed the connection")
    }))

  it.scopedLive("no answer at all (headers never sent) -> Timeout at the completion deadline", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Delay", route: "chat", millis: 60_000 })
      const result = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, { timeouts: { completion: "300 millis" } })),
        Effect.flip,
        Effect.timeoutOption(Duration.seconds(10))
      )
      assert.strictEqual(ChutesAiError.kind(Option.getOrUndefined(result)), "Timeout")
    }))
})

describe("streams: time to first event, idle timeout, size caps", () => {
  it.scopedLive("`: keep-alive` every 50 ms after two events does not hold the stream: Timeout at the idle limit", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "abcdefgh", stream: { deltaChars: 4, hang: { after: 2, keepAliveMillis: 50 } } })
      const started = Date.now()
      const result = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(modelLayer(fake, { timeouts: { idle: "400 millis" } }))
      )
      assert.isTrue(Option.isSome(result), "the stream ended")
      const { error, parts } = Option.getOrThrow(result)
      assert.instanceOf(error, AiError.UnknownError)
      assert.strictEqual(ChutesAiError.kind(error), "Timeout")
      assert.include(error?.description, "sent no data for 400ms (timeouts.idle; keep-alive comments do not count)")
      assert.strictEqual(textOf(parts), "abcd", "the parts before the stall arrive")
      assert.isBelow(Date.now() - started, 5_000)
    }))

  it.scopedLive("headers, then only keep-alives -> Timeout at the first-event limit", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "abc", stream: { hang: { after: 0, keepAliveMillis: 50 } } })
      const result = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(modelLayer(fake, { timeouts: { firstEvent: "400 millis" } }))
      )
      assert.isTrue(Option.isSome(result), "the stream ended")
      const { error, parts } = Option.getOrThrow(result)
      assert.strictEqual(ChutesAiError.kind(error), "Timeout")
      assert.include(error?.description, "sent no data within 400ms of the call (timeouts.firstEvent)")
      assert.deepStrictEqual(parts, [])
    }))

  it.scopedLive("no headers at all -> Timeout at the first-event limit", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Delay", route: "chat", millis: 60_000 })
      const result = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(modelLayer(fake, { timeouts: { firstEvent: "300 millis" } }))
      )
      const error = Option.getOrUndefined(result)?.error
      assert.strictEqual(ChutesAiError.kind(error), "Timeout")
      assert.include(error?.description, "No answer from Chutes within 300ms of the call (timeouts.firstEvent)")
    }))

  it.scopedLive("a slow but steady stream is not cut: each data event resets the idle limit", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      // 8 events 150 ms apart: 1.2 s in all, over an idle limit of 400 ms and a first-event limit of 400 ms.
      fake.chat.script({ content: "abcdefghijkl", stream: { deltaChars: 2, intervalMillis: 150 } })
      const parts = yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(
        Stream.runCollect,
        Effect.map((chunk) => Array.from(chunk)),
        Effect.provide(modelLayer(fake, { timeouts: { idle: "400 millis", firstEvent: "400 millis" } }))
      )
      assert.strictEqual(textOf(parts), "abcdefghijkl")
      assert.strictEqual(parts.at(-1)?.type, "finish")
    }))

  it.scopedLive("timeouts.stream bounds a whole stream that keeps sending", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "abcdefghijkl", stream: { deltaChars: 1, intervalMillis: 100 } })
      const result = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(modelLayer(fake, { timeouts: { stream: "450 millis" } }))
      )
      const { error, parts } = Option.getOrThrow(result)
      assert.strictEqual(ChutesAiError.kind(error), "Timeout")
      assert.include(error?.description, "did not end within 450ms (timeouts.stream)")
      assert.isAbove(textOf(parts).length, 0)
    }))

  it.scopedLive("one SSE line that never ends -> InvalidResponse at the line cap, not memory exhaustion", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "abc", stream: { flood: { after: 2, kind: "line", maxBytes: 4 * 1024 * 1024 } } })
      const result = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(modelLayer(fake, { limits: { maxLineLength: 256 * 1024 } }))
      )
      assert.isTrue(Option.isSome(result), "the stream ended")
      const { error } = Option.getOrThrow(result)
      assert.instanceOf(error, AiError.MalformedOutput)
      assert.strictEqual(ChutesAiError.kind(error), "InvalidResponse")
      assert.include(error?.description, "An SSE line from chutes/zai-org/GLM-5-TEE is longer than 262144 characters")
      assert.include(error?.description, "limits.maxLineLength")
    }))

  it.scopedLive("endless tool-call argument deltas -> InvalidResponse at the tool-arguments cap, no RangeError", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({
        content: "ok",
        stream: { flood: { after: 3, kind: "toolArguments", maxBytes: 4 * 1024 * 1024 } }
      })
      const result = yield* partsAndError(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(modelLayer(fake, { limits: { maxToolArgumentsLength: 256 * 1024 } }))
      )
      assert.isTrue(Option.isSome(result), "the stream ended")
      const { error, parts } = Option.getOrThrow(result)
      assert.instanceOf(error, AiError.MalformedOutput)
      assert.strictEqual(ChutesAiError.kind(error), "InvalidResponse")
      assert.include(error?.description, "longer than 262144 characters (limits.maxToolArgumentsLength)")
      assert.isTrue(parts.some((p) => p.type === "tool-params-start"), "the call started streaming")
    }))
})

describe("404 for a retired model", () => {
  it.scopedLive("a ref the user chose names the successor of the built-in lifecycle", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ models: FakeChutes.capturedModels("2026-08-06") })
      const error = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, { model: "chutes/zai-org/GLM-5-TEE" })),
        Effect.flip
      )
      assert.strictEqual(ChutesAiError.kind(error), "ModelNotFound")
      assert.include(
        error.description,
        "Model chutes/zai-org/GLM-5-TEE not found on Chutes (HTTP 404): model not found: zai-org/GLM-5-TEE; " +
          "its successor: chutes/zai-org/GLM-5.1-TEE"
      )
      // Named once: not again among the "did you mean" suggestions.
      assert.strictEqual(error.description?.split("chutes/zai-org/GLM-5.1-TEE").length, 2)
      assert.strictEqual(fake.counters.chat, 1)
    }))

  it.scopedLive("a model without a known successor gets only the suggestions", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ models: FakeChutes.capturedModels("2026-08-06") })
      const error = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, { model: "zai-org/GLM-9-TEE" })),
        Effect.flip
      )
      assert.strictEqual(ChutesAiError.kind(error), "ModelNotFound")
      assert.notInclude(error.description, "its successor")
      assert.include(error.description, "did you mean")
    }))
})
