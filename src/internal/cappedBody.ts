/**
 * The one way the SDK reads a response body it does not stream: as text, through a byte cap, so a server that sends
 * an endless or huge body ends in the caller's typed error instead of exhausting memory. Discovery, the IdP calls and
 * non-streaming completions all read through it.
 *
 * Hand-made because `HttpIncomingMessage.withMaxBodySize` of @effect/platform is honoured only by bodies read through
 * Node's `http` module, not by the fetch or undici clients the SDK runs on.
 *
 * @internal
 */
import type * as Headers from "@effect/platform/Headers"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { decodePieces } from "./utf8.js"

/** How a body passed the cap: its declared length (nothing was read), or the bytes read by the time it did. */
export type Overflow =
  | { readonly _tag: "Declared"; readonly length: number }
  | { readonly _tag: "Read"; readonly total: number }

/** An overflow in words for an error's detail: `content-length 9000 bytes > cap 4096`, `body > cap 4096 bytes`. */
export const overflowDetail = (overflow: Overflow, maxBytes: number): string =>
  overflow._tag === "Declared" ? `content-length ${overflow.length} bytes > cap ${maxBytes}` : `body > cap ${maxBytes} bytes`

/**
 * The body as text within `maxBytes`. A declared `content-length` over the cap fails before any byte is read; a
 * declared length within it frames the body (the client stops there), so such a body is read in one go — the
 * chunk-by-chunk stream costs a third of a millisecond per call (bench/README.md). A body without a length, or one the
 * client may decompress (a small length could expand past the cap), is counted as it arrives and the read stops at
 * the first chunk past the cap, which aborts the request: straight from the client's own body when it is one of the
 * known clients' ({@link directBody}), else through `response.stream`. `headers`: `response.headers`, when the caller
 * read them already.
 */
export const readText = <E>(
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number,
  tooLarge: (overflow: Overflow) => E,
  headers: Headers.Headers = response.headers
): Effect.Effect<string, E | HttpClientError.ResponseError> => {
  const length = Number(headers["content-length"])
  if (Number.isFinite(length) && length > maxBytes) return Effect.fail(tooLarge({ _tag: "Declared", length }))
  const encoding = headers["content-encoding"]
  if (Number.isFinite(length) && (encoding === undefined || encoding === "identity")) {
    return Effect.flatMap(response.arrayBuffer, (whole) =>
      whole.byteLength > maxBytes
        ? Effect.fail(tooLarge({ _tag: "Read", total: whole.byteLength }))
        : Effect.succeed(new TextDecoder().decode(whole)))
  }
  const direct = directBody(response)
  if (direct !== undefined) return readDirect(response, direct, maxBytes, tooLarge)
  return Effect.suspend(() => {
    const pieces: Array<Uint8Array> = []
    let total = 0
    return response.stream.pipe(
      Stream.runForEachChunk((chunk) => {
        for (const piece of chunk) {
          total += piece.length
          if (total > maxBytes) return Effect.fail(tooLarge({ _tag: "Read", total }))
          pieces.push(piece)
        }
        return Effect.void
      }),
      Effect.map(() => decodePieces(pieces, total))
    )
  })
}

// =====================================================================================================================
// Reading the client's own body
// =====================================================================================================================
//
// Why by hand: a body without `content-length` (a chunked answer, as many gateways send) read through
// `response.stream` crosses Node's readable as an Effect channel (`NodeStream.fromReadable`, or
// `Stream.fromReadableStream` on fetch), the platform's interruptible wrapper, the provider's masking `Stream.mapError`
// and `Stream.runForEachChunk`: ~0.3 ms of CPU for a small completion, as much as the whole `@effect/ai` floor of the
// call (bench/README.md, "Chat", fourth pass). Read directly, it is one callback per network read.
//
// The body is reached through fields the platform's responses carry but do not declare in their types (undici:
// `source.body`, a Node `Readable`; fetch: `source`, a web `Response`; both under the client's interruptible wrapper,
// `original` + `controller`). Anything not of that shape — another client, a test transport, a later platform that
// moved them — is read through `response.stream` as before: only the speed depends on these fields, never the result.
// test/internal/cappedBody.test.ts checks the direct path is taken on both clients, and the cap on both.

/** What this module needs of a Node `Readable` (undici's `BodyReadable`), without importing `node:stream`. */
interface NodeReadable {
  readonly readable: boolean
  on(event: string, listener: (...args: Array<never>) => void): unknown
  removeListener(event: string, listener: (...args: Array<never>) => void): unknown
  destroy(error?: Error): unknown
}

/**
 * A client's own body beneath a platform response, and the request's `AbortController` (the platform's wrapper aborts
 * it when a read is interrupted; so does this module).
 *
 * @internal
 */
export type DirectBody =
  | ({ readonly _tag: "Node"; readonly body: NodeReadable } & Interruptible)
  | ({ readonly _tag: "Web"; readonly body: ReadableStream<Uint8Array> } & Interruptible)

/** What the platform's interruptible wrapper gives a read of its body. */
interface Interruptible {
  readonly controller: AbortController | undefined
  /**
   * What the wrapper runs before each of its own body readers: it takes the response off the registry that aborts
   * the request when an unread response is garbage collected (an abort that, after a complete read, only costs a
   * `DOMException` per call). `Effect.void` when there is no wrapper.
   */
  readonly claim: Effect.Effect<void>
}

/** Views of a response that only re-label it (the provider client's masked view, ./auth.ts), and the response beneath. */
const beneath = new WeakMap<HttpClientResponse.HttpClientResponse, HttpClientResponse.HttpClientResponse>()

/**
 * Tells the reader that `view` shows `original`'s body unchanged, so it can read `original`'s directly (errors still
 * name `view`, and its request).
 *
 * @internal
 */
export const sameBody = (view: HttpClientResponse.HttpClientResponse, original: HttpClientResponse.HttpClientResponse) => {
  beneath.set(view, original)
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const isNodeReadable = (u: unknown): u is NodeReadable =>
  isObject(u) && typeof u["on"] === "function" && typeof u["removeListener"] === "function" &&
  typeof u["destroy"] === "function" && typeof u["readable"] === "boolean"

/**
 * The client's own body of `response`, unread, when it is of a known shape (see above); `undefined` otherwise.
 *
 * @internal
 */
export const directBody = (response: HttpClientResponse.HttpClientResponse): DirectBody | undefined => {
  let current: unknown = beneath.get(response) ?? response
  let controller: AbortController | undefined
  let claim: Effect.Effect<void> = Effect.void
  if (isObject(current) && isObject(current["original"]) && current["controller"] instanceof AbortController) {
    controller = current["controller"]
    const applyInterrupt = current["applyInterrupt"]
    if (typeof applyInterrupt === "function") claim = applyInterrupt.call(current, Effect.void) as Effect.Effect<void>
    current = current["original"]
  }
  if (!isObject(current)) return undefined
  const source = current["source"]
  if (!isObject(source)) return undefined
  if (typeof Response !== "undefined" && source instanceof Response) {
    const body = source.body
    return body !== null && !source.bodyUsed && !body.locked ? { _tag: "Web", body, controller, claim } : undefined
  }
  const body = source["body"]
  // Undici's answer (`Dispatcher.ResponseData`): a readable body and a numeric `statusCode`.
  return typeof source["statusCode"] === "number" && isNodeReadable(body) && body.readable
    ? { _tag: "Node", body, controller, claim }
    : undefined
}

/** Reads `direct` to its end within `maxBytes`; over it, or when interrupted, the body is dropped and the request aborted. */
const readDirect = <E>(
  response: HttpClientResponse.HttpClientResponse,
  direct: DirectBody,
  maxBytes: number,
  tooLarge: (overflow: Overflow) => E
): Effect.Effect<string, E | HttpClientError.ResponseError> =>
  Effect.zipRight(direct.claim, Effect.async<string, E | HttpClientError.ResponseError>((resume) => {
    const pieces: Array<Uint8Array> = []
    let total = 0
    let done = false
    const failed = (cause: unknown) =>
      Effect.fail(new HttpClientError.ResponseError({ request: response.request, response, reason: "Decode", cause }))
    /** Counts a piece; false once past the cap (the caller's error is then resumed). */
    const take = (piece: Uint8Array): boolean => {
      total += piece.length
      if (total > maxBytes) {
        done = true
        resume(Effect.fail(tooLarge({ _tag: "Read", total })))
        return false
      }
      pieces.push(piece)
      return true
    }
    if (direct._tag === "Node") {
      const body = direct.body
      const stop = () => {
        body.removeListener("data", onData)
        body.removeListener("end", onEnd)
        body.removeListener("error", onError)
      }
      const drop = () => {
        stop()
        body.destroy()
        direct.controller?.abort()
      }
      function onData(piece: Uint8Array) {
        if (!take(piece)) drop()
      }
      function onEnd() {
        stop()
        done = true
        resume(Effect.succeed(decodePieces(pieces, total)))
      }
      function onError(cause: unknown) {
        stop()
        done = true
        resume(failed(cause))
      }
      body.on("data", onData)
      body.on("end", onEnd)
      body.on("error", onError)
      return Effect.sync(() => {
        if (!done) drop()
      })
    }
    const reader = direct.body.getReader()
    const drop = () => {
      reader.cancel().catch(() => {})
      direct.controller?.abort()
    }
    const pump = (): void => {
      reader.read().then(
        (read) => {
          if (done) return
          if (read.done) {
            done = true
            reader.releaseLock()
            resume(Effect.succeed(decodePieces(pieces, total)))
          } else if (take(read.value)) {
            pump()
          } else {
            drop()
          }
        },
        (cause: unknown) => {
          if (done) return
          done = true
          resume(failed(cause))
        }
      )
    }
    pump()
    return Effect.sync(() => {
      if (!done) {
        done = true
        drop()
      }
    })
  }))
