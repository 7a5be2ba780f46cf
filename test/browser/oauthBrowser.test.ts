/**
 * "Sign in with Chutes" in a real browser: headless Chromium (playwright-core) is the user's browser, FakeChutes is the
 * identity provider, and the SDK's local login flow runs for real — loopback listener, consent page, redirect, code
 * exchange — then the profile is stored the way the CLI stores it.
 *
 * Runs with `npm run test:browser` (vitest.browser.config.ts). Without a Chromium binary the suite is skipped with a
 * loud banner, never passed silently.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Page } from "playwright-core"
import * as AuthProfileStore from "../../src/AuthProfileStore.js"
import type { OAuthError } from "../../src/ChutesError.js"
import * as ChutesOAuth from "../../src/ChutesOAuth.js"
import * as ChutesSettings from "../../src/ChutesSettings.js"
import * as NodeOAuthLogin from "../../src/node/NodeOAuthLogin.js"
import * as OAuthLogin from "../../src/OAuthLogin.js"
import * as Chromium from "./chromium.js"
import { bindable, connect } from "../support/net.js"
import { idpSetup } from "../support/idp.js"
import { portableFiles } from "../support/nodeFiles.js"

const executable = Chromium.findChromium()
if (executable === undefined) Chromium.warnSkipped()

// ---------------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------------

/** `a.b.c.d` from the little-endian hex of /proc/net/tcp. */
const ipv4FromHex = (hex: string): string =>
  [6, 4, 2, 0].map((i) => String(Number.parseInt(hex.slice(i, i + 2), 16))).join(".")

/**
 * The addresses of the sockets LISTENING on `port`, read from the kernel (Linux /proc/net/tcp{,6}): what the socket is
 * really bound to, whatever the process believes. IPv6 addresses are given as the kernel's 32 hex digits.
 */
const listeningOn = (port: number): ReadonlyArray<string> => {
  const found: Array<string> = []
  for (const [file, v4] of [["/proc/net/tcp", true], ["/proc/net/tcp6", false]] as const) {
    if (!existsSync(file)) continue
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const [local, , state] = line.trim().split(/\s+/).slice(1)
      if (local === undefined || state !== "0A") continue
      const [address = "", hexPort = ""] = local.split(":")
      if (Number.parseInt(hexPort, 16) === port) found.push(v4 ? ipv4FromHex(address) : `[${address}]`)
    }
  }
  return found
}

/** The fake IdP with an ephemeral-port redirect URI registered, the OAuth layer over it, and a temp state dir. */
const setup = Effect.gen(function*() {
  // The consent page is shown (no auto-approve): the browser has to click.
  const { port, redirectUri, server, app, oauth } = yield* idpSetup({ autoApprove: false })
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(Path.join(Os.tmpdir(), "effect-chutes-browser-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
  )
  const storePath = Path.join(dir, "auth-profiles.json")
  const store = AuthProfileStore.layerFile({ path: storePath }).pipe(
    Layer.provide(Layer.mergeAll(portableFiles, ChutesSettings.layer({ stateDir: dir })))
  )
  return { port, redirectUri, server, app, oauth, store, storePath }
})

type Env = Effect.Effect.Success<typeof setup>

/**
 * Runs the SDK's local login with a browser opener that only reports the URL (opening must not block the login,
 * which waits for the callback while the browser navigates), then stores the result the way the CLI does. Returns
 * the login fiber and the URL the SDK asked the browser to open.
 */
const startLogin = (env: Env, lines: Array<string>) =>
  Effect.gen(function*() {
    const opened = yield* Deferred.make<string>()
    const fiber = yield* OAuthLogin.login({ app: env.app, remote: false }).pipe(
      Effect.tap(({ profile, profileId }) =>
        Effect.flatMap(AuthProfileStore.AuthProfileStore, (store) => store.upsert(profileId, profile))
      ),
      Effect.provide(Layer.mergeAll(
        env.oauth,
        env.store,
        OAuthLogin.BrowserOpener.layerTest((url) => Effect.asVoid(Deferred.succeed(opened, url))),
        // Interactive, but the user never pastes: only the browser can finish the sign-in.
        OAuthLogin.Prompter.layerTest({ answers: [], lines }),
        NodeOAuthLogin.layerCallbackServer
      )),
      Effect.fork
    )
    const url = yield* Deferred.await(opened)
    return { fiber, url }
  })

interface Landing {
  readonly url: string
  readonly title: string
  readonly text: string
}

/** The user on the consent page: loads it, clicks Approve or Deny, and waits for the page the redirect lands on. */
const decide = (page: Page, env: Env, decision: "approve" | "deny") =>
  Effect.promise(async (): Promise<Landing> => {
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(env.redirectUri), { waitUntil: "load" }),
      page.click(`#${decision}`)
    ])
    return { url: page.url(), title: await page.title(), text: (await page.textContent("body")) ?? "" }
  })

/** Loads the authorize URL and returns the consent page's title. */
const openConsent = (page: Page, url: string) =>
  Effect.promise(async () => {
    const response = await page.goto(url, { waitUntil: "load" })
    return { status: response?.status(), title: await page.title(), username: await page.textContent("#username") }
  })

/** Loads `url`; "loaded <status>" or the browser's network error (e.g. net::ERR_CONNECTION_REFUSED). */
const load = (page: Page, url: string) =>
  Effect.promise(() =>
    page.goto(url, { waitUntil: "load", timeout: 15_000 }).then(
      (response) => `loaded ${response?.status() ?? "?"}`,
      (error: unknown) => (error instanceof Error ? error.message : String(error))
    )
  )

// ---------------------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------------------

describe.skipIf(executable === undefined)("Sign in with Chutes in headless Chromium", () => {
  let browser: Chromium.RunningChromium | undefined

  beforeAll(async () => {
    browser = await Chromium.launch(executable ?? "")
  })

  afterAll(async () => {
    await browser?.close()
  })

  /** A fresh tab for the test, closed with its scope. */
  const newPage = Effect.acquireRelease(
    Effect.promise(() => {
      if (browser === undefined) throw new Error("Chromium did not start")
      return browser.context.newPage()
    }),
    (page) => Effect.promise(() => page.close())
  )

  it.live("Approve: the browser lands on the success page and the profile is stored (0600) with the IdP's tokens", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const page = yield* newPage
      const lines: Array<string> = []
      const { fiber, url } = yield* startLogin(env, lines)
      assert.strictEqual(lines[0], `Open this URL in your browser: ${url}`, "the URL is printed as well as opened")

      const consent = yield* openConsent(page, url)
      assert.strictEqual(consent.status, 200)
      assert.strictEqual(consent.title, "Authorize application")
      assert.strictEqual(consent.username, "alice")
      // The listener is up before the user decides, on the loopback address only.
      assert.strictEqual(yield* connect(env.port), "connected")
      assert.notStrictEqual(yield* connect(env.port, "::1"), "connected")
      if (process.platform === "linux") assert.deepStrictEqual(listeningOn(env.port), ["127.0.0.1"])

      const landing = yield* decide(page, env, "approve")
      assert.strictEqual(landing.title, OAuthLogin.SUCCESS_TITLE)
      const callback = new URL(landing.url)
      assert.strictEqual(`${callback.origin}${callback.pathname}`, env.redirectUri)
      assert.isNotNull(callback.searchParams.get("code"))

      const completed = yield* Fiber.join(fiber)
      assert.strictEqual(completed.profileId, "chutes:alice")
      assert.strictEqual(env.server.counters.tokenByGrant.authorization_code, 1)

      // Stored as the CLI stores it: the file is 0600 and holds the profile.
      assert.strictEqual(statSync(env.storePath).mode & 0o777, 0o600)
      const document: unknown = JSON.parse(readFileSync(env.storePath, "utf8"))
      const stored = Option.fromNullable(
        typeof document === "object" && document !== null && "profiles" in document &&
          typeof document.profiles === "object" && document.profiles !== null && "chutes:alice" in document.profiles
          ? document.profiles["chutes:alice"]
          : undefined
      )
      assert.isTrue(Option.isSome(stored))
      // On disk the client secret is a plain string (the store is 0600, beside the refresh token); in memory Redacted.
      const { clientSecret, ...rest } = completed.profile
      assert.isTrue(clientSecret !== undefined && Redacted.isRedacted(clientSecret))
      assert.deepStrictEqual(Option.getOrUndefined(stored), {
        ...rest,
        clientSecret: clientSecret === undefined ? undefined : Redacted.value(clientSecret)
      })
      assert.strictEqual(completed.profile.type, "oauth")
      assert.strictEqual(completed.profile.clientId, env.server.clientId)
      assert.strictEqual(completed.profile.accountId, "user-alice-0001")

      // The stored tokens are the IdP's own: the access token reads the user info, the refresh token refreshes.
      const oauth = yield* ChutesOAuth.ChutesOAuth.pipe(Effect.provide(env.oauth))
      const info = yield* oauth.userInfo(Redacted.make(completed.profile.access))
      assert.strictEqual(info.username, "alice")
      const refreshed = yield* oauth.refresh({
        clientId: completed.profile.clientId,
        refreshToken: Redacted.make(completed.profile.refresh)
      }).pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["CHUTES_CLIENT_SECRET", env.server.clientSecret ?? ""]]))
        )
      )
      assert.notStrictEqual(Redacted.value(refreshed.access), completed.profile.access)
      assert.strictEqual(env.server.counters.tokenByGrant.refresh_token, 1)

      // The flow is over: nothing answers on the port, and the port is free again.
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
      assert.isTrue(yield* bindable(env.port))
      // No token in anything printed to the user.
      for (const line of lines) {
        assert.notInclude(line, completed.profile.access)
        assert.notInclude(line, completed.profile.refresh)
      }
    }).pipe(Effect.scoped))

  it.live("a second callback after the success is refused: the browser cannot even connect", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const page = yield* newPage
      const { fiber, url } = yield* startLogin(env, [])
      yield* openConsent(page, url)
      const landing = yield* decide(page, env, "approve")
      assert.strictEqual(landing.title, OAuthLogin.SUCCESS_TITLE)
      yield* Fiber.join(fiber)

      // The same callback URL again (reload, back button, a replayed link): the listener is gone.
      const again = yield* load(page, landing.url)
      assert.match(again, /net::ERR_CONNECTION_REFUSED/)
      assert.strictEqual(env.server.counters.tokenByGrant.authorization_code, 1, "the code is exchanged once")
      assert.isTrue(yield* bindable(env.port))
    }).pipe(Effect.scoped))

  it.live("Deny: the browser shows the error page, the login fails with Denied and nothing is stored", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const page = yield* newPage
      const { fiber, url } = yield* startLogin(env, [])
      yield* openConsent(page, url)
      const landing = yield* decide(page, env, "deny")
      assert.strictEqual(landing.title, "Sign-in was not completed")
      assert.include(landing.text, "denied")
      assert.strictEqual(new URL(landing.url).searchParams.get("error"), "access_denied")

      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(exit._tag, "Failure")
      const error = yield* Effect.flip(exit)
      assert.strictEqual(error._tag, "OAuthError")
      const denied: OAuthError | undefined = error._tag === "OAuthError" ? error : undefined
      assert.strictEqual(denied?.reason, "Denied")
      assert.strictEqual(denied?.error, "access_denied")
      assert.isFalse(existsSync(env.storePath), "no profile store was written")
      assert.strictEqual(env.server.counters.token, 0, "no code exchange was attempted")
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
      assert.isTrue(yield* bindable(env.port))
    }).pipe(Effect.scoped))

  it.live("a callback with a forged state gets an error page and never completes the sign-in", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const page = yield* newPage
      const { fiber, url } = yield* startLogin(env, [])
      yield* openConsent(page, url)

      // Another tab follows an attacker's link carrying a code but a state this sign-in never sent.
      const attacker = yield* newPage
      const forged = `${env.redirectUri}?code=attacker-code&state=${"f".repeat(32)}`
      assert.strictEqual(yield* load(attacker, forged), "loaded 400")
      assert.strictEqual(yield* Effect.promise(() => attacker.title()), "Sign-in callback rejected")
      const noState = `${env.redirectUri}?code=attacker-code`
      assert.strictEqual(yield* load(attacker, noState), "loaded 400")
      // A forged denial does not end the flow either.
      assert.strictEqual(yield* load(attacker, `${env.redirectUri}?error=access_denied&state=forged`), "loaded 400")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "the sign-in is still waiting")
      assert.strictEqual(env.server.counters.token, 0, "the forged code was never exchanged")

      // The user's own approval still completes it.
      const landing = yield* decide(page, env, "approve")
      assert.strictEqual(landing.title, OAuthLogin.SUCCESS_TITLE)
      const completed = yield* Fiber.join(fiber)
      assert.strictEqual(completed.profileId, "chutes:alice")
      assert.strictEqual(env.server.counters.tokenByGrant.authorization_code, 1)
    }).pipe(Effect.scoped))
})
