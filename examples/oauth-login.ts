/**
 * "Sign in with Chutes", end to end.
 *
 *   npx tsx examples/oauth-login.ts
 *
 * By default it needs no network and no account: it starts FakeChutes (the fake IdP) in-process and runs the PASTE
 * flow, with the browser side automated — an HTTP client approves the consent page and captures the redirect URL,
 * which a scripted `Prompter` pastes back. It prints each step, the profile id and the expiry; never a secret.
 *
 * With CHUTES_CLIENT_ID set (and CHUTES_CLIENT_SECRET, CHUTES_OAUTH_REDIRECT_URI, … as registered on your Chutes
 * app) it runs the real interactive flow against the real IdP, in your terminal and browser. The profile is printed,
 * not stored: `effect-chutes onboard --auth-choice chutes` stores it.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { ChutesOAuth, ChutesSettings, OAuthLogin } from "effect-chutes"
import { NodeOAuthLogin } from "effect-chutes/node"
import { FakeChutes } from "effect-chutes/testing"

const step = (text: string) => Effect.sync(() => console.log(text))
const when = (epochMillis: number) => new Date(epochMillis).toISOString()

/** The browser, automated: load the authorize URL, press "Approve", return where the IdP redirects to. */
const approveInBrowser = async (authorizeUrl: string): Promise<string> => {
  const page = await fetch(authorizeUrl, { redirect: "manual" })
  const html = await page.text()
  const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1]
  if (requestId === undefined) throw new Error(`no consent page (HTTP ${page.status})`)
  const decision = await fetch(new URL("/idp/authorize/decision", authorizeUrl), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ request_id: requestId, decision: "approve" }).toString(),
    redirect: "manual"
  })
  return decision.headers.get("location") ?? ""
}

/** A `Prompter` standing in for the user: it reads the printed URL, "uses the browser", and pastes the result. */
const automatedUser = Layer.sync(OAuthLogin.Prompter, () => {
  let authorizeUrl: string | undefined
  const marker = "Open this URL in your LOCAL browser: "
  return {
    isInteractive: true,
    print: (line) =>
      Effect.sync(() => {
        if (line.startsWith(marker)) authorizeUrl = line.slice(marker.length)
        console.log(`   | ${line}`)
      }),
    prompt: (message) =>
      Effect.promise(async () => {
        console.log(`   | ${message}`)
        if (authorizeUrl === undefined) throw new Error("the login printed no URL")
        const redirect = await approveInBrowser(authorizeUrl)
        // The redirect URL carries the code: show its shape only.
        console.log(`2. The "browser" approved and landed on ${redirect.split("?")[0]}?code=…&state=… — pasting it`)
        return redirect
      })
  }
})

const offlineDemo = Effect.gen(function*() {
  const server = yield* FakeChutes.make()
  yield* step(`1. FakeChutes (the IdP) is listening on ${server.idpBaseUrl}; starting the paste flow`)

  // What a user would put in the environment, given to Config in-process so the real env stays untouched.
  const env = ConfigProvider.fromMap(
    new Map([
      ["CHUTES_CLIENT_ID", server.clientId],
      ["CHUTES_CLIENT_SECRET", server.clientSecret ?? ""],
      ["CHUTES_IDP_BASE_URL", server.idpBaseUrl]
    ])
  )
  const oauthLayer = ChutesOAuth.layer().pipe(
    Layer.provide(Layer.mergeAll(ChutesSettings.layerConfig(), FetchHttpClient.layer))
  )

  yield* Effect.gen(function*() {
    const login = yield* OAuthLogin.login({ forcePaste: true })
    yield* step(`3. Signed in as profile "${login.profileId}" (account ${login.profile.accountId ?? "?"})`)
    yield* step(`   access token expires (margin included) at ${when(login.profile.expires)}`)

    const oauth = yield* ChutesOAuth.ChutesOAuth
    const refreshed = yield* oauth.refresh({
      clientId: login.profile.clientId,
      refreshToken: Redacted.make(login.profile.refresh)
    })
    const rotated = Redacted.value(refreshed.refresh) !== login.profile.refresh
    yield* step(`4. Refreshed: new expiry ${when(refreshed.expires)}; refresh token rotated: ${rotated}`)

    const replay = yield* Effect.flip(
      oauth.refresh({ clientId: login.profile.clientId, refreshToken: Redacted.make(login.profile.refresh) })
    )
    yield* step(`5. Reusing the old refresh token is refused: ${replay.message}`)
  }).pipe(
    Effect.provide(
      Layer.mergeAll(automatedUser, OAuthLogin.BrowserOpener.layerNone, OAuthLogin.CallbackServer.layerNone, oauthLayer)
    ),
    Effect.withConfigProvider(env)
  )
}).pipe(Effect.scoped)

const realLogin = Effect.gen(function*() {
  yield* step("CHUTES_CLIENT_ID is set: signing in with the real Chutes IdP")
  const login = yield* OAuthLogin.login()
  yield* step(`Signed in as profile "${login.profileId}"`)
  yield* step(`The access token is refreshed after ${when(login.profile.expires)}`)
  yield* step("Not stored: run `effect-chutes onboard --auth-choice chutes` to sign in and save the profile.")
}).pipe(Effect.provide(NodeOAuthLogin.layer()))

const main = Effect.gen(function*() {
  const clientId = yield* ChutesOAuth.clientIdFromEnv
  yield* Option.isSome(clientId) ? realLogin : offlineDemo
}).pipe(
  Effect.catchTag("OAuthError", (error) => Effect.sync(() => {
    console.error(`Sign-in failed: ${error.message}`)
    process.exitCode = 1
  }))
)

NodeRuntime.runMain(main)
