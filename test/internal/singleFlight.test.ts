/**
 * The single-flight mechanism on its own: one run per key, results shared, the run owned by the scope, and the
 * `after` work (what the provider uses to write the disk cache once the callers have their catalog).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as SingleFlight from "../../src/internal/singleFlight.js"

describe("SingleFlight", () => {
  it.effect("concurrent callers of one key share one run; another key runs on its own", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const flight = SingleFlight.make<string, number, never>(scope)
      let runs = 0
      const gate = yield* Deferred.make<void>()
      const work = Effect.zipRight(Deferred.await(gate), Effect.sync(() => ++runs))
      const callers = yield* Effect.fork(Effect.all(Array.from({ length: 20 }, () => flight.run("a", work)), { concurrency: "unbounded" }))
      const other = yield* Effect.fork(flight.run("b", work))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Fiber.join(callers)
      const alone = yield* Fiber.join(other)
      assert.strictEqual(new Set(results).size, 1, "every caller of one key got the same run's result")
      assert.notStrictEqual(alone, results[0])
      assert.strictEqual(runs, 2)
    }))

  it.effect("`after` runs once, after every caller has the result, and closing the scope waits for it", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const flight = SingleFlight.make<string, string, never>(scope)
      const log: Array<string> = []
      const afterGate = yield* Deferred.make<void>()
      const after = (value: string) =>
        Effect.zipRight(Deferred.await(afterGate), Effect.sync(() => log.push(`after ${value}`)))
      const results = yield* Effect.all(
        Array.from({ length: 3 }, (_, i) =>
          flight.run("k", Effect.succeed("v"), after).pipe(Effect.tap(() => Effect.sync(() => log.push(`caller ${i}`))))),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(results, ["v", "v", "v"])
      assert.deepStrictEqual(log, ["caller 0", "caller 1", "caller 2"], "the callers resumed before the after work")
      // Closing waits for the (uninterruptible) after work instead of cutting it off.
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.yieldNow()
      assert.isNull(closing.unsafePoll(), "the close is waiting")
      yield* Deferred.succeed(afterGate, undefined)
      yield* Fiber.join(closing)
      assert.deepStrictEqual(log.slice(3), ["after v"])
    }))

  it.live("`after` waits for the event loop's next turn: code awaiting a caller's promise has gone on by then", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const flight = SingleFlight.make<string, string, never>(scope)
      const log: Array<string> = []
      const caller = Effect.runPromise(flight.run("k", Effect.succeed("v"), () => Effect.sync(() => log.push("after"))))
        .then(() => log.push("awaiting code"))
      yield* Effect.promise(() => caller)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(log, ["awaiting code", "after"])
    }))

  it.effect("`after` does not run when the run fails; the failure reaches every caller", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const flight = SingleFlight.make<string, string, string>(scope)
      let afters = 0
      const exits = yield* Effect.all(
        Array.from({ length: 2 }, () =>
          Effect.exit(flight.run("k", Effect.fail("boom"), () => Effect.sync(() => afters++)))),
        { concurrency: "unbounded" }
      )
      for (const exit of exits) assert.deepStrictEqual(exit, Exit.fail("boom"))
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(afters, 0)
    }))

  it.effect("closing the scope before the run's fiber starts: the caller sees the interruption, not a hang", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const flight = SingleFlight.make<string, string, never>(scope)
      const caller = yield* Effect.fork(flight.run("k", Effect.never))
      // Close as soon as the caller has forked the run, before the run's fiber has had a turn.
      yield* Effect.yieldNow()
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.await(caller)
      assert.isTrue(Exit.isInterrupted(exit))
    }))

  it.effect("closing the scope interrupts a run in flight; its callers see the interruption, not a hang", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const flight = SingleFlight.make<string, string, never>(scope)
      const started = yield* Deferred.make<void>()
      const caller = yield* Effect.fork(flight.run("k", Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)))
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.await(caller)
      assert.isTrue(Exit.isInterrupted(exit))
    }))
})
