/**
 * The cross-process `FileLock` for Node: proper-lockfile's `<file>.lock` directory (`realpath: false`, the file may
 * not exist yet), the same lock OpenClaw takes, so both can share a file. Part of `NodeChutes.layerPlatform`.
 *
 * proper-lockfile takes over a lock whose mtime is older than `stale` (its holder died; a live holder refreshes the
 * mtime every `update`). Two leftovers it never clears, which would fail every write until someone removed them,
 * are recovered here (see `recover`):
 * - a lock directory with an mtime in the future (a clock set back, a copied or `touch`ed directory): proper-lockfile
 *   never sees it as stale. A live holder on this machine rewrites the mtime to "now" every `update`, so a future
 *   mtime that stays unchanged for `stale` while we wait belongs to nobody: it is removed and the lock taken.
 * - something other than a directory at the lock path (a plain file): no proper-lockfile holder makes one, and
 *   proper-lockfile fails on it (`ENOTDIR`) instead of taking it over. It is removed once it is stale by the same
 *   rule (mtime older than `stale`, or unchanged for `stale` while we wait).
 * Anything else that cannot be taken over (a lock directory with files in it, no permission to remove it) fails with
 * an error that names the path and the command that removes it.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { lstat, rmdir, stat, unlink } from "node:fs/promises"
import { StoreError } from "../ChutesError.js"
import { FileLock, type HeldLock, type Lock, type LockOptions, type Service } from "../FileLock.js"
import { shellQuote } from "../internal/filePolicy.js"
import { excerpt } from "../internal/redact.js"

/** A lock attempt that failed, with the errno-style code of proper-lockfile (`ELOCKED`, `EACCES`, …). */
class LockAttemptFailed {
  readonly _tag = "LockAttemptFailed"
  constructor(readonly code: string | undefined, readonly message: string) {}
}

/** The identity of the lock directory right after taking it, to notice a takeover before writing. */
interface LockIdentity {
  readonly ino: number
  readonly birthtime: number
}

/** A lock this process holds: proper-lockfile's release, its "compromised" flag, and the directory as taken. */
interface NodeHeldLock {
  readonly release: () => Promise<void>
  /** Set by proper-lockfile when it could not keep the lock fresh, or found it taken over. */
  readonly state: { compromised: boolean }
  /** The lock directory right after it was taken (`None` if it could not be read). */
  readonly identity: Option.Option<LockIdentity>
}

const errorCode = (cause: unknown): string | undefined => {
  const code = typeof cause === "object" && cause !== null ? Reflect.get(cause, "code") : undefined
  return typeof code === "string" ? code : undefined
}

/** What we saw at the lock path, and since when (our clock) it has not changed. */
interface Sighting {
  readonly ino: number
  readonly mtimeMs: number
  readonly directory: boolean
  readonly since: number
}

// Per lock path, across calls and service instances: a future-dated lock is recovered even when each call waits less
// than `stale`.
const sightings = new Map<string, Sighting>()

/** How far in the future an mtime may be and still be a live holder's (proper-lockfile rounds it up to the second). */
const FUTURE_SLACK_MILLIS = 2_000

const removeCommand = (path: string, directory: boolean) =>
  directory ? `rm -r ${shellQuote(path)}` : `rm ${shellQuote(path)}`

/** The lock of `file` (`<file>.lock`); `stale` is at least 2 s (proper-lockfile's minimum). */
const makeLock = (file: string, options: LockOptions): Lock => {
  const lockPath = `${file}.lock`
  const stale = Math.max(Duration.toMillis(options.stale), 2000)
  const update = options.update === undefined ? undefined : Duration.toMillis(options.update)
  const timeout = options.timeout

  const attempt = Effect.suspend(() => {
    const state = { compromised: false }
    return Effect.tryPromise({
      // Loaded on first use: importing proper-lockfile patches `fs` (graceful-fs) and installs a signal handler,
      // which a bare `import "effect-chutes/node"` must not do.
      try: () =>
        import("proper-lockfile").then((Lockfile) =>
          Lockfile.lock(file, {
            realpath: false,
            retries: 0,
            stale,
            ...(update !== undefined ? { update } : {}),
            // The default throws from a timer, which would crash the process; a lost lock is checked before writing.
            onCompromised: () => {
              state.compromised = true
            }
          })
        ),
      catch: (cause) =>
        new LockAttemptFailed(errorCode(cause), cause instanceof Error ? excerpt(cause.message, 160) : "unknown")
    }).pipe(Effect.map((release) => ({ release, state })))
  })

  const identity = Effect.tryPromise(() => stat(lockPath)).pipe(
    Effect.map((info): LockIdentity => ({ ino: info.ino, birthtime: info.birthtimeMs })),
    Effect.option
  )

  const stillHeld = (held: NodeHeldLock): Effect.Effect<boolean> =>
    Effect.gen(function*() {
      if (held.state.compromised) return false
      const now = yield* identity
      if (Option.isNone(now)) return false
      return Option.isNone(held.identity) ||
        (held.identity.value.ino === now.value.ino && held.identity.value.birthtime === now.value.birthtime)
    })

  /**
   * After a failed attempt: removes a leftover that proper-lockfile does not take over (see the module comment), and
   * says whether to try again at once. Fails with the exact path and command when it cannot be removed.
   */
  const recover = (failed: LockAttemptFailed): Effect.Effect<boolean, StoreError> =>
    Effect.gen(function*() {
      const info = yield* Effect.tryPromise(() => lstat(lockPath)).pipe(Effect.option)
      if (Option.isNone(info)) {
        sightings.delete(lockPath)
        return false
      }
      const now = yield* Clock.currentTimeMillis
      const { ino, mtimeMs } = info.value
      const directory = info.value.isDirectory()
      const seen = sightings.get(lockPath)
      const since = seen !== undefined && seen.ino === ino && seen.mtimeMs === mtimeMs && seen.directory === directory
        ? seen.since
        : now
      sightings.set(lockPath, { ino, mtimeMs, directory, since })
      const unchangedFor = now - since
      const future = mtimeMs > now + FUTURE_SLACK_MILLIS
      const abandoned = directory
        ? future && unchangedFor >= stale
        : mtimeMs < now - stale || unchangedFor >= stale
      if (!abandoned) {
        // A non-empty lock directory (ENOTEMPTY) is not proper-lockfile's: never removed here.
        if (failed.code !== "ELOCKED" && failed.code !== "ENOENT") return yield* cannotTake(failed, directory)
        return false
      }
      // Checked again right before removing: another process may have taken the stale lock over meanwhile.
      const again = yield* Effect.tryPromise(() => lstat(lockPath)).pipe(Effect.option)
      if (Option.isNone(again) || again.value.ino !== ino || again.value.mtimeMs !== mtimeMs) return true
      yield* Effect.tryPromise({
        try: () => (directory ? rmdir(lockPath) : unlink(lockPath)),
        catch: (cause) => new LockAttemptFailed(errorCode(cause), cause instanceof Error ? cause.message : "unknown")
      }).pipe(
        Effect.catchIf((error) => error.code === "ENOENT", () => Effect.void),
        Effect.catchAll((error) => cannotTake(error, directory))
      )
      sightings.delete(lockPath)
      yield* Effect.logWarning(
        `auth profile store: removed the abandoned lock ${lockPath} (${
          directory
            ? `a lock directory dated ${Math.round((mtimeMs - now) / 1000)} s in the future, unchanged for ${
              Math.round(unchangedFor / 1000)
            } s`
            : "a file, not a lock directory"
        })`
      )
      return true
    })

  const cannotTake = (failed: LockAttemptFailed, directory: boolean) =>
    Effect.fail(
      new StoreError({
        reason: failed.code === "EACCES" || failed.code === "EPERM" ? "Permission" : "Io",
        path: file,
        detail: `the lock ${lockPath} cannot be taken (${failed.code ?? failed.message}). If no effect-chutes or ` +
          `OpenClaw process is using the store, remove it: ${removeCommand(lockPath, directory)}`
      })
    )

  const retrying = (error: LockAttemptFailed) => error.code === "ELOCKED" || error.code === "ENOENT"

  /** One attempt; on a failure, one recovery and an immediate second attempt when something was removed. */
  const attemptOrRecover = attempt.pipe(
      Effect.catchAll((failed) =>
        Effect.flatMap(recover(failed), (removed) => (removed ? attempt : Effect.fail(failed)))
      )
    )

  const acquire: Effect.Effect<NodeHeldLock, StoreError, Scope.Scope> = Effect.acquireRelease(
    attemptOrRecover.pipe(Effect.flatMap((held) => Effect.map(identity, (id) => ({ ...held, identity: id })))),
    // proper-lockfile's release removes `<file>.lock` whoever made it; a lock that was taken over belongs to its new
    // holder and is left alone (proper-lockfile notices the takeover on its next refresh and forgets ours).
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
        Schedule.upTo(timeout)
      ),
      // ENOENT: the lock directory vanished while we took it (another process took the same stale lock over at the
      // same moment and removed it). The store's directory exists by then, so it is a race: try again.
      while: (error) => error._tag === "LockAttemptFailed" && retrying(error)
    }),
    Effect.catchTag("LockAttemptFailed", (error) =>
      Effect.fail(
        retrying(error)
          ? new StoreError({
            reason: "Locked",
            path: file,
            detail: `${lockPath} is held by another process; gave up after ${Duration.format(timeout)}. If no ` +
              `effect-chutes or OpenClaw process is running, remove it: ${removeCommand(lockPath, true)}`
          })
          : new StoreError({
            reason: error.code === "EACCES" || error.code === "EPERM" ? "Permission" : "Io",
            path: file,
            detail: `taking the lock ${lockPath} failed: ${error.message}`
          })
      ))
  )

  return {
    path: lockPath,
    acquire: Effect.map(acquire, (held): HeldLock => ({
      stillHeld: stillHeld(held),
      reportedLost: Effect.sync(() => held.state.compromised)
    }))
  }
}

/**
 * The proper-lockfile lock (see the module comment).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (): Service => ({ make: makeLock })

/**
 * The proper-lockfile lock as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<FileLock> = Layer.sync(FileLock, make)
