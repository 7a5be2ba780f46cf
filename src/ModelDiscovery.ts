/**
 * Live model discovery: `GET {base}/models` -> model definitions.
 *
 * One call is a sequence of attempts. Each attempt has its own deadline (headers and body) and a body size cap.
 * Only transient failures are retried (transport, timeout, 408/425/429/5xx, but not the free-models daily cap), under
 * the SDK's one retry policy (`ChutesSettings.RetryPolicy`, run by internal/retry.ts): exponential backoff with jitter,
 * a `Retry-After` honoured up to a cap, and one over the cap ends the retries with the error carrying it.
 * 400/401/402/403/404 are never retried. Each retry is told to the policy's `onRetry` hook before its wait, for
 * progress displays. There is no fallback here: that is `ChutesProvider.catalog`'s job.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as Headers from "@effect/platform/Headers"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Credential } from "./ChutesCredentials.js"
import { DiscoveryError } from "./ChutesError.js"
import { ChutesSettings } from "./ChutesSettings.js"
import * as CappedBody from "./internal/cappedBody.js"
import { errorDetail, excerpt, transportDetail, withoutSecrets } from "./internal/redact.js"
import * as Retry from "./internal/retry.js"
import { schemaGuard } from "./internal/schemaGuard.js"
import { type InputModality, type ModelDefinition, ModelId, PrintableString } from "./ModelCatalog.js"

/**
 * The result of one successful discovery.
 *
 * @since 0.1.0
 * @category models
 */
export interface DiscoveredModels {
  readonly models: ReadonlyArray<ModelDefinition>
  /** Malformed items that were skipped. */
  readonly skipped: number
  /** Epoch milliseconds when the response was received. */
  readonly fetchedAt: number
  /** Attempts it took (1 when the first succeeded). */
  readonly attempts: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Fetches the live catalog, with the credential when there is one. */
  readonly fetch: (credential: Option.Option<Credential>) => Effect.Effect<DiscoveredModels, DiscoveryError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ModelDiscovery extends Context.Tag("effect-chutes/ModelDiscovery")<ModelDiscovery, Service>() {}

// ---------------------------------------------------------------------------------------------------------------------
// Decoding: `RawModel` is the one decoder of an item; only the fields a definition keeps are read, unknown fields are
// ignored.
// ---------------------------------------------------------------------------------------------------------------------

const Length = Schema.Number.pipe(Schema.int(), Schema.positive())
const Price = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const optionalNullable = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

/**
 * The fields of a `/v1/models` item that the SDK reads.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RawModel = Schema.Struct({
  // An id must be addressable as `chutes/<id>`: no whitespace, no control characters (which a server could otherwise
  // push into a terminal through `models list`).
  id: ModelId,
  max_model_len: optionalNullable(Length),
  context_length: optionalNullable(Length),
  max_output_length: optionalNullable(Length),
  input_modalities: optionalNullable(Schema.Array(Schema.String)),
  supported_features: optionalNullable(Schema.Array(Schema.String)),
  pricing: optionalNullable(Schema.Struct({
    prompt: Price,
    completion: Price,
    input_cache_read: optionalNullable(Price)
  })),
  confidential_compute: optionalNullable(Schema.Boolean),
  quantization: optionalNullable(PrintableString),
  root: optionalNullable(PrintableString),
  owned_by: optionalNullable(PrintableString)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export type RawModel = typeof RawModel.Type

const KNOWN_INPUTS: ReadonlySet<string> = new Set<InputModality>(["text", "image", "video", "audio"])

const isInputModality = (value: string): value is InputModality => KNOWN_INPUTS.has(value)

const TEXT_ONLY: ReadonlyArray<InputModality> = Object.freeze(["text"])

/**
 * The item's modalities the SDK knows, else text only. The item's own array is kept when every entry is known, and one
 * frozen array serves every text-only model: a copy per model was most of the heap the 5,000-model memory rows kept
 * beyond the raw limit's map (bench/README.md, "The 5,000-model memory rows").
 */
const inputsOf = (modalities: ReadonlyArray<string> | null | undefined): ReadonlyArray<InputModality> => {
  if (modalities == null || modalities.length === 0) return TEXT_ONLY
  if (modalities.every(isInputModality)) return modalities as ReadonlyArray<InputModality>
  const known = modalities.filter(isInputModality)
  return known.length > 0 ? known : TEXT_ONLY
}

/**
 * Maps one decoded item to a definition, or `undefined` when it has no usable context length.
 * `reasoning` comes only from `supported_features`; an unknown max output stays unknown.
 *
 * @since 0.1.0
 * @category decoding
 */
export const toDefinition = (raw: RawModel): ModelDefinition | undefined => {
  const contextWindow = raw.context_length ?? raw.max_model_len
  if (contextWindow == null) return undefined
  const features = raw.supported_features ?? undefined
  const pricing = raw.pricing
  const definition: {
    -readonly [K in keyof ModelDefinition]: ModelDefinition[K]
  } = {
    id: raw.id,
    name: raw.id,
    contextWindow,
    input: inputsOf(raw.input_modalities),
    reasoning: features?.includes("reasoning") ?? false
  }
  if (raw.max_output_length != null) definition.maxOutputTokens = raw.max_output_length
  if (pricing != null) {
    definition.cost = pricing.input_cache_read != null
      ? { input: pricing.prompt, output: pricing.completion, cacheRead: pricing.input_cache_read }
      : { input: pricing.prompt, output: pricing.completion }
  }
  if (features != null) {
    definition.tools = features.includes("tools")
    definition.jsonMode = features.includes("json_mode")
    definition.structuredOutputs = features.includes("structured_outputs")
  }
  if (raw.confidential_compute != null) definition.confidentialCompute = raw.confidential_compute
  if (raw.quantization != null) definition.quantization = raw.quantization
  if (raw.root != null) definition.root = raw.root
  if (raw.owned_by != null) definition.ownedBy = raw.owned_by
  return definition
}

/** `RawModel` has no transformations: an item it accepts is its own decoded value. */
const isRawModel = schemaGuard(RawModel)

/**
 * Why a body could not be read as a catalog.
 *
 * @since 0.1.0
 * @category decoding
 */
export type DecodeFailure =
  | { readonly _tag: "Decode"; readonly detail: string }
  | { readonly _tag: "EmptyCatalog"; readonly detail: string }

/**
 * The tolerant reader: parses a `/v1/models` body. A malformed item is skipped and counted; duplicate ids keep the
 * first. An unusable body (not JSON, no `data` array) or an empty / all-skipped list is a failure.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeCatalog = (
  body: string
): Either.Either<{ readonly models: ReadonlyArray<ModelDefinition>; readonly skipped: number }, DecodeFailure> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    const detail = errorDetail(body) ?? "empty body"
    return Either.left({ _tag: "Decode", detail: detail.startsWith("HTML") ? detail : `not JSON: ${excerpt(body, 80)}` })
  }
  const data = typeof parsed === "object" && parsed !== null && "data" in parsed ? parsed.data : undefined
  if (!Array.isArray(data)) return Either.left({ _tag: "Decode", detail: `no "data" array in the response` })
  return decodeItems(data)
}

/**
 * Decodes already-parsed items (the part of `decodeCatalog` after `JSON.parse`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeItems = (
  data: ReadonlyArray<unknown>
): Either.Either<{ readonly models: ReadonlyArray<ModelDefinition>; readonly skipped: number }, DecodeFailure> => {
  const models: Array<ModelDefinition> = []
  const seen = new Set<string>()
  let skipped = 0
  for (const item of data) {
    const definition = isRawModel(item) ? toDefinition(item) : undefined
    if (definition === undefined) {
      skipped++
    } else if (!seen.has(definition.id)) {
      seen.add(definition.id)
      models.push(definition)
    }
  }
  if (models.length === 0) {
    return Either.left({
      _tag: "EmptyCatalog",
      detail: data.length === 0 ? "the list is empty" : `all ${skipped} items were malformed`
    })
  }
  return Either.right({ models, skipped })
}

// ---------------------------------------------------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------------------------------------------------

/** Why an attempt failed, in a few words, for a progress line: `HTTP 503`, `timeout`, `connection error`. */
const retryReason = (error: DiscoveryError): string => {
  switch (error.reason) {
    case "HttpStatus":
      return error.status !== undefined ? `HTTP ${error.status}` : "an HTTP error"
    case "Timeout":
      return "timeout"
    case "Transport":
      return "connection error"
    default:
      return error.reason
  }
}

/** Discovery under the retry policy: what `DiscoveryError.retryable` says (never the free-models daily cap). */
const retrying: Retry.Retrying<DiscoveryError> = {
  operation: "discovery",
  judge: (error) => ({
    retryable: error.retryable,
    retryAfterMillis: error.retryAfterMillis,
    reason: retryReason(error)
  })
}

/** The error of the last attempt, saying how many were made. */
const withAttempts = (error: DiscoveryError, attempts: number): DiscoveryError =>
  attempts === 1 ? error : new DiscoveryError({
    reason: error.reason,
    url: error.url,
    status: error.status,
    detail: error.detail,
    retryAfterMillis: error.retryAfterMillis,
    attempts
  })

// The transport is written as plain combinator chains, not `Effect.gen`: on a small catalog every step of the
// Effect runtime shows next to a loopback request (bench/README.md, third round).

/** The body as text, within `maxBytes` (internal/cappedBody.ts). `headers`: `response.headers`, read once already. */
const readCapped = (
  response: HttpClientResponse.HttpClientResponse,
  headers: Headers.Headers,
  maxBytes: number,
  url: string
): Effect.Effect<string, DiscoveryError> =>
  CappedBody.readText(
    response,
    maxBytes,
    (overflow) =>
      new DiscoveryError({
        reason: "TooLarge",
        url,
        status: response.status,
        detail: CappedBody.overflowDetail(overflow, maxBytes)
      }),
    headers
  ).pipe(
    Effect.catchTag("ResponseError", (error) =>
      Effect.fail(new DiscoveryError({ reason: "Transport", url, detail: transportDetail(error) })))
  )

/** What one successful attempt yields: the result, but for the count of attempts. */
type Answer = Omit<DiscoveredModels, "attempts">

/** Judges a complete response: 2xx with a usable catalog, else the typed reason. */
const judge = (
  status: number,
  headers: Headers.Headers,
  body: string,
  fetchedAt: number,
  url: string,
  /** The secret sent, if any: a server may echo it, in a shape `scrub` does not know (see `withoutSecrets`). */
  secrets: ReadonlyArray<string>
) => {
  const detailOf = (text: string | undefined) => text === undefined ? undefined : withoutSecrets(text, secrets)
  if (status === 401) {
    return Effect.fail(new DiscoveryError({ reason: "Unauthorized", url, status, detail: detailOf(errorDetail(body)) }))
  }
  if (status < 200 || status >= 300) {
    return Effect.fail(
      new DiscoveryError({
        reason: "HttpStatus",
        url,
        status,
        detail: detailOf(errorDetail(body)),
        retryAfterMillis: Retry.parseRetryAfter(headers["retry-after"], fetchedAt)
      })
    )
  }
  const decoded = decodeCatalog(body)
  if (Either.isLeft(decoded)) {
    return Effect.fail(
      new DiscoveryError({ reason: decoded.left._tag, url, status, detail: detailOf(decoded.left.detail) })
    )
  }
  const answer: Answer = { models: decoded.right.models, skipped: decoded.right.skipped, fetchedAt }
  return Effect.succeed(answer)
}

/**
 * Discovery over an `HttpClient`, configured by `ChutesSettings`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, HttpClient.HttpClient | ChutesSettings> = Effect.gen(function*() {
  const settings = yield* ChutesSettings
  // Discovery is traced by its own span, `ModelDiscovery.fetch` (URL, credential kind, attempts, the last status; a
  // retry is a log event on it), not by the platform's `http.client` span per attempt: that span repeats the same
  // facts with every header as an attribute and sends trace headers to a third-party service, for a measurable share
  // of a small discovery (bench/README.md). `ChutesProvider.client`, for the LLM calls, keeps the platform's spans.
  const client = HttpClient.withTracerDisabledWhen(yield* HttpClient.HttpClient, () => true)
  const url = `${settings.baseUrl}/models`
  const baseRequest = HttpClientRequest.get(url).pipe(HttpClientRequest.acceptJson)

  // One attempt: the request, its whole body under the cap, the verdict; all within the per-attempt deadline, on the
  // `Clock` (its cost, measured: bench/README.md). `onStatus` hears the status as soon as the headers are in, even
  // if the body then fails.
  const timeout = () =>
    new DiscoveryError({ reason: "Timeout", url, detail: `no complete answer within ${Duration.format(settings.requestTimeout)}` })
  const attempt = (
    request: HttpClientRequest.HttpClientRequest,
    secrets: ReadonlyArray<string>,
    onStatus: (status: number) => void
  ): Effect.Effect<Answer, DiscoveryError> =>
    Effect.timeoutFail(
      Effect.flatMap(
        Effect.mapError(client.execute(request), (error) =>
          new DiscoveryError({ reason: "Transport", url, detail: transportDetail(error) })),
        (response) => {
          onStatus(response.status)
          // Read once: the response's `headers` getter builds a new object on every read.
          const headers = response.headers
          return Effect.flatMap(readCapped(response, headers, settings.maxResponseBytes, url), (body) =>
            Effect.flatMap(Clock.currentTimeMillis, (fetchedAt) =>
              judge(response.status, headers, body, fetchedAt, url, secrets)))
        }
      ),
      { duration: settings.requestTimeout, onTimeout: timeout }
    )

  // Attempts under the retry policy. The span gets the number of attempts and the status of the last response
  // received, once, at the end.
  const attempts = (request: HttpClientRequest.HttpClientRequest, secrets: ReadonlyArray<string>) =>
    Effect.suspend(() => {
      let count = 0
      let lastStatus: number | undefined
      const onStatus = (status: number) => {
        lastStatus = status
      }
      const annotate = () =>
        Effect.annotateCurrentSpan(
          lastStatus === undefined
            ? { "chutes.attempts": count }
            : { "chutes.attempts": count, "http.response.status_code": lastStatus }
        )
      const once = Effect.suspend(() => {
        count++
        return attempt(request, secrets, onStatus)
      })
      return Effect.matchEffect(Retry.retry(once, settings.retry, retrying), {
        onSuccess: (answer) => {
          const found: DiscoveredModels = {
            models: answer.models,
            skipped: answer.skipped,
            fetchedAt: answer.fetchedAt,
            attempts: count
          }
          return Effect.as(annotate(), found)
        },
        onFailure: (error) => Effect.zipRight(annotate(), Effect.fail(withAttempts(error, count)))
      })
    })

  // A span per call, without a call-site stack trace (its caller is the provider): `Effect.fn` makes a `new Error()`
  // on every call, a measurable share of a small discovery (bench/README.md).
  const fetch = (credential: Option.Option<Credential>) =>
    Effect.withSpan(
      Option.isSome(credential)
        ? attempts(
          HttpClientRequest.bearerToken(baseRequest, credential.value.secret),
          [Redacted.value(credential.value.secret)]
        )
        : attempts(baseRequest, []),
      "ModelDiscovery.fetch",
      {
        captureStackTrace: false,
        attributes: { "chutes.url": url, "chutes.credential.kind": Option.isSome(credential) ? credential.value.kind : "none" }
      }
    )

  return { fetch }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ModelDiscovery, never, HttpClient.HttpClient | ChutesSettings> = Layer.effect(
  ModelDiscovery,
  make
)

/**
 * A discovery that returns fixed models, or fails with a fixed error: for tests and offline apps.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStatic = (
  result: ReadonlyArray<ModelDefinition> | DiscoveryError
): Layer.Layer<ModelDiscovery> =>
  Layer.succeed(ModelDiscovery, {
    fetch: () =>
      result instanceof DiscoveryError
        ? Effect.fail(result)
        : Effect.map(Clock.currentTimeMillis, (fetchedAt) => ({ models: result, skipped: 0, fetchedAt, attempts: 1 }))
  })
