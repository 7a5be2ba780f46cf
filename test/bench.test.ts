/**
 * The benchmark harness must not rot: a smoke run (`bench/run.ts --smoke`, every row once or twice) in a child
 * process, as `npm run bench` would start it. Speed is never asserted here — only that the harness runs, prints every
 * row and measured what it could.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Every row the benchmark prints, in order. */
const ROWS = [
  "discover, cold cache, 15 models",
  "  ModelDiscovery.fetch alone, 15",
  "  fresh provider + discover, 15",
  "  discover + provider close, 15",
  "  discover vs raw undici.request, 15",
  "  discover while the JIT warms up, 15",
  "discover, cold cache, 500 models",
  "discover, cold cache, 5,000 models",
  "  ModelDiscovery.fetch alone, 5,000",
  "  fresh provider + discover, 5,000",
  "  discover + provider close, 5,000",
  "  discover vs raw undici.request, 5,000",
  "catalog, cached (500 models)",
  "resolve, alias",
  "resolve, ref",
  "resolve, bare id",
  "single-flight, concurrent catalog calls, cold",
  "cold start, models list --offline",
  "cold start, --help",
  "core entry import (bundled)",
  "core entry loads no CLI / platform-node",
  "memory, heap retained, 5,000 models",
  "memory, RSS growth, 5,000 models",
  "chat, 5,000-chunk stream, total time",
  "chat, 5,000-chunk stream, total time (floor)",
  "chat, 5,000-chunk stream, CPU per chunk",
  "chat, 5,000-chunk stream, CPU per chunk (floor)",
  "chat, paced 200 × 1 ms, time to first text",
  "chat, paced 200 × 1 ms, time to first text (floor)",
  "chat, paced 200 × 1 ms, time to first text, @effect/ai floor",
  "chat, paced 200 × 1 ms, CPU per event",
  "chat, paced 200 × 1 ms, CPU per event (floor)",
  "chat, paced 200 × 1 ms, CPU per event, @effect/ai floor",
  "chat, one completion",
  "chat, one completion (floor)",
  "chat, one completion, @effect/ai floor",
  "chat, heap retained after a 50,000-chunk stream",
  "chat, peak RSS over 50,000 vs 5,000 chunks, sdk",
  "chat, peak RSS over 50,000 vs 5,000 chunks, openai",
  "chat, peak RSS over 50,000 vs 5,000 chunks, raw"
] as const

/** Rows that depend on builds other engineers own (the CLI bundle, the core entry) and may say n/a instead. */
const MAY_BE_NA: ReadonlySet<string> = new Set([
  "cold start, models list --offline",
  "cold start, --help",
  "core entry import (bundled)",
  "core entry loads no CLI / platform-node"
])

interface ResultRow {
  readonly name: string
  readonly sdk: { readonly median: number } | null | undefined
  readonly note?: string | undefined
  readonly met?: boolean | undefined
}

const run = (args: ReadonlyArray<string>, timeoutMs: number) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], {
      cwd: root,
      env: { ...process.env, BENCH_SMOKE: "" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
    // Kill the whole run if it hangs, so that the test fails with what it printed instead of timing out blind.
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

describe("bench/run.ts --smoke", () => {
  it("runs every row, prints it in the table with its ratio, and writes the results", async () => {
    const dir = mkdtempSync(join(tmpdir(), "effect-chutes-bench-test-"))
    try {
      const out = join(dir, "results.json")
      const { code, stderr, stdout } = await run(["bench/run.ts", "--smoke", "--out", out], 160_000)
      assert.strictEqual(code, 0, `exit ${code}\n${stderr.slice(-2000)}`)

      const lines = stdout.split("\n")
      const header = lines.findIndex((line) => line.startsWith("row "))
      assert.isAtLeast(header, 0, stdout)
      assert.include(lines[header], "ratio")
      // One table line per row, in order, each starting with the row's name.
      const table = lines.slice(header + 2, header + 2 + ROWS.length)
      assert.deepStrictEqual(table.map((line, i) => line.startsWith(ROWS[i]!) ? ROWS[i] : line), [...ROWS])
      assert.match(stdout, /^targets: \d+ met, \d+ missed/m)

      const results: { readonly meta: { readonly smoke: boolean }; readonly rows: ReadonlyArray<ResultRow> } = JSON
        .parse(readFileSync(out, "utf8"))
      assert.isTrue(results.meta.smoke)
      assert.deepStrictEqual(results.rows.map((row) => row.name), [...ROWS])
      for (const row of results.rows) {
        if (MAY_BE_NA.has(row.name) && (row.sdk === undefined || row.sdk === null)) {
          assert.match(row.note ?? "", /^n\/a \(/, `${row.name} is n/a without saying why`)
        } else {
          assert.isNumber(row.sdk?.median, `${row.name} was not measured: ${row.note ?? ""}`)
        }
      }
      // A count, not a timing: however slow the machine, 100 concurrent callers share one request.
      const singleFlight = results.rows.find((row) => row.name === "single-flight, concurrent catalog calls, cold")
      assert.strictEqual(singleFlight?.sdk?.median, 1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)
})
