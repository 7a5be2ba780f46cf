/**
 * Chutes models as an `@effect/ai` `LanguageModel`, over `POST /chat/completions`.
 *
 * Requests go through `ChutesProvider`: its base URL, the model resolution (aliases, refs, ids), the catalog (image
 * input, JSON output), and its `client`, which sets the current credential on every request (a stored OAuth profile is
 * refreshed when due) and answers a 401 for a stored OAuth profile with one forced refresh and one retry. 429, 503 and 5xx
 * answers are retried under the SDK's one retry policy (the same as discovery's: `retry`), and `fallbackModels` are
 * tried in order on 404 / 429 / 503 / "no instances" — always before the first byte of an answer, never after. Answers are read within deadlines and size caps
 * (`timeouts`, `limits`: 10 minutes for a non-streaming call; 5 minutes to a stream's first data event and 2 between
 * data events, keep-alive comments not counting; 32 MiB for a body), so a server that never finishes cannot hold a call
 * or fill the memory. Every failure of a call is an `AiError` carrying the Chutes-specific reason as its `kind` field
 * (see `ChutesAiError`; the gateway's 402s and 429s each have a kind of their own). Every answer's `finish` part
 * carries what the call cost ({@link callCost}: tokens, list-price USD, quota covered or charged, the quota and
 * rate-limit headers), which also goes into {@link metrics} and the call's span; a `ChutesBudget` in the context when
 * the layer is built caps the spend of every call through it. Building this layer never fails: the model names are resolved per call, so one that resolves
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
import type * as Headers from "@effect/platform/Headers"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ChutesProvider from "../ChutesProvider.js"
import * as ChutesSettings from "../ChutesSettings.js"
import { authorizationOf } from "../internal/auth.js"
import type * as ModelCatalog from "../ModelCatalog.js"
import * as ModelRef from "../ModelRef.js"
import type * as ChutesAiError from "./ChutesAiError.js"
import * as ChutesBudget from "./ChutesBudget.js"
import * as Answer from "./internal/answer.js"
import { type ModelTarget, requestBody } from "./internal/chatRequest.js"
import { completionParts } from "./internal/chatResponse.js"
import { callCost as callCostOf, headerFacts, type Meter } from "./internal/cost.js"
import * as Deadline from "./internal/deadline.js"
import { inputError, type Method, requestFailure, unknownError } from "./internal/errors.js"
import * as Failover from "./internal/failover.js"
import * as Resolved from "./internal/options.js"
import * as KeptSchema from "./internal/schemaKept.js"
import { send as sendTo } from "./internal/send.js"
import type { ResponseInfo } from "./internal/metadata.js"
import * as Spend from "./internal/spend.js"
import * as Telemetry from "./internal/telemetry.js"

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
 * How retryable failures (429 but the free-models daily cap, 503, 5xx, transport) are retried on the same model: the
 * SDK's one retry policy, as for discovery (`ChutesSettings.RetryPolicy`; docs/reliability.md) — exponential backoff
 * with jitter, 3 retries, `Retry-After` honoured up to 30 s and one longer ending the retries; `onRetry` hears of each
 * retry (operation `"chat"`). Never after the first byte of an answer.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryOptions = ChutesSettings.RetryOptions

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
 * The metadata `ChutesLanguageModel` adds to its answers (which model answered, the failover path, what the call
 * cost), documented in src/ai/internal/metadata.ts.
 *
 * @since 0.3.0
 */
export type { CallCost, FailoverStep, QuotaHeaders, ResponseInfo } from "./internal/metadata.js"

/**
 * Reading that metadata back (`callCost`, `responseInfo`) and the metrics every call updates (`metrics`).
 *
 * @since 0.3.0
 */
export { callCost, metrics, responseInfo } from "./internal/metadata.js"

// =====================================================================================================================
// The model
// =====================================================================================================================

interface Sent {
  readonly response: HttpClientResponse.HttpClientResponse
  /** `response.headers`, read once (each read of it builds the headers again). */
  readonly headers: Headers.Headers
  readonly info: ResponseInfo
  readonly meter: Meter
}

/**
 * `resolve` remembered per catalog snapshot and model name: resolving a name costs ~55 µs (the catalog read again,
 * the credential with it, the alias and successor rules), on every request (bench/README.md, "Chat"). A snapshot is
 * immutable and replaced when the catalog is refreshed, so a name is resolved again against each new one; failures
 * are not kept.
 */
const targetCache = <E>(
  resolve: (method: Method, input: string, snapshot: ModelCatalog.CatalogSnapshot) => Effect.Effect<ModelTarget, E>
) => {
  const bySnapshot = new WeakMap<ModelCatalog.CatalogSnapshot, Map<string, ModelTarget>>()
  return (method: Method, input: string, snapshot: ModelCatalog.CatalogSnapshot): Effect.Effect<ModelTarget, E> => {
    const known = bySnapshot.get(snapshot)?.get(input)
    if (known !== undefined) return Effect.succeed(known)
    return Effect.map(resolve(method, input, snapshot), (target) => {
      let targets = bySnapshot.get(snapshot)
      if (targets === undefined) bySnapshot.set(snapshot, targets = new Map())
      targets.set(input, target)
      return target
    })
  }
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
    const policy = ChutesSettings.makeRetryPolicy(options.retry)
    const timeouts = Resolved.deadlines(options.timeouts)
    const limits = Resolved.limits(options.limits)
    const inputs: ReadonlyArray<string> = [options.model, ...(options.fallbackModels ?? [])]
    // The budget is the one present when the model is built: shared by every call through it (ChutesBudget.ts).
    const budget = Option.getOrUndefined(yield* Effect.serviceOption(ChutesBudget.ChutesBudget))

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

    const resolveCached = targetCache(resolveTarget)

    /** The stored profile that got an answer, as metadata (nothing for a credential from code or the environment). */
    const servedBy = (response: HttpClientResponse.HttpClientResponse): { readonly profile?: string } => {
      const profile = authorizationOf(response)?.profileId
      return profile !== undefined ? { profile } : {}
    }

    /** Every model in turn until one answers 2xx (internal/failover.ts); each one retried (internal/send.ts). */
    const send = (
      method: Method,
      providerOptions: LanguageModel.ProviderOptions,
      stream: boolean
    ): Effect.Effect<Sent, ChutesAiError.ChutesAiError> =>
      Effect.gen(function*() {
        const override = yield* Effect.serviceOption(Config)
        const config: RequestOptions = { ...options.config, ...Option.getOrUndefined(override) }
        const snapshot = yield* provider.catalog
        const attempt = (target: ModelTarget, hasNext: boolean) =>
          requestBody({ method, options: providerOptions, target, config, stream, catalog: snapshot.models }).pipe(
            Effect.tap(() =>
              Effect.sync(() =>
                Telemetry.annotateRequest(providerOptions.span, {
                  model: target.id,
                  temperature: config.temperature,
                  topP: config.topP,
                  topK: config.topK,
                  maxTokens: config.maxTokens
                })
              )
            ),
            Effect.flatMap((body) =>
              sendTo(body, {
                client: provider.client,
                rotation: provider.rotation,
                policy,
                method,
                target,
                snapshot,
                stream,
                hasNext
              })
            )
          )
        const { failover, target, value: response } = yield* Failover.run({
          inputs,
          resolve: (input) => resolveCached(method, input, snapshot),
          attempt
        })
        // The headers are read once here; the usage at the finish part (internal/cost.ts).
        const headers = response.headers
        const facts = headerFacts(headers)
        return {
          response,
          headers,
          info: {
            model: target.id,
            ref: target.ref,
            requested: target.input,
            invocationId: facts.invocationId,
            failover,
            ...servedBy(response)
          },
          meter: (usage) => callCostOf(usage, target, snapshot.source, facts)
        }
      })

    // A call's span is `@effect/ai`'s own (`LanguageModel.generateText` / `streamText`, `providerOptions.span`): the
    // SDK writes the `gen_ai.*` and `chutes.*` attributes on it, and its own steps (the requests; the catalog read when
    // it fetches) are its children. A span of the SDK's around the same work repeated it at ~18 µs a call
    // (bench/README.md, "Chat", fifth pass).
    const generateText = (providerOptions: LanguageModel.ProviderOptions) =>
      Effect.gen(function*() {
        yield* Spend.checkBudget("generateText", budget)
        const parts = yield* Deadline.within(
          Effect.flatMap(send("generateText", providerOptions, false), ({ headers, info, meter, response }) =>
            Effect.flatMap(
              Answer.readCompletion(response, {
                headers,
                info,
                maxBytes: limits.maxBodyBytes,
                readError: (e) => requestFailure("generateText", e)
              }),
              (text) => completionParts("generateText", text, info, meter)
            )),
          timeouts.completion,
          () =>
            unknownError(
              "generateText",
              "Timeout",
              `No complete answer from Chutes within ${Duration.format(timeouts.completion)} (timeouts.completion)`
            )
        )
        Telemetry.annotateResponse(providerOptions.span, parts)
        yield* Spend.record(parts, providerOptions.span, budget)
        return parts
      })
    const streamText = (providerOptions: LanguageModel.ProviderOptions) =>
      Stream.unwrapScoped(
        Effect.gen(function*() {
          yield* Spend.checkBudget("streamText", budget)
          const started = yield* Clock.currentTimeMillis
          // The request (its retries and failover) runs in the reader's fiber, under the stream's watchdog, which
          // also keeps the first-event deadline while no answer has come (internal/answer.ts). Both run under
          // `@effect/ai`'s span, which lasts as long as the stream; `@effect/ai` does not make it the current span
          // here, so it is set as the parent.
          const span = providerOptions.span
          return yield* Answer.streamParts(Effect.withParentSpan(send("streamText", providerOptions, true), span), {
            started,
            deadlines: timeouts,
            limits,
            readError: (e) => requestFailure("streamText", e),
            onParts: (parts) => Telemetry.annotateResponse(providerOptions.span, parts),
            onEnd: (parts) => Spend.record(parts, providerOptions.span, budget)
          }).pipe(Effect.withParentSpan(span))
        })
      )
    // `@effect/ai`'s service over the two; a call without a toolkit runs `@effect/ai`'s own steps with the answer's
    // schema built once instead of per call (internal/schemaKept.ts).
    const service = yield* LanguageModel.make({ generateText, streamText })
    return yield* KeptSchema.withSchemaKept(service, { generateText, streamText })
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
