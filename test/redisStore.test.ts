/**
 * The auth profile store and the catalog cache on a real `redis-server` (test/support/redisServer.ts: one per test, on
 * a free loopback port, persistence off): the OpenClaw document kept whole under a key prefix, the refresh lock
 * (set-if-absent with a lease, renewed while held, released by its holder only), compare-and-set writes (a holder whose
 * lease ran out never writes over a newer write), Redis stopped or hanging mid-run (typed errors that say what to
 * check, the URL's password never shown, nothing deleted, recovery once it is back), and a host with an empty state
 * directory and only `CHUTES_REDIS_URL` listing models with the shared sign-in.
 *
 * Without a redis-server binary the suite is skipped with a loud banner.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as CatalogCache from "../src/CatalogCache.js"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import { StoreError } from "../src/ChutesError.js"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as NodeChutes from "../src/node/NodeChutes.js"
import * as NodeRedis from "../src/node/NodeRedis.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import { redisMissing, redisServer } from "./support/redisServer.js"

const missing = redisMissing("test/redisStore.test.ts")

/** A raw client for looking at and tampering with the keys, closed with the scope. */
const rawClient = (url: string) =>
  Effect.acquireRelease(Effect.sync(() => new Redis(url, { maxRetriesPerRequest: 1 }).on("error", () => {})), (client) =>
    Effect.promise(() => client.quit().catch(() => undefined)).pipe(Effect.ensuring(Effect.sync(() => client.disconnect()))))

const storeError = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.flatMap(Effect.either(effect), (result) => {
    assert.isTrue(Either.isLeft(result), "expected a failure")
    const error = (result as Either.Left<E, A>).left
    assert.instanceOf(error, StoreError)
    return Effect.succeed(error as unknown as StoreError)
  })

/** The shared catalog cache at `url`, open for the test's scope. */
const cacheOf = (url: string, keyPrefix: string) =>
  Effect.map(Layer.build(NodeRedis.layerCatalogCache({ url, keyPrefix })), Context.get(CatalogCache.CatalogCache))

/** An OAuth profile of `issued` (tokens of `fake`) whose refresh is due. */
const dueProfile = (
  fake: FakeChutes.FakeChutesServer,
  issued: { readonly access: string; readonly refresh: string }
): AuthProfileStore.ChutesProfile => ({
  type: "oauth",
  provider: "chutes",
  access: issued.access,
  refresh: issued.refresh,
  expires: Date.now() - 1000,
  clientId: fake.clientId,
  clientSecret: Redacted.make(fake.clientSecret ?? "")
})

const apiKey = (key: string): AuthProfileStore.ChutesProfile => ({ type: "api_key", provider: "chutes", key })

describe.skipIf(missing !== undefined)("auth profile store on Redis", () => {
  it.scopedLive("a write from a finalizer (the credentials' last write at exit) ends and leaves no lock behind", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const store = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "fin:" })
      // A finalizer runs uninterruptibly; the lock's renewal fiber forked there used to inherit it and never stop.
      const closed = yield* Effect.scoped(
        Effect.addFinalizer(() => Effect.orDie(store.upsert("chutes:default", apiKey("cpk_written_at_exit"))))
      ).pipe(Effect.disconnect, Effect.timeout("10 seconds"), Effect.either)
      assert.isTrue(Either.isRight(closed), "the scope closed")
      const loaded = yield* store.load
      assert.deepStrictEqual(loaded.profiles.get("chutes:default"), apiKey("cpk_written_at_exit"))
      assert.strictEqual(yield* Effect.promise(() => raw.exists("fin:auth-profiles:lock")), 0, "the lock is released")
    }))

  it.scopedLive("a refresh Redis would not let land is not made: a version that is no number, a client that may not write", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const fake = yield* FakeChutes.make({})
      const refreshWith = (url: string, prefix: string) =>
        ChutesCredentials.makeStored({ sources: "profiles-only", recheckAfter: "0 millis" }).pipe(
          Effect.flatMap((credentials) => Effect.flip(credentials.get)),
          Effect.provideServiceEffect(
            AuthProfileStore.AuthProfileStore,
            NodeRedis.makeAuthProfileStore({ url, keyPrefix: prefix })
          ),
          Effect.provide(
            ChutesOAuth.layer().pipe(
              Layer.provide(Layer.merge(ChutesSettings.layer({ idpBaseUrl: fake.idpBaseUrl }), FetchHttpClient.layer))
            )
          )
        )
      const due = (prefix: string) =>
        Effect.flatMap(
          NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: prefix }),
          (store) => store.upsert("chutes:alice", dueProfile(fake, fake.issueTokens()))
        )

      // A version another tool made a word: the compare-and-set could never bump it.
      yield* due("v:")
      yield* Effect.promise(() => raw.hset("v:auth-profiles", "version", "abc"))
      const version = yield* refreshWith(server.url, "v:")
      assert.strictEqual(version.reason, "Store")
      assert.include(version.message, "its version field is not a number")
      assert.include(version.message, "was not refreshed")

      // A user whose ACL lets it take the lock and read the document, not write it.
      yield* due("a:")
      yield* Effect.promise(() =>
        raw.call("ACL", "SETUSER", "reader", "on", ">reader-pw", "resetkeys", "~a:auth-profiles:lock", "%R~a:auth-profiles", "+@all")
      )
      const readerUrl = server.url.replace("redis://", "redis://reader:reader-pw@")
      const acl = yield* refreshWith(readerUrl, "a:")
      assert.strictEqual(acl.reason, "Store")
      assert.include(acl.message, "NOPERM")
      assert.include(acl.message, "was not refreshed")
      assert.notInclude(acl.message, "reader-pw")

      assert.strictEqual(fake.counters.tokenByGrant.refresh_token, 0, "no refresh token was spent")
      // The store is as it was, and a client that may write refreshes it.
      // (`refreshWith` flips: flipped back, the credential.)
      const after = yield* refreshWith(server.url, "a:").pipe(Effect.flip, Effect.either)
      assert.isTrue(Either.isRight(after) && Option.isSome(after.right), "refreshed")
      assert.strictEqual(fake.counters.tokenByGrant.refresh_token, 1)
      assert.strictEqual(fake.counters.invalidGrant, 0)
    }))

  it.scopedLive("reads are bounded: a document, cooldowns or a catalog cache over its cap is refused without being sent", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const sent = Effect.map(
        Effect.promise(() => raw.info("stats")),
        (info) => Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1] ?? Number.NaN)
      )
      const big = "x".repeat(5 * 1024 * 1024)
      yield* Effect.promise(() => raw.hset("b:auth-profiles", "doc", big, "version", "1"))
      for (let i = 0; i < 40; i++) {
        yield* Effect.promise(() => raw.hset("b:auth-cooldowns", `chutes:p${i}`, "y".repeat(4096)))
      }
      yield* Effect.promise(() => raw.set("b:models-cache", "z".repeat(17 * 1024 * 1024)))
      const store = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "b:" })
      const cache = yield* cacheOf(server.url, "b:")

      const before = yield* sent
      const profiles = yield* storeError(store.load)
      assert.strictEqual(profiles.reason, "Corrupt")
      assert.include(profiles.message, "over the cap of 4 MiB")
      const cooldowns = yield* storeError(store.cooldowns.load)
      assert.strictEqual(cooldowns.reason, "Corrupt")
      assert.include(cooldowns.message, "over the cap of 64 KiB")
      assert.isTrue(Option.isNone(yield* cache.load), "no cache")
      const after = yield* sent
      assert.isBelow(after - before, 256 * 1024, "the values were not sent")
      assert.strictEqual(yield* Effect.promise(() => raw.hstrlen("b:auth-profiles", "doc")), big.length, "left as it was")
    }))

  it.scopedLive("the shared cache: a catalog its reader would refuse (no models) is not written; a good one is read back", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const cache = yield* cacheOf(server.url, "s:")
      const model = { id: "acme/One-TEE", name: "acme/One-TEE", contextWindow: 1000, input: ["text" as const], reasoning: false }
      yield* cache.save({ version: 1, baseUrl: "http://x/v1", fetchedAt: Date.now(), models: [] })
      assert.strictEqual(yield* Effect.promise(() => raw.exists("s:models-cache")), 0, "nothing written")
      yield* cache.save({ version: 1, baseUrl: "http://x/v1", fetchedAt: 1_796_530_826_235.5, models: [model] })
      const loaded = yield* cache.load
      assert.isTrue(Option.isSome(loaded))
      assert.strictEqual(Option.getOrThrow(loaded).fetchedAt, 1_796_530_826_235.5)
      // Under the cap in characters, over it in bytes (CJK names: three bytes a character): not written, as the
      // reader would refuse it.
      const wide = Array.from({ length: 6_000 }, (_, i) => ({ ...model, id: `acme/M${i}`, name: "模".repeat(1_000) }))
      yield* cache.save({ version: 1, baseUrl: "http://y/v1", fetchedAt: Date.now(), models: wide })
      const kept = Option.getOrThrow(yield* cache.load)
      assert.strictEqual(kept.baseUrl, "http://x/v1", "the earlier catalog is left, not replaced by one too large to read")
    }))

  it.scopedLive("a user with the ACL of earlier releases (no HSTRLEN, STRLEN) still works, warned once; one refused HSET is Permission", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const acl = ["on", ">old-pw", "resetkeys", "~o:*", "-@all"]
      for (const command of ["info", "get", "set", "hget", "hmget", "hgetall", "hset", "hdel", "hkeys", "del", "pexpire", "eval"]) {
        acl.push(`+${command}`)
      }
      yield* Effect.promise(() => raw.call("ACL", "SETUSER", "old", ...acl))
      const url = server.url.replace("redis://", "redis://old:old-pw@")
      const lines: Array<string> = []
      const logged = Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void lines.push(String(message)))))
      yield* Effect.gen(function*() {
        const store = yield* NodeRedis.makeAuthProfileStore({ url, keyPrefix: "o:" })
        yield* store.upsert("chutes:default", apiKey("cpk_old_acl"))
        yield* store.upsert("chutes:work", apiKey("cpk_old_acl_2"))
        assert.deepStrictEqual([...(yield* store.load).profiles.keys()], ["chutes:default", "chutes:work"])
        yield* store.cooldowns.set("chutes:work", { reason: "quota", since: Date.now(), until: Date.now() + 60_000 })
        assert.isTrue((yield* store.cooldowns.load).has("chutes:work"))
        const cache = yield* cacheOf(url, "o:")
        assert.isTrue(Option.isNone(yield* cache.load))
      }).pipe(logged)
      for (const [key, command] of [["o:auth-profiles", "HSTRLEN"], ["o:auth-cooldowns", "HSTRLEN"], ["o:models-cache", "STRLEN"]]) {
        const said = lines.filter((line) => line.includes(`key ${key}:`) && line.includes(`may not run ${command}`))
        assert.strictEqual(said.length, 1, `${key}: ${JSON.stringify(lines)}`)
      }
      assert.isFalse(lines.some((line) => line.includes("old-pw")))

      // A user that may not write the hash: the write's script is refused — Permission, with what to check.
      yield* Effect.promise(() => raw.call("ACL", "SETUSER", "old", "-hset"))
      const store = yield* NodeRedis.makeAuthProfileStore({ url, keyPrefix: "o:" })
      const refused = yield* storeError(store.upsert("chutes:other", apiKey("cpk_refused")))
      assert.strictEqual(refused.reason, "Permission", refused.message)
      assert.include(refused.message, "the ACL of that user")
    }))

  it.scopedLive("a key of another type is Corrupt (fix or delete it), not \"cannot be reached\"", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      yield* Effect.promise(() => raw.set("w:auth-profiles", "a plain string"))
      const store = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "w:" })
      const error = yield* storeError(store.load)
      assert.strictEqual(error.reason, "Corrupt")
      assert.include(error.message, "WRONGTYPE")
      assert.include(error.message, "fix or delete the key")
      assert.strictEqual(yield* Effect.promise(() => raw.get("w:auth-profiles")), "a plain string")
    }))

  it.scopedLive("keeps the OpenClaw document whole under its key prefix; a corrupt one is never written over", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const document = {
        version: 1,
        profiles: {
          "openai:default": { type: "api_key", provider: "openai", key: "sk-openai-0123456789abcdef" },
          "chutes:alice": {
            type: "oauth",
            provider: "chutes",
            access: "cak_a",
            refresh: "crt_a",
            expires: 1,
            note: "kept"
          }
        },
        order: { chutes: ["chutes:alice"] }
      }
      yield* Effect.promise(() => raw.hset("t1:auth-profiles", "doc", JSON.stringify(document), "version", "7"))
      const store = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "t1:" })
      assert.strictEqual(store.location, `redis://127.0.0.1:${server.port} key t1:auth-profiles`)
      const loaded = yield* store.load
      assert.deepStrictEqual(Array.from(loaded.profiles.keys()), ["chutes:alice"])

      yield* store.upsert("chutes:default", apiKey("cpk_new"))
      const [text, version] = yield* Effect.promise(() => raw.hmget("t1:auth-profiles", "doc", "version"))
      assert.strictEqual(version, "8", "every write bumps the version")
      const written = JSON.parse(text ?? "") as typeof document & { profiles: Record<string, unknown> }
      assert.deepStrictEqual(Object.keys(written.profiles), ["openai:default", "chutes:alice", "chutes:default"])
      assert.deepStrictEqual(written.profiles["openai:default"], document.profiles["openai:default"])
      assert.deepStrictEqual(written.profiles["chutes:alice"], document.profiles["chutes:alice"])
      assert.deepStrictEqual(written.order, document.order)
      assert.isTrue(yield* store.remove("chutes:default"))
      assert.isFalse(yield* store.remove("openai:default"), "other providers' profiles are never removed")
      assert.strictEqual(yield* Effect.promise(() => raw.exists("t1:auth-profiles:lock")), 0, "the lock is released")

      // Another prefix is another store.
      const other = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "t2:" })
      assert.strictEqual((yield* other.load).profiles.size, 0)

      // A document that does not decode fails every operation and stays as it is.
      yield* Effect.promise(() => raw.hset("t3:auth-profiles", "doc", "{ not json", "version", "1"))
      const broken = yield* NodeRedis.makeAuthProfileStore({ url: server.url, keyPrefix: "t3:" })
      const error = yield* storeError(broken.upsert("chutes:default", apiKey("cpk_x")))
      assert.strictEqual(error.reason, "Corrupt")
      assert.strictEqual(yield* Effect.promise(() => raw.hget("t3:auth-profiles", "doc")), "{ not json")
    }))

  it.scopedLive("the refresh lock: one holder at a time across connections, renewed while held, released by its holder only", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const options = { url: server.url, keyPrefix: "l:", lockLease: "1 second" } as const
      const a = yield* NodeRedis.makeAuthProfileStore(options)
      const b = yield* NodeRedis.makeAuthProfileStore(options)
      const events: Array<string> = []
      const tokens = new Set<string | null>()
      // A holds the lock for 2.5 leases: its renewals keep B out the whole time.
      const slow = a.modify(() =>
        Effect.gen(function*() {
          events.push("a:start")
          for (let i = 0; i < 10; i++) {
            tokens.add(yield* Effect.promise(() => raw.get("l:auth-profiles:lock")))
            yield* Effect.sleep("250 millis")
          }
          events.push("a:end")
          return [undefined, [{ _tag: "Upsert", id: "chutes:a", profile: apiKey("cpk_a") }]] as const
        })
      )
      const fiber = yield* Effect.fork(slow)
      yield* Effect.sleep("100 millis")
      yield* b.modify(() => Effect.sync(() => events.push("b")).pipe(Effect.as([undefined, []] as const)))
      yield* fiber.await
      assert.deepStrictEqual(events, ["a:start", "a:end", "b"])
      assert.strictEqual(tokens.size, 1, "the same token all along")
      assert.isFalse(tokens.has(null))

      // A lock that is someone else's by the time the holder finishes is not released by it.
      yield* a.modify(() =>
        Effect.promise(() => raw.set("l:auth-profiles:lock", "someone-else")).pipe(Effect.as([undefined, []] as const))
      )
      assert.strictEqual(yield* Effect.promise(() => raw.get("l:auth-profiles:lock")), "someone-else")
      // …and while it stays, the lock cannot be taken (Locked after the time-out).
      const c = yield* NodeRedis.makeAuthProfileStore({ ...options, lockTimeout: "300 millis" })
      const locked = yield* storeError(c.upsert("chutes:c", apiKey("cpk_c")))
      assert.strictEqual(locked.reason, "Locked")
      // A lock left by a holder that died expires with its lease.
      yield* Effect.promise(() => raw.set("l:auth-profiles:lock", "dead-holder", "PX", 500))
      const started = Date.now()
      yield* b.upsert("chutes:c", apiKey("cpk_c"))
      assert.isAbove(Date.now() - started, 300, "waited for the dead holder's lease")
      assert.isTrue((yield* c.load).profiles.has("chutes:c"))
    }))

  it.scopedLive("compare-and-set: a holder whose lease ran out does not write over a newer write", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const options = { url: server.url, keyPrefix: "c:", lockLease: "1 second" } as const
      const late = yield* NodeRedis.makeAuthProfileStore(options)
      const other = yield* NodeRedis.makeAuthProfileStore(options)
      yield* other.upsert("chutes:alice", { type: "oauth", provider: "chutes", access: "cak_0", refresh: "crt_0", expires: 1 })

      // The late holder's lease runs out (its key expires: here, deleted) and another process writes meanwhile.
      const error = yield* storeError(late.modify(() =>
        Effect.gen(function*() {
          yield* Effect.promise(() => raw.del("c:auth-profiles:lock"))
          yield* other.upsert("chutes:alice", {
            type: "oauth",
            provider: "chutes",
            access: "cak_new",
            refresh: "crt_new",
            expires: 2
          })
          return [undefined, [{
            _tag: "Upsert",
            id: "chutes:alice",
            profile: { type: "oauth", provider: "chutes", access: "cak_stale", refresh: "crt_stale", expires: 3 }
          }]] as const
        })
      ))
      assert.strictEqual(error.reason, "LeaseLost")
      assert.include(error.message, "expired while this process held it")
      const alice = (yield* other.load).profiles.get("chutes:alice")
      assert.strictEqual(alice?.type === "oauth" ? alice.refresh : undefined, "crt_new", "the newer write stands")
      assert.strictEqual(yield* Effect.promise(() => raw.hget("c:auth-profiles", "version")), "2")

      // Lease lost but nobody wrote: the write lands (nothing newer to protect; the rotated tokens are kept).
      yield* late.modify(() =>
        Effect.promise(() => raw.del("c:auth-profiles:lock")).pipe(
          Effect.as([undefined, [{ _tag: "Upsert", id: "chutes:bob", profile: apiKey("cpk_bob") }]] as const)
        )
      )
      assert.isTrue((yield* other.load).profiles.has("chutes:bob"))

      // Lock still ours, but a late writer changed the document: our changes (deltas) go onto the new content.
      yield* late.modify(() =>
        Effect.gen(function*() {
          const [doc, version] = yield* Effect.promise(() => raw.hmget("c:auth-profiles", "doc", "version"))
          const parsed = JSON.parse(doc ?? "") as { profiles: Record<string, unknown> }
          parsed.profiles["chutes:carol"] = apiKey("cpk_carol")
          yield* Effect.promise(() =>
            raw.hset("c:auth-profiles", "doc", JSON.stringify(parsed), "version", String(Number(version) + 1))
          )
          return [undefined, [{ _tag: "Upsert", id: "chutes:dave", profile: apiKey("cpk_dave") }]] as const
        })
      )
      const profiles = (yield* other.load).profiles
      assert.isTrue(profiles.has("chutes:carol") && profiles.has("chutes:dave") && profiles.has("chutes:alice"))
    }))

  it.scopedLive("a lease lost mid-refresh while another host wrote: LeaseLost, the rotated tokens kept and written later, nothing lost", () =>
    Effect.gen(function*() {
      const server = yield* redisServer()
      const raw = yield* rawClient(server.url)
      const fake = yield* FakeChutes.make({})
      const options = { url: server.url, keyPrefix: "r:", lockLease: "1 second" } as const
      const store = yield* NodeRedis.makeAuthProfileStore(options)
      const otherHost = yield* NodeRedis.makeAuthProfileStore(options)
      const issued = fake.issueTokens()
      yield* store.upsert("chutes:alice", dueProfile(fake, issued))
      const credentials = yield* ChutesCredentials.makeStored({ sources: "profiles-only", recheckAfter: "0 millis" }).pipe(
        Effect.provideService(AuthProfileStore.AuthProfileStore, store),
        Effect.provide(
          ChutesOAuth.layer().pipe(
            Layer.provide(Layer.merge(ChutesSettings.layer({ idpBaseUrl: fake.idpBaseUrl }), FetchHttpClient.layer))
          )
        )
      )
      fake.fault({ _tag: "Delay", route: "token", millis: 1500, times: 1 })
      const refreshing = yield* Effect.fork(credentials.get)
      while (fake.counters.token < 1) yield* Effect.sleep("10 millis")
      // Meanwhile the lease runs out (the key goes) and another host writes.
      yield* Effect.promise(() => raw.del("r:auth-profiles:lock"))
      yield* otherHost.upsert("chutes:default", apiKey("cpk_other_host"))
      const credential = Option.getOrThrow(yield* refreshing)
      assert.notStrictEqual(Redacted.value(credential.secret), issued.access, "the caller got the new token")
      // Not written over the other host's write…
      let alice = (yield* otherHost.load).profiles.get("chutes:alice")
      assert.strictEqual(alice?.type === "oauth" ? alice.refresh : undefined, issued.refresh)
      // …but kept, and written on the next read, since the store still holds the refresh token they replace.
      yield* credentials.get
      const profiles = (yield* otherHost.load).profiles
      alice = profiles.get("chutes:alice")
      assert.strictEqual(alice?.type === "oauth" ? alice.access : undefined, Redacted.value(credential.secret))
      assert.isTrue(profiles.has("chutes:default"), "the other host's write stands")
      assert.strictEqual(fake.counters.tokenByGrant.refresh_token, 1)
      assert.strictEqual(fake.counters.invalidGrant, 0)
    }), { timeout: 30_000 })

  it.scopedLive("Redis hanging or stopped: typed errors that say what to check, password never shown, nothing deleted, recovery", () =>
    Effect.gen(function*() {
      const password = "s3cret-redis-pw"
      const server = yield* redisServer({ password })
      const options = { url: server.url, keyPrefix: "u:", commandTimeout: "400 millis" } as const
      const store = yield* NodeRedis.makeAuthProfileStore(options)
      const future = Date.now() + 3_600_000
      yield* store.upsert("chutes:alice", { type: "oauth", provider: "chutes", access: "cak_1", refresh: "crt_1", expires: future })
      const credentials = yield* ChutesCredentials.makeStored({ sources: "profiles-only", recheckAfter: "0 millis" }).pipe(
        Effect.provideService(AuthProfileStore.AuthProfileStore, store),
        Effect.provide(ChutesOAuth.layer().pipe(Layer.provide(Layer.merge(ChutesSettings.layer(), FetchHttpClient.layer))))
      )
      assert.strictEqual(Option.getOrThrow(yield* credentials.get).source, "profile:chutes:alice")

      const check = (error: StoreError, why: RegExp) => {
        assert.strictEqual(error.reason, "Unreachable")
        assert.include(error.message, "Check that Redis is running and reachable from this host")
        assert.include(error.message, `redis://:***@127.0.0.1:${server.port}`)
        assert.match(error.message, why)
        assert.notInclude(error.message, password)
      }

      // Hanging (SIGSTOP): every command gives up after commandTimeout.
      server.pause()
      const started = Date.now()
      check(yield* storeError(store.load), /timed out/i)
      assert.isBelow(Date.now() - started, 3000)
      check(yield* storeError(store.upsert("chutes:x", apiKey("cpk_x"))), /timed out/i)
      const failed = yield* Effect.either(credentials.get)
      assert.isTrue(Either.isLeft(failed) && failed.left.reason === "Store")
      server.resume()
      // Back: the profile is still there.
      yield* Effect.sleep("200 millis")
      const back = (yield* store.load).profiles.get("chutes:alice")
      assert.strictEqual(back?.type === "oauth" ? back.refresh : undefined, "crt_1")
      assert.strictEqual(Option.getOrThrow(yield* credentials.get).source, "profile:chutes:alice")

      // Stopped: connection refused.
      yield* Effect.promise(() => server.stop())
      check(yield* storeError(store.load), /ECONNREFUSED|Connection is closed|max retries/i)
      yield* Effect.promise(() => server.start())
      // The server came back empty (no persistence here): the store works again at once.
      yield* Effect.sleep("500 millis")
      yield* store.upsert("chutes:alice", { type: "oauth", provider: "chutes", access: "cak_2", refresh: "crt_2", expires: future })
      assert.isTrue((yield* store.load).profiles.has("chutes:alice"))

      // A wrong password is a Permission error that does not echo it.
      const wrong = yield* NodeRedis.makeAuthProfileStore({ ...options, url: server.url.replace(password, "wrong-pw-123") })
      const refused = yield* storeError(wrong.load)
      assert.strictEqual(refused.reason, "Permission")
      assert.include(refused.message, "check the user name and password in CHUTES_REDIS_URL")
      assert.notInclude(refused.message, "wrong-pw-123")

      // Not a Redis URL: Io, and the URL is not echoed with its secret.
      const bad = yield* NodeRedis.makeAuthProfileStore({ url: "http://user:pw-in-url@127.0.0.1:1" })
      const badError = yield* storeError(bad.load)
      assert.strictEqual(badError.reason, "Io")
      assert.notInclude(badError.message, "pw-in-url")
    }), { timeout: 30_000 })

  it.scopedLive("a host with an empty state directory and only CHUTES_REDIS_URL lists models with the shared sign-in", () =>
    Effect.gen(function*() {
      const server = yield* redisServer({ password: "fleet-pw" })
      const fake = yield* FakeChutes.make({})
      const dir = mkdtempSync(join(tmpdir(), "chutes-redis-host-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      // Signed in elsewhere; the access token is due, so this host refreshes it once, through Redis.
      const issued = fake.issueTokens()
      const seed = yield* NodeRedis.makeAuthProfileStore({ url: server.url })
      yield* seed.upsert("chutes:alice", {
        type: "oauth",
        provider: "chutes",
        access: issued.access,
        refresh: issued.refresh,
        expires: Date.now() - 1000,
        email: "alice",
        clientId: fake.clientId,
        clientSecret: Redacted.make(fake.clientSecret ?? "")
      })
      const env = ConfigProvider.fromMap(
        new Map([
          ["CHUTES_REDIS_URL", server.url],
          ["CHUTES_STATE_DIR", dir],
          ["CHUTES_BASE_URL", fake.baseUrl],
          ["CHUTES_API_BASE_URL", fake.idpBaseUrl]
        ])
      )
      const host = Effect.gen(function*() {
        const chutes = yield* ChutesProvider.ChutesProvider
        const snapshot = yield* chutes.discover
        const credential = yield* chutes.credential
        return { snapshot, credential }
      }).pipe(Effect.provide(NodeChutes.layer()), Effect.withConfigProvider(env))
      const { credential, snapshot } = yield* host
      assert.strictEqual(snapshot.source, "live")
      assert.isAbove(snapshot.models.length, 0)
      assert.strictEqual(credential.source, "profile:chutes:alice")
      assert.strictEqual(fake.counters.tokenByGrant.refresh_token, 1)
      assert.strictEqual(fake.counters.invalidGrant, 0)
      const stored = (yield* seed.load).profiles.get("chutes:alice")
      assert.isTrue(stored?.type === "oauth" && stored.refresh !== issued.refresh, "the rotated tokens are in Redis")
      const raw = yield* rawClient(server.url)
      assert.strictEqual(yield* Effect.promise(() => raw.exists("effect-chutes:models-cache")), 1, "cache on Redis")
      assert.deepStrictEqual(readdirSync(dir), [], "nothing written to the state directory")

      // A second host, same URL: no refresh (the token is valid), and with Redis gone the catalog falls back.
      const again = yield* host
      assert.strictEqual(again.credential.source, "profile:chutes:alice")
      assert.strictEqual(fake.counters.tokenByGrant.refresh_token, 1)
      yield* Effect.promise(() => server.stop())
      const fallback = yield* Effect.gen(function*() {
        const chutes = yield* ChutesProvider.ChutesProvider
        return yield* chutes.catalog
      }).pipe(Effect.provide(NodeChutes.layer({ redis: { url: server.url, commandTimeout: "300 millis" } })), Effect.withConfigProvider(env))
      assert.strictEqual(fallback.source, "static")
      assert.strictEqual(fallback.reason?._tag, "CredentialsError")
      assert.notInclude(String(fallback.reason?.message), "fleet-pw")
      assert.deepStrictEqual(readdirSync(dir), [])
    }), { timeout: 30_000 })
})
