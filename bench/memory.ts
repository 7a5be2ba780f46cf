/**
 * Memory: heap and RSS retained after decoding a 5,000-model catalog vs the same JSON just parsed, each measured in
 * its own child process (`--expose-gc`, `gc()` before and after, the result held during the measurement).
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import { bundle } from "./coldstart.js"
import { interleave, naRow, type Plan, ratioRow, type Row, stats } from "./harness.js"

const MiB = 1024 * 1024

interface Measurement {
  readonly heapBytes: number
  readonly rssBytes: number
  readonly models: number
}

const isMeasurement = (value: unknown): value is Measurement =>
  typeof value === "object" && value !== null && "heapBytes" in value && typeof value.heapBytes === "number" &&
  "rssBytes" in value && typeof value.rssBytes === "number" && "models" in value && typeof value.models === "number"

/**
 * The memory rows for a catalog of `size` models.
 */
export const memoryRows = async (options: {
  readonly root: string
  readonly workDir: string
  readonly size: number
  readonly label: string
  readonly plan: Plan
}): Promise<ReadonlyArray<Row>> => {
  const { size, workDir } = options
  const heapName = `memory, heap retained, ${options.label} models`
  const rssName = `memory, RSS growth, ${options.label} models`
  const anchorLabel = "JSON.parse, kept"
  mkdirSync(workDir, { recursive: true })
  const child = join(workDir, "memory-child.mjs")
  const built = await bundle(join(options.root, "bench", "memory-child.ts"), child)
  if ("error" in built) {
    const note = `n/a (the measuring child does not bundle: ${built.error})`
    return [
      naRow(heapName, "MiB", anchorLabel, note, "ratio ≤ 2"),
      naRow(rssName, "MiB", anchorLabel, note, "ratio ≤ 2")
    ]
  }
  const catalog = join(workDir, `catalog-${size}.json`)
  writeFileSync(catalog, JSON.stringify({ object: "list", data: FakeChutes.generateModels(size) }))

  const heap = { parse: new Array<number>(), sdk: new Array<number>(), map: new Array<number>() }
  const rss = { parse: new Array<number>(), sdk: new Array<number>(), map: new Array<number>() }
  const measure = (mode: "parse" | "sdk" | "map") => async () => {
    const result = spawnSync(process.execPath, ["--expose-gc", child, mode, catalog], { encoding: "utf8" })
    const line: unknown = result.status === 0 ? JSON.parse(result.stdout.trim()) : undefined
    if (!isMeasurement(line) || line.models !== size) {
      const output = (result.stderr || result.stdout).slice(0, 300)
      throw new Error(`memory child (${mode}) failed: exit ${result.status}: ${output}`)
    }
    heap[mode].push(line.heapBytes / MiB)
    rss[mode].push(line.rssBytes / MiB)
    return 0
  }
  await interleave([measure("parse"), measure("sdk"), measure("map")], { warmup: 0, runs: options.plan.runs })
  const reference = (side: { readonly map: ReadonlyArray<number> }) =>
    `; for reference, the raw limit's unchecked map of the same JSON (no SDK): ${stats(side.map).median.toFixed(2)} MiB`
  return [
    ratioRow({
      name: heapName,
      unit: "MiB",
      sdk: stats(heap.sdk),
      anchorLabel,
      anchor: stats(heap.parse),
      max: 2,
      note: "a child process per measurement; SDK = decodeCatalog + makeSnapshot (definitions + id index)" +
        reference(heap),
      extra: { rawMap: stats(heap.map) }
    }),
    ratioRow({
      name: rssName,
      unit: "MiB",
      sdk: stats(rss.sdk),
      anchorLabel,
      anchor: stats(rss.parse),
      max: 2,
      note: `RSS keeps the pages of the parse tree the decoder dropped${reference(rss)}`,
      extra: { rawMap: stats(rss.map) }
    })
  ]
}
