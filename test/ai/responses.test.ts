/**
 * Answers into `@effect/ai` parts over loopback: text, reasoning, tool calls, finish reasons, usage, invocation id —
 * non-streaming and streaming, with network chunks cut inside UTF-8 characters and inside tool-argument JSON.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { collect, modelLayer, ofType } from "./harness.js"

const Translate = Tool.make("translate", {
  parameters: { text: Schema.String, to: Schema.String },
  success: Schema.String
})
const Tools = Toolkit.make(Translate)
const Handlers = Tools.toLayer({ translate: ({ text }) => Effect.succeed(text) })

const reply: FakeChutes.ChatReply = {
  reasoningContent: "Der Nutzer möchte Grüße — 😀 auf Japanisch.",
  content: "Ich übersetze: ",
  toolCalls: [{ id: "call_jp", name: "translate", arguments: { text: "Grüße 😀 aus Zürich", to: "日本語" } }],
  finishReason: "tool_calls",
  usage: {
    prompt_tokens: 120,
    completion_tokens: 48,
    prompt_tokens_details: { cached_tokens: 100 },
    completion_tokens_details: { reasoning_tokens: 20 }
  },
  headers: { "x-chutes-invocationid": "inv-7f3c" }
}

const usage = { inputTokens: 120, outputTokens: 48, totalTokens: 168, reasoningTokens: 20, cachedInputTokens: 100 }

describe("answers", () => {
  it.scopedLive("non-streaming: reasoning, text, tool call, finish reason, usage, invocation id", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script(reply)
      const response = yield* LanguageModel.generateText({
        prompt: "Grüße auf Japanisch",
        toolkit: Tools,
        disableToolCallResolution: true
      }).pipe(Effect.provide(Layer.merge(modelLayer(fake), Handlers)))
      assert.deepStrictEqual(response.content.map((p) => p.type), [
        "response-metadata",
        "reasoning",
        "text",
        "tool-call",
        "finish"
      ])
      assert.strictEqual(response.reasoningText, reply.reasoningContent)
      assert.strictEqual(response.text, "Ich übersetze: ")
      assert.deepStrictEqual(response.toolCalls.map((c) => [c.id, c.name, c.params]), [
        ["call_jp", "translate", { text: "Grüße 😀 aus Zürich", to: "日本語" }]
      ])
      assert.strictEqual(response.finishReason, "tool-calls")
      assert.deepStrictEqual({ ...response.usage }, usage)
      const info = ChutesLanguageModel.responseInfo(response)
      assert.deepStrictEqual(info, {
        model: "zai-org/GLM-5-TEE",
        ref: "chutes/zai-org/GLM-5-TEE",
        requested: "zai-org/GLM-5-TEE",
        invocationId: "inv-7f3c",
        failover: []
      })
    }))

  it.scopedLive("`reasoning` instead of `reasoning_content`; finish reasons stop and length", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ reasoning: "hmm", content: "a" }, { content: "b", finishReason: "length" })
      const layer = modelLayer(fake)
      const first = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer))
      assert.strictEqual(first.reasoningText, "hmm")
      assert.strictEqual(first.finishReason, "stop")
      const second = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer))
      assert.strictEqual(second.finishReason, "length")
    }))

  for (const chunkBytes of [1, 5]) {
    it.scopedLive(`streaming, ${chunkBytes}-byte network chunks: the same answer, the last usage`, () =>
      Effect.gen(function*() {
        const fake = yield* FakeChutes.make()
        fake.chat.script({ ...reply, stream: { chunkBytes, deltaChars: 3 } })
        const parts = yield* LanguageModel.streamText({
          prompt: "Grüße auf Japanisch",
          toolkit: Tools,
          disableToolCallResolution: true
        }).pipe(
          Stream.runCollect,
          Effect.map((chunk) => Array.from(chunk)),
          Effect.provide(Layer.merge(modelLayer(fake), Handlers))
        )
        assert.strictEqual(ofType(parts, "reasoning-delta").map((p) => p.delta).join(""), reply.reasoningContent)
        assert.strictEqual(ofType(parts, "text-delta").map((p) => p.delta).join(""), "Ich übersetze: ")
        assert.strictEqual(
          ofType(parts, "tool-params-delta").map((p) => p.delta).join(""),
          JSON.stringify({ text: "Grüße 😀 aus Zürich", to: "日本語" })
        )
        const calls = ofType(parts, "tool-call")
        assert.deepStrictEqual(calls.map((c) => [c.id, c.name, c.params]), [
          ["call_jp", "translate", { text: "Grüße 😀 aus Zürich", to: "日本語" }]
        ])
        const finish = ofType(parts, "finish")
        assert.strictEqual(finish.length, 1)
        assert.strictEqual(finish[0]?.reason, "tool-calls")
        // Usage came on every chunk with running counts; the final one is kept.
        assert.deepStrictEqual({ ...finish[0]?.usage }, usage)
        assert.strictEqual(ChutesLanguageModel.responseInfo(parts)?.invocationId, "inv-7f3c")
        assert.deepStrictEqual(parts.map((p) => p.type).filter((t) => t.endsWith("-start") || t.endsWith("-end")), [
          "reasoning-start",
          "reasoning-end",
          "text-start",
          "text-end",
          "tool-params-start",
          "tool-params-end"
        ])
      }))
  }

  it.scopedLive("streaming text without tools", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "Ein kurzer Satz über Käse 🧀.", stream: { deltaChars: 2 } })
      const parts = yield* collect({ prompt: "x" }).pipe(Effect.provide(modelLayer(fake)))
      assert.strictEqual(ofType(parts, "text-delta").map((p) => p.delta).join(""), "Ein kurzer Satz über Käse 🧀.")
      assert.strictEqual(ofType(parts, "finish")[0]?.reason, "stop")
    }))

  it.scopedLive("tool arguments that are not JSON: MalformedOutput / InvalidToolArguments, streamed or not", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const bad: FakeChutes.ChatReply = { toolCalls: [{ name: "translate", arguments: "{\"text\": \"unterminated" }] }
      fake.chat.script(bad, bad)
      const layer = Layer.merge(modelLayer(fake), Handlers)
      const error = yield* LanguageModel.generateText({ prompt: "x", toolkit: Tools }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.instanceOf(error, AiError.MalformedOutput)
      assert.strictEqual(ChutesAiError.kind(error), "InvalidToolArguments")
      assert.include(error.description, "translate")
      const streamed = yield* LanguageModel.streamText({ prompt: "x", toolkit: Tools }).pipe(
        Stream.runDrain,
        Effect.provide(layer),
        Effect.flip
      )
      assert.strictEqual(ChutesAiError.kind(streamed), "InvalidToolArguments")
    }))
})

describe("answers that are not what a stream request asked for", () => {
  it.scopedLive("a JSON completion to a stream request is InvalidResponse, not an empty answer that finished well", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const completion = JSON.stringify({
        id: "chatcmpl-1",
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: "THE ANSWER" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 5, completion_tokens: 2 }
      })
      fake.fault({ _tag: "Body", route: "chat", status: 200, contentType: "application/json", body: completion, times: 1 })
      const result = yield* Effect.either(collect({ prompt: "Hi" }).pipe(Effect.provide(modelLayer(fake))))
      assert.isTrue(Either.isLeft(result), "a failure, not an empty answer")
      if (Either.isLeft(result)) {
        assert.strictEqual(ChutesAiError.kind(result.left), "InvalidResponse")
        assert.include(result.left.message, "answered a stream request with a JSON body (content-type application/json)")
      }
    }))

  it.scopedLive("an error event with an empty choices list is the service's error, not an answer", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const body = `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n` +
        `data: {"error":{"message":"the model is overloaded"},"choices":[]}\n\ndata: [DONE]\n\n`
      fake.fault({ _tag: "Body", route: "chat", status: 200, contentType: "text/event-stream", body, times: 1 })
      const result = yield* Effect.either(collect({ prompt: "Hi" }).pipe(Effect.provide(modelLayer(fake))))
      assert.isTrue(Either.isLeft(result), "a failure, not an answer")
      if (Either.isLeft(result)) assert.include(result.left.message, "the model is overloaded")
    }))
})
