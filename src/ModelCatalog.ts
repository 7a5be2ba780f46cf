/**
 * Model definitions, catalog snapshots, and the built-in static catalog (SPEC §3.1).
 *
 * The static catalog is the fallback that keeps start-up and onboarding working offline. It holds the seed's eight
 * refs in order plus the `chutes-fast` target, so every built-in alias resolves without a network.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { CredentialsError, DiscoveryError } from "./ChutesError.js"

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
 * One model the provider can serve. `id` is the name sent as `model` to the service (no `chutes/` prefix).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelDefinition = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
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
  quantization: Schema.optional(Schema.String),
  root: Schema.optional(Schema.String),
  ownedBy: Schema.optional(Schema.String)
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
 * The provider id used in refs and config files.
 *
 * @since 0.1.0
 * @category constants
 */
export const PROVIDER_ID = "chutes"

/**
 * The default LLM base URL.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_BASE_URL = "https://llm.chutes.ai/v1"

/**
 * The default model ref (SPEC §1).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MODEL_REF = "chutes/zai-org/GLM-4.7-TEE"

/**
 * The built-in aliases, alias name (lower case) -> model ref. Names match case-insensitively.
 *
 * @since 0.1.0
 * @category constants
 */
export const BUILTIN_ALIASES: ReadonlyArray<readonly [alias: string, ref: string]> = [
  ["chutes-fast", "chutes/zai-org/GLM-4.7-FP8"],
  ["chutes-pro", "chutes/deepseek-ai/DeepSeek-V3.2-TEE"],
  ["chutes-vision", "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506"]
]

const staticModel = (
  id: string,
  contextWindow: number,
  maxOutputTokens: number,
  input: ReadonlyArray<InputModality>,
  reasoning: boolean,
  costIn: number,
  costOut: number
): ModelDefinition => ({
  id,
  name: id,
  contextWindow,
  maxOutputTokens,
  input,
  reasoning,
  cost: { input: costIn, output: costOut },
  confidentialCompute: id.endsWith("-TEE")
})

/**
 * The built-in static catalog, exactly as SPEC §3.1 lists it (prices are a snapshot and drift).
 *
 * @since 0.1.0
 * @category constants
 */
export const STATIC_MODELS: ReadonlyArray<ModelDefinition> = [
  staticModel("zai-org/GLM-4.7-TEE", 202752, 65535, ["text"], true, 0.4, 2.0),
  staticModel("zai-org/GLM-5-TEE", 202752, 65535, ["text"], true, 0.95, 3.15),
  staticModel("deepseek-ai/DeepSeek-V3.2-TEE", 131072, 65536, ["text"], true, 0.28, 0.42),
  staticModel("deepseek-ai/DeepSeek-R1-0528-TEE", 163840, 65536, ["text"], true, 0.45, 2.15),
  staticModel("moonshotai/Kimi-K2.5-TEE", 262144, 65535, ["text", "image", "video"], true, 0.44, 2.0),
  staticModel("chutesai/Mistral-Small-3.2-24B-Instruct-2506", 131072, 131072, ["text", "image"], false, 0.06, 0.18),
  staticModel("Qwen/Qwen3-Coder-Next-TEE", 262144, 65536, ["text"], false, 0.12, 0.75),
  staticModel("openai/gpt-oss-120b-TEE", 131072, 65536, ["text"], true, 0.09, 0.36),
  staticModel("zai-org/GLM-4.7-FP8", 202752, 65535, ["text"], true, 0.3, 1.2)
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
 * Model ids of the static catalog, for editor completion of model names (`(string & {}) | KnownModelId`).
 *
 * @since 0.1.0
 * @category models
 */
export type KnownModelId =
  | "zai-org/GLM-4.7-TEE"
  | "zai-org/GLM-5-TEE"
  | "deepseek-ai/DeepSeek-V3.2-TEE"
  | "deepseek-ai/DeepSeek-R1-0528-TEE"
  | "moonshotai/Kimi-K2.5-TEE"
  | "chutesai/Mistral-Small-3.2-24B-Instruct-2506"
  | "Qwen/Qwen3-Coder-Next-TEE"
  | "openai/gpt-oss-120b-TEE"
  | "zai-org/GLM-4.7-FP8"

const formatTokens = (n: number | undefined): string => (n === undefined ? "?" : String(n))

const formatPrice = (cost: ModelCost | undefined): string =>
  cost === undefined ? "?" : `$${cost.input.toFixed(2)} / $${cost.output.toFixed(2)}`

/**
 * Renders models as a plain-text table: ref, context, max output, input, reasoning, USD per 1M in / out.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatTable = (models: ReadonlyArray<ModelDefinition>): string => {
  const header = ["ref", "context", "max out", "input", "reasoning", "USD/1M in / out"] as const
  const rows = models.map((m) => [
    `${PROVIDER_ID}/${m.id}`,
    formatTokens(m.contextWindow),
    formatTokens(m.maxOutputTokens),
    m.input.join("+"),
    m.reasoning ? "yes" : "no",
    formatPrice(m.cost)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
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
  const when = snapshot.fetchedAt !== undefined ? ` fetched ${new Date(snapshot.fetchedAt).toISOString()}` : ""
  const skipped = snapshot.skipped > 0 ? `, ${snapshot.skipped} malformed item(s) skipped` : ""
  const base = `source: ${snapshot.source} (${snapshot.models.length} models${when}${skipped})`
  return snapshot.reason !== undefined ? `${base}; fell back because: ${snapshot.reason.message}` : base
}
