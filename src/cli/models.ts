/**
 * `models list` and `models resolve` when they use the network and the config (the `--offline` list needs neither and
 * stays in `main.ts`). Loaded lazily.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ChutesProvider from "../ChutesProvider.js"
import type { ConfigError, InvalidModelRef, UnknownModel } from "../ChutesError.js"
import * as ModelCatalog from "../ModelCatalog.js"
import * as AgentConfig from "../AgentConfig.js"
import * as Aliases from "../Aliases.js"
import { warnOnce } from "../internal/warnOnce.js"
import * as ModelRef from "../ModelRef.js"
import * as ChutesSettings from "../ChutesSettings.js"
import * as Successors from "../Successors.js"
import type { GlobalOptions } from "./global.js"
import { followedOutput, modelsListOutput, type ResolveOutput } from "./json.js"
import { catalogWithProgress, configDefaults, providerLayer } from "./layers.js"
import { notes, out } from "./render.js"

/**
 * Prints a snapshot: the source line (with any fallback reason), warnings and the built-in names that follow a
 * successor on top, then the table (deprecated and followed entries marked) or JSON.
 */
export const printSnapshot = (
  snapshot: ModelCatalog.CatalogSnapshot,
  options: { readonly json: boolean; readonly offline: boolean; readonly followed: ReadonlyArray<Successors.Hop> }
): Effect.Effect<void> =>
  Effect.gen(function*() {
    yield* notes(snapshot.warnings)
    if (options.json) {
      return yield* out(JSON.stringify(modelsListOutput(snapshot, options.offline, options.followed), null, 2))
    }
    yield* out(
      options.offline ? "source: static (offline; the built-in catalog)" : ModelCatalog.describeSource(snapshot)
    )
    for (const hop of options.followed) yield* out(`followed: ${hop.message}`)
    yield* out("")
    yield* out(ModelCatalog.formatTable(snapshot.models, Successors.listingNotes(snapshot.models, options.followed)))
  })

/**
 * `models list` (not offline): live catalog, else the disk cache, else static — with the reason on top. The provider's
 * own warnings are silenced here: the same facts are short notes on stderr (and in the JSON).
 */
export const list = (
  global: GlobalOptions,
  options: { readonly json: boolean; readonly refresh: boolean }
): Effect.Effect<void, InvalidModelRef> =>
  Effect.gen(function*() {
    // A config that cannot be read is said (once) and ignored: listing models must not depend on it.
    yield* configDefaults(global).pipe(Effect.catchAll((error) => warnOnce(AgentConfig.ignoredConfig(error))))
    const [snapshot, followed] = yield* Effect.flatMap(
      ChutesProvider.ChutesProvider,
      (provider) =>
        Effect.map(catalogWithProgress(global, options.refresh), (snapshot) =>
          [snapshot, provider.followed(snapshot)] as const)
    ).pipe(
      Logger.withMinimumLogLevel(LogLevel.Error),
      Effect.provide(providerLayer(global))
    )
    yield* printSnapshot(snapshot, { json: options.json, offline: false, followed })
  })

const resolveOutput = (
  input: string,
  resolved: ModelRef.ResolvedModel,
  source: ModelCatalog.CatalogSource
): ResolveOutput => ({
  input,
  ref: resolved.ref,
  id: resolved.id,
  via: resolved.via,
  alias: resolved.alias === undefined ? null : { name: resolved.alias.name, source: resolved.alias.source },
  shadowed: resolved.shadowed?.ref ?? null,
  known: resolved.known,
  followed: resolved.followed === undefined ? null : followedOutput(resolved.followed),
  source,
  explanation: ModelRef.describe(resolved)
})

/**
 * `models resolve`: the ref, and why (alias, ref, bare id, default; a built-in name that follows its target's successor
 * shows the hop), checked against the live catalog (or the offline static one), with the user aliases of the config.
 * Without an input it resolves the default model. An unknown input fails with "did you mean …".
 */
export const resolve = (
  global: GlobalOptions,
  options: { readonly input: string | undefined; readonly json: boolean; readonly offline: boolean }
): Effect.Effect<void, InvalidModelRef | UnknownModel | ConfigError> =>
  Effect.gen(function*() {
    // The same config the provider reads; here a broken one stops the command (it may hold the alias asked for).
    const config = yield* configDefaults(global)
    const input = options.input
    const [resolved, snapshot] = options.offline
      ? yield* Effect.gen(function*() {
        const snapshot = ModelCatalog.staticSnapshot()
        const fromEnv = yield* ChutesSettings.fromEnv()
        const context: Successors.Context = {
          catalog: snapshot,
          userAliases: ModelRef.makeUserAliases(config.aliases).aliases,
          followSuccessors: Aliases.followSuccessors(global.followSuccessors, config, fromEnv.followSuccessors)
        }
        const resolved = input === undefined
          ? Successors.resolveDefault(
            yield* ModelRef.parse(config.defaultModel ?? ModelCatalog.DEFAULT_MODEL_REF),
            context
          )
          : yield* Successors.resolve(input, context)
        return [resolved, snapshot] as const
      })
      : yield* Effect.gen(function*() {
        const provider = yield* ChutesProvider.ChutesProvider
        const snapshot = yield* catalogWithProgress(global, false)
        const resolved = input === undefined ? yield* provider.resolveDefault : yield* provider.resolve(input)
        return [resolved, snapshot] as const
      }).pipe(
        // The catalog's warnings concern the whole list; the source line below says what was used and why.
        Logger.withMinimumLogLevel(LogLevel.Error),
        Effect.provide(providerLayer(global))
      )
    yield* notes(snapshot.warnings)
    const output = resolveOutput(input ?? "(default model)", resolved, snapshot.source)
    if (options.json) return yield* out(JSON.stringify(output, null, 2))
    yield* out(output.ref)
    yield* out(`  ${output.explanation}`)
    yield* out(
      `  checked against the ${options.offline ? "built-in (offline)" : snapshot.source} catalog ` +
        `(${snapshot.models.length} models)` +
        (snapshot.reason !== undefined ? `; fell back because: ${snapshot.reason.message}` : "")
    )
  })
