/**
 * How Chutes failures become `@effect/ai` errors.
 *
 * `@effect/ai` programs catch `AiError` (`HttpRequestError`, `HttpResponseError`, `MalformedInput`,
 * `MalformedOutput`, `UnknownError`), so every failure of `ChutesLanguageModel` is one of those. The Chutes-specific
 * reason is kept twice: readable, as the first words of `description` (`"[QuotaExceeded] Chutes quota …"`), and
 * programmatically through {@link kind}, which reads it back from any `AiError` (also after the error went through
 * `Schema` encoding or JSON). Descriptions and bodies are scrubbed and capped; request details never carry the
 * `Authorization` header.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as Option from "effect/Option"
import { RETRYABLE_STATUS } from "../ChutesError.js"
import { excerpt } from "../internal/redact.js"

/**
 * The Chutes-specific reason of a failure.
 *
 * - `BadRequest` (400): the service refused the request; its `detail` is in the description.
 * - `Unauthorized` (401): the credential was rejected and cannot be refreshed (an API key, a static token).
 * - `ReauthRequired` (401): an OAuth credential was rejected even after one forced refresh, or could not be
 *   refreshed: sign in again.
 * - `QuotaExceeded` (402): quota or balance exhausted; the description holds the message and the reset time.
 * - `MissingScope` (403): the OAuth token lacks the `chutes:invoke` scope.
 * - `ModelNotFound` (404 `model not found`): with "did you mean" from the catalog, and the successor of a model Chutes
 *   retired (`its successor: chutes/…`) when the built-in lifecycle names one.
 * - `NotFound` (any other 404: usually a wrong base URL).
 * - `RateLimited` (429): capacity, the daily cap, or the edge limiter.
 * - `NoInstances` (503 "No instances available"): the model has no running instance.
 * - `ServiceUnavailable` (any other 503).
 * - `ServerError` (500, 502, 504).
 * - `HttpStatus`: any other non-2xx status.
 * - `Transport`: the request did not complete (connection refused or reset, DNS, TLS; also an invalid URL or body,
 *   which `HttpRequestError.reason` tells apart).
 * - `ServiceError`: the service reported an error inside a 200 answer (e.g. the raw `{"error": …}` line mid-stream).
 * - `StreamInterrupted`: the connection broke while the body was being read.
 * - `StreamTruncated`: the stream ended before the model finished (no finish reason, no `[DONE]`).
 * - `Timeout`: a deadline of `ChutesLanguageModel`'s `timeouts` passed: the whole non-streaming call (`completion`),
 *   the wait for a stream's first data event (`firstEvent`), the wait for its next one (`idle`), or the whole stream
 *   (`stream`). The description names the limit. Not retried: asking again would wait as long.
 * - `InvalidResponse`: a 2xx body that is not a usable chat completion, or one over a size cap of
 *   `ChutesLanguageModel`'s `limits` (the body, an SSE line or event, the tool-call arguments).
 * - `InvalidToolArguments`: a tool call whose arguments are not valid JSON.
 * - `UnsupportedInput`: the prompt holds something the model or the API cannot take (e.g. an image for a text-only
 *   model).
 * - `UnknownModel`: the model name resolves to nothing (not an alias, a ref, or a model id), or is a malformed ref.
 * - `Credentials`: no credential at all, or the credential store could not be read.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind =
  | "BadRequest"
  | "Unauthorized"
  | "ReauthRequired"
  | "QuotaExceeded"
  | "MissingScope"
  | "ModelNotFound"
  | "NotFound"
  | "RateLimited"
  | "NoInstances"
  | "ServiceUnavailable"
  | "ServerError"
  | "HttpStatus"
  | "Transport"
  | "ServiceError"
  | "StreamInterrupted"
  | "StreamTruncated"
  | "Timeout"
  | "InvalidResponse"
  | "InvalidToolArguments"
  | "UnsupportedInput"
  | "UnknownModel"
  | "Credentials"

const KINDS: ReadonlySet<string> = new Set<Kind>([
  "BadRequest",
  "Unauthorized",
  "ReauthRequired",
  "QuotaExceeded",
  "MissingScope",
  "ModelNotFound",
  "NotFound",
  "RateLimited",
  "NoInstances",
  "ServiceUnavailable",
  "ServerError",
  "HttpStatus",
  "Transport",
  "ServiceError",
  "StreamInterrupted",
  "StreamTruncated",
  "Timeout",
  "InvalidResponse",
  "InvalidToolArguments",
  "UnsupportedInput",
  "UnknownModel",
  "Credentials"
])

const isKind = (value: string): value is Kind => KINDS.has(value)

const KIND_PREFIX = /^\[([A-Za-z]+)\] /

/**
 * The Chutes-specific reason of an error raised by `ChutesLanguageModel`, read from its description; `undefined` for
 * anything else (including `AiError`s raised by `@effect/ai` itself).
 *
 * @since 0.1.0
 * @category accessors
 */
export const kind = (error: unknown): Kind | undefined => {
  if (!AiError.isAiError(error)) return undefined
  const description = error.description
  const match = description === undefined ? null : KIND_PREFIX.exec(description)
  const name = match?.[1]
  return name !== undefined && isKind(name) ? name : undefined
}

/**
 * Whether a later attempt of the same request may succeed: rate limits, missing instances, 5xx, transport failures.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (error: unknown): boolean => {
  switch (kind(error)) {
    case "RateLimited":
    case "NoInstances":
    case "ServiceUnavailable":
    case "ServerError":
      return true
    case "Transport":
      // An invalid URL or an unencodable body fails the same way every time.
      return error instanceof AiError.HttpRequestError && error.reason === "Transport"
    case "HttpStatus":
      return error instanceof AiError.HttpResponseError && RETRYABLE_STATUS.has(error.response.status)
    default:
      return false
  }
}

/**
 * Whether another model may succeed where this one failed (SPEC: 404 model not found, 429, 503, no instances), or
 * the model cannot take the prompt at all (`UnsupportedInput`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isFailoverEligible = (error: unknown): boolean => {
  switch (kind(error)) {
    case "ModelNotFound":
    case "RateLimited":
    case "NoInstances":
    case "ServiceUnavailable":
    case "UnsupportedInput":
      return true
    default:
      return false
  }
}

/** @internal */
export const MODULE = "ChutesLanguageModel"

/** @internal */
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

const describe = (errorKind: Kind, text: string): string => `[${errorKind}] ${text}`

/**
 * A non-2xx answer, or a 2xx answer that failed later (stream errors), as `HttpResponseError`.
 *
 * @internal
 */
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
}): AiError.HttpResponseError =>
  new AiError.HttpResponseError({
    module: MODULE,
    method: options.method,
    reason: options.reason ?? "StatusCode",
    request: requestDetails(options.url),
    response: { status: options.status, headers: responseHeaders(options.headers) },
    body: options.body !== undefined && options.body.trim() !== "" ? excerpt(options.body, 500) : undefined,
    description: describe(options.kind, options.text)
  })

/**
 * A request that did not complete, as `HttpRequestError`. The platform error is not kept as the cause: it holds the
 * request, headers included.
 *
 * @internal
 */
export const transportError = (options: {
  readonly method: Method
  readonly url: string
  readonly reason: "Transport" | "Encode" | "InvalidUrl"
  readonly text: string
}): AiError.HttpRequestError =>
  new AiError.HttpRequestError({
    module: MODULE,
    method: options.method,
    reason: options.reason,
    request: requestDetails(options.url),
    description: describe("Transport", excerpt(options.text, 300))
  })

// `@effect/ai` gives `MalformedInput` and `MalformedOutput` no `message` of their own, so theirs is `Schema`'s dump of
// the fields (`{ "module": …, "cause": undefined }`). These subclasses say it in words, the way `@effect/ai`'s
// `UnknownError` does (`module.method: description`); they are still those classes (`instanceof`, `_tag`, `Schema`).
const sentence = (
  error: { readonly module: string; readonly method: string; readonly description?: string | undefined }
) =>
  `${error.module}.${error.method}: ${error.description ?? "An error occurred"}`

class MalformedInput extends AiError.MalformedInput {
  override get message(): string {
    return sentence(this)
  }
}

class MalformedOutput extends AiError.MalformedOutput {
  override get message(): string {
    return sentence(this)
  }
}

/**
 * A prompt or option the model or the API cannot take.
 *
 * @internal
 */
export const inputError = (method: Method, errorKind: Kind, text: string, cause?: unknown): AiError.MalformedInput =>
  new MalformedInput({ module: MODULE, method, description: describe(errorKind, text), cause })

/**
 * A 2xx answer that cannot be used.
 *
 * @internal
 */
export const outputError = (method: Method, errorKind: Kind, text: string): AiError.MalformedOutput =>
  new MalformedOutput({ module: MODULE, method, description: describe(errorKind, text) })

/**
 * Anything else (no credential, store failures, a service error inside a 200 answer, a truncated stream, a deadline).
 *
 * @internal
 */
export const unknownError = (method: Method, errorKind: Kind, text: string, cause?: unknown): AiError.UnknownError =>
  new AiError.UnknownError({ module: MODULE, method, description: describe(errorKind, text), cause })

/**
 * The same error with more text after its description (e.g. the models a failover tried).
 *
 * @internal
 */
export const appendDescription = (error: AiError.AiError, text: string): AiError.AiError => {
  const description = `${error.description ?? ""}${text}`
  const base = { module: error.module, method: error.method, description }
  switch (error._tag) {
    case "HttpRequestError":
      return new AiError.HttpRequestError({ ...base, reason: error.reason, request: error.request, cause: error.cause })
    case "HttpResponseError":
      return new AiError.HttpResponseError({
        ...base,
        reason: error.reason,
        request: error.request,
        response: error.response,
        body: error.body
      })
    case "MalformedInput":
      return new MalformedInput({ ...base, cause: error.cause })
    case "MalformedOutput":
      return new MalformedOutput({ ...base, cause: error.cause })
    case "UnknownError":
      return new AiError.UnknownError({ ...base, cause: error.cause })
  }
}
