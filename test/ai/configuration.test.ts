/**
 * Where a wrongly named model fails (docs/ai.md, "Errors"): the provider's own configuration when its layer is built
 * (`InvalidModelRef`), the chat layer's model names on the call (an `AiError`, with a message in words).
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import type { InvalidModelRef } from "../../src/ChutesError.js"
import * as ChutesProvider from "../../src/ChutesProvider.js"
import * as NodeChutes from "../../src/node/NodeChutes.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { modelLayer } from "./harness.js"

describe("a wrongly named model", () => {
  it("types: the chat layer never fails to build; with the provider under it, InvalidModelRef is the build's", () => {
    const chat = ChutesLanguageModel.layer({ model: "chutes-pro" })
    expectTypeOf<Layer.Layer.Error<typeof chat>>().toEqualTypeOf<never>()
    const composed = chat.pipe(Layer.provide(NodeChutes.layer()))
    expectTypeOf<Layer.Layer.Error<typeof composed>>().toEqualTypeOf<InvalidModelRef>()
    const program = LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(composed))
    expectTypeOf<Effect.Effect.Error<typeof program>>().toEqualTypeOf<AiError.AiError | InvalidModelRef>()
  })

  it.effect("the provider's default model that is not a ref fails the layer build, before any request", () =>
    Effect.gen(function*() {
      const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.provide(
          ChutesLanguageModel.layer({ model: "chutes-pro" }).pipe(
            Layer.provide(ChutesProvider.layerTest({ defaultModel: "GLM-5-TEE" }))
          )
        ),
        Effect.flip
      )
      assert.strictEqual(error._tag, "InvalidModelRef")
      assert.isFalse(AiError.isAiError(error))
      assert.match(error.message, /^Model ref "GLM-5-TEE" has no provider: expected "chutes\/<model-id>"/)
    }))

  it.scopedLive("an unknown model fails the call with MalformedInput, whose message is a sentence", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.provide(modelLayer(fake, { model: "chutes-pr" })),
        Effect.flip
      )
      assert.instanceOf(error, AiError.MalformedInput)
      assert.strictEqual(ChutesAiError.kind(error), "UnknownModel")
      const expected = `ChutesLanguageModel.generateText: [UnknownModel] Unknown model "chutes-pr": not an alias`
      assert.strictEqual(error.message.slice(0, expected.length), expected)
      assert.include(error.message, `did you mean "chutes-pro"`)
      assert.notInclude(error.message, "\"module\"")
      assert.notInclude(error.message, "undefined")
      assert.strictEqual(fake.counters.chat, 0)
    }))

  it.scopedLive("a malformed ref given to the chat layer fails the call (streaming too) with a sentence", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const error = yield* LanguageModel.streamText({ prompt: "x" }).pipe(
        Stream.runDrain,
        Effect.provide(modelLayer(fake, { model: "chutes/" })),
        Effect.flip
      )
      assert.instanceOf(error, AiError.MalformedInput)
      assert.strictEqual(ChutesAiError.kind(error), "UnknownModel")
      const expected = `ChutesLanguageModel.streamText: [UnknownModel] Model ref "chutes/" has no model id`
      assert.strictEqual(error.message.slice(0, expected.length), expected)
      assert.strictEqual(fake.counters.chat, 0)
    }))
})
