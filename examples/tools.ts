/**
 * A tool round trip with `@effect/ai`'s Toolkit: the model asks for a tool, the handler runs, the result goes back,
 * and the model answers with it.
 *
 *   npx tsx examples/tools.ts                            offline, against FakeChutes on 127.0.0.1
 *   CHUTES_API_KEY=cpk_… npx tsx examples/tools.ts      the real service (or CHUTES_OAUTH_TOKEN, or --live)
 *
 * `CHUTES_MODEL` picks the model (default `chutes-pro`; it must support tools).
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { ChutesAiError, ChutesLanguageModel } from "effect-chutes/ai"
import { NodeChutes } from "effect-chutes/node"
import { FakeChutes } from "effect-chutes/testing"

const live = process.argv.includes("--live") ||
  Boolean(process.env["CHUTES_API_KEY"] || process.env["CHUTES_OAUTH_TOKEN"])

// A tool: its parameters and result are schemas; @effect/ai sends the JSON schema and checks what comes back.
const GetWeather = Tool.make("get_weather", {
  description: "The current weather in a city",
  parameters: { city: Schema.String.annotations({ description: "City name, e.g. Paris" }) },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number, sky: Schema.String })
})
const WeatherTools = Toolkit.make(GetWeather)

// The handler: a made-up lookup table stands in for a weather service.
const WeatherHandlers = WeatherTools.toLayer({
  get_weather: ({ city }) =>
    Console.log(`  [tool] get_weather(${JSON.stringify(city)})`).pipe(
      Effect.as({ city, celsius: city.toLowerCase() === "oslo" ? -3 : 21, sky: "clear" })
    )
})

const program = Effect.gen(function*() {
  let prompt = Prompt.make([
    { role: "system", content: "Use the tools to answer. Be brief." },
    { role: "user", content: "What's the weather like in Paris and in Oslo right now?" }
  ])
  // Each round: the model answers or asks for tools; @effect/ai runs the handlers and returns their results.
  for (let round = 1; round <= 4; round++) {
    const response = yield* LanguageModel.generateText({ prompt, toolkit: WeatherTools })
    for (const call of response.toolCalls) yield* Console.log(`round ${round}: the model calls ${call.name}`)
    prompt = Prompt.merge(prompt, Prompt.fromResponseParts(response.content))
    if (response.finishReason !== "tool-calls") {
      yield* Console.log(`\n${response.text.trim()}`)
      yield* Console.log(`\n— ${ChutesLanguageModel.responseInfo(response)?.ref ?? "?"}`)
      return
    }
  }
  yield* Console.log("The model kept calling tools; giving up after 4 rounds.")
})

const model = ChutesLanguageModel.layer({ model: process.env["CHUTES_MODEL"] ?? "chutes-pro" })

const main = live
  ? program.pipe(Effect.provide(Layer.merge(model.pipe(Layer.provide(NodeChutes.layer())), WeatherHandlers)))
  : Effect.gen(function*() {
    const fake = yield* FakeChutes.make()
    // The fake plays the model: first two tool calls, then an answer that uses their results.
    fake.chat.script(
      {
        toolCalls: [
          { name: "get_weather", arguments: { city: "Paris" } },
          { name: "get_weather", arguments: { city: "Oslo" } }
        ]
      },
      { content: "Paris: 21 °C under a clear sky. Oslo: a clear but cold -3 °C." }
    )
    yield* Console.log(
      `(offline: FakeChutes on ${fake.baseUrl}; set CHUTES_API_KEY or pass --live for the real service)\n`
    )
    yield* program.pipe(
      Effect.provide(Layer.merge(
        model.pipe(Layer.provide(NodeChutes.layer({
          credential: { apiKey: Redacted.make(fake.apiKey) },
          settings: { baseUrl: fake.baseUrl, diskCachePath: false }
        }))),
        WeatherHandlers
      ))
    )
    // What went over the wire the second time: the tool calls and their results.
    const second = fake.chat.bodies[1] as { readonly messages: ReadonlyArray<{ readonly role: string }> } | undefined
    yield* Console.log(`  (second request's roles: ${second?.messages.map((m) => m.role).join(", ")})`)
  })

main.pipe(
  Effect.scoped,
  Effect.catchIf(AiError.isAiError, (error) =>
    Console.error(
      `Chutes call failed (${ChutesAiError.kind(error) ?? error._tag}): ${error.description ?? error.message}`
    )
      .pipe(Effect.zipRight(Effect.sync(() => (process.exitCode = 1))))),
  Logger.withMinimumLogLevel(live ? LogLevel.Warning : LogLevel.Error),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
