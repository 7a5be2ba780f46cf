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

type Way = "sdk" | "effectAi"

/**
 * Each method both ways — the SDK's (no toolkit) and `@effect/ai`'s own (an empty toolkit) —, its parts as an array:
 * a completion's content, a stream's parts collected.
 */
const methods = [
  {
    name: "generateText",
    types: ["response-metadata", "reasoning", "text", "finish"],
    call: (way: Way, prompt: string) =>
      Effect.map(
        LanguageModel.generateText(
          way === "sdk" ? { prompt, toolChoice: "none" } : { prompt, toolChoice: "none", toolkit: Toolkit.empty }
        ),
        (response): ReadonlyArray<unknown> => response.content
      )
  },
  {
    name: "streamText",
    types: ["response-metadata", "reasoning-delta", "text-delta", "finish"],
    call: (way: Way, prompt: string) =>
      Effect.map(
        Stream.runCollect(LanguageModel.streamText(
          way === "sdk" ? { prompt, toolChoice: "none" } : { prompt, toolChoice: "none", toolkit: Toolkit.empty }
        )),
        (parts): ReadonlyArray<unknown> => Chunk.toArray(parts)
      )
  }
] as const

/** A part as plain data, without what differs from one answer to the next (the completion id, its timestamp). */
const plain = (part: unknown) => {
  const { id: _id, timestamp: _timestamp, ...rest } = part as Record<string, unknown>
  return JSON.parse(JSON.stringify(rest)) as unknown
}

for (const method of methods) {
  describe(`${method.name} without a toolkit`, () => {
    it.scopedLive(`gives the parts @effect/ai's own ${method.name} gives for the same answer`, () =>
      Effect.gen(function*() {
        const fake = yield* FakeChutes.make()
        fake.chat.script(reply, reply)
        const layer = modelLayer(fake)
        const sdk = yield* method.call("sdk", "Hallo").pipe(Effect.provide(layer))
        const effectAi = yield* method.call("effectAi", "Hallo").pipe(Effect.provide(layer))
        assert.includeMembers(sdk.map((p) => (p as { readonly type: string }).type), [...method.types])
        assert.deepStrictEqual(sdk.map(plain), effectAi.map(plain))
      }))

    it.scopedLive("has the same span, attributes and children", () =>
      Effect.gen(function*() {
        const fake = yield* FakeChutes.make()
        fake.chat.script(reply, reply, reply)
        const layer = modelLayer(fake)
        const run = (way: Way) =>
          Effect.gen(function*() {
            const { spans, tracer } = recordingTracer()
            yield* method.call(way, "Hallo").pipe(Effect.withTracer(tracer))
            const call = spans.filter((s) => s.name === `LanguageModel.${method.name}`)
            assert.strictEqual(call.length, 1, way)
            const attributes = Object.fromEntries(
              [...call[0]!.attributes].filter(([key]) => key !== "gen_ai.response.id")
            )
            const children = spans.filter((s) => s.parentId === call[0]!.spanId).map((s) => s.name)
            return { attributes, children, all: spans.map((s) => s.name) }
          })
        // A first call fetches the catalog, so that neither of the two compared has that span.
        const both = yield* Effect.gen(function*() {
          yield* LanguageModel.generateText({ prompt: "warm" }).pipe(Effect.ignore)
          return { sdk: yield* run("sdk"), effectAi: yield* run("effectAi") }
        }).pipe(Effect.provide(layer))
        assert.deepStrictEqual(both.sdk, both.effectAi)
        assert.strictEqual(both.sdk.attributes["toolChoice"], "none")
        assert.strictEqual(both.sdk.attributes["gen_ai.response.model"], "zai-org/GLM-5-TEE")
        assert.strictEqual(both.sdk.attributes["chutes.usage.output_tokens"], 7)
        assert.isAbove(both.sdk.children.length, 0)
      }))

    it.scopedLive("calls the span transformer as @effect/ai does, with every part, the call's own first", () =>
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
        const call = (way: Way) => method.call(way, "Hallo").pipe(Effect.provide(layer))
        const inCall = (way: Way) =>
          call(way).pipe(Effect.provideService(Telemetry.CurrentSpanTransformer, transformer("call")))
        const sdk = [yield* call("sdk"), yield* inCall("sdk")]
        const sdkSeen = seen.splice(0)
        yield* call("effectAi")
        yield* inCall("effectAi")
        assert.deepStrictEqual(sdkSeen.map((s) => s.who), ["built", "call"])
        assert.deepStrictEqual(sdkSeen, seen)
        assert.deepStrictEqual(sdkSeen[0]!.response, sdk[0]!.map(plain))
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
        const sdk = yield* method.call("sdk", "Hallo").pipe(Effect.provide(layer), Effect.flip)
        const effectAi = yield* method.call("effectAi", "Hallo").pipe(Effect.provide(layer), Effect.flip)
        assert.instanceOf(sdk, AiError.MalformedOutput)
        assert.strictEqual(sdk._tag, effectAi._tag)
        assert.strictEqual((sdk as AiError.MalformedOutput).module, "LanguageModel")
        assert.strictEqual((sdk as AiError.MalformedOutput).method, method.name)
        assert.strictEqual(sdk.message, effectAi.message)
      }))
  })
}

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
      const own = yield* kept.generateText({ prompt: "x" })
      assert.instanceOf(own, LanguageModel.GenerateTextResponse)
      assert.strictEqual(own.text, "from the provider")
      assert.deepStrictEqual(yield* deltas(kept.streamText({ prompt: "x" })), ["streamed"])
      assert.deepStrictEqual(handedOn, [])
      assert.strictEqual((yield* kept.generateText({ prompt: "x", toolkit: Toolkit.empty })).text, "from the provider")
      assert.deepStrictEqual(yield* deltas(kept.streamText({ prompt: "x", toolkit: Toolkit.empty })), ["streamed"])
      assert.deepStrictEqual(handedOn, ["generateText", "streamText"])
      assert.strictEqual(kept.generateObject, made.generateObject)
    }))
})
