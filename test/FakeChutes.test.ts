import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { createInterface } from "node:readline"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as FakeChutes from "../src/testing/FakeChutes.js"

const redirectUri = "http://127.0.0.1:1456/oauth-callback"

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

const authorizeUrl = (server: FakeChutes.FakeChutesServer, params: Record<string, string>): string => {
  const url = new URL(`${server.idpBaseUrl}/idp/authorize`)
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return url.toString()
}

const validAuthorizeParams = (server: FakeChutes.FakeChutesServer, challenge: string, state: string) => ({
  client_id: server.clientId,
  redirect_uri: redirectUri,
  response_type: "code",
  scope: "openid profile chutes:invoke",
  state,
  code_challenge: challenge,
  code_challenge_method: "S256"
})

/** Runs the consent flow and returns the authorization code. */
const obtainCode = async (server: FakeChutes.FakeChutesServer, challenge: string, state = "state-123") => {
  const page = await fetch(authorizeUrl(server, validAuthorizeParams(server, challenge, state)))
  const html = await page.text()
  const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1]
  expect(requestId).toBeDefined()
  const decision = await fetch(
    `${server.idpBaseUrl}/idp/authorize/decision`,
    { ...form({ request_id: requestId ?? "", decision: "approve" }), redirect: "manual" }
  )
  expect(decision.status).toBe(302)
  const location = new URL(decision.headers.get("location") ?? "")
  const code = location.searchParams.get("code")
  expect(code).toBeTruthy()
  return code ?? ""
}

const exchange = (server: FakeChutes.FakeChutesServer, code: string, verifier: string, extra = {}) =>
  fetch(
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

const refresh = (server: FakeChutes.FakeChutesServer, token: string) =>
  fetch(
    `${server.idpBaseUrl}/idp/token`,
    form({
      grant_type: "refresh_token",
      client_id: server.clientId,
      client_secret: server.clientSecret ?? "",
      refresh_token: token
    })
  )

const chat = (server: FakeChutes.FakeChutesServer, headers: Record<string, string>) =>
  fetch(`${server.baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }] })
  })

describe("FakeChutes", () => {
  let server: FakeChutes.FakeChutesServer

  beforeAll(async () => {
    server = await FakeChutes.start()
  })
  afterAll(async () => {
    await server.close()
  })
  afterEach(() => {
    server.reset()
    server.setModels(FakeChutes.seedModels())
    server.setAccessTokenTtl(3600)
    server.setAutoApprove(false)
  })

  describe("catalog and API keys", () => {
    it("binds to loopback and exposes the URLs", () => {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(server.baseUrl).toBe(`${server.url}/v1`)
      expect(server.idpBaseUrl).toBe(server.url)
      expect(server.clientId).toBe("cid_fake_client")
      expect(server.clientSecret).toBe("cs_fake_secret")
    })

    it("has a fake API key shaped like a real one", () => {
      expect(FakeChutes.defaultApiKey).toMatch(/^cpk_[0-9a-f]{32}\.[0-9a-f]{32}\.[A-Za-z0-9]{32}$/)
      expect(FakeChutes.defaultApiKey).toHaveLength(102)
      expect(server.apiKey).toBe(FakeChutes.defaultApiKey)
    })

    it("serves /v1/models publicly with the real capture", async () => {
      const res = await fetch(`${server.baseUrl}/models`)
      expect(res.status).toBe(200)
      expect(res.headers.get("content-type")).toBe("application/json")
      const body: unknown = await res.json()
      expect(body).toMatchObject({ object: "list" })
      const data = (body as { data: Array<{ id: string }> }).data
      expect(data).toHaveLength(13)
      expect(data.map((m) => m.id)).toContain("deepseek-ai/DeepSeek-V3.2-TEE")
      expect(server.counters.models).toBe(1)
    })

    it("accepts the default API key as bearer", async () => {
      const res = await fetch(`${server.baseUrl}/models`, { headers: { authorization: `Bearer ${server.apiKey}` } })
      expect(res.status).toBe(200)
      expect(server.counters.unauthorized).toBe(0)
    })

    it("rejects an unknown or malformed bearer with 401 JSON detail", async () => {
      for (const authorization of ["Bearer cpk_unknown", "Bearer", `Basic ${server.apiKey}`, "garbage"]) {
        const res = await fetch(`${server.baseUrl}/models`, { headers: { authorization } })
        expect(res.status).toBe(401)
        expect(res.headers.get("content-type")).toBe("application/json")
        expect(await res.json()).toEqual({ detail: "Invalid token." })
      }
      expect(server.counters.unauthorized).toBe(4)
    })

    it("ignores X-API-Key (only Authorization is read)", async () => {
      const res = await fetch(`${server.baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "x-api-key": server.apiKey, "content-type": "application/json" },
        body: JSON.stringify({ model: "m" })
      })
      expect(res.status).toBe(401)
    })

    it("accepts a live access token and rejects an expired one", async () => {
      const live = server.issueTokens()
      expect(live.access).toMatch(/^cak_[0-9a-f]+$/)
      expect(live.refresh).toMatch(/^crt_[0-9a-f]+$/)
      expect(live.expiresIn).toBe(3600)
      const ok = await fetch(`${server.baseUrl}/models`, { headers: { authorization: `Bearer ${live.access}` } })
      expect(ok.status).toBe(200)
      const expired = server.issueTokens({ expiresIn: 0 })
      const rejected = await fetch(`${server.baseUrl}/models`, {
        headers: { authorization: `Bearer ${expired.access}` }
      })
      expect(rejected.status).toBe(401)
    })

    it("setModels replaces the catalog; generateModels makes big catalogs with unique ids", async () => {
      const items = FakeChutes.generateModels(5000)
      expect(items).toHaveLength(5000)
      const ids = items.map((item) => (item as { id: string }).id)
      expect(new Set(ids).size).toBe(5000)
      expect(ids[0]).toBe("Qwen/Qwen3-32B-TEE")
      expect(ids[13]).toBe("Qwen/Qwen3-32B-TEE-g13")
      server.setModels(items)
      const body = (await (await fetch(`${server.baseUrl}/models`)).json()) as { data: Array<unknown> }
      expect(body.data).toHaveLength(5000)
      server.setModels([{ id: "only/one" }])
      const small = (await (await fetch(`${server.baseUrl}/models`)).json()) as { data: Array<unknown> }
      expect(small.data).toEqual([{ id: "only/one" }])
    })

    it("answers unknown routes with 404 detail and wrong methods with 405", async () => {
      const res = await fetch(`${server.url}/v1/nope`)
      expect(res.status).toBe(404)
      expect(await res.json()).toEqual({ detail: "Not Found" })
      const wrong = await fetch(`${server.baseUrl}/models`, { method: "POST" })
      expect(wrong.status).toBe(405)
    })

    it("records every request with headers and body", async () => {
      await chat(server, { authorization: `Bearer ${server.apiKey}` })
      expect(server.requests).toHaveLength(1)
      const [recorded] = server.requests
      expect(recorded?.method).toBe("POST")
      expect(recorded?.path).toBe("/v1/chat/completions")
      expect(recorded?.route).toBe("chat")
      expect(recorded?.headers["authorization"]).toBe(`Bearer ${server.apiKey}`)
      expect(JSON.parse(recorded?.body ?? "{}")).toMatchObject({ model: "zai-org/GLM-5-TEE" })
    })
  })

  describe("chat completions", () => {
    it("requires a credential", async () => {
      const res = await chat(server, {})
      expect(res.status).toBe(401)
      expect(await res.json()).toHaveProperty("detail")
      expect(server.counters.chat).toBe(1)
      expect(server.counters.unauthorized).toBe(1)
    })

    it("answers a minimal completion echoing the model, with an invocation id", async () => {
      const res = await chat(server, { authorization: `Bearer ${server.apiKey}` })
      expect(res.status).toBe(200)
      expect(res.headers.get("x-chutes-invocationid")).toMatch(/^[0-9a-f-]{36}$/)
      const body = (await res.json()) as Record<string, unknown>
      expect(body).toMatchObject({
        object: "chat.completion",
        model: "zai-org/GLM-5-TEE",
        choices: [{
          index: 0,
          message: { role: "assistant", content: "Hello from FakeChutes" },
          finish_reason: "stop"
        }],
        usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 }
      })
      expect(typeof body["created"]).toBe("number")
    })

    it("accepts an OAuth access token", async () => {
      const { access } = server.issueTokens()
      const res = await chat(server, { authorization: `Bearer ${access}` })
      expect(res.status).toBe(200)
    })
  })

  describe("chat scripting", () => {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${server.apiKey}`, ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body)
      })
    const ask = (extra: Record<string, unknown> = {}) =>
      post({ model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }], ...extra })

    /** The `data:` payloads of an SSE body, parsed, and anything else kept as text. */
    const events = (text: string): Array<unknown> =>
      text.split("\n").filter((line) => line.trim() !== "").map((line) =>
        line.startsWith("data: ")
          ? line.slice(6) === "[DONE]" ? "[DONE]" : JSON.parse(line.slice(6))
          : { raw: line }
      )

    it("answers with scripted text, reasoning, tool calls, finish reason and usage", async () => {
      server.chat.script({
        content: "ok",
        reasoningContent: "because",
        toolCalls: [{ id: "call_1", name: "lookup", arguments: { q: "x" } }],
        finishReason: "tool_calls",
        usage: { prompt_tokens: 7, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 5 } }
      })
      const res = await ask()
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({
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
        usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, prompt_tokens_details: { cached_tokens: 5 } }
      })
      expect(server.chat.pending).toBe(0)
      // The queue is empty again: the default answer.
      expect(await (await ask()).json()).toMatchObject({ choices: [{ message: { content: "Hello from FakeChutes" } }] })
    })

    it("takes the first scripted answer for the request's model, and scripted errors", async () => {
      server.chat.script(
        { model: "deepseek-ai/DeepSeek-V3.2-TEE", content: "for deepseek" },
        { status: 429, body: { detail: "Too many requests" }, headers: { "retry-after": "1" } },
        { content: "for anyone" }
      )
      const limited = await ask()
      expect(limited.status).toBe(429)
      expect(limited.headers.get("retry-after")).toBe("1")
      expect(await limited.json()).toEqual({ detail: "Too many requests" })
      expect(await (await ask()).json()).toMatchObject({ choices: [{ message: { content: "for anyone" } }] })
      const deepseek = await ask({ model: "deepseek-ai/DeepSeek-V3.2-TEE" })
      expect(await deepseek.json()).toMatchObject({ choices: [{ message: { content: "for deepseek" } }] })
    })

    it("streams SSE chunks with usage on every chunk, tool-call deltas by index, and [DONE]", async () => {
      server.chat.script({
        content: "héllo",
        toolCalls: [{ id: "call_9", name: "f", arguments: "{\"a\":1}" }],
        usage: { prompt_tokens: 4, completion_tokens: 6 },
        stream: { deltaChars: 3 }
      })
      const res = await ask({ stream: true })
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/)
      const all = events(await res.text())
      expect(all.at(-1)).toBe("[DONE]")
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
      expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.usage !== undefined)).toBe(true)
      expect(chunks.at(-1)).toMatchObject({
        choices: [],
        usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 }
      })
      const deltas = chunks.flatMap((c) => c.choices.map((choice) => choice.delta))
      expect(deltas.map((d) => d.content ?? "").join("")).toBe("héllo")
      const calls = deltas.flatMap((d) => d.tool_calls ?? [])
      expect(calls[0]).toEqual({ index: 0, id: "call_9", type: "function", function: { name: "f", arguments: "" } })
      expect(calls.map((c) => c.function.arguments).join("")).toBe("{\"a\":1}")
      expect(chunks.flatMap((c) => c.choices).at(-1)).toMatchObject({ finish_reason: "tool_calls" })
    })

    it("usage only on a last chunk, or none", async () => {
      server.chat.script({ content: "a", stream: { usage: "last" } }, { content: "b", usage: null })
      const last = events(await (await ask({ stream: true })).text()).slice(0, -1) as Array<Record<string, unknown>>
      expect(last.filter((c) => "usage" in c)).toHaveLength(1)
      const none = events(await (await ask({ stream: true })).text()).slice(0, -1) as Array<Record<string, unknown>>
      expect(none.some((c) => "usage" in c)).toBe(false)
    })

    it("fails mid-stream with a raw un-prefixed error line, or a data: one, and no [DONE]", async () => {
      server.chat.script(
        { content: "abcdefgh", stream: { deltaChars: 1, errorAfter: 3, error: { message: "boom", code: 500 } } },
        { content: "abc", stream: { errorAfter: 1, errorPrefixed: true } }
      )
      const raw = events(await (await ask({ stream: true })).text())
      expect(raw).toHaveLength(4)
      expect(raw.at(-1)).toEqual({ raw: "{\"error\":{\"message\":\"boom\",\"code\":500}}" })
      const prefixed = events(await (await ask({ stream: true })).text())
      expect(prefixed).toHaveLength(2)
      expect(prefixed.at(-1)).toMatchObject({ error: { code: 500 } })
    })

    it("chunkBytes cuts the body anywhere, inside UTF-8 characters too; the bytes add up", async () => {
      server.chat.script({ content: "€€€ 🎉", stream: { chunkBytes: 1 } }, { content: "€€€ 🎉" })
      const cut = Buffer.from(await (await ask({ stream: true })).arrayBuffer())
      const whole = Buffer.from(await (await ask({ stream: true })).arrayBuffer())
      expect(cut.toString("utf8").replace(/"id":"[^"]+"/g, "").replace(/"created":\d+/g, "")).toBe(
        whole.toString("utf8").replace(/"id":"[^"]+"/g, "").replace(/"created":\d+/g, "")
      )
    })

    it("per-model availability: 503 No instances, 404 model not found; unknown models are not found", async () => {
      server.chat.setAvailability("zai-org/GLM-5-TEE", "no-instances")
      const busy = await ask()
      expect(busy.status).toBe(503)
      expect(((await busy.json()) as { detail: string }).detail).toMatch(/^No instances available/)
      server.chat.setAvailability("zai-org/GLM-5-TEE", undefined)
      expect((await ask()).status).toBe(200)
      const missing = await ask({ model: "zai-org/GLM-4.7-TEE" })
      expect(missing.status).toBe(404)
      expect(await missing.json()).toEqual({ detail: "model not found: zai-org/GLM-4.7-TEE" })
      server.chat.setAvailability("zai-org/GLM-4.7-TEE", "available")
      expect((await ask({ model: "zai-org/GLM-4.7-TEE" })).status).toBe(200)
      server.chat.setAvailability("zai-org/GLM-5-TEE", "not-found")
      expect((await ask()).status).toBe(404)
    })

    it("400 for a body that is not JSON, without a model, or without messages", async () => {
      expect((await post("{not json")).status).toBe(400)
      expect((await post({ messages: [{ role: "user", content: "x" }] })).status).toBe(400)
      const noMessages = await post({ model: "zai-org/GLM-5-TEE", messages: [] })
      expect(noMessages.status).toBe(400)
      expect(await noMessages.json()).toEqual({ detail: "messages is required" })
    })

    it("records every chat body as parsed JSON, faulted and rejected requests too", async () => {
      server.fault({ _tag: "Status", route: "chat", status: 500, times: 1 })
      await ask({ temperature: 0.5 })
      await post({ model: "m", messages: [] }, { authorization: "Bearer nope" })
      await post("{not json")
      expect(server.chat.bodies).toEqual([
        { model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }], temperature: 0.5 },
        { model: "m", messages: [] },
        "{not json"
      ])
    })

    it("403 for an OAuth token without chutes:invoke", async () => {
      server.setAutoApprove(true)
      const { verifier, challenge } = pkce()
      const params = { ...validAuthorizeParams(server, challenge, "s"), scope: "openid profile" }
      const redirect = await fetch(authorizeUrl(server, params), { redirect: "manual" })
      const code = new URL(redirect.headers.get("location") ?? "").searchParams.get("code") ?? ""
      const tokens = (await (await exchange(server, code, verifier)).json()) as Record<string, string>
      const res = await post(
        { model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }] },
        { authorization: `Bearer ${tokens["access_token"]}` }
      )
      expect(res.status).toBe(403)
      expect(((await res.json()) as { detail: string }).detail).toContain("chutes:invoke")
    })

    it("keepOpen leaves the stream open after the last write; close() still ends it", async () => {
      const own = await FakeChutes.start()
      own.chat.script({ content: "x", stream: { keepOpen: true } })
      const res = await fetch(`${own.baseUrl}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${own.apiKey}` },
        body: JSON.stringify({ model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }], stream: true })
      })
      const reader = res.body!.getReader()
      let text = ""
      while (!text.includes("[DONE]")) text += new TextDecoder().decode((await reader.read()).value)
      const next = reader.read().then((r) => (r.done ? "ended" : "more"), () => "failed")
      await own.close()
      expect(await next).not.toBe("more")
    })

    it("reset clears the script, the default answer, availability and the bodies", async () => {
      server.chat.script({ content: "queued" })
      server.chat.setDefaultReply({ content: "default" })
      server.chat.setAvailability("zai-org/GLM-5-TEE", "no-instances")
      await ask()
      server.reset()
      expect(server.chat.pending).toBe(0)
      expect(server.chat.bodies).toHaveLength(0)
      expect(await (await ask()).json()).toMatchObject({ choices: [{ message: { content: "Hello from FakeChutes" } }] })
    })
  })

  describe("faults", () => {
    it("Status applies `times` times, with headers and a default detail body", async () => {
      server.fault({ _tag: "Status", route: "models", status: 503, headers: { "retry-after": "2" }, times: 2 })
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${server.baseUrl}/models`)
        expect(res.status).toBe(503)
        expect(res.headers.get("retry-after")).toBe("2")
        expect(await res.json()).toEqual({ detail: "Service Unavailable" })
      }
      const ok = await fetch(`${server.baseUrl}/models`)
      expect(ok.status).toBe(200)
      expect(server.counters.models).toBe(3)
    })

    it("Status 402 defaults to an object detail; IdP routes default to an OAuth error; body overrides", async () => {
      server.fault({ _tag: "Status", route: "chat", status: 402, times: 1 })
      const quota = await chat(server, { authorization: `Bearer ${server.apiKey}` })
      expect(quota.status).toBe(402)
      expect(await quota.json()).toEqual({
        detail: { message: "Quota exceeded", reset_at: "2026-11-26T00:00:00Z" }
      })
      server.fault({ _tag: "Status", route: "token", status: 503, times: 1 })
      const idp = await fetch(`${server.idpBaseUrl}/idp/token`, form({ grant_type: "refresh_token" }))
      expect(idp.status).toBe(503)
      expect(await idp.json()).toEqual({ error: "temporarily_unavailable" })
      server.fault({ _tag: "Status", route: "models", status: 404, body: { detail: "model not found: x" }, times: 1 })
      const custom = await fetch(`${server.baseUrl}/models`)
      expect(await custom.json()).toEqual({ detail: "model not found: x" })
    })

    it("Html returns an HTML error page", async () => {
      server.fault({ _tag: "Html", route: "models", status: 502, times: 1 })
      const res = await fetch(`${server.baseUrl}/models`)
      expect(res.status).toBe(502)
      expect(res.headers.get("content-type")).toContain("text/html")
      const text = await res.text()
      expect(text).toContain("<html")
      expect(text).toContain("502")
      expect((await fetch(`${server.baseUrl}/models`)).status).toBe(200)
    })

    it("MalformedJson returns 200 with a truncated body", async () => {
      server.fault({ _tag: "MalformedJson", route: "models", times: 1 })
      const res = await fetch(`${server.baseUrl}/models`)
      expect(res.status).toBe(200)
      expect(res.headers.get("content-type")).toBe("application/json")
      const text = await res.text()
      expect(text.startsWith("{\"object\":\"list\"")).toBe(true)
      expect(() => JSON.parse(text)).toThrow()
      server.fault({ _tag: "MalformedJson", route: "token", times: 1 })
      const token = await fetch(`${server.idpBaseUrl}/idp/token`, form({ grant_type: "refresh_token" }))
      await expect(token.json()).rejects.toThrow()
    })

    it("Delay waits before answering normally, then stops after `times`", async () => {
      server.fault({ _tag: "Delay", route: "models", millis: 300, times: 1 })
      const t0 = Date.now()
      const slow = await fetch(`${server.baseUrl}/models`)
      expect(slow.status).toBe(200)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(280)
      const t1 = Date.now()
      await (await fetch(`${server.baseUrl}/models`)).text()
      expect(Date.now() - t1).toBeLessThan(250)
    })

    it("Reset destroys the socket: fetch fails", async () => {
      server.fault({ _tag: "Reset", route: "models", times: 1 })
      await expect(fetch(`${server.baseUrl}/models`)).rejects.toThrow()
      expect(server.counters.models).toBe(1)
      expect((await fetch(`${server.baseUrl}/models`)).status).toBe(200)
    })

    it("SlowDrip writes the normal body slowly", async () => {
      server.setModels([{ id: "a/b", max_model_len: 1000 }, { id: "c/d", max_model_len: 2000 }])
      const expected = JSON.stringify({ object: "list", data: [{ id: "a/b", max_model_len: 1000 }, {
        id: "c/d",
        max_model_len: 2000
      }] })
      server.fault({ _tag: "SlowDrip", route: "models", chunkBytes: 20, intervalMillis: 40, times: 1 })
      const t0 = Date.now()
      const res = await fetch(`${server.baseUrl}/models`)
      expect(res.status).toBe(200)
      const text = await res.text()
      const chunks = Math.ceil(Buffer.byteLength(expected) / 20)
      expect(text).toBe(expected)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(chunks * 40 - 20)
    })

    it("Body returns a raw body with the given status and content type", async () => {
      const weird = "{\"access_token\":\"cak_x\",\"expires_in\":1e309}"
      server.fault({ _tag: "Body", route: "token", status: 200, body: weird })
      server.fault({ _tag: "Body", route: "token", status: 500, body: "oops", contentType: "text/plain", times: 1 })
      // The first fault has no `times`: it applies until cleared, so the second one never runs.
      const res = await fetch(`${server.idpBaseUrl}/idp/token`, form({ grant_type: "refresh_token" }))
      expect(res.status).toBe(200)
      expect(await res.text()).toBe(weird)
      server.clearFaults("token")
      server.fault({ _tag: "Body", route: "token", status: 500, body: "oops", contentType: "text/plain", times: 1 })
      const raw = await fetch(`${server.idpBaseUrl}/idp/token`, form({ grant_type: "refresh_token" }))
      expect(raw.status).toBe(500)
      expect(raw.headers.get("content-type")).toBe("text/plain")
      expect(await raw.text()).toBe("oops")
    })

    it("faults on one route form a queue and leave other routes alone", async () => {
      server.fault({ _tag: "Status", route: "models", status: 429, times: 1 })
      server.fault({ _tag: "Status", route: "models", status: 500, times: 1 })
      expect((await chat(server, { authorization: `Bearer ${server.apiKey}` })).status).toBe(200)
      expect((await fetch(`${server.baseUrl}/models`)).status).toBe(429)
      expect((await fetch(`${server.baseUrl}/models`)).status).toBe(500)
      expect((await fetch(`${server.baseUrl}/models`)).status).toBe(200)
    })

    it("clearFaults removes faults", async () => {
      server.fault({ _tag: "Status", route: "models", status: 500 })
      expect((await fetch(`${server.baseUrl}/models`)).status).toBe(500)
      server.clearFaults()
      expect((await fetch(`${server.baseUrl}/models`)).status).toBe(200)
    })
  })

  describe("IdP", () => {
    it("publishes OpenID configuration with absolute endpoints and S256 only", async () => {
      const res = await fetch(`${server.idpBaseUrl}/.well-known/openid-configuration`)
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({
        issuer: server.url,
        authorization_endpoint: `${server.url}/idp/authorize`,
        token_endpoint: `${server.url}/idp/token`,
        userinfo_endpoint: `${server.url}/idp/userinfo`,
        revocation_endpoint: `${server.url}/idp/token/revoke`,
        code_challenge_methods_supported: ["S256"]
      })
    })

    it("runs the code flow: PKCE, single-use codes, rotating refresh tokens, userinfo, revoke", async () => {
      const { challenge, verifier } = pkce()
      const state = randomBytes(16).toString("base64url")

      // Consent page
      const page = await fetch(authorizeUrl(server, validAuthorizeParams(server, challenge, state)))
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toContain("text/html")
      const html = await page.text()
      expect(html).toContain("<title>Authorize application</title>")
      expect(html).toContain("<button id=\"approve\" name=\"decision\" value=\"approve\">Approve</button>")
      expect(html).toContain("<button id=\"deny\" name=\"decision\" value=\"deny\">Deny</button>")
      expect(html).toContain(server.clientId)
      expect(html).toContain("chutes:invoke")
      const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1] ?? ""
      expect(requestId).not.toBe("")
      expect(server.counters.authorize).toBe(1)

      // Decision -> redirect with code and state
      const decision = await fetch(`${server.idpBaseUrl}/idp/authorize/decision`, {
        ...form({ request_id: requestId, decision: "approve" }),
        redirect: "manual"
      })
      expect(decision.status).toBe(302)
      const location = new URL(decision.headers.get("location") ?? "")
      expect(`${location.origin}${location.pathname}`).toBe(redirectUri)
      expect(location.searchParams.get("state")).toBe(state)
      const code = location.searchParams.get("code") ?? ""
      expect(code).not.toBe("")

      // The request id is consumed
      const again = await fetch(`${server.idpBaseUrl}/idp/authorize/decision`, {
        ...form({ request_id: requestId, decision: "approve" }),
        redirect: "manual"
      })
      expect(again.status).toBe(400)

      // Exchange
      const exchanged = await exchange(server, code, verifier)
      expect(exchanged.status).toBe(200)
      const tokens = (await exchanged.json()) as Record<string, unknown>
      expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "openid profile chutes:invoke" })
      expect(tokens["access_token"]).toMatch(/^cak_[0-9a-f]+$/)
      expect(tokens["refresh_token"]).toMatch(/^crt_[0-9a-f]+$/)
      expect(server.counters.tokenByGrant.authorization_code).toBe(1)

      // Code reuse
      const reuse = await exchange(server, code, verifier)
      expect(reuse.status).toBe(400)
      expect(await reuse.json()).toEqual({ error: "invalid_grant" })

      // Userinfo
      const access = String(tokens["access_token"])
      const me = await fetch(`${server.idpBaseUrl}/idp/userinfo`, { headers: { authorization: `Bearer ${access}` } })
      expect(me.status).toBe(200)
      expect(await me.json()).toEqual({ sub: "user-alice-0001", username: "alice" })
      const anon = await fetch(`${server.idpBaseUrl}/idp/userinfo`, { headers: { authorization: "Bearer cak_nope" } })
      expect(anon.status).toBe(401)
      expect(await anon.json()).toEqual({ error: "invalid_token" })

      // Refresh rotation
      server.reset()
      const firstRefresh = String(tokens["refresh_token"])
      const rotated = await refresh(server, firstRefresh)
      expect(rotated.status).toBe(200)
      const next = (await rotated.json()) as Record<string, unknown>
      expect(next["refresh_token"]).not.toBe(firstRefresh)
      expect(next["access_token"]).not.toBe(access)
      const reused = await refresh(server, firstRefresh)
      expect(reused.status).toBe(400)
      expect(await reused.json()).toEqual({ error: "invalid_grant" })
      expect(server.counters.invalidGrant).toBe(1)
      expect(server.counters.tokenByGrant.refresh_token).toBe(2)
      expect(server.counters.token).toBe(2)

      // Revoke the new access token, then the new refresh token
      const newAccess = String(next["access_token"])
      const revoke = await fetch(
        `${server.idpBaseUrl}/idp/token/revoke`,
        form({ token: newAccess, client_id: server.clientId, client_secret: server.clientSecret ?? "" })
      )
      expect(revoke.status).toBe(200)
      expect(await revoke.json()).toEqual({})
      const afterRevoke = await fetch(`${server.idpBaseUrl}/idp/userinfo`, {
        headers: { authorization: `Bearer ${newAccess}` }
      })
      expect(afterRevoke.status).toBe(401)
      await fetch(
        `${server.idpBaseUrl}/idp/token/revoke`,
        form({
          token: String(next["refresh_token"]),
          client_id: server.clientId,
          client_secret: server.clientSecret ?? ""
        })
      )
      expect((await refresh(server, String(next["refresh_token"]))).status).toBe(400)
      expect(server.counters.revoke).toBe(2)
    })

    it("refuses a wrong verifier, a wrong redirect_uri and a missing client secret", async () => {
      const { challenge, verifier } = pkce()
      const code = await obtainCode(server, challenge)
      const wrongVerifier = await exchange(server, code, pkce().verifier)
      expect(wrongVerifier.status).toBe(400)
      expect(await wrongVerifier.json()).toEqual({ error: "invalid_grant" })
      const wrongRedirect = await exchange(server, code, verifier, { redirect_uri: "http://127.0.0.1:9/cb" })
      expect(await wrongRedirect.json()).toEqual({ error: "invalid_grant" })
      const noSecret = await fetch(
        `${server.idpBaseUrl}/idp/token`,
        form({
          grant_type: "authorization_code",
          client_id: server.clientId,
          code,
          redirect_uri: redirectUri,
          code_verifier: verifier
        })
      )
      expect(noSecret.status).toBe(400)
      expect(await noSecret.json()).toEqual({ error: "invalid_client" })
      const wrongSecret = await exchange(server, code, verifier, { client_secret: "cs_wrong" })
      expect(await wrongSecret.json()).toEqual({ error: "invalid_client" })
      // None of the failures burned the code.
      expect((await exchange(server, code, verifier)).status).toBe(200)
      expect(server.counters.invalidGrant).toBe(2)
    })

    it("accepts client_secret_basic and answers 401 invalid_client when it is wrong", async () => {
      const { challenge, verifier } = pkce()
      const code = await obtainCode(server, challenge)
      const basic = (secret: string) => Buffer.from(`${server.clientId}:${secret}`).toString("base64")
      const fields = { grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier }
      const bad = await fetch(`${server.idpBaseUrl}/idp/token`, {
        ...form(fields),
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic("nope")}` }
      })
      expect(bad.status).toBe(401)
      expect(await bad.json()).toEqual({ error: "invalid_client" })
      const good = await fetch(`${server.idpBaseUrl}/idp/token`, {
        ...form(fields),
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${basic(server.clientSecret ?? "")}`
        }
      })
      expect(good.status).toBe(200)
    })

    it("refuses unsupported grants", async () => {
      const res = await fetch(`${server.idpBaseUrl}/idp/token`, form({ grant_type: "password" }))
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual({ error: "unsupported_grant_type" })
    })

    it("deny redirects with error=access_denied and the state", async () => {
      const { challenge } = pkce()
      const html = await (await fetch(authorizeUrl(server, validAuthorizeParams(server, challenge, "s-deny")))).text()
      const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1] ?? ""
      const res = await fetch(`${server.idpBaseUrl}/idp/authorize/decision`, {
        ...form({ request_id: requestId, decision: "deny" }),
        redirect: "manual"
      })
      expect(res.status).toBe(302)
      const location = new URL(res.headers.get("location") ?? "")
      expect(location.searchParams.get("error")).toBe("access_denied")
      expect(location.searchParams.get("state")).toBe("s-deny")
      expect(location.searchParams.has("code")).toBe(false)
    })

    it("shows a 400 HTML page without redirecting on invalid authorize requests", async () => {
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
        const res = await fetch(authorizeUrl(server, params), { redirect: "manual" })
        expect(res.status).toBe(400)
        expect(res.headers.get("location")).toBeNull()
        expect(res.headers.get("content-type")).toContain("text/html")
        expect(await res.text()).toContain("<html")
      }
    })

    it("autoApprove redirects at once with code and state", async () => {
      server.setAutoApprove(true)
      const { challenge, verifier } = pkce()
      const res = await fetch(authorizeUrl(server, validAuthorizeParams(server, challenge, "s-auto")), {
        redirect: "manual"
      })
      expect(res.status).toBe(302)
      const location = new URL(res.headers.get("location") ?? "")
      expect(location.searchParams.get("state")).toBe("s-auto")
      const code = location.searchParams.get("code") ?? ""
      expect((await exchange(server, code, verifier)).status).toBe(200)
    })

    it("sends the configured access token TTL as expires_in, and the token really expires", async () => {
      server.setAccessTokenTtl(0)
      const { challenge, verifier } = pkce()
      const code = await obtainCode(server, challenge)
      const body = (await (await exchange(server, code, verifier)).json()) as Record<string, unknown>
      expect(body["expires_in"]).toBe(0)
      const res = await fetch(`${server.baseUrl}/models`, {
        headers: { authorization: `Bearer ${body["access_token"]}` }
      })
      expect(res.status).toBe(401)
    })
  })

  describe("control API", () => {
    it("reads counters, sets faults and resets over HTTP", async () => {
      await fetch(`${server.baseUrl}/models`)
      const state = (await (await fetch(`${server.url}/__control/state`)).json()) as Record<string, unknown>
      expect(state["models"]).toBe(1)
      expect(state["tokenByGrant"]).toEqual({ authorization_code: 0, refresh_token: 0 })
      expect(state["requestCount"]).toBe(1)

      const set = await fetch(`${server.url}/__control/fault`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ _tag: "Status", route: "models", status: 429, times: 1 })
      })
      expect(set.status).toBe(200)
      const withFault = (await (await fetch(`${server.url}/__control/state`)).json()) as Record<string, unknown>
      expect(withFault["faults"]).toEqual([{ _tag: "Status", route: "models", status: 429, times: 1, remaining: 1 }])
      expect((await fetch(`${server.baseUrl}/models`)).status).toBe(429)
      expect((await fetch(`${server.baseUrl}/models`)).status).toBe(200)
      expect(server.counters.models).toBe(3)

      const reset = await fetch(`${server.url}/__control/reset`, { method: "POST" })
      expect(reset.status).toBe(200)
      expect(server.counters.models).toBe(0)
      expect(server.requests).toHaveLength(0)
    })

    it("refuses an invalid fault with 400", async () => {
      const res = await fetch(`${server.url}/__control/fault`, {
        method: "POST",
        body: JSON.stringify({ _tag: "Status", route: "nope", status: 429 })
      })
      expect(res.status).toBe(400)
      expect(await res.json()).toHaveProperty("detail")
      const notJson = await fetch(`${server.url}/__control/fault`, { method: "POST", body: "{" })
      expect(notJson.status).toBe(400)
    })

    it("replaces models, changes settings and issues tokens", async () => {
      const models = await fetch(`${server.url}/__control/models`, {
        method: "POST",
        body: JSON.stringify({ count: 40 })
      })
      expect(await models.json()).toEqual({ ok: true, modelCount: 40 })
      const list = (await (await fetch(`${server.baseUrl}/models`)).json()) as { data: Array<unknown> }
      expect(list.data).toHaveLength(40)
      await fetch(`${server.url}/__control/settings`, {
        method: "POST",
        body: JSON.stringify({ accessTokenTtlSeconds: 60 })
      })
      const tokens = (await (await fetch(`${server.url}/__control/tokens`, { method: "POST" })).json()) as Record<
        string,
        unknown
      >
      expect(tokens["expiresIn"]).toBe(60)
      const me = await fetch(`${server.idpBaseUrl}/idp/userinfo`, {
        headers: { authorization: `Bearer ${tokens["access"]}` }
      })
      expect(me.status).toBe(200)
    })
  })
})

describe("FakeChutes options", () => {
  it("honours custom keys, client and no client secret", async () => {
    const server = await FakeChutes.start({
      apiKeys: ["cpk_custom"],
      clientId: "cid_custom",
      clientSecret: null,
      redirectUris: ["http://localhost:7777/cb"],
      username: "bob",
      models: [{ id: "x/y", max_model_len: 1 }]
    })
    try {
      expect(server.apiKey).toBe("cpk_custom")
      expect(server.clientSecret).toBeUndefined()
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
      const location = new URL((await fetch(url, { redirect: "manual" })).headers.get("location") ?? "")
      const res = await fetch(
        `${server.idpBaseUrl}/idp/token`,
        form({
          grant_type: "authorization_code",
          client_id: "cid_custom",
          code: location.searchParams.get("code") ?? "",
          redirect_uri: "http://localhost:7777/cb",
          code_verifier: verifier
        })
      )
      expect(res.status).toBe(200)
      const tokens = (await res.json()) as Record<string, unknown>
      const me = await fetch(`${server.idpBaseUrl}/idp/userinfo`, {
        headers: { authorization: `Bearer ${tokens["access_token"]}` }
      })
      expect(await me.json()).toEqual({ sub: "user-bob-0001", username: "bob" })
      const rejected = await fetch(`${server.baseUrl}/models`, {
        headers: { authorization: `Bearer ${FakeChutes.defaultApiKey}` }
      })
      expect(rejected.status).toBe(401)
    } finally {
      await server.close()
    }
  })

  it("close does not hang with a SlowDrip or Delay in progress", async () => {
    const server = await FakeChutes.start()
    server.fault({ _tag: "SlowDrip", route: "models", chunkBytes: 1, intervalMillis: 1_000 })
    server.fault({ _tag: "Delay", route: "chat", millis: 60_000 })
    // Settle at once so that no rejection is left unhandled while the server closes.
    const outcome = (p: Promise<unknown>) => p.then(() => "answered", () => "failed")
    const dripping = outcome(fetch(`${server.baseUrl}/models`).then((r) => r.text()))
    const delayed = outcome(chat(server, { authorization: `Bearer ${server.apiKey}` }))
    await new Promise((resolve) => setTimeout(resolve, 100))
    const t0 = Date.now()
    await server.close()
    expect(Date.now() - t0).toBeLessThan(1_000)
    expect(await dripping).toBe("failed")
    expect(await delayed).toBe("failed")
    await server.close() // idempotent
  })
})

describe("FakeChutes Effect API", () => {
  it("make closes the server when the scope closes", async () => {
    const url = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const server = yield* FakeChutes.make()
          const res = yield* Effect.promise(() => fetch(`${server.baseUrl}/models`))
          expect(res.status).toBe(200)
          return server.url
        })
      )
    )
    await expect(fetch(`${url}/v1/models`)).rejects.toThrow()
  })

  it("layer provides the FakeChutes service", async () => {
    const status = await Effect.runPromise(
      Effect.gen(function*() {
        const server = yield* FakeChutes.FakeChutes
        const res = yield* Effect.promise(() =>
          fetch(`${server.baseUrl}/models`, { headers: { authorization: `Bearer ${server.apiKey}` } })
        )
        return res.status
      }).pipe(Effect.provide(FakeChutes.layer({ models: FakeChutes.generateModels(3) })))
    )
    expect(status).toBe(200)
  })
})

describe("scripts/fake-chutes.ts", () => {
  it("prints one JSON line, serves /v1/models and the control API, and exits on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/fake-chutes.ts", "--models", "25"], {
      cwd: new URL("..", import.meta.url),
      stdio: ["ignore", "pipe", "pipe"]
    })
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout })
        rl.once("line", (l) => {
          rl.close()
          resolve(l)
        })
        child.once("exit", (code) => reject(new Error(`fake-chutes exited early with ${code}`)))
      })
      const info = JSON.parse(line) as Record<string, unknown>
      expect(info["url"]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(info["baseUrl"]).toBe(`${info["url"]}/v1`)
      expect(info["idpBaseUrl"]).toBe(info["url"])
      expect(info["apiKey"]).toBe(FakeChutes.defaultApiKey)
      expect(info["clientId"]).toBe("cid_fake_client")
      expect(info["clientSecret"]).toBe("cs_fake_secret")
      const res = await fetch(`${info["baseUrl"]}/models`, { headers: { authorization: `Bearer ${info["apiKey"]}` } })
      expect(res.status).toBe(200)
      expect(((await res.json()) as { data: Array<unknown> }).data).toHaveLength(25)
      await fetch(`${info["url"]}/__control/fault`, {
        method: "POST",
        body: JSON.stringify({ _tag: "Status", route: "models", status: 503, times: 1 })
      })
      expect((await fetch(`${info["baseUrl"]}/models`)).status).toBe(503)
      const state = (await (await fetch(`${info["url"]}/__control/state`)).json()) as Record<string, unknown>
      expect(state["models"]).toBe(2)
    } finally {
      child.kill("SIGTERM")
    }
    expect(await exited).toBe(0)
  })
})
