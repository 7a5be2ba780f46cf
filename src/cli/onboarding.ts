/**
 * The onboarding policy for the agent config: what `effect-chutes onboard` (`./onboard.ts`) merges into the file
 * (pure; `src/AgentConfig.ts` loads and saves it). It sets the default model, adds the built-in aliases in the
 * `"chutes/<id>": { alias: "name" }` orientation, repairs OpenClaw's inverted alias entries where that clobbers
 * nothing, registers the provider with its catalog in OpenClaw's model format, and records the auth profile; every
 * other key is kept.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as AgentConfig from "../AgentConfig.js"
import type { AgentConfigDocument, Json, JsonObject, ProviderModel } from "../AgentConfig.js"
import { aliasKey, BUILTIN_ALIASES } from "../Aliases.js"
import { isChutesKey, isJsonObject, isRefLike, modelsKey, own, ownObject, withKey } from "../internal/configJson.js"
import type { ModelDefinition } from "../ModelCatalog.js"
import * as ModelRef from "../ModelRef.js"

/** What onboarding writes into the config. */
export interface OnboardingOptions {
  /** The default model ref, set as `agents.defaults.model.primary`. */
  readonly defaultModel: string
  /** The LLM base URL registered for the provider. */
  readonly baseUrl: string
  /** The catalog registered for the provider (live if reachable, else the disk cache or static). */
  readonly models: ReadonlyArray<ModelDefinition>
  /** The auth profile the credential was stored under, e.g. `chutes:default`. */
  readonly profileId: string
  readonly mode: "oauth" | "api_key"
}

/** A merged config and a human line for each thing that changed (or was deliberately kept). */
export interface MergeResult {
  readonly doc: AgentConfigDocument
  readonly changes: ReadonlyArray<string>
}

/**
 * A catalog model in OpenClaw's model format (`maxTokens`, costs per 1M tokens, input `text` / `image` only — its
 * config schema is strict). Facts the catalog does not know are left out rather than invented.
 */
export const toProviderModel = (model: ModelDefinition): ProviderModel => {
  const input = model.input.filter((kind) => kind === "text" || kind === "image")
  return {
    id: model.id,
    name: model.name,
    reasoning: model.reasoning,
    input: input.length > 0 ? input : ["text"],
    ...(model.cost !== undefined
      ? {
        cost: {
          input: model.cost.input,
          output: model.cost.output,
          ...(model.cost.cacheRead !== undefined ? { cacheRead: model.cost.cacheRead } : {})
        }
      }
      : {}),
    contextWindow: model.contextWindow,
    ...(model.maxOutputTokens !== undefined ? { maxTokens: model.maxOutputTokens } : {})
  }
}

const providerModelJson = (model: ProviderModel): JsonObject => {
  const { cost, input, ...rest } = model
  return {
    ...rest,
    ...(input !== undefined ? { input: [...input] } : {}),
    ...(cost !== undefined ? { cost: { ...cost } } : {})
  }
}

const normalise = (key: string): string | undefined => {
  if (!isChutesKey(key)) return undefined
  const ref = ModelRef.parse(key)
  return Either.isRight(ref) ? ref.right : undefined
}

const aliasOf = (entry: Json | undefined): string | undefined => {
  if (!isJsonObject(entry)) return undefined
  const alias = own(entry, "alias")
  return typeof alias === "string" && alias.trim().length > 0 ? alias.trim() : undefined
}

const isInverted = (key: string, entry: Json | undefined): boolean => {
  if (isRefLike(key)) return false
  const target = aliasOf(entry)
  return target !== undefined && Either.isRight(ModelRef.parse(target))
}

/** The `agents.defaults.models` map with inverted entries repaired and the built-in aliases and primary added. */
const mergeModelEntries = (
  original: JsonObject,
  primaryRef: string | undefined,
  changes: Array<string>
): JsonObject => {
  let entries = original
  const keyOf = (ref: string): string | undefined => Object.keys(entries).find((key) => normalise(key) === ref)

  // 1. Repair OpenClaw's inverted entries when the target ref has no alias yet; the entry's other keys move along.
  for (const [key, entry] of Object.entries(original)) {
    if (isRefLike(key) || !isJsonObject(entry)) continue
    const target = aliasOf(entry)
    const ref = target === undefined ? undefined : ModelRef.parse(target)
    if (ref === undefined || Either.isLeft(ref)) continue
    const name = key.trim()
    const existingKey = keyOf(ref.right)
    const existing = existingKey === undefined ? undefined : own(entries, existingKey)
    const existingAlias = aliasOf(existing)
    if (existingAlias !== undefined) {
      changes.push(
        `kept the inverted entry ${modelsKey(key)}: ${ref.right} already has the alias ${JSON.stringify(existingAlias)}`
      )
      continue
    }
    const { [key]: _removed, ...rest } = entries
    const moved: JsonObject = { ...(isJsonObject(existing) ? existing : {}), ...entry, alias: name }
    entries = withKey(rest, existingKey ?? ref.right, moved)
    changes.push(`repaired the inverted alias ${modelsKey(key)}: now ${modelsKey(ref.right)} = { alias: "${name}" }`)
  }

  // 2. Built-in aliases, never over a user's alias for the same ref or a user's use of the same name.
  for (const [name, ref] of BUILTIN_ALIASES) {
    const existingKey = keyOf(ref)
    const existing = existingKey === undefined ? undefined : own(entries, existingKey)
    const existingAlias = aliasOf(existing)
    if (existingAlias !== undefined) {
      if (aliasKey(existingAlias) !== name) {
        changes.push(`kept your alias ${JSON.stringify(existingAlias)} for ${ref} (built-in "${name}" not written)`)
      }
      continue
    }
    // A name is taken by a user's alias, or by an inverted entry that step 1 could not repair.
    const user = Object.entries(entries).find(([key, entry]) => {
      const alias = aliasOf(entry)
      return (alias !== undefined && aliasKey(alias) === name) || (isInverted(key, entry) && aliasKey(key) === name)
    })
    if (user !== undefined) {
      changes.push(`kept your alias "${name}" (${modelsKey(user[0])}); the built-in "${name}" -> ${ref} not written`)
      continue
    }
    entries = withKey(entries, existingKey ?? ref, { ...(isJsonObject(existing) ? existing : {}), alias: name })
    changes.push(`added alias "${name}" -> ${ref}`)
  }

  // 3. OpenClaw treats a non-empty `agents.defaults.models` as the allowlist of models: list the primary there too.
  if (primaryRef !== undefined && keyOf(primaryRef) === undefined) {
    entries = withKey(entries, primaryRef, {})
    changes.push(`listed ${primaryRef} in agents.defaults.models`)
  }
  return entries
}

/**
 * Merges what onboarding sets into a config (pure; the input is not modified). It sets `agents.defaults.model.primary`
 * (keeping `fallbacks` and the other keys); adds the built-in aliases as `"chutes/<id>": { alias }` unless the user
 * already has an alias for that ref or uses that alias name elsewhere; repairs OpenClaw's inverted alias entries where
 * that clobbers nothing; registers `models.providers.chutes` (base URL, `openai-completions`, the catalog — the
 * entry's other keys are kept); keeps `models.mode` or sets `merge`; sets `auth.profiles[profileId]`. Every other key
 * and every other provider is kept as it is.
 */
export const mergeOnboarding = (doc: AgentConfigDocument, options: OnboardingOptions): MergeResult => {
  const changes: Array<string> = []
  const root = doc.root
  const parsedPrimary = ModelRef.parse(options.defaultModel)
  const primaryRef = Either.isRight(parsedPrimary) ? parsedPrimary.right : options.defaultModel.trim()

  // agents.defaults.model / models
  const agents = ownObject(root, "agents") ?? {}
  const defaults = ownObject(agents, "defaults") ?? {}
  const currentModel = own(defaults, "model")
  const oldPrimary = Option.getOrUndefined(AgentConfig.primary(doc))
  const model: JsonObject = isJsonObject(currentModel)
    ? withKey(currentModel, "primary", primaryRef)
    : { primary: primaryRef }
  if (oldPrimary !== primaryRef) {
    changes.push(
      oldPrimary === undefined
        ? `set agents.defaults.model.primary = ${primaryRef}`
        : `agents.defaults.model.primary: ${oldPrimary} -> ${primaryRef}`
    )
  }
  const kept = AgentConfig.fallbacks(doc)
  if (kept.length > 0) changes.push(`kept ${kept.length} fallback model(s): ${kept.join(", ")}`)
  const entries = mergeModelEntries(
    ownObject(defaults, "models") ?? {},
    Either.isRight(parsedPrimary) ? parsedPrimary.right : undefined,
    changes
  )
  const nextAgents = withKey(agents, "defaults", withKey(withKey(defaults, "model", model), "models", entries))

  // models.providers.chutes
  const models = ownObject(root, "models") ?? {}
  const providers = ownObject(models, "providers") ?? {}
  const current = ownObject(providers, ModelRef.PROVIDER_ID)
  // Retired models (the built-in catalog keeps them for their successors) are not offered — the service no longer
  // serves them, and a reader of this file that knows no successors would send them — unless the config itself names
  // one (the primary, an alias's model, a fallback): every model it names is registered.
  const named = new Set<string>([primaryRef])
  for (const key of [...AgentConfig.fallbacks(doc), ...Object.keys(entries)]) {
    const ref = normalise(key)
    if (ref !== undefined) named.add(ref)
  }
  const served = options.models.filter((definition) =>
    definition.status !== "deprecated" || named.has(`${ModelRef.PROVIDER_ID}/${definition.id}`)
  )
  const retired = options.models.length - served.length
  const provider: JsonObject = {
    ...current,
    baseUrl: options.baseUrl,
    api: "openai-completions",
    models: served.map((definition) => providerModelJson(toProviderModel(definition)))
  }
  const mode = own(models, "mode")
  const nextModels = withKey(
    withKey(models, "mode", mode === undefined ? "merge" : mode),
    "providers",
    withKey(providers, ModelRef.PROVIDER_ID, provider)
  )
  const previousCount = doc.view.models?.providers?.chutes?.models?.length
  changes.push(
    `${current === undefined ? "registered" : "updated"} models.providers.chutes: ${options.baseUrl}, ` +
      `api openai-completions, ${served.length} models` +
      (previousCount !== undefined && previousCount !== served.length ? ` (was ${previousCount})` : "") +
      (retired > 0 ? `; ${retired} retired model(s) left out` : "")
  )
  const others = Object.keys(providers).filter((id) => id !== ModelRef.PROVIDER_ID)
  if (others.length > 0) changes.push(`kept the other providers: ${others.join(", ")}`)

  // auth.profiles
  const auth = ownObject(root, "auth") ?? {}
  const profiles = ownObject(auth, "profiles") ?? {}
  const profile: JsonObject = { ...ownObject(profiles, options.profileId), provider: ModelRef.PROVIDER_ID, mode: options.mode }
  const nextAuth = withKey(auth, "profiles", withKey(profiles, options.profileId, profile))
  changes.push(
    `set auth.profiles[${JSON.stringify(options.profileId)}] = { provider: "chutes", mode: "${options.mode}" }`
  )

  const nextRoot = withKey(withKey(withKey(root, "agents", nextAgents), "models", nextModels), "auth", nextAuth)
  // Invariant: the input view was valid and only well-shaped values were written, so this decode cannot fail.
  const next = Either.getOrThrowWith(AgentConfig.fromJson(nextRoot, "(merged config)"), (error) => error)
  return { doc: next, changes }
}
