/**
 * What `ChutesLanguageModel` puts in the metadata of its parts — which model answered and the failover path (on the
 * `response-metadata` part), what the call cost (on the `finish` part) — the accessors that read them back, and the
 * metrics every call updates. Re-exported by `ChutesLanguageModel`, where users find them.
 *
 * @since 0.3.0
 */
import type * as Response from "@effect/ai/Response"
import type * as Metric from "effect/Metric"
import type * as ModelCatalog from "../../ModelCatalog.js"
import type * as ChutesAiError from "../ChutesAiError.js"
import * as Spend from "./spend.js"

/**
 * What `ChutesLanguageModel` adds to the `response-metadata` part under `metadata.chutes`: which model answered, the
 * invocation id, and the models a failover tried before.
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseInfo = {
  /** The model id that answered (the `model` sent). */
  readonly model: string
  /** `chutes/<model>` */
  readonly ref: string
  /** What the caller named it: an alias, a ref or an id. */
  readonly requested: string
  /** The `X-Chutes-InvocationID` response header, the service's handle on this request. */
  readonly invocationId?: string | undefined
  /** Models tried before this one, in order, with why they were passed over. */
  readonly failover: ReadonlyArray<FailoverStep>
  /**
   * The stored auth profile whose credential got this answer (after any rotation to the next profile); absent for a
   * credential given in code or the environment.
   */
  readonly profile?: string | undefined
}

/**
 * One model a failover passed over: its id, the failure kind and the HTTP status.
 *
 * @since 0.1.0
 * @category models
 */
export type FailoverStep = {
  readonly model: string
  readonly kind: ChutesAiError.Kind
  readonly status?: number | undefined
}

/**
 * The daily quota headers of an answer (`X-Chutes-Quota-Total`, `-Used`, `-Remaining`): requests per UTC day, and
 * the count of the day BEFORE this request (truncated).
 *
 * @since 0.3.0
 * @category models
 */
export type QuotaHeaders = {
  readonly total: number
  readonly used: number
  readonly remaining: number
}

/**
 * What a call cost, under `metadata.chutes` of its `finish` part (read it with {@link callCost}). Computed once, from
 * the answer's final usage and headers.
 *
 * - Tokens as the service reported them (`undefined` when it reported no usage): `inputTokens` counts every prompt
 *   token, `cachedInputTokens` the part of them read from the cache.
 * - `usd`: the list-price value, from the catalog's prices (USD per 1M tokens; cached input at `input_cache_read`);
 *   `priceSource` says which catalog priced it — `"live"` (fetched now), `"cache"` (the last good live catalog),
 *   `"static"` (the built-in one, prices as of its capture), `"none"` (no price for this model: `usd` undefined).
 * - `quotaCovered`: whether the daily quota covered the call (`quota.used < quota.total`; no quota headers: false);
 *   `chargedUsd` is then 0, else `usd` — what the balance pays, as far as the answer tells (a subscription may still
 *   cover a call without quota headers).
 * - `quota`, `rateLimitPerMinute` (`X-Chutes-RL-User`, `"unlimited"` for `inf`), `chuteRateLimitPerMinute`
 *   (`X-Chutes-RL-Chute`): when the answer carries them.
 *
 * @since 0.3.0
 * @category models
 */
export type CallCost = {
  /** The model id that answered. */
  readonly model: string
  /** `X-Chutes-InvocationID`. */
  readonly invocationId: string | undefined
  readonly inputTokens: number | undefined
  readonly cachedInputTokens: number | undefined
  readonly outputTokens: number | undefined
  readonly usd: number | undefined
  readonly priceSource: ModelCatalog.CatalogSource | "none"
  /** The prices used, USD per 1M tokens (`cacheRead` is the input price when the catalog names none). */
  readonly pricing: { readonly input: number; readonly output: number; readonly cacheRead: number } | undefined
  readonly quotaCovered: boolean
  readonly chargedUsd: number | undefined
  readonly quota: QuotaHeaders | undefined
  readonly rateLimitPerMinute: number | "unlimited" | undefined
  readonly chuteRateLimitPerMinute: number | "unlimited" | undefined
}

declare module "@effect/ai/Response" {
  export interface ResponseMetadataPartMetadata extends ProviderMetadata {
    /** Set by `ChutesLanguageModel`: which model answered, the invocation id, the failover path. */
    readonly chutes?: ResponseInfo | undefined
  }
  export interface FinishPartMetadata extends ProviderMetadata {
    /** Set by `ChutesLanguageModel`: what the call cost (tokens, USD, quota, rate limits). */
    readonly chutes?: CallCost | undefined
  }
}

/**
 * What a Chutes call cost (see {@link CallCost}), from its `finish` part: takes a `generateText` response, its
 * `content`, or the parts of a stream (collected, or seen one by one as `[part]`).
 *
 * @example
 * ```ts
 * import * as LanguageModel from "@effect/ai/LanguageModel"
 * import * as Effect from "effect/Effect"
 * import { ChutesLanguageModel } from "effect-chutes/ai"
 *
 * const program = Effect.gen(function*() {
 *   const response = yield* LanguageModel.generateText({ prompt: "Hello" })
 *   const cost = ChutesLanguageModel.callCost(response)
 *   yield* Effect.log(
 *     `$${cost?.usd?.toFixed(6)} (${cost?.priceSource} prices), ` +
 *       (cost?.quotaCovered ? "covered by the daily quota" : `charged $${cost?.chargedUsd?.toFixed(6)}`)
 *   )
 * })
 * ```
 *
 * @since 0.3.0
 * @category accessors
 */
export const callCost = (
  response: { readonly content: ReadonlyArray<Response.AnyPart> } | Iterable<Response.AnyPart>
): CallCost | undefined => {
  const parts: Iterable<Response.AnyPart> = Symbol.iterator in response ? response : response.content
  for (const part of parts) {
    if (part.type === "finish" && part.metadata.chutes !== undefined) return part.metadata.chutes
  }
  return undefined
}

/**
 * The Effect metrics every call updates once, at its finish part (exported by any metrics or OpenTelemetry setup of
 * the app): `chutes_ai_tokens` (counter, tags `model` and `kind`: `input` — every prompt token —, `cached_input` — the
 * part of them read from the cache —, `output`), `chutes_ai_cost_usd` (counter, tag `model`: list-price value in
 * USD) and `chutes_ai_charged_usd` (counter, tag `model`: the part the daily quota did not cover). The span of the call
 * gets the same figures as `chutes.*` attributes (`chutes.cost.usd`, `chutes.quota.covered`, …).
 *
 * @since 0.3.0
 * @category metrics
 */
export const metrics: {
  readonly tokens: Metric.Metric.Counter<number>
  readonly costUsd: Metric.Metric.Counter<number>
  readonly chargedUsd: Metric.Metric.Counter<number>
} = Spend.metrics

/**
 * What the `response-metadata` part says about a Chutes answer: which model answered (after any failover), the
 * `X-Chutes-InvocationID`, and the models tried before. Takes a `generateText` response, its `content`, or the parts
 * of a stream.
 *
 * @since 0.1.0
 * @category accessors
 */
export const responseInfo = (
  response: { readonly content: ReadonlyArray<Response.AnyPart> } | Iterable<Response.AnyPart>
): ResponseInfo | undefined => {
  const parts: Iterable<Response.AnyPart> = Symbol.iterator in response ? response : response.content
  for (const part of parts) {
    if (part.type === "response-metadata" && part.metadata.chutes !== undefined) return part.metadata.chutes
  }
  return undefined
}
