/**
 * A local server that streams like Chutes, for the chat rows (bench/chat.ts): `POST /v1/chat/completions` answers
 * with `chat.completion.chunk` events that each carry a cumulative `usage` and a `chutes_verification` field (~350 B an
 * event), and `GET /v1/models` lists a few generated models (the SDK's catalog). Run in its own process, so writing
 * the events is never charged to the client being measured:
 *
 *   node --import tsx bench/chat-server.ts      -> prints {"url":"http://127.0.0.1:PORT/v1","apiKey":"..."}
 *
 * The model name picks the answer (any bearer is accepted):
 * - `bench/burst-N`: N text chunks written back to back, ~47 events per write (one network read holds about as many,
 *   as on the live service under load).
 * - `bench/paced-N-M`: N text chunks, one write per event, M ms apart (a token-paced stream: one event per read).
 * - `bench/lingering-N-M`: a paced stream (1 ms) whose body ends M ms after `[DONE]` (the drain of
 *   src/ai/internal/answer.ts: within its grace the connection is kept).
 * - `bench/single`: one small non-streaming `chat.completion`.
 *
 * Every stream ends with a `finish_reason` chunk, a usage-only chunk (`choices: []`) and `data: [DONE]`.
 */
import { randomBytes } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"

/** Events per write in burst mode. */
const PER_WRITE = 47
const PROMPT_TOKENS = 12
const WORDS = ["The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog. "]

/** The text of chunk `i` (the clients sum these lengths to check they read the whole stream). */
export const deltaOf = (i: number): string => WORDS[i % WORDS.length]!

/** The total text length of an `n`-chunk stream. */
export const textLength = (n: number): number => {
  let total = 0
  for (let i = 0; i < n; i++) total += deltaOf(i).length
  return total
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex")

/** A key of the real shape (the SDK warns about any other); the server accepts any bearer. */
const API_KEY = `cpk_${hex(16)}.${hex(16)}.${hex(16)}`

const chunkEvent = (
  base: { readonly id: string; readonly created: number; readonly model: string },
  delta: Record<string, unknown>,
  finish: string | null,
  completion: number
): string =>
  `data: ${
    JSON.stringify({
      id: base.id,
      object: "chat.completion.chunk",
      created: base.created,
      model: base.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: completion, total_tokens: PROMPT_TOKENS + completion },
      chutes_verification: hex(32)
    })
  }\n\n`

/** The events of an `n`-chunk stream, in order, `[DONE]` last. */
const streamEvents = (model: string, n: number): Array<string> => {
  const base = { id: `chatcmpl-${hex(16)}`, created: Math.floor(Date.now() / 1000), model }
  const events = [chunkEvent(base, { role: "assistant", content: "" }, null, 0)]
  for (let i = 0; i < n; i++) events.push(chunkEvent(base, { content: deltaOf(i) }, null, i + 1))
  events.push(chunkEvent(base, {}, "stop", n))
  events.push(
    `data: ${
      JSON.stringify({
        id: base.id,
        object: "chat.completion.chunk",
        created: base.created,
        model,
        choices: [],
        usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: n, total_tokens: PROMPT_TOKENS + n },
        chutes_verification: hex(32)
      })
    }\n\n`
  )
  events.push("data: [DONE]\n\n")
  return events
}

/** Writes the pieces, `delayMs` apart; the body ends right after the last one (`[DONE]`), as the live service ends it. */
const writeAll = async (res: ServerResponse, pieces: ReadonlyArray<string>, delayMs: number, endAfterMs = 0) => {
  for (let i = 0; i < pieces.length; i++) {
    if (i > 0 && delayMs > 0) await new Promise<void>((resolve) => setTimeout(resolve, delayMs))
    if (!res.write(pieces[i]!)) await new Promise<void>((resolve) => res.once("drain", () => resolve()))
  }
  if (endAfterMs > 0) await new Promise<void>((resolve) => setTimeout(resolve, endAfterMs))
  res.end()
}

const sseHeaders = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-chutes-invocationid": "00000000-0000-4000-8000-000000000000"
}

const completion = (model: string) =>
  JSON.stringify({
    id: `chatcmpl-${hex(16)}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{
      index: 0,
      message: { role: "assistant", content: "Hello! How can I help you today?" },
      logprobs: null,
      finish_reason: "stop"
    }],
    usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: 9, total_tokens: PROMPT_TOKENS + 9 },
    chutes_verification: hex(32)
  })

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = ""
    req.setEncoding("utf8")
    req.on("data", (piece: string) => (text += piece))
    req.on("end", () => resolve(text))
    req.on("error", reject)
  })

/** TCP connections accepted so far: a client that reuses its connection opens one per concurrent request. */
let connections = 0

const handle = async (models: string, req: IncomingMessage, res: ServerResponse) => {
  if (req.method === "GET" && req.url === "/v1/__connections") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ connections }))
    return
  }
  if (req.method === "GET" && req.url === "/v1/models") {
    res.writeHead(200, { "content-type": "application/json" }).end(models)
    return
  }
  if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ detail: "Not Found" }))
    return
  }
  const body = JSON.parse(await readBody(req)) as { readonly model: string; readonly stream?: boolean }
  const model = body.model
  const burst = /^bench\/burst-(\d+)$/.exec(model)
  const paced = /^bench\/paced-(\d+)-(\d+)$/.exec(model)
  const lingering = /^bench\/lingering-(\d+)-(\d+)$/.exec(model)
  if (body.stream === true && burst !== null) {
    const events = streamEvents(model, Number(burst[1]))
    const writes: Array<string> = []
    for (let i = 0; i < events.length; i += PER_WRITE) writes.push(events.slice(i, i + PER_WRITE).join(""))
    res.writeHead(200, sseHeaders)
    await writeAll(res, writes, 0)
  } else if (body.stream === true && paced !== null) {
    res.writeHead(200, sseHeaders)
    res.flushHeaders()
    await writeAll(res, streamEvents(model, Number(paced[1])), Number(paced[2]))
  } else if (body.stream === true && lingering !== null) {
    res.writeHead(200, sseHeaders)
    await writeAll(res, streamEvents(model, Number(lingering[1])), 1, Number(lingering[2]))
  } else if (body.stream !== true && model === "bench/single") {
    res.writeHead(200, { "content-type": "application/json", "x-chutes-invocationid": sseHeaders["x-chutes-invocationid"] })
      .end(completion(model))
  } else {
    res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ detail: `no bench answer: ${model}` }))
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)

if (isMain) {
  // Loaded here only: bench/chat.ts imports this module for `textLength` and must not load FakeChutes.
  const FakeChutes = await import("../src/testing/FakeChutes.js")
  const models = JSON.stringify({ object: "list", data: FakeChutes.generateModels(3) })
  const server = createServer((req, res) => {
    handle(models, req, res).catch((error: unknown) => {
      process.stderr.write(`chat-server: ${String(error)}\n`)
      res.destroy()
    })
  })
  server.on("connection", () => connections++)
  server.keepAliveTimeout = 60_000
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/v1`, apiKey: API_KEY })}\n`)
  })
  const stop = () => server.close(() => process.exit(0))
  process.on("SIGTERM", stop)
  process.on("SIGINT", stop)
}
