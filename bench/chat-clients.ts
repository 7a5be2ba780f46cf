/**
 * The three clients the chat rows compare, each reading the same answer from bench/chat-server.ts:
 * - `sdk`: `LanguageModel.streamText` / `generateText` of `@effect/ai` over `effect-chutes/ai`'s `ChutesLanguageModel`,
 *   on a provider built once like `NodeChutes.layer` builds it (bench/sdk.ts: undici, env credential, disk cache);
 * - `openai`: the official `openai` client (6.x), what a user would pick instead;
 * - `raw`: the floor — global `fetch`, a line split and `JSON.parse`, no validation at all.
 * (A fourth, `floor` in bench/chat-floor.ts: `@effect/ai`'s `LanguageModel.make` over a minimal provider on the
 * platform's undici client, no SDK code; it runs in the paced-stream and completion measurements.)
 *
 * A stream reader calls `onText(delta)` for every text delta and returns when the stream has ended.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import OpenAI from "openai"
import * as ChutesLanguageModel from "../src/ai/ChutesLanguageModel.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import { makeRuntime } from "./sdk.js"

export const PROMPT = "Tell me a story."

/** One client: a streamed answer (text deltas to `onText`) and a non-streaming one (its text). */
export interface ChatClient {
  readonly stream: (model: string, onText: (delta: string) => void) => Promise<void>
  readonly complete: (model: string) => Promise<string>
  readonly close: () => Promise<void>
}

export const rawClient = (baseUrl: string, apiKey: string): ChatClient => {
  const post = (model: string, stream: boolean) =>
    fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${apiKey}`,
        "content-type": "application/json",
        accept: stream ? "text/event-stream" : "application/json"
      },
      body: JSON.stringify({ model, messages: [{ role: "user", content: PROMPT }], stream })
    })
  return {
    stream: async (model, onText) => {
      const response = await post(model, true)
      if (!response.ok || response.body === null) throw new Error(`raw: HTTP ${response.status}`)
      const decoder = new TextDecoder()
      let rest = ""
      const reader = response.body.getReader()
      for (;;) {
        const read = await reader.read()
        if (read.done) break
        const text = rest + decoder.decode(read.value, { stream: true })
        const lines = text.split("\n")
        rest = lines.pop() ?? ""
        for (const line of lines) {
          if (!line.startsWith("data: ")) continue
          const data = line.slice(6)
          if (data === "[DONE]") continue
          const delta = (JSON.parse(data) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta
            ?.content
          if (delta) onText(delta)
        }
      }
    },
    complete: async (model) => {
      const response = await post(model, false)
      const body = (await response.json()) as { choices: Array<{ message: { content: string } }> }
      return body.choices[0]!.message.content
    },
    close: async () => {}
  }
}

export const openaiClient = (baseUrl: string, apiKey: string): ChatClient => {
  const client = new OpenAI({ baseURL: baseUrl, apiKey, maxRetries: 0 })
  return {
    stream: async (model, onText) => {
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: PROMPT }],
        stream: true
      })
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content
        if (delta) onText(delta)
      }
    },
    complete: async (model) => {
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: PROMPT }]
      })
      return completion.choices[0]?.message.content ?? ""
    },
    close: async () => {}
  }
}

/**
 * The SDK as an app uses it: one provider (built once), one `ChutesLanguageModel` per model name (built once, as an
 * app builds its layer once), `LanguageModel.streamText` consumed with `Stream.runForEach`.
 */
export const sdkClient = async (baseUrl: string, apiKey: string, stateDir: string): Promise<ChatClient> => {
  const runtime = makeRuntime({ baseUrl, apiKey, stateDir })
  const scope = await runtime.runPromise(Scope.make())
  const provider = await runtime.runPromise(ChutesProvider.make().pipe(Scope.extend(scope), Effect.orDie))
  return languageModelClient(
    (name) =>
      runtime.runPromise(
        ChutesLanguageModel.make({ model: name }).pipe(Effect.provideService(ChutesProvider.ChutesProvider, provider))
      ),
    (effect) => runtime.runPromise(effect),
    async () => {
      await runtime.runPromise(Scope.close(scope, Exit.void))
      await runtime.dispose()
    }
  )
}

/**
 * A bench client over any `LanguageModel`: one service per model name (made once by `make`, as an app builds its layer
 * once), `streamText` consumed with `Stream.runForEach`, `generateText` for a completion; `run` runs an effect in the
 * client's runtime. The SDK's client and the @effect/ai floor (bench/chat-floor.ts) are both this.
 */
export const languageModelClient = (
  make: (model: string) => Promise<LanguageModel.Service>,
  run: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>,
  close: () => Promise<void>
): ChatClient => {
  const models = new Map<string, LanguageModel.Service>()
  const modelOf = async (model: string) => {
    const known = models.get(model)
    if (known !== undefined) return known
    const made = await make(model)
    models.set(model, made)
    return made
  }
  return {
    stream: async (model, onText) => {
      const service = await modelOf(model)
      await run(
        LanguageModel.streamText({ prompt: PROMPT }).pipe(
          Stream.runForEach((part) => {
            if (part.type === "text-delta") onText(part.delta)
            return Effect.void
          }),
          Effect.provideService(LanguageModel.LanguageModel, service)
        )
      )
    },
    complete: async (model) => {
      const service = await modelOf(model)
      const response = await run(
        LanguageModel.generateText({ prompt: PROMPT }).pipe(Effect.provideService(LanguageModel.LanguageModel, service))
      )
      return response.text
    },
    close
  }
}
