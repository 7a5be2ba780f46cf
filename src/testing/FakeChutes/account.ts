/**
 * The account routes of the API base (`/users/me`, `/users/me/quotas`, `/users/me/quota_usage/{id}`,
 * `/users/me/subscription_usage`, `/users/me/usage`) with the live API's auth and scope rules and its exact error
 * strings:
 *
 * - the token is the last word of `Authorization` (`X-API-Key` is ignored);
 * - an admin API key reads the account; a scoped key (`FakeChutesOptions.scopedApiKeys`) or an unknown well-formed
 *   `cpk_` gets 401 `Invalid token or user not found`, a malformed `cpk_` 401 `Missing or invalid authorization
 *   header(s)`, no credential or an unknown `cak_` 401 `Can't find a user with that api key in our db :(`, anything
 *   else 401 `Invalid token.`;
 * - an OAuth access token needs `account:read`, `profile`, `quota` or `admin` (not `billing:read`): else 403
 *   `Token does not have permission for this resource`;
 * - `/users/me/usage` answers 400 to any query parameter it does not declare;
 * - `/invocations/stats/llm` is public: no credential needed, any credential ignored.
 *
 * What the routes serve is the scripted account (accountState.ts, `FakeChutesServer.account`).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as AccountState from "./accountState.js"
import { validAccessToken } from "./auth.js"
import { roll } from "./quota.js"
import { detailReply, jsonReply, type Reply } from "./reply.js"
import { endpoint, type Incoming } from "./routes.js"
import { now, type State } from "./state.js"

/** The shape of a live API key: `cpk_` + 32 hex + `.` + 32 hex + `.` + 32 alphanumerics. */
const API_KEY_SHAPE = /^cpk_[0-9a-f]{32}\.[0-9a-f]{32}\.[A-Za-z0-9]{32}$/

/** The scopes that read `/users/me*` (the live API's rule; `billing:read` is not one of them). */
const ACCOUNT_SCOPES: ReadonlySet<string> = new Set(["account:read", "profile", "quota", "admin"])

const unauthorized = (detail: string): Reply => detailReply(401, detail)

/** The live API's checks of `/users/me*`, in its order; `undefined` when the request may read the account. */
export const accountAuth = (state: State, incoming: Incoming): Effect.Effect<Reply | undefined> =>
  Effect.gen(function*() {
    const words = (incoming.headers["authorization"] ?? "").trim().split(/\s+/)
    const token = words[words.length - 1] ?? ""
    if (token === "") return unauthorized("Can't find a user with that api key in our db :(")
    if (state.config.apiKeys.has(token)) return undefined
    if (token.startsWith("cpk_")) {
      return state.config.scopedApiKeys.has(token) || API_KEY_SHAPE.test(token)
        ? unauthorized("Invalid token or user not found")
        : unauthorized("Missing or invalid authorization header(s)")
    }
    if (token.startsWith("cak_")) {
      const record = yield* validAccessToken(state, token)
      if (record === undefined) return unauthorized("Can't find a user with that api key in our db :(")
      return record.scope.split(/\s+/).some((scope) => ACCOUNT_SCOPES.has(scope))
        ? undefined
        : detailReply(403, "Token does not have permission for this resource")
    }
    return unauthorized("Invalid token.")
  })

/** An account route: auth first, then `answer` over the scripted account. */
const guarded = (answer: (state: State, request: Incoming) => Effect.Effect<Reply>) =>
(state: State, request: Incoming): Effect.Effect<Reply> =>
  Effect.flatMap(accountAuth(state, request), (denied) =>
    denied !== undefined ? Effect.succeed(denied) : answer(state, request))

const me = guarded((state) =>
  Effect.map(Ref.get(state.account), (account) =>
    jsonReply(200, {
      username: state.config.username,
      user_id: account.userId,
      logo_id: null,
      created_at: "2025-09-14T18:22:07.513204Z",
      hotkey: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
      coldkey: "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy",
      payment_address: "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw",
      permissions_bitmask: 0,
      balance: account.balance,
      netuids: null,
      quotas: null,
      logo: null,
      permissions: []
    })))

const quotas = guarded((state) => Effect.map(Ref.get(state.account), (account) => jsonReply(200, account.quotas)))

// The counter is read on the fake's clock: after 00:00 UTC it reads 0 until the next call counts.
const quotaUsage = guarded((state, request) =>
  Effect.map(Effect.flatMap(now(state), (at) => roll(state, at)), (account) => {
    const id = decodeURIComponent(request.url.pathname.slice("/users/me/quota_usage/".length))
    return jsonReply(200, AccountState.quotaUsageOf(account, id))
  })
)

const subscription = guarded((state) =>
  Effect.map(Ref.get(state.account), (account) => jsonReply(200, account.subscription))
)

/** FastAPI's 422 for a query value that does not parse. */
const invalidQuery = (name: string, message: string): Reply =>
  jsonReply(422, { detail: [{ type: "value_error", loc: ["query", name], msg: message }] })

const usage = guarded((state, request) =>
  Effect.map(Ref.get(state.account), (account) => {
    const query = request.url.searchParams
    const undeclared = [...new Set(query.keys())].filter((name) => !AccountState.USAGE_PARAMETERS.has(name))
    if (undeclared.length > 0) return detailReply(400, `Unexpected query parameter(s): ${undeclared.join(", ")}`)
    const page = Number(query.get("page") ?? "0")
    const limit = Number(query.get("limit") ?? "24")
    if (!Number.isInteger(page) || page < 0) return invalidQuery("page", "Input should be a valid integer >= 0")
    if (!Number.isInteger(limit) || limit < 1) return invalidQuery("limit", "Input should be a valid integer >= 1")
    const start = AccountState.queryInstant(query.get("start_date"))
    const end = AccountState.queryInstant(query.get("end_date"))
    if (Number.isNaN(start)) return invalidQuery("start_date", "Input should be a valid datetime")
    if (Number.isNaN(end)) return invalidQuery("end_date", "Input should be a valid datetime")
    const perChute = query.get("per_chute") === "true"
    return jsonReply(200, AccountState.usagePage(account.usage, { page, limit, perChute, start, end }))
  })
)

/** The public stats: the scripted body, else one row per catalog model for today on the fake's clock. */
const llmStats = (state: State): Effect.Effect<Reply> =>
  Effect.gen(function*() {
    const account = yield* Ref.get(state.account)
    if (account.llmStats !== undefined) return jsonReply(200, account.llmStats)
    const catalog = yield* Ref.get(state.catalog)
    return jsonReply(200, AccountState.defaultLlmStats(catalog.chutes, yield* now(state)))
  })

/** The account router. */
export const router = HttpRouter.empty.pipe(
  endpoint("me", me),
  endpoint("quotas", quotas),
  endpoint("quotaUsage", quotaUsage),
  endpoint("subscriptionUsage", subscription),
  endpoint("usage", usage),
  endpoint("llmStats", llmStats)
)
