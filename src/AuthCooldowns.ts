/**
 * Cooldowns of auth profiles: what the service said of an account (rate-limited, out of quota, the free-models daily
 * cap, a credential it no longer accepts), kept beside the profiles — `auth-cooldowns.json` next to
 * `auth-profiles.json`, or a hash next to the profiles on Redis — so every process using the same store sees them.
 * The profiles are never rewritten for a cooldown.
 *
 * The file is `{ "version": 1, "cooldowns": { "<profile id>": <Cooldown> } }`, at most `MAX_BYTES`, read with the
 * profile store's checks (`PrivateFiles`), written atomically (0600) under its own lock (with `NodeFileLock` the
 * directory `auth-cooldowns.json.lock`; the profiles' lock is not taken), and never written over when it does not
 * decode: every operation then fails with `StoreError` `Corrupt` naming it, and the caller decides whether to go on
 * without cooldowns. On Redis it is the hash `<prefix>auth-cooldowns`, one field per profile id holding the
 * cooldown's JSON; a field that does not decode is skipped and replaced by the next `set`. Everywhere, `set` drops
 * the cooldowns that ended more than `RETENTION` ago.
 *
 * A cooldown only orders the profiles (docs/deployments.md, "Several accounts"): a cooling profile is tried after the
 * others, never refused on its own. The rules that set them and the order they give are pure and live in
 * `internal/cooldownPolicy.ts`; `ChutesCredentials` keeps them in memory so a call pays no store round trip.
 *
 * @since 0.5.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { StoreError } from "./ChutesError.js"

/**
 * Why a profile is cooling: `rate-limited` (the edge limiter's 429), `daily-cap` (the free-models daily cap, until
 * 00:00 UTC), `quota` (a 402: quota, subscription cap, a TEE model without balance), `needs-sign-in` (a credential the
 * service rejects even after a refresh; until the profile is signed in again).
 *
 * @since 0.5.0
 * @category models
 */
export const Reason = Schema.Literal("rate-limited", "daily-cap", "quota", "needs-sign-in")

/**
 * @since 0.5.0
 * @category models
 */
export type Reason = typeof Reason.Type

/**
 * One profile's cooldown. Times are milliseconds since the epoch.
 *
 * @since 0.5.0
 * @category models
 */
export const Cooldown = Schema.Struct({
  reason: Reason,
  /** When it was set. */
  since: Schema.Number,
  /** When it ends; absent for `needs-sign-in`, which ends when the profile's credential changes. */
  until: Schema.optional(Schema.Number),
  /** `rate-limited`: this cooldown's length, which the next one doubles (at most 1 hour). */
  millis: Schema.optional(Schema.Number),
  /** `needs-sign-in`: a fingerprint of the credential it was set for (`ChutesCredentials.identity`), never a secret. */
  fingerprint: Schema.optional(Schema.String)
})

/**
 * @since 0.5.0
 * @category models
 */
export interface Cooldown extends Schema.Schema.Type<typeof Cooldown> {}

/**
 * Where cooldowns are kept. Every backend of `AuthProfileStore` has one (`AuthProfileStore.Service.cooldowns`).
 *
 * @since 0.5.0
 * @category models
 */
export interface Store {
  /** The file or key, for messages (a Redis URL with its password masked). */
  readonly location: string
  /** Every cooldown, ended ones included (the policy reads them with the clock); empty when there is none yet. */
  readonly load: Effect.Effect<ReadonlyMap<string, Cooldown>, StoreError>
  /** Sets (replaces) the cooldown of `id`. */
  readonly set: (id: string, cooldown: Cooldown) => Effect.Effect<void, StoreError>
  /** Removes the cooldowns of `ids` (all when omitted); the ids that had one. */
  readonly clear: (ids?: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, StoreError>
}


/**
 * The name of the cooldown file, in the directory of the profile store file.
 *
 * @since 0.5.0
 * @category constants
 */
export const FILE_NAME = "auth-cooldowns.json"

/**
 * The largest cooldown file read (64 KiB: hundreds of profiles); a larger one is `Corrupt`, and a `set` that would
 * make it larger fails instead of writing it.
 *
 * @since 0.5.0
 * @category constants
 */
export const MAX_BYTES = 64 * 1024

/**
 * How long an ended cooldown is kept: `set` drops the ones whose `until` is further in the past, so the store does not
 * grow forever. Cooldowns without an end (`needs-sign-in`) stay until cleared.
 *
 * @since 0.5.0
 * @category constants
 */
export const RETENTION: Duration.Duration = Duration.hours(24)

/**
 * `cooldowns` without those that ended more than `RETENTION` before `now` (epoch milliseconds). Pure.
 *
 * @since 0.5.0
 * @category utils
 */
export const prune = (cooldowns: ReadonlyMap<string, Cooldown>, now: number): ReadonlyMap<string, Cooldown> => {
  const cutoff = now - Duration.toMillis(RETENTION)
  return new Map(
    Array.from(cooldowns).filter(([, cooldown]) => cooldown.until === undefined || cooldown.until >= cutoff)
  )
}

/**
 * Cooldowns in memory (the memory `AuthProfileStore`, tests), with the file's semantics: `set` prunes with the
 * `Clock`, `clear` returns the ids that had one.
 *
 * @since 0.5.0
 * @category constructors
 */
export const makeMemory = (
  initial: Iterable<readonly [string, Cooldown]> = []
): Effect.Effect<Store> =>
  Effect.map(Ref.make<ReadonlyMap<string, Cooldown>>(new Map(initial)), (state): Store => ({
    location: "memory",
    load: Ref.get(state),
    set: (id, cooldown) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.update(state, (current) => new Map(prune(current, now)).set(id, cooldown))),
    clear: (ids) =>
      Ref.modify(state, (current) => {
        const removed = ids === undefined
          ? Array.from(current.keys())
          : Array.from(new Set(ids)).filter((id) => current.has(id))
        if (removed.length === 0) return [removed, current]
        const next = new Map(current)
        for (const id of removed) next.delete(id)
        return [removed, next]
      })
  }))
