import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { createInterface } from "node:readline"
import * as FakeChutes from "../src/testing/FakeChutes.js"

// Real I/O over loopback: the tests run on the live clock (`it.scopedLive`), each with its own fake, closed with the
// test's scope. One test runs on the TestClock on purpose: the fake's delays keep the wall clock there too.

type Server = FakeChutes.FakeChutesServer

const redirectUri = "http://127.0.0.1:1456/oauth-callback"

const send = (url: string | URL, init?: RequestInit) => Effect.promise(() => fetch(url, init))
/** A request that may fail at the transport (reset, closed server). */
const attempt = (url: string | URL, init?: RequestInit) => Effect.either(Effect.tryPromise(() => fetch(url, init)))
const json = (res: Response) => Effect.promise((): Promise<unknown> => res.json())
const text = (res: Response) => Effect.promise(() => res.text())

/** `actual` has every field of `expected`, recursively; arrays match element by element and in length. */
const assertMatch = (actual: unknown, expected: unknown, path = "$"): void => {
  if (Array.isArray(expected)) {
    assert.isArray(actual, path)
    const items = actual as ReadonlyArray<unknown>
    assert.lengthOf(items, expected.length, path)
    expected.forEach((item, i) => assertMatch(items[i], item, `${path}[${i}]`))
  } else if (typeof expected === "object" && expected !== null) {
    assert.isObject(actual, path)
    for (const [key, value] of Object.entries(expected)) {
      assertMatch((actual as Record<string, unknown>)[key], value, `${path}.${key}`)
    }
  } else {
    assert.strictEqual(actual, expected, path)
  }
}

const pkce = () => {
  const verifier = randomBytes(32).toString("base64url")
  const challenge = createHash("sha256").update(verifier).digest("base64url")
  return { verifier, challenge }
}

const form = (fields: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString()
})

const authorizeUrl = (server: Server, params: Record<string, string>): string => {
  const url = new URL(`${server.idpBaseUrl}/idp/authorize`)
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return url.toString()
}

const validAuthorizeParams = (server: Server, challenge: string, state: string) => ({
  client_id: server.clientId,
  redirect_uri: redirectUri,
  response_type: "code",
  scope: "openid profile chutes:invoke",
  state,
  code_challenge: challenge,
  code_challenge_method: "S256"
})

const requestIdOf = (html: string): string | undefined => /name="request_id" value="([^"]+)"/.exec(html)?.[1]

/** Runs the consent flow and returns the authorization code. */
const obtainCode = (server: Server, challenge: string, state = "state-123") =>
  Effect.gen(function*() {
    const html = yield* text(yield* send(authorizeUrl(server, validAuthorizeParams(server, challenge, state))))
    const requestId = requestIdOf(html)
    assert.isDefined(requestId)
    const decision = yield* send(
      `${server.idpBaseUrl}/idp/authorize/decision`,
      { ...form({ request_id: requestId ?? "", decision: "approve" }), redirect: "manual" }
    )
    assert.strictEqual(decision.status, 302)
    const code = new URL(decision.headers.get("location") ?? "").searchParams.get("code")
    assert.ok(code)
    return code ?? ""
  })

const exchange = (server: Server, code: string, verifier: string, extra = {}) =>
  send(
    `${server.idpBaseUrl}/idp/token`,
    form({
      grant_type: "authorization_code",
      client_id: server.clientId,
      client_secret: server.clientSecret ?? "",
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      ...extra
    })
  )

const refresh = (server: Server, token: string) =>
  send(
    `${server.idpBaseUrl}/idp/token`,
    form({
      grant_type: "refresh_token",
      client_id: server.clientId,
      client_secret: server.clientSecret ?? "",
      refresh_token: token
    })
  )

const chatRequest = (server: Server, headers: Record<string, string>): RequestInit & { readonly url: string } => ({
  url: `${server.baseUrl}/chat/completions`,
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify({ model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }] })
})

const chat = (server: Server, headers: Record<string, string>) => {
  const { url, ...init } = chatRequest(server, headers)
  return send(url, init)
}

const bearer = (server: Server) => ({ authorization: `Bearer ${server.apiKey}` })

describe("FakeChutes", () => {
  describe("catalog and API keys", () => {
    it.scopedLive("binds to loopback and exposes the URLs", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
        assert.strictEqual(server.baseUrl, `${server.url}/v1`)
        assert.strictEqual(server.idpBaseUrl, server.url)
        assert.strictEqual(server.clientId, "cid_fake_client")
        assert.strictEqual(server.clientSecret, "cs_fake_secret")
      }))

    it.scopedLive("has a fake API key shaped like a real one", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        assert.match(FakeChutes.defaultApiKey, /^cpk_[0-9a-f]{32}\.[0-9a-f]{32}\.[A-Za-z0-9]{32}$/)
        assert.lengthOf(FakeChutes.defaultApiKey, 102)
        assert.strictEqual(server.apiKey, FakeChutes.defaultApiKey)
      }))

    it.scopedLive("serves /v1/models publicly with the real capture", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const res = yield* send(`${server.baseUrl}/models`)
        assert.strictEqual(res.status, 200)
        assert.strictEqual(res.headers.get("content-type"), "application/json")
        const body = yield* json(res)
        assertMatch(body, { object: "list" })
        const data = (body as { data: Array<{ id: string }> }).data
        assert.lengthOf(data, 13)
        assert.include(data.map((m) => m.id), "deepseek-ai/DeepSeek-V3.2-TEE")
        assert.strictEqual(server.counters.models, 1)
      }))

    it.scopedLive("accepts the default API key as bearer", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const res = yield* send(`${server.baseUrl}/models`, { headers: bearer(server) })
        assert.strictEqual(res.status, 200)
        assert.strictEqual(server.counters.unauthorized, 0)
      }))

    it.scopedLive("rejects an unknown or malformed bearer with 401 JSON detail", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        for (const authorization of ["Bearer cpk_unknown", "Bearer", `Basic ${server.apiKey}`, "garbage"]) {
          const res = yield* send(`${server.baseUrl}/models`, { headers: { authorization } })
          assert.strictEqual(res.status, 401)
          assert.strictEqual(res.headers.get("content-type"), "application/json")
          assert.deepStrictEqual(yield* json(res), { detail: "Invalid token." })
        }
        assert.strictEqual(server.counters.unauthorized, 4)
      }))

    it.scopedLive("ignores X-API-Key (only Authorization is read)", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const res = yield* send(`${server.baseUrl}/chat/completions`, {
          method: "POST",
          headers: { "x-api-key": server.apiKey, "content-type": "application/json" },
          body: JSON.stringify({ model: "m" })
        })
        assert.strictEqual(res.status, 401)
      }))

    it.scopedLive("accepts a live access token and rejects an expired one", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const live = server.issueTokens()
        assert.match(live.access, /^cak_[0-9a-f]+$/)
        assert.match(live.refresh, /^crt_[0-9a-f]+$/)
        assert.strictEqual(live.expiresIn, 3600)
        const ok = yield* send(`${server.baseUrl}/models`, { headers: { authorization: `Bearer ${live.access}` } })
        assert.strictEqual(ok.status, 200)
        const expired = server.issueTokens({ expiresIn: 0 })
        const rejected = yield* send(`${server.baseUrl}/models`, {
          headers: { authorization: `Bearer ${expired.access}` }
        })
        assert.strictEqual(rejected.status, 401)
      }))

    it.scopedLive("setModels replaces the catalog; generateModels makes big catalogs with unique ids", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const items = FakeChutes.generateModels(5000)
        assert.lengthOf(items, 5000)
        const ids = items.map((item) => (item as { id: string }).id)
        assert.strictEqual(new Set(ids).size, 5000)
        assert.strictEqual(ids[0], "Qwen/Qwen3-32B-TEE")
        assert.strictEqual(ids[13], "Qwen/Qwen3-32B-TEE-g13")
        server.setModels(items)
        const body = (yield* json(yield* send(`${server.baseUrl}/models`))) as { data: Array<unknown> }
        assert.lengthOf(body.data, 5000)
        server.setModels([{ id: "only/one" }])
        const small = (yield* json(yield* send(`${server.baseUrl}/models`))) as { data: Array<unknown> }
        assert.deepStrictEqual(small.data, [{ id: "only/one" }])
      }))

    it.scopedLive("answers unknown routes with 404 detail and wrong methods with 405", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const res = yield* send(`${server.url}/v1/nope`)
        assert.strictEqual(res.status, 404)
        assert.deepStrictEqual(yield* json(res), { detail: "Not Found" })
        const wrong = yield* send(`${server.baseUrl}/models`, { method: "POST" })
        assert.strictEqual(wrong.status, 405)
      }))

    it.scopedLive("records every request with headers and body", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        yield* chat(server, bearer(server))
        assert.lengthOf(server.requests, 1)
        const [recorded] = server.requests
        assert.strictEqual(recorded?.method, "POST")
        assert.strictEqual(recorded?.path, "/v1/chat/completions")
        assert.strictEqual(recorded?.route, "chat")
        assert.strictEqual(recorded?.headers["authorization"], `Bearer ${server.apiKey}`)
        assertMatch(JSON.parse(recorded?.body ?? "{}"), { model: "zai-org/GLM-5-TEE" })
      }))
  })

  describe("chat completions", () => {
    it.scopedLive("requires a credential", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const res = yield* chat(server, {})
        assert.strictEqual(res.status, 401)
        assert.property(yield* json(res), "detail")
        assert.strictEqual(server.counters.chat, 1)
        assert.strictEqual(server.counters.unauthorized, 1)
      }))

    it.scopedLive("answers a minimal completion echoing the model, with an invocation id", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const res = yield* chat(server, bearer(server))
        assert.strictEqual(res.status, 200)
        assert.match(res.headers.get("x-chutes-invocationid") ?? "", /^[0-9a-f-]{36}$/)
        const body = (yield* json(res)) as Record<string, unknown>
        assertMatch(body, {
          object: "chat.completion",
          model: "zai-org/GLM-5-TEE",
          choices: [{
            index: 0,
            message: { role: "assistant", content: "Hello from FakeChutes" },
            finish_reason: "stop"
          }],
          usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 }
        })
        assert.isNumber(body["created"])
      }))

    it.scopedLive("accepts an OAuth access token", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const { access } = server.issueTokens()
        const res = yield* chat(server, { authorization: `Bearer ${access}` })
        assert.strictEqual(res.status, 200)
      }))
  })

  describe("chat scripting", () => {
    const post = (server: Server, body: unknown, headers: Record<string, string> = {}) =>
      send(`${server.baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...bearer(server), ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body)
      })
    const ask = (server: Server, extra: Record<string, unknown> = {}) =>
      post(server, { model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }], ...extra })

    /** The `data:` payloads of an SSE body, parsed, and anything else kept as text. */
    const events = (body: string): Array<unknown> =>
      body.split("\n").filter((line) => line.trim() !== "").map((line) =>
        line.startsWith("data: ")
          ? line.slice(6) === "[DONE]" ? "[DONE]" : JSON.parse(line.slice(6))
          : { raw: line }
      )

    it.scopedLive("answers with scripted text, reasoning, tool calls, finish reason and usage", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.chat.script({
          content: "ok",
          reasoningContent: "because",
          toolCalls: [{ id: "call_1", name: "lookup", arguments: { q: "x" } }],
          finishReason: "tool_calls",
          usage: { prompt_tokens: 7, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 5 } }
        })
        const res = yield* ask(server)
        assert.strictEqual(res.status, 200)
        assertMatch(yield* json(res), {
          object: "chat.completion",
          choices: [{
            message: {
              role: "assistant",
              content: "ok",
              reasoning_content: "because",
              tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: "{\"q\":\"x\"}" } }]
            },
            finish_reason: "tool_calls"
          }],
          usage: {
            prompt_tokens: 7,
            completion_tokens: 3,
            total_tokens: 10,
            prompt_tokens_details: { cached_tokens: 5 }
          }
        })
        assert.strictEqual(server.chat.pending, 0)
        // The queue is empty again: the default answer.
        assertMatch(yield* json(yield* ask(server)), { choices: [{ message: { content: "Hello from FakeChutes" } }] })
      }))

    it.scopedLive("takes the first scripted answer for the request's model, and scripted errors", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.chat.script(
          { model: "deepseek-ai/DeepSeek-V3.2-TEE", content: "for deepseek" },
          { status: 429, body: { detail: "Too many requests" }, headers: { "retry-after": "1" } },
          { content: "for anyone" }
        )
        const limited = yield* ask(server)
        assert.strictEqual(limited.status, 429)
        assert.strictEqual(limited.headers.get("retry-after"), "1")
        assert.deepStrictEqual(yield* json(limited), { detail: "Too many requests" })
        assertMatch(yield* json(yield* ask(server)), { choices: [{ message: { content: "for anyone" } }] })
        const deepseek = yield* ask(server, { model: "deepseek-ai/DeepSeek-V3.2-TEE" })
        assertMatch(yield* json(deepseek), { choices: [{ message: { content: "for deepseek" } }] })
      }))

    it.scopedLive("streams SSE chunks with usage on every chunk, tool-call deltas by index, and [DONE]", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.chat.script({
          content: "héllo",
          toolCalls: [{ id: "call_9", name: "f", arguments: "{\"a\":1}" }],
          usage: { prompt_tokens: 4, completion_tokens: 6 },
          stream: { deltaChars: 3 }
        })
        const res = yield* ask(server, { stream: true })
        assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/)
        const all = events(yield* text(res))
        assert.strictEqual(all.at(-1), "[DONE]")
        interface Chunk {
          readonly object: string
          readonly usage?: unknown
          readonly choices: ReadonlyArray<{ readonly delta: Delta; readonly finish_reason: string | null }>
        }
        interface Delta {
          readonly content?: string
          readonly tool_calls?: ReadonlyArray<{ readonly function: { readonly arguments: string } }>
        }
        const chunks = all.slice(0, -1) as Array<Chunk>
        assert.isTrue(chunks.every((c) => c.object === "chat.completion.chunk" && c.usage !== undefined))
        assertMatch(chunks.at(-1), {
          choices: [],
          usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 }
        })
        const deltas = chunks.flatMap((c) => c.choices.map((choice) => choice.delta))
        assert.strictEqual(deltas.map((d) => d.content ?? "").join(""), "héllo")
        const calls = deltas.flatMap((d) => d.tool_calls ?? [])
        assert.deepStrictEqual(calls[0], {
          index: 0,
          id: "call_9",
          type: "function",
          function: { name: "f", arguments: "" }
        } as unknown)
        assert.strictEqual(calls.map((c) => c.function.arguments).join(""), "{\"a\":1}")
        assertMatch(chunks.flatMap((c) => c.choices).at(-1), { finish_reason: "tool_calls" })
      }))

    it.scopedLive("usage only on a last chunk, or none", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.chat.script({ content: "a", stream: { usage: "last" } }, { content: "b", usage: null })
        const last = events(yield* text(yield* ask(server, { stream: true }))).slice(0, -1) as Array<
          Record<string, unknown>
        >
        assert.lengthOf(last.filter((c) => "usage" in c), 1)
        const none = events(yield* text(yield* ask(server, { stream: true }))).slice(0, -1) as Array<
          Record<string, unknown>
        >
        assert.isFalse(none.some((c) => "usage" in c))
      }))

    it.scopedLive("fails mid-stream with a raw un-prefixed error line, or a data: one, and no [DONE]", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.chat.script(
          { content: "abcdefgh", stream: { deltaChars: 1, errorAfter: 3, error: { message: "boom", code: 500 } } },
          { content: "abc", stream: { errorAfter: 1, errorPrefixed: true } }
        )
        const raw = events(yield* text(yield* ask(server, { stream: true })))
        assert.lengthOf(raw, 4)
        assert.deepStrictEqual(raw.at(-1), { raw: "{\"error\":{\"message\":\"boom\",\"code\":500}}" })
        const prefixed = events(yield* text(yield* ask(server, { stream: true })))
        assert.lengthOf(prefixed, 2)
        assertMatch(prefixed.at(-1), { error: { code: 500 } })
      }))

    it.scopedLive("chunkBytes cuts the body anywhere, inside UTF-8 characters too; the bytes add up", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.chat.script({ content: "€€€ 🎉", stream: { chunkBytes: 1 } }, { content: "€€€ 🎉" })
        const bytes = (res: Response) => Effect.promise(() => res.arrayBuffer())
        const cut = Buffer.from(yield* bytes(yield* ask(server, { stream: true })))
        const whole = Buffer.from(yield* bytes(yield* ask(server, { stream: true })))
        const normalise = (b: Buffer) =>
          b.toString("utf8").replace(/"id":"[^"]+"/g, "").replace(/"created":\d+/g, "")
        assert.strictEqual(normalise(cut), normalise(whole))
      }))

    it.scopedLive("per-model availability: 503 No instances, 404 model not found; unknown models are not found", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.chat.setAvailability("zai-org/GLM-5-TEE", "no-instances")
        const busy = yield* ask(server)
        assert.strictEqual(busy.status, 503)
        assert.match(((yield* json(busy)) as { detail: string }).detail, /^No instances available/)
        server.chat.setAvailability("zai-org/GLM-5-TEE", undefined)
        assert.strictEqual((yield* ask(server)).status, 200)
        const missing = yield* ask(server, { model: "zai-org/GLM-4.7-TEE" })
        assert.strictEqual(missing.status, 404)
        assert.deepStrictEqual(yield* json(missing), { detail: "model not found: zai-org/GLM-4.7-TEE" })
        server.chat.setAvailability("zai-org/GLM-4.7-TEE", "available")
        assert.strictEqual((yield* ask(server, { model: "zai-org/GLM-4.7-TEE" })).status, 200)
        server.chat.setAvailability("zai-org/GLM-5-TEE", "not-found")
        assert.strictEqual((yield* ask(server)).status, 404)
      }))

    it.scopedLive("400 for a body that is not JSON, without a model, or without messages", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        assert.strictEqual((yield* post(server, "{not json")).status, 400)
        assert.strictEqual((yield* post(server, { messages: [{ role: "user", content: "x" }] })).status, 400)
        const noMessages = yield* post(server, { model: "zai-org/GLM-5-TEE", messages: [] })
        assert.strictEqual(noMessages.status, 400)
        assert.deepStrictEqual(yield* json(noMessages), { detail: "messages is required" })
      }))

    it.scopedLive("records every chat body as parsed JSON, faulted and rejected requests too", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.fault({ _tag: "Status", route: "chat", status: 500, times: 1 })
        yield* ask(server, { temperature: 0.5 })
        yield* post(server, { model: "m", messages: [] }, { authorization: "Bearer nope" })
        yield* post(server, "{not json")
        assert.deepStrictEqual(server.chat.bodies, [
          { model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }], temperature: 0.5 },
          { model: "m", messages: [] },
          "{not json"
        ])
      }))

    it.scopedLive("403 for an OAuth token without chutes:invoke", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.setAutoApprove(true)
        const { verifier, challenge } = pkce()
        const params = { ...validAuthorizeParams(server, challenge, "s"), scope: "openid profile" }
        const redirect = yield* send(authorizeUrl(server, params), { redirect: "manual" })
        const code = new URL(redirect.headers.get("location") ?? "").searchParams.get("code") ?? ""
        const tokens = (yield* json(yield* exchange(server, code, verifier))) as Record<string, string>
        const res = yield* post(
          server,
          { model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }] },
          { authorization: `Bearer ${tokens["access_token"]}` }
        )
        assert.strictEqual(res.status, 403)
        assert.include(((yield* json(res)) as { detail: string }).detail, "chutes:invoke")
      }))

    it.scopedLive("keepOpen leaves the stream open after the last write; close() still ends it", () =>
      Effect.gen(function*() {
        const own = yield* FakeChutes.make()
        own.chat.script({ content: "x", stream: { keepOpen: true } })
        const res = yield* send(`${own.baseUrl}/chat/completions`, {
          method: "POST",
          headers: bearer(own),
          body: JSON.stringify({
            model: "zai-org/GLM-5-TEE",
            messages: [{ role: "user", content: "hi" }],
            stream: true
          })
        })
        const reader = res.body!.getReader()
        let received = ""
        while (!received.includes("[DONE]")) {
          received += new TextDecoder().decode((yield* Effect.promise(() => reader.read())).value)
        }
        const next = reader.read().then((r) => (r.done ? "ended" : "more"), () => "failed")
        yield* Effect.promise(() => own.close())
        assert.notStrictEqual(yield* Effect.promise(() => next), "more")
      }))

    it.scopedLive("reset clears the script, the default answer, availability and the bodies", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.chat.script({ content: "queued" })
        server.chat.setDefaultReply({ content: "default" })
        server.chat.setAvailability("zai-org/GLM-5-TEE", "no-instances")
        yield* ask(server)
        server.reset()
        assert.strictEqual(server.chat.pending, 0)
        assert.lengthOf(server.chat.bodies, 0)
        assertMatch(yield* json(yield* ask(server)), { choices: [{ message: { content: "Hello from FakeChutes" } }] })
      }))
  })

  describe("faults", () => {
    it.scopedLive("Status applies `times` times, with headers and a default detail body", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.fault({ _tag: "Status", route: "models", status: 503, headers: { "retry-after": "2" }, times: 2 })
        for (let i = 0; i < 2; i++) {
          const res = yield* send(`${server.baseUrl}/models`)
          assert.strictEqual(res.status, 503)
          assert.strictEqual(res.headers.get("retry-after"), "2")
          assert.deepStrictEqual(yield* json(res), { detail: "Service Unavailable" })
        }
        const ok = yield* send(`${server.baseUrl}/models`)
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(server.counters.models, 3)
      }))

    it.scopedLive("Status 402 defaults to an object detail; IdP routes default to an OAuth error; body overrides", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.fault({ _tag: "Status", route: "chat", status: 402, times: 1 })
        const quota = yield* chat(server, bearer(server))
        assert.strictEqual(quota.status, 402)
        assert.deepStrictEqual(yield* json(quota), {
          detail: { message: "Quota exceeded", reset_at: "2026-11-26T00:00:00Z" }
        })
        server.fault({ _tag: "Status", route: "token", status: 503, times: 1 })
        const idp = yield* send(`${server.idpBaseUrl}/idp/token`, form({ grant_type: "refresh_token" }))
        assert.strictEqual(idp.status, 503)
        assert.deepStrictEqual(yield* json(idp), { error: "temporarily_unavailable" })
        server.fault({ _tag: "Status", route: "models", status: 404, body: { detail: "model not found: x" }, times: 1 })
        const custom = yield* send(`${server.baseUrl}/models`)
        assert.deepStrictEqual(yield* json(custom), { detail: "model not found: x" })
      }))

    it.scopedLive("Html returns an HTML error page", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.fault({ _tag: "Html", route: "models", status: 502, times: 1 })
        const res = yield* send(`${server.baseUrl}/models`)
        assert.strictEqual(res.status, 502)
        assert.include(res.headers.get("content-type"), "text/html")
        const page = yield* text(res)
        assert.include(page, "<html")
        assert.include(page, "502")
        assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 200)
      }))

    it.scopedLive("MalformedJson returns 200 with a truncated body", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.fault({ _tag: "MalformedJson", route: "models", times: 1 })
        const res = yield* send(`${server.baseUrl}/models`)
        assert.strictEqual(res.status, 200)
        assert.strictEqual(res.headers.get("content-type"), "application/json")
        const body = yield* text(res)
        assert.isTrue(body.startsWith("{\"object\":\"list\""))
        assert.throws(() => JSON.parse(body))
        server.fault({ _tag: "MalformedJson", route: "token", times: 1 })
        const token = yield* send(`${server.idpBaseUrl}/idp/token`, form({ grant_type: "refresh_token" }))
        assert.isTrue(Either.isLeft(yield* Effect.either(Effect.tryPromise(() => token.json()))))
      }))

    // On the TestClock on purpose: the fake is a remote service, its delay runs on the wall clock all the same.
    it.scoped("Delay waits before answering normally, then stops after `times`", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.fault({ _tag: "Delay", route: "models", millis: 300, times: 1 })
        const t0 = Date.now()
        const slow = yield* send(`${server.baseUrl}/models`)
        assert.strictEqual(slow.status, 200)
        assert.isAtLeast(Date.now() - t0, 280)
        const t1 = Date.now()
        yield* text(yield* send(`${server.baseUrl}/models`))
        assert.isBelow(Date.now() - t1, 250)
      }))

    it.scopedLive("Reset destroys the socket: fetch fails", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.fault({ _tag: "Reset", route: "models", times: 1 })
        assert.isTrue(Either.isLeft(yield* attempt(`${server.baseUrl}/models`)))
        assert.strictEqual(server.counters.models, 1)
        assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 200)
      }))

    it.scopedLive("SlowDrip writes the normal body slowly", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.setModels([{ id: "a/b", max_model_len: 1000 }, { id: "c/d", max_model_len: 2000 }])
        const expected = JSON.stringify({
          object: "list",
          data: [{ id: "a/b", max_model_len: 1000 }, { id: "c/d", max_model_len: 2000 }]
        })
        server.fault({ _tag: "SlowDrip", route: "models", chunkBytes: 20, intervalMillis: 40, times: 1 })
        const t0 = Date.now()
        const res = yield* send(`${server.baseUrl}/models`)
        assert.strictEqual(res.status, 200)
        const body = yield* text(res)
        const chunks = Math.ceil(Buffer.byteLength(expected) / 20)
        assert.strictEqual(body, expected)
        assert.isAtLeast(Date.now() - t0, chunks * 40 - 20)
      }))

    it.scopedLive("Body returns a raw body with the given status and content type", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const weird = "{\"access_token\":\"cak_x\",\"expires_in\":1e309}"
        server.fault({ _tag: "Body", route: "token", status: 200, body: weird })
        server.fault({ _tag: "Body", route: "token", status: 500, body: "oops", contentType: "text/plain", times: 1 })
        // The first fault has no `times`: it applies until cleared, so the second one never runs.
        const res = yield* send(`${server.idpBaseUrl}/idp/token`, form({ grant_type: "refresh_token" }))
        assert.strictEqual(res.status, 200)
        assert.strictEqual(yield* text(res), weird)
        server.clearFaults("token")
        server.fault({ _tag: "Body", route: "token", status: 500, body: "oops", contentType: "text/plain", times: 1 })
        const raw = yield* send(`${server.idpBaseUrl}/idp/token`, form({ grant_type: "refresh_token" }))
        assert.strictEqual(raw.status, 500)
        assert.strictEqual(raw.headers.get("content-type"), "text/plain")
        assert.strictEqual(yield* text(raw), "oops")
      }))

    it.scopedLive("faults on one route form a queue and leave other routes alone", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.fault({ _tag: "Status", route: "models", status: 429, times: 1 })
        server.fault({ _tag: "Status", route: "models", status: 500, times: 1 })
        assert.strictEqual((yield* chat(server, bearer(server))).status, 200)
        assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 429)
        assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 500)
        assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 200)
      }))

    it.scopedLive("clearFaults removes faults", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.fault({ _tag: "Status", route: "models", status: 500 })
        assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 500)
        server.clearFaults()
        assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 200)
      }))
  })

  describe("IdP", () => {
    it.scopedLive("publishes OpenID configuration with absolute endpoints and S256 only", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const res = yield* send(`${server.idpBaseUrl}/.well-known/openid-configuration`)
        assert.strictEqual(res.status, 200)
        assertMatch(yield* json(res), {
          issuer: server.url,
          authorization_endpoint: `${server.url}/idp/authorize`,
          token_endpoint: `${server.url}/idp/token`,
          userinfo_endpoint: `${server.url}/idp/userinfo`,
          revocation_endpoint: `${server.url}/idp/token/revoke`,
          code_challenge_methods_supported: ["S256"]
        })
      }))

    it.scopedLive("runs the code flow: PKCE, single-use codes, rotating refresh tokens, userinfo, revoke", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const { challenge, verifier } = pkce()
        const state = randomBytes(16).toString("base64url")

        // Consent page
        const page = yield* send(authorizeUrl(server, validAuthorizeParams(server, challenge, state)))
        assert.strictEqual(page.status, 200)
        assert.include(page.headers.get("content-type"), "text/html")
        const html = yield* text(page)
        assert.include(html, "<title>Authorize application</title>")
        assert.include(html, "<button id=\"approve\" name=\"decision\" value=\"approve\">Approve</button>")
        assert.include(html, "<button id=\"deny\" name=\"decision\" value=\"deny\">Deny</button>")
        assert.include(html, server.clientId)
        assert.include(html, "chutes:invoke")
        const requestId = requestIdOf(html) ?? ""
        assert.notStrictEqual(requestId, "")
        assert.strictEqual(server.counters.authorize, 1)

        // Decision -> redirect with code and state
        const decision = yield* send(`${server.idpBaseUrl}/idp/authorize/decision`, {
          ...form({ request_id: requestId, decision: "approve" }),
          redirect: "manual"
        })
        assert.strictEqual(decision.status, 302)
        const location = new URL(decision.headers.get("location") ?? "")
        assert.strictEqual(`${location.origin}${location.pathname}`, redirectUri)
        assert.strictEqual(location.searchParams.get("state"), state)
        const code = location.searchParams.get("code") ?? ""
        assert.notStrictEqual(code, "")

        // The request id is consumed
        const again = yield* send(`${server.idpBaseUrl}/idp/authorize/decision`, {
          ...form({ request_id: requestId, decision: "approve" }),
          redirect: "manual"
        })
        assert.strictEqual(again.status, 400)

        // Exchange
        const exchanged = yield* exchange(server, code, verifier)
        assert.strictEqual(exchanged.status, 200)
        const tokens = (yield* json(exchanged)) as Record<string, unknown>
        assertMatch(tokens, { token_type: "Bearer", expires_in: 3600, scope: "openid profile chutes:invoke" })
        assert.match(String(tokens["access_token"]), /^cak_[0-9a-f]+$/)
        assert.match(String(tokens["refresh_token"]), /^crt_[0-9a-f]+$/)
        assert.strictEqual(server.counters.tokenByGrant.authorization_code, 1)

        // Code reuse
        const reuse = yield* exchange(server, code, verifier)
        assert.strictEqual(reuse.status, 400)
        assert.deepStrictEqual(yield* json(reuse), { error: "invalid_grant" })

        // Userinfo
        const access = String(tokens["access_token"])
        const me = yield* send(`${server.idpBaseUrl}/idp/userinfo`, { headers: { authorization: `Bearer ${access}` } })
        assert.strictEqual(me.status, 200)
        assert.deepStrictEqual(yield* json(me), { sub: "user-alice-0001", username: "alice" })
        const anon = yield* send(`${server.idpBaseUrl}/idp/userinfo`, { headers: { authorization: "Bearer cak_nope" } })
        assert.strictEqual(anon.status, 401)
        assert.deepStrictEqual(yield* json(anon), { error: "invalid_token" })

        // Refresh rotation
        server.reset()
        const firstRefresh = String(tokens["refresh_token"])
        const rotated = yield* refresh(server, firstRefresh)
        assert.strictEqual(rotated.status, 200)
        const next = (yield* json(rotated)) as Record<string, unknown>
        assert.notStrictEqual(next["refresh_token"], firstRefresh)
        assert.notStrictEqual(next["access_token"], access)
        const reused = yield* refresh(server, firstRefresh)
        assert.strictEqual(reused.status, 400)
        assert.deepStrictEqual(yield* json(reused), { error: "invalid_grant" })
        assert.strictEqual(server.counters.invalidGrant, 1)
        assert.strictEqual(server.counters.tokenByGrant.refresh_token, 2)
        assert.strictEqual(server.counters.token, 2)

        // Revoke the new access token, then the new refresh token
        const newAccess = String(next["access_token"])
        const revoke = yield* send(
          `${server.idpBaseUrl}/idp/token/revoke`,
          form({ token: newAccess, client_id: server.clientId, client_secret: server.clientSecret ?? "" })
        )
        assert.strictEqual(revoke.status, 200)
        assert.deepStrictEqual(yield* json(revoke), {})
        const afterRevoke = yield* send(`${server.idpBaseUrl}/idp/userinfo`, {
          headers: { authorization: `Bearer ${newAccess}` }
        })
        assert.strictEqual(afterRevoke.status, 401)
        yield* send(
          `${server.idpBaseUrl}/idp/token/revoke`,
          form({
            token: String(next["refresh_token"]),
            client_id: server.clientId,
            client_secret: server.clientSecret ?? ""
          })
        )
        assert.strictEqual((yield* refresh(server, String(next["refresh_token"]))).status, 400)
        assert.strictEqual(server.counters.revoke, 2)
      }))

    it.scopedLive("refuses a wrong verifier, a wrong redirect_uri and a missing client secret", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const { challenge, verifier } = pkce()
        const code = yield* obtainCode(server, challenge)
        const wrongVerifier = yield* exchange(server, code, pkce().verifier)
        assert.strictEqual(wrongVerifier.status, 400)
        assert.deepStrictEqual(yield* json(wrongVerifier), { error: "invalid_grant" })
        const wrongRedirect = yield* exchange(server, code, verifier, { redirect_uri: "http://127.0.0.1:9/cb" })
        assert.deepStrictEqual(yield* json(wrongRedirect), { error: "invalid_grant" })
        const noSecret = yield* send(
          `${server.idpBaseUrl}/idp/token`,
          form({
            grant_type: "authorization_code",
            client_id: server.clientId,
            code,
            redirect_uri: redirectUri,
            code_verifier: verifier
          })
        )
        assert.strictEqual(noSecret.status, 400)
        assert.deepStrictEqual(yield* json(noSecret), { error: "invalid_client" })
        const wrongSecret = yield* exchange(server, code, verifier, { client_secret: "cs_wrong" })
        assert.deepStrictEqual(yield* json(wrongSecret), { error: "invalid_client" })
        // None of the failures burned the code.
        assert.strictEqual((yield* exchange(server, code, verifier)).status, 200)
        assert.strictEqual(server.counters.invalidGrant, 2)
      }))

    it.scopedLive("accepts client_secret_basic and answers 401 invalid_client when it is wrong", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const { challenge, verifier } = pkce()
        const code = yield* obtainCode(server, challenge)
        const basic = (secret: string) => Buffer.from(`${server.clientId}:${secret}`).toString("base64")
        const fields = { grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier }
        const bad = yield* send(`${server.idpBaseUrl}/idp/token`, {
          ...form(fields),
          headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic("nope")}` }
        })
        assert.strictEqual(bad.status, 401)
        assert.deepStrictEqual(yield* json(bad), { error: "invalid_client" })
        const good = yield* send(`${server.idpBaseUrl}/idp/token`, {
          ...form(fields),
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            authorization: `Basic ${basic(server.clientSecret ?? "")}`
          }
        })
        assert.strictEqual(good.status, 200)
      }))

    it.scopedLive("refuses unsupported grants", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const res = yield* send(`${server.idpBaseUrl}/idp/token`, form({ grant_type: "password" }))
        assert.strictEqual(res.status, 400)
        assert.deepStrictEqual(yield* json(res), { error: "unsupported_grant_type" })
      }))

    it.scopedLive("deny redirects with error=access_denied and the state", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const { challenge } = pkce()
        const html = yield* text(yield* send(authorizeUrl(server, validAuthorizeParams(server, challenge, "s-deny"))))
        const requestId = requestIdOf(html) ?? ""
        const res = yield* send(`${server.idpBaseUrl}/idp/authorize/decision`, {
          ...form({ request_id: requestId, decision: "deny" }),
          redirect: "manual"
        })
        assert.strictEqual(res.status, 302)
        const location = new URL(res.headers.get("location") ?? "")
        assert.strictEqual(location.searchParams.get("error"), "access_denied")
        assert.strictEqual(location.searchParams.get("state"), "s-deny")
        assert.isFalse(location.searchParams.has("code"))
      }))

    it.scopedLive("shows a 400 HTML page without redirecting on invalid authorize requests", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const { challenge } = pkce()
        const valid = validAuthorizeParams(server, challenge, "s")
        const cases: ReadonlyArray<Record<string, string>> = [
          { ...valid, redirect_uri: "http://127.0.0.1:1457/oauth-callback" },
          { ...valid, redirect_uri: `${redirectUri}/` },
          { ...valid, client_id: "cid_other" },
          { ...valid, response_type: "token" },
          { ...valid, code_challenge_method: "plain" },
          { ...valid, code_challenge: "" },
          { ...valid, code_challenge: `${challenge}=` }
        ]
        for (const params of cases) {
          const res = yield* send(authorizeUrl(server, params), { redirect: "manual" })
          assert.strictEqual(res.status, 400)
          assert.isNull(res.headers.get("location"))
          assert.include(res.headers.get("content-type"), "text/html")
          assert.include(yield* text(res), "<html")
        }
      }))

    it.scopedLive("autoApprove redirects at once with code and state", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.setAutoApprove(true)
        const { challenge, verifier } = pkce()
        const res = yield* send(authorizeUrl(server, validAuthorizeParams(server, challenge, "s-auto")), {
          redirect: "manual"
        })
        assert.strictEqual(res.status, 302)
        const location = new URL(res.headers.get("location") ?? "")
        assert.strictEqual(location.searchParams.get("state"), "s-auto")
        const code = location.searchParams.get("code") ?? ""
        assert.strictEqual((yield* exchange(server, code, verifier)).status, 200)
      }))

    it.scopedLive("sends the configured access token TTL as expires_in, and the token really expires", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        server.setAccessTokenTtl(0)
        const { challenge, verifier } = pkce()
        const code = yield* obtainCode(server, challenge)
        const body = (yield* json(yield* exchange(server, code, verifier))) as Record<string, unknown>
        assert.strictEqual(body["expires_in"], 0)
        const res = yield* send(`${server.baseUrl}/models`, {
          headers: { authorization: `Bearer ${body["access_token"]}` }
        })
        assert.strictEqual(res.status, 401)
      }))
  })

  describe("control API", () => {
    it.scopedLive("reads counters, sets faults and resets over HTTP", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        yield* send(`${server.baseUrl}/models`)
        const state = (yield* json(yield* send(`${server.url}/__control/state`))) as Record<string, unknown>
        assert.strictEqual(state["models"], 1)
        assert.deepStrictEqual(state["tokenByGrant"], { authorization_code: 0, refresh_token: 0 })
        assert.strictEqual(state["requestCount"], 1)

        const set = yield* send(`${server.url}/__control/fault`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ _tag: "Status", route: "models", status: 429, times: 1 })
        })
        assert.strictEqual(set.status, 200)
        const withFault = (yield* json(yield* send(`${server.url}/__control/state`))) as Record<string, unknown>
        assert.deepStrictEqual(withFault["faults"], [
          { _tag: "Status", route: "models", status: 429, times: 1, remaining: 1 }
        ])
        assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 429)
        assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 200)
        assert.strictEqual(server.counters.models, 3)

        const reset = yield* send(`${server.url}/__control/reset`, { method: "POST" })
        assert.strictEqual(reset.status, 200)
        assert.strictEqual(server.counters.models, 0)
        assert.lengthOf(server.requests, 0)
      }))

    it.scopedLive("refuses an invalid fault with 400", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const res = yield* send(`${server.url}/__control/fault`, {
          method: "POST",
          body: JSON.stringify({ _tag: "Status", route: "nope", status: 429 })
        })
        assert.strictEqual(res.status, 400)
        assert.property(yield* json(res), "detail")
        const notJson = yield* send(`${server.url}/__control/fault`, { method: "POST", body: "{" })
        assert.strictEqual(notJson.status, 400)
      }))

    it.scopedLive("replaces models, changes settings and issues tokens", () =>
      Effect.gen(function*() {
        const server = yield* FakeChutes.make()
        const models = yield* send(`${server.url}/__control/models`, {
          method: "POST",
          body: JSON.stringify({ count: 40 })
        })
        assert.deepStrictEqual(yield* json(models), { ok: true, modelCount: 40 })
        const list = (yield* json(yield* send(`${server.baseUrl}/models`))) as { data: Array<unknown> }
        assert.lengthOf(list.data, 40)
        yield* send(`${server.url}/__control/settings`, {
          method: "POST",
          body: JSON.stringify({ accessTokenTtlSeconds: 60 })
        })
        const tokens = (yield* json(yield* send(`${server.url}/__control/tokens`, { method: "POST" }))) as Record<
          string,
          unknown
        >
        assert.strictEqual(tokens["expiresIn"], 60)
        const me = yield* send(`${server.idpBaseUrl}/idp/userinfo`, {
          headers: { authorization: `Bearer ${tokens["access"]}` }
        })
        assert.strictEqual(me.status, 200)
      }))
  })
})

describe("FakeChutes options", () => {
  it.scopedLive("honours custom keys, client and no client secret", () =>
    Effect.gen(function*() {
      const server = yield* FakeChutes.make({
        apiKeys: ["cpk_custom"],
        clientId: "cid_custom",
        clientSecret: null,
        redirectUris: ["http://localhost:7777/cb"],
        username: "bob",
        models: [{ id: "x/y", max_model_len: 1 }]
      })
      assert.strictEqual(server.apiKey, "cpk_custom")
      assert.isUndefined(server.clientSecret)
      const { challenge, verifier } = pkce()
      const url = new URL(`${server.idpBaseUrl}/idp/authorize`)
      for (
        const [k, v] of Object.entries({
          client_id: "cid_custom",
          redirect_uri: "http://localhost:7777/cb",
          response_type: "code",
          state: "s",
          code_challenge: challenge,
          code_challenge_method: "S256"
        })
      ) url.searchParams.set(k, v)
      server.setAutoApprove(true)
      const location = new URL((yield* send(url, { redirect: "manual" })).headers.get("location") ?? "")
      const res = yield* send(
        `${server.idpBaseUrl}/idp/token`,
        form({
          grant_type: "authorization_code",
          client_id: "cid_custom",
          code: location.searchParams.get("code") ?? "",
          redirect_uri: "http://localhost:7777/cb",
          code_verifier: verifier
        })
      )
      assert.strictEqual(res.status, 200)
      const tokens = (yield* json(res)) as Record<string, unknown>
      const me = yield* send(`${server.idpBaseUrl}/idp/userinfo`, {
        headers: { authorization: `Bearer ${tokens["access_token"]}` }
      })
      assert.deepStrictEqual(yield* json(me), { sub: "user-bob-0001", username: "bob" })
      const rejected = yield* send(`${server.baseUrl}/models`, {
        headers: { authorization: `Bearer ${FakeChutes.defaultApiKey}` }
      })
      assert.strictEqual(rejected.status, 401)
    }))

  it.scopedLive("close does not hang with a SlowDrip or Delay in progress", () =>
    Effect.gen(function*() {
      const server = yield* FakeChutes.make()
      server.fault({ _tag: "SlowDrip", route: "models", chunkBytes: 1, intervalMillis: 1_000 })
      server.fault({ _tag: "Delay", route: "chat", millis: 60_000 })
      // Settle at once so that no rejection is left unhandled while the server closes.
      const outcome = (p: Promise<unknown>) => p.then(() => "answered", () => "failed")
      const dripping = outcome(fetch(`${server.baseUrl}/models`).then((r) => r.text()))
      const { url, ...init } = chatRequest(server, bearer(server))
      const delayed = outcome(fetch(url, init))
      yield* Effect.sleep("100 millis")
      const t0 = Date.now()
      yield* Effect.promise(() => server.close())
      assert.isBelow(Date.now() - t0, 1_000)
      assert.strictEqual(yield* Effect.promise(() => dripping), "failed")
      assert.strictEqual(yield* Effect.promise(() => delayed), "failed")
      yield* Effect.promise(() => server.close()) // idempotent
    }))
})

describe("FakeChutes Effect API", () => {
  it.scopedLive("make closes the server when the scope closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.extend(FakeChutes.make(), scope)
      assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 200)
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(Either.isLeft(yield* attempt(`${server.url}/v1/models`)))
    }))

  it.scopedLive("layer provides the FakeChutes service", () =>
    Effect.gen(function*() {
      const server = yield* FakeChutes.FakeChutes
      const res = yield* send(`${server.baseUrl}/models`, { headers: bearer(server) })
      assert.strictEqual(res.status, 200)
      assert.lengthOf(((yield* json(res)) as { data: Array<unknown> }).data, 3)
    }).pipe(Effect.provide(FakeChutes.layer({ models: FakeChutes.generateModels(3) }))))

  it.scopedLive("start: a Promise façade with the same server, and a taken port rejects with the listen error", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => FakeChutes.start()),
        (server) => Effect.promise(() => server.close())
      )
      assert.strictEqual((yield* send(`${server.baseUrl}/models`)).status, 200)
      const port = Number(new URL(server.url).port)
      const taken = yield* Effect.either(Effect.tryPromise({
        try: () => FakeChutes.start({ port }),
        catch: (error) => error
      }))
      assert.isTrue(Either.isLeft(taken))
      if (Either.isLeft(taken)) assert.include(String((taken.left as Error).message), "EADDRINUSE")
    }))
})

describe("scripts/fake-chutes.ts", () => {
  it.scopedLive("prints one JSON line, serves /v1/models and the control API, and exits on SIGTERM", () =>
    Effect.gen(function*() {
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/fake-chutes.ts", "--models", "25"], {
        cwd: new URL("..", import.meta.url),
        stdio: ["ignore", "pipe", "pipe"]
      })
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
      yield* Effect.gen(function*() {
        const line = yield* Effect.promise(() =>
          new Promise<string>((resolve, reject) => {
            const rl = createInterface({ input: child.stdout })
            rl.once("line", (l) => {
              rl.close()
              resolve(l)
            })
            child.once("exit", (code) => reject(new Error(`fake-chutes exited early with ${code}`)))
          })
        )
        const info = JSON.parse(line) as Record<string, unknown>
        assert.match(String(info["url"]), /^http:\/\/127\.0\.0\.1:\d+$/)
        assert.strictEqual(info["baseUrl"], `${info["url"]}/v1`)
        assert.strictEqual(info["idpBaseUrl"], info["url"])
        assert.strictEqual(info["apiKey"], FakeChutes.defaultApiKey)
        assert.strictEqual(info["clientId"], "cid_fake_client")
        assert.strictEqual(info["clientSecret"], "cs_fake_secret")
        const res = yield* send(`${info["baseUrl"]}/models`, { headers: { authorization: `Bearer ${info["apiKey"]}` } })
        assert.strictEqual(res.status, 200)
        assert.lengthOf(((yield* json(res)) as { data: Array<unknown> }).data, 25)
        yield* send(`${info["url"]}/__control/fault`, {
          method: "POST",
          body: JSON.stringify({ _tag: "Status", route: "models", status: 503, times: 1 })
        })
        assert.strictEqual((yield* send(`${info["baseUrl"]}/models`)).status, 503)
        const state = (yield* json(yield* send(`${info["url"]}/__control/state`))) as Record<string, unknown>
        assert.strictEqual(state["models"], 2)
      }).pipe(Effect.ensuring(Effect.sync(() => child.kill("SIGTERM"))))
      assert.strictEqual(yield* Effect.promise(() => exited), 0)
    }))
})
