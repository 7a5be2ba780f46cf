/**
 * The pure wire format (src/ai/internal/): SSE framing over arbitrary byte boundaries, the stream assembler, completion decoding.
 */
import * as AiError from "@effect/ai/AiError"
import type * as Response from "@effect/ai/Response"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import type * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as ChatResponse from "../../src/ai/internal/chatResponse.js"
import * as Cost from "../../src/ai/internal/cost.js"
import * as Sse from "../../src/ai/internal/sse.js"

const info: ChutesLanguageModel.ResponseInfo = {
  model: "zai-org/GLM-5-TEE",
  ref: "chutes/zai-org/GLM-5-TEE",
  requested: "zai-org/GLM-5-TEE",
  invocationId: "inv-1",
  failover: []
}

const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1_780_000_000,
    model: "zai-org/GLM-5-TEE",
    choices: [{ index: 0, delta, finish_reason: null }],
    ...extra
  })

const finishChunk = (reason: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: "chatcmpl-1", choices: [{ index: 0, delta: {}, finish_reason: reason }], ...extra })

/** Cuts bytes at the given offsets. */
const cutAt = (bytes: Uint8Array, offsets: ReadonlyArray<number>): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let start = 0
  for (const offset of [...offsets, bytes.length]) {
    out.push(bytes.subarray(start, offset))
    start = offset
  }
  return out
}

const eventsOf = (pieces: ReadonlyArray<Uint8Array>) =>
  Sse.sseEvents(Stream.fromIterable(pieces)).pipe(Stream.runCollect, Effect.map(Chunk.toArray))

/** Runs the assembler over SSE text cut into pieces of `size` bytes. */
const assemble = (sse: string, size: number) => {
  const bytes = new TextEncoder().encode(sse)
  const offsets: Array<number> = []
  for (let i = size; i < bytes.length; i += size) offsets.push(i)
  const assembler = ChatResponse.makeStreamAssembler(info)
  return Sse.sseEvents(Stream.fromIterable(cutAt(bytes, offsets))).pipe(
    Stream.takeUntil((event) => event._tag === "Done"),
    Stream.mapEffect(assembler.push),
    Stream.concat(Stream.fromEffect(assembler.end)),
    Stream.flattenIterables,
    Stream.runCollect,
    Effect.map(Chunk.toArray)
  )
}

const sse = (...payloads: ReadonlyArray<string>) => payloads.map((p) => `data: ${p}\n\n`).join("")

describe("sseEvents", () => {
  it.effect("a UTF-8 character split between two network chunks is decoded whole", () =>
    Effect.gen(function*() {
      const bytes = new TextEncoder().encode(`data: ${chunk({ content: "€🎉" })}\n\n`)
      const euro = bytes.indexOf(0xe2)
      const emoji = bytes.indexOf(0xf0)
      // Inside the 3-byte euro sign and inside the 4-byte emoji.
      const events = yield* eventsOf(cutAt(bytes, [euro + 1, euro + 2, emoji + 1, emoji + 3]))
      assert.strictEqual(events.length, 1)
      const event = events[0]!
      assert.strictEqual(event._tag === "Data" && JSON.parse(event.data).choices[0].delta.content, "€🎉")
    }))

  it.effect("lines split anywhere; comments, blank lines and other fields are skipped; CRLF works", () =>
    Effect.gen(function*() {
      const text = ": keep-alive\r\nevent: message\r\ndata: {\"a\":1}\r\n\r\nid: 7\ndata:{\"b\":2}\n\ndata: [DONE]\n\n"
      const bytes = new TextEncoder().encode(text)
      const events = yield* eventsOf(cutAt(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)))
      assert.deepStrictEqual(events, [{ _tag: "Data", data: "{\"a\":1}" }, { _tag: "Data", data: "{\"b\":2}" }, {
        _tag: "Done"
      }])
    }))

  it.effect("a raw JSON line without the data: prefix is an event; a last line without a newline too", () =>
    Effect.gen(function*() {
      const events = yield* eventsOf([new TextEncoder().encode(`data: {"a":1}\n\n{"error":{"message":"boom"}}`)])
      assert.deepStrictEqual(events, [{ _tag: "Data", data: "{\"a\":1}" }, {
        _tag: "Data",
        data: "{\"error\":{\"message\":\"boom\"}}"
      }])
    }))
})

describe("SSE reader bounds", () => {
  const encode = (text: string) => new TextEncoder().encode(text)
  const feedAll = (reader: Sse.SseReader, pieces: ReadonlyArray<string>) => {
    const out: Array<Sse.SseEvent> = []
    for (const piece of pieces) {
      const error = reader.feed(encode(piece), out)
      if (error !== undefined) return { out, error }
    }
    return { out, error: reader.end(out) }
  }

  it("a line over maxLineLength fails while it is still arriving, before its newline", () => {
    const reader = Sse.makeSseReader({ maxLineLength: 100, maxEventLength: 1000 }, "chutes/m")
    const out: Array<Sse.SseEvent> = []
    assert.isUndefined(reader.feed(encode(`data: {"a":1}\n\ndata: {"b":"`), out))
    assert.isUndefined(reader.feed(encode("x".repeat(80)), out))
    const error = reader.feed(encode("x".repeat(20)), out)
    assert.instanceOf(error, AiError.MalformedOutput)
    assert.strictEqual(ChutesAiError.kind(error), "InvalidResponse")
    assert.include(error?.description, "An SSE line from chutes/m is longer than 100 characters (limits.maxLineLength)")
    assert.deepStrictEqual(out, [{ _tag: "Data", data: "{\"a\":1}" }], "the events before it came out")
    // And it stays failed.
    assert.strictEqual(reader.feed(encode("\n\n"), out), error)
    assert.strictEqual(reader.end(out), error)
  })

  it("a comment line counts too; a line of exactly the limit passes", () => {
    const ok = feedAll(Sse.makeSseReader({ maxLineLength: 10, maxEventLength: 10 }, "s"), [
      ": 45678901\n",
      "data: 1234\n\n"
    ])
    assert.isUndefined(ok.error)
    assert.deepStrictEqual(ok.out, [{ _tag: "Data", data: "1234" }])
    const long = feedAll(Sse.makeSseReader({ maxLineLength: 10, maxEventLength: 10 }, "s"), [": 456789012\n"])
    assert.include(long.error?.description, "SSE line")
  })

  it("an event's data: lines are joined by LF and capped together by maxEventLength", () => {
    const joined = feedAll(Sse.makeSseReader({ maxLineLength: 100, maxEventLength: 100 }, "s"), [
      "data: {\"a\":\ndata: 1}\n\n"
    ])
    assert.deepStrictEqual(joined.out, [{ _tag: "Data", data: "{\"a\":\n1}" }])
    const lines = Array.from({ length: 20 }, () => `data: ${"y".repeat(30)}\n`).join("")
    const capped = feedAll(Sse.makeSseReader({ maxLineLength: 100, maxEventLength: 500 }, "chutes/m"), [lines])
    assert.strictEqual(ChutesAiError.kind(capped.error), "InvalidResponse")
    assert.include(capped.error?.description, "An SSE event from chutes/m is longer than 500 characters")
    assert.include(capped.error?.description, "limits.maxEventLength")
  })

  it("CR and CRLF line ends, cut anywhere (a CR at the end of one read, its LF at the start of the next)", () => {
    const { error, out } = feedAll(
      Sse.makeSseReader(Sse.defaultStreamLimits, "s"),
      ["data: {\"a\":1}\r", "\r", "data: {\"b\":2}\r", "\n\r\n", "data: [DONE]\r\r"]
    )
    assert.isUndefined(error)
    assert.deepStrictEqual(out, [{ _tag: "Data", data: "{\"a\":1}" }, { _tag: "Data", data: "{\"b\":2}" }, {
      _tag: "Done"
    }])
  })

  it("a raw {\"error\": …} line ends the event before it and is an event of its own", () => {
    const { out } = feedAll(Sse.makeSseReader(Sse.defaultStreamLimits, "s"), [
      "data: {\"a\":1}\n{\"error\":{\"message\":\"boom\"}}\n"
    ])
    assert.deepStrictEqual(out, [{ _tag: "Data", data: "{\"a\":1}" }, {
      _tag: "Data",
      data: "{\"error\":{\"message\":\"boom\"}}"
    }])
  })

  it("linear in the lines of one network read: 40,000 events in one read are split in well under a second", () => {
    const event = `data: ${chunk({ content: "0123456789".repeat(30) })}\n\n`
    const read = encode(event.repeat(40_000)) // ~15 MB, one read
    const reader = Sse.makeSseReader({ ...Sse.defaultStreamLimits, maxLineLength: 1024 }, "s")
    const out: Array<Sse.SseEvent> = []
    const started = performance.now()
    assert.isUndefined(reader.feed(read, out))
    const elapsed = performance.now() - started
    assert.strictEqual(out.length, 40_000)
    // Linear: tens of milliseconds. Re-scanning the read for each line would be 40,000² / 2 line scans: minutes.
    assert.isBelow(elapsed, 2_000)
  })
})

describe("stream assembler", () => {
  it.effect("tool-call arguments over maxToolArgumentsLength (all calls together) fail with InvalidResponse", () =>
    Effect.gen(function*() {
      const assembler = ChatResponse.makeStreamAssembler(info, { maxToolArgumentsLength: 100 })
      const parts: Array<Response.StreamPartEncoded> = []
      const call = (index: number, args: string) =>
        ({
          _tag: "Data",
          data: chunk({ tool_calls: [{ index, id: `c${index}`, function: { name: "f", arguments: args } }] })
        }) as const
      assert.isUndefined(assembler.pushAll([call(0, "x".repeat(60)), call(1, "y".repeat(40))], parts))
      const error = assembler.pushAll([call(1, "z")], parts)
      assert.instanceOf(error, AiError.MalformedOutput)
      assert.strictEqual(ChutesAiError.kind(error), "InvalidResponse")
      assert.include(error?.description, "longer than 100 characters (limits.maxToolArgumentsLength)")
      assert.strictEqual(
        parts.filter((p) => p.type === "tool-params-delta").length,
        2,
        "the deltas within the cap came out"
      )
    }))

  const body = sse(
    chunk({ role: "assistant", content: "" }, { usage: { prompt_tokens: 9, completion_tokens: 0 } }),
    chunk({ reasoning_content: "Let me th" }, { usage: { prompt_tokens: 9, completion_tokens: 1 } }),
    chunk({ reasoning_content: "ink." }),
    chunk({ content: "Grüße " }),
    chunk({ content: "🎉" }),
    chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "weather", arguments: "" } }] }),
    chunk({ tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "time", arguments: "{}" } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: "{\"city\":\"Zü" } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: "rich\"}" } }] }),
    finishChunk("tool_calls", { usage: { prompt_tokens: 9, completion_tokens: 20 } }),
    JSON.stringify({
      id: "chatcmpl-1",
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: 21, total_tokens: 30, prompt_tokens_details: { cached_tokens: 4 } }
    }),
    "[DONE]"
  )

  for (const size of [1, 2, 3, 7, 64, 100_000]) {
    it.effect(`the same parts whatever the chunk size (${size} bytes)`, () =>
      Effect.gen(function*() {
        const parts = yield* assemble(body, size)
        assert.deepStrictEqual(parts.map((p) => p.type), [
          "response-metadata",
          "reasoning-start",
          "reasoning-delta",
          "reasoning-delta",
          "reasoning-end",
          "text-start",
          "text-delta",
          "text-delta",
          "text-end",
          "tool-params-start",
          "tool-params-start",
          "tool-params-delta",
          "tool-params-delta",
          "tool-params-delta",
          "tool-params-end",
          "tool-call",
          "tool-params-end",
          "tool-call",
          "finish"
        ])
        const text = parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")
        assert.strictEqual(text, "Grüße 🎉")
        const reasoning = parts.flatMap((p) => (p.type === "reasoning-delta" ? [p.delta] : [])).join("")
        assert.strictEqual(reasoning, "Let me think.")
        const calls = parts.filter((p): p is Response.ToolCallPartEncoded => p.type === "tool-call")
        assert.deepStrictEqual(calls.map((c) => [c.id, c.name, c.params]), [
          ["call_a", "weather", { city: "Zürich" }],
          ["call_b", "time", {}]
        ])
        const argDeltas = parts.flatMap((p) => (p.type === "tool-params-delta" && p.id === "call_a" ? [p.delta] : []))
        assert.strictEqual(argDeltas.join(""), "{\"city\":\"Zürich\"}", "deltas, not running totals")
        const metadata = parts[0]
        assert.deepStrictEqual(metadata, {
          type: "response-metadata",
          id: "chatcmpl-1",
          modelId: "zai-org/GLM-5-TEE",
          timestamp: "2026-05-28T20:26:40.000Z",
          metadata: { chutes: info }
        })
        // The service repeats usage on many chunks: the last one wins.
        assert.deepStrictEqual(parts.at(-1), {
          type: "finish",
          reason: "tool-calls",
          usage: { inputTokens: 9, outputTokens: 21, totalTokens: 30, reasoningTokens: undefined, cachedInputTokens: 4 }
        })
      }))
  }

  it.effect("calls a server numbers alike (every one index 0) stay apart when their ids differ", () =>
    Effect.gen(function*() {
      const parts = yield* assemble(
        sse(
          chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "weather", arguments: "" } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: "{\"city\":\"Bern\"}" } }] }),
          chunk({ tool_calls: [{ index: 0, id: "call_b", type: "function", function: { name: "time", arguments: "{\"tz\":" } }] }),
          chunk({ tool_calls: [{ index: 0, id: "call_b", function: { arguments: "\"UTC\"}" } }] }),
          chunk({ tool_calls: [{ index: 1, id: "call_c", type: "function", function: { name: "news", arguments: "{}" } }] }),
          finishChunk("tool_calls"),
          "[DONE]"
        ),
        64
      )
      const calls = parts.filter((p): p is Response.ToolCallPartEncoded => p.type === "tool-call")
      assert.deepStrictEqual(calls.map((c) => [c.id, c.name, c.params]), [
        ["call_a", "weather", { city: "Bern" }],
        ["call_b", "time", { tz: "UTC" }],
        ["call_c", "news", {}]
      ])
      const deltas = parts.flatMap((p) => (p.type === "tool-params-delta" ? [`${p.id}:${p.delta}`] : []))
      assert.deepStrictEqual(deltas, ["call_a:{\"city\":\"Bern\"}", "call_b:{\"tz\":", "call_b:\"UTC\"}", "call_c:{}"])
    }))

  it.effect("a fresh id on every chunk of one call (no function name after the first) continues that call", () =>
    Effect.gen(function*() {
      const parts = yield* assemble(
        sse(
          chunk({ tool_calls: [{ index: 0, id: "call_first", type: "function", function: { name: "weather", arguments: "" } }] }),
          chunk({ tool_calls: [{ index: 0, id: "call_second", function: { arguments: "{\"city\":" } }] }),
          chunk({ tool_calls: [{ index: 0, id: "call_third", function: { arguments: "\"Bern\"}" } }] }),
          finishChunk("tool_calls"),
          "[DONE]"
        ),
        64
      )
      const calls = parts.filter((p): p is Response.ToolCallPartEncoded => p.type === "tool-call")
      assert.deepStrictEqual(calls.map((c) => [c.id, c.name, c.params]), [["call_first", "weather", { city: "Bern" }]])
    }))

  it.effect("a fresh id AND the name on every chunk of one call continues it while its arguments are unfinished", () =>
    Effect.gen(function*() {
      const parts = yield* assemble(
        sse(
          chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: "" } }] }),
          chunk({ tool_calls: [{ index: 0, id: "call_2", type: "function", function: { name: "weather", arguments: "{\"city\":" } }] }),
          chunk({ tool_calls: [{ index: 0, id: "call_3", type: "function", function: { name: "weather", arguments: "\"Bern\"}" } }] }),
          chunk({ tool_calls: [{ index: 0, id: "call_4", type: "function", function: { name: "time", arguments: "{}" } }] }),
          finishChunk("tool_calls"),
          "[DONE]"
        ),
        64
      )
      const calls = parts.filter((p): p is Response.ToolCallPartEncoded => p.type === "tool-call")
      assert.deepStrictEqual(calls.map((c) => [c.id, c.name, c.params]), [
        ["call_1", "weather", { city: "Bern" }],
        ["call_4", "time", {}]
      ])
    }))

  it.effect("at an index in use, a new id naming another function is another call, even after one with no arguments", () =>
    Effect.gen(function*() {
      const parts = yield* assemble(
        sse(
          chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_time", arguments: "" } }] }),
          chunk({ tool_calls: [{ index: 0, id: "call_b", type: "function", function: { name: "weather", arguments: "{\"city\":" } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: "\"Bern}\"}" } }] }),
          finishChunk("tool_calls"),
          "[DONE]"
        ),
        64
      )
      const calls = parts.filter((p): p is Response.ToolCallPartEncoded => p.type === "tool-call")
      assert.deepStrictEqual(calls.map((c) => [c.id, c.name, c.params]), [
        ["call_a", "get_time", {}],
        ["call_b", "weather", { city: "Bern}" }]
      ])
    }))

  it.effect("two calls of one function at index 0 whose arguments are a JSON string or a number stay apart", () =>
    Effect.gen(function*() {
      for (const [first, second, expected] of [
        ["\"{\\\"x\\\":1}\"", "\"{\\\"x\\\":2}\"", ["{\"x\":1}", "{\"x\":2}"]],
        ["1", "2", [1, 2]]
      ] as const) {
        const parts = yield* assemble(
          sse(
            chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: first } }] }),
            chunk({ tool_calls: [{ index: 0, id: "call_b", type: "function", function: { name: "f", arguments: second } }] }),
            finishChunk("tool_calls"),
            "[DONE]"
          ),
          64
        )
        const calls = parts.filter((p): p is Response.ToolCallPartEncoded => p.type === "tool-call")
        assert.deepStrictEqual(calls.map((c) => [c.id, c.params]), [["call_a", expected[0]], ["call_b", expected[1]]])
      }
    }))

  it("a fresh id and the name on each of 40,000 chunks of one call: read once, not again per chunk", () => {
    // Re-reading the whole arguments at every chunk was quadratic: 26 s for this answer.
    const assembler = ChatResponse.makeStreamAssembler(info)
    const parts: Array<Response.StreamPartEncoded> = []
    const events: Array<Sse.SseEvent> = []
    const piece = (i: number, args: string) => ({
      _tag: "Data" as const,
      data: chunk({ tool_calls: [{ index: 0, id: `call_${i}`, type: "function", function: { name: "write", arguments: args } }] })
    })
    events.push(piece(0, "{\"text\":\""))
    for (let i = 1; i <= 40_000; i++) events.push(piece(i, "ab{}[]\\\"c"))
    events.push(piece(40_001, "\"}"), { _tag: "Data", data: finishChunk("tool_calls") }, { _tag: "Done" })
    const started = Date.now()
    assert.isUndefined(assembler.pushAll(events, parts))
    assert.isUndefined(assembler.endInto(parts))
    const elapsed = Date.now() - started
    const calls = parts.filter((p): p is Response.ToolCallPartEncoded => p.type === "tool-call")
    assert.strictEqual(calls.length, 1)
    assert.strictEqual((calls[0]!.params as { text: string }).text.length, 40_000 * 8)
    assert.isBelow(elapsed, 5_000)
  })

  it.effect("a call whose first chunk has no id keeps its arguments when a later chunk names one", () =>
    Effect.gen(function*() {
      const parts = yield* assemble(
        sse(
          chunk({ tool_calls: [{ index: 0, type: "function", function: { name: "weather", arguments: "{\"city\":" } }] }),
          chunk({ tool_calls: [{ index: 0, id: "call_late", function: { arguments: "\"Bern\"}" } }] }),
          finishChunk("tool_calls"),
          "[DONE]"
        ),
        64
      )
      const calls = parts.filter((p): p is Response.ToolCallPartEncoded => p.type === "tool-call")
      assert.strictEqual(calls.length, 1)
      assert.deepStrictEqual([calls[0]!.name, calls[0]!.params], ["weather", { city: "Bern" }])
    }))

  it.effect("`reasoning` works like `reasoning_content`", () =>
    Effect.gen(function*() {
      const parts = yield* assemble(sse(chunk({ reasoning: "hm" }), chunk({ content: "x" }), finishChunk("stop")), 5)
      assert.deepStrictEqual(parts.flatMap((p) => (p.type === "reasoning-delta" ? [p.delta] : [])), ["hm"])
    }))

  it.effect("an un-prefixed {\"error\": …} line fails with ServiceError, naming the invocation", () =>
    Effect.gen(function*() {
      const text = sse(chunk({ content: "par" })) + `{"error":{"message":"engine died","code":500}}\n`
      const error = yield* Effect.flip(assemble(text, 4))
      assert.strictEqual(ChutesAiError.kind(error), "ServiceError")
      assert.include(error.message, "engine died (code 500)")
      assert.include(error.message, "inv-1")
    }))

  it.effect("arguments that are not JSON fail with InvalidToolArguments", () =>
    Effect.gen(function*() {
      const text = sse(
        chunk({ tool_calls: [{ index: 0, id: "c", function: { name: "f", arguments: "{\"a\":" } }] }),
        finishChunk("tool_calls"),
        "[DONE]"
      )
      const error = yield* Effect.flip(assemble(text, 1000))
      assert.instanceOf(error, AiError.MalformedOutput)
      assert.strictEqual(ChutesAiError.kind(error), "InvalidToolArguments")
      assert.include(error.description, "\"f\"")
    }))

  it("the invocation id header: a plain id as sent, anything else escaped and cut short", () => {
    const id = "3f0c9a2e-5b1d-4c7e-9a8f-0123456789ab"
    assert.strictEqual(Cost.headerFacts({ "x-chutes-invocationid": id }).invocationId, id)
    const hostile = Cost.headerFacts({ "x-chutes-invocationid": "id\u009b31m\u009d0;PWN\u009c" + "x".repeat(15_000) })
    assert.notMatch(hostile.invocationId ?? "", /[\u0080-\u009f]/)
    assert.include(hostile.invocationId, "id\\u009b31m")
    assert.isBelow(hostile.invocationId?.length ?? Infinity, 200)
  })

  it.effect("a hostile tool name in the InvalidToolArguments message: escaped and cut short", () =>
    Effect.gen(function*() {
      const name = "\u001b]0;PWNED\u0007\u202Eevil\u009b31m" + "n".repeat(100_000)
      const text = sse(
        chunk({ tool_calls: [{ index: 0, id: "c", function: { name, arguments: "{\"a\":" } }] }),
        finishChunk("tool_calls"),
        "[DONE]"
      )
      const error = yield* Effect.flip(assemble(text, 1000))
      assert.strictEqual(ChutesAiError.kind(error), "InvalidToolArguments")
      const description = error.description ?? ""
      assert.notMatch(description, /[\u001b\u0007\u202e\u009b]/)
      assert.include(description, "\\u202e")
      assert.isBelow(description.length, 600)
    }))

  it.effect("a stream that ends before the model finished fails with StreamTruncated", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(assemble(sse(chunk({ content: "half" })), 1000))
      assert.strictEqual(ChutesAiError.kind(error), "StreamTruncated")
    }))

  it.effect("a finish reason without [DONE] is a complete answer; a [DONE] without one gives `unknown`", () =>
    Effect.gen(function*() {
      const finished = yield* assemble(sse(chunk({ content: "a" }), finishChunk("length")), 1000)
      assert.deepStrictEqual(finished.at(-1)?.type === "finish" && finished.at(-1), {
        type: "finish",
        reason: "length",
        usage: {
          inputTokens: undefined,
          outputTokens: undefined,
          totalTokens: undefined,
          reasoningTokens: undefined,
          cachedInputTokens: undefined
        }
      })
      const unknown = yield* assemble(sse(chunk({ content: "a" }), "[DONE]"), 1000)
      const last = unknown.at(-1)
      assert.strictEqual(last?.type === "finish" && last.reason, "unknown")
    }))

  it.effect("an event that is not JSON fails with InvalidResponse, not a defect", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(assemble("data: {not json\n\n", 1000))
      assert.strictEqual(ChutesAiError.kind(error), "InvalidResponse")
    }))
})

describe("completionParts", () => {
  const completion = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: "chatcmpl-2",
      object: "chat.completion",
      created: 1_780_000_000,
      model: "zai-org/GLM-5-TEE",
      choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      ...extra
    })

  it.effect("an {\"error\": …} body with status 200 is a ServiceError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ChatResponse.completionParts("generateText", "{\"error\":\"overloaded\"}", info))
      assert.strictEqual(ChutesAiError.kind(error), "ServiceError")
    }))

  it.effect("an empty arguments string means no arguments", () =>
    Effect.gen(function*() {
      const parts = yield* ChatResponse.completionParts(
        "generateText",
        completion({
          content: null,
          tool_calls: [{ id: "c", type: "function", function: { name: "now", arguments: "" } }]
        }),
        info
      )
      assert.deepStrictEqual(parts.find((p) => p.type === "tool-call"), {
        type: "tool-call",
        id: "c",
        name: "now",
        params: {},
        providerExecuted: false
      })
      const last = parts.at(-1)
      assert.strictEqual(last?.type === "finish" && last.reason, "tool-calls")
    }))

  it.effect("not a completion -> InvalidResponse; no choices -> InvalidResponse", () =>
    Effect.gen(function*() {
      const html = yield* Effect.flip(ChatResponse.completionParts("generateText", "<html>", info))
      assert.strictEqual(ChutesAiError.kind(html), "InvalidResponse")
      const empty = yield* Effect.flip(ChatResponse.completionParts("generateText", completion({}, { choices: [] }), info))
      assert.strictEqual(ChutesAiError.kind(empty), "InvalidResponse")
      // The message names the field and what came instead, not the schema's whole type.
      const wrong = yield* Effect.flip(
        ChatResponse.completionParts("generateText", JSON.stringify({ choices: [{ message: { content: 42 } }] }), info)
      )
      assert.include(wrong.description, "is not a chat completion: choices[0].message.content: Expected string")
      assert.include(wrong.description, "actual 42")
    }))
})

describe("finishReason", () => {
  it("maps the service's reasons", () => {
    assert.strictEqual(ChatResponse.finishReason("stop", false), "stop")
    assert.strictEqual(ChatResponse.finishReason("stop", true), "tool-calls")
    assert.strictEqual(ChatResponse.finishReason("length", false), "length")
    assert.strictEqual(ChatResponse.finishReason("tool_calls", true), "tool-calls")
    assert.strictEqual(ChatResponse.finishReason("content_filter", false), "content-filter")
    assert.strictEqual(ChatResponse.finishReason("abort", false), "other")
    assert.strictEqual(ChatResponse.finishReason(null, false), "unknown")
  })
})
