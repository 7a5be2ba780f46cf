/**
 * "Sign in with Chutes": the OAuth protocol.
 *
 * The pure parts here — app settings, the authorize URL, token decoding, expiry arithmetic — need no service. The
 * HTTP parts (code exchange, refresh, userinfo, revoke) are the `ChutesOAuth` service over an `HttpClient`, configured
 * by `ChutesSettings.idpBaseUrl`; a sign-in ends with tokens (`SignedIn`), which `AuthProfileStore.fromSignIn` turns
 * into the profile to store. PKCE and `state` are in `OAuthPkce`, callback parsing in `OAuthCallback`, the
 * interactive flows (listener, prompts, browser) in `OAuthLogin`.
 *
 * Faults of OpenClaw's implementation that are NOT copied: a pasted bare code is refused (it would skip the CSRF
 * check); `state` is required and compared in constant time; `expires_in` is validated (no NaN / Infinity expiry);
 * the code exchange and the refresh are never retried automatically (codes and refresh tokens are single-use).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
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
import { OAuthError } from "./ChutesError.js"
import { ChutesSettings, optionalEnv } from "./ChutesSettings.js"
import * as CappedBody from "./internal/cappedBody.js"
import { errorDetail, excerpt, oauthErrorCode, transportDetail, withoutSecrets } from "./internal/redact.js"

// ---------------------------------------------------------------------------------------------------------------------
// App settings
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
 * The deadline of one request to the IdP, its answer included (30 s, as for the code exchange).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_TIMEOUT: Duration.Duration = Duration.seconds(30)

/**
 * The largest IdP answer body read (2 MiB). Token, userinfo and revoke answers are a few hundred bytes; a larger body
 * fails with `InvalidTokenResponse` as soon as it passes the cap, instead of growing the heap until the process dies.
 * Change it with `layerWith({ maxResponseBytes })`.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024 * 1024

/**
 * A registered Chutes OAuth app, as the flows use it.
 *
 * @since 0.1.0
 * @category models
 */
export interface OAuthApp {
  /** The app's client id (`cid_…`). */
  readonly clientId: string
  /**
   * The app's client secret (`csc_…`): the IdP checks it on every code exchange and refresh. A sign-in stores it in
   * the profile beside the client id, so a refresh in another shell has the pair.
   */
  readonly clientSecret: Redacted.Redacted<string>
  /** Must equal a redirect URI registered on the app. */
  readonly redirectUri: string
  readonly scopes: ReadonlyArray<string>
}

/**
 * The app settings read from the environment: like `OAuthApp`, but the client id and secret may be missing (then the
 * login asks for them, before the browser opens).
 *
 * @since 0.1.0
 * @category models
 */
export interface AppSettings extends Omit<OAuthApp, "clientId" | "clientSecret"> {
  readonly clientId: Option.Option<string>
  readonly clientSecret?: Redacted.Redacted<string> | undefined
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
 * `CHUTES_CLIENT_SECRET`, read when called.
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
// The client at refresh
// ---------------------------------------------------------------------------------------------------------------------

/**
 * An OAuth client as the token endpoint authenticates it: the id and secret of one app.
 *
 * @since 0.1.0
 * @category models
 */
export interface OAuthClient {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
}

/**
 * What a stored profile says about its client; either may be missing (older and OpenClaw profiles have no secret).
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredClient {
  readonly clientId?: string | undefined
  readonly clientSecret?: Redacted.Redacted<string> | undefined
}

/**
 * `CHUTES_CLIENT_ID` and `CHUTES_CLIENT_SECRET` as read now.
 *
 * @since 0.1.0
 * @category models
 */
export interface EnvClient {
  readonly clientId: Option.Option<string>
  readonly clientSecret: Option.Option<Redacted.Redacted<string>>
}

/**
 * `CHUTES_CLIENT_ID` and `CHUTES_CLIENT_SECRET`, read when called.
 *
 * @since 0.1.0
 * @category app
 */
export const clientFromEnv: Effect.Effect<EnvClient> = Effect.all({
  clientId: clientIdFromEnv,
  clientSecret: clientSecretFromEnv
})

const present = (value: string | undefined): string | undefined =>
  value !== undefined && value.trim().length > 0 ? value.trim() : undefined

const presentSecret = (
  secret: Redacted.Redacted<string> | undefined
): Redacted.Redacted<string> | undefined =>
  secret !== undefined && Redacted.value(secret).trim().length > 0 ? secret : undefined

/**
 * The client a stored profile refreshes (or revokes) with. The id and secret are a pair — a refresh token is bound to
 * the client that issued it, and the IdP checks the secret — so env values never mix into another app's pair:
 *
 * - the id is the stored one, else `CHUTES_CLIENT_ID`;
 * - when `CHUTES_CLIENT_ID` names that same app, `CHUTES_CLIENT_SECRET` (when set) is used: it is the current secret
 *   of the app, e.g. after rotating it;
 * - else the stored secret;
 * - a profile without a stored secret (older or OpenClaw profiles) takes `CHUTES_CLIENT_SECRET`, unless
 *   `CHUTES_CLIENT_ID` names another app: then that secret is another app's, and the answer is `ClientSecret`, as
 *   when there is no secret at all. No id anywhere is `ClientId`.
 *
 * @since 0.1.0
 * @category refresh
 */
export const clientForRefresh = (stored: StoredClient, env: EnvClient): Either.Either<OAuthClient, OAuthError> => {
  const storedId = present(stored.clientId)
  const envId = Option.getOrUndefined(env.clientId)
  const clientId = storedId ?? envId
  if (clientId === undefined) {
    return Either.left(
      new OAuthError({ reason: "ClientId", detail: "the profile stores none and CHUTES_CLIENT_ID is not set" })
    )
  }
  const envSecret = presentSecret(Option.getOrUndefined(env.clientSecret))
  const storedSecret = presentSecret(stored.clientSecret)
  const envIsThisApp = envId === clientId
  const secret = (envIsThisApp ? envSecret : undefined) ?? storedSecret ?? (envId === undefined ? envSecret : undefined)
  if (secret !== undefined) return Either.right({ clientId, clientSecret: secret })
  return Either.left(
    new OAuthError({
      reason: "ClientSecret",
      detail: envId !== undefined && !envIsThisApp && envSecret !== undefined
        ? `the profile stores none for its client ${clientId}, and CHUTES_CLIENT_ID is ${envId}: the secret in the ` +
          `environment is that app's. Set CHUTES_CLIENT_ID and CHUTES_CLIENT_SECRET to the app of ${clientId}, or ` +
          `sign in again`
        : `the profile stores none for its client ${clientId}; set it, or sign in again to store it`
    })
  )
}

// ---------------------------------------------------------------------------------------------------------------------
// The authorize URL
// ---------------------------------------------------------------------------------------------------------------------

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
// Tokens and expiry
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
// Sign-in result
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
 * A finished sign-in as the protocol sees it: the tokens, the client that obtained them (its id and secret, the pair a
 * refresh needs) and what `/idp/userinfo` said (`undefined` when it could not be read). Turning it into a stored
 * profile is the store's job (`AuthProfileStore.fromSignIn`).
 *
 * @since 0.2.0
 * @category models
 */
export interface SignedIn {
  readonly tokens: TokenSet
  readonly client: OAuthClient
  readonly userInfo: UserInfo | undefined
}

// ---------------------------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Tokens from a refresh, with the client that obtained them.
 *
 * @since 0.1.0
 * @category models
 */
export interface RefreshedTokens extends TokenSet {
  /** The client id and secret the refresh used (`clientForRefresh`): the pair to store with the new tokens. */
  readonly client: OAuthClient
}

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
   * `POST /idp/token` with `grant_type=refresh_token`. `clientId` and `clientSecret` are what the profile stores; the
   * client sent is `clientForRefresh` of them and of `CHUTES_CLIENT_ID` / `CHUTES_CLIENT_SECRET` read now (the stored
   * pair, env values only where they belong to the same app), and comes back with the tokens. Without a usable
   * client, `ClientId` / `ClientSecret` and no request. Not retried (the request may have consumed the token). A
   * missing new refresh token keeps the old one.
   */
  readonly refresh: (options: {
    readonly clientId?: string | undefined
    readonly clientSecret?: Redacted.Redacted<string> | undefined
    readonly refreshToken: Redacted.Redacted<string>
  }) => Effect.Effect<RefreshedTokens, OAuthError>
  /** `GET /idp/userinfo`. */
  readonly userInfo: (access: Redacted.Redacted<string>) => Effect.Effect<UserInfo, OAuthError>
  /**
   * `POST /idp/token/revoke`, authenticated as `client`: a stored profile's client (resolved like `refresh`), or a
   * client id alone (then with `CHUTES_CLIENT_SECRET`).
   */
  readonly revoke: (token: Redacted.Redacted<string>, client: string | StoredClient) => Effect.Effect<void, OAuthError>
  /**
   * Exchange, then userinfo. A userinfo failure keeps the tokens (`userInfo: undefined`) and logs a warning. Storing
   * them is the caller's job (`AuthProfileStore.fromSignIn` makes the profile).
   */
  readonly completeLogin: (options: {
    readonly app: OAuthApp
    readonly code: SecretInput
    readonly verifier: SecretInput
  }) => Effect.Effect<SignedIn, OAuthError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ChutesOAuth extends Context.Tag("effect-chutes/ChutesOAuth")<ChutesOAuth, Service>() {}

const reveal = (secret: SecretInput): string => (typeof secret === "string" ? secret : Redacted.value(secret))

/** The form fields that carry secrets. */
const SECRET_FIELDS: ReadonlyArray<string> = ["client_secret", "code", "code_verifier", "refresh_token", "token"]

/** The secret values a form carries. */
const secretsOf = (fields: Readonly<Record<string, string>>): ReadonlyArray<string> =>
  SECRET_FIELDS.flatMap((name) => fields[name] ?? [])

/**
 * The same error with `secrets` cut out of its texts (`withoutSecrets`: whole values and pieces of them): the last
 * step of every IdP call, so that no echo of what the call sent reaches an error, a log line or a span.
 */
const withoutKnownSecrets = (secrets: ReadonlyArray<string>) => (error: OAuthError): OAuthError => {
  const code = error.error !== undefined ? withoutSecrets(error.error, secrets) : undefined
  const detail = error.detail !== undefined ? withoutSecrets(error.detail, secrets) : undefined
  if (code === error.error && detail === error.detail) return error
  return new OAuthError({
    reason: error.reason,
    ...(error.status !== undefined ? { status: error.status } : {}),
    ...(code !== undefined ? { error: code } : {}),
    ...(detail !== undefined ? { detail } : {})
  })
}

/**
 * Options of `refusal`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RefusalOptions {
  /** The client id the request was sent as: named when the IdP refuses the client. */
  readonly clientId?: string | undefined
  /**
   * The secrets the request carried (client secret, code, verifier, tokens). An IdP may echo them; they are cut out of
   * the error even when no pattern of a known token shape would catch them.
   */
  readonly secrets?: ReadonlyArray<string> | undefined
}

/**
 * The error for a non-2xx IdP answer: the OAuth `error` code, the status, and a scrubbed, capped excerpt of the
 * `error_description` (or of the body when there is no error code). `invalid_client` says that the client id or
 * secret is wrong, naming the id and the variables to check. The `secrets` given are cut out of the error code, the
 * description and the body, whole and in pieces.
 *
 * @since 0.1.0
 * @category errors
 */
export const refusal = (status: number, body: string, options: RefusalOptions = {}): OAuthError => {
  const json = parseJson(body)
  const secrets = options.secrets ?? []
  const code = Predicate.isRecord(json) && typeof json["error"] === "string"
    ? oauthErrorCode(withoutSecrets(json["error"], secrets))
    : undefined
  const rawDescription = Predicate.isRecord(json) ? nonEmptyString(json["error_description"]) : undefined
  const description = rawDescription === undefined ? undefined : excerpt(withoutSecrets(rawDescription, secrets), 200)
  const detail = code === "invalid_client"
    ? `the client id or client secret is wrong: ${
      options.clientId !== undefined ? `client ${excerpt(options.clientId, 80)}` : "the client"
    } and the secret sent are not the id and current secret of one Chutes app (check CHUTES_CLIENT_ID and ` +
      `CHUTES_CLIENT_SECRET)${description !== undefined ? `; the IdP says: ${description}` : ""}`
    : description !== undefined
    ? description
    : code === undefined
    ? `HTTP ${status}${body.trim().length > 0 ? `: ${errorDetail(withoutSecrets(body, secrets)) ?? ""}` : ""}`
    : undefined
  return withoutKnownSecrets(secrets)(
    new OAuthError({
      reason: "Exchange",
      status,
      ...(code !== undefined ? { error: code } : {}),
      ...(detail !== undefined ? { detail } : {})
    })
  )
}

/**
 * Options of `make` / `layerWith`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  /** Deadline of each IdP request, its answer's body included. Default 30 s. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * The largest answer body read, in bytes; a larger one fails with `InvalidTokenResponse` once it passes the cap.
   * Default `DEFAULT_MAX_RESPONSE_BYTES` (2 MiB).
   */
  readonly maxResponseBytes?: number | undefined
}

/** `n` bytes as the cap is shown: `2 MiB`, `64 KiB`, `1500 bytes`. */
const formatBytes = (n: number): string =>
  n >= 1024 * 1024 && n % (1024 * 1024) === 0
    ? `${n / (1024 * 1024)} MiB`
    : n >= 1024 && n % 1024 === 0
    ? `${n / 1024} KiB`
    : `${n} bytes`

/** The body of an answer as text through the cap (internal/cappedBody.ts); no body at all (a 204 to a revoke) is "". */
const readWithin = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number,
  tooLarge: () => OAuthError
): Effect.Effect<string, OAuthError | HttpClientError.ResponseError> =>
  CappedBody.readText(response, maxBytes, tooLarge).pipe(
    Effect.catchIf(
      (error): error is HttpClientError.ResponseError => error._tag === "ResponseError" && error.reason === "EmptyBody",
      () => Effect.succeed("")
    )
  )

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
    const requested = options.maxResponseBytes
    const maxBytes = requested !== undefined && Number.isFinite(requested) && requested >= 1
      ? Math.floor(requested)
      : DEFAULT_MAX_RESPONSE_BYTES
    const tokenUrl = `${idp}/idp/token`

    /** One request and its body, read through the cap; no retries anywhere here. */
    const send = (
      request: HttpClientRequest.HttpClientRequest,
      what: string
    ): Effect.Effect<{ readonly response: HttpClientResponse.HttpClientResponse; readonly body: string }, OAuthError> =>
      Effect.gen(function*() {
        const response = yield* client.execute(request)
        const tooLarge = () =>
          new OAuthError({
            reason: "InvalidTokenResponse",
            status: response.status,
            detail: `${what}: the answer is larger than the cap of ${formatBytes(maxBytes)} (HTTP ${response.status})`
          })
        const body = yield* readWithin(response, maxBytes, tooLarge)
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

    /** A non-2xx answer to a form request: the secrets the form carried are kept out of the error. */
    const refused = (status: number, body: string, fields: Readonly<Record<string, string>>): OAuthError =>
      refusal(status, body, { clientId: fields["client_id"], secrets: secretsOf(fields) })

    const tokens = (
      fields: Readonly<Record<string, string>>,
      what: string,
      previousRefresh?: Redacted.Redacted<string>
    ): Effect.Effect<TokenSet, OAuthError> =>
      Effect.gen(function*() {
        const { body, response } = yield* send(tokenRequest(fields), what)
        if (response.status < 200 || response.status >= 300) return yield* refused(response.status, body, fields)
        const now = yield* Clock.currentTimeMillis
        return yield* decodeTokenResponse(body, now, previousRefresh)
      }).pipe(Effect.mapError(withoutKnownSecrets(secretsOf(fields))))

    const exchangeCode = Effect.fn("ChutesOAuth.exchangeCode")(function*(options: {
      readonly app: OAuthApp
      readonly code: SecretInput
      readonly verifier: SecretInput
    }) {
      const { app } = options
      // The type requires it; a caller outside the type system gets a clear error, not the IdP's bare refusal.
      const secret = presentSecret(app.clientSecret)
      if (secret === undefined) {
        return yield* new OAuthError({ reason: "ClientSecret", detail: "the app has none, and the IdP checks it" })
      }
      return yield* tokens(
        {
          grant_type: "authorization_code",
          client_id: app.clientId,
          code: reveal(options.code),
          redirect_uri: app.redirectUri,
          code_verifier: reveal(options.verifier),
          client_secret: Redacted.value(secret)
        },
        "code exchange"
      )
    })

    const refresh = Effect.fn("ChutesOAuth.refresh")(function*(options: {
      readonly clientId?: string | undefined
      readonly clientSecret?: Redacted.Redacted<string> | undefined
      readonly refreshToken: Redacted.Redacted<string>
    }) {
      const client = yield* clientForRefresh(options, yield* clientFromEnv)
      const tokenSet = yield* tokens(
        {
          grant_type: "refresh_token",
          client_id: client.clientId,
          refresh_token: Redacted.value(options.refreshToken),
          client_secret: Redacted.value(client.clientSecret)
        },
        "token refresh",
        options.refreshToken
      )
      const refreshed: RefreshedTokens = { ...tokenSet, client }
      return refreshed
    })

    /**
     * `GET /idp/userinfo`; `known` are the other secrets of the sign-in it is part of (the code, the verifier, the
     * client secret, the new refresh token), kept out of its errors with the access token.
     */
    const readUserInfo = (
      access: Redacted.Redacted<string>,
      known: ReadonlyArray<string>
    ): Effect.Effect<UserInfo, OAuthError> => {
      const secrets = [Redacted.value(access), ...known]
      // A value the IdP built from a secret is not a user name (it would become the profile id, shown everywhere).
      const plain = (value: string | undefined): string | undefined =>
        value !== undefined && withoutSecrets(value, secrets) === value ? value : undefined
      return Effect.gen(function*() {
        const request = HttpClientRequest.get(`${idp}/idp/userinfo`).pipe(
          HttpClientRequest.acceptJson,
          HttpClientRequest.bearerToken(access)
        )
        const { body, response } = yield* send(request, "userinfo")
        if (response.status < 200 || response.status >= 300) return yield* refusal(response.status, body, { secrets })
        const json = parseJson(body)
        if (!Predicate.isRecord(json)) return yield* invalidTokenResponse("userinfo: the body is not a JSON object")
        const sub = plain(nonEmptyString(json["sub"]))
        const username = plain(nonEmptyString(json["username"]))
        const info: UserInfo = {
          ...(sub !== undefined ? { sub } : {}),
          ...(username !== undefined ? { username } : {})
        }
        return info
      }).pipe(Effect.mapError(withoutKnownSecrets(secrets)))
    }

    const userInfo = Effect.fn("ChutesOAuth.userInfo")((access: Redacted.Redacted<string>) => readUserInfo(access, []))

    const revoke = Effect.fn("ChutesOAuth.revoke")(function*(
      token: Redacted.Redacted<string>,
      stored: string | StoredClient
    ) {
      const client = yield* clientForRefresh(
        typeof stored === "string" ? { clientId: stored } : stored,
        yield* clientFromEnv
      )
      const fields = {
        token: Redacted.value(token),
        client_id: client.clientId,
        client_secret: Redacted.value(client.clientSecret)
      }
      const request = HttpClientRequest.post(`${idp}/idp/token/revoke`).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUrlParams(fields)
      )
      yield* send(request, "revoke").pipe(
        Effect.flatMap(({ body, response }) =>
          response.status < 200 || response.status >= 300
            ? Effect.fail(refused(response.status, body, fields))
            : Effect.void
        ),
        Effect.mapError(withoutKnownSecrets(secretsOf(fields)))
      )
    })

    const completeLogin = Effect.fn("ChutesOAuth.completeLogin")(function*(options: {
      readonly app: OAuthApp
      readonly code: SecretInput
      readonly verifier: SecretInput
    }) {
      const tokenSet = yield* exchangeCode(options)
      const known = [
        Redacted.value(tokenSet.refresh),
        reveal(options.code),
        reveal(options.verifier),
        Redacted.value(options.app.clientSecret)
      ]
      const info = yield* readUserInfo(tokenSet.access, known).pipe(
        Effect.withSpan("ChutesOAuth.userInfo"),
        Effect.map(Option.some),
        Effect.catchAll((error) =>
          Effect.as(
            Effect.logWarning(
              `Signed in, but the user info could not be read (${error.message}); continuing without a user name`
            ),
            Option.none<UserInfo>()
          )
        )
      )
      const client: OAuthClient = { clientId: options.app.clientId, clientSecret: options.app.clientSecret }
      const signedIn: SignedIn = { tokens: tokenSet, client, userInfo: Option.getOrUndefined(info) }
      return signedIn
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
