/**
 * The non-streaming call's deadline (src/ai/internal/deadline.ts): on the live clock a plain timer over the work's own
 * fiber, under any other clock `Effect.timeoutFail`. Both must behave alike: the value or the work's own failure before
 * the deadline, the timeout error after it (the work interrupted first, its finalizers run), the timer gone once the
 * call has ended, and a caller's interruption passed on to the work.
 */
import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Deadline from "../../src/ai/internal/deadline.js"

class Late {
  readonly _tag = "Late"
}

const late = () => new Late()

/** A delay no other timer in the process uses, to find the deadline's own among them. */
const MILLIS = 4_321

const realSetTimeout = globalThis.setTimeout
const realClearTimeout = globalThis.clearTimeout

/** The timers set with the deadline's delay, and whether each was cleared. */
const watchTimers = () => {
  const set: Array<unknown> = []
  const cleared = new Set<unknown>()
  const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout")
  const clearTimeoutSpy = vi.spyOn(globalThis, "clearTimeout")
  setTimeoutSpy.mockImplementation(((handler: () => void, delay?: number, ...rest: Array<unknown>) => {
    const handle = realSetTimeout(handler, delay, ...rest)
    if (delay === MILLIS) set.push(handle)
    return handle
  }) as typeof setTimeout)
  clearTimeoutSpy.mockImplementation(((handle?: Parameters<typeof clearTimeout>[0]) => {
    cleared.add(handle)
    realClearTimeout(handle)
  }) as typeof clearTimeout)
  return { set, cleared }
}

afterEach(() => {
  vi.restoreAllMocks()
})

/** Work that runs until interrupted, saying when its finalizer has run. */
const endless = () => {
  const state = { finalized: false }
  const work = Effect.never.pipe(Effect.ensuring(Effect.sync(() => (state.finalized = true))))
  return { state, work }
}

describe("Deadline.within on the live clock", () => {
  it.live("the work's value before the deadline; its timer is cleared", () =>
    Effect.gen(function*() {
      const timers = watchTimers()
      const value = yield* Deadline.within(
        Effect.as(Effect.sleep("5 millis"), 42),
        Duration.millis(MILLIS),
        late
      )
      assert.strictEqual(value, 42)
      assert.strictEqual(timers.set.length, 1, "one plain timer for the deadline")
      assert.isTrue(timers.cleared.has(timers.set[0]), "the timer was cleared when the work ended")
    }))

  it.live("the work's own failure and defect before the deadline, as they are", () =>
    Effect.gen(function*() {
      const timers = watchTimers()
      const failed = yield* Effect.exit(Deadline.within(Effect.fail("refused" as const), Duration.millis(MILLIS), late))
      assert.deepStrictEqual(failed, Exit.fail("refused"))
      const died = yield* Effect.exit(Deadline.within(Effect.dieMessage("boom"), Duration.millis(MILLIS), late))
      assert.isTrue(Exit.isFailure(died) && Cause.isDie(died.cause))
      assert.strictEqual(timers.set.length, 2)
      assert.isTrue(timers.set.every((handle) => timers.cleared.has(handle)))
    }))

  it.live("past the deadline: the work is interrupted, its finalizers run, then the timeout error", () =>
    Effect.gen(function*() {
      const { state, work } = endless()
      const started = Date.now()
      const error = yield* Effect.flip(Deadline.within(work, Duration.millis(50), late))
      assert.instanceOf(error, Late)
      assert.isTrue(state.finalized, "the work was interrupted before the error came")
      assert.isAtLeast(Date.now() - started, 45)
    }))

  it.live("a finalizer that takes time is awaited before the timeout error", () =>
    Effect.gen(function*() {
      let ended = 0
      const work = Effect.never.pipe(
        Effect.ensuring(Effect.sleep("40 millis").pipe(Effect.zipRight(Effect.sync(() => (ended = Date.now())))))
      )
      const error = yield* Effect.flip(Deadline.within(work, Duration.millis(20), late))
      assert.instanceOf(error, Late)
      assert.isAbove(ended, 0, "the finalizer had finished")
      assert.isAtMost(ended, Date.now())
    }))

  it.live("an interrupted caller interrupts the work and clears the timer", () =>
    Effect.gen(function*() {
      const timers = watchTimers()
      let finalized = false
      // A finalizer that takes a while (an aborted request being closed): the caller ends after it.
      const work = Effect.never.pipe(
        Effect.ensuring(Effect.sleep("30 millis").pipe(Effect.zipRight(Effect.sync(() => (finalized = true)))))
      )
      const caller = yield* Effect.fork(Deadline.within(work, Duration.millis(MILLIS), late))
      yield* Effect.sleep("10 millis")
      const exit = yield* Fiber.interrupt(caller)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.isTrue(finalized, "the work was interrupted with its caller, and had ended")
      assert.strictEqual(timers.set.length, 1)
      assert.isTrue(timers.cleared.has(timers.set[0]))
    }))

  it.live("a deadline longer than a timer can hold does not fire at once", () =>
    Effect.gen(function*() {
      // `setTimeout` fires a delay over 2^31 - 1 ms after 1 ms: such a deadline goes to `Effect.timeoutFail`.
      const value = yield* Deadline.within(Effect.as(Effect.sleep("30 millis"), "done"), Duration.days(30), late)
      assert.strictEqual(value, "done")
    }))

  it.live("no deadline: the effect as it is", () =>
    Effect.gen(function*() {
      const timers = watchTimers()
      assert.strictEqual(yield* Deadline.within(Effect.succeed(1), Duration.infinity, late), 1)
      assert.strictEqual(timers.set.length, 0)
    }))
})

describe("Deadline.within under the TestClock", () => {
  it.effect("follows the test clock, with no timer of its own", () =>
    Effect.gen(function*() {
      const timers = watchTimers()
      const { state, work } = endless()
      const caller = yield* Effect.fork(Effect.flip(Deadline.within(work, Duration.millis(MILLIS), late)))
      yield* TestClock.adjust(Duration.millis(MILLIS - 1))
      assert.isTrue((yield* Fiber.poll(caller))._tag === "None", "still running 1 ms before the deadline")
      yield* TestClock.adjust(Duration.millis(1))
      const error = yield* Fiber.join(caller)
      assert.instanceOf(error, Late)
      assert.isTrue(state.finalized)
      assert.strictEqual(timers.set.length, 0, "no plain timer under the TestClock")
    }))
})
