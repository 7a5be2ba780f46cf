/**
 * The in-process `FileLock` (the core's, for runtimes without Node and single-process apps), and the auth profile
 * store's file backend over it with memory files: the store runs without anything of `effect-chutes/node`. The Node
 * lock (proper-lockfile) is exercised by test/AuthProfileStore*.test.ts and test/crash.test.ts.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import { StoreError } from "../src/ChutesError.js"
import * as FileLock from "../src/FileLock.js"
import * as PrivateFiles from "../src/PrivateFiles.js"

const options: FileLock.LockOptions = { stale: Duration.seconds(10), timeout: Duration.seconds(5) }

describe("FileLock.layerMemory", () => {
  it.effect("a second holder of the same file waits until the first one's scope closes", () =>
    Effect.gen(function*() {
      const locks = yield* FileLock.FileLock
      const lock = locks.make("/state/auth-profiles.json", options)
      assert.strictEqual(lock.path, "/state/auth-profiles.json.lock")
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const events: Array<string> = []
      const first = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const held = yield* lock.acquire
        events.push("first in")
        assert.isTrue(yield* held.stillHeld)
        assert.isFalse(yield* held.reportedLost)
        yield* Deferred.succeed(holding, undefined)
        yield* Deferred.await(release)
        events.push("first out")
      })))
      yield* Deferred.await(holding)
      const second = yield* Effect.fork(
        Effect.scoped(Effect.zipRight(lock.acquire, Effect.sync(() => events.push("second in"))))
      )
      yield* TestClock.adjust(Duration.seconds(1))
      assert.deepStrictEqual(events, ["first in"])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      assert.deepStrictEqual(events, ["first in", "first out", "second in"])
    }).pipe(Effect.provide(FileLock.layerMemory)))

  it.effect("another file is not excluded", () =>
    Effect.gen(function*() {
      const locks = yield* FileLock.FileLock
      yield* Effect.scoped(Effect.gen(function*() {
        yield* locks.make("/a/auth-profiles.json", options).acquire
        yield* locks.make("/b/auth-profiles.json", options).acquire
      }))
    }).pipe(Effect.provide(FileLock.layerMemory)))

  it.effect("a lock held past the time-out fails with Locked naming the file; the wait leaves nothing taken", () =>
    Effect.gen(function*() {
      const locks = yield* FileLock.FileLock
      const lock = locks.make("/state/auth-profiles.json", options)
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        Effect.scoped(
          Effect.zipRight(lock.acquire, Effect.zipRight(Deferred.succeed(holding, undefined), Deferred.await(release)))
        )
      )
      yield* Deferred.await(holding)
      const waiter = yield* Effect.fork(Effect.scoped(lock.acquire))
      yield* TestClock.adjust(Duration.seconds(4))
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiter)), "still waiting before the time-out")
      yield* TestClock.adjust(Duration.seconds(2))
      const exit = yield* Fiber.await(waiter)
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(exit)
      assert.instanceOf(error, StoreError)
      assert.strictEqual(error.reason, "Locked")
      assert.strictEqual(error.path, "/state/auth-profiles.json")
      // The timed-out waiter took no permit: once the holder lets go, the lock is free at once.
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      yield* Effect.scoped(lock.acquire)
    }).pipe(Effect.provide(FileLock.layerMemory)))

  it.effect("an interrupted wait takes nothing; a lock is released on failure and interruption of its holder", () =>
    Effect.gen(function*() {
      const locks = yield* FileLock.FileLock
      const lock = locks.make("/state/auth-profiles.json", options)
      const holding = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        Effect.scoped(
          Effect.zipRight(lock.acquire, Effect.zipRight(Deferred.succeed(holding, undefined), Effect.never))
        )
      )
      yield* Deferred.await(holding)
      const waiter = yield* Effect.fork(Effect.scoped(lock.acquire))
      yield* TestClock.adjust(Duration.seconds(1))
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiter)), "waiting")
      yield* Fiber.interrupt(waiter)
      yield* Fiber.interrupt(holder)
      yield* Effect.scoped(Effect.zipRight(lock.acquire, Effect.fail("boom"))).pipe(Effect.flip)
      yield* Effect.scoped(lock.acquire)
    }).pipe(Effect.provide(FileLock.layerMemory)))
})

describe("the file store without effect-chutes/node", () => {
  // No file system at all: the store reads and writes through the memory PrivateFiles, locked in process.
  const platform = (files: PrivateFiles.MemoryFiles) =>
    Layer.mergeAll(FileSystem.layerNoop({}), Path.layer, PrivateFiles.layerMemory(files), FileLock.layerMemory)

  it.effect("20 concurrent upserts over two store instances all land, in a 0700 directory and a 0600 file", () =>
    Effect.gen(function*() {
      const files = PrivateFiles.memoryFiles()
      const path = "/state/auth-profiles.json"
      const stores = yield* Effect.all([AuthProfileStore.makeFile(path), AuthProfileStore.makeFile(path)]).pipe(
        Effect.provide(platform(files))
      )
      yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) =>
          stores[i % 2]!.upsert(`chutes:user${i}`, { type: "api_key", provider: "chutes", key: `cpk_${i}` }),
        { concurrency: "unbounded" }
      )
      const set = yield* stores[0].load
      assert.strictEqual(set.profiles.size, 20)
      assert.deepStrictEqual(files.entries.get("/state")?.mode, 0o700)
      assert.deepStrictEqual(files.entries.get(path)?.mode, 0o600)
      const document = JSON.parse(files.entries.get(path)?.content ?? "{}")
      assert.strictEqual(document.version, 1)
      assert.strictEqual(Object.keys(document.profiles).length, 20)
    }))

  it.effect("what the SDK does not know is kept; an unsafe directory is refused", () =>
    Effect.gen(function*() {
      const path = "/state/auth-profiles.json"
      const files = PrivateFiles.memoryFiles([
        ["/state", { type: "Directory", mode: 0o700, uid: 1000 }],
        [path, {
          type: "File",
          mode: 0o600,
          uid: 1000,
          content: JSON.stringify({ version: 1, lastGood: { openai: "openai:default" }, profiles: {} })
        }]
      ])
      const store = yield* AuthProfileStore.makeFile(path).pipe(Effect.provide(platform(files)))
      yield* store.upsert("chutes:default", { type: "api_key", provider: "chutes", key: "cpk_1" })
      assert.deepStrictEqual(JSON.parse(files.entries.get(path)?.content ?? "{}"), {
        version: 1,
        lastGood: { openai: "openai:default" },
        profiles: { "chutes:default": { type: "api_key", provider: "chutes", key: "cpk_1" } }
      })
      files.entries.set("/state", { type: "Directory", mode: 0o777, uid: 1000 })
      const error = yield* Effect.flip(store.load)
      assert.strictEqual(error.reason, "Unsafe")
      assert.include(error.message, "world-writable")
    }))
})
