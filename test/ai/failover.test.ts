/**
 * Failover between models before the first byte, and never after it.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { collect, modelLayer } from "./harness.js"

const modelsAsked = (fake: FakeChutes.FakeChutesServer): ReadonlyArray<string> =>
  fake.chat.bodies.map((body) => (body as { readonly model: string }).model)

describe("failover", () => {
  it.scopedLive("first model 503 no instances, second answers -> the answer names the second model", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.setAvailability("zai-org/GLM-5-TEE", "no-instances")
      fake.chat.script({ model: "deepseek-ai/DeepSeek-V3.2-TEE", content: "DeepSeek here" })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, {
          model: "zai-org/GLM-5-TEE",
          fallbackModels: ["chutes-pro"],
          retry: { maxRetries: 3, baseDelay: "1 millis" }
        }))
      )
      assert.strictEqual(response.text, "DeepSeek here")
      const metadata = response.content.find((part) => part.type === "response-metadata")
      const modelId = metadata?.type === "response-metadata" ? metadata.modelId : undefined
      assert.deepStrictEqual(modelId, Option.some("deepseek-ai/DeepSeek-V3.2-TEE"))
      assert.deepStrictEqual(ChutesLanguageModel.responseInfo(response), {
        model: "deepseek-ai/DeepSeek-V3.2-TEE",
        ref: "chutes/deepseek-ai/DeepSeek-V3.2-TEE",
        requested: "chutes-pro",
        invocationId: metadata?.type === "response-metadata" ? metadata.metadata.chutes?.invocationId : undefined,
        failover: [{ model: "zai-org/GLM-5-TEE", kind: "NoInstances", status: 503 }]
      })
      // No retries of the first model when a next one exists.
      assert.deepStrictEqual(modelsAsked(fake), ["zai-org/GLM-5-TEE", "deepseek-ai/DeepSeek-V3.2-TEE"])
    }))

  it.scopedLive("404 model not found and 429 fail over too; the list is tried in order", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ model: "zai-org/GLM-5-TEE", status: 429, body: { detail: "Daily limit reached" } })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, {
          model: "zai-org/GLM-4.7-TEE",
          fallbackModels: ["chutes/zai-org/GLM-5-TEE", "moonshotai/Kimi-K2.5-TEE"]
        }))
      )
      assert.deepStrictEqual(modelsAsked(fake), [
        "zai-org/GLM-4.7-TEE",
        "zai-org/GLM-5-TEE",
        "moonshotai/Kimi-K2.5-TEE"
      ])
      assert.deepStrictEqual(ChutesLanguageModel.responseInfo(response)?.failover, [
        { model: "zai-org/GLM-4.7-TEE", kind: "ModelNotFound", status: 404 },
        { model: "zai-org/GLM-5-TEE", kind: "DailyCapReached", status: 429 }
      ])
    }))

  it.scopedLive("a prompt the first model cannot take (an image) goes to the next without a request", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const response = yield* LanguageModel.generateText({
        prompt: [{ role: "user", content: [{ type: "file", mediaType: "image/png", data: new Uint8Array([1]) }] }]
      }).pipe(
        Effect.provide(modelLayer(fake, { model: "zai-org/GLM-5-TEE", fallbackModels: ["moonshotai/Kimi-K2.5-TEE"] }))
      )
      assert.deepStrictEqual(modelsAsked(fake), ["moonshotai/Kimi-K2.5-TEE"])
      assert.strictEqual(ChutesLanguageModel.responseInfo(response)?.failover[0]?.kind, "UnsupportedInput")
    }))

  it.scopedLive("every model fails -> the last error, saying what was tried before", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.setAvailability("zai-org/GLM-5-TEE", "no-instances")
      fake.chat.setAvailability("deepseek-ai/DeepSeek-V3.2-TEE", "no-instances")
      const error = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, { fallbackModels: ["chutes-pro"] })),
        Effect.flip
      )
      assert.strictEqual(ChutesAiError.kind(error), "NoInstances")
      assert.include(error.description, "chutes/deepseek-ai/DeepSeek-V3.2-TEE")
      assert.include(error.description, "tried before: chutes/zai-org/GLM-5-TEE (NoInstances)")
      // The description grew; the class and the kind field are the last model's.
      assert.instanceOf(error, ChutesAiError.HttpResponseError)
      assert.strictEqual(error instanceof ChutesAiError.HttpResponseError && error.kind, "NoInstances")
    }))

  it.scopedLive("a failure another model would not fix (400) does not fail over", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ status: 400, body: { detail: "bad" } })
      const error = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, { fallbackModels: ["chutes-pro"] })),
        Effect.flip
      )
      assert.strictEqual(ChutesAiError.kind(error), "BadRequest")
      assert.deepStrictEqual(modelsAsked(fake), ["zai-org/GLM-5-TEE"])
    }))

  it.scopedLive("streaming fails over before the first byte", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.setAvailability("zai-org/GLM-5-TEE", "no-instances")
      fake.chat.script({ model: "deepseek-ai/DeepSeek-V3.2-TEE", content: "streamed by DeepSeek" })
      const parts = yield* collect({ prompt: "Hi" }).pipe(
        Effect.provide(modelLayer(fake, { fallbackModels: ["chutes-pro"] }))
      )
      assert.strictEqual(
        parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join(""),
        "streamed by DeepSeek"
      )
      assert.strictEqual(ChutesLanguageModel.responseInfo(parts)?.model, "deepseek-ai/DeepSeek-V3.2-TEE")
    }))

  it.scopedLive("no failover after the first byte: a mid-stream error ends the stream", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({
        model: "zai-org/GLM-5-TEE",
        content: "partial answer",
        stream: { errorAfter: 2, error: { message: "No instances available", code: 503 } }
      })
      const result = yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(
        Stream.runCollect,
        Effect.either,
        Effect.provide(modelLayer(fake, { fallbackModels: ["chutes-pro"], retry: { maxRetries: 3 } }))
      )
      assert.isTrue(Either.isLeft(result))
      assert.strictEqual(Either.isLeft(result) && ChutesAiError.kind(result.left), "ServiceError")
      assert.deepStrictEqual(modelsAsked(fake), ["zai-org/GLM-5-TEE"])
    }))

  it.scopedLive("model(...) is an @effect/ai Model named \"chutes\" that also fails over", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.setAvailability("zai-org/GLM-5-TEE", "no-instances")
      const aiModel = ChutesLanguageModel.model("zai-org/GLM-5-TEE", { fallbackModels: ["chutes-pro"] })
      assert.strictEqual(aiModel.provider, "chutes")
      const { provider } = yield* Effect.gen(function*() {
        const layer = yield* aiModel
        return yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
          Effect.provide(layer),
          Effect.map((response) => ({ provider: ChutesLanguageModel.responseInfo(response)?.model }))
        )
      }).pipe(Effect.provide(modelLayer(fake)))
      assert.strictEqual(provider, "deepseek-ai/DeepSeek-V3.2-TEE")
    }))
})
