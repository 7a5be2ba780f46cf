/**
 * `effect-chutes auth move --to-redis | --from-redis` and `auth logout` against Redis, as real subprocesses (the
 * esbuild bundle) over a real redis-server with a password (test/support/redisServer.ts), each "host" a state directory
 * of its own; and the order of a move with Redis hanging between its steps (in process, on the real server).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AuthProfileStore from "../../src/AuthProfileStore.js"
import { moveProfiles } from "../../src/cli/authMove.js"
import * as NodeRedis from "../../src/node/NodeRedis.js"
import { redisMissing, type RedisServer, startRedis } from "../support/redisServer.js"
import { cleanEnv, ensureCliBundle, type Run, spawnCli } from "../support/cliProcess.js"

const missing = redisMissing("test/cli/authMove.test.ts")

const PASSWORD = "pw-Zq7xK9-never-printed"

/** A host: a home with its own state directory. */
const host = (): string => {
  const home = mkdtempSync(join(tmpdir(), "chutes-move-"))
  mkdirSync(join(home, "state"), { mode: 0o700 })
  return home
}

const storeFile = (home: string) => join(home, "state", "auth-profiles.json")

const oauth = (name: string, token: string) => ({
  type: "oauth",
  provider: "chutes",
  access: `cak_${token}`,
  refresh: `crt_${token}`,
  expires: Date.now() + 3_600_000,
  email: name
})

const seed = (home: string, profiles: Record<string, unknown>) =>
  writeFileSync(storeFile(home), JSON.stringify({ version: 1, profiles }), { mode: 0o600 })

const readStore = (home: string): Record<string, unknown> =>
  existsSync(storeFile(home)) ? JSON.parse(readFileSync(storeFile(home), "utf8")).profiles : {}

/** The CLI on `home` (stdin not a terminal), no CHUTES_* inherited; the Redis password must never be printed. */
const cli = (home: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Run> =>
  spawnCli(args, {
    env: { ...cleanEnv, HOME: home, CHUTES_STATE_DIR: join(home, "state"), ...env },
    cwd: home,
    timeoutMs: 30_000
  }).then((run) => {
    assert.notInclude(run.stdout + run.stderr, PASSWORD, "the Redis password was printed")
    return run
  })

/** The sources `auth status --offline --json` lists on `home` with `env`. */
const sources = async (home: string, env: Record<string, string> = {}): Promise<ReadonlyArray<string>> => {
  const run = await cli(home, ["auth", "status", "--offline", "--json"], env)
  return (JSON.parse(run.stdout).credentials as ReadonlyArray<{ source: string }>).map((c) => c.source)
}

describe.skipIf(missing !== undefined)("auth move and logout on Redis (the CLI)", () => {
  let redis: RedisServer
  let shared: Record<string, string>
  let n = 0

  beforeAll(async () => {
    ensureCliBundle()
    redis = await startRedis({ password: PASSWORD })
  }, 120_000)
  afterAll(async () => {
    await redis?.stop()
  })

  // Each test uses a key prefix of its own on the one server; there is no prefix variable, so each gets a database.
  const fresh = () => {
    n += 1
    shared = { CHUTES_REDIS_URL: `${redis.url}/${n}` }
    return shared
  }

  it("--to-redis: a fleet host with an empty state dir sees the sign-in, the laptop has none; --from-redis back", async () => {
    const env = fresh()
    const laptop = host()
    seed(laptop, { "chutes:alice": oauth("alice", "A1"), "openai:me": { type: "api_key", provider: "openai", key: "sk" } })

    const moved = await cli(laptop, ["auth", "move", "--to-redis"], env)
    assert.strictEqual(moved.code, 0, moved.stderr)
    assert.include(moved.stdout, "Moved chutes:alice to redis://:***@127.0.0.1:")
    assert.include(moved.stdout, `Removed from ${storeFile(laptop)}`)
    assert.include(moved.stdout, "Not moved (not Chutes profiles")
    assert.include(moved.stdout, "openai:me")
    assert.deepStrictEqual(Object.keys(readStore(laptop)), ["openai:me"])

    const fleet = host()
    assert.deepStrictEqual(await sources(fleet, env), ["profile:chutes:alice"])
    assert.isFalse(existsSync(storeFile(fleet)), "the fleet host wrote no local store")
    assert.deepStrictEqual(await sources(laptop), [])

    const back = await cli(laptop, ["auth", "move", "--from-redis"], env)
    assert.strictEqual(back.code, 0, back.stderr)
    assert.include(back.stdout, `Moved chutes:alice to ${storeFile(laptop)}`)
    assert.deepStrictEqual(await sources(fleet, env), [])
    assert.deepStrictEqual(await sources(laptop), ["profile:chutes:alice"])
    assert.strictEqual((readStore(laptop)["chutes:alice"] as { refresh: string }).refresh, "crt_A1")
  }, 60_000)

  it("an id the destination holds with another sign-in is refused (exit 2, named) unless --force", async () => {
    const env = fresh()
    const other = host()
    seed(other, { "chutes:alice": oauth("alice", "OLD") })
    assert.strictEqual((await cli(other, ["auth", "move", "--to-redis"], env)).code, 0)

    const laptop = host()
    seed(laptop, { "chutes:alice": oauth("alice", "NEW") })
    const refused = await cli(laptop, ["auth", "move", "--to-redis"], env)
    assert.strictEqual(refused.code, 2, refused.stdout + refused.stderr)
    assert.include(refused.stderr, `"chutes:alice"`)
    assert.include(refused.stderr, "--force")
    assert.include(refused.stderr, "nothing was moved")
    assert.strictEqual((readStore(laptop)["chutes:alice"] as { refresh: string }).refresh, "crt_NEW")

    const forced = await cli(laptop, ["auth", "move", "--to-redis", "--force"], env)
    assert.strictEqual(forced.code, 0, forced.stderr)
    assert.deepStrictEqual(readStore(laptop), {})
    const back = host()
    assert.strictEqual((await cli(back, ["auth", "move", "--from-redis"], env)).code, 0)
    assert.strictEqual((readStore(back)["chutes:alice"] as { refresh: string }).refresh, "crt_NEW")
  }, 60_000)

  it("Redis down: the move fails (exit 1) and the laptop keeps its profile; no URL and no terminal: exit 2", async () => {
    const laptop = host()
    seed(laptop, { "chutes:alice": oauth("alice", "KEEP") })
    const down = await cli(laptop, ["auth", "move", "--to-redis"], {
      CHUTES_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:1/0`
    })
    assert.strictEqual(down.code, 1, down.stdout + down.stderr)
    assert.include(down.stderr, "cannot be reached")
    assert.include(down.stderr, "redis://:***@127.0.0.1:1/0")
    assert.strictEqual((readStore(laptop)["chutes:alice"] as { refresh: string }).refresh, "crt_KEEP")

    const noUrl = await cli(laptop, ["auth", "move", "--to-redis"])
    assert.strictEqual(noUrl.code, 2, noUrl.stderr)
    assert.include(noUrl.stderr, "CHUTES_REDIS_URL is not set")
    const neither = await cli(laptop, ["auth", "move"])
    assert.strictEqual(neither.code, 2)
    assert.include(neither.stderr, "--to-redis")
  }, 60_000)

  it("logout on Redis without a terminal needs --all-hosts (exit 2); with it the shared profile is removed", async () => {
    const env = fresh()
    const laptop = host()
    seed(laptop, { "chutes:alice": oauth("alice", "L") })
    assert.strictEqual((await cli(laptop, ["auth", "move", "--to-redis"], env)).code, 0)
    const fleet = host()

    const refused = await cli(fleet, ["auth", "logout"], env)
    assert.strictEqual(refused.code, 2, refused.stdout + refused.stderr)
    assert.include(refused.stderr, "EVERY host")
    assert.include(refused.stderr, "--all-hosts")
    assert.notInclude(refused.stdout + refused.stderr, "Removed")
    assert.deepStrictEqual(await sources(fleet, env), ["profile:chutes:alice"])

    const done = await cli(fleet, ["auth", "logout", "--all-hosts"], env)
    assert.strictEqual(done.code, 0, done.stderr)
    assert.include(done.stdout, "EVERY host")
    assert.include(done.stdout, `Removed profile "chutes:alice"`)
    assert.deepStrictEqual(await sources(fleet, env), [])

    // Without CHUTES_REDIS_URL the file logout asks nothing.
    seed(laptop, { "chutes:bob": oauth("bob", "B") })
    const local = await cli(laptop, ["auth", "logout"])
    assert.strictEqual(local.code, 0, local.stderr)
    assert.notInclude(local.stdout, "every host")
  }, 60_000)
})

describe.skipIf(missing !== undefined)("auth move: Redis hanging between the steps loses nothing", () => {
  const profile = oauth("alice", "MID") as unknown as AuthProfileStore.ChutesProfile

  /** `store` whose `modify` calls `after` once it succeeded. */
  const tapped = (store: AuthProfileStore.Service, after: () => void): AuthProfileStore.Service => ({
    ...store,
    modify: (f) => Effect.tap(store.modify(f), () => Effect.sync(after))
  })

  it.live("to Redis: written, then Redis hangs before the read-back -> both copies kept, said so", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startRedis()),
        (s) => Effect.promise(() => s.stop())
      )
      const local = yield* AuthProfileStore.makeMemory({ version: 1, profiles: { "chutes:alice": profile } })
      const redis = yield* NodeRedis.makeAuthProfileStore({ url: server.url, commandTimeout: "400 millis" })
      const result = yield* Effect.either(moveProfiles(local, tapped(redis, server.pause), { force: false }))
      server.resume()
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        const error = result.left
        assert.strictEqual(error._tag, "MoveError")
        if (error._tag === "MoveError") assert.include(error.message, "BOTH")
      }
      assert.deepStrictEqual(Array.from((yield* local.load).profiles.keys()), ["chutes:alice"])
      assert.deepStrictEqual(Array.from((yield* redis.load).profiles.keys()), ["chutes:alice"])
      // The same move again finishes it: the identical copy is not a conflict.
      const again = yield* moveProfiles(local, redis, { force: false })
      assert.deepStrictEqual(again.ids, ["chutes:alice"])
      assert.strictEqual((yield* local.load).profiles.size, 0)
    }).pipe(Effect.scoped), 30_000)

  it.live("from Redis: written locally, then Redis hangs before the removal -> both copies kept, said so", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startRedis()),
        (s) => Effect.promise(() => s.stop())
      )
      const redis = yield* NodeRedis.makeAuthProfileStore({
        url: server.url,
        commandTimeout: "400 millis",
        lockTimeout: "2 seconds"
      })
      yield* redis.upsert("chutes:alice", profile)
      const local = yield* AuthProfileStore.makeMemory()
      const result = yield* Effect.either(moveProfiles(redis, tapped(local, server.pause), { force: false }))
      server.resume()
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        const error = result.left
        assert.strictEqual(error._tag, "MoveError")
        if (error._tag === "MoveError") assert.include(error.message, "BOTH")
      }
      assert.deepStrictEqual(Array.from((yield* local.load).profiles.keys()), ["chutes:alice"])
      assert.deepStrictEqual(Array.from((yield* redis.load).profiles.keys()), ["chutes:alice"])
    }).pipe(Effect.scoped), 30_000)
})
