/**
 * The cooldowns of the shared auth profile store on a real `redis-server` (test/support/redisServer.ts): the hash
 * `<prefix>auth-cooldowns`, one field per profile id (src/node/redis/cooldowns.ts) — round trip, two connections
 * (two hosts) seeing each other's cooldowns, a field that does not decode skipped and replaced by the next set, ended
 * cooldowns pruned, and Redis stopped giving `StoreError` `Unreachable` without the URL's password.
 *
 * Without a redis-server binary the suite is skipped with a loud banner.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import { Redis } from "ioredis"
import type * as AuthCooldowns from "../src/AuthCooldowns.js"
import { StoreError } from "../src/ChutesError.js"
import * as NodeRedis from "../src/node/NodeRedis.js"
import { concurrentSetsAllLand, needsSignIn, rateLimited } from "./support/cooldowns.js"
import { redisMissing, redisServer } from "./support/redisServer.js"

const missing = redisMissing("test/redisCooldowns.test.ts")

const HOUR = 3_600_000

/** A raw client for looking at and tampering with the keys, closed with the scope. */
const rawClient = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(url, { maxRetriesPerRequest: 1 }).on("error", () => {})),
    (client) =>
      Effect.promise(() => client.quit().catch(() => undefined)).pipe(Effect.ensuring(Effect.sync(() => client.disconnect())))
  )

describe.skipIf(missing !== undefined)("auth cooldowns on Redis", () => {
  it.scopedLive("set, load and clear round trip in the hash <prefix>auth-cooldowns; the profiles are not touched", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const store = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "k:" })
      const cooldowns = store.cooldowns
      assert.strictEqual(cooldowns.location, `redis://127.0.0.1:${server.port} key k:auth-cooldowns`)
      assert.strictEqual((yield* cooldowns.load).size, 0)
      const now = Date.now()
      yield* cooldowns.set("chutes:alice", rateLimited(now, now + 60_000))
      yield* cooldowns.set("chutes:bob", needsSignIn(now))
      yield* cooldowns.set("chutes:alice", { reason: "quota", since: now + 1, until: now + HOUR })
      assert.deepStrictEqual(
        new Map(yield* cooldowns.load),
        new Map<string, AuthCooldowns.Cooldown>([
          ["chutes:alice", { reason: "quota", since: now + 1, until: now + HOUR }],
          ["chutes:bob", needsSignIn(now)]
        ])
      )
      // One field per profile id, holding the cooldown's JSON.
      const fields = yield* Effect.promise(() => raw.hgetall("k:auth-cooldowns"))
      assert.deepStrictEqual(Object.keys(fields).sort(), ["chutes:alice", "chutes:bob"])
      assert.deepStrictEqual(JSON.parse(fields["chutes:bob"] ?? ""), needsSignIn(now))
      assert.strictEqual(yield* Effect.promise(() => raw.exists("k:auth-profiles")), 0, "no profile written")

      assert.deepStrictEqual(yield* cooldowns.clear(["chutes:alice", "chutes:nobody", "chutes:alice"]), ["chutes:alice"])
      assert.deepStrictEqual(Array.from((yield* cooldowns.load).keys()), ["chutes:bob"])
      assert.deepStrictEqual(yield* cooldowns.clear([]), [])
      assert.deepStrictEqual(yield* cooldowns.clear(), ["chutes:bob"])
      assert.deepStrictEqual(yield* cooldowns.clear(), [])
      assert.strictEqual(yield* Effect.promise(() => raw.exists("k:auth-cooldowns")), 0)

      // Another prefix is another store.
      yield* cooldowns.set("chutes:alice", needsSignIn(now))
      const other = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "other:" })
      assert.strictEqual((yield* other.cooldowns.load).size, 0)
    }))

  it.scopedLive("two connections (two hosts) see each other's cooldowns; concurrent sets all land", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const a = yield* NodeRedis.makeAuthProfileStore({ url: server.url })
      const b = yield* NodeRedis.makeAuthProfileStore({ url: server.url })
      const now = Date.now()
      yield* a.cooldowns.set("chutes:alice", rateLimited(now, now + 60_000))
      assert.deepStrictEqual((yield* b.cooldowns.load).get("chutes:alice"), rateLimited(now, now + 60_000))
      yield* b.cooldowns.set("chutes:alice", needsSignIn(now))
      assert.deepStrictEqual((yield* a.cooldowns.load).get("chutes:alice"), needsSignIn(now))
      assert.deepStrictEqual(yield* b.cooldowns.clear(["chutes:alice"]), ["chutes:alice"])
      assert.strictEqual((yield* a.cooldowns.load).size, 0)

      yield* concurrentSetsAllLand(a.cooldowns, b.cooldowns, b.cooldowns, now)
    }))

  it.scopedLive("a field that does not decode is skipped (logged at debug level) and replaced by the next set", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const store = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "m:" })
      const now = Date.now()
      yield* store.cooldowns.set("chutes:good", needsSignIn(now))
      yield* Effect.promise(() =>
        raw.hset(
          "m:auth-cooldowns",
          "chutes:broken",
          "{ not json",
          "chutes:bogus",
          JSON.stringify({ reason: "bogus", since: 1 }),
          "chutes:huge",
          `{"reason":"quota","since":1,"until":1e309}`
        )
      )
      const lines: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        lines.push(`${logLevel.label} ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
      })
      const loaded = yield* store.cooldowns.load.pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
      assert.deepStrictEqual(Array.from(loaded.keys()), ["chutes:good"])
      assert.strictEqual(lines.length, 3, lines.join("\n"))
      for (const id of ["chutes:broken", "chutes:bogus", "chutes:huge"]) {
        assert.isTrue(lines.some((line) => line.startsWith("DEBUG") && line.includes(id)), `${id} logged`)
      }

      // The next set of that profile replaces it; the other broken fields stay until theirs.
      yield* store.cooldowns.set("chutes:broken", rateLimited(now, now + 60_000))
      assert.deepStrictEqual(
        new Map(yield* store.cooldowns.load),
        new Map([["chutes:good", needsSignIn(now)], ["chutes:broken", rateLimited(now, now + 60_000)]])
      )
      assert.strictEqual(yield* Effect.promise(() => raw.hlen("m:auth-cooldowns")), 4)
      // clear removes them like any other field.
      assert.deepStrictEqual((yield* store.cooldowns.clear(["chutes:bogus"])), ["chutes:bogus"])
    }))

  it.scopedLive("set drops cooldowns that ended more than 24 hours ago; needs-sign-in, recent and undecodable ones stay", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const store = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "p:" })
      const now = Date.now()
      yield* Effect.promise(() =>
        raw.hset(
          "p:auth-cooldowns",
          "chutes:old",
          JSON.stringify(rateLimited(now - 30 * HOUR, now - 25 * HOUR)),
          "chutes:recent",
          JSON.stringify({ reason: "daily-cap", since: now - 24 * HOUR, until: now - 23 * HOUR }),
          "chutes:signin",
          JSON.stringify(needsSignIn(now - 40 * 24 * HOUR)),
          "chutes:broken",
          "{ not json"
        )
      )
      assert.strictEqual((yield* store.cooldowns.load).size, 3, "load keeps ended ones")
      yield* store.cooldowns.set("chutes:new", rateLimited(now, now + 60_000))
      const fields = yield* Effect.promise(() => raw.hkeys("p:auth-cooldowns"))
      assert.deepStrictEqual(fields.sort(), ["chutes:broken", "chutes:new", "chutes:recent", "chutes:signin"])
    }))

  it.scopedLive("Redis stopped: StoreError Unreachable naming the masked location, never the password; back once it is", () =>
    Effect.gen(function*() {
      const password = "s3cret-cooldown-pw"
      const server = yield* redisServer({ password })
      const store = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "u:", commandTimeout: "400 millis" })
      const now = Date.now()
      yield* store.cooldowns.set("chutes:alice", needsSignIn(now))
      assert.strictEqual(store.cooldowns.location, `redis://:***@127.0.0.1:${server.port} key u:auth-cooldowns`)

      yield* Effect.promise(() => server.stop())
      const attempts: ReadonlyArray<Effect.Effect<unknown, StoreError>> = [
        store.cooldowns.load,
        store.cooldowns.set("chutes:alice", needsSignIn(now)),
        store.cooldowns.clear(),
        store.cooldowns.clear(["chutes:alice"])
      ]
      for (const attempt of attempts) {
        const started = Date.now()
        const error = yield* Effect.flip(attempt)
        assert.isBelow(Date.now() - started, 5000)
        assert.instanceOf(error, StoreError)
        assert.strictEqual(error.reason, "Unreachable", error.message)
        assert.strictEqual(error.path, store.cooldowns.location)
        assert.include(error.message, `The shared auth cooldown store redis://:***@127.0.0.1:${server.port} key u:auth-cooldowns`)
        assert.include(error.message, "Check that Redis is running and reachable from this host")
        assert.match(error.message, /ECONNREFUSED|Connection is closed|max retries/i)
        for (const text of [error.message, String(error), JSON.stringify(error)]) assert.notInclude(text, password)
      }

      // Back (empty: no persistence here): the store works again.
      yield* Effect.promise(() => server.start())
      // The client reconnects in the background, at most 2 s apart.
      yield* store.cooldowns.set("chutes:alice", needsSignIn(now)).pipe(
        Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("5 seconds")))
      )
      assert.strictEqual((yield* store.cooldowns.load).size, 1)
    }), { timeout: 30_000 })
})
