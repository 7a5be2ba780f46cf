/**
 * The JSON5 agent config (docs/configuration.md): load it, read the keys the SDK cares about, and save it back
 * atomically with a `.bak` of the previous file.
 *
 * The document is kept as the plain JSON value the file parsed to, so every key this module does not know survives a
 * load / edit / save round trip; a typed view of the known keys (`agents.defaults.model`, `agents.defaults.models`,
 * `models.providers.chutes`, `auth.profiles`, `auth.order`) is decoded next to it and checked on every load.
 *
 * The format follows OpenClaw's, with one fault fixed: aliases are written `"chutes/<id>": { alias: "name" }` (ref ->
 * alias). OpenClaw wrote them inverted (`"chutes-fast": { alias: "chutes/…" }`); such entries are understood on load
 * (as alias name -> ref), reported as warnings, and repaired by onboarding (`src/cli/onboarding.ts`) when that can be
 * done without touching a user's own alias.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { ConfigError } from "./ChutesError.js"
import { ChutesSettings } from "./ChutesSettings.js"
import { readAliases } from "./internal/configAliases.js"
import { type AgentConfigDocument, formatEither, parse } from "./internal/configDocument.js"
import * as PrivateFiles from "./PrivateFiles.js"

/**
 * The types of the config document (pure; each is documented where it is defined, src/internal/configDocument.ts).
 *
 * @since 0.1.0
 */
export type { AgentConfigDocument, Json, JsonObject, ProviderDefaults } from "./internal/configDocument.js"
/**
 * What reading the user aliases noticed (each documented where it is defined, src/internal/configAliases.ts).
 *
 * @since 0.1.0
 */
export type { AliasReading, ConfigWarning } from "./internal/configAliases.js"
/**
 * The config document: the typed view's schemas, the JSON5 codec and the accessors of the known keys (pure; each is
 * documented where it is defined, src/internal/configDocument.ts).
 *
 * @since 0.1.0
 */
export {
  isJsonObject,
  ModelSelection,
  ModelEntry,
  ProviderModel,
  ProviderConfig,
  AuthProfileRef,
  ConfigView,
  empty,
  formatPath,
  MAX_DEPTH,
  fromJson,
  parse,
  format,
  primary,
  fallbacks,
  providerConfig,
  followSuccessors,
  authProfiles,
  authOrder,
  noProviderDefaults,
  ignoredConfig,
  providerDefaults
} from "./internal/configDocument.js"
/**
 * The user aliases of the config and what was noticed while reading them (pure; documented in
 * src/internal/configAliases.ts).
 *
 * @since 0.1.0
 */
export { readAliases, userAliases, warnings } from "./internal/configAliases.js"

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
   * load right now — it is re-read just before writing — and with `Invalid` when `doc` holds an integer past 2^53 (it
   * lost digits when it was parsed: the rewrite would change it).
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
   * Accept a group-writable config file and directory (a Kubernetes `fsGroup` volume). Default: false; `layer`
   * defaults it to `ChutesSettings.allowGroupWritable` (`CHUTES_ALLOW_GROUP_WRITABLE`).
   */
  readonly allowGroupWritable?: boolean | undefined
}

/**
 * The file-backed service for a given path. The file and its directory are read and written through the
 * `PrivateFiles` in context (`NodePrivateFiles.layer` on Node, `PrivateFiles.layerFileSystem` over any `FileSystem`):
 * one that someone else could change, a symbolic link, or not a regular file is `ConfigError` `Unsafe` with the fix;
 * one over `MAX_BYTES` is `Invalid`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  path: string | undefined,
  options: FileOptions = {}
): Effect.Effect<Service, never, PrivateFiles.PrivateFiles> =>
  Effect.gen(function*() {
    const files = yield* PrivateFiles.PrivateFiles
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
      const text = yield* formatEither(doc, path)
      yield* files.ensureDirectory(PrivateFiles.parentOf(path), policy).pipe(Effect.mapError(fromFiles(path)))
      // Re-read right before writing: a file the user broke since it was loaded is reported, never replaced.
      const previous = yield* readText(path)
      if (Option.isSome(previous)) {
        yield* parse(previous.value, path)
        yield* files.writeFileAtomic(`${path}.bak`, previous.value, policy).pipe(
          Effect.mapError(fromFiles(`${path}.bak`))
        )
      }
      yield* files.writeFileAtomic(path, text, policy).pipe(Effect.mapError(fromFiles(path)))
    })

    return AgentConfig.of({ path, load, save })
  })

/**
 * Options of the file-backed layer: the file's path (default: `ChutesSettings.configPath`) and the file policy.
 *
 * @since 0.2.0
 * @category models
 */
export interface LayerOptions extends FileOptions {
  /** The config file. Default: `ChutesSettings.configPath` (`CHUTES_CONFIG_PATH`, else `<state dir>/config.json5`). */
  readonly path?: string | undefined
}

/**
 * The file-backed service at `options.path`, else at `ChutesSettings.configPath` (`CHUTES_CONFIG_PATH`, else
 * `<state dir>/config.json5`); `allowGroupWritable` defaults to the settings'. See `make` for the checks.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: LayerOptions = {}
): Layer.Layer<AgentConfig, never, PrivateFiles.PrivateFiles | ChutesSettings> =>
  Layer.effect(
    AgentConfig,
    Effect.flatMap(ChutesSettings, (settings) =>
      make(options.path ?? settings.configPath, {
        allowGroupWritable: options.allowGroupWritable ?? settings.allowGroupWritable
      }))
  )

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
          return Effect.flatMap(formatEither(doc, files.path), (text) => {
            if (previous === undefined) {
              files.text = text
              return Effect.void
            }
            return Effect.map(parse(previous, files.path), () => {
              files.backup = previous
              files.text = text
            })
          })
        })
    })
  )

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
