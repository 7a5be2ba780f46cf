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
 * - Read-modify-write (`modify`, `upsert`, `remove`) runs under a cross-process lock (proper-lockfile, compatible with
 *   OpenClaw's `auth-profiles.json.lock`) and, within one process, under a per-path semaphore.
 * - An upsert that replaces a profile of another kind (an API key by an OAuth sign-in, …) logs a warning saying so.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { StoreError } from "./ChutesError.js"
import type * as ChutesOAuth from "./ChutesOAuth.js"
import { ChutesSettings } from "./ChutesSettings.js"
import * as FileLock from "./internal/fileLock.js"
import { depthExceeds } from "./internal/jsonDepth.js"
import { excerpt } from "./internal/redact.js"
import * as PrivateFiles from "./PrivateFiles.js"

// ---------------------------------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A stored OAuth sign-in: access and refresh token, when the access token expires (epoch milliseconds), and the OAuth
 * app that issued them — its client id and client secret, a pair used together at refresh (the IdP checks the secret
 * on every refresh, and a refresh token is bound to its client).
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
  /**
   * A plain string in the file (mode 0600, beside the refresh token, which is as sensitive), `Redacted` once read, so
   * a loaded profile can be logged or inspected without showing it. Absent in older and OpenClaw profiles.
   */
  clientSecret: Schema.optional(Schema.Redacted(Schema.String)),
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
  "clientSecret",
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
 * The deepest nesting a store may have. Profiles are 3 levels deep; another tool's entry nested thousands of levels
 * would make the encoder overflow the stack on the next write — after a refresh has already rotated the token — so
 * such a store is `Corrupt` on load, before anything is sent anywhere.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_DEPTH = 100

/**
 * Checks a parsed document and builds the profile set. `path` only names the store in errors.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromDocument = (document: unknown, path: string): Either.Either<ProfileSet, StoreError> => {
  if (!Predicate.isRecord(document)) return Either.left(corrupt(path, "the top level is not a JSON object"))
  if (depthExceeds(document, MAX_DEPTH)) return Either.left(corrupt(path, `nested deeper than ${MAX_DEPTH} levels`))
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
 * Parses the text of a store. `path` only names the store in errors. Error details never quote the text. A text over
 * `MAX_BYTES` characters or nested deeper than `MAX_DEPTH` is `Corrupt`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (text: string, path: string): Either.Either<ProfileSet, StoreError> => {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text
  if (body.length > MAX_BYTES) {
    return Either.left(corrupt(path, `larger than ${PrivateFiles.formatBytes(MAX_BYTES)}`))
  }
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
 * The profile id of a sign-in: OAuth `chutes:<username>` with the name reduced to `[A-Za-z0-9._-]` (at most 64
 * characters; no name, or nothing left of it, gives `chutes:oauth`), API key `chutes:default`.
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
  return safe.length > 0 && /[A-Za-z0-9]/.test(safe) ? `${PROVIDER}:${safe}` : OAUTH_FALLBACK_PROFILE_ID
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
    profile: {
      type: "oauth",
      provider: PROVIDER,
      access: Redacted.value(tokens.access),
      refresh: Redacted.value(tokens.refresh),
      expires: tokens.expires,
      ...(userInfo?.username !== undefined ? { email: userInfo.username } : {}),
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      ...(userInfo?.sub !== undefined ? { accountId: userInfo.sub } : {})
    }
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
  /** The file path, or `"memory"`. */
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
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AuthProfileStore extends Context.Tag("effect-chutes/AuthProfileStore")<AuthProfileStore, Service>() {}

/**
 * Writes `changes` to the store. `base` is the text the caller's `current` was read from: the store is re-read under
 * the lock right before the write, and the changes (which are deltas) are applied to what is there then.
 */
type Commit = (base: Option.Option<string>, changes: ReadonlyArray<ProfileChange>) => Effect.Effect<void, StoreError>

/** What a backend provides: reading the text, and an exclusive section that hands out the committer. */
interface Backend {
  readonly location: string
  /** `None` when there is no store yet. */
  readonly read: Effect.Effect<Option.Option<string>, StoreError>
  readonly exclusive: <A, E, R>(body: (commit: Commit) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
}

const fromText = (location: string, text: Option.Option<string>): Effect.Effect<ProfileSet, StoreError> =>
  Option.match(text, { onNone: () => Effect.succeed(empty), onSome: (body) => decode(body, location) })

/** A kind of entry in words, for the warning when an upsert replaces an entry of another kind. */
const kindOf = (entry: unknown): string => {
  if (!Predicate.isRecord(entry)) return "an entry that is not an object"
  const type = entry["type"]
  if (entry["provider"] !== PROVIDER) {
    // The name comes from the file: capped, its control and bidi characters escaped.
    const provider = entry["provider"]
    return `a profile of provider ${typeof provider === "string" ? excerpt(JSON.stringify(provider), 40) : "?"}`
  }
  return type === "oauth" ? "an OAuth sign-in" : type === "api_key" ? "an API key" : "a chutes profile of unknown type"
}

/**
 * One warning per upsert that replaces an entry of another kind (an API key by an OAuth sign-in, …): never silently.
 *
 * @since 0.2.0
 * @category utils
 */
export const replacements = (set: ProfileSet, changes: ReadonlyArray<ProfileChange>): ReadonlyArray<string> =>
  changes.flatMap((change) => {
    if (change._tag !== "Upsert") return []
    const previous = set.raw.entries.find(([key]) => key === change.id)
    if (previous === undefined) return []
    const before = kindOf(previous[1])
    const after = kindOf(encodeProfile(change.profile))
    return before === after
      ? []
      : [`auth profile store: profile ${JSON.stringify(change.id)} held ${before}; it is replaced by ${after}`]
  })

const fromBackend = (backend: Backend): Service => {
  const load = Effect.flatMap(backend.read, (text) => fromText(backend.location, text))
  const modify = <A, E, R>(
    f: (current: ProfileSet) => Effect.Effect<readonly [A, ReadonlyArray<ProfileChange>], E, R>
  ): Effect.Effect<A, E | StoreError, R> =>
    backend.exclusive((commit) =>
      Effect.gen(function*() {
        const base = yield* backend.read
        const current = yield* fromText(backend.location, base)
        const [result, changes] = yield* f(current)
        if (changes.length > 0) {
          for (const warning of replacements(current, changes)) yield* Effect.logWarning(warning)
          yield* commit(base, changes)
        }
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

/**
 * The text of `set`, or `Corrupt` when it cannot be encoded: a write fails with a `StoreError`, never a defect.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeEither = (set: ProfileSet, path: string): Either.Either<string, StoreError> =>
  Either.try({
    try: () => encode(set),
    catch: (error) =>
      corrupt(path, `it could not be encoded (${error instanceof Error ? excerpt(error.message, 80) : "unknown"})`)
  })

// ---------------------------------------------------------------------------------------------------------------------
// File layer
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The largest store read: a few profiles take a few KiB; a larger file is `Corrupt` (a file grown without bound, or
 * `/dev/zero` behind the name, must not exhaust memory).
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_BYTES = 4 * 1024 * 1024

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
   * at least 2 s. A live holder refreshes the mtime every `lockUpdate`. A lock dated in the future, or a file at the
   * lock path, is taken over once it stays unchanged this long.
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
  /**
   * Accept a group-writable state directory and store (a Kubernetes `fsGroup` volume). Default: false; `layerFile`
   * takes it from `ChutesSettings.allowGroupWritable` (`CHUTES_ALLOW_GROUP_WRITABLE`).
   */
  readonly allowGroupWritable?: boolean | undefined
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

/** A refusal or failure of the file access, as the store's error (named after the store; the detail names what). */
const fromFiles = (path: string) => (error: PrivateFiles.PrivateFileError): StoreError =>
  new StoreError({ reason: error.reason === "TooLarge" ? "Corrupt" : error.reason, path, detail: error.detail })

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return FileLock.errorCode(error) === "EPERM"
  }
}

/** Why a write was not renamed into place: the lock is not ours any more, or the store changed under it. */
class NotWritten {
  readonly _tag = "NotWritten"
  constructor(readonly why: "lost" | "changed") {}
}

/** How often a write starts over because the store changed under the lock (edited by hand meanwhile). */
const MAX_WRITE_ATTEMPTS = 3

/**
 * The store in a file, read and written through `PrivateFiles` (the one in context — `NodeChutes.layerPlatform` has
 * the hardened Node one — else the portable one over `FileSystem`) and locked with proper-lockfile.
 *
 * Reads check the state directory and the file (see `PrivateFiles`: not world-writable, not group-writable unless
 * `allowGroupWritable`, owned by the user or root, a regular file reached without a symbolic link, at most
 * `MAX_BYTES`); a refusal is `StoreError` `Unsafe` (or `Corrupt` for the size) and says how to fix it.
 *
 * The lock is proper-lockfile's `<file>.lock` directory next to the store (`realpath: false`, because the store may
 * not exist yet); it is the same lock OpenClaw takes, so both can share a file. A lock whose mtime is older than
 * `lockStale` was left by a dead process and is taken over; a live holder refreshes it every `lockUpdate`, also
 * while a slow `modify` callback runs. A lock directory dated in the future, or a plain file at the lock path (never
 * taken over by proper-lockfile), is removed once it stays unchanged for `lockStale`; what cannot be removed fails
 * with the command that removes it. Attempts are retried with jittered exponential backoff (≤ 500 ms apart) up to
 * `lockTimeout`, each attempt uninterruptible and the waits interruptible, and the lock is released in a finalizer,
 * on success, failure and interruption alike (but never when it was taken over: it then belongs to the new holder).
 *
 * Every write checks that the lock is still ours, re-reads the store, applies the changes (deltas) to what is
 * there, and checks right before the rename that the file is still what they were applied to (else it starts over,
 * at most 3 times). So a store edited meanwhile — by hand, or by a tool that does not take the lock — keeps that edit
 * (a warning says so), and one that became invalid (broken JSON, another `version`) is never written over: `Corrupt`,
 * nothing written. A lock lost while `f` ran (a blocked event loop, a double takeover)
 * is taken again once and the changes re-applied — so a rotated refresh token is not lost — else `Locked`.
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
): Effect.Effect<Service, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const paths = yield* Path.Path
    const files = yield* PrivateFiles.orFileSystem
    const file = paths.resolve(path)
    const dir = paths.dirname(file)
    const policy: PrivateFiles.Policy = { allowGroupWritable: options.allowGroupWritable === true }
    const stale = Math.max(Duration.toMillis(Duration.decode(options.lockStale ?? Duration.seconds(10))), 2000)
    const update = options.lockUpdate === undefined ? undefined : Duration.toMillis(Duration.decode(options.lockUpdate))
    // A holder may keep the lock through an OAuth refresh (30 s IdP deadline): wait that out, and a stale lock too.
    const timeout = options.lockTimeout === undefined
      ? Duration.millis(Math.max(stale + 5000, 40_000))
      : Duration.decode(options.lockTimeout)
    const staleTempAge = Duration.toMillis(Duration.decode(options.staleTempAge ?? Duration.minutes(1)))
    const semaphore = semaphoreFor(file)
    const lock = FileLock.make(file, { stale, update, timeout })

    const read: Backend["read"] = files.readFile(file, { ...policy, maxBytes: MAX_BYTES }).pipe(
      Effect.mapError(fromFiles(file))
    )

    const removeLeftovers = Effect.gen(function*() {
      const prefix = `${paths.basename(file)}${PrivateFiles.TEMP_MARKER}`
      const now = yield* Clock.currentTimeMillis
      const names = yield* fs.readDirectory(dir)
      for (const name of names) {
        if (!name.startsWith(prefix)) continue
        const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1] ?? Number.NaN)
        const temp = paths.join(dir, name)
        yield* Effect.gen(function*() {
          const info = yield* fs.stat(temp)
          const age = now - Option.getOrElse(Option.map(info.mtime, (d) => d.getTime()), () => now)
          const dead = Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)
          if (dead || age > staleTempAge) yield* fs.remove(temp)
        }).pipe(Effect.ignore)
      }
    }).pipe(Effect.ignore)

    /** One write of `changes` over the store as it is now, unless the lock is lost or the store changes meanwhile. */
    const writeOnce = (held: FileLock.HeldLock, changes: ReadonlyArray<ProfileChange>) =>
      Effect.gen(function*() {
        if (!(yield* lock.stillHeld(held))) return { outcome: "lost" as const, latest: Option.none<string>() }
        const latest = yield* read
        const set = yield* fromText(file, latest).pipe(
          Effect.mapError((error) =>
            corrupt(
              file,
              `it changed while it was being updated and is no longer valid (${error.detail ?? "?"}); nothing was ` +
                `written`
            )
          )
        )
        const text = yield* encodeEither(applyChanges(set, changes), file)
        // The last moment before the rename: the file is still what the changes were applied to (a writer that does
        // not take the lock, or took a lock it thought stale, shows here), and the lock was not reported lost.
        const recheck = Effect.gen(function*() {
          if (held.state.compromised) return yield* Effect.fail(new NotWritten("lost"))
          const now = yield* read
          if (!Option.getEquivalence<string>((a, b) => a === b)(now, latest)) {
            return yield* Effect.fail(new NotWritten("changed"))
          }
        })
        const outcome = yield* files.writeFileAtomic(file, text, { ...policy, beforeRename: recheck }).pipe(
          Effect.as("written" as const),
          Effect.catchIf((error) => error instanceof NotWritten, (error) => Effect.succeed((error as NotWritten).why)),
          Effect.mapError((error) =>
            error instanceof StoreError ? error : fromFiles(file)(error as PrivateFiles.PrivateFileError)
          )
        )
        return { outcome, latest }
      })

    const lost = new StoreError({
      reason: "Locked",
      path: file,
      detail: `the lock ${lock.path} was lost twice (held past its stale time or taken over); nothing was written`
    })

    const commitUnder = (
      held: FileLock.HeldLock,
      base: Option.Option<string>,
      changes: ReadonlyArray<ProfileChange>,
      retaken: boolean
    ): Effect.Effect<void, StoreError, Scope.Scope> =>
      Effect.gen(function*() {
        let warned = false
        for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
          const { latest, outcome } = yield* writeOnce(held, changes)
          if (outcome === "lost") {
            if (retaken) return yield* lost
            // Another process may have written since `base` was read; dropping our changes could lose a rotated
            // refresh token. They are deltas: re-apply them to the latest store under a fresh lock.
            yield* Effect.logWarning(`auth profile store: lost the lock ${lock.path} while modifying; re-applying`)
            return yield* Effect.scoped(
              Effect.flatMap(lock.acquire, (again) => commitUnder(again, base, changes, true))
            )
          }
          // (After a lost lock the change is the other holder's, and that warning was given.)
          if (!warned && !retaken && !Option.getEquivalence<string>((a, b) => a === b)(latest, base)) {
            warned = true
            yield* Effect.logWarning(
              `auth profile store: ${file} changed while it was being updated (edited by hand, or by a tool that ` +
                `does not take ${paths.basename(lock.path)}); the changes were applied to the new content`
            )
          }
          if (outcome === "written") return
        }
        return yield* new StoreError({
          reason: "Io",
          path: file,
          detail: `it kept changing while it was being written (${MAX_WRITE_ATTEMPTS} attempts); nothing was written`
        })
      })

    const exclusive: Backend["exclusive"] = (body) =>
      semaphore.withPermits(1)(Effect.scoped(Effect.gen(function*() {
        yield* files.ensureDirectory(dir, policy).pipe(Effect.mapError(fromFiles(file)))
        const held = yield* lock.acquire
        yield* removeLeftovers
        return yield* body((base, changes) => Effect.scoped(commitUnder(held, base, changes, false)))
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
 * with `StoreError` `Io` "no state directory (set CHUTES_STATE_DIR or HOME)". See `makeFile` for the checks and the
 * locking; `allowGroupWritable` defaults to the settings'.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (
  options: FileOptions = {}
): Layer.Layer<AuthProfileStore, never, FileSystem.FileSystem | Path.Path | ChutesSettings> =>
  Layer.effect(
    AuthProfileStore,
    Effect.gen(function*() {
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
          body((_, changes) =>
            Effect.gen(function*() {
              const set = yield* fromText(location, yield* Ref.get(state))
              yield* Ref.set(state, Option.some(yield* encodeEither(applyChanges(set, changes), location)))
            })
          )
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
