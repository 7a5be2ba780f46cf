/**
 * The loss-free codec of `auth-profiles.json` (pure): the profile schemas, the document as read (`ProfileSet`, with
 * everything this SDK does not understand kept verbatim), decoding with its limits, encoding, and the changes a
 * `modify` applies. `AuthProfileStore` re-exports what users need; the guarantees are listed there.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { StoreError } from "../ChutesError.js"
import { formatBytes } from "./filePolicy.js"
import { depthExceeds, unwritableNumber } from "./jsonDepth.js"
import { excerpt } from "./redact.js"

// ---------------------------------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A stored OAuth sign-in: access and refresh token, when the access token expires (epoch milliseconds), and the OAuth
 * app that issued them — its client id and client secret, a pair used together at refresh (the IdP checks the secret
 * on every refresh, and a refresh token is bound to its client). The tokens are plain strings for the code that sends
 * them; a profile the store hands out (or `fromSignIn` makes) prints them as `<redacted>` (`util.inspect`,
 * `console.log`, `JSON.stringify`, Effect's loggers).
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
 * opaque: it holds secrets (printed, it shows only the ids of its entries).
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

/** The fields of a profile that are secrets (the client secret is `Redacted` already). */
const SECRET_FIELDS: ReadonlySet<string> = new Set(["access", "refresh", "key"])

/** A profile's fields with its tokens and key as `<redacted>`. */
function shownProfile(this: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(this).map(([key, value]) => [key, SECRET_FIELDS.has(key) ? "<redacted>" : value]))
}

/** A prototype whose methods show what `show` gives: not enumerable, so a profile still compares and copies as its fields. */
const printingAs = (show: (this: never) => Record<string, unknown>): object =>
  Object.create(Object.prototype, {
    toJSON: { value: show },
    [Inspectable.NodeInspectSymbol]: { value: show }
  })

const PrintSafeProfile = printingAs(shownProfile)

/**
 * `profile` as the store hands it out: the same plain fields — code reads and sends its tokens as strings — but
 * `util.inspect`, `console.log`, `JSON.stringify` and Effect's loggers show its tokens and key as `<redacted>`. The
 * store itself encodes profiles field by field, never through `toJSON`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const printSafe = <P extends ChutesProfile>(profile: P): P => Object.assign(Object.create(PrintSafeProfile), profile)

/** What a printed `RawDocument` shows: the ids of its entries, none of their contents (secrets among them). */
function shownRaw(this: RawDocument): Record<string, unknown> {
  return { entries: this.entries.map(([id]) => id) }
}

const PrintSafeRaw = printingAs(shownRaw)

const fromEntries = (
  top: ReadonlyArray<readonly [string, unknown]>,
  entries: ReadonlyArray<readonly [string, unknown]>,
  exists: boolean
): ProfileSet => {
  const profiles = new Map<string, ChutesProfile>()
  const others: Array<string> = []
  for (const [id, value] of entries) {
    // `type` is checked to be a string first: Effect's union decoder calls `String()` on a discriminant, which throws
    // for an object such as `{ "toString": false }` (found by test/fuzz.test.ts) instead of failing the decode.
    const decoded = Predicate.isRecord(value) && value["provider"] === PROVIDER && typeof value["type"] === "string"
      ? decodeProfile(value)
      : Option.none()
    if (Option.isSome(decoded)) profiles.set(id, printSafe(decoded.value))
    else others.push(id)
  }
  const raw: RawDocument = Object.assign(Object.create(PrintSafeRaw), { top, entries })
  return { profiles, others, exists, raw }
}

/**
 * The empty store (no file yet).
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: ProfileSet = fromEntries([["version", VERSION], ["profiles", {}]], [], false)

/** A store that must not be written over, with what is wrong (never quoting the file). */
export const corrupt = (path: string, detail: string): StoreError => new StoreError({ reason: "Corrupt", path, detail })

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
    return Either.left(corrupt(path, `larger than ${formatBytes(MAX_BYTES)}`))
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

/** The file's text of a document. */
const textOf = (document: Record<string, unknown>): string => `${JSON.stringify(document, null, 2)}\n`

/**
 * The text written to disk: 2-space indented JSON with a final newline.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (set: ProfileSet): string => textOf(toDocument(set))

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
 * The largest store read: a few profiles take a few KiB; a larger file is `Corrupt` (a file grown without bound, or
 * `/dev/zero` behind the name, must not exhaust memory).
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_BYTES = 4 * 1024 * 1024

/**
 * The set a store's text holds: a missing store (`None`) is `empty`. `location` only names the store in errors.
 *
 * @since 0.2.0
 * @category decoding
 */
export const fromText = (location: string, text: Option.Option<string>): Either.Either<ProfileSet, StoreError> =>
  Option.match(text, { onNone: () => Either.right(empty), onSome: (body) => decode(body, location) })

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

/**
 * The text of `set`, or `Corrupt` when it cannot be encoded: a write fails with a `StoreError`, never a defect.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeEither = (set: ProfileSet, path: string): Either.Either<string, StoreError> => {
  const document = toDocument(set)
  // A number read from the file that would be written back changed: the write is refused, the file kept as it is.
  const lossy = unwritableNumber(document)
  if (lossy !== undefined) return Either.left(corrupt(path, `it holds ${excerpt(lossy, 200)}; it is not rewritten`))
  return Either.try({
    try: () => textOf(document),
    catch: (error) =>
      corrupt(path, `it could not be encoded (${error instanceof Error ? excerpt(error.message, 80) : "unknown"})`)
  })
}
