/**
 * Stream a Chutes model's answer through `@effect/ai`: reasoning and text as they arrive, then the usage.
 *
 *   npx tsx examples/chat-stream.ts ["your question"]
 *
 * It calls the real service when a credential is at hand — `CHUTES_API_KEY`, `CHUTES_OAUTH_TOKEN`, or the profile
 * `effect-chutes onboard` stored — and otherwise FakeChutes on 127.0.0.1, offline. `--offline` always takes the fake;
 * `--live` always takes the real service (and says so when no credential is found). Offline, the fake streams as fast
 * as it can; `--slow` paces its events to watch the tokens arrive.
 *
 * `CHUTES_MODEL` picks the model (default `chutes-pro`); `CHUTES_THINKING=0` turns a reasoning model's thinking off.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Stream from "effect/Stream"
import { ChutesAiError, ChutesLanguageModel } from "effect-chutes/ai"
import { target } from "./chutes.js"

const args = process.argv.slice(2)
const question = args.filter((arg) => !arg.startsWith("--")).join(" ") || "Write a haiku about streaming tokens."
const dim = (text: string) => (process.stdout.isTTY ? `\x1b[2m${text}\x1b[22m` : text)
const write = (text: string) => Effect.sync(() => void process.stdout.write(text))

const program = LanguageModel.streamText({ prompt: question }).pipe(
  Stream.runForEach((part) => {
    switch (part.type) {
      case "reasoning-start":
        return write(dim("(thinking) "))
      case "reasoning-delta":
        return write(dim(part.delta))
      case "reasoning-end":
        return write("\n\n")
      case "text-delta":
        return write(part.delta)
      case "response-metadata": {
        const info = part.metadata.chutes
        return info !== undefined ? write(dim(`[${info.ref}]\n`)) : Effect.void
      }
      case "finish":
        return write(dim(
          `\n\n— finish: ${part.reason} · ${part.usage.inputTokens ?? "?"} tokens in, ${
            part.usage.outputTokens ?? "?"
          } out\n`
        ))
      default:
        return Effect.void
    }
  })
)

const model = ChutesLanguageModel.layer({
  model: process.env["CHUTES_MODEL"] ?? "chutes-pro",
  config: { maxTokens: 1024, ...(process.env["CHUTES_THINKING"] === "0" ? { thinking: false } : {}) }
})

const main = Effect.gen(function*() {
  // Streamed like the live service: SSE chunks, usage repeated on each, the body cut into small network writes —
  // without pauses unless `--slow` asks for one before each event.
  const chutes = yield* target((fake) =>
    fake.chat.setDefaultReply({
      reasoningContent: "Five, seven, five syllables; tokens arriving one by one.",
      content: "Tokens drift like snow,\none by one the answer forms —\nthe stream says [DONE].",
      usage: { prompt_tokens: 18, completion_tokens: 40 },
      stream: args.includes("--slow") ? { deltaChars: 3, intervalMillis: 40 } : { deltaChars: 3, chunkBytes: 40 }
    })
  )
  yield* program.pipe(Effect.provide(model), Effect.provide(chutes.provider))
})

main.pipe(
  Effect.scoped,
  Effect.catchIf(AiError.isAiError, (error) =>
    Console.error(
      `\nChutes call failed (${ChutesAiError.kind(error) ?? error._tag}): ${error.description ?? error.message}`
    )
      .pipe(Effect.zipRight(Effect.sync(() => (process.exitCode = 1))))),
  Logger.withMinimumLogLevel(LogLevel.Warning),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
