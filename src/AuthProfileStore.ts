/**
 * The auth profile store, `auth-profiles.json` (docs/oauth.md, "Auth profiles on disk"): the Chutes OAuth and API-key
 * profiles, in the OpenClaw format, so pointing `CHUTES_STATE_DIR` at an OpenClaw install reads and writes its file.
 *
 * ```json
 * { "version": 1, "profiles": {
 *   "chutes:alice":   { "type": "oauth", "provider": "chutes", "access": "cak_…", "refresh": "crt_…",
 *                       "expires": 1760000000000, "email": "alice", "clientId": "cid_…", "clientSecret": "csc_…" },
 *   "chutes:default": { "type": "api_key", "provider": "chutes", "key": "cpk_…" } } }
 * ```
 *
 * Guarantees:
 * - Other providers' profiles, top-level keys this SDK does not know (`order`, `lastGood`, …), chutes profiles that
 *   do not decode, and unknown fields inside a chutes profile are written back as they were, in their order.
 * - A file that is not `{ "version": 1, "profiles": { … } }` is never written over: every operation fails with
 *   `StoreError` `Corrupt` naming the file (a newer `version` counts as corrupt, so a newer format is never clobbered;
 *   so does a file nested deeper than `MAX_DEPTH` or larger than `MAX_BYTES`). The store is re-read right before
 *   every write, so this also holds for a file broken by hand while an update was running.
 * - The state directory and the file must be the user's own (`PrivateFiles`): world-writable, group-writable (unless
 *   allowed), foreign-owned, a symbolic link or not a regular file is `StoreError` `Unsafe`, with the fix.
 * - Writes are crash-safe (temp file 0600 in the same dir, fsync, rename, fsync dir) and the state dir is created
 *   0700. A reader sees the old or the new file, never a torn one, so `load` takes no lock.
 * - Read-modify-write (`modify`, `upsert`, `remove`) runs under the `FileLock` in context — on Node the cross-process
 *   one (`NodeFileLock`: proper-lockfile, compatible with OpenClaw's `auth-profiles.json.lock`) — and, within one
 *   process, under a per-path semaphore.
 * - An upsert that replaces a profile of another kind (an API key by an OAuth sign-in, …) logs a warning saying so.
 * - Every store keeps the profiles' cooldowns beside them (`Service.cooldowns`, `AuthCooldowns`): the file store in
 *   `auth-cooldowns.json` in the same directory, which it reads and writes with the same checks and lock options;
 *   `auth-profiles.json` is never written for a cooldown.
 *
 * The module holds the service, the memory backend, and the file backend over the platform's `FileSystem` and `Path`
 * with the `PrivateFiles` and `FileLock` services (so it runs wherever those are provided); the loss-free document
 * codec is pure and lives in `internal/authProfileDocument.ts`, the file backend in `internal/authProfileFile.ts`.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as AuthCooldowns from "./AuthCooldowns.js"
import { StoreError } from "./ChutesError.js"
import type * as ChutesOAuth from "./ChutesOAuth.js"
import { ChutesSettings } from "./ChutesSettings.js"
import type * as FileLock from "./FileLock.js"
import {
  type ApiKeyProfile,
  applyChanges,
  type ChutesProfile,
  corrupt,
  encodeEither,
  FILE_NAME,
  fromText,
  type OAuthProfile,
  printSafe,
  type ProfileChange,
  type ProfileSet,
  PROVIDER
} from "./internal/authProfileDocument.js"
import * as CooldownFile from "./internal/authCooldownFile.js"
import { fromBackend } from "./internal/authProfileBackend.js"
import * as FileBackend from "./internal/authProfileFile.js"
import type * as PrivateFiles from "./PrivateFiles.js"

/**
 * The loss-free document codec (pure): the profile schemas, the document as read, decoding and encoding, and the
 * changes a `modify` applies.
 *
 * @since 0.1.0
 */
export {
  ApiKeyProfile,
  applyChanges,
  ChutesProfile,
  decode,
  empty,
  encode,
  encodeEither,
  FILE_NAME,
  fromDocument,
  isChutesEntry,
  MAX_BYTES,
  MAX_DEPTH,
  OAuthProfile,
  type ProfileChange,
  type ProfileSet,
  PROVIDER,
  type RawDocument,
  replacements,
  toDocument,
  VERSION
} from "./internal/authProfileDocument.js"

/**
 * Options of the file store.
 *
 * @since 0.1.0
 */
export type { FileOptions } from "./internal/authProfileFile.js"

/**
 * The profile id of an API key.
 *
 * @since 0.2.0
 * @category constants
 */
export const API_KEY_PROFILE_ID = `${PROVIDER}:default`

/**
 * The profile id of an OAuth sign-in whose user name is unknown (the user info could not be read): never the API
 * key's id, so a sign-in cannot replace a stored key.
 *
 * @since 0.2.0
 * @category constants
 */
export const OAUTH_FALLBACK_PROFILE_ID = `${PROVIDER}:oauth`

/**
 * The profile id of a sign-in: OAuth `chutes:<username>` with the name reduced to `[A-Za-z0-9._-]` (the name at most
 * 64 characters; no name, or nothing left of it, gives `chutes:oauth`), API key `chutes:default`. A user named `default`
 * or `oauth` (in any case) gets `chutes:user-default` / `chutes:user-oauth`: a sign-in never takes the API key's id
 * or the one of a sign-in whose user is unknown, so it cannot replace them.
 *
 * @since 0.1.0
 * @category utils
 */
export const profileIdFor = (
  options: { readonly type: "oauth"; readonly username?: string | undefined } | { readonly type: "api_key" }
): string => {
  if (options.type === "api_key") return API_KEY_PROFILE_ID
  const safe = (options.username ?? "")
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[.-]+|[.-]+$/g, "")
    .slice(0, 64)
  if (safe.length === 0 || !/[A-Za-z0-9]/.test(safe)) return OAUTH_FALLBACK_PROFILE_ID
  const id = `${PROVIDER}:${safe}`
  const reserved = [API_KEY_PROFILE_ID, OAUTH_FALLBACK_PROFILE_ID].some((taken) => taken.toLowerCase() === id.toLowerCase())
  return reserved ? `${PROVIDER}:user-${safe}` : id
}

/**
 * A sign-in as the store keeps it: the profile id and the profile.
 *
 * @since 0.2.0
 * @category models
 */
export interface SignInProfile {
  readonly profileId: string
  readonly profile: OAuthProfile
}

/**
 * The profile to store for a finished sign-in (`ChutesOAuth.SignedIn`): id `chutes:<username>` (`profileIdFor`, else
 * `chutes:oauth`), the tokens unwrapped (the store is their edge), the user name as `email`, the subject as
 * `accountId`, and the client that obtained them (the pair a refresh needs; its secret stays `Redacted`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromSignIn = (signedIn: ChutesOAuth.SignedIn): SignInProfile => {
  const { client, tokens, userInfo } = signedIn
  return {
    profileId: profileIdFor({ type: "oauth", username: userInfo?.username }),
    profile: printSafe({
      type: "oauth",
      provider: PROVIDER,
      access: Redacted.value(tokens.access),
      refresh: Redacted.value(tokens.refresh),
      expires: tokens.expires,
      ...(userInfo?.username !== undefined ? { email: userInfo.username } : {}),
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      ...(userInfo?.sub !== undefined ? { accountId: userInfo.sub } : {})
    })
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isOAuth = (profile: ChutesProfile): profile is OAuthProfile => profile.type === "oauth"

/**
 * @since 0.1.0
 * @category guards
 */
export const isApiKey = (profile: ChutesProfile): profile is ApiKeyProfile => profile.type === "api_key"

// ---------------------------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The file path, `"memory"`, or the shared store's location (`redis://host:6379/0 key …`, password masked). */
  readonly location: string
  /** Reads the store without a lock (writes are atomic renames); a missing file is the empty set. */
  readonly load: Effect.Effect<ProfileSet, StoreError>
  /**
   * Read-modify-write under the cross-process lock: takes the lock, re-reads the store, runs `f`, and writes when `f`
   * returns changes. Nothing is written when `f` fails or is interrupted, or when the store is corrupt (then `f` is
   * not run). `f` may take its time (an HTTP refresh, say): the lock is kept fresh while it runs, and other
   * `modify` calls wait, in this process and in others. The changes are deltas: they are applied to the store as it
   * is right before the write (a hand edit made meanwhile stays; a file that became invalid fails `Corrupt`).
   */
  readonly modify: <A, E, R>(
    f: (current: ProfileSet) => Effect.Effect<readonly [A, ReadonlyArray<ProfileChange>], E, R>
  ) => Effect.Effect<A, E | StoreError, R>
  /** Stores a profile under `id`, keeping the unknown fields the stored entry had. */
  readonly upsert: (id: string, profile: ChutesProfile) => Effect.Effect<void, StoreError>
  /** Removes the chutes profile `id`; `false` when there was none (other providers' profiles are never removed). */
  readonly remove: (id: string) => Effect.Effect<boolean, StoreError>
  /**
   * Tries a write of `current` (the set a `modify` callback is given) without changing the store, and fails as that
   * write would: `Corrupt` for a document that cannot be written back (an integer past 2^53, say), and for the file store
   * `Io` for a full disk, a read-only mount or a file-size limit (a temp file as large as the store, and a margin,
   * written, synced and removed). `ChutesCredentials` runs it under the lock before a refresh, which consumes the
   * refresh token: tokens that could not be stored would be lost with the process. Optional for a store made
   * elsewhere: without it, no trial.
   */
  readonly trialWrite?: ((current: ProfileSet) => Effect.Effect<void, StoreError>) | undefined
  /**
   * The profiles' cooldowns, kept beside them and never in the profiles: `auth-cooldowns.json` next to the file
   * store, the hash `<prefix>auth-cooldowns` on Redis, a `Ref` for the memory store. Its failures are its own (a
   * corrupt cooldown file fails only these operations, never the profiles'); see `AuthCooldowns`.
   */
  readonly cooldowns: AuthCooldowns.Store
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AuthProfileStore extends Context.Tag("effect-chutes/AuthProfileStore")<AuthProfileStore, Service>() {}

/**
 * A store shared by several hosts that the default wiring uses instead of the file: when it is set, `layerFile` (which
 * `ChutesProvider.layer` and the CLI use) provides this store. `effect-chutes/node` sets it from `CHUTES_REDIS_URL`
 * (`NodeRedis`, docs/deployments.md); unset (the default), the file is used.
 *
 * @since 0.4.0
 * @category tags
 */
export class SharedStore extends Context.Reference<SharedStore>()("effect-chutes/AuthProfileStore/SharedStore", {
  defaultValue: (): Option.Option<Service> => Option.none()
}) {}

// ---------------------------------------------------------------------------------------------------------------------
// File layer
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The store in a file, read and written through the `PrivateFiles` in context (`NodeChutes.layerPlatform` has the
 * hardened Node one; `PrivateFiles.layerFileSystem` is the portable one) and locked with the `FileLock` in context
 * (`NodeFileLock` on Node, below; `FileLock.layerMemory` excludes only this process).
 *
 * Reads check the state directory and the file (see `PrivateFiles`: not world-writable, not group-writable unless
 * `allowGroupWritable`, owned by the user or root, a regular file reached without a symbolic link, at most
 * `MAX_BYTES`); a refusal is `StoreError` `Unsafe` (or `Corrupt` for the size) and says how to fix it.
 *
 * With `NodeFileLock`, the lock is proper-lockfile's `<file>.lock` directory next to the store (`realpath: false`:
 * the store may not exist yet); it is the same lock OpenClaw takes, so both can share a file. A lock whose mtime is
 * older than `lockStale` was left by a dead process and is taken over; a live holder refreshes it every
 * `lockUpdate`, also while a slow `modify` callback runs. A lock directory dated in the future, or a plain file at the
 * lock path (never taken over by proper-lockfile), is removed once it stays unchanged for `lockStale`; what cannot be
 * removed fails with the command that removes it. Attempts are retried with jittered exponential backoff (≤ 500 ms apart) up to
 * `lockTimeout`, each attempt uninterruptible and the waits interruptible, and the lock is released in a finalizer,
 * on success, failure and interruption alike (but never when it was taken over: it then belongs to the new holder).
 *
 * Every write checks that the lock is still ours, re-reads the store, applies the changes (deltas) to what is
 * there, and checks right before the rename that the file is still what they were applied to (else it starts over,
 * at most 3 times). So a store edited meanwhile — by hand, or by a tool that does not take the lock — keeps that
 * edit (a warning says so), and one that became invalid (broken JSON, another `version`) is never written over:
 * `Corrupt`, nothing written. A lock lost while `f` ran (a blocked event loop, a double takeover) is taken again once
 * and the changes re-applied — so a rotated refresh token is not lost — else `Locked`.
 *
 * Under the lock, leftovers `auth-profiles.json.tmp-<pid>-<hex>` of killed writers are removed opportunistically:
 * at once when their pid is no longer running, otherwise when older than `staleTempAge` (1 minute). They never
 * affect reads.
 *
 * The cooldowns (`Service.cooldowns`) are kept in `auth-cooldowns.json` in the directory of `path`, read through the
 * same checks (at most `AuthCooldowns.MAX_BYTES`), written atomically (0600) under that file's own lock (with the same
 * lock options) and a per-path semaphore; a cooldown file that does not decode is never written over (`Corrupt`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFile = (
  path: string,
  options: Omit<FileBackend.FileOptions, "path"> = {}
): Effect.Effect<
  Service,
  never,
  FileSystem.FileSystem | Path.Path | PrivateFiles.PrivateFiles | FileLock.FileLock
> =>
  Effect.gen(function*() {
    const paths = yield* Path.Path
    const backend = yield* FileBackend.make(path, options)
    const cooldowns = yield* CooldownFile.make(paths.join(paths.dirname(backend.location), AuthCooldowns.FILE_NAME), {
      allowGroupWritable: options.allowGroupWritable === true,
      lock: FileBackend.lockOptions(options)
    })
    return fromBackend(backend, cooldowns)
  })

const noStateDir = (path: string): Service => {
  const detail = "no state directory (set CHUTES_STATE_DIR or HOME)"
  const error = new StoreError({ reason: "Io", path, detail })
  const cooldownError = new StoreError({ reason: "Io", path: AuthCooldowns.FILE_NAME, detail })
  return {
    location: path,
    load: Effect.fail(error),
    modify: () => Effect.fail(error),
    upsert: () => Effect.fail(error),
    remove: () => Effect.fail(error),
    cooldowns: {
      location: AuthCooldowns.FILE_NAME,
      load: Effect.fail(cooldownError),
      set: () => Effect.fail(cooldownError),
      clear: () => Effect.fail(cooldownError)
    }
  }
}

/**
 * The store at `options.path`, else `<settings.stateDir>/auth-profiles.json`. Without either, every operation fails
 * with `StoreError` `Io` "no state directory (set CHUTES_STATE_DIR or HOME)". See `makeFile` for the checks and the
 * locking; `allowGroupWritable` defaults to the settings'. Needs `PrivateFiles` and `FileLock` besides the platform's
 * `FileSystem` and `Path`: `NodeChutes.layerPlatform` provides all four on Node.
 *
 * When a `SharedStore` is set (`effect-chutes/node` sets it from `CHUTES_REDIS_URL`), that store is provided instead
 * and no file is used.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (
  options: FileBackend.FileOptions = {}
): Layer.Layer<
  AuthProfileStore,
  never,
  FileSystem.FileSystem | Path.Path | PrivateFiles.PrivateFiles | FileLock.FileLock | ChutesSettings
> =>
  Layer.effect(
    AuthProfileStore,
    Effect.gen(function*() {
      const shared = yield* SharedStore
      if (Option.isSome(shared)) return shared.value
      const settings = yield* ChutesSettings
      const paths = yield* Path.Path
      const path = options.path ??
        (settings.stateDir !== undefined ? paths.join(settings.stateDir, FILE_NAME) : undefined)
      return path === undefined ? noStateDir(FILE_NAME) : yield* makeFile(path, {
        ...options,
        allowGroupWritable: options.allowGroupWritable ?? settings.allowGroupWritable
      })
    })
  )

// ---------------------------------------------------------------------------------------------------------------------
// Memory layer
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A store in memory, for tests, with the file store's semantics: `initial` is the whole document (as parsed JSON),
 * kept as text so that unknown fields survive and a corrupt one fails every operation with `Corrupt` and stays as it
 * is. `modify` calls are serialised by a mutex. Without `initial` the store starts missing. Its cooldowns are in
 * memory too (`AuthCooldowns.makeMemory`), and start empty.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (initial?: unknown): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const location = "memory"
    const cooldowns = yield* AuthCooldowns.makeMemory()
    let text: Option.Option<string> | "unserialisable"
    try {
      // A plain copy first: a profile the store handed out shows its tokens as `<redacted>` to `JSON.stringify`.
      const json = initial === undefined ? undefined : JSON.stringify(structuredClone(initial))
      text = json === undefined ? Option.none() : Option.some(json)
    } catch {
      text = "unserialisable"
    }
    if (text === "unserialisable") {
      const error = corrupt(location, "the initial document is not JSON-serialisable")
      return fromBackend({ location, read: Effect.fail(error), exclusive: () => Effect.fail(error) }, cooldowns)
    }
    const state = yield* Ref.make(text)
    const mutex = yield* Effect.makeSemaphore(1)
    return fromBackend({
      location,
      read: Ref.get(state),
      exclusive: (body) =>
        mutex.withPermits(1)(
          body((_, changes) =>
            Effect.gen(function*() {
              const set = yield* fromText(location, yield* Ref.get(state))
              yield* Ref.set(state, Option.some(yield* encodeEither(applyChanges(set, changes), location)))
            })
          )
        )
    }, cooldowns)
  })

/**
 * The memory store as a layer; see `makeMemory`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (initial?: Record<string, unknown> | undefined): Layer.Layer<AuthProfileStore> =>
  Layer.effect(AuthProfileStore, makeMemory(initial))
