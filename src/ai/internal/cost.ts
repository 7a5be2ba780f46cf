/**
 * What a chat call cost: the facts of its answer's headers (read once, when the answer arrives) and its usage (read
 * once, at the finish part) -> `CallCost`. Pure: the metrics, span attributes and budget that use it are in
 * ../ChutesLanguageModel.ts. Nothing here runs per stream chunk.
 *
 * Price (docs/ai.md, "Cost, quota and budget"): `pricing.prompt` × uncached input + `pricing.input_cache_read` × cached input (the prompt price
 * when the catalog has no cache price) + `pricing.completion` × output, all USD per 1M tokens. The daily quota headers
 * count the requests of the day BEFORE this one: `used < total` means the quota covered it (charged 0).
 *
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import type * as ModelCatalog from "../../ModelCatalog.js"
import type { CallCost, QuotaHeaders } from "../ChutesLanguageModel.js"
import { excerpt } from "../../internal/redact.js"
import type { ModelTarget } from "./chatRequest.js"

/** The facts of a 2xx answer's headers: who served it, the quota counter and the rate limits. */
export interface HeaderFacts {
  readonly invocationId: string | undefined
  readonly quota: QuotaHeaders | undefined
  readonly rateLimitPerMinute: number | "unlimited" | undefined
  readonly chuteRateLimitPerMinute: number | "unlimited" | undefined
}

const integer = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : undefined
}

const rateLimit = (value: string | undefined): number | "unlimited" | undefined =>
  value !== undefined && /^\s*inf\s*$/i.test(value) ? "unlimited" : integer(value)

/**
 * The `X-Chutes-InvocationID` header as it is safe to show: a UUID as sent; anything else (a header is server text like
 * any other) scrubbed, escaped and cut short, for it goes into messages, metadata and span attributes.
 */
const invocationId = (value: string | undefined): string | undefined =>
  value === undefined || /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : excerpt(value, 100)

/** The `X-Chutes-*` headers of a 2xx answer (lower-case names, as the platform gives them). */
export const headerFacts = (headers: Readonly<Record<string, string | undefined>>): HeaderFacts => {
  const total = integer(headers["x-chutes-quota-total"])
  const used = integer(headers["x-chutes-quota-used"])
  const remaining = integer(headers["x-chutes-quota-remaining"])
  return {
    invocationId: invocationId(headers["x-chutes-invocationid"]),
    quota: total !== undefined && used !== undefined
      ? { total, used, remaining: remaining ?? Math.max(0, total - used) }
      : undefined,
    rateLimitPerMinute: rateLimit(headers["x-chutes-rl-user"]),
    chuteRateLimitPerMinute: rateLimit(headers["x-chutes-rl-chute"])
  }
}

/** Prices are USD per one million tokens: a sum of token × price is divided by this (`1 / 1e6` is not exact). */
const TOKENS_PER_PRICE = 1_000_000

/**
 * The cost of one answer from its final usage. Tokens the service did not report are `undefined`, and so is the
 * price then; a model the catalog prices not (or no catalog entry) has `priceSource: "none"`.
 */
export const callCost = (
  usage: typeof Response.Usage.Encoded,
  target: ModelTarget,
  source: ModelCatalog.CatalogSource,
  facts: HeaderFacts
): CallCost => {
  const input = usage.inputTokens
  const output = usage.outputTokens
  const cached = input === undefined ? undefined : Math.min(usage.cachedInputTokens ?? 0, input)
  const price = target.definition?.cost
  const usd = price === undefined || input === undefined || output === undefined || cached === undefined
    ? undefined
    : ((input - cached) * price.input + cached * (price.cacheRead ?? price.input) + output * price.output) / TOKENS_PER_PRICE
  const covered = facts.quota !== undefined && facts.quota.used < facts.quota.total
  return {
    model: target.id,
    invocationId: facts.invocationId,
    inputTokens: input,
    cachedInputTokens: cached,
    outputTokens: output,
    usd,
    priceSource: price === undefined ? "none" : source,
    pricing: price === undefined
      ? undefined
      : { input: price.input, output: price.output, cacheRead: price.cacheRead ?? price.input },
    quotaCovered: covered,
    chargedUsd: usd === undefined ? undefined : covered ? 0 : usd,
    quota: facts.quota,
    rateLimitPerMinute: facts.rateLimitPerMinute,
    chuteRateLimitPerMinute: facts.chuteRateLimitPerMinute
  }
}

/** Makes the finish part's `chutes` metadata from its usage: what the answer readers call once, at the end. */
export type Meter = (usage: typeof Response.Usage.Encoded) => CallCost
