/**
 * The in-memory cache: cached `catalog` and `resolve` throughput inside one running Effect program, and single-flight
 * on a cold cache.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { DiscoveredModels } from "../src/ModelDiscovery.js"
import * as ModelRef from "../src/ModelRef.js"
import type { FakeProcess } from "./fake.js"
import { exact, type Plan, ratioRow, type Row, stats } from "./harness.js"
import { credential, fetchModels, freshProvider, type Runtime } from "./sdk.js"

const opsPerSecond = (calls: number, start: bigint): number =>
  calls / (Number(process.hrtime.bigint() - start) / 1e9)

/** Samples of both sides of a row. */
const sides = () => ({ sdk: new Array<number>(), anchor: new Array<number>() })

/** Inputs per resolution kind; every one is in the capture, so the figures are for hits. */
const RESOLVE_INPUTS = {
  alias: ["chutes-pro", "CHUTES-FAST", "chutes-vision"],
  ref: ["chutes/zai-org/GLM-5-TEE", "chutes/moonshotai/Kimi-K2.5-TEE", "chutes/Qwen/Qwen3-32B-TEE"],
  id: ["zai-org/GLM-5-TEE", "moonshotai/Kimi-K2.5-TEE", "Qwen/Qwen3-32B-TEE"]
} as const

/**
 * Cached `catalog` and `resolve`, ops per second, each round A/B then B/A against its anchor:
 * - `catalog` vs the least an Effect TTL cache can do: read the clock, compare, succeed with the entry;
 * - `resolve` vs the pure resolver (`ModelRef.resolve` on the same snapshot, no service, no Effect).
 */
export const cacheRows = async (options: {
  readonly runtime: Runtime
  readonly fake: FakeProcess
  readonly size: number
  readonly label: string
  /** `runs` rounds of `calls` calls per side. */
  readonly plan: Plan
  readonly calls: number
}): Promise<ReadonlyArray<Row>> => {
  const { calls, fake, plan, runtime } = options
  await fake.setModels(options.size)
  const program = Effect.gen(function*() {
    const { close, provider } = yield* freshProvider
    const snapshot = yield* provider.catalog
    if (snapshot.source !== "live") return yield* Effect.dieMessage(`catalog: expected live, got ${snapshot.source}`)

    // The anchor: a TTL cache entry read the cheapest way an Effect program can.
    const entry = { value: snapshot, expiresAt: Number.MAX_SAFE_INTEGER }
    const anchorRead = Effect.flatMap(
      Clock.currentTimeMillis,
      (now) => now < entry.expiresAt ? Effect.succeed(entry.value) : Effect.dieMessage("expired")
    )
    const context = { ids: snapshot.byId, userAliases: provider.userAliases }

    const catalog = sides()
    const resolve = { alias: sides(), ref: sides(), id: sides() }

    const sdkCatalog = Effect.gen(function*() {
      const start = process.hrtime.bigint()
      for (let i = 0; i < calls; i++) yield* provider.catalog
      return opsPerSecond(calls, start)
    })
    const anchorCatalog = Effect.gen(function*() {
      const start = process.hrtime.bigint()
      for (let i = 0; i < calls; i++) yield* anchorRead
      return opsPerSecond(calls, start)
    })
    const sdkResolve = (inputs: ReadonlyArray<string>, via: ModelRef.ResolvedModel["via"]) =>
      Effect.gen(function*() {
        const start = process.hrtime.bigint()
        for (let i = 0; i < calls; i++) {
          const resolved = yield* Effect.orDie(provider.resolve(inputs[i % inputs.length]!))
          if (resolved.via !== via) return yield* Effect.dieMessage(`resolve: expected via ${via}, got ${resolved.via}`)
        }
        return opsPerSecond(calls, start)
      })
    const anchorResolve = (inputs: ReadonlyArray<string>, via: ModelRef.ResolvedModel["via"]) =>
      Effect.sync(() => {
        const start = process.hrtime.bigint()
        for (let i = 0; i < calls; i++) {
          const resolved = ModelRef.resolve(inputs[i % inputs.length]!, context)
          if (Either.isLeft(resolved) || resolved.right.via !== via) throw new Error(`pure resolve: not via ${via}`)
        }
        return opsPerSecond(calls, start)
      })

    const pair = (
      into: { readonly sdk: Array<number>; readonly anchor: Array<number> },
      sdk: Effect.Effect<number>,
      anchor: Effect.Effect<number>,
      round: number
    ) =>
      Effect.gen(function*() {
        const [a, b] = round % 2 === 0
          ? yield* Effect.all([sdk, anchor])
          : yield* Effect.map(Effect.all([anchor, sdk]), ([b, a]) => [a, b] as const)
        if (round >= plan.warmup) {
          into.sdk.push(a)
          into.anchor.push(b)
        }
      })

    for (let round = 0; round < plan.warmup + plan.runs; round++) {
      yield* pair(catalog, sdkCatalog, anchorCatalog, round)
      for (const via of ["alias", "ref", "id"] as const) {
        yield* pair(resolve[via], sdkResolve(RESOLVE_INPUTS[via], via), anchorResolve(RESOLVE_INPUTS[via], via), round)
      }
    }
    yield* close
    return { catalog, resolve }
  })
  const result = await runtime.runPromise(program)
  await fake.reset()
  const pureLabel = "pure ModelRef.resolve"
  return [
    ratioRow({
      name: `catalog, cached (${options.label} models)`,
      unit: "ops/s",
      sdk: stats(result.catalog.sdk),
      anchorLabel: "minimal Effect TTL read",
      anchor: stats(result.catalog.anchor)
    }),
    ratioRow({
      name: "resolve, alias",
      unit: "ops/s",
      sdk: stats(result.resolve.alias.sdk),
      anchorLabel: pureLabel,
      anchor: stats(result.resolve.alias.anchor)
    }),
    ratioRow({
      name: "resolve, ref",
      unit: "ops/s",
      sdk: stats(result.resolve.ref.sdk),
      anchorLabel: pureLabel,
      anchor: stats(result.resolve.ref.anchor)
    }),
    ratioRow({
      name: "resolve, bare id",
      unit: "ops/s",
      sdk: stats(result.resolve.id.sdk),
      anchorLabel: pureLabel,
      anchor: stats(result.resolve.id.anchor)
    })
  ]
}

/**
 * N concurrent `catalog` calls on a cold cache (1,000; 100 in a smoke run): upstream requests made by the provider
 * (target: exactly 1) vs a naive cache that stores the result after the fetch (N).
 */
export const singleFlightRow = async (options: {
  readonly runtime: Runtime
  readonly fake: FakeProcess
  readonly size: number
  readonly concurrent: number
  readonly rounds: number
}): Promise<Row> => {
  const { concurrent, fake, runtime } = options
  await fake.setModels(options.size)
  const cred = await runtime.runPromise(credential)
  const sdk: Array<number> = []
  const naive: Array<number> = []
  const sdkMs: Array<number> = []
  const naiveMs: Array<number> = []
  const requestsDuring = async (run: () => Promise<unknown>, into: Array<number>, timeInto: Array<number>) => {
    await fake.reset()
    const before = await fake.modelsRequests()
    const start = process.hrtime.bigint()
    await run()
    timeInto.push(Number(process.hrtime.bigint() - start) / 1e6)
    into.push((await fake.modelsRequests()) - before)
  }
  for (let round = 0; round < options.rounds; round++) {
    await requestsDuring(
      () =>
        runtime.runPromise(Effect.gen(function*() {
          const { close, provider } = yield* freshProvider
          const snapshots = yield* Effect.all(Array.from({ length: concurrent }, () => provider.catalog), {
            concurrency: "unbounded"
          })
          if (snapshots.some((s) => s.source !== "live")) return yield* Effect.dieMessage("single-flight: not live")
          yield* close
        })),
      sdk,
      sdkMs
    )
    await requestsDuring(
      () =>
        runtime.runPromise(Effect.gen(function*() {
          // Naive: check, fetch, then store — every caller that arrives before the first answer fetches too.
          let cached: DiscoveredModels | undefined
          const naiveCatalog = Effect.suspend(() =>
            cached !== undefined
              ? Effect.succeed(cached)
              : Effect.tap(fetchModels(cred), (result) => Effect.sync(() => void (cached = result)))
          )
          yield* Effect.all(Array.from({ length: concurrent }, () => naiveCatalog), { concurrency: "unbounded" })
        })),
      naive,
      naiveMs
    )
  }
  await fake.reset()
  const row = ratioRow({
    name: "single-flight, concurrent catalog calls, cold",
    unit: "requests",
    sdk: exact(stats(sdk).median),
    anchorLabel: "naive cache-after-fetch",
    anchor: exact(stats(naive).median),
    extra: { sdkRequests: sdk, naiveRequests: naive, sdkMs: stats(sdkMs), naiveMs: stats(naiveMs) },
    note: `${concurrent.toLocaleString("en-US")} concurrent callers on a fresh provider; upstream requests counted ` +
      `by the fake; wall time ${stats(sdkMs).median.toFixed(0)} ms (SDK) vs ${stats(naiveMs).median.toFixed(0)} ms ` +
      `(naive)`
  })
  return {
    ...row,
    target: "exactly 1 request",
    met: sdk.every((n) => n === 1)
  }
}
