/**
 * Built-in names that keep working when Chutes retires a model.
 *
 * The documented default model and the built-in aliases (`chutes-fast`, `chutes-pro`, `chutes-vision`) point at fixed
 * refs. When the catalog in hand (live, disk cache or static) does not list such a target, or marks it deprecated, and
 * the `replacedBy` chain of the built-in catalog reaches a model that catalog holds, the built-in name resolves to that
 * model — and says so: from, to, why, and the price change. Only built-in names are followed; a ref or alias a user
 * chose is passed through as written (docs/models.md).
 *
 * Pure: no services, no I/O.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import type { InvalidModelRef, UnknownModel } from "./ChutesError.js"
import * as ModelCatalog from "./ModelCatalog.js"
import * as ModelRef from "./ModelRef.js"

/**
 * Why a built-in name moved on: its documented target is not listed by the catalog in hand, or it is listed as
 * deprecated.
 *
 * @since 0.2.0
 * @category models
 */
export type HopReason = "NotListed" | "Deprecated"

/**
 * A built-in name that followed its target's successor.
 *
 * @since 0.2.0
 * @category models
 */
export interface Hop {
  /** The built-in name: `default model` or an alias name. */
  readonly name: string
  /** The documented target. */
  readonly from: ModelRef.ModelRef
  /** The model the catalog in hand holds, reached through `replacedBy`. */
  readonly to: ModelRef.ModelRef
  /** Retired refs passed on the way from `from` to `to` (empty for a direct successor). */
  readonly through: ReadonlyArray<ModelRef.ModelRef>
  readonly reason: HopReason
  /** The catalog the decision was made against. */
  readonly source: ModelCatalog.CatalogSource
  /** The successor's list price over the documented target's (e.g. 9.7 = 9.7× more per token), when both are known. */
  readonly priceRatio?: { readonly input: number; readonly output: number } | undefined
  /** One sentence for people. */
  readonly message: string
}

const MAX_CHAIN = 16

const STATIC_BY_ID = ModelCatalog.staticSnapshot().byId

/**
 * What following looks at in a catalog: its models by id and where it came from.
 *
 * @since 0.2.0
 * @category models
 */
export type Catalog = Pick<ModelCatalog.CatalogSnapshot, "byId" | "source">

/** A model's lifecycle entry: the catalog's own (a static snapshot carries it), else the built-in catalog's. */
const lifecycleOf = (id: string, catalog: Catalog): ModelCatalog.ModelDefinition | undefined =>
  catalog.byId.get(id)?.replacedBy !== undefined ? catalog.byId.get(id) : STATIC_BY_ID.get(id)

const usable = (id: string, catalog: Catalog): boolean => {
  const model = catalog.byId.get(id)
  return model !== undefined && model.status !== "deprecated"
}

const ratio = (to: number | undefined, from: number | undefined): number | undefined =>
  to !== undefined && from !== undefined && from > 0 ? to / from : undefined

const priceRatioOf = (
  from: ModelCatalog.ModelDefinition | undefined,
  to: ModelCatalog.ModelDefinition | undefined
): Hop["priceRatio"] => {
  const input = ratio(to?.cost?.input, from?.cost?.input)
  const output = ratio(to?.cost?.output, from?.cost?.output)
  return input !== undefined && output !== undefined ? { input, output } : undefined
}

const formatRatio = (value: number): string => `${value >= 1 ? value.toFixed(1) : value.toFixed(2)}×`

const describeHop = (hop: Omit<Hop, "message">): string => {
  const why = hop.reason === "NotListed"
    ? `is not in the ${hop.source} catalog`
    : `is deprecated in the ${hop.source} catalog`
  const through = hop.through.length > 0 ? ` (through ${hop.through.join(" -> ")})` : ""
  const price = hop.priceRatio === undefined
    ? ""
    : `; list price per token: input ${formatRatio(hop.priceRatio.input)}, output ${
      formatRatio(hop.priceRatio.output)
    } the old one`
  return `${hop.name}: ${hop.from} ${why}; using its successor ${hop.to}${through}${price}`
}

/**
 * Where a built-in name goes against `catalog`: `undefined` when its documented target is usable there, or when no
 * successor the catalog holds can be reached (then the target is passed through as it is).
 *
 * @since 0.2.0
 * @category resolution
 */
export const follow = (
  name: string,
  from: ModelRef.ModelRef,
  catalog: Catalog
): Hop | undefined => {
  const fromId = ModelRef.modelId(from)
  if (usable(fromId, catalog)) return undefined
  const reason: HopReason = catalog.byId.has(fromId) ? "Deprecated" : "NotListed"
  const seen = new Set([fromId])
  const through: Array<ModelRef.ModelRef> = []
  let current = fromId
  for (let step = 0; step < MAX_CHAIN; step++) {
    const next = lifecycleOf(current, catalog)?.replacedBy
    const parsed = next === undefined ? undefined : ModelRef.parse(next)
    if (parsed === undefined || Either.isLeft(parsed)) return undefined
    const nextId = ModelRef.modelId(parsed.right)
    if (seen.has(nextId)) return undefined
    seen.add(nextId)
    if (usable(nextId, catalog)) {
      const hop = {
        name,
        from,
        to: parsed.right,
        through,
        reason,
        source: catalog.source,
        priceRatio: priceRatioOf(catalog.byId.get(fromId) ?? STATIC_BY_ID.get(fromId), catalog.byId.get(nextId))
      }
      return { ...hop, message: describeHop(hop) }
    }
    through.push(parsed.right)
    current = nextId
  }
  return undefined
}

/**
 * The successor the built-in lifecycle names for a ref a user chose (for "model not found" messages): the first model
 * of its `replacedBy` chain that `catalog` holds, else the chain's last ref. `undefined` when none is known.
 *
 * @since 0.2.0
 * @category resolution
 */
export const replacementFor = (
  ref: ModelRef.ModelRef,
  catalog: Catalog
): ModelRef.ModelRef | undefined => {
  const hop = follow(ModelRef.modelId(ref), ref, catalog)
  if (hop !== undefined) return hop.to
  const next = STATIC_BY_ID.get(ModelRef.modelId(ref))?.replacedBy
  const parsed = next === undefined ? undefined : ModelRef.parse(next)
  return parsed !== undefined && Either.isRight(parsed) ? parsed.right : undefined
}

/**
 * What resolution needs besides the input: the catalog in hand, the user aliases, whether built-in names follow
 * successors, and the default model (with whether it is the built-in one).
 *
 * @since 0.2.0
 * @category models
 */
export interface Context {
  readonly catalog: Catalog
  readonly userAliases?: ModelRef.AliasTable | undefined
  readonly followSuccessors: boolean
}

const followed = (resolved: ModelRef.ResolvedModel, hop: Hop | undefined): ModelRef.ResolvedModel =>
  hop === undefined
    ? resolved
    : { ...resolved, ref: hop.to, id: ModelRef.modelId(hop.to), known: true, followed: hop }

/**
 * Resolves user input as `ModelRef.resolve` does, then lets a built-in alias follow its target's successor.
 *
 * @since 0.2.0
 * @category resolution
 */
export const resolve = (
  input: string,
  context: Context
): Either.Either<ModelRef.ResolvedModel, UnknownModel | InvalidModelRef> =>
  Either.map(
    ModelRef.resolve(input, { ids: context.catalog.byId, userAliases: context.userAliases }),
    (resolved) =>
      context.followSuccessors && resolved.alias?.source === "builtin"
        ? followed(resolved, follow(resolved.alias.name, resolved.ref, context.catalog))
        : resolved
  )

/**
 * Whether `ref` is the documented default model (a config that repeats it, as onboarding wrote until 0.2, counts as
 * the built-in default).
 *
 * @since 0.2.0
 * @category resolution
 */
export const isBuiltinDefault = (ref: ModelRef.ModelRef): boolean => ref === ModelCatalog.DEFAULT_MODEL_REF

/**
 * Resolves the default model: the built-in default follows its successor like a built-in alias; a default a user
 * chose is passed through.
 *
 * @since 0.2.0
 * @category resolution
 */
export const resolveDefault = (defaultModel: ModelRef.ModelRef, context: Context): ModelRef.ResolvedModel => {
  const id = ModelRef.modelId(defaultModel)
  const resolved: ModelRef.ResolvedModel = {
    ref: defaultModel,
    id,
    via: "default",
    known: context.catalog.byId.has(id)
  }
  return context.followSuccessors && isBuiltinDefault(defaultModel)
    ? followed(resolved, follow("default model", defaultModel, context.catalog))
    : resolved
}

/**
 * Every built-in name that follows a successor in `catalog`: the default model (when it is the built-in one) and the
 * built-in aliases no user alias shadows. Empty when `followSuccessors` is off.
 *
 * @since 0.2.0
 * @category resolution
 */
export const builtinHops = (
  defaultModel: ModelRef.ModelRef,
  aliases: ModelRef.AliasTable,
  context: Context
): ReadonlyArray<Hop> => {
  if (!context.followSuccessors) return []
  const hops: Array<Hop> = []
  const defaultHop = resolveDefault(defaultModel, context).followed
  if (defaultHop !== undefined) hops.push(defaultHop)
  for (const alias of aliases.values()) {
    if (alias.source !== "builtin") continue
    const hop = follow(alias.name, alias.ref, context.catalog)
    if (hop !== undefined) hops.push(hop)
  }
  return hops
}

/**
 * Notes for a listing, by model id: a deprecated entry names its successor; a model that built-in names follow says
 * which (e.g. `<- default model, chutes-fast`).
 *
 * @since 0.2.0
 * @category formatting
 */
export const listingNotes = (
  models: ReadonlyArray<ModelCatalog.ModelDefinition>,
  hops: ReadonlyArray<Hop>
): ReadonlyMap<string, string> => {
  const notes = new Map<string, Array<string>>()
  const add = (id: string, note: string) => notes.set(id, [...(notes.get(id) ?? []), note])
  for (const model of models) {
    if (model.status === "deprecated") {
      add(model.id, model.replacedBy === undefined ? "deprecated" : `deprecated -> ${model.replacedBy}`)
    }
  }
  const names = new Map<string, Array<string>>()
  for (const hop of hops) names.set(ModelRef.modelId(hop.to), [...(names.get(ModelRef.modelId(hop.to)) ?? []), hop.name])
  for (const [id, followers] of names) add(id, `<- ${followers.join(", ")}`)
  return new Map(Array.from(notes, ([id, list]) => [id, list.join("; ")]))
}
