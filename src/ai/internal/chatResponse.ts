/**
 * The answer side of `POST /chat/completions`: completion bodies and SSE chunks -> `@effect/ai` response parts. Pure:
 * no I/O, no services — `ChutesLanguageModel` does the transport, ./sse.ts cuts a stream into events.
 *
 * Facts this encodes: reasoning arrives as `reasoning_content` (sometimes `reasoning`); usage repeats on many stream
 * chunks (the last one wins); a mid-stream error can arrive as a raw `{"error": …}` line without the `data:` prefix
 * (./sse.ts hands it over as an event).
 */
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { firstIssue } from "../../internal/parseIssue.js"
import { excerpt } from "../../internal/redact.js"
import type * as ChutesAiError from "../ChutesAiError.js"
import type { ResponseInfo } from "../ChutesLanguageModel.js"
import type { Meter } from "./cost.js"
import { type Method, outputError, unknownError } from "./errors.js"
import { defaultStreamLimits, type SseEvent, type StreamLimits } from "./sse.js"

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
type CompletionWire = typeof CompletionSchema.Type

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

const isNullish = (value: unknown): value is null | undefined => value === undefined || value === null
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
const nullishString = (value: unknown): boolean => isNullish(value) || typeof value === "string"
const nullishNumber = (value: unknown): boolean => isNullish(value) || typeof value === "number"
const nullishCount = (value: unknown, field: string): boolean =>
  isNullish(value) || (isObject(value) && nullishNumber(value[field]))

/** `id`, `model` and `created` of a completion or chunk as the Schemas accept them. */
const commonHead = (json: Record<string, unknown>): boolean =>
  nullishString(json["id"]) && nullishString(json["model"]) && nullishNumber(json["created"])

/** A message or delta of text and reasoning only, as `MessageFields` accept it: no tool calls. */
const commonMessage = (message: unknown): boolean =>
  isObject(message) && nullishString(message["content"]) && nullishString(message["reasoning_content"]) &&
  nullishString(message["reasoning"]) && isNullish(message["tool_calls"])

/** A usage (absent, null, or with the counts `UsageSchema` accepts). */
const commonUsage = (usage: unknown): boolean =>
  isNullish(usage) || (
    isObject(usage) && nullishNumber(usage["prompt_tokens"]) && nullishNumber(usage["completion_tokens"]) &&
    nullishNumber(usage["total_tokens"]) && nullishCount(usage["prompt_tokens_details"], "cached_tokens") &&
    nullishCount(usage["completion_tokens_details"], "reasoning_tokens")
  )

/**
 * The common stream chunk — text or reasoning deltas, a finish reason, a running usage — checked field by field
 * instead of by `ChunkSchema`: that decode cost ~4 µs per event over `JSON.parse`, about a third of the SDK's CPU on a
 * long stream (bench/README.md, "Chat"). It accepts only what `ChunkSchema` accepts and returns the parsed JSON as
 * is (its other fields are never read); anything else (tool calls included) is `undefined`, and `ChunkSchema`
 * decides, so the answers and the error messages stay the Schema's.
 */
export const commonChunk = (json: unknown): ChunkWire | undefined => {
  if (!isObject(json) || !commonHead(json) || !commonUsage(json["usage"])) return undefined
  const choices = json["choices"]
  if (!isNullish(choices)) {
    if (!Array.isArray(choices)) return undefined
    for (const choice of choices) {
      if (!isObject(choice) || !nullishNumber(choice["index"]) || !nullishString(choice["finish_reason"])) return undefined
      const delta = choice["delta"]
      if (!isNullish(delta) && !commonMessage(delta)) return undefined
    }
  }
  return json as ChunkWire
}

/**
 * The common completion — text or reasoning, a finish reason, a usage — checked field by field instead of by
 * `CompletionSchema`, as {@link commonChunk} is for a stream: the Schema's decode was ~20 µs of a completion's CPU
 * (bench/README.md, "Chat", sixth pass). The same contract: only what `CompletionSchema` accepts, the parsed JSON
 * as is; tool calls and anything else go to the Schema.
 */
export const commonCompletion = (json: unknown): CompletionWire | undefined => {
  if (!isObject(json) || !commonHead(json) || !commonUsage(json["usage"])) return undefined
  const choices = json["choices"]
  if (!Array.isArray(choices)) return undefined
  for (const choice of choices) {
    if (
      !isObject(choice) || !nullishNumber(choice["index"]) || !nullishString(choice["finish_reason"]) ||
      !commonMessage(choice["message"])
    ) return undefined
  }
  return json as CompletionWire
}

/**
 * Maps the service's `finish_reason` to `@effect/ai`'s.
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

/**
 * A token count as the usage and the cost take it: a whole, non-negative, safe number; anything else (a negative, a
 * fraction, `1e308`) is not a count and counts as unreported — it would make the cost, the metrics and the budget
 * negative, NaN or Infinity.
 */
const tokens = (count: number | null | undefined): number | undefined =>
  typeof count === "number" && Number.isSafeInteger(count) && count >= 0 ? count : undefined

/**
 * A body or event that is the service's error: an `error` that is not null, and no choice beside it (`"choices": []`
 * counts as none; a chunk with choices and `"error": null` is an answer).
 */
const isServiceError = (json: unknown): json is Readonly<Record<"error", unknown>> =>
  Predicate.isRecord(json) && "error" in json && json["error"] !== null && json["error"] !== undefined &&
  (!("choices" in json) || json["choices"] === null || (Array.isArray(json["choices"]) && json["choices"].length === 0))

const usagePart = (usage: UsageWire | null | undefined): typeof Response.Usage.Encoded => {
  const input = tokens(usage?.prompt_tokens)
  const output = tokens(usage?.completion_tokens)
  return {
    inputTokens: input,
    outputTokens: output,
    totalTokens: tokens(usage?.total_tokens) ?? (input !== undefined && output !== undefined ? input + output : undefined),
    reasoningTokens: tokens(usage?.completion_tokens_details?.reasoning_tokens),
    cachedInputTokens: tokens(usage?.prompt_tokens_details?.cached_tokens)
  }
}

/** The finish part, with the call's cost under `metadata.chutes` when there is a meter. */
const finishPart = (
  reason: Response.FinishReason,
  usage: typeof Response.Usage.Encoded,
  meter: Meter | undefined
): Response.FinishPartEncoded =>
  meter === undefined
    ? { type: "finish", reason, usage }
    : { type: "finish", reason, usage, metadata: { chutes: meter(usage) } }

const timestamp = (created: number | null | undefined): string | undefined => {
  if (created === undefined || created === null || !Number.isFinite(created) || created <= 0) return undefined
  // What `DateTime.formatIso(DateTime.unsafeMake(ms))` gives for a valid date, without building the `DateTime`.
  const date = new Date(created * 1000)
  return Number.isNaN(date.getTime()) ? DateTime.formatIso(DateTime.unsafeMake(created * 1000)) : date.toISOString()
}

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
const serviceError = (method: Method, error: unknown, info: ResponseInfo, midStream: boolean): ChutesAiError.ChutesAiError =>
  unknownError(
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
): Either.Either<unknown, ChutesAiError.ChutesAiError> => {
  if (typeof args !== "string") return Either.right(args ?? {})
  if (args.trim() === "") return Either.right({})
  try {
    return Either.right(Tool.unsafeSecureJsonParse(args))
  } catch (cause) {
    return Either.left(outputError(
      method,
      "InvalidToolArguments",
      `The arguments of tool call ${excerpt(JSON.stringify(name), 80)} are not valid JSON (${
        cause instanceof Error ? excerpt(cause.message, 120) : "parse error"
      }): ${excerpt(args, 200)}`
    ))
  }
}

const newToolCallId = (): string => `call_${globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`

const decodeCompletion = Schema.decodeUnknownEither(CompletionSchema)

/**
 * A non-streaming completion body -> `@effect/ai` parts: response metadata, reasoning, text, tool calls, finish.
 * A plain function, not an `Effect.gen`: it is pure, and runs once per call (bench/README.md, "Chat", fourth pass).
 */
export const completionParts = (
  method: Method,
  bodyText: string,
  info: ResponseInfo,
  /** The finish part's `chutes` metadata (the call's cost), from its usage. */
  meter?: Meter | undefined
): Effect.Effect<Array<Response.PartEncoded>, ChutesAiError.ChutesAiError> =>
  Effect.suspend(() => completionPartsEither(method, bodyText, info, meter))

const completionPartsEither = (
  method: Method,
  bodyText: string,
  info: ResponseInfo,
  meter: Meter | undefined
): Either.Either<Array<Response.PartEncoded>, ChutesAiError.ChutesAiError> => {
  const json = parseJson(bodyText)
  if (Either.isLeft(json)) {
    return Either.left(outputError(
      method,
      "InvalidResponse",
      `The answer from ${info.ref} is not JSON (${excerpt(json.left, 80)}): ${excerpt(bodyText, 200)}`
    ))
  }
  if (isServiceError(json.right)) {
    return Either.left(serviceError(method, json.right["error"], info, false))
  }
  const common = commonCompletion(json.right)
  const decoded = common !== undefined ? Either.right(common) : decodeCompletion(json.right)
  if (Either.isLeft(decoded)) {
    return Either.left(outputError(
      method,
      "InvalidResponse",
      `The answer from ${info.ref} is not a chat completion: ${
        firstIssue(decoded.left)
      }`
    ))
  }
  const response = decoded.right
  const choice = response.choices[0]
  if (choice === undefined) {
    return Either.left(outputError(method, "InvalidResponse", `The answer from ${info.ref} has no choices`))
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
      return Either.left(outputError(method, "InvalidResponse", `A tool call from ${info.ref} has no name`))
    }
    const params = parseArgumentsEither(method, name, call.function?.arguments)
    if (Either.isLeft(params)) return Either.left(params.left)
    parts.push({ type: "tool-call", id: call.id ?? newToolCallId(), name, params: params.right, providerExecuted: false })
  }
  parts.push(finishPart(finishReason(choice.finish_reason, toolCalls.length > 0), usagePart(response.usage), meter))
  return Either.right(parts)
}

interface ActiveToolCall {
  readonly index: number
  readonly id: string
  /** Whether `id` is the server's (else one made here, for a call that came without one). */
  readonly idFromServer: boolean
  name: string
  args: string
  started: boolean
  /** Where the arguments stand, read as they arrive (never re-read whole): see {@link scanArguments}. */
  shape: ArgumentsShape
}

/** How far a call's argument text has come: its bracket depth, and whether it is inside a string (or an escape). */
interface ArgumentsShape {
  depth: number
  inString: boolean
  escaped: boolean
  /** An object, array or string at the top has ended (and nothing was opened after it): the arguments are whole. */
  closed: boolean
}

/**
 * Whether a call's arguments are whole: an object, array or string closed at the top, from the scan; a bare number or
 * literal (rare, and short) by parsing it.
 */
const whole = (call: ActiveToolCall): boolean => {
  const { shape } = call
  if (shape.closed) return true
  if (shape.depth > 0 || shape.inString) return false
  const text = call.args.trim()
  return text !== "" && !text.startsWith("{") && !text.startsWith("[") && !text.startsWith("\"") &&
    Either.isRight(parseJson(text))
}

/** Reads `delta` into `shape`: O(length of the delta), so a call's arguments are scanned once in all. */
const scanArguments = (shape: ArgumentsShape, delta: string): void => {
  for (const char of delta) {
    if (shape.inString) {
      if (shape.escaped) shape.escaped = false
      else if (char === "\\") shape.escaped = true
      else if (char === "\"") {
        shape.inString = false
        // A string at the top (arguments some servers encode twice, as a JSON string) is whole once it ends.
        if (shape.depth === 0) shape.closed = true
      }
    } else if (char === "\"") {
      shape.inString = true
      shape.closed = false
    } else if (char === "{" || char === "[") {
      shape.depth++
      shape.closed = false
    } else if ((char === "}" || char === "]") && shape.depth > 0) {
      shape.depth--
      if (shape.depth === 0) shape.closed = true
    }
  }
}

/**
 * Assembles stream chunks into `@effect/ai` stream parts. One per response: it holds the state of open text,
 * reasoning and tool calls, the finish reason and the last usage seen.
 */
export interface StreamAssembler {
  /** The parts for one event; fails on a service error or an unusable event. */
  readonly push: (event: SseEvent) => Effect.Effect<ReadonlyArray<Response.StreamPartEncoded>, ChutesAiError.ChutesAiError>
  /**
   * The parts for the events of one network read, added to `out`, up to the end marker; returns the error that ends
   * the stream, if any (the parts of the events before it are in `out`).
   */
  readonly pushAll: (
    events: Iterable<SseEvent>,
    out: Array<Response.StreamPartEncoded>
  ) => ChutesAiError.ChutesAiError | undefined
  /** Whether `[DONE]` was seen: nothing after it is read. */
  readonly isDone: () => boolean
  /** The closing parts (open parts ended, tool calls, finish); fails when the stream stopped before the model did. */
  readonly end: Effect.Effect<ReadonlyArray<Response.StreamPartEncoded>, ChutesAiError.ChutesAiError>
  /** {@link end}, adding the parts to `out`. */
  readonly endInto: (out: Array<Response.StreamPartEncoded>) => ChutesAiError.ChutesAiError | undefined
}

/**
 * A fresh assembler. `limits.maxToolArgumentsLength` (default {@link defaultStreamLimits}) bounds the tool-call
 * arguments it accumulates.
 */
export const makeStreamAssembler = (
  info: ResponseInfo,
  limits: Partial<Pick<StreamLimits, "maxToolArgumentsLength">> = {},
  /** The finish part's `chutes` metadata (the call's cost), from the last usage: called once, at the end. */
  meter?: Meter | undefined
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
  /** Every tool call of the answer, in the order they began; the one being streamed at each index in `atIndex`. */
  const toolCalls: Array<ActiveToolCall> = []
  const atIndex = new Map<number, ActiveToolCall>()

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
  ): ChutesAiError.ChutesAiError | undefined => {
    const index = call.index ?? position
    let active = atIndex.get(index)
    // Another call at an index in use (some servers number every call 0): a new server id with the name of another
    // function, or with the same name once the call there has whole arguments. A new id otherwise continues the call:
    // other servers send a fresh id — and some the name too — on every chunk of one call.
    const id = typeof call.id === "string" && call.id !== "" ? call.id : undefined
    const name = call.function?.name
    const another = active !== undefined && id !== undefined && active.idFromServer && id !== active.id &&
      typeof name === "string" && name !== "" && (name !== active.name || whole(active))
    if (active === undefined || another) {
      active = {
        index,
        id: id ?? newToolCallId(),
        idFromServer: id !== undefined,
        name: "",
        args: "",
        started: false,
        shape: { depth: 0, inString: false, escaped: false, closed: false }
      }
      atIndex.set(index, active)
      toolCalls.push(active)
    }
    if (active.name === "" && name !== undefined && name !== null) active.name = name
    const args = call.function?.arguments
    const delta = typeof args === "string" ? args : args !== undefined && args !== null ? JSON.stringify(args) : ""
    toolArguments += delta.length
    if (toolArguments > maxToolArguments) {
      return outputError(
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
      scanArguments(active.shape, delta)
      if (active.started) parts.push({ type: "tool-params-delta", id: active.id, delta })
    }
    return undefined
  }

  const onChunk = (chunk: ChunkWire, parts: Array<Response.StreamPartEncoded>): ChutesAiError.ChutesAiError | undefined => {
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
  const step = (event: SseEvent, parts: Array<Response.StreamPartEncoded>): ChutesAiError.ChutesAiError | undefined => {
    if (done) return undefined
    if (event._tag === "Done") {
      done = true
      return undefined
    }
    const json = parseJson(event.data)
    if (Either.isLeft(json)) {
      return outputError(
        method,
        "InvalidResponse",
        `A stream event from ${info.ref} is not JSON (${excerpt(json.left, 80)}): ${excerpt(event.data, 200)}`
      )
    }
    if (isServiceError(json.right)) {
      return serviceError(method, json.right["error"], info, true)
    }
    const common = commonChunk(json.right)
    if (common !== undefined) return onChunk(common, parts)
    const decoded = Schema.decodeUnknownEither(ChunkSchema)(json.right)
    if (Either.isLeft(decoded)) {
      return outputError(
        method,
        "InvalidResponse",
        `A stream event from ${info.ref} is not a chat completion chunk: ${
          firstIssue(decoded.left)
        }`
      )
    }
    return onChunk(decoded.right, parts)
  }

  const push = (event: SseEvent): Effect.Effect<ReadonlyArray<Response.StreamPartEncoded>, ChutesAiError.ChutesAiError> =>
    Effect.suspend(() => {
      const parts: Array<Response.StreamPartEncoded> = []
      const error = step(event, parts)
      return error === undefined ? Effect.succeed(parts) : Effect.fail(error)
    })

  const pushAll = (events: Iterable<SseEvent>, out: Array<Response.StreamPartEncoded>): ChutesAiError.ChutesAiError | undefined => {
    for (const event of events) {
      if (done) return undefined
      const error = step(event, out)
      if (error !== undefined) return error
    }
    return undefined
  }

  const endInto = (out: Array<Response.StreamPartEncoded>): ChutesAiError.ChutesAiError | undefined => {
    if (!done && !sawFinish) {
      return unknownError(
        method,
        "StreamTruncated",
        `The stream from ${info.ref} ended before the model finished (no finish reason, no [DONE])`
      )
    }
    const parts: Array<Response.StreamPartEncoded> = []
    if (!metadataSent) parts.push(metadataPart({}, info))
    closeReasoning(parts)
    closeText(parts)
    // By index; calls that share one in the order they began (the sort is stable).
    const ordered = toolCalls.slice().sort((a, b) => a.index - b.index)
    for (const call of ordered) {
      if (call.name === "") {
        return outputError(method, "InvalidResponse", `A tool call from ${info.ref} has no name`)
      }
      const params = parseArgumentsEither(method, call.name, call.args)
      if (Either.isLeft(params)) return params.left
      parts.push({ type: "tool-params-end", id: call.id })
      parts.push({ type: "tool-call", id: call.id, name: call.name, params: params.right, providerExecuted: false })
    }
    parts.push(finishPart(finishReason(finish, ordered.length > 0), usagePart(usage), meter))
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
