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
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** How a body passed the cap: its declared length (nothing was read), or the bytes read by the time it did. */
export type Overflow =
  | { readonly _tag: "Declared"; readonly length: number }
  | { readonly _tag: "Read"; readonly total: number }

/**
 * The body as text within `maxBytes`. A declared `content-length` over the cap fails before any byte is read; a
 * declared length within it frames the body (the client stops there), so such a body is read in one go — the
 * chunk-by-chunk stream costs a third of a millisecond per call (bench/README.md). A body without a length, or one the
 * client may decompress (a small length could expand past the cap), is counted as it arrives and the read stops at
 * the first chunk past the cap, which aborts the request. `headers`: `response.headers`, when the caller read them
 * already.
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
      Effect.map(() => {
        const whole = new Uint8Array(total)
        let offset = 0
        for (const piece of pieces) {
          whole.set(piece, offset)
          offset += piece.length
        }
        return new TextDecoder().decode(whole)
      })
    )
  })
}
