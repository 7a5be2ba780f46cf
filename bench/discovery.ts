/**
 * Discovery with a cold cache: the SDK's `discover` on a provider that has not fetched yet vs the raw limit (plain
 * `fetch` + `JSON.parse` + a minimal map of the same fields), interleaved in one run against the same fake.
 */
import * as Effect from "effect/Effect"
import type { FakeProcess } from "./fake.js"
import { interleave, type Plan, ratioRow, type Row, sinceMs, stats } from "./harness.js"
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
  /** Also report the breakdown rows (`ModelDiscovery.fetch` alone, discover with the provider's close). */
  readonly breakdown: boolean
}): Promise<ReadonlyArray<Row>> => {
  const { fake, runtime, size } = options
  await fake.setModels(size)
  const cred = await runtime.runPromise(credential)
  const withClose: Array<number> = []

  const raw = async () => {
    const start = process.hrtime.bigint()
    const models = await rawDiscover(fake.baseUrl, fake.apiKey)
    const ms = sinceMs(start)
    expectModels("raw", models, size)
    return ms
  }
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

  const fns = options.breakdown ? [raw, sdk, fetchOnly, withMake] : [raw, sdk]
  const samples = await interleave(fns, options.plan)
  const rawStats = stats(samples[0]!)
  const sdkStats = stats(samples[1]!)
  // Warm-up rounds also pushed into withClose: keep the timed ones only.
  const closeStats = stats(withClose.slice(withClose.length - samples[1]!.length))
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
      })
    )
  }
  return rows
}
