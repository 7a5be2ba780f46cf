/**
 * The Chutes-specific reason of a `ChutesLanguageModel` failure, carried on `@effect/ai`'s own errors.
 *
 * `@effect/ai` programs catch `AiError`, so every failure of `ChutesLanguageModel` is one: an instance of one of the
 * five classes of this module, each a subclass of the `@effect/ai` class of the same name that keeps its `_tag`
 * (`Effect.catchTag("HttpResponseError", …)`, `instanceof AiError.HttpResponseError`, `AiError.isAiError` and
 * `AiError.AiError`'s schema see `@effect/ai`'s own errors) and adds one field, `kind`: the Chutes reason, a
 * {@link Kind} such as `"RateLimited"` or `"QuotaExceeded"`. {@link kind} reads it from any error. The description
 * starts with the kind too (`"[QuotaExceeded] Chutes quota …"`), for people reading logs; programs read the field.
 *
 * | class (`_tag`) | for |
 * |---|---|
 * | {@link HttpResponseError} | an answer with a status (`response.status`), or one that broke while being read |
 * | {@link HttpRequestError} | a request that did not complete (kind `Transport`) |
 * | {@link MalformedInput} | a prompt or option the model or the API cannot take, a model name that resolves to nothing |
 * | {@link MalformedOutput} | a 2xx answer that cannot be used |
 * | {@link UnknownError} | no credential, a service error inside a 200 answer, a truncated stream, a deadline |
 *
 * Serialized, `kind` travels with this module's {@link ChutesAiError} schema (e.g. as the error schema of an RPC).
 * `@effect/ai`'s `AiError` schema has no place for it: an error encoded and decoded with that one comes back as a plain
 * `@effect/ai` error, and {@link kind} then falls back to the description's `[Kind]` prefix (for errors whose `module`
 * is `"ChutesLanguageModel"` only). Descriptions and bodies are scrubbed and capped; request details never carry the
 * `Authorization` header.
 *
 * @example
 * ```ts
 * import type * as AiError from "@effect/ai/AiError"
 * import * as LanguageModel from "@effect/ai/LanguageModel"
 * import * as Effect from "effect/Effect"
 * import * as Match from "effect/Match"
 * import { ChutesAiError } from "effect-chutes/ai"
 *
 * // One kind handled, the other failures left in the error channel (still `AiError`).
 * const answer = LanguageModel.generateText({ prompt: "Hello" }).pipe(
 *   Effect.map((response) => response.text),
 *   Effect.catchIf(
 *     (error) => ChutesAiError.kind(error) === "QuotaExceeded",
 *     () => Effect.succeed("(out of quota until the reset)")
 *   )
 * )
 *
 * // What to tell a user, by kind.
 * const advice = (error: AiError.AiError): string =>
 *   Match.value(ChutesAiError.kind(error)).pipe(
 *     Match.whenOr("RateLimited", "NoInstances", () => "Chutes is busy: try again in a minute"),
 *     Match.whenOr("Unauthorized", "ReauthRequired", () => "sign in again: effect-chutes onboard"),
 *     Match.when("QuotaExceeded", () => `out of quota: ${error.description}`),
 *     Match.orElse(() => error.message)
 *   )
 *
 * // The field itself, on the class.
 * const status = (error: AiError.AiError): string =>
 *   error instanceof ChutesAiError.HttpResponseError ? `${error.kind} (HTTP ${error.response.status})` : error._tag
 * ```
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as Schema from "effect/Schema"
import { RETRYABLE_STATUS } from "../ChutesError.js"
import { isDailyCap } from "../internal/retry.js"

/**
 * The Chutes-specific reason of a failure.
 *
 * - `BadRequest` (400): the service refused the request; its `detail` is in the description.
 * - `Unauthorized` (401): an API key was rejected (API keys are not refreshed).
 * - `ReauthRequired` (401): an OAuth credential was rejected even after one forced refresh, or could not be
 *   refreshed: sign in again.
 * - `QuotaExceeded` (402): the daily quota is used up and the balance is $0 or less (or any 402 not named below);
 *   `resetsAt` (on {@link HttpResponseError}) holds `quota_reset_timestamp` when the service sends it, and the
 *   description says it as a UTC time and "in N h M min". Not retried.
 * - `SubscriptionCapReached` (402 "Subscription usage cap exceeded"): a subscription window's cap is spent; add
 *   balance or wait for the window to reset. Not retried.
 * - `TeeRequiresSubscription` (402 "TEE models require an active subscription or positive balance"). Not retried.
 * - `CreatorZeroBalance` (402 "… the creator of this chute … has zero balance"): that chute is unavailable, not your
 *   account; another model may answer (failover).
 * - `MissingScope` (403): the OAuth token lacks the `chutes:invoke` scope.
 * - `ModelNotFound` (404 `model not found`): with "did you mean" from the catalog, and the successor of a model Chutes
 *   retired (`its successor: chutes/…`) when the built-in lifecycle names one.
 * - `NotFound` (any other 404: usually a wrong base URL).
 * - `Capacity` (429 "Infrastructure is at maximum capacity"): retried with backoff, then failover.
 * - `DailyCapReached` (429 "Free models limit reached for today"): the free-models daily cap. NOT retried (asking
 *   again only hammers the service); `resetsAt` is the next 00:00 UTC.
 * - `EdgeRateLimited` (429 with nginx's HTML page): the edge limiter (about 60 requests a minute per caller), also
 *   what a call without an `Authorization` bearer gets. Retried with backoff.
 * - `RateLimited` (any other 429): retried with backoff.
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
 * - `Credentials`: no credential at all, the credential store could not be read, or a due or forced refresh could not
 *   be done now (the IdP unreachable: the profile is unchanged, try again).
 * - `BudgetExceeded`: the USD budget of the `ChutesBudget` the model reads is spent; the call failed before any
 *   request was sent (an {@link UnknownError}).
 *
 * @since 0.1.0
 * @category models
 */
export const Kind = Schema.Literal(
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
  "Credentials",
  "Capacity",
  "DailyCapReached",
  "EdgeRateLimited",
  "SubscriptionCapReached",
  "TeeRequiresSubscription",
  "CreatorZeroBalance",
  "BudgetExceeded"
)

/**
 * @since 0.1.0
 * @category models
 */
export type Kind = typeof Kind.Type

const isKind = Schema.is(Kind)

// =====================================================================================================================
// Errors
// =====================================================================================================================

// `Schema`'s `extend` gives a class a `toString` that lists its fields; these print the way `@effect/ai`'s own errors
// do (`HttpResponseError: <message>`), and show their fields when logged.
const printAsError = (klass: { readonly prototype: object }): void => {
  Object.defineProperty(klass.prototype, "toString", {
    value: globalThis.Error.prototype.toString,
    configurable: true,
    writable: true
  })
}

// `@effect/ai` gives `MalformedInput` and `MalformedOutput` no `message` of their own, so theirs is `Schema`'s dump of
// the fields (`{ "module": …, "cause": undefined }`); these say it in words, as `@effect/ai`'s `UnknownError` does.
const sentence = (
  error: { readonly module: string; readonly method: string; readonly description?: string | undefined }
): string => `${error.module}.${error.method}: ${error.description ?? "An error occurred"}`

/**
 * `@effect/ai`'s `HttpRequestError` (same `_tag`) with the Chutes {@link Kind}: a request that did not complete.
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpRequestError extends AiError.HttpRequestError.extend<HttpRequestError>(
  "effect-chutes/ai/ChutesAiError/HttpRequestError"
)({ kind: Kind }) {
  static {
    printAsError(this)
  }
}

/**
 * `@effect/ai`'s `HttpResponseError` (same `_tag`) with the Chutes {@link Kind}: an answer with a non-2xx status, or
 * one that broke while its body was read. `resetsAt`: when a refusal ends — `quota_reset_timestamp` of a
 * `QuotaExceeded` 402, the next 00:00 UTC for `DailyCapReached` — when known.
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpResponseError extends AiError.HttpResponseError.extend<HttpResponseError>(
  "effect-chutes/ai/ChutesAiError/HttpResponseError"
)({ kind: Kind, resetsAt: Schema.optional(Schema.DateTimeUtc) }) {
  static {
    printAsError(this)
  }
}

/**
 * `@effect/ai`'s `MalformedInput` (same `_tag`) with the Chutes {@link Kind}, and a `message` in words.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedInput extends AiError.MalformedInput.extend<MalformedInput>(
  "effect-chutes/ai/ChutesAiError/MalformedInput"
)({ kind: Kind }) {
  static {
    printAsError(this)
  }
  override get message(): string {
    return sentence(this)
  }
}

/**
 * `@effect/ai`'s `MalformedOutput` (same `_tag`) with the Chutes {@link Kind}, and a `message` in words.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedOutput extends AiError.MalformedOutput.extend<MalformedOutput>(
  "effect-chutes/ai/ChutesAiError/MalformedOutput"
)({ kind: Kind }) {
  static {
    printAsError(this)
  }
  override get message(): string {
    return sentence(this)
  }
}

/**
 * `@effect/ai`'s `UnknownError` (same `_tag`) with the Chutes {@link Kind}.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownError extends AiError.UnknownError.extend<UnknownError>(
  "effect-chutes/ai/ChutesAiError/UnknownError"
)({ kind: Kind }) {
  static {
    printAsError(this)
  }
}

/**
 * Any error of `ChutesLanguageModel`: an `AiError` with a `kind`.
 *
 * @since 0.1.0
 * @category errors
 */
export type ChutesAiError = HttpRequestError | HttpResponseError | MalformedInput | MalformedOutput | UnknownError

/**
 * The schema of {@link ChutesAiError}: `@effect/ai`'s `AiError` encoding plus `kind`. An error encoded with it also
 * decodes with `AiError.AiError` (without the kind, as a plain `@effect/ai` error).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChutesAiError = Schema.Union(HttpRequestError, HttpResponseError, MalformedInput, MalformedOutput, UnknownError)

/**
 * Whether a value is a {@link ChutesAiError} (an instance of one of the classes of this module).
 *
 * @since 0.1.0
 * @category guards
 */
export const isChutesAiError: (u: unknown) => u is ChutesAiError = Schema.is(ChutesAiError)

// =====================================================================================================================
// Accessors
// =====================================================================================================================

// The `module` of every error `ChutesLanguageModel` raises (set in ./internal/errors.ts).
const MODULE = "ChutesLanguageModel"

const KIND_PREFIX = /^\[([A-Za-z]+)\] /

/**
 * The Chutes-specific reason of an error raised by `ChutesLanguageModel`: its `kind` field; `undefined` for anything
 * else (including `AiError`s raised by `@effect/ai` itself). For an error that lost the field on the way (encoded and
 * decoded with `@effect/ai`'s `AiError` schema, or written by an older version of this package), the kind is read from
 * the `[Kind]` prefix of its description, if its `module` is `"ChutesLanguageModel"`.
 *
 * @example
 * ```ts
 * import * as LanguageModel from "@effect/ai/LanguageModel"
 * import * as Effect from "effect/Effect"
 * import { ChutesAiError } from "effect-chutes/ai"
 *
 * const answer = LanguageModel.generateText({ prompt: "Hello" }).pipe(
 *   Effect.tapError((error) => Effect.logWarning(`Chutes call failed (${ChutesAiError.kind(error) ?? error._tag})`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const kind = (error: unknown): Kind | undefined => {
  if (!AiError.isAiError(error)) return undefined
  if ("kind" in error) return isKind(error.kind) ? error.kind : undefined
  if (error.module !== MODULE || error.description === undefined) return undefined
  const name = KIND_PREFIX.exec(error.description)?.[1]
  return isKind(name) ? name : undefined
}

/**
 * Whether a later attempt of the same request may succeed: rate limits and capacity (but not the free-models daily
 * cap, `DailyCapReached`, which resets at 00:00 UTC), missing instances, 5xx, transport failures. No 402 is.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (error: unknown): boolean => {
  switch (kind(error)) {
    case "RateLimited":
      // An error from before the daily cap had a kind of its own (or decoded without the field) still says so.
      return !(error instanceof AiError.HttpResponseError &&
        isDailyCap(error.response.status, error.body ?? error.description))
    case "Capacity":
    case "EdgeRateLimited":
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
 * Whether another model may succeed where this one failed (404 model not found, every 429 kind, 503, no instances, a
 * chute whose creator has zero balance: docs/ai.md), or the model cannot take the prompt at all (`UnsupportedInput`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isFailoverEligible = (error: unknown): boolean => {
  switch (kind(error)) {
    case "ModelNotFound":
    case "RateLimited":
    case "Capacity":
    case "DailyCapReached":
    case "EdgeRateLimited":
    case "CreatorZeroBalance":
    case "NoInstances":
    case "ServiceUnavailable":
    case "UnsupportedInput":
      return true
    default:
      return false
  }
}
