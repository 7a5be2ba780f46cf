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
import * as ModelRef from "../ModelRef.js"
import type { GlobalOptions } from "./global.js"
import { type ResolveOutput, modelsListOutput } from "./json.js"
import { providerLayer, userAliases, userAliasesOrWarn } from "./layers.js"
import { out, withProgress } from "./render.js"

/** Prints a snapshot: the source line (with any fallback reason) and warnings on top, then the table or JSON. */
export const printSnapshot = (
  snapshot: ModelCatalog.CatalogSnapshot,
  options: { readonly json: boolean; readonly offline: boolean }
): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (options.json) return yield* out(JSON.stringify(modelsListOutput(snapshot, options.offline), null, 2))
    yield* out(
      options.offline ? "source: static (offline; the built-in catalog)" : ModelCatalog.describeSource(snapshot)
    )
    for (const warning of snapshot.warnings) yield* out(`warning: ${warning.message}`)
    yield* out("")
    yield* out(ModelCatalog.formatTable(snapshot.models))
  })

/**
 * `models list` (not offline): live catalog, else the disk cache, else static — with the reason on top. The provider's
 * own warnings are silenced here: the same facts are printed on stdout (or in the JSON).
 */
export const list = (
  global: GlobalOptions,
  options: { readonly json: boolean; readonly refresh: boolean }
): Effect.Effect<void, InvalidModelRef> =>
  Effect.gen(function*() {
    const aliases = yield* userAliasesOrWarn(global)
    const snapshot = yield* Effect.flatMap(
      ChutesProvider.ChutesProvider,
      (provider) => (options.refresh ? provider.refresh : provider.catalog)
    ).pipe(
      Logger.withMinimumLogLevel(LogLevel.Error),
      withProgress("Discovering models"),
      Effect.provide(providerLayer(global, aliases))
    )
    yield* printSnapshot(snapshot, { json: options.json, offline: false })
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
  source,
  explanation: ModelRef.describe(resolved)
})

/**
 * `models resolve`: the ref, and why (alias, ref, bare id), checked against the live catalog (or the offline static
 * one), with the user aliases of the config. An unknown input fails with "did you mean …".
 */
export const resolve = (
  global: GlobalOptions,
  options: { readonly input: string; readonly json: boolean; readonly offline: boolean }
): Effect.Effect<void, InvalidModelRef | UnknownModel | ConfigError> =>
  Effect.gen(function*() {
    const aliases = yield* userAliases(global)
    const [resolved, snapshot] = options.offline
      ? yield* Effect.gen(function*() {
        const snapshot = ModelCatalog.staticSnapshot()
        const user = ModelRef.makeUserAliases(aliases.aliases).aliases
        const resolved = yield* ModelRef.resolve(options.input, { ids: snapshot.byId, userAliases: user })
        return [resolved, snapshot] as const
      })
      : yield* Effect.gen(function*() {
        const provider = yield* ChutesProvider.ChutesProvider
        const snapshot = yield* provider.catalog
        const resolved = yield* provider.resolve(options.input)
        return [resolved, snapshot] as const
      }).pipe(
        // The catalog's warnings concern the whole list; the source line below says what was used and why.
        Logger.withMinimumLogLevel(LogLevel.Error),
        withProgress("Resolving"),
        Effect.provide(providerLayer(global, aliases))
      )
    const output = resolveOutput(options.input, resolved, snapshot.source)
    if (options.json) return yield* out(JSON.stringify(output, null, 2))
    yield* out(output.ref)
    yield* out(`  ${output.explanation}`)
    yield* out(
      `  checked against the ${options.offline ? "built-in (offline)" : snapshot.source} catalog ` +
        `(${snapshot.models.length} models)` +
        (snapshot.reason !== undefined ? `; fell back because: ${snapshot.reason.message}` : "")
    )
  })
