/**
 * The core entries on Bun: test/support/bunChat.ts runs under the `bun` binary (the `bun` devDependency), from the
 * TypeScript sources (`--conditions=effect-chutes:source` maps `effect-chutes` and `effect-chutes/ai` to `src/`), with
 * `FetchHttpClient`, the portable `Path`, a `FileSystem` without files, the memory `PrivateFiles` and the in-process
 * `FileLock` — nothing of `effect-chutes/node`. Against FakeChutes on 127.0.0.1 it discovers the catalog with the API
 * key of a stored profile, resolves an alias and streams one chat through `@effect/ai`.
 *
 * Without a working bun binary the suite is skipped with a loud message, never passed in silence.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { execFile, execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as FakeChutes from "../src/testing/FakeChutes.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const bunPath = join(root, "node_modules", ".bin", process.platform === "win32" ? "bun.exe" : "bun")

/** The bun binary and its version, or why there is none. */
const findBun = (): { readonly path: string; readonly version: string } | { readonly missing: string } => {
  if (!existsSync(bunPath)) return { missing: `${bunPath} does not exist (npm install puts it there)` }
  try {
    const version = execFileSync(bunPath, ["--version"], { encoding: "utf8", timeout: 30_000 }).trim()
    return { path: bunPath, version }
  } catch (error) {
    return { missing: `${bunPath} does not run: ${error instanceof Error ? error.message : String(error)}` }
  }
}

const bun = findBun()
if ("missing" in bun) {
  const line = "!".repeat(100)
  console.warn(`\n${line}\n!! SKIPPED test/bun.test.ts: no bun binary. ${bun.missing}\n${line}\n`)
}

/** A child's environment: this one without Chutes settings, Vitest's variables or Node options. */
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] =>
    entry[1] !== undefined && !/^(CHUTES_|VITEST|TINYPOOL|NODE_OPTIONS$)/.test(entry[0])
  )
)

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const runBun = (path: string, args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve) => {
    execFile(path, args, { cwd: root, env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    })
  })

const REPLY = "Hello from FakeChutes, streamed to Bun in small pieces."

describe.skipIf("missing" in bun)("the core on Bun", () => {
  let fake: FakeChutes.FakeChutesServer

  beforeAll(async () => {
    fake = await FakeChutes.start()
  }, 30_000)

  afterAll(async () => {
    await fake?.close()
  })

  it("discovery and one streamed chat against FakeChutes, with FetchHttpClient and memory files", async () => {
    assert.isTrue("path" in bun)
    if (!("path" in bun)) return
    fake.chat.setDefaultReply({ content: REPLY, stream: { deltaChars: 4 } })
    const run = await runBun(bun.path, [
      "--conditions=effect-chutes:source",
      "test/support/bunChat.ts",
      fake.baseUrl,
      fake.apiKey
    ])
    assert.strictEqual(run.code, 0, `bun exited with ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`)
    const result = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}")
    assert.strictEqual(result.runtime, `bun ${bun.version}`)
    assert.deepStrictEqual(
      result.entries,
      [join(root, "src", "index.ts"), join(root, "src", "ai", "index.ts")].map((path) => pathToFileURL(path).href),
      "the TypeScript sources are what runs"
    )
    // Discovery: the live catalog, with the stored profile's key, and written to the (memory) disk cache.
    assert.strictEqual(result.source, "live")
    assert.isAbove(result.models, 0)
    assert.strictEqual(result.credentialSource, "profile:chutes:default")
    assert.isTrue(result.cacheWritten, "the live catalog went to the disk cache")
    assert.isAtLeast(fake.counters.models, 1)
    // The chat: streamed in several deltas that make up the reply, to the model the alias resolved to.
    assert.strictEqual(result.text, REPLY)
    assert.isAbove(result.deltas, 1)
    assert.strictEqual(result.finish, "stop")
    assert.strictEqual(fake.counters.chat, 1)
    const body = fake.chat.bodies.at(-1) as { readonly model: string; readonly stream: boolean }
    assert.strictEqual(body.model, result.resolved)
    assert.isTrue(body.stream)
    // Every request carried the stored key as its bearer.
    const apiRequests = fake.requests.filter((request) => request.route === "models" || request.route === "chat")
    assert.isNotEmpty(apiRequests)
    for (const request of apiRequests) assert.strictEqual(request.headers["authorization"], `Bearer ${fake.apiKey}`)
  }, 90_000)
})
