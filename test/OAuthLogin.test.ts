import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import * as Net from "node:net"
import * as Os from "node:os"
import { PassThrough } from "node:stream"
import { inspect } from "node:util"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import { type OAuthError, PromptError } from "../src/ChutesError.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as NodeOAuthLogin from "../src/node/NodeOAuthLogin.js"
import * as OAuthLogin from "../src/OAuthLogin.js"
import { connect, freePort } from "./support/net.js"
import { idpSetup } from "./support/idp.js"

const { BrowserOpener, Prompter } = OAuthLogin

/** The listener on Node's loopback server. */
const callbackListener = (...args: Parameters<typeof OAuthLogin.callbackListener>) =>
  OAuthLogin.callbackListener(...args).pipe(Effect.provide(NodeOAuthLogin.layerCallbackServer))

// ---------------------------------------------------------------------------------------------------------------------
// Helpers: ports, a scripted browser, the fake IdP
// ---------------------------------------------------------------------------------------------------------------------

/** Occupies a port on 127.0.0.1 for the scope. */
const occupy = (port: number) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<Net.Server>((resolve, reject) => {
        const server = Net.createServer((socket) => socket.destroy())
        server.once("error", reject)
        server.listen(port, "127.0.0.1", () => resolve(server))
      })
    ),
    (server) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

/** Waits (on the live clock) until `check` holds; fails the test after 5 s. */
const eventually = (what: string, check: () => Effect.Effect<boolean> | boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      const result = check()
      if (typeof result === "boolean" ? result : yield* result) return
      yield* TestServices.provideLive(Effect.sleep(Duration.millis(10)))
    }
    assert.fail(`timed out waiting for: ${what}`)
  })

interface Visit {
  readonly status: number
  readonly text: string
}

/** The browser loads a URL without following redirects. */
const visit = (url: string): Promise<Visit> =>
  fetch(url, { redirect: "manual" }).then(async (res) => ({ status: res.status, text: await res.text() }))

/** The browser on the IdP: loads the authorize URL, answers the consent page if there is one, returns the redirect. */
const consent = async (url: string, decision: "approve" | "deny" = "approve"): Promise<string> => {
  const page = await fetch(url, { redirect: "manual" })
  if (page.status === 302) return page.headers.get("location") ?? ""
  const html = await page.text()
  const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1]
  if (requestId === undefined) throw new Error(`no consent page (${page.status})`)
  const answer = await fetch(new URL("/idp/authorize/decision", url), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ request_id: requestId, decision }).toString(),
    redirect: "manual"
  })
  return answer.headers.get("location") ?? ""
}

/** Returns `url` with its query parameters changed (`undefined` deletes one). */
const withParams = (url: string, changes: Record<string, string | undefined>, path?: string): string => {
  const target = new URL(url)
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) target.searchParams.delete(name)
    else target.searchParams.set(name, value)
  }
  if (path !== undefined) target.pathname = path
  return target.toString()
}

const setup = idpSetup

const layers = (
  oauth: Layer.Layer<ChutesOAuth.ChutesOAuth>,
  onOpen: (url: string) => Effect.Effect<void>,
  prompter: OAuthLogin.PrompterTestOptions
) =>
  Layer.mergeAll(
    oauth,
    BrowserOpener.layerTest(onOpen),
    Prompter.layerTest(prompter),
    NodeOAuthLogin.layerCallbackServer
  )

const urlIn = (lines: ReadonlyArray<string>, prefix: string): string => {
  const line = lines.find((l) => l.startsWith(prefix))
  if (line === undefined) throw new Error(`no line starting with ${prefix}`)
  return line.slice(prefix.length)
}

const LOCAL_PREFIX = "Open this URL in your browser: "
const REMOTE_PREFIX = "Open this URL in your LOCAL browser: "

// ---------------------------------------------------------------------------------------------------------------------
// Pure parts
// ---------------------------------------------------------------------------------------------------------------------

describe("validateRedirectUri", () => {
  const ok: ReadonlyArray<readonly [string, OAuthLogin.RedirectTarget]> = [
    ["http://127.0.0.1:1456/oauth-callback", { host: "127.0.0.1", port: 1456, path: "/oauth-callback" }],
    ["http://localhost:8080/cb", { host: "127.0.0.1", port: 8080, path: "/cb" }],
    ["http://[::1]:9000/a/b", { host: "::1", port: 9000, path: "/a/b" }],
    ["http://127.0.0.1/oauth-callback", { host: "127.0.0.1", port: 80, path: "/oauth-callback" }],
    ["http://127.0.0.1:1456", { host: "127.0.0.1", port: 1456, path: "/" }],
    ["http://127.0.0.1:1456/cb?x=1", { host: "127.0.0.1", port: 1456, path: "/cb" }]
  ]
  for (const [uri, expected] of ok) {
    it(`accepts ${uri}`, () => {
      assert.deepStrictEqual(OAuthLogin.validateRedirectUri(uri), Either.right(expected))
    })
  }
  const bad: ReadonlyArray<string> = [
    "https://127.0.0.1:1456/oauth-callback",
    "http://example.com:1456/cb",
    "http://192.168.1.5:1456/cb",
    "http://0.0.0.0:1456/cb",
    "http://127.0.0.2:1456/cb",
    "http://localhost.evil.com/cb",
    "http://127.0.0.1:0/cb",
    "http://user:pw@127.0.0.1:1456/cb",
    "http://127.0.0.1:1456/cb#frag",
    "not a url",
    ""
  ]
  for (const uri of bad) {
    it(`refuses ${JSON.stringify(uri)}`, () => {
      const result = OAuthLogin.validateRedirectUri(uri)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "RedirectUri")
        assert.include(result.left.message, "Invalid OAuth redirect URI")
      }
    })
  }
})

describe("isRemoteEnvironment", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, string>, string, string | undefined, boolean]> = [
    ["SSH_CLIENT", { SSH_CLIENT: "10.0.0.1 5555 22", DISPLAY: ":0" }, "linux", undefined, true],
    ["SSH_TTY on macOS", { SSH_TTY: "/dev/ttys001" }, "darwin", undefined, true],
    ["SSH_CONNECTION", { SSH_CONNECTION: "a b c d" }, "win32", undefined, true],
    ["REMOTE_CONTAINERS", { REMOTE_CONTAINERS: "true", DISPLAY: ":0" }, "linux", undefined, true],
    ["CODESPACES", { CODESPACES: "true" }, "darwin", undefined, true],
    ["Linux without a display", {}, "linux", "Linux version 6.1.0 (gcc)", true],
    ["Linux with DISPLAY", { DISPLAY: ":0" }, "linux", undefined, false],
    ["Linux with WAYLAND_DISPLAY", { WAYLAND_DISPLAY: "wayland-0" }, "linux", undefined, false],
    ["WSL by WSL_DISTRO_NAME", { WSL_DISTRO_NAME: "Ubuntu" }, "linux", undefined, false],
    ["WSL by /proc/version", {}, "linux", "Linux version 5.15.90.1-microsoft-standard-WSL2", false],
    ["macOS desktop", {}, "darwin", undefined, false],
    ["Windows desktop", {}, "win32", undefined, false],
    ["empty values count as unset", { SSH_CLIENT: "", DISPLAY: " " }, "linux", undefined, true]
  ]
  for (const [name, env, platform, procVersion, expected] of cases) {
    it(name, () => {
      assert.strictEqual(OAuthLogin.isRemoteEnvironment(env, platform, procVersion), expected)
    })
  }

  it.effect("reads the real environment through Config", () =>
    Effect.gen(function*() {
      const remote = yield* NodeOAuthLogin.detectRemoteEnvironment.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SSH_CONNECTION", "1 2 3 4"]])))
      )
      assert.isTrue(remote)
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// The callback listener
// ---------------------------------------------------------------------------------------------------------------------

describe("callbackListener", () => {
  it.live("binds 127.0.0.1 only, answers one good callback, then frees the port", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const base = `http://127.0.0.1:${port}/oauth-callback`
      const statuses = yield* Effect.scoped(Effect.gen(function*() {
        const listener = yield* callbackListener(base, "the-state")
        assert.strictEqual(listener.host, "127.0.0.1")
        assert.strictEqual(listener.port, port)
        // Not reachable through another interface of this machine (when it has one).
        const external = Object.values(Os.networkInterfaces()).flat().find((i) => i?.family === "IPv4" && !i.internal)
        if (external !== undefined) assert.strictEqual(yield* connect(port, external.address), "ECONNREFUSED")
        const wrong = yield* Effect.promise(() => visit(`${base}?code=c1&state=other`))
        const good = yield* Effect.promise(() => visit(`${base}?code=c1&state=the-state`))
        assert.include(good.text, "Signed in to Chutes — you can close this window")
        const { code } = yield* listener.waitForCode
        assert.strictEqual(Redacted.value(code), "c1")
        // Closed right after the success, while the scope is still open: nothing answers any more.
        assert.strictEqual(yield* connect(port), "ECONNREFUSED")
        const again = yield* Effect.promise(() =>
          visit(`${base}?code=c2&state=the-state`).then(() => "answered", () => "no answer")
        )
        assert.strictEqual(again, "no answer")
        return [wrong.status, good.status]
      }))
      assert.deepStrictEqual(statuses, [400, 200])
      // The port can be taken again.
      yield* Effect.scoped(occupy(port))
    }))

  it.live("binds localhost redirects to 127.0.0.1 and closes with its scope", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      yield* Effect.scoped(Effect.gen(function*() {
        const listener = yield* callbackListener(`http://localhost:${port}/cb`, "s")
        assert.strictEqual(listener.host, "127.0.0.1")
        assert.strictEqual(yield* connect(port), "connected")
      }))
      assert.strictEqual(yield* connect(port), "ECONNREFUSED")
    }))

  it.live("fails with PortInUse when the port is taken, and RedirectUri before listening on a bad URI", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      yield* occupy(port)
      const taken = yield* Effect.flip(Effect.scoped(callbackListener(`http://127.0.0.1:${port}/cb`, "s")))
      assert.strictEqual(taken.reason, "PortInUse")
      assert.include(taken.message, String(port))
      const bad = yield* Effect.flip(Effect.scoped(callbackListener(`http://0.0.0.0:${port}/cb`, "s")))
      assert.strictEqual(bad.reason, "RedirectUri")
    }).pipe(Effect.scoped))
})

// ---------------------------------------------------------------------------------------------------------------------
// The login
// ---------------------------------------------------------------------------------------------------------------------

describe("login: local flow", () => {
  it.live("the browser's callback completes the sign-in; the listener is gone afterwards", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const lines: Array<string> = []
      const opened: Array<string> = []
      let landing: Visit | undefined
      const onOpen = (url: string) =>
        Effect.promise(async () => {
          opened.push(url)
          // The listener must already be up when the browser opens.
          landing = await visit(await consent(url))
        })
      const result = yield* OAuthLogin.login({ app: env.app, remote: false }).pipe(
        Effect.provide(layers(env.oauth, onOpen, { lines }))
      )
      assert.strictEqual(result.profileId, "chutes:alice")
      assert.match(result.profile.access, /^cak_/)
      assert.strictEqual(result.profile.clientId, "cid_fake_client")
      assert.strictEqual(landing?.status, 200)
      assert.include(landing?.text ?? "", "Signed in to Chutes — you can close this window")
      assert.strictEqual(opened.length, 1)
      assert.strictEqual(lines[0], `${LOCAL_PREFIX}${opened[0]}`)
      const url = new URL(opened[0] ?? "")
      assert.strictEqual(url.searchParams.get("redirect_uri"), env.redirectUri)
      assert.strictEqual(url.searchParams.get("code_challenge_method"), "S256")
      assert.strictEqual(env.server.counters.tokenByGrant.authorization_code, 1)
      // A second callback gets no answer at all.
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
      for (const line of lines) assert.notInclude(line, result.profile.access)
    }).pipe(Effect.scoped))

  it.live("wrong state, missing code, a forged error and a wrong path get 400/404 and the flow keeps waiting", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const statuses: Array<number> = []
      const onOpen = (url: string) =>
        Effect.promise(async () => {
          const location = await consent(url)
          for (
            const attempt of [
              withParams(location, { state: "forged-state" }),
              withParams(location, { state: undefined }),
              withParams(location, { code: undefined }),
              withParams(location, { code: undefined, error: "access_denied", state: "forged-state" }),
              withParams(location, {}, "/elsewhere"),
              location
            ]
          ) statuses.push((await visit(attempt)).status)
        })
      const result = yield* OAuthLogin.login({ app: env.app, remote: false }).pipe(
        Effect.provide(layers(env.oauth, onOpen, {}))
      )
      assert.deepStrictEqual(statuses, [400, 400, 400, 400, 404, 200])
      assert.strictEqual(result.profileId, "chutes:alice")
      assert.strictEqual(env.server.counters.tokenByGrant.authorization_code, 1)
    }).pipe(Effect.scoped))

  it.live("a denied consent shows an error page and fails with Denied", () =>
    Effect.gen(function*() {
      const env = yield* setup({ autoApprove: false })
      let landing: Visit | undefined
      const onOpen = (url: string) =>
        Effect.promise(async () => {
          landing = await visit(await consent(url, "deny"))
        })
      const error = yield* Effect.flip(
        OAuthLogin.login({ app: env.app, remote: false }).pipe(Effect.provide(layers(env.oauth, onOpen, {})))
      )
      assert.strictEqual(error.reason, "Denied")
      assert.strictEqual(error.error, "access_denied")
      assert.strictEqual(landing?.status, 400)
      assert.include(landing?.text ?? "", "denied")
      assert.strictEqual(env.server.counters.token, 0)
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
    }).pipe(Effect.scoped))

  it.scoped("after 3 minutes without a callback (TestClock) it stops listening and a pasted URL completes", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const lines: Array<string> = []
      const prompts: Array<string> = []
      const redirect = yield* Deferred.make<string>()
      const paste = yield* Deferred.make<string>()
      // The browser gets the redirect but never reaches the listener (e.g. it runs elsewhere).
      const onOpen = (url: string) =>
        Effect.promise(() => consent(url)).pipe(Effect.flatMap((location) => Deferred.succeed(redirect, location)))
      const fiber = yield* OAuthLogin.login({ app: env.app, remote: false }).pipe(
        Effect.provide(layers(env.oauth, onOpen, { lines, prompts, answers: () => Deferred.await(paste) })),
        Effect.fork
      )
      const location = yield* Deferred.await(redirect)
      yield* eventually(
        "the race to start",
        () => Effect.map(TestClock.sleeps(), (sleeps) => Chunk.size(sleeps) > 0 && prompts.length > 0)
      )
      assert.deepStrictEqual(prompts, ["Paste the redirect URL (or wait for the browser): "])
      yield* TestClock.adjust(Duration.seconds(179))
      assert.strictEqual((yield* Effect.promise(() => visit(`http://127.0.0.1:${env.port}/elsewhere`))).status, 404)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* eventually("the timeout notice", () => lines.some((line) => line.startsWith("No browser callback")))
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
      yield* Deferred.succeed(paste, `  ${location}\n`)
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.profileId, "chutes:alice")
      assert.strictEqual(env.server.counters.tokenByGrant.authorization_code, 1)
    }))

  it.live("a pasted URL wins the race while the listener waits", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      let location = ""
      const onOpen = (url: string) => Effect.promise(async () => void (location = await consent(url)))
      const result = yield* OAuthLogin.login({ app: env.app, remote: false }).pipe(
        Effect.provide(layers(env.oauth, onOpen, { answers: () => Effect.sync(() => location) }))
      )
      assert.strictEqual(result.profileId, "chutes:alice")
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
    }).pipe(Effect.scoped))

  it.live("when the port is taken it falls back to the paste prompt only", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      yield* occupy(env.port)
      const lines: Array<string> = []
      const prompts: Array<string> = []
      let location = ""
      const onOpen = (url: string) => Effect.promise(async () => void (location = await consent(url)))
      const result = yield* OAuthLogin.login({ app: env.app, remote: false }).pipe(
        Effect.provide(layers(env.oauth, onOpen, { lines, prompts, answers: () => Effect.sync(() => location) }))
      )
      assert.strictEqual(result.profileId, "chutes:alice")
      assert.deepStrictEqual(prompts, ["Paste the redirect URL: "])
      assert.isTrue(lines.some((line) => line.startsWith(LOCAL_PREFIX)))
      assert.isTrue(lines.some((line) => line.includes(`Port ${env.port} is in use`)))
    }).pipe(Effect.scoped))

  it.live("refuses a redirect URI the listener cannot serve before opening anything", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const opened: Array<string> = []
      const error = yield* Effect.flip(
        OAuthLogin.login({ app: { ...env.app, redirectUri: "https://app.example/cb" }, remote: false }).pipe(
          Effect.provide(layers(env.oauth, (url) => Effect.sync(() => void opened.push(url)), {}))
        )
      )
      assert.strictEqual(error.reason, "RedirectUri")
      assert.include(error.message, "paste flow")
      assert.deepStrictEqual(opened, [])
    }).pipe(Effect.scoped))
})

describe("login: paste flow", () => {
  it.live("remote: prints the URL for a LOCAL browser; bad pastes are explained and asked again", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const lines: Array<string> = []
      const prompts: Array<string> = []
      const opened: Array<string> = []
      let n = 0
      const answers = () =>
        Effect.promise(async () => {
          const location = await consent(urlIn(lines, REMOTE_PREFIX))
          n += 1
          if (n === 1) return new URL(location).searchParams.get("code") ?? ""
          if (n === 2) return withParams(location, { state: "forged-state" })
          return location
        })
      const result = yield* OAuthLogin.login({ app: env.app, remote: true }).pipe(
        Effect.provide(
          layers(env.oauth, (url) => Effect.sync(() => void opened.push(url)), { lines, prompts, answers })
        )
      )
      assert.strictEqual(result.profileId, "chutes:alice")
      assert.deepStrictEqual(opened, [], "no browser is opened on a remote machine")
      assert.deepStrictEqual(prompts, Array(3).fill("Paste the redirect URL: "))
      assert.isTrue(lines.some((l) => l.includes("paste the full redirect URL (it must include code and state)")))
      assert.isTrue(lines.some((l) => l.includes("state") && l.includes("CSRF")))
      // The listener never ran.
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
    }).pipe(Effect.scoped))

  it.live("forcePaste with three wrong states never completes the flow", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const lines: Array<string> = []
      const answers = () =>
        Effect.promise(async () => withParams(await consent(urlIn(lines, REMOTE_PREFIX)), { state: "forged-state" }))
      const error = yield* Effect.flip(
        OAuthLogin.login({ app: env.app, forcePaste: true, remote: false }).pipe(
          Effect.provide(layers(env.oauth, () => Effect.void, { lines, answers }))
        )
      )
      assert.strictEqual(error.reason, "StateMismatch")
      assert.strictEqual(env.server.counters.token, 0)
    }).pipe(Effect.scoped))

  it.live("a pasted denial ends at once with Denied", () =>
    Effect.gen(function*() {
      const env = yield* setup({ autoApprove: false })
      const lines: Array<string> = []
      const prompts: Array<string> = []
      const answers = () => Effect.promise(() => consent(urlIn(lines, REMOTE_PREFIX), "deny"))
      const error = yield* Effect.flip(
        OAuthLogin.login({ app: env.app, forcePaste: true }).pipe(
          Effect.provide(layers(env.oauth, () => Effect.void, { lines, prompts, answers }))
        )
      )
      assert.strictEqual(error.reason, "Denied")
      assert.strictEqual(prompts.length, 1)
    }).pipe(Effect.scoped))

  it.live("asks for a missing client id (shape cid_…)", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const lines: Array<string> = []
      const prompts: Array<string> = []
      const answers = (message: string) =>
        message.includes("client id")
          ? Effect.succeed(prompts.length === 1 ? "not-a-client" : ` ${env.server.clientId} `)
          : Effect.promise(() => consent(urlIn(lines, REMOTE_PREFIX)))
      const result = yield* OAuthLogin.login({ app: { ...env.app, clientId: Option.none() }, forcePaste: true }).pipe(
        Effect.provide(layers(env.oauth, () => Effect.void, { lines, prompts, answers }))
      )
      assert.strictEqual(result.profileId, "chutes:alice")
      assert.strictEqual(result.profile.clientId, "cid_fake_client")
      assert.strictEqual(prompts.filter((p) => p.includes("client id")).length, 2)
      assert.isTrue(lines.some((l) => l.includes("cid_")))
    }).pipe(Effect.scoped))
})

describe("login: the client secret", () => {
  it.live("asked for with a hidden prompt before the browser opens when CHUTES_CLIENT_SECRET is unset; kept in the profile", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const secret = env.server.clientSecret ?? ""
      const events: Array<string> = []
      const lines: Array<string> = []
      const answers = [" ", env.server.clientId, ` ${secret} `]
      // The secret prompts are answered; the paste prompt (raced against the browser) waits like an idle user.
      const answer = (message: string, options: OAuthLogin.PromptOptions) =>
        message.startsWith("Paste")
          ? Effect.never
          : Effect.sync(() => {
            events.push(`prompt${options.hidden === true ? " (hidden)" : ""}: ${message}`)
            return answers.shift() ?? ""
          })
      const onOpen = (url: string) =>
        Effect.promise(async () => {
          events.push("browser opened")
          await visit(await consent(url))
        })
      const app: ChutesOAuth.AppSettings = {
        clientId: Option.some(env.app.clientId),
        clientSecret: undefined,
        redirectUri: env.app.redirectUri,
        scopes: env.app.scopes
      }
      const result = yield* OAuthLogin.login({ app, remote: false }).pipe(
        Effect.provide(layers(env.oauth, onOpen, { lines, answers: answer }))
      )
      const secretPrompt = "prompt (hidden): Chutes OAuth client secret (csc_…; input hidden): "
      // An empty answer and the client id pasted by mistake are asked again; then the browser opens.
      assert.deepStrictEqual(events, [secretPrompt, secretPrompt, secretPrompt, "browser opened"])
      assert.isTrue(lines.some((line) => line.includes("CHUTES_CLIENT_SECRET")))
      assert.isTrue(lines.some((line) => line.includes("client id, not the secret")))
      assert.strictEqual(result.profile.clientId, env.server.clientId)
      const stored = result.profile.clientSecret
      assert.strictEqual(stored && Redacted.value(stored), secret, "trimmed, and stored beside the client id")
      assert.strictEqual(env.server.counters.tokenByGrant.authorization_code, 1)
      for (const text of [...lines, inspect(result, { depth: 10 }), JSON.stringify(result)]) assert.notInclude(text, secret)
    }).pipe(Effect.scoped))

  it.live("taken from CHUTES_CLIENT_SECRET without asking", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const prompts: Array<string> = []
      const onOpen = (url: string) => Effect.promise(async () => void (await visit(await consent(url))))
      const result = yield* OAuthLogin.login({ remote: false }).pipe(
        Effect.provide(layers(env.oauth, onOpen, { prompts })),
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([
            ["CHUTES_CLIENT_ID", env.server.clientId],
            ["CHUTES_CLIENT_SECRET", env.server.clientSecret ?? ""],
            ["CHUTES_OAUTH_REDIRECT_URI", env.redirectUri]
          ])
        ))
      )
      assert.isFalse(prompts.some((prompt) => prompt.includes("secret")))
      assert.strictEqual(result.profile.clientSecret && Redacted.value(result.profile.clientSecret), env.server.clientSecret)
    }).pipe(Effect.scoped))

  it.live("three empty answers end the sign-in before anything is opened", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const opened: Array<string> = []
      const error = yield* Effect.flip(
        OAuthLogin.login({ app: { ...env.app, clientId: Option.some(env.app.clientId), clientSecret: undefined }, remote: false })
          .pipe(Effect.provide(layers(env.oauth, (url) => Effect.sync(() => void opened.push(url)), { answers: ["", "", ""] })))
      )
      assert.strictEqual(error.reason, "ClientSecret")
      assert.include(error.message, "CHUTES_CLIENT_SECRET")
      assert.deepStrictEqual(opened, [])
      assert.strictEqual(env.server.counters.authorize, 0)
    }).pipe(Effect.scoped))
})

describe("login: no terminal", () => {
  const unusedOAuth = ChutesOAuth.layer().pipe(
    Layer.provide(Layer.mergeAll(ChutesSettings.layer({ idpBaseUrl: "http://127.0.0.1:9" }), FetchHttpClient.layer))
  )

  it.effect("fails at once with NotInteractive naming the alternatives, opening nothing", () =>
    Effect.gen(function*() {
      const opened: Array<string> = []
      const run = (app: OAuthLogin.LoginOptions["app"]) =>
        Effect.flip(OAuthLogin.login({ app, remote: false })).pipe(
          Effect.provide(Layer.mergeAll(
            unusedOAuth,
            BrowserOpener.layerTest((url) => Effect.sync(() => void opened.push(url))),
            Prompter.layerNonInteractive(),
            NodeOAuthLogin.layerCallbackServer
          ))
        )
      const withId: OAuthError = yield* run({
        clientId: "cid_x",
        clientSecret: Redacted.make("csc_x"),
        redirectUri: ChutesOAuth.DEFAULT_REDIRECT_URI,
        scopes: ChutesOAuth.DEFAULT_SCOPES
      })
      assert.strictEqual(withId.reason, "NotInteractive")
      const needles = [
        "OAuth requires interactive mode",
        "--auth-choice chutes-api-key",
        "CHUTES_API_KEY",
        "CHUTES_OAUTH_TOKEN"
      ]
      for (const needle of needles) assert.include(withId.message, needle)
      assert.notInclude(withId.message, "CHUTES_CLIENT_SECRET", "nothing is missing but the terminal")
      const fromEnv = yield* run(undefined).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      assert.strictEqual(fromEnv.reason, "NotInteractive")
      assert.include(fromEnv.message, "CHUTES_CLIENT_ID")
      assert.include(fromEnv.message, "CHUTES_CLIENT_SECRET")
      // The id is set, the secret is not: the failure names the secret's variable.
      const noSecret = yield* run(undefined).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CHUTES_CLIENT_ID", "cid_x"]])))
      )
      assert.strictEqual(noSecret.reason, "NotInteractive")
      assert.include(noSecret.message, "CHUTES_CLIENT_SECRET")
      assert.notInclude(noSecret.message, "CHUTES_CLIENT_ID")
      assert.deepStrictEqual(opened, [])
    }))
})

describe("prompts fail with PromptError; the sign-in reports NotInteractive", () => {
  it.effect("the test prompter without a terminal, and the Node prompter on streams that are not TTYs", () =>
    Effect.gen(function*() {
      const scripted = yield* Effect.flip(
        Effect.flatMap(Prompter, (prompter) => prompter.prompt("anything? ")).pipe(
          Effect.provide(Prompter.layerNonInteractive())
        )
      )
      assert.instanceOf(scripted, PromptError)
      assert.strictEqual(scripted.reason, "NotInteractive")
      const node = NodeOAuthLogin.makePrompter(
        new PassThrough() as unknown as NodeJS.ReadStream,
        new PassThrough() as unknown as NodeJS.WriteStream
      )
      assert.isFalse(node.isInteractive)
      const error = yield* Effect.flip(node.prompt("anything? ", { hidden: true }))
      assert.strictEqual(error._tag, "PromptError")
      assert.strictEqual(error.reason, "NotInteractive")
      assert.include(error.message, "stdin or stdout is not a terminal")
    }))

  const ended = (detail?: string) =>
    Effect.fail(new PromptError({ reason: "InputEnded", ...(detail !== undefined ? { detail } : {}) }))

  it.live("the input ending at the paste prompt: NotInteractive saying so, nothing exchanged", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const error = yield* Effect.flip(
        OAuthLogin.login({ app: env.app, forcePaste: true }).pipe(
          Effect.provide(layers(env.oauth, () => Effect.void, { answers: () => ended() }))
        )
      )
      assert.strictEqual(error._tag, "OAuthError")
      assert.strictEqual(error.reason, "NotInteractive")
      assert.include(error.message, "the input ended before an answer was given")
      assert.strictEqual(env.server.counters.token, 0)
    }).pipe(Effect.scoped))

  it.live("the input ending while the listener waits ends the local flow and closes the listener", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const opened: Array<string> = []
      const error = yield* Effect.flip(
        OAuthLogin.login({ app: env.app, remote: false }).pipe(
          Effect.provide(layers(env.oauth, (url) => Effect.sync(() => void opened.push(url)), {
            answers: () => ended("Ctrl-D")
          }))
        )
      )
      assert.strictEqual(error.reason, "NotInteractive")
      assert.include(error.message, "the input ended before an answer was given (Ctrl-D)")
      assert.strictEqual(opened.length, 1)
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
    }).pipe(Effect.scoped))

  it.live("no terminal at the client id or secret prompt: NotInteractive with the prompter's reason, before the browser", () =>
    Effect.gen(function*() {
      const env = yield* setup()
      const opened: Array<string> = []
      const noTerminal = () => Effect.fail(new PromptError({ reason: "NotInteractive", detail: "the terminal went away" }))
      for (const app of [{ ...env.app, clientId: Option.none() }, { ...env.app, clientId: Option.some(env.app.clientId), clientSecret: undefined }]) {
        const error = yield* Effect.flip(
          OAuthLogin.login({ app, remote: false }).pipe(
            Effect.provide(layers(env.oauth, (url) => Effect.sync(() => void opened.push(url)), { answers: noTerminal }))
          )
        )
        assert.strictEqual(error._tag, "OAuthError")
        assert.strictEqual(error.reason, "NotInteractive")
        assert.include(error.message, "OAuth requires interactive mode: the terminal went away")
      }
      assert.deepStrictEqual(opened, [])
      assert.strictEqual(env.server.counters.authorize, 0)
    }).pipe(Effect.scoped))

  it.effect("readPastedCallback alone: a prompt without an answer is NotInteractive", () =>
    Effect.gen(function*() {
      const prompter = yield* Effect.provide(Prompter, Prompter.layerTest({ answers: () => ended() }))
      const error = yield* Effect.flip(OAuthLogin.readPastedCallback(prompter, "Paste: ", "state"))
      assert.strictEqual(error.reason, "NotInteractive")
    }))
})
