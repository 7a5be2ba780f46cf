/**
 * `models list` and `models resolve` when they use the network and the config (the `--offline` list needs neither and
 * stays in `main.ts`). Loaded lazily.
 *
 * @internal
 */
import type * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as Schema from "effect/Schema"
import * as ChutesAccount from "../ChutesAccount.js"
import * as LogLevel from "effect/LogLevel"
import * as ChutesProvider from "../ChutesProvider.js"
import type { ConfigError, InvalidModelRef, StoreError, UnknownModel } from "../ChutesError.js"
import * as ModelCatalog from "../ModelCatalog.js"
import * as AgentConfig from "../AgentConfig.js"
import * as Aliases from "../Aliases.js"
import { printable } from "../internal/redact.js"
import { warnOnce } from "../internal/warnOnce.js"
import * as ModelRef from "../ModelRef.js"
import * as ChutesSettings from "../ChutesSettings.js"
import * as Successors from "../Successors.js"
import type { GlobalOptions } from "./global.js"
import { followedOutput, ModelsListOutput, modelsListOutput, type ResolveOutput } from "./json.js"
import { catalogWithProgress, configDefaults, providerLayer } from "./layers.js"
import { pinned } from "./profile.js"
import { err, notes, out, printJson, usageError, withProgress } from "./render.js"

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
      return yield* out(printJson(modelsListOutput(snapshot, options.offline, options.followed)))
    }
    yield* out(
      options.offline ? "source: static (offline; the built-in catalog)" : ModelCatalog.describeSource(snapshot)
    )
    for (const hop of options.followed) yield* out(`followed: ${hop.message}`)
    yield* out("")
    yield* out(ModelCatalog.formatTable(snapshot.models, Successors.listingNotes(snapshot.models, options.followed)))
  })

// ---------------------------------------------------------------------------------------------------------------------
// `--stats`: the platform-wide daily stats of the listed models (the public `/invocations/stats/llm`)
// ---------------------------------------------------------------------------------------------------------------------

/** The stats of one listed model, from its newest daily row. `averageTps` / `averageTtftSeconds`: null = not measured. */
export const ModelStatsOutput = Schema.Struct({
  ref: Schema.String,
  chuteId: Schema.String,
  /** The UTC day of the row, as the service wrote it. */
  date: Schema.String,
  requests: Schema.Number,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  averageTps: Schema.NullOr(Schema.Number),
  averageTtftSeconds: Schema.NullOr(Schema.Number)
})

/**
 * `effect-chutes models list --stats --json`: the document of `models list --json` plus `stats` — one entry per listed
 * model the stats have a row for, in listing order; null when the stats could not be read (the reason is a note on
 * stderr). Without `--stats` the document has no `stats` field.
 */
export const ModelsListStatsOutput = Schema.Struct({
  ...ModelsListOutput.fields,
  stats: Schema.NullOr(Schema.Array(ModelStatsOutput))
})

export type ModelStatsOutput = typeof ModelStatsOutput.Type

/** The listed models' stats: each model's newest row (matched on the model id), in listing order. */
export const modelStats = (
  models: ReadonlyArray<ModelCatalog.ModelDefinition>,
  rows: ReadonlyArray<ChutesAccount.LlmStats>
): ReadonlyArray<ModelStatsOutput> => {
  const newest = new Map<string, ChutesAccount.LlmStats>()
  for (const row of rows) {
    const seen = newest.get(row.name)
    if (seen === undefined || row.date > seen.date) newest.set(row.name, row)
  }
  return models.flatMap((model) => {
    const row = newest.get(model.id)
    return row === undefined ? [] : [{
      ref: `chutes/${model.id}`,
      chuteId: row.chuteId,
      date: row.date,
      requests: row.totalRequests,
      inputTokens: row.totalInputTokens,
      outputTokens: row.totalOutputTokens,
      averageTps: row.averageTps > 0 ? row.averageTps : null,
      averageTtftSeconds: row.averageTtftSeconds > 0 ? row.averageTtftSeconds : null
    }]
  })
}

/** The stats as a table for people (server text through `printable`). */
export const statsLines = (stats: ReadonlyArray<ModelStatsOutput>): ReadonlyArray<string> => {
  if (stats.length === 0) return ["platform-wide stats: none for the listed models"]
  const rows = [
    ["ref", "day (UTC)", "requests", "TTFT", "TPS"],
    ...stats.map((s) => [
      s.ref,
      printable(s.date),
      s.requests.toLocaleString("en-US"),
      s.averageTtftSeconds === null ? "-" : `${s.averageTtftSeconds.toFixed(2)} s`,
      s.averageTps === null ? "-" : s.averageTps.toFixed(1)
    ])
  ]
  const widths = rows[0]!.map((_, i) => rows.reduce((w, row) => Math.max(w, row[i]!.length), 0))
  const line = (row: ReadonlyArray<string>) =>
    row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd()
  return [
    "platform-wide stats (all users, per UTC day; TTFT = time to first token, TPS = output tokens per second):",
    line(rows[0]!),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.slice(1).map(line)
  ]
}

/** The stats rows, or `undefined` with a note on stderr when they cannot be read (the listing goes on without). */
const readStats = (
  global: GlobalOptions,
  profile: string | undefined
): Effect.Effect<ReadonlyArray<ChutesAccount.LlmStats> | undefined> =>
  Effect.promise(() => import("./account.js")).pipe(
    Effect.flatMap(({ accountLayer }) =>
      Effect.flatMap(ChutesAccount.ChutesAccount, (account) => account.llmStats()).pipe(
        withProgress("Reading the platform-wide model stats"),
        Effect.provide(accountLayer(global, profile))
      )
    ),
    Effect.catchAll((error) => Effect.as(err(`note: no model stats: ${error.message}`), undefined))
  )

/**
 * `models list` (not offline): live catalog, else the disk cache, else static — with the reason on top. The provider's
 * own warnings are silenced here: the same facts are short notes on stderr (and in the JSON). With `stats`, the
 * platform-wide daily stats of the listed models follow (a `stats` field in the JSON). With `profile` (`--profile`),
 * discovery uses that stored profile alone (`profile.ts`).
 */
export const list = (
  global: GlobalOptions,
  options: {
    readonly json: boolean
    readonly refresh: boolean
    readonly stats?: boolean | undefined
    readonly profile?: string | undefined
  }
): Effect.Effect<void, InvalidModelRef | ValidationError.ValidationError | StoreError> =>
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
      Effect.provide(providerLayer(global, options.profile))
    )
    if (options.stats !== true) return yield* printSnapshot(snapshot, { json: options.json, offline: false, followed })
    const rows = yield* readStats(global, options.profile)
    const stats = rows === undefined ? null : modelStats(snapshot.models, rows)
    if (options.json) {
      yield* notes(snapshot.warnings)
      return yield* out(printJson({ ...modelsListOutput(snapshot, false, followed), stats }))
    }
    yield* printSnapshot(snapshot, { json: false, offline: false, followed })
    if (stats === null) return
    yield* out("")
    for (const line of statsLines(stats)) yield* out(line)
  }).pipe(pinned(global, options.profile))

/** Whether the model is retired, and its successor: from the catalog's entry, else the built-in catalog's. */
const retiredOf = (resolved: ModelRef.ResolvedModel, snapshot: ModelCatalog.CatalogSnapshot): ResolveOutput["retired"] => {
  const entry = snapshot.byId.get(resolved.id) ?? ModelCatalog.staticSnapshot().byId.get(resolved.id)
  if (entry?.status !== "deprecated") return null
  return { successor: Successors.replacementFor(resolved.ref, snapshot) ?? null }
}

const resolveOutput = (
  input: string,
  resolved: ModelRef.ResolvedModel,
  snapshot: ModelCatalog.CatalogSnapshot
): ResolveOutput => ({
  input,
  ref: resolved.ref,
  id: resolved.id,
  via: resolved.via,
  alias: resolved.alias === undefined ? null : { name: resolved.alias.name, source: resolved.alias.source },
  shadowed: resolved.shadowed?.ref ?? null,
  known: resolved.known,
  followed: resolved.followed === undefined ? null : followedOutput(resolved.followed),
  retired: retiredOf(resolved, snapshot),
  source: snapshot.source,
  explanation: ModelRef.describe(resolved)
})

/**
 * `models resolve`: the ref, and why (alias, ref, bare id, default; a built-in name that follows its target's successor
 * shows the hop), checked against the live catalog (or the offline static one), with the user aliases of the config.
 * Without an input it resolves the default model. An unknown input fails with "did you mean …".
 */
export const resolve = (
  global: GlobalOptions,
  options: {
    readonly input: string | undefined
    readonly json: boolean
    readonly offline: boolean
    readonly profile?: string | undefined
  }
): Effect.Effect<void, InvalidModelRef | UnknownModel | ConfigError | ValidationError.ValidationError | StoreError> =>
  Effect.gen(function*() {
    // The same config the provider reads; here a broken one stops the command (it may hold the alias asked for).
    const config = yield* configDefaults(global)
    const input = options.input
    const userAliases = ModelRef.makeUserAliases(config.aliases).aliases
    // A malformed ref (empty, `chutes/` with no id or with a space) is malformed against any catalog: a usage error,
    // found before anything is fetched.
    const malformed = input === undefined ? undefined : ModelRef.resolve(input, { ids: new Set(), userAliases })
    if (malformed !== undefined && Either.isLeft(malformed) && malformed.left._tag === "InvalidModelRef") {
      return yield* usageError(malformed.left.message)
    }
    const [resolved, snapshot] = options.offline
      ? yield* Effect.gen(function*() {
        const snapshot = ModelCatalog.staticSnapshot()
        const fromEnv = yield* ChutesSettings.fromEnv()
        const context: Successors.Context = {
          catalog: snapshot,
          userAliases,
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
        Effect.provide(providerLayer(global, options.profile))
      )
    yield* notes(snapshot.warnings)
    const output = resolveOutput(input ?? "(default model)", resolved, snapshot)
    if (options.json) return yield* out(printJson(output))
    yield* out(output.ref)
    yield* out(`  ${output.explanation}`)
    if (output.retired !== null) {
      yield* out(
        `  retired: Chutes no longer serves it` +
          (output.retired.successor !== null ? `; its successor is ${output.retired.successor}` : "")
      )
    }
    yield* out(
      `  checked against the ${options.offline ? "built-in (offline)" : snapshot.source} catalog ` +
        `(${snapshot.models.length} models)` +
        (snapshot.reason !== undefined ? `; fell back because: ${snapshot.reason.message}` : "")
    )
  }).pipe(pinned(global, options.profile))
