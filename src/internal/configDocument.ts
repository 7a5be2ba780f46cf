/**
 * The agent config document (pure): the JSON5 text parsed to plain JSON with every unknown key kept, the typed view of
 * the keys the SDK reads, and the accessors over it. `src/AgentConfig.ts` is the file service around it and re-exports
 * all of this; see that module and docs/configuration.md.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import JSON5 from "json5"
import { ConfigError } from "../ChutesError.js"
import * as ConfigJson from "./configJson.js"
import { depthExceeds, unwritableNumber } from "./jsonDepth.js"
import { readAliases } from "./configAliases.js"
import { excerpt } from "./redact.js"
import * as ModelRef from "../ModelRef.js"

// ---------------------------------------------------------------------------------------------------------------------
// JSON values
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A JSON value, as a JSON5 file parses to.
 *
 * @since 0.1.0
 * @category models
 */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | JsonObject

/**
 * A JSON object.
 *
 * @since 0.1.0
 * @category models
 */
export interface JsonObject {
  readonly [key: string]: Json
}

/**
 * Whether a value is a JSON object (not null, not an array).
 *
 * @since 0.1.0
 * @category guards
 */
export const isJsonObject: (value: unknown) => value is JsonObject = ConfigJson.isJsonObject

// ---------------------------------------------------------------------------------------------------------------------
// The typed view
// ---------------------------------------------------------------------------------------------------------------------

// `exact`: an absent key is absent, never `undefined` (JSON has no undefined; it also keeps parse messages short).
const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

/**
 * The default model selection, `agents.defaults.model`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelSelection = Schema.Struct({
  primary: optional(Schema.String),
  fallbacks: optional(Schema.Array(Schema.String))
}).annotations({ identifier: "an object like { primary, fallbacks }" })

/**
 * One entry of `agents.defaults.models`: `"chutes/<id>": { alias: "name" }`. Other keys of the entry are kept.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelEntry = Schema.Struct({ alias: optional(Schema.String) }).annotations({
  identifier: "an object like { alias: \"name\" }"
})

/**
 * A model as OpenClaw's config lists it under `models.providers.<id>.models` (what onboarding writes). Only `id` is
 * required on read.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProviderModel = Schema.Struct({
  id: Schema.String,
  name: optional(Schema.String),
  reasoning: optional(Schema.Boolean),
  input: optional(Schema.Array(Schema.String)),
  cost: optional(
    Schema.Struct({
      input: optional(Schema.Number),
      output: optional(Schema.Number),
      cacheRead: optional(Schema.Number),
      cacheWrite: optional(Schema.Number)
    }).annotations({ identifier: "an object like { input, output }" })
  ),
  contextWindow: optional(Schema.Number),
  maxTokens: optional(Schema.Number)
}).annotations({ identifier: "an object like { id, name, contextWindow, … }" })

/**
 * @since 0.1.0
 * @category models
 */
export type ProviderModel = typeof ProviderModel.Type

/**
 * The provider entry, `models.providers.chutes`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProviderConfig = Schema.Struct({
  baseUrl: optional(Schema.String),
  api: optional(Schema.String),
  models: optional(Schema.Array(ProviderModel)),
  /**
   * `false` keeps the built-in default model and aliases on their documented targets (effect-chutes' own key; tools
   * with a strict schema for this entry may refuse it: use `CHUTES_FOLLOW_SUCCESSORS=false` there).
   */
  followSuccessors: optional(Schema.Boolean)
}).annotations({ identifier: "an object like { baseUrl, api, models }" })

/**
 * @since 0.1.0
 * @category models
 */
export type ProviderConfig = typeof ProviderConfig.Type

/**
 * One entry of `auth.profiles` (the secret itself lives in the auth profile store, never in the config).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AuthProfileRef = Schema.Struct({
  provider: optional(Schema.String),
  mode: optional(Schema.String),
  email: optional(Schema.String)
}).annotations({ identifier: "an object like { provider, mode }" })

/**
 * @since 0.1.0
 * @category models
 */
export type AuthProfileRef = typeof AuthProfileRef.Type

const object = (what: string) => ({ identifier: `an object${what}` })

/**
 * The keys of the config the SDK reads. Unknown keys are allowed everywhere and ignored by this view (they stay in
 * the document).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConfigView = Schema.Struct({
  agents: optional(Schema.Struct({
    defaults: optional(Schema.Struct({
      model: optional(Schema.Union(Schema.String, ModelSelection)),
      models: optional(
        Schema.Record({ key: Schema.String, value: ModelEntry }).annotations(object(" of model ref -> { alias }"))
      )
    }).annotations(object(""))),
  }).annotations(object(""))),
  models: optional(Schema.Struct({
    mode: optional(Schema.String),
    providers: optional(
      Schema.Struct({ chutes: optional(ProviderConfig) }).annotations(object(" of provider id -> provider"))
    )
  }).annotations(object(""))),
  auth: optional(Schema.Struct({
    profiles: optional(
      Schema.Record({ key: Schema.String, value: AuthProfileRef }).annotations(object(" of profile id -> profile"))
    ),
    // OpenClaw's shape: provider id -> profile ids in the order they are tried. Other providers' entries are kept.
    order: optional(
      Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }).annotations(
        object(" of provider id -> list of profile ids")
      )
    )
  }).annotations(object("")))
}).annotations(object(""))

/**
 * @since 0.1.0
 * @category models
 */
export type ConfigView = typeof ConfigView.Type

/**
 * A loaded (or merged) config: the whole document and the typed view of its known keys.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentConfigDocument {
  /** Everything the file holds, unknown keys included; this is what `save` writes. */
  readonly root: JsonObject
  /** The keys this SDK reads, decoded. */
  readonly view: ConfigView
}

/**
 * An empty config, the starting point when there is no file yet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: AgentConfigDocument = { root: {}, view: {} }

/**
 * A readable key path: `agents.defaults.models["chutes/zai-org/GLM-4.7-TEE"].alias`, `…models[2].id`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatPath: (path: ReadonlyArray<PropertyKey>) => string = ConfigJson.formatPath

const kindOf = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  switch (typeof value) {
    case "object":
      return "an object"
    case "string":
      return "a string"
    case "number":
      return "a number"
    case "boolean":
      return "a boolean"
    default:
      return typeof value
  }
}

const valueAt = (root: Json, path: ReadonlyArray<PropertyKey>): Json | undefined => {
  let current: Json | undefined = root
  for (const segment of path) {
    if (current === undefined) return undefined
    if (typeof segment === "number" && Array.isArray(current)) current = current[segment]
    else if (isJsonObject(current)) current = ConfigJson.own(current, String(segment))
    else return undefined
  }
  return current
}

// The deepest issue names the key the user has to fix; several issues at that depth are the members of a union. The
// actual value is described by its kind only: config files can hold secrets (e.g. a provider's apiKey).
const invalidDetail = (root: Json, error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const depth = issues.reduce((deepest, issue) => Math.max(deepest, issue.path.length), 0)
  const deepest = issues.filter((issue) => issue.path.length === depth)
  const first = deepest[0]
  if (first === undefined) return "unexpected shape"
  const expected = Array.from(
    new Set(deepest.map((issue) => issue.message.replace(/^Expected /, "").replace(/, actual [\s\S]*$/, "")))
  )
  const actual = valueAt(root, first.path)
  const got = actual === undefined ? "nothing" : kindOf(actual)
  return excerpt(`${formatPath(first.path)}: expected ${expected.join(" or ")}, got ${got}`, 300)
}

const decodeView = Schema.decodeUnknownEither(ConfigView, { errors: "all", onExcessProperty: "ignore" })

/**
 * The deepest nesting a config may have. Real configs are a handful of levels deep; a pathological one would overflow
 * the stack later, while its schema errors are formatted or while it is written back.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_DEPTH = 100

/**
 * Builds a document from an already-parsed JSON value, checking the known keys.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromJson = (value: unknown, path: string): Either.Either<AgentConfigDocument, ConfigError> => {
  if (depthExceeds(value, MAX_DEPTH)) {
    return Either.left(
      new ConfigError({ reason: "Invalid", path, detail: `nested deeper than ${MAX_DEPTH} levels` })
    )
  }
  if (!isJsonObject(value)) {
    return Either.left(
      new ConfigError({ reason: "Invalid", path, detail: `the top level must be an object, got ${kindOf(value)}` })
    )
  }
  return Either.match(decodeView(value), {
    onLeft: (error) => Either.left(new ConfigError({ reason: "Invalid", path, detail: invalidDetail(value, error) })),
    onRight: (view) => Either.right({ root: value, view })
  })
}

const lineAndColumn = (error: unknown): { readonly line?: number; readonly column?: number } => {
  if (typeof error !== "object" || error === null) return {}
  const line: unknown = Reflect.get(error, "lineNumber")
  const column: unknown = Reflect.get(error, "columnNumber")
  return {
    ...(typeof line === "number" ? { line } : {}),
    // json5 reports column 0 for a raw line break inside a string: positions here are 1-based.
    ...(typeof column === "number" ? { column: Math.max(1, column) } : {})
  }
}

/**
 * Parses the text of a config file (JSON5: comments, trailing commas, unquoted keys). A syntax error carries its
 * 1-based line and column; a known key of the wrong shape is `Invalid` and names the key.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string, path: string): Either.Either<AgentConfigDocument, ConfigError> => {
  let value: unknown
  try {
    value = JSON5.parse(text)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    // json5's message ends with " at <line>:<column>", which the error already carries as fields.
    const detail = excerpt(message.replace(/^JSON5:\s*/, "").replace(/ at \d+:\d+$/, ""), 120)
    return Either.left(new ConfigError({ reason: "Parse", path, ...lineAndColumn(error), detail }))
  }
  return fromJson(value, path)
}

/**
 * The text `save` writes: JSON5, 2-space indent, double quotes, a trailing newline. Comments of the original file are
 * not preserved (they stay in the `.bak`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (doc: AgentConfigDocument): string => `${JSON5.stringify(doc.root, { space: 2, quote: "\"" })}\n`

/**
 * The text `save` writes, or `Invalid` when the rewrite would change a number of the file: an integer past 2^53 (a
 * Discord id written without quotes, say) lost digits when it was parsed, so the file is not rewritten over it.
 *
 * @internal
 */
export const formatEither = (doc: AgentConfigDocument, path: string): Either.Either<string, ConfigError> => {
  const lossy = unwritableNumber(doc.root, { json5: true })
  return lossy === undefined ? Either.right(format(doc)) : Either.left(
    new ConfigError({
      reason: "Invalid",
      path,
      detail: `it holds ${excerpt(lossy, 200)}; a rewrite would change it, so the file was not rewritten. Write ` +
        `that number as a string (in quotes), or make the change by hand`
    })
  )
}

// ---------------------------------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------------------------------

/**
 * `agents.defaults.model.primary` (a bare string `model` counts as the primary).
 *
 * @since 0.1.0
 * @category accessors
 */
export const primary = (doc: AgentConfigDocument): Option.Option<string> => {
  const model = doc.view.agents?.defaults?.model
  if (model === undefined) return Option.none()
  return Option.fromNullable(typeof model === "string" ? model : model.primary)
}

/**
 * `agents.defaults.model.fallbacks`, in order.
 *
 * @since 0.1.0
 * @category accessors
 */
export const fallbacks = (doc: AgentConfigDocument): ReadonlyArray<string> => {
  const model = doc.view.agents?.defaults?.model
  return model === undefined || typeof model === "string" ? [] : model.fallbacks ?? []
}

/**
 * `models.providers.chutes`, when present.
 *
 * @since 0.1.0
 * @category accessors
 */
export const providerConfig = (doc: AgentConfigDocument): Option.Option<ProviderConfig> =>
  Option.fromNullable(doc.view.models?.providers?.chutes)

/**
 * `models.providers.chutes.followSuccessors`, when set.
 *
 * @since 0.2.0
 * @category accessors
 */
export const followSuccessors = (doc: AgentConfigDocument): Option.Option<boolean> =>
  Option.fromNullable(doc.view.models?.providers?.chutes?.followSuccessors)

/**
 * `auth.profiles`, every provider's.
 *
 * @since 0.1.0
 * @category accessors
 */
export const authProfiles = (doc: AgentConfigDocument): Readonly<Record<string, AuthProfileRef>> =>
  doc.view.auth?.profiles ?? {}

/**
 * `auth.order.chutes`: the Chutes profile ids in the order they are tried (trimmed, empty ids dropped), when set and
 * not empty.
 *
 * @since 0.4.0
 * @category accessors
 */
export const authOrder = (doc: AgentConfigDocument): Option.Option<ReadonlyArray<string>> => {
  const ids = (doc.view.auth?.order?.chutes ?? []).map((id) => id.trim()).filter((id) => id.length > 0)
  return ids.length > 0 ? Option.some(ids) : Option.none()
}

/**
 * What a config contributes to the provider: user aliases (`agents.defaults.models[ref].alias`), the default model
 * (`agents.defaults.model.primary`, when it is a valid ref), `followSuccessors` and the auth order
 * (`auth.order.chutes`) — with a sentence for each thing that was ignored (OpenClaw's inverted aliases, a primary that
 * is not a ref).
 *
 * @since 0.2.0
 * @category accessors
 */
export interface ProviderDefaults {
  readonly aliases: ReadonlyArray<readonly [string, string]>
  readonly defaultModel: string | undefined
  readonly followSuccessors: boolean | undefined
  /** `auth.order.chutes` (see `authOrder`); absent or undefined when the config sets none. */
  readonly authOrder?: ReadonlyArray<string> | undefined
  readonly warnings: ReadonlyArray<string>
}

/**
 * No config: no user aliases, the documented default, successors as the environment says.
 *
 * @since 0.2.0
 * @category constants
 */
export const noProviderDefaults: ProviderDefaults = {
  aliases: [],
  defaultModel: undefined,
  followSuccessors: undefined,
  warnings: []
}

/**
 * What is said when a config cannot be read and the provider goes on without it.
 *
 * @since 0.2.0
 * @category accessors
 */
export const ignoredConfig = (error: ConfigError): string =>
  `${error.message}; its aliases and default model are ignored`

/**
 * The provider defaults of a config document (pure); the library's `ChutesProvider.layer` and the CLI read a config
 * through this one function.
 *
 * @since 0.2.0
 * @category accessors
 */
export const providerDefaults = (doc: AgentConfigDocument): ProviderDefaults => {
  const reading = readAliases(doc)
  const configured = Option.getOrUndefined(primary(doc))
  const valid = configured !== undefined && Either.isRight(ModelRef.parse(configured))
  return {
    aliases: reading.aliases,
    defaultModel: valid ? configured : undefined,
    followSuccessors: Option.getOrUndefined(followSuccessors(doc)),
    authOrder: Option.getOrUndefined(authOrder(doc)),
    warnings: [
      ...reading.warnings.map((warning) => warning.message),
      ...(configured !== undefined && !valid
        ? [`agents.defaults.model.primary ${JSON.stringify(configured)} is not a model ref; ignored`]
        : [])
    ]
  }
}
