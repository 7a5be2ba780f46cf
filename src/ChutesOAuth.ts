/**
 * "Sign in with Chutes": the OAuth protocol (SPEC §5.1–§5.3, §5.5, §5.6).
 *
 * The pure parts — app settings, PKCE, the authorize URL, callback parsing, expiry arithmetic — need no service. The
 * HTTP parts (code exchange, refresh, userinfo, revoke) are the `ChutesOAuth` service over an `HttpClient`, configured
 * by `ChutesSettings.idpBaseUrl`. The interactive flows (listener, prompts, browser) are in `OAuthLogin`.
 *
 * Faults of OpenClaw's implementation that are NOT copied: a pasted bare code is refused (it would skip the CSRF
 * check); `state` is required and compared in constant time; `expires_in` is validated (no NaN / Infinity expiry);
 * the code exchange and the refresh are never retried automatically (codes and refresh tokens are single-use).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import * as AuthProfileStore from "./AuthProfileStore.js"
import { OAuthError } from "./ChutesError.js"
import { ChutesSettings, optionalEnv } from "./ChutesSettings.js"
import { errorDetail, excerpt, transportDetail } from "./internal/redact.js"

// ---------------------------------------------------------------------------------------------------------------------
// App settings (SPEC §5.2)
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The redirect URI used when `CHUTES_OAUTH_REDIRECT_URI` is unset. It must be registered on the Chutes app exactly.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_REDIRECT_URI = "http://127.0.0.1:1456/oauth-callback"

/**
 * The scopes requested when `CHUTES_OAUTH_SCOPES` is unset.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_SCOPES: ReadonlyArray<string> = ["openid", "profile", "chutes:invoke"]

/**
 * The scope inference needs.
 *
 * @since 0.1.0
 * @category constants
 */
export const INVOKE_SCOPE = "chutes:invoke"

/**
 * The profile id used when the user name is unknown (userinfo failed or sent none).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_PROFILE_ID = "chutes:default"

/**
 * The deadline of one request to the IdP (SPEC §5.5: 30 s for the code exchange).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_TIMEOUT: Duration.Duration = Duration.seconds(30)

/**
 * A registered Chutes OAuth app, as the flows use it.
 *
 * @since 0.1.0
 * @category models
 */
export interface OAuthApp {
  /** The app's client id (`cid_…`). */
  readonly clientId: string
  /** Sent on the code exchange when set. Never stored, never prompted; refresh reads it from the env again. */
  readonly clientSecret?: Redacted.Redacted<string> | undefined
  /** Must equal a redirect URI registered on the app. */
  readonly redirectUri: string
  readonly scopes: ReadonlyArray<string>
}

/**
 * The app settings read from the environment: like `OAuthApp`, but the client id may be missing (then the login asks
 * for it).
 *
 * @since 0.1.0
 * @category models
 */
export interface AppSettings extends Omit<OAuthApp, "clientId"> {
  readonly clientId: Option.Option<string>
}

/**
 * Splits a scope string on whitespace, dropping empty parts.
 *
 * @since 0.1.0
 * @category app
 */
export const parseScopes = (value: string): ReadonlyArray<string> => value.split(/\s+/).filter((s) => s.length > 0)

/**
 * The app settings as a `Config`: `CHUTES_CLIENT_ID`, `CHUTES_CLIENT_SECRET`, `CHUTES_OAUTH_REDIRECT_URI` (default
 * `DEFAULT_REDIRECT_URI`), `CHUTES_OAUTH_SCOPES` (split on whitespace, default `DEFAULT_SCOPES`). Empty values count as
 * unset.
 *
 * @since 0.1.0
 * @category app
 */
export const appConfig: Config.Config<AppSettings> = Config.all({
  clientId: optionalEnv("CHUTES_CLIENT_ID"),
  clientSecret: optionalEnv("CHUTES_CLIENT_SECRET"),
  redirectUri: optionalEnv("CHUTES_OAUTH_REDIRECT_URI"),
  scopes: optionalEnv("CHUTES_OAUTH_SCOPES")
}).pipe(Config.map(({ clientId, clientSecret, redirectUri, scopes }) => ({
  clientId,
  clientSecret: Option.getOrUndefined(Option.map(clientSecret, Redacted.make)),
  redirectUri: Option.getOrElse(redirectUri, () => DEFAULT_REDIRECT_URI),
  scopes: Option.match(Option.map(scopes, parseScopes), {
    onNone: () => DEFAULT_SCOPES,
    onSome: (list) => (list.length > 0 ? list : DEFAULT_SCOPES)
  })
})))

/**
 * Reads the app settings from the environment (see `appConfig`), warning when the scopes lack `chutes:invoke`
 * (inference would then be refused with 403).
 *
 * @since 0.1.0
 * @category app
 */
export const appFromEnv: Effect.Effect<AppSettings> = Effect.gen(function*() {
  const settings = yield* Effect.orDie(appConfig)
  yield* warnOnScopes(settings.scopes)
  return settings
})

/**
 * Logs a warning when `scopes` lacks `chutes:invoke`.
 *
 * @since 0.1.0
 * @category app
 */
export const warnOnScopes = (scopes: ReadonlyArray<string>): Effect.Effect<void> =>
  scopes.includes(INVOKE_SCOPE)
    ? Effect.void
    : Effect.logWarning(
      `CHUTES_OAUTH_SCOPES does not include "${INVOKE_SCOPE}": tokens from this sign-in cannot call models`
    )

/**
 * `CHUTES_CLIENT_SECRET`, read when called: the secret is never stored, so each refresh reads it again.
 *
 * @since 0.1.0
 * @category app
 */
export const clientSecretFromEnv: Effect.Effect<Option.Option<Redacted.Redacted<string>>> = optionalEnv(
  "CHUTES_CLIENT_SECRET"
).pipe(Effect.map(Option.map(Redacted.make)), Effect.orDie)

/**
 * `CHUTES_CLIENT_ID`, read when called.
 *
 * @since 0.1.0
 * @category app
 */
export const clientIdFromEnv: Effect.Effect<Option.Option<string>> = Effect.orDie(optionalEnv("CHUTES_CLIENT_ID"))

// ---------------------------------------------------------------------------------------------------------------------
// PKCE and state (SPEC §5.3)
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A fresh PKCE code verifier: 32 random bytes, base64url (43 characters of `[A-Za-z0-9_-]`).
 *
 * @since 0.1.0
 * @category pkce
 */
export const makeVerifier = (): string => randomBytes(32).toString("base64url")

/**
 * A fresh `state`: 24 random bytes, base64url (32 characters), drawn separately from the verifier.
 *
 * @since 0.1.0
 * @category pkce
 */
export const makeState = (): string => randomBytes(24).toString("base64url")

/**
 * The S256 code challenge of a verifier: base64url(SHA-256(verifier)) without padding (RFC 7636 §4.2).
 *
 * @since 0.1.0
 * @category pkce
 */
export const challengeFor = (verifier: string): string =>
  createHash("sha256").update(verifier, "ascii").digest("base64url")

/**
 * What one sign-in attempt needs to remember: its state, verifier (secret until the exchange) and challenge.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthorizationRequest {
  readonly state: string
  readonly verifier: Redacted.Redacted<string>
  readonly challenge: string
}

/**
 * A fresh state, verifier and challenge.
 *
 * @since 0.1.0
 * @category pkce
 */
export const makeAuthorizationRequest: Effect.Effect<AuthorizationRequest> = Effect.sync(() => {
  const verifier = makeVerifier()
  return { state: makeState(), verifier: Redacted.make(verifier), challenge: challengeFor(verifier) }
})

const stripSlash = (url: string): string => url.replace(/\/+$/, "")

/**
 * The URL that starts a sign-in: `{idp}/idp/authorize` with `client_id, redirect_uri, response_type=code, scope,
 * state, code_challenge, code_challenge_method=S256`.
 *
 * @since 0.1.0
 * @category pkce
 */
export const authorizeUrl = (
  idpBaseUrl: string,
  app: Pick<OAuthApp, "clientId" | "redirectUri" | "scopes">,
  params: { readonly state: string; readonly challenge: string }
): string => {
  const url = new URL(`${stripSlash(idpBaseUrl)}/idp/authorize`)
  url.searchParams.set("client_id", app.clientId)
  url.searchParams.set("redirect_uri", app.redirectUri)
  url.searchParams.set("response_type", "code")
  url.searchParams.set("scope", app.scopes.join(" "))
  url.searchParams.set("state", params.state)
  url.searchParams.set("code_challenge", params.challenge)
  url.searchParams.set("code_challenge_method", "S256")
  return url.toString()
}

// ---------------------------------------------------------------------------------------------------------------------
// Callback parsing (SPEC §5.4)
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The authorization code taken from a callback whose state matched.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallbackCode {
  readonly code: Redacted.Redacted<string>
}

/**
 * The detail given when a bare code is pasted.
 *
 * @since 0.1.0
 * @category callback
 */
export const BARE_CODE_DETAIL = "paste the full redirect URL (it must include code and state)"

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/**
 * Constant-time string equality. Both sides are hashed first so `timingSafeEqual` always compares equal-length
 * buffers and the length of the expected value does not leak either.
 *
 * @since 0.1.0
 * @category callback
 */
export const safeEqual = (a: string, b: string): boolean => timingSafeEqual(sha256(a), sha256(b))

const invalidCallback = (detail: string): OAuthError => new OAuthError({ reason: "InvalidCallback", detail })

/** An OAuth error code is short ASCII; anything else is reduced to a scrubbed excerpt. */
const errorCode = (value: string): string => (/^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : excerpt(value, 64))

type Single = { readonly _tag: "None" } | { readonly _tag: "One"; readonly value: string } | { readonly _tag: "Many" }

const single = (params: URLSearchParams, name: string): Single => {
  const values = params.getAll(name).filter((value) => value.length > 0)
  const [first] = values
  if (first === undefined) return { _tag: "None" }
  return values.length === 1 ? { _tag: "One", value: first } : { _tag: "Many" }
}

/**
 * Checks the query of a callback against the expected state. The state is checked before an `error=` is believed, so
 * a forged request cannot end a sign-in; the code never appears in an error.
 *
 * @since 0.1.0
 * @category callback
 */
export const parseCallbackParams = (
  params: URLSearchParams,
  expectedState: string
): Either.Either<CallbackCode, OAuthError> => {
  const state = single(params, "state")
  const error = single(params, "error")
  const code = single(params, "code")
  if (state._tag === "Many" || error._tag === "Many" || code._tag === "Many") {
    return Either.left(invalidCallback("the redirect carries a parameter more than once"))
  }
  const stateMatches = state._tag === "One" && safeEqual(state.value, expectedState)
  if (error._tag === "One") {
    if (!stateMatches) {
      return Either.left(
        new OAuthError({
          reason: "StateMismatch",
          error: errorCode(error.value),
          detail: `the redirect reports an error but its state is ${state._tag === "None" ? "missing" : "wrong"}`
        })
      )
    }
    const description = params.get("error_description")
    return Either.left(
      new OAuthError({
        reason: "Denied",
        error: errorCode(error.value),
        ...(description !== null && description.trim().length > 0 ? { detail: excerpt(description, 200) } : {})
      })
    )
  }
  if (code._tag === "None") return Either.left(invalidCallback("the redirect has no code parameter"))
  if (state._tag === "None") {
    return Either.left(new OAuthError({ reason: "StateMismatch", detail: "the state parameter is missing" }))
  }
  if (!stateMatches) {
    return Either.left(new OAuthError({ reason: "StateMismatch", detail: "the state parameter is not this sign-in's" }))
  }
  return Either.right({ code: Redacted.make(code.value) })
}

/**
 * Parses what a user pasted: a full redirect URL, its query (`?code=…&state=…` or `code=…&state=…`), or a URL
 * without its scheme (`127.0.0.1:1456/oauth-callback?code=…`). Surrounding whitespace is ignored. A bare code is
 * refused: without the state the CSRF check could not run.
 *
 * @since 0.1.0
 * @category callback
 */
export const parseCallbackInput = (input: string, expectedState: string): Either.Either<CallbackCode, OAuthError> => {
  const text = input.trim()
  if (text.length === 0) return Either.left(invalidCallback(`nothing was pasted; ${BARE_CODE_DETAIL}`))
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return Either.left(invalidCallback(`that is not a valid URL; ${BARE_CODE_DETAIL}`))
    }
    return parseCallbackParams(url.searchParams, expectedState)
  }
  const withoutFragment = text.split("#")[0] ?? ""
  const question = withoutFragment.indexOf("?")
  if (question >= 0) return parseCallbackParams(new URLSearchParams(withoutFragment.slice(question + 1)), expectedState)
  if (withoutFragment.includes("=")) return parseCallbackParams(new URLSearchParams(withoutFragment), expectedState)
  return Either.left(invalidCallback(BARE_CODE_DETAIL))
}

// ---------------------------------------------------------------------------------------------------------------------
// Tokens and expiry (SPEC §5.5)
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Tokens from the IdP. `expires` is epoch milliseconds and already holds the 5-minute margin: refresh when
 * `now >= expires`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenSet {
  readonly access: Redacted.Redacted<string>
  readonly refresh: Redacted.Redacted<string>
  readonly expires: number
  readonly scope?: string | undefined
}

/**
 * How long before the real expiry a token counts as expired.
 *
 * @since 0.1.0
 * @category constants
 */
export const EXPIRY_MARGIN_MILLIS = 5 * 60_000

/**
 * The shortest lifetime given to a token, however short its `expires_in`.
 *
 * @since 0.1.0
 * @category constants
 */
export const MIN_LIFETIME_MILLIS = 30_000

/**
 * The largest `expires_in` accepted (seconds): keeps the expiry a safe integer of milliseconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_EXPIRES_IN = 1_000_000_000_000

/**
 * `max(now + expiresIn·1000 − 5 min, now + 30 s)`, epoch milliseconds.
 *
 * @since 0.1.0
 * @category tokens
 */
export const expiresAt = (now: number, expiresInSeconds: number): number =>
  Math.max(now + expiresInSeconds * 1000 - EXPIRY_MARGIN_MILLIS, now + MIN_LIFETIME_MILLIS)

/**
 * Validates `expires_in`: a positive integer number of seconds (at most `MAX_EXPIRES_IN`), or a string of decimal
 * digits denoting one (some IdPs send strings). NaN, Infinity (`1e309` in JSON), zero, negatives, fractions and other
 * strings are refused.
 *
 * @since 0.1.0
 * @category tokens
 */
export const parseExpiresIn = (value: unknown): Option.Option<number> => {
  const number = typeof value === "number"
    ? value
    : typeof value === "string" && /^[1-9][0-9]{0,12}$/.test(value)
    ? Number(value)
    : Number.NaN
  return Number.isSafeInteger(number) && number > 0 && number <= MAX_EXPIRES_IN ? Option.some(number) : Option.none()
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const nonEmptyString = (u: unknown): string | undefined =>
  typeof u === "string" && u.trim().length > 0 ? u.trim() : undefined

const invalidTokenResponse = (detail: string): OAuthError => new OAuthError({ reason: "InvalidTokenResponse", detail })

/**
 * Reads a 2xx token response. `previousRefresh` is kept when the answer has no (or an empty) `refresh_token` — the
 * refresh grant may omit it; without it, a refresh token is required (the code exchange). Error details describe the
 * problem and never echo a field's value.
 *
 * @since 0.1.0
 * @category tokens
 */
export const decodeTokenResponse = (
  body: string,
  now: number,
  previousRefresh?: Redacted.Redacted<string>
): Either.Either<TokenSet, OAuthError> => {
  const json = parseJson(body)
  if (!Predicate.isRecord(json)) {
    const detail = errorDetail(body)
    const html = detail?.startsWith("HTML") === true
    return Either.left(invalidTokenResponse(html ? `expected JSON, got an ${detail}` : "the body is not a JSON object"))
  }
  const access = nonEmptyString(json["access_token"])
  if (access === undefined) return Either.left(invalidTokenResponse("access_token is missing or empty"))
  const fresh = nonEmptyString(json["refresh_token"])
  const refresh = fresh !== undefined ? Redacted.make(fresh) : previousRefresh
  if (refresh === undefined) return Either.left(invalidTokenResponse("refresh_token is missing or empty"))
  const raw = json["expires_in"]
  const expiresIn = parseExpiresIn(raw)
  if (Option.isNone(expiresIn)) {
    const kind = raw === undefined
      ? "missing"
      : `a ${raw === null ? "null" : typeof raw} that is not a positive integer`
    return Either.left(invalidTokenResponse(`expires_in must be a positive integer of seconds (got ${kind})`))
  }
  const scope = nonEmptyString(json["scope"])
  return Either.right({
    access: Redacted.make(access),
    refresh,
    expires: expiresAt(now, expiresIn.value),
    ...(scope !== undefined ? { scope } : {})
  })
}

// ---------------------------------------------------------------------------------------------------------------------
// Profiles
// ---------------------------------------------------------------------------------------------------------------------

/**
 * What `/idp/userinfo` says about the user (unknown fields dropped).
 *
 * @since 0.1.0
 * @category models
 */
export interface UserInfo {
  readonly sub?: string | undefined
  readonly username?: string | undefined
}

/**
 * The auth profile written to `auth-profiles.json` after a sign-in (SPEC §6.2), with plain strings: it is what the
 * store persists (`AuthProfileStore.OAuthProfile`). Do not log it.
 *
 * @since 0.1.0
 * @category models
 */
export type OAuthProfile = AuthProfileStore.OAuthProfile

/**
 * A finished sign-in: the profile id and the profile to store.
 *
 * @since 0.1.0
 * @category models
 */
export interface CompletedLogin {
  readonly profileId: string
  readonly profile: OAuthProfile
  /** The scopes granted, when the IdP said. */
  readonly scope?: string | undefined
}

/**
 * The profile id of a sign-in: `chutes:<username>` (sanitised), else `chutes:default` (`AuthProfileStore.profileIdFor`).
 *
 * @since 0.1.0
 * @category profiles
 */
export const profileIdFor = (info: UserInfo | undefined): string =>
  AuthProfileStore.profileIdFor({ type: "oauth", username: info?.username })

/**
 * The profile to store for `tokens` (unwraps the secrets: the store is their edge).
 *
 * @since 0.1.0
 * @category profiles
 */
export const toProfile = (tokens: TokenSet, clientId: string, info: UserInfo | undefined): OAuthProfile => ({
  type: "oauth",
  provider: "chutes",
  access: Redacted.value(tokens.access),
  refresh: Redacted.value(tokens.refresh),
  expires: tokens.expires,
  ...(info?.username !== undefined ? { email: info.username } : {}),
  clientId,
  ...(info?.sub !== undefined ? { accountId: info.sub } : {})
})

// ---------------------------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A secret given as a plain string or `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretInput = string | Redacted.Redacted<string>

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The IdP base URL in use (`ChutesSettings.idpBaseUrl`). */
  readonly idpBaseUrl: string
  /** `authorizeUrl` on this IdP. */
  readonly authorizeUrl: (
    app: Pick<OAuthApp, "clientId" | "redirectUri" | "scopes">,
    params: { readonly state: string; readonly challenge: string }
  ) => string
  /** `POST /idp/token` with `grant_type=authorization_code`. Never retried; 30 s deadline. */
  readonly exchangeCode: (options: {
    readonly app: OAuthApp
    readonly code: SecretInput
    readonly verifier: SecretInput
  }) => Effect.Effect<TokenSet, OAuthError>
  /**
   * `POST /idp/token` with `grant_type=refresh_token`; the client secret is read from `CHUTES_CLIENT_SECRET` now, the
   * client id from `CHUTES_CLIENT_ID` when not given. Not retried (the request may have consumed the token). A
   * missing new refresh token keeps the old one.
   */
  readonly refresh: (options: {
    readonly clientId?: string | undefined
    readonly refreshToken: Redacted.Redacted<string>
  }) => Effect.Effect<TokenSet, OAuthError>
  /** `GET /idp/userinfo`. */
  readonly userInfo: (access: Redacted.Redacted<string>) => Effect.Effect<UserInfo, OAuthError>
  /** `POST /idp/token/revoke` (client secret from the env). */
  readonly revoke: (token: Redacted.Redacted<string>, clientId: string) => Effect.Effect<void, OAuthError>
  /**
   * Exchange, then userinfo. A userinfo failure keeps the tokens (profile id `chutes:default`) and logs a warning.
   * Storing the profile is the caller's job.
   */
  readonly completeLogin: (options: {
    readonly app: OAuthApp
    readonly code: SecretInput
    readonly verifier: SecretInput
  }) => Effect.Effect<CompletedLogin, OAuthError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ChutesOAuth extends Context.Tag("effect-chutes/ChutesOAuth")<ChutesOAuth, Service>() {}

const reveal = (secret: SecretInput): string => (typeof secret === "string" ? secret : Redacted.value(secret))

/**
 * The error for a non-2xx IdP answer: the OAuth `error` code, the status, and a scrubbed, capped excerpt of the
 * `error_description` (or of the body when there is no error code).
 *
 * @since 0.1.0
 * @category errors
 */
export const refusal = (status: number, body: string): OAuthError => {
  const json = parseJson(body)
  const code = Predicate.isRecord(json) && typeof json["error"] === "string" ? errorCode(json["error"]) : undefined
  const description = Predicate.isRecord(json) ? nonEmptyString(json["error_description"]) : undefined
  const detail = description !== undefined
    ? excerpt(description, 200)
    : code === undefined
    ? `HTTP ${status}${body.trim().length > 0 ? `: ${errorDetail(body) ?? ""}` : ""}`
    : undefined
  return new OAuthError({
    reason: "Exchange",
    status,
    ...(code !== undefined ? { error: code } : {}),
    ...(detail !== undefined ? { detail } : {})
  })
}

/**
 * Options of `make` / `layerWith`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  /** Deadline of each IdP request. Default 30 s. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The service over an `HttpClient`, on `ChutesSettings.idpBaseUrl`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: MakeOptions = {}
): Effect.Effect<Service, never, HttpClient.HttpClient | ChutesSettings> =>
  Effect.gen(function*() {
    const settings = yield* ChutesSettings
    const client = yield* HttpClient.HttpClient
    const idp = stripSlash(settings.idpBaseUrl)
    const timeout = Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)
    const tokenUrl = `${idp}/idp/token`

    /** One request and its body; no retries anywhere here. */
    const send = (
      request: HttpClientRequest.HttpClientRequest,
      what: string
    ): Effect.Effect<{ readonly response: HttpClientResponse.HttpClientResponse; readonly body: string }, OAuthError> =>
      Effect.gen(function*() {
        const response = yield* client.execute(request)
        const body = yield* response.text
        return { response, body }
      }).pipe(
        Effect.catchTags({
          RequestError: (error) =>
            Effect.fail(new OAuthError({ reason: "Transport", detail: `${what}: ${transportDetail(error)}` })),
          ResponseError: (error) =>
            Effect.fail(new OAuthError({ reason: "Transport", detail: `${what}: ${transportDetail(error)}` }))
        }),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new OAuthError({ reason: "Timeout", detail: `${what}: no answer within ${Duration.format(timeout)}` })
        })
      )

    const tokenRequest = (fields: Readonly<Record<string, string>>) =>
      HttpClientRequest.post(tokenUrl).pipe(HttpClientRequest.acceptJson, HttpClientRequest.bodyUrlParams(fields))

    const tokens = (
      fields: Readonly<Record<string, string>>,
      what: string,
      previousRefresh?: Redacted.Redacted<string>
    ): Effect.Effect<TokenSet, OAuthError> =>
      Effect.gen(function*() {
        const { body, response } = yield* send(tokenRequest(fields), what)
        if (response.status < 200 || response.status >= 300) return yield* refusal(response.status, body)
        const now = yield* Clock.currentTimeMillis
        return yield* decodeTokenResponse(body, now, previousRefresh)
      })

    const exchangeCode = Effect.fn("ChutesOAuth.exchangeCode")(function*(options: {
      readonly app: OAuthApp
      readonly code: SecretInput
      readonly verifier: SecretInput
    }) {
      const { app } = options
      return yield* tokens(
        {
          grant_type: "authorization_code",
          client_id: app.clientId,
          code: reveal(options.code),
          redirect_uri: app.redirectUri,
          code_verifier: reveal(options.verifier),
          ...(app.clientSecret !== undefined ? { client_secret: Redacted.value(app.clientSecret) } : {})
        },
        "code exchange"
      )
    })

    const resolveClientId = (clientId: string | undefined): Effect.Effect<string, OAuthError> =>
      clientId !== undefined && clientId.trim().length > 0
        ? Effect.succeed(clientId.trim())
        : Effect.flatMap(
          clientIdFromEnv,
          Option.match({
            onNone: () => Effect.fail(new OAuthError({ reason: "ClientId", detail: "the profile stores none either" })),
            onSome: Effect.succeed
          })
        )

    const refresh = Effect.fn("ChutesOAuth.refresh")(function*(options: {
      readonly clientId?: string | undefined
      readonly refreshToken: Redacted.Redacted<string>
    }) {
      const clientId = yield* resolveClientId(options.clientId)
      const secret = yield* clientSecretFromEnv
      return yield* tokens(
        {
          grant_type: "refresh_token",
          client_id: clientId,
          refresh_token: Redacted.value(options.refreshToken),
          ...(Option.isSome(secret) ? { client_secret: Redacted.value(secret.value) } : {})
        },
        "token refresh",
        options.refreshToken
      )
    })

    const userInfo = Effect.fn("ChutesOAuth.userInfo")(function*(access: Redacted.Redacted<string>) {
      const request = HttpClientRequest.get(`${idp}/idp/userinfo`).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bearerToken(access)
      )
      const { body, response } = yield* send(request, "userinfo")
      if (response.status < 200 || response.status >= 300) return yield* refusal(response.status, body)
      const json = parseJson(body)
      if (!Predicate.isRecord(json)) return yield* invalidTokenResponse("userinfo: the body is not a JSON object")
      const sub = nonEmptyString(json["sub"])
      const username = nonEmptyString(json["username"])
      const info: UserInfo = {
        ...(sub !== undefined ? { sub } : {}),
        ...(username !== undefined ? { username } : {})
      }
      return info
    })

    const revoke = Effect.fn("ChutesOAuth.revoke")(function*(token: Redacted.Redacted<string>, clientId: string) {
      const secret = yield* clientSecretFromEnv
      const request = HttpClientRequest.post(`${idp}/idp/token/revoke`).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUrlParams({
          token: Redacted.value(token),
          client_id: clientId,
          ...(Option.isSome(secret) ? { client_secret: Redacted.value(secret.value) } : {})
        })
      )
      const { body, response } = yield* send(request, "revoke")
      if (response.status < 200 || response.status >= 300) return yield* refusal(response.status, body)
    })

    const completeLogin = Effect.fn("ChutesOAuth.completeLogin")(function*(options: {
      readonly app: OAuthApp
      readonly code: SecretInput
      readonly verifier: SecretInput
    }) {
      const tokenSet = yield* exchangeCode(options)
      const info = yield* userInfo(tokenSet.access).pipe(
        Effect.map(Option.some),
        Effect.catchAll((error) =>
          Effect.as(
            Effect.logWarning(
              `Signed in, but the user info could not be read (${error.message}); saving as "${DEFAULT_PROFILE_ID}"`
            ),
            Option.none<UserInfo>()
          )
        )
      )
      const user = Option.getOrUndefined(info)
      const completed: CompletedLogin = {
        profileId: profileIdFor(user),
        profile: toProfile(tokenSet, options.app.clientId, user),
        ...(tokenSet.scope !== undefined ? { scope: tokenSet.scope } : {})
      }
      return completed
    })

    return ChutesOAuth.of({
      idpBaseUrl: idp,
      authorizeUrl: (app, params) => authorizeUrl(idp, app, params),
      exchangeCode,
      refresh,
      userInfo,
      revoke,
      completeLogin
    })
  })

/**
 * The service over the `HttpClient` and `ChutesSettings` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ChutesOAuth, never, HttpClient.HttpClient | ChutesSettings> = Layer.effect(
  ChutesOAuth,
  make()
)

/**
 * Like `layer`, with a different deadline per IdP request.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (
  options: MakeOptions
): Layer.Layer<ChutesOAuth, never, HttpClient.HttpClient | ChutesSettings> => Layer.effect(ChutesOAuth, make(options))
