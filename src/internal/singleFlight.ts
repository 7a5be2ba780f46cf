/**
 * One run per key in flight, shared by every caller: the mechanism behind the provider's discovery cache and the
 * per-profile OAuth refresh. The run belongs to the given scope, not to the caller that started it, so an interrupted
 * caller leaves the others waiting for a result that still comes.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"

export interface SingleFlight<K, A, E> {
  /** Runs `effect` for `key`, or joins the run already in flight for it. */
  readonly run: (key: K, effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
}

export const make = <K, A, E>(scope: Scope.Scope): SingleFlight<K, A, E> => {
  const flights = new Map<K, Deferred.Deferred<A, E>>()
  const run = (key: K, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      // Check and claim in one synchronous step, so concurrent callers see the flight.
      const pending = flights.get(key)
      if (pending !== undefined) return Deferred.await(pending)
      const deferred = Deferred.unsafeMake<A, E>(FiberId.none)
      flights.set(key, deferred)
      return effect.pipe(
        Effect.ensuring(Effect.sync(() => flights.delete(key))),
        Effect.intoDeferred(deferred),
        Effect.forkIn(scope),
        Effect.zipRight(Deferred.await(deferred))
      )
    })
  return { run }
}
