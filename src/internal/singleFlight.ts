/**
 * One run per key in flight, shared by every caller: the mechanism behind the per-profile OAuth refresh, and with a
 * time to live on top ({@link memo}), the provider's in-memory catalog. The run belongs to the given scope, not to the
 * caller that started it, so an interrupted caller leaves the others waiting for a result that still comes.
 *
 * Not `effect/Cache`: its lookup runs on the fiber of the first caller, so interrupting that caller interrupts the
 * lookup for everyone; and it has no place for work that must follow a result once every caller has it (the
 * provider's disk-cache write, which closing the provider waits for).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"

export interface SingleFlight<K, A, E> {
  /**
   * Runs `effect` for `key`, or joins the run already in flight for it. `after`, when given, is work the run's fiber
   * does once every caller has the result and has gone on with it (e.g. writing it to disk): uninterruptibly, so
   * closing the scope waits for it, and without a fiber of its own.
   */
  readonly run: (
    key: K,
    effect: Effect.Effect<A, E>,
    after?: (a: A) => Effect.Effect<void>
  ) => Effect.Effect<A, E>
}

/**
 * Resumes in the event loop's next turn, after the current task's microtasks: by then the callers the hand-over woke
 * have normally resumed, and so has the code awaiting a `runPromise` of theirs (not if Effect's scheduler has moved
 * them to a timer after 2,048 nested microtask turns; then `after` merely runs first, which only delays them).
 * `setImmediate` where there is one (a zero timeout is at least 1 ms on Node and cost a caller about 50 µs of wall
 * time: bench/README.md), else a zero timeout.
 */
const nextMacrotask: Effect.Effect<void> = Effect.async<void>((resume) => {
  if (typeof globalThis.setImmediate === "function") {
    const handle = globalThis.setImmediate(() => resume(Effect.void))
    return Effect.sync(() => globalThis.clearImmediate(handle))
  }
  const handle = setTimeout(() => resume(Effect.void), 0)
  return Effect.sync(() => clearTimeout(handle))
})

export const make = <K, A, E>(scope: Scope.Scope): SingleFlight<K, A, E> => {
  const flights = new Map<K, Deferred.Deferred<A, E>>()
  const run = (key: K, effect: Effect.Effect<A, E>, after?: (a: A) => Effect.Effect<void>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      // Check and claim in one synchronous step, so concurrent callers see the flight.
      const pending = flights.get(key)
      if (pending !== undefined) return Deferred.await(pending)
      const deferred = Deferred.unsafeMake<A, E>(FiberId.none)
      flights.set(key, deferred)
      // Only `effect` is interruptible (by the scope closing): the hand-over to the callers and `after` always run.
      // The fiber is forked uninterruptible, so even a scope closed before it starts cannot skip the hand-over and
      // leave the callers waiting forever.
      const flight = Effect.uninterruptibleMask((restore) =>
        Effect.forkIn(
          Effect.flatMap(Effect.exit(restore(effect)), (exit) => {
            flights.delete(key)
            const handed = Deferred.done(deferred, exit)
            return after === undefined || Exit.isFailure(exit)
              ? handed
              : Effect.zipRight(handed, Effect.zipRight(nextMacrotask, after(exit.value)))
          }),
          scope
        )
      )
      return Effect.zipRight(flight, Deferred.await(deferred))
    })
  return { run }
}

/**
 * A {@link SingleFlight} that keeps each result until the time it gives (`expiresAt`, epoch milliseconds on the
 * `Clock`): a result's lifetime may depend on the result (a catalog for minutes, a failure for seconds).
 */
export interface Memo<K, A> {
  /**
   * The kept result for `key` while it has not expired (unless `force`), else `compute` run once for every caller in
   * flight (`after` as in {@link SingleFlight.run}). Storing a result drops the entries of other keys that expired.
   */
  readonly get: (
    key: K,
    options: {
      readonly force: boolean
      readonly compute: Effect.Effect<A>
      readonly after?: ((a: A) => Effect.Effect<void>) | undefined
    }
  ) => Effect.Effect<A>
  /** The kept result for `key` while it has not expired at `now` (epoch milliseconds on the `Clock`); no run. */
  readonly peek: (key: K, now: number) => A | undefined
}

export const memo = <K, A>(scope: Scope.Scope, expiresAt: (a: A) => number): Memo<K, A> => {
  const entries = new Map<K, A>()
  const flights = make<K, A, never>(scope)
  const peek: Memo<K, A>["peek"] = (key, now) => {
    const entry = entries.get(key)
    return entry !== undefined && expiresAt(entry) > now ? entry : undefined
  }
  const get: Memo<K, A>["get"] = (key, { after, compute, force }) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const entry = force ? undefined : peek(key, now)
      if (entry !== undefined) return Effect.succeed(entry)
      const store = Effect.tap(compute, (value) =>
        Effect.sync(() => {
          // Entries of other keys (an OAuth token rotates hourly) go once expired: the map stays small.
          for (const [other, old] of entries) if (expiresAt(old) <= now) entries.delete(other)
          entries.set(key, value)
        }))
      return flights.run(key, store, after)
    })
  return { get, peek }
}
