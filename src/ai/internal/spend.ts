/**
 * Where a call's cost goes once its finish part exists: Effect `Metric`s (tokens by model and kind, USD by model),
 * span attributes, and the `ChutesBudget` — once per call, never per stream chunk.
 *
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricKey from "effect/MetricKey"
import type * as MetricLabel from "effect/MetricLabel"
import type * as Tracer from "effect/Tracer"
import type * as ChutesBudget from "../ChutesBudget.js"
import type { CallCost } from "../ChutesLanguageModel.js"
import { unknownError, type Method } from "./errors.js"

const keys = {
  tokens: MetricKey.counter("chutes_ai_tokens", {
    description: "Tokens of Chutes chat calls, tagged model and kind: input (every prompt token, cached or not), " +
      "cached_input (the part of input read from the cache), output"
  }),
  costUsd: MetricKey.counter("chutes_ai_cost_usd", {
    description: "List-price value of Chutes chat calls in USD (catalog prices), tagged model"
  }),
  chargedUsd: MetricKey.counter("chutes_ai_charged_usd", {
    description: "The part of chutes_ai_cost_usd the daily quota did not cover (charged to the balance), tagged model"
  })
}

/** The metrics (see `ChutesLanguageModel.metrics` for what each counts): `Metric.counter(name, options)`. */
export const metrics = {
  tokens: Metric.fromMetricKey(keys.tokens),
  costUsd: Metric.fromMetricKey(keys.costUsd),
  chargedUsd: Metric.fromMetricKey(keys.chargedUsd)
}

/** The `chutes` metadata of the finish part among `parts` (searched from the end, where it is). */
export const costOf = (parts: ReadonlyArray<Response.AnyPartEncoded>): CallCost | undefined => {
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i]!
    if (part.type === "finish") return part.metadata?.chutes
  }
  return undefined
}

type Counter = Metric.Metric.Counter<number>

interface ModelCounters {
  readonly input: Counter
  readonly cachedInput: Counter
  readonly output: Counter
  readonly costUsd: Counter
  readonly chargedUsd: Counter
}

/**
 * The tagged counters of each model, made once (the models of an app are few; the map is bounded by them): tagging
 * five metrics and running five `Metric.incrementBy` effects took ~18 µs a call, this ~10 µs (both measured in a
 * `runSync` loop, fiber start included) — against ~560 µs of CPU for a whole `generateText` (bench/README.md, "Chat").
 * Each is a counter over its tagged key, the same key `Metric.tagged(metrics.tokens, "model", …)` updates: a
 * `Metric.tagged` metric makes that key again (and hashes it) on every update, a counter over it only looks it up
 * once per set of fiber labels (bench/README.md, "Chat", fourth pass).
 */
const byModel = new Map<string, ModelCounters>()

const countersOf = (model: string): ModelCounters => {
  let counters = byModel.get(model)
  if (counters === undefined) {
    const tokens = MetricKey.tagged(keys.tokens, "model", model)
    counters = {
      input: Metric.fromMetricKey(MetricKey.tagged(tokens, "kind", "input")),
      cachedInput: Metric.fromMetricKey(MetricKey.tagged(tokens, "kind", "cached_input")),
      output: Metric.fromMetricKey(MetricKey.tagged(tokens, "kind", "output")),
      costUsd: Metric.fromMetricKey(MetricKey.tagged(keys.costUsd, "model", model)),
      chargedUsd: Metric.fromMetricKey(MetricKey.tagged(keys.chargedUsd, "model", model))
    }
    byModel.set(model, counters)
  }
  return counters
}

const count = (
  metric: Counter,
  amount: number | undefined,
  labels: ReadonlyArray<MetricLabel.MetricLabel>
): void => {
  if (amount !== undefined && amount > 0 && Number.isFinite(amount)) metric.unsafeUpdate(amount, labels)
}

const put = (span: Tracer.Span, key: string, value: unknown): void => {
  if (value !== undefined) span.attribute(key, value)
}

/** Span attributes of a call's cost (OpenTelemetry names under `chutes.`). */
const annotate = (span: Tracer.Span, cost: CallCost): void => {
  put(span, "chutes.invocation_id", cost.invocationId)
  put(span, "chutes.usage.input_tokens", cost.inputTokens)
  put(span, "chutes.usage.cached_input_tokens", cost.cachedInputTokens)
  put(span, "chutes.usage.output_tokens", cost.outputTokens)
  put(span, "chutes.cost.usd", cost.usd)
  put(span, "chutes.cost.charged_usd", cost.chargedUsd)
  put(span, "chutes.cost.price_source", cost.priceSource)
  put(span, "chutes.quota.covered", cost.quotaCovered)
  put(span, "chutes.quota.total", cost.quota?.total)
  put(span, "chutes.quota.used", cost.quota?.used)
  put(span, "chutes.quota.remaining", cost.quota?.remaining)
  put(span, "chutes.rate_limit.per_minute", cost.rateLimitPerMinute)
}

/** A call's cost into the metrics, the span and the budget. */
export const record = (
  parts: ReadonlyArray<Response.AnyPartEncoded>,
  span: Tracer.Span,
  budget: ChutesBudget.Service | undefined
): Effect.Effect<void> =>
  // What `Metric.incrementBy` does (the fiber's metric labels, then the counter's update), for five counters at once,
  // in one step: five effects, or a `FiberRef.get` and a `sync` after it, cost more than the updates themselves.
  Effect.withFiberRuntime((fiber) => {
    const cost = costOf(parts)
    if (cost === undefined) return Effect.void
    annotate(span, cost)
    const counters = countersOf(cost.model)
    const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
    count(counters.input, cost.inputTokens, labels)
    count(counters.cachedInput, cost.cachedInputTokens, labels)
    count(counters.output, cost.outputTokens, labels)
    count(counters.costUsd, cost.usd, labels)
    count(counters.chargedUsd, cost.chargedUsd, labels)
    return budget === undefined || cost.usd === undefined ? Effect.void : budget.add(cost.usd)
  })

const usd = (value: number): string => `$${value.toFixed(value < 1 ? 4 : 2)}`

/** Fails with `BudgetExceeded` when the budget is spent; no budget, or some left: nothing. */
export const checkBudget = (
  method: Method,
  budget: ChutesBudget.Service | undefined
): Effect.Effect<void, ReturnType<typeof unknownError>> =>
  budget === undefined ? Effect.void : Effect.flatMap(budget.spent, (spent) =>
    spent < budget.limitUsd ? Effect.void : Effect.fail(unknownError(
      method,
      "BudgetExceeded",
      `The Chutes budget is spent: ${usd(spent)} of list-price value against a limit of ${usd(budget.limitUsd)} ` +
        `(ChutesBudget); no request was sent`
    )))
