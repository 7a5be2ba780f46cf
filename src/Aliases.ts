/**
 * Where the provider's user aliases and default model come from: options given in code, then the agent config
 * (`config.json5`, read the same way by the library and the CLI: `AgentConfig.providerDefaults`), then the built-in
 * ones (`BUILTIN_ALIASES` here, parsed as `ModelRef.builtinAliases`; `ModelCatalog.DEFAULT_MODEL_REF`). Code wins over
 * the config, and says so when the two disagree.
 *
 * Pure: no services.
 *
 * @since 0.2.0
 */
import type { ProviderDefaults } from "./AgentConfig.js"
import { KEPT_INVISIBLE } from "./internal/redact.js"

/**
 * The built-in aliases, alias name (lower case) -> documented target ref. Names match case-insensitively; a target
 * Chutes no longer serves is followed to its successor (see `ModelCatalog.STATIC_MODELS`). `ModelRef.builtinAliases`
 * is this table parsed.
 *
 * @since 0.1.0
 * @category constants
 */
export const BUILTIN_ALIASES: ReadonlyArray<readonly [alias: string, ref: string]> = [
  ["chutes-fast", "chutes/zai-org/GLM-4.7-FP8"],
  ["chutes-pro", "chutes/deepseek-ai/DeepSeek-V3.2-TEE"],
  ["chutes-vision", "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506"]
]

/**
 * Aliases as options take them: `alias -> ref` pairs or a record.
 *
 * @since 0.2.0
 * @category models
 */
export type AliasInput = Iterable<readonly [name: string, ref: string]> | Readonly<Record<string, string>>

/**
 * What code gave.
 *
 * @since 0.2.0
 * @category models
 */
export interface FromCode {
  readonly aliases?: AliasInput | undefined
  readonly defaultModel?: string | undefined
}

/**
 * The combined user aliases (code first: the first entry of a name wins) and default model, with a sentence for each
 * config value that code overrode.
 *
 * @since 0.2.0
 * @category models
 */
export interface Combined {
  readonly aliases: ReadonlyArray<readonly [string, string]>
  readonly defaultModel: string | undefined
  readonly notes: ReadonlyArray<string>
}

/**
 * `alias -> ref` pairs of an alias input.
 *
 * @since 0.2.0
 * @category constructors
 */
export const entries = (aliases: AliasInput | undefined): ReadonlyArray<readonly [string, string]> =>
  aliases === undefined
    ? []
    : Array.from(Symbol.iterator in aliases ? aliases as Iterable<readonly [string, string]> : Object.entries(aliases))

/**
 * The key an alias name is looked up and compared by: lower-cased, without the characters a terminal may draw as
 * nothing that names keep (the joiners U+200C and U+200D, the soft hyphen, variation selectors), then trimmed — so
 * `"fa\u200dst"` and `"fa\ufe0fst"` are `"fast"`, one alias, not a second that reads the same.
 *
 * @since 0.5.0
 * @category constructors
 */
export const aliasKey = (name: string): string => name.toLowerCase().replace(KEPT_INVISIBLE, "").trim()

const key = aliasKey

/**
 * Whether built-in names follow their successors: what code (or the CLI's flag) says, else the config, else the
 * environment (`CHUTES_FOLLOW_SUCCESSORS`, default true) — the one precedence the library and the CLI use.
 *
 * @since 0.2.0
 * @category combinators
 */
export const followSuccessors = (
  explicit: boolean | undefined,
  config: ProviderDefaults,
  fromEnv: boolean
): boolean => explicit ?? config.followSuccessors ?? fromEnv

/**
 * Code over config.
 *
 * @since 0.2.0
 * @category combinators
 */
export const combine = (code: FromCode, config: ProviderDefaults): Combined => {
  const fromCode = entries(code.aliases)
  const byName = new Map(fromCode.map(([name, ref]) => [key(name), ref] as const))
  const notes: Array<string> = []
  for (const [name, ref] of config.aliases) {
    const overriding = byName.get(key(name))
    if (overriding !== undefined && overriding.trim() !== ref.trim()) {
      notes.push(`alias ${JSON.stringify(name)}: the one given in code (${overriding}) wins over the config's (${ref})`)
    }
  }
  const defaultModel = code.defaultModel ?? config.defaultModel
  if (
    code.defaultModel !== undefined && config.defaultModel !== undefined &&
    code.defaultModel.trim() !== config.defaultModel.trim()
  ) {
    notes.push(
      `default model: the one given in code (${code.defaultModel}) wins over the config's (${config.defaultModel})`
    )
  }
  return { aliases: [...fromCode, ...config.aliases], defaultModel, notes }
}
