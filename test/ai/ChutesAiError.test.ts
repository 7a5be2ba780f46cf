/**
 * The Chutes-specific kind on `AiError`s: a field of `@effect/ai`'s own error classes, read back by
 * `ChutesAiError.kind`, serialized by `ChutesAiError.ChutesAiError`; and what the kind implies.
 */
import * as AiError from "@effect/ai/AiError"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import * as Errors from "../../src/ai/internal/errors.js"

const status = (code: number, kind: ChutesAiError.Kind) =>
  Errors.responseError({
    method: "generateText",
    url: "http://127.0.0.1/v1/chat/completions",
    status: code,
    headers: { "retry-after": "3", "set-cookie": "session=secret", "x-chutes-invocationid": "inv-9" },
    kind,
    text: "text",
    body: "{\"detail\":\"x\"}"
  })

interface Sample {
  readonly error: ChutesAiError.ChutesAiError
  /** The `@effect/ai` class it must be an instance of. */
  readonly base: new(...args: Array<any>) => AiError.AiError
  readonly kind: ChutesAiError.Kind
}

/** One error of each class, as `ChutesLanguageModel` raises them. */
const oneOfEach = (): ReadonlyArray<Sample> => [
  { error: status(429, "RateLimited"), base: AiError.HttpResponseError, kind: "RateLimited" },
  {
    error: Errors.transportError({ method: "streamText", url: "http://x", reason: "Transport", text: "refused" }),
    base: AiError.HttpRequestError,
    kind: "Transport"
  },
  { error: Errors.inputError("generateText", "UnknownModel", "no such"), base: AiError.MalformedInput, kind: "UnknownModel" },
  {
    error: Errors.outputError("streamText", "InvalidResponse", "not JSON"),
    base: AiError.MalformedOutput,
    kind: "InvalidResponse"
  },
  { error: Errors.unknownError("streamText", "Timeout", "too slow"), base: AiError.UnknownError, kind: "Timeout" }
]

describe("ChutesAiError", () => {
  it("every error is @effect/ai's own class with its _tag, and carries the kind as a field", () => {
    for (const { base, error, kind } of oneOfEach()) {
      assert.instanceOf(error, base)
      assert.strictEqual(error._tag, base.name, "the tag of the @effect/ai class")
      assert.isTrue(AiError.isAiError(error))
      assert.isTrue(ChutesAiError.isChutesAiError(error))
      assert.isTrue(Schema.is(AiError.AiError)(error), "still a member of @effect/ai's AiError schema")
      assert.strictEqual(error.kind, kind)
      assert.strictEqual(ChutesAiError.kind(error), kind)
      // The prefix stays, for people reading logs.
      assert.isTrue(error.description?.startsWith(`[${kind}] `))
      assert.strictEqual(error.module, "ChutesLanguageModel")
    }
  })

  it.effect("catchTag on @effect/ai's tag catches them, with the kind at hand", () =>
    Effect.gen(function*() {
      const caught = yield* Effect.fail(status(402, "QuotaExceeded") as AiError.AiError).pipe(
        Effect.catchTag("HttpResponseError", (error) =>
          Effect.succeed(
            error instanceof ChutesAiError.HttpResponseError ? `${error.kind} ${error.response.status}` : "no kind"
          ))
      )
      assert.strictEqual(caught, "QuotaExceeded 402")
    }))

  it("the kind is read from the field, not the text: a rewritten description keeps it", () => {
    const error = status(429, "RateLimited")
    // A program that rewords the description (a copy with its fields, or a new instance of the class).
    const copy = { ...error, description: `Gave up after 3 attempts: ${error.description}` }
    assert.strictEqual(ChutesAiError.kind(copy), "RateLimited")
    const reworded = new ChutesAiError.HttpResponseError({ ...error, description: "the model is busy" })
    assert.strictEqual(ChutesAiError.kind(reworded), "RateLimited")
    // The field wins over a prefix naming another kind.
    const misleading = new ChutesAiError.UnknownError({
      kind: "Timeout",
      module: "ChutesLanguageModel",
      method: "streamText",
      description: "[RateLimited] quoted from somewhere"
    })
    assert.strictEqual(ChutesAiError.kind(misleading), "Timeout")
  })

  it("kind travels in ChutesAiError's schema, and such an encoding still decodes as @effect/ai's AiError", () => {
    for (const { base, error, kind } of oneOfEach()) {
      const json = JSON.parse(JSON.stringify(Schema.encodeSync(ChutesAiError.ChutesAiError)(error)))
      assert.strictEqual(json.kind, kind)
      const decoded = Schema.decodeUnknownSync(ChutesAiError.ChutesAiError)(json)
      assert.instanceOf(decoded, base)
      assert.isTrue(ChutesAiError.isChutesAiError(decoded))
      assert.strictEqual(decoded.kind, kind)
      assert.strictEqual(decoded.description, error.description)
      const plain = Schema.decodeUnknownSync(AiError.AiError)(json)
      assert.instanceOf(plain, base)
      assert.strictEqual(ChutesAiError.kind(plain), kind)
    }
  })

  it("kind survives encoding the error with @effect/ai's schema and decoding it again (from the description)", () => {
    const error = status(429, "RateLimited")
    const encoded = Schema.encodeSync(AiError.AiError)(error)
    const decoded = Schema.decodeUnknownSync(AiError.AiError)(JSON.parse(JSON.stringify(encoded)))
    assert.isFalse(ChutesAiError.isChutesAiError(decoded), "@effect/ai's schema has no place for the field")
    assert.strictEqual(ChutesAiError.kind(decoded), "RateLimited")
    assert.isTrue(ChutesAiError.isRetryable(decoded))
  })

  it("errors not raised by ChutesLanguageModel have no kind, whatever their description says", () => {
    assert.isUndefined(ChutesAiError.kind(new AiError.MalformedOutput({ module: "LanguageModel", method: "x" })))
    assert.isUndefined(
      ChutesAiError.kind(new AiError.UnknownError({ module: "x", method: "y", description: "[NotAKind] z" }))
    )
    assert.isUndefined(
      ChutesAiError.kind(
        new AiError.UnknownError({ module: "OpenAiLanguageModel", method: "y", description: "[RateLimited] z" })
      )
    )
    assert.isUndefined(ChutesAiError.kind(new Error("[RateLimited] not an AiError")))
    assert.isUndefined(ChutesAiError.kind({ kind: "RateLimited" }), "not an AiError")
  })

  it("retryable and failover-eligible kinds", () => {
    assert.isTrue(ChutesAiError.isRetryable(status(503, "NoInstances")))
    assert.isTrue(ChutesAiError.isRetryable(status(408, "HttpStatus")))
    assert.isFalse(ChutesAiError.isRetryable(status(404, "ModelNotFound")))
    assert.isFalse(ChutesAiError.isRetryable(status(418, "HttpStatus")))
    assert.isTrue(ChutesAiError.isFailoverEligible(status(404, "ModelNotFound")))
    assert.isFalse(ChutesAiError.isFailoverEligible(status(402, "QuotaExceeded")))
    const refused = Errors.transportError({
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
    const input = Errors.inputError("generateText", "UnsupportedInput", "extraBody.store: not sent")
    const output = Errors.outputError("streamText", "InvalidResponse", "The answer has no choices")
    assert.instanceOf(input, AiError.MalformedInput)
    assert.instanceOf(output, AiError.MalformedOutput)
    assert.strictEqual(input.message, "ChutesLanguageModel.generateText: [UnsupportedInput] extraBody.store: not sent")
    assert.strictEqual(output.message, "ChutesLanguageModel.streamText: [InvalidResponse] The answer has no choices")
    assert.strictEqual(String(input), `MalformedInput: ${input.message}`)
    const appended = Errors.appendDescription(input, "; tried before: a")
    assert.strictEqual(appended.message, `${input.message}; tried before: a`)
    // Still @effect/ai's own classes for its schema: encoded and decoded, the kind is there.
    const decoded = Schema.decodeUnknownSync(AiError.AiError)(Schema.encodeSync(AiError.AiError)(input))
    assert.strictEqual(decoded._tag, "MalformedInput")
    assert.strictEqual(ChutesAiError.kind(decoded), "UnsupportedInput")
  })

  it("every class prints as @effect/ai's own errors do: its tag and its message", () => {
    for (const { error } of oneOfEach()) {
      assert.strictEqual(String(error), `${error._tag}: ${error.message}`)
    }
  })

  it("appendDescription keeps the class, the kind and the details", () => {
    for (const { error, kind } of oneOfEach()) {
      const appended = Errors.appendDescription(error, "; tried before: a")
      assert.strictEqual(appended.constructor, error.constructor)
      assert.strictEqual(appended.kind, kind)
      assert.strictEqual(appended.description, `${error.description}; tried before: a`)
    }
    const error = Errors.appendDescription(status(503, "NoInstances"), "; tried before: a")
    assert.instanceOf(error, ChutesAiError.HttpResponseError)
    assert.strictEqual(ChutesAiError.kind(error), "NoInstances")
    assert.strictEqual(error.description, "[NoInstances] text; tried before: a")
    assert.strictEqual(error._tag === "HttpResponseError" && error.response.status, 503)
    assert.strictEqual(error._tag === "HttpResponseError" && error.response.headers["retry-after"], "3")
  })
})
