/**
 * The deadline of a non-streaming call: `Effect.timeoutFail`'s behaviour (the effect, or `onTimeout`'s error once the
 * duration has passed, the effect interrupted first — its request aborted), at a fraction of its cost on the live
 * clock.
 *
 * Hand-made for speed (bench/README.md, "Fifth pass"). `Effect.timeoutFail` races the work against a timer fiber: a
 * fork of each, the race, and the timer fiber's interruption awaited when the work wins — ~80 µs of CPU on every call,
 * most of what kept one completion over its target against the `openai` client. On the live clock the work is forked
 * alone, a plain timer interrupts it, and the caller waits on the fiber's exit. Under any other clock (the
 * `TestClock`, an app's own) the deadline is `Effect.timeoutFail` itself, so tests drive it with the clock as before;
 * so is a duration longer than a timer can hold (the live clock's own timers never fire then either).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/** The longest delay `setTimeout` keeps (a longer one fires at once). */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

/** `effect` failing with `onTimeout()` after `duration` (as it is when the duration is infinite). */
export const within = <A, E, R, E1>(
  effect: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E1
): Effect.Effect<A, E | E1, R> => {
  if (!Duration.isFinite(duration)) return effect
  const millis = Duration.toMillis(duration)
  return Effect.clockWith((clock) =>
    clock === liveClock && millis <= MAX_TIMER_MILLIS
      ? onLiveClock(effect, millis, onTimeout)
      : Effect.timeoutFail(effect, { duration, onTimeout })
  )
}

/**
 * The work in a child fiber, a timer that interrupts it, the caller resumed by the child's exit: its value, its
 * failure, or `onTimeout()` once the timer has fired and the child has ended. A caller interrupted meanwhile clears the
 * timer and interrupts the child, awaiting it.
 *
 * Unlike `Effect.timeoutFail`, the child's fiber refs are not joined back into the caller: that join diffs every fiber
 * ref, the whole context among them (~30 µs a call), and a completion sets no fiber ref that outlives it (the SDK's
 * code, `@effect/ai`'s provider path and the platform's client only ever set them for a region).
 */
const onLiveClock = <A, E, R, E1>(
  effect: Effect.Effect<A, E, R>,
  millis: number,
  onTimeout: () => E1
): Effect.Effect<A, E | E1, R> =>
  Effect.fiberIdWith((caller) =>
    Effect.flatMap(Effect.fork(effect), (worker) =>
      Effect.async<A, E | E1>((resume) => {
        let timedOut = false
        const timer = setTimeout(() => {
          timedOut = true
          worker.unsafeInterruptAsFork(caller)
        }, millis)
        worker.addObserver((exit) => {
          clearTimeout(timer)
          resume(timedOut && Exit.isFailure(exit) ? Effect.fail(onTimeout()) : exit)
        })
        return Effect.suspend(() => {
          clearTimeout(timer)
          return Fiber.interrupt(worker)
        })
      }))
  )
