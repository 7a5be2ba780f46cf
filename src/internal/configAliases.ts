/**
 * The user aliases of the agent config (`agents.defaults.models`), and what was noticed while reading them: OpenClaw's
 * inverted entries, invalid refs, duplicates, aliases that would hide a ref or that point at another alias. Re-exported
 * by `AgentConfig`.
 *
 * @internal
 */
import * as Either from "effect/Either"
import { aliasKey } from "../Aliases.js"
import * as ModelRef from "../ModelRef.js"
import type { AgentConfigDocument } from "./configDocument.js"
import * as ConfigJson from "./configJson.js"

/**
 * Something in the config that was understood but deserves the user's attention.
 *
 * - `InvertedAlias`: an OpenClaw-style inverted entry (`"chutes-fast": { alias: "chutes/…" }`), read as alias name ->
 *   ref.
 * - `InvalidAliasRef`: an alias on a `chutes/…` key that is not a valid ref; the alias is skipped.
 * - `DuplicateAlias`: two refs use the same alias name (by `Aliases.aliasKey`: case and invisible joiners aside); the
 *   first one wins.
 * - `AliasShadowsRef`: an alias name that is itself a `chutes/…` ref would hijack that ref; the alias is skipped.
 * - `AliasTargetIsAlias`: an alias whose target is another alias's name (`"chutes/chutes-fast": { alias: "fast" }`,
 *   or inverted, `"fast": { alias: "chutes-fast" }`) rather than a model: aliases do not chain; the alias is skipped.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigWarning {
  readonly kind: "InvertedAlias" | "InvalidAliasRef" | "DuplicateAlias" | "AliasShadowsRef" | "AliasTargetIsAlias"
  /** The config key involved, e.g. `agents.defaults.models["chutes-fast"]`. */
  readonly key: string
  readonly message: string
}

/**
 * The aliases of the config with what was noticed while reading them.
 *
 * @since 0.1.0
 * @category models
 */
export interface AliasReading {
  /** Alias name -> normalised `chutes/…` ref, in file order; the form `ChutesProvider.layer({ aliases })` takes. */
  readonly aliases: ReadonlyArray<readonly [name: string, ref: string]>
  readonly warnings: ReadonlyArray<ConfigWarning>
}

/**
 * Reads the user aliases of `agents.defaults.models`: entries `"chutes/<id>": { alias: "name" }` (provider matched
 * case-insensitively; other providers' entries are not ours), plus OpenClaw's inverted entries
 * (`"name": { alias: "chutes/<id>" }`, key not a ref), which are read as name -> ref and reported.
 *
 * @since 0.1.0
 * @category accessors
 */
export const readAliases = (doc: AgentConfigDocument): AliasReading => {
  const entries = doc.view.agents?.defaults?.models ?? {}
  const aliases: Array<readonly [string, string]> = []
  const warnings: Array<ConfigWarning> = []
  const seen = new Map<string, string>()
  const add = (name: string, ref: string, key: string) => {
    const lower = aliasKey(name)
    const previous = seen.get(lower)
    if (previous !== undefined) {
      if (previous !== ref) {
        warnings.push({
          kind: "DuplicateAlias",
          key,
          message: `alias ${JSON.stringify(name)} is used for ${previous} and ${ref}; ${previous} wins`
        })
      }
      return
    }
    seen.set(lower, ref)
    aliases.push([name, ref])
  }
  // The refs the entries of this config give each alias name (by `aliasKey`; entries whose ref does not parse give
  // none): a target that is a built-in alias, or an alias an entry gives to a model, is an alias, not a model.
  const defined = new Map<string, Set<string>>()
  for (const [key, entry] of Object.entries(entries)) {
    const alias = entry.alias?.trim()
    if (alias === undefined || alias.length === 0) continue
    const chutes = ConfigJson.isChutesKey(key)
    if (!chutes && ConfigJson.isRefLike(key)) continue
    const ref = ModelRef.parse(chutes ? key : alias)
    if (Either.isLeft(ref)) continue
    const name = aliasKey(chutes ? alias : key)
    defined.set(name, (defined.get(name) ?? new Set()).add(ref.right))
  }
  /**
   * Whether `target` names an alias, from the entry that gives `own` to `ownRef`. A name has no `/` (a model id is
   * `org/name`, so `"chutes/zai-org/GLM-5-TEE": { alias: "zai-org/GLM-5-TEE" }` is a model named after itself). An entry
   * naming only itself (`"chutes/foo": { alias: "foo" }`) is a model id, unless a built-in alias has that name or
   * another entry gives it to another model; so is one whose id another entry gives to this same model.
   */
  const namesAlias = (target: string, own: string, ownRef: string | undefined): boolean => {
    const name = aliasKey(target)
    if (name.includes("/")) return false
    if (ModelRef.builtinAliases.has(name)) return true
    const refs = defined.get(name)
    if (refs === undefined) return false
    // From a `chutes/<id>` entry: a chain when the name stands for another model (a second alias of the same model
    // is fine). From an inverted entry: when the name is another's.
    return ownRef !== undefined ? Array.from(refs).some((ref) => ref !== ownRef) : name !== aliasKey(own)
  }
  const chained = (where: string, alias: string, target: string): ConfigWarning => ({
    kind: "AliasTargetIsAlias",
    key: where,
    message: `${where}: the alias ${JSON.stringify(alias)} points at ${JSON.stringify(target)}, which is an alias, not ` +
      `a model (aliases do not chain); alias skipped. Point it at the model's ref ("chutes/<org>/<model>")`
  })
  for (const [key, entry] of Object.entries(entries)) {
    const alias = entry.alias?.trim()
    if (alias === undefined || alias.length === 0) continue
    const where = ConfigJson.modelsKey(key)
    const aliasRef = ModelRef.parse(alias)
    if (ConfigJson.isChutesKey(key)) {
      const ref = ModelRef.parse(key)
      if (Either.isLeft(ref)) {
        warnings.push({ kind: "InvalidAliasRef", key: where, message: `${where}: ${ref.left.message}; alias skipped` })
      } else if (namesAlias(ModelRef.modelId(ref.right), alias, ref.right)) {
        warnings.push(chained(where, alias, ModelRef.modelId(ref.right)))
      } else if (Either.isRight(aliasRef)) {
        warnings.push({
          kind: "AliasShadowsRef",
          key: where,
          message: `${where}: the alias ${JSON.stringify(alias)} is itself a model ref and would hide it; alias skipped`
        })
      } else {
        add(alias, ref.right, where)
      }
    } else if (!ConfigJson.isRefLike(key) && Either.isRight(aliasRef)) {
      const name = key.trim()
      warnings.push({
        kind: "InvertedAlias",
        key: where,
        message: `${where} is written inverted (alias name -> { alias: ref }); read as alias ${JSON.stringify(name)} ` +
          `-> ${aliasRef.right}. The expected form is ` +
          `${JSON.stringify(aliasRef.right)}: { alias: ${JSON.stringify(name)} }`
      })
      if (name.length > 0) add(name, aliasRef.right, where)
    } else if (!ConfigJson.isRefLike(key) && namesAlias(alias, key.trim(), undefined)) {
      warnings.push(chained(where, key.trim(), alias))
    }
  }
  return { aliases, warnings }
}

/**
 * The user aliases, alias name -> ref, ready for `ChutesProvider.layer({ aliases })` or `ModelRef.makeUserAliases`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const userAliases = (doc: AgentConfigDocument): ReadonlyArray<readonly [name: string, ref: string]> =>
  readAliases(doc).aliases

/**
 * What the config says that the user should know about (inverted aliases, …).
 *
 * @since 0.1.0
 * @category accessors
 */
export const warnings = (doc: AgentConfigDocument): ReadonlyArray<ConfigWarning> => readAliases(doc).warnings
