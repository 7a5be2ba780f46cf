/**
 * The auth profile store, `auth-profiles.json` (SPEC §6.1, §6.2): the Chutes OAuth and API-key profiles, in the
 * OpenClaw format, so pointing `CHUTES_STATE_DIR` at an OpenClaw install reads and writes its file.
 *
 * ```json
 * { "version": 1, "profiles": {
 *   "chutes:alice":   { "type": "oauth", "provider": "chutes", "access": "cak_…", "refresh": "crt_…",
 *                       "expires": 1760000000000, "email": "alice" },
 *   "chutes:default": { "type": "api_key", "provider": "chutes", "key": "cpk_…" } } }
 * ```
 *
 * Guarantees:
 * - Other providers' profiles, top-level keys this SDK does not know (`order`, `lastGood`, …), chutes profiles that
 *   do not decode, and unknown fields inside a chutes profile are written back as they were, in their order.
 * - A file that is not `{ "version": 1, "profiles": { … } }` is never written over: every operation fails with
 *   `StoreError` `Corrupt` naming the file (a newer `version` counts as corrupt, so a newer format is never clobbered).
 * - Writes are crash-safe (`writeAtomic`: temp file 0600 in the same dir, fsync, rename, fsync dir) and the state
 *   dir is created 0700. A reader sees the old or the new file, never a torn one, so `load` takes no lock.
 * - Read-modify-write (`modify`, `upsert`, `remove`) runs under a cross-process lock (proper-lockfile, compatible with
 *   OpenClaw's `auth-profiles.json.lock`) and, within one process, under a per-path semaphore.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { basename, dirname, join, resolve } from "node:path"
import { StoreError } from "./ChutesError.js"
import { ChutesSettings } from "./ChutesSettings.js"
import { ensurePrivateDir, TEMP_MARKER, writeAtomic } from "./internal/atomicFile.js"
import { excerpt } from "./internal/redact.js"

// ---------------------------------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A stored OAuth sign-in: access and refresh token, and when the access token expires (epoch milliseconds).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OAuthProfile = Schema.Struct({
  type: Schema.Literal("oauth"),
  provider: Schema.String,
  access: Schema.String,
  refresh: Schema.String,
  /** Epoch milliseconds. */
  // Finite: 1e309 parses as Infinity, which JSON would write back as null and lose the profile.
  expires: Schema.Finite,
  email: Schema.optional(Schema.String),
  clientId: Schema.optional(Schema.String),
  accountId: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type OAuthProfile = typeof OAuthProfile.Type

/**
 * A stored API key.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApiKeyProfile = Schema.Struct({
  type: Schema.Literal("api_key"),
  provider: Schema.String,
  key: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type ApiKeyProfile = typeof ApiKeyProfile.Type

/**
 * A profile this SDK understands.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChutesProfile = Schema.Union(OAuthProfile, ApiKeyProfile)

/**
 * @since 0.1.0
 * @category models
 */
export type ChutesProfile = OAuthProfile | ApiKeyProfile

/**
 * The provider name of this SDK's profiles.
 *
 * @since 0.1.0
 * @category constants
 */
export const PROVIDER = "chutes"

/**
 * The file name inside the state directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const FILE_NAME = "auth-profiles.json"

/**
 * The only store format version this SDK reads and writes.
 *
 * @since 0.1.0
 * @category constants
 */
export const VERSION = 1

// ---------------------------------------------------------------------------------------------------------------------
// The profile set (pure)
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The document as it was read, kept so that a write puts back everything this SDK does not understand. Treat it as
 * opaque; it holds secrets, like `profiles`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RawDocument {
  /** The top-level entries in file order; the value under `"profiles"` is ignored in favour of `entries`. */
  readonly top: ReadonlyArray<readonly [string, unknown]>
  /** Every profile entry in file order, verbatim. */
  readonly entries: ReadonlyArray<readonly [string, unknown]>
}

/**
 * The whole store as read: the typed chutes profiles, plus everything else kept verbatim for writing back.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfileSet {
  /** Profiles with `provider: "chutes"` and a known `type` that decode, in file order. */
  readonly profiles: ReadonlyMap<string, ChutesProfile>
  /** Ids of every other entry (other providers, unknown types, chutes profiles that do not decode), in file order. */
  readonly others: ReadonlyArray<string>
  /** Whether a store existed (a missing file reads as an empty set with `exists: false`). */
  readonly exists: boolean
  /** The document as read; see `RawDocument`. */
  readonly raw: RawDocument
}

/**
 * One change requested by a `modify` callback.
 *
 * - `Upsert`: the known fields of `profile` replace those of the stored entry; its unknown fields stay, in place.
 * - `Remove`: deletes the entry, only when it is a chutes entry (`provider: "chutes"`, decodable or not); other
 *   providers' profiles are never removed.
 *
 * @since 0.1.0
 * @category models
 */
export type ProfileChange =
  | { readonly _tag: "Upsert"; readonly id: string; readonly profile: ChutesProfile }
  | { readonly _tag: "Remove"; readonly id: string }

const decodeProfile = Schema.decodeUnknownOption(ChutesProfile)
const encodeProfile = Schema.encodeSync(ChutesProfile)

/** Every field name the typed view owns; an upsert drops the ones the new profile does not set (no stale secrets). */
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  "type",
  "provider",
  "access",
  "refresh",
  "expires",
  "email",
  "clientId",
  "accountId",
  "key"
])

const fromEntries = (
  top: ReadonlyArray<readonly [string, unknown]>,
  entries: ReadonlyArray<readonly [string, unknown]>,
  exists: boolean
): ProfileSet => {
  const profiles = new Map<string, ChutesProfile>()
  const others: Array<string> = []
  for (const [id, value] of entries) {
    const decoded = Predicate.isRecord(value) && value["provider"] === PROVIDER ? decodeProfile(value) : Option.none()
    if (Option.isSome(decoded)) profiles.set(id, decoded.value)
    else others.push(id)
  }
  return { profiles, others, exists, raw: { top, entries } }
}

/**
 * The empty store (no file yet).
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: ProfileSet = fromEntries([["version", VERSION], ["profiles", {}]], [], false)

const corrupt = (path: string, detail: string) => new StoreError({ reason: "Corrupt", path, detail })

/**
 * Checks a parsed document and builds the profile set. `path` only names the store in errors.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromDocument = (document: unknown, path: string): Either.Either<ProfileSet, StoreError> => {
  if (!Predicate.isRecord(document)) return Either.left(corrupt(path, "the top level is not a JSON object"))
  const version = document["version"]
  // The version is checked first so that a newer format is reported as such whatever its shape; only a number is
  // echoed, never a string that could be anything.
  if (version === undefined) return Either.left(corrupt(path, `no "version" field`))
  if (typeof version !== "number") return Either.left(corrupt(path, `"version" is not a number`))
  if (version !== VERSION) return Either.left(corrupt(path, `unsupported version ${version}`))
  const profiles = document["profiles"]
  if (!Predicate.isRecord(profiles)) return Either.left(corrupt(path, `"profiles" is missing or not an object`))
  return Either.right(fromEntries(Object.entries(document), Object.entries(profiles), true))
}

/** Where a JSON syntax error is, as line and column, without quoting the text (it may hold secrets). */
const syntaxPosition = (text: string, error: unknown): string => {
  const match = error instanceof Error ? /position (\d+)/.exec(error.message) : null
  if (match === null || match[1] === undefined) return ""
  const offset = Math.min(Number(match[1]), text.length)
  const before = text.slice(0, offset)
  const line = before.split("\n").length
  const column = offset - before.lastIndexOf("\n")
  return ` at line ${line}, column ${column}`
}

/**
 * Parses the text of a store. `path` only names the store in errors. Error details never quote the text.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (text: string, path: string): Either.Either<ProfileSet, StoreError> => {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text
  if (body.trim().length === 0) return Either.left(corrupt(path, "the file is empty"))
  let document: unknown
  try {
    document = JSON.parse(body)
  } catch (error) {
    return Either.left(corrupt(path, `not valid JSON${syntaxPosition(body, error)}`))
  }
  return fromDocument(document, path)
}

/**
 * The whole document of a set, unknown keys and other providers included.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toDocument = (set: ProfileSet): Record<string, unknown> => {
  // Object.fromEntries defines own properties, so an id such as "__proto__" stays a plain key.
  const profiles = Object.fromEntries(set.raw.entries)
  const top = set.raw.top.some(([key]) => key === "profiles")
    ? set.raw.top.map(([key, value]) => [key, key === "profiles" ? profiles : value] as const)
    : [...set.raw.top, ["profiles", profiles] as const]
  return Object.fromEntries(top)
}

/**
 * The text written to disk: 2-space indented JSON with a final newline.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (set: ProfileSet): string => `${JSON.stringify(toDocument(set), null, 2)}\n`

/** Known fields from `profile` over `previous`: unknown fields stay in place, absent known fields go. */
const merge = (previous: unknown, profile: ChutesProfile): Record<string, unknown> => {
  const fresh = new Map(Object.entries(encodeProfile(profile)).filter(([, value]) => value !== undefined))
  if (!Predicate.isRecord(previous)) return Object.fromEntries(fresh)
  const out: Array<readonly [string, unknown]> = []
  for (const [key, value] of Object.entries(previous)) {
    if (fresh.has(key)) {
      out.push([key, fresh.get(key)])
      fresh.delete(key)
    } else if (!KNOWN_FIELDS.has(key)) {
      out.push([key, value])
    }
  }
  return Object.fromEntries([...out, ...fresh])
}

/**
 * Whether `id` is a chutes entry of the set (typed, or `provider: "chutes"` but not decodable) — what `Remove` may
 * delete.
 *
 * @since 0.1.0
 * @category utils
 */
export const isChutesEntry = (set: ProfileSet, id: string): boolean =>
  set.raw.entries.some(([key, value]) => key === id && Predicate.isRecord(value) && value["provider"] === PROVIDER)

/**
 * Applies changes in order. New ids are appended; existing ones keep their position.
 *
 * @since 0.1.0
 * @category combinators
 */
export const applyChanges = (set: ProfileSet, changes: ReadonlyArray<ProfileChange>): ProfileSet => {
  let entries: ReadonlyArray<readonly [string, unknown]> = set.raw.entries
  for (const change of changes) {
    const index = entries.findIndex(([key]) => key === change.id)
    const current = index >= 0 ? entries[index] : undefined
    switch (change._tag) {
      case "Upsert": {
        const entry = [change.id, merge(current?.[1], change.profile)] as const
        entries = index >= 0 ? entries.map((e, i) => (i === index ? entry : e)) : [...entries, entry]
        break
      }
      case "Remove": {
        if (current !== undefined && Predicate.isRecord(current[1]) && current[1]["provider"] === PROVIDER) {
          entries = entries.filter((_, i) => i !== index)
        }
        break
      }
    }
  }
  return fromEntries(set.raw.top, entries, set.exists)
}

/**
 * The profile id of a sign-in (SPEC §6.2): OAuth `chutes:<username>` with the name reduced to `[A-Za-z0-9._-]` (at
 * most 64 characters; a name with nothing left gives `chutes:default`), API key `chutes:default`.
 *
 * @since 0.1.0
 * @category utils
 */
export const profileIdFor = (
  options: { readonly type: "oauth"; readonly username?: string | undefined } | { readonly type: "api_key" }
): string => {
  const safe = (options.type === "oauth" ? options.username ?? "" : "")
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[.-]+|[.-]+$/g, "")
    .slice(0, 64)
  return `${PROVIDER}:${safe.length > 0 && /[A-Za-z0-9]/.test(safe) ? safe : "default"}`
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
  /** The file path, or `"memory"`. */
  readonly location: string
  /** Reads the store without a lock (writes are atomic renames); a missing file is the empty set. */
  readonly load: Effect.Effect<ProfileSet, StoreError>
  /**
   * Read-modify-write under the cross-process lock: takes the lock, re-reads the store, runs `f`, and writes when `f`
   * returns changes. Nothing is written when `f` fails or is interrupted, or when the store is corrupt (then `f` is
   * not run). `f` may take its time (an HTTP refresh, say): the lock is kept fresh while it runs, and other
   * `modify` calls wait, in this process and in others.
   */
  readonly modify: <A, E, R>(
    f: (current: ProfileSet) => Effect.Effect<readonly [A, ReadonlyArray<ProfileChange>], E, R>
  ) => Effect.Effect<A, E | StoreError, R>
  /** Stores a profile under `id`, keeping the unknown fields the stored entry had. */
  readonly upsert: (id: string, profile: ChutesProfile) => Effect.Effect<void, StoreError>
  /** Removes the chutes profile `id`; `false` when there was none (other providers' profiles are never removed). */
  readonly remove: (id: string) => Effect.Effect<boolean, StoreError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AuthProfileStore extends Context.Tag("effect-chutes/AuthProfileStore")<AuthProfileStore, Service>() {}

/** Writes `changes` made against `current`. */
type Commit = (current: ProfileSet, changes: ReadonlyArray<ProfileChange>) => Effect.Effect<void, StoreError>

/** What a backend provides: reading the text, and an exclusive section that hands out the committer. */
interface Backend {
  readonly location: string
  /** `None` when there is no store yet. */
  readonly read: Effect.Effect<Option.Option<string>, StoreError>
  readonly exclusive: <A, E, R>(body: (commit: Commit) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
}

const loadFrom = (location: string, read: Backend["read"]): Effect.Effect<ProfileSet, StoreError> =>
  read.pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeed(empty),
      onSome: (text) => decode(text, location)
    }))
  )

const fromBackend = (backend: Backend): Service => {
  const load = loadFrom(backend.location, backend.read)
  const modify = <A, E, R>(
    f: (current: ProfileSet) => Effect.Effect<readonly [A, ReadonlyArray<ProfileChange>], E, R>
  ): Effect.Effect<A, E | StoreError, R> =>
    backend.exclusive((commit) =>
      Effect.gen(function*() {
        const current = yield* load
        const [result, changes] = yield* f(current)
        if (changes.length > 0) yield* commit(current, changes)
        return result
      })
    ).pipe(Effect.withSpan("AuthProfileStore.modify", { attributes: { location: backend.location } }))
  return {
    location: backend.location,
    load: load.pipe(Effect.withSpan("AuthProfileStore.load", { attributes: { location: backend.location } })),
    modify,
    upsert: Effect.fn("AuthProfileStore.upsert")(function*(id: string, profile: ChutesProfile) {
      yield* modify(() => Effect.succeed([undefined, [{ _tag: "Upsert", id, profile }]] as const))
    }),
    remove: Effect.fn("AuthProfileStore.remove")(function*(id: string) {
      return yield* modify((current) => {
        const found = isChutesEntry(current, id)
        return Effect.succeed([found, found ? [{ _tag: "Remove", id } as const] : []] as const)
      })
    })
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// File layer
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Options of the file store. The lock options exist mostly for tests and crash drills; the defaults suit real use.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileOptions {
  /** The store file; default `<stateDir>/auth-profiles.json`. */
  readonly path?: string | undefined
  /**
   * A lock whose mtime is older than this is taken over (its holder died). Default 10 s; proper-lockfile enforces
   * at least 2 s. A live holder refreshes the mtime every `lockUpdate`.
   */
  readonly lockStale?: Duration.DurationInput | undefined
  /** How often a holder refreshes its lock; default `lockStale / 2` (at least 1 s, at most `lockStale / 2`). */
  readonly lockUpdate?: Duration.DurationInput | undefined
  /**
   * How long `modify` waits for the lock before failing with `Locked`. Default: the larger of `lockStale + 5 s` (a lock
   * left by a killed process is always waited out and taken over) and 40 s (a holder refreshing an OAuth token may
   * keep the lock for the IdP's 30 s deadline).
   */
  readonly lockTimeout?: Duration.DurationInput | undefined
  /** Leftover temp files of other writers older than this are removed under the lock; default 1 minute. */
  readonly staleTempAge?: Duration.DurationInput | undefined
}

// proper-lockfile keeps one lock per path and process; two fibers locking the same path would step on each other, so
// every `modify` on a path in this process queues here first, whichever service instance it comes from.
const semaphores = new Map<string, Effect.Semaphore>()
const semaphoreFor = (path: string): Effect.Semaphore => {
  const existing = semaphores.get(path)
  if (existing !== undefined) return existing
  const created = Effect.unsafeMakeSemaphore(1)
  semaphores.set(path, created)
  return created
}

const errorCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

const fromPlatform = (path: string, action: string) => (error: PlatformError): StoreError => {
  const code = error._tag === "SystemError" ? errorCode(error.cause) : undefined
  const permission = (error._tag === "SystemError" && error.reason === "PermissionDenied") || code === "EPERM"
  const description = error._tag === "SystemError" && error.description !== undefined
    ? `: ${excerpt(error.description, 160)}`
    : ""
  return new StoreError({
    reason: permission ? "Permission" : "Io",
    path,
    detail: `${action} failed (${error._tag === "SystemError" ? error.reason : "BadArgument"})${description}`
  })
}

/** A lock attempt that failed, with the errno-style code of proper-lockfile (`ELOCKED`, `EACCES`, …). */
class LockAttemptFailed {
  readonly _tag = "LockAttemptFailed"
  constructor(readonly code: string | undefined, readonly message: string) {}
}

interface HeldLock {
  readonly release: () => Promise<void>
  /** Set by proper-lockfile when it could not keep the lock fresh, or found it taken over. */
  readonly state: { compromised: boolean }
  /** The lock directory right after it was taken (`None` if it could not be read). */
  readonly identity: Option.Option<LockIdentity>
}

/** The identity of the lock directory right after taking it, to notice a takeover before writing. */
interface LockIdentity {
  readonly ino: Option.Option<number>
  readonly birthtime: Option.Option<number>
}

const sameIdentity = (a: LockIdentity, b: LockIdentity): boolean =>
  Option.getEquivalence<number>((x, y) => x === y)(a.ino, b.ino) &&
  Option.getEquivalence<number>((x, y) => x === y)(a.birthtime, b.birthtime)

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return errorCode(error) === "EPERM"
  }
}

/**
 * The store in a file, read and written through `FileSystem` and locked with proper-lockfile.
 *
 * The lock is proper-lockfile's `<file>.lock` directory next to the store (`realpath: false`, because the store may
 * not exist yet); it is the same lock OpenClaw takes, so both can share a file. A lock whose mtime is older than
 * `lockStale` was left by a dead process and is taken over; a live holder refreshes it every `lockUpdate`, also
 * while a slow `modify` callback runs. Attempts are retried with jittered exponential backoff (≤ 500 ms apart) up to
 * `lockTimeout`, each attempt uninterruptible and the waits interruptible, and the lock is released in a finalizer,
 * on success, failure and interruption alike (but never when it was taken over: it then belongs to the new holder).
 *
 * Just before writing, the lock is checked to still be ours (not reported compromised, same directory inode and birth
 * time). A live holder keeps its lock fresh even while `f` awaits a slow HTTP call, so losing it takes a blocked event
 * loop or the rare double takeover of a stale lock; then the changes (which are deltas) are re-applied to the latest
 * store under a fresh lock rather than dropped — so a rotated refresh token is not lost — and if that lock is lost
 * too, `modify` fails with `Locked` and nothing is written.
 *
 * Under the lock, leftovers `auth-profiles.json.tmp-<pid>-<hex>` of killed writers are removed opportunistically:
 * at once when their pid is no longer running, otherwise when older than `staleTempAge` (1 minute). They never
 * affect reads.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFile = (
  path: string,
  options: Omit<FileOptions, "path"> = {}
): Effect.Effect<Service, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = resolve(path)
    const dir = dirname(file)
    const lockDir = `${file}.lock`
    const stale = Math.max(Duration.toMillis(Duration.decode(options.lockStale ?? Duration.seconds(10))), 2000)
    const update = options.lockUpdate === undefined ? undefined : Duration.toMillis(Duration.decode(options.lockUpdate))
    // A holder may keep the lock through an OAuth refresh (30 s IdP deadline): wait that out, and a stale lock too.
    const lockTimeout = options.lockTimeout === undefined
      ? Duration.millis(Math.max(stale + 5000, 40_000))
      : Duration.decode(options.lockTimeout)
    const staleTempAge = Duration.toMillis(Duration.decode(options.staleTempAge ?? Duration.minutes(1)))
    const semaphore = semaphoreFor(file)
    const provideFs = Effect.provideService(FileSystem.FileSystem, fs)

    const read: Backend["read"] = fs.readFileString(file).pipe(
      Effect.map(Option.some),
      Effect.catchIf(
        (error) => error._tag === "SystemError" && error.reason === "NotFound",
        () => Effect.succeedNone
      ),
      Effect.mapError(fromPlatform(file, "reading"))
    )

    const attempt = Effect.suspend(() => {
      const state = { compromised: false }
      return Effect.tryPromise({
        // Loaded on first use: importing proper-lockfile patches `fs` (graceful-fs) and installs a signal handler,
        // which a bare `import "effect-chutes"` must not do.
        try: () =>
          import("proper-lockfile").then((Lockfile) => Lockfile.lock(file, {
            realpath: false,
            retries: 0,
            stale,
            ...(update !== undefined ? { update } : {}),
            // The default throws from a timer, which would crash the process; a lost lock is checked before writing.
            onCompromised: () => {
              state.compromised = true
            }
          })),
        catch: (cause) =>
          new LockAttemptFailed(errorCode(cause), cause instanceof Error ? excerpt(cause.message, 160) : "unknown")
      }).pipe(Effect.map((release) => ({ release, state })))
    })

    const lockIdentity = fs.stat(lockDir).pipe(
      Effect.map((info): LockIdentity => ({ ino: info.ino, birthtime: Option.map(info.birthtime, (d) => d.getTime()) }))
    )

    /** Whether the lock is still ours: not reported compromised, and the same directory as when it was taken. */
    const stillHeld = (held: HeldLock): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        if (held.state.compromised) return false
        const now = yield* Effect.option(lockIdentity)
        if (Option.isNone(now)) return false
        return Option.isNone(held.identity) || sameIdentity(held.identity.value, now.value)
      })

    const acquire: Effect.Effect<HeldLock, StoreError, Scope.Scope> = Effect
      .acquireRelease(
        attempt.pipe(
          Effect.flatMap((held) => Effect.map(Effect.option(lockIdentity), (identity) => ({ ...held, identity })))
        ),
        // proper-lockfile's release removes `<file>.lock` whoever made it; a lock that was taken over belongs to its
        // new holder and is left alone (proper-lockfile notices the takeover on its next refresh and forgets ours).
        (held) =>
          Effect.flatMap(
            stillHeld(held),
            (ours) => (ours ? Effect.tryPromise(() => held.release()).pipe(Effect.ignore) : Effect.void)
          )
      ).pipe(
        Effect.retry({
          schedule: Schedule.exponential(Duration.millis(20), 1.5).pipe(
            Schedule.either(Schedule.spaced(Duration.millis(500))),
            Schedule.jittered,
            Schedule.upTo(lockTimeout)
          ),
          // ENOENT: the lock directory vanished while we took it (another process took the same stale lock over at the
          // same moment and removed it). The store's directory exists by then, so it is a race: try again.
          while: (error) => error.code === "ELOCKED" || error.code === "ENOENT"
        }),
        Effect.mapError((error) =>
          new StoreError({
            reason: error.code === "ELOCKED" || error.code === "ENOENT"
              ? "Locked"
              : error.code === "EACCES" || error.code === "EPERM"
              ? "Permission"
              : "Io",
            path: file,
            detail: error.code === "ELOCKED" || error.code === "ENOENT"
              ? `${lockDir} is held by another process; gave up after ${Duration.format(lockTimeout)}`
              : `taking the lock ${lockDir} failed: ${error.message}`
          })
        )
      )

    const removeLeftovers = Effect.gen(function*() {
      const prefix = `${basename(file)}${TEMP_MARKER}`
      const now = yield* Clock.currentTimeMillis
      const names = yield* fs.readDirectory(dir)
      for (const name of names) {
        if (!name.startsWith(prefix)) continue
        const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1] ?? Number.NaN)
        const temp = join(dir, name)
        yield* Effect.gen(function*() {
          const info = yield* fs.stat(temp)
          const age = now - Option.getOrElse(Option.map(info.mtime, (d) => d.getTime()), () => now)
          const dead = Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)
          if (dead || age > staleTempAge) yield* fs.remove(temp)
        }).pipe(Effect.ignore)
      }
    }).pipe(Effect.ignore)

    const writeText = (text: string): Effect.Effect<void, StoreError> =>
      writeAtomic(file, text).pipe(provideFs, Effect.mapError(fromPlatform(file, "writing")))

    const lost = new StoreError({
      reason: "Locked",
      path: file,
      detail: `the lock ${lockDir} was lost twice (held past its stale time or taken over); nothing was written`
    })

    const exclusive: Backend["exclusive"] = (body) =>
      semaphore.withPermits(1)(Effect.scoped(Effect.gen(function*() {
        yield* ensurePrivateDir(dir).pipe(
          provideFs,
          Effect.mapError(fromPlatform(file, "creating the state directory"))
        )
        const held = yield* acquire
        yield* removeLeftovers
        const commit: Commit = (current, changes) =>
          Effect.gen(function*() {
            if (yield* stillHeld(held)) return yield* writeText(encode(applyChanges(current, changes)))
            // Another process may have written since `current` was read, so writing it back would undo its change;
            // dropping ours could lose a rotated refresh token. The changes are deltas: re-apply them to the latest
            // store under a fresh lock.
            yield* Effect.logWarning(`auth profile store: lost the lock ${lockDir} while modifying; re-applying`)
            yield* Effect.scoped(Effect.gen(function*() {
              const again = yield* acquire
              const latest = yield* loadFrom(file, read)
              if (!(yield* stillHeld(again))) return yield* lost
              yield* writeText(encode(applyChanges(latest, changes)))
            }))
          })
        return yield* body(commit)
      })))

    return fromBackend({ location: file, read, exclusive })
  })

const noStateDir = (path: string): Service => {
  const error = new StoreError({ reason: "Io", path, detail: "no state directory (set CHUTES_STATE_DIR or HOME)" })
  return {
    location: path,
    load: Effect.fail(error),
    modify: () => Effect.fail(error),
    upsert: () => Effect.fail(error),
    remove: () => Effect.fail(error)
  }
}

/**
 * The store at `options.path`, else `<settings.stateDir>/auth-profiles.json`. Without either, every operation fails
 * with `StoreError` `Io` "no state directory (set CHUTES_STATE_DIR or HOME)". See `makeFile` for the locking.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (
  options: FileOptions = {}
): Layer.Layer<AuthProfileStore, never, FileSystem.FileSystem | ChutesSettings> =>
  Layer.effect(
    AuthProfileStore,
    Effect.gen(function*() {
      const settings = yield* ChutesSettings
      const path = options.path ?? (settings.stateDir !== undefined ? join(settings.stateDir, FILE_NAME) : undefined)
      return path === undefined ? noStateDir(FILE_NAME) : yield* makeFile(path, options)
    })
  )

// ---------------------------------------------------------------------------------------------------------------------
// Memory layer
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A store in memory, for tests, with the file store's semantics: `initial` is the whole document (as parsed JSON),
 * kept as text so that unknown fields survive and a corrupt one fails every operation with `Corrupt` and stays as it
 * is. `modify` calls are serialised by a mutex. Without `initial` the store starts missing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (initial?: unknown): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const location = "memory"
    let text: Option.Option<string> | "unserialisable"
    try {
      const json = initial === undefined ? undefined : JSON.stringify(initial)
      text = json === undefined ? Option.none() : Option.some(json)
    } catch {
      text = "unserialisable"
    }
    if (text === "unserialisable") {
      const error = corrupt(location, "the initial document is not JSON-serialisable")
      return fromBackend({ location, read: Effect.fail(error), exclusive: () => Effect.fail(error) })
    }
    const state = yield* Ref.make(text)
    const mutex = yield* Effect.makeSemaphore(1)
    return fromBackend({
      location,
      read: Ref.get(state),
      exclusive: (body) =>
        mutex.withPermits(1)(
          body((current, changes) => Ref.set(state, Option.some(encode(applyChanges(current, changes)))))
        )
    })
  })

/**
 * The memory store as a layer; see `makeMemory`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (initial?: Record<string, unknown> | undefined): Layer.Layer<AuthProfileStore> =>
  Layer.effect(AuthProfileStore, makeMemory(initial))
