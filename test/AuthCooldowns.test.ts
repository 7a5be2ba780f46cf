/**
 * The cooldowns kept beside the auth profiles (`AuthProfileStore.Service.cooldowns`, src/AuthCooldowns.ts): in memory,
 * and in real files in a temp dir — `auth-cooldowns.json` next to `auth-profiles.json`, 0600, never touching the
 * profiles, a corrupt or oversize file never written over, no lost update under concurrent writers (fibers of two
 * service instances, and another process holding the file's lock), its own lock, the store's file policy, and
 * pruning of cooldowns that ended more than a day ago.
 */
import { assert, describe, it } from "@effect/vitest"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AuthCooldowns from "../src/AuthCooldowns.js"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import { StoreError } from "../src/ChutesError.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as NodeFileLock from "../src/node/NodeFileLock.js"
import * as NodePrivateFiles from "../src/node/NodePrivateFiles.js"
import { concurrentSetsAllLand, needsSignIn, rateLimited } from "./support/cooldowns.js"
import { lockHolder } from "./support/lockHolder.js"
import { portableFiles } from "./support/nodeFiles.js"

const HOUR = 3_600_000
const KEY = "cpk_default_key_0123456789abcdef"
const apiKey: AuthProfileStore.ApiKeyProfile = { type: "api_key", provider: "chutes", key: KEY }

/** The same file services with the hardened Node `PrivateFiles` (what `NodeChutes.layerPlatform` provides). */
const hardenedFiles = Layer.mergeAll(NodePrivateFiles.layer, NodeFileLock.layer).pipe(Layer.provideMerge(NodeContext.layer))

const FILES = [["portable", portableFiles], ["hardened", hardenedFiles]] as const

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "chutes-cooldowns-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const fileStore = (
  path: string,
  options: Omit<AuthProfileStore.FileOptions, "path"> = {},
  files: typeof portableFiles = portableFiles
) => AuthProfileStore.makeFile(path, options).pipe(Effect.provide(files))

const mode = (path: string): number => statSync(path).mode & 0o777

const failure = <A>(effect: Effect.Effect<A, StoreError>, reason: StoreError["reason"], path: string) =>
  Effect.map(Effect.flip(effect), (error) => {
    assert.instanceOf(error, StoreError)
    assert.strictEqual(error.reason, reason, error.message)
    assert.strictEqual(error.path, path)
    assert.include(error.message, path)
    return error
  })

describe("cooldowns in memory", () => {
  it.effect("set, load and clear round trip; clear returns the ids that had one", () =>
    Effect.gen(function*() {
      const store = yield* AuthProfileStore.makeMemory()
      const cooldowns = store.cooldowns
      assert.strictEqual(cooldowns.location, "memory")
      assert.strictEqual((yield* cooldowns.load).size, 0)
      yield* cooldowns.set("chutes:alice", rateLimited(0, 60_000))
      yield* cooldowns.set("chutes:bob", needsSignIn(5))
      yield* cooldowns.set("chutes:alice", { reason: "quota", since: 10, until: 20 })
      assert.deepStrictEqual(Array.from(yield* cooldowns.load), [
        ["chutes:alice", { reason: "quota", since: 10, until: 20 }],
        ["chutes:bob", needsSignIn(5)]
      ])
      assert.deepStrictEqual(yield* cooldowns.clear(["chutes:alice", "chutes:nobody", "chutes:alice"]), ["chutes:alice"])
      assert.deepStrictEqual(Array.from((yield* cooldowns.load).keys()), ["chutes:bob"])
      assert.deepStrictEqual(yield* cooldowns.clear(), ["chutes:bob"])
      assert.deepStrictEqual(yield* cooldowns.clear(), [])
      assert.strictEqual((yield* cooldowns.load).size, 0)
      // The profiles are another thing: untouched.
      assert.isFalse((yield* store.load).exists)
    }))

  it.effect("set drops the cooldowns that ended more than 24 hours before now (TestClock); needs-sign-in stays", () =>
    Effect.gen(function*() {
      const now = 100 * 24 * HOUR
      yield* TestClock.setTime(now)
      const cooldowns = yield* AuthCooldowns.makeMemory([
        ["chutes:old", rateLimited(now - 30 * HOUR, now - 24 * HOUR - 1)],
        ["chutes:edge", rateLimited(now - 30 * HOUR, now - 24 * HOUR)],
        ["chutes:recent", { reason: "daily-cap", since: now - 2 * HOUR, until: now - HOUR }],
        ["chutes:signin", needsSignIn(now - 90 * 24 * HOUR)]
      ])
      assert.strictEqual((yield* cooldowns.load).size, 4, "load returns ended cooldowns too")
      yield* cooldowns.set("chutes:new", rateLimited(now, now + 60_000))
      assert.deepStrictEqual(Array.from((yield* cooldowns.load).keys()), [
        "chutes:edge",
        "chutes:recent",
        "chutes:signin",
        "chutes:new"
      ])
      // A day later the edge and recent ones go as well.
      yield* TestClock.adjust("24 hours")
      yield* cooldowns.set("chutes:new", rateLimited(now, now + 60_000))
      assert.deepStrictEqual(Array.from((yield* cooldowns.load).keys()), ["chutes:signin", "chutes:new"])
    }))

  it("prune is pure and keeps what has no end", () => {
    const now = 10 * 24 * HOUR
    const pruned = AuthCooldowns.prune(
      new Map([["a", rateLimited(0, now - 25 * HOUR)], ["b", needsSignIn(0)], ["c", rateLimited(0, now - 23 * HOUR)]]),
      now
    )
    assert.deepStrictEqual(Array.from(pruned.keys()), ["b", "c"])
  })
})

describe("cooldowns in a file", () => {
  for (const [name, files] of FILES) {
    it.scopedLive(`${name}: auth-cooldowns.json next to auth-profiles.json, 0600, round trip, the profiles untouched`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const profilesPath = join(dir, "auth-profiles.json")
        const coolPath = join(dir, "auth-cooldowns.json")
        const store = yield* fileStore(profilesPath, {}, files)
        const t = Date.now()
        assert.strictEqual(store.cooldowns.location, coolPath)
        // Nothing yet: an empty map, and no file created by reading.
        assert.strictEqual((yield* store.cooldowns.load).size, 0)
        assert.deepStrictEqual(readdirSync(dir), [])

        // Cooldowns alone never create the profiles file.
        yield* store.cooldowns.set("chutes:alice", rateLimited(t, t + 60_000))
        assert.isFalse(existsSync(profilesPath))
        assert.deepStrictEqual(readdirSync(dir), ["auth-cooldowns.json"], "no lock or temp file left")

        yield* store.upsert("chutes:default", apiKey)
        const profileBytes = readFileSync(profilesPath)
        const profileMtime = statSync(profilesPath).mtimeMs
        yield* store.cooldowns.set("chutes:default", needsSignIn(t + 1))
        yield* store.cooldowns.set("chutes:alice", { reason: "daily-cap", since: t + 2, until: t + HOUR })
        assert.deepStrictEqual(JSON.parse(readFileSync(coolPath, "utf8")), {
          version: 1,
          cooldowns: {
            "chutes:alice": { reason: "daily-cap", since: t + 2, until: t + HOUR },
            "chutes:default": { reason: "needs-sign-in", since: t + 1, fingerprint: "fp01" }
          }
        })
        assert.strictEqual(mode(coolPath), 0o600)
        assert.deepStrictEqual(Array.from(yield* store.cooldowns.load), [
          ["chutes:alice", { reason: "daily-cap", since: t + 2, until: t + HOUR }],
          ["chutes:default", needsSignIn(t + 1)]
        ])
        // Another instance over the same file sees them.
        const other = yield* fileStore(profilesPath, {}, files)
        assert.strictEqual((yield* other.cooldowns.load).size, 2)

        assert.deepStrictEqual(yield* store.cooldowns.clear(["chutes:alice", "chutes:carol"]), ["chutes:alice"])
        assert.deepStrictEqual(yield* other.cooldowns.clear(), ["chutes:default"])
        assert.deepStrictEqual(JSON.parse(readFileSync(coolPath, "utf8")), { version: 1, cooldowns: {} })
        assert.strictEqual(mode(coolPath), 0o600)

        assert.isTrue(readFileSync(profilesPath).equals(profileBytes), "auth-profiles.json bytes unchanged")
        assert.strictEqual(statSync(profilesPath).mtimeMs, profileMtime)
        assert.deepStrictEqual(readdirSync(dir).sort(), ["auth-cooldowns.json", "auth-profiles.json"])
      }))
  }

  it.scopedLive("the file is in the directory of the store file, whatever its name; layerFile puts it in the state dir", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const custom = yield* fileStore(join(dir, "sub", "my-profiles.json"))
      assert.strictEqual(custom.cooldowns.location, join(dir, "sub", "auth-cooldowns.json"))
      yield* custom.cooldowns.set("chutes:alice", rateLimited(1, 2))
      assert.deepStrictEqual(readdirSync(join(dir, "sub")), ["auth-cooldowns.json"])
      assert.strictEqual(mode(join(dir, "sub")), 0o700, "the directory is created 0700")

      const stateDir = join(dir, "state")
      const fromLayer = yield* AuthProfileStore.AuthProfileStore.pipe(
        Effect.provide(AuthProfileStore.layerFile().pipe(
          Layer.provide(Layer.merge(ChutesSettings.layer({ stateDir }), portableFiles))
        ))
      )
      assert.strictEqual(fromLayer.cooldowns.location, join(stateDir, "auth-cooldowns.json"))
    }))

  it.scopedLive("without a state directory every cooldown operation fails with Io, naming the cooldown file", () =>
    Effect.gen(function*() {
      const store = yield* AuthProfileStore.AuthProfileStore.pipe(
        Effect.provide(AuthProfileStore.layerFile().pipe(
          Layer.provide(Layer.merge(ChutesSettings.layer({}), portableFiles))
        ))
      )
      assert.strictEqual(store.cooldowns.location, "auth-cooldowns.json")
      for (const attempt of [store.cooldowns.load, store.cooldowns.set("chutes:a", needsSignIn(1)), store.cooldowns.clear()]) {
        const error = yield* failure(attempt as Effect.Effect<unknown, StoreError>, "Io", "auth-cooldowns.json")
        assert.include(error.message, "no state directory (set CHUTES_STATE_DIR or HOME)")
        assert.include(error.message, "auth cooldown store")
      }
    }))

  it.scopedLive("a corrupt cooldown file is never written over: load, set and clear fail Corrupt, the bytes stay", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const profilesPath = join(dir, "auth-profiles.json")
      const coolPath = join(dir, "auth-cooldowns.json")
      const store = yield* fileStore(profilesPath)
      yield* store.upsert("chutes:default", apiKey)
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["{ not json", "not valid JSON"],
        ["", "the file is empty"],
        [JSON.stringify({ version: 2, cooldowns: {} }), "unsupported version 2"],
        [JSON.stringify({ cooldowns: {} }), "version"],
        [JSON.stringify({ version: 1, cooldowns: [] }), `"cooldowns" is missing or not an object`],
        [JSON.stringify({ version: 1, cooldowns: { "chutes:a": { reason: "bogus", since: 1 } } }), "chutes:a"],
        [`{"version":1,"cooldowns":{"chutes:a":{"reason":"quota","since":1,"until":1e309}}}`, "out of range"],
        // Past what a Date holds: every command that shows a cooldown failed with "Invalid time value".
        [`{"version":1,"cooldowns":{"chutes:a":{"reason":"quota","since":1,"until":1e300}}}`, "out of range"],
        [`{"version":1,"cooldowns":{"chutes:a":{"reason":"quota","since":-9e15,"until":1}}}`, "out of range"]
      ]
      for (const [text, why] of cases) {
        writeFileSync(coolPath, text, { mode: 0o600 })
        const bytes = readFileSync(coolPath)
        for (const attempt of [store.cooldowns.load, store.cooldowns.set("chutes:b", needsSignIn(1)), store.cooldowns.clear()]) {
          const error = yield* failure(attempt as Effect.Effect<unknown, StoreError>, "Corrupt", coolPath)
          assert.include(error.message, `The auth cooldown store ${coolPath} is not valid; it was left untouched`)
          assert.include(error.message, why)
        }
        assert.isTrue(readFileSync(coolPath).equals(bytes), `bytes identical after the failed set (${why})`)
        assert.deepStrictEqual(readdirSync(dir).sort(), ["auth-cooldowns.json", "auth-profiles.json"])
      }
      // The profiles are not affected by a broken cooldown file.
      assert.isTrue((yield* store.load).profiles.has("chutes:default"))
      yield* store.upsert("chutes:other", apiKey)
    }))

  it.scopedLive("a file over 64 KiB is Corrupt and stays; a set that would pass the cap writes nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const coolPath = join(dir, "auth-cooldowns.json")
      const store = yield* fileStore(join(dir, "auth-profiles.json"))
      const big = JSON.stringify({ version: 1, cooldowns: {} }) + " ".repeat(AuthCooldowns.MAX_BYTES)
      writeFileSync(coolPath, big, { mode: 0o600 })
      const bytes = readFileSync(coolPath)
      yield* failure(store.cooldowns.load, "Corrupt", coolPath)
      yield* failure(store.cooldowns.set("chutes:a", needsSignIn(1)), "Corrupt", coolPath)
      assert.isTrue(readFileSync(coolPath).equals(bytes))

      // Just under the cap is fine; an id long enough to pass it is refused before anything is written.
      rmSync(coolPath)
      yield* store.cooldowns.set("chutes:a", needsSignIn(1))
      const before = readFileSync(coolPath)
      const error = yield* failure(store.cooldowns.set("x".repeat(AuthCooldowns.MAX_BYTES), needsSignIn(1)), "Io", coolPath)
      assert.include(error.message, "nothing was written")
      assert.isTrue(readFileSync(coolPath).equals(before))
    }))

  it.scopedLive("the store's file policy applies: a group-writable directory is Unsafe unless allowed; a symlink is Unsafe", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const profilesPath = join(dir, "auth-profiles.json")
      const coolPath = join(dir, "auth-cooldowns.json")
      chmodSync(dir, 0o2770)
      const strict = yield* fileStore(profilesPath)
      const refused = yield* failure(strict.cooldowns.set("chutes:a", needsSignIn(1)), "Unsafe", coolPath)
      assert.include(refused.message, "Refusing to use the auth cooldown store")
      assert.include(refused.message, "CHUTES_ALLOW_GROUP_WRITABLE=1")
      yield* failure(strict.cooldowns.load, "Unsafe", coolPath)
      const allowed = yield* fileStore(profilesPath, { allowGroupWritable: true })
      yield* allowed.cooldowns.set("chutes:a", needsSignIn(1))
      assert.strictEqual((yield* allowed.cooldowns.load).size, 1)

      chmodSync(dir, 0o700)
      const elsewhere = join(dir, "elsewhere.json")
      writeFileSync(elsewhere, JSON.stringify({ version: 1, cooldowns: {} }), { mode: 0o600 })
      rmSync(coolPath)
      symlinkSync(elsewhere, coolPath)
      yield* failure(strict.cooldowns.load, "Unsafe", coolPath)
      yield* failure(strict.cooldowns.set("chutes:a", needsSignIn(1)), "Unsafe", coolPath)
      assert.deepStrictEqual(JSON.parse(readFileSync(elsewhere, "utf8")), { version: 1, cooldowns: {} })
    }))

  it.scopedLive("concurrent sets from many fibers on two service instances over the same dir all land", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "auth-profiles.json")
      const first = yield* fileStore(path)
      const second = yield* fileStore(path, {}, hardenedFiles)
      const ids = yield* concurrentSetsAllLand(first.cooldowns, second.cooldowns, first.cooldowns, Date.now())
      // And concurrent clears each report their own.
      const cleared = yield* Effect.forEach(
        ids,
        (id, i) => (i % 2 === 0 ? second : first).cooldowns.clear([id]),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(cleared, ids.map((id) => [id]))
      assert.strictEqual((yield* second.cooldowns.load).size, 0)
      assert.deepStrictEqual(readdirSync(dir), ["auth-cooldowns.json"], "no lock or temp file left")
    }))

  it.scopedLive("another process holding auth-cooldowns.json.lock: set waits and lands on top of its write", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const coolPath = join(dir, "auth-cooldowns.json")
      const store = yield* fileStore(join(dir, "auth-profiles.json"))
      const childWrite = JSON.stringify({ version: 1, cooldowns: { "chutes:child": needsSignIn(7) } })
      yield* lockHolder(coolPath, { holdMillis: 700, write: childWrite, writeMode: 0o600, staleMillis: 10_000 })
      const started = Date.now()
      yield* store.cooldowns.set("chutes:parent", needsSignIn(8))
      assert.isAbove(Date.now() - started, 300, "waited for the other process")
      assert.deepStrictEqual(Array.from((yield* store.cooldowns.load).keys()), ["chutes:child", "chutes:parent"])
    }))

  it.scopedLive("the cooldown file has its own lock: the profiles' lock does not hold it up, its own times out as Locked", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const profilesPath = join(dir, "auth-profiles.json")
      const coolPath = join(dir, "auth-cooldowns.json")
      const store = yield* fileStore(profilesPath, { lockTimeout: "400 millis", lockStale: "30 seconds" })
      yield* lockHolder(profilesPath, { staleMillis: 10_000 })
      const started = Date.now()
      yield* store.cooldowns.set("chutes:a", needsSignIn(1))
      assert.isBelow(Date.now() - started, 300)
      // The store's lock options apply to the cooldown file's lock.
      mkdirSync(`${coolPath}.lock`)
      const error = yield* failure(store.cooldowns.set("chutes:b", needsSignIn(2)), "Locked", coolPath)
      assert.include(error.message, "The auth cooldown store")
      assert.deepStrictEqual(Array.from((yield* store.cooldowns.load).keys()), ["chutes:a"])
    }))

  it.scopedLive("set drops cooldowns that ended more than 24 hours ago; needs-sign-in and recent ones stay", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const coolPath = join(dir, "auth-cooldowns.json")
      const now = Date.now()
      writeFileSync(
        coolPath,
        JSON.stringify({
          version: 1,
          cooldowns: {
            "chutes:old": rateLimited(now - 30 * HOUR, now - 25 * HOUR),
            "chutes:recent": { reason: "daily-cap", since: now - 24 * HOUR, until: now - 23 * HOUR },
            "chutes:signin": needsSignIn(now - 40 * 24 * HOUR)
          }
        }),
        { mode: 0o600 }
      )
      const store = yield* fileStore(join(dir, "auth-profiles.json"))
      assert.strictEqual((yield* store.cooldowns.load).size, 3, "load keeps ended ones")
      // clear does not prune
      assert.deepStrictEqual(yield* store.cooldowns.clear(["chutes:none"]), [])
      yield* store.cooldowns.set("chutes:new", rateLimited(now, now + 60_000))
      assert.deepStrictEqual(
        Object.keys((JSON.parse(readFileSync(coolPath, "utf8")) as { cooldowns: object }).cooldowns),
        ["chutes:recent", "chutes:signin", "chutes:new"]
      )
    }))
})
