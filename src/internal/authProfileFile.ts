/**
 * The file backend of the auth profile store: reads and atomic writes through `PrivateFiles`, read-modify-write under
 * a `FileLock` and a per-path queue in this process, re-checks right before every rename, and the clean-up of temp
 * files left by killed writers. `AuthProfileStore.makeFile` documents the behaviour.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { StoreError } from "../ChutesError.js"
import * as FileLock from "../FileLock.js"
import * as PrivateFiles from "../PrivateFiles.js"
import {
  applyChanges,
  corrupt,
  encodeEither,
  fromText,
  MAX_BYTES,
  type ProfileChange
} from "./authProfileDocument.js"
import { currentPid, isProcessAlive } from "./filePolicy.js"

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
   * A cross-process lock not refreshed for this long is taken over (its holder died). Default 10 s, at least 2 s
   * (proper-lockfile's minimum). With `NodeFileLock`, a live holder refreshes the mtime every `lockUpdate`, and a lock
   * dated in the future, or a file at the lock path, is taken over once it stays unchanged this long.
   */
  readonly lockStale?: Duration.DurationInput | undefined
  /** How often a holder refreshes its lock; default (`NodeFileLock`) `lockStale / 2` (at least 1 s). */
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

/**
 * Writes `changes` to the store. `base` is the text the caller's `current` was read from: the store is re-read under
 * the lock right before the write, and the changes (which are deltas) are applied to what is there then.
 */
export type Commit = (
  base: Option.Option<string>,
  changes: ReadonlyArray<ProfileChange>
) => Effect.Effect<void, StoreError>

/** What a backend of the store provides: reading the text, and an exclusive section that hands out the committer. */
export interface Backend {
  readonly location: string
  /** `None` when there is no store yet. */
  readonly read: Effect.Effect<Option.Option<string>, StoreError>
  readonly exclusive: <A, E, R>(body: (commit: Commit) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
  /**
   * Writes what a write of `text` would write, everything but putting it in place (the file store: the private temp
   * file beside the store, as large as `text` and a margin, synced, then removed): a full disk, a read-only mount or a
   * size limit shows here, before a refresh consumes the refresh token. None: nothing to try beyond the encoding.
   */
  readonly trialWrite?: ((text: string) => Effect.Effect<void, StoreError>) | undefined
}

/** Bytes a trial write adds to the store's text: a refresh's new tokens may be a little longer than the old ones. */
export const TRIAL_MARGIN = 4096

// A cross-process lock (proper-lockfile) is one per path and process: two fibers locking the same path would step on
// each other, so every `modify` on a path in this process queues here first, whichever service instance it comes from.
// (The cooldown file, `authCooldownFile.ts`, queues here too, on its own path.)
const semaphores = new Map<string, Effect.Semaphore>()
/** The in-process queue of the file `path` (resolved), shared by every service instance. */
export const semaphoreFor = (path: string): Effect.Semaphore => {
  const existing = semaphores.get(path)
  if (existing !== undefined) return existing
  const created = Effect.unsafeMakeSemaphore(1)
  semaphores.set(path, created)
  return created
}

/** A refusal or failure of the file access, as the store's error (named after the store; the detail names what). */
export const fromFiles = (path: string) => (error: PrivateFiles.PrivateFileError): StoreError =>
  new StoreError({ reason: error.reason === "TooLarge" ? "Corrupt" : error.reason, path, detail: error.detail })

/** The lock options of the store (and of its cooldown file) from the file options, defaults applied. */
export const lockOptions = (options: Omit<FileOptions, "path">): FileLock.LockOptions => {
  // 2 s: proper-lockfile's minimum, which the Node lock enforces.
  const stale = Math.max(Duration.toMillis(Duration.decode(options.lockStale ?? Duration.seconds(10))), 2000)
  const update = options.lockUpdate === undefined ? undefined : Duration.decode(options.lockUpdate)
  // A holder may keep the lock through an OAuth refresh (30 s IdP deadline): wait that out, and a stale lock too.
  const timeout = options.lockTimeout === undefined
    ? Duration.millis(Math.max(stale + 5000, 40_000))
    : Duration.decode(options.lockTimeout)
  return { stale: Duration.millis(stale), update, timeout }
}

/** Why a write was not renamed into place: the lock is not ours any more, or the store changed under it. */
class NotWritten {
  readonly _tag = "NotWritten"
  constructor(readonly why: "lost" | "changed" | "trial") {}
}

/** How often a write starts over because the store changed under the lock (edited by hand meanwhile). */
const MAX_WRITE_ATTEMPTS = 3

/**
 * The backend of the store in `path`; see `AuthProfileStore.makeFile`.
 */
export const make = (
  path: string,
  options: Omit<FileOptions, "path"> = {}
): Effect.Effect<Backend, never, FileSystem.FileSystem | Path.Path | PrivateFiles.PrivateFiles | FileLock.FileLock> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const paths = yield* Path.Path
    const files = yield* PrivateFiles.PrivateFiles
    const locks = yield* FileLock.FileLock
    const file = paths.resolve(path)
    const dir = paths.dirname(file)
    const policy: PrivateFiles.Policy = { allowGroupWritable: options.allowGroupWritable === true }
    const staleTempAge = Duration.toMillis(Duration.decode(options.staleTempAge ?? Duration.minutes(1)))
    const semaphore = semaphoreFor(file)
    const lock = locks.make(file, lockOptions(options))

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
          const dead = Number.isInteger(pid) && pid > 0 && pid !== currentPid() && isProcessAlive(pid) === false
          if (dead || age > staleTempAge) yield* fs.remove(temp)
        }).pipe(Effect.ignore)
      }
    }).pipe(Effect.ignore)

    /** One write of `changes` over the store as it is now, unless the lock is lost or the store changes meanwhile. */
    const writeOnce = (held: FileLock.HeldLock, changes: ReadonlyArray<ProfileChange>) =>
      Effect.gen(function*() {
        if (!(yield* held.stillHeld)) return { outcome: "lost" as const, latest: Option.none<string>() }
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
          if (yield* held.reportedLost) return yield* Effect.fail(new NotWritten("lost"))
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

    const trialWrite = (text: string): Effect.Effect<void, StoreError> =>
      files.writeFileAtomic(file, text.padEnd(text.length + TRIAL_MARGIN), {
        ...policy,
        beforeRename: Effect.fail(new NotWritten("trial"))
      }).pipe(
        Effect.catchIf((error) => error instanceof NotWritten, () => Effect.void),
        Effect.mapError((error) => fromFiles(file)(error as PrivateFiles.PrivateFileError))
      )

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

    return { location: file, read, exclusive, trialWrite }
  })
