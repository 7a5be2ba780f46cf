/**
 * `effect-chutes auth cooldowns [--json] [--profile <id>]` and `auth cooldowns --clear [--profile <id>]`: the cooldowns
 * kept beside the stored profiles (`AuthCooldowns`: `auth-cooldowns.json` next to `auth-profiles.json`, or the hash
 * on Redis with `CHUTES_REDIS_URL`), as the SDK reads them — a cooldown holds by `internal/cooldownPolicy.ts`, and a
 * `needs-sign-in` only while the profile's credential is the one it was set for (`internal/profileCooldowns.ts`).
 * A cooldown only orders the profiles (a cooling one is tried after the others), so clearing one is always safe.
 *
 * A cooldown store that does not decode is never written over: both forms fail with its `StoreError` (exit 1).
 * `holding` is shared with `auth status`, which shows each profile's cooldown and orders the profiles by them.
 *
 * Loaded lazily.
 *
 * @internal
 */
import type * as ValidationError from "@effect/cli/ValidationError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as AuthCooldowns from "../AuthCooldowns.js"
import * as AuthProfileStore from "../AuthProfileStore.js"
import type { StoreError } from "../ChutesError.js"
import * as Policy from "../internal/cooldownPolicy.js"
import * as ProfileCooldowns from "../internal/profileCooldowns.js"
import { excerpt, printable } from "../internal/redact.js"
import { formatDuration, out, printJson, table, usageError } from "./render.js"

// ---------------------------------------------------------------------------------------------------------------------
// The `--json` documents (docs/cli.md)
// ---------------------------------------------------------------------------------------------------------------------

/** One cooldown of the store: its raw fields (`AuthCooldowns.Cooldown`), and what they mean now. */
export const CooldownEntryOutput = Schema.Struct({
  profileId: Schema.String,
  /** Whether a stored Chutes profile has this id (a removed profile's cooldown stays until cleared or pruned). */
  stored: Schema.Boolean,
  /** Whether it holds now: it has not ended, and a `needs-sign-in` is for the profile's current credential. */
  holds: Schema.Boolean,
  reason: AuthCooldowns.Reason,
  since: Schema.Number,
  until: Schema.NullOr(Schema.Number),
  millis: Schema.NullOr(Schema.Number),
  fingerprint: Schema.NullOr(Schema.String),
  /** When it stops holding (epoch ms; a `quota` one is tried again from then); null: at a new sign-in. */
  endsAt: Schema.NullOr(Schema.Number),
  /** In a few words: "rate-limited until 14:05 UTC", "quota until 00:00 UTC", "needs sign-in". */
  description: Schema.String
})

/** `effect-chutes auth cooldowns --json`: every cooldown in the store (holding or not), the holding ones first. */
export const AuthCooldownsOutput = Schema.Struct({
  location: Schema.String,
  /** The time the cooldowns were read against (epoch ms). */
  now: Schema.Number,
  cooldowns: Schema.Array(CooldownEntryOutput)
})

export type AuthCooldownsOutput = typeof AuthCooldownsOutput.Type
export type CooldownEntryOutput = typeof CooldownEntryOutput.Type

/** `effect-chutes auth cooldowns --clear --json`: the ids whose cooldown was removed. */
export const AuthCooldownsClearOutput = Schema.Struct({
  location: Schema.String,
  cleared: Schema.Array(Schema.String)
})

export type AuthCooldownsClearOutput = typeof AuthCooldownsClearOutput.Type

// ---------------------------------------------------------------------------------------------------------------------
// Which cooldowns hold
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Whether `cooldown` holds at `now` for the stored `profile` (none: not stored), as `ChutesCredentials` decides: a
 * `needs-sign-in` only while the profile's lasting secret has the fingerprint it was set for.
 */
export const holdsFor = (
  cooldown: AuthCooldowns.Cooldown,
  profile: AuthProfileStore.ChutesProfile | undefined,
  now: number
): Effect.Effect<boolean> =>
  cooldown.reason === "needs-sign-in" && profile !== undefined
    ? Effect.map(ProfileCooldowns.fingerprint(profile), (print) => Policy.holds(cooldown, now, print))
    : Effect.succeed(Policy.holds(cooldown, now, undefined))

/** The cooldown that holds at `now` for each stored profile that has one. */
export const holding = (
  profiles: ReadonlyMap<string, AuthProfileStore.ChutesProfile>,
  cooldowns: ReadonlyMap<string, AuthCooldowns.Cooldown>,
  now: number
): Effect.Effect<ReadonlyMap<string, AuthCooldowns.Cooldown>> =>
  Effect.gen(function*() {
    const result = new Map<string, AuthCooldowns.Cooldown>()
    for (const [id, profile] of profiles) {
      const cooldown = cooldowns.get(id)
      if (cooldown !== undefined && (yield* holdsFor(cooldown, profile, now))) result.set(id, cooldown)
    }
    return result
  })

/** When a cooldown stops holding; null for one that lasts until the profile signs in again. */
export const endsAt = (cooldown: AuthCooldowns.Cooldown): number | null => {
  const end = Policy.endOf(cooldown)
  return Number.isFinite(end) ? end : null
}

// ---------------------------------------------------------------------------------------------------------------------
// The commands
// ---------------------------------------------------------------------------------------------------------------------

/** An id that is neither a stored Chutes profile nor in the cooldowns: a usage error naming the stored ids. */
const unknownProfile = (
  id: string,
  location: string,
  stored: ReadonlyArray<string>
): Effect.Effect<never, ValidationError.ValidationError> =>
  usageError(
    `--profile ${JSON.stringify(id)}: no stored Chutes profile of that id in ${location}, and no cooldown for it` +
      (stored.length > 0 ? `; stored: ${stored.join(", ")}` : "; the store holds no Chutes profile")
  )

/**
 * `auth cooldowns [--json] [--profile <id>]`: the cooldowns of the stored profiles that hold now, by the end of their
 * cooldown (the order they take behind the others); `--json` lists every cooldown of the store with `holds`.
 */
export const list = (
  options: { readonly json: boolean; readonly profile: string | undefined }
): Effect.Effect<void, StoreError | ValidationError.ValidationError, AuthProfileStore.AuthProfileStore> =>
  Effect.gen(function*() {
    const store = yield* AuthProfileStore.AuthProfileStore
    const cooldowns = yield* store.cooldowns.load
    const set = yield* store.load
    const now = yield* Clock.currentTimeMillis
    const { profile } = options
    if (profile !== undefined && !set.profiles.has(profile) && !cooldowns.has(profile)) {
      return yield* unknownProfile(profile, store.location, Array.from(set.profiles.keys()))
    }
    const entries: Array<CooldownEntryOutput> = []
    for (const [id, cooldown] of cooldowns) {
      if (profile !== undefined && id !== profile) continue
      const stored = set.profiles.get(id)
      entries.push({
        profileId: id,
        stored: stored !== undefined,
        holds: yield* holdsFor(cooldown, stored, now),
        reason: cooldown.reason,
        since: cooldown.since,
        until: cooldown.until ?? null,
        millis: cooldown.millis ?? null,
        fingerprint: cooldown.fingerprint ?? null,
        endsAt: endsAt(cooldown),
        description: Policy.describe(cooldown, now)
      })
    }
    // The holding ones by their end (the order they take behind the others), then the rest.
    const byEnd = Policy.arrange(entries, (entry) => cooldowns.get(entry.profileId))
    const shown = byEnd.filter((entry) => entry.holds && entry.stored)
    const output: AuthCooldownsOutput = {
      location: store.cooldowns.location,
      now,
      cooldowns: [...shown, ...byEnd.filter((entry) => !shown.includes(entry))]
    }
    if (options.json) return yield* out(printJson(output))

    yield* out(`Cooldowns: ${store.cooldowns.location}`)
    yield* out("")
    if (shown.length === 0) {
      yield* out(profile === undefined ? "No cooldown holds now." : `No cooldown holds now for ${profile}.`)
    } else {
      const rows = [
        ["PROFILE", "COOLDOWN", "SET"],
        ...shown.map((entry) => [
          excerpt(entry.profileId, 120),
          entry.description,
          `${formatDuration(now - entry.since)} ago`
        ])
      ]
      for (const line of table(rows)) yield* out(line)
      yield* out("")
      yield* out("A cooling profile is tried after the others (by the end of its cooldown), never refused for it.")
    }
    const rest = output.cooldowns.length - shown.length
    if (rest > 0) {
      yield* out(
        `Also in the store, not in effect: ${rest} (ended, signed in again since, or no stored profile of that ` +
          `id); --json lists them`
      )
    }
    if (output.cooldowns.length > 0) yield* out("Remove: effect-chutes auth cooldowns --clear [--profile <id>]")
  })

/**
 * `auth cooldowns --clear [--profile <id>] [--json]`: removes every cooldown, or that profile's, and says which. An id
 * that is neither a stored Chutes profile nor in the cooldowns is a usage error (exit 2).
 */
export const clear = (
  options: { readonly json: boolean; readonly profile: string | undefined }
): Effect.Effect<void, StoreError | ValidationError.ValidationError, AuthProfileStore.AuthProfileStore> =>
  Effect.gen(function*() {
    const store = yield* AuthProfileStore.AuthProfileStore
    const location = store.cooldowns.location
    const { profile } = options
    const cleared = yield* store.cooldowns.clear(profile === undefined ? undefined : [profile])
    if (profile !== undefined && cleared.length === 0) {
      // Nothing to clear: a stored profile without a cooldown is fine; an id the store does not know is a typo.
      const set = yield* Effect.either(store.load)
      if (Either.isRight(set) && !set.right.profiles.has(profile)) {
        return yield* unknownProfile(profile, store.location, Array.from(set.right.profiles.keys()))
      }
    }
    if (options.json) return yield* out(printJson({ location, cleared } satisfies AuthCooldownsClearOutput))
    if (cleared.length > 0) {
      const which = cleared.map(printable).join(", ")
      return yield* out(`Cleared the cooldown${cleared.length > 1 ? "s" : ""} of ${which} in ${location}.`)
    }
    yield* out(
      profile === undefined
        ? `No cooldown in ${location}: nothing was cleared.`
        : `${printable(profile)} has no cooldown in ${location}: nothing was cleared.`
    )
  })
