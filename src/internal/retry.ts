/**
 * The SDK's one retry policy as a `Schedule`, run by `Effect.retry`: discovery (`ModelDiscovery`) and chat
 * (`ai/ChutesLanguageModel`) both retry through {@link retry}. docs/reliability.md describes it for users.
 *
 * - Backoff: exponential from `baseDelay`, doubling, each step capped at `maxDelay`, then jittered to 50–100 % of it
 *   (half fixed, half random), so concurrent clients spread out.
 * - At most `maxRetries` retries, and only of failures the caller judges retryable.
 * - `Retry-After` (delta-seconds or an HTTP date): a wait up to `retryAfterCap` lengthens the backoff, never shortens
 *   it (`0` or a date in the past must not turn the retries into a tight loop). One above the cap ends the retries at
 *   once: the caller gets the typed error, which carries the value; waiting minutes inside one call is worse.
 * - The policy's `onRetry` hook hears of each retry before its wait (attempt, attempts allowed, reason, delay).
 *
 * `HttpClient.retryTransient` is not used: it cannot tell a capacity 429 from the free-models daily cap, does not
 * retry 425, and knows nothing of `Retry-After`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { RetryPolicy } from "../ChutesSettings.js"

/** What the policy needs to know of one failure. */
export interface Verdict {
  /** Whether a later attempt may succeed. */
  readonly retryable: boolean
  /** The wait the server asked for (`Retry-After`), in milliseconds. */
  readonly retryAfterMillis: number | undefined
  /** Why the attempt failed, in a few words, for the progress hook: `HTTP 503`, `timeout`, `connection error`. */
  readonly reason: string
}

/** How one kind of call is retried: its name in the retry events, and how its failures are judged. */
export interface Retrying<E> {
  /** The `operation` of the retry events: `"discovery"`, `"chat"`. */
  readonly operation: string
  /** `now`: the `Clock`'s time, for a `Retry-After` given as a date. */
  readonly judge: (error: E, now: number) => Verdict
}

/**
 * Parses a `Retry-After` value (delta-seconds or an HTTP date) into milliseconds from `now`.
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  // Anything else must be an HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT"); "-1" or "1.5" are neither and are ignored
  // (`Date.parse` would read them as dates long past).
  if (!/^[A-Za-z]{3},/.test(trimmed)) return undefined
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * Whether an answer is Chutes' daily cap of free models (HTTP 429 "Free models limit reached for today"): it resets at
 * 00:00 UTC, so retrying within a call only hammers the service. A capacity 429 ("at maximum capacity") is retried.
 */
export const isDailyCap = (status: number | undefined, text: string | undefined): boolean =>
  status === 429 && text !== undefined && /limit reached for today|daily (?:limit|cap|quota)/i.test(text)

/** The backoff alone: exponential, capped, jittered. Its delays are the retries' waits when no `Retry-After` applies. */
export const backoff = (policy: RetryPolicy): Schedule.Schedule<Duration.Duration> =>
  Schedule.exponential(policy.baseDelay, 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, policy.maxDelay)),
    Schedule.jitteredWith({ min: 0.5, max: 1 })
  )

interface Failure<E> {
  readonly error: E
  readonly verdict: Verdict
}

/**
 * The schedule of {@link retry}: its input is the failed attempt's error. Its delay is the backoff, lengthened to a
 * `Retry-After` within the cap; it stops on a failure that is not retryable, a `Retry-After` over the cap, or when the
 * retries are spent. `onRetry` runs when a retry is decided, before its wait.
 */
export const schedule = <E>(policy: RetryPolicy, retrying: Retrying<E>): Schedule.Schedule<unknown, E> => {
  const cap = Duration.toMillis(policy.retryAfterCap)
  const core = backoff(policy).pipe(
    Schedule.intersect(Schedule.recurs(policy.maxRetries)),
    Schedule.intersect(Schedule.identity<Failure<E>>()),
    Schedule.whileInput(({ verdict }: Failure<E>) =>
      verdict.retryable && !(verdict.retryAfterMillis !== undefined && verdict.retryAfterMillis > cap)
    ),
    Schedule.modifyDelayEffect(([[, retries], { error, verdict }], backoffDelay) => {
      const delay = verdict.retryAfterMillis === undefined
        ? backoffDelay
        : Duration.max(backoffDelay, Duration.millis(verdict.retryAfterMillis))
      const told = policy.onRetry === undefined ? Effect.void : policy.onRetry({
        operation: retrying.operation,
        attempt: retries + 2,
        maxAttempts: policy.maxRetries + 1,
        reason: verdict.reason,
        delay,
        error
      })
      return Effect.logDebug(`${retrying.operation}: ${verdict.reason}; retrying in ${Duration.format(delay)}`).pipe(
        Effect.zipRight(told),
        Effect.as(delay)
      )
    })
  )
  return Schedule.mapInputEffect(core, (error: E) =>
    Effect.map(Clock.currentTimeMillis, (now): Failure<E> => ({ error, verdict: retrying.judge(error, now) })))
}

/**
 * `effect`, retried under `policy`: the last error when the retries end.
 *
 * The schedule and `Effect.retry`'s driver are made only once the first attempt has failed, and that failure is handed
 * to them as their first input: what follows is exactly `Effect.retry(effect, schedule(...))`. Building them for every
 * call cost ~6 µs in a loop (~13 µs inside a chat completion, of ~270 µs of SDK CPU), and nearly every call succeeds
 * at once (bench/README.md, "Chat").
 */
export const retry = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  policy: RetryPolicy,
  retrying: Retrying<E>
): Effect.Effect<A, E, R> =>
  Effect.catchAll(effect, (first) => {
    let replayed = false
    const again = Effect.suspend(() => {
      if (replayed) return effect
      replayed = true
      return Effect.fail(first)
    })
    return Effect.retry(again, schedule(policy, retrying))
  })
