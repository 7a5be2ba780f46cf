/**
 * The wire format of the account routes of the API base (`/users/me`, `/users/me/quotas`,
 * `/users/me/quota_usage/{id}`, `/users/me/subscription_usage`, `/users/me/usage`) and the public
 * `/invocations/stats/llm`: one `Schema` per body, tolerant of
 * every shape the service is known to send (see src/testing/FakeChutes/account.ts, which serves them), and the mapping
 * to the public types of `ChutesAccount`. Unknown fields are ignored.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { LlmStats, Me, Quota, SubscriptionUsage, UsageBucket, UsageWindow } from "../ChutesAccount.js"
import { firstIssue } from "./parseIssue.js"

// ---------------------------------------------------------------------------------------------------------------------
// Datetimes: `/users/me` ends in `Z`, row datetimes are naive (UTC without an offset), `reset_at` ends in `+00:00`.
// ---------------------------------------------------------------------------------------------------------------------

const DATETIME = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/**
 * A datetime string as the service writes it — naive (read as UTC), with `Z`, or with an offset such as `+00:00`;
 * fractions of any length (Python writes microseconds) — as a `Date`, or `undefined` when it is none of these.
 */
export const parseUtc = (text: string): Date | undefined => {
  const match = DATETIME.exec(text.trim())
  if (match === null) return undefined
  const [, day, time, fraction, zone] = match
  const millis = fraction === undefined ? "" : `.${fraction.slice(0, 3).padEnd(3, "0")}`
  const offset = zone === undefined || zone.toUpperCase() === "Z"
    ? "Z"
    : zone.length === 3
    ? `${zone}:00`
    : zone.includes(":")
    ? zone
    : `${zone.slice(0, 3)}:${zone.slice(3)}`
  if (!isCalendarDay(day!) || (time !== undefined && !isClockTime(time))) return undefined
  const date = new Date(`${day}T${time ?? "00:00:00"}${millis}${offset}`)
  return Number.isNaN(date.getTime()) ? undefined : date
}

/** `YYYY-MM-DD` naming a day that exists: `Date` moves 2027-02-30 to March 2 instead of refusing it. */
const isCalendarDay = (day: string): boolean => {
  const at = new Date(`${day}T00:00:00Z`)
  return !Number.isNaN(at.getTime()) && at.toISOString().slice(0, 10) === day
}

/** `HH:MM` or `HH:MM:SS` within a day (no 24:00, no leap second). */
const isClockTime = (time: string): boolean => {
  const [hours, minutes, seconds = 0] = time.split(":").map(Number) as [number, number, number?]
  return hours <= 23 && minutes <= 59 && seconds <= 59
}

/** A service datetime (naive = UTC, `Z` or an offset) as a `Date`; encodes as ISO with `Z`. */
export const UtcDate = Schema.transformOrFail(Schema.String, Schema.DateFromSelf, {
  strict: true,
  decode: (text, _, ast) => {
    const date = parseUtc(text)
    return date === undefined
      ? ParseResult.fail(new ParseResult.Type(ast, text, "not a datetime"))
      : ParseResult.succeed(date)
  },
  encode: (date) => ParseResult.succeed(date.toISOString())
})

/** The naive UTC form the service takes in a query (`2026-06-01T00:00:00`). */
export const naiveUtc = (date: Date): string => date.toISOString().slice(0, 19)

const Num = Schema.Number.pipe(Schema.finite())
const optionalDate = Schema.optional(Schema.NullOr(UtcDate))
const optionalNum = Schema.optional(Schema.NullOr(Num))

// ---------------------------------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------------------------------

/** `GET /users/me` (only the fields read). `balance` is USD, may be negative or null. */
export const MeWire = Schema.Struct({
  username: Schema.String,
  user_id: Schema.String,
  balance: optionalNum,
  created_at: optionalDate
})

/** One row of `GET /users/me/quotas` (the list shape). */
export const QuotaRowWire = Schema.Struct({
  chute_id: Schema.String,
  quota: Num,
  is_default: Schema.optional(Schema.NullOr(Schema.Boolean)),
  effective_date: optionalDate,
  payment_refresh_date: optionalDate,
  updated_at: optionalDate
})

/** `GET /users/me/quotas`: a list of rows, `{}` (free or invoiced accounts), or `{"<chute id or *>": quota}`. */
export const QuotasWire = Schema.Union(Schema.Array(QuotaRowWire), Schema.Record({ key: Schema.String, value: Num }))

/** `GET /users/me/quota_usage/{chute id | me}`: `quota` may be `"unlimited"`, `used` fractional. */
export const QuotaUsageWire = Schema.Struct({
  quota: Schema.Union(Num, Schema.Literal("unlimited")),
  used: Num
})

/** A subscription window (USD). */
export const WindowWire = Schema.Struct({ usage: Num, cap: Num, remaining: Num, reset_at: UtcDate })

/** `GET /users/me/subscription_usage`. */
export const SubscriptionWire = Schema.Union(
  Schema.Struct({ subscription: Schema.Literal(false) }),
  Schema.Struct({
    subscription: Schema.Literal(true),
    custom: Schema.optional(Schema.NullOr(Schema.Boolean)),
    monthly_price: optionalNum,
    anchor_date: optionalDate,
    effective_date: optionalDate,
    updated_at: optionalDate,
    four_hour: WindowWire,
    monthly: Schema.Union(Schema.Struct({ uncapped: Schema.Literal(true) }), WindowWire)
  })
)

/** One hourly bucket of `GET /users/me/usage` (`chute_id` only with `per_chute=true`). */
export const UsageItemWire = Schema.Struct({
  bucket: UtcDate,
  chute_id: Schema.optional(Schema.NullOr(Schema.String)),
  amount: Num,
  count: Num,
  input_tokens: optionalNum,
  output_tokens: optionalNum
})

/** A page of `GET /users/me/usage`. */
export const UsagePageWire = Schema.Struct({
  total: Num,
  page: optionalNum,
  limit: optionalNum,
  items: Schema.Array(UsageItemWire)
})

/**
 * One daily row of the public `GET /invocations/stats/llm` (platform-wide). `average_*` may be an int 0 (nothing
 * measured) or, defensively, null; the token totals are read when present.
 */
export const LlmStatsRowWire = Schema.Struct({
  chute_id: Schema.String,
  name: Schema.String,
  date: Schema.String,
  total_requests: optionalNum,
  total_input_tokens: optionalNum,
  total_output_tokens: optionalNum,
  average_tps: optionalNum,
  average_ttft: optionalNum
})

/** `GET /invocations/stats/llm`: a list of daily rows. */
export const LlmStatsWire = Schema.Array(LlmStatsRowWire)

/**
 * A body decoded with `schema`, or a short reason it could not be (not JSON, or the first mismatch), for
 * `AccountError`'s `detail`.
 */
export const decodeBody = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(Schema.parseJson(schema), { errors: "first" })
  return (body: string): Either.Either<A, string> =>
    Either.mapLeft(decode(body), (error) => firstIssue(error))
}

// ---------------------------------------------------------------------------------------------------------------------
// Mapping to the public types of `ChutesAccount`
// ---------------------------------------------------------------------------------------------------------------------

export const toMe = (wire: typeof MeWire.Type): Me => ({
  username: wire.username,
  userId: wire.user_id,
  balance: wire.balance ?? null,
  createdAt: wire.created_at ?? undefined
})

export const toQuotas = (wire: typeof QuotasWire.Type): ReadonlyArray<Quota> =>
  Array.isArray(wire)
    ? wire.map((row: typeof QuotaRowWire.Type) => ({
      chuteId: row.chute_id,
      quota: row.quota,
      isDefault: row.is_default ?? false,
      effectiveDate: row.effective_date ?? undefined,
      paymentRefreshDate: row.payment_refresh_date ?? undefined,
      updatedAt: row.updated_at ?? undefined
    }))
    : Object.entries(wire as Readonly<Record<string, number>>).map(([chuteId, quota]) => ({
      chuteId,
      quota,
      isDefault: chuteId === "*",
      effectiveDate: undefined,
      paymentRefreshDate: undefined,
      updatedAt: undefined
    }))

export const toWindow = (wire: typeof WindowWire.Type): UsageWindow => ({
  usage: wire.usage,
  cap: wire.cap,
  remaining: wire.remaining,
  resetAt: wire.reset_at
})

export const toSubscription = (wire: typeof SubscriptionWire.Type): SubscriptionUsage =>
  wire.subscription === false ? { subscription: false } : {
    subscription: true,
    custom: wire.custom ?? false,
    monthlyPrice: wire.monthly_price ?? undefined,
    anchorDate: wire.anchor_date ?? undefined,
    effectiveDate: wire.effective_date ?? undefined,
    updatedAt: wire.updated_at ?? undefined,
    fourHour: toWindow(wire.four_hour),
    monthly: "uncapped" in wire.monthly ? { uncapped: true } : toWindow(wire.monthly)
  }

export const toBucket = (wire: typeof UsageItemWire.Type): UsageBucket => ({
  bucket: wire.bucket,
  chuteId: wire.chute_id ?? undefined,
  amount: wire.amount,
  count: wire.count,
  inputTokens: wire.input_tokens ?? 0,
  outputTokens: wire.output_tokens ?? 0
})

export const toLlmStats = (wire: typeof LlmStatsRowWire.Type): LlmStats => ({
  chuteId: wire.chute_id,
  name: wire.name,
  date: wire.date,
  totalRequests: wire.total_requests ?? 0,
  totalInputTokens: wire.total_input_tokens ?? 0,
  totalOutputTokens: wire.total_output_tokens ?? 0,
  averageTps: wire.average_tps ?? 0,
  averageTtftSeconds: wire.average_ttft ?? 0
})
