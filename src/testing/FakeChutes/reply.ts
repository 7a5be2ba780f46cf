/**
 * What a route answers, as data: a status, headers and a body, or a streamed body with its pacing; and the HTML pages
 * the fake shows. `writer.ts` turns these into responses.
 */
import { STATUS_CODES } from "node:http"

/**
 * An answer to send. Non-streamed bodies go out whole with `content-length`; a `stream` plan is written piece by piece
 * without it (the whole `body` is kept too, for the `SlowDrip` fault).
 */
export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | Uint8Array
  readonly stream?: StreamPlan | undefined
}

/** How a streamed reply is written. */
export interface StreamPlan {
  readonly chunks: ReadonlyArray<Uint8Array>
  /** Pause between writes (0: one turn of the event loop). */
  readonly intervalMillis: number
  /** Leave the response open after the last chunk. */
  readonly keepOpen: boolean
  /** What a hostile stream writes after its chunks (`ChatStreamOptions.hang` / `flood`). */
  readonly tail: StreamTail | undefined
}

/** Keep-alive comments every `intervalMillis` (0: none) until the client leaves; or `piece` again and again. */
export type StreamTail =
  | { readonly _tag: "KeepAlive"; readonly intervalMillis: number }
  | { readonly _tag: "Flood"; readonly piece: Uint8Array; readonly maxBytes: number }

/** A reply, or what a Node-level fault does instead: drip the reply slowly, or drop the connection. */
export type Answer =
  | Reply
  | { readonly _tag: "Drip"; readonly reply: Reply; readonly chunkBytes: number; readonly intervalMillis: number }
  | { readonly _tag: "Reset" }

export const jsonReply = (status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(value)
})

export const detailReply = (status: number, detail: unknown, headers: Readonly<Record<string, string>> = {}): Reply =>
  jsonReply(status, { detail }, headers)

export const htmlReply = (status: number, markup: string): Reply => ({
  status,
  headers: { "content-type": "text/html; charset=utf-8" },
  body: markup
})

export const redirectReply = (location: string): Reply => ({
  status: 302,
  headers: { location, "cache-control": "no-store" },
  body: ""
})

/** `Location` to `redirectUri` with these query parameters added (undefined ones left out). */
export const redirectWith = (redirectUri: string, params: Readonly<Record<string, string | undefined>>): Reply => {
  const target = new URL(redirectUri)
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) target.searchParams.set(name, value)
  }
  return redirectReply(target.toString())
}

export const reasonPhrase = (status: number): string => STATUS_CODES[status] ?? "Error"

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

export const htmlPage = (title: string, inner: string): string =>
  `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n` +
  `<body>\n${inner}\n</body>\n</html>\n`

/** Like the edge's HTML pages (Cloudflare 5xx), which clients must not try to read as JSON. */
export const edgeErrorPage = (status: number): Reply => {
  const reason = reasonPhrase(status)
  return htmlReply(
    status,
    htmlPage(
      `chutes.ai | ${status}: ${reason}`,
      `<div id="cf-error-details"><h1>${escapeHtml(reason)}</h1><span>Error code ${status}</span>\n` +
        `<p>Visit <a href="https://www.cloudflare.com/">cloudflare.com</a> for more information.</p>\n` +
        `<p>Cloudflare Ray ID: <strong>8f00fa4efa4e0000</strong></p></div>`
    )
  )
}
