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
import { inspect } from "node:util"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import { OAuthError } from "../src/ChutesError.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as OAuthCallback from "../src/OAuthCallback.js"
import * as OAuthPkce from "../src/OAuthPkce.js"
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
  const layer = ChutesOAuth.layer().pipe(
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
  it.effect("matches the RFC 7636 appendix B vector", () =>
    Effect.gen(function*() {
      // RFC 7636 appendix B: verifier from the octets 116, 24, 223, …; challenge = BASE64URL(SHA256(verifier)).
      assert.strictEqual(
        yield* OAuthPkce.challengeFor("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
      )
    }))

  it.effect("makes 43-character base64url verifiers whose challenges are 43 characters, all distinct", () =>
    Effect.gen(function*() {
      const verifiers = Array.from({ length: 50 }, () => OAuthPkce.makeVerifier())
      for (const verifier of verifiers) {
        assert.match(verifier, /^[A-Za-z0-9_-]{43}$/)
        assert.strictEqual(Buffer.from(verifier, "base64url").length, 32)
        assert.match(yield* OAuthPkce.challengeFor(verifier), /^[A-Za-z0-9_-]{43}$/)
      }
      assert.strictEqual(new Set(verifiers).size, 50)
    }))

  it("compares states in constant time, exactly", () => {
    assert.isTrue(OAuthPkce.safeEqual(STATE, STATE))
    assert.isTrue(OAuthPkce.safeEqual("", ""))
    assert.isFalse(OAuthPkce.safeEqual(STATE.slice(0, -1), STATE))
    assert.isFalse(OAuthPkce.safeEqual(`${STATE}x`, STATE))
    assert.isFalse(OAuthPkce.safeEqual(STATE + STATE, STATE))
    assert.isFalse(OAuthPkce.safeEqual("", STATE))
    assert.isFalse(OAuthPkce.safeEqual(STATE, ""))
    assert.isFalse(OAuthPkce.safeEqual("é", "e\u0301"))
  })

  it.effect("draws the state independently of the verifier, fresh each time, at least 16 bytes", () =>
    Effect.gen(function*() {
      const requests = yield* Effect.all(Array.from({ length: 20 }, () => OAuthPkce.makeAuthorizationRequest))
      assert.strictEqual(new Set(requests.map((r) => r.state)).size, 20)
      for (const request of requests) {
        const verifier = Redacted.value(request.verifier)
        assert.isAtLeast(Buffer.from(request.state, "base64url").length, 16)
        assert.match(request.state, /^[A-Za-z0-9_-]+$/)
        assert.notStrictEqual(request.state, verifier)
        assert.notStrictEqual(request.state, request.challenge)
        assert.notInclude(verifier, request.state)
        assert.notInclude(request.challenge, request.state)
        assert.strictEqual(request.challenge, yield* OAuthPkce.challengeFor(verifier))
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
    ["broken URL", "http://[::1", "InvalidCallback"],
    // Bounded: a paste over 8 KiB, a code with control characters or over 8 KiB is not sent to the IdP.
    ["a 50,000-character paste", `code=${code}&state=${STATE}&pad=${"x".repeat(50_000)}`, "InvalidCallback"],
    ["a code with an escape", `code=${code}%1B%5B2J&state=${STATE}`, "InvalidCallback"],
    ["a code with CR LF", `code=${code}%0D%0AX-Injected&state=${STATE}`, "InvalidCallback"]
  ]
  for (const [name, input, reason] of cases) {
    it(name, () => {
      const result = OAuthCallback.parseCallbackInput(input, STATE)
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

  it("a code over 8 KiB from the callback listener is refused too; one of 8 KiB is taken", () => {
    const params = (value: string) => new URLSearchParams({ code: value, state: STATE })
    const long = OAuthCallback.parseCallbackParams(params("c".repeat(OAuthCallback.MAX_CALLBACK_LENGTH + 1)), STATE)
    assert.isTrue(Either.isLeft(long) && long.left.reason === "InvalidCallback")
    const most = OAuthCallback.parseCallbackParams(params("c".repeat(OAuthCallback.MAX_CALLBACK_LENGTH)), STATE)
    assert.isTrue(Either.isRight(most))
  })

  it("refuses a bare code with the full-URL hint", () => {
    const result = OAuthCallback.parseCallbackInput("abc123def456", STATE)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left.detail, "paste the full redirect URL (it must include code and state)")
      assert.include(result.left.message, "paste the full redirect URL (it must include code and state)")
    }
  })

  it("keeps the error code and scrubs the error description", () => {
    const description = encodeURIComponent("user said no to cak_leaked_token_123")
    const result = OAuthCallback.parseCallbackInput(
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

  it.effect("refuses an app without a client secret before any request (the IdP checks it on every exchange)", () =>
    Effect.gen(function*() {
      const { layer, requests } = oauthOver([json(200, tokenBody)])
      // Only a caller outside the type system can get here: `OAuthApp.clientSecret` is required.
      const noSecret = { ...app, clientSecret: undefined } as unknown as ChutesOAuth.OAuthApp
      const error = yield* Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) => Effect.flip(oauth.exchangeCode({ app: noSecret, code: "c", verifier: "v" }))
      ).pipe(Effect.provide(layer), withEnv({ CHUTES_CLIENT_SECRET: "cs_env_should_not_be_used" }))
      assert.strictEqual(error.reason, "ClientSecret")
      assert.include(error.message, "CHUTES_CLIENT_SECRET")
      assert.strictEqual(requests.length, 0)
    }))

  it.effect("a 400 invalid_client says the client id or secret is wrong, naming the id, never the secret", () =>
    Effect.gen(function*() {
      const echo = {
        error: "invalid_client",
        error_description: "bad client_secret cs_test_secret_value (also known as cs_test_secret_value)"
      }
      const { layer, requests } = oauthOver([json(400, { error: "invalid_client" }), json(400, echo)])
      const [plain, echoed] = yield* Effect.flatMap(ChutesOAuth.ChutesOAuth, (oauth) =>
        Effect.all([
          Effect.flip(oauth.exchangeCode({ app, code: "c", verifier: "v" })),
          Effect.flip(oauth.exchangeCode({ app: { ...app, clientSecret: Redacted.make("S3cr3t-no-known-shape-42") }, code: "c", verifier: "v" }))
        ])).pipe(Effect.provide(layer))
      assert.strictEqual(requests.length, 2)
      for (const error of [plain, echoed]) {
        assert.strictEqual(error.reason, "Exchange")
        assert.strictEqual(error.error, "invalid_client")
        assert.strictEqual(error.status, 400)
        assert.include(error.message, "client id or client secret is wrong")
        assert.include(error.message, "cid_test_client")
        assert.include(error.message, "CHUTES_CLIENT_SECRET")
        leakFree(error, ["cs_test_secret_value", "S3cr3t-no-known-shape-42"])
      }
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
      // Said of the IdP, not of a sign-in: a refresh or a userinfo read times out the same way.
      assert.strictEqual(
        error.message,
        "The Chutes identity provider did not answer in time: code exchange: no answer within 30s"
      )
    }))
})

describe("the token and userinfo bodies (one Schema each)", () => {
  const exchangeWith = (body: string) => {
    const { layer } = oauthOver([{ status: 200, body, headers: { "content-type": "application/json" } }])
    return Effect.flatMap(
      ChutesOAuth.ChutesOAuth,
      (oauth) => oauth.exchangeCode({ app, code: "code_secret_xyz", verifier: "verifier_secret_xyz" })
    ).pipe(Effect.provide(layer))
  }

  it.effect("each refusal names the field and what is wrong with it, never its value", () =>
    Effect.gen(function*() {
      const token = "cak_value_never_shown_0001"
      const refresh = "crt_value_never_shown_0001"
      const cases: ReadonlyArray<readonly [string, string]> = [
        [`{"refresh_token":"${refresh}","expires_in":60}`, "access_token is missing or empty"],
        [`{"access_token":"   ","refresh_token":"${refresh}","expires_in":60}`, "access_token is missing or empty"],
        [`{"access_token":12345678901234,"refresh_token":"${refresh}","expires_in":60}`, "access_token is missing or empty"],
        [`{"access_token":"${token}","expires_in":60}`, "refresh_token is missing or empty"],
        [`{"access_token":"${token}","refresh_token":7,"expires_in":60}`, "refresh_token is missing or empty"],
        // Text that would reach a header, the store and the terminal: visible ASCII only, at most 16 KiB.
        [`{"access_token":"${token}\\r\\nX-Injected: 1","refresh_token":"${refresh}","expires_in":60}`, "access_token has characters a bearer token cannot have (spaces, control or non-ASCII characters)"],
        [`{"access_token":"${token}\\u001b[2J\\u001bc","refresh_token":"${refresh}","expires_in":60}`, "access_token has characters a bearer token cannot have (spaces, control or non-ASCII characters)"],
        [`{"access_token":"${token} x","refresh_token":"${refresh}","expires_in":60}`, "access_token has characters a bearer token cannot have (spaces, control or non-ASCII characters)"],
        [`{"access_token":"${token}\\u202e","refresh_token":"${refresh}","expires_in":60}`, "access_token has characters a bearer token cannot have (spaces, control or non-ASCII characters)"],
        [`{"access_token":"${"a".repeat(16 * 1024 + 1)}","refresh_token":"${refresh}","expires_in":60}`, "access_token is over 16384 characters"],
        [`{"access_token":"${token}","refresh_token":"${refresh}\\u0000","expires_in":60}`, "refresh_token has characters a bearer token cannot have (spaces, control or non-ASCII characters)"],
        [`{"access_token":"${token}","refresh_token":"${refresh}"}`, "expires_in must be a positive integer of seconds (got missing)"],
        [`{"access_token":"${token}","refresh_token":"${refresh}","expires_in":"${token}"}`, "expires_in must be a positive integer of seconds (got a string that is not a positive integer)"],
        [`{"access_token":"${token}","refresh_token":"${refresh}","expires_in":null}`, "expires_in must be a positive integer of seconds (got a null that is not a positive integer)"],
        [`{"access_token":"${token}","refresh_token":"${refresh}","expires_in":{"s":1}}`, "expires_in must be a positive integer of seconds (got an object that is not a positive integer)"],
        [`[{"access_token":"${token}"}]`, "the body is not a JSON object"],
        [`"${token}"`, "the body is not a JSON object"],
        [`{"access_token":"${token}"`, "the body is not a JSON object"]
      ]
      for (const [body, detail] of cases) {
        const error = yield* Effect.flip(exchangeWith(body))
        assert.strictEqual(error.reason, "InvalidTokenResponse", body)
        assert.strictEqual(error.detail, detail, body)
        leakFree(error, [token, refresh])
      }
    }))

  it.effect("values are trimmed; an unusable optional field is dropped, not a refusal", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(0)
      const tokens = yield* exchangeWith(
        `{"access_token":"  cak_a  ","refresh_token":" crt_r ","expires_in":"600","scope":42,"extra":{"deep":[1]}}`
      )
      assert.strictEqual(Redacted.value(tokens.access), "cak_a")
      assert.strictEqual(Redacted.value(tokens.refresh), "crt_r")
      assert.strictEqual(tokens.expires, ChutesOAuth.expiresAt(0, 600))
      assert.isFalse("scope" in tokens)
      // A scope with a control character is dropped (it is shown, never sent back); a plain one is kept.
      const odd = yield* exchangeWith(`{"access_token":"cak_a","refresh_token":"crt_r","expires_in":60,"scope":"openid \\u001b]0;T\\u0007"}`)
      assert.isFalse("scope" in odd)
      const plain = yield* exchangeWith(`{"access_token":"cak_a","refresh_token":"crt_r","expires_in":60,"scope":"openid profile"}`)
      assert.strictEqual(plain.scope, "openid profile")
    }))

  it.effect("a refresh answer with a refresh_token that is no token is refused: the old one is not kept in its place", () =>
    Effect.gen(function*() {
      const { layer } = oauthOver([{
        status: 200,
        body: `{"access_token":"cak_new_0001","refresh_token":"crt_\\r\\nnew","expires_in":60}`,
        headers: { "content-type": "application/json" }
      }])
      const error = yield* Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) =>
          oauth.refresh({
            clientId: app.clientId,
            clientSecret: app.clientSecret,
            refreshToken: Redacted.make("crt_old_0001")
          })
      ).pipe(Effect.provide(layer), Effect.flip)
      assert.strictEqual(error.reason, "InvalidTokenResponse")
      assert.include(error.message, "refresh_token has characters a bearer token cannot have")
      leakFree(error, ["cak_new_0001", "crt_old_0001"])
    }))

  it.effect("userinfo: sub and username when they are non-empty strings; a body that is no object is refused", () =>
    Effect.gen(function*() {
      const read = (body: string) => {
        const { layer } = oauthOver([{ status: 200, body, headers: { "content-type": "application/json" } }])
        return Effect.flatMap(ChutesOAuth.ChutesOAuth, (o) => o.userInfo(Redacted.make("cak_reader_0001"))).pipe(
          Effect.provide(layer)
        )
      }
      assert.deepStrictEqual(yield* read(`{"sub":" user-1 ","username":"  alice "}`), { sub: "user-1", username: "alice" })
      assert.deepStrictEqual(yield* read(`{"sub":5,"username":"   ","email":"a@b.c"}`), {})
      assert.deepStrictEqual(yield* read(`{"username":null}`), {})
      for (const body of ["[]", "null", "<html></html>"]) {
        const error = yield* Effect.flip(read(body))
        assert.strictEqual(error.reason, "InvalidTokenResponse", body)
        assert.strictEqual(error.detail, "userinfo: the body is not a JSON object", body)
      }
    }))
})

describe("refresh", () => {
  it.effect("a profile without a stored secret: the secret is read from the env at call time", () =>
    Effect.gen(function*() {
      const { layer, requests } = oauthOver([json(200, tokenBody)])
      const refresh = Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) => oauth.refresh({ clientId: "cid_stored", refreshToken: Redacted.make("crt_old_0001") })
      )
      const missing = yield* Effect.gen(function*() {
        yield* refresh.pipe(withEnv({ CHUTES_CLIENT_SECRET: "cs_first_secret" }))
        yield* refresh.pipe(withEnv({ CHUTES_CLIENT_SECRET: "cs_rotated_secret" }))
        return yield* Effect.flip(refresh.pipe(withEnv({})))
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(formOf(requests[0]), [
        ["grant_type", "refresh_token"],
        ["client_id", "cid_stored"],
        ["refresh_token", "crt_old_0001"],
        ["client_secret", "cs_first_secret"]
      ])
      assert.deepStrictEqual(formOf(requests[1]).at(-1), ["client_secret", "cs_rotated_secret"])
      // Without any secret the IdP would refuse the client: no request is made.
      assert.strictEqual(missing.reason, "ClientSecret")
      assert.include(missing.message, "CHUTES_CLIENT_SECRET")
      assert.strictEqual(requests.length, 2)
    }))

  describe("the stored client id and secret are a pair; env values fill in only where they belong", () => {
    type Client = { readonly id?: string; readonly secret?: string }
    const cases: ReadonlyArray<{
      readonly name: string
      readonly stored: Client
      readonly env: Client
      readonly sent: readonly [string, string] | { readonly reason: "ClientId" | "ClientSecret"; readonly needles: ReadonlyArray<string> }
    }> = [
      { name: "the stored pair, no env", stored: { id: "cid_A", secret: "csc_A" }, env: {}, sent: ["cid_A", "csc_A"] },
      {
        name: "the env secret of the same app wins (a rotated secret)",
        stored: { id: "cid_A", secret: "csc_A" },
        env: { id: "cid_A", secret: "csc_A_rotated" },
        sent: ["cid_A", "csc_A_rotated"]
      },
      {
        name: "the env pair of another app is not mixed in",
        stored: { id: "cid_A", secret: "csc_A" },
        env: { id: "cid_B", secret: "csc_B" },
        sent: ["cid_A", "csc_A"]
      },
      {
        name: "an env secret without an env id does not replace a stored one",
        stored: { id: "cid_A", secret: "csc_A" },
        env: { secret: "csc_unknown_app" },
        sent: ["cid_A", "csc_A"]
      },
      {
        name: "the stored secret when the env has only the same id",
        stored: { id: "cid_A", secret: "csc_A" },
        env: { id: "cid_A" },
        sent: ["cid_A", "csc_A"]
      },
      { name: "an older profile: the env secret fills in", stored: { id: "cid_A" }, env: { secret: "csc_E" }, sent: ["cid_A", "csc_E"] },
      {
        name: "an older profile: the env pair of the same app",
        stored: { id: "cid_A" },
        env: { id: "cid_A", secret: "csc_E" },
        sent: ["cid_A", "csc_E"]
      },
      {
        name: "an older profile and the env pair of another app: refused before any request",
        stored: { id: "cid_A" },
        env: { id: "cid_B", secret: "csc_B" },
        sent: { reason: "ClientSecret", needles: ["cid_A", "cid_B", "CHUTES_CLIENT_ID"] }
      },
      {
        name: "an older profile and no env secret: refused before any request",
        stored: { id: "cid_A" },
        env: {},
        sent: { reason: "ClientSecret", needles: ["CHUTES_CLIENT_SECRET"] }
      },
      { name: "no stored client: the env pair", stored: {}, env: { id: "cid_B", secret: "csc_B" }, sent: ["cid_B", "csc_B"] },
      { name: "no client anywhere", stored: {}, env: { secret: "csc_B" }, sent: { reason: "ClientId", needles: ["CHUTES_CLIENT_ID"] } }
    ]
    for (const row of cases) {
      it.effect(row.name, () =>
        Effect.gen(function*() {
          const { layer, requests } = oauthOver([json(200, tokenBody)])
          const env: Record<string, string> = {
            ...(row.env.id !== undefined ? { CHUTES_CLIENT_ID: row.env.id } : {}),
            ...(row.env.secret !== undefined ? { CHUTES_CLIENT_SECRET: row.env.secret } : {})
          }
          const result = yield* Effect.flatMap(ChutesOAuth.ChutesOAuth, (oauth) =>
            Effect.either(oauth.refresh({
              clientId: row.stored.id,
              clientSecret: row.stored.secret === undefined ? undefined : Redacted.make(row.stored.secret),
              refreshToken: Redacted.make("crt_old_0001")
            }))).pipe(Effect.provide(layer), withEnv(env))
          if (Array.isArray(row.sent)) {
            assert.isTrue(Either.isRight(result), `expected a refresh, got ${Either.isLeft(result) ? result.left.message : ""}`)
            const form = formOf(requests[0])
            assert.deepStrictEqual([form[1], form[3]], [["client_id", row.sent[0]], ["client_secret", row.sent[1]]])
            if (Either.isRight(result)) {
              // The pair that worked comes back, so the caller can store it with the new tokens.
              assert.strictEqual(result.right.client.clientId, row.sent[0])
              assert.strictEqual(Redacted.value(result.right.client.clientSecret), row.sent[1])
            }
          } else {
            assert.isTrue(Either.isLeft(result))
            const expected = row.sent as { readonly reason: string; readonly needles: ReadonlyArray<string> }
            if (Either.isLeft(result)) {
              assert.strictEqual(result.left.reason, expected.reason)
              for (const needle of expected.needles) assert.include(result.left.message, needle)
              leakFree(result.left, ["csc_A", "csc_B", "csc_E"])
            }
            assert.strictEqual(requests.length, 0)
          }
        }))
    }
  })

  it.effect("a 400 invalid_client at refresh says the client id or secret is wrong", () =>
    Effect.gen(function*() {
      const { layer } = oauthOver([json(400, { error: "invalid_client" })])
      const error = yield* Effect.flatMap(ChutesOAuth.ChutesOAuth, (oauth) =>
        Effect.flip(oauth.refresh({
          clientId: "cid_stored",
          clientSecret: Redacted.make("csc_stored_secret_0001"),
          refreshToken: Redacted.make("crt_old_0001")
        }))).pipe(Effect.provide(layer), withEnv({}))
      assert.strictEqual(error.reason, "Exchange")
      assert.strictEqual(error.error, "invalid_client")
      assert.include(error.message, "client id or client secret is wrong")
      assert.include(error.message, "cid_stored")
      leakFree(error, ["csc_stored_secret_0001", "crt_old_0001"])
    }))

  it.effect("takes the client id from the env when none is given, else fails with ClientId", () =>
    Effect.gen(function*() {
      const { layer, requests } = oauthOver([json(200, tokenBody)])
      const refresh = Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) => oauth.refresh({ refreshToken: Redacted.make("crt_old_0001") })
      ).pipe(Effect.provide(layer))
      yield* refresh.pipe(withEnv({ CHUTES_CLIENT_ID: "cid_from_env", CHUTES_CLIENT_SECRET: "cs_from_env" }))
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
          (oauth) =>
            oauth.refresh({ clientId: "cid_x", clientSecret: Redacted.make("cs_x"), refreshToken: Redacted.make("crt_keep_me") })
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
        (oauth) =>
          Effect.flip(
            oauth.refresh({ clientId: "cid_x", clientSecret: Redacted.make("cs_x"), refreshToken: Redacted.make("crt_once") })
          )
      ).pipe(Effect.provide(layer), withEnv({}))
      assert.strictEqual(error.reason, "Exchange")
      assert.strictEqual(error.status, 503)
      assert.strictEqual(requests.length, 1)
    }))
})

describe("completeLogin and profiles", () => {
  /** The profile id the store gives a sign-in with this user info. */
  const profileIdFor = (userInfo: ChutesOAuth.UserInfo | undefined): string =>
    AuthProfileStore.fromSignIn({
      tokens: { access: Redacted.make("a"), refresh: Redacted.make("r"), expires: 0 },
      client: { clientId: app.clientId, clientSecret: app.clientSecret },
      userInfo
    }).profileId

  it("derives safe profile ids", () => {
    assert.strictEqual(profileIdFor({ username: "alice" }), "chutes:alice")
    assert.strictEqual(profileIdFor({ username: "Bob.Smith_2" }), "chutes:Bob.Smith_2")
    assert.strictEqual(profileIdFor({ username: "../../etc/passwd" }), "chutes:etc-passwd")
    assert.strictEqual(profileIdFor({ username: "a b\nc" }), "chutes:a-b-c")
    assert.strictEqual(profileIdFor({ username: "x".repeat(100) }), `chutes:${"x".repeat(64)}`)
    assert.strictEqual(profileIdFor({ username: "..." }), "chutes:oauth")
    // Never the API key's id, nor the one of a sign-in whose user is unknown: a sign-in cannot replace them.
    assert.strictEqual(profileIdFor({ username: "default" }), "chutes:user-default")
    assert.strictEqual(profileIdFor({ username: " Default " }), "chutes:user-Default")
    assert.strictEqual(profileIdFor({ username: "oauth" }), "chutes:user-oauth")
    assert.strictEqual(profileIdFor({ username: "defaults" }), "chutes:defaults")
    assert.strictEqual(profileIdFor({ username: "" }), "chutes:oauth")
    assert.strictEqual(profileIdFor({ sub: "user-1" }), "chutes:oauth")
    assert.strictEqual(profileIdFor(undefined), "chutes:oauth")
    assert.strictEqual(AuthProfileStore.OAUTH_FALLBACK_PROFILE_ID, "chutes:oauth")
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
        (oauth) => Effect.map(oauth.completeLogin({ app, code: "c", verifier: "v" }), AuthProfileStore.fromSignIn)
      ).pipe(Effect.provide(layer))
      assert.strictEqual(result.profileId, "chutes:alice")
      const { clientSecret, ...rest } = result.profile
      assert.deepStrictEqual(rest, {
        type: "oauth",
        provider: "chutes",
        access: "cak_test_access_0001",
        refresh: "crt_test_refresh_0001",
        expires: 4_300_000,
        email: "alice",
        clientId: "cid_test_client",
        accountId: "user-alice-0001"
      })
      // The secret is kept beside the client id, so a refresh in a new shell has the pair; it never prints.
      assert.isTrue(clientSecret !== undefined && Redacted.isRedacted(clientSecret))
      assert.strictEqual(clientSecret && Redacted.value(clientSecret), "cs_test_secret_value")
      for (const text of [inspect(result, { depth: 10 }), JSON.stringify(result), String(result.profile.clientSecret)]) {
        assert.notInclude(text, "cs_test_secret_value")
      }
      assert.strictEqual(requests[1]?.url, `${IDP}/idp/userinfo`)
      assert.strictEqual(requests[1]?.headers["authorization"], "Bearer cak_test_access_0001")
    }))

  it.effect("keeps the tokens as chutes:oauth (never the API key's chutes:default) when userinfo fails, with a warning", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => void logged.push(String(message)))
      for (const userinfo of [json(500, { error: "server_error" }), "reset" as const, { status: 200, body: "nope" }]) {
        const { layer } = oauthOver([json(200, tokenBody), userinfo])
        const result = yield* Effect.flatMap(
          ChutesOAuth.ChutesOAuth,
          (oauth) => Effect.map(oauth.completeLogin({ app, code: "c", verifier: "v" }), AuthProfileStore.fromSignIn)
        ).pipe(Effect.provide(layer), Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        assert.strictEqual(result.profileId, "chutes:oauth")
        assert.strictEqual(result.profile.access, "cak_test_access_0001")
        assert.strictEqual(result.profile.refresh, "crt_test_refresh_0001")
        assert.isFalse("email" in result.profile)
        assert.isFalse("accountId" in result.profile)
      }
      assert.strictEqual(logged.filter((line) => line.includes("user info could not be read")).length, 3)
      for (const line of logged) assert.notInclude(line, "cak_test_access_0001")
    }))
})

describe("an IdP that echoes the secrets it was sent (issue 13, item 9)", () => {
  // Secrets of no known token shape: only the SDK's knowledge of the values can keep them out.
  const CODE = "q9Zx7Lm2Pp4Rt6Vw8Yb1Kd3F"
  const VERIFIER = "Vq3rIfIeR-no-prefix-000111222333444555666777"
  const SECRET = "AppSecretWithoutAnyKnownPrefix0042"
  const REFRESH = "rt-without-known-prefix-0123456789abcdef"
  const ACCESS = "at-without-known-prefix-fedcba9876543210"
  const oddApp: ChutesOAuth.OAuthApp = { ...app, clientSecret: Redacted.make(SECRET) }
  const ALL = [CODE, VERIFIER, SECRET, REFRESH, ACCESS]

  /** Every rendering of the error holds no secret, and no 12-character piece of one. */
  const noPieces = (what: string, texts: ReadonlyArray<string>, secrets: ReadonlyArray<string> = ALL) => {
    for (const text of texts) {
      for (const secret of secrets) {
        for (let i = 0; i + 12 <= secret.length; i++) {
          assert.notInclude(text, secret.slice(i, i + 12), `${what}: a piece of ${secret.slice(0, 4)}… in ${text}`)
        }
      }
    }
  }
  const renderings = (error: OAuthError): ReadonlyArray<string> => [
    String(error),
    JSON.stringify(error),
    error.message,
    inspect(error, { depth: 10 }),
    error.error ?? "",
    error.detail ?? ""
  ]
  /** The echo of `sent`: `error` is the first value, the description holds them all, whole and cut short. */
  const echo = (status: number, sent: ReadonlyArray<string>) =>
    json(status, {
      error: sent[0],
      error_description: `you sent ${sent.join(" ")}; in short ${sent.map((v) => v.slice(0, 20)).join(" ")}`
    })

  const run = <A>(script: ReadonlyArray<Scripted>, f: (oauth: ChutesOAuth.Service) => Effect.Effect<A, OAuthError>) =>
    Effect.flatMap(ChutesOAuth.ChutesOAuth, (oauth) => Effect.flip(f(oauth))).pipe(
      Effect.provide(oauthOver(script).layer),
      withEnv({})
    )

  it.effect("the code exchange: the code, the verifier and the client secret, in `error` and the description", () =>
    Effect.gen(function*() {
      for (const sent of [[CODE, VERIFIER, SECRET], [VERIFIER, CODE], [SECRET, CODE], ["invalid_grant", CODE]]) {
        for (const status of [400, 401, 500]) {
          const error = yield* run([echo(status, sent)], (o) => o.exchangeCode({ app: oddApp, code: CODE, verifier: VERIFIER }))
          assert.strictEqual(error.reason, "Exchange")
          assert.strictEqual(error.status, status)
          noPieces(`exchange ${status}`, renderings(error))
        }
      }
      // An ordinary error code is kept as it is.
      const plain = yield* run([echo(400, ["invalid_grant", CODE])], (o) => o.exchangeCode({ app: oddApp, code: CODE, verifier: VERIFIER }))
      assert.strictEqual(plain.error, "invalid_grant")
      assert.include(plain.message, "you sent")
    }))

  it.effect("the refresh: the refresh token and the client secret; a token shape the SDK did not send is scrubbed too", () =>
    Effect.gen(function*() {
      const refresh = (script: ReadonlyArray<Scripted>) =>
        run(script, (o) => o.refresh({ clientId: app.clientId, clientSecret: Redacted.make(SECRET), refreshToken: Redacted.make(REFRESH) }))
      const echoed = yield* refresh([echo(400, [REFRESH, SECRET])])
      assert.strictEqual(echoed.reason, "Exchange")
      noPieces("refresh", renderings(echoed))
      // A token of a known shape (not the one sent) in `error`: the pattern scrubber still applies to that field.
      const shaped = yield* refresh([json(400, { error: "crt_9352a6d7772628313b6b2300b23e2265" })])
      noPieces("refresh, crt_ in error", renderings(shaped), ["crt_9352a6d7772628313b6b2300b23e2265"])
    }))

  it.effect("userinfo and revoke: the access token and the revoked token", () =>
    Effect.gen(function*() {
      const info = yield* run([echo(401, [ACCESS])], (o) => o.userInfo(Redacted.make(ACCESS)))
      assert.strictEqual(info.status, 401)
      noPieces("userinfo", renderings(info))
      const revoked = yield* run(
        [echo(400, [REFRESH, SECRET])],
        (o) => o.revoke(Redacted.make(REFRESH), { clientId: app.clientId, clientSecret: Redacted.make(SECRET) })
      )
      assert.strictEqual(revoked.status, 400)
      noPieces("revoke", renderings(revoked))
    }))

  it.effect("a 2xx that is not a token response (an HTML page whose title echoes the code) and a transport error", () =>
    Effect.gen(function*() {
      const html = yield* run(
        [{ status: 200, body: `<html><title>code ${CODE} / ${VERIFIER}</title></html>` }],
        (o) => o.exchangeCode({ app: oddApp, code: CODE, verifier: VERIFIER })
      )
      assert.strictEqual(html.reason, "InvalidTokenResponse")
      noPieces("html", renderings(html))
    }))

  it.effect("completeLogin: userinfo echoing the new tokens and the code; the warning logged holds none of them", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => void logged.push(String(message)))
      const tokens = { ...tokenBody, access_token: ACCESS, refresh_token: REFRESH }
      const { layer } = oauthOver([json(200, tokens), echo(401, [REFRESH, ACCESS, CODE, VERIFIER, SECRET])])
      const result = yield* Effect.flatMap(
        ChutesOAuth.ChutesOAuth,
        (oauth) =>
          Effect.map(oauth.completeLogin({ app: oddApp, code: CODE, verifier: VERIFIER }), AuthProfileStore.fromSignIn)
      ).pipe(Effect.provide(layer), Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      assert.strictEqual(result.profileId, "chutes:oauth")
      assert.isTrue(logged.some((line) => line.includes("user info could not be read")))
      noPieces("completeLogin warning", logged)
    }))

  it.effect("userinfo naming the user after the access token: not taken as the user name", () =>
    Effect.gen(function*() {
      const { layer } = oauthOver([json(200, { sub: ACCESS, username: `x${ACCESS}` })])
      const info = yield* Effect.flatMap(ChutesOAuth.ChutesOAuth, (o) => o.userInfo(Redacted.make(ACCESS))).pipe(
        Effect.provide(layer)
      )
      assert.deepStrictEqual(info, {})
    }))

  it.effect("a user name with control characters, or of more than 256 characters, is not taken (nor stored)", () =>
    Effect.gen(function*() {
      for (const username of ["al\u001b]0;PWNED\u0007ice", "bob\u202Eevil", "c".repeat(257)]) {
        const { layer } = oauthOver([json(200, { sub: "user-1", username })])
        const info = yield* Effect.flatMap(ChutesOAuth.ChutesOAuth, (o) => o.userInfo(Redacted.make(ACCESS))).pipe(
          Effect.provide(layer)
        )
        assert.deepStrictEqual(info, { sub: "user-1" }, JSON.stringify(username).slice(0, 40))
      }
      const { layer } = oauthOver([json(200, { sub: "user-1", username: "d".repeat(256) })])
      const info = yield* Effect.flatMap(ChutesOAuth.ChutesOAuth, (o) => o.userInfo(Redacted.make(ACCESS))).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(info.username, "d".repeat(256))
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
        const request = yield* OAuthPkce.makeAuthorizationRequest
        const location = yield* browse(oauth.authorizeUrl(liveApp, request))
        assert.isTrue(location.startsWith(`${redirectUri}?`))
        const { code } = yield* OAuthCallback.parseCallbackInput(location, request.state)
        const before = Date.now()
        const signedIn = yield* oauth.completeLogin({ app: liveApp, code, verifier: request.verifier })
        const login = AuthProfileStore.fromSignIn(signedIn)
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

        // With a wrong client secret the IdP refuses the client, and says which variables to check.
        const wrongSecret = yield* Effect.flip(
          oauth.refresh({
            clientId: liveApp.clientId,
            clientSecret: Redacted.make("csc_wrong_secret_0001"),
            refreshToken: rotated.refresh
          }).pipe(withEnv({}))
        )
        assert.strictEqual(wrongSecret.error, "invalid_client")
        assert.include(wrongSecret.message, "client id or client secret is wrong")
        // The stored secret alone (no env) refreshes: a new shell needs nothing set.
        const stored = yield* oauth.refresh({
          clientId: liveApp.clientId,
          clientSecret: liveApp.clientSecret,
          refreshToken: rotated.refresh
        }).pipe(withEnv({}))
        assert.notStrictEqual(Redacted.value(stored.refresh), Redacted.value(rotated.refresh))

        const me = yield* oauth.userInfo(stored.access)
        assert.deepStrictEqual(me, { sub: "user-alice-0001", username: "alice" })
        // Revoking with the stored pair needs no env either.
        yield* oauth.revoke(stored.access, { clientId: liveApp.clientId, clientSecret: liveApp.clientSecret }).pipe(
          withEnv({})
        )
        const revoked = yield* Effect.flip(oauth.userInfo(stored.access))
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
        const request = yield* OAuthPkce.makeAuthorizationRequest
        const { code } = yield* OAuthCallback.parseCallbackInput(
          yield* browse(oauth.authorizeUrl(liveApp, request)),
          request.state
        )
        return yield* Effect.flip(oauth.exchangeCode({ app: liveApp, code, verifier: OAuthPkce.makeVerifier() }))
      }).pipe(Effect.provide(layer))
      assert.instanceOf(error, OAuthError)
      assert.strictEqual(error.reason, "Exchange")
      assert.strictEqual(error.error, "invalid_grant")
    }).pipe(Effect.scoped))
})
