/**
 * Refresh under load (issue 5, item 3): 8 processes × 50 concurrent credential reads over one auth store, across 3
 * expiry cycles of a token from FakeChutes' IdP (rotating, single-use refresh tokens). Expected: one token request
 * per cycle, no `invalid_grant`, every read returning the current token, no profile lost or damaged.
 *
 * How the cycles are driven. FakeChutes issues tokens with `expires_in: 60`; `ChutesOAuth.expiresAt` turns that into
 * `expires = now + 30 s` (the 5-minute margin would make it already due, so the 30 s minimum lifetime applies). Waiting
 * 30 s per cycle would be slow, so time passes by clock: each worker (test/support/loadWorker.ts) runs on the system
 * clock plus an offset the test sets for all of them at once, as processes on one machine share a clock. Before each
 * cycle the offset moves to just past the stored `expires`, which therefore comes from the IdP's own `expires_in`, not
 * from editing the store. Nothing else is faked: the refresh goes over loopback to FakeChutes, which keeps real time
 * for its own token lifetimes, under the store's real cross-process lock. Each cycle has two rounds: right after
 * expiry (one refresh expected, delayed 150 ms by the IdP so that all processes pile up on the lock), then again at
 * the same time (no request expected: the new token is valid).
 *
 * It prints one JSON line of figures for docs/reliability-figures.md.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import type { RoundReport } from "./support/loadWorker.js"
import { bundleForNode } from "./support/bundle.js"

const PROCESSES = 8
const READS = 50
const CYCLES = 3
/** `expires_in` of the fake IdP: shorter than the 5-minute margin, so the token lives the 30 s minimum. */
const EXPIRES_IN = 60

let scratch = ""
let workerScript = ""

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "chutes-load-"))
  workerScript = join(scratch, "loadWorker.mjs")
  // Bundled, a worker starts in ~0.1–0.3 s; with `node --import tsx`, 8 of them at once take seconds on 2 cores.
  await bundleForNode(new URL("./support/loadWorker.ts", import.meta.url), workerScript)
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

const startWorker = (storePath: string, env: Record<string, string>): Worker => {
  const child = spawn(process.execPath, [workerScript, storePath, String(READS)], {
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

describe("refresh under load", () => {
  it.scopedLive(
    `${PROCESSES} processes × ${READS} concurrent reads across ${CYCLES} expiry cycles: one token request per cycle`,
    () =>
      Effect.gen(function*() {
        const started = Date.now()
        const fake = yield* FakeChutes.make({ accessTokenTtlSeconds: EXPIRES_IN })
        const dir = mkdtempSync(join(tmpdir(), "chutes-load-store-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
        const storePath = join(dir, AuthProfileStore.FILE_NAME)

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
        writeFileSync(storePath, JSON.stringify({ version: 1, profiles, order }, null, 2), { mode: 0o600 })

        /** The store as on disk, checked whole: it parses, nothing but alice's tokens changed, 0600, no debris. */
        const storedAlice = (): typeof alice => {
          const text = readFileSync(storePath, "utf8")
          assert.isTrue(AuthProfileStore.decode(text, storePath)._tag === "Right", "the store decodes")
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
          assert.strictEqual(statSync(storePath).mode & 0o777, 0o600)
          assert.deepStrictEqual(readdirSync(dir), [AuthProfileStore.FILE_NAME], "no temp file or lock left")
          return stored
        }

        const env = {
          CHUTES_IDP_BASE_URL: fake.idpBaseUrl,
          CHUTES_CLIENT_SECRET: fake.clientSecret ?? "",
          HOME: dir
        }
        const workers = yield* Effect.acquireRelease(
          Effect.sync(() => Array.from({ length: PROCESSES }, () => startWorker(storePath, env))),
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

        let previous = storedAlice()
        const tokensSeen = new Set([previous.access])
        for (let cycle = 1; cycle <= CYCLES; cycle++) {
          // Time passes until the stored token is due.
          offset = Math.max(offset, previous.expires - Date.now() + 1000)
          fake.fault({ _tag: "Delay", route: "token", millis: 150, times: 1 })
          const afterExpiry = yield* runRound
          const current = storedAlice()
          assert.notStrictEqual(current.access, previous.access, `cycle ${cycle}: refreshed`)
          assert.notStrictEqual(current.refresh, previous.refresh, `cycle ${cycle}: the refresh token rotated`)
          assert.isAbove(current.expires, previous.expires)
          assertAllSaw(afterExpiry, current.access)
          assert.strictEqual(fake.counters.tokenByGrant.refresh_token, cycle, `cycle ${cycle}: one token request`)
          assert.strictEqual(fake.counters.invalidGrant, 0)
          // Same time again: the new token is valid, nobody asks for another.
          assertAllSaw(yield* runRound, current.access)
          assert.strictEqual(storedAlice().access, current.access)
          assert.strictEqual(fake.counters.tokenByGrant.refresh_token, cycle, `cycle ${cycle}: no request while valid`)
          tokensSeen.add(current.access)
          previous = current
        }
        const figures = {
          processes: PROCESSES,
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

        process.stdout.write(`refresh load figures: ${JSON.stringify(figures)}\n`)
        assert.strictEqual(figures.tokenRequests, CYCLES)
        assert.strictEqual(figures.distinctAccessTokens, CYCLES + 1)
      }),
    { timeout: 120_000 }
  )
})
