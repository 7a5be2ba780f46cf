/**
 * Model refs (`chutes/<model-id>`) and aliases: parse, format and resolve. Pure: no services.
 *
 * @since 0.1.0
 */
import * as Brand from "effect/Brand"
import * as Either from "effect/Either"
import { distance as levenshtein } from "fastest-levenshtein"
import { InvalidModelRef, UnknownModel } from "./ChutesError.js"
import { hasInvisible, hasUnprintable } from "./internal/redact.js"
import { aliasKey, BUILTIN_ALIASES } from "./Aliases.js"
import type { Hop } from "./Successors.js"

/**
 * A valid model ref, always in the normal form `chutes/<model-id>`.
 *
 * @since 0.1.0
 * @category models
 */
export type ModelRef = string & Brand.Brand<"effect-chutes/ModelRef">

const brand = Brand.nominal<ModelRef>()

/**
 * The provider id used in refs and config files.
 *
 * @since 0.1.0
 * @category constants
 */
export const PROVIDER_ID = "chutes"

/**
 * Whether a server- or file-supplied string can be shown on a terminal as it is: no control characters (ESC starts
 * escape sequences), no bidirectional controls (U+202E reverses the text after it), no invisible characters that make
 * two names look the same (a zero-width space, a word joiner, tag characters outside a flag emoji), no lone surrogates.
 * Emoji joiners and the joiners of Persian or Indic script are fine. (A model id is held to more: no format character
 * at all.)
 *
 * @since 0.2.0
 * @category predicates
 */
export const isPrintable = (text: string): boolean => !hasUnprintable(text)

const PREFIX = `${PROVIDER_ID}/`

// Control characters (C0, DEL, C1) and bidirectional controls are never valid in a model name, and dangerous to echo to
// a terminal; nor is any other format, private-use or surrogate character in a model id (`hasInvisible`, which covers
// all `isPrintable` refuses): ids are repository names, and a joiner or a tag character would make two look alike.
const WHITESPACE = /\s/

/**
 * The longest model id, in characters. Live ids are `org/name` repository names (the longest seen: 44); a cap keeps one
 * absurd id in a server's answer or a config file from filling every table, cache file and message it is written to.
 *
 * @since 0.3.0
 * @category constants
 */
export const MAX_MODEL_ID_LENGTH = 256

const checkId = (input: string, id: string): InvalidModelRef | undefined => {
  if (id.length === 0) return new InvalidModelRef({ input, reason: "EmptyId" })
  if (id.length > MAX_MODEL_ID_LENGTH) return new InvalidModelRef({ input, reason: "TooLong" })
  if (hasInvisible(id)) return new InvalidModelRef({ input, reason: "ControlCharacter" })
  if (WHITESPACE.test(id)) return new InvalidModelRef({ input, reason: "Whitespace" })
  return undefined
}

/**
 * Parses a model ref. Splits on the first `/`: the provider is matched case-insensitively and normalised to
 * `chutes`; the model id (everything after, slashes included) is case-sensitive. Surrounding whitespace is trimmed.
 *
 * @example
 * ```ts
 * import * as Either from "effect/Either"
 * import { ModelRef } from "effect-chutes"
 *
 * const ref = ModelRef.parse(" Chutes/zai-org/GLM-5.1-TEE ") // Right("chutes/zai-org/GLM-5.1-TEE")
 * if (Either.isRight(ref)) console.log(ModelRef.modelId(ref.right)) // "zai-org/GLM-5.1-TEE"
 *
 * const wrong = ModelRef.parse("openai/gpt-4o") // Left(InvalidModelRef), reason "WrongProvider"
 * if (Either.isLeft(wrong)) console.log(wrong.left.reason, wrong.left.message)
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Either.Either<ModelRef, InvalidModelRef> => {
  const trimmed = input.trim()
  if (trimmed.length === 0) return Either.left(new InvalidModelRef({ input, reason: "Empty" }))
  if (!isPrintable(trimmed)) return Either.left(new InvalidModelRef({ input, reason: "ControlCharacter" }))
  const slash = trimmed.indexOf("/")
  if (slash === -1) return Either.left(new InvalidModelRef({ input, reason: "MissingProvider" }))
  const provider = trimmed.slice(0, slash)
  if (provider.toLowerCase() !== PROVIDER_ID) {
    return Either.left(new InvalidModelRef({ input, reason: provider.length === 0 ? "MissingProvider" : "WrongProvider" }))
  }
  const id = trimmed.slice(slash + 1)
  const invalid = checkId(input, id)
  return invalid ? Either.left(invalid) : Either.right(brand(PREFIX + id))
}

/**
 * The ref for a model id (`zai-org/GLM-5-TEE` -> `chutes/zai-org/GLM-5-TEE`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromId = (id: string): Either.Either<ModelRef, InvalidModelRef> => {
  const invalid = checkId(id, id)
  return invalid ? Either.left(invalid) : Either.right(brand(PREFIX + id))
}

/**
 * Makes a ref from a string known to be valid (constants); throws on invalid input, so never use it on user input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (input: string): ModelRef => Either.getOrThrowWith(parse(input), (error) => error)

/**
 * The model id of a ref: what is sent as `model` to the service.
 *
 * @since 0.1.0
 * @category accessors
 */
export const modelId = (ref: ModelRef): string => ref.slice(PREFIX.length)

/**
 * Where an alias was defined.
 *
 * @since 0.1.0
 * @category models
 */
export type AliasSource = "user" | "builtin"

/**
 * One alias: its name as written, its target, and where it was defined.
 *
 * @since 0.1.0
 * @category models
 */
export interface Alias {
  readonly name: string
  readonly ref: ModelRef
  readonly source: AliasSource
}

/**
 * An alias table keyed by `Aliases.aliasKey` of the alias name.
 *
 * @since 0.1.0
 * @category models
 */
export type AliasTable = ReadonlyMap<string, Alias>

/**
 * The built-in aliases (`chutes-fast`, `chutes-pro`, `chutes-vision`).
 *
 * @since 0.1.0
 * @category constants
 */
export const builtinAliases: AliasTable = new Map(
  BUILTIN_ALIASES.map(([name, ref]) => [name, { name, ref: unsafeMake(ref), source: "builtin" as const }])
)

/**
 * Builds a user alias table from `alias name -> ref` pairs. Entries whose ref does not parse are returned separately
 * so the caller can report them; they never break resolution of the others. An entry that repeats a built-in alias
 * (same name, same documented target — onboarding writes those into the config) is the built-in, not a user alias,
 * so it keeps following its target's successor.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeUserAliases = (
  entries: Iterable<readonly [name: string, ref: string]>
): { readonly aliases: AliasTable; readonly invalid: ReadonlyArray<InvalidModelRef> } => {
  const aliases = new Map<string, Alias>()
  const invalid: Array<InvalidModelRef> = []
  for (const [name, ref] of entries) {
    const key = aliasKey(name)
    if (key.length === 0) continue
    // resolve() refuses control characters before it looks at aliases, so such a name could never be used.
    if (!isPrintable(name.trim())) {
      invalid.push(new InvalidModelRef({ input: name, reason: "ControlCharacter" }))
      continue
    }
    const parsed = parse(ref)
    if (Either.isLeft(parsed)) invalid.push(parsed.left)
    else if (builtinAliases.get(key)?.ref === parsed.right) continue
    else if (!aliases.has(key)) aliases.set(key, { name: name.trim(), ref: parsed.right, source: "user" })
  }
  return { aliases, invalid }
}

/**
 * How an input was resolved.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedModel {
  readonly ref: ModelRef
  /** The model id to send to the service. */
  readonly id: string
  /** `alias`: an alias name; `ref`: a `chutes/…` ref; `id`: a bare model id of the catalog; `default`: the default. */
  readonly via: "alias" | "ref" | "id" | "default"
  /** The alias used, when `via` is `alias`. */
  readonly alias?: Alias | undefined
  /** When a user alias shadows a built-in alias of the same name: the built-in it replaced. */
  readonly shadowed?: Alias | undefined
  /** Whether the current catalog lists the model. Unknown refs still resolve: lists go stale. */
  readonly known: boolean
  /** When a built-in name followed its documented target's successor: from, to, why, and the price change. */
  readonly followed?: Hop | undefined
}

/**
 * What resolution looks at: the ids of the current catalog and the alias tables.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolveContext {
  readonly ids: { has(id: string): boolean; keys(): Iterable<string> }
  readonly userAliases?: AliasTable | undefined
  readonly builtinAliases?: AliasTable | undefined
}

/**
 * A human reading of a resolution, e.g. `alias "chutes-pro" (built-in) -> chutes/deepseek-ai/DeepSeek-V3.2-TEE`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const describe = (resolved: ResolvedModel): string => {
  const unknown = resolved.known ? "" : " (not in the current catalog; passed through)"
  const hop = resolved.followed === undefined ? "" : `\n  followed: ${resolved.followed.message}`
  return describeVia(resolved, unknown) + hop
}

const describeVia = (resolved: ResolvedModel, unknown: string): string => {
  switch (resolved.via) {
    case "alias": {
      const alias = resolved.alias!
      const shadow = resolved.shadowed ? `, overriding the built-in alias -> ${resolved.shadowed.ref}` : ""
      return `alias ${JSON.stringify(alias.name)} (${alias.source === "user" ? "user" : "built-in"}${shadow}) -> ${resolved.ref}${unknown}`
    }
    case "ref":
      return `model ref -> ${resolved.ref}${unknown}`
    case "id":
      return `bare model id -> ${resolved.ref}`
    case "default":
      return `default model -> ${resolved.ref}${unknown}`
  }
}

/**
 * Resolves user input to a model ref (README.md, `resolve`): (1) an alias, user before built-in, case-insensitive;
 * (2) a full ref, listed or not (`known: false`); (3) a bare id of the catalog; (4) otherwise `UnknownModel` with
 * suggestions.
 *
 * @example
 * ```ts
 * import * as Either from "effect/Either"
 * import { ModelCatalog, ModelRef } from "effect-chutes"
 *
 * const context: ModelRef.ResolveContext = {
 *   ids: ModelCatalog.staticSnapshot().byId,
 *   userAliases: ModelRef.makeUserAliases([["fast", "chutes/zai-org/GLM-5.1-TEE"]]).aliases
 * }
 * const resolved = ModelRef.resolve("fast", context)
 * if (Either.isRight(resolved)) console.log(ModelRef.describe(resolved.right)) // alias "fast" (user) -> chutes/…
 *
 * const typo = ModelRef.resolve("glm-5.1-te", context) // Left(UnknownModel) with the nearest names as suggestions
 * if (Either.isLeft(typo) && typo.left._tag === "UnknownModel") console.log(typo.left.suggestions)
 * ```
 *
 * @since 0.1.0
 * @category resolution
 */
export const resolve = (
  input: string,
  context: ResolveContext
): Either.Either<ResolvedModel, UnknownModel | InvalidModelRef> => {
  const trimmed = input.trim()
  if (trimmed.length === 0) return Either.left(new InvalidModelRef({ input, reason: "Empty" }))
  if (!isPrintable(trimmed)) return Either.left(new InvalidModelRef({ input, reason: "ControlCharacter" }))
  const builtins = context.builtinAliases ?? builtinAliases
  const key = aliasKey(trimmed)
  const user = context.userAliases?.get(key)
  const builtin = builtins.get(key)
  const alias = user ?? builtin
  if (alias !== undefined) {
    const id = modelId(alias.ref)
    return Either.right({
      ref: alias.ref,
      id,
      via: "alias",
      alias,
      shadowed: user !== undefined && builtin !== undefined && builtin.ref !== user.ref ? builtin : undefined,
      known: context.ids.has(id)
    })
  }
  const slash = trimmed.indexOf("/")
  if (slash > 0 && trimmed.slice(0, slash).toLowerCase() === PROVIDER_ID) {
    return Either.map(parse(trimmed), (ref) => {
      const id = modelId(ref)
      return { ref, id, via: "ref" as const, known: context.ids.has(id) }
    })
  }
  // A bare id of the catalog, when it is also a valid ref (a catalog could list an id no ref can address).
  if (context.ids.has(trimmed) && checkId(trimmed, trimmed) === undefined) {
    return Either.right({ ref: brand(PREFIX + trimmed), id: trimmed, via: "id", known: true })
  }
  if (WHITESPACE.test(trimmed) && slash > 0) {
    return Either.left(new InvalidModelRef({ input, reason: "Whitespace" }))
  }
  return Either.left(new UnknownModel({ input: trimmed, suggestions: suggestionsFor(trimmed, context) }))
}

const suggestionsFor = (input: string, context: ResolveContext): ReadonlyArray<string> => {
  const candidates: Array<string> = []
  for (const alias of context.userAliases?.values() ?? []) candidates.push(alias.name)
  for (const alias of (context.builtinAliases ?? builtinAliases).values()) candidates.push(alias.name)
  for (const id of context.ids.keys()) candidates.push(PREFIX + id)
  // An input like "openai/gpt-4o" is compared with the ids as well as with the refs.
  return nearest(input, candidates, 3, (candidate) => candidate.startsWith(PREFIX) ? candidate.slice(PREFIX.length) : candidate)
}

/**
 * Levenshtein distance in UTF-16 units (callers lower-case first); any value above `max` means "more than `max`". The
 * length difference alone settles most candidates of a large catalog before the distance is computed.
 */
const distance = (a: string, b: string, max: number): number =>
  Math.abs(a.length - b.length) > max ? max + 1 : Math.min(levenshtein(a, b), max + 1)

/**
 * The candidates nearest to `input` ("did you mean"): a candidate that contains the input (or is contained by it)
 * ranks first, then by edit distance (to the whole candidate or its last path segment) within half the input's
 * length. Case-insensitive.
 *
 * @since 0.1.0
 * @category resolution
 */
export const nearest = (
  input: string,
  candidates: Iterable<string>,
  limit = 3,
  compareAs: (candidate: string) => string = (candidate) => candidate
): ReadonlyArray<string> => nearestEach([input], candidates, limit, compareAs)[0]!

/**
 * `nearest` for several inputs against the same candidates, which are prepared (lower-cased, split) once for all:
 * the result for each input is exactly what `nearest` gives for it.
 *
 * @since 0.1.0
 * @category resolution
 */
export const nearestEach = (
  inputs: ReadonlyArray<string>,
  candidates: Iterable<string>,
  limit = 3,
  compareAs: (candidate: string) => string = (candidate) => candidate
): ReadonlyArray<ReadonlyArray<string>> => {
  const needles = inputs.map((input) => input.toLowerCase())
  const maxes = needles.map((needle) => Math.max(2, Math.ceil(needle.length * 0.5)))
  const order = (a: readonly [string, number], b: readonly [string, number]) => a[1] - b[1] || a[0].localeCompare(b[0])
  // Only the best `limit` are kept, best first. Once there are that many, a candidate must score no worse than the
  // last of them to matter, which bounds the edit distance worth computing: against a catalog of thousands of similar
  // ids most candidates then stop at the length check instead of filling a Levenshtein table. Same result as scoring
  // every candidate and sorting (ties keep their input order, as the stable sort did).
  const bounded = Number.isInteger(limit) && limit > 0
  const bests = needles.map((): Array<readonly [string, number]> => [])
  const seen = new Set<string>()
  for (const candidate of candidates) {
    if (seen.has(candidate)) continue
    seen.add(candidate)
    const full = candidate.toLowerCase()
    const short = compareAs(candidate).toLowerCase()
    // The last path segment too, so "glm-5.2" finds "zai-org/GLM-5-TEE".
    const last = short.slice(short.lastIndexOf("/") + 1)
    for (let k = 0; k < needles.length; k++) {
      const needle = needles[k]!
      const best = bests[k]!
      const worst = bounded && best.length === limit ? best[limit - 1]![1] : Number.POSITIVE_INFINITY
      let score: number
      if (needle.length >= 3 && (full.includes(needle) || short.includes(needle) || needle.includes(short))) {
        score = Math.abs(short.length - needle.length) / 1000
      } else {
        // Each distance is only needed when it could beat the best so far, so it runs bounded by that.
        const bound = Math.min(maxes[k]!, Math.floor(worst))
        score = distance(needle, full, bound)
        if (score > 0 && short !== full) score = Math.min(score, distance(needle, short, Math.min(bound, score)))
        if (score > 0 && last !== short) score = Math.min(score, distance(needle, last, Math.min(bound, score)))
        if (score > bound) continue
      }
      if (score > worst) continue
      const entry = [candidate, score] as const
      if (!bounded) {
        best.push(entry)
        continue
      }
      let at = best.length
      while (at > 0 && order(entry, best[at - 1]!) < 0) at--
      best.splice(at, 0, entry)
      if (best.length > limit) best.pop()
    }
  }
  return bests.map((best) => {
    if (!bounded) best.sort(order)
    return best.slice(0, limit).map(([candidate]) => candidate)
  })
}

/**
 * For each model id, the nearest refs among the ids of a catalog (`nearestEach` with refs as candidates, compared by
 * their model id): the "nearest live model" of catalog warnings and of a 404 from the service.
 *
 * @since 0.1.0
 * @category resolution
 */
export const nearestRefs = (
  ids: ReadonlyArray<string>,
  catalogIds: Iterable<string>,
  limit = 3
): ReadonlyArray<ReadonlyArray<string>> =>
  nearestEach(ids, Array.from(catalogIds, (id) => PREFIX + id), limit, (ref) => ref.slice(PREFIX.length))
