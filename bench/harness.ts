/**
 * The measuring kit of the benchmark: robust statistics, interleaved A/B timing, rows and the printed table.
 *
 * Machines are shared and noisy, so a figure is always a median over repeated runs (with p10/p90 to show the spread),
 * and a comparison is always the ratio of two medians taken side by side in the same run, A/B/B/A interleaved so
 * that drift (GC, JIT, a noisy neighbour) hits both sides alike.
 */

/**
 * Median and spread of a sample.
 */
export interface Stats {
  readonly median: number
  readonly p10: number
  readonly p90: number
  readonly n: number
}

/**
 * The nearest-rank percentile `p` (0..1) of sorted values.
 */
const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))] ?? Number.NaN

/**
 * Median, p10 and p90 of samples (empty -> NaN).
 */
export const stats = (samples: ReadonlyArray<number>): Stats => {
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length === 0
    ? Number.NaN
    : sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { median, p10: percentile(sorted, 0.1), p90: percentile(sorted, 0.9), n: sorted.length }
}

/**
 * A single fixed value as stats (a count, a check).
 */
export const exact = (value: number): Stats => ({ median: value, p10: value, p90: value, n: 1 })

/**
 * Milliseconds elapsed since `start` (from `process.hrtime.bigint()`).
 */
export const sinceMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6

/**
 * Times one call of `fn` in milliseconds.
 */
export const timeMs = async (fn: () => Promise<unknown>): Promise<number> => {
  const start = process.hrtime.bigint()
  await fn()
  return sinceMs(start)
}

/**
 * How many runs a measurement makes: `warmup` untimed, then `runs` timed.
 */
export interface Plan {
  readonly warmup: number
  readonly runs: number
}

/**
 * Runs the functions interleaved, forwards then backwards (A/B/C, C/B/A, ...), and returns every round's figures,
 * warm-up rounds first: `samples[fn][round]`. Each function returns the milliseconds it measured itself, so that it
 * can leave set-up and tear-down out.
 */
export const interleaveRounds = async (
  fns: ReadonlyArray<() => Promise<number>>,
  plan: Plan
): Promise<ReadonlyArray<ReadonlyArray<number>>> => {
  const samples = fns.map((): Array<number> => [])
  const forwards = fns.map((_, i) => i)
  const backwards = [...forwards].reverse()
  for (let round = 0; round < plan.warmup + plan.runs; round++) {
    for (const i of round % 2 === 0 ? forwards : backwards) samples[i]!.push(await fns[i]!())
  }
  return samples
}

/**
 * `interleaveRounds` without the warm-up rounds: the timed figures only.
 */
export const interleave = async (
  fns: ReadonlyArray<() => Promise<number>>,
  plan: Plan
): Promise<ReadonlyArray<ReadonlyArray<number>>> =>
  (await interleaveRounds(fns, plan)).map((samples) => samples.slice(plan.warmup))

/**
 * What a row measures.
 */
export type Unit = "ms" | "ops/s" | "requests" | "MiB" | "check"

/**
 * One line of the result table: the SDK side, its anchor measured beside it, their ratio, and the target if any.
 * `ratio` is always "SDK cost / anchor cost" (for ops/s: anchor ops / SDK ops), so above 1 means the SDK is slower
 * or bigger. A side that could not be measured is `undefined` and printed as n/a with `note` saying why.
 */
export interface Row {
  readonly name: string
  readonly unit: Unit
  readonly sdk: Stats | undefined
  readonly anchorLabel: string
  readonly anchor: Stats | undefined
  readonly ratio: number | undefined
  /** Human-readable target, e.g. "ratio ≤ 1.25"; undefined when the row only reports. */
  readonly target: string | undefined
  /** Whether the target is met; undefined when there is no target or the row could not be measured. */
  readonly met: boolean | undefined
  readonly note?: string | undefined
  /** Extra figures worth keeping in results.json (not printed). */
  readonly extra?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The cost ratio of two sides (SDK / anchor; inverted for ops/s).
 */
export const ratioOf = (unit: Unit, sdk: Stats | undefined, anchor: Stats | undefined): number | undefined => {
  if (sdk === undefined || anchor === undefined) return undefined
  if (unit === "ops/s") return sdk.median === 0 ? undefined : anchor.median / sdk.median
  return anchor.median === 0 ? undefined : sdk.median / anchor.median
}

/**
 * A row whose target is "ratio at most `max`" (or no target when `max` is undefined).
 */
export const ratioRow = (options: {
  readonly name: string
  readonly unit: Unit
  readonly sdk: Stats | undefined
  readonly anchorLabel: string
  readonly anchor: Stats | undefined
  readonly max?: number | undefined
  readonly note?: string | undefined
  readonly extra?: Readonly<Record<string, unknown>> | undefined
}): Row => {
  const ratio = ratioOf(options.unit, options.sdk, options.anchor)
  return {
    name: options.name,
    unit: options.unit,
    sdk: options.sdk,
    anchorLabel: options.anchorLabel,
    anchor: options.anchor,
    ratio,
    target: options.max === undefined ? undefined : `ratio ≤ ${options.max}`,
    met: options.max === undefined || ratio === undefined ? undefined : ratio <= options.max,
    note: options.note,
    extra: options.extra
  }
}

/**
 * A row that could not be measured at all.
 */
export const naRow = (name: string, unit: Unit, anchorLabel: string, note: string, target?: string): Row => ({
  name,
  unit,
  sdk: undefined,
  anchorLabel,
  anchor: undefined,
  ratio: undefined,
  target,
  met: undefined,
  note
})

// ---------------------------------------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------------------------------------

const significant = (value: number): string => {
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  if (abs >= 100) return value.toFixed(0)
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 1) return value.toFixed(2)
  return value.toFixed(3)
}

/**
 * A value in its unit, compactly (`0.612 ms`, `1.23 M/s`, `12.4 MiB`).
 */
export const formatValue = (unit: Unit, value: number): string => {
  switch (unit) {
    case "ms":
      return `${significant(value)} ms`
    case "ops/s":
      return value >= 1e6
        ? `${significant(value / 1e6)} M/s`
        : value >= 1e3
        ? `${significant(value / 1e3)} k/s`
        : `${significant(value)}/s`
    case "requests":
      return String(Math.round(value))
    case "MiB":
      return `${significant(value)} MiB`
    case "check":
      return value === 0 ? "none" : `${value} found`
  }
}

const formatSide = (unit: Unit, side: Stats | undefined): string => {
  if (side === undefined) return "n/a"
  const median = formatValue(unit, side.median)
  if (side.n < 3 || unit === "requests" || unit === "check") return median
  return `${median} [${formatValue(unit, side.p10)}–${formatValue(unit, side.p90)}]`
}

const formatRatio = (ratio: number | undefined): string =>
  ratio === undefined ? "n/a" : ratio >= 100 || ratio < 0.01 ? `${ratio.toPrecision(2)}×` : `${ratio.toFixed(2)}×`

const formatMet = (row: Row): string =>
  row.target === undefined ? "—" : row.met === undefined ? "n/a" : row.met ? "met" : "MISSED"

/**
 * The rows as a plain-text table (median [p10–p90] per side), followed by the notes.
 */
export const formatTable = (rows: ReadonlyArray<Row>): string => {
  const header = ["row", "SDK", "anchor", "anchor value", "ratio", "target", "status"] as const
  const cells = rows.map((row) => [
    row.name,
    formatSide(row.unit, row.sdk),
    row.anchorLabel,
    formatSide(row.unit, row.anchor),
    formatRatio(row.ratio),
    row.target ?? "—",
    formatMet(row)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((line) => line[i]!.length)))
  const line = (values: ReadonlyArray<string>) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd()
  const notes = rows.flatMap((row) => (row.note === undefined ? [] : [`  - ${row.name}: ${row.note}`]))
  return [
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.map(line),
    ...(notes.length > 0 ? ["", "notes:", ...notes] : [])
  ].join("\n")
}
