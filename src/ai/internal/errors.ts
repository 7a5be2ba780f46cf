/**
 * How `ChutesLanguageModel`'s failures become the errors of `ChutesAiError`: the constructors (each error carries its
 * `kind` as a field, and as the `[Kind]` prefix of its description for people reading logs), and what a failed request
 * or a non-2xx answer means.
 */
import type * as AiError from "@effect/ai/AiError"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { CredentialsError } from "../../ChutesError.js"
import { isNotSent } from "../../internal/auth.js"
import { errorDetail, excerpt } from "../../internal/redact.js"
import { isDailyCap } from "../../internal/retry.js"
import type * as ModelCatalog from "../../ModelCatalog.js"
import * as ModelRef from "../../ModelRef.js"
import * as Successors from "../../Successors.js"
import * as ChutesAiError from "../ChutesAiError.js"
import type { Kind } from "../ChutesAiError.js"
import type { ModelTarget } from "./chatRequest.js"

/** The `module` of every error (`ChutesAiError.kind` reads the description's prefix only for this module's errors). */
const MODULE = "ChutesLanguageModel"

/** The `method` of an error: the `LanguageModel` call that failed. */
export type Method = "generateText" | "streamText"

/** The request as `AiError` shows it: method, URL and the content type — never the credential. */
const requestDetails = (url: string): typeof AiError.HttpRequestDetails.Type => ({
  method: "POST",
  url,
  urlParams: [],
  hash: Option.none(),
  headers: { "content-type": "application/json" }
})

// Response headers worth keeping in an error; everything else (cookies, edge internals) is left out.
const KEPT_RESPONSE_HEADERS = ["content-type", "retry-after", "x-chutes-invocationid"] as const

const responseHeaders = (headers: Readonly<Record<string, string | undefined>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of KEPT_RESPONSE_HEADERS) {
    const value = headers[name]
    if (value !== undefined) out[name] = excerpt(value, 100)
  }
  return out
}

/** The description: the kind first, for people reading logs (programs read the `kind` field). */
const describe = (kind: Kind, text: string): string => `[${kind}] ${text}`

// =====================================================================================================================
// Constructors
// =====================================================================================================================

/** A non-2xx answer, or a 2xx answer that failed later (stream errors). */
export const responseError = (options: {
  readonly method: Method
  readonly url: string
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly kind: Kind
  readonly text: string
  /** The raw body; kept as a short scrubbed excerpt. */
  readonly body?: string | undefined
  readonly reason?: "StatusCode" | "Decode" | "EmptyBody" | undefined
  /** When the refusal ends (epoch milliseconds), if known. */
  readonly resetsAt?: number | undefined
}): ChutesAiError.HttpResponseError =>
  new ChutesAiError.HttpResponseError({
    kind: options.kind,
    resetsAt: options.resetsAt !== undefined ? DateTime.unsafeMake(options.resetsAt) : undefined,
    module: MODULE,
    method: options.method,
    reason: options.reason ?? "StatusCode",
    request: requestDetails(options.url),
    response: { status: options.status, headers: responseHeaders(options.headers) },
    body: options.body !== undefined && options.body.trim() !== "" ? excerpt(options.body, 500) : undefined,
    description: describe(options.kind, options.text)
  })

/**
 * A request that did not complete (kind `Transport`). The platform error is not kept as the cause: it holds the
 * request, headers included.
 */
export const transportError = (options: {
  readonly method: Method
  readonly url: string
  readonly reason: "Transport" | "Encode" | "InvalidUrl"
  readonly text: string
}): ChutesAiError.HttpRequestError =>
  new ChutesAiError.HttpRequestError({
    kind: "Transport",
    module: MODULE,
    method: options.method,
    reason: options.reason,
    request: requestDetails(options.url),
    description: describe("Transport", excerpt(options.text, 300))
  })

/** A prompt or option the model or the API cannot take. */
export const inputError = (method: Method, kind: Kind, text: string, cause?: unknown): ChutesAiError.MalformedInput =>
  new ChutesAiError.MalformedInput({ kind, module: MODULE, method, description: describe(kind, text), cause })

/** A 2xx answer that cannot be used. */
export const outputError = (method: Method, kind: Kind, text: string): ChutesAiError.MalformedOutput =>
  new ChutesAiError.MalformedOutput({ kind, module: MODULE, method, description: describe(kind, text) })

/** Anything else (no credential, store failures, a service error inside a 200 answer, a truncated stream, a deadline). */
export const unknownError = (method: Method, kind: Kind, text: string, cause?: unknown): ChutesAiError.UnknownError =>
  new ChutesAiError.UnknownError({ kind, module: MODULE, method, description: describe(kind, text), cause })

/** The same error, same class and kind, with more text after its description (e.g. the models a failover tried). */
export const appendDescription = (error: ChutesAiError.ChutesAiError, text: string): ChutesAiError.ChutesAiError => {
  const common = {
    kind: error.kind,
    module: error.module,
    method: error.method,
    description: `${error.description ?? ""}${text}`
  }
  switch (error._tag) {
    case "HttpRequestError":
      return new ChutesAiError.HttpRequestError({
        ...common,
        reason: error.reason,
        request: error.request,
        cause: error.cause
      })
    case "HttpResponseError":
      return new ChutesAiError.HttpResponseError({
        ...common,
        reason: error.reason,
        request: error.request,
        response: error.response,
        body: error.body,
        resetsAt: error.resetsAt
      })
    case "MalformedInput":
      return new ChutesAiError.MalformedInput({ ...common, cause: error.cause })
    case "MalformedOutput":
      return new ChutesAiError.MalformedOutput({ ...common, cause: error.cause })
    case "UnknownError":
      return new ChutesAiError.UnknownError({ ...common, cause: error.cause })
  }
}

// =====================================================================================================================
// What a failure means
// =====================================================================================================================

/** A credential that is missing, expired or rejected (one the SDK would not send is `Credentials`: fix it, not sign in). */
export const credentialsError = (method: Method, error: CredentialsError): ChutesAiError.UnknownError =>
  unknownError(
    method,
    (error.reason === "ReauthRequired" || error.reason === "Expired" || error.reason === "Rejected") && !isNotSent(error)
      ? "ReauthRequired"
      : "Credentials",
    error.message,
    error
  )

/** A request that did not complete, or an answer that broke while being read. */
export const requestFailure = (
  method: Method,
  error: HttpClientError.HttpClientError
): ChutesAiError.HttpRequestError | ChutesAiError.HttpResponseError => {
  const cause = error.cause
  const text = error.description ??
    (cause instanceof Error ? `${cause.message}${causeCode(cause)}` : error._tag === "RequestError" ? error.reason : "")
  if (error._tag === "RequestError") {
    return transportError({ method, url: error.request.url, reason: error.reason, text })
  }
  return responseError({
    method,
    url: error.request.url,
    status: error.response.status,
    headers: error.response.headers,
    kind: "StreamInterrupted",
    text: `Reading the answer failed: ${excerpt(text, 200)}`,
    reason: "Decode"
  })
}

/** `fetch failed` says little; the code of its cause (ECONNREFUSED, …) says what happened. */
const causeCode = (error: Error): string => {
  const inner: unknown = error.cause
  if (typeof inner === "object" && inner !== null && "code" in inner && typeof inner.code === "string") {
    return ` (${inner.code})`
  }
  return ""
}

const parsedDetail = (body: string): unknown => {
  try {
    const parsed: unknown = JSON.parse(body)
    return typeof parsed === "object" && parsed !== null && "detail" in parsed ? parsed.detail : undefined
  } catch {
    return undefined
  }
}

const field = (record: unknown, names: ReadonlyArray<string>): string | undefined => {
  if (typeof record !== "object" || record === null) return undefined
  for (const name of names) {
    const value: unknown = (record as Record<string, unknown>)[name]
    if (typeof value === "string" || typeof value === "number") return excerpt(String(value), 120)
  }
  return undefined
}

export const detailSuffix = (detail: string | undefined): string => (detail !== undefined ? `: ${detail}` : "")

export interface Classified {
  readonly kind: Kind
  readonly text: string
  /** When the refusal ends, if known (epoch milliseconds). */
  readonly resetsAt?: number | undefined
}

/** The next 00:00 UTC after `now`. */
export const nextUtcMidnight = (now: number): number => {
  const at = new Date(now)
  return Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1)
}

/** `2026-06-12 00:00 UTC (in 3 h 12 min)`; a time already past says so. */
export const describeReset = (at: number, now: number): string => {
  const iso = new Date(at).toISOString()
  const when = `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
  const minutes = Math.ceil((at - now) / 60_000)
  if (minutes <= 0) return `${when} (already past)`
  const hours = Math.floor(minutes / 60)
  return `${when} (in ${hours > 0 ? `${hours} h ` : ""}${minutes % 60} min)`
}

/** The 402 bodies of the service's documented refusals (docs/ai.md, "Errors"), matched on their fixed wording. */
const paymentRequired = (body: string, detail: string | undefined, now: number): Classified => {
  const raw = parsedDetail(body)
  const message = field(raw, ["message", "detail", "error"]) ?? (typeof raw === "string" ? excerpt(raw) : detail)
  const text = message ?? ""
  if (/subscription usage cap/i.test(text)) {
    return {
      kind: "SubscriptionCapReached",
      text: `Chutes subscription usage cap reached (HTTP 402)${detailSuffix(message)}`
    }
  }
  if (/TEE models require/i.test(text)) {
    return {
      kind: "TeeRequiresSubscription",
      text: `Chutes serves TEE models only with an active subscription or a positive balance (HTTP 402)` +
        detailSuffix(message)
    }
  }
  if (/creator of this chute.*zero balance/i.test(text)) {
    return {
      kind: "CreatorZeroBalance",
      text: `This chute is unavailable: its creator's balance is zero, not yours (HTTP 402)${detailSuffix(message)}`
    }
  }
  const stamp = field(raw, ["quota_reset_timestamp", "reset_at", "resets_at"])
  const parsed = stamp === undefined ? Number.NaN : Date.parse(stamp)
  const resetsAt = Number.isNaN(parsed) ? undefined : parsed
  return {
    kind: "QuotaExceeded",
    text: `Chutes daily quota used up and no balance to pay with (HTTP 402)${detailSuffix(message)}` +
      (resetsAt !== undefined
        ? `; the quota resets ${describeReset(resetsAt, now)}`
        : stamp !== undefined
        ? `; resets at ${stamp}`
        : ""),
    resetsAt
  }
}

/** The 429s: capacity (retried), the free-models daily cap (not), the edge limiter's HTML page, anything else. */
const tooManyRequests = (body: string, detail: string | undefined, target: ModelTarget, now: number): Classified => {
  if (isDailyCap(429, detail)) {
    const resetsAt = nextUtcMidnight(now)
    return {
      kind: "DailyCapReached",
      text: `Chutes' daily limit of free models is reached (HTTP 429)${detailSuffix(detail)}; it resets at ` +
        describeReset(resetsAt, now),
      resetsAt
    }
  }
  if (/^\s*</.test(body)) {
    return {
      kind: "EdgeRateLimited",
      text: `Chutes' edge rate limiter refused the request (HTTP 429, about 60 requests a minute; also the answer ` +
        `to a request without a bearer)`
    }
  }
  return /maximum capacity/i.test(detail ?? "")
    ? { kind: "Capacity", text: `Chutes is at capacity for ${target.ref} (HTTP 429)${detailSuffix(detail)}` }
    : { kind: "RateLimited", text: `Chutes is rate limiting ${target.ref} (HTTP 429)${detailSuffix(detail)}` }
}

/** What a non-2xx answer means, in the words a user can act on. */
export const classify = (
  status: number,
  body: string,
  target: ModelTarget,
  snapshot: ModelCatalog.CatalogSnapshot,
  /** The credential the request was sent with, when known (see `internal/auth.ts`). */
  credential: { readonly kind: string; readonly label: string } | undefined,
  /** The clock now (epoch milliseconds), for "resets in …". */
  now: number
): Classified => {
  const detail = errorDetail(body, 300)
  switch (status) {
    case 400:
      return {
        kind: "BadRequest",
        text: `Chutes rejected the request to ${target.ref} (HTTP 400)${detailSuffix(detail)}`
      }
    case 402:
      return paymentRequired(body, detail, now)
    case 403:
      return credential?.kind === "oauth" || /scope/i.test(detail ?? "")
        ? {
          kind: "MissingScope",
          text: `Chutes refused inference with ${credential?.label ?? "the credential"} (HTTP 403)` +
            detailSuffix(detail) +
            `: the OAuth token lacks the chutes:invoke scope; sign in again with it ` +
            `("effect-chutes onboard --auth-choice chutes")`
        }
        : { kind: "HttpStatus", text: `Chutes refused the request (HTTP 403)${detailSuffix(detail)}` }
    case 404: {
      if (!/model/i.test(detail ?? "")) {
        return { kind: "NotFound", text: `Chutes answered 404${detailSuffix(detail)}; check the base URL` }
      }
      // A model Chutes retired: the built-in lifecycle names its successor (built-in names follow it on their own;
      // a ref or alias the user chose is passed through as written, so the error says where to go).
      const parsed = ModelRef.parse(target.ref)
      const replacement = Either.isRight(parsed) ? Successors.replacementFor(parsed.right, snapshot) : undefined
      const successor = replacement === undefined || replacement === target.ref
        ? ""
        : `; its successor: ${replacement}` +
          (snapshot.byId.has(ModelRef.modelId(replacement)) ? "" : ` (not in the ${snapshot.source} catalog either)`)
      const suggestions = (ModelRef.nearestRefs(
        [target.id],
        snapshot.models.filter((model) => model.id !== target.id).map((model) => model.id)
      )[0] ?? []).filter((suggestion) => suggestion !== replacement)
      const hint = suggestions.length > 0
        ? `; did you mean ${suggestions.map((s) => JSON.stringify(s)).join(", ")}? (${snapshot.source} catalog)`
        : ""
      return {
        kind: "ModelNotFound",
        text: `Model ${target.ref} not found on Chutes (HTTP 404)${detailSuffix(detail)}${successor}${hint}`
      }
    }
    case 429:
      return tooManyRequests(body, detail, target, now)
    case 503:
      return /no instances/i.test(detail ?? "")
        ? { kind: "NoInstances", text: `No instances of ${target.ref} are available (HTTP 503)${detailSuffix(detail)}` }
        : {
          kind: "ServiceUnavailable",
          text: `Chutes is unavailable for ${target.ref} (HTTP 503)${detailSuffix(detail)}`
        }
    case 500:
    case 502:
    case 504:
      return { kind: "ServerError", text: `Chutes failed on ${target.ref} (HTTP ${status})${detailSuffix(detail)}` }
    default:
      return { kind: "HttpStatus", text: `Chutes answered HTTP ${status} for ${target.ref}${detailSuffix(detail)}` }
  }
}

