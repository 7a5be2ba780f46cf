/**
 * Chutes models as an `@effect/ai` `LanguageModel`, over `POST /chat/completions`.
 *
 * Requests go through `ChutesProvider`: its base URL, the model resolution (aliases, refs, ids), the catalog (image
 * input, JSON output), and its `client`, which sets the current credential on every request (a stored OAuth profile is
 * refreshed when due) and answers a 401 for a stored OAuth profile with one forced refresh and one retry. 429, 503 and 5xx
 * answers are retried with backoff, and `fallbackModels` are tried in order on 404 / 429 / 503 / "no instances" —
 * always before the first byte of an answer, never after. Answers are read within deadlines and size caps
 * (`timeouts`, `limits`: 10 minutes for a non-streaming call; 5 minutes to a stream's first data event and 2 between
 * data events, keep-alive comments not counting; 32 MiB for a body), so a server that never finishes cannot hold a call
 * or fill the memory. Every failure of a call is an `AiError` carrying the Chutes-specific reason as its `kind` field
 * (see `ChutesAiError`). Building this layer never fails: the model names are resolved per call, so one that resolves
 * to nothing fails the call (`MalformedInput`, kind `UnknownModel`). The provider layer under it is another matter:
 * `ChutesProvider.layer` (and `NodeChutes.layer`) fails to build with `InvalidModelRef` when its own `defaultModel`
 * option is not a `chutes/<model-id>` ref — a configuration error, reported before any call.
 *
 * @example
 * ```ts
 * import * as LanguageModel from "@effect/ai/LanguageModel"
 * import * as Effect from "effect/Effect"
 * import { ChutesAiError, ChutesLanguageModel } from "effect-chutes/ai"
 * import { NodeChutes } from "effect-chutes/node"
 *
 * const program = LanguageModel.generateText({ prompt: "Hello" }).pipe(
 *   Effect.map((response) => response.text),
 *   Effect.catchIf(
 *     (error) => ChutesAiError.kind(error) === "RateLimited",
 *     () => Effect.succeed("Chutes is busy: try again in a minute")
 *   ),
 *   Effect.provide(ChutesLanguageModel.layer({ model: "chutes-pro", fallbackModels: ["chutes-fast"] })),
 *   Effect.provide(NodeChutes.layer())
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import type * as Response from "@effect/ai/Response"
import { addGenAIAnnotations } from "@effect/ai/Telemetry"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as ChutesProvider from "../ChutesProvider.js"
import { authorizationOf } from "../internal/auth.js"
import { errorDetail } from "../internal/redact.js"
import type * as ModelCatalog from "../ModelCatalog.js"
import { parseRetryAfter } from "../ModelDiscovery.js"
import * as ModelRef from "../ModelRef.js"
import * as ChutesAiError from "./ChutesAiError.js"
import * as Answer from "./internal/answer.js"
import { type ModelTarget, requestBody } from "./internal/chatRequest.js"
import { completionParts } from "./internal/chatResponse.js"
import {
  appendDescription,
  classify,
  credentialsError,
  detailSuffix,
  inputError,
  type Method,
  requestFailure,
  responseError,
  unknownError
} from "./internal/errors.js"
import { defaultStreamLimits, type StreamLimits } from "./internal/sse.js"

// =====================================================================================================================
// Options
// =====================================================================================================================

/**
 * The built-in alias names (docs/models.md).
 *
 * @since 0.1.0
 * @category models
 */
export type BuiltinAlias = "chutes-fast" | "chutes-pro" | "chutes-vision"

/**
 * A model as the caller names it: an alias (`chutes-pro`, or a user alias of the provider), a ref
 * (`chutes/zai-org/GLM-5-TEE`) or a model id (`zai-org/GLM-5-TEE`). Known ids and aliases autocomplete; any string is
 * accepted, since the live service serves models no list knows.
 *
 * @since 0.1.0
 * @category models
 */
export type ModelName =
  | ModelCatalog.KnownModelId
  | `chutes/${ModelCatalog.KnownModelId}`
  | BuiltinAlias
  | (string & {})

/**
 * Generation options sent with every request (camel case here, the service's snake case on the wire). Everything is
 * optional; left out means the service's default.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /** `max_tokens`: the most tokens to generate. */
  readonly maxTokens?: number | undefined
  readonly temperature?: number | undefined
  /** `top_p` */
  readonly topP?: number | undefined
  /** `top_k` */
  readonly topK?: number | undefined
  /** `min_p` */
  readonly minP?: number | undefined
  /** `frequency_penalty` */
  readonly frequencyPenalty?: number | undefined
  /** `presence_penalty` */
  readonly presencePenalty?: number | undefined
  /** `repetition_penalty` */
  readonly repetitionPenalty?: number | undefined
  readonly seed?: number | undefined
  readonly stop?: string | ReadonlyArray<string> | undefined
  /** `parallel_tool_calls` */
  readonly parallelToolCalls?: boolean | undefined
  /** `user`: an end-user id for the service's abuse monitoring. */
  readonly user?: string | undefined
  /**
   * Turns a reasoning model's thinking on or off through `chat_template_kwargs` — both `enable_thinking` (Qwen3,
   * GLM) and `thinking` (DeepSeek V3.x) are sent, since each chat template reads its own and ignores the other.
   */
  readonly thinking?: boolean | undefined
  /** Further `chat_template_kwargs`, merged over the ones `thinking` sets. */
  readonly chatTemplateKwargs?: Readonly<Record<string, unknown>> | undefined
  /**
   * More body fields, for options this type does not list. They cannot replace `model`, `messages` or `stream`, and
   * `store` / `max_completion_tokens` are refused (the live service does not take them).
   */
  readonly extraBody?: Readonly<Record<string, unknown>> | undefined
}

/**
 * Per-call generation options, over the layer's (see {@link withConfigOverride}).
 *
 * @since 0.1.0
 * @category tags
 */
export class Config extends Context.Tag("effect-chutes/ai/ChutesLanguageModel/Config")<Config, RequestOptions>() {}

/**
 * How retryable failures (429, 503, 5xx, transport) are retried on the same model: exponential backoff with jitter,
 * `Retry-After` honoured up to a cap. Never after the first byte of an answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /** Retries after the first attempt. Default 2. */
  readonly maxRetries?: number | undefined
  /** The first backoff step; doubles on each retry. Default 500 ms. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** The largest backoff step. Default 8 s. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** The longest `Retry-After` waited for; a longer one ends the retries. Default 30 s. */
  readonly retryAfterCap?: Duration.DurationInput | undefined
}

/**
 * Options of {@link layer} and {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly model: ModelName
  /**
   * Models tried in order when the one before fails with 404 `model not found`, 429, 503 or "no instances" (or cannot
   * take the prompt, e.g. images) — before the first byte of an answer only. Retries of the same model are skipped
   * for those failures when a next model exists: failing over is the faster way out. Which model answered is in the
   * `response-metadata` part (see {@link responseInfo}).
   */
  readonly fallbackModels?: ReadonlyArray<ModelName> | undefined
  readonly config?: RequestOptions | undefined
  readonly retry?: RetryOptions | undefined
  /** Deadlines of a call (see {@link TimeoutOptions} for the defaults). */
  readonly timeouts?: TimeoutOptions | undefined
  /** Size caps of an answer (see {@link LimitOptions} for the defaults). */
  readonly limits?: LimitOptions | undefined
}

/**
 * Deadlines of a call. Each takes a duration (`"90 seconds"`, `Duration.minutes(5)`); `Duration.infinity` turns one
 * off. A deadline that passes fails the call with kind `Timeout` (an `UnknownError`, not retried), naming the limit.
 *
 * @since 0.1.0
 * @category models
 */
export interface TimeoutOptions {
  /**
   * `generateText` / `generateObject`: the longest a call may take, from its start to the parsed answer — every
   * attempt, backoff and failover included. Default 10 minutes (the edge cuts a request at about 600 s anyway).
   */
  readonly completion?: Duration.DurationInput | undefined
  /**
   * `streamText`: the longest wait from the call to the first data event — attempts, failover and the answer's
   * headers included. Default 5 minutes: prefilling a context of a million tokens takes minutes.
   */
  readonly firstEvent?: Duration.DurationInput | undefined
  /**
   * `streamText`: the longest wait for the next data event once one has arrived. Comments (`: keep-alive`) do not
   * reset it; time the consumer spends not reading (the stream waits for it) does not count. Default 2 minutes.
   */
  readonly idle?: Duration.DurationInput | undefined
  /**
   * `streamText`: the longest a whole stream may take, from the call to its end. Default none: 65,535 output tokens
   * at 30–50 tokens/s take over 20 minutes.
   */
  readonly stream?: Duration.DurationInput | undefined
}

/**
 * Size caps of an answer: a body or stream over one fails with kind `InvalidResponse` (`MalformedOutput`) instead of
 * growing in memory without end. Each takes a positive number (`Infinity` turns it off); anything else means the
 * default.
 *
 * @since 0.1.0
 * @category models
 */
export interface LimitOptions {
  /**
   * The largest non-streaming answer body, in bytes. Default 32 MiB (a long answer with its reasoning is about a
   * megabyte; `logprobs` with many `top_logprobs` can need more). A `content-length` over it fails before reading.
   */
  readonly maxBodyBytes?: number | undefined
  /** The longest SSE line of a stream, in characters, checked as it arrives. Default 8 Mi. */
  readonly maxLineLength?: number | undefined
  /** The largest SSE event (its `data:` lines together), in characters. Default 16 Mi. */
  readonly maxEventLength?: number | undefined
  /** The most tool-call argument text of one streamed answer (all its tool calls together). Default 8 Mi. */
  readonly maxToolArgumentsLength?: number | undefined
}

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

declare module "@effect/ai/Response" {
  export interface ResponseMetadataPartMetadata extends ProviderMetadata {
    /** Set by `ChutesLanguageModel`: which model answered, the invocation id, the failover path. */
    readonly chutes?: ResponseInfo | undefined
  }
}

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

interface RetryPolicy {
  readonly maxRetries: number
  readonly baseDelay: Duration.Duration
  readonly maxDelay: Duration.Duration
  readonly retryAfterCap: Duration.Duration
}

const retryPolicy = (options: RetryOptions = {}): RetryPolicy => ({
  maxRetries: Math.max(0, Math.floor(options.maxRetries ?? 2)),
  baseDelay: Duration.decode(options.baseDelay ?? "500 millis"),
  maxDelay: Duration.decode(options.maxDelay ?? "8 seconds"),
  retryAfterCap: Duration.decode(options.retryAfterCap ?? "30 seconds")
})

interface Deadlines extends Answer.StreamDeadlines {
  readonly completion: Duration.Duration
}

const deadlines = (options: TimeoutOptions = {}): Deadlines => ({
  completion: Duration.decode(options.completion ?? "10 minutes"),
  firstEvent: Duration.decode(options.firstEvent ?? "5 minutes"),
  idle: Duration.decode(options.idle ?? "2 minutes"),
  stream: Duration.decode(options.stream ?? Duration.infinity)
})

interface Limits extends StreamLimits {
  readonly maxBodyBytes: number
}

const cap = (value: number | undefined, fallback: number): number =>
  value === Number.POSITIVE_INFINITY
    ? value
    : value !== undefined && Number.isFinite(value) && value >= 1
    ? Math.floor(value)
    : fallback

const limitsOf = (options: LimitOptions = {}): Limits => ({
  maxBodyBytes: cap(options.maxBodyBytes, 32 * 1024 * 1024),
  maxLineLength: cap(options.maxLineLength, defaultStreamLimits.maxLineLength),
  maxEventLength: cap(options.maxEventLength, defaultStreamLimits.maxEventLength),
  maxToolArgumentsLength: cap(options.maxToolArgumentsLength, defaultStreamLimits.maxToolArgumentsLength)
})

/** `effect` failing with `onTimeout` after `duration`; as it is when the duration is infinite. */
const within = <A, R>(
  effect: Effect.Effect<A, ChutesAiError.ChutesAiError, R>,
  duration: Duration.Duration,
  onTimeout: () => ChutesAiError.ChutesAiError
): Effect.Effect<A, ChutesAiError.ChutesAiError, R> =>
  Duration.isFinite(duration) ? Effect.timeoutFail(effect, { duration, onTimeout }) : effect

/** Reads at most `max` characters of an error body; a failure to read gives what was read. */
const readCapped = (response: HttpClientResponse.HttpClientResponse, max = 64 * 1024): Effect.Effect<string> =>
  response.stream.pipe(
    Stream.decodeText(),
    Stream.runFoldWhile("", (text) => text.length < max, (text, piece) => text + piece),
    Effect.orElseSucceed(() => ""),
    Effect.map((text) => text.slice(0, max))
  )

const retryAfterMillis = (error: ChutesAiError.ChutesAiError, now: number): number | undefined =>
  error._tag === "HttpResponseError" ? parseRetryAfter(error.response.headers["retry-after"], now) : undefined

// =====================================================================================================================
// The model
// =====================================================================================================================

interface Sent {
  readonly response: HttpClientResponse.HttpClientResponse
  readonly info: ResponseInfo
}

/**
 * Builds the `LanguageModel` service. Nothing is resolved or fetched here, so this never fails: each request
 * resolves the model against the provider's catalog, and a name that resolves to nothing fails that request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<LanguageModel.Service, never, ChutesProvider.ChutesProvider> =>
  Effect.gen(function*() {
    const provider = yield* ChutesProvider.ChutesProvider
    const policy = retryPolicy(options.retry)
    const timeouts = deadlines(options.timeouts)
    const limits = limitsOf(options.limits)
    const inputs: ReadonlyArray<string> = [options.model, ...(options.fallbackModels ?? [])]

    const resolveTarget = (method: Method, input: string, snapshot: ModelCatalog.CatalogSnapshot) =>
      provider.resolve(input).pipe(
        Effect.map((resolved): ModelTarget => ({
          input,
          id: resolved.id,
          ref: resolved.ref,
          definition: snapshot.byId.get(resolved.id)
        })),
        Effect.catchAll((error) => {
          // An `org/name` id the catalog does not list is passed through: lists go stale, and the service itself
          // answers 404 with "did you mean" when the model really does not exist.
          const trimmed = input.trim()
          const ref = /^[^/\s]+\/\S+$/.test(trimmed) ? ModelRef.fromId(trimmed) : undefined
          if (error._tag === "UnknownModel" && ref !== undefined && Either.isRight(ref)) {
            return Effect.succeed<ModelTarget>({
              input,
              id: trimmed,
              ref: ref.right,
              definition: snapshot.byId.get(trimmed)
            })
          }
          return Effect.fail(inputError(method, "UnknownModel", error.message))
        })
      )

    /** One request through the provider's client, which sets the bearer and handles a rejected OAuth token. */
    const execute = (method: Method, body: Record<string, unknown>, stream: boolean) =>
      provider.client.execute(
        HttpClientRequest.post("/chat/completions").pipe(
          HttpClientRequest.bodyUnsafeJson(body),
          HttpClientRequest.accept(stream ? "text/event-stream" : "application/json")
        )
      ).pipe(
        Effect.catchAll((error) =>
          Effect.fail(
            error._tag === "CredentialsError" ? credentialsError(method, error) : requestFailure(method, error)
          )
        )
      )

    /** A 401 the provider's client did not (or could not) cure: which credential, and why signing in again helps. */
    const unauthorized = (method: Method, response: HttpClientResponse.HttpClientResponse) => {
      const sent = authorizationOf(response)
      const label = sent?.label ?? "the credential"
      const [kind, text]: [ChutesAiError.Kind, string] = sent?.kind !== "oauth"
        ? ["Unauthorized", `Chutes rejected ${label} (HTTP 401)`]
        : sent.refreshed
        ? [
          "ReauthRequired",
          `Chutes rejected ${label} (HTTP 401) even after a refresh; sign in again ` +
          `("effect-chutes onboard --auth-choice chutes")`
        ]
        : [
          "ReauthRequired",
          `Chutes rejected ${label} (HTTP 401) and it cannot be refreshed; sign in again ` +
          `("effect-chutes onboard --auth-choice chutes")`
        ]
      return Effect.flatMap(readCapped(response), (body) =>
        Effect.fail(responseError({
          method,
          url: response.request.url,
          status: response.status,
          headers: response.headers,
          kind,
          text: `${text}${detailSuffix(errorDetail(body, 200))}`,
          body
        })))
    }

    /** One model: the request, retried with backoff on retryable failures. Succeeds with a 2xx answer only. */
    const attempt = (
      method: Method,
      target: ModelTarget,
      body: Record<string, unknown>,
      stream: boolean,
      snapshot: ModelCatalog.CatalogSnapshot,
      hasNext: boolean
    ) =>
      Effect.gen(function*() {
        for (let retry = 0;; retry++) {
          const result = yield* Effect.either(
            execute(method, body, stream).pipe(
              Effect.flatMap((response) => {
                if (response.status >= 200 && response.status < 300) return Effect.succeed(response)
                if (response.status === 401) return unauthorized(method, response)
                return Effect.flatMap(readCapped(response), (text) => {
                  const sent = authorizationOf(response)
                  const classified = classify(response.status, text, target, snapshot, sent)
                  return Effect.fail(responseError({
                    method,
                    url: response.request.url,
                    status: response.status,
                    headers: response.headers,
                    kind: classified.kind,
                    text: classified.text,
                    body: text
                  }))
                })
              })
            )
          )
          if (Either.isRight(result)) return result.right
          const error = result.left
          if (!ChutesAiError.isRetryable(error) || retry >= policy.maxRetries) return yield* Effect.fail(error)
          if (hasNext && ChutesAiError.isFailoverEligible(error)) return yield* Effect.fail(error)
          const now = yield* Clock.currentTimeMillis
          const asked = retryAfterMillis(error, now)
          if (asked !== undefined && asked > Duration.toMillis(policy.retryAfterCap)) return yield* Effect.fail(error)
          const step = Math.min(Duration.toMillis(policy.maxDelay), Duration.toMillis(policy.baseDelay) * 2 ** retry)
          const jitter = yield* Random.nextRange(0.5, 1)
          yield* Effect.sleep(Duration.millis(Math.max(asked ?? 0, step * jitter)))
        }
      })

    /** Every model in turn until one answers 2xx; failover only on the failures another model may not have. */
    const send = (
      method: Method,
      providerOptions: LanguageModel.ProviderOptions,
      stream: boolean
    ): Effect.Effect<Sent, ChutesAiError.ChutesAiError> =>
      Effect.gen(function*() {
        const override = yield* Effect.serviceOption(Config)
        const config: RequestOptions = { ...options.config, ...Option.getOrUndefined(override) }
        const snapshot = yield* provider.catalog
        const failover: Array<FailoverStep> = []
        const tried = () =>
          failover.length > 0
            ? `; tried before: ${failover.map((f) => `chutes/${f.model} (${f.kind})`).join(", ")}`
            : ""
        for (let i = 0; i < inputs.length; i++) {
          const input = inputs[i]!
          const hasNext = i < inputs.length - 1
          const target = yield* resolveTarget(method, input, snapshot)
          const result = yield* Effect.either(
            requestBody({ method, options: providerOptions, target, config, stream, catalog: snapshot.models })
              .pipe(
                Effect.tap(() =>
                  Effect.sync(() =>
                    addGenAIAnnotations(providerOptions.span, {
                      system: "chutes",
                      operation: { name: "chat" },
                      request: {
                        model: target.id,
                        temperature: config.temperature,
                        topP: config.topP,
                        topK: config.topK,
                        maxTokens: config.maxTokens
                      }
                    })
                  )
                ),
                Effect.flatMap((body) => attempt(method, target, body, stream, snapshot, hasNext))
              )
          )
          if (Either.isRight(result)) {
            const response = result.right
            return {
              response,
              info: {
                model: target.id,
                ref: target.ref,
                requested: input,
                invocationId: response.headers["x-chutes-invocationid"],
                failover: [...failover]
              }
            }
          }
          const error = result.left
          if (!hasNext || !ChutesAiError.isFailoverEligible(error)) {
            return yield* Effect.fail(failover.length > 0 ? appendDescription(error, tried()) : error)
          }
          failover.push({
            model: target.id,
            kind: error.kind,
            status: error._tag === "HttpResponseError" ? error.response.status : undefined
          })
          yield* Effect.logDebug(
            `ChutesLanguageModel: ${target.ref} failed (${error.description}); trying the next model`
          )
        }
        return yield* Effect.dieMessage("ChutesLanguageModel: no model to try")
      })

    const annotateResponse = (
      span: LanguageModel.ProviderOptions["span"],
      parts: ReadonlyArray<Response.AnyPartEncoded>
    ) => {
      for (const part of parts) {
        if (part.type === "response-metadata") {
          addGenAIAnnotations(span, { response: { id: part.id, model: part.modelId } })
        } else if (part.type === "finish") {
          addGenAIAnnotations(span, {
            response: { finishReasons: [part.reason] },
            usage: { inputTokens: part.usage.inputTokens, outputTokens: part.usage.outputTokens }
          })
        }
      }
    }

    return yield* LanguageModel.make({
      generateText: Effect.fn("ChutesLanguageModel.generateText")(function*(providerOptions) {
        const readError = (e: HttpClientError.ResponseError) => requestFailure("generateText", e)
        const parts = yield* within(
          Effect.flatMap(send("generateText", providerOptions, false), ({ info, response }) =>
            Effect.flatMap(
              Answer.readCompletion(response, { info, maxBytes: limits.maxBodyBytes, readError }),
              (text) => completionParts("generateText", text, info)
            )),
          timeouts.completion,
          () =>
            unknownError(
              "generateText",
              "Timeout",
              `No complete answer from Chutes within ${Duration.format(timeouts.completion)} (timeouts.completion)`
            )
        )
        annotateResponse(providerOptions.span, parts)
        return parts
      }),
      streamText: (providerOptions) =>
        Stream.unwrapScoped(
          Effect.gen(function*() {
            // A span for the whole stream, ended with it: around the stream's creation, not on each element.
            const span = yield* Effect.makeSpanScoped("ChutesLanguageModel.streamText", {
              parent: providerOptions.span
            })
            const started = yield* Clock.currentTimeMillis
            const firstLimit = Duration.lessThanOrEqualTo(timeouts.firstEvent, timeouts.stream)
              ? "firstEvent"
              : "stream"
            const { info, response } = yield* within(
              Effect.withParentSpan(send("streamText", providerOptions, true), span),
              timeouts[firstLimit],
              () =>
                unknownError(
                  "streamText",
                  "Timeout",
                  `No answer from Chutes within ${Duration.format(timeouts[firstLimit])} of the call ` +
                    `(timeouts.${firstLimit})`
                )
            )
            return yield* Answer.streamParts(response, {
              info,
              started,
              deadlines: timeouts,
              limits,
              readError: (e) => requestFailure("streamText", e),
              onParts: (parts) => annotateResponse(providerOptions.span, parts)
            }).pipe(Effect.withParentSpan(span))
          })
        )
    })
  })

/**
 * `@effect/ai`'s `LanguageModel` for a Chutes model, over the `ChutesProvider` the app provides.
 *
 * @example
 * ```ts
 * import * as LanguageModel from "@effect/ai/LanguageModel"
 * import * as Effect from "effect/Effect"
 * import { ChutesLanguageModel } from "effect-chutes/ai"
 * import { NodeChutes } from "effect-chutes/node"
 *
 * const Chutes = ChutesLanguageModel.layer({
 *   model: "chutes-pro",
 *   fallbackModels: ["zai-org/GLM-5-TEE"],
 *   config: { maxTokens: 1024, thinking: false }
 * })
 *
 * const program = LanguageModel.generateText({ prompt: "Hello" }).pipe(
 *   Effect.map((response) => [response.text, ChutesLanguageModel.responseInfo(response)?.ref] as const),
 *   Effect.provide(Chutes),
 *   Effect.provide(NodeChutes.layer())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<LanguageModel.LanguageModel, never, ChutesProvider.ChutesProvider> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

/**
 * An `@effect/ai` `Model` (provider name `"chutes"`): a layer that also tells which provider is in use, for
 * `ExecutionPlan`s and `AiModel`-based code.
 *
 * @since 0.1.0
 * @category models
 */
export const model = (
  model: ModelName,
  options: Omit<Options, "model"> = {}
): AiModel.Model<"chutes", LanguageModel.LanguageModel, ChutesProvider.ChutesProvider> =>
  AiModel.make("chutes", layer({ ...options, model }))

/**
 * Runs an effect with generation options over the layer's (and over any outer override).
 *
 * @since 0.1.0
 * @category configuration
 */
export const withConfigOverride: {
  (config: RequestOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, config: RequestOptions): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: RequestOptions): Effect.Effect<A, E, R> =>
    Effect.flatMap(
      Effect.serviceOption(Config),
      (outer) => Effect.provideService(self, Config, { ...Option.getOrUndefined(outer), ...overrides })
    )
)
