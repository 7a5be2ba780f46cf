/**
 * The catalogs FakeChutes serves: the real `GET /v1/models` captures shipped in `fixtures/`, big generated ones, and
 * the served form of a catalog.
 */
import * as Predicate from "effect/Predicate"
import { readFileSync } from "node:fs"
import { fixtureUrl } from "../fixtures.js"

/**
 * The dates of the real `GET /v1/models` captures shipped in `fixtures/`.
 *
 * @since 0.2.0
 */
export type CaptureDate = "2026-06-11" | "2026-08-06"

const captureCache = new Map<CaptureDate, ReadonlyArray<unknown>>()

/**
 * The `data` array of a real `GET /v1/models` capture (`fixtures/chutes-models-<date>.json`: 13 items each). Read on
 * first use, then cached.
 *
 * @since 0.2.0
 */
export const capturedModels = (date: CaptureDate): ReadonlyArray<unknown> => {
  let models = captureCache.get(date)
  if (models === undefined) {
    const text = readFileSync(fixtureUrl(`chutes-models-${date}.json`), "utf8")
    const parsed: unknown = JSON.parse(text)
    const data = Predicate.isRecord(parsed) ? parsed["data"] : undefined
    if (!Array.isArray(data)) {
      throw new Error(`FakeChutes: the models fixture of ${date} has no data array`)
    }
    models = Object.freeze(data.slice())
    captureCache.set(date, models)
  }
  return models
}

/**
 * The `data` array of the first real capture (2026-06-11), the catalog FakeChutes serves unless told otherwise.
 *
 * @since 0.1.0
 */
export const seedModels = (): ReadonlyArray<unknown> => capturedModels("2026-06-11")

/**
 * A catalog of `count` items made by repeating the real ones: the first pass keeps the real ids, later passes get
 * unique ids `"<id>-g<N>"` (N = the item's index). For big-catalog tests.
 *
 * @since 0.1.0
 */
export const generateModels = (count: number): ReadonlyArray<unknown> => {
  const seed = seedModels()
  const out: Array<unknown> = []
  if (seed.length === 0) return out
  for (let i = 0; i < count; i++) {
    const item = seed[i % seed.length]
    if (i < seed.length || !Predicate.isRecord(item) || typeof item["id"] !== "string") {
      out.push(item)
    } else {
      out.push({ ...item, id: `${item["id"]}-g${i}` })
    }
  }
  return out
}

/** A catalog as served: serialised once (catalogs can hold thousands of items), with its ids for chat. */
export interface Catalog {
  readonly count: number
  readonly body: Uint8Array
  readonly ids: ReadonlySet<string>
  /** Per model id: its chute id and `pricing` (USD per 1M tokens), when the item has them. */
  readonly chutes: ReadonlyMap<string, ChuteFacts>
}

/** What the account side needs to know of a served model. */
export interface ChuteFacts {
  readonly chuteId: string | undefined
  readonly prompt: number | undefined
  readonly completion: number | undefined
  readonly cacheRead: number | undefined
}

const num = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined

const factsOf = (item: Readonly<Record<string, unknown>>): ChuteFacts => {
  const pricing = Predicate.isRecord(item["pricing"]) ? item["pricing"] : {}
  return {
    chuteId: typeof item["chute_id"] === "string" ? item["chute_id"] : undefined,
    prompt: num(pricing["prompt"]),
    completion: num(pricing["completion"]),
    cacheRead: num(pricing["input_cache_read"])
  }
}

export const catalogOf = (items: ReadonlyArray<unknown>): Catalog => ({
  count: items.length,
  body: Buffer.from(JSON.stringify({ object: "list", data: items })),
  ids: new Set(
    items.flatMap((item) => (Predicate.isRecord(item) && typeof item["id"] === "string" ? [item["id"]] : []))
  ),
  chutes: new Map(
    items.flatMap((item) =>
      Predicate.isRecord(item) && typeof item["id"] === "string" ? [[item["id"], factsOf(item)] as const] : []
    )
  )
})
