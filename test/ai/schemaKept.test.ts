/**
 * `generateText` and `streamText` without a toolkit run in the SDK (src/ai/internal/schemaKept.ts: `@effect/ai`'s steps
 * with the answer schema built once); with a toolkit, even an empty one, in `@effect/ai`'s own methods. The two must not
 * be told apart: the same parts, the same span with the same attributes and children, the same span transformer
 * call, the same `MalformedOutput` for parts that do not decode. Over loopback against FakeChutes.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as Telemetry from "@effect/ai/Telemetry"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { withSchemaKept } from "../../src/ai/internal/schemaKept.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { recordingTracer } from "../support/tracer.js"
import { modelLayer } from "./harness.js"

const reply: FakeChutes.ChatReply = {
  reasoningContent: "Kurz nachdenken.",
  content: "Grüße 😀 aus Zürich",
  finishReason: "length",
  usage: { prompt_tokens: 12, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 4 } },
  headers: { "x-chutes-invocationid": "inv-same" }
}

/** Both ways of calling: the SDK's (no toolkit) and `@effect/ai`'s own (an empty toolkit). */
const ways = {
  sdk: (prompt: string) => LanguageModel.generateText({ prompt, toolChoice: "none" }),
  effectAi: (prompt: string) => LanguageModel.generateText({ prompt, toolChoice: "none", toolkit: Toolkit.empty })
}

/** The same for a stream, its parts collected. */
const streamWays = {
  sdk: (prompt: string) => Stream.runCollect(LanguageModel.streamText({ prompt, toolChoice: "none" })),
  effectAi: (prompt: string) =>
    Stream.runCollect(LanguageModel.streamText({ prompt, toolChoice: "none", toolkit: Toolkit.empty }))
}

/** A part as plain data, without what differs from one answer to the next (the completion id, its timestamp). */
const plain = (part: unknown) => {
  const { id: _id, timestamp: _timestamp, ...rest } = part as Record<string, unknown>
  return JSON.parse(JSON.stringify(rest)) as unknown
}

describe("generateText without a toolkit", () => {
  it.scopedLive("gives the parts @effect/ai's own generateText gives for the same answer", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script(reply, reply)
      const layer = modelLayer(fake)
      const sdk = yield* ways.sdk("Hallo").pipe(Effect.provide(layer))
      const effectAi = yield* ways.effectAi("Hallo").pipe(Effect.provide(layer))
      assert.deepStrictEqual(sdk.content.map((p) => p.type), [
        "response-metadata",
        "reasoning",
        "text",
        "finish"
      ])
      assert.deepStrictEqual(sdk.content.map(plain), effectAi.content.map(plain))
      assert.strictEqual(sdk.text, "Grüße 😀 aus Zürich")
      assert.strictEqual(sdk.finishReason, "length")
      assert.deepStrictEqual({ ...sdk.usage }, { ...effectAi.usage })
      assert.instanceOf(sdk, LanguageModel.GenerateTextResponse)
    }))

  it.scopedLive("has the same span, attributes and children", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script(reply, reply, reply)
      const layer = modelLayer(fake)
      // Build the model once, so that the catalog is fetched before either call and neither call has its span.
      const run = (way: keyof typeof ways) =>
        Effect.gen(function*() {
          const { spans, tracer } = recordingTracer()
          yield* ways[way]("Hallo").pipe(Effect.withTracer(tracer))
          const call = spans.filter((s) => s.name === "LanguageModel.generateText")
          assert.strictEqual(call.length, 1, way)
          const attributes = Object.fromEntries(
            [...call[0]!.attributes].filter(([key]) => key !== "gen_ai.response.id")
          )
          const children = spans.filter((s) => s.parentId === call[0]!.spanId).map((s) => s.name)
          return { attributes, children, all: spans.map((s) => s.name) }
        })
      const both = yield* Effect.gen(function*() {
        yield* LanguageModel.generateText({ prompt: "warm" }).pipe(Effect.ignore)
        return { sdk: yield* run("sdk"), effectAi: yield* run("effectAi") }
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(both.sdk, both.effectAi)
      assert.strictEqual(both.sdk.attributes["toolChoice"], "none")
      assert.strictEqual(both.sdk.attributes["gen_ai.response.model"], "zai-org/GLM-5-TEE")
      assert.isAbove(both.sdk.children.length, 0)
    }))

  it.scopedLive("calls the span transformer as @effect/ai does, the one of the call's context first", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script(reply, reply, reply, reply)
      const seen: Array<{ readonly who: string; readonly prompt: unknown; readonly response: unknown }> = []
      const transformer = (who: string): Telemetry.SpanTransformer => (options) =>
        void seen.push({
          who,
          prompt: JSON.parse(JSON.stringify(options.prompt)),
          response: options.response.map(plain)
        })
      // One transformer where the model is built, another in the context of the call.
      const layer = modelLayer(fake).pipe(
        Layer.provide(Layer.succeed(Telemetry.CurrentSpanTransformer, transformer("built")))
      )
      const call = (way: keyof typeof ways) => ways[way]("Hallo").pipe(Effect.provide(layer))
      const inCall = (way: keyof typeof ways) =>
        call(way).pipe(Effect.provideService(Telemetry.CurrentSpanTransformer, transformer("call")))
      const sdk = [yield* call("sdk"), yield* inCall("sdk")]
      const sdkSeen = seen.splice(0)
      yield* call("effectAi")
      yield* inCall("effectAi")
      assert.deepStrictEqual(sdkSeen.map((s) => s.who), ["built", "call"])
      assert.deepStrictEqual(sdkSeen, seen)
      assert.deepStrictEqual(sdkSeen[0]!.response, sdk[0]!.content.map(plain))
    }))

  it.scopedLive("fails with @effect/ai's MalformedOutput when the parts do not decode (a tool call nobody offered)", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const withCall: FakeChutes.ChatReply = {
        content: "",
        toolCalls: [{ id: "call_1", name: "translate", arguments: { text: "x" } }],
        finishReason: "tool_calls"
      }
      fake.chat.script(withCall, withCall)
      const layer = modelLayer(fake)
      const sdk = yield* ways.sdk("Hallo").pipe(Effect.provide(layer), Effect.flip)
      const effectAi = yield* ways.effectAi("Hallo").pipe(Effect.provide(layer), Effect.flip)
      assert.instanceOf(sdk, AiError.MalformedOutput)
      assert.strictEqual(sdk._tag, effectAi._tag)
      assert.strictEqual(sdk.module, "LanguageModel")
      assert.strictEqual(sdk.method, "generateText")
      assert.strictEqual(sdk.message, effectAi.message)
    }))
})

describe("streamText without a toolkit", () => {
  it.scopedLive("gives the parts @effect/ai's own streamText gives for the same answer", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script(reply, reply)
      const layer = modelLayer(fake)
      const sdk = Chunk.toArray(yield* streamWays.sdk("Hallo").pipe(Effect.provide(layer)))
      const effectAi = Chunk.toArray(yield* streamWays.effectAi("Hallo").pipe(Effect.provide(layer)))
      assert.includeMembers(sdk.map((p) => p.type), ["response-metadata", "reasoning-delta", "text-delta", "finish"])
      assert.deepStrictEqual(sdk.map(plain), effectAi.map(plain))
    }))

  it.scopedLive("has the same span, attributes and children", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script(reply, reply, reply)
      const layer = modelLayer(fake)
      const run = (way: keyof typeof streamWays) =>
        Effect.gen(function*() {
          const { spans, tracer } = recordingTracer()
          yield* streamWays[way]("Hallo").pipe(Effect.withTracer(tracer))
          const call = spans.filter((s) => s.name === "LanguageModel.streamText")
          assert.strictEqual(call.length, 1, way)
          const attributes = Object.fromEntries(
            [...call[0]!.attributes].filter(([key]) => key !== "gen_ai.response.id")
          )
          const children = spans.filter((s) => s.parentId === call[0]!.spanId).map((s) => s.name)
          return { attributes, children, all: spans.map((s) => s.name) }
        })
      const both = yield* Effect.gen(function*() {
        yield* LanguageModel.generateText({ prompt: "warm" }).pipe(Effect.ignore)
        return { sdk: yield* run("sdk"), effectAi: yield* run("effectAi") }
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(both.sdk, both.effectAi)
      assert.strictEqual(both.sdk.attributes["toolChoice"], "none")
      assert.strictEqual(both.sdk.attributes["chutes.usage.output_tokens"], 7)
      assert.isAbove(both.sdk.children.length, 0)
    }))

  it.scopedLive("calls the span transformer once at the end with every part, as @effect/ai does", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script(reply, reply, reply, reply)
      const seen: Array<{ readonly who: string; readonly prompt: unknown; readonly response: unknown }> = []
      const transformer = (who: string): Telemetry.SpanTransformer => (options) =>
        void seen.push({
          who,
          prompt: JSON.parse(JSON.stringify(options.prompt)),
          response: options.response.map(plain)
        })
      const layer = modelLayer(fake).pipe(
        Layer.provide(Layer.succeed(Telemetry.CurrentSpanTransformer, transformer("built")))
      )
      const call = (way: keyof typeof streamWays) => streamWays[way]("Hallo").pipe(Effect.provide(layer))
      const inCall = (way: keyof typeof streamWays) =>
        call(way).pipe(Effect.provideService(Telemetry.CurrentSpanTransformer, transformer("call")))
      const sdk = [yield* call("sdk"), yield* inCall("sdk")]
      const sdkSeen = seen.splice(0)
      yield* call("effectAi")
      yield* inCall("effectAi")
      assert.deepStrictEqual(sdkSeen.map((s) => s.who), ["built", "call"])
      assert.deepStrictEqual(sdkSeen, seen)
      assert.deepStrictEqual(sdkSeen[0]!.response, Chunk.toArray(sdk[0]!).map(plain))
    }))

  it.scopedLive("fails with @effect/ai's MalformedOutput when a part does not decode (a tool call nobody offered)", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const withCall: FakeChutes.ChatReply = {
        content: "",
        toolCalls: [{ id: "call_1", name: "translate", arguments: { text: "x" } }],
        finishReason: "tool_calls"
      }
      fake.chat.script(withCall, withCall)
      const layer = modelLayer(fake)
      const sdk = yield* streamWays.sdk("Hallo").pipe(Effect.provide(layer), Effect.flip)
      const effectAi = yield* streamWays.effectAi("Hallo").pipe(Effect.provide(layer), Effect.flip)
      assert.instanceOf(sdk, AiError.MalformedOutput)
      assert.strictEqual(sdk._tag, effectAi._tag)
      assert.strictEqual((sdk as AiError.MalformedOutput).method, "streamText")
      assert.strictEqual(sdk.message, effectAi.message)
    }))
})

describe("withSchemaKept", () => {
  it.effect("runs calls without a toolkit itself and hands those with one to @effect/ai's own methods", () =>
    Effect.gen(function*() {
      const provider = {
        generateText: () => Effect.succeed([{ type: "text" as const, text: "from the provider" }]),
        streamText: () => Stream.make({ type: "text-delta" as const, id: "t", delta: "streamed" })
      }
      const made = yield* LanguageModel.make(provider)
      const handedOn: Array<string> = []
      const kept = yield* withSchemaKept({
        ...made,
        generateText: (options) => {
          handedOn.push("generateText")
          return made.generateText(options)
        },
        streamText: (options) => {
          handedOn.push("streamText")
          return made.streamText(options)
        }
      }, provider)
      const deltas = (stream: Stream.Stream<Response.StreamPart<{}>, unknown>) =>
        Effect.map(Stream.runCollect(stream), (parts) =>
          Chunk.toArray(parts).map((p) => p.type === "text-delta" ? p.delta : p.type))
      assert.strictEqual((yield* kept.generateText({ prompt: "x" })).text, "from the provider")
      assert.deepStrictEqual(yield* deltas(kept.streamText({ prompt: "x" })), ["streamed"])
      assert.deepStrictEqual(handedOn, [])
      assert.strictEqual((yield* kept.generateText({ prompt: "x", toolkit: Toolkit.empty })).text, "from the provider")
      assert.deepStrictEqual(yield* deltas(kept.streamText({ prompt: "x", toolkit: Toolkit.empty })), ["streamed"])
      assert.deepStrictEqual(handedOn, ["generateText", "streamText"])
      assert.strictEqual(kept.generateObject, made.generateObject)
    }))
})
