/**
 * Reading a 2xx chat answer within bounds: the body of a non-streaming completion within a byte cap, and a stream
 * within its size caps and deadlines (time to the first data event, idle time between data events, the whole stream).
 * `ChutesLanguageModel` sends the request and decides what the limits are; this module reads what comes back.
 *
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Mailbox from "effect/Mailbox"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as ChutesAiError from "../ChutesAiError.js"
import type { ResponseInfo } from "../ChutesLanguageModel.js"
import { makeStreamAssembler } from "./chatResponse.js"
import type { Meter } from "./cost.js"
import { outputError, unknownError } from "./errors.js"
import { makeSseReader, type SseEvent, type StreamLimits } from "./sse.js"
import * as CappedBody from "../../internal/cappedBody.js"

/** Maps a failure to read the body (the connection broke) to the call's error. */
type ReadError = (error: HttpClientError.ResponseError) => ChutesAiError.ChutesAiError

/**
 * The body of a non-streaming completion as text, within `maxBytes`; over it, `InvalidResponse`.
 *
 * @internal
 */
export const readCompletion = (
  response: HttpClientResponse.HttpClientResponse,
  options: { readonly info: ResponseInfo; readonly maxBytes: number; readonly readError: ReadError }
): Effect.Effect<string, ChutesAiError.ChutesAiError> => {
  const { maxBytes, readError } = options
  const tooLarge = (what: string) =>
    outputError(
      "generateText",
      "InvalidResponse",
      `The answer from ${options.info.ref} is larger than ${maxBytes} bytes (${what}; limits.maxBodyBytes)`
    )
  return CappedBody.readText(
    response,
    maxBytes,
    (overflow) =>
      tooLarge(overflow._tag === "Declared" ? `content-length ${overflow.length}` : `read so far: ${overflow.total} bytes`)
  ).pipe(
    Effect.catchIf(
      (error): error is HttpClientError.ResponseError => error._tag === "ResponseError",
      (error) => Effect.fail(readError(error))
    )
  )
}

/**
 * The deadlines of a stream; `Duration.infinity` turns one off.
 *
 * @internal
 */
export interface StreamDeadlines {
  /** From the call to the first data event. */
  readonly firstEvent: Duration.Duration
  /** Between data events. */
  readonly idle: Duration.Duration
  /** From the call to the end. */
  readonly stream: Duration.Duration
}

/**
 * What the watchdog looks at, written by the reader. `lastData` is a clock time in milliseconds.
 */
interface Watch {
  lastData: number
  sawData: boolean
  /** The reader waits for room in the mailbox: the consumer holds it up, the server is not to blame. */
  waiting: boolean
  /** Completed by the first data event, which moves the deadline earlier (from the first-event limit to idle). */
  readonly firstData: Deferred.Deferred<void>
}

const CONTINUE: Effect.Effect<boolean> = Effect.succeed(true)
const STOP: Effect.Effect<boolean> = Effect.succeed(false)

/** Stream parts the reader may hand over before it waits for the consumer (one network read holds ~50 events). */
const BUFFER = 128

/**
 * After `[DONE]`, how long the rest of the body is read, so that the answer's own end (its last chunk, often a network
 * read of its own) arrives and the connection goes back to the pool instead of being cut: a cut connection costs the
 * next call a new TCP and TLS handshake (bench/README.md, "Chat"). The caller has the end of the stream already; only
 * closing the stream waits, and only this long (what arrives meanwhile is counted and dropped), for a server that keeps
 * the connection open.
 */
const DRAIN_MILLIS = 50
const liveClock = Clock.make()

/**
 * Sleeps until the next deadline and checks it again, until one has passed: then the `Timeout` error for it. It wakes
 * once per deadline, not per event: data events only move the idle deadline later, except the first one, which wakes
 * it (the first-event limit is usually the longer one).
 */
const watchdog = (
  watch: Watch,
  options: {
    readonly clock: Clock.Clock
    readonly started: number
    readonly deadlines: StreamDeadlines
    readonly info: ResponseInfo
  }
): Effect.Effect<ChutesAiError.ChutesAiError> => {
  const { clock, deadlines, info, started } = options
  const firstEvent = started + Duration.toMillis(deadlines.firstEvent)
  const idle = Duration.toMillis(deadlines.idle)
  const end = started + Duration.toMillis(deadlines.stream)
  const who = `${info.ref}${info.invocationId !== undefined ? ` (invocation ${info.invocationId})` : ""}`
  const timeout = (text: string) => unknownError("streamText", "Timeout", text)
  return Effect.gen(function*() {
    for (;;) {
      const now = clock.unsafeCurrentTimeMillis()
      const quiet = watch.waiting ? Infinity : watch.sawData ? watch.lastData + idle : firstEvent
      const due = Math.min(quiet, end)
      if (now >= due) {
        return timeout(
          due === end
            ? `The stream from ${who} did not end within ${Duration.format(deadlines.stream)} (timeouts.stream)`
            : watch.sawData
            ? `${who} sent no data for ${Duration.format(deadlines.idle)} ` +
              `(timeouts.idle; keep-alive comments do not count)`
            : `${who} sent no data within ${Duration.format(deadlines.firstEvent)} of the call (timeouts.firstEvent)`
        )
      }
      // While the consumer holds the reader up, look again after an idle period.
      const nap = Effect.sleep(Duration.millis(Math.min(due, watch.waiting ? now + idle : Infinity) - now))
      yield* watch.sawData ? nap : Effect.raceFirst(nap, Deferred.await(watch.firstData))
    }
  })
}

/**
 * The parts of a 2xx SSE answer, read within `limits` and `deadlines` (`started`: the clock time of the call).
 *
 * One fiber reads the body: it cuts each network read into events (`makeSseReader` of ./sse.ts: bounded, linear),
 * turns them into parts (`makeStreamAssembler` of ./chatResponse.ts) and hands them over a bounded mailbox, one chunk
 * of network reads at a time; the returned stream takes them from there. The caller's stream ends at `[DONE]` (a
 * connection left open afterwards must not hang the caller); the body is then drained for at most `DRAIN_MILLIS`, so
 * that the connection can be reused. A second fiber, one per stream, is the watchdog: when a deadline passes it fails
 * the mailbox, the stream ends with `Timeout` after the parts already read, and the scope closes the connection. A
 * data event only sets a field (per chunk of reads); comments set nothing. There is no timer, race or effect per
 * element: a per-element `Stream.timeout` races every pull (~45 µs each), and the caller's stream sees whole network
 * reads as chunks.
 *
 * @internal
 */
export const streamParts = (
  response: HttpClientResponse.HttpClientResponse,
  options: {
    readonly info: ResponseInfo
    readonly started: number
    readonly deadlines: StreamDeadlines
    readonly limits: StreamLimits
    readonly readError: ReadError
    /** Sees every part before the caller does (span annotations). */
    readonly onParts: (parts: ReadonlyArray<Response.StreamPartEncoded>) => void
    /** The finish part's `chutes` metadata (the call's cost), from the last usage. */
    readonly meter?: Meter | undefined
    /** Runs once, with the closing parts (the finish part among them), before the caller gets them. */
    readonly onEnd?: ((parts: ReadonlyArray<Response.StreamPartEncoded>) => Effect.Effect<void>) | undefined
  }
): Effect.Effect<Stream.Stream<Response.StreamPartEncoded, ChutesAiError.ChutesAiError>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { info, onParts } = options
    const clock = yield* Effect.clock
    const mailbox = yield* Mailbox.make<Response.StreamPartEncoded, ChutesAiError.ChutesAiError>(BUFFER)
    const reader = makeSseReader(options.limits, info.ref)
    const assembler = makeStreamAssembler(info, options.limits, options.meter)
    const { onEnd } = options
    const firstData = yield* Deferred.make<void>()
    const watch: Watch = { lastData: options.started, sawData: false, waiting: false, firstData }
    const events: Array<SseEvent> = []

    /** The parts of `events` (then the error after them) to the mailbox; false once the answer is complete. */
    const deliver = (readError: ChutesAiError.ChutesAiError | undefined): Effect.Effect<boolean, ChutesAiError.ChutesAiError> => {
      if (events.length === 0 && readError === undefined) return CONTINUE
      const parts: Array<Response.StreamPartEncoded> = []
      const error = assembler.pushAll(events, parts) ?? readError
      events.length = 0
      onParts(parts)
      const next = error !== undefined ? Effect.fail(error) : assembler.isDone() ? STOP : CONTINUE
      if (parts.length === 0) return next
      watch.waiting = true
      return Effect.zipRight(
        Effect.map(mailbox.offerAll(parts), () => {
          watch.waiting = false
          watch.lastData = clock.unsafeCurrentTimeMillis()
        }),
        next
      )
    }

    /** Set at `[DONE]`: the caller has the whole answer; the rest of the body is only drained. */
    let drained: number | undefined

    /**
     * The network reads the body stream holds (one, or several when the consumer is slower than the network), taken
     * as one chunk: per-element reading kept every read alive longer and doubled the peak of network buffers
     * (bench/README.md, "Chat"). Reads after the one that completes `[DONE]` are only drained.
     */
    const onReads = (reads: Chunk.Chunk<Uint8Array>): Effect.Effect<void, ChutesAiError.ChutesAiError> => {
      if (drained !== undefined) {
        for (const bytes of reads) drained += bytes.length
        return Effect.void
      }
      let readError: ChutesAiError.ChutesAiError | undefined
      /** Bytes after the read that held `[DONE]`, in this chunk. */
      let after: number | undefined
      for (const bytes of reads) {
        if (after !== undefined) {
          after += bytes.length
          continue
        }
        const from = events.length
        readError = reader.feed(bytes, events)
        if (readError !== undefined) break
        for (let i = from; i < events.length; i++) if (events[i]!._tag === "Done") after = 0
      }
      if (events.length > 0) {
        watch.lastData = clock.unsafeCurrentTimeMillis()
        if (!watch.sawData) {
          watch.sawData = true
          Deferred.unsafeDone(watch.firstData, Exit.void)
        }
      }
      return Effect.flatMap(
        deliver(readError),
        (more) =>
          more ? Effect.void : Effect.map(endAtDone, () => {
            drained = after ?? 0
          })
      )
    }

    const finish = Effect.suspend(() => {
      if (drained !== undefined) return Effect.void
      const parts: Array<Response.StreamPartEncoded> = []
      const error = assembler.endInto(parts)
      onParts(parts)
      const offer = Effect.zipRight(mailbox.offerAll(parts), error === undefined ? Effect.void : Effect.fail(error))
      return onEnd === undefined || error !== undefined ? offer : Effect.zipRight(onEnd(parts), offer)
    })

    /** At `[DONE]`: the closing parts and the end to the caller, then the drain (see `DRAIN_MILLIS`). */
    const endAtDone = Effect.zipRight(
      Effect.zipRight(finish, mailbox.end),
      Effect.sync(() => {
        drained = 0
        return true
      })
    )

    const reading = yield* response.stream.pipe(
      Stream.mapError(options.readError),
      Stream.runForEachChunk(onReads),
      Effect.zipRight(Effect.suspend(() => assembler.isDone() ? Effect.void : deliver(reader.end(events)))),
      Effect.zipRight(finish),
      Mailbox.into(mailbox),
      Effect.forkScoped
    )
    // Runs before the scope interrupts the reader (finalizers run last-added first): a reader still draining after
    // `[DONE]` gets `DRAIN_MILLIS` to see the body end. A caller that stopped early does not wait.
    yield* Effect.addFinalizer(() =>
      drained === undefined
        ? Effect.void
        : Fiber.await(reading).pipe(
          // Finalizers run uninterruptibly: without this the timeout could not stop the wait.
          Effect.interruptible,
          Effect.timeout(Duration.millis(DRAIN_MILLIS)),
          Effect.ignore,
          // Network time, on the real clock even under a `TestClock`.
          Effect.withClock(liveClock)
        )
    )
    const { deadlines } = options
    if ([deadlines.firstEvent, deadlines.idle, deadlines.stream].some(Duration.isFinite)) {
      yield* watchdog(watch, { clock, started: options.started, deadlines, info }).pipe(
        Effect.flatMap((error) => mailbox.fail(error)),
        Effect.forkScoped
      )
    }
    return Mailbox.toStream(mailbox)
  })
