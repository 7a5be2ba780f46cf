/**
 * Reading the Chutes-specific kind back from `AiError`s, and what it implies.
 */
import * as AiError from "@effect/ai/AiError"
import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"

const status = (code: number, kind: ChutesAiError.Kind) =>
  ChutesAiError.responseError({
    method: "generateText",
    url: "http://127.0.0.1/v1/chat/completions",
    status: code,
    headers: { "retry-after": "3", "set-cookie": "session=secret", "x-chutes-invocationid": "inv-9" },
    kind,
    text: "text",
    body: "{\"detail\":\"x\"}"
  })

describe("ChutesAiError", () => {
  it("kind survives encoding the error with @effect/ai's schema and decoding it again", () => {
    const error = status(429, "RateLimited")
    const encoded = Schema.encodeSync(AiError.AiError)(error)
    const decoded = Schema.decodeUnknownSync(AiError.AiError)(JSON.parse(JSON.stringify(encoded)))
    assert.strictEqual(ChutesAiError.kind(decoded), "RateLimited")
    assert.isTrue(ChutesAiError.isRetryable(decoded))
  })

  it("errors not raised by ChutesLanguageModel have no kind", () => {
    assert.isUndefined(ChutesAiError.kind(new AiError.MalformedOutput({ module: "LanguageModel", method: "x" })))
    assert.isUndefined(
      ChutesAiError.kind(new AiError.UnknownError({ module: "x", method: "y", description: "[NotAKind] z" }))
    )
    assert.isUndefined(ChutesAiError.kind(new Error("[RateLimited] not an AiError")))
  })

  it("retryable and failover-eligible kinds", () => {
    assert.isTrue(ChutesAiError.isRetryable(status(503, "NoInstances")))
    assert.isTrue(ChutesAiError.isRetryable(status(408, "HttpStatus")))
    assert.isFalse(ChutesAiError.isRetryable(status(404, "ModelNotFound")))
    assert.isFalse(ChutesAiError.isRetryable(status(418, "HttpStatus")))
    assert.isTrue(ChutesAiError.isFailoverEligible(status(404, "ModelNotFound")))
    assert.isFalse(ChutesAiError.isFailoverEligible(status(402, "QuotaExceeded")))
    const refused = ChutesAiError.transportError({
      method: "generateText",
      url: "nope",
      reason: "InvalidUrl",
      text: "bad url"
    })
    assert.strictEqual(ChutesAiError.kind(refused), "Transport")
    assert.isFalse(ChutesAiError.isRetryable(refused), "an invalid URL fails the same way every time")
  })

  it("keeps only harmless response headers, and never request headers beyond the content type", () => {
    const error = status(429, "RateLimited")
    assert.deepStrictEqual(error.response.headers, { "retry-after": "3", "x-chutes-invocationid": "inv-9" })
    assert.deepStrictEqual(error.request.headers, { "content-type": "application/json" })
  })

  it("MalformedInput and MalformedOutput say what happened in their message, not a dump of their fields", () => {
    const input = ChutesAiError.inputError("generateText", "UnsupportedInput", "extraBody.store: not sent")
    const output = ChutesAiError.outputError("streamText", "InvalidResponse", "The answer has no choices")
    assert.instanceOf(input, AiError.MalformedInput)
    assert.instanceOf(output, AiError.MalformedOutput)
    assert.strictEqual(input.message, "ChutesLanguageModel.generateText: [UnsupportedInput] extraBody.store: not sent")
    assert.strictEqual(output.message, "ChutesLanguageModel.streamText: [InvalidResponse] The answer has no choices")
    assert.strictEqual(String(input), `MalformedInput: ${input.message}`)
    const appended = ChutesAiError.appendDescription(input, "; tried before: a")
    assert.strictEqual(appended.message, `${input.message}; tried before: a`)
    // Still @effect/ai's own classes for its schema: encoded and decoded, the kind is there.
    const decoded = Schema.decodeUnknownSync(AiError.AiError)(Schema.encodeSync(AiError.AiError)(input))
    assert.strictEqual(decoded._tag, "MalformedInput")
    assert.strictEqual(ChutesAiError.kind(decoded), "UnsupportedInput")
  })

  it("appendDescription keeps the class, the kind and the details", () => {
    const error = ChutesAiError.appendDescription(status(503, "NoInstances"), "; tried before: a")
    assert.instanceOf(error, AiError.HttpResponseError)
    assert.strictEqual(ChutesAiError.kind(error), "NoInstances")
    assert.strictEqual(error.description, "[NoInstances] text; tried before: a")
    assert.strictEqual(error._tag === "HttpResponseError" && error.response.status, 503)
  })
})
