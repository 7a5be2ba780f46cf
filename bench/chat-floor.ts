/**
 * The `@effect/ai` floor of the chat rows: `LanguageModel.make` over a provider that does only what any `@effect/ai`
 * provider on `@effect/platform` must do, and no code of this SDK:
 *
 * - build the request JSON from the prompt (`model`, `messages`, and for a stream `stream` + `stream_options`, as the
 *   SDK sends them);
 * - `execute` it with the platform's `HttpClient`: `NodeHttpClient.layerUndici`, the client `NodeChutes.layerPlatform`
 *   gives the SDK when no proxy is configured (src/node/proxy.ts, `layerHttpClient`);
 * - a completion: read the body, `JSON.parse` it, and return a `text` part and a `finish` part with the usage;
 * - a stream: decode the body, split it into lines (`Stream.decodeText` + `Stream.splitLines`, both a network read at
 *   a time), `JSON.parse` each `data:` event, a `text-delta` part per non-empty delta, and a `finish` part at `[DONE]`.
 *
 * No retries, no deadlines, no validation, no spans, metrics or metadata of its own: only the spans `@effect/ai`
 * (`LanguageModel.generateText` / `streamText`) and the platform (`http.client`) make themselves. A failure is a
 * defect (the bench checks every answer's text). This is the least an SDK built on `@effect/ai` + `@effect/platform`
 * can cost; the chat rows print it beside the SDK, both against `openai` (bench/README.md, "Chat").
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { type ChatClient, languageModelClient } from "./chat-clients.js"

interface UsageWire {
  readonly prompt_tokens?: number
  readonly completion_tokens?: number
  readonly total_tokens?: number
}

interface CompletionWire {
  readonly choices: ReadonlyArray<{ readonly message: { readonly content: string | null }; readonly finish_reason: string | null }>
  readonly usage?: UsageWire | null
}

interface ChunkWire {
  readonly choices: ReadonlyArray<{ readonly delta?: { readonly content?: string | null }; readonly finish_reason?: string | null }>
  readonly usage?: UsageWire | null
}

const usageOf = (usage: UsageWire | null | undefined): typeof Response.Usage.Encoded => ({
  inputTokens: usage?.prompt_tokens,
  outputTokens: usage?.completion_tokens,
  totalTokens: usage?.total_tokens
})

const reasonOf = (finish: string | null | undefined): Response.FinishReason =>
  finish === "stop" ? "stop" : finish === "length" ? "length" : finish === "tool_calls" ? "tool-calls" : "other"

/** The prompt as chat messages: text only (the bench's prompt is one user message). */
const messagesOf = (prompt: Prompt.Prompt) =>
  prompt.content.map((message) => ({
    role: message.role,
    content: typeof message.content === "string"
      ? message.content
      : message.content.map((part) => (part.type === "text" ? part.text : "")).join("")
  }))

/** `LanguageModel.make` over the minimal provider, for one model. */
export const makeFloorModel = (options: { readonly baseUrl: string; readonly apiKey: string; readonly model: string }) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const url = `${options.baseUrl}/chat/completions`
    const request = (prompt: Prompt.Prompt, stream: boolean) =>
      HttpClientRequest.post(url).pipe(
        HttpClientRequest.bearerToken(options.apiKey),
        HttpClientRequest.accept(stream ? "text/event-stream" : "application/json"),
        HttpClientRequest.bodyUnsafeJson({
          model: options.model,
          messages: messagesOf(prompt),
          ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
        })
      )
    const ok = (response: { readonly status: number }) =>
      response.status >= 200 && response.status < 300 ? Effect.void : Effect.dieMessage(`floor: HTTP ${response.status}`)
    return yield* LanguageModel.make({
      generateText: (provider) =>
        client.execute(request(provider.prompt, false)).pipe(
          Effect.tap(ok),
          Effect.flatMap((response) => response.text),
          Effect.map((text): Array<Response.PartEncoded> => {
            const body = JSON.parse(text) as CompletionWire
            const choice = body.choices[0]
            return [
              { type: "text", text: choice?.message.content ?? "" },
              { type: "finish", reason: reasonOf(choice?.finish_reason), usage: usageOf(body.usage) }
            ]
          }),
          Effect.orDie
        ),
      streamText: (provider) =>
        client.execute(request(provider.prompt, true)).pipe(
          Effect.tap(ok),
          Effect.map((response) => {
            let usage: UsageWire | null | undefined
            let finish: string | null | undefined
            return response.stream.pipe(
              Stream.decodeText(),
              Stream.splitLines,
              Stream.mapChunks((lines) => {
                const parts: Array<Response.StreamPartEncoded> = []
                for (const line of lines) {
                  if (!line.startsWith("data: ")) continue
                  const data = line.slice(6)
                  if (data === "[DONE]") {
                    parts.push({ type: "finish", reason: reasonOf(finish), usage: usageOf(usage) })
                    continue
                  }
                  const chunk = JSON.parse(data) as ChunkWire
                  if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage
                  const choice = chunk.choices[0]
                  const delta = choice?.delta?.content
                  if (delta !== undefined && delta !== null && delta.length > 0) {
                    parts.push({ type: "text-delta", id: "0", delta })
                  }
                  if (choice?.finish_reason !== undefined && choice.finish_reason !== null) finish = choice.finish_reason
                }
                return Chunk.unsafeFromArray(parts)
              })
            )
          }),
          Stream.unwrap,
          Stream.orDie
        )
    })
  })

/**
 * The floor as a bench client: one runtime over `NodeHttpClient.layerUndici`, one `LanguageModel` per model name
 * (built once, as the SDK client builds its `ChutesLanguageModel`), consumed exactly as the SDK client consumes its
 * own (`Stream.runForEach` over `streamText`, `generateText`).
 */
export const floorClient = (baseUrl: string, apiKey: string): ChatClient => {
  const runtime = ManagedRuntime.make(NodeHttpClient.layerUndici)
  return languageModelClient(
    (model) => runtime.runPromise(makeFloorModel({ baseUrl, apiKey, model })),
    (effect) => runtime.runPromise(effect),
    () => runtime.dispose()
  )
}
