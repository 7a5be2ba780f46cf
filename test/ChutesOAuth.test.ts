import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import { OAuthError } from "../src/ChutesError.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import { json, type Scripted, scriptedClient } from "./support/http.js"
import { idpSetup } from "./support/idp.js"

const IDP = "http://idp.test"
const STATE = "st_0123456789abcdefABCDEF"
const app: ChutesOAuth.OAuthApp = {
  clientId: "cid_test_client",
  clientSecret: Redacted.make("cs_test_secret_value"),
  redirectUri: "http://127.0.0.1:1456/oauth-callback",
  scopes: ["openid", "profile", "chutes:invoke"]
}
const tokenBody = {
  access_token: "cak_test_access_0001",
  refresh_token: "crt_test_refresh_0001",
  token_type: "Bearer",
  expires_in: 3600,
  scope: "openid profile chutes:invoke"
}

/** An env for Config made of exactly these variables. */
const withEnv = (vars: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

const oauthOver = (script: ReadonlyArray<Scripted>) => {
  const scripted = scriptedClient(script)
  const layer = ChutesOAuth.layer.pipe(
    Layer.provide(Layer.mergeAll(
      ChutesSettings.layer({ idpBaseUrl: IDP }),
      Layer.succeed(HttpClient.HttpClient, scripted.client)
    ))
  )
  return { layer, requests: scripted.requests }
}

/** The form fields of a recorded request, in order. */
const formOf = (request: HttpClientRequest.HttpClientRequest | undefined): ReadonlyArray<[string, string]> => {
  if (request?.body._tag !== "Uint8Array") throw new Error("expected a form body")
  assert.strictEqual(request.body.contentType, "application/x-www-form-urlencoded")
  return Array.from(new URLSearchParams(new TextDecoder().decode(request.body.body)).entries())
}

const leakFree = (error: unknown, secrets: ReadonlyArray<string>) => {
  const renderings = [String(error), JSON.stringify(error), error instanceof Error ? error.message : ""]
  for (const text of renderings) {
    for (const secret of secrets) assert.notInclude(text, secret, `leaked ${secret} in ${text}`)
  }
}

describe("PKCE and state", () => {
  it("matches the RFC 7636 appendix B vector", () => {
    // RFC 7636 appendix B: verifier from the octets 116, 24, 223, …; challenge = BASE64URL(SHA256(verifier)).
    assert.strictEqual(
      ChutesOAuth.challengeFor("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
  })

  it("makes 43-character base64url verifiers whose challenges are 43 characters, all distinct", () => {
    const verifiers = Array.from({ length: 50 }, () => ChutesOAuth.makeVerifier())
    for (const verifier of verifiers) {
      assert.match(verifier, /^[A-Za-z0-9_-]{43}$/)
      assert.strictEqual(Buffer.from(verifier, "base64url").length, 32)
      assert.match(ChutesOAuth.challengeFor(verifier), /^[A-Za-z0-9_-]{43}$/)
    }
    assert.strictEqual(new Set(verifiers).size, 50)
  })

  it.effect("draws the state independently of the verifier, fresh each time, at least 16 bytes", () =>
    Effect.gen(function*() {
      const requests = yield* Effect.all(Array.from({ length: 20 }, () => ChutesOAuth.makeAuthorizationRequest))
      assert.strictEqual(new Set(requests.map((r) => r.state)).size, 20)
      for (const request of requests) {
        const verifier = Redacted.value(request.verifier)
        assert.isAtLeast(Buffer.from(request.state, "base64url").length, 16)
        assert.match(request.state, /^[A-Za-z0-9_-]+$/)
        assert.notStrictEqual(request.state, verifier)
        assert.notStrictEqual(request.state, request.challenge)
        assert.notInclude(verifier, request.state)
        assert.notInclude(request.challenge, request.state)
        assert.strictEqual(request.challenge, ChutesOAuth.challengeFor(verifier))
      }
    }))

  it("builds the authorize URL with exactly the expected parameters", () => {
    const url = new URL(ChutesOAuth.authorizeUrl(`${IDP}/`, app, { state: STATE, challenge: "ch_abc" }))
    assert.strictEqual(`${url.origin}${url.pathname}`, `${IDP}/idp/authorize`)
    assert.deepStrictEqual(Array.from(url.searchParams.entries()), [
      ["client_id", "cid_test_client"],
      ["redirect_uri", "http://127.0.0.1:1456/oauth-callback"],
      ["response_type", "code"],
      ["scope", "openid profile chutes:invoke"],
      ["state", STATE],
      ["code_challenge", "ch_abc"],
      ["code_challenge_method", "S256"]
    ])
  })
})

describe("app settings from the environment", () => {
  it.effect("uses the defaults when nothing is set (empty counts as unset)", () =>
    Effect.gen(function*() {
      const settings = yield* ChutesOAuth.appFromEnv.pipe(withEnv({ CHUTES_CLIENT_ID: "  ", CHUTES_OAUTH_SCOPES: "" }))
      assert.isTrue(Option.isNone(settings.clientId))
      assert.isUndefined(settings.clientSecret)
      assert.strictEqual(settings.redirectUri, "http://127.0.0.1:1456/oauth-callback")
      assert.deepStrictEqual(settings.scopes, ["openid", "profile", "chutes:invoke"])
    }))

  it.effect("reads every variable; the secret stays Redacted; scopes split on whitespace", () =>
    Effect.gen(function*() {
      const settings = yield* ChutesOAuth.appFromEnv.pipe(withEnv({
        CHUTES_CLIENT_ID: "cid_env",
        CHUTES_CLIENT_SECRET: "cs_env_secret_1234",
        CHUTES_OAUTH_REDIRECT_URI: "http://localhost:9999/cb",
        CHUTES_OAUTH_SCOPES: " openid\tchutes:invoke  profile "
      }))
      assert.deepStrictEqual(settings.clientId, Option.some("cid_env"))
      assert.strictEqual(settings.clientSecret && Redacted.value(settings.clientSecret), "cs_env_secret_1234")
      assert.notInclude(JSON.stringify(settings), "cs_env_secret_1234")
      assert.strictEqual(settings.redirectUri, "http://localhost:9999/cb")
      assert.deepStrictEqual(settings.scopes, ["openid", "chutes:invoke", "profile"])
      const secret = yield* ChutesOAuth.clientSecretFromEnv.pipe(withEnv({ CHUTES_CLIENT_SECRET: "cs_other_9999" }))
      assert.strictEqual(Option.map(secret, Redacted.value).pipe(Option.getOrUndefined), "cs_other_9999")
    }))

  it.effect("warns when chutes:invoke is missing", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => void logged.push(String(message)))
      yield* ChutesOAuth.appFromEnv.pipe(
        withEnv({ CHUTES_OAUTH_SCOPES: "openid profile" }),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      assert.isTrue(logged.some((line) => line.includes("chutes:invoke")))
      logged.length = 0
      yield* ChutesOAuth.appFromEnv.pipe(withEnv({}), Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      assert.deepStrictEqual(logged, [])
    }))
})

describe("parseCallbackInput", () => {
  const code = "the_code_0123456789"
  const good = `code=${code}&state=${STATE}`
  const cases: ReadonlyArray<readonly [string, string, string | undefined]> = [
    ["full URL", `http://127.0.0.1:1456/oauth-callback?${good}`, undefined],
    ["https URL with a fragment", `https://app.example/cb?${good}#top`, undefined],
    ["?query", `?${good}`, undefined],
    ["bare query", good, undefined],
    ["whitespace around", `  \n http://127.0.0.1:1456/oauth-callback?${good} \t\n`, undefined],
    ["URL without scheme", `127.0.0.1:1456/oauth-callback?state=${STATE}&code=${code}`, undefined],
    ["bare code", code, "InvalidCallback"],
    ["empty", "   ", "InvalidCallback"],
    ["missing state", `http://127.0.0.1:1456/oauth-callback?code=${code}`, "StateMismatch"],
    ["empty state", `code=${code}&state=`, "StateMismatch"],
    ["wrong state", `code=${code}&state=st_someone_else`, "StateMismatch"],
    ["state prefix", `code=${code}&state=${STATE.slice(0, -1)}`, "StateMismatch"],
    ["missing code", `state=${STATE}`, "InvalidCallback"],
    ["duplicate code", `code=${code}&code=other&state=${STATE}`, "InvalidCallback"],
    ["error=access_denied", `http://127.0.0.1:1456/oauth-callback?error=access_denied&state=${STATE}`, "Denied"],
    ["error without state", "?error=access_denied", "StateMismatch"],
    ["garbage", "%%% not :// a [url", "InvalidCallback"],
    ["broken URL", "http://[::1", "InvalidCallback"]
  ]
  for (const [name, input, reason] of cases) {
    it(name, () => {
      const result = ChutesOAuth.parseCallbackInput(input, STATE)
      if (reason === undefined) {
        assert.isTrue(Either.isRight(result), `expected success for ${input}`)
        if (Either.isRight(result)) assert.strictEqual(Redacted.value(result.right.code), code)
      } else {
        assert.isTrue(Either.isLeft(result), `expected ${reason} for ${input}`)
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left.reason, reason)
          leakFree(result.left, [code])
        }
      }
    })
  }

  it("refuses a bare code with the full-URL hint", () => {
    const result = ChutesOAuth.parseCallbackInput("abc123def456", STATE)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left.detail, "paste the full redirect URL (it must include code and state)")
      assert.include(result.left.message, "paste the full redirect URL (it must include code and state)")
    }
  })

  it("keeps the error code and scrubs the error description", () => {
    const description = encodeURIComponent("user said no to cak_leaked_token_123")
    const result = ChutesOAuth.parseCallbackInput(
      `?error=access_denied&error_description=${description}&state=${STATE}`,
      STATE
    )
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left.reason, "Denied")
      assert.strictEqual(result.left.error, "access_denied")
      assert.include(result.left.message, "access_denied")
      assert.include(result.left.message, "user said no")
      leakFree(result.left, ["cak_leaked_token_123"])
    }
  })
})

describe("expiry", () => {
  it("is now + expires_in − 5 min, at least now + 30 s", () => {
    assert.strictEqual(ChutesOAuth.expiresAt(1_000_000, 3600), 4_300_000)
    assert.strictEqual(ChutesOAuth.expiresAt(1_000_000, 60), 1_030_000)
    assert.strictEqual(ChutesOAuth.expiresAt(0, 330), 30_000)
    assert.strictEqual(ChutesOAuth.expiresAt(0, 331), 31_000)
  })

  it("accepts positive integers (and their decimal strings) only", () => {
    const accepted: ReadonlyArray<readonly [unknown, number]> = [[3600, 3600], [1, 1], ["3600", 3600]]
    for (const [value, expected] of accepted) {
      assert.deepStrictEqual(ChutesOAuth.parseExpiresIn(value), Option.some(expected), String(value))
    }
    const rejected: ReadonlyArray<unknown> = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      JSON.parse("1e309"),
      -1,
      0,
      1.5,
      "abc",
      "1.5",
      "-5",
      " 3600",
      "0",
      "",
      "1e3",
      null,
      undefined,
      true,
      [3600],
      2 ** 60
    ]
    for (const value of rejected) {
      assert.isTrue(Option.isNone(ChutesOAuth.parseExpiresIn(value)), `accepted ${String(value)}`)
    }
  })
})

describe("code exchange", () => {
  it.effect("posts exactly the authorization_code form, with the client secret when set", () =>
    Effect.gen(function*() {
      const { layer, requests } = oauthOver([json(200, tokenBody)])
      yield* TestClock.setTime(1_000_000)
      const tokens = yield* Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) => oauth.exchangeCode({ app, code: "code_1", verifier: Redacted.make("verifier_1") })
      ).pipe(Effect.provide(layer))
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(requests[0]?.method, "POST")
      assert.strictEqual(requests[0]?.url, `${IDP}/idp/token`)
      assert.deepStrictEqual(formOf(requests[0]), [
        ["grant_type", "authorization_code"],
        ["client_id", "cid_test_client"],
        ["code", "code_1"],
        ["redirect_uri", "http://127.0.0.1:1456/oauth-callback"],
        ["code_verifier", "verifier_1"],
        ["client_secret", "cs_test_secret_value"]
      ])
      assert.strictEqual(Redacted.value(tokens.access), "cak_test_access_0001")
      assert.strictEqual(Redacted.value(tokens.refresh), "crt_test_refresh_0001")
      assert.strictEqual(tokens.expires, 4_300_000)
      assert.strictEqual(tokens.scope, "openid profile chutes:invoke")
      assert.notInclude(JSON.stringify(tokens), "cak_test_access_0001")
      assert.notInclude(String(tokens.access), "cak_test_access_0001")
    }))

  it.effect("sends no client_secret when the app has none", () =>
    Effect.gen(function*() {
      const { layer, requests } = oauthOver([json(200, tokenBody)])
      yield* Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) => oauth.exchangeCode({ app: { ...app, clientSecret: undefined }, code: "c", verifier: "v" })
      ).pipe(Effect.provide(layer), withEnv({ CHUTES_CLIENT_SECRET: "cs_env_should_not_be_used" }))
      assert.deepStrictEqual(formOf(requests[0]).map(([key]) => key), [
        "grant_type",
        "client_id",
        "code",
        "redirect_uri",
        "code_verifier"
      ])
    }))

  it.effect("maps IdP answers to typed errors and never retries", () =>
    Effect.gen(function*() {
      const exchange = (script: ReadonlyArray<Scripted>) => {
        const { layer, requests } = oauthOver(script)
        return Effect.flatMap(
          ChutesOAuth.ChutesOAuth,
          (oauth) => Effect.flip(oauth.exchangeCode({ app, code: "code_secret_xyz", verifier: "verifier_secret_xyz" }))
        ).pipe(Effect.provide(layer), Effect.map((error) => ({ error, calls: requests.length })))
      }
      const secrets = ["code_secret_xyz", "verifier_secret_xyz", "cs_test_secret_value"]

      const grant = yield* exchange([json(400, { error: "invalid_grant" }), json(200, tokenBody)])
      assert.strictEqual(grant.error.reason, "Exchange")
      assert.strictEqual(grant.error.error, "invalid_grant")
      assert.strictEqual(grant.error.status, 400)
      assert.strictEqual(grant.calls, 1)

      const server = yield* exchange([{ status: 500, body: "upstream exploded" }, json(200, tokenBody)])
      assert.strictEqual(server.error.reason, "Exchange")
      assert.strictEqual(server.error.status, 500)
      assert.strictEqual(server.calls, 1, "a 500 is not retried: the code may have been used")

      const reset = yield* exchange(["reset", json(200, tokenBody)])
      assert.strictEqual(reset.error.reason, "Transport")
      assert.strictEqual(reset.calls, 1)

      const html = yield* exchange([{ status: 200, body: "<html><title>Oops</title></html>" }])
      assert.strictEqual(html.error.reason, "InvalidTokenResponse")

      const noRefresh = yield* exchange([json(200, { ...tokenBody, refresh_token: undefined })])
      assert.strictEqual(noRefresh.error.reason, "InvalidTokenResponse")
      assert.include(noRefresh.error.message, "refresh_token")

      const noAccess = yield* exchange([json(200, { ...tokenBody, access_token: "" })])
      assert.strictEqual(noAccess.error.reason, "InvalidTokenResponse")

      for (const raw of ["1e309", "-1", "0", "1.5", "\"abc\"", "null", "NaN"]) {
        const body = `{"access_token":"cak_a_0001","refresh_token":"crt_r_0001","expires_in":${raw}}`
        const bad = yield* exchange([{ status: 200, body, headers: { "content-type": "application/json" } }])
        assert.strictEqual(bad.error.reason, "InvalidTokenResponse", raw)
        leakFree(bad.error, ["cak_a_0001", "crt_r_0001"])
      }

      const echo = yield* exchange([json(400, {
        error: "invalid_client",
        error_description: "client_secret=cs_test_secret_value and code=code_secret_xyz rejected; refresh crt_abcdef123"
      })])
      assert.strictEqual(echo.error.error, "invalid_client")
      for (const { error } of [grant, server, reset, html, noRefresh, noAccess, echo]) {
        leakFree(error, [...secrets, "crt_abcdef123", "cak_test_access_0001", "crt_test_refresh_0001"])
      }
    }))

  it.effect("gives up after 30 s (TestClock)", () =>
    Effect.gen(function*() {
      const { layer } = oauthOver(["hang"])
      const fiber = yield* Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) => oauth.exchangeCode({ app, code: "c", verifier: "v" })
      ).pipe(Effect.provide(layer), Effect.flip, Effect.fork)
      yield* TestClock.adjust(Duration.seconds(29))
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "still waiting at 29 s")
      yield* TestClock.adjust(Duration.seconds(1))
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error.reason, "Timeout")
    }))
})

describe("refresh", () => {
  it.effect("posts the refresh_token form with the client secret read from the env at call time", () =>
    Effect.gen(function*() {
      const { layer, requests } = oauthOver([json(200, tokenBody)])
      const refresh = Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) => oauth.refresh({ clientId: "cid_stored", refreshToken: Redacted.make("crt_old_0001") })
      )
      yield* Effect.gen(function*() {
        yield* refresh.pipe(withEnv({ CHUTES_CLIENT_SECRET: "cs_first_secret" }))
        yield* refresh.pipe(withEnv({ CHUTES_CLIENT_SECRET: "cs_rotated_secret" }))
        yield* refresh.pipe(withEnv({}))
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(formOf(requests[0]), [
        ["grant_type", "refresh_token"],
        ["client_id", "cid_stored"],
        ["refresh_token", "crt_old_0001"],
        ["client_secret", "cs_first_secret"]
      ])
      assert.deepStrictEqual(formOf(requests[1]).at(-1), ["client_secret", "cs_rotated_secret"])
      assert.deepStrictEqual(formOf(requests[2]).map(([key]) => key), ["grant_type", "client_id", "refresh_token"])
    }))

  it.effect("takes the client id from the env when none is given, else fails with ClientId", () =>
    Effect.gen(function*() {
      const { layer, requests } = oauthOver([json(200, tokenBody)])
      const refresh = Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) => oauth.refresh({ refreshToken: Redacted.make("crt_old_0001") })
      ).pipe(Effect.provide(layer))
      yield* refresh.pipe(withEnv({ CHUTES_CLIENT_ID: "cid_from_env" }))
      assert.deepStrictEqual(formOf(requests[0])[1], ["client_id", "cid_from_env"])
      const error = yield* Effect.flip(refresh.pipe(withEnv({})))
      assert.strictEqual(error.reason, "ClientId")
      assert.include(error.message, "CHUTES_CLIENT_ID")
      assert.strictEqual(requests.length, 1)
    }))

  it.effect("keeps the old refresh token when none (or an empty one) comes back", () =>
    Effect.gen(function*() {
      for (const refreshToken of [undefined, "", "   "]) {
        const { layer } = oauthOver([json(200, { ...tokenBody, refresh_token: refreshToken })])
        const tokens = yield* Effect.flatMap(
          ChutesOAuth.ChutesOAuth,
          (oauth) => oauth.refresh({ clientId: "cid_x", refreshToken: Redacted.make("crt_keep_me") })
        ).pipe(Effect.provide(layer), withEnv({}))
        assert.strictEqual(Redacted.value(tokens.refresh), "crt_keep_me")
        assert.strictEqual(Redacted.value(tokens.access), "cak_test_access_0001")
      }
    }))

  it.effect("is not retried after a failure", () =>
    Effect.gen(function*() {
      const { layer, requests } = oauthOver([{ status: 503, body: "" }, json(200, tokenBody)])
      const error = yield* Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) => Effect.flip(oauth.refresh({ clientId: "cid_x", refreshToken: Redacted.make("crt_once") }))
      ).pipe(Effect.provide(layer), withEnv({}))
      assert.strictEqual(error.reason, "Exchange")
      assert.strictEqual(error.status, 503)
      assert.strictEqual(requests.length, 1)
    }))
})

describe("completeLogin and profiles", () => {
  it("derives safe profile ids", () => {
    assert.strictEqual(ChutesOAuth.profileIdFor({ username: "alice" }), "chutes:alice")
    assert.strictEqual(ChutesOAuth.profileIdFor({ username: "Bob.Smith_2" }), "chutes:Bob.Smith_2")
    assert.strictEqual(ChutesOAuth.profileIdFor({ username: "../../etc/passwd" }), "chutes:etc-passwd")
    assert.strictEqual(ChutesOAuth.profileIdFor({ username: "a b\nc" }), "chutes:a-b-c")
    assert.strictEqual(ChutesOAuth.profileIdFor({ username: "x".repeat(100) }), `chutes:${"x".repeat(64)}`)
    assert.strictEqual(ChutesOAuth.profileIdFor({ username: "..." }), "chutes:default")
    assert.strictEqual(ChutesOAuth.profileIdFor({ username: "" }), "chutes:default")
    assert.strictEqual(ChutesOAuth.profileIdFor({ sub: "user-1" }), "chutes:default")
    assert.strictEqual(ChutesOAuth.profileIdFor(undefined), "chutes:default")
  })

  it.effect("exchanges, reads the user info and returns the store's profile shape", () =>
    Effect.gen(function*() {
      const { layer, requests } = oauthOver([
        json(200, tokenBody),
        json(200, { sub: "user-alice-0001", username: "alice" })
      ])
      yield* TestClock.setTime(1_000_000)
      const result = yield* Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) => oauth.completeLogin({ app, code: "c", verifier: "v" })
      ).pipe(Effect.provide(layer))
      assert.strictEqual(result.profileId, "chutes:alice")
      assert.deepStrictEqual(result.profile, {
        type: "oauth",
        provider: "chutes",
        access: "cak_test_access_0001",
        refresh: "crt_test_refresh_0001",
        expires: 4_300_000,
        email: "alice",
        clientId: "cid_test_client",
        accountId: "user-alice-0001"
      })
      assert.strictEqual(requests[1]?.url, `${IDP}/idp/userinfo`)
      assert.strictEqual(requests[1]?.headers["authorization"], "Bearer cak_test_access_0001")
    }))

  it.effect("keeps the tokens as chutes:default when userinfo fails, with a warning", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => void logged.push(String(message)))
      for (const userinfo of [json(500, { error: "server_error" }), "reset" as const, { status: 200, body: "nope" }]) {
        const { layer } = oauthOver([json(200, tokenBody), userinfo])
        const result = yield* Effect.flatMap(
          ChutesOAuth.ChutesOAuth,
          (oauth) => oauth.completeLogin({ app, code: "c", verifier: "v" })
        ).pipe(Effect.provide(layer), Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        assert.strictEqual(result.profileId, "chutes:default")
        assert.strictEqual(result.profile.access, "cak_test_access_0001")
        assert.strictEqual(result.profile.refresh, "crt_test_refresh_0001")
        assert.isFalse("email" in result.profile)
        assert.isFalse("accountId" in result.profile)
      }
      assert.strictEqual(logged.filter((line) => line.includes("chutes:default")).length, 3)
      for (const line of logged) assert.notInclude(line, "cak_test_access_0001")
    }))
})

describe("against FakeChutes over loopback", () => {
  /** Plays the browser: GET the authorize URL (auto-approve) and return the redirect it answers with. */
  const browse = (url: string) =>
    Effect.promise(async () => {
      const res = await fetch(url, { redirect: "manual" })
      assert.strictEqual(res.status, 302)
      return res.headers.get("location") ?? ""
    })

  it.live("runs the code flow, refresh rotation and revoke", () =>
    Effect.gen(function*() {
      const { app: liveApp, oauth: layer, redirectUri, server } = yield* idpSetup()
      const env = withEnv({ CHUTES_CLIENT_SECRET: server.clientSecret ?? "" })
      yield* Effect.gen(function*() {
        const oauth = yield* ChutesOAuth.ChutesOAuth
        const request = yield* ChutesOAuth.makeAuthorizationRequest
        const location = yield* browse(oauth.authorizeUrl(liveApp, request))
        assert.isTrue(location.startsWith(`${redirectUri}?`))
        const { code } = yield* ChutesOAuth.parseCallbackInput(location, request.state)
        const before = Date.now()
        const login = yield* oauth.completeLogin({ app: liveApp, code, verifier: request.verifier })
        assert.strictEqual(login.profileId, "chutes:alice")
        assert.match(login.profile.access, /^cak_/)
        assert.match(login.profile.refresh, /^crt_/)
        assert.strictEqual(login.profile.accountId, "user-alice-0001")
        assert.strictEqual(login.profile.clientId, "cid_fake_client")
        assert.isAtLeast(login.profile.expires, before + 3_300_000)
        assert.isAtMost(login.profile.expires, Date.now() + 3_300_000)
        assert.strictEqual(server.counters.tokenByGrant.authorization_code, 1)

        // The code is single-use: a second exchange is refused.
        const reuse = yield* Effect.flip(oauth.exchangeCode({ app: liveApp, code, verifier: request.verifier }))
        assert.strictEqual(reuse.error, "invalid_grant")

        // Refresh rotates; the old refresh token is then refused.
        const first = Redacted.make(login.profile.refresh)
        const rotated = yield* oauth.refresh({ clientId: liveApp.clientId, refreshToken: first })
        assert.notStrictEqual(Redacted.value(rotated.refresh), login.profile.refresh)
        assert.notStrictEqual(Redacted.value(rotated.access), login.profile.access)
        const replay = yield* Effect.flip(oauth.refresh({ clientId: liveApp.clientId, refreshToken: first }))
        assert.strictEqual(replay.reason, "Exchange")
        assert.strictEqual(replay.error, "invalid_grant")
        leakFree(replay, [login.profile.refresh, login.profile.access, server.clientSecret ?? ""])

        // Without the client secret the IdP refuses the client.
        const noSecret = yield* Effect.flip(
          oauth.refresh({ clientId: liveApp.clientId, refreshToken: rotated.refresh }).pipe(withEnv({}))
        )
        assert.strictEqual(noSecret.error, "invalid_client")

        const me = yield* oauth.userInfo(rotated.access)
        assert.deepStrictEqual(me, { sub: "user-alice-0001", username: "alice" })
        yield* oauth.revoke(rotated.access, liveApp.clientId)
        const revoked = yield* Effect.flip(oauth.userInfo(rotated.access))
        assert.strictEqual(revoked.status, 401)
        assert.strictEqual(revoked.error, "invalid_token")

        // No request body or secret reached any error, and the fake saw the secret only in form bodies.
        for (const recorded of server.requests) {
          assert.notInclude(recorded.path, server.clientSecret ?? "")
        }
      }).pipe(Effect.provide(layer), env)
    }).pipe(Effect.scoped))

  it.live("a wrong verifier is refused as invalid_grant", () =>
    Effect.gen(function*() {
      const { app: liveApp, oauth: layer } = yield* idpSetup()
      const error = yield* Effect.gen(function*() {
        const oauth = yield* ChutesOAuth.ChutesOAuth
        const request = yield* ChutesOAuth.makeAuthorizationRequest
        const { code } = yield* ChutesOAuth.parseCallbackInput(
          yield* browse(oauth.authorizeUrl(liveApp, request)),
          request.state
        )
        return yield* Effect.flip(oauth.exchangeCode({ app: liveApp, code, verifier: ChutesOAuth.makeVerifier() }))
      }).pipe(Effect.provide(layer))
      assert.instanceOf(error, OAuthError)
      assert.strictEqual(error.reason, "Exchange")
      assert.strictEqual(error.error, "invalid_grant")
    }).pipe(Effect.scoped))
})
