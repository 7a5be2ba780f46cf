/**
 * Reading a 2xx chat answer within bounds: the body of a non-streaming completion within a byte cap, and a stream
 * within its size caps and deadlines (time to the first data event, idle time between data events, the whole stream).
 * `ChutesLanguageModel` makes the request and decides what the limits are; this module reads what comes back (for a
 * stream, it also runs the request, so that one watchdog keeps the first-event deadline from the call on).
 *
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import type * as Headers from "@effect/platform/Headers"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
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
import { excerpt } from "../../internal/redact.js"

/** Maps a failure to read the body (the connection broke) to the call's error. */
type ReadError = (error: HttpClientError.ResponseError) => ChutesAiError.ChutesAiError

/**
 * The body of a non-streaming completion as text, within `maxBytes`; over it, `InvalidResponse`.
 *
 * @internal
 */
export const readCompletion = (
  response: HttpClientResponse.HttpClientResponse,
  options: {
    readonly info: ResponseInfo
    readonly maxBytes: number
    readonly readError: ReadError
    /** `response.headers`, when the caller read them already. */
    readonly headers?: Headers.Headers | undefined
  }
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
      tooLarge(overflow._tag === "Declared" ? `content-length ${overflow.length}` : `read so far: ${overflow.total} bytes`),
    options.headers ?? response.headers
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
  /** Who answered, for the messages (`chutes/<id> (invocation …)`); `undefined` until the answer's headers arrive. */
  who: string | undefined
  lastData: number
  sawData: boolean
  /** The reader waits for room in the mailbox: the consumer holds it up, the server is not to blame. */
  waiting: boolean
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
 * Sleeps until the next deadline and checks it again, until one has passed: then the `Timeout` error for it. Until
 * the answer's headers arrive the deadline is the first-event limit (or the whole stream's, when shorter), and the
 * message says no answer came. It wakes once per deadline, not per event: data events only move the idle deadline
 * later. Nothing wakes it early either: it never sleeps longer than one idle period, and data arriving during a sleep
 * (the first event included, which swaps the first-event limit for the idle one) sets an idle deadline at least one
 * idle period after the sleep began, so the wake is never late. (Racing the sleep against the first event cost two
 * more fibers and ~100 µs before the first text of every stream: bench/README.md, "Chat".)
 */
const watchdog = (
  watch: Watch,
  options: {
    readonly clock: Clock.Clock
    readonly started: number
    readonly deadlines: StreamDeadlines
  }
): Effect.Effect<ChutesAiError.ChutesAiError> => {
  const { clock, deadlines, started } = options
  const firstEvent = started + Duration.toMillis(deadlines.firstEvent)
  const idle = Duration.toMillis(deadlines.idle)
  const end = started + Duration.toMillis(deadlines.stream)
  const timeout = (text: string) => unknownError("streamText", "Timeout", text)
  const firstLimit = Duration.lessThanOrEqualTo(deadlines.firstEvent, deadlines.stream) ? "firstEvent" : "stream"
  return Effect.gen(function*() {
    for (;;) {
      const now = clock.unsafeCurrentTimeMillis()
      const quiet = watch.waiting ? Infinity : watch.sawData ? watch.lastData + idle : firstEvent
      const due = Math.min(quiet, end)
      if (now >= due) {
        const who = watch.who
        return timeout(
          who === undefined
            ? `No answer from Chutes within ${Duration.format(deadlines[firstLimit])} of the call ` +
              `(timeouts.${firstLimit})`
            : due === end
            ? `The stream from ${who} did not end within ${Duration.format(deadlines.stream)} (timeouts.stream)`
            : watch.sawData
            ? `${who} sent no data for ${Duration.format(deadlines.idle)} ` +
              `(timeouts.idle; keep-alive comments do not count)`
            : `${who} sent no data within ${Duration.format(deadlines.firstEvent)} of the call (timeouts.firstEvent)`
        )
      }
      // At most one idle period: also while the consumer holds the reader up (no deadline then), look again after one.
      yield* Effect.sleep(Duration.millis(Math.min(due, now + idle) - now))
    }
  })
}

/**
 * A 2xx SSE answer (headers arrived, body unread), who gave it, and how to price its usage.
 *
 * @internal
 */
export interface Answer {
  readonly response: HttpClientResponse.HttpClientResponse
  readonly info: ResponseInfo
  /** The finish part's `chutes` metadata (the call's cost), from the last usage. */
  readonly meter?: Meter | undefined
}

/** What {@link streamParts} needs besides the answer. */
interface StreamOptions {
  readonly started: number
  readonly deadlines: StreamDeadlines
  readonly limits: StreamLimits
  readonly readError: ReadError
  /** Sees every part before the caller does (span annotations). */
  readonly onParts: (parts: ReadonlyArray<Response.StreamPartEncoded>) => void
  /** Runs once, with the closing parts (the finish part among them), before the caller gets them. */
  readonly onEnd?: ((parts: ReadonlyArray<Response.StreamPartEncoded>) => Effect.Effect<void>) | undefined
}

/**
 * The parts of a 2xx SSE answer, read within `limits` and `deadlines` (`started`: the clock time of the call).
 *
 * One fiber awaits the answer (`answer`: the request, its retries and failover) and reads its body: it cuts each
 * network read into events (`makeSseReader` of ./sse.ts: bounded, linear), turns them into parts
 * (`makeStreamAssembler` of ./chatResponse.ts) and hands them over a bounded mailbox, one chunk of network reads at a
 * time; the returned stream takes them from there (a failure of the request ends it, before any part). The caller's
 * stream ends at `[DONE]` (a connection left open afterwards must not hang the caller); the body is then drained for
 * at most `DRAIN_MILLIS`, so that the connection can be reused. A second fiber, one per stream, is the watchdog: when
 * a deadline passes — the first-event one included, before the answer's headers as after — it fails the mailbox, the
 * stream ends with `Timeout` after the parts already read, and the scope interrupts the request or closes the
 * connection. (A deadline of its own around the request, `Effect.timeoutFail`, cost two more fibers per stream.) A
 * data event only sets a field (per chunk of reads); comments set nothing. There is no timer, race or effect per
 * element: a per-element `Stream.timeout` races every pull (~45 µs each), and the caller's stream sees whole network
 * reads as chunks.
 *
 * @internal
 */
export const streamParts = (
  answer: Effect.Effect<Answer, ChutesAiError.ChutesAiError>,
  options: StreamOptions
): Effect.Effect<Stream.Stream<Response.StreamPartEncoded, ChutesAiError.ChutesAiError>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const mailbox = yield* Mailbox.make<Response.StreamPartEncoded, ChutesAiError.ChutesAiError>(BUFFER)
    const watch: Watch = { who: undefined, lastData: options.started, sawData: false, waiting: false }
    const body: BodyState = { drained: undefined }
    const reading = yield* answer.pipe(
      Effect.flatMap((answered) => {
        const { info } = answered
        watch.who = `${info.ref}${info.invocationId !== undefined ? ` (invocation ${info.invocationId})` : ""}`
        return readBody(answered, options, { clock, mailbox, watch, body })
      }),
      Mailbox.into(mailbox),
      Effect.forkScoped
    )
    // The reader runs now, until it waits for the network: the request leaves before this fiber (and the caller's
    // stream above it) set up the rest, which then overlaps the wait for the answer instead of delaying the request.
    yield* Effect.yieldNow()
    // Runs before the scope interrupts the reader (finalizers run last-added first): a reader still draining after
    // `[DONE]` gets `DRAIN_MILLIS` to see the body end. A caller that stopped early does not wait.
    yield* Effect.addFinalizer(() =>
      body.drained === undefined
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
      yield* watchdog(watch, { clock, started: options.started, deadlines }).pipe(
        Effect.flatMap((error) => mailbox.fail(error)),
        Effect.forkScoped
      )
    }
    return Mailbox.toStream(mailbox)
  })

/** Set at `[DONE]`: the caller has the whole answer; the rest of the body is only drained (bytes counted). */
interface BodyState {
  drained: number | undefined
}

/** The reader: the body of `answer`, as parts, into `mailbox`; ends at `[DONE]` or with the body. */
const readBody = (
  answer: Answer,
  options: StreamOptions,
  shared: {
    readonly clock: Clock.Clock
    readonly mailbox: Mailbox.Mailbox<Response.StreamPartEncoded, ChutesAiError.ChutesAiError>
    readonly watch: Watch
    readonly body: BodyState
  }
): Effect.Effect<void, ChutesAiError.ChutesAiError> => {
  const { info, response } = answer
  const { onEnd, onParts } = options
  const { body, clock, mailbox, watch } = shared
  // A JSON answer to a stream request (a gateway that dropped `stream: true`) is a completion, not events: read as
  // events it looked like an empty answer that finished well, its text lost.
  const contentType = response.headers["content-type"]
  if (contentType !== undefined && /^\s*application\/json\b/i.test(contentType)) {
    return Effect.fail(outputError(
      "streamText",
      "InvalidResponse",
      `${info.ref} answered a stream request with a JSON body (content-type ${excerpt(contentType, 60)}), not server-sent events`
    ))
  }
  const reader = makeSseReader(options.limits, info.ref)
  const assembler = makeStreamAssembler(info, options.limits, answer.meter)
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

  /**
   * The network reads the body stream holds (one, or several when the consumer is slower than the network), taken
   * as one chunk: per-element reading kept every read alive longer and doubled the peak of network buffers
   * (bench/README.md, "Chat"). Reads after the one that completes `[DONE]` are only drained.
   */
  const onReads = (reads: Chunk.Chunk<Uint8Array>): Effect.Effect<void, ChutesAiError.ChutesAiError> => {
    if (body.drained !== undefined) {
      for (const bytes of reads) body.drained += bytes.length
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
      watch.sawData = true
    }
    return Effect.flatMap(
      deliver(readError),
      (more) =>
        more ? Effect.void : Effect.map(endAtDone, () => {
          body.drained = after ?? 0
        })
    )
  }

  const finish = Effect.suspend(() => {
    if (body.drained !== undefined) return Effect.void
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
      body.drained = 0
      return true
    })
  )

  return response.stream.pipe(
    Stream.mapError(options.readError),
    Stream.runForEachChunk(onReads),
    Effect.zipRight(Effect.suspend(() => assembler.isDone() ? Effect.void : deliver(reader.end(events)))),
    Effect.zipRight(finish)
  )
}
