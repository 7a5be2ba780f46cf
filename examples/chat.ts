/**
 * Ask a Chutes model one question through `@effect/ai`.
 *
 *   npx tsx examples/chat.ts ["your question"]
 *
 * It calls the real service when a credential is at hand — `CHUTES_API_KEY`, `CHUTES_OAUTH_TOKEN`, or the profile
 * `effect-chutes onboard` stored — and otherwise FakeChutes on 127.0.0.1, offline. `--offline` always takes the fake;
 * `--live` always takes the real service (and says so when no credential is found).
 *
 * `CHUTES_MODEL` picks the model (an alias like `chutes-fast`, a ref or a model id; default `chutes-pro`), with
 * `zai-org/GLM-5-TEE` as the fallback when the first has no instances or is rate limited.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { ChutesAiError, ChutesLanguageModel } from "effect-chutes/ai"
import { target } from "./chutes.js"

const args = process.argv.slice(2)
const question = args.filter((arg) => !arg.startsWith("--")).join(" ") ||
  "In two sentences: what is a trusted execution environment?"

const program = Effect.gen(function*() {
  const response = yield* LanguageModel.generateText({
    prompt: [
      { role: "system", content: "You are a concise assistant. Answer in at most three sentences." },
      { role: "user", content: question }
    ]
  })
  if (response.reasoningText !== undefined) yield* Console.log(`(thinking) ${response.reasoningText.trim()}\n`)
  yield* Console.log(response.text.trim())
  const info = ChutesLanguageModel.responseInfo(response)
  const usage = response.usage
  yield* Console.log(
    `\n— ${info?.ref ?? "?"} · ${usage.inputTokens ?? "?"} tokens in, ${usage.outputTokens ?? "?"} out` +
      (info?.invocationId !== undefined ? ` · invocation ${info.invocationId}` : "") +
      (info !== undefined && info.failover.length > 0
        ? ` · after ${info.failover.map((f) => `${f.model} (${f.kind})`).join(", ")}`
        : "")
  )
})

const model = ChutesLanguageModel.layer({
  model: process.env["CHUTES_MODEL"] ?? "chutes-pro",
  fallbackModels: ["zai-org/GLM-5-TEE"],
  config: { maxTokens: 1024 }
})

const main = Effect.gen(function*() {
  // The fake answers like the live service: reasoning_content, content, usage, an invocation id.
  const chutes = yield* target((fake) =>
    fake.chat.setDefaultReply({
      reasoningContent: "The user asks about TEEs. Keep it short: isolation, attestation.",
      content: "A trusted execution environment (TEE) is an isolated area of a processor that runs code and holds " +
        "data so that even the machine's operator cannot read or alter them. Remote attestation lets you verify " +
        "what code runs inside before you send it anything.",
      usage: { prompt_tokens: 42, completion_tokens: 61 }
    })
  )
  yield* program.pipe(Effect.provide(model), Effect.provide(chutes.provider))
})

main.pipe(
  Effect.scoped,
  Effect.catchIf(AiError.isAiError, (error) =>
    Console.error(
      `Chutes call failed (${ChutesAiError.kind(error) ?? error._tag}): ${error.description ?? error.message}`
    )
      .pipe(Effect.zipRight(Effect.sync(() => (process.exitCode = 1))))),
  Logger.withMinimumLogLevel(LogLevel.Warning),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
