/**
 * `effect-chutes auth move --to-redis | --from-redis`: hands the chutes auth profiles from this host's
 * `auth-profiles.json` to the shared store on Redis (docs/fleet.md), or back.
 *
 * It is a move, never a copy: Chutes' refresh tokens are single-use and rotate, so a second live copy would, at its
 * next refresh, sign out whoever holds the other one. The order makes a failure lose nothing:
 *
 * 1. the source's lock is taken (on the file: the file lock; on Redis: the refresh lock), so no refresh on the source
 *    rotates a token while it moves, and the source is re-read under it;
 * 2. the profiles are written to the destination in one read-modify-write (on Redis a compare-and-set on the version,
 *    under its lock); an id the destination already holds with other content is refused unless `force`;
 * 3. the destination is read back and must hold exactly what was written;
 * 4. only then are the profiles removed from the source (deltas, under the same lock).
 *
 * A failure before 2 ends leaves the source as it was; a failure after it leaves both copies and says so (running the
 * same command again finishes the move: an id holding the same profile at both ends is not a conflict). The local
 * profile is removed, not kept without its refresh token: a stub would be a profile the SDK cannot use, shown by every
 * `auth status`; the command says where the profiles went instead. Other providers' profiles and unknown top-level
 * keys never move. The Redis URL comes from `CHUTES_REDIS_URL` or a hidden prompt, never argv, and is shown only
 * redacted (`NodeRedis.redactUrl`).
 *
 * Loaded lazily.
 *
 * @internal
 */
import * as Path from "@effect/platform/Path"
import type * as ValidationError from "@effect/cli/ValidationError"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as AuthProfileStore from "../AuthProfileStore.js"
import type { StoreError } from "../ChutesError.js"
import * as ChutesSettings from "../ChutesSettings.js"
import * as NodeRedis from "../node/NodeRedis.js"
import { Prompter } from "../OAuthLogin.js"
import { out, usageError } from "./render.js"

/** A move that stopped: what happened to each copy, in one sentence. */
export class MoveError extends Data.TaggedError("MoveError")<{ readonly message: string }> {}

/** Where the profiles go. */
export type Direction = "to-redis" | "from-redis"

/** What a move did. */
export interface Moved {
  readonly ids: ReadonlyArray<string>
  /** Other entries of the source (other providers, undecodable ones): never moved. */
  readonly others: ReadonlyArray<string>
}

/** Whether two profiles are the same credential (the fields a request and a refresh use). */
const sameProfile = (a: AuthProfileStore.ChutesProfile, b: AuthProfileStore.ChutesProfile): boolean => {
  if (a.type === "api_key" || b.type === "api_key") {
    return a.type === "api_key" && b.type === "api_key" && a.key === b.key
  }
  const secret = (s: typeof a.clientSecret) =>
    s === undefined ? undefined : Redacted.isRedacted(s) ? Redacted.value(s) : s
  return a.access === b.access && a.refresh === b.refresh && a.expires === b.expires &&
    a.clientId === b.clientId && Equal.equals(secret(a.clientSecret), secret(b.clientSecret))
}

/** Ids of `ids` the destination holds (any provider) with content other than the source's. */
const conflictsOf = (
  dest: AuthProfileStore.ProfileSet,
  moving: ReadonlyArray<readonly [string, AuthProfileStore.ChutesProfile]>
): ReadonlyArray<string> =>
  moving.flatMap(([id, profile]) => {
    const there = dest.profiles.get(id)
    if (there !== undefined) return sameProfile(there, profile) ? [] : [id]
    return dest.raw.entries.some(([key]) => key === id) ? [id] : []
  })

/**
 * Moves the chutes profiles of `source` (all, or `only`) to `dest`, in the order of the module comment. Fails with a
 * `ValidationError` on a refused id (without `force`), a `MoveError` that says where the profiles are when it stopped
 * after the destination was written, else the `StoreError` of the step that failed (nothing moved).
 */
export const moveProfiles = (
  source: AuthProfileStore.Service,
  dest: AuthProfileStore.Service,
  options: { readonly force: boolean; readonly only?: string | undefined }
): Effect.Effect<Moved, StoreError | MoveError | ValidationError.ValidationError> =>
  Effect.gen(function*() {
    const written = yield* Ref.make(false)
    const both = (why: string) =>
      new MoveError({
        message: `the profiles were written to ${dest.location} but ${why}; they are in BOTH ${dest.location} and ` +
          `${source.location} — use only one of them (a refresh with one signs the other out). Run the same ` +
          `command again to finish the move`
      })
    return yield* source.modify((current) =>
      Effect.gen(function*() {
        const all = Array.from(current.profiles)
        const moving = options.only === undefined ? all : all.filter(([id]) => id === options.only)
        if (options.only !== undefined && moving.length === 0) {
          const known = all.map(([id]) => id)
          return yield* usageError(
            `no Chutes profile ${JSON.stringify(options.only)} in ${source.location}` +
              (known.length > 0 ? `; stored: ${known.join(", ")}` : "; it holds no Chutes profile")
          )
        }
        const result: Moved = { ids: moving.map(([id]) => id), others: current.others }
        if (moving.length === 0) return [result, []] as const
        yield* dest.modify((target) =>
          Effect.gen(function*() {
            const conflicts = conflictsOf(target, moving)
            if (conflicts.length > 0 && !options.force) {
              return yield* usageError(
                `${dest.location} already holds ${conflicts.map((id) => JSON.stringify(id)).join(", ")} (another ` +
                  `sign-in); nothing was moved. --force replaces ${conflicts.length === 1 ? "it" : "them"}`
              )
            }
            const changes = moving.map(([id, profile]) => ({ _tag: "Upsert", id, profile }) as const)
            return [undefined, changes] as const
          })
        )
        yield* Ref.set(written, true)
        const back = yield* dest.load.pipe(Effect.mapError((error) => both(`reading them back failed (${error.message})`)))
        const missing = moving.filter(([id, profile]) => {
          const there = back.profiles.get(id)
          return there === undefined || !sameProfile(there, profile)
        })
        if (missing.length > 0) {
          return yield* both(`${missing.map(([id]) => id).join(", ")} did not read back as written`)
        }
        return [result, moving.map(([id]) => ({ _tag: "Remove", id }) as const)] as const
      })
    ).pipe(
      Effect.catchTag("StoreError", (error): Effect.Effect<never, StoreError | MoveError> =>
        Effect.flatMap(Ref.get(written), (done) =>
          Effect.fail<StoreError | MoveError>(
            done ? both(`removing them from ${source.location} failed (${error.message})`) : error
          )))
    )
  })

/** The Redis URL: `CHUTES_REDIS_URL`, else asked (hidden) with a terminal, else a usage error. Never from argv. */
const redisUrl: Effect.Effect<Redacted.Redacted<string>, ValidationError.ValidationError, Prompter> = Effect.gen(
  function*() {
    const fromEnv = yield* Effect.orDie(ChutesSettings.redisUrlConfig)
    if (Option.isSome(fromEnv)) return fromEnv.value
    const prompter = yield* Prompter
    if (!prompter.isInteractive) {
      return yield* usageError(
        "CHUTES_REDIS_URL is not set and there is no terminal to ask for the Redis URL (it is never taken from the " +
          "command line: arguments show up in `ps`)"
      )
    }
    const answer = yield* prompter.prompt("Redis URL (rediss://:<password>@host:6380/0; input hidden): ", {
      hidden: true
    }).pipe(Effect.catchAll(() => usageError("no Redis URL was given")))
    const url = answer.trim()
    if (url.length === 0) return yield* usageError("no Redis URL was given")
    return Redacted.make(url)
  }
)

/**
 * `auth move --to-redis | --from-redis [--profile id] [--force]`: the local store is `<state dir>/auth-profiles.json`
 * whatever `CHUTES_REDIS_URL` says; the shared one the Redis at that URL (or the one asked for).
 */
export const move = (
  options: { readonly direction: Direction; readonly force: boolean; readonly profile: Option.Option<string> }
) =>
  Effect.gen(function*() {
    const settings = yield* ChutesSettings.ChutesSettings
    const path = yield* Path.Path
    if (settings.stateDir === undefined) {
      return yield* usageError("no state directory for the local store (set CHUTES_STATE_DIR or HOME, or --state-dir)")
    }
    const url = yield* redisUrl
    const local = yield* AuthProfileStore.makeFile(path.join(settings.stateDir, AuthProfileStore.FILE_NAME), {
      allowGroupWritable: settings.allowGroupWritable
    })
    const shared = yield* NodeRedis.makeAuthProfileStore({ url })
    const [source, dest] = options.direction === "to-redis" ? [local, shared] : [shared, local]
    const moved = yield* moveProfiles(source, dest, { force: options.force, only: Option.getOrUndefined(options.profile) })
    if (moved.ids.length === 0) {
      yield* out(`No Chutes profile in ${source.location}: nothing to move.`)
    } else {
      yield* out(`Moved ${moved.ids.join(", ")} to ${dest.location}.`)
      yield* out(`Removed from ${source.location}: a refresh token is single-use, so only one copy may live.`)
      yield* out(
        options.direction === "to-redis"
          ? "Hosts with CHUTES_REDIS_URL set to that Redis now use this sign-in; this host uses it only with " +
            "CHUTES_REDIS_URL set."
          : "Hosts that read that Redis no longer have this sign-in; this host has it in its own file."
      )
    }
    if (moved.others.length > 0) {
      yield* out(`Not moved (not Chutes profiles; left in ${source.location}): ${moved.others.join(", ")}`)
    }
  }).pipe(Effect.scoped, Effect.withSpan("cli.auth.move"))
