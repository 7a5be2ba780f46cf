/**
 * Refreshed OAuth tokens whose write failed, kept in memory by `ChutesCredentials`: the IdP has consumed the old refresh
 * token, so losing the new tokens would lose the sign-in. Each is kept with the stored refresh token it replaces, used
 * instead of the stored profile while the store still holds that token, and dropped once the store holds anything
 * else (our write landed, or a new sign-in or another process wrote). Writing them is retried on later reads.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as AuthProfileStore from "../AuthProfileStore.js"
import type { ChutesProfile, OAuthProfile } from "./authProfileDocument.js"

/** A refreshed profile not written yet, and the stored refresh token it replaces. */
export interface Unsaved {
  readonly profile: OAuthProfile
  readonly replaces: string
}

export interface UnsavedTokens {
  /** `profiles` with the unsaved tokens over the profiles whose stored refresh token they replace. */
  readonly over: (profiles: ReadonlyMap<string, ChutesProfile>) => ReadonlyMap<string, ChutesProfile>
  /** Keeps `entry` for `id` (its write failed). */
  readonly keep: (id: string, entry: Unsaved) => void
  /** Forgets `id` (what was kept is written, or superseded by what is). */
  readonly written: (id: string) => void
  /** Tries again to write what is kept; a failure waits for the next try. */
  readonly save: Effect.Effect<void>
  /**
   * When the process is done with the credentials (their layer's scope closes): a last try to write what is kept, and an
   * error-level log line for each profile still unsaved — its sign-in ends with the process (a CLI run, a script), and
   * a warning would not be seen where only errors are shown.
   */
  readonly close: Effect.Effect<void>
}

export const make = (store: AuthProfileStore.Service): UnsavedTokens => {
  const unsaved = new Map<string, Unsaved>()
  const over = (profiles: ReadonlyMap<string, ChutesProfile>): ReadonlyMap<string, ChutesProfile> => {
    if (unsaved.size === 0) return profiles
    const merged = new Map(profiles)
    for (const [id, entry] of unsaved) {
      const stored = profiles.get(id)
      if (stored?.type === "oauth" && stored.refresh === entry.replaces) merged.set(id, entry.profile)
      else unsaved.delete(id)
    }
    return merged
  }
  const save = Effect.suspend(() =>
    Effect.forEach(Array.from(unsaved), ([id, entry]) =>
      store.modify((current) => {
        const stored = current.profiles.get(id)
        const still = stored?.type === "oauth" && stored.refresh === entry.replaces
        return Effect.succeed([still, still ? [{ _tag: "Upsert", id, profile: entry.profile } as const] : []] as const)
      }).pipe(
        Effect.tap((written) =>
          Effect.sync(() => unsaved.delete(id)).pipe(
            Effect.zipRight(
              written
                ? Effect.logWarning(`saved the refreshed OAuth tokens of profile ${id} to ${store.location}`)
                : Effect.void
            )
          )
        ),
        Effect.catchAll((error) =>
          Effect.logDebug(`still cannot save the refreshed tokens of profile ${id}: ${error.message}`)
        )
      ), { discard: true })
  )
  const close = Effect.suspend(() =>
    unsaved.size === 0 ? Effect.void : Effect.zipRight(
      save,
      // After the try: what it wrote is no longer kept.
      Effect.suspend(() =>
        Effect.forEach(unsaved.keys(), (id) =>
          Effect.logError(
            `the refreshed OAuth tokens of profile ${id} could not be written to ${store.location}, and this process ` +
              `is ending: the identity provider no longer accepts the stored refresh token, so the profile needs a new ` +
              `sign-in ("effect-chutes onboard --auth-choice chutes") once the store can be written again`
          ), { discard: true })
      )
    )
  )
  return {
    over,
    keep: (id, entry) => void unsaved.set(id, entry),
    written: (id) => void unsaved.delete(id),
    save: Effect.suspend(() => (unsaved.size === 0 ? Effect.void : save)),
    close
  }
}
