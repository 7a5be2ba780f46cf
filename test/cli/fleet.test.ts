/**
 * The fleet, as a user runs it (docs/deployments.md), with the built CLI as real subprocesses against FakeChutes over loopback
 * and a real `redis-server` with a password (test/support/redisServer.ts; persistence off):
 *
 * 1. `onboard --auth-choice chutes` (the OAuth paste flow in a pseudo-terminal, an HTTP client as the browser) with
 *    `CHUTES_REDIS_URL` set stores the sign-in in the Redis hash, and no `auth-profiles.json` in the state directory.
 * 2. The access token expires (the IdP issued it short-lived, it is past its life at the IdP, and its `expires` in
 *    Redis is moved into the past through the store), and then 6 CLI processes — each with its own EMPTY state
 *    directory, only `CHUTES_REDIS_URL` in common — started together all run `models list` (not --offline) and list
 *    the live catalog. FakeChutes saw exactly ONE refresh_token grant and no `invalid_grant`; no state directory gained
 *    a file. The one refresh is held at the IdP for a while so every process reaches its refresh meanwhile: without
 *    the distributed lock they would all send theirs.
 *
 * Prints one JSON line of figures. Without a redis-server binary the suite is skipped with a loud banner.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type * as AuthProfileStore from "../../src/AuthProfileStore.js"
import * as NodeRedis from "../../src/node/NodeRedis.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { cleanEnv, ensureCliBundle, type Run, spawnCli } from "../support/cliProcess.js"
import { pasteRedirect, spawnCliInTerminal, takeSuggestedModel } from "../support/cliTerminal.js"
import { redisMissing, type RedisServer, startRedis } from "../support/redisServer.js"

const missing = redisMissing("test/cli/fleet.test.ts")

const PASSWORD = "fleet-Vb3nQ8-never-printed"
const PROCESSES = 6
/** `expires_in` of the sign-in: the IdP stops accepting the access token after this. */
const SHORT_TTL_SECONDS = 3
/** How long the one refresh request is held at the IdP: every process reaches its own refresh meanwhile. */
const TOKEN_DELAY_MILLIS = 1500
const HASH = "effect-chutes:auth-profiles"

interface StoredOAuth {
  readonly type: string
  readonly provider: string
  readonly access: string
  readonly refresh: string
  readonly expires: number
  readonly email?: string
  readonly clientId?: string
}

/** A home with an empty state directory of its own. */
const makeHost = (prefix: string): { readonly home: string; readonly state: string } => {
  const home = mkdtempSync(join(tmpdir(), prefix))
  const state = join(home, "state")
  mkdirSync(state, { mode: 0o700 })
  return { home, state }
}

describe.skipIf(missing !== undefined)("a fleet sharing one OAuth sign-in through Redis (the CLI)", () => {
  let redis: RedisServer
  let fake: FakeChutes.FakeChutesServer
  let raw: Redis
  const homes: Array<string> = []
  /** Every secret no run may print. */
  const secrets = new Set<string>([PASSWORD])

  beforeAll(async () => {
    ensureCliBundle()
    redis = await startRedis({ password: PASSWORD })
    raw = new Redis(redis.url).on("error", () => {})
    fake = await FakeChutes.start({ autoApprove: true, accessTokenTtlSeconds: SHORT_TTL_SECONDS })
    if (fake.clientSecret !== undefined) secrets.add(fake.clientSecret)
    secrets.add(fake.apiKey)
  }, 120_000)

  afterAll(async () => {
    raw?.disconnect()
    await fake?.close()
    await redis?.stop()
    for (const home of homes) rmSync(home, { recursive: true, force: true })
  })

  /** What every host has: the service, the app's client id and secret, and the one Redis URL. No API key. */
  const hostEnv = (host: { readonly home: string; readonly state: string }): Record<string, string> => ({
    ...cleanEnv,
    HOME: host.home,
    CHUTES_STATE_DIR: host.state,
    CHUTES_BASE_URL: fake.baseUrl,
    CHUTES_IDP_BASE_URL: fake.idpBaseUrl,
    CHUTES_CLIENT_ID: fake.clientId,
    CHUTES_CLIENT_SECRET: fake.clientSecret ?? "",
    CHUTES_REDIS_URL: redis.url
  })

  const assertNoSecrets = (run: Run, what: string) => {
    const text = run.stdout + run.stderr
    for (const secret of secrets) {
      assert.isFalse(text.includes(secret), `${what} printed a secret ending in ${secret.slice(-4)}`)
    }
  }

  const storedDoc = async (): Promise<{ profiles: Record<string, StoredOAuth> }> => {
    const text = await raw.hget(HASH, "doc")
    assert.isNotNull(text, `the Redis hash ${HASH} holds a document`)
    return JSON.parse(text ?? "{}")
  }

  /** Polls until the IdP refuses `access` (its real lifetime is over). */
  const waitUntilRefused = async (access: string): Promise<void> => {
    const deadline = Date.now() + (SHORT_TTL_SECONDS + 10) * 1000
    for (;;) {
      const response = await fetch(`${fake.baseUrl}/models`, { headers: { authorization: `Bearer ${access}` } })
      await response.arrayBuffer()
      if (response.status === 401) return
      assert.isBelow(Date.now(), deadline, "the short-lived access token expired at the IdP")
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }

  it(`onboard stores the sign-in in Redis; after it expires, ${PROCESSES} hosts with empty state dirs list the live models with ONE refresh`, async () => {
    // 1. Onboarding on a laptop with CHUTES_REDIS_URL set.
    const laptop = makeHost("chutes-fleet-laptop-")
    homes.push(laptop.home)
    const onboard = await spawnCliInTerminal(
      ["onboard", "--auth-choice", "chutes", "--no-browser"],
      [pasteRedirect, takeSuggestedModel],
      { env: hostEnv(laptop), cwd: laptop.home, timeoutMs: 60_000 }
    )
    assert.strictEqual(onboard.code, 0, onboard.stdout + onboard.stderr)
    assert.include(onboard.stdout, "Signed in with Chutes as alice")
    assert.include(onboard.stdout, "Catalog: live")
    // What it says it wrote is what it wrote: the profile and the catalog cache on Redis, no file of either.
    assert.include(onboard.stdout, `redis://:***@127.0.0.1:${redis.port} key ${HASH}  (the shared store`)
    assert.include(onboard.stdout, "the live catalog, for offline fallback: in the shared store on Redis")
    assert.notInclude(onboard.stdout, join(laptop.state, "auth-profiles.json"))
    assert.notInclude(onboard.stdout, "models-cache.json")
    assertNoSecrets(onboard, "onboard")
    assert.strictEqual(fake.counters.tokenByGrant.authorization_code, 1)

    const signedIn = (await storedDoc()).profiles["chutes:alice"]
    assert.isDefined(signedIn, "the Redis hash holds the chutes OAuth profile")
    assert.strictEqual(signedIn!.type, "oauth")
    assert.strictEqual(signedIn!.provider, "chutes")
    assert.strictEqual(signedIn!.email, "alice")
    assert.strictEqual(signedIn!.clientId, fake.clientId)
    assert.match(signedIn!.access, /^cak_/)
    assert.match(signedIn!.refresh, /^crt_/)
    secrets.add(signedIn!.access)
    secrets.add(signedIn!.refresh)
    assertNoSecrets(onboard, "onboard")
    assert.isFalse(existsSync(join(laptop.state, "auth-profiles.json")), "no auth-profiles.json on the laptop")
    assert.deepStrictEqual(readdirSync(laptop.state), ["config.json5"], "the laptop keeps only its config")
    assert.isNotNull(await raw.get("effect-chutes:models-cache"), "the live catalog is cached on Redis")

    // 2. The access token expires: at the IdP (its short life is over), and in the store as the hosts see it (the
    // CLI keeps a short-lived token for at least 30 s, so its `expires` is moved into the past, through the store).
    fake.setAccessTokenTtl(3600)
    await waitUntilRefused(signedIn!.access)
    await Effect.runPromise(
      Effect.gen(function*() {
        const store = yield* NodeRedis.makeAuthProfileStore({ url: redis.url })
        const profile = (yield* store.load).profiles.get("chutes:alice")
        assert.strictEqual(profile?.type, "oauth")
        yield* store.upsert("chutes:alice", { ...profile, expires: Date.now() - 60_000 } as AuthProfileStore.ChutesProfile)
      }).pipe(Effect.scoped)
    )
    const expired = (await storedDoc()).profiles["chutes:alice"]!
    assert.isBelow(expired.expires, Date.now())
    assert.strictEqual(expired.refresh, signedIn!.refresh)

    fake.reset()
    fake.fault({ _tag: "Delay", route: "token", millis: TOKEN_DELAY_MILLIS, times: 1 })

    // The fleet: each host an empty state directory of its own, started together.
    const hosts = Array.from({ length: PROCESSES }, () => makeHost("chutes-fleet-host-"))
    homes.push(...hosts.map((host) => host.home))
    const started = Date.now()
    const runs = await Promise.all(hosts.map((host) =>
      spawnCli(["models", "list"], { env: hostEnv(host), cwd: host.home, timeoutMs: 90_000 }).then((run) => ({
        ...run,
        millis: Date.now() - started
      }))
    ))
    const wall = Date.now() - started

    const seedIds = FakeChutes.seedModels().map((item) => (item as { id: string }).id)
    runs.forEach((run, i) => {
      assert.strictEqual(run.code, 0, `host ${i}: ${run.stdout}\n${run.stderr}`)
      const first = run.stdout.split("\n")[0] ?? ""
      assert.match(first, new RegExp(`^source: live \\(${seedIds.length} models fetched `), `host ${i}: ${first}`)
      for (const id of seedIds) assert.include(run.stdout, id, `host ${i} lists ${id}`)
      assert.notMatch(run.stderr, /invalid_grant|sign in again|fell back/i, `host ${i}: ${run.stderr}`)
      assertNoSecrets(run, `host ${i}`)
    })

    // What FakeChutes saw: one refresh, no invalid_grant, no stale bearer, one live catalog request per host.
    const counters = fake.counters
    const tokenRequests = fake.requests.filter((request) => request.route === "token")
    const figures = {
      processes: PROCESSES,
      succeeded: runs.filter((run) => run.code === 0).length,
      refreshTokenGrants: counters.tokenByGrant.refresh_token,
      authorizationCodeGrants: counters.tokenByGrant.authorization_code,
      tokenRequests: counters.token,
      invalidGrant: counters.invalidGrant,
      unauthorized: counters.unauthorized,
      modelsRequests: counters.models,
      tokenDelayMillis: TOKEN_DELAY_MILLIS,
      slowestProcessMillis: Math.max(...runs.map((run) => run.millis)),
      fastestProcessMillis: Math.min(...runs.map((run) => run.millis)),
      wallMillis: wall
    }
    process.stdout.write(`cli fleet figures: ${JSON.stringify(figures)}\n`)
    assert.strictEqual(counters.tokenByGrant.refresh_token, 1, "exactly one refresh_token grant for the whole fleet")
    assert.strictEqual(counters.token, 1, "no other token request")
    assert.strictEqual(tokenRequests.length, 1)
    assert.include(tokenRequests[0]!.body, "grant_type=refresh_token")
    assert.strictEqual(counters.invalidGrant, 0, "no invalid_grant")
    assert.strictEqual(counters.unauthorized, 0, "no host used the expired access token")
    assert.strictEqual(counters.models, PROCESSES, "each host listed the live catalog once")

    // The store holds the rotated sign-in, no lock is left, and no state directory gained a file.
    const refreshed = (await storedDoc()).profiles["chutes:alice"]!
    assert.notStrictEqual(refreshed.access, signedIn!.access, "refreshed")
    assert.notStrictEqual(refreshed.refresh, signedIn!.refresh, "the refresh token rotated")
    assert.isAbove(refreshed.expires, Date.now())
    secrets.add(refreshed.access)
    secrets.add(refreshed.refresh)
    runs.forEach((run, i) => assertNoSecrets(run, `host ${i}`))
    assert.strictEqual(await raw.exists(`${HASH}:lock`), 0, "the lock was released")
    for (const host of hosts) {
      assert.isFalse(existsSync(join(host.state, "auth-profiles.json")), `${host.state} gained no auth-profiles.json`)
      assert.deepStrictEqual(readdirSync(host.state), [], `${host.state} stays empty`)
    }
    assert.isFalse(existsSync(join(laptop.state, "auth-profiles.json")), "nor did the laptop")
  }, 240_000)
})
