/**
 * The account side of a chat call, like the live gateway: the daily quota counter (`quotaUsage.me` of the
 * scripted account) is checked before any upstream work — used up with a balance of 0 or less is 402 with the object
 * detail — and a served call carries the rate-limit and quota headers (the count BEFORE this request), then counts 1 against
 * the quota, charges its list price to the balance when the quota did not cover it, and lands in the hourly usage
 * buckets. The counter resets at 00:00 UTC on the fake's clock (the wall clock plus `clockOffsetMillis`, state.ts
 * `now`), seen by the next chat call or read of `/users/me/quota_usage/*`.
 */
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import type { ChuteFacts } from "./catalog.js"
import { nextMidnight, PAYMENT_ADDRESS } from "./faults.js"
import { detailReply, type Reply } from "./reply.js"
import { now, type State } from "./state.js"
import type { ChatUsage, FakeAccountState, FakeUsageRow } from "./types.js"

interface Counter {
  readonly quota: number | "unlimited"
  readonly used: number
}

/** The account-wide counter, when the scripted `quotaUsage.me` is one. */
const counterOf = (account: FakeAccountState): Counter | undefined => {
  const me = account.quotaUsage["me"]
  if (!Predicate.isRecord(me)) return undefined
  const { quota, used } = me
  if (typeof used !== "number" || (typeof quota !== "number" && quota !== "unlimited")) return undefined
  return { quota, used }
}

const withCounter = (account: FakeAccountState, counter: Counter): FakeAccountState => ({
  ...account,
  quotaUsage: { ...account.quotaUsage, me: { quota: counter.quota, used: counter.used } }
})

/** A float as Python prints it (`0.0`, `-0.059`): the live message is an f-string of one. */
const pythonFloat = (value: number): string => (Number.isInteger(value) ? value.toFixed(1) : String(value))

/** A new UTC day zeroes the counter (the first call or read of the day sees `used` 0). */
export const roll = (state: State, at: number): Effect.Effect<FakeAccountState> => {
  const today = new Date(at).toISOString().slice(0, 10)
  return Effect.flatMap(Ref.getAndSet(state.quotaDay, today), (day) =>
    Ref.updateAndGet(state.account, (account) => {
      const counter = counterOf(account)
      const stale = day !== today && day !== "" && counter !== undefined
      return stale ? withCounter(account, { ...counter, used: 0 }) : account
    }))
}

/** The gateway's verdict before the call: refused, or served with these headers (and whether the quota covers it). */
export type Metering =
  | { readonly _tag: "Refused"; readonly reply: Reply }
  | { readonly _tag: "Served"; readonly headers: Readonly<Record<string, string>>; readonly covered: boolean }

/** The gateway's check before a chat call. */
export const meter = (state: State): Effect.Effect<Metering> =>
  Effect.flatMap(now(state), (at) => Effect.map(roll(state, at), (account): Metering => {
    const counter = counterOf(account)
    const rateLimit = { "x-chutes-rl-user": "60" }
    if (counter === undefined) return { _tag: "Served", headers: rateLimit, covered: false }
    const covered = counter.quota === "unlimited" || counter.used < counter.quota
    if (!covered && (account.balance ?? 0) <= 0) {
      return {
        _tag: "Refused",
        reply: detailReply(402, {
          message: `Quota exceeded and account balance is $${pythonFloat(account.balance ?? 0)}, please pay with ` +
            `fiat or send tao ` +
            `to ${PAYMENT_ADDRESS}`,
          ...(counter.quota !== 0 ? { quota_reset_timestamp: nextMidnight(at) } : {})
        })
      }
    }
    const headers = typeof counter.quota === "number" && counter.quota > 0
      ? {
        ...rateLimit,
        "x-chutes-quota-total": String(counter.quota),
        "x-chutes-quota-used": String(Math.trunc(counter.used)),
        "x-chutes-quota-remaining": String(Math.max(0, counter.quota - Math.trunc(counter.used)))
      }
      : rateLimit
    return { _tag: "Served", headers, covered }
  }))

const unknownChute: ChuteFacts = { chuteId: undefined, prompt: undefined, completion: undefined, cacheRead: undefined }

/** USD list price of a call: cached input at the cache-read price (USD per 1M tokens). */
const listPrice = (
  facts: ChuteFacts,
  usage: ChatUsage
): number => {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0
  const prompt = facts.prompt ?? 0
  return ((usage.prompt_tokens - cached) * prompt + cached * (facts.cacheRead ?? prompt) +
    usage.completion_tokens * (facts.completion ?? 0)) / 1_000_000
}

/** After a served call: count it, charge what the quota did not cover, add it to this hour's bucket of its chute. */
export const record = (
  state: State,
  model: string,
  usage: ChatUsage | undefined,
  covered: boolean
): Effect.Effect<void> =>
  Effect.flatMap(Effect.zip(Ref.get(state.catalog), now(state)), ([catalog, at]) => {
    const facts = catalog.chutes.get(model) ?? unknownChute
    const amount = covered || usage === undefined ? 0 : listPrice(facts, usage)
    const bucket = new Date(Math.floor(at / 3_600_000) * 3_600_000).toISOString().slice(0, 19)
    const chuteId = facts.chuteId ?? model
    return Ref.update(state.account, (account) => {
      const counter = counterOf(account)
      const counted = counter === undefined ? account : withCounter(account, { ...counter, used: counter.used + 1 })
      const seen = counted.usage.find((row) => row.bucket === bucket && row.chute_id === chuteId)
      const row: FakeUsageRow = {
        bucket,
        chute_id: chuteId,
        amount: (seen?.amount ?? 0) + amount,
        count: (seen?.count ?? 0) + 1,
        input_tokens: (seen?.input_tokens ?? 0) + (usage?.prompt_tokens ?? 0),
        output_tokens: (seen?.output_tokens ?? 0) + (usage?.completion_tokens ?? 0)
      }
      return {
        ...counted,
        balance: counted.balance === null || amount === 0 ? counted.balance : counted.balance - amount,
        usage: [row, ...counted.usage.filter((other) => other !== seen)]
      }
    })
  })
