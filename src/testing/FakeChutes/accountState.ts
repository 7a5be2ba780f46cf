/**
 * The account the fake serves, as pure data: its defaults, how a script changes it, and the views of the usage route
 * (filtered, summed per hour unless per chute, newest first, one page). Held in a `Ref` by state.ts; served by
 * account.ts.
 */
import * as Schema from "effect/Schema"
import type { ChuteFacts } from "./catalog.js"
import type { FakeAccountScript, FakeAccountState, FakeUsageRow } from "./types.js"

/** `user_id` of `/users/me` unless scripted. */
export const defaultUserId = "8f14e45f-ceea-567a-9a36-9b8f2b1f0c3d"

/** A new pay-as-you-go account with some balance: one default quota row of 0, no subscription, no usage. */
export const defaults: FakeAccountState = {
  balance: 14.0054,
  userId: defaultUserId,
  quotas: [{
    user_id: defaultUserId,
    chute_id: "*",
    is_default: true,
    payment_refresh_date: null,
    effective_date: null,
    updated_at: "2025-09-14T18:22:07.513204",
    quota: 0
  }],
  quotaUsage: { me: { quota: 0, used: 0 } },
  subscription: { subscription: false },
  usage: []
}

/** The state after `script`: the fields it gives replace the ones of `state`. */
export const apply = (state: FakeAccountState, script: FakeAccountScript): FakeAccountState => ({
  balance: script.balance !== undefined ? script.balance : state.balance,
  userId: script.userId ?? state.userId,
  quotas: script.quotas !== undefined ? script.quotas : state.quotas,
  quotaUsage: script.quotaUsage ?? state.quotaUsage,
  subscription: script.subscription !== undefined ? script.subscription : state.subscription,
  usage: script.usage ?? state.usage,
  ...(script.llmStats === undefined
    ? state.llmStats === undefined ? {} : { llmStats: state.llmStats }
    : script.llmStats === null
    ? {}
    : { llmStats: script.llmStats })
})

/** The state at start. */
export const initial = (script: FakeAccountScript | undefined): FakeAccountState =>
  script === undefined ? defaults : apply(defaults, script)

/** The body of `/users/me/quota_usage/{id}`: the scripted one, else the account-wide one with nothing used. */
export const quotaUsageOf = (state: FakeAccountState, id: string): unknown => {
  const own = state.quotaUsage[id]
  if (own !== undefined) return own
  const me = state.quotaUsage["me"]
  const quota = typeof me === "object" && me !== null && "quota" in me ? me.quota : 0
  return { quota, used: 0 }
}

const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })

const UsageRow = Schema.Struct({
  bucket: Schema.String,
  chute_id: Schema.String,
  amount: Schema.Number,
  count: Schema.Number,
  input_tokens: Schema.Number,
  output_tokens: Schema.Number
})

/**
 * `FakeAccountScript` as a Schema, for `POST /__control/account` (the same fields, the polymorphic bodies as any JSON).
 */
export const AccountScript = Schema.Struct({
  balance: optional(Schema.NullOr(Schema.Number)),
  userId: optional(Schema.String),
  quotas: optional(Schema.Unknown),
  quotaUsage: optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  subscription: optional(Schema.Unknown),
  usage: optional(Schema.Array(UsageRow)),
  llmStats: optional(Schema.Unknown)
})

// ---------------------------------------------------------------------------------------------------------------------
// The usage route
// ---------------------------------------------------------------------------------------------------------------------

/** The query parameters `/users/me/usage` declares; the live front answers 400 to any other. */
export const USAGE_PARAMETERS: ReadonlySet<string> = new Set(["page", "limit", "per_chute", "start_date", "end_date"])

/** A naive datetime is UTC. */
const instant = (text: string): number => Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`)

/** One bucket of the answer: per chute, or the chutes of one hour summed. */
export interface UsageItem {
  readonly bucket: string
  readonly chute_id?: string
  readonly amount: number
  readonly count: number
  readonly input_tokens: number
  readonly output_tokens: number
}

const sumPerHour = (rows: ReadonlyArray<FakeUsageRow>): ReadonlyArray<UsageItem> => {
  const hours = new Map<string, UsageItem>()
  for (const row of rows) {
    const key = new Date(instant(row.bucket)).toISOString().slice(0, 19)
    const seen = hours.get(key)
    hours.set(key, {
      bucket: key,
      amount: (seen?.amount ?? 0) + row.amount,
      count: (seen?.count ?? 0) + row.count,
      input_tokens: (seen?.input_tokens ?? 0) + row.input_tokens,
      output_tokens: (seen?.output_tokens ?? 0) + row.output_tokens
    })
  }
  return [...hours.values()]
}

/** The page asked for: `{total, page, limit, items}`, newest first, filtered by `start_date` / `end_date`. */
export const usagePage = (
  rows: ReadonlyArray<FakeUsageRow>,
  query: {
    readonly page: number
    readonly limit: number
    readonly perChute: boolean
    readonly start: number | undefined
    readonly end: number | undefined
  }
) => {
  const inRange = rows.filter((row) => {
    const at = instant(row.bucket)
    return (query.start === undefined || at >= query.start) && (query.end === undefined || at <= query.end)
  })
  const items = (query.perChute ? inRange.map((row): UsageItem => ({ ...row })) : sumPerHour(inRange))
    .slice()
    .sort((a, b) => instant(b.bucket) - instant(a.bucket) || (a.chute_id ?? "").localeCompare(b.chute_id ?? ""))
  return {
    total: items.length,
    page: query.page,
    limit: query.limit,
    items: items.slice(query.page * query.limit, (query.page + 1) * query.limit)
  }
}

/** A naive or offset datetime of a query, as epoch milliseconds; `undefined` when absent, `NaN` when unreadable. */
export const queryInstant = (value: string | null): number | undefined =>
  value === null ? undefined : instant(value)

// ---------------------------------------------------------------------------------------------------------------------
// The stats route
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The default body of `/invocations/stats/llm`: one row per catalog model with a chute id, for the UTC day of `at`,
 * with made-up figures that stay the same for a model (from its place in the catalog).
 */
export const defaultLlmStats = (chutes: ReadonlyMap<string, ChuteFacts>, at: number): ReadonlyArray<unknown> =>
  [...chutes].flatMap(([name, facts], i) =>
    facts.chuteId === undefined ? [] : [{
      chute_id: facts.chuteId,
      name,
      date: new Date(at).toISOString().slice(0, 10),
      total_requests: 1000 * (i + 1),
      total_input_tokens: 2_000_000 * (i + 1),
      total_output_tokens: 150_000 * (i + 1),
      average_tps: 20 + (i % 7) * 5.5,
      average_ttft: 0.5 + (i % 5) * 0.25
    }]
  )
