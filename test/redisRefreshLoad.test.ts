/**
 * A fleet sharing one sign-in through Redis: 8 processes, each with its OWN state directory, all pointed at one real
 * `redis-server` by `CHUTES_REDIS_URL` (nothing else shared), × 50 concurrent credential reads, across 3 expiry cycles
 * of a token from FakeChutes' IdP (rotating, single-use refresh tokens). Expected: exactly one token request per cycle,
 * no `invalid_grant`, every read returning the current token, the document in Redis intact (other providers' profiles
 * and unknown fields kept), and nothing written to any state directory.
 *
 * Time passes by clock offset, as in test/refreshLoad.test.ts (the same driver; the workers are
 * test/support/redisLoadWorker.ts). The refresh goes over loopback to FakeChutes, under the distributed lock on Redis.
 * It prints one JSON line of figures. Without a redis-server binary the suite is skipped with a loud banner.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import type { RoundReport } from "./support/loadWorker.js"
import { redisMissing, redisServer } from "./support/redisServer.js"
import { bundleForNode } from "./support/bundle.js"

const missing = redisMissing("test/redisRefreshLoad.test.ts")

const PROCESSES = 8
const READS = 50
const CYCLES = 3
/** `expires_in` of the fake IdP: shorter than the 5-minute margin, so the token lives the 30 s minimum. */
const EXPIRES_IN = 60

let scratch = ""
let workerScript = ""

beforeAll(async () => {
  if (missing !== undefined) return
  scratch = mkdtempSync(join(tmpdir(), "chutes-redis-load-"))
  workerScript = join(scratch, "redisLoadWorker.mjs")
  // Bundled, a worker starts in ~0.1–0.3 s; with `node --import tsx`, 8 of them at once take seconds on 2 cores.
  await bundleForNode(new URL("./support/redisLoadWorker.ts", import.meta.url), workerScript)
}, 60_000)

afterAll(() => {
  if (scratch !== "") rmSync(scratch, { recursive: true, force: true })
})

/** A worker process and its stdout, line by line. */
interface Worker {
  readonly child: ChildProcess
  readonly next: () => Promise<string>
  readonly send: (line: string) => void
}

const startWorker = (env: Record<string, string>, extra: ReadonlyArray<string> = []): Worker => {
  const child = spawn(process.execPath, [workerScript, String(READS), ...extra], {
    // The parent's CHUTES_* variables (a real key, say) would win over the store.
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("CHUTES_"))),
      ...env
    },
    stdio: ["pipe", "pipe", "pipe"]
  })
  const lines: Array<string> = []
  const waiting: Array<(line: string | Error) => void> = []
  let stderr = ""
  let pending = ""
  const push = (line: string | Error) => {
    const resolve = waiting.shift()
    if (resolve !== undefined) resolve(line)
    else if (typeof line === "string") lines.push(line)
  }
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk
    const parts = pending.split("\n")
    pending = parts.pop() ?? ""
    for (const line of parts) push(line)
  })
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  child.once("close", (code, signal) => {
    const error = new Error(`worker exited (${code}, ${signal}): ${stderr.slice(0, 1000)}`)
    while (waiting.length > 0) push(error)
  })
  return {
    child,
    next: () =>
      new Promise<string>((resolve, reject) => {
        const line = lines.shift()
        if (line !== undefined) return resolve(line)
        if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`worker exited: ${stderr}`))
        waiting.push((value) => (typeof value === "string" ? resolve(value) : reject(value)))
      }),
    send: (line) => {
      child.stdin?.write(`${line}\n`)
    }
  }
}

/** `ChutesCredentials.identity` of an access token, computed here independently (node:crypto). */
const identityOf = (access: string): string => createHash("sha256").update(access).digest("hex").slice(0, 16)

describe.skipIf(missing !== undefined)("a fleet refreshing through Redis", () => {
  it.scopedLive(
    `${PROCESSES} processes with separate state dirs sharing one Redis × ${READS} reads × ${CYCLES} expiries: one token request per expiry`,
    () =>
      Effect.gen(function*() {
        const started = Date.now()
        const fake = yield* FakeChutes.make({ accessTokenTtlSeconds: EXPIRES_IN })
        const server = yield* redisServer({ password: "fleet-secret" })
        const raw = yield* Effect.acquireRelease(
          Effect.sync(() => new Redis(server.url).on("error", () => {})),
          (client) => Effect.sync(() => client.disconnect())
        )
        const dirs = Array.from({ length: PROCESSES }, () => mkdtempSync(join(tmpdir(), "chutes-redis-host-")))
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))
        )

        // A signed-in store shared with other tools: what is not the refreshed token must come through untouched.
        const issued = fake.issueTokens()
        const others = {
          "openai:default": { type: "api_key", provider: "openai", key: "sk-openai-0123456789abcdef" },
          "chutes:default": { type: "api_key", provider: "chutes", key: fake.apiKey }
        }
        const alice = {
          type: "oauth",
          provider: "chutes",
          access: issued.access,
          refresh: issued.refresh,
          expires: ChutesOAuth.expiresAt(Date.now(), issued.expiresIn),
          email: "alice",
          clientId: fake.clientId,
          note: "kept"
        }
        const order = { chutes: ["chutes:alice", "chutes:default"] }
        const profiles = {
          "openai:default": others["openai:default"],
          "chutes:alice": alice,
          "chutes:default": others["chutes:default"]
        }
        yield* Effect.promise(() =>
          raw.hset("effect-chutes:auth-profiles", "doc", JSON.stringify({ version: 1, profiles, order }), "version", "1")
        )

        /** The document in Redis, checked whole: it decodes, nothing but alice's tokens changed, no lock left. */
        const storedAlice = Effect.gen(function*() {
          const text = (yield* Effect.promise(() => raw.hget("effect-chutes:auth-profiles", "doc"))) ?? ""
          assert.isTrue(AuthProfileStore.decode(text, "redis")._tag === "Right", "the store decodes")
          const document = JSON.parse(text) as { profiles: Record<string, unknown>; order: unknown }
          assert.deepStrictEqual(Object.keys(document.profiles), ["openai:default", "chutes:alice", "chutes:default"])
          assert.deepStrictEqual(document.profiles["openai:default"], others["openai:default"])
          assert.deepStrictEqual(document.profiles["chutes:default"], others["chutes:default"])
          assert.deepStrictEqual(document.order, order)
          const stored = document.profiles["chutes:alice"] as typeof alice
          assert.deepStrictEqual(
            { ...stored, access: "", refresh: "", expires: 0 },
            { ...alice, access: "", refresh: "", expires: 0 },
            "only the tokens and expiry of the refreshed profile change"
          )
          assert.strictEqual(yield* Effect.promise(() => raw.exists("effect-chutes:auth-profiles:lock")), 0)
          for (const dir of dirs) assert.deepStrictEqual(readdirSync(dir), [], "nothing in the state directory")
          return stored
        })

        const env = (dir: string) => ({
          CHUTES_REDIS_URL: server.url,
          CHUTES_STATE_DIR: dir,
          CHUTES_IDP_BASE_URL: fake.idpBaseUrl,
          CHUTES_CLIENT_SECRET: fake.clientSecret ?? "",
          HOME: dir
        })
        const workers = yield* Effect.acquireRelease(
          Effect.sync(() => dirs.map((dir) => startWorker(env(dir)))),
          (all) => Effect.sync(() => all.forEach((worker) => worker.child.kill("SIGKILL")))
        )
        for (const line of yield* Effect.promise(() => Promise.all(workers.map((worker) => worker.next())))) {
          assert.strictEqual(line, "R")
        }

        let round = 0
        let offset = 0
        let reads = 0
        let readErrors = 0
        let slowestRound = 0
        /** One round: every worker makes its concurrent reads at the current clock offset. */
        const runRound = Effect.gen(function*() {
          round += 1
          const sent = Date.now()
          for (const worker of workers) worker.send(`${round} ${offset}`)
          const lines = yield* Effect.promise(() => Promise.all(workers.map((worker) => worker.next())))
          slowestRound = Math.max(slowestRound, Date.now() - sent)
          const reports = lines.map((line) => JSON.parse(line) as RoundReport)
          for (const report of reports) {
            reads += READS
            readErrors += report.errors.length
          }
          return reports
        })
        const assertAllSaw = (reports: ReadonlyArray<RoundReport>, access: string) => {
          for (const report of reports) {
            assert.deepStrictEqual(report, { round, seen: [identityOf(access)], errors: [] }, "all reads got the token")
          }
        }

        let previous = yield* storedAlice
        const tokensSeen = new Set([previous.access])
        for (let cycle = 1; cycle <= CYCLES; cycle++) {
          // Time passes until the stored token is due.
          offset = Math.max(offset, previous.expires - Date.now() + 1000)
          fake.fault({ _tag: "Delay", route: "token", millis: 150, times: 1 })
          const afterExpiry = yield* runRound
          const current = yield* storedAlice
          assert.notStrictEqual(current.access, previous.access, `cycle ${cycle}: refreshed`)
          assert.notStrictEqual(current.refresh, previous.refresh, `cycle ${cycle}: the refresh token rotated`)
          assert.isAbove(current.expires, previous.expires)
          assertAllSaw(afterExpiry, current.access)
          assert.strictEqual(fake.counters.tokenByGrant.refresh_token, cycle, `cycle ${cycle}: one token request`)
          assert.strictEqual(fake.counters.invalidGrant, 0)
          // Same time again: the new token is valid, nobody asks for another.
          assertAllSaw(yield* runRound, current.access)
          assert.strictEqual((yield* storedAlice).access, current.access)
          assert.strictEqual(fake.counters.tokenByGrant.refresh_token, cycle, `cycle ${cycle}: no request while valid`)
          tokensSeen.add(current.access)
          previous = current
        }
        const figures = {
          processes: PROCESSES,
          stateDirectories: dirs.length,
          concurrentReadsPerProcess: READS,
          cycles: CYCLES,
          rounds: round,
          reads,
          tokenRequests: fake.counters.tokenByGrant.refresh_token,
          invalidGrant: fake.counters.invalidGrant,
          readErrors,
          distinctAccessTokens: tokensSeen.size,
          slowestRoundMillis: slowestRound,
          durationMillis: Date.now() - started
        }

        // The last tokens work: the service accepts the access token, the IdP the refresh token (which spends it, so
        // this comes last).
        const models = yield* Effect.promise(() =>
          fetch(`${fake.baseUrl}/models`, { headers: { authorization: `Bearer ${previous.access}` } })
        )
        assert.strictEqual(models.status, 200)
        const refreshed = yield* Effect.promise(() =>
          fetch(`${fake.idpBaseUrl}/idp/token`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({
              grant_type: "refresh_token",
              refresh_token: previous.refresh,
              client_id: fake.clientId,
              client_secret: fake.clientSecret ?? ""
            })
          })
        )
        assert.strictEqual(refreshed.status, 200, "the stored refresh token is the live one")

        process.stdout.write(`redis fleet refresh figures: ${JSON.stringify(figures)}\n`)
        assert.strictEqual(figures.tokenRequests, CYCLES)
        assert.strictEqual(figures.distinctAccessTokens, CYCLES + 1)
      }),
    { timeout: 120_000 }
  )

  it.scopedLive("SIGKILL of the lock holder mid-refresh: another process continues within the lease, no profile lost, no loop", () =>
    Effect.gen(function*() {
      const LEASE = 2000
      const fake = yield* FakeChutes.make({ accessTokenTtlSeconds: EXPIRES_IN })
      const server = yield* redisServer()
      const raw = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(server.url).on("error", () => {})),
        (client) => Effect.sync(() => client.disconnect())
      )
      const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), "chutes-redis-kill-")))
      yield* Effect.addFinalizer(() => Effect.sync(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }))))
      const issued = fake.issueTokens()
      const alice = {
        type: "oauth",
        provider: "chutes",
        access: issued.access,
        refresh: issued.refresh,
        expires: Date.now() - 1000,
        email: "alice",
        clientId: fake.clientId
      }
      yield* Effect.promise(() =>
        raw.hset("effect-chutes:auth-profiles", "doc", JSON.stringify({ version: 1, profiles: { "chutes:alice": alice } }), "version", "1")
      )
      const env = (dir: string) => ({
        CHUTES_REDIS_URL: server.url,
        CHUTES_STATE_DIR: dir,
        CHUTES_IDP_BASE_URL: fake.idpBaseUrl,
        CHUTES_CLIENT_SECRET: fake.clientSecret ?? "",
        HOME: dir
      })
      const [holder, next] = yield* Effect.acquireRelease(
        Effect.sync(() => dirs.map((dir) => startWorker(env(dir), [String(LEASE)]))),
        (all) => Effect.sync(() => all.forEach((worker) => worker.child.kill("SIGKILL")))
      )
      for (const worker of [holder!, next!]) assert.strictEqual(yield* Effect.promise(() => worker.next()), "R")

      // The holder's refresh request hangs at the IdP; it is killed while it holds the lock.
      fake.fault({ _tag: "Delay", route: "token", millis: 4 * LEASE, times: 1 })
      holder!.send("1 0")
      const deadline = Date.now() + 10_000
      while (fake.counters.token < 1 || (yield* Effect.promise(() => raw.exists("effect-chutes:auth-profiles:lock"))) === 0) {
        assert.isBelow(Date.now(), deadline, "the holder took the lock and sent its refresh")
        yield* Effect.sleep("20 millis")
      }
      holder!.child.kill("SIGKILL")
      const killedAt = Date.now()

      next!.send("1 0")
      const report = JSON.parse(yield* Effect.promise(() => next!.next())) as RoundReport
      const took = Date.now() - killedAt
      assert.isBelow(took, LEASE + 3000, "continued within the lease")
      const text = (yield* Effect.promise(() => raw.hget("effect-chutes:auth-profiles", "doc"))) ?? ""
      const stored = (JSON.parse(text) as { profiles: Record<string, typeof alice> }).profiles["chutes:alice"]
      assert.isDefined(stored, "the profile is not lost")
      const outcome = report.errors.length === 0 ? "refreshed" : "sign in again"
      if (outcome === "refreshed") {
        assert.notStrictEqual(stored!.refresh, issued.refresh, "the new tokens are stored")
        assert.deepStrictEqual(report.seen, [identityOf(stored!.access)])
      } else {
        // The dead holder's request spent the refresh token: a clear "sign in again", never a loop.
        assert.match(report.errors[0] ?? "", /sign in|auth login/i)
        assert.strictEqual(stored!.refresh, issued.refresh, "nothing overwritten because a refresh failed")
      }
      const requests = fake.counters.tokenByGrant.refresh_token
      next!.send("2 0")
      yield* Effect.promise(() => next!.next())
      assert.strictEqual(fake.counters.tokenByGrant.refresh_token, requests, "no further request: never a loop")
      process.stdout.write(
        `redis kill figures: ${JSON.stringify({ leaseMillis: LEASE, continuedAfterMillis: took, outcome, tokenRequests: requests, invalidGrant: fake.counters.invalidGrant })}\n`
      )
    }), { timeout: 60_000 })
})
