/**
 * The lock a read-modify-write of a shared state file takes (the auth profile store's `modify`): the service, and the
 * in-process implementation that runs anywhere.
 *
 * Which lock is right depends on the runtime: on Node, `effect-chutes/node` provides `NodeFileLock.layer`
 * (proper-lockfile's `<file>.lock` directory, the lock OpenClaw takes, so other processes and OpenClaw wait for each
 * other; part of `NodeChutes.layerPlatform`). `layerMemory` excludes only the fibers of this process that share it:
 * right for a single process per state directory (a server, a worker, tests) and for runtimes without Node's file
 * system. Since a lock that is too weak loses rotated refresh tokens silently, the file store requires the service
 * instead of picking one.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { StoreError } from "./ChutesError.js"

/**
 * How a lock is taken and kept.
 *
 * @since 0.2.0
 * @category models
 */
export interface LockOptions {
  /** A lock not refreshed for this long was left by a dead holder and is taken over (cross-process locks only). */
  readonly stale: Duration.Duration
  /** How often a holder refreshes its lock; default: the implementation's (cross-process locks only). */
  readonly update?: Duration.Duration | undefined
  /** How long `acquire` waits before failing with `StoreError` `Locked`. */
  readonly timeout: Duration.Duration
}

/**
 * A lock this holder has.
 *
 * @since 0.2.0
 * @category models
 */
export interface HeldLock {
  /** Whether the lock is still this holder's: not reported lost, and the same lock as when it was taken. */
  readonly stillHeld: Effect.Effect<boolean>
  /** Whether the implementation reported the lock lost (no I/O: cheap enough for the moment right before a rename). */
  readonly reportedLost: Effect.Effect<boolean>
}

/**
 * The lock of one file.
 *
 * @since 0.2.0
 * @category models
 */
export interface Lock {
  /** Where the lock lives (a path next to the file for the Node lock), for messages. */
  readonly path: string
  /**
   * Takes the lock, waiting up to `timeout`; released when the scope closes (on success, failure and interruption).
   * Fails with `StoreError` naming the locked file: `Locked` after the time-out, `Permission` or `Io` when it cannot
   * be taken at all (the detail says what to remove).
   */
  readonly acquire: Effect.Effect<HeldLock, StoreError, Scope.Scope>
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** The lock of `file` (the file itself need not exist). */
  readonly make: (file: string, options: LockOptions) => Lock
}

/**
 * @since 0.2.0
 * @category tags
 */
export class FileLock extends Context.Tag("effect-chutes/FileLock")<FileLock, Service>() {}

const held: HeldLock = { stillHeld: Effect.succeed(true), reportedLost: Effect.succeed(false) }

/**
 * An in-process lock per file path: the fibers sharing this service take turns; other processes are not excluded
 * (see the module comment). A lock is never lost, so `stale` and `update` do not apply.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const semaphores = new Map<string, Effect.Semaphore>()
  const semaphoreFor = (file: string): Effect.Semaphore => {
    let semaphore = semaphores.get(file)
    if (semaphore === undefined) {
      semaphore = Effect.unsafeMakeSemaphore(1)
      semaphores.set(file, semaphore)
    }
    return semaphore
  }
  return {
    make: (file, options) => {
      const semaphore = semaphoreFor(file)
      const path = `${file}.lock`
      return {
        path,
        // The wait is interruptible (a time-out, a caller that gives up); once the permit is taken, its release is
        // registered before anything can interrupt.
        acquire: Effect.uninterruptibleMask((restore) =>
          restore(semaphore.take(1).pipe(
            Effect.timeoutFail({
              duration: options.timeout,
              onTimeout: () =>
                new StoreError({
                  reason: "Locked",
                  path: file,
                  detail: `${path} (in this process) is held; gave up after ${Duration.format(options.timeout)}`
                })
            })
          )).pipe(Effect.zipRight(Effect.addFinalizer(() => semaphore.release(1))), Effect.as(held))
        )
      }
    }
  }
}

/**
 * The in-process lock as a layer; see `makeMemory`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemory: Layer.Layer<FileLock> = Layer.sync(FileLock, makeMemory)
