/**
 * The SSE reader of chat streams: bytes -> events, bounded (a line, an event) and linear in the lines of each network
 * read. Pure: no I/O, no services.
 *
 * Why not `@effect/experimental`'s `Sse`: at 0.61 it re-scans the buffered text for each line (quadratic in the lines
 * of one network read), drops the raw `{"error": …}` line the live service sends mid-stream, turns an oversize event
 * into a defect and sleeps on a server's `retry:` line.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import type * as ChutesAiError from "../ChutesAiError.js"
import { outputError } from "./errors.js"

/**
 * One event of the stream: a JSON payload (the `data:` lines of an event, or a raw `{…}` line), or the end marker.
 *
 * @since 0.1.0
 * @category models
 */
export type SseEvent =
  | { readonly _tag: "Data"; readonly data: string }
  | { readonly _tag: "Done" }

const DONE: SseEvent = { _tag: "Done" }

/**
 * The size bounds of a streamed answer, in characters (UTF-16 code units; for the ASCII JSON the service sends, the
 * same as bytes). Going over one fails the stream with `InvalidResponse` instead of growing without end.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamLimits {
  /** The longest line: a `data:` line, a comment, any field. Checked while the line arrives, before its end. */
  readonly maxLineLength: number
  /** The largest event: its `data:` lines together (the service sends one per event). */
  readonly maxEventLength: number
  /** The most tool-call argument text one answer may hold: all its tool calls together. */
  readonly maxToolArgumentsLength: number
}

/**
 * The default bounds: 8 Mi characters for a line, 16 Mi for an event, 8 Mi for the tool-call arguments of one
 * answer. A live event is a few hundred bytes; 65,535 output tokens are about 0.3 MB of text.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultStreamLimits: StreamLimits = {
  maxLineLength: 8 * 1024 * 1024,
  maxEventLength: 16 * 1024 * 1024,
  maxToolArgumentsLength: 8 * 1024 * 1024
}

/**
 * Cuts the bytes of an SSE body into events, one network read at a time. See {@link makeSseReader}.
 *
 * @since 0.1.0
 * @category decoding
 */
export interface SseReader {
  /** Adds the events one network read completes to `out`; returns the error that stops the stream, if any. */
  readonly feed: (bytes: Uint8Array, out: Array<SseEvent>) => ChutesAiError.ChutesAiError | undefined
  /** At the end of the body: adds the last events (a last line without a newline, an event without its blank line). */
  readonly end: (out: Array<SseEvent>) => ChutesAiError.ChutesAiError | undefined
}

/**
 * An SSE reader (the event-stream format of the HTML standard, as OpenAI-compatible servers send it).
 *
 * - Bytes are decoded as one UTF-8 stream: a character split over two network reads is decoded whole.
 * - Lines end with LF, CRLF or CR, wherever the reads are cut. Only the new text of each read is searched, and only
 *   an unfinished line is carried over: the work per read is linear in its size, whatever the number of lines in it.
 * - An event is its `data:` lines, joined by LF, dispatched at the blank line that ends it; `data: [DONE]` is the end
 *   marker. Comments (`: keep-alive`), `event:`, `id:` and `retry:` lines are skipped: this API has no event types and
 *   a stream is never resumed.
 * - A line that is a raw JSON object, without `data:`, is an event of its own: the live service writes a mid-stream
 *   error that way (`{"error": …}`).
 * - A line longer than `maxLineLength` (even before its end arrives) or an event longer than `maxEventLength` fails
 *   with `InvalidResponse`; so does everything after it.
 *
 * `source` names the sender in errors (e.g. `chutes/zai-org/GLM-5-TEE`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const makeSseReader = (
  limits: Pick<StreamLimits, "maxLineLength" | "maxEventLength">,
  source: string
): SseReader => {
  const decoder = new TextDecoder()
  /** The start of a line that a read left unfinished. */
  let partial = ""
  /** The last read ended with CR: an LF opening the next one belongs to it. */
  let afterCR = false
  /** The `data:` lines of the current event, joined by LF. */
  let data = ""
  let hasData = false
  let failure: ChutesAiError.ChutesAiError | undefined

  const tooLong = (what: "line" | "event", limit: number): ChutesAiError.ChutesAiError =>
    outputError(
      "streamText",
      "InvalidResponse",
      `An SSE ${what} from ${source} is longer than ${limit} characters (limits.${
        what === "line" ? "maxLineLength" : "maxEventLength"
      })`
    )

  const fail = (error: ChutesAiError.ChutesAiError): ChutesAiError.ChutesAiError => {
    failure = error
    partial = ""
    data = ""
    return error
  }

  const dispatch = (out: Array<SseEvent>): void => {
    if (!hasData) return
    const value = data.trim()
    data = ""
    hasData = false
    if (value !== "") out.push(value === "[DONE]" ? DONE : { _tag: "Data", data: value })
  }

  const onLine = (line: string, out: Array<SseEvent>): ChutesAiError.ChutesAiError | undefined => {
    if (line.length === 0) {
      dispatch(out)
      return undefined
    }
    const first = line.charCodeAt(0)
    if (first === 58 /* ":" */) return undefined
    if (line.startsWith("data:")) {
      const value = line.charCodeAt(5) === 32 /* " " */ ? line.slice(6) : line.slice(5)
      const length = hasData ? data.length + 1 + value.length : value.length
      if (length > limits.maxEventLength) return tooLong("event", limits.maxEventLength)
      data = hasData ? `${data}\n${value}` : value
      hasData = true
      return undefined
    }
    if (first === 123 /* "{" */ || first <= 32) {
      const trimmed = line.trim()
      if (trimmed.startsWith("{")) {
        dispatch(out)
        out.push({ _tag: "Data", data: trimmed })
      }
    }
    return undefined
  }

  const scan = (text: string, out: Array<SseEvent>): ChutesAiError.ChutesAiError | undefined => {
    let pos = 0
    if (afterCR && text.length > 0) {
      afterCR = false
      if (text.charCodeAt(0) === 10) pos = 1
    }
    // The next LF and CR at or after `pos`, searched forward only (-1: none left in this read, -2: not searched yet).
    let lf = -2
    let cr = -2
    while (pos < text.length) {
      if (lf !== -1 && lf < pos) lf = text.indexOf("\n", pos)
      if (cr !== -1 && cr < pos) cr = text.indexOf("\r", pos)
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr)
      if (end === -1) {
        if (partial.length + text.length - pos > limits.maxLineLength) {
          return fail(tooLong("line", limits.maxLineLength))
        }
        partial = partial.length > 0 ? partial + text.slice(pos) : text.slice(pos)
        return undefined
      }
      if (partial.length + end - pos > limits.maxLineLength) return fail(tooLong("line", limits.maxLineLength))
      const line = partial.length > 0 ? partial + text.slice(pos, end) : text.slice(pos, end)
      partial = ""
      if (end === cr) {
        if (end + 1 === text.length) afterCR = true
        pos = text.charCodeAt(end + 1) === 10 ? end + 2 : end + 1
      } else {
        pos = end + 1
      }
      const error = onLine(line, out)
      if (error !== undefined) return fail(error)
    }
    return undefined
  }

  return {
    feed: (bytes, out) => failure ?? scan(decoder.decode(bytes, { stream: true }), out),
    end: (out) => {
      if (failure !== undefined) return failure
      const error = scan(decoder.decode(), out)
      if (error !== undefined) return error
      if (partial.length > 0) {
        const last = partial
        partial = ""
        const lastError = onLine(last, out)
        if (lastError !== undefined) return fail(lastError)
      }
      dispatch(out)
      return undefined
    }
  }
}

/**
 * Bytes of an SSE body -> events, through {@link makeSseReader} with `limits` (default {@link defaultStreamLimits}).
 * The events before an error come out before it.
 *
 * @since 0.1.0
 * @category decoding
 */
export const sseEvents = <E, R>(
  body: Stream.Stream<Uint8Array, E, R>,
  limits: Partial<Pick<StreamLimits, "maxLineLength" | "maxEventLength">> = {},
  source = "the service"
): Stream.Stream<SseEvent, E | ChutesAiError.ChutesAiError, R> =>
  Stream.suspend(() => {
    const reader = makeSseReader({ ...defaultStreamLimits, ...limits }, source)
    const emit = (run: (out: Array<SseEvent>) => ChutesAiError.ChutesAiError | undefined) => {
      const out: Array<SseEvent> = []
      const error = run(out)
      const events = Stream.fromChunk(Chunk.unsafeFromArray(out))
      return error === undefined ? events : Stream.concat(events, Stream.fail(error))
    }
    return body.pipe(
      Stream.chunks,
      Stream.flatMap((chunk) =>
        emit((out) => {
          for (const bytes of chunk) {
            const error = reader.feed(bytes, out)
            if (error !== undefined) return error
          }
          return undefined
        })
      ),
      Stream.concat(Stream.suspend(() => emit(reader.end)))
    )
  })
