/**
 * The public types of FakeChutes: options, the running server's interface, counters, recorded requests and the chat
 * script. Re-exported by `src/testing/FakeChutes.ts`.
 */
import type { FakeRoute, Fault } from "./faults.js"

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
  /**
   * Scoped API keys: accepted as bearer on `/v1/...` like `apiKeys`, but not admin keys, so every `/users/me*` route
   * answers them 401 `Invalid token or user not found` (like the live API). Default: none.
   */
  readonly scopedApiKeys?: ReadonlyArray<string> | undefined
  /** The account the `/users/me*` routes serve at start (see `FakeAccountScript`). */
  readonly account?: FakeAccountScript | undefined
  /**
   * Where the account side's clock stands against the wall clock, in milliseconds (default 0): the UTC day of the
   * daily quota counter (it resets at 00:00 UTC on this clock), `quota_reset_timestamp` of the 402, the hour of the
   * usage buckets chat calls land in, and the day of the default stats rows. Tokens, codes and delays keep the wall
   * clock. Change it later with `setClockOffset` or `POST /__control/settings {"clockOffsetMillis": N}`.
   */
  readonly clockOffsetMillis?: number | undefined
}

/**
 * Request counters. `models`, `chat`, `token`, `userinfo`, `revoke` count every request reaching the route (faulted
 * ones included); `authorize` counts `GET /idp/authorize` only; `tokenByGrant` splits `token` by grant type;
 * `invalidGrant` counts `invalid_grant` answers; `unauthorized` counts 401 answers to bad or missing bearers
 * (`/v1/...` and `/idp/userinfo`); `account` counts every request to a `/users/me*` route; `stats` every request to
 * `/invocations/stats/llm`.
 *
 * @since 0.1.0
 */
export interface FakeCounters {
  readonly models: number
  readonly token: number
  readonly tokenByGrant: { readonly authorization_code: number; readonly refresh_token: number }
  readonly invalidGrant: number
  readonly userinfo: number
  readonly revoke: number
  readonly authorize: number
  readonly chat: number
  readonly unauthorized: number
  readonly account: number
  readonly stats: number
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
  /** The counters as they are now (each read is a fresh snapshot; `reset` zeroes them). */
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
  /**
   * Move the account side's clock (see `FakeChutesOptions.clockOffsetMillis`): e.g. to just before 00:00 UTC, then
   * past it, to see the daily quota counter reset.
   */
  setClockOffset(millis: number): void
  /** The account side's clock now, in epoch milliseconds (the wall clock plus the offset). */
  readonly now: number
  /**
   * Issue tokens directly (for tests that need a signed-in profile without the browser). `scope` defaults to the
   * default scopes (`openid profile chutes:invoke`, which may read the account).
   */
  issueTokens(options?: { readonly expiresIn?: number | undefined; readonly scope?: string | undefined }): IssuedTokens
  /** Every request seen so far, oldest first (each read is a fresh snapshot; `reset` empties the log). */
  readonly requests: ReadonlyArray<RecordedRequest>
  /** Scripted chat answers, model availability and the recorded chat bodies. */
  readonly chat: FakeChat
  /** The account the `/users/me*` routes serve: balance, quotas, counters, subscription windows, usage buckets. */
  readonly account: FakeAccount
  /**
   * Zero the counters, clear the faults and the request log, and the chat script, default answer, availability
   * overrides and recorded bodies. Tokens, catalog and settings stay.
   */
  reset(): void
  /** Close every connection (in-flight delays and drips included) and the listener. Idempotent. */
  close(): Promise<void>
}


/**
 * What the fake's `/users/me*` routes serve. Every field is optional; `set` changes only the fields given. Bodies the
 * live API sends in several shapes are given as those bodies, so a test can send each shape.
 *
 * @since 0.3.0
 */
export interface FakeAccountScript {
  /** `balance` of `/users/me` (USD; negative and `null` allowed). Default 14.0054. */
  readonly balance?: number | null | undefined
  /** `user_id` of `/users/me`. Default: a fixed uuid. */
  readonly userId?: string | undefined
  /**
   * The body of `/users/me/quotas`, as it is sent: a list of rows, `{}`, or `{"<chute id or *>": quota}`. Default: one
   * default row with quota 0 (a new account).
   */
  readonly quotas?: unknown
  /**
   * The bodies of `/users/me/quota_usage/{id}` by id (`"me"`: the account-wide counter), e.g.
   * `{ me: { quota: 5000, used: 297 } }`. An id without one gets the `"me"` body with `used: 0` (the live API never
   * answers 404 there). Default: `{ me: { quota: 0, used: 0 } }`.
   */
  readonly quotaUsage?: Readonly<Record<string, unknown>> | undefined
  /** The body of `/users/me/subscription_usage`. Default `{"subscription": false}`. */
  readonly subscription?: unknown
  /**
   * The hourly buckets `/users/me/usage` pages through, one per chute and hour: `{bucket (naive ISO hour), chute_id,
   * amount, count, input_tokens, output_tokens}`. Without `per_chute=true` the route sums them per hour. Served
   * newest first, filtered by `start_date` / `end_date`. Default: none.
   */
  readonly usage?: ReadonlyArray<FakeUsageRow> | undefined
  /**
   * The body of the public `GET /invocations/stats/llm`, as it is sent (any JSON, so a test can send odd or huge
   * bodies); `null` goes back to the default: one row per catalog model for today (UTC, on the fake's clock) with
   * made-up, stable figures.
   */
  readonly llmStats?: unknown
}

/**
 * One hourly bucket of one chute, as the fake keeps it.
 *
 * @since 0.3.0
 */
export interface FakeUsageRow {
  /** The UTC hour, naive (`2026-06-11T14:00:00`). */
  readonly bucket: string
  readonly chute_id: string
  readonly amount: number
  readonly count: number
  readonly input_tokens: number
  readonly output_tokens: number
}

/**
 * The account side of the fake.
 *
 * @since 0.3.0
 */
export interface FakeAccount {
  /** Change the fields given; the others stay. */
  set(script: FakeAccountScript): void
  /** What the account routes serve now (defaults filled in). */
  readonly current: FakeAccountState
}

/**
 * The account the fake serves, defaults filled in (see `FakeAccountScript`).
 *
 * @since 0.3.0
 */
export interface FakeAccountState {
  readonly balance: number | null
  readonly userId: string
  readonly quotas: unknown
  readonly quotaUsage: Readonly<Record<string, unknown>>
  readonly subscription: unknown
  readonly usage: ReadonlyArray<FakeUsageRow>
  /** The scripted stats body; `undefined`: the default rows from the catalog. */
  readonly llmStats?: unknown
}
