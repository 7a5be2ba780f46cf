/**
 * The discovery deadline on its own: the Clock decides, the loser is interrupted, errors and defects pass through,
 * and a caller interrupted while waiting interrupts the work.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scheduler from "effect/Scheduler"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import { withDeadline } from "../../src/internal/deadline.js"

const timedOut = { _tag: "TimedOut" } as const

/** Runs `effect` in a fiber whose children (the work and the sleeper) are counted while they live. */
const tracked = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const supervisor = yield* Supervisor.track
    const fiber = yield* Effect.fork(Effect.supervised(effect, supervisor))
    const live = Effect.map(supervisor.value, (fibers) => fibers.length)
    // An interruption sent without waiting lands after a few scheduler turns: give it up to 50.
    const settled = Effect.gen(function*() {
      for (let turn = 0; turn < 50 && (yield* live) > 0; turn++) yield* Effect.yieldNow()
      return yield* live
    })
    return { fiber, live, settled }
  })

describe("withDeadline", () => {
  it.effect("an effect that ends first wins, and its sleeper is gone while the caller goes on", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<number>()
      const carryOn = yield* Deferred.make<void>()
      const caller = Effect.zipLeft(withDeadline(Deferred.await(gate), "10 seconds", () => timedOut), Deferred.await(carryOn))
      const { fiber, live, settled } = yield* tracked(caller)
      yield* TestClock.adjust(Duration.millis(9999))
      assert.strictEqual(yield* live, 2, "the work and the sleeper")
      yield* Deferred.succeed(gate, 7)
      assert.strictEqual(yield* settled, 0, "the sleeper was interrupted while the caller still runs")
      yield* Deferred.succeed(carryOn, undefined)
      assert.strictEqual(yield* Fiber.join(fiber), 7)
    }))

  it.effect("at the deadline it fails with the timeout error and interrupts the effect", () =>
    Effect.gen(function*() {
      let interrupted = false
      const hang = Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
      const fiber = yield* Effect.fork(withDeadline(hang, "10 seconds", () => timedOut))
      yield* TestClock.adjust(Duration.millis(9999))
      assert.isNull(fiber.unsafePoll(), "still running 1 ms before the deadline")
      yield* TestClock.adjust(Duration.millis(1))
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(exit, Exit.fail(timedOut))
      yield* Effect.yieldNow()
      assert.isTrue(interrupted)
    }))

  it.effect("a typed failure and a defect pass through unchanged", () =>
    Effect.gen(function*() {
      const failed = yield* Effect.exit(withDeadline(Effect.fail("bad" as const), "1 second", () => timedOut))
      assert.deepStrictEqual(failed, Exit.fail("bad"))
      const boom = new Error("boom")
      const died = yield* Effect.exit(withDeadline(Effect.die(boom), "1 second", () => timedOut))
      assert.isTrue(Exit.isFailure(died))
      assert.deepStrictEqual(Exit.isFailure(died) ? Cause.dieOption(died.cause) : Option.none(), Option.some(boom))
    }))

  it.effect("a caller interrupted while waiting interrupts the effect and the sleeper, and waits for them", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      let cleanedUp = false
      const work = Deferred.succeed(started, undefined).pipe(
        Effect.zipRight(Effect.never),
        Effect.onInterrupt(() => Effect.zipRight(Deferred.await(release), Effect.sync(() => (cleanedUp = true))))
      )
      const supervisor = yield* Supervisor.track
      // The caller goes on after `withDeadline` returns: what it sees then is what was waited for (a fiber that
      // simply ended would wait for its children anyway).
      let seen: { readonly cleanedUp: boolean; readonly live: number } | undefined
      const caller = Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          Effect.exit(restore(withDeadline(work, "10 seconds", () => timedOut))),
          Effect.map(supervisor.value, (fibers) => (seen = { cleanedUp, live: fibers.length }))
        )
      )
      const fiber = yield* Effect.fork(Effect.supervised(caller, supervisor))
      yield* Deferred.await(started)
      const interrupter = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* Effect.yieldNow()
      assert.isUndefined(seen, "withDeadline has not returned while the effect cleans up")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(interrupter)
      assert.deepStrictEqual(seen, { cleanedUp: true, live: 0 }, "both fibers had ended when withDeadline returned")
    }))

  it.effect("an effect that has already ended when the wait starts is seen at once", () =>
    Effect.gen(function*() {
      // A scheduler that runs a forked fiber at once: `work` has ended before the wait looks at it.
      const immediate = Scheduler.make((task) => task())
      const fiber = yield* Effect.fork(
        withDeadline(Effect.succeed("now"), "1 second", () => timedOut).pipe(Effect.withScheduler(immediate))
      )
      for (let turn = 0; turn < 10 && fiber.unsafePoll() === null; turn++) yield* Effect.yieldNow()
      assert.deepStrictEqual(fiber.unsafePoll(), Exit.succeed("now"))
    }))
})
