/**
 * The cooldowns of auth profiles in a file, `auth-cooldowns.json` next to the profile store (`AuthCooldowns` states
 * the rules): the document codec (pure) and the file store over `PrivateFiles` and `FileLock`. The profile store's
 * file is never touched.
 *
 * The file is small and its writes are whole-document replacements, so unlike the profile store there are no deltas
 * to re-apply: a write re-reads the file under the lock, applies the one change, and renames the result into place
 * only when the file is still what it read (else it starts over, at most 3 times).
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { type Cooldown, Cooldown as CooldownSchema, MAX_BYTES, prune, type Store } from "../AuthCooldowns.js"
import { StoreError } from "../ChutesError.js"
import * as FileLock from "../FileLock.js"
import * as PrivateFiles from "../PrivateFiles.js"
import { fromFiles, semaphoreFor } from "./authProfileFile.js"
import { formatBytes } from "./filePolicy.js"
import { MAX_DATE_MILLIS } from "./dates.js"
import { excerpt } from "./redact.js"

/** The version of the file this SDK reads and writes; any other is `Corrupt` (a newer format is never clobbered). */
export const VERSION = 1

const corrupt = (path: string, detail: string): StoreError => new StoreError({ reason: "Corrupt", path, detail })

const decodeCooldown = Schema.decodeUnknownEither(CooldownSchema)


/**
 * Every number of a cooldown is in range: finite (JSON would write `Infinity`, from `1e309`, or `NaN` back as `null`)
 * and a time a `Date` can hold (`until: 1e300` made every command that shows cooldowns fail with "Invalid time value").
 */
const isFinite = (cooldown: Cooldown): boolean =>
  [cooldown.since, cooldown.until, cooldown.millis].every((n) => n === undefined || (Number.isFinite(n) && Math.abs(n) <= MAX_DATE_MILLIS))

/** One cooldown as the file holds it, or why not (the id is named, capped and escaped; the value never quoted). */
export const decodeEntry = (id: string, value: unknown): Either.Either<Cooldown, string> =>
  Either.flatMap(
    Either.mapLeft(decodeCooldown(value), () => `the cooldown of ${excerpt(JSON.stringify(id), 80)} is not valid`),
    (cooldown) =>
      isFinite(cooldown)
        ? Either.right(cooldown)
        : Either.left(`the cooldown of ${excerpt(JSON.stringify(id), 80)} has a number out of range`)
  )

/** The cooldowns a file's text holds: a missing file (`None`) is none. `path` names the file in errors. */
export const decode = (
  path: string,
  text: Option.Option<string>
): Either.Either<ReadonlyMap<string, Cooldown>, StoreError> => {
  if (Option.isNone(text)) return Either.right(new Map())
  const body = text.value.startsWith("\uFEFF") ? text.value.slice(1) : text.value
  if (body.trim().length === 0) return Either.left(corrupt(path, "the file is empty"))
  let document: unknown
  try {
    document = JSON.parse(body)
  } catch {
    return Either.left(corrupt(path, "not valid JSON"))
  }
  if (!Predicate.isRecord(document)) return Either.left(corrupt(path, "the top level is not a JSON object"))
  const version = document["version"]
  if (typeof version !== "number") return Either.left(corrupt(path, `no numeric "version" field`))
  if (version !== VERSION) return Either.left(corrupt(path, `unsupported version ${version}`))
  const entries = document["cooldowns"]
  if (!Predicate.isRecord(entries)) return Either.left(corrupt(path, `"cooldowns" is missing or not an object`))
  // Built entry by entry into a Map (not through a Schema.Record), so an id such as "__proto__" stays a plain key.
  const cooldowns = new Map<string, Cooldown>()
  for (const [id, value] of Object.entries(entries)) {
    const cooldown = decodeEntry(id, value)
    if (Either.isLeft(cooldown)) return Either.left(corrupt(path, cooldown.left))
    cooldowns.set(id, cooldown.right)
  }
  return Either.right(cooldowns)
}

/** The file's text for `cooldowns`. Object.fromEntries defines own properties, so "__proto__" stays a plain key. */
export const encode = (cooldowns: ReadonlyMap<string, Cooldown>): string =>
  `${
    JSON.stringify(
      {
        version: VERSION,
        cooldowns: Object.fromEntries(
          Array.from(cooldowns, ([id, cooldown]) => [id, Schema.encodeSync(CooldownSchema)(cooldown)])
        )
      },
      null,
      2
    )
  }\n`

/** Why a write was not renamed into place: the lock is not ours any more, or the file changed under it. */
class NotWritten {
  readonly _tag = "NotWritten"
  constructor(readonly why: "lost" | "changed") {}
}

/** How often a write starts over because the file changed under the lock (edited by hand meanwhile). */
const MAX_WRITE_ATTEMPTS = 3

type Cooldowns = ReadonlyMap<string, Cooldown>

/** What the store needs besides the file: the policy and lock options of the profile store it sits beside. */
export interface Options {
  readonly allowGroupWritable: boolean
  readonly lock: FileLock.LockOptions
}

/** The cooldown store in the file `path`; see `AuthCooldowns`. */
export const make = (
  path: string,
  options: Options
): Effect.Effect<Store, never, FileSystem.FileSystem | Path.Path | PrivateFiles.PrivateFiles | FileLock.FileLock> =>
  Effect.gen(function*() {
    const paths = yield* Path.Path
    const files = yield* PrivateFiles.PrivateFiles
    const locks = yield* FileLock.FileLock
    const file = paths.resolve(path)
    const dir = paths.dirname(file)
    const policy: PrivateFiles.Policy = { allowGroupWritable: options.allowGroupWritable }
    const semaphore = semaphoreFor(file)
    const lock = locks.make(file, options.lock)

    const read = files.readFile(file, { ...policy, maxBytes: MAX_BYTES }).pipe(Effect.mapError(fromFiles(file)))
    const load = Effect.flatMap(read, (text) => decode(file, text))

    const lost = new StoreError({
      reason: "Locked",
      path: file,
      detail: `the lock ${lock.path} was lost (held past its stale time or taken over); nothing was written`
    })

    /**
     * Read-modify-write under the lock: `f` gets the cooldowns and the time and returns its result and, when the file
     * is to change, the new cooldowns. A file that does not decode is never written over.
     */
    const update = <A>(
      f: (current: Cooldowns, now: number) => readonly [A, Option.Option<Cooldowns>]
    ): Effect.Effect<A, StoreError> =>
      semaphore.withPermits(1)(Effect.scoped(Effect.gen(function*() {
        yield* files.ensureDirectory(dir, policy).pipe(Effect.mapError(fromFiles(file)))
        const held = yield* lock.acquire
        for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
          const base = yield* read
          const [result, next] = f(yield* decode(file, base), yield* Clock.currentTimeMillis)
          if (Option.isNone(next)) return result
          const text = encode(next.value)
          // Our own write must read back: a number JSON cannot hold is a bug of the caller, not a broken file.
          if (Either.isLeft(decode(file, Option.some(text)))) {
            return yield* Effect.dieMessage(`AuthCooldowns: a cooldown with a number JSON cannot hold (NaN, Infinity)`)
          }
          const size = new TextEncoder().encode(text).length
          if (size > MAX_BYTES) {
            return yield* new StoreError({
              reason: "Io",
              path: file,
              detail: `the cooldowns would take ${formatBytes(size)}, more than ${formatBytes(MAX_BYTES)}; nothing ` +
                `was written`
            })
          }
          if (!(yield* held.stillHeld)) return yield* lost
          // The last moment before the rename: the file is still what `f` saw, and the lock was not reported lost.
          const recheck = Effect.gen(function*() {
            if (yield* held.reportedLost) return yield* Effect.fail(new NotWritten("lost"))
            const now = yield* read
            if (!Option.getEquivalence<string>((a, b) => a === b)(now, base)) {
              return yield* Effect.fail(new NotWritten("changed"))
            }
          })
          const write = files.writeFileAtomic(file, text, { ...policy, mode: 0o600, beforeRename: recheck })
          const outcome = yield* write.pipe(
            Effect.as("written" as const),
            Effect.catchIf((error) => error instanceof NotWritten, (error) => Effect.succeed((error as NotWritten).why)),
            Effect.mapError((error) =>
              error instanceof StoreError ? error : fromFiles(file)(error as PrivateFiles.PrivateFileError)
            )
          )
          if (outcome === "written") return result
          if (outcome === "lost") return yield* lost
          yield* Effect.logWarning(
            `auth cooldowns: ${file} changed while it was being updated (edited by hand, or by a tool that does not ` +
              `take ${paths.basename(lock.path)}); starting over`
          )
        }
        return yield* new StoreError({
          reason: "Io",
          path: file,
          detail: `it kept changing while it was being written (${MAX_WRITE_ATTEMPTS} attempts); nothing was written`
        })
      })))

    const set: Store["set"] = (id, cooldown) =>
      update((current, now) => [undefined, Option.some(new Map(prune(current, now)).set(id, cooldown))] as const).pipe(
        Effect.withSpan("AuthCooldowns.set", { attributes: { location: file } })
      )

    const clear: Store["clear"] = (ids) =>
      update((current) => {
        const removed = ids === undefined
          ? Array.from(current.keys())
          : Array.from(new Set(ids)).filter((id) => current.has(id))
        if (removed.length === 0) return [removed, Option.none()] as const
        const next = new Map(current)
        for (const id of removed) next.delete(id)
        return [removed, Option.some(next)] as const
      }).pipe(Effect.withSpan("AuthCooldowns.clear", { attributes: { location: file } }))

    return {
      location: file,
      load: load.pipe(Effect.withSpan("AuthCooldowns.load", { attributes: { location: file } })),
      set,
      clear
    }
  })
