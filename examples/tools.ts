/**
 * A tool round trip with `@effect/ai`'s Toolkit: the model asks for a tool, the handler runs, the result goes back,
 * and the model answers with it.
 *
 *   npx tsx examples/tools.ts
 *
 * It calls the real service when a credential is at hand — `CHUTES_API_KEY`, `CHUTES_OAUTH_TOKEN`, or the profile
 * `effect-chutes onboard` stored — and otherwise FakeChutes on 127.0.0.1, offline. `--offline` always takes the fake;
 * `--live` always takes the real service (and says so when no credential is found).
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
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ChutesAiError, ChutesLanguageModel } from "effect-chutes/ai"
import { target } from "./chutes.js"

// A tool: its parameters and result are schemas; @effect/ai sends the JSON schema and checks what comes back.
const GetWeather = Tool.make("get_weather", {
  description: "The current weather in a city",
  parameters: { city: Schema.String.annotations({ description: "City name, e.g. Paris" }) },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number, sky: Schema.String })
})
const WeatherTools = Toolkit.make(GetWeather)

// The handler: a made-up lookup table stands in for a weather service.
const WeatherHandlers = WeatherTools.toLayer({
  get_weather: ({ city }) => Effect.succeed({ city, celsius: city.toLowerCase() === "oslo" ? -3 : 21, sky: "clear" })
})

const program = Effect.gen(function*() {
  let prompt = Prompt.make([
    { role: "system", content: "Use the tools to answer. Be brief." },
    { role: "user", content: "What's the weather like in Paris and in Oslo right now?" }
  ])
  // Each round: the model answers or asks for tools; @effect/ai runs the handlers and returns their results.
  for (let round = 1; round <= 4; round++) {
    const response = yield* LanguageModel.generateText({ prompt, toolkit: WeatherTools })
    // One line per call, with its arguments and what the handler returned (the results carry the call's id).
    for (const call of response.toolCalls) {
      const result = response.toolResults.find((part) => part.id === call.id)?.result
      const params = JSON.stringify(call.params)
      yield* Console.log(`round ${round}: the model calls ${call.name}(${params}) -> ${JSON.stringify(result)}`)
    }
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

const main = Effect.gen(function*() {
  // Offline, the fake plays the model: first two tool calls, then an answer that uses their results.
  const chutes = yield* target((fake) =>
    fake.chat.script(
      {
        toolCalls: [
          { name: "get_weather", arguments: { city: "Paris" } },
          { name: "get_weather", arguments: { city: "Oslo" } }
        ]
      },
      { content: "Paris: 21 °C under a clear sky. Oslo: a clear but cold -3 °C." }
    )
  )
  yield* program.pipe(Effect.provide(Layer.merge(model, WeatherHandlers)), Effect.provide(chutes.provider))
  // What went over the wire the second time: the tool calls and their results.
  for (const fake of Option.toArray(chutes.fake)) {
    const second = fake.chat.bodies[1] as { readonly messages: ReadonlyArray<{ readonly role: string }> } | undefined
    yield* Console.log(`  (second request's roles: ${second?.messages.map((m) => m.role).join(", ")})`)
  }
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
