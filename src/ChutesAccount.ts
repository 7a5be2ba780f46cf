/**
 * The Chutes account: who the credential belongs to and the balance, the daily request quotas and their counters,
 * the subscription's 4-hour and monthly windows, and the hourly usage buckets — the `/users/me*` routes of the API
 * base (`ChutesSettings.idpBaseUrl`, `https://api.chutes.ai`) — and the public, platform-wide daily stats of the LLM
 * chutes (`/invocations/stats/llm`, sent without a credential, under its own size cap).
 *
 * Every call goes through the same auth middleware as chat (a fresh bearer per request, a 401 for a stored OAuth
 * profile -> one forced refresh -> one retry), reads its body through a size cap within a deadline, and is retried
 * under the SDK's one retry policy when the failure is transient. A credential that may not read the account — a
 * scoped API key (401) or an OAuth token without `account:read` / `profile` (403) — fails with `AccountError`
 * `NotPermitted`, whose message says so and what to do. docs/account.md has the whole story.
 *
 * @since 0.3.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ChutesCredentials from "./ChutesCredentials.js"
import { AccountError, type CredentialsError } from "./ChutesError.js"
import { ChutesSettings } from "./ChutesSettings.js"
import * as AccountHttp from "./internal/accountHttp.js"
import * as Wire from "./internal/accountWire.js"
import { limitOr } from "./internal/limits.js"

/**
 * The account behind the credential (`GET /users/me`).
 *
 * @since 0.3.0
 * @category models
 */
export interface Me {
  readonly username: string
  readonly userId: string
  /** USD. May be negative (pay-as-you-go calls went past it) or `null` (not known to the service). */
  readonly balance: number | null
  readonly createdAt: Date | undefined
}

/**
 * One daily request quota (`GET /users/me/quotas`): requests per UTC day covered by the plan, for one chute or for
 * all (`chuteId` `"*"`). `0` covers nothing (every call is pay-as-you-go); it does NOT mean unlimited.
 *
 * @since 0.3.0
 * @category models
 */
export interface Quota {
  readonly chuteId: string
  readonly quota: number
  readonly isDefault: boolean
  readonly effectiveDate: Date | undefined
  readonly paymentRefreshDate: Date | undefined
  readonly updatedAt: Date | undefined
}

/**
 * Today's counter of one quota (`GET /users/me/quota_usage/{chuteId | "me"}`). `used` may be fractional (a reroll
 * counts 0.1). The counter resets at 00:00 UTC (`nextQuotaReset`).
 *
 * @since 0.3.0
 * @category models
 */
export interface QuotaUsage {
  readonly quota: number | "unlimited"
  readonly used: number
}

/**
 * A subscription window in USD. `resetAt` may lie in the past (the monthly window of a lapsed plan): say so, do not
 * count down to it.
 *
 * @since 0.3.0
 * @category models
 */
export interface UsageWindow {
  readonly usage: number
  readonly cap: number
  readonly remaining: number
  readonly resetAt: Date
}

/**
 * The subscription's windows (`GET /users/me/subscription_usage`): none, or a fixed 4-hour window (00/04/08/12/16/20
 * UTC) and a monthly one, which may be uncapped.
 *
 * @since 0.3.0
 * @category models
 */
export type SubscriptionUsage =
  | { readonly subscription: false }
  | {
    readonly subscription: true
    readonly custom: boolean
    /** USD per month. */
    readonly monthlyPrice: number | undefined
    readonly anchorDate: Date | undefined
    readonly effectiveDate: Date | undefined
    readonly updatedAt: Date | undefined
    readonly fourHour: UsageWindow
    readonly monthly: UsageWindow | { readonly uncapped: true }
  }

/**
 * One hourly usage bucket (`GET /users/me/usage`): `amount` is the USD actually charged to the balance (0 for calls a
 * quota or subscription covered). `chuteId` is set with `perChute`.
 *
 * @since 0.3.0
 * @category models
 */
export interface UsageBucket {
  /** The start of the UTC hour. */
  readonly bucket: Date
  readonly chuteId: string | undefined
  readonly amount: number
  readonly count: number
  readonly inputTokens: number
  readonly outputTokens: number
}

/**
 * Which buckets `usage` reads.
 *
 * @since 0.3.0
 * @category models
 */
export interface UsageOptions {
  /** The earliest bucket (sent as naive UTC `start_date`); an invalid `Date` fails with `InvalidOptions`. */
  readonly since?: Date | undefined
  /** The latest bucket (sent as naive UTC `end_date`); an invalid `Date` fails with `InvalidOptions`. */
  readonly until?: Date | undefined
  /** One bucket per chute and hour instead of one per hour. */
  readonly perChute?: boolean | undefined
  /** Buckets per request (`limit`), a whole number of 1 or more (anything else means the default). Default 24. */
  readonly pageSize?: number | undefined
  /**
   * The most buckets read: past it the stream fails with `TooLarge` (a server whose `total` never ends would otherwise
   * page forever). Default 200,000: 90 days of hourly buckets for some 90 chutes. `Infinity` lifts it; anything but a
   * number of 1 or more means the default.
   */
  readonly maxBuckets?: number | undefined
}

/**
 * One platform-wide daily row of the public `GET /invocations/stats/llm`: the traffic of one LLM chute on one UTC day
 * and its average speed. Not about the account: every user sees the same rows.
 *
 * @since 0.3.0
 * @category models
 */
export interface LlmStats {
  readonly chuteId: string
  /** The model name the chute serves (the `/v1/models` id), or a placeholder such as `"[private]"`. */
  readonly name: string
  /** The UTC day, `YYYY-MM-DD`, as the service writes it. */
  readonly date: string
  readonly totalRequests: number
  readonly totalInputTokens: number
  readonly totalOutputTokens: number
  /** Output tokens per second, averaged; 0 when nothing was measured. */
  readonly averageTps: number
  /** Time to first token in seconds, averaged; 0 when nothing was measured. */
  readonly averageTtftSeconds: number
}

/**
 * How `llmStats` reads the platform-wide stats.
 *
 * @since 0.3.0
 * @category models
 */
export interface LlmStatsOptions {
  /**
   * The size cap of the answer in bytes (`AccountError` `TooLarge` beyond it). Default `DEFAULT_LLM_STATS_MAX_BYTES`
   * (2 MiB), apart from `ChutesSettings.maxResponseBytes`: the body grows with the platform, not with the account.
   * `Infinity` lifts it; anything but a number of 1 or more means the default.
   */
  readonly maxBytes?: number | undefined
}

/**
 * The default size cap of `llmStats`' answer: 2 MiB (about 8,000 daily rows).
 *
 * @since 0.3.0
 * @category constants
 */
export const DEFAULT_LLM_STATS_MAX_BYTES: number = 2 * 1024 * 1024

/**
 * @since 0.3.0
 * @category models
 */
export interface Service {
  /** The account: user name, user id and balance. */
  readonly me: Effect.Effect<Me, AccountError | CredentialsError>
  /** The daily quotas (an empty list for free or invoiced accounts). */
  readonly quotas: Effect.Effect<ReadonlyArray<Quota>, AccountError | CredentialsError>
  /** Today's counter of a chute's quota, or the account-wide one with `"me"`. */
  readonly quotaUsage: (chuteId: string) => Effect.Effect<QuotaUsage, AccountError | CredentialsError>
  /** The subscription's windows. */
  readonly subscriptionUsage: Effect.Effect<SubscriptionUsage, AccountError | CredentialsError>
  /** The hourly usage buckets, newest first, read page by page as the stream is pulled. */
  readonly usage: (options?: UsageOptions) => Stream.Stream<UsageBucket, AccountError | CredentialsError>
  /**
   * The public, platform-wide daily stats of the LLM chutes (`GET /invocations/stats/llm`: requests, tokens, TTFT,
   * TPS), read without a credential and under its own size cap.
   */
  readonly llmStats: (options?: LlmStatsOptions) => Effect.Effect<ReadonlyArray<LlmStats>, AccountError>
}

/**
 * The account service.
 *
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { ChutesAccount, ChutesCredentials, ChutesSettings } from "effect-chutes"
 *
 * const program = Effect.gen(function*() {
 *   const account = yield* ChutesAccount.ChutesAccount
 *   const me = yield* account.me
 *   const today = yield* account.quotaUsage("me")
 *   console.log(`${me.username}: $${me.balance ?? "?"}; quota ${today.used}/${today.quota}`)
 * })
 *
 * const Account = ChutesAccount.layer.pipe(
 *   Layer.provide(Layer.mergeAll(
 *     FetchHttpClient.layer,
 *     ChutesCredentials.layerEnv(),
 *     ChutesSettings.layer()
 *   ))
 * )
 *
 * Effect.runPromise(program.pipe(Effect.provide(Account)))
 * ```
 *
 * @since 0.3.0
 * @category tags
 */
export class ChutesAccount extends Context.Tag("effect-chutes/ChutesAccount")<ChutesAccount, Service>() {}

/**
 * When today's daily quota counter resets: the next 00:00 UTC after `now` (epoch milliseconds or a `Date`).
 *
 * @example
 * ```ts
 * import { ChutesAccount } from "effect-chutes"
 *
 * ChutesAccount.nextQuotaReset(Date.UTC(2026, 5, 11, 14, 30)).toISOString() // "2026-06-12T00:00:00.000Z"
 * ```
 *
 * @since 0.3.0
 * @category utils
 */
export const nextQuotaReset = (now: number | Date): Date => {
  const at = new Date(now)
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1))
}

/**
 * The account service over an `HttpClient`, the credentials and the settings: requests go to
 * `settings.idpBaseUrl` through the SDK's auth middleware.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: Effect.Effect<
  Service,
  never,
  HttpClient.HttpClient | ChutesCredentials.ChutesCredentials | ChutesSettings
> = Effect.gen(function*() {
  const settings = yield* ChutesSettings
  const get = AccountHttp.makeGet({
    settings,
    credentials: yield* ChutesCredentials.ChutesCredentials,
    transport: HttpClient.withTracerPropagation(yield* HttpClient.HttpClient, false)
  })

  const span = (name: string) => Effect.withSpan(`ChutesAccount.${name}`, { captureStackTrace: false })

  const usage = (options: UsageOptions = {}): Stream.Stream<UsageBucket, AccountHttp.Failure> => {
    const limit = limitOr(options.pageSize, 24)
    const path = "/users/me/usage"
    const url = `${settings.idpBaseUrl}${path}`
    for (const [name, date] of [["since", options.since], ["until", options.until]] as const) {
      if (date !== undefined && Number.isNaN(date.getTime())) {
        return Stream.fail(new AccountError({ reason: "InvalidOptions", url, detail: `${name} is an invalid Date` }))
      }
    }
    // Only the declared parameters: the live front answers 400 to any other.
    const filters: ReadonlyArray<readonly [string, string]> = [
      ...(options.perChute === true ? [["per_chute", "true"] as const] : []),
      ...(options.since !== undefined ? [["start_date", Wire.naiveUtc(options.since)] as const] : []),
      ...(options.until !== undefined ? [["end_date", Wire.naiveUtc(options.until)] as const] : [])
    ]
    const maxBuckets = limitOr(options.maxBuckets, 200_000, { infinite: true })
    // Pages are read by offset, newest first: a bucket that appears meanwhile (a new hour, a first call to another
    // model) shifts the rest down, and the last bucket of one page comes again on the next. A bucket is one (hour,
    // chute): one seen before in this read is dropped, so no usage is counted twice (the new one fell on a page
    // already read, and is missed).
    return Stream.suspend(() => {
      const seen = new Set<string>()
      const unseen = (bucket: UsageBucket): boolean => {
        const key = `${bucket.bucket.getTime()} ${bucket.chuteId ?? ""}`
        if (seen.has(key)) return false
        seen.add(key)
        return true
      }
      return Stream.paginateChunkEffect({ page: 0, read: 0 }, ({ page, read }) =>
        get(path, Wire.UsagePageWire, [["page", String(page)], ["limit", String(limit)], ...filters]).pipe(
          span("usage"),
          Effect.flatMap((body) => {
            // A server that ignores `page` would send the same page forever: its answer says which page it is.
            if (body.page != null && body.page !== page) {
              return Effect.fail(
                new AccountError({ reason: "Decode", url, status: 200, detail: `page ${body.page} came for page ${page}` })
              )
            }
            if (read + body.items.length > maxBuckets) {
              return Effect.fail(
                new AccountError({
                  reason: "TooLarge",
                  url,
                  status: 200,
                  detail: `more than ${maxBuckets} buckets (maxBuckets)`
                })
              )
            }
            // The service's own `limit` decides where the pages end, should it cap the one asked for.
            const size = body.limit != null && body.limit > 0 ? body.limit : limit
            const more = body.items.length > 0 && (page + 1) * size < body.total
            const next = more ? Option.some({ page: page + 1, read: read + body.items.length }) : Option.none()
            return Effect.succeed([Chunk.fromIterable(body.items.map(Wire.toBucket).filter(unseen)), next] as const)
          })
        ))
    })
  }

  return ChutesAccount.of({
    me: get("/users/me", Wire.MeWire).pipe(Effect.map(Wire.toMe), span("me")),
    quotas: get("/users/me/quotas", Wire.QuotasWire).pipe(Effect.map(Wire.toQuotas), span("quotas")),
    quotaUsage: (chuteId) =>
      get(`/users/me/quota_usage/${encodeURIComponent(chuteId)}`, Wire.QuotaUsageWire).pipe(span("quotaUsage")),
    subscriptionUsage: get("/users/me/subscription_usage", Wire.SubscriptionWire).pipe(
      Effect.map(Wire.toSubscription),
      span("subscriptionUsage")
    ),
    usage,
    llmStats: (options = {}) =>
      get("/invocations/stats/llm", Wire.LlmStatsWire, [], {
        public: true,
        maxBytes: limitOr(options.maxBytes, DEFAULT_LLM_STATS_MAX_BYTES, { infinite: true })
      }).pipe(
        Effect.map((rows) => rows.map(Wire.toLlmStats)),
        // A public route sends no credential: nothing but an `AccountError` can come out of it.
        Effect.catchTag("CredentialsError", (error) => Effect.die(error)),
        span("llmStats")
      )
  })
})

/**
 * The account service from an `HttpClient`, the credentials and the settings (`ChutesProvider.layer`'s own services,
 * or `ChutesCredentials.layerEnv()` and `ChutesSettings.layer()` in a small app).
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: Layer.Layer<
  ChutesAccount,
  never,
  HttpClient.HttpClient | ChutesCredentials.ChutesCredentials | ChutesSettings
> = Layer.effect(ChutesAccount, make)

/**
 * Fixed answers for `layerTest`; each has a plain default (user `"test"`, balance 0, no quota, no subscription, no
 * usage).
 *
 * @since 0.3.0
 * @category models
 */
export interface TestOptions {
  readonly me?: Me | undefined
  readonly quotas?: ReadonlyArray<Quota> | undefined
  /** The counter of every chute id, or per id. */
  readonly quotaUsage?: QuotaUsage | ((chuteId: string) => QuotaUsage) | undefined
  readonly subscription?: SubscriptionUsage | undefined
  /** Newest first; `usage` filters them by `since` / `until`. */
  readonly usage?: ReadonlyArray<UsageBucket> | undefined
  /** The platform-wide stats. Default: none. */
  readonly llmStats?: ReadonlyArray<LlmStats> | undefined
  /** When set, every call fails with it. */
  readonly error?: AccountError | undefined
}

/**
 * An account service with fixed answers and no I/O, for tests of code that reads the account.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { ChutesAccount } from "effect-chutes"
 *
 * export const balance = Effect.map(ChutesAccount.ChutesAccount, (account) => account.me).pipe(
 *   Effect.flatten,
 *   Effect.map((me) => me.balance),
 *   Effect.provide(ChutesAccount.layerTest({
 *     me: { username: "alice", userId: "u-1", balance: -0.059, createdAt: undefined }
 *   }))
 * )
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const layerTest = (options: TestOptions = {}): Layer.Layer<ChutesAccount> => {
  const answer = <A>(value: A): Effect.Effect<A, AccountError> =>
    options.error !== undefined ? Effect.fail(options.error) : Effect.succeed(value)
  const quotaUsage = options.quotaUsage ?? { quota: 0, used: 0 }
  return Layer.succeed(
    ChutesAccount,
    ChutesAccount.of({
      me: answer(options.me ?? { username: "test", userId: "test-user", balance: 0, createdAt: undefined }),
      quotas: answer(options.quotas ?? []),
      quotaUsage: (chuteId) => answer(typeof quotaUsage === "function" ? quotaUsage(chuteId) : quotaUsage),
      subscriptionUsage: answer(options.subscription ?? { subscription: false }),
      usage: (filter = {}) =>
        Stream.fromIterableEffect(answer(
          (options.usage ?? []).filter((bucket) =>
            (filter.since === undefined || bucket.bucket >= filter.since) &&
            (filter.until === undefined || bucket.bucket <= filter.until)
          )
        )),
      llmStats: () => answer(options.llmStats ?? [])
    })
  )
}

