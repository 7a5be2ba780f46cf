/**
 * The request side of `POST /chat/completions` as the live Chutes service wants it: `@effect/ai` prompts and options ->
 * request body. Pure: no I/O, no services — `ChutesLanguageModel` does the transport.
 *
 * Facts this encodes: `max_tokens` (never `max_completion_tokens`), system prompts as role `system` (no `developer`),
 * no `store`; images and videos as `image_url` / `video_url` parts, for models whose catalog entry takes them.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import { excerpt } from "../../internal/redact.js"
import type * as ModelCatalog from "../../ModelCatalog.js"
import type * as ChutesAiError from "../ChutesAiError.js"
import type { RequestOptions } from "../ChutesLanguageModel.js"
import { inputError, type Method } from "./errors.js"

/** The model a request goes to: what the caller wrote, and what it resolved to. */
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
): Effect.Effect<Json, ChutesAiError.ChutesAiError> => {
  const mediaType = part.mediaType.toLowerCase()
  const modality: ModelCatalog.InputModality | undefined = mediaType.startsWith("image/")
    ? "image"
    : mediaType.startsWith("video/")
    ? "video"
    : undefined
  if (modality === undefined) {
    return Effect.fail(inputError(
      method,
      "UnsupportedInput",
      `Chutes chat completions take images (and videos, for models with video input), not ${
        JSON.stringify(excerpt(part.mediaType, 60))
      } files`
    ))
  }
  // A model the catalog does not list is given the benefit of the doubt: catalogs go stale.
  if (target.definition !== undefined && !target.definition.input.includes(modality)) {
    return Effect.fail(inputError(
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
): Effect.Effect<Array<Json>, ChutesAiError.ChutesAiError> =>
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
                return yield* inputError(
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
): Effect.Effect<{ readonly tools?: Array<Json>; readonly tool_choice?: unknown }, ChutesAiError.ChutesAiError> => {
  if (options.tools.length === 0) return Effect.succeed({})
  const tools: Array<Json> = []
  for (const tool of options.tools) {
    if (Tool.isProviderDefined(tool)) {
      return Effect.fail(inputError(
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

const checkOptions = (method: Method, config: RequestOptions): Effect.Effect<void, ChutesAiError.ChutesAiError> => {
  if (config.maxTokens !== undefined && !(Number.isInteger(config.maxTokens) && config.maxTokens > 0)) {
    return Effect.fail(inputError(method, "BadRequest", `maxTokens must be a positive integer`))
  }
  for (const key of Object.keys(config.extraBody ?? {})) {
    const refused = REFUSED_KEYS[key]
    if (refused !== undefined) {
      return Effect.fail(inputError(method, "UnsupportedInput", `extraBody.${key}: ${refused}`))
    }
  }
  return Effect.void
}

/**
 * The request body for one model.
 */
export const requestBody = (params: {
  readonly method: Method
  readonly options: LanguageModel.ProviderOptions
  readonly target: ModelTarget
  readonly config: RequestOptions
  readonly stream: boolean
  /** The current catalog, for hints in errors. */
  readonly catalog: ReadonlyArray<ModelCatalog.ModelDefinition>
}): Effect.Effect<Json, ChutesAiError.ChutesAiError> =>
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
