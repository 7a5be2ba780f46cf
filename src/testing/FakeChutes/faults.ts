/**
 * Fault injection: the fault type (one Schema, from which the TypeScript type is derived), the per-route queue, and
 * what each fault answers. The Node-level faults (`Reset`, `SlowDrip`) are carried out in `reply.ts`.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type Answer, type Reply, edgeErrorPage, jsonReply, reasonPhrase } from "./reply.js"

/**
 * The routes faults and counters are keyed by. `"authorize"` covers both `GET /idp/authorize` and
 * `POST /idp/authorize/decision`; `"account"` every `/users/me*` route of the API base; `"stats"` the public
 * `GET /invocations/stats/llm`.
 *
 * @since 0.1.0
 */
export const FakeRoute = Schema.Literal("models", "token", "userinfo", "revoke", "authorize", "chat", "account", "stats")

/**
 * @since 0.1.0
 */
export type FakeRoute = typeof FakeRoute.Type

const times = Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { exact: true })
const status = Schema.Int.pipe(Schema.between(100, 599))

/**
 * The gateway's 402 and 429 refusals a `Refusal` fault answers with, each with the live body:
 *
 * - `QuotaExceeded`: 402 `{"detail": {"message": "Quota exceeded and account balance is $0.0, …",
 *   "quota_reset_timestamp": <the next 00:00 UTC on the fake's clock, "+00:00">}}`;
 * - `QuotaExceededNoQuota`: the same without the timestamp (an account whose daily quota is 0);
 * - `SubscriptionCap`: 402 `{"detail": "Subscription usage cap exceeded. Please add balance to continue."}`;
 * - `TeeRequiresSubscription`: 402 `{"detail": "TEE models require an active subscription or positive balance."}`;
 * - `CreatorZeroBalance`: 402 `{"detail": "Chute unavailable because the creator of this chute {chute.user_id=} has
 *   zero balance."}` (the literal braces are the live service's);
 * - `Capacity`: 429 `{"detail": "Infrastructure is at maximum capacity, try again later"}`;
 * - `FreeModelsDailyCap`: 429 `{"detail": "Free models limit reached for today - maintain >= $10 balance or upgrade
 *   subscription to pro to unlock more."}`;
 * - `EdgeLimiter`: nginx's HTML 429 page.
 *
 * @since 0.3.0
 */
export const GatewayRefusal = Schema.Literal(
  "QuotaExceeded",
  "QuotaExceededNoQuota",
  "SubscriptionCap",
  "TeeRequiresSubscription",
  "CreatorZeroBalance",
  "Capacity",
  "FreeModelsDailyCap",
  "EdgeLimiter"
)

/**
 * @since 0.3.0
 */
export type GatewayRefusal = typeof GatewayRefusal.Type

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
 * - `Refusal`: one of the gateway's own 402 / 429 answers, word for word as the live service sends them (see
 *   {@link GatewayRefusal}); on the chat route it comes after the bearer check, like the live one.
 * - `Echo` (IdP routes): a hostile IdP that echoes what the request carried, with that status:
 *   `{"error": <the refresh token, code, token or bearer sent>, "error_description": <every form value and the bearer,
 *   each also cut to its first 20 characters>}`.
 *
 * The same Schema decodes faults sent to `POST /__control/fault`.
 *
 * @since 0.1.0
 */
export const Fault = Schema.Union(
  Schema.TaggedStruct("Status", {
    route: FakeRoute,
    status,
    body: Schema.optionalWith(Schema.Unknown, { exact: true }),
    headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { exact: true }),
    times
  }),
  Schema.TaggedStruct("Html", { route: FakeRoute, status, times }),
  Schema.TaggedStruct("MalformedJson", { route: FakeRoute, times }),
  Schema.TaggedStruct("Delay", { route: FakeRoute, millis: Schema.Number.pipe(Schema.nonNegative()), times }),
  Schema.TaggedStruct("Reset", { route: FakeRoute, times }),
  Schema.TaggedStruct("SlowDrip", {
    route: FakeRoute,
    chunkBytes: Schema.Int.pipe(Schema.positive()),
    intervalMillis: Schema.Number.pipe(Schema.nonNegative()),
    times
  }),
  Schema.TaggedStruct("Body", {
    route: FakeRoute,
    status,
    body: Schema.String,
    contentType: Schema.optionalWith(Schema.String, { exact: true }),
    times
  }),
  Schema.TaggedStruct("Echo", { route: FakeRoute, status, times }),
  Schema.TaggedStruct("Refusal", { route: FakeRoute, refusal: GatewayRefusal, times })
)

/**
 * @since 0.1.0
 */
export type Fault = typeof Fault.Type

// ---------------------------------------------------------------------------------------------------------------------
// The queue (pure; held in a Ref by state.ts)
// ---------------------------------------------------------------------------------------------------------------------

/** A queued fault and how many more requests it applies to (`Infinity`: until cleared). */
export interface ActiveFault {
  readonly fault: Fault
  readonly remaining: number
}

/** Appends a fault to its route's queue. */
export const enqueue = (queue: ReadonlyArray<ActiveFault>, fault: Fault): ReadonlyArray<ActiveFault> => [
  ...queue,
  { fault, remaining: fault.times ?? Number.POSITIVE_INFINITY }
]

/** Removes the faults of one route, or all of them. */
export const clear = (queue: ReadonlyArray<ActiveFault>, route?: FakeRoute): ReadonlyArray<ActiveFault> =>
  route === undefined ? [] : queue.filter((active) => active.fault.route !== route)

/**
 * The fault for the next request on `route` (if any) and the queue after it. Spent faults ahead of it on that route
 * (added with `times: 0`) leave the queue on the way.
 */
export const take = (
  queue: ReadonlyArray<ActiveFault>,
  route: FakeRoute
): readonly [Fault | undefined, ReadonlyArray<ActiveFault>] => {
  const onRoute = (active: ActiveFault): boolean => active.fault.route === route
  const first = queue.findIndex((active) => onRoute(active) && active.remaining > 0)
  const next = queue.flatMap((active, i): ReadonlyArray<ActiveFault> => {
    if (i === first) return active.remaining > 1 ? [{ fault: active.fault, remaining: active.remaining - 1 }] : []
    const spent = onRoute(active) && active.remaining <= 0 && (first < 0 || i < first)
    return spent ? [] : [active]
  })
  return [queue[first]?.fault, next]
}

/** The queued faults for `GET /__control/state`, in route order, `remaining: null` for "until cleared". */
export const describeQueue = (
  queue: ReadonlyArray<ActiveFault>
): ReadonlyArray<Fault & { readonly remaining: number | null }> =>
  FakeRoute.literals.flatMap((route) =>
    queue
      .filter((active) => active.fault.route === route)
      .map((active) => ({ ...active.fault, remaining: Number.isFinite(active.remaining) ? active.remaining : null }))
  )

// ---------------------------------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------------------------------

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

/**
 * The body of an error status without one: `{"detail": …}` on LLM, account and stats routes, `{"error": <code>}` on IdP
 * routes.
 */
export const defaultErrorBody = (route: FakeRoute, status: number): unknown => {
  if (route !== "models" && route !== "chat" && route !== "account" && route !== "stats") return { error: idpErrorCode(route, status) }
  if (status === 402) return { detail: { message: "Quota exceeded", reset_at: "2026-11-26T00:00:00Z" } }
  return { detail: reasonPhrase(status) }
}

/** Bodies for `MalformedJson` on routes whose normal body is not cached: valid JSON, cut short. */
const truncatedBodies: Readonly<Record<Exclude<FakeRoute, "models">, string>> = {
  token: `{"access_token":"cak_0123456789abcdef","refresh_token":"crt_01`,
  userinfo: `{"sub":"user-alice-0001","usern`,
  revoke: `{"`,
  authorize: `{"detail":"Auth`,
  chat: `{"id":"chatcmpl-fake","object":"chat.completion","choices":[{"index":0,"message":{"role":"assist`,
  account: `{"username":"alice","user_id":"8f14e45f-ce`,
  stats: `[{"chute_id":"0d7184a2-32a3-53e0-9607-058c37edaab5","name":"deepseek-ai/Deep`
}

/** The `Echo` fault's answer: what the request carried, sent back whole and cut short. */
const echoReply = (status: number, authorization: string | undefined, body: string): Reply => {
  const form = new URLSearchParams(body)
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1]
  const values = [...Array.from(form.values()), ...(bearer !== undefined ? [bearer] : [])]
  const error = form.get("refresh_token") ?? form.get("code") ?? form.get("token") ?? bearer ?? "echo"
  return jsonReply(status, {
    error,
    error_description: `you sent ${values.join(" ")}; in short ${values.map((v) => v.slice(0, 20)).join(" ")}`
  })
}

/** The deposit address the live 402 names. */
export const PAYMENT_ADDRESS = "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw"

/** The next 00:00 UTC after `now`, as the live service writes `quota_reset_timestamp`. */
export const nextMidnight = (now: number): string => {
  const at = new Date(now)
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1)).toISOString()
    .replace(".000Z", "+00:00")
}

const quotaMessage = (balance: string): string =>
  `Quota exceeded and account balance is $${balance}, please pay with fiat or send tao to ${PAYMENT_ADDRESS}`

/** nginx's own 429 page (the edge limiter in front of the gateway). */
const NGINX_429 = "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n" +
  "<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

/** The live body of a gateway refusal (see `GatewayRefusal`). */
const refusalReply = (refusal: GatewayRefusal, now: number): Answer => {
  switch (refusal) {
    case "QuotaExceeded":
      return jsonReply(402, { detail: { message: quotaMessage("0.0"), quota_reset_timestamp: nextMidnight(now) } })
    case "QuotaExceededNoQuota":
      return jsonReply(402, { detail: { message: quotaMessage("-0.059") } })
    case "SubscriptionCap":
      return jsonReply(402, { detail: "Subscription usage cap exceeded. Please add balance to continue." })
    case "TeeRequiresSubscription":
      return jsonReply(402, { detail: "TEE models require an active subscription or positive balance." })
    case "CreatorZeroBalance":
      return jsonReply(402, {
        detail: "Chute unavailable because the creator of this chute {chute.user_id=} has zero balance."
      })
    case "Capacity":
      return jsonReply(429, { detail: "Infrastructure is at maximum capacity, try again later" })
    case "FreeModelsDailyCap":
      return jsonReply(429, {
        detail: "Free models limit reached for today - maintain >= $10 balance or upgrade subscription to pro to " +
          "unlock more."
      })
    case "EdgeLimiter":
      return { status: 429, headers: { "content-type": "text/html" }, body: NGINX_429 }
  }
}

/**
 * What a request meets instead of its normal answer (`normal`, run only by the faults that answer normally in the
 * end: `Delay` after its wait, `SlowDrip` slowly).
 */
export const answer = <R>(
  fault: Fault,
  request: {
    readonly authorization: string | undefined
    readonly body: string
    readonly modelsBody: Uint8Array
    readonly normal: Effect.Effect<Reply, never, R>
    /** The fake's clock (epoch milliseconds), for the reset time of a `QuotaExceeded` refusal. */
    readonly now: number
  }
): Effect.Effect<Answer, never, R> => {
  const route = fault.route
  switch (fault._tag) {
    case "Status":
      return Effect.succeed(jsonReply(
        fault.status,
        fault.body !== undefined ? fault.body : defaultErrorBody(route, fault.status),
        { ...fault.headers }
      ))
    case "Html":
      return Effect.succeed(edgeErrorPage(fault.status))
    case "MalformedJson":
      return Effect.succeed({
        status: 200,
        headers: { "content-type": "application/json" },
        body: route === "models"
          ? request.modelsBody.subarray(0, Math.max(1, Math.floor(request.modelsBody.length / 2)))
          : truncatedBodies[route]
      })
    case "Delay":
      return Effect.zipRight(Effect.sleep(fault.millis), request.normal)
    case "Reset":
      return Effect.succeed({ _tag: "Reset" })
    case "SlowDrip":
      return Effect.map(request.normal, (reply) => ({
        _tag: "Drip",
        reply,
        chunkBytes: fault.chunkBytes,
        intervalMillis: fault.intervalMillis
      }))
    case "Body":
      return Effect.succeed({
        status: fault.status,
        headers: { "content-type": fault.contentType ?? "text/plain; charset=utf-8" },
        body: fault.body
      })
    case "Echo":
      return Effect.succeed(echoReply(fault.status, request.authorization, request.body))
    case "Refusal":
      return Effect.succeed(refusalReply(fault.refusal, request.now))
  }
}
