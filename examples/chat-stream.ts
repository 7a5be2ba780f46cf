/**
 * Stream a Chutes model's answer through `@effect/ai`: reasoning and text as they arrive, then the usage.
 *
 *   npx tsx examples/chat-stream.ts ["your question"]               offline, against FakeChutes on 127.0.0.1
 *   CHUTES_API_KEY=cpk_… npx tsx examples/chat-stream.ts ["…"]     the real service (or CHUTES_OAUTH_TOKEN)
 *   npx tsx examples/chat-stream.ts --live ["…"]                   the real service with the credential the SDK finds
 *
 * `CHUTES_MODEL` picks the model (default `chutes-pro`); `CHUTES_THINKING=0` turns a reasoning model's thinking off.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { ChutesAiError, ChutesLanguageModel } from "effect-chutes/ai"
import { NodeChutes } from "effect-chutes/node"
import { FakeChutes } from "effect-chutes/testing"

const args = process.argv.slice(2)
const live = args.includes("--live") || Boolean(process.env["CHUTES_API_KEY"] || process.env["CHUTES_OAUTH_TOKEN"])
const question = args.filter((arg) => arg !== "--live").join(" ") || "Write a haiku about streaming tokens."
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

const main = live
  ? program.pipe(Effect.provide(model.pipe(Layer.provide(NodeChutes.layer()))))
  : Effect.gen(function*() {
    // Streamed like the live service: SSE chunks, usage repeated on each, the body cut into small network writes.
    const fake = yield* FakeChutes.make()
    fake.chat.setDefaultReply({
      reasoningContent: "Five, seven, five syllables; tokens arriving one by one.",
      content: "Tokens drift like snow,\none by one the answer forms —\nthe stream says [DONE].",
      usage: { prompt_tokens: 18, completion_tokens: 40 },
      stream: { deltaChars: 3, chunkBytes: 40, intervalMillis: 15 }
    })
    yield* Console.log(
      `(offline: FakeChutes on ${fake.baseUrl}; set CHUTES_API_KEY or pass --live for the real service)\n`
    )
    yield* program.pipe(
      Effect.provide(model.pipe(Layer.provide(NodeChutes.layer({
        credential: { apiKey: Redacted.make(fake.apiKey) },
        settings: { baseUrl: fake.baseUrl, diskCachePath: false }
      }))))
    )
  })

main.pipe(
  Effect.scoped,
  Effect.catchIf(AiError.isAiError, (error) =>
    Console.error(
      `\nChutes call failed (${ChutesAiError.kind(error) ?? error._tag}): ${error.description ?? error.message}`
    )
      .pipe(Effect.zipRight(Effect.sync(() => (process.exitCode = 1))))),
  Logger.withMinimumLogLevel(live ? LogLevel.Warning : LogLevel.Error),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
