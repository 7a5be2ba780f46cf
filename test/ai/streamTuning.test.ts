/**
 * The two stream tunings of issue 15 (bench/README.md, "Chat"): the field-by-field check of common chunks must accept
 * and reject exactly what the chunk Schema does, and a body that ends just after `[DONE]` keeps its connection.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
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
    for (const chunk of chunks) assert.isUndefined(one(JSON.stringify(chunk)).error, JSON.stringify(chunk))
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
    for (const chunk of bad) assert.strictEqual(one(JSON.stringify(chunk)).error, "InvalidResponse", JSON.stringify(chunk))
  })

  it("tool calls and arrays where objects are expected still go through the Schema", () => {
    const call = {
      ...base,
      choices: [{ delta: { tool_calls: [{ index: 0, id: "c1", function: { name: "f", arguments: "{}" } }] } }]
    }
    assert.deepStrictEqual(one(JSON.stringify(call)).parts.map((p) => p.type), ["response-metadata", "tool-params-start", "tool-params-delta"])
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
