/**
 * The answer-side tunings of issue 15 (bench/README.md, "Chat"): the field-by-field checks of common stream chunks and
 * of common completions must accept and reject exactly what their Schemas do, and a body that ends just after
 * `[DONE]` keeps its connection.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as ChatResponse from "../../src/ai/internal/chatResponse.js"
import { modelLayer } from "./harness.js"

const info: ChutesLanguageModel.ResponseInfo = {
  model: "zai-org/GLM-5-TEE",
  ref: "chutes/zai-org/GLM-5-TEE",
  requested: "zai-org/GLM-5-TEE",
  invocationId: "inv-1",
  failover: []
}

/** The parts of one event (JSON text) and the error, if any, from a fresh assembler. */
const one = (data: string) => {
  const assembler = ChatResponse.makeStreamAssembler(info)
  const parts: Array<Response.StreamPartEncoded> = []
  const error = assembler.pushAll([{ _tag: "Data", data }], parts)
  return { parts, error: error?.kind }
}

const base = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1_780_000_000, model: "m" }

describe("common chunks: the quick check agrees with the chunk Schema", () => {
  it("accepted: the shapes the live service sends", () => {
    const chunks = [
      { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] },
      {
        ...base,
        choices: [{ index: 0, delta: { content: "Hi" }, logprobs: null, finish_reason: null }],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, prompt_tokens_details: null },
        chutes_verification: "ab".repeat(32)
      },
      { ...base, choices: [{ index: 0, delta: { reasoning_content: "hm", content: null }, finish_reason: null }] },
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, completion_tokens_details: { reasoning_tokens: 0 } } },
      { id: null, model: null, created: null, choices: null, usage: null }
    ]
    for (const chunk of chunks) {
      assert.isDefined(ChatResponse.commonChunk(chunk), `the quick check takes ${JSON.stringify(chunk)}`)
      assert.isUndefined(one(JSON.stringify(chunk)).error, JSON.stringify(chunk))
    }
    assert.deepStrictEqual(
      one(JSON.stringify(chunks[1])).parts.filter((p) => p.type === "text-delta").map((p) => p.type === "text-delta" && p.delta),
      ["Hi"]
    )
  })

  it("rejected as the Schema rejects them: wrong types anywhere in the fields read", () => {
    const bad = [
      { ...base, id: 1 },
      { ...base, created: "now" },
      { ...base, choices: {} },
      { ...base, choices: [null] },
      { ...base, choices: [{ index: "0", delta: {} }] },
      { ...base, choices: [{ delta: { content: 5 } }] },
      { ...base, choices: [{ delta: { reasoning: [] } }] },
      { ...base, choices: [{ delta: {}, finish_reason: 1 }] },
      { ...base, usage: { prompt_tokens: "3" } },
      { ...base, usage: { prompt_tokens_details: { cached_tokens: "1" } } },
      { ...base, choices: [{ delta: { tool_calls: [{ index: "x" }] } }] }
    ]
    for (const chunk of bad) {
      assert.isUndefined(ChatResponse.commonChunk(chunk), `the quick check leaves ${JSON.stringify(chunk)} to the Schema`)
      assert.strictEqual(one(JSON.stringify(chunk)).error, "InvalidResponse", JSON.stringify(chunk))
    }
  })

  it("tool calls and arrays where objects are expected still go through the Schema", () => {
    const call = {
      ...base,
      choices: [{ delta: { tool_calls: [{ index: 0, id: "c1", function: { name: "f", arguments: "{}" } }] } }]
    }
    assert.deepStrictEqual(one(JSON.stringify(call)).parts.map((p) => p.type), ["response-metadata", "tool-params-start", "tool-params-delta"])
  })
})

/** The parts of a completion body (JSON text), or the error's kind and message. */
const completion = (body: unknown) =>
  Effect.runSync(Effect.either(ChatResponse.completionParts("generateText", JSON.stringify(body), info)))

const answer = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1_780_000_000,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "Hi", reasoning_content: null }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, prompt_tokens_details: null },
  chutes_verification: "ab".repeat(32)
}

/** `body` with `tool_calls: []` in its message: the quick check passes it to the Schema, the parts are the same. */
const throughSchema = (body: { readonly choices: ReadonlyArray<{ readonly message: object }> }) => ({
  ...body,
  choices: body.choices.map((choice) => ({ ...choice, message: { ...choice.message, tool_calls: [] } }))
})

describe("common completions: the quick check agrees with the completion Schema", () => {
  it("accepted with the same parts the Schema gives: the shapes the live service sends", () => {
    const bodies = [
      answer,
      { ...answer, choices: [{ ...answer.choices[0]!, message: { role: "assistant", content: null, reasoning_content: "hm" } }] },
      { ...answer, choices: [{ ...answer.choices[0]!, message: { content: "Hi", reasoning: "hm" }, finish_reason: null }] },
      {
        ...answer,
        usage: { prompt_tokens: 3, completion_tokens: 1, completion_tokens_details: { reasoning_tokens: 0 }, prompt_tokens_details: { cached_tokens: 2 } }
      },
      { ...answer, id: null, model: null, created: null, usage: null }
    ]
    for (const body of bodies) {
      assert.isDefined(ChatResponse.commonCompletion(body), `the quick check takes ${JSON.stringify(body)}`)
      assert.isUndefined(ChatResponse.commonCompletion(throughSchema(body)), "tool_calls: [] goes to the Schema")
      const quick = completion(body)
      assert.isTrue(Either.isRight(quick), JSON.stringify(body))
      assert.deepStrictEqual(quick, completion(throughSchema(body)), JSON.stringify(body))
    }
    const parts = Either.getOrThrow(completion(answer))
    assert.deepStrictEqual(parts.map((p) => p.type), ["response-metadata", "text", "finish"])
  })

  it("rejected as the Schema rejects them: wrong types anywhere in the fields read", () => {
    const choice = answer.choices[0]!
    const bad = [
      { ...answer, id: 1 },
      { ...answer, created: "now" },
      { ...answer, choices: undefined },
      { ...answer, choices: {} },
      { ...answer, choices: [null] },
      { ...answer, choices: [{ ...choice, index: "0" }] },
      { ...answer, choices: [{ ...choice, message: undefined }] },
      { ...answer, choices: [{ ...choice, message: "Hi" }] },
      { ...answer, choices: [{ ...choice, message: { content: 5 } }] },
      { ...answer, choices: [{ ...choice, message: { reasoning: [] } }] },
      { ...answer, choices: [{ ...choice, finish_reason: 1 }] },
      { ...answer, usage: { prompt_tokens: "3" } },
      { ...answer, usage: { prompt_tokens_details: { cached_tokens: "1" } } },
      { ...answer, choices: [{ ...choice, message: { tool_calls: [{ index: "x" }] } }] },
      { ...answer, model: 1 },
      { ...answer, choices: null },
      { ...answer, choices: [{ ...choice, message: null }] },
      { ...answer, choices: [{ ...choice, message: [] }] },
      { ...answer, choices: [{ ...choice, message: { reasoning_content: 1 } }] },
      { ...answer, usage: [] },
      { ...answer, usage: { total_tokens: "4" } },
      { ...answer, usage: { prompt_tokens_details: [] } },
      { ...answer, usage: { completion_tokens_details: { reasoning_tokens: "0" } } }
    ]
    for (const body of bad) {
      assert.isUndefined(ChatResponse.commonCompletion(body), `the quick check leaves ${JSON.stringify(body)} to the Schema`)
      const result = completion(body)
      assert.isTrue(Either.isLeft(result), JSON.stringify(body))
      if (Either.isLeft(result)) {
        assert.include(result.left.message, "is not a chat completion", JSON.stringify(body))
      }
    }
  })

  it("tool calls still go through the Schema", () => {
    const call = {
      ...answer,
      choices: [{
        index: 0,
        message: { content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{\"a\":1}" } }] },
        finish_reason: "tool_calls"
      }]
    }
    const parts = Either.getOrThrow(completion(call))
    assert.deepStrictEqual(parts.map((p) => p.type), ["response-metadata", "tool-call", "finish"])
  })
})

/** A server that streams a short answer and ends the body `endAfterMs` after `[DONE]`, counting connections. */
const server = (endAfterMs: number) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly baseUrl: string; readonly connections: () => number }>(
      (resume) => {
        let connections = 0
        const server = Http.createServer((req, res) => {
          req.resume()
          if (req.url?.endsWith("/models") === true) {
            res.writeHead(200, { "content-type": "application/json" }).end(`{"object":"list","data":[]}`)
            return
          }
          req.on("end", () => {
            res.writeHead(200, { "content-type": "text/event-stream" })
            const event = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`
            res.write(event({ ...base, choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] }))
            res.write(event({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) + "data: [DONE]\n\n")
            setTimeout(() => res.end(), endAfterMs)
          })
        })
        server.on("connection", () => connections++)
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as AddressInfo).port
          resume(Effect.succeed({ server, baseUrl: `http://127.0.0.1:${port}/v1`, connections: () => connections }))
        })
      }
    ),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )

const text = LanguageModel.streamText({ prompt: "Hi" }).pipe(
  Stream.runFold("", (text, part) => part.type === "text-delta" ? text + part.delta : text)
)

describe("the end of the body after [DONE]", () => {
  it.scopedLive("a body that ends just after [DONE] keeps its connection for the next call", () =>
    Effect.gen(function*() {
      const { baseUrl, connections } = yield* server(5)
      const layer = modelLayer({ baseUrl, apiKey: "cpk_test" })
      const answers = yield* Effect.all([text, text, text]).pipe(Effect.provide(layer))
      assert.deepStrictEqual(answers, ["Hi", "Hi", "Hi"])
      // One for the model list, one for the three chats.
      assert.isAtMost(connections(), 2)
    }))

  it.scopedLive("a body left open after [DONE] holds the end of the stream 50 ms at most", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* server(5_000)
      const layer = modelLayer({ baseUrl, apiKey: "cpk_test" })
      const started = Date.now()
      assert.strictEqual(yield* text.pipe(Effect.provide(layer)), "Hi")
      assert.isBelow(Date.now() - started, 2_000)
    }))
})
