/**
 * `--profile <id>` of the commands that call Chutes with a stored credential (`models list`, `models resolve`,
 * `account`, `usage`): that stored profile alone. The id must name a stored Chutes profile — anything else is a usage
 * error listing the stored ids (exit 2), because `ChutesCredentials` would otherwise quietly fall back to the usual
 * order. The credentials are then built with `profileId` (pinned: no other profile is tried, no rotation).
 *
 * A flag wins over the environment, as `--config` and `--state-dir` do: `CHUTES_API_KEY` and `CHUTES_OAUTH_TOKEN`,
 * which come first in the SDK's resolution order, are not used (the commands build their credentials with
 * `sources: "profiles-only"`), and a `note:` says so when one is set.
 *
 * Loaded lazily.
 *
 * @internal
 */
import type * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as AuthProfileStore from "../AuthProfileStore.js"
import type { StoreError } from "../ChutesError.js"
import * as ChutesSettings from "../ChutesSettings.js"
import type { GlobalOptions } from "./global.js"
import { storeLayer } from "./layers.js"
import { err, usageError } from "./render.js"

/** The variables that would win over a stored profile (`ChutesCredentials.fromExplicitOrEnv`). */
const CREDENTIAL_VARIABLES = ["CHUTES_API_KEY", "CHUTES_OAUTH_TOKEN"] as const

/** Fails with a usage error unless `id` is a stored Chutes profile; the message lists the stored ids. */
export const check = (
  id: string
): Effect.Effect<void, ValidationError.ValidationError | StoreError, AuthProfileStore.AuthProfileStore> =>
  Effect.gen(function*() {
    const store = yield* AuthProfileStore.AuthProfileStore
    const set = yield* store.load
    if (set.profiles.has(id)) return
    const known = Array.from(set.profiles.keys())
    const what = AuthProfileStore.isChutesEntry(set, id)
      ? `--profile ${JSON.stringify(id)}: that entry of ${store.location} is not a usable Chutes profile (it does not ` +
        `decode)`
      : `--profile ${JSON.stringify(id)}: no stored Chutes profile of that id in ${store.location}`
    return yield* usageError(
      what + (known.length > 0 ? `; stored: ${known.join(", ")}` : "; it holds no Chutes profile")
    )
  })

/**
 * Runs `effect` (which builds its credentials with `profileId: profile` from the stored profiles alone) with `profile`
 * pinned: checks the id first (exit 2 when it is not a stored Chutes profile) and says which credential variable is
 * set and not used. Without a profile, `effect` as it is.
 */
export const pinned = (global: GlobalOptions, profile: string | undefined) =>
<A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | ValidationError.ValidationError | StoreError, R> =>
  profile === undefined ? effect : Effect.gen(function*() {
    yield* check(profile).pipe(Effect.provide(storeLayer(global)))
    for (const name of CREDENTIAL_VARIABLES) {
      if (Option.isSome(yield* Effect.orDie(ChutesSettings.optionalEnv(name)))) {
        yield* err(`note: --profile ${profile}: ${name} is set and not used`)
      }
    }
    return yield* effect
  })
