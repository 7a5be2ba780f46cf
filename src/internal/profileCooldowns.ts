/**
 * The cooldowns of the stored profiles as `ChutesCredentials` uses them: read from the store beside the profiles
 * (`AuthProfileStore.Service.cooldowns`) when the credentials re-read the profiles, kept in memory in between (a call
 * pays no store round trip), and written through at once when this process sets one. A cooldown store that cannot be
 * used (unreachable, corrupt) is warned about once and the cooldowns of this process are used alone: a cooldown only
 * orders the profiles, it is never worth failing a call for.
 *
 * The rules are `./cooldownPolicy.ts`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as AuthCooldowns from "../AuthCooldowns.js"
import type { ChutesProfile } from "./authProfileDocument.js"
import * as Policy from "./cooldownPolicy.js"
import { sha256Prefix } from "./fingerprint.js"
import { warnOnce } from "./warnOnce.js"

/** A fingerprint of a profile's lasting secret (the refresh token, or the key): what a `needs-sign-in` is tied to. */
export const fingerprint = (profile: ChutesProfile): Effect.Effect<string> => {
  const secret = profile.type === "oauth" ? profile.refresh : profile.key
  const known = fingerprints.get(secret)
  if (known !== undefined) return Effect.succeed(known)
  return Effect.tap(sha256Prefix(secret), (id) => {
    if (fingerprints.size > 256) fingerprints.clear()
    fingerprints.set(secret, id)
  })
}

const fingerprints = new Map<string, string>()

/** The cooldowns in memory over the store's. */
export interface ProfileCooldowns {
  /** Re-reads the store's cooldowns (with the profiles, every `recheckAfter`); a failure keeps what is in memory. */
  readonly reload: Effect.Effect<void>
  /** The cooldown that holds now for `id` with `profile`, if any. */
  readonly holding: (id: string, profile: ChutesProfile, now: number) => Effect.Effect<AuthCooldowns.Cooldown | undefined>
  /** Sets what `answer` says of `id` (nothing for an answer that is not the account's problem); whether it set one. */
  readonly report: (id: string, profile: ChutesProfile | undefined, answer: Policy.Answer) => Effect.Effect<boolean>
  /** Every cooldown in memory (holding or not). */
  readonly current: () => ReadonlyMap<string, AuthCooldowns.Cooldown>
}

export const make = (store: AuthCooldowns.Store): ProfileCooldowns => {
  let cooldowns: ReadonlyMap<string, AuthCooldowns.Cooldown> = new Map()
  const unusable = (error: { readonly message: string }) =>
    warnOnce(`the auth cooldowns cannot be used (${error.message}); this process keeps its own in memory`)

  const reload = Effect.matchEffect(store.load, {
    onFailure: unusable,
    onSuccess: (loaded) =>
      Effect.sync(() => {
        // What this process set and the store does not have yet (a failed write) stays.
        const merged = new Map(loaded)
        for (const [id, cooldown] of cooldowns) {
          const stored = merged.get(id)
          if (stored === undefined || stored.since < cooldown.since) merged.set(id, cooldown)
        }
        cooldowns = merged
      })
  })

  const holding = (id: string, profile: ChutesProfile, now: number) => {
    const cooldown = cooldowns.get(id)
    if (cooldown === undefined) return Effect.succeed(undefined)
    if (cooldown.reason !== "needs-sign-in") {
      return Effect.succeed(Policy.holds(cooldown, now, undefined) ? cooldown : undefined)
    }
    return Effect.map(fingerprint(profile), (print) => (Policy.holds(cooldown, now, print) ? cooldown : undefined))
  }

  const report = (id: string, profile: ChutesProfile | undefined, answer: Policy.Answer) =>
    Effect.gen(function*() {
      if (!Policy.isAccountProblem(answer.kind)) return false
      const now = yield* Clock.currentTimeMillis
      const print = profile !== undefined ? yield* fingerprint(profile) : undefined
      const cooldown = Policy.fromAnswer({ ...answer, fingerprint: print }, now, cooldowns.get(id))
      if (cooldown === undefined) return false
      cooldowns = new Map(cooldowns).set(id, cooldown)
      yield* Effect.logInfo(`auth profile ${id}: ${Policy.describe(cooldown, now)} (${answer.kind})`)
      yield* Effect.catchAll(store.set(id, cooldown), unusable)
      return true
    })

  return { reload, holding, report, current: () => cooldowns }
}
