/**
 * The `gen_ai.*` span attributes of a chat call (OpenTelemetry's GenAI conventions): exactly those `@effect/ai`'s
 * `Telemetry.addGenAIAnnotations` writes for the same values, in the same order, with the keys spelled out. That
 * function walks each option object with `Object.entries` and converts every key with `String.camelToSnake`; called
 * three times a completion it cost ~30 µs of CPU per call (bench/README.md, "Chat", fourth pass).
 * test/ai/telemetry.test.ts compares the two.
 *
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import type * as Tracer from "effect/Tracer"

const put = (span: Tracer.Span, key: string, value: unknown): void => {
  if (value !== undefined && value !== null) span.attribute(key, value)
}

/** What a request asks for: `addGenAIAnnotations(span, { system: "chutes", operation: { name: "chat" }, request })`. */
export const annotateRequest = (
  span: Tracer.Span,
  request: {
    readonly model: string
    readonly temperature?: number | undefined
    readonly topP?: number | undefined
    readonly topK?: number | undefined
    readonly maxTokens?: number | undefined
  }
): void => {
  span.attribute("gen_ai.system", "chutes")
  span.attribute("gen_ai.operation.name", "chat")
  put(span, "gen_ai.request.model", request.model)
  put(span, "gen_ai.request.temperature", request.temperature)
  put(span, "gen_ai.request.top_p", request.topP)
  put(span, "gen_ai.request.top_k", request.topK)
  put(span, "gen_ai.request.max_tokens", request.maxTokens)
}

/**
 * What the answer's parts say: for a `response-metadata` part `addGenAIAnnotations(span, { response: { id, model } })`,
 * for a `finish` part `{ response: { finishReasons: [reason] }, usage: { inputTokens, outputTokens } }`.
 */
export const annotateResponse = (span: Tracer.Span, parts: ReadonlyArray<Response.AnyPartEncoded>): void => {
  for (const part of parts) {
    if (part.type === "response-metadata") {
      put(span, "gen_ai.response.id", part.id)
      put(span, "gen_ai.response.model", part.modelId)
    } else if (part.type === "finish") {
      span.attribute("gen_ai.response.finish_reasons", [part.reason])
      put(span, "gen_ai.usage.input_tokens", part.usage.inputTokens)
      put(span, "gen_ai.usage.output_tokens", part.usage.outputTokens)
    }
  }
}
