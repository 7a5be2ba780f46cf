/**
 * The JSON5 agent config (docs/configuration.md): load it, read the keys the SDK cares about, and save it back
 * atomically with a `.bak` of the previous file.
 *
 * The document is kept as the plain JSON value the file parsed to, so every key this module does not know survives a
 * load / edit / save round trip; a typed view of the known keys (`agents.defaults.model`, `agents.defaults.models`,
 * `models.providers.chutes`, `auth.profiles`) is decoded next to it and checked on every load.
 *
 * The format follows OpenClaw's, with one fault fixed: aliases are written `"chutes/<id>": { alias: "name" }` (ref ->
 * alias). OpenClaw wrote them inverted (`"chutes-fast": { alias: "chutes/…" }`); such entries are understood on load
 * (as alias name -> ref), reported as warnings, and repaired by onboarding (`src/cli/onboarding.ts`) when that can be
 * done without touching a user's own alias.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import JSON5 from "json5"
import { ConfigError } from "./ChutesError.js"
import { ChutesSettings } from "./ChutesSettings.js"
import * as ConfigJson from "./internal/configJson.js"
import { depthExceeds } from "./internal/jsonDepth.js"
import { excerpt } from "./internal/redact.js"
import * as ModelRef from "./ModelRef.js"
import * as PrivateFiles from "./PrivateFiles.js"

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
    )
  }).annotations(object("")))
}).annotations(object(""))

/**
 * @since 0.1.0
 * @category models
 */
export type ConfigView = typeof ConfigView.Type

/**
 * Something in the config that was understood but deserves the user's attention.
 *
 * - `InvertedAlias`: an OpenClaw-style inverted entry (`"chutes-fast": { alias: "chutes/…" }`), read as alias name ->
 *   ref.
 * - `InvalidAliasRef`: an alias on a `chutes/…` key that is not a valid ref; the alias is skipped.
 * - `DuplicateAlias`: two refs use the same alias name (case-insensitively); the first one wins.
 * - `AliasShadowsRef`: an alias name that is itself a `chutes/…` ref would hijack that ref; the alias is skipped.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigWarning {
  readonly kind: "InvertedAlias" | "InvalidAliasRef" | "DuplicateAlias" | "AliasShadowsRef"
  /** The config key involved, e.g. `agents.defaults.models["chutes-fast"]`. */
  readonly key: string
  readonly message: string
}

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
    const lower = name.toLowerCase()
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
  for (const [key, entry] of Object.entries(entries)) {
    const alias = entry.alias?.trim()
    if (alias === undefined || alias.length === 0) continue
    const where = ConfigJson.modelsKey(key)
    const aliasRef = ModelRef.parse(alias)
    if (ConfigJson.isChutesKey(key)) {
      const ref = ModelRef.parse(key)
      if (Either.isLeft(ref)) {
        warnings.push({ kind: "InvalidAliasRef", key: where, message: `${where}: ${ref.left.message}; alias skipped` })
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

// ---------------------------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The config file as a service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The config file; undefined when no state directory or `CHUTES_CONFIG_PATH` is known. */
  readonly path: string | undefined
  /** The parsed config; `None` when the file does not exist (or no path is known). */
  readonly load: Effect.Effect<Option.Option<AgentConfigDocument>, ConfigError>
  /**
   * Writes the config atomically (0600, parent dir created 0700) after copying the previous file to `<file>.bak`
   * (0600). Refuses with the `Parse` (or `Invalid`) error, leaving the file untouched, when the file on disk does not
   * load right now — it is re-read just before writing.
   */
  readonly save: (doc: AgentConfigDocument) => Effect.Effect<void, ConfigError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AgentConfig extends Context.Tag("effect-chutes/AgentConfig")<AgentConfig, Service>() {}

const UNSET = "(no config path)"

/**
 * The error when no config path is known (no `CHUTES_CONFIG_PATH`, no state directory).
 *
 * @since 0.1.0
 * @category errors
 */
export const noPath = (): ConfigError =>
  new ConfigError({
    reason: "Io",
    path: UNSET,
    detail: "no config path is known: set CHUTES_CONFIG_PATH or CHUTES_STATE_DIR (--config / --state-dir on the CLI)"
  })

const fromFiles = (path: string) => (error: PrivateFiles.PrivateFileError): ConfigError =>
  new ConfigError({ reason: error.reason === "TooLarge" ? "Invalid" : error.reason, path, detail: error.detail })

/**
 * The largest config read (real ones take a few KiB); a larger file is `Invalid` and never read into memory.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_BYTES = 4 * 1024 * 1024

/**
 * Options of the file-backed service.
 *
 * @since 0.2.0
 * @category models
 */
export interface FileOptions {
  /**
   * Accept a group-writable config file and directory (a Kubernetes `fsGroup` volume). Default: false; `layer` takes
   * it from `ChutesSettings.allowGroupWritable` (`CHUTES_ALLOW_GROUP_WRITABLE`).
   */
  readonly allowGroupWritable?: boolean | undefined
}

/**
 * The file-backed service for a given path. The file and its directory are read and written through `PrivateFiles`
 * (the one in context, else the portable one over `FileSystem`): one that someone else could change, a symbolic
 * link, or not a regular file is `ConfigError` `Unsafe` with the fix; one over `MAX_BYTES` is `Invalid`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  path: string | undefined,
  options: FileOptions = {}
): Effect.Effect<Service, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const files = yield* PrivateFiles.orFileSystem
    const policy: PrivateFiles.Policy = { allowGroupWritable: options.allowGroupWritable === true }

    const readText = (file: string): Effect.Effect<Option.Option<string>, ConfigError> =>
      files.readFile(file, { ...policy, maxBytes: MAX_BYTES }).pipe(Effect.mapError(fromFiles(file)))

    const load = Effect.gen(function*() {
      if (path === undefined) return Option.none<AgentConfigDocument>()
      const text = yield* readText(path)
      if (Option.isNone(text)) return Option.none<AgentConfigDocument>()
      return Option.some(yield* parse(text.value, path))
    }).pipe(Effect.withSpan("AgentConfig.load"))

    const save = Effect.fn("AgentConfig.save")(function*(doc: AgentConfigDocument) {
      if (path === undefined) return yield* noPath()
      yield* files.ensureDirectory(PrivateFiles.parentOf(path), policy).pipe(Effect.mapError(fromFiles(path)))
      // Re-read right before writing: a file the user broke since it was loaded is reported, never replaced.
      const previous = yield* readText(path)
      if (Option.isSome(previous)) {
        yield* parse(previous.value, path)
        yield* files.writeFileAtomic(`${path}.bak`, previous.value, policy).pipe(
          Effect.mapError(fromFiles(`${path}.bak`))
        )
      }
      yield* files.writeFileAtomic(path, format(doc), policy).pipe(Effect.mapError(fromFiles(path)))
    })

    return AgentConfig.of({ path, load, save })
  })

/**
 * The file-backed service at `ChutesSettings.configPath` (`CHUTES_CONFIG_PATH`, else `<state dir>/config.json5`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<AgentConfig, never, FileSystem.FileSystem | ChutesSettings> = Layer.effect(
  AgentConfig,
  Effect.flatMap(
    ChutesSettings,
    (settings) => make(settings.configPath, { allowGroupWritable: settings.allowGroupWritable })
  )
)

/**
 * The file-backed service at an explicit path.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPath = (
  path: string,
  options: FileOptions = {}
): Layer.Layer<AgentConfig, never, FileSystem.FileSystem> => Layer.effect(AgentConfig, make(path, options))

/**
 * The in-memory "files" behind `layerMemory`: the config text and its backup, inspectable by tests.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryFiles {
  readonly path: string
  text: string | undefined
  backup: string | undefined
}

/**
 * Fresh in-memory files, optionally holding a config text.
 *
 * @since 0.1.0
 * @category constructors
 */
export const memoryFiles = (text?: string | undefined, path = "memory:config.json5"): MemoryFiles => ({
  path,
  text,
  backup: undefined
})

/**
 * An in-memory service with the file semantics (missing -> `None`, malformed -> `Parse`, refusal to save over a
 * malformed text, `.bak` rotation), for tests of code that uses the config.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (files: MemoryFiles = memoryFiles()): Layer.Layer<AgentConfig> =>
  Layer.succeed(
    AgentConfig,
    AgentConfig.of({
      path: files.path,
      load: Effect.suspend(() =>
        files.text === undefined
          ? Effect.succeed(Option.none())
          : Effect.map(parse(files.text, files.path), Option.some)
      ),
      save: (doc) =>
        Effect.suspend(() => {
          const previous = files.text
          if (previous === undefined) {
            files.text = format(doc)
            return Effect.void
          }
          return Effect.map(parse(previous, files.path), () => {
            files.backup = previous
            files.text = format(doc)
          })
        })
    })
  )

/**
 * What a config contributes to the provider: user aliases (`agents.defaults.models[ref].alias`), the default model
 * (`agents.defaults.model.primary`, when it is a valid ref) and `followSuccessors` — with a sentence for each thing
 * that was ignored (OpenClaw's inverted aliases, a primary that is not a ref).
 *
 * @since 0.2.0
 * @category accessors
 */
export interface ProviderDefaults {
  readonly aliases: ReadonlyArray<readonly [string, string]>
  readonly defaultModel: string | undefined
  readonly followSuccessors: boolean | undefined
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
    warnings: [
      ...reading.warnings.map((warning) => warning.message),
      ...(configured !== undefined && !valid
        ? [`agents.defaults.model.primary ${JSON.stringify(configured)} is not a model ref; ignored`]
        : [])
    ]
  }
}

/**
 * The user aliases of the current config (none without a file), for `ChutesProvider.layer({ aliases })`. Warnings
 * about the config (e.g. OpenClaw's inverted aliases) are logged.
 *
 * @since 0.1.0
 * @category accessors
 */
export const loadUserAliases: Effect.Effect<ReadonlyArray<readonly [string, string]>, ConfigError, AgentConfig> =
  Effect.gen(function*() {
    const config = yield* AgentConfig
    const doc = yield* config.load
    if (Option.isNone(doc)) return []
    const reading = readAliases(doc.value)
    for (const warning of reading.warnings) {
      yield* Effect.logWarning(warning.message).pipe(Effect.annotateLogs({ config: config.path ?? UNSET }))
    }
    return reading.aliases
  }).pipe(Effect.withSpan("AgentConfig.loadUserAliases"))
