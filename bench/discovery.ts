/**
 * Discovery with a cold cache: the SDK's `discover` on a provider that has not fetched yet vs the raw limit (plain
 * `fetch` + `JSON.parse` + a minimal map of the same fields), interleaved in one run against the same fake.
 */
import Undici from "@effect/platform-node/Undici"
import * as Effect from "effect/Effect"
import type { FakeProcess } from "./fake.js"
import { interleaveRounds, type Plan, ratioRow, type Row, sinceMs, stats } from "./harness.js"
import { rawDefinition, type WireModel } from "./raw.js"
import { credential, expectModels, fetchModels, freshProvider, type Runtime } from "./sdk.js"

/**
 * The raw limit: what discovery costs with no SDK at all.
 */
export const rawDiscover = async (baseUrl: string, apiKey: string) => {
  const response = await fetch(`${baseUrl}/models`, {
    headers: { authorization: `Bearer ${apiKey}`, accept: "application/json" }
  })
  if (!response.ok) throw new Error(`raw discovery: HTTP ${response.status}`)
  // The unchecked cast is the point: this is the floor that validates nothing.
  const body = JSON.parse(await response.text()) as { readonly data: ReadonlyArray<WireModel> }
  return body.data.map(rawDefinition)
}

/**
 * The raw limit on the SDK's own transport: undici's `request` (what `NodeHttpClient.layerUndici` calls) instead of
 * global `fetch`, with the same parse and map. A second anchor, not the target's: what the SDK costs over the
 * transport it uses (undici's `request` is cheaper than global `fetch`, which is itself built on undici).
 */
export const rawUndiciDiscover = async (baseUrl: string, apiKey: string) => {
  const response = await Undici.request(`${baseUrl}/models`, {
    headers: { authorization: `Bearer ${apiKey}`, accept: "application/json" }
  })
  if (response.statusCode !== 200) {
    await response.body.dump()
    throw new Error(`raw undici discovery: HTTP ${response.statusCode}`)
  }
  const body = JSON.parse(await response.body.text()) as { readonly data: ReadonlyArray<WireModel> }
  return body.data.map(rawDefinition)
}

/**
 * The discovery rows for one catalog size.
 */
export const discoveryRows = async (options: {
  readonly runtime: Runtime
  readonly fake: FakeProcess
  readonly size: number
  readonly label: string
  readonly plan: Plan
  /** The target for the main row (ratio at most), if any. */
  readonly max: number | undefined
  /** Also report the breakdown rows (`ModelDiscovery.fetch` alone, discover with the provider's close, ...). */
  readonly breakdown: boolean
  /**
   * Also report `discover` over these warm-up rounds (0-based, end exclusive; clamped to the plan's warm-up), when
   * the JIT is still compiling both sides: the figures the main row leaves out.
   */
  readonly warming?: { readonly from: number; readonly to: number } | undefined
}): Promise<ReadonlyArray<Row>> => {
  const { fake, runtime, size } = options
  await fake.setModels(size)
  const cred = await runtime.runPromise(credential)
  const withClose: Array<number> = []

  // Timed: a raw discovery, from the request to the mapped models.
  const rawWith = (what: string, discover: typeof rawDiscover) => async () => {
    const start = process.hrtime.bigint()
    const models = await discover(fake.baseUrl, fake.apiKey)
    const ms = sinceMs(start)
    expectModels(what, models, size)
    return ms
  }
  const raw = rawWith("raw", rawDiscover)
  const rawUndici = rawWith("raw undici", rawUndiciDiscover)
  // Timed: `discover` on a provider built just before (untimed, as an app builds it once, the way the raw side's
  // `fetch` has its dispatcher ready), until the snapshot is in hand, as an async caller sees it. Closing the
  // provider's scope afterwards is timed separately (`withClose`) and never overlaps the next measurement.
  const sdk = async () => {
    const { close, provider } = await runtime.runPromise(freshProvider)
    const start = process.hrtime.bigint()
    const snapshot = await runtime.runPromise(provider.discover)
    const ms = sinceMs(start)
    await runtime.runPromise(close)
    withClose.push(sinceMs(start))
    expectModels("discover", snapshot.models, size)
    return ms
  }
  // Timed: building the provider as well, in the same program as `discover`.
  const withMake = async () => {
    const start = process.hrtime.bigint()
    const { close, snapshot } = await runtime.runPromise(Effect.gen(function*() {
      const { close, provider } = yield* freshProvider
      const snapshot = yield* provider.discover
      return { close, snapshot }
    }))
    const ms = sinceMs(start)
    await runtime.runPromise(close)
    expectModels("fresh provider + discover", snapshot.models, size)
    return ms
  }
  const fetchOnly = async () => {
    const start = process.hrtime.bigint()
    const result = await runtime.runPromise(fetchModels(cred))
    const ms = sinceMs(start)
    expectModels("ModelDiscovery.fetch", result.models, size)
    return ms
  }

  const fns = options.breakdown ? [raw, sdk, fetchOnly, withMake, rawUndici] : [raw, sdk]
  const rounds = await interleaveRounds(fns, options.plan)
  const { warmup } = options.plan
  const samples = rounds.map((all) => all.slice(warmup))
  const rawStats = stats(samples[0]!)
  const sdkStats = stats(samples[1]!)
  // withClose has a figure for every round, warm-up included: keep the timed ones.
  const closeStats = stats(withClose.slice(warmup))
  await fake.reset()

  const anchorLabel = "raw fetch+parse+map"
  const rows: Array<Row> = [
    ratioRow({
      name: `discover, cold cache, ${options.label} models`,
      unit: "ms",
      sdk: sdkStats,
      anchorLabel,
      anchor: rawStats,
      max: options.max
    })
  ]
  if (options.breakdown) {
    rows.push(
      ratioRow({
        name: `  ModelDiscovery.fetch alone, ${options.label}`,
        unit: "ms",
        sdk: stats(samples[2]!),
        anchorLabel,
        anchor: rawStats
      }),
      ratioRow({
        name: `  fresh provider + discover, ${options.label}`,
        unit: "ms",
        sdk: stats(samples[3]!),
        anchorLabel,
        anchor: rawStats,
        note: "includes building the provider (ChutesProvider.make in a new scope) in the same program"
      }),
      ratioRow({
        name: `  discover + provider close, ${options.label}`,
        unit: "ms",
        sdk: closeStats,
        anchorLabel,
        anchor: rawStats,
        note: "includes closing the provider's scope (the disk-cache write finishes by then)"
      }),
      ratioRow({
        name: `  discover vs raw undici.request, ${options.label}`,
        unit: "ms",
        sdk: sdkStats,
        anchorLabel: "raw undici.request+parse+map",
        anchor: stats(samples[4]!),
        note: "the same discover against the raw limit on the SDK's own transport (undici's request, not fetch)"
      })
    )
  }
  if (options.warming !== undefined) {
    const from = Math.min(options.warming.from, Math.max(0, warmup - 1))
    const to = Math.min(options.warming.to, warmup)
    rows.push(ratioRow({
      name: `  discover while the JIT warms up, ${options.label}`,
      unit: "ms",
      sdk: stats(rounds[1]!.slice(from, to)),
      anchorLabel,
      anchor: stats(rounds[0]!.slice(from, to)),
      note: `warm-up rounds ${from + 1}–${to} of ${warmup}, which the main row leaves out; each round also runs the ` +
        "SDK's code in the breakdown functions, so per round it warms up faster than the raw side"
    }))
  }
  return rows
}
