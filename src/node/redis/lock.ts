/**
 * The distributed lock of the shared store, as a `FileLock.Service` (the same service the file store's lock is), over
 * one Redis key:
 * - taken with `SET key <random token> NX PX <lease>` (set-if-absent with a lease), retried with jittered backoff
 *   (at most 500 ms apart) up to `timeout`, then `StoreError` `Locked`;
 * - renewed every `update` (default a third of the lease) while held, by a script that extends the lease only when the
 *   key still holds our token; a renewal that finds another token, or that cannot reach Redis for a whole lease,
 *   marks the lock lost (`reportedLost`);
 * - released when the scope closes by a script that deletes the key only when it still holds our token, so a holder
 *   whose lease ran out never releases the lock of the next one.
 *
 * A holder that dies (SIGKILL, a lost host) leaves a key that expires after the lease: the next process takes over
 * within it. The lock only keeps refreshes apart; what keeps a late holder from writing over a newer write is the
 * store's compare-and-set on its version (`authProfiles.ts`).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { randomBytes } from "node:crypto"
import { StoreError } from "../../ChutesError.js"
import type { HeldLock, Lock, LockOptions, Service } from "../../FileLock.js"
import type { Connection } from "./connection.js"

/** Extends the lease when the key still holds our token: 1, else 0. */
const RENEW = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`

/** Deletes the key when it still holds our token: 1, else 0. */
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`

/** The lock is someone else's right now. */
class Busy {
  readonly _tag = "Busy"
}

const makeLock = (connection: Connection, key: string, options: LockOptions): Lock => {
  const lease = Math.max(1000, Duration.toMillis(options.stale))
  const update = options.update === undefined
    ? Math.max(200, Math.floor(lease / 3))
    : Math.max(100, Duration.toMillis(options.update))
  const path = `${connection.location} key ${key}`

  const attempt = (token: string) =>
    connection.run(path, (client) => client.set(key, token, "PX", lease, "NX")).pipe(
      Effect.flatMap((answer) => (answer === "OK" ? Effect.void : Effect.fail(new Busy())))
    )

  const release = (token: string) =>
    connection.run(path, (client) => client.eval(RELEASE, 1, key, token)).pipe(
      Effect.catchAll((error) =>
        Effect.logDebug(`could not release the lock ${key} (its lease will run out): ${error.message}`)
      )
    )

  /** Renews the lease until the scope closes; sets `state.lost` when it cannot. */
  const keepAlive = (token: string, state: { lost: boolean }) =>
    Effect.gen(function*() {
      let renewedAt = yield* Clock.currentTimeMillis
      while (true) {
        yield* Effect.sleep(Duration.millis(update))
        const renewed = yield* Effect.either(
          connection.run(path, (client) => client.eval(RENEW, 1, key, token, String(lease)))
        )
        const now = yield* Clock.currentTimeMillis
        if (renewed._tag === "Right" && renewed.right === 1) {
          renewedAt = now
          continue
        }
        if (renewed._tag === "Right" || now - renewedAt >= lease) {
          state.lost = true
          return yield* Effect.logWarning(
            `the lock ${key} on ${connection.location} was lost while held (${
              renewed._tag === "Right" ? "its lease ran out and another process took it" : renewed.left.message
            })`
          )
        }
      }
    })

  const acquire = Effect.gen(function*() {
    const token = randomBytes(16).toString("hex")
    // Each attempt with its release registered atomically; the waits between attempts stay interruptible.
    yield* Effect.acquireRelease(attempt(token), () => release(token)).pipe(
      Effect.retry({
        schedule: Schedule.exponential(Duration.millis(20), 1.5).pipe(
          Schedule.either(Schedule.spaced(Duration.millis(500))),
          Schedule.jittered,
          Schedule.upTo(options.timeout)
        ),
        while: (error) => error instanceof Busy
      }),
      Effect.catchIf(
        (error): error is Busy => error instanceof Busy,
        () =>
          new StoreError({
            reason: "Locked",
            path,
            detail: `another process held the lock for more than ${Duration.format(options.timeout)} (a refresh ` +
              `stuck at the identity provider?). It expires by itself ${Math.round(lease / 1000)} s after its holder ` +
              `stops renewing it`
          })
      )
    )
    const state = { lost: false }
    // Interruptible, whatever the caller's region: a lock taken in a finalizer (the credentials' last write when the
    // process ends) would otherwise inherit "uninterruptible" and renew itself forever, the scope never closing.
    yield* Effect.forkScoped(Effect.interruptible(keepAlive(token, state)))
    const held: HeldLock = {
      stillHeld: Effect.suspend(() =>
        state.lost
          ? Effect.succeed(false)
          : connection.run(path, (client) => client.get(key)).pipe(
            Effect.map((value) => value === token),
            Effect.orElseSucceed(() => false)
          )
      ),
      reportedLost: Effect.sync(() => state.lost)
    }
    return held
  })

  return { path, acquire }
}

/** The Redis lock over `connection`: `make(key, options)` locks the Redis key `key`. */
export const make = (connection: Connection): Service => ({
  make: (key, options) => makeLock(connection, key, options)
})
