/**
 * HTTP proxies on Node: the choice of proxy (option, environment, loopback, NO_PROXY) as pure rules, then the Node
 * provider against FakeChutes through a real forward proxy (Debian's tinyproxy, test/support/proxyServer.ts), counted
 * through the proxy's own log; last, an `https://` service reached through a `CONNECT` tunnel of the same proxy, as the
 * real one is (a self-signed certificate from the openssl CLI, test/support/httpsServer.ts).
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as NodeChutes from "../src/node/NodeChutes.js"
import * as Proxy from "../src/node/proxy.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import { freePort } from "./support/net.js"
import { opensslMissing, selfSignedCertificate, startHttpsModels } from "./support/httpsServer.js"
import { startTinyproxy, tinyproxyMissing } from "./support/proxyServer.js"
import type { WorkerInput, WorkerOutput } from "./support/proxyWorker.js"

const none = { httpProxy: undefined, httpsProxy: undefined, noProxy: undefined }

describe("the proxy rules", () => {
  it("no variable and no option: no proxy; `false` ignores the environment", () => {
    assert.isUndefined(Proxy.plan(undefined, none))
    assert.isUndefined(Proxy.plan(false, { ...none, httpsProxy: "http://p:3128" }))
  })

  it("from the environment: HTTPS_PROXY for https, HTTP_PROXY for http (and for https without HTTPS_PROXY)", () => {
    const both = Proxy.plan(undefined, { httpProxy: "http://h:1", httpsProxy: "http://s:2", noProxy: "example.com" })
    assert.deepStrictEqual(both, {
      httpProxy: "http://h:1",
      httpsProxy: "http://s:2",
      noProxy: "example.com,localhost,127.0.0.1,[::1]"
    })
    assert.strictEqual(Proxy.plan(undefined, { ...none, httpProxy: "http://h:1" })?.httpsProxy, "http://h:1")
    const httpsOnly = Proxy.plan(undefined, { ...none, httpsProxy: "http://s:2" })!
    assert.isUndefined(Proxy.proxyFor(httpsOnly, new URL("http://llm.chutes.ai/v1/models")))
    assert.strictEqual(Proxy.proxyFor(httpsOnly, new URL("https://llm.chutes.ai/v1/models")), "http://s:2")
  })

  it("lower-case variables win over upper-case ones; empty ones count as unset", () =>
    Effect.gen(function*() {
      const env = yield* Proxy.envConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(
        new Map([["https_proxy", "http://lower:1"], ["HTTPS_PROXY", "http://upper:1"], ["http_proxy", " "], [
          "HTTP_PROXY",
          "http://upper:2"
        ], ["NO_PROXY", "a.example"]])
      )))
      assert.deepStrictEqual(env, { httpsProxy: "http://lower:1", httpProxy: "http://upper:2", noProxy: "a.example" })
    }).pipe(Effect.runSync))

  it("the option replaces the environment: its url for both schemes, its noProxy else NO_PROXY", () => {
    const env = { httpProxy: "http://env:1", httpsProxy: "http://env:2", noProxy: "from-env.example" }
    assert.deepStrictEqual(Proxy.plan({ url: "http://opt:3" }, env), {
      httpProxy: "http://opt:3",
      httpsProxy: "http://opt:3",
      noProxy: "from-env.example,localhost,127.0.0.1,[::1]"
    })
    assert.strictEqual(
      Proxy.plan({ url: "http://opt:3", noProxy: ["a.example", "b.example:8443"], proxyLoopback: true }, env)?.noProxy,
      "a.example,b.example:8443"
    )
  })

  it("loopback, NO_PROXY entries (suffixes, ports) and `*` bypass the proxy", () => {
    const p = Proxy.plan({ url: "http://p:3128", noProxy: ".corp.example, api.chutes.ai:8443" }, none)!
    for (const url of ["http://localhost:8080/x", "http://127.0.0.1:9/x", "http://[::1]:9/x", "https://idp.corp.example"]) {
      assert.isUndefined(Proxy.proxyFor(p, new URL(url)), url)
    }
    assert.strictEqual(Proxy.proxyFor(p, new URL("https://api.chutes.ai/users/me")), "http://p:3128")
    assert.isUndefined(Proxy.proxyFor(p, new URL("https://api.chutes.ai:8443/users/me")))
    assert.isUndefined(Proxy.proxyFor(Proxy.plan({ url: "http://p:1", noProxy: "*" }, none)!, new URL("https://x.y")))
    // A bare IPv6 address is an address, not a host and a port.
    const v6 = Proxy.plan({ url: "http://p:3128", noProxy: "::ffff:7f00:1, fd00::2, [fd00::3]:8443" }, none)!
    assert.include(v6.noProxy, "[::ffff:7f00:1],[fd00::2],[fd00::3]:8443")
    for (const url of ["http://[::ffff:7f00:1]:9/x", "https://[fd00::2]/x", "https://[fd00::3]:8443/x"]) {
      assert.isUndefined(Proxy.proxyFor(v6, new URL(url)), url)
    }
    assert.strictEqual(Proxy.proxyFor(v6, new URL("https://[fd00::3]/x")), "http://p:3128", "another port")
  })

  it("proxy URLs are shown without credentials, parseable or not", () => {
    assert.strictEqual(Proxy.redactUrl("http://alice:s3cret@proxy.corp:3128/"), "http://<redacted>@proxy.corp:3128")
    assert.strictEqual(Proxy.redactUrl("http://proxy.corp:3128"), "http://proxy.corp:3128")
    assert.strictEqual(Proxy.redactUrl("http://alice:s3cret@bad host:x"), "http://<redacted>@bad host:x")
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Through a real proxy
// ---------------------------------------------------------------------------------------------------------------------

const missing = tinyproxyMissing("test/proxy.test.ts (real proxy)")

/** A fake, a state dir with one expired OAuth profile (so the first use refreshes it), and a runner. */
const setup = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(Path.join(Os.tmpdir(), "effect-chutes-proxy-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
  )
  const fake = yield* FakeChutes.make()
  const issued = fake.issueTokens()
  writeFileSync(
    Path.join(dir, AuthProfileStore.FILE_NAME),
    JSON.stringify({
      version: 1,
      profiles: {
        "chutes:alice": {
          type: "oauth",
          provider: "chutes",
          access: issued.access,
          refresh: issued.refresh,
          expires: 1,
          email: "alice",
          clientId: fake.clientId
        }
      }
    }),
    { mode: 0o600 }
  )
  /** Runs `program` on the Node provider with `proxy`, the environment being only the fake's settings and `env`. */
  const run = <A, E>(
    program: Effect.Effect<A, E, ChutesProvider.ChutesProvider>,
    proxy: NodeChutes.ProxyOptions | undefined,
    env: Record<string, string> = {}
  ) =>
    program.pipe(
      Effect.provide(NodeChutes.layer({
        proxy,
        redis: false,
        settings: {
          diskCachePath: false,
          retry: { maxRetries: 1, baseDelay: "5 millis", maxDelay: "10 millis" },
          negativeTtl: 0
        }
      })),
      Effect.withConfigProvider(ConfigProvider.fromMap(
        new Map(Object.entries({
          CHUTES_BASE_URL: fake.baseUrl,
          CHUTES_IDP_BASE_URL: fake.idpBaseUrl,
          CHUTES_STATE_DIR: dir,
          CHUTES_CLIENT_ID: fake.clientId,
          CHUTES_CLIENT_SECRET: "cs_fake_secret",
          ...env
        }))
      ))
    )
  return { fake, run }
})

const discoverAndChat = Effect.gen(function*() {
  const provider = yield* ChutesProvider.ChutesProvider
  const snapshot = yield* provider.discover
  const response = yield* provider.client.execute(
    HttpClientRequest.post("/chat/completions").pipe(
      HttpClientRequest.bodyUnsafeJson({ model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }] })
    )
  )
  return { source: snapshot.source, chat: response.status }
})

/** The fake's API key as `CHUTES_API_KEY`: discovery is then the first request (no refresh before it). */
const apiKeyEnv = (fake: FakeChutes.FakeChutesServer) => ({ CHUTES_API_KEY: fake.apiKey })

const catalogReason = Effect.flatMap(ChutesProvider.ChutesProvider, (provider) => provider.catalog)

describe.skipIf(missing !== undefined)("through a real forward proxy (tinyproxy)", () => {
  it.scopedLive("discovery, a token refresh and a chat all go through the proxy", () =>
    Effect.gen(function*() {
      const proxy = yield* startTinyproxy()
      const t = yield* setup
      const result = yield* t.run(discoverAndChat, { url: proxy.url, proxyLoopback: true })
      assert.deepStrictEqual(result, { source: "live", chat: 200 })
      const carried = proxy.carried().map((c) => `${c.method} ${new URL(c.target).pathname}`)
      assert.includeMembers(carried, ["POST /idp/token", "GET /v1/models", "POST /v1/chat/completions"], proxy.log())
      assert.strictEqual(t.fake.counters.tokenByGrant.refresh_token, 1)
      // Every request the fake saw came through the proxy.
      assert.strictEqual(carried.length, t.fake.requests.length, proxy.log())
    }))

  it.scopedLive("NO_PROXY (the variable, or the option's noProxy) bypasses it", () =>
    Effect.gen(function*() {
      const proxy = yield* startTinyproxy()
      const t = yield* setup
      const viaEnv = yield* t.run(discoverAndChat, { url: proxy.url, proxyLoopback: true }, { NO_PROXY: "127.0.0.1" })
      assert.deepStrictEqual(viaEnv, { source: "live", chat: 200 })
      const viaOption = yield* t.run(discoverAndChat, { url: proxy.url, proxyLoopback: true, noProxy: ["127.0.0.1"] })
      assert.deepStrictEqual(viaOption, { source: "live", chat: 200 })
      assert.strictEqual(proxy.carried().length, 0, proxy.log())
      assert.isAbove(t.fake.requests.length, 2)
    }))

  it.scopedLive("HTTP_PROXY / HTTPS_PROXY from the environment leave loopback destinations alone", () =>
    Effect.gen(function*() {
      const proxy = yield* startTinyproxy()
      const t = yield* setup
      const result = yield* t.run(discoverAndChat, undefined, { HTTP_PROXY: proxy.url, https_proxy: proxy.url })
      assert.deepStrictEqual(result, { source: "live", chat: 200 })
      assert.strictEqual(proxy.carried().length, 0, proxy.log())
    }))

  it.scopedLive("a proxy asking for credentials (407): typed, the proxy named, then fallback; the right ones pass", () =>
    Effect.gen(function*() {
      const proxy = yield* startTinyproxy({ basicAuth: { user: "alice", password: "pr0xy-pa55word" } })
      const t = yield* setup
      // The right credentials go through (and are not in the proxy's log).
      const ok = yield* t.run(discoverAndChat, { url: proxy.url, proxyLoopback: true })
      assert.deepStrictEqual(ok, { source: "live", chat: 200 })
      assert.isAbove(proxy.carried().length, 2)
      const modelsBefore = t.fake.counters.models
      const noCredentials = `http://127.0.0.1:${proxy.port}`
      const snapshot = yield* t.run(catalogReason, { url: noCredentials, proxyLoopback: true }, apiKeyEnv(t.fake))
      assert.strictEqual(snapshot.source, "static")
      const reason = snapshot.reason
      assert.strictEqual(reason?._tag, "DiscoveryError")
      assert.strictEqual(reason?._tag === "DiscoveryError" ? reason.reason : undefined, "Transport")
      const message = reason?.message ?? ""
      assert.include(message, `could not reach ${t.fake.baseUrl}/models`)
      assert.include(message, `through proxy http://127.0.0.1:${proxy.port}`)
      assert.include(message, "Proxy Authentication Required (407)")
      assert.strictEqual(t.fake.counters.models, modelsBefore, "the proxy refused: nothing reached the service")
    }))

  it.scopedLive("a proxy that is down, or a proxy URL that is not one: typed, named, redacted, then fallback", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const port = yield* freePort
      const down = yield* t.run(
        catalogReason,
        { url: `http://bob:d0wn-secret@127.0.0.1:${port}`, proxyLoopback: true },
        apiKeyEnv(t.fake)
      )
      assert.strictEqual(down.source, "static")
      assert.include(down.reason?.message ?? "", `could not reach ${t.fake.baseUrl}/models`)
      assert.include(down.reason?.message ?? "", `through proxy http://<redacted>@127.0.0.1:${port}`)
      assert.notInclude(down.reason?.message ?? "", "d0wn-secret")
      const bad = yield* t.run(
        catalogReason,
        { url: "http://bob:b4d-secret@proxy corp:80", proxyLoopback: true },
        apiKeyEnv(t.fake)
      )
      // The OAuth refresh goes through the same client: it fails the same way.
      const refresh = yield* t.run(catalogReason, { url: `http://bob:d0wn-secret@127.0.0.1:${port}`, proxyLoopback: true })
      assert.include(refresh.reason?.message ?? "", `token refresh: through proxy http://<redacted>@127.0.0.1:${port}`)
      assert.notInclude(refresh.reason?.message ?? "", "d0wn-secret")
      assert.strictEqual(bad.source, "static")
      assert.include(bad.reason?.message ?? "", "through proxy http://<redacted>@proxy corp:80")
      assert.include(bad.reason?.message ?? "", "invalid proxy URL")
      assert.notInclude(bad.reason?.message ?? "", "b4d-secret")
      // A stray % in the password: undici's decodeURIComponent threw a defect ("URI malformed") in the layer.
      const percent = yield* t.run(
        catalogReason,
        { url: `http://bob:pa%ss-w0rd@127.0.0.1:${port}`, proxyLoopback: true },
        apiKeyEnv(t.fake)
      )
      assert.strictEqual(percent.source, "static")
      assert.include(percent.reason?.message ?? "", "invalid proxy URL")
      assert.include(percent.reason?.message ?? "", "write a literal % as %25")
      assert.notInclude(percent.reason?.message ?? "", "pa%ss")
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// https through a CONNECT tunnel
// ---------------------------------------------------------------------------------------------------------------------

const connectSuite = "test/proxy.test.ts (https through a CONNECT tunnel)"
const connectMissing = (missing !== undefined ? tinyproxyMissing(connectSuite) : undefined) ??
  opensslMissing(connectSuite)

const workerPath = fileURLToPath(new URL("./support/proxyWorker.ts", import.meta.url))

/** An API key the https server expects as the bearer, and that no output may contain. */
const TUNNEL_API_KEY = "cpk_tunnel-test-key.0123456789abcdef"

/**
 * Runs test/support/proxyWorker.ts (`discover` once, one `RESULT <json>` line out) with `input`; `ca` becomes its
 * `NODE_EXTRA_CA_CERTS`. Its environment is the parent's without any CHUTES_, proxy or extra-CA variable, plus a
 * scratch state dir.
 */
const runWorker = (input: WorkerInput, ca: string | undefined) =>
  Effect.gen(function*() {
    const stateDir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(Path.join(Os.tmpdir(), "effect-chutes-proxy-worker-"))),
      (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
    )
    const dropped = /^(CHUTES_|NODE_EXTRA_CA_CERTS$|(HTTPS?|ALL|NO)_PROXY$)/i
    const env: Record<string, string> = {
      ...Object.fromEntries(
        Object.entries(process.env).filter((entry): entry is [string, string] =>
          entry[1] !== undefined && !dropped.test(entry[0])
        )
      ),
      CHUTES_STATE_DIR: stateDir,
      ...(ca !== undefined ? { NODE_EXTRA_CA_CERTS: ca } : {})
    }
    const { stderr, stdout } = yield* Effect.promise(() =>
      new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
        execFile(
          process.execPath,
          ["--import", "tsx", workerPath, JSON.stringify(input)],
          { env, timeout: 60_000 },
          (error, stdout, stderr) =>
            error !== null ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve({ stdout, stderr })
        )
      )
    )
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "))
    if (line === undefined) throw new Error(`the worker printed no result:\n${stdout}\n${stderr}`)
    const output: WorkerOutput = JSON.parse(line.slice("RESULT ".length))
    return { output, stdout, stderr }
  })

/**
 * A fresh certificate, the https server with it, and tinyproxy; `run` lists the server's models in a worker with
 * `proxy`, trusting the certificate unless told not to.
 */
const tunnelSetup = Effect.gen(function*() {
  const certificate = yield* selfSignedCertificate
  const server = yield* startHttpsModels(certificate)
  const proxy = yield* startTinyproxy()
  const connects = () => proxy.carried().filter((c) => c.method === "CONNECT").map((c) => c.target)
  const run = (through: WorkerInput["proxy"], trusted = true) =>
    runWorker(
      { baseUrl: server.baseUrl, apiKey: TUNNEL_API_KEY, proxy: through },
      trusted ? certificate.certPath : undefined
    )
  return { certificate, server, proxy, connects, run }
})

describe.skipIf(connectMissing !== undefined)("https through a CONNECT tunnel (tinyproxy, a self-signed service)", () => {
  it.scopedLive("discovery reaches the https service through the proxy's tunnel, end to end", () =>
    Effect.gen(function*() {
      const t = yield* tunnelSetup
      const { output, stderr, stdout } = yield* t.run({ url: t.proxy.url, proxyLoopback: true })
      assert.deepStrictEqual(output, { ok: true, source: "live", ids: t.server.modelIds }, stderr)
      assert.isAbove(t.server.modelIds.length, 1)
      // The proxy opened a tunnel to the service and forwarded nothing in the clear.
      const carried = t.proxy.carried()
      assert.isAbove(carried.length, 0, t.proxy.log())
      assert.deepStrictEqual(
        carried.map((c) => `${c.method} ${c.target}`),
        carried.map(() => `CONNECT 127.0.0.1:${t.server.port}`),
        t.proxy.log()
      )
      // Through the tunnel: the service saw the request and the bearer, which the proxy never did.
      assert.deepStrictEqual(t.server.seen(), [{
        method: "GET",
        path: "/v1/models",
        authorization: `Bearer ${TUNNEL_API_KEY}`
      }])
      assert.notInclude(t.proxy.log(), TUNNEL_API_KEY)
      assert.notInclude(stdout + stderr, TUNNEL_API_KEY)
    }), { timeout: 90_000 })

  it.scopedLive("noProxy covering 127.0.0.1, or `proxy: false`: no CONNECT, the service reached directly", () =>
    Effect.gen(function*() {
      const t = yield* tunnelSetup
      const bypassed = yield* t.run({ url: t.proxy.url, proxyLoopback: true, noProxy: ["127.0.0.1"] })
      assert.deepStrictEqual(bypassed.output, { ok: true, source: "live", ids: t.server.modelIds }, bypassed.stderr)
      const off = yield* t.run(false)
      assert.deepStrictEqual(off.output, { ok: true, source: "live", ids: t.server.modelIds }, off.stderr)
      assert.deepStrictEqual(t.connects(), [], t.proxy.log())
      assert.strictEqual(t.proxy.carried().length, 0, t.proxy.log())
      assert.deepStrictEqual(t.server.seen().map((r) => `${r.method} ${r.path} ${r.authorization}`), [
        `GET /v1/models Bearer ${TUNNEL_API_KEY}`,
        `GET /v1/models Bearer ${TUNNEL_API_KEY}`
      ])
    }), { timeout: 90_000 })

  it.scopedLive("a certificate the client does not trust: a typed transport failure naming the proxy, no key", () =>
    Effect.gen(function*() {
      const t = yield* tunnelSetup
      const { output, stderr, stdout } = yield* t.run({ url: t.proxy.url, proxyLoopback: true }, false)
      assert.isFalse(output.ok, stdout)
      if (output.ok) return
      assert.strictEqual(output.tag, "DiscoveryError", output.message)
      assert.strictEqual(output.reason, "Transport", output.message)
      assert.include(output.message, `could not reach ${t.server.baseUrl}/models`)
      assert.include(output.message, `through proxy http://127.0.0.1:${t.proxy.port}`)
      assert.match(output.message, /certificate/i)
      // The tunnel was opened (the proxy is not what failed); the handshake inside it was refused, so no request (and
      // no bearer) reached the service.
      assert.isAbove(t.connects().length, 0, t.proxy.log())
      assert.deepStrictEqual(t.connects(), t.connects().map(() => `127.0.0.1:${t.server.port}`), t.proxy.log())
      assert.deepStrictEqual(t.server.seen(), [])
      assert.notInclude(stdout + stderr, TUNNEL_API_KEY)
    }), { timeout: 90_000 })

  it.scopedLive("a proxy that wants credentials (407 to the CONNECT): a transport failure naming it without its password", () =>
    Effect.gen(function*() {
      const certificate = yield* selfSignedCertificate
      const server = yield* startHttpsModels(certificate)
      const proxy = yield* startTinyproxy({ basicAuth: { user: "alice", password: "tunnel-pa55word" } })
      // The proxy URL without the credentials it wants.
      const bare = proxy.url.replace(/\/\/[^@/]*@/, "//")
      const { output, stderr, stdout } = yield* runWorker({
        baseUrl: server.baseUrl,
        apiKey: TUNNEL_API_KEY,
        proxy: { url: bare, proxyLoopback: true }
      }, certificate.certPath)
      assert.isFalse(output.ok, stdout)
      if (output.ok) return
      assert.strictEqual(output.reason, "Transport", output.message)
      assert.include(output.message, `through proxy http://127.0.0.1:${proxy.port}`)
      assert.match(output.message, /407/)
      assert.deepStrictEqual(server.seen(), [])
      assert.notInclude(stdout + stderr, TUNNEL_API_KEY)
      assert.notInclude(stdout + stderr, "tunnel-pa55word")
      // With the credentials in the URL the tunnel opens and discovery succeeds; the password is still never shown.
      const authed = yield* runWorker({
        baseUrl: server.baseUrl,
        apiKey: TUNNEL_API_KEY,
        proxy: { url: proxy.url, proxyLoopback: true }
      }, certificate.certPath)
      assert.deepStrictEqual(authed.output, { ok: true, source: "live", ids: server.modelIds }, authed.stderr)
      assert.notInclude(authed.stdout + authed.stderr, "tunnel-pa55word")
    }), { timeout: 90_000 })
})
