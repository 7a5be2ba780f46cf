/**
 * The exact request body `ChutesLanguageModel` sends, as FakeChutes recorded it over loopback (docs/ai.md).
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { collect, modelLayer } from "./harness.js"

/** The one body the fake recorded, checked against what the live service refuses. */
const onlyBody = (fake: FakeChutes.FakeChutesServer): unknown => {
  assert.strictEqual(fake.chat.bodies.length, 1)
  const body = fake.chat.bodies[0]
  const text = JSON.stringify(body)
  assert.notInclude(text, "max_completion_tokens")
  assert.notInclude(text, "\"store\"")
  assert.notInclude(text, "\"developer\"")
  return body
}

const GetWeather = Tool.make("get_weather", {
  description: "Weather for a city",
  parameters: { city: Schema.String, unit: Schema.optional(Schema.Literal("C", "F")) },
  success: Schema.Struct({ celsius: Schema.Number })
})
const Now = Tool.make("now", { success: Schema.String })
const Tools = Toolkit.make(GetWeather, Now)
const ToolHandlers = Tools.toLayer({
  get_weather: () => Effect.succeed({ celsius: 21 }),
  now: () => Effect.succeed("noon")
})

const weatherSchema = {
  type: "object",
  required: ["city"],
  properties: { city: { type: "string" }, unit: { type: "string", enum: ["C", "F"] } },
  additionalProperties: false
}
const tools = [
  {
    type: "function",
    function: { name: "get_weather", description: "Weather for a city", parameters: weatherSchema }
  },
  {
    type: "function",
    function: { name: "now", parameters: { type: "object", required: [], properties: {}, additionalProperties: false } }
  }
]

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })
const personSchema = {
  type: "object",
  required: ["name", "age"],
  properties: { name: { type: "string" }, age: { type: "number" } },
  additionalProperties: false
}
const jsonInstruction = `Respond with a single JSON object, and nothing else, that matches this JSON schema:\n${
  JSON.stringify(personSchema)
}`

describe("request body", () => {
  it.scopedLive("text: the model id and one user message, nothing else", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const response = yield* LanguageModel.generateText({ prompt: "Hello" }).pipe(Effect.provide(modelLayer(fake)))
      assert.strictEqual(response.text, "Hello from FakeChutes")
      assert.deepStrictEqual(onlyBody(fake), {
        model: "zai-org/GLM-5-TEE",
        messages: [{ role: "user", content: "Hello" }]
      })
      const sent = fake.requests.find((r) => r.route === "chat")
      assert.strictEqual(sent?.headers["authorization"], `Bearer ${fake.apiKey}`)
    }))

  it.scopedLive("system + user: role system (never developer), in order", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      yield* LanguageModel.generateText({
        prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }]
      }).pipe(Effect.provide(modelLayer(fake)))
      assert.deepStrictEqual(onlyBody(fake), {
        model: "zai-org/GLM-5-TEE",
        messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }]
      })
    }))

  it.scopedLive("streaming adds stream and stream_options.include_usage", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      yield* collect({ prompt: "Hi" }).pipe(Effect.provide(modelLayer(fake)))
      assert.deepStrictEqual(onlyBody(fake), {
        model: "zai-org/GLM-5-TEE",
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
        stream_options: { include_usage: true }
      })
    }))

  it.scopedLive("aliases and refs resolve to the model id; an unlisted org/name id passes through", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      for (const model of ["chutes-pro", "CHUTES-PRO", "chutes/zai-org/GLM-5-TEE", "someorg/brand-new-model"]) {
        yield* LanguageModel.generateText({ prompt: "x" }).pipe(
          Effect.provide(modelLayer(fake, { model })),
          Effect.ignore
        )
      }
      assert.deepStrictEqual(
        fake.chat.bodies.map((body) => (body as { readonly model: string }).model),
        [
          "deepseek-ai/DeepSeek-V3.2-TEE",
          "deepseek-ai/DeepSeek-V3.2-TEE",
          "zai-org/GLM-5-TEE",
          "someorg/brand-new-model"
        ]
      )
    }))

  it.scopedLive("a name that resolves to nothing fails before any request, with suggestions", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.provide(modelLayer(fake, { model: "chutes-pr" })),
        Effect.flip
      )
      assert.instanceOf(error, AiError.MalformedInput)
      assert.strictEqual(ChutesAiError.kind(error), "UnknownModel")
      assert.include(error.description, "did you mean")
      assert.include(error.description, "chutes-pro")
      assert.strictEqual(fake.counters.chat, 0)
    }))

  it.scopedLive("images: text and image_url parts (bytes as a data URL, URLs as they are) for an image model", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const prompt: Prompt.RawInput = [{
        role: "user",
        content: [
          { type: "text", text: "What is in these?" },
          { type: "file", mediaType: "image/png", data: new Uint8Array([1, 2, 3]) },
          { type: "file", mediaType: "image/jpeg", data: new URL("https://example.com/cat.jpg") },
          { type: "file", mediaType: "image/*", data: "AAAA" }
        ]
      }]
      yield* LanguageModel.generateText({ prompt }).pipe(
        Effect.provide(modelLayer(fake, { model: "moonshotai/Kimi-K2.5-TEE" }))
      )
      assert.deepStrictEqual(onlyBody(fake), {
        model: "moonshotai/Kimi-K2.5-TEE",
        messages: [{
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AQID" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
            { type: "image_url", image_url: { url: "data:image/jpeg;base64,AAAA" } }
          ]
        }]
      })
    }))

  it.scopedLive("an image for a text-only model is refused before any request, naming models that take images", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const error = yield* LanguageModel.generateText({
        prompt: [{ role: "user", content: [{ type: "file", mediaType: "image/png", data: new Uint8Array([1]) }] }]
      }).pipe(Effect.provide(modelLayer(fake)), Effect.flip)
      assert.instanceOf(error, AiError.MalformedInput)
      assert.strictEqual(ChutesAiError.kind(error), "UnsupportedInput")
      assert.include(error.description, "chutes/zai-org/GLM-5-TEE does not accept image input")
      assert.include(error.description, "models with image input: chutes/google/gemma-4-31B-turbo-TEE")
      assert.strictEqual(fake.counters.chat, 0)
      const pdf = yield* LanguageModel.generateText({
        prompt: [{ role: "user", content: [{ type: "file", mediaType: "application/pdf", data: "JVBERi0=" }] }]
      }).pipe(Effect.provide(modelLayer(fake, { model: "moonshotai/Kimi-K2.5-TEE" })), Effect.flip)
      assert.strictEqual(ChutesAiError.kind(pdf), "UnsupportedInput")
    }))

  it.scopedLive("tools: function tools with JSON schema parameters, and every toolChoice", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const run = (toolChoice: LanguageModel.ToolChoice<"get_weather" | "now"> | undefined) =>
        LanguageModel.generateText({ prompt: "Weather?", toolkit: Tools, toolChoice }).pipe(
          Effect.provide(Layer.merge(modelLayer(fake), ToolHandlers))
        )
      yield* run(undefined)
      yield* run("none")
      yield* run("required")
      yield* run({ tool: "get_weather" })
      yield* run({ oneOf: ["now"], mode: "required" })
      const bodies = fake.chat.bodies as ReadonlyArray<Record<string, unknown>>
      assert.deepStrictEqual(bodies[0], {
        model: "zai-org/GLM-5-TEE",
        messages: [{ role: "user", content: "Weather?" }],
        tools,
        tool_choice: "auto"
      })
      assert.deepStrictEqual(bodies.map((b) => b["tool_choice"]), [
        "auto",
        "none",
        "required",
        { type: "function", function: { name: "get_weather" } },
        "required"
      ])
      assert.deepStrictEqual(bodies[4]?.["tools"], [tools[1]])
    }))

  it.scopedLive("tool history: assistant tool_calls (content null) and tool messages with the call id", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      yield* LanguageModel.generateText({
        prompt: [
          { role: "user", content: "Weather in Paris?" },
          {
            role: "assistant",
            content: [
              { type: "reasoning", text: "I should look it up." },
              { type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Paris" } }
            ]
          },
          {
            role: "tool",
            content: [{
              type: "tool-result",
              id: "call_1",
              name: "get_weather",
              result: { celsius: 21 },
              isFailure: false,
              providerExecuted: false
            }]
          }
        ]
      }).pipe(Effect.provide(modelLayer(fake)))
      assert.deepStrictEqual(onlyBody(fake), {
        model: "zai-org/GLM-5-TEE",
        messages: [
          { role: "user", content: "Weather in Paris?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" }
            }]
          },
          { role: "tool", tool_call_id: "call_1", content: "{\"celsius\":21}" }
        ]
      })
    }))

  it.scopedLive("JSON output: json_schema for a model with structured_outputs", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "{\"name\":\"Ada\",\"age\":36}" })
      const response = yield* LanguageModel.generateObject({ prompt: "Who?", schema: Person, objectName: "person" })
        .pipe(Effect.provide(modelLayer(fake)))
      assert.deepStrictEqual(response.value, { name: "Ada", age: 36 })
      assert.deepStrictEqual(onlyBody(fake), {
        model: "zai-org/GLM-5-TEE",
        messages: [{ role: "user", content: "Who?" }],
        response_format: { type: "json_schema", json_schema: { name: "person", schema: personSchema } }
      })
    }))

  it.scopedLive("JSON output: json_object + the schema in the system prompt for json_mode; else the schema alone", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({
        models: [
          ...FakeChutes.seedModels(),
          { id: "test/json-mode-only", max_model_len: 8192, supported_features: ["json_mode"] }
        ]
      })
      fake.chat.setDefaultReply({ content: "{\"name\":\"Ada\",\"age\":36}" })
      yield* LanguageModel.generateObject({
        prompt: [{ role: "system", content: "Be exact." }, { role: "user", content: "Who?" }],
        schema: Person,
        objectName: "person"
      }).pipe(Effect.provide(modelLayer(fake, { model: "test/json-mode-only" })))
      yield* LanguageModel.generateObject({ prompt: "Who?", schema: Person, objectName: "person" }).pipe(
        Effect.provide(modelLayer(fake, { model: "unsloth/Mistral-Nemo-Instruct-2407-TEE" }))
      )
      assert.deepStrictEqual(fake.chat.bodies, [
        {
          model: "test/json-mode-only",
          messages: [{ role: "system", content: `Be exact.\n\n${jsonInstruction}` }, { role: "user", content: "Who?" }],
          response_format: { type: "json_object" }
        },
        {
          model: "unsloth/Mistral-Nemo-Instruct-2407-TEE",
          messages: [{ role: "system", content: jsonInstruction }, { role: "user", content: "Who?" }]
        }
      ])
    }))

  it.scopedLive("sampling options map to the service's names; max_tokens, never max_completion_tokens", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, {
          config: {
            maxTokens: 256,
            temperature: 0.2,
            topP: 0.9,
            topK: 40,
            minP: 0.05,
            frequencyPenalty: 0.1,
            presencePenalty: 0.2,
            repetitionPenalty: 1.05,
            seed: 7,
            stop: ["\n\n"],
            user: "u-1"
          }
        }))
      )
      assert.deepStrictEqual(onlyBody(fake), {
        model: "zai-org/GLM-5-TEE",
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 256,
        temperature: 0.2,
        top_p: 0.9,
        top_k: 40,
        min_p: 0.05,
        frequency_penalty: 0.1,
        presence_penalty: 0.2,
        repetition_penalty: 1.05,
        seed: 7,
        stop: ["\n\n"],
        user: "u-1"
      })
    }))

  it.scopedLive("thinking off through chat_template_kwargs; per-call overrides win over the layer's", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        ChutesLanguageModel.withConfigOverride({ thinking: false, temperature: 1 }),
        Effect.provide(modelLayer(fake, { config: { temperature: 0.1, maxTokens: 10 } }))
      )
      assert.deepStrictEqual(onlyBody(fake), {
        model: "zai-org/GLM-5-TEE",
        messages: [{ role: "user", content: "Hi" }],
        temperature: 1,
        max_tokens: 10,
        chat_template_kwargs: { enable_thinking: false, thinking: false }
      })
    }))

  it.scopedLive("extraBody adds fields, cannot replace model or messages; store / max_completion_tokens refused", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, { config: { extraBody: { logprobs: true, model: "other", messages: [] } } }))
      )
      assert.deepStrictEqual(onlyBody(fake), {
        logprobs: true,
        model: "zai-org/GLM-5-TEE",
        messages: [{ role: "user", content: "Hi" }]
      })
      for (const extraBody of [{ store: true }, { max_completion_tokens: 5 }]) {
        const error = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
          Effect.provide(modelLayer(fake, { config: { extraBody } })),
          Effect.flip
        )
        assert.strictEqual(ChutesAiError.kind(error), "UnsupportedInput")
      }
      assert.strictEqual(fake.counters.chat, 1)
    }))
})
