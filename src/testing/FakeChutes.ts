/**
 * A faithful fake of the Chutes service — the OpenAI-compatible LLM API (`/v1/...`) and the identity provider
 * (`/idp/...`) — served with plain `node:http` on loopback.
 *
 * It behaves like the live service where the SDK cares (docs/testing.md): `/v1/models` is public but rejects a bad
 * bearer with 401 `{"detail": …}`, the IdP accepts S256 PKCE only, codes are single-use, refresh tokens rotate and are
 * single-use, the client secret is checked on every code exchange, refresh and revoke (by default, like the live IdP).
 * Faults (status, HTML error page, malformed JSON, delay, connection reset, slow drip, raw body) can be injected per
 * route, and every request is counted and recorded.
 *
 * `POST /v1/chat/completions` answers scripted replies (`server.chat`): text, `reasoning_content` / `reasoning`, tool
 * calls, usage and finish reasons, as one completion or as SSE chunks (usage repeated on every chunk like the live
 * service, configurable network chunking, a mid-stream error as the raw un-prefixed `{"error": …}` line; hostile
 * streams: a hang with `: keep-alive` comments, an endless line, endless tool-call arguments), per-model
 * availability (404 `model not found`, 503 `No instances available`), and every request body recorded as parsed JSON.
 *
 * Use it as a Promise API (`start`), as a scoped Effect (`make`) or a Layer (`layer`), in-process or as a child
 * process (`scripts/fake-chutes.ts`), which other processes drive through the `/__control/...` routes.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import type { Socket } from "node:net"

// ---------------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Options of the fake server. Every field is optional.
 *
 * @since 0.1.0
 */
export interface FakeChutesOptions {
  /** Raw `/v1/models` items. Default: the real capture (`seedModels()`). */
  readonly models?: ReadonlyArray<unknown> | undefined
  /** API keys accepted as bearer. Default: `[defaultApiKey]`. */
  readonly apiKeys?: ReadonlyArray<string> | undefined
  /** The one registered OAuth client. Default `"cid_fake_client"`. */
  readonly clientId?: string | undefined
  /**
   * The client secret, checked on every code exchange, refresh and revoke like the live IdP does (a wrong or missing
   * one gets 400 `{"error": "invalid_client"}`). `undefined` (or absent) -> the default `"cs_fake_secret"`; `null` or
   * `""` -> a client without a secret, which the live IdP no longer has (for tests of the fake itself).
   */
  readonly clientSecret?: string | null | undefined
  /** Redirect URIs registered for the client (matched exactly). Default `["http://127.0.0.1:1456/oauth-callback"]`. */
  readonly redirectUris?: ReadonlyArray<string> | undefined
  /** `expires_in` sent by `/idp/token`, and the real lifetime of issued access tokens. Default 3600. */
  readonly accessTokenTtlSeconds?: number | undefined
  /** When true, `/idp/authorize` redirects at once with a code instead of showing the consent page. */
  readonly autoApprove?: boolean | undefined
  /** `username` returned by `/idp/userinfo`. Default `"alice"`. */
  readonly username?: string | undefined
  /** `sub` returned by `/idp/userinfo`. Default `"user-<username>-0001"` (`"user-alice-0001"`). */
  readonly sub?: string | undefined
  /** Port to listen on (host is always 127.0.0.1). Default 0 (ephemeral). */
  readonly port?: number | undefined
}

/**
 * The routes faults and counters are keyed by. `"authorize"` covers both `GET /idp/authorize` and
 * `POST /idp/authorize/decision`.
 *
 * @since 0.1.0
 */
export type FakeRoute = "models" | "token" | "userinfo" | "revoke" | "authorize" | "chat"

/**
 * A fault injected on a route. Faults on one route form a queue: a request takes the first one, which applies to its
 * next `times` requests (default: until cleared), then the next one takes over.
 *
 * - `Status`: that status with a JSON body (`body`, else `{"detail": "<reason>"}` on LLM routes — an object detail for
 *   402 — and `{"error": "<code>"}` on IdP routes), plus `headers`.
 * - `Html`: an HTML error page (like a Cloudflare 502 page) with that status.
 * - `MalformedJson`: 200 with a truncated JSON body.
 * - `Delay`: waits `millis`, then answers normally.
 * - `Reset`: destroys the socket without a response.
 * - `SlowDrip`: the normal response, its body written `chunkBytes` at a time every `intervalMillis`.
 * - `Body`: a raw body with that status and content type (default `text/plain; charset=utf-8`).
 * - `Echo` (IdP routes): a hostile IdP that echoes what the request carried, with that status:
 *   `{"error": <the refresh token, code, token or bearer sent>, "error_description": <every form value and the bearer,
 *   each also cut to its first 20 characters>}`.
 *
 * @since 0.1.0
 */
export type Fault =
  | {
    readonly _tag: "Status"
    readonly route: FakeRoute
    readonly status: number
    readonly body?: unknown
    readonly headers?: Record<string, string>
    readonly times?: number
  }
  | { readonly _tag: "Html"; readonly route: FakeRoute; readonly status: number; readonly times?: number }
  | { readonly _tag: "MalformedJson"; readonly route: FakeRoute; readonly times?: number }
  | { readonly _tag: "Delay"; readonly route: FakeRoute; readonly millis: number; readonly times?: number }
  | { readonly _tag: "Reset"; readonly route: FakeRoute; readonly times?: number }
  | {
    readonly _tag: "SlowDrip"
    readonly route: FakeRoute
    readonly chunkBytes: number
    readonly intervalMillis: number
    readonly times?: number
  }
  | {
    readonly _tag: "Body"
    readonly route: FakeRoute
    readonly status: number
    readonly body: string
    readonly contentType?: string
    readonly times?: number
  }
  | { readonly _tag: "Echo"; readonly route: FakeRoute; readonly status: number; readonly times?: number }

/**
 * Request counters. `models`, `chat`, `token`, `userinfo`, `revoke` count every request reaching the route (faulted
 * ones included); `authorize` counts `GET /idp/authorize` only; `tokenByGrant` splits `token` by grant type;
 * `invalidGrant` counts `invalid_grant` answers; `unauthorized` counts 401 answers to bad or missing bearers
 * (`/v1/...` and `/idp/userinfo`).
 *
 * @since 0.1.0
 */
export interface FakeCounters {
  models: number
  token: number
  tokenByGrant: { authorization_code: number; refresh_token: number }
  invalidGrant: number
  userinfo: number
  revoke: number
  authorize: number
  chat: number
  unauthorized: number
}

/**
 * One request as the fake saw it (control routes excluded).
 *
 * @since 0.1.0
 */
export interface RecordedRequest {
  readonly method: string
  /** Path and query, e.g. `/idp/authorize?client_id=…`. */
  readonly path: string
  /** The route, when the path is a known one. */
  readonly route: FakeRoute | undefined
  /** Lower-case header names; repeated headers joined with `", "`. Authorization is kept (fake secrets only). */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** Epoch milliseconds at arrival. */
  readonly at: number
}

/**
 * Tokens issued directly by `FakeChutesServer.issueTokens`.
 *
 * @since 0.1.0
 */
export interface IssuedTokens {
  readonly access: string
  readonly refresh: string
  readonly expiresIn: number
}

/**
 * Token counts of a scripted chat answer, as the service sends them (`usage` of a chat completion).
 *
 * @since 0.1.0
 */
export interface ChatUsage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens?: number | undefined
  readonly prompt_tokens_details?: { readonly cached_tokens?: number | undefined } | null | undefined
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number | undefined } | null | undefined
}

/**
 * A tool call in a scripted answer. `arguments` is sent as it is when it is a string (so a test can send invalid
 * JSON), else JSON-encoded.
 *
 * @since 0.1.0
 */
export interface ChatToolCall {
  /** Default: `chatcmpl-tool-<hex>`. */
  readonly id?: string | undefined
  readonly name: string
  readonly arguments: string | Readonly<Record<string, unknown>>
}

/**
 * How a scripted answer is streamed when the request asks for `"stream": true`.
 *
 * @since 0.1.0
 */
export interface ChatStreamOptions {
  /** Characters of content, reasoning or tool arguments per SSE event. Default 8. */
  readonly deltaChars?: number | undefined
  /**
   * Cut the SSE body into network writes of this many bytes, ignoring event boundaries — so a write may end inside a
   * UTF-8 character or inside a JSON string. Default: one write per event.
   */
  readonly chunkBytes?: number | undefined
  /**
   * Pause between writes: between events, or between `chunkBytes` pieces when set (so 40-byte pieces of 250-byte
   * events pause six times per event). Default 0, as fast as the loopback goes (each write still goes out on its own
   * turn of the event loop); a pause per event (e.g. 40 ms, no `chunkBytes`) shows tokens arriving.
   */
  readonly intervalMillis?: number | undefined
  /** `usage` on every chunk, like the live service (default); only on a last chunk with no choices; or never. */
  readonly usage?: "every" | "last" | "none" | undefined
  /** Fail mid-stream after this many events (the role event counts): send `error` and stop, without `[DONE]`. */
  readonly errorAfter?: number | undefined
  /** The value of the mid-stream `{"error": …}`. Default: a vLLM-style error object with code 500. */
  readonly error?: unknown
  /** Send the mid-stream error as `data: {"error": …}` instead of the raw, un-prefixed line the live service sends. */
  readonly errorPrefixed?: boolean | undefined
  /** Leave out the final `data: [DONE]`. */
  readonly omitDone?: boolean | undefined
  /** Keep the connection open after the last write (until the server closes), to catch clients that would hang. */
  readonly keepOpen?: boolean | undefined
  /**
   * Hold the stream: after the first `after` events (the role event counts; 0: right after the headers), send no
   * more events, only a `: keep-alive` comment every `keepAliveMillis` (default 1000; 0: silence), until the client
   * leaves or the server closes. For time-to-first-event and idle timeouts. (One of `errorAfter`, `hang`, `flood`.)
   */
  readonly hang?: { readonly after: number; readonly keepAliveMillis?: number | undefined } | undefined
  /**
   * Flood the client: after the first `after` events, either one `data:` line that never ends (`"line"`) or endless
   * well-formed tool-call argument deltas for one tool call (`"toolArguments"`, 4 KiB of arguments per event),
   * written as fast as the client reads, until it leaves, the server closes, or `maxBytes` (default 64 MiB) are
   * written (then the response ends). For the size caps of a stream. (One of `errorAfter`, `hang`, `flood`.)
   */
  readonly flood?: {
    readonly after: number
    readonly kind: "line" | "toolArguments"
    readonly maxBytes?: number | undefined
  } | undefined
}

/**
 * A scripted chat answer. Fields left out get plain defaults: `content` null, `finishReason` `"tool_calls"` when
 * there are tool calls else `"stop"`, usage estimated from the text.
 *
 * @since 0.1.0
 */
export interface ChatReply {
  /** Only requests for this model take this answer. Default: any model. */
  readonly model?: string | undefined
  readonly content?: string | null | undefined
  /** Sent as `reasoning_content` (what most Chutes engines use). */
  readonly reasoningContent?: string | undefined
  /** Sent as `reasoning` (what some engines use instead). */
  readonly reasoning?: string | undefined
  readonly toolCalls?: ReadonlyArray<ChatToolCall> | undefined
  /** `null` sends `"finish_reason": null`. */
  readonly finishReason?: string | null | undefined
  /** `null` sends no usage at all. */
  readonly usage?: ChatUsage | null | undefined
  /** Extra response headers. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly stream?: ChatStreamOptions | undefined
}

/**
 * A scripted error answer for one request (before any streaming): that status with `body` (default
 * `{"detail": "<reason phrase>"}`, an object detail for 402).
 *
 * @since 0.1.0
 */
export interface ChatErrorReply {
  /** Only requests for this model take this answer. Default: any model. */
  readonly model?: string | undefined
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * Whether the fake serves a model: `available`; `not-found` -> 404 `model not found: <model>`; `no-instances` ->
 * 503 `No instances available`. Models without an explicit setting are available when the catalog lists them.
 *
 * @since 0.1.0
 */
export type ChatAvailability = "available" | "not-found" | "no-instances"

/**
 * The scripting side of `POST /v1/chat/completions`.
 *
 * Each request takes the first queued answer whose `model` matches (or has none), else the default answer
 * ("Hello from FakeChutes"). Checks happen in the live service's order: bearer (401), OAuth scope `chutes:invoke`
 * (403), body (400), model availability (404 / 503), then the answer.
 *
 * @since 0.1.0
 */
export interface FakeChat {
  /** Queue answers, used once each, in order. */
  script(...replies: ReadonlyArray<ChatReply | ChatErrorReply>): void
  /** The answer used when the queue has none for the model (`undefined`: "Hello from FakeChutes"). */
  setDefaultReply(reply: ChatReply | undefined): void
  /** Override whether a model is served (`undefined` removes the override). */
  setAvailability(model: string, availability: ChatAvailability | undefined): void
  /** Queued answers not used yet. */
  readonly pending: number
  /** The body of every chat request, parsed as JSON (the raw text when it is not JSON), oldest first. */
  readonly bodies: ReadonlyArray<unknown>
}

/**
 * A running fake.
 *
 * @since 0.1.0
 */
export interface FakeChutesServer {
  /** `"http://127.0.0.1:PORT"` */
  readonly url: string
  /** `url + "/v1"`: what `CHUTES_BASE_URL` would be. */
  readonly baseUrl: string
  /** `url`: what `CHUTES_IDP_BASE_URL` would be. */
  readonly idpBaseUrl: string
  /** The first accepted API key. */
  readonly apiKey: string
  readonly clientId: string
  readonly clientSecret: string | undefined
  /** Live counters (zeroed in place by `reset`). */
  readonly counters: FakeCounters
  /** Queue a fault on its route. */
  fault(fault: Fault): void
  /** Remove the faults of one route, or of every route. */
  clearFaults(route?: FakeRoute): void
  /** Replace the catalog served by `/v1/models`. */
  setModels(items: ReadonlyArray<unknown>): void
  /** Lifetime (and `expires_in`) of access tokens issued from now on. */
  setAccessTokenTtl(seconds: number): void
  setAutoApprove(on: boolean): void
  /** Issue tokens directly (for tests that need a signed-in profile without the browser). */
  issueTokens(options?: { readonly expiresIn?: number | undefined }): IssuedTokens
  /** Every request seen, oldest first (live array, emptied in place by `reset`). */
  readonly requests: ReadonlyArray<RecordedRequest>
  /** Scripted chat answers, model availability and the recorded chat bodies. */
  readonly chat: FakeChat
  /**
   * Zero the counters, clear the faults and the request log, and the chat script, default answer, availability
   * overrides and recorded bodies. Tokens, catalog and settings stay.
   */
  reset(): void
  /** Close every connection (in-flight delays and drips included) and the listener. Idempotent. */
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------------------------------------------
// Constants and catalogs
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A fake API key shaped like a real one (`cpk_` + 32 hex + `.` + 32 hex + `.` + 32 alphanumerics) and obviously fake.
 *
 * @since 0.1.0
 */
export const defaultApiKey: string = "cpk_" + "0123456789abcdef".repeat(2) + "." + "fedcba9876543210".repeat(2) + "." +
  "FAKEfake".repeat(4)

/** The routes, in a stable order. */
const routes: ReadonlyArray<FakeRoute> = ["models", "token", "userinfo", "revoke", "authorize", "chat"]

const defaultScope = "openid profile chutes:invoke"
const codeLifetimeMillis = 600_000
const pendingLifetimeMillis = 600_000

/**
 * The dates of the real `GET /v1/models` captures shipped in `fixtures/`.
 *
 * @since 0.2.0
 */
export type CaptureDate = "2026-06-11" | "2026-08-06"

const captureCache = new Map<CaptureDate, ReadonlyArray<unknown>>()

/**
 * The `data` array of a real `GET /v1/models` capture (`fixtures/chutes-models-<date>.json`: 13 items each). Read on
 * first use, then cached.
 *
 * @since 0.2.0
 */
export const capturedModels = (date: CaptureDate): ReadonlyArray<unknown> => {
  let models = captureCache.get(date)
  if (models === undefined) {
    const text = readFileSync(new URL(`./fixtures/chutes-models-${date}.json`, import.meta.url), "utf8")
    const parsed: unknown = JSON.parse(text)
    const data = Predicate.isRecord(parsed) ? parsed["data"] : undefined
    if (!Array.isArray(data)) {
      throw new Error(`FakeChutes: the models fixture of ${date} has no data array`)
    }
    models = Object.freeze(data.slice())
    captureCache.set(date, models)
  }
  return models
}

/**
 * The `data` array of the first real capture (2026-06-11), the catalog FakeChutes serves unless told otherwise.
 *
 * @since 0.1.0
 */
export const seedModels = (): ReadonlyArray<unknown> => capturedModels("2026-06-11")

/**
 * A catalog of `count` items made by repeating the real ones: the first pass keeps the real ids, later passes get
 * unique ids `"<id>-g<N>"` (N = the item's index). For big-catalog tests.
 *
 * @since 0.1.0
 */
export const generateModels = (count: number): ReadonlyArray<unknown> => {
  const seed = seedModels()
  const out: Array<unknown> = []
  if (seed.length === 0) return out
  for (let i = 0; i < count; i++) {
    const item = seed[i % seed.length]
    if (i < seed.length || !Predicate.isRecord(item) || typeof item["id"] !== "string") {
      out.push(item)
    } else {
      out.push({ ...item, id: `${item["id"]}-g${i}` })
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------------------------------

interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The whole body (a streamed reply keeps it too, for `SlowDrip`). */
  readonly body: string | Buffer
  /** Streamed replies: written one piece at a time, without `content-length`. */
  readonly chunks?: ReadonlyArray<Buffer> | undefined
  readonly intervalMillis?: number | undefined
  /** Leave the response open after the last chunk. */
  readonly keepOpen?: boolean | undefined
  /** What a hostile stream writes after its chunks (`ChatStreamOptions.hang` / `flood`). */
  readonly tail?: StreamTail | undefined
}

/** Keep-alive comments every `intervalMillis` (0: none) until the client leaves; or `piece` again and again. */
type StreamTail =
  | { readonly _tag: "KeepAlive"; readonly intervalMillis: number }
  | { readonly _tag: "Flood"; readonly piece: Buffer; readonly maxBytes: number }

const jsonReply = (status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(value)
})

const htmlReply = (status: number, markup: string): Reply => ({
  status,
  headers: { "content-type": "text/html; charset=utf-8" },
  body: markup
})

const redirectReply = (location: string): Reply => ({
  status: 302,
  headers: { location, "cache-control": "no-store" },
  body: ""
})

const detailReply = (status: number, detail: unknown, headers: Readonly<Record<string, string>> = {}): Reply =>
  jsonReply(status, { detail }, headers)

const reasonPhrase = (status: number): string => Http.STATUS_CODES[status] ?? "Error"

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

const htmlPage = (title: string, inner: string): string =>
  `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n` +
  `<body>\n${inner}\n</body>\n</html>\n`

const authorizeErrorPage = (message: string): Reply =>
  htmlReply(
    400,
    htmlPage(
      "Authorization error",
      `<h1>Authorization error</h1>\n<p id="error">${escapeHtml(message)}</p>`
    )
  )

/** Like the edge's HTML pages (Cloudflare 5xx), which clients must not try to read as JSON. */
const edgeErrorPage = (status: number): Reply => {
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

const idpErrorCode = (route: FakeRoute, status: number): string => {
  switch (status) {
    case 400:
      return "invalid_request"
    case 401:
      return route === "userinfo" ? "invalid_token" : "invalid_client"
    case 403:
      return "access_denied"
    case 500:
      return "server_error"
    case 503:
      return "temporarily_unavailable"
    default:
      return reasonPhrase(status).toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "")
  }
}

const isLlmRoute = (route: FakeRoute): boolean => route === "models" || route === "chat"

const defaultFaultBody = (route: FakeRoute, status: number): unknown => {
  if (!isLlmRoute(route)) return { error: idpErrorCode(route, status) }
  if (status === 402) return { detail: { message: "Quota exceeded", reset_at: "2026-11-26T00:00:00Z" } }
  return { detail: reasonPhrase(status) }
}

// ---------------------------------------------------------------------------------------------------------------------
// Fault decoding (control API)
// ---------------------------------------------------------------------------------------------------------------------

const RouteSchema = Schema.Literal("models", "token", "userinfo", "revoke", "authorize", "chat")
const TimesSchema = Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { exact: true })
const StatusCodeSchema = Schema.Int.pipe(Schema.between(100, 599))

const FaultSchema = Schema.Union(
  Schema.TaggedStruct("Status", {
    route: RouteSchema,
    status: StatusCodeSchema,
    body: Schema.optionalWith(Schema.Unknown, { exact: true }),
    headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { exact: true }),
    times: TimesSchema
  }),
  Schema.TaggedStruct("Html", { route: RouteSchema, status: StatusCodeSchema, times: TimesSchema }),
  Schema.TaggedStruct("MalformedJson", { route: RouteSchema, times: TimesSchema }),
  Schema.TaggedStruct("Delay", {
    route: RouteSchema,
    millis: Schema.Number.pipe(Schema.nonNegative()),
    times: TimesSchema
  }),
  Schema.TaggedStruct("Reset", { route: RouteSchema, times: TimesSchema }),
  Schema.TaggedStruct("SlowDrip", {
    route: RouteSchema,
    chunkBytes: Schema.Int.pipe(Schema.positive()),
    intervalMillis: Schema.Number.pipe(Schema.nonNegative()),
    times: TimesSchema
  }),
  Schema.TaggedStruct("Body", {
    route: RouteSchema,
    status: StatusCodeSchema,
    body: Schema.String,
    contentType: Schema.optionalWith(Schema.String, { exact: true }),
    times: TimesSchema
  }),
  Schema.TaggedStruct("Echo", { route: RouteSchema, status: StatusCodeSchema, times: TimesSchema })
)

const ControlModelsSchema = Schema.Struct({
  items: Schema.optionalWith(Schema.Array(Schema.Unknown), { exact: true }),
  count: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { exact: true })
})
const ControlSettingsSchema = Schema.Struct({
  accessTokenTtlSeconds: Schema.optionalWith(Schema.Number, { exact: true }),
  autoApprove: Schema.optionalWith(Schema.Boolean, { exact: true })
})
const ControlTokensSchema = Schema.Struct({ expiresIn: Schema.optionalWith(Schema.Number, { exact: true }) })
const ControlClearSchema = Schema.Struct({ route: Schema.optionalWith(RouteSchema, { exact: true }) })

// ---------------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------------

const randomHex = (bytes: number): string => randomBytes(bytes).toString("hex")

/** The `Echo` fault's answer: what the request carried, sent back whole and cut short. */
const echoReply = (status: number, req: Http.IncomingMessage, body: string): Reply => {
  const form = new URLSearchParams(body)
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1]
  const values = [...Array.from(form.values()), ...(bearer !== undefined ? [bearer] : [])]
  const error = form.get("refresh_token") ?? form.get("code") ?? form.get("token") ?? bearer ?? "echo"
  return jsonReply(status, {
    error,
    error_description: `you sent ${values.join(" ")}; in short ${values.map((v) => v.slice(0, 20)).join(" ")}`
  })
}

const s256 = (verifier: string): string => createHash("sha256").update(verifier).digest("base64url")

const safeEqual = (a: string, b: string): boolean => {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  return ab.length === bb.length && timingSafeEqual(ab, bb)
}

const bearerOf = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  return match?.[1]
}

const basicOf = (header: string | undefined): { readonly id: string; readonly secret: string } | undefined => {
  const match = header === undefined ? null : /^Basic[ \t]+(\S+)[ \t]*$/i.exec(header)
  const encoded = match?.[1]
  if (encoded === undefined) return undefined
  const decoded = Buffer.from(encoded, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon < 0) return undefined
  return {
    id: decodeURIComponent(decoded.slice(0, colon)),
    secret: decodeURIComponent(decoded.slice(colon + 1))
  }
}

const formValue = (form: URLSearchParams, name: string): string | undefined => {
  const value = form.get(name)
  return value === null || value === "" ? undefined : value
}

const isForm = (req: Http.IncomingMessage): boolean =>
  (req.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")

const parseJson = (text: string): Either.Either<unknown, string> => {
  if (text.trim() === "") return Either.right({})
  try {
    const value: unknown = JSON.parse(text)
    return Either.right(value)
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const flattenHeaders = (headers: Http.IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

const zeroCounters = (counters: FakeCounters): void => {
  counters.models = 0
  counters.token = 0
  counters.tokenByGrant.authorization_code = 0
  counters.tokenByGrant.refresh_token = 0
  counters.invalidGrant = 0
  counters.userinfo = 0
  counters.revoke = 0
  counters.authorize = 0
  counters.chat = 0
  counters.unauthorized = 0
}

const newCounters = (): FakeCounters => ({
  models: 0,
  token: 0,
  tokenByGrant: { authorization_code: 0, refresh_token: 0 },
  invalidGrant: 0,
  userinfo: 0,
  revoke: 0,
  authorize: 0,
  chat: 0,
  unauthorized: 0
})

type Endpoint = "models" | "chat" | "token" | "revoke" | "userinfo" | "authorize" | "decision" | "wellKnown"

interface EndpointEntry {
  readonly method: string
  readonly endpoint: Endpoint
  readonly route?: FakeRoute
}

const endpoints: ReadonlyMap<string, EndpointEntry> = new Map<string, EndpointEntry>([
  ["/v1/models", { method: "GET", endpoint: "models", route: "models" }],
  ["/v1/chat/completions", { method: "POST", endpoint: "chat", route: "chat" }],
  ["/idp/token", { method: "POST", endpoint: "token", route: "token" }],
  ["/idp/token/revoke", { method: "POST", endpoint: "revoke", route: "revoke" }],
  ["/idp/userinfo", { method: "GET", endpoint: "userinfo", route: "userinfo" }],
  ["/idp/authorize", { method: "GET", endpoint: "authorize", route: "authorize" }],
  ["/idp/authorize/decision", { method: "POST", endpoint: "decision", route: "authorize" }],
  ["/.well-known/openid-configuration", { method: "GET", endpoint: "wellKnown" }]
])

/** Bodies for `MalformedJson` on routes whose normal body is not cached: valid JSON, cut short. */
const truncatedBodies: Readonly<Record<Exclude<FakeRoute, "models">, string>> = {
  token: `{"access_token":"cak_0123456789abcdef","refresh_token":"crt_01`,
  userinfo: `{"sub":"user-alice-0001","usern`,
  revoke: `{"`,
  authorize: `{"detail":"Auth`,
  chat: `{"id":"chatcmpl-fake","object":"chat.completion","choices":[{"index":0,"message":{"role":"assist`
}

// ---------------------------------------------------------------------------------------------------------------------
// Chat completions
// ---------------------------------------------------------------------------------------------------------------------

const defaultChatReply: ChatReply = {
  content: "Hello from FakeChutes",
  usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 }
}

const defaultStreamError = {
  object: "error",
  message: "Internal server error during generation",
  type: "InternalServerError",
  param: null,
  code: 500
}

const isChatErrorReply = (reply: ChatReply | ChatErrorReply): reply is ChatErrorReply => "status" in reply

interface ScriptedCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

const scriptedCalls = (reply: ChatReply): ReadonlyArray<ScriptedCall> =>
  (reply.toolCalls ?? []).map((call) => ({
    id: call.id ?? `chatcmpl-tool-${randomHex(8)}`,
    name: call.name,
    arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments)
  }))

const finishReasonOf = (reply: ChatReply, calls: ReadonlyArray<ScriptedCall>): string | null =>
  reply.finishReason !== undefined ? reply.finishReason : calls.length > 0 ? "tool_calls" : "stop"

/** The final usage: scripted (total filled in), estimated from the text (about 4 characters a token), or none. */
const usageOf = (reply: ChatReply, calls: ReadonlyArray<ScriptedCall>): ChatUsage | undefined => {
  if (reply.usage === null) return undefined
  if (reply.usage !== undefined) {
    const { completion_tokens, prompt_tokens, total_tokens } = reply.usage
    return { ...reply.usage, total_tokens: total_tokens ?? prompt_tokens + completion_tokens }
  }
  const text = (reply.content ?? "") + (reply.reasoningContent ?? "") + (reply.reasoning ?? "") +
    calls.map((call) => call.arguments).join("")
  const completion = Math.max(1, Math.ceil(text.length / 4))
  return { prompt_tokens: 10, completion_tokens: completion, total_tokens: 10 + completion }
}

const chatErrorReply = (reply: ChatErrorReply): Reply =>
  jsonReply(reply.status, reply.body !== undefined ? reply.body : defaultFaultBody("chat", reply.status), {
    ...reply.headers
  })

/** The non-streaming answer: one `chat.completion` object. */
const completionReply = (reply: ChatReply, model: string, id: string, now: number): Reply => {
  const calls = scriptedCalls(reply)
  const message: Record<string, unknown> = { role: "assistant", content: reply.content ?? null }
  if (reply.reasoningContent !== undefined) message["reasoning_content"] = reply.reasoningContent
  if (reply.reasoning !== undefined) message["reasoning"] = reply.reasoning
  if (calls.length > 0) {
    message["tool_calls"] = calls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments }
    }))
  }
  const usage = usageOf(reply, calls)
  return jsonReply(
    200,
    {
      id,
      object: "chat.completion",
      created: Math.floor(now / 1000),
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(reply, calls) }],
      ...(usage !== undefined ? { usage } : {})
    },
    { "x-chutes-invocationid": randomUUID(), ...reply.headers }
  )
}

/** Splits text into pieces of `size` characters (code points, so the JSON of each event stays valid). */
const pieces = (text: string, size: number): ReadonlyArray<string> => {
  const chars = Array.from(text)
  const out: Array<string> = []
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(""))
  return out
}

/** The streaming answer: SSE `chat.completion.chunk` events the way vLLM / SGLang behind Chutes send them. */
const streamReply = (reply: ChatReply, model: string, id: string, now: number): Reply => {
  const options = reply.stream ?? {}
  const size = Math.max(1, Math.floor(options.deltaChars ?? 8))
  const calls = scriptedCalls(reply)
  const usage = usageOf(reply, calls)
  const usageMode = options.usage ?? "every"
  const created = Math.floor(now / 1000)

  const deltas: Array<{ readonly delta: Record<string, unknown>; readonly finish: string | null }> = [
    { delta: { role: "assistant", content: "" }, finish: null }
  ]
  for (const piece of pieces(reply.reasoningContent ?? "", size)) {
    deltas.push({ delta: { reasoning_content: piece }, finish: null })
  }
  for (const piece of pieces(reply.reasoning ?? "", size)) deltas.push({ delta: { reasoning: piece }, finish: null })
  for (const piece of pieces(reply.content ?? "", size)) deltas.push({ delta: { content: piece }, finish: null })
  calls.forEach((call, index) => {
    deltas.push({
      delta: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] },
      finish: null
    })
    for (const piece of pieces(call.arguments, size)) {
      deltas.push({ delta: { tool_calls: [{ index, function: { arguments: piece } }] }, finish: null })
    }
  })
  deltas.push({ delta: {}, finish: finishReasonOf(reply, calls) })

  const event = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`
  const base = { id, object: "chat.completion.chunk", created, model }
  const events: Array<string> = deltas.map(({ delta, finish }, i) => {
    const chunk: Record<string, unknown> = {
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }]
    }
    // The live service repeats a running usage on many chunks; clients must keep the last one.
    if (usageMode === "every" && usage !== undefined) {
      const completion = Math.min(i, usage.completion_tokens)
      chunk["usage"] = {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: completion,
        total_tokens: usage.prompt_tokens + completion
      }
    }
    return event(chunk)
  })
  if (usageMode !== "none" && usage !== undefined) events.push(event({ ...base, choices: [], usage }))

  if (options.errorAfter !== undefined) {
    events.length = Math.min(events.length, Math.max(0, options.errorAfter))
    const error = { error: options.error !== undefined ? options.error : defaultStreamError }
    events.push(options.errorPrefixed === true ? event(error) : `${JSON.stringify(error)}\n`)
  } else if (options.hang !== undefined || options.flood !== undefined) {
    events.length = Math.min(events.length, Math.max(0, (options.hang ?? options.flood)?.after ?? 0))
  } else if (options.omitDone !== true) {
    events.push("data: [DONE]\n\n")
  }
  const tail = streamTail(options, base, calls.length, events)

  const body = Buffer.from(events.join(""))
  const chunkBytes = options.chunkBytes !== undefined ? Math.max(1, Math.floor(options.chunkBytes)) : undefined
  const chunks: Array<Buffer> = []
  if (chunkBytes === undefined) {
    for (const text of events) chunks.push(Buffer.from(text))
  } else {
    for (let offset = 0; offset < body.length; offset += chunkBytes) {
      chunks.push(body.subarray(offset, offset + chunkBytes))
    }
  }
  return {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-chutes-invocationid": randomUUID(),
      ...reply.headers
    },
    body,
    chunks,
    intervalMillis: options.intervalMillis ?? 0,
    keepOpen: options.keepOpen ?? false,
    tail
  }
}

/** The hostile end of a stream (`hang`, `flood`); a flood's opening text is added to `events`. */
const streamTail = (
  options: ChatStreamOptions,
  base: Readonly<Record<string, unknown>>,
  toolIndex: number,
  events: Array<string>
): StreamTail | undefined => {
  if (options.errorAfter !== undefined) return undefined
  if (options.hang !== undefined) {
    return { _tag: "KeepAlive", intervalMillis: Math.max(0, options.hang.keepAliveMillis ?? 1000) }
  }
  const flood = options.flood
  if (flood === undefined) return undefined
  const maxBytes = Math.max(1, flood.maxBytes ?? 64 * 1024 * 1024)
  const delta = (value: Record<string, unknown>) => {
    const chunk = { ...base, choices: [{ index: 0, delta: value, logprobs: null, finish_reason: null }] }
    return `data: ${JSON.stringify(chunk)}\n\n`
  }
  if (flood.kind === "line") {
    // The opening of an event whose JSON string, and line, never end.
    const opening = delta({ content: "" })
    events.push(opening.slice(0, opening.indexOf(`"content":"`) + `"content":"`.length))
    return { _tag: "Flood", piece: Buffer.alloc(64 * 1024, "a"), maxBytes }
  }
  events.push(delta({
    tool_calls: [{ index: toolIndex, id: "call_flood", type: "function", function: { name: "flood", arguments: "" } }]
  }))
  const event = delta({ tool_calls: [{ index: toolIndex, function: { arguments: "a".repeat(4096) } }] })
  return { _tag: "Flood", piece: Buffer.from(event.repeat(16)), maxBytes }
}

// ---------------------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------------------

interface AccessTokenRecord {
  readonly clientId: string
  readonly scope: string
  readonly expiresAt: number
}
interface RefreshTokenRecord {
  readonly clientId: string
  readonly scope: string
  used: boolean
}
interface CodeRecord {
  readonly clientId: string
  readonly redirectUri: string
  readonly challenge: string
  readonly scope: string
  readonly expiresAt: number
}
interface PendingAuthorization {
  readonly clientId: string
  readonly redirectUri: string
  readonly state: string | undefined
  readonly challenge: string
  readonly scope: string
  readonly expiresAt: number
}
interface ActiveFault {
  readonly fault: Fault
  remaining: number
}

/**
 * Start a fake on 127.0.0.1 (ephemeral port unless `options.port`).
 *
 * @since 0.1.0
 */
export const start = (options: FakeChutesOptions = {}): Promise<FakeChutesServer> => {
  const apiKeys = new Set(options.apiKeys ?? [defaultApiKey])
  const apiKey = options.apiKeys?.[0] ?? defaultApiKey
  const clientId = options.clientId ?? "cid_fake_client"
  const clientSecret = options.clientSecret === undefined
    ? "cs_fake_secret"
    : options.clientSecret === null || options.clientSecret === ""
    ? undefined
    : options.clientSecret
  const redirectUris = new Set(options.redirectUris ?? ["http://127.0.0.1:1456/oauth-callback"])
  const username = options.username ?? "alice"
  const sub = options.sub ?? `user-${username}-0001`
  let accessTokenTtl = options.accessTokenTtlSeconds ?? 3600
  let autoApprove = options.autoApprove ?? false

  let modelCount = 0
  let modelsBody: Buffer = Buffer.alloc(0)
  let modelIds: ReadonlySet<string> = new Set()
  const setModels = (items: ReadonlyArray<unknown>): void => {
    modelCount = items.length
    modelIds = new Set(items.flatMap((item) => (Predicate.isRecord(item) && typeof item["id"] === "string" ? [item["id"]] : [])))
    // Serialised once: catalogs can hold thousands of items.
    modelsBody = Buffer.from(JSON.stringify({ object: "list", data: items }))
  }
  setModels(options.models ?? seedModels())

  const counters = newCounters()
  const requests: Array<RecordedRequest> = []
  const faults = new Map<FakeRoute, Array<ActiveFault>>()
  const accessTokens = new Map<string, AccessTokenRecord>()
  const refreshTokens = new Map<string, RefreshTokenRecord>()
  const codes = new Map<string, CodeRecord>()
  const pending = new Map<string, PendingAuthorization>()

  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const cancels = new Set<() => void>()
  let closed = false
  let url = ""

  // --- faults ---------------------------------------------------------------------------------------------------

  const addFault = (fault: Fault): void => {
    const queue = faults.get(fault.route) ?? []
    queue.push({ fault, remaining: fault.times ?? Number.POSITIVE_INFINITY })
    faults.set(fault.route, queue)
  }

  const clearFaults = (route?: FakeRoute): void => {
    if (route === undefined) faults.clear()
    else faults.delete(route)
  }

  const takeFault = (route: FakeRoute): Fault | undefined => {
    const queue = faults.get(route)
    if (queue === undefined) return undefined
    while (queue.length > 0) {
      const head = queue[0]
      if (head === undefined) break
      if (head.remaining <= 0) {
        queue.shift()
        continue
      }
      head.remaining -= 1
      if (head.remaining <= 0) queue.shift()
      return head.fault
    }
    faults.delete(route)
    return undefined
  }

  const activeFaults = (): ReadonlyArray<Fault & { readonly remaining: number | null }> =>
    routes.flatMap((route) =>
      (faults.get(route) ?? []).map((active) => ({
        ...active.fault,
        remaining: Number.isFinite(active.remaining) ? active.remaining : null
      }))
    )

  // --- timers that close() must be able to cut short -------------------------------------------------------------

  /** Resolves true after `millis`, or false when the server closes first. */
  const sleep = (millis: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (closed) return resolve(false)
      const cancel = (): void => {
        clearTimeout(timer)
        timers.delete(timer)
        cancels.delete(cancel)
        resolve(false)
      }
      const timer = setTimeout(() => {
        timers.delete(timer)
        cancels.delete(cancel)
        resolve(true)
      }, millis)
      timers.add(timer)
      cancels.add(cancel)
    })

  // --- tokens -----------------------------------------------------------------------------------------------------

  const issue = (forClient: string, scope: string, ttlSeconds: number): IssuedTokens & { readonly scope: string } => {
    const access = `cak_${randomHex(24)}`
    const refresh = `crt_${randomHex(24)}`
    accessTokens.set(access, { clientId: forClient, scope, expiresAt: Date.now() + ttlSeconds * 1000 })
    refreshTokens.set(refresh, { clientId: forClient, scope, used: false })
    return { access, refresh, expiresIn: ttlSeconds, scope }
  }

  const validAccessToken = (token: string): AccessTokenRecord | undefined => {
    const record = accessTokens.get(token)
    return record !== undefined && Date.now() < record.expiresAt ? record : undefined
  }

  const tokenReply = (tokens: IssuedTokens & { readonly scope: string }): Reply =>
    jsonReply(
      200,
      {
        access_token: tokens.access,
        refresh_token: tokens.refresh,
        token_type: "Bearer",
        expires_in: tokens.expiresIn,
        scope: tokens.scope
      },
      { "cache-control": "no-store", pragma: "no-cache" }
    )

  const invalidGrant = (): Reply => {
    counters.invalidGrant += 1
    return jsonReply(400, { error: "invalid_grant" }, { "cache-control": "no-store" })
  }

  /** Client authentication: `client_secret_post` or `client_secret_basic`; the secret is checked when one is set. */
  const authenticateClient = (
    req: Http.IncomingMessage,
    form: URLSearchParams
  ): { readonly ok: true; readonly clientId: string } | { readonly ok: false; readonly reply: Reply } => {
    const basic = basicOf(req.headers.authorization)
    const id = basic?.id ?? formValue(form, "client_id")
    const secret = basic?.secret ?? formValue(form, "client_secret")
    const fail = (): { readonly ok: false; readonly reply: Reply } => ({
      ok: false,
      // RFC 6749 §5.2: 401 when the client tried the Authorization header, else 400.
      reply: basic !== undefined
        ? jsonReply(401, { error: "invalid_client" }, { "www-authenticate": "Basic realm=\"chutes\"" })
        : jsonReply(400, { error: "invalid_client" })
    })
    if (id === undefined || id !== clientId) return fail()
    if (clientSecret !== undefined && (secret === undefined || !safeEqual(secret, clientSecret))) return fail()
    return { ok: true, clientId: id }
  }

  // --- normal handlers ----------------------------------------------------------------------------------------

  /** Auth on `/v1/...`: only the Authorization header is read; API keys and live access tokens pass. */
  const llmAuth = (req: Http.IncomingMessage, required: boolean): Reply | undefined => {
    const header = req.headers.authorization
    if (header === undefined || header.trim() === "") {
      if (!required) return undefined
      counters.unauthorized += 1
      return detailReply(401, "Not authenticated", { "www-authenticate": "Bearer" })
    }
    const token = bearerOf(header)
    if (token !== undefined && (apiKeys.has(token) || validAccessToken(token) !== undefined)) return undefined
    counters.unauthorized += 1
    return detailReply(401, "Invalid token.", { "www-authenticate": "Bearer" })
  }

  const handleModels = (req: Http.IncomingMessage): Reply =>
    llmAuth(req, false) ?? { status: 200, headers: { "content-type": "application/json" }, body: modelsBody }

  // --- chat ---------------------------------------------------------------------------------------------------------

  const chatScript: Array<ChatReply | ChatErrorReply> = []
  const chatAvailability = new Map<string, ChatAvailability>()
  const chatBodies: Array<unknown> = []
  let chatDefault: ChatReply | undefined

  const recordChatBody = (body: string): void => {
    const parsed = parseJson(body)
    chatBodies.push(Either.isRight(parsed) && body.trim() !== "" ? parsed.right : body)
  }

  const takeChatReply = (model: string): ChatReply | ChatErrorReply | undefined => {
    const index = chatScript.findIndex((reply) => reply.model === undefined || reply.model === model)
    if (index < 0) return undefined
    const [reply] = chatScript.splice(index, 1)
    return reply
  }

  /** 403 for an OAuth access token without `chutes:invoke`; API keys carry no scopes. */
  const chatScope = (req: Http.IncomingMessage): Reply | undefined => {
    const token = bearerOf(req.headers.authorization)
    const record = token === undefined ? undefined : validAccessToken(token)
    if (record === undefined || record.scope.split(/\s+/).includes("chutes:invoke")) return undefined
    return detailReply(403, "Insufficient scope: chutes:invoke is required for inference.")
  }

  const handleChat = (req: Http.IncomingMessage, body: string): Reply => {
    const denied = llmAuth(req, true) ?? chatScope(req)
    if (denied !== undefined) return denied
    const parsed = parseJson(body)
    if (Either.isLeft(parsed) || !Predicate.isRecord(parsed.right)) return detailReply(400, "Invalid JSON body.")
    const request = parsed.right
    const model = request["model"]
    if (typeof model !== "string" || model === "") return detailReply(400, "model is required")
    const messages = request["messages"]
    if (!Array.isArray(messages) || messages.length === 0) return detailReply(400, "messages is required")
    const availability = chatAvailability.get(model) ?? (modelIds.has(model) ? "available" : "not-found")
    if (availability === "not-found") return detailReply(404, `model not found: ${model}`)
    if (availability === "no-instances") return detailReply(503, `No instances available (yet) for chute: ${model}`)
    const scripted = takeChatReply(model)
    if (scripted !== undefined && isChatErrorReply(scripted)) return chatErrorReply(scripted)
    const reply = scripted ?? chatDefault ?? defaultChatReply
    const id = scripted === undefined && chatDefault === undefined ? "chatcmpl-fake" : `chatcmpl-${randomHex(12)}`
    return request["stream"] === true
      ? streamReply(reply, model, id, Date.now())
      : completionReply(reply, model, id, Date.now())
  }

  const chat: FakeChat = {
    script: (...replies) => {
      chatScript.push(...replies)
    },
    setDefaultReply: (reply) => {
      chatDefault = reply
    },
    setAvailability: (model, availability) => {
      if (availability === undefined) chatAvailability.delete(model)
      else chatAvailability.set(model, availability)
    },
    get pending() {
      return chatScript.length
    },
    bodies: chatBodies
  }

  const handleToken = (req: Http.IncomingMessage, body: string): Reply => {
    if (!isForm(req)) return jsonReply(400, { error: "invalid_request" })
    const form = new URLSearchParams(body)
    const grantType = formValue(form, "grant_type")
    if (grantType === undefined) return jsonReply(400, { error: "invalid_request" })
    if (grantType !== "authorization_code" && grantType !== "refresh_token") {
      return jsonReply(400, { error: "unsupported_grant_type" })
    }
    const client = authenticateClient(req, form)
    if (!client.ok) return client.reply
    if (grantType === "authorization_code") {
      const code = formValue(form, "code")
      const record = code === undefined ? undefined : codes.get(code)
      if (code === undefined || record === undefined) return invalidGrant()
      if (Date.now() >= record.expiresAt) {
        codes.delete(code)
        return invalidGrant()
      }
      if (record.clientId !== client.clientId || formValue(form, "redirect_uri") !== record.redirectUri) {
        return invalidGrant()
      }
      const verifier = formValue(form, "code_verifier")
      const verifierOk = verifier !== undefined && /^[A-Za-z0-9._~-]{43,128}$/.test(verifier) &&
        s256(verifier) === record.challenge
      if (!verifierOk) return invalidGrant()
      codes.delete(code)
      return tokenReply(issue(client.clientId, record.scope, accessTokenTtl))
    }
    const refresh = formValue(form, "refresh_token")
    if (refresh === undefined) return jsonReply(400, { error: "invalid_request" })
    const record = refreshTokens.get(refresh)
    // Rotating, single-use refresh tokens: a second use is refused like an unknown token.
    if (record === undefined || record.used || record.clientId !== client.clientId) return invalidGrant()
    record.used = true
    return tokenReply(issue(client.clientId, record.scope, accessTokenTtl))
  }

  const handleRevoke = (req: Http.IncomingMessage, body: string): Reply => {
    if (!isForm(req)) return jsonReply(400, { error: "invalid_request" })
    const form = new URLSearchParams(body)
    const client = authenticateClient(req, form)
    if (!client.ok) return client.reply
    const token = formValue(form, "token")
    if (token === undefined) return jsonReply(400, { error: "invalid_request" })
    // RFC 7009: unknown tokens are not an error.
    accessTokens.delete(token)
    refreshTokens.delete(token)
    return jsonReply(200, {})
  }

  const handleUserinfo = (req: Http.IncomingMessage): Reply => {
    const token = bearerOf(req.headers.authorization)
    if (token === undefined || validAccessToken(token) === undefined) {
      counters.unauthorized += 1
      return jsonReply(401, { error: "invalid_token" }, { "www-authenticate": "Bearer error=\"invalid_token\"" })
    }
    return jsonReply(200, { sub, username })
  }

  const redirectWith = (redirectUri: string, params: Readonly<Record<string, string | undefined>>): Reply => {
    const target = new URL(redirectUri)
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined) target.searchParams.set(name, value)
    }
    return redirectReply(target.toString())
  }

  const approve = (request: PendingAuthorization): Reply => {
    const code = randomHex(20)
    codes.set(code, {
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      challenge: request.challenge,
      scope: request.scope,
      expiresAt: Date.now() + codeLifetimeMillis
    })
    return redirectWith(request.redirectUri, { code, state: request.state })
  }

  const consentPage = (requestId: string, request: PendingAuthorization): Reply => {
    const scopes = request.scope.split(/\s+/).filter((s) => s !== "")
    const hidden = `<input type="hidden" name="request_id" value="${escapeHtml(requestId)}">`
    return htmlReply(
      200,
      htmlPage(
        "Authorize application",
        `<h1>Authorize application</h1>\n` +
          `<p>The application <code id="client-id">${escapeHtml(request.clientId)}</code> asks to access your ` +
          `Chutes account <strong id="username">${escapeHtml(username)}</strong> with these scopes:</p>\n` +
          `<ul id="scopes">${scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join("")}</ul>\n` +
          `<form method="post" action="/idp/authorize/decision">${hidden}` +
          `<button id="approve" name="decision" value="approve">Approve</button></form>\n` +
          `<form method="post" action="/idp/authorize/decision">${hidden}` +
          `<button id="deny" name="decision" value="deny">Deny</button></form>`
      )
    )
  }

  const handleAuthorize = (query: URLSearchParams): Reply => {
    const get = (name: string): string | undefined => formValue(query, name)
    const requestClient = get("client_id")
    const redirectUri = get("redirect_uri")
    const challenge = get("code_challenge")
    // Nothing here may redirect: the redirect URI is not trusted until every check passes.
    if (requestClient === undefined || requestClient !== clientId) return authorizeErrorPage("Unknown client_id.")
    if (redirectUri === undefined || !redirectUris.has(redirectUri)) {
      return authorizeErrorPage("redirect_uri is not registered for this application.")
    }
    if (get("response_type") !== "code") return authorizeErrorPage("response_type must be code.")
    if (get("code_challenge_method") !== "S256") return authorizeErrorPage("code_challenge_method must be S256.")
    if (challenge === undefined || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return authorizeErrorPage("code_challenge is missing or malformed.")
    }
    const request: PendingAuthorization = {
      clientId: requestClient,
      redirectUri,
      state: get("state"),
      challenge,
      scope: (get("scope") ?? defaultScope).trim().split(/\s+/).join(" "),
      expiresAt: Date.now() + pendingLifetimeMillis
    }
    if (autoApprove) return approve(request)
    const requestId = randomHex(16)
    pending.set(requestId, request)
    return consentPage(requestId, request)
  }

  const handleDecision = (req: Http.IncomingMessage, body: string): Reply => {
    const form = new URLSearchParams(isForm(req) ? body : "")
    const requestId = formValue(form, "request_id")
    const request = requestId === undefined ? undefined : pending.get(requestId)
    if (requestId === undefined || request === undefined || Date.now() >= request.expiresAt) {
      return authorizeErrorPage("Unknown or expired authorization request.")
    }
    const decision = formValue(form, "decision")
    if (decision !== "approve" && decision !== "deny") return authorizeErrorPage("decision must be approve or deny.")
    pending.delete(requestId)
    return decision === "approve"
      ? approve(request)
      : redirectWith(request.redirectUri, { error: "access_denied", state: request.state })
  }

  const wellKnown = (): Reply =>
    jsonReply(200, {
      issuer: url,
      authorization_endpoint: `${url}/idp/authorize`,
      token_endpoint: `${url}/idp/token`,
      userinfo_endpoint: `${url}/idp/userinfo`,
      revocation_endpoint: `${url}/idp/token/revoke`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
      scopes_supported: ["openid", "profile", "chutes:invoke"]
    })

  const normal = (endpoint: Endpoint, req: Http.IncomingMessage, query: URLSearchParams, body: string): Reply => {
    switch (endpoint) {
      case "models":
        return handleModels(req)
      case "chat":
        return handleChat(req, body)
      case "token":
        return handleToken(req, body)
      case "revoke":
        return handleRevoke(req, body)
      case "userinfo":
        return handleUserinfo(req)
      case "authorize":
        return handleAuthorize(query)
      case "decision":
        return handleDecision(req, body)
      case "wellKnown":
        return wellKnown()
    }
  }

  // --- writing --------------------------------------------------------------------------------------------------

  const writeChunks = async (res: Http.ServerResponse, reply: Reply, chunks: ReadonlyArray<Buffer>) => {
    res.writeHead(reply.status, { ...reply.headers })
    res.flushHeaders()
    for (let i = 0; i < chunks.length; i++) {
      // A separate turn per write, so the client sees the pieces apart (TCP may still merge some).
      if (i > 0) {
        const interval = reply.intervalMillis ?? 0
        if (interval > 0 && !(await sleep(interval))) return
        if (interval <= 0) await new Promise<void>((resolve) => setImmediate(resolve))
      }
      if (closed || res.destroyed) return
      res.write(chunks[i])
    }
    if (reply.tail !== undefined) return writeTail(res, reply.tail)
    if (reply.keepOpen !== true) res.end()
  }

  /** A hostile stream's end: keep-alive comments, or a flood written as fast as the client reads. */
  const writeTail = async (res: Http.ServerResponse, tail: StreamTail): Promise<void> => {
    let gone = false
    res.once("close", () => {
      gone = true
    })
    if (tail._tag === "KeepAlive") {
      // Silence (interval 0): the connection stays open until the client leaves or the server closes.
      while (tail.intervalMillis > 0 && !gone && !closed) {
        if (!(await sleep(tail.intervalMillis)) || gone || res.destroyed) return
        res.write(": keep-alive\n\n")
      }
      return
    }
    let written = 0
    while (written < tail.maxBytes && !gone && !closed && !res.destroyed) {
      written += tail.piece.length
      if (!res.write(tail.piece)) {
        await new Promise<void>((resolve) => {
          const go = (): void => {
            res.off("drain", go)
            res.off("close", go)
            resolve()
          }
          res.on("drain", go)
          res.on("close", go)
        })
      }
    }
    if (!gone && !res.destroyed) res.end()
  }

  const send = (res: Http.ServerResponse, reply: Reply): void => {
    if (closed || res.destroyed || res.headersSent) return
    if (reply.chunks !== undefined) {
      writeChunks(res, reply, reply.chunks).catch(() => res.destroy())
      return
    }
    const body = typeof reply.body === "string" ? Buffer.from(reply.body) : reply.body
    res.writeHead(reply.status, { ...reply.headers, "content-length": String(body.length) })
    res.end(body)
  }

  const drip = async (res: Http.ServerResponse, reply: Reply, chunkBytes: number, intervalMillis: number) => {
    if (closed || res.destroyed) return
    const body = typeof reply.body === "string" ? Buffer.from(reply.body) : reply.body
    res.writeHead(reply.status, { ...reply.headers, "content-length": String(body.length) })
    res.flushHeaders()
    for (let offset = 0; offset < body.length; offset += chunkBytes) {
      if (!(await sleep(intervalMillis)) || res.destroyed) return
      res.write(body.subarray(offset, offset + chunkBytes))
    }
    res.end()
  }

  const malformed = (route: FakeRoute): Reply => ({
    status: 200,
    headers: { "content-type": "application/json" },
    body: route === "models"
      ? modelsBody.subarray(0, Math.max(1, Math.floor(modelsBody.length / 2)))
      : truncatedBodies[route]
  })

  // --- control API ----------------------------------------------------------------------------------------------

  const stateSnapshot = () => ({
    ...counters,
    tokenByGrant: { ...counters.tokenByGrant },
    requestCount: requests.length,
    faults: activeFaults(),
    modelCount,
    accessTokenTtlSeconds: accessTokenTtl,
    autoApprove
  })

  const decodeControl = <A, I>(schema: Schema.Schema<A, I>, body: string): Either.Either<A, string> =>
    Either.flatMap(parseJson(body), (json) =>
      Either.mapLeft(
        Schema.decodeUnknownEither(schema)(json),
        (e) => ParseResult.TreeFormatter.formatErrorSync(e)
      ))

  const control = (method: string, pathname: string, body: string): Reply => {
    const ok = { ok: true }
    const bad = (message: string): Reply => detailReply(400, message)
    switch (`${method} ${pathname}`) {
      case "GET /__control/state":
        return jsonReply(200, stateSnapshot())
      case "GET /__control/requests":
        return jsonReply(200, requests)
      case "POST /__control/reset":
        server.reset()
        return jsonReply(200, ok)
      case "POST /__control/fault":
        return Either.match(decodeControl(FaultSchema, body), {
          onLeft: bad,
          onRight: (fault) => {
            addFault(fault)
            return jsonReply(200, ok)
          }
        })
      case "POST /__control/clear-faults":
        return Either.match(decodeControl(ControlClearSchema, body), {
          onLeft: bad,
          onRight: ({ route }) => {
            clearFaults(route)
            return jsonReply(200, ok)
          }
        })
      case "POST /__control/models":
        return Either.match(decodeControl(ControlModelsSchema, body), {
          onLeft: bad,
          onRight: ({ count, items }) => {
            if (items !== undefined) setModels(items)
            else if (count !== undefined) setModels(generateModels(count))
            else return bad("expected {\"items\": [...]} or {\"count\": N}")
            return jsonReply(200, { ok: true, modelCount })
          }
        })
      case "POST /__control/settings":
        return Either.match(decodeControl(ControlSettingsSchema, body), {
          onLeft: bad,
          onRight: (settings) => {
            if (settings.accessTokenTtlSeconds !== undefined) accessTokenTtl = settings.accessTokenTtlSeconds
            if (settings.autoApprove !== undefined) autoApprove = settings.autoApprove
            return jsonReply(200, ok)
          }
        })
      case "POST /__control/tokens":
        return Either.match(decodeControl(ControlTokensSchema, body), {
          onLeft: bad,
          onRight: ({ expiresIn }) => jsonReply(200, server.issueTokens({ expiresIn }))
        })
      default:
        return detailReply(404, "Not Found")
    }
  }

  // --- dispatch -------------------------------------------------------------------------------------------------

  const countRoute = (endpoint: Endpoint, req: Http.IncomingMessage, body: string): void => {
    switch (endpoint) {
      case "models":
        counters.models += 1
        return
      case "chat":
        counters.chat += 1
        return
      case "userinfo":
        counters.userinfo += 1
        return
      case "revoke":
        counters.revoke += 1
        return
      case "authorize":
        counters.authorize += 1
        return
      case "token": {
        counters.token += 1
        const grant = isForm(req) ? new URLSearchParams(body).get("grant_type") : null
        if (grant === "authorization_code") counters.tokenByGrant.authorization_code += 1
        else if (grant === "refresh_token") counters.tokenByGrant.refresh_token += 1
        return
      }
      case "decision":
      case "wellKnown":
        return
    }
  }

  const handle = async (req: Http.IncomingMessage, res: Http.ServerResponse): Promise<void> => {
    const target = new URL(req.url ?? "/", "http://127.0.0.1")
    const method = req.method ?? "GET"
    const body = await readBody(req)
    if (target.pathname.startsWith("/__control/")) return send(res, control(method, target.pathname, body))

    const entry = endpoints.get(target.pathname)
    const route = entry?.route
    requests.push({
      method,
      path: target.pathname + target.search,
      route,
      headers: flattenHeaders(req.headers),
      body,
      at: Date.now()
    })
    if (entry === undefined) return send(res, detailReply(404, "Not Found"))
    if (entry.method !== method) return send(res, detailReply(405, "Method Not Allowed"))
    countRoute(entry.endpoint, req, body)
    if (entry.endpoint === "chat") recordChatBody(body)

    const fault = route === undefined ? undefined : takeFault(route)
    const answer = (): Reply => normal(entry.endpoint, req, target.searchParams, body)
    if (fault === undefined || route === undefined) return send(res, answer())
    switch (fault._tag) {
      case "Status":
        return send(
          res,
          jsonReply(fault.status, fault.body !== undefined ? fault.body : defaultFaultBody(route, fault.status), {
            ...fault.headers
          })
        )
      case "Html":
        return send(res, edgeErrorPage(fault.status))
      case "MalformedJson":
        return send(res, malformed(route))
      case "Delay":
        if (await sleep(fault.millis)) send(res, answer())
        return
      case "Reset":
        req.socket.destroy()
        return
      case "SlowDrip":
        return drip(res, answer(), fault.chunkBytes, fault.intervalMillis)
      case "Body":
        return send(res, {
          status: fault.status,
          headers: { "content-type": fault.contentType ?? "text/plain; charset=utf-8" },
          body: fault.body
        })
      case "Echo":
        return send(res, echoReply(fault.status, req, body))
    }
  }

  const httpServer = Http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) send(res, detailReply(500, "Internal Server Error"))
      else res.destroy()
    })
  })
  httpServer.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    if (closing !== undefined) return closing
    closed = true
    for (const cancel of Array.from(cancels)) cancel()
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    closing = new Promise<void>((resolve) => {
      httpServer.close(() => resolve())
      httpServer.closeAllConnections()
      for (const socket of sockets) socket.destroy()
      sockets.clear()
    })
    return closing
  }

  const server: FakeChutesServer = {
    get url() {
      return url
    },
    get baseUrl() {
      return `${url}/v1`
    },
    get idpBaseUrl() {
      return url
    },
    apiKey,
    clientId,
    clientSecret,
    counters,
    requests,
    chat,
    fault: addFault,
    clearFaults,
    setModels,
    setAccessTokenTtl: (seconds) => {
      accessTokenTtl = seconds
    },
    setAutoApprove: (on) => {
      autoApprove = on
    },
    issueTokens: (issueOptions) => {
      const tokens = issue(clientId, defaultScope, issueOptions?.expiresIn ?? accessTokenTtl)
      return { access: tokens.access, refresh: tokens.refresh, expiresIn: tokens.expiresIn }
    },
    reset: () => {
      zeroCounters(counters)
      faults.clear()
      requests.length = 0
      chatScript.length = 0
      chatAvailability.clear()
      chatBodies.length = 0
      chatDefault = undefined
    },
    close
  }

  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error)
    httpServer.once("error", onError)
    httpServer.listen(options.port ?? 0, "127.0.0.1", () => {
      httpServer.off("error", onError)
      const address = httpServer.address()
      if (address === null || typeof address === "string") {
        httpServer.close()
        return reject(new Error("FakeChutes: the server has no TCP address"))
      }
      url = `http://127.0.0.1:${address.port}`
      resolve(server)
    })
  })
}

// ---------------------------------------------------------------------------------------------------------------------
// Effect wrappers
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The running fake as a service.
 *
 * @since 0.1.0
 */
export class FakeChutes extends Context.Tag("effect-chutes/testing/FakeChutes")<FakeChutes, FakeChutesServer>() {}

/**
 * Start a fake for the lifetime of the scope (closed when the scope closes). A failure to listen is a defect.
 *
 * @since 0.1.0
 */
export const make = (options?: FakeChutesOptions): Effect.Effect<FakeChutesServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => start(options)),
    (server) => Effect.promise(() => server.close())
  )

/**
 * A layer providing a running fake, closed with the layer.
 *
 * @since 0.1.0
 */
export const layer = (options?: FakeChutesOptions): Layer.Layer<FakeChutes> => Layer.scoped(FakeChutes, make(options))
