/**
 * One memory measurement, in a fresh process (`node --expose-gc memory-child.mjs <parse|sdk|map> <catalog.json>`).
 *
 * Every mode loads the same bundle and reads the same body before the baseline, so the delta is only what the result
 * retains: `parse` keeps `JSON.parse(body)`; `sdk` keeps what the provider keeps for a live catalog — the decoded
 * definitions and their id index (`decodeCatalog` + `makeSnapshot`); `map` keeps the raw limit's unchecked map of the
 * parsed items (a reference: what decoding to a smaller structure costs with no SDK at all). Prints one line of JSON.
 */
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import { setTimeout as sleep } from "node:timers/promises"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as ModelDiscovery from "../src/ModelDiscovery.js"
import { rawDefinition, type WireModel } from "./raw.js"

const [mode, file] = process.argv.slice(2)
const exposed: unknown = Reflect.get(globalThis, "gc")
const gc = typeof exposed === "function" ? (): void => void exposed() : undefined
if (gc === undefined || file === undefined || (mode !== "parse" && mode !== "sdk" && mode !== "map")) {
  process.stderr.write("usage: node --expose-gc memory-child.mjs <parse|sdk|map> <catalog.json>\n")
  process.exit(2)
}

const settle = async (): Promise<NodeJS.MemoryUsage> => {
  // Twice, then again after a pause: V8 sweeps and releases pages on background threads, and right after `gc()` the
  // heap can still count memory that is already garbage (up to 5 MiB here).
  gc()
  gc()
  await sleep(100)
  gc()
  await sleep(100)
  return process.memoryUsage()
}

const body = readFileSync(file, "utf8")
const before = await settle()
let kept: { readonly count: number; readonly value: unknown }
if (mode === "parse") {
  const parsed: unknown = JSON.parse(body)
  const data = typeof parsed === "object" && parsed !== null && "data" in parsed ? parsed.data : undefined
  kept = { count: Array.isArray(data) ? data.length : -1, value: parsed }
} else if (mode === "map") {
  // The raw limit's unchecked cast, as in bench/discovery.ts: it trusts the server.
  const models = (JSON.parse(body) as { readonly data: ReadonlyArray<WireModel> }).data.map(rawDefinition)
  kept = { count: models.length, value: models }
} else {
  const decoded = Either.getOrThrowWith(ModelDiscovery.decodeCatalog(body), (failure) => new Error(failure.detail))
  const snapshot = ModelCatalog.makeSnapshot({ source: "live", models: decoded.models, skipped: decoded.skipped })
  kept = { count: snapshot.models.length, value: snapshot }
}
const after = await settle()
process.stdout.write(
  JSON.stringify({
    mode,
    models: kept.count,
    heapBytes: after.heapUsed - before.heapUsed,
    rssBytes: after.rss - before.rss,
    // Touch the result after the measurement so it is certainly alive during it.
    alive: kept.value !== undefined
  }) + "\n"
)
