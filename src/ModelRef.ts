/**
 * Model refs (`chutes/<model-id>`) and aliases: parse, format and resolve (SPEC §2). Pure: no services.
 *
 * @since 0.1.0
 */
import * as Brand from "effect/Brand"
import * as Either from "effect/Either"
import { InvalidModelRef, UnknownModel } from "./ChutesError.js"
import { BUILTIN_ALIASES, PROVIDER_ID } from "./ModelCatalog.js"

/**
 * A valid model ref, always in the normal form `chutes/<model-id>`.
 *
 * @since 0.1.0
 * @category models
 */
export type ModelRef = string & Brand.Brand<"effect-chutes/ModelRef">

const brand = Brand.nominal<ModelRef>()

const PREFIX = `${PROVIDER_ID}/`

// Control characters (C0, DEL, C1): never valid in a model name, and dangerous to echo to a terminal.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const WHITESPACE = /\s/

const checkId = (input: string, id: string): InvalidModelRef | undefined => {
  if (id.length === 0) return new InvalidModelRef({ input, reason: "EmptyId" })
  if (CONTROL.test(id)) return new InvalidModelRef({ input, reason: "ControlCharacter" })
  if (WHITESPACE.test(id)) return new InvalidModelRef({ input, reason: "Whitespace" })
  return undefined
}

/**
 * Parses a model ref. Splits on the first `/`: the provider is matched case-insensitively and normalised to
 * `chutes`; the model id (everything after, slashes included) is case-sensitive. Surrounding whitespace is trimmed.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Either.Either<ModelRef, InvalidModelRef> => {
  const trimmed = input.trim()
  if (trimmed.length === 0) return Either.left(new InvalidModelRef({ input, reason: "Empty" }))
  if (CONTROL.test(trimmed)) return Either.left(new InvalidModelRef({ input, reason: "ControlCharacter" }))
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
 * An alias table keyed by the lower-cased alias name.
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
 * so the caller can report them; they never break resolution of the others.
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
    const key = name.trim().toLowerCase()
    if (key.length === 0) continue
    // resolve() refuses control characters before it looks at aliases, so such a name could never be used.
    if (CONTROL.test(key)) {
      invalid.push(new InvalidModelRef({ input: name, reason: "ControlCharacter" }))
      continue
    }
    const parsed = parse(ref)
    if (Either.isLeft(parsed)) invalid.push(parsed.left)
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
  /** `alias`: an alias name; `ref`: a `chutes/…` ref; `id`: a bare model id of the catalog. */
  readonly via: "alias" | "ref" | "id"
  /** The alias used, when `via` is `alias`. */
  readonly alias?: Alias | undefined
  /** When a user alias shadows a built-in alias of the same name: the built-in it replaced. */
  readonly shadowed?: Alias | undefined
  /** Whether the current catalog lists the model. Unknown refs still resolve: lists go stale. */
  readonly known: boolean
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
  }
}

/**
 * Resolves user input to a model ref (SPEC §2): (1) an alias, user before built-in, case-insensitive; (2) a full ref,
 * listed or not (`known: false`); (3) a bare id of the catalog; (4) otherwise `UnknownModel` with suggestions.
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
  if (CONTROL.test(trimmed)) return Either.left(new InvalidModelRef({ input, reason: "ControlCharacter" }))
  const builtins = context.builtinAliases ?? builtinAliases
  const key = trimmed.toLowerCase()
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
 * Levenshtein distance, case-insensitive, with an early exit above `max`.
 *
 * @internal
 */
const distance = (a: string, b: string, max: number): number => {
  if (Math.abs(a.length - b.length) > max) return max + 1
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      current.push(value)
      if (value < rowMin) rowMin = value
    }
    if (rowMin > max) return max + 1
    previous = current
  }
  return previous[b.length]!
}

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
): ReadonlyArray<string> => {
  const needle = input.toLowerCase()
  const max = Math.max(2, Math.ceil(needle.length * 0.5))
  const scored: Array<readonly [string, number]> = []
  const seen = new Set<string>()
  for (const candidate of candidates) {
    if (seen.has(candidate)) continue
    seen.add(candidate)
    const full = candidate.toLowerCase()
    const short = compareAs(candidate).toLowerCase()
    // The last path segment too, so "glm-5.2" finds "zai-org/GLM-5-TEE".
    const last = short.slice(short.lastIndexOf("/") + 1)
    let score: number
    if (needle.length >= 3 && (full.includes(needle) || short.includes(needle) || needle.includes(short))) {
      score = Math.abs(short.length - needle.length) / 1000
    } else {
      score = Math.min(distance(needle, full, max), distance(needle, short, max), distance(needle, last, max))
      if (score > max) continue
    }
    scored.push([candidate, score])
  }
  scored.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
  return scored.slice(0, limit).map(([candidate]) => candidate)
}
