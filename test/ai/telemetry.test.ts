/**
 * The `gen_ai.*` span attributes the SDK writes by hand (src/ai/internal/telemetry.ts) are exactly those `@effect/ai`'s
 * `Telemetry.addGenAIAnnotations` writes for the same values: the same keys, values and order.
 */
import type * as Response from "@effect/ai/Response"
import { addGenAIAnnotations } from "@effect/ai/Telemetry"
import { assert, describe, it } from "@effect/vitest"
import type * as Tracer from "effect/Tracer"
import * as Telemetry from "../../src/ai/internal/telemetry.js"

/** A span that only records its attributes, in order. */
const recording = () => {
  const attributes: Array<readonly [string, unknown]> = []
  const span = { attribute: (key: string, value: unknown) => void attributes.push([key, value]) } as unknown as Tracer.Span
  return { span, attributes }
}

describe("gen_ai span attributes", () => {
  it("a request: the same as addGenAIAnnotations({ system, operation, request })", () => {
    const requests = [
      { model: "zai-org/GLM-5-TEE" },
      { model: "m", temperature: 0.7, topP: 0.9, topK: 40, maxTokens: 1024 },
      { model: "m", temperature: 0, topP: undefined, topK: 0, maxTokens: undefined }
    ]
    for (const request of requests) {
      const theirs = recording()
      addGenAIAnnotations(theirs.span, { system: "chutes", operation: { name: "chat" }, request })
      const ours = recording()
      Telemetry.annotateRequest(ours.span, request)
      assert.deepStrictEqual(ours.attributes, theirs.attributes)
    }
  })

  it("an answer's parts: the same as addGenAIAnnotations per metadata and finish part", () => {
    const parts: ReadonlyArray<Response.AnyPartEncoded> = [
      { type: "response-metadata", id: "chatcmpl-1", modelId: "m", timestamp: undefined },
      { type: "response-metadata", id: undefined, modelId: undefined, timestamp: undefined },
      { type: "text", text: "Hello" },
      { type: "finish", reason: "stop", usage: { inputTokens: 12, outputTokens: 9, totalTokens: 21 } },
      { type: "finish", reason: "length", usage: { inputTokens: undefined, outputTokens: 0, totalTokens: undefined } }
    ]
    const theirs = recording()
    for (const part of parts) {
      if (part.type === "response-metadata") {
        addGenAIAnnotations(theirs.span, { response: { id: part.id, model: part.modelId } })
      } else if (part.type === "finish") {
        addGenAIAnnotations(theirs.span, {
          response: { finishReasons: [part.reason] },
          usage: { inputTokens: part.usage.inputTokens, outputTokens: part.usage.outputTokens }
        })
      }
    }
    const ours = recording()
    Telemetry.annotateResponse(ours.span, parts)
    assert.isAbove(theirs.attributes.length, 4)
    assert.deepStrictEqual(ours.attributes, theirs.attributes)
  })
})
