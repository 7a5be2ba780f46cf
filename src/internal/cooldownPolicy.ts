/**
 * The cooldown rules (pure): which answer of the service cools a profile and for how long, and the order cooldowns
 * give the profiles. `ChutesCredentials` applies them; `src/cli/auth.ts` shows them with {@link describe}.
 *
 * | answer (a `ChutesAiError` kind)                          | cooldown                                           |
 * |----------------------------------------------------------|----------------------------------------------------|
 * | `EdgeRateLimited` (the edge limiter's HTML 429)           | 1 minute, doubled while it recurs, at most 1 hour  |
 * | `DailyCapReached` (the free-models daily cap)             | until the reset (00:00 UTC)                         |
 * | `QuotaExceeded`, `SubscriptionCapReached`, `TeeRequiresSubscription` (402) | until the given reset, else 2 minutes; either way re-probed after 2 minutes, so a top-up works within minutes |
 * | `ReauthRequired`, `Unauthorized` (a 401 one forced refresh could not cure) | until the profile's credential changes (a new sign-in) |
 * | anything else (capacity, 404, a creator's zero balance, …) | none: it is the model's problem, not the account's |
 *
 * Cooldowns order the profiles and never refuse a call on their own: the profiles that are not cooling come first (in
 * the configured order), then the cooling ones by the end of their cooldown (a `needs-sign-in` last).
 *
 * @internal
 */
import type * as AuthCooldowns from "../AuthCooldowns.js"

/** The first cooldown of an edge 429, and the longest one doubling reaches. */
export const RATE_LIMIT_FIRST_MILLIS = 60_000
export const RATE_LIMIT_MAX_MILLIS = 60 * 60_000

/** How long a 402 cools a profile: short, so that a top-up works within minutes (re-probed after it). */
export const QUOTA_MILLIS = 2 * 60_000

/** What an answer said, as the rules need it. */
export interface Answer {
  /** The `ChutesAiError` kind of the answer. */
  readonly kind: string
  /** When the refusal ends, if the service said (epoch milliseconds). */
  readonly resetsAt?: number | undefined
  /** For a rejected credential: its fingerprint (`ChutesCredentials.identity` of the stored secret). */
  readonly fingerprint?: string | undefined
}

/** The next 00:00 UTC after `now`. */
const nextUtcMidnight = (now: number): number => {
  const at = new Date(now)
  return Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1)
}

/** Whether `answer` is the account's problem (it moves a call to the next profile). */
export const isAccountProblem = (kind: string): boolean => cooldownKind(kind) !== undefined

const cooldownKind = (kind: string): AuthCooldowns.Reason | undefined => {
  switch (kind) {
    case "EdgeRateLimited":
      return "rate-limited"
    case "DailyCapReached":
      return "daily-cap"
    case "QuotaExceeded":
    case "SubscriptionCapReached":
    case "TeeRequiresSubscription":
      return "quota"
    case "ReauthRequired":
    case "Unauthorized":
      return "needs-sign-in"
    default:
      return undefined
  }
}

/**
 * The cooldown `answer` sets at `now`, given the profile's `previous` one; `undefined` when the answer cools nothing.
 * An edge 429 within the length of the previous rate-limit cooldown after its end doubles it.
 */
export const fromAnswer = (
  answer: Answer,
  now: number,
  previous: AuthCooldowns.Cooldown | undefined
): AuthCooldowns.Cooldown | undefined => {
  const reason = cooldownKind(answer.kind)
  switch (reason) {
    case undefined:
      return undefined
    case "rate-limited": {
      const recurs = previous?.reason === "rate-limited" && previous.until !== undefined &&
        previous.millis !== undefined && now < previous.until + previous.millis
      const millis = recurs ? Math.min(previous.millis! * 2, RATE_LIMIT_MAX_MILLIS) : RATE_LIMIT_FIRST_MILLIS
      return { reason, since: now, until: now + millis, millis }
    }
    case "daily-cap":
      return { reason, since: now, until: answer.resetsAt ?? nextUtcMidnight(now) }
    case "quota": {
      const until = answer.resetsAt !== undefined && answer.resetsAt > now ? answer.resetsAt : now + QUOTA_MILLIS
      return { reason, since: now, until, millis: QUOTA_MILLIS }
    }
    case "needs-sign-in":
      return { reason, since: now, fingerprint: answer.fingerprint }
  }
}

/**
 * Whether `cooldown` still holds at `now` for a profile whose credential has `fingerprint` (a `needs-sign-in` holds
 * while the credential is the one it was set for).
 */
export const holds = (
  cooldown: AuthCooldowns.Cooldown | undefined,
  now: number,
  fingerprint: string | undefined
): cooldown is AuthCooldowns.Cooldown => {
  if (cooldown === undefined) return false
  if (cooldown.reason === "needs-sign-in") {
    return cooldown.fingerprint === undefined || fingerprint === undefined || cooldown.fingerprint === fingerprint
  }
  return now < endOf(cooldown)
}

/**
 * When a cooldown stops holding: its `until`, or for a 402 (`quota`) the re-probe after `millis` if that comes first;
 * never for a `needs-sign-in`.
 */
export const endOf = (cooldown: AuthCooldowns.Cooldown): number => {
  const until = cooldown.until ?? Number.POSITIVE_INFINITY
  return cooldown.reason === "quota" && cooldown.millis !== undefined
    ? Math.min(until, cooldown.since + cooldown.millis)
    : until
}

/**
 * `ids` (already in the configured order) with the cooling ones moved behind the others, by the end of their
 * cooldown; `cooling(id)` is the cooldown that holds for `id` now, if any. Stable.
 */
export const arrange = <A>(
  entries: ReadonlyArray<A>,
  cooling: (entry: A) => AuthCooldowns.Cooldown | undefined
): ReadonlyArray<A> => {
  const free: Array<A> = []
  const cool: Array<readonly [A, number]> = []
  for (const entry of entries) {
    const cooldown = cooling(entry)
    if (cooldown === undefined) free.push(entry)
    else cool.push([entry, endOf(cooldown)])
  }
  if (cool.length === 0) return entries
  return [...free, ...cool.sort((a, b) => a[1] - b[1]).map(([entry]) => entry)]
}

/** `14:05 UTC`, with the date when it is not today's (UTC). */
const clock = (at: number, now: number): string => {
  const iso = new Date(at).toISOString()
  const time = `${iso.slice(11, 16)} UTC`
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`
}

/** The cooldown in a few words: "rate-limited until 14:05 UTC", "quota until 00:00 UTC", "needs sign-in". */
export const describe = (cooldown: AuthCooldowns.Cooldown, now: number): string => {
  switch (cooldown.reason) {
    case "needs-sign-in":
      return "needs sign-in"
    case "rate-limited":
      return `rate-limited until ${clock(endOf(cooldown), now)}`
    case "daily-cap":
      return `free-models daily cap until ${clock(endOf(cooldown), now)}`
    case "quota": {
      const until = cooldown.until ?? endOf(cooldown)
      return endOf(cooldown) < until
        ? `quota until ${clock(until, now)} (tried again from ${clock(endOf(cooldown), now)})`
        : `quota until ${clock(until, now)}`
    }
  }
}
