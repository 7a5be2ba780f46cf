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
import type * as MetricLabel from "effect/MetricLabel"
import type * as Tracer from "effect/Tracer"
import type * as ChutesBudget from "../ChutesBudget.js"
import type { CallCost } from "../ChutesLanguageModel.js"
import { unknownError, type Method } from "./errors.js"

/** The metrics (see `ChutesLanguageModel.metrics` for what each counts). */
export const metrics = {
  tokens: Metric.counter("chutes_ai_tokens", {
    description: "Tokens of Chutes chat calls, tagged model and kind: input (every prompt token, cached or not), " +
      "cached_input (the part of input read from the cache), output"
  }),
  costUsd: Metric.counter("chutes_ai_cost_usd", {
    description: "List-price value of Chutes chat calls in USD (catalog prices), tagged model"
  }),
  chargedUsd: Metric.counter("chutes_ai_charged_usd", {
    description: "The part of chutes_ai_cost_usd the daily quota did not cover (charged to the balance), tagged model"
  })
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
 */
const byModel = new Map<string, ModelCounters>()

const countersOf = (model: string): ModelCounters => {
  let counters = byModel.get(model)
  if (counters === undefined) {
    const tokens = Metric.tagged(metrics.tokens, "model", model)
    counters = {
      input: Metric.tagged(tokens, "kind", "input"),
      cachedInput: Metric.tagged(tokens, "kind", "cached_input"),
      output: Metric.tagged(tokens, "kind", "output"),
      costUsd: Metric.tagged(metrics.costUsd, "model", model),
      chargedUsd: Metric.tagged(metrics.chargedUsd, "model", model)
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
  if (amount !== undefined && amount > 0) metric.unsafeUpdate(amount, labels)
}

/** Span attributes of a call's cost (OpenTelemetry names under `chutes.`). */
const annotate = (span: Tracer.Span, cost: CallCost): void => {
  const put = (key: string, value: unknown) => {
    if (value !== undefined) span.attribute(key, value)
  }
  put("chutes.invocation_id", cost.invocationId)
  put("chutes.usage.input_tokens", cost.inputTokens)
  put("chutes.usage.cached_input_tokens", cost.cachedInputTokens)
  put("chutes.usage.output_tokens", cost.outputTokens)
  put("chutes.cost.usd", cost.usd)
  put("chutes.cost.charged_usd", cost.chargedUsd)
  put("chutes.cost.price_source", cost.priceSource)
  put("chutes.quota.covered", cost.quotaCovered)
  put("chutes.quota.total", cost.quota?.total)
  put("chutes.quota.used", cost.quota?.used)
  put("chutes.quota.remaining", cost.quota?.remaining)
  put("chutes.rate_limit.per_minute", cost.rateLimitPerMinute)
}

/** A call's cost into the metrics, the span and the budget. */
export const record = (
  parts: ReadonlyArray<Response.AnyPartEncoded>,
  span: Tracer.Span,
  budget: ChutesBudget.Service | undefined
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const cost = costOf(parts)
    if (cost === undefined) return Effect.void
    annotate(span, cost)
    const counters = countersOf(cost.model)
    // What `Metric.incrementBy` does (the fiber's metric labels, then the counter's update), for five counters at
    // once: five effects cost more than the updates themselves.
    const metered = Effect.flatMap(FiberRef.get(FiberRef.currentMetricLabels), (labels) =>
      Effect.sync(() => {
        count(counters.input, cost.inputTokens, labels)
        count(counters.cachedInput, cost.cachedInputTokens, labels)
        count(counters.output, cost.outputTokens, labels)
        count(counters.costUsd, cost.usd, labels)
        count(counters.chargedUsd, cost.chargedUsd, labels)
      }))
    return budget === undefined || cost.usd === undefined ? metered : Effect.zipRight(metered, budget.add(cost.usd))
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
