/**
 * A deadline on an effect, driven by the `Clock` (so `TestClock` moves it), for the hot path of discovery.
 *
 * `Effect.timeoutFail` does the same with more machinery: it races two child fibers, merges the winner's fiber refs
 * back into the caller and waits for the loser to finish being interrupted. On a small discovery that cost about a
 * tenth of a whole raw request (bench/README.md). Here the effect and a sleeper run as two child fibers of the caller,
 * whichever ends first decides, and the other is interrupted without waiting for it: the sleeper only holds a timer,
 * and an effect past its deadline is abandoned (its interruption, e.g. aborting a request, completes on its own; the
 * runtime still waits for it when the caller's fiber ends, as for any child fiber).
 *
 * Differences from `Effect.timeoutFail`, on purpose: fiber refs the effect sets (log annotations, say) stay in its
 * fiber; and a caller running uninterruptibly gets the timeout at the deadline while the effect, uninterruptible like
 * its caller, runs on to its end in the background (`timeoutFail` would wait for it). A caller interrupted while
 * waiting interrupts both fibers and waits for them.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"

export const withDeadline = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  duration: Duration.DurationInput,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  // Uninterruptible until both fibers are forked; the wait itself is interruptible, and an interruption that lands
  // on it (even before it starts waiting) interrupts both fibers and waits for them.
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.fork(restore(self)), (work) =>
      Effect.flatMap(Effect.fork(Effect.interruptible(Effect.sleep(duration))), (sleeper) =>
        Effect.onInterrupt(
          restore(Effect.async<A, E | E2>((resume) => {
            let decided = false
            work.addObserver((exit) => {
              if (decided) return
              decided = true
              sleeper.unsafeInterruptAsFork(FiberId.none)
              resume(exit)
            })
            sleeper.addObserver((exit) => {
              // The sleeper ends early only when interrupted (by `work` winning or by the caller): not a timeout.
              if (decided || Exit.isFailure(exit)) return
              decided = true
              work.unsafeInterruptAsFork(FiberId.none)
              resume(Effect.failSync(onTimeout))
            })
          })),
          () => Fiber.interruptAll([work, sleeper])
        )))
  )
