/**
 * Chat completion answers as the live service sends them (vLLM / SGLang behind Chutes): one `chat.completion`, or SSE
 * `chat.completion.chunk` events, built from a scripted `ChatReply`. Pure: no state, no I/O.
 */
import { randomUUID } from "node:crypto"
import { randomHex } from "./auth.js"
import { defaultErrorBody } from "./faults.js"
import { jsonReply, type Reply, type StreamTail } from "./reply.js"
import type { ChatErrorReply, ChatReply, ChatStreamOptions, ChatUsage } from "./types.js"

export const defaultChatReply: ChatReply = {
  content: "Hello from FakeChutes",
  usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 }
}

const defaultStreamError = {
  object: "error",
  message: "Internal server error during generation",
  type: "InternalServerError",
  param: null,
  code: 500
}

export const isChatErrorReply = (reply: ChatReply | ChatErrorReply): reply is ChatErrorReply => "status" in reply

interface ScriptedCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

const scriptedCalls = (reply: ChatReply): ReadonlyArray<ScriptedCall> =>
  (reply.toolCalls ?? []).map((call) => ({
    id: call.id ?? `chatcmpl-tool-${randomHex(8)}`,
    name: call.name,
    arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments)
  }))

const finishReasonOf = (reply: ChatReply, calls: ReadonlyArray<ScriptedCall>): string | null =>
  reply.finishReason !== undefined ? reply.finishReason : calls.length > 0 ? "tool_calls" : "stop"

/** The final usage: scripted (total filled in), estimated from the text (about 4 characters a token), or none. */
const usageOf = (reply: ChatReply, calls: ReadonlyArray<ScriptedCall>): ChatUsage | undefined => {
  if (reply.usage === null) return undefined
  if (reply.usage !== undefined) {
    const { completion_tokens, prompt_tokens, total_tokens } = reply.usage
    return { ...reply.usage, total_tokens: total_tokens ?? prompt_tokens + completion_tokens }
  }
  const text = (reply.content ?? "") + (reply.reasoningContent ?? "") + (reply.reasoning ?? "") +
    calls.map((call) => call.arguments).join("")
  const completion = Math.max(1, Math.ceil(text.length / 4))
  return { prompt_tokens: 10, completion_tokens: completion, total_tokens: 10 + completion }
}

export const chatErrorReply = (reply: ChatErrorReply): Reply =>
  jsonReply(reply.status, reply.body !== undefined ? reply.body : defaultErrorBody("chat", reply.status), {
    ...reply.headers
  })

/** The non-streaming answer: one `chat.completion` object. */
export const completionReply = (reply: ChatReply, model: string, id: string, now: number): Reply => {
  const calls = scriptedCalls(reply)
  const message: Record<string, unknown> = { role: "assistant", content: reply.content ?? null }
  if (reply.reasoningContent !== undefined) message["reasoning_content"] = reply.reasoningContent
  if (reply.reasoning !== undefined) message["reasoning"] = reply.reasoning
  if (calls.length > 0) {
    message["tool_calls"] = calls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments }
    }))
  }
  const usage = usageOf(reply, calls)
  return jsonReply(
    200,
    {
      id,
      object: "chat.completion",
      created: Math.floor(now / 1000),
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(reply, calls) }],
      ...(usage !== undefined ? { usage } : {})
    },
    { "x-chutes-invocationid": randomUUID(), ...reply.headers }
  )
}

/** Splits text into pieces of `size` characters (code points, so the JSON of each event stays valid). */
const pieces = (text: string, size: number): ReadonlyArray<string> => {
  const chars = Array.from(text)
  const out: Array<string> = []
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(""))
  return out
}

/** The streaming answer: SSE `chat.completion.chunk` events the way vLLM / SGLang behind Chutes send them. */
export const streamReply = (reply: ChatReply, model: string, id: string, now: number): Reply => {
  const options = reply.stream ?? {}
  const size = Math.max(1, Math.floor(options.deltaChars ?? 8))
  const calls = scriptedCalls(reply)
  const usage = usageOf(reply, calls)
  const usageMode = options.usage ?? "every"
  const created = Math.floor(now / 1000)

  const deltas: Array<{ readonly delta: Record<string, unknown>; readonly finish: string | null }> = [
    { delta: { role: "assistant", content: "" }, finish: null }
  ]
  for (const piece of pieces(reply.reasoningContent ?? "", size)) {
    deltas.push({ delta: { reasoning_content: piece }, finish: null })
  }
  for (const piece of pieces(reply.reasoning ?? "", size)) deltas.push({ delta: { reasoning: piece }, finish: null })
  for (const piece of pieces(reply.content ?? "", size)) deltas.push({ delta: { content: piece }, finish: null })
  calls.forEach((call, index) => {
    deltas.push({
      delta: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] },
      finish: null
    })
    for (const piece of pieces(call.arguments, size)) {
      deltas.push({ delta: { tool_calls: [{ index, function: { arguments: piece } }] }, finish: null })
    }
  })
  deltas.push({ delta: {}, finish: finishReasonOf(reply, calls) })

  const event = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`
  const base = { id, object: "chat.completion.chunk", created, model }
  const events: Array<string> = deltas.map(({ delta, finish }, i) => {
    const chunk: Record<string, unknown> = {
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }]
    }
    // The live service repeats a running usage on many chunks; clients must keep the last one.
    if (usageMode === "every" && usage !== undefined) {
      const completion = Math.min(i, usage.completion_tokens)
      chunk["usage"] = {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: completion,
        total_tokens: usage.prompt_tokens + completion
      }
    }
    return event(chunk)
  })
  if (usageMode !== "none" && usage !== undefined) events.push(event({ ...base, choices: [], usage }))

  if (options.errorAfter !== undefined) {
    events.length = Math.min(events.length, Math.max(0, options.errorAfter))
    const error = { error: options.error !== undefined ? options.error : defaultStreamError }
    events.push(options.errorPrefixed === true ? event(error) : `${JSON.stringify(error)}\n`)
  } else if (options.hang !== undefined || options.flood !== undefined) {
    events.length = Math.min(events.length, Math.max(0, (options.hang ?? options.flood)?.after ?? 0))
  } else if (options.omitDone !== true) {
    events.push("data: [DONE]\n\n")
  }
  const tail = streamTail(options, base, calls.length, events)

  const body = Buffer.from(events.join(""))
  const chunkBytes = options.chunkBytes !== undefined ? Math.max(1, Math.floor(options.chunkBytes)) : undefined
  const chunks: Array<Uint8Array> = []
  if (chunkBytes === undefined) {
    for (const text of events) chunks.push(Buffer.from(text))
  } else {
    for (let offset = 0; offset < body.length; offset += chunkBytes) {
      chunks.push(body.subarray(offset, offset + chunkBytes))
    }
  }
  return {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-chutes-invocationid": randomUUID(),
      ...reply.headers
    },
    body,
    stream: { chunks, intervalMillis: options.intervalMillis ?? 0, keepOpen: options.keepOpen ?? false, tail }
  }
}

/** The hostile end of a stream (`hang`, `flood`); a flood's opening text is added to `events`. */
const streamTail = (
  options: ChatStreamOptions,
  base: Readonly<Record<string, unknown>>,
  toolIndex: number,
  events: Array<string>
): StreamTail | undefined => {
  if (options.errorAfter !== undefined) return undefined
  if (options.hang !== undefined) {
    return { _tag: "KeepAlive", intervalMillis: Math.max(0, options.hang.keepAliveMillis ?? 1000) }
  }
  const flood = options.flood
  if (flood === undefined) return undefined
  const maxBytes = Math.max(1, flood.maxBytes ?? 64 * 1024 * 1024)
  const delta = (value: Record<string, unknown>) => {
    const chunk = { ...base, choices: [{ index: 0, delta: value, logprobs: null, finish_reason: null }] }
    return `data: ${JSON.stringify(chunk)}\n\n`
  }
  if (flood.kind === "line") {
    // The opening of an event whose JSON string, and line, never end.
    const opening = delta({ content: "" })
    events.push(opening.slice(0, opening.indexOf(`"content":"`) + `"content":"`.length))
    return { _tag: "Flood", piece: Buffer.alloc(64 * 1024, "a"), maxBytes }
  }
  events.push(delta({
    tool_calls: [{ index: toolIndex, id: "call_flood", type: "function", function: { name: "flood", arguments: "" } }]
  }))
  const event = delta({ tool_calls: [{ index: toolIndex, function: { arguments: "a".repeat(4096) } }] })
  return { _tag: "Flood", piece: Buffer.from(event.repeat(16)), maxBytes }
}

/** The usage a scripted answer reports (its final one), or none. */
export const replyUsage = (reply: ChatReply): ChatUsage | undefined => usageOf(reply, scriptedCalls(reply))
