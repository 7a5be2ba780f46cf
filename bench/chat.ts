/**
 * The chat rows: `effect-chutes/ai` (`LanguageModel.streamText` / `generateText` over `ChutesLanguageModel`) against
 * the official `openai` client and a raw floor (`fetch` + line split + `JSON.parse`), all three reading the same
 * answers from a local server that streams like Chutes (bench/chat-server.ts, its own process). The paced-stream and
 * completion measurements run a fourth client beside them, the `@effect/ai` floor (bench/chat-floor.ts:
 * `LanguageModel.make` over a minimal provider on the platform's undici client, no SDK code), reported against
 * `openai` with no target of its own. See bench/README.md ("Chat") for the method and the figures.
 *
 *   npx tsx bench/chat.ts [--smoke]
 *
 * Timing: the clients interleaved A/B/C then C/B/A in one process, after warm-up; wall time from the call to
 * the end of the stream (or to the first non-empty text delta), CPU from `process.cpuUsage()` over the same span (the
 * server's work is in another process). Memory: one child process per client and round (bench/chat-memory-child.ts).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { type ChatClient, openaiClient, rawClient, sdkClient } from "./chat-clients.js"
import { floorClient } from "./chat-floor.js"
import { textLength } from "./chat-server.js"
import { formatTable, type Plan, ratioOf, ratioRow, type Row, sinceMs, type Stats, stats } from "./harness.js"

const MiB = 1024 * 1024

interface ChatServer {
  readonly baseUrl: string
  readonly apiKey: string
  readonly close: () => Promise<void>
}

/** Starts bench/chat-server.ts in its own process. */
export const startChatServer = async (root: string): Promise<ChatServer> => {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "bench/chat-server.ts"], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, NODE_OPTIONS: "" }
  })
  const stdout = child.stdout
  if (stdout === null) throw new Error("chat-server: no stdout")
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: stdout })
    lines.once("line", (line) => {
      lines.close()
      resolve(line)
    })
    child.once("exit", (code) => reject(new Error(`chat-server exited with ${code} before it was ready`)))
    child.once("error", reject)
  })
  const info = JSON.parse(first) as { readonly url: string; readonly apiKey: string }
  return {
    baseUrl: info.url,
    apiKey: info.apiKey,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.kill("SIGTERM")
      })
  }
}

interface Sample {
  /** From the call to the end. */
  readonly totalMs: number
  /** From the call to the first non-empty text delta. */
  readonly firstMs: number
  /** User + system CPU of this process over the same span. */
  readonly cpuMs: number
}

/** The clients of every chat measurement (and of the memory rows). */
const SIDES = ["sdk", "openai", "raw"] as const
type Side = typeof SIDES[number]
/** The paced-stream and completion measurements add the `@effect/ai` floor, next to the SDK in the interleaving. */
const SIDES_WITH_FLOOR = ["sdk", "floor", "openai", "raw"] as const
type AnySide = typeof SIDES_WITH_FLOOR[number]

/** Runs `measure` for each side, interleaved forwards then backwards; the timed samples per side. */
const interleaveSides = async <S extends AnySide>(
  plan: Plan,
  sides: ReadonlyArray<S>,
  measure: (side: S) => Promise<Sample>
): Promise<Record<S, Array<Sample>>> => {
  const out = Object.fromEntries(sides.map((side) => [side, []])) as unknown as Record<S, Array<Sample>>
  for (let round = 0; round < plan.warmup + plan.runs; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const sample = await measure(side)
      if (round >= plan.warmup) out[side].push(sample)
    }
  }
  return out
}

const streamSample = async (client: ChatClient, model: string, chunks: number): Promise<Sample> => {
  let chars = 0
  let firstMs = Number.NaN
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  await client.stream(model, (delta) => {
    if (chars === 0) firstMs = sinceMs(start)
    chars += delta.length
  })
  const totalMs = sinceMs(start)
  const used = process.cpuUsage(cpu)
  if (chars !== textLength(chunks)) throw new Error(`${model}: read ${chars} characters, expected ${textLength(chunks)}`)
  return { totalMs, firstMs, cpuMs: (used.user + used.system) / 1000 }
}

/** `calls` non-streaming completions in a row; figures per call. */
const completionSample = async (client: ChatClient, calls: number): Promise<Sample> => {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) {
    const text = await client.complete("bench/single")
    if (text.length === 0) throw new Error("bench/single: empty answer")
  }
  const totalMs = sinceMs(start) / calls
  const used = process.cpuUsage(cpu)
  return { totalMs, firstMs: totalMs, cpuMs: (used.user + used.system) / 1000 / calls }
}

const pick = (samples: ReadonlyArray<Sample>, f: (s: Sample) => number): Stats => stats(samples.map(f))

/** A row against `openai` (with the target) and the same against the raw floor (reported only). */
const pairRows = (
  name: string,
  samples: Record<Side, Array<Sample>>,
  f: (s: Sample) => number,
  max: number,
  note?: string
): Array<Row> => {
  const sdk = pick(samples.sdk, f)
  return [
    ratioRow({ name, unit: "ms", sdk, anchorLabel: "openai 6.x", anchor: pick(samples.openai, f), max, note }),
    ratioRow({ name: `${name} (floor)`, unit: "ms", sdk, anchorLabel: "raw fetch+split+parse", anchor: pick(samples.raw, f) })
  ]
}

/**
 * The `@effect/ai` floor against `openai`, in the SDK column: what `@effect/ai` + the platform's client cost with no
 * SDK code, measured beside the SDK. Reported only; the note gives the SDK's ratio to the floor.
 */
const floorRow = (name: string, samples: Record<AnySide, Array<Sample>>, f: (s: Sample) => number): Row => {
  const floor = pick(samples.floor, f)
  const sdk = pick(samples.sdk, f)
  const sdkOverFloor = ratioOf("ms", sdk, floor)
  return ratioRow({
    name: `${name}, @effect/ai floor`,
    unit: "ms",
    sdk: floor,
    anchorLabel: "openai 6.x",
    anchor: pick(samples.openai, f),
    note: `floor (@effect/ai + platform, no SDK code): LanguageModel.make over a minimal provider on ` +
      `NodeHttpClient.layerUndici (bench/chat-floor.ts), in the SDK column; no target. SDK / floor ` +
      `${sdkOverFloor === undefined ? "n/a" : `${sdkOverFloor.toFixed(2)}×`}`,
    extra: { sdk, sdkOverFloor }
  })
}

interface MemoryFigures {
  readonly base: number
  readonly peak5k: number
  readonly peak50k: number
  readonly heapRetained: number
  readonly chars5k: number
  readonly chars50k: number
}

const memoryRun = (root: string, side: Side, server: ChatServer, stateDir: string): MemoryFigures => {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--expose-gc", "bench/chat-memory-child.ts", side, server.baseUrl, server.apiKey, stateDir],
    { cwd: root, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } }
  )
  if (result.status !== 0) throw new Error(`chat memory child (${side}): ${(result.stderr || result.stdout).slice(0, 400)}`)
  const figures = JSON.parse(result.stdout.trim()) as MemoryFigures
  if (figures.chars5k !== textLength(5000) || figures.chars50k !== textLength(50_000)) {
    throw new Error(`chat memory child (${side}): short read`)
  }
  return figures
}

/**
 * The chat rows. `plan` scales the timed rounds (smoke: one or two of each).
 */
export const chatRows = async (options: {
  readonly root: string
  readonly smoke: boolean
  readonly progress?: ((message: string) => void) | undefined
}): Promise<ReadonlyArray<Row>> => {
  const { root, smoke } = options
  const progress = options.progress ?? (() => {})
  const plan = (warmup: number, runs: number): Plan => (smoke ? { warmup: 1, runs: 2 } : { warmup, runs })
  const server = await startChatServer(root)
  const stateDir = mkdtempSync(join(tmpdir(), "effect-chutes-bench-chat-"))
  const clients = {
    sdk: await sdkClient(server.baseUrl, server.apiKey, stateDir),
    openai: openaiClient(server.baseUrl, server.apiKey),
    raw: rawClient(server.baseUrl, server.apiKey),
    floor: floorClient(server.baseUrl, server.apiKey)
  } satisfies Record<AnySide, ChatClient>
  const rows: Array<Row> = []
  try {
    progress("chat: 5,000-chunk stream")
    const burst = await interleaveSides(
      plan(8, 20),
      SIDES,
      (side) => streamSample(clients[side], "bench/burst-5000", 5000)
    )
    rows.push(...pairRows("chat, 5,000-chunk stream, total time", burst, (s) => s.totalMs, 2))
    rows.push(...pairRows("chat, 5,000-chunk stream, CPU per chunk", burst, (s) => s.cpuMs / 5000, 2.5))

    progress("chat: token-paced stream, 200 events 1 ms apart")
    // 40 rounds: with 20, one run's ratio of medians moved by ±10 % between runs (bench/README.md, "Fifth pass").
    const paced = await interleaveSides(
      plan(5, 40),
      SIDES_WITH_FLOOR,
      (side) => streamSample(clients[side], "bench/paced-200-1", 200)
    )
    rows.push(...pairRows("chat, paced 200 × 1 ms, time to first text", paced, (s) => s.firstMs, 1.3))
    rows.push(floorRow("chat, paced 200 × 1 ms, time to first text", paced, (s) => s.firstMs))
    rows.push(...pairRows("chat, paced 200 × 1 ms, CPU per event", paced, (s) => s.cpuMs / 200, 2.5))
    rows.push(floorRow("chat, paced 200 × 1 ms, CPU per event", paced, (s) => s.cpuMs / 200))

    progress("chat: one non-streaming completion")
    const calls = smoke ? 2 : 20
    // 100 samples of 20 calls (~10 s): with 25, one run's ratio moved by ±10 % between runs ("Fifth pass").
    const single = await interleaveSides(
      plan(20, 100),
      SIDES_WITH_FLOOR,
      (side) => completionSample(clients[side], calls)
    )
    rows.push(...pairRows("chat, one completion", single, (s) => s.totalMs, 1.2, `mean of ${calls} calls a sample`))
    rows.push(floorRow("chat, one completion", single, (s) => s.totalMs))

    progress("chat: memory over 50,000 chunks (child processes)")
    const memory: Record<Side, Array<MemoryFigures>> = { sdk: [], openai: [], raw: [] }
    const memoryRounds = smoke ? 1 : 3
    for (let round = 0; round < memoryRounds; round++) {
      for (const side of round % 2 === 0 ? SIDES : [...SIDES].reverse()) {
        memory[side].push(memoryRun(root, side, server, stateDir))
      }
    }
    const peak = (side: Side, key: "peak5k" | "peak50k") => stats(memory[side].map((m) => m[key] / MiB))
    const retained = (side: Side) => stats(memory[side].map((m) => m.heapRetained / MiB))
    const sdkRetained = retained("sdk")
    rows.push({
      name: "chat, heap retained after a 50,000-chunk stream",
      unit: "MiB",
      sdk: sdkRetained,
      anchorLabel: "raw fetch+split+parse",
      anchor: retained("raw"),
      ratio: undefined,
      target: "≤ 1 MiB",
      met: sdkRetained.median <= 1,
      note: "heap in use after a full GC, after the stream minus before it: what a stream leaves behind"
    })
    for (const side of SIDES) {
      rows.push(ratioRow({
        name: `chat, peak RSS over 50,000 vs 5,000 chunks, ${side}`,
        unit: "MiB",
        sdk: peak(side, "peak50k"),
        anchorLabel: "same client, 5,000 chunks",
        anchor: peak(side, "peak5k"),
        max: side === "sdk" ? 1.1 : undefined,
        note: side === "sdk" ? "flat = no growth with the stream's length; the raw and openai rows show V8's own" : undefined
      }))
    }
  } finally {
    await clients.sdk.close()
    await clients.floor.close()
    await server.close()
    rmSync(stateDir, { recursive: true, force: true })
  }
  return rows
}

const isMain = (() => {
  const entry = process.argv[1]
  return entry !== undefined && resolve(entry) === fileURLToPath(import.meta.url)
})()

if (isMain) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
  const smoke = process.argv.includes("--smoke") || /^(1|true|yes)$/i.test(process.env["BENCH_SMOKE"] ?? "")
  const before = loadavg()[0] ?? Number.NaN
  const started = process.hrtime.bigint()
  const cpu = (() => {
    try {
      return readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"))?.split(":")[1]
        ?.trim() ?? "unknown"
    } catch {
      return cpus()[0]?.model ?? "unknown"
    }
  })()
  chatRows({ root, smoke, progress: (message) => process.stderr.write(`bench: ${message}\n`) }).then(
    (rows) => {
      const after = loadavg()[0] ?? Number.NaN
      process.stdout.write(
        `effect-chutes chat benchmark${smoke ? " (SMOKE: figures are meaningless)" : ""} — node ${process.version}, ` +
          `${cpu}, ${cpus().length} cores, load average ${before.toFixed(2)} -> ${after.toFixed(2)}\n` +
          `median [p10–p90]; ratio = SDK cost / anchor cost, all sides interleaved in this run\n\n` +
          `${formatTable(rows)}\n\n`
      )
      const missed = rows.filter((row) => row.met === false).map((row) => row.name.trim())
      const met = rows.filter((row) => row.met === true).length
      process.stdout.write(
        `targets: ${met} met, ${missed.length} missed${missed.length > 0 ? ` (${missed.join("; ")})` : ""}; ` +
          `${(sinceMs(started) / 1000).toFixed(1)} s\n`
      )
    },
    (error: unknown) => {
      process.stderr.write(`bench: failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
      process.exitCode = 1
    }
  )
}
