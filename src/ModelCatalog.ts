/**
 * Model definitions, catalog snapshots, and the built-in static catalog (docs/models.md).
 *
 * The static catalog is the fallback that keeps start-up and onboarding working offline. It holds the documented
 * built-in refs first, in their documented order, each with its lifecycle as of a capture of the live catalog
 * (`active`, or `deprecated` with the ref that `replacedBy` names), then the models that capture listed. Built-in names
 * follow `replacedBy` when their documented target is gone (see `Successors.ts` and docs/models.md).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { CredentialsError, DiscoveryError } from "./ChutesError.js"
import { hasInvisible } from "./internal/redact.js"
import { isPrintable, MAX_MODEL_ID_LENGTH as ModelRefLimit, PROVIDER_ID } from "./ModelRef.js"

/**
 * An input modality a model accepts.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputModality = Schema.Literal("text", "image", "video", "audio")

/**
 * @since 0.1.0
 * @category models
 */
export type InputModality = typeof InputModality.Type

/**
 * The longest model id accepted, in characters (see `ModelRef.MAX_MODEL_ID_LENGTH`).
 *
 * @since 0.3.0
 * @category constants
 */
export const MAX_MODEL_ID_LENGTH = ModelRefLimit

/**
 * The longest text accepted from a server for a field shown to people (a model's name, owner, quantization), in
 * characters.
 *
 * @since 0.3.0
 * @category constants
 */
export const MAX_TEXT_LENGTH = 1024

/**
 * Whether a string can be a model id: addressable as `chutes/<id>` (no whitespace), no control, format or other
 * invisible character, and at most
 * {@link MAX_MODEL_ID_LENGTH} characters.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isModelId = (text: string): boolean =>
  text.length > 0 && text.length <= MAX_MODEL_ID_LENGTH && !/\s/.test(text) && !hasInvisible(text)

/**
 * A model id, checked the same way whether it comes from the service or from a file (the disk cache).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ModelId = Schema.String.pipe(
  Schema.filter(isModelId, {
    message: () => `a model id without whitespace or control characters, at most ${MAX_MODEL_ID_LENGTH} characters`
  })
)

/**
 * A string from a server or a file that is shown to people: no control or bidirectional-control characters, at most
 * {@link MAX_TEXT_LENGTH} characters.
 *
 * @since 0.2.0
 * @category schemas
 */
export const PrintableString = Schema.String.pipe(
  Schema.filter((text) => text.length <= MAX_TEXT_LENGTH && isPrintable(text), {
    message: () => `text without control characters, at most ${MAX_TEXT_LENGTH} characters`
  })
)

/**
 * Prices in USD per one million tokens.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelCost = Schema.Struct({
  input: Schema.Number,
  output: Schema.Number,
  cacheRead: Schema.optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ModelCost = typeof ModelCost.Type

/**
 * Where a model stands in Chutes' lifecycle, as of a capture of the live catalog: `active` (listed and served) or
 * `deprecated` (no longer served; `replacedBy` names its successor when there is one).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ModelStatus = Schema.Literal("active", "deprecated")

/**
 * @since 0.2.0
 * @category models
 */
export type ModelStatus = typeof ModelStatus.Type

/**
 * One model the provider can serve. `id` is the name sent as `model` to the service (no `chutes/` prefix).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelDefinition = Schema.Struct({
  id: ModelId,
  name: PrintableString,
  contextWindow: Schema.Number,
  /** Unknown when the service does not say (never invented). */
  maxOutputTokens: Schema.optional(Schema.Number),
  input: Schema.Array(InputModality),
  reasoning: Schema.Boolean,
  cost: Schema.optional(ModelCost),
  tools: Schema.optional(Schema.Boolean),
  jsonMode: Schema.optional(Schema.Boolean),
  structuredOutputs: Schema.optional(Schema.Boolean),
  confidentialCompute: Schema.optional(Schema.Boolean),
  quantization: Schema.optional(PrintableString),
  root: Schema.optional(PrintableString),
  ownedBy: Schema.optional(PrintableString),
  /** Lifecycle, for entries of the built-in catalog; a live model carries none (being listed means it is served). */
  status: Schema.optional(ModelStatus),
  /** For a deprecated entry: the ref of its successor (`chutes/<id>`). */
  replacedBy: Schema.optional(PrintableString)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ModelDefinition = typeof ModelDefinition.Type

/**
 * Where a catalog snapshot came from.
 *
 * @since 0.1.0
 * @category models
 */
export type CatalogSource = "live" | "cache" | "static"

/**
 * Something worth telling the user about a live catalog, e.g. that the default model is not listed.
 *
 * @since 0.1.0
 * @category models
 */
export interface CatalogWarning {
  readonly kind: "DefaultModelMissing" | "AliasTargetMissing"
  /** The ref that is missing from the live catalog. */
  readonly ref: string
  /** The alias that points at it, for `AliasTargetMissing`. */
  readonly alias?: string | undefined
  /** The nearest live model ref, when there is one. */
  readonly suggestion?: string | undefined
  readonly message: string
}

/**
 * A catalog as the provider hands it out: the models, where they came from, when, and — for a fallback — why.
 *
 * @since 0.1.0
 * @category models
 */
export interface CatalogSnapshot {
  readonly source: CatalogSource
  readonly models: ReadonlyArray<ModelDefinition>
  /** Epoch milliseconds of the live fetch this data comes from; undefined for the static catalog. */
  readonly fetchedAt: number | undefined
  /** Why the provider fell back to the cache or the static catalog; undefined for a live snapshot. */
  readonly reason: DiscoveryError | CredentialsError | undefined
  /** Items of the live response that were malformed and skipped. */
  readonly skipped: number
  readonly warnings: ReadonlyArray<CatalogWarning>
  /** Lookup by model id, built once per snapshot. */
  readonly byId: ReadonlyMap<string, ModelDefinition>
}

/**
 * Builds a snapshot and its id index. Duplicate ids: the first wins.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSnapshot = (options: {
  readonly source: CatalogSource
  readonly models: ReadonlyArray<ModelDefinition>
  readonly fetchedAt?: number | undefined
  readonly reason?: DiscoveryError | CredentialsError | undefined
  readonly skipped?: number | undefined
  readonly warnings?: ReadonlyArray<CatalogWarning> | undefined
}): CatalogSnapshot => {
  const byId = new Map<string, ModelDefinition>()
  for (const model of options.models) {
    if (!byId.has(model.id)) byId.set(model.id, model)
  }
  const models = byId.size === options.models.length ? options.models : Array.from(byId.values())
  return {
    source: options.source,
    models,
    fetchedAt: options.fetchedAt,
    reason: options.reason,
    skipped: options.skipped ?? 0,
    warnings: options.warnings ?? [],
    byId
  }
}

/**
 * The documented default model ref. Chutes no longer serves it: unless successors are turned off, the provider
 * resolves it to its successor (see `replacedBy` in `STATIC_MODELS`).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MODEL_REF = "chutes/zai-org/GLM-4.7-TEE"

/**
 * The date of the live catalog capture the built-in catalog's lifecycle and current entries come from.
 *
 * @since 0.2.0
 * @category constants
 */
export const LIFECYCLE_AS_OF = "2026-08-06"

type Entry = Omit<ModelDefinition, "name" | "confidentialCompute" | "status" | "replacedBy">

const active = (entry: Entry): ModelDefinition => ({
  ...entry,
  name: entry.id,
  confidentialCompute: entry.id.endsWith("-TEE"),
  status: "active"
})

const deprecated = (entry: Entry, replacedBy: string): ModelDefinition => ({
  ...active(entry),
  status: "deprecated",
  replacedBy: `chutes/${replacedBy}`
})

const seed = (
  id: string,
  contextWindow: number,
  maxOutputTokens: number,
  input: ReadonlyArray<InputModality>,
  reasoning: boolean,
  costIn: number,
  costOut: number
): Entry => ({ id, contextWindow, maxOutputTokens, input, reasoning, cost: { input: costIn, output: costOut } })

const features = { tools: true, jsonMode: true, structuredOutputs: true } as const

type Prices = readonly [input: number, output: number, cacheRead: number]

const current = (
  id: string,
  contextWindow: number,
  maxOutputTokens: number,
  input: ReadonlyArray<InputModality>,
  [costIn, costOut, cacheRead]: Prices,
  quantization: string
): ModelDefinition =>
  active({
    id,
    contextWindow,
    maxOutputTokens,
    input,
    reasoning: true,
    cost: { input: costIn, output: costOut, cacheRead },
    ...features,
    quantization
  })

const minimal = (id: string, contextWindow: number, [costIn, costOut, cacheRead]: Prices): ModelDefinition =>
  active({ id, contextWindow, input: ["text"], reasoning: false, cost: { input: costIn, output: costOut, cacheRead } })

/**
 * The built-in static catalog. First the documented built-in refs in their documented order, with their lifecycle as
 * of `LIFECYCLE_AS_OF` (only DeepSeek-V3.2 is still served; the successors and why they were chosen are in
 * docs/models.md), then the other models of that capture, with its prices (USD per 1M tokens) and limits. Prices
 * drift; a live catalog always replaces this one.
 *
 * @since 0.1.0
 * @category constants
 */
export const STATIC_MODELS: ReadonlyArray<ModelDefinition> = [
  // The documented built-in refs (prices as documented, not served since 2026-06).
  deprecated(seed("zai-org/GLM-4.7-TEE", 202752, 65535, ["text"], true, 0.4, 2.0), "zai-org/GLM-5.2-TEE"),
  deprecated(seed("zai-org/GLM-5-TEE", 202752, 65535, ["text"], true, 0.95, 3.15), "zai-org/GLM-5.1-TEE"),
  active({
    id: "deepseek-ai/DeepSeek-V3.2-TEE",
    contextWindow: 131072,
    maxOutputTokens: 65536,
    input: ["text"],
    reasoning: true,
    cost: { input: 1, output: 1, cacheRead: 0.1 },
    ...features,
    quantization: "fp8"
  }),
  deprecated(
    seed("deepseek-ai/DeepSeek-R1-0528-TEE", 163840, 65536, ["text"], true, 0.45, 2.15),
    "deepseek-ai/DeepSeek-V3.2-TEE"
  ),
  deprecated(
    seed("moonshotai/Kimi-K2.5-TEE", 262144, 65535, ["text", "image", "video"], true, 0.44, 2.0),
    "moonshotai/Kimi-K2.6-TEE"
  ),
  deprecated(
    seed("chutesai/Mistral-Small-3.2-24B-Instruct-2506", 131072, 131072, ["text", "image"], false, 0.06, 0.18),
    "moonshotai/Kimi-K2.6-TEE"
  ),
  deprecated(seed("Qwen/Qwen3-Coder-Next-TEE", 262144, 65536, ["text"], false, 0.12, 0.75), "Qwen/Qwen3.6-27B-TEE"),
  deprecated(
    seed("openai/gpt-oss-120b-TEE", 131072, 65536, ["text"], true, 0.09, 0.36),
    "deepseek-ai/DeepSeek-V4-Flash-0731-TEE"
  ),
  deprecated(
    seed("zai-org/GLM-4.7-FP8", 202752, 65535, ["text"], true, 0.3, 1.2),
    "deepseek-ai/DeepSeek-V4-Flash-0731-TEE"
  ),
  // The other models of the capture, in its order (all with tools, JSON mode, structured outputs and reasoning).
  current("Qwen/Qwen3-32B-TEE", 40960, 40960, ["text"], [0.104, 0.416, 0.0104], "fp8"),
  current("google/gemma-4-31B-turbo-TEE", 131072, 65536, ["text", "image"], [0.12, 0.37, 0.012], "fp4"),
  current("moonshotai/Kimi-K2.6-TEE", 262144, 65535, ["text", "image", "video"], [0.58, 3.4, 0.058], "int4"),
  current("zai-org/GLM-5.1-TEE", 202752, 65535, ["text"], [0.98, 3.08, 0.098], "fp8"),
  current("Qwen/Qwen3.5-397B-A17B-TEE", 262144, 65536, ["text", "image"], [0.45, 3, 0.045], "fp8"),
  current("deepseek-ai/DeepSeek-V4-Flash-0731-TEE", 1048576, 131072, ["text"], [0.14, 0.28, 0.014], "fp8"),
  current("Qwen/Qwen3.6-27B-TEE", 262144, 65536, ["text", "image"], [0.3, 2, 0.03], "fp8"),
  current("moonshotai/Kimi-K3-TEE", 1048576, 65535, ["text", "image", "video"], [3, 15, 0.3], "mxfp4"),
  current("Qwen/Qwen3-235B-A22B-Thinking-2507-TEE", 262144, 262144, ["text"], [0.2989, 1.1957, 0.02989], "bf16"),
  current("zai-org/GLM-5.2-TEE", 1048576, 65535, ["text"], [1.25, 3.95, 0.125], "fp4"),
  // Listed with only the minimal fields (no features, no max output).
  minimal("unsloth/Mistral-Nemo-Instruct-2407-TEE", 131072, [0.0245, 0.0978, 0.00245]),
  minimal("Nemotron-3-Nano-Omni-30B-TEE", 131072, [0.0245, 0.0978, 0.00245])
]

/**
 * The static catalog as a snapshot, optionally carrying the reason the provider fell back to it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const staticSnapshot = (reason?: DiscoveryError | CredentialsError | undefined): CatalogSnapshot =>
  makeSnapshot({ source: "static", models: STATIC_MODELS, reason })

/**
 * Model ids the static catalog lists as active, for editor completion of model names (`(string & {}) | KnownModelId`).
 *
 * @since 0.1.0
 * @category models
 */
export type KnownModelId =
  | "zai-org/GLM-5.2-TEE"
  | "zai-org/GLM-5.1-TEE"
  | "deepseek-ai/DeepSeek-V3.2-TEE"
  | "deepseek-ai/DeepSeek-V4-Flash-0731-TEE"
  | "moonshotai/Kimi-K2.6-TEE"
  | "moonshotai/Kimi-K3-TEE"
  | "Qwen/Qwen3-32B-TEE"
  | "Qwen/Qwen3.5-397B-A17B-TEE"
  | "Qwen/Qwen3.6-27B-TEE"
  | "Qwen/Qwen3-235B-A22B-Thinking-2507-TEE"
  | "google/gemma-4-31B-turbo-TEE"
  | "unsloth/Mistral-Nemo-Instruct-2407-TEE"
  | "Nemotron-3-Nano-Omni-30B-TEE"

const formatTokens = (n: number | undefined): string => (n === undefined ? "?" : String(n))

const formatPrice = (cost: ModelCost | undefined): string =>
  cost === undefined ? "?" : `$${cost.input.toFixed(2)} / $${cost.output.toFixed(2)}`

/**
 * Renders models as a plain-text table: ref, context, max output, input, reasoning, USD per 1M in / out, and — when
 * any model has one — a notes column (e.g. `deprecated -> chutes/…`, or which built-in names follow a model here).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatTable = (
  models: ReadonlyArray<ModelDefinition>,
  notes: ReadonlyMap<string, string> = new Map()
): string => {
  const withNotes = notes.size > 0
  const header = ["ref", "context", "max out", "input", "reasoning", "USD/1M in / out", ...(withNotes ? ["notes"] : [])]
  const rows = models.map((m) => [
    `${PROVIDER_ID}/${m.id}`,
    formatTokens(m.contextWindow),
    formatTokens(m.maxOutputTokens),
    m.input.join("+"),
    m.reasoning ? "yes" : "no",
    formatPrice(m.cost),
    ...(withNotes ? [notes.get(m.id) ?? ""] : [])
  ])
  // A loop, not `Math.max(...column)`: spreading a column of 100,000 models overflows the call stack.
  const widths = header.map((h, i) => rows.reduce((width, row) => Math.max(width, row[i]!.length), h.length))
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}

/**
 * One line saying where a snapshot came from, when, and why it fell back.
 *
 * @since 0.1.0
 * @category formatting
 */
export const describeSource = (snapshot: CatalogSnapshot): string => {
  const date = snapshot.fetchedAt !== undefined ? new Date(snapshot.fetchedAt) : undefined
  const when = date === undefined
    ? ""
    : Number.isNaN(date.getTime())
    ? ` fetched at an impossible time (${snapshot.fetchedAt} ms)`
    : ` fetched ${date.toISOString()}`
  const skipped = snapshot.skipped > 0 ? `, ${snapshot.skipped} malformed item(s) skipped` : ""
  const base = `source: ${snapshot.source} (${snapshot.models.length} models${when}${skipped})`
  return snapshot.reason !== undefined ? `${base}; fell back because: ${snapshot.reason.message}` : base
}
