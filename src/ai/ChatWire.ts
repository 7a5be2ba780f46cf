/**
 * The wire format of `POST /chat/completions` as the live Chutes service wants it (SPEC §8), in both directions:
 * `@effect/ai` prompts and options -> request body, and completion bodies or SSE chunks -> `@effect/ai` response
 * parts. Pure: no I/O, no services — `ChutesLanguageModel` does the transport.
 *
 * Facts this encodes: `max_tokens` (never `max_completion_tokens`), system prompts as role `system` (no `developer`),
 * no `store`; reasoning arrives as `reasoning_content` (sometimes `reasoning`); usage repeats on many stream chunks
 * (the last one wins); a mid-stream error can arrive as a raw `{"error": …}` line without the `data:` prefix.
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { excerpt } from "../internal/redact.js"
import type * as ModelCatalog from "../ModelCatalog.js"
import * as ChutesAiError from "./ChutesAiError.js"
import { defaultStreamLimits, type SseEvent, type StreamLimits } from "./internal/sse.js"

// =====================================================================================================================
// Request options
// =====================================================================================================================

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
 * The model a request goes to: what the caller wrote, and what it resolved to.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelTarget {
  /** The caller's input: an alias, a ref or a model id. */
  readonly input: string
  /** The model id sent as `model`. */
  readonly id: string
  /** `chutes/<id>` */
  readonly ref: string
  /** The catalog entry, when the current catalog lists the model. */
  readonly definition: ModelCatalog.ModelDefinition | undefined
}

type Method = ChutesAiError.Method
type Json = Record<string, unknown>

const RESERVED_KEYS: ReadonlySet<string> = new Set(["model", "messages", "stream", "stream_options"])
const REFUSED_KEYS: Readonly<Record<string, string>> = {
  store: "the live service does not take `store`",
  max_completion_tokens: "the live service takes `max_tokens` (use the `maxTokens` option), not `max_completion_tokens`"
}

// =====================================================================================================================
// Prompt -> messages
// =====================================================================================================================

const describeInputs = (definition: ModelCatalog.ModelDefinition): string => definition.input.join(", ")

/** Which catalog models take a modality, for the "use one of" hint. */
const modelsWith = (
  catalog: ReadonlyArray<ModelCatalog.ModelDefinition>,
  modality: ModelCatalog.InputModality
): string => {
  const refs = catalog
    .filter((model) => model.input.includes(modality))
    .slice(0, 3)
    .map((model) => `chutes/${model.id}`)
  return refs.length > 0 ? `; models with ${modality} input: ${refs.join(", ")}` : ""
}

const fileUrl = (part: Prompt.FilePart, mediaType: string): string => {
  const data = part.data
  if (data instanceof URL) return data.toString()
  if (data instanceof Uint8Array) return `data:${mediaType};base64,${Encoding.encodeBase64(data)}`
  // A string is a URL (http, https, data) or base64 content.
  return /^(https?:|data:)/i.test(data) ? data : `data:${mediaType};base64,${data}`
}

const filePartContent = (
  method: Method,
  part: Prompt.FilePart,
  target: ModelTarget,
  catalog: ReadonlyArray<ModelCatalog.ModelDefinition>
): Effect.Effect<Json, AiError.AiError> => {
  const mediaType = part.mediaType.toLowerCase()
  const modality: ModelCatalog.InputModality | undefined = mediaType.startsWith("image/")
    ? "image"
    : mediaType.startsWith("video/")
    ? "video"
    : undefined
  if (modality === undefined) {
    return Effect.fail(ChutesAiError.inputError(
      method,
      "UnsupportedInput",
      `Chutes chat completions take images (and videos, for models with video input), not ${
        JSON.stringify(excerpt(part.mediaType, 60))
      } files`
    ))
  }
  // A model the catalog does not list is given the benefit of the doubt: catalogs go stale.
  if (target.definition !== undefined && !target.definition.input.includes(modality)) {
    return Effect.fail(ChutesAiError.inputError(
      method,
      "UnsupportedInput",
      `Model ${target.ref} does not accept ${modality} input (its catalog entry lists: ${
        describeInputs(target.definition)
      })${modelsWith(catalog, modality)}`
    ))
  }
  const concrete = mediaType === `${modality}/*` ? (modality === "image" ? "image/jpeg" : "video/mp4") : part.mediaType
  const url = fileUrl(part, concrete)
  return Effect.succeed(
    modality === "image" ? { type: "image_url", image_url: { url } } : { type: "video_url", video_url: { url } }
  )
}

const toolResultContent = (result: unknown): string =>
  typeof result === "string" ? result : JSON.stringify(result) ?? "null"

const prepareMessages = (
  method: Method,
  prompt: Prompt.Prompt,
  target: ModelTarget,
  catalog: ReadonlyArray<ModelCatalog.ModelDefinition>
): Effect.Effect<Array<Json>, AiError.AiError> =>
  Effect.gen(function*() {
    const messages: Array<Json> = []
    for (const message of prompt.content) {
      switch (message.role) {
        case "system": {
          // Never `developer`: the live service's chat templates know `system` only.
          messages.push({ role: "system", content: message.content })
          break
        }
        case "user": {
          const only = message.content[0]
          if (message.content.length === 1 && only !== undefined && only.type === "text") {
            messages.push({ role: "user", content: only.text })
            break
          }
          const content: Array<Json> = []
          for (const part of message.content) {
            if (part.type === "text") content.push({ type: "text", text: part.text })
            else content.push(yield* filePartContent(method, part, target, catalog))
          }
          messages.push({ role: "user", content })
          break
        }
        case "assistant": {
          let text = ""
          const toolCalls: Array<Json> = []
          for (const part of message.content) {
            switch (part.type) {
              case "text":
                text += part.text
                break
              case "tool-call":
                toolCalls.push({
                  id: part.id,
                  type: "function",
                  function: { name: part.name, arguments: JSON.stringify(part.params ?? {}) }
                })
                break
              case "file":
                return yield* ChutesAiError.inputError(
                  method,
                  "UnsupportedInput",
                  "Chutes chat completions take no files in assistant messages"
                )
              // Earlier reasoning is not sent back (the templates drop it anyway), nor results of provider-run tools.
              case "reasoning":
              case "tool-result":
                break
            }
          }
          messages.push({
            role: "assistant",
            content: text.length > 0 ? text : toolCalls.length > 0 ? null : "",
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {})
          })
          break
        }
        case "tool": {
          for (const part of message.content) {
            messages.push({ role: "tool", tool_call_id: part.id, content: toolResultContent(part.result) })
          }
          break
        }
      }
    }
    return messages
  })

// =====================================================================================================================
// Tools and response format
// =====================================================================================================================

const prepareTools = (
  method: Method,
  options: LanguageModel.ProviderOptions
): Effect.Effect<{ readonly tools?: Array<Json>; readonly tool_choice?: unknown }, AiError.AiError> => {
  if (options.tools.length === 0) return Effect.succeed({})
  const tools: Array<Json> = []
  for (const tool of options.tools) {
    if (Tool.isProviderDefined(tool)) {
      return Effect.fail(ChutesAiError.inputError(
        method,
        "UnsupportedInput",
        `Tool ${JSON.stringify(tool.name)} is provider-defined; Chutes runs user-defined function tools only`
      ))
    }
    const description = tool.description ?? Tool.getDescriptionFromSchemaAst(tool.parametersSchema.ast)
    tools.push({
      type: "function",
      function: {
        name: tool.name,
        ...(description !== undefined ? { description } : {}),
        parameters: Tool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast)
      }
    })
  }
  const choice = options.toolChoice
  const toolChoice: unknown = choice === "auto" || choice === "none" || choice === "required"
    ? choice
    : "tool" in choice
    ? { type: "function", function: { name: choice.tool } }
    // `oneOf`: @effect/ai already left only the allowed tools in `options.tools`.
    : choice.mode === "required"
    ? "required"
    : "auto"
  return Effect.succeed({ tools, tool_choice: toolChoice })
}

const jsonInstruction = (schema: unknown): string =>
  `Respond with a single JSON object, and nothing else, that matches this JSON schema:\n${JSON.stringify(schema)}`

/** The `json_schema` name: letters, digits, `_` and `-`, at most 64 characters. */
const schemaName = (name: string): string => {
  const clean = name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64)
  return clean.length > 0 ? clean : "response"
}

/**
 * JSON output: `json_schema` when the model's catalog entry has `structured_outputs`, `json_object` (plus the schema
 * in the system prompt) when it has `json_mode` only, else the schema in the system prompt alone.
 */
const prepareResponseFormat = (
  options: LanguageModel.ProviderOptions,
  target: ModelTarget
): { readonly responseFormat?: Json; readonly instruction?: string } => {
  const format = options.responseFormat
  if (format.type !== "json") return {}
  const schema = Tool.getJsonSchemaFromSchemaAst(format.schema.ast)
  if (target.definition?.structuredOutputs === true) {
    return { responseFormat: { type: "json_schema", json_schema: { name: schemaName(format.objectName), schema } } }
  }
  if (target.definition?.jsonMode === true) {
    return { responseFormat: { type: "json_object" }, instruction: jsonInstruction(schema) }
  }
  return { instruction: jsonInstruction(schema) }
}

/** Adds an instruction to the leading system message, or puts one first (templates want a single system message). */
const withSystemInstruction = (messages: Array<Json>, instruction: string): Array<Json> => {
  const first = messages[0]
  if (first !== undefined && first["role"] === "system" && typeof first["content"] === "string") {
    return [{ ...first, content: `${first["content"]}\n\n${instruction}` }, ...messages.slice(1)]
  }
  return [{ role: "system", content: instruction }, ...messages]
}

const samplingFields = (config: RequestOptions): Json => {
  const out: Json = {}
  const set = (key: string, value: unknown) => {
    if (value !== undefined) out[key] = value
  }
  set("temperature", config.temperature)
  set("top_p", config.topP)
  set("top_k", config.topK)
  set("min_p", config.minP)
  set("frequency_penalty", config.frequencyPenalty)
  set("presence_penalty", config.presencePenalty)
  set("repetition_penalty", config.repetitionPenalty)
  set("seed", config.seed)
  set("stop", config.stop)
  set("max_tokens", config.maxTokens)
  set("parallel_tool_calls", config.parallelToolCalls)
  set("user", config.user)
  if (config.thinking !== undefined || config.chatTemplateKwargs !== undefined) {
    out["chat_template_kwargs"] = {
      ...(config.thinking !== undefined ? { enable_thinking: config.thinking, thinking: config.thinking } : {}),
      ...config.chatTemplateKwargs
    }
  }
  return out
}

const checkOptions = (method: Method, config: RequestOptions): Effect.Effect<void, AiError.AiError> => {
  if (config.maxTokens !== undefined && !(Number.isInteger(config.maxTokens) && config.maxTokens > 0)) {
    return Effect.fail(ChutesAiError.inputError(method, "BadRequest", `maxTokens must be a positive integer`))
  }
  for (const key of Object.keys(config.extraBody ?? {})) {
    const refused = REFUSED_KEYS[key]
    if (refused !== undefined) {
      return Effect.fail(ChutesAiError.inputError(method, "UnsupportedInput", `extraBody.${key}: ${refused}`))
    }
  }
  return Effect.void
}

/**
 * The request body for one model.
 *
 * @since 0.1.0
 * @category encoding
 */
export const requestBody = (params: {
  readonly method: Method
  readonly options: LanguageModel.ProviderOptions
  readonly target: ModelTarget
  readonly config: RequestOptions
  readonly stream: boolean
  /** The current catalog, for hints in errors. */
  readonly catalog: ReadonlyArray<ModelCatalog.ModelDefinition>
}): Effect.Effect<Json, AiError.AiError> =>
  Effect.gen(function*() {
    const { config, method, options, target } = params
    yield* checkOptions(method, config)
    const prepared = yield* prepareMessages(method, options.prompt, target, params.catalog)
    const tools = yield* prepareTools(method, options)
    const format = prepareResponseFormat(options, target)
    const messages = format.instruction !== undefined ? withSystemInstruction(prepared, format.instruction) : prepared
    const extra: Json = {}
    for (const [key, value] of Object.entries(config.extraBody ?? {})) {
      if (!RESERVED_KEYS.has(key)) extra[key] = value
    }
    return {
      ...extra,
      model: target.id,
      messages,
      ...tools,
      ...(format.responseFormat !== undefined ? { response_format: format.responseFormat } : {}),
      ...samplingFields(config),
      ...(params.stream ? { stream: true, stream_options: { include_usage: true } } : {})
    }
  })

// =====================================================================================================================
// Response bodies
// =====================================================================================================================

const nullish = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

const UsageSchema = Schema.Struct({
  prompt_tokens: nullish(Schema.Number),
  completion_tokens: nullish(Schema.Number),
  total_tokens: nullish(Schema.Number),
  prompt_tokens_details: nullish(Schema.Struct({ cached_tokens: nullish(Schema.Number) })),
  completion_tokens_details: nullish(Schema.Struct({ reasoning_tokens: nullish(Schema.Number) }))
})
type UsageWire = typeof UsageSchema.Type

const ToolCallSchema = Schema.Struct({
  index: nullish(Schema.Number),
  id: nullish(Schema.String),
  type: nullish(Schema.String),
  function: nullish(Schema.Struct({
    name: nullish(Schema.String),
    // A string per the API; some engines send an object.
    arguments: nullish(Schema.Unknown)
  }))
})
type ToolCallWire = typeof ToolCallSchema.Type

const MessageFields = {
  content: nullish(Schema.String),
  reasoning_content: nullish(Schema.String),
  reasoning: nullish(Schema.String),
  tool_calls: nullish(Schema.Array(ToolCallSchema))
}

const CompletionSchema = Schema.Struct({
  id: nullish(Schema.String),
  model: nullish(Schema.String),
  created: nullish(Schema.Number),
  choices: Schema.Array(Schema.Struct({
    index: nullish(Schema.Number),
    message: Schema.Struct(MessageFields),
    finish_reason: nullish(Schema.String)
  })),
  usage: nullish(UsageSchema)
})

const ChunkSchema = Schema.Struct({
  id: nullish(Schema.String),
  model: nullish(Schema.String),
  created: nullish(Schema.Number),
  choices: nullish(Schema.Array(Schema.Struct({
    index: nullish(Schema.Number),
    delta: nullish(Schema.Struct(MessageFields)),
    finish_reason: nullish(Schema.String)
  }))),
  usage: nullish(UsageSchema)
})
type ChunkWire = typeof ChunkSchema.Type

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
 * One model a failover passed over: its id, the failure kind (see `ChutesAiError.Kind`) and the HTTP status.
 *
 * @since 0.1.0
 * @category models
 */
export type FailoverStep = {
  readonly model: string
  readonly kind: string
  readonly status?: number | undefined
}

/**
 * Maps the service's `finish_reason` to `@effect/ai`'s.
 *
 * @since 0.1.0
 * @category decoding
 */
export const finishReason = (reason: string | null | undefined, hasToolCalls: boolean): Response.FinishReason => {
  switch (reason) {
    case "stop":
    case "eos":
      // Some engines say "stop" after tool calls.
      return hasToolCalls ? "tool-calls" : "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case "content_filter":
      return "content-filter"
    case "error":
      return "error"
    case "abort":
    case "cancelled":
      return "other"
    case null:
    case undefined:
      return hasToolCalls ? "tool-calls" : "unknown"
    default:
      return "other"
  }
}

const usagePart = (usage: UsageWire | null | undefined): typeof Response.Usage.Encoded => {
  const input = usage?.prompt_tokens ?? undefined
  const output = usage?.completion_tokens ?? undefined
  return {
    inputTokens: input,
    outputTokens: output,
    totalTokens: usage?.total_tokens ?? (input !== undefined && output !== undefined ? input + output : undefined),
    reasoningTokens: usage?.completion_tokens_details?.reasoning_tokens ?? undefined,
    cachedInputTokens: usage?.prompt_tokens_details?.cached_tokens ?? undefined
  }
}

const timestamp = (created: number | null | undefined): string | undefined =>
  created !== undefined && created !== null && Number.isFinite(created) && created > 0
    ? DateTime.formatIso(DateTime.unsafeMake(created * 1000))
    : undefined

const metadataPart = (
  wire: {
    readonly id?: string | null | undefined
    readonly model?: string | null | undefined
    readonly created?: number | null | undefined
  },
  info: ResponseInfo
): Response.ResponseMetadataPartEncoded => ({
  type: "response-metadata",
  id: wire.id ?? undefined,
  modelId: wire.model ?? info.model,
  timestamp: timestamp(wire.created),
  metadata: { chutes: info }
})

const errorMessage = (value: unknown): string => {
  if (typeof value === "string") return value
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>
    const message = record["message"] ?? record["detail"] ?? record["error"]
    const code = record["code"] ?? record["type"]
    const text = typeof message === "string" ? message : JSON.stringify(value)
    return code !== undefined && code !== null ? `${text} (code ${String(code)})` : text
  }
  return String(value)
}

/** The service's `{"error": …}` inside a 200 answer, as an error. */
const serviceError = (method: Method, error: unknown, info: ResponseInfo, midStream: boolean): AiError.AiError =>
  ChutesAiError.unknownError(
    method,
    "ServiceError",
    `Chutes reported an error ${midStream ? "mid-stream" : "in its answer"} from ${info.ref}` +
      `${info.invocationId !== undefined ? ` (invocation ${info.invocationId})` : ""}: ` +
      excerpt(errorMessage(error), 300)
  )

const parseJson = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

/** Tool arguments as the model wrote them -> parameters; "" means none. */
const parseArgumentsEither = (
  method: Method,
  name: string,
  args: unknown
): Either.Either<unknown, AiError.AiError> => {
  if (typeof args !== "string") return Either.right(args ?? {})
  if (args.trim() === "") return Either.right({})
  try {
    return Either.right(Tool.unsafeSecureJsonParse(args))
  } catch (cause) {
    return Either.left(ChutesAiError.outputError(
      method,
      "InvalidToolArguments",
      `The arguments of tool call ${JSON.stringify(name)} are not valid JSON (${
        cause instanceof Error ? excerpt(cause.message, 120) : "parse error"
      }): ${excerpt(args, 200)}`
    ))
  }
}

const parseArguments = (method: Method, name: string, args: unknown): Effect.Effect<unknown, AiError.AiError> =>
  Effect.suspend(() => parseArgumentsEither(method, name, args))

const newToolCallId = (): string => `call_${randomUUID().replace(/-/g, "").slice(0, 24)}`

/**
 * A non-streaming completion body -> `@effect/ai` parts: response metadata, reasoning, text, tool calls, finish.
 *
 * @since 0.1.0
 * @category decoding
 */
export const completionParts = (
  method: Method,
  bodyText: string,
  info: ResponseInfo
): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> =>
  Effect.gen(function*() {
    const json = parseJson(bodyText)
    if (Either.isLeft(json)) {
      return yield* ChutesAiError.outputError(
        method,
        "InvalidResponse",
        `The answer from ${info.ref} is not JSON (${excerpt(json.left, 80)}): ${excerpt(bodyText, 200)}`
      )
    }
    if (Predicate.isRecord(json.right) && "error" in json.right && !("choices" in json.right)) {
      return yield* serviceError(method, json.right["error"], info, false)
    }
    const decoded = Schema.decodeUnknownEither(CompletionSchema)(json.right)
    if (Either.isLeft(decoded)) {
      return yield* ChutesAiError.outputError(
        method,
        "InvalidResponse",
        `The answer from ${info.ref} is not a chat completion: ${
          excerpt(ParseResult.TreeFormatter.formatErrorSync(decoded.left), 300)
        }`
      )
    }
    const response = decoded.right
    const choice = response.choices[0]
    if (choice === undefined) {
      return yield* ChutesAiError.outputError(method, "InvalidResponse", `The answer from ${info.ref} has no choices`)
    }
    const parts: Array<Response.PartEncoded> = [metadataPart(response, info)]
    const message = choice.message
    const reasoning = message.reasoning_content ?? message.reasoning
    if (reasoning !== undefined && reasoning !== null && reasoning.length > 0) {
      parts.push({ type: "reasoning", text: reasoning })
    }
    if (message.content !== undefined && message.content !== null && message.content.length > 0) {
      parts.push({ type: "text", text: message.content })
    }
    const toolCalls = message.tool_calls ?? []
    for (const call of toolCalls) {
      const name = call.function?.name
      if (name === undefined || name === null || name === "") {
        return yield* ChutesAiError.outputError(method, "InvalidResponse", `A tool call from ${info.ref} has no name`)
      }
      const params = yield* parseArguments(method, name, call.function?.arguments)
      parts.push({ type: "tool-call", id: call.id ?? newToolCallId(), name, params, providerExecuted: false })
    }
    parts.push({
      type: "finish",
      reason: finishReason(choice.finish_reason, toolCalls.length > 0),
      usage: usagePart(response.usage)
    })
    return parts
  })

// =====================================================================================================================
// Server-sent events
// =====================================================================================================================

export {
  /** @since 0.1.0 */
  defaultStreamLimits,
  /** @since 0.1.0 */
  makeSseReader,
  /** @since 0.1.0 */
  type SseEvent,
  /** @since 0.1.0 */
  type SseReader,
  /** @since 0.1.0 */
  sseEvents,
  /** @since 0.1.0 */
  type StreamLimits
} from "./internal/sse.js"

interface ActiveToolCall {
  readonly index: number
  readonly id: string
  name: string
  args: string
  started: boolean
}

/**
 * Assembles stream chunks into `@effect/ai` stream parts. One per response: it holds the state of open text,
 * reasoning and tool calls, the finish reason and the last usage seen.
 *
 * @since 0.1.0
 * @category decoding
 */
export interface StreamAssembler {
  /** The parts for one event; fails on a service error or an unusable event. */
  readonly push: (event: SseEvent) => Effect.Effect<ReadonlyArray<Response.StreamPartEncoded>, AiError.AiError>
  /**
   * The parts for the events of one network read, added to `out`, up to the end marker; returns the error that ends
   * the stream, if any (the parts of the events before it are in `out`).
   */
  readonly pushAll: (
    events: Iterable<SseEvent>,
    out: Array<Response.StreamPartEncoded>
  ) => AiError.AiError | undefined
  /** Whether `[DONE]` was seen: nothing after it is read. */
  readonly isDone: () => boolean
  /** The closing parts (open parts ended, tool calls, finish); fails when the stream stopped before the model did. */
  readonly end: Effect.Effect<ReadonlyArray<Response.StreamPartEncoded>, AiError.AiError>
  /** {@link end}, adding the parts to `out`. */
  readonly endInto: (out: Array<Response.StreamPartEncoded>) => AiError.AiError | undefined
}

/**
 * A fresh assembler. `limits.maxToolArgumentsLength` (default {@link defaultStreamLimits}) bounds the tool-call
 * arguments it accumulates.
 *
 * @since 0.1.0
 * @category decoding
 */
export const makeStreamAssembler = (
  info: ResponseInfo,
  limits: Partial<Pick<StreamLimits, "maxToolArgumentsLength">> = {}
): StreamAssembler => {
  const method: Method = "streamText"
  const maxToolArguments = limits.maxToolArgumentsLength ?? defaultStreamLimits.maxToolArgumentsLength
  let nextId = 0
  let textId: string | undefined
  let reasoningId: string | undefined
  let metadataSent = false
  let done = false
  let finish: string | null | undefined
  let sawFinish = false
  let usage: UsageWire | undefined
  let toolArguments = 0
  const toolCalls = new Map<number, ActiveToolCall>()

  const closeText = (parts: Array<Response.StreamPartEncoded>) => {
    if (textId !== undefined) parts.push({ type: "text-end", id: textId })
    textId = undefined
  }
  const closeReasoning = (parts: Array<Response.StreamPartEncoded>) => {
    if (reasoningId !== undefined) parts.push({ type: "reasoning-end", id: reasoningId })
    reasoningId = undefined
  }

  const onToolCall = (
    parts: Array<Response.StreamPartEncoded>,
    call: ToolCallWire,
    position: number
  ): AiError.AiError | undefined => {
    const index = call.index ?? position
    let active = toolCalls.get(index)
    if (active === undefined) {
      active = { index, id: call.id ?? newToolCallId(), name: "", args: "", started: false }
      toolCalls.set(index, active)
    }
    const name = call.function?.name
    if (active.name === "" && name !== undefined && name !== null) active.name = name
    const args = call.function?.arguments
    const delta = typeof args === "string" ? args : args !== undefined && args !== null ? JSON.stringify(args) : ""
    toolArguments += delta.length
    if (toolArguments > maxToolArguments) {
      return ChutesAiError.outputError(
        method,
        "InvalidResponse",
        `The tool-call arguments from ${info.ref} are longer than ${maxToolArguments} characters ` +
          `(limits.maxToolArgumentsLength)`
      )
    }
    if (!active.started && active.name !== "") {
      closeText(parts)
      closeReasoning(parts)
      parts.push({ type: "tool-params-start", id: active.id, name: active.name, providerExecuted: false })
      if (active.args.length > 0) parts.push({ type: "tool-params-delta", id: active.id, delta: active.args })
      active.started = true
    }
    if (delta.length > 0) {
      active.args += delta
      if (active.started) parts.push({ type: "tool-params-delta", id: active.id, delta })
    }
    return undefined
  }

  const onChunk = (chunk: ChunkWire, parts: Array<Response.StreamPartEncoded>): AiError.AiError | undefined => {
    if (!metadataSent) {
      parts.push(metadataPart(chunk, info))
      metadataSent = true
    }
    if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage
    const choice = chunk.choices?.[0]
    if (choice === undefined) return undefined
    const delta = choice.delta
    const reasoning = delta?.reasoning_content ?? delta?.reasoning
    if (reasoning !== undefined && reasoning !== null && reasoning.length > 0) {
      closeText(parts)
      if (reasoningId === undefined) {
        reasoningId = String(nextId++)
        parts.push({ type: "reasoning-start", id: reasoningId })
      }
      parts.push({ type: "reasoning-delta", id: reasoningId, delta: reasoning })
    }
    const content = delta?.content
    if (content !== undefined && content !== null && content.length > 0) {
      closeReasoning(parts)
      if (textId === undefined) {
        textId = String(nextId++)
        parts.push({ type: "text-start", id: textId })
      }
      parts.push({ type: "text-delta", id: textId, delta: content })
    }
    const calls = delta?.tool_calls ?? []
    for (let position = 0; position < calls.length; position++) {
      const error = onToolCall(parts, calls[position]!, position)
      if (error !== undefined) return error
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) {
      finish = choice.finish_reason
      sawFinish = true
    }
    return undefined
  }

  /** One event's parts into `parts`; the error that ends the stream, if any. */
  const step = (event: SseEvent, parts: Array<Response.StreamPartEncoded>): AiError.AiError | undefined => {
    if (done) return undefined
    if (event._tag === "Done") {
      done = true
      return undefined
    }
    const json = parseJson(event.data)
    if (Either.isLeft(json)) {
      return ChutesAiError.outputError(
        method,
        "InvalidResponse",
        `A stream event from ${info.ref} is not JSON (${excerpt(json.left, 80)}): ${excerpt(event.data, 200)}`
      )
    }
    if (Predicate.isRecord(json.right) && "error" in json.right && !("choices" in json.right)) {
      return serviceError(method, json.right["error"], info, true)
    }
    const decoded = Schema.decodeUnknownEither(ChunkSchema)(json.right)
    if (Either.isLeft(decoded)) {
      return ChutesAiError.outputError(
        method,
        "InvalidResponse",
        `A stream event from ${info.ref} is not a chat completion chunk: ${
          excerpt(ParseResult.TreeFormatter.formatErrorSync(decoded.left), 300)
        }`
      )
    }
    return onChunk(decoded.right, parts)
  }

  const push = (event: SseEvent): Effect.Effect<ReadonlyArray<Response.StreamPartEncoded>, AiError.AiError> =>
    Effect.suspend(() => {
      const parts: Array<Response.StreamPartEncoded> = []
      const error = step(event, parts)
      return error === undefined ? Effect.succeed(parts) : Effect.fail(error)
    })

  const pushAll = (events: Iterable<SseEvent>, out: Array<Response.StreamPartEncoded>): AiError.AiError | undefined => {
    for (const event of events) {
      if (done) return undefined
      const error = step(event, out)
      if (error !== undefined) return error
    }
    return undefined
  }

  const endInto = (out: Array<Response.StreamPartEncoded>): AiError.AiError | undefined => {
    if (!done && !sawFinish) {
      return ChutesAiError.unknownError(
        method,
        "StreamTruncated",
        `The stream from ${info.ref} ended before the model finished (no finish reason, no [DONE])`
      )
    }
    const parts: Array<Response.StreamPartEncoded> = []
    if (!metadataSent) parts.push(metadataPart({}, info))
    closeReasoning(parts)
    closeText(parts)
    const ordered = Array.from(toolCalls.values()).sort((a, b) => a.index - b.index)
    for (const call of ordered) {
      if (call.name === "") {
        return ChutesAiError.outputError(method, "InvalidResponse", `A tool call from ${info.ref} has no name`)
      }
      const params = parseArgumentsEither(method, call.name, call.args)
      if (Either.isLeft(params)) return params.left
      parts.push({ type: "tool-params-end", id: call.id })
      parts.push({ type: "tool-call", id: call.id, name: call.name, params: params.right, providerExecuted: false })
    }
    parts.push({ type: "finish", reason: finishReason(finish, ordered.length > 0), usage: usagePart(usage) })
    for (const part of parts) out.push(part)
    return undefined
  }

  const end = Effect.suspend(() => {
    const parts: Array<Response.StreamPartEncoded> = []
    const error = endInto(parts)
    return error === undefined ? Effect.succeed(parts) : Effect.fail(error)
  })

  return { push, pushAll, isDone: () => done, end, endInto }
}
