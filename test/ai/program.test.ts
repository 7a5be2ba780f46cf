/**
 * Full `@effect/ai` programs, wired the way an app wires them (`NodeChutes.layer` + `ChutesLanguageModel.layer`),
 * against FakeChutes over loopback: generateText, streamText, generateObject and a Toolkit round trip.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ChutesLanguageModel } from "../../src/ai/index.js"
import { NodeChutes } from "../../src/node/index.js"
import { FakeChutes } from "../../src/testing/index.js"

const appLayer = (fake: FakeChutes.FakeChutesServer, model: ChutesLanguageModel.ModelName = "chutes-pro") =>
  ChutesLanguageModel.layer({ model, config: { maxTokens: 512 } }).pipe(
    Layer.provide(NodeChutes.layer({
      credential: { apiKey: Redacted.make(fake.apiKey) },
      settings: { baseUrl: fake.baseUrl, diskCachePath: false }
    })),
    Layer.orDie,
    Layer.merge(Logger.minimumLogLevel(LogLevel.Error))
  )

class WeatherError extends Schema.TaggedError<WeatherError>()("WeatherError", { city: Schema.String }) {}

const GetWeather = Tool.make("get_weather", {
  description: "Current temperature in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ celsius: Schema.Number }),
  failure: WeatherError
})
const Weather = Toolkit.make(GetWeather)

describe("@effect/ai programs against FakeChutes", () => {
  it.scopedLive("LanguageModel.generateText", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "Effect is a TypeScript library.", reasoningContent: "Short answer." })
      const response = yield* LanguageModel.generateText({ prompt: "What is Effect?" }).pipe(
        Effect.provide(appLayer(fake))
      )
      assert.strictEqual(response.text, "Effect is a TypeScript library.")
      assert.strictEqual(response.reasoningText, "Short answer.")
      assert.strictEqual(response.finishReason, "stop")
      assert.isAbove(response.usage.totalTokens ?? 0, 0)
      assert.deepStrictEqual(fake.chat.bodies, [{
        model: "deepseek-ai/DeepSeek-V3.2-TEE",
        messages: [{ role: "user", content: "What is Effect?" }],
        max_tokens: 512
      }])
    }))

  it.scopedLive("LanguageModel.streamText", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "One, two, three.", stream: { deltaChars: 4 } })
      const deltas = yield* LanguageModel.streamText({ prompt: "Count" }).pipe(
        Stream.filterMap((part) => (part.type === "text-delta" ? Option.some(part.delta) : Option.none())),
        Stream.runCollect,
        Effect.provide(appLayer(fake))
      )
      assert.deepStrictEqual(Array.from(deltas), ["One,", " two", ", th", "ree."])
    }))

  it.scopedLive("LanguageModel.generateObject with structured outputs", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "{\"city\":\"Paris\",\"celsius\":21}" })
      const Report = Schema.Struct({ city: Schema.String, celsius: Schema.Number })
      const response = yield* LanguageModel.generateObject({ prompt: "Weather?", schema: Report, objectName: "report" })
        .pipe(Effect.provide(appLayer(fake, "zai-org/GLM-5-TEE")))
      assert.deepStrictEqual(response.value, { city: "Paris", celsius: 21 })
    }))

  it.scopedLive("a Toolkit round trip: the model calls a tool, the handler runs, the result goes back", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script(
        { toolCalls: [{ id: "call_w1", name: "get_weather", arguments: { city: "Paris" } }] },
        { content: "It is 21 °C in Paris." }
      )
      const seen: Array<string> = []
      const handlers = Weather.toLayer({
        get_weather: ({ city }) => Effect.sync(() => seen.push(city)).pipe(Effect.as({ celsius: 21 }))
      })
      const program = Effect.gen(function*() {
        const question = Prompt.make("What's the weather in Paris?")
        const first = yield* LanguageModel.generateText({ prompt: question, toolkit: Weather })
        assert.strictEqual(first.finishReason, "tool-calls")
        assert.deepStrictEqual(first.toolResults.map((r) => [r.id, r.name, r.result]), [
          ["call_w1", "get_weather", { celsius: 21 }]
        ])
        const followUp = Prompt.merge(question, Prompt.fromResponseParts(first.content))
        return yield* LanguageModel.generateText({ prompt: followUp, toolkit: Weather })
      })
      const answer = yield* program.pipe(Effect.provide(Layer.merge(appLayer(fake), handlers)))
      assert.strictEqual(answer.text, "It is 21 °C in Paris.")
      assert.deepStrictEqual(seen, ["Paris"])
      const second = fake.chat.bodies[1] as { readonly messages: ReadonlyArray<unknown> }
      assert.deepStrictEqual(second.messages, [
        { role: "user", content: "What's the weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{
            id: "call_w1",
            type: "function",
            function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" }
          }]
        },
        { role: "tool", tool_call_id: "call_w1", content: "{\"celsius\":21}" }
      ])
    }))

  it.scopedLive("a Toolkit in streamText: tool calls resolved, results in the stream", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({
        toolCalls: [{ id: "call_s1", name: "get_weather", arguments: { city: "Oslo" } }],
        stream: { chunkBytes: 7, deltaChars: 2 }
      })
      const handlers = Weather.toLayer({ get_weather: () => Effect.succeed({ celsius: -3 }) })
      const parts = yield* LanguageModel.streamText({ prompt: "Oslo?", toolkit: Weather }).pipe(
        Stream.runCollect,
        Effect.provide(Layer.merge(appLayer(fake), handlers))
      )
      const results = Array.from(parts).flatMap((p) => (p.type === "tool-result" ? [[p.id, p.result]] : []))
      assert.deepStrictEqual(results, [["call_s1", { celsius: -3 }]])
    }))
})
