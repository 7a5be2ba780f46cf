/**
 * `effect-chutes usage [--days N] [--per-model] [--json]`: requests, tokens and USD per UTC day, summed from the
 * hourly buckets of `ChutesAccount.usage` (and per model with `--per-model`), with a bar per day in a terminal.
 * Loaded lazily.
 *
 * @internal
 */
import type * as ValidationError from "@effect/cli/ValidationError"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as ChutesAccount from "../ChutesAccount.js"
import type { AccountError, CredentialsError, StoreError } from "../ChutesError.js"
import { excerpt } from "../internal/redact.js"
import { accountLayer, tidy, usd } from "./account.js"
import type { GlobalOptions } from "./global.js"
import { useColor } from "./help.js"
import { pinned } from "./profile.js"
import { err, out, printJson, withProgress } from "./render.js"

// ---------------------------------------------------------------------------------------------------------------------
// The `--json` document (docs/cli.md)
// ---------------------------------------------------------------------------------------------------------------------

const totalsFields = {
  requests: Schema.Number,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  /** USD charged to the balance (`amount` of the buckets): 0 for calls a daily quota or a subscription covered. */
  usd: Schema.Number
}

/** One model's share: the chute id the service counts by, and the model name when the public stats know it. */
export const UsageModelOutput = Schema.Struct({
  chuteId: Schema.String,
  model: Schema.NullOr(Schema.String),
  ...totalsFields
})

/**
 * `effect-chutes usage --json`: the UTC days `from`..`to` (inclusive, `YYYY-MM-DD`), every day listed oldest first
 * (days without calls as zeros). `models` (per day and for the window) is an array with `--per-model`, else null.
 */
export const UsageOutput = Schema.Struct({
  timeZone: Schema.Literal("UTC"),
  from: Schema.String,
  to: Schema.String,
  perModel: Schema.Boolean,
  total: Schema.Struct(totalsFields),
  days: Schema.Array(Schema.Struct({
    date: Schema.String,
    ...totalsFields,
    models: Schema.NullOr(Schema.Array(UsageModelOutput))
  })),
  models: Schema.NullOr(Schema.Array(UsageModelOutput))
})

export type UsageOutput = typeof UsageOutput.Type
type Totals = { requests: number; inputTokens: number; outputTokens: number; usd: number }
type ModelTotals = Totals & { readonly chuteId: string; readonly model: string | null }

// ---------------------------------------------------------------------------------------------------------------------
// Summing
// ---------------------------------------------------------------------------------------------------------------------

const DAY = 86_400_000

/** The window of the last `days` UTC days, today included: from its first 00:00 UTC to the next 00:00 UTC. */
export const usageWindow = (now: number, days: number): { readonly since: Date; readonly until: Date } => {
  const today = Math.floor(now / DAY) * DAY
  return { since: new Date(today - (days - 1) * DAY), until: new Date(today + DAY) }
}

const zero = (): Totals => ({ requests: 0, inputTokens: 0, outputTokens: 0, usd: 0 })

const add = (into: Totals, bucket: ChutesAccount.UsageBucket): void => {
  into.requests += bucket.count
  into.inputTokens += bucket.inputTokens
  into.outputTokens += bucket.outputTokens
  into.usd += bucket.amount
}

/** Sums of many float amounts, without the float dust (account.ts `tidy`). */
const tidyTotals = <A extends Totals>(totals: A): A => ({ ...totals, usd: tidy(totals.usd) })

/** Per model, most requests first (then most USD, then the chute id, for a stable order). */
const byModel = (
  buckets: ReadonlyArray<ChutesAccount.UsageBucket>,
  names: ReadonlyMap<string, string>
): ReadonlyArray<ModelTotals> => {
  const models = new Map<string, Totals>()
  for (const bucket of buckets) {
    const id = bucket.chuteId ?? "(unknown)"
    const totals = models.get(id) ?? zero()
    add(totals, bucket)
    models.set(id, totals)
  }
  return [...models].map(([chuteId, totals]) => tidyTotals({ chuteId, model: names.get(chuteId) ?? null, ...totals }))
    .sort((a, b) => b.requests - a.requests || b.usd - a.usd || a.chuteId.localeCompare(b.chuteId))
}

/**
 * The document from the buckets of the window (any order; those outside it are dropped here too, should the service
 * ignore `start_date` / `end_date`). `names` maps chute ids to model names (`--per-model`).
 */
export const usageOutput = (
  buckets: ReadonlyArray<ChutesAccount.UsageBucket>,
  window: { readonly since: Date; readonly until: Date },
  perModel: boolean,
  names: ReadonlyMap<string, string> = new Map()
): UsageOutput => {
  const since = window.since.getTime()
  const until = window.until.getTime()
  const inWindow = buckets.filter((b) => b.bucket.getTime() >= since && b.bucket.getTime() < until)
  const days: Array<UsageOutput["days"][number]> = []
  for (let day = since; day < until; day += DAY) {
    const own = inWindow.filter((b) => b.bucket.getTime() >= day && b.bucket.getTime() < day + DAY)
    const totals = zero()
    for (const bucket of own) add(totals, bucket)
    days.push({
      date: new Date(day).toISOString().slice(0, 10),
      ...tidyTotals(totals),
      models: perModel ? byModel(own, names) : null
    })
  }
  const total = zero()
  for (const bucket of inWindow) add(total, bucket)
  return {
    timeZone: "UTC",
    from: new Date(since).toISOString().slice(0, 10),
    to: new Date(until - DAY).toISOString().slice(0, 10),
    perModel,
    total: tidyTotals(total),
    days,
    models: perModel ? byModel(inWindow, names) : null
  }
}

/**
 * Chute id -> model name from the public stats (the newest row of each chute). Names the service hides (`[private]`)
 * are left out: the chute id says more.
 */
export const modelNames = (rows: ReadonlyArray<ChutesAccount.LlmStats>): ReadonlyMap<string, string> => {
  const newest = new Map<string, ChutesAccount.LlmStats>()
  for (const row of rows) {
    const seen = newest.get(row.chuteId)
    if (seen === undefined || row.date > seen.date) newest.set(row.chuteId, row)
  }
  const names = new Map<string, string>()
  for (const [chuteId, row] of newest) if (!/^\[.*\]$/.test(row.name)) names.set(chuteId, row.name)
  return names
}

// ---------------------------------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------------------------------

const integer = (value: number): string =>
  Number.isInteger(value) ? value.toLocaleString("en-US") : value.toLocaleString("en-US", { maximumFractionDigits: 1 })

/** A bar of `cells` cells: `value`'s share of `max`, at least one cell for anything above 0. */
export const shareBar = (value: number, max: number, cells = 12): string => {
  const filled = max > 0 && value > 0 ? Math.max(1, Math.round((value / max) * cells)) : 0
  return `${"█".repeat(filled)}${"░".repeat(cells - filled)}`
}

/** Columns of text: the first `left` columns left-aligned, the others right-aligned; trailing blanks trimmed. */
const table = (rows: ReadonlyArray<ReadonlyArray<string>>, left: number): ReadonlyArray<string> => {
  const widths = rows[0]!.map((_, i) => rows.reduce((width, row) => Math.max(width, row[i]!.length), 0))
  return rows.map((row) =>
    row.map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd()
  )
}

const figures = (totals: Totals): ReadonlyArray<string> => [
  integer(totals.requests),
  integer(totals.inputTokens),
  integer(totals.outputTokens),
  usd(totals.usd)
]

const label = (model: ModelTotals): string => excerpt(model.model ?? model.chuteId, 120)

/**
 * The lines for people: one row per UTC day (with `bars`, a bar of its requests), then the total; with `--per-model`,
 * one row per day and model that had calls, then the window's total per model. Server text goes through `printable`.
 */
export const usageLines = (output: UsageOutput, bars: boolean): ReadonlyArray<string> => {
  const head = [
    `usage per UTC day, ${output.from} to ${output.to} ` +
    `(USD = charged to the balance; calls a daily quota or subscription covered count $0)`,
    ""
  ]
  const numbers = ["requests", "input tokens", "output tokens", "USD"]
  if (!output.perModel) {
    const max = output.days.reduce((m, day) => Math.max(m, day.requests), 0)
    const rows = [
      ["day (UTC)", ...numbers, ...(bars ? [""] : [])],
      ...output.days.map((day) => [day.date, ...figures(day), ...(bars ? [shareBar(day.requests, max)] : [])]),
      ["total", ...figures(output.total), ...(bars ? [""] : [])]
    ]
    // Every bar has the same width, so right-aligning its column changes nothing.
    return [...head, ...table(rows, 1)]
  }
  const models = output.models ?? []
  const max = models.reduce((m, model) => Math.max(m, model.requests), 0)
  const rows: Array<ReadonlyArray<string>> = [["day (UTC)", "model", ...numbers]]
  for (const day of output.days) {
    for (const model of day.models ?? []) rows.push([day.date, label(model), ...figures(model)])
  }
  for (const model of models) rows.push(["total", label(model), ...figures(model)])
  rows.push(["total", "(all models)", ...figures(output.total)])
  const lines = table(rows, 2)
  if (!bars) return [...head, ...lines]
  // In a terminal, each model's share of the window's requests after its total row.
  const first = 1 + output.days.reduce((n, day) => n + (day.models?.length ?? 0), 0)
  return [
    ...head,
    ...lines.map((line, i) =>
      i >= first && i < first + models.length ? `${line}  ${shareBar(models[i - first]!.requests, max)}` : line
    )
  ]
}

// ---------------------------------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------------------------------

/** `usage [--days N] [--per-model] [--json] [--profile <id>]` (`days` checked by the command definition). */
export const show = (
  global: GlobalOptions,
  options: {
    readonly days: number
    readonly perModel: boolean
    readonly json: boolean
    readonly profile?: string | undefined
  }
): Effect.Effect<void, AccountError | CredentialsError | ValidationError.ValidationError | StoreError> =>
  Effect.gen(function*() {
    const account = yield* ChutesAccount.ChutesAccount
    const window = usageWindow(yield* Clock.currentTimeMillis, options.days)
    const buckets = account.usage({ since: window.since, until: window.until, perChute: options.perModel }).pipe(
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray)
    )
    // Model names come from the public stats (the usage buckets name chutes by id); without them, the ids.
    const names = options.perModel
      ? account.llmStats().pipe(
        Effect.map(modelNames),
        Effect.catchAll((error) =>
          Effect.as(err(`note: model names unavailable, showing chute ids (${error.message})`), new Map())
        )
      )
      : Effect.succeed(new Map<string, string>())
    const [rows, known] = yield* Effect.all([buckets, names], { concurrency: "unbounded" }).pipe(
      withProgress("Reading the usage")
    )
    const output = usageOutput(rows, window, options.perModel, known)
    if (options.json) return yield* out(printJson(output))
    for (const line of usageLines(output, useColor(process.stdout))) yield* out(line)
  }).pipe(Effect.provide(accountLayer(global, options.profile)), pinned(global, options.profile))
