/**
 * The default deadlines, on the `TestClock`: a scripted `HttpClient` whose answers the test writes piece by piece
 * (a web `ReadableStream`), so minutes pass in milliseconds. The defaults: 10 minutes for a non-streaming call, 5 for
 * a stream's first data event, 2 between data events (`: keep-alive` comments do not count), no overall deadline for
 * a stream; and time the consumer spends not reading is not idle time.
 */
import type * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as AiResponse from "@effect/ai/Response"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
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

/** An answer body the test writes: `write` a piece, `end` it. */
const scriptedBody = () => {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
    }
  })
  const encoder = new TextEncoder()
  return {
    body,
    write: (text: string) => controller?.enqueue(encoder.encode(text)),
    end: () => controller?.close()
  }
}

/** `answer` for every chat request (the catalog is the built-in one: no request for it). */
const layer = (
  answer: Effect.Effect<globalThis.Response>,
  options: Partial<ChutesLanguageModel.Options> = {}
) =>
  ChutesLanguageModel.layer({ model: "chutes-pro", retry: { maxRetries: 0 }, ...options }).pipe(
    Layer.provide(ChutesProvider.layerTest({
      httpClient: HttpClient.make((request) =>
        Effect.map(answer, (web) => HttpClientResponse.fromWeb(request, web))
      )
    })),
    Layer.orDie,
    Layer.merge(Logger.minimumLogLevel(LogLevel.Error))
  )

const sse = (body: ReadableStream<Uint8Array>) =>
  Effect.succeed(new globalThis.Response(body, { status: 200, headers: { "content-type": "text/event-stream" } }))

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c1", model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`

/** Lets the loopback-free transport deliver what was written (promise turns, not clock time). */
const settle = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))

type Outcome = Either.Either<ReadonlyArray<AiResponse.StreamPart<{}>>, AiError.AiError>

const runStream = <R>(stream: Stream.Stream<AiResponse.StreamPart<{}>, AiError.AiError, R>) =>
  stream.pipe(
    Stream.runCollect,
    Effect.map((c): ReadonlyArray<AiResponse.StreamPart<{}>> => Array.from(c)),
    Effect.either
  )

/** Whether the fiber has ended, after letting it run. */
const ended = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.zipRight(settle, Effect.map(Fiber.poll(fiber), Option.isSome))

/** `steps` times: write `text` (if any), let it arrive, move the clock by `step`. */
const tick = (steps: number, step: Duration.DurationInput, write?: () => void) =>
  Effect.gen(function*() {
    for (let i = 0; i < steps; i++) {
      write?.()
      yield* settle
      yield* TestClock.adjust(step)
    }
  })

describe("default deadlines (TestClock)", () => {
  it.effect("generateText: no answer -> Timeout at 10 minutes, not before", () =>
    Effect.gen(function*() {
      const fiber = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(layer(Effect.never)),
        Effect.either,
        Effect.fork
      )
      yield* settle
      yield* TestClock.adjust("599 seconds")
      assert.isFalse(yield* ended(fiber), "still waiting at 9:59")
      yield* TestClock.adjust("1 second")
      assert.isTrue(yield* ended(fiber), "failed at 10:00")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(result))
      const error = Either.isLeft(result) ? result.left : undefined
      assert.strictEqual(ChutesAiError.kind(error), "Timeout")
      assert.include(error?.description, "within 10m (timeouts.completion)")
    }))

  it.effect("generateText: headers, then a body that never ends -> Timeout at 10 minutes", () =>
    Effect.gen(function*() {
      const { body, write } = scriptedBody()
      const fiber = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(layer(Effect.succeed(new globalThis.Response(body, { status: 200 })))),
        Effect.either,
        Effect.fork
      )
      yield* tick(10, "59 seconds", () => write("{\"id\":\"x\",  "))
      assert.isFalse(yield* ended(fiber), "still reading at 9:50")
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(yield* ended(fiber), "failed at 10:00")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(ChutesAiError.kind(Either.isLeft(result) ? result.left : undefined), "Timeout")
    }))

  it.effect("streamText: no answer at all -> Timeout at 5 minutes from the call (first event)", () =>
    Effect.gen(function*() {
      const fiber = yield* runStream(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(layer(Effect.never)),
        Effect.fork
      )
      yield* settle
      yield* TestClock.adjust("299 seconds")
      assert.isFalse(yield* ended(fiber), "still waiting at 4:59")
      yield* TestClock.adjust("1 second")
      assert.isTrue(yield* ended(fiber), "failed at 5:00")
      const result: Outcome = yield* Fiber.join(fiber)
      const error = Either.isLeft(result) ? result.left : undefined
      assert.strictEqual(ChutesAiError.kind(error), "Timeout")
      assert.include(error?.description, "No answer from Chutes within 5m of the call (timeouts.firstEvent)")
    }))

  it.effect("streamText: keep-alives only -> Timeout at 5 minutes from the call (first event)", () =>
    Effect.gen(function*() {
      const { body, write } = scriptedBody()
      const fiber = yield* runStream(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(layer(sse(body))),
        Effect.fork
      )
      yield* tick(299, "1 second", () => write(": keep-alive\n\n"))
      assert.isFalse(yield* ended(fiber), "still waiting at 4:59")
      yield* TestClock.adjust("1 second")
      assert.isTrue(yield* ended(fiber), "failed at 5:00")
      const result: Outcome = yield* Fiber.join(fiber)
      const error = Either.isLeft(result) ? result.left : undefined
      assert.strictEqual(ChutesAiError.kind(error), "Timeout")
      assert.include(error?.description, "sent no data within 5m of the call (timeouts.firstEvent)")
    }))

  it.effect("streamText: one event, then keep-alives every second -> Timeout 2 minutes after the event", () =>
    Effect.gen(function*() {
      const { body, write } = scriptedBody()
      const fiber = yield* runStream(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(layer(sse(body))),
        Effect.fork
      )
      yield* tick(200, "1 second", () => write(": keep-alive\n\n")) // a long prefill: 3:20 before the first event
      write(chunk({ role: "assistant", content: "Hel" }))
      yield* tick(119, "1 second", () => write(": keep-alive\n\n"))
      assert.isFalse(yield* ended(fiber), "still streaming 1:59 after the event")
      yield* TestClock.adjust("1 second")
      assert.isTrue(yield* ended(fiber), "failed 2:00 after the event")
      const result: Outcome = yield* Fiber.join(fiber)
      const error = Either.isLeft(result) ? result.left : undefined
      assert.strictEqual(ChutesAiError.kind(error), "Timeout")
      assert.include(error?.description, "sent no data for 2m (timeouts.idle; keep-alive comments do not count)")
    }))

  it.effect("streamText: no overall deadline — a data event every 100 s for 40 minutes ends normally", () =>
    Effect.gen(function*() {
      const { body, end, write } = scriptedBody()
      const fiber = yield* runStream(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(layer(sse(body))),
        Effect.fork
      )
      yield* tick(24, "100 seconds", () => write(chunk({ content: "x" })))
      write(chunk({}, "stop"))
      write("data: [DONE]\n\n")
      end()
      const result: Outcome = yield* Fiber.join(fiber)
      assert.isTrue(Either.isRight(result), "no timeout")
      const parts = Either.isRight(result) ? result.right : []
      assert.strictEqual(parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join(""), "x".repeat(24))
    }))

  it.effect("streamText: a consumer that takes its time is not a silent server", () =>
    Effect.gen(function*() {
      // The whole answer is there at once: 400 events, more than the reader hands over before it waits for the
      // consumer. The consumer spends a second on each part, 400 s in all: the reader waits for it for far longer
      // than the idle limit, while the server has nothing more to say.
      const { body, end, write } = scriptedBody()
      for (let i = 0; i < 400; i++) write(chunk({ content: "x" }))
      write(chunk({}, "stop"))
      write("data: [DONE]\n\n")
      end()
      const fiber = yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(
        Stream.tap(() => Effect.sleep("1 second")),
        runStream,
        Effect.provide(layer(sse(body))),
        Effect.fork
      )
      yield* tick(100, "5 seconds")
      const result: Outcome = yield* Fiber.join(fiber)
      assert.isTrue(Either.isRight(result), `no timeout: ${Either.isLeft(result) ? result.left.message : ""}`)
    }))
})
