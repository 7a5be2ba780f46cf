/**
 * The `@effect/ai` examples, run as a user runs them (in a child process, with an empty state directory and no
 * Chutes variables): what they print, how long the offline stream takes, and that a stored profile is used.
 *
 * The examples are bundled once with esbuild, `effect-chutes/*` resolved to the sources as the repository's own tooling
 * does (tsconfig `paths`, which esbuild reads, and the package's source export condition): a child then starts in a
 * fraction of a second instead of the ~2 s of `tsx`.
 */
import { assert, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { build } from "esbuild"
import { spawn } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as FakeChutes from "../../src/testing/FakeChutes.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

/** The export condition that maps `effect-chutes/*` to `src/` in this repository, whatever it is called, if any. */
const sourceConditions = (): Array<string> => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    readonly exports: Readonly<Record<string, Readonly<Record<string, string>>>>
  }
  return Object.entries(pkg.exports["./ai"] ?? {}).filter(([, target]) => target.startsWith("./src/")).map(([c]) => c)
}

const EXAMPLES = ["chat", "chat-stream", "tools", "account"] as const
type Example = typeof EXAMPLES[number]

/** A scratch directory with the examples bundled once, and an empty state directory. */
class Workspace extends Context.Tag("test/ai/examples/Workspace")<Workspace, {
  readonly dir: string
  readonly stateDir: string
}>() {
  static readonly layer = Layer.scoped(
    Workspace,
    Effect.acquireRelease(
      Effect.promise(async () => {
        const dir = mkdtempSync(join(tmpdir(), "effect-chutes-examples-"))
        await build({
          entryPoints: EXAMPLES.map((name) => join(root, "examples", `${name}.ts`)),
          outdir: join(dir, "bin"),
          outExtension: { ".js": ".mjs" },
          bundle: true,
          platform: "node",
          format: "esm",
          target: "node20",
          conditions: sourceConditions(),
          // Bundled CommonJS dependencies (proper-lockfile, graceful-fs) call require() for Node built-ins.
          banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
          logLevel: "warning"
        })
        // FakeChutes reads its captured catalogs next to its module (`./fixtures/`): next to the bundles, here.
        cpSync(join(root, "src", "testing", "fixtures"), join(dir, "bin", "fixtures"), { recursive: true })
        const stateDir = join(dir, "state")
        mkdirSync(stateDir, { mode: 0o700 })
        return { dir, stateDir }
      }),
      ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
  )
}

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** Milliseconds from the first line on stdout to the exit: the example's own work, without the start-up. */
  readonly afterFirstLine: number
}

/** Runs a bundled example with no Chutes variables but `env`, `$HOME` and the state directory in the workspace. */
const runExample = (
  space: Context.Tag.Service<Workspace>,
  name: Example,
  args: ReadonlyArray<string> = [],
  env: Readonly<Record<string, string>> = {}
) =>
  Effect.promise(() =>
    new Promise<Run>((resolve) => {
      const clean = Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !key.startsWith("CHUTES_") && key !== "XDG_CONFIG_HOME")
      )
      const child = spawn(process.execPath, [join(space.dir, "bin", `${name}.mjs`), ...args], {
        cwd: root,
        env: { ...clean, HOME: space.dir, CHUTES_STATE_DIR: space.stateDir, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      let firstLineAt: number | undefined
      child.stdout.on("data", (chunk: Buffer) => {
        firstLineAt ??= Date.now()
        stdout += chunk.toString()
      })
      child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
      // A hung example fails with what it printed instead of timing the test out blind.
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
      child.on("close", (code) => {
        clearTimeout(timer)
        resolve({ code, stdout, stderr, afterFirstLine: Date.now() - (firstLineAt ?? Date.now()) })
      })
    })
  )

const ok = (run: Run) => assert.strictEqual(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`)

// Real processes and sockets: the live clock (no TestClock).
layer(Workspace.layer, { excludeTestServices: true, timeout: "60 seconds" })("examples", (it) => {
  it.scoped("tools.ts prints each line once: one line per tool call, with its arguments and result", () =>
    Effect.gen(function*() {
      const run = yield* runExample(yield* Workspace, "tools")
      ok(run)
      const lines = run.stdout.split("\n").filter((line) => line.trim() !== "")
      const repeated = lines.filter((line, i) => lines.indexOf(line) !== i)
      assert.deepStrictEqual(repeated, [], run.stdout)
      assert.include(run.stdout, `get_weather({"city":"Paris"}) -> {"city":"Paris","celsius":21,"sky":"clear"}`)
      assert.include(run.stdout, `get_weather({"city":"Oslo"}) -> {"city":"Oslo","celsius":-3,"sky":"clear"}`)
      assert.include(run.stdout, "(offline: FakeChutes")
    }))

  it.scoped("account.ts: the account, three calls and their cost, a typed 402, the usage table (offline)", () =>
    Effect.gen(function*() {
      const run = yield* runExample(yield* Workspace, "account")
      ok(run)
      const out = run.stdout
      assert.include(out, "account: alice · balance $2.5000 · today's quota 298 of 300 requests used")
      // DeepSeek-V3.2 at $1 / $1 (cache $0.5), Kimi-K2.6 at $0.74 / $3.5 (cache $0.37) per 1M tokens, live prices.
      assert.match(out, /DeepSeek-V3\.2-TEE +generateText 1,200 in \(0 cached\) · 150 out · \$0\.001350 list \(live prices\) · covered by the daily quota \(quota 298\/300/)
      assert.match(out, /Kimi-K2\.6-TEE +streamText +3,000 in \(2,000 cached\) · 400 out · \$0\.002880 list \(live prices\) · covered by the daily quota \(quota 299\/300/)
      assert.match(out, /DeepSeek-V3\.2-TEE +generateText 1,200 in \(1,000 cached\) · 90 out · \$0\.000790 list \(live prices\) · charged \$0\.000790 \(quota 300\/300/)
      assert.include(out, "budget: $0.005020 of $0.01 spent")
      assert.match(out, /a refused call: kind QuotaExceeded — .*the quota resets \d{4}-\d\d-\d\d 00:00 UTC \(in (\d+ h )?\d+ min\)/)
      assert.match(out, /deepseek-ai\/DeepSeek-V3\.2-TEE +2 +2,400 +240 +\$0\.000790/)
      assert.match(out, /moonshotai\/Kimi-K2\.6-TEE +1 +3,000 +400 +\$0\.000000/)
      assert.include(out, "balance now: $2.499210")
    }))

  it.scoped("chat-stream.ts offline streams at loopback speed (its paced writes took 4–6 s)", () =>
    Effect.gen(function*() {
      const run = yield* runExample(yield* Workspace, "chat-stream")
      ok(run)
      assert.include(run.stdout, "the stream says [DONE].")
      assert.include(run.stdout, "finish: stop · 18 tokens in, 40 out")
      // From the "(offline: …" line to the exit: the provider, discovery, the stream and the shutdown — 0.4 to
      // 0.9 s on two loaded cores. The 280 writes it used to pace 15 ms apart took 4.2 s at the very least.
      assert.isBelow(run.afterFirstLine, 2_500, run.stdout)
    }))

  it.scoped("chat.ts uses the profile `effect-chutes onboard` stored, without --live; --offline takes the fake", () =>
    Effect.gen(function*() {
      const space = yield* Workspace
      const fake = yield* FakeChutes.make()
      fake.chat.setDefaultReply({ content: "Answered with the stored profile." })
      writeFileSync(
        join(space.stateDir, "auth-profiles.json"),
        JSON.stringify({
          version: 1,
          profiles: { "chutes:default": { type: "api_key", provider: "chutes", key: fake.apiKey } }
        }),
        { mode: 0o600 }
      )
      const env = { CHUTES_BASE_URL: fake.baseUrl }

      const stored = yield* runExample(space, "chat", [], env)
      ok(stored)
      assert.include(stored.stdout, "(profile:chutes:default)")
      assert.include(stored.stdout, "Answered with the stored profile.")
      assert.notInclude(stored.stdout, "(offline")
      assert.notInclude(stored.stdout + stored.stderr, fake.apiKey)
      assert.strictEqual(fake.counters.chat, 1)

      const offline = yield* runExample(space, "chat", ["--offline"], env)
      ok(offline)
      assert.include(offline.stdout, "(offline: FakeChutes")
      assert.strictEqual(fake.counters.chat, 1)
    }))
})
