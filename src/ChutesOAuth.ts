/**
 * "Sign in with Chutes": the OAuth protocol.
 *
 * The `ChutesOAuth` service does the HTTP parts (code exchange, refresh, userinfo, revoke) over an `HttpClient`,
 * configured by `ChutesSettings.idpBaseUrl`; a sign-in ends with tokens (`SignedIn`), which
 * `AuthProfileStore.fromSignIn` turns into the profile to store. The pure parts it re-exports live apart: app
 * settings, the client pair and the authorize URL (`internal/oauthApp.ts`), the token and userinfo bodies — each one
 * `Schema` — and the expiry arithmetic (`internal/oauthTokens.ts`), one request to the IdP and its error mapping
 * (`internal/oauthHttp.ts`). PKCE and `state` are in `OAuthPkce`, callback parsing in `OAuthCallback`, the
 * interactive flows (listener, prompts, browser) in `OAuthLogin`.
 *
 * Faults of OpenClaw's implementation that are NOT copied: a pasted bare code is refused (it would skip the CSRF
 * check); `state` is required and compared in constant time; `expires_in` is validated (no NaN / Infinity expiry);
 * the code exchange and the refresh are never retried automatically (codes and refresh tokens are single-use).
 *
 * @example
 * ```ts
 * import { ChutesOAuth } from "effect-chutes"
 * import * as Effect from "effect/Effect"
 * import * as Redacted from "effect/Redacted"
 *
 * // Refresh a stored token: the IdP answers with new tokens and the client pair to store with them.
 * const refreshed = Effect.flatMap(ChutesOAuth.ChutesOAuth, (oauth) =>
 *   oauth.refresh({
 *     clientId: "cid_app",
 *     clientSecret: Redacted.make("csc_secret"),
 *     refreshToken: Redacted.make("crt_token")
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { OAuthError } from "./ChutesError.js"
import { ChutesSettings } from "./ChutesSettings.js"
import {
  authorizeUrl,
  clientForRefresh,
  clientFromEnv,
  type OAuthApp,
  type OAuthClient,
  presentSecret,
  type StoredClient,
  stripSlash
} from "./internal/oauthApp.js"
import { answerOk, makeSend, secretsOf, withoutKnownSecrets } from "./internal/oauthHttp.js"
import { decodeTokenResponse, decodeUserInfo, type TokenSet, type UserInfo } from "./internal/oauthTokens.js"
import { printable, withoutSecrets } from "./internal/redact.js"
import { limitOr } from "./internal/limits.js"

/**
 * The app settings (`appFromEnv`, `appConfig`, the defaults), the client a stored profile refreshes with
 * (`clientForRefresh`) and the authorize URL.
 *
 * @since 0.1.0
 */
export {
  type AppSettings,
  appConfig,
  appFromEnv,
  authorizeUrl,
  clientForRefresh,
  clientFromEnv,
  clientIdFromEnv,
  clientSecretFromEnv,
  DEFAULT_REDIRECT_URI,
  DEFAULT_SCOPES,
  type EnvClient,
  INVOKE_SCOPE,
  type OAuthApp,
  type OAuthClient,
  parseScopes,
  type StoredClient,
  warnOnScopes
} from "./internal/oauthApp.js"
/**
 * Tokens, user info and expiry: `expiresAt` holds the 5-minute margin; `parseExpiresIn` is the token response's rule
 * for `expires_in`.
 *
 * @since 0.1.0
 */
export {
  expiresAt,
  EXPIRY_MARGIN_MILLIS,
  MAX_EXPIRES_IN,
  MIN_LIFETIME_MILLIS,
  parseExpiresIn,
  type TokenSet,
  type UserInfo
} from "./internal/oauthTokens.js"

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
 * What a code exchange sends: the app (its secret included), the code from the callback and the PKCE verifier.
 *
 * @since 0.2.0
 * @category models
 */
export interface ExchangeOptions {
  readonly app: OAuthApp
  readonly code: SecretInput
  readonly verifier: SecretInput
}

/**
 * What a refresh sends: the stored refresh token and what the profile stores about its client.
 *
 * @since 0.2.0
 * @category models
 */
export interface RefreshOptions extends StoredClient {
  readonly refreshToken: Redacted.Redacted<string>
}

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
  readonly exchangeCode: (options: ExchangeOptions) => Effect.Effect<TokenSet, OAuthError>
  /**
   * `POST /idp/token` with `grant_type=refresh_token`. `clientId` and `clientSecret` are what the profile stores; the
   * client sent is `clientForRefresh` of them and of `CHUTES_CLIENT_ID` / `CHUTES_CLIENT_SECRET` read now (the stored
   * pair, env values only where they belong to the same app), and comes back with the tokens. Without a usable
   * client, `ClientId` / `ClientSecret` and no request. Not retried (the request may have consumed the token). A
   * missing new refresh token keeps the old one.
   */
  readonly refresh: (options: RefreshOptions) => Effect.Effect<RefreshedTokens, OAuthError>
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
  readonly completeLogin: (options: ExchangeOptions) => Effect.Effect<SignedIn, OAuthError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ChutesOAuth extends Context.Tag("effect-chutes/ChutesOAuth")<ChutesOAuth, Service>() {}

const reveal = (secret: SecretInput): string => (typeof secret === "string" ? secret : Redacted.value(secret))

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

/** The cap asked for, or the default when it is not a usable number of bytes. */
const byteCap = (requested: number | undefined): number => limitOr(requested, DEFAULT_MAX_RESPONSE_BYTES)

/** The IdP as the protocol steps below reach it: its base URL and one request through the cap and the deadline. */
interface Idp {
  readonly url: string
  readonly send: ReturnType<typeof makeSend>
}

/** A form to `path`; a non-2xx answer is refused, and the secrets the form carried are kept out of any error. */
const postForm = (idp: Idp, path: string, fields: Readonly<Record<string, string>>, what: string) => {
  const secrets = secretsOf(fields)
  const request = HttpClientRequest.post(`${idp.url}${path}`).pipe(
    HttpClientRequest.acceptJson,
    HttpClientRequest.bodyUrlParams(fields)
  )
  return idp.send(request, what).pipe(
    Effect.flatMap((answer) => answerOk(answer, { clientId: fields["client_id"], secrets })),
    Effect.mapError(withoutKnownSecrets(secrets))
  )
}

/** A grant at `/idp/token`, decoded (`previousRefresh`: kept when the answer has no refresh token). */
const tokenGrant = (
  idp: Idp,
  fields: Readonly<Record<string, string>>,
  what: string,
  previousRefresh?: Redacted.Redacted<string>
): Effect.Effect<TokenSet, OAuthError> =>
  Effect.gen(function*() {
    const body = yield* postForm(idp, "/idp/token", fields, what)
    const now = yield* Clock.currentTimeMillis
    return yield* decodeTokenResponse(body, now, previousRefresh)
  }).pipe(Effect.mapError(withoutKnownSecrets(secretsOf(fields))))

const exchangeCode = (idp: Idp, options: ExchangeOptions): Effect.Effect<TokenSet, OAuthError> => {
  const { app } = options
  // The type requires it; a caller outside the type system gets a clear error, not the IdP's bare refusal.
  const secret = presentSecret(app.clientSecret)
  if (secret === undefined) {
    return Effect.fail(new OAuthError({ reason: "ClientSecret", detail: "the app has none, and the IdP checks it" }))
  }
  return tokenGrant(idp, {
    grant_type: "authorization_code",
    client_id: app.clientId,
    code: reveal(options.code),
    redirect_uri: app.redirectUri,
    code_verifier: reveal(options.verifier),
    client_secret: Redacted.value(secret)
  }, "code exchange")
}

const refresh = (idp: Idp, options: RefreshOptions): Effect.Effect<RefreshedTokens, OAuthError> =>
  Effect.gen(function*() {
    const client = yield* clientForRefresh(options, yield* clientFromEnv)
    const tokenSet = yield* tokenGrant(idp, {
      grant_type: "refresh_token",
      client_id: client.clientId,
      refresh_token: Redacted.value(options.refreshToken),
      client_secret: Redacted.value(client.clientSecret)
    }, "token refresh", options.refreshToken)
    return { ...tokenSet, client }
  })

/**
 * `GET /idp/userinfo`; `known` are the other secrets of the sign-in it is part of (the code, the verifier, the client
 * secret, the new refresh token), kept out of its errors with the access token.
 */
const readUserInfo = (
  idp: Idp,
  access: Redacted.Redacted<string>,
  known: ReadonlyArray<string>
): Effect.Effect<UserInfo, OAuthError> => {
  const secrets = [Redacted.value(access), ...known]
  // A value the IdP built from a secret is not a user name (it would become the profile id, shown everywhere), nor
  // is one with control characters or of more than 256 characters (it is stored, and shown by every tool that reads
  // the store).
  const plain = (value: string | undefined): string | undefined =>
    value !== undefined && value.length <= 256 && printable(value) === value && withoutSecrets(value, secrets) === value
      ? value
      : undefined
  const request = HttpClientRequest.get(`${idp.url}/idp/userinfo`).pipe(
    HttpClientRequest.acceptJson,
    HttpClientRequest.bearerToken(access)
  )
  return idp.send(request, "userinfo").pipe(
    Effect.flatMap((answer) => answerOk(answer, { secrets })),
    Effect.flatMap(decodeUserInfo),
    Effect.map(({ sub, username }): UserInfo => {
      const safeSub = plain(sub)
      const safeName = plain(username)
      return {
        ...(safeSub !== undefined ? { sub: safeSub } : {}),
        ...(safeName !== undefined ? { username: safeName } : {})
      }
    }),
    Effect.mapError(withoutKnownSecrets(secrets))
  )
}

const revoke = (idp: Idp, token: Redacted.Redacted<string>, stored: string | StoredClient) =>
  Effect.gen(function*() {
    const storedClient = typeof stored === "string" ? { clientId: stored } : stored
    const client = yield* clientForRefresh(storedClient, yield* clientFromEnv)
    yield* postForm(idp, "/idp/token/revoke", {
      token: Redacted.value(token),
      client_id: client.clientId,
      client_secret: Redacted.value(client.clientSecret)
    }, "revoke")
  })

/** The sign-in's end: `exchange` (the traced code exchange), then userinfo, which may fail with a warning only. */
const completeLogin = (
  idp: Idp,
  exchange: Effect.Effect<TokenSet, OAuthError>,
  options: ExchangeOptions
): Effect.Effect<SignedIn, OAuthError> =>
  Effect.gen(function*() {
    const tokenSet = yield* exchange
    const known = [
      Redacted.value(tokenSet.refresh),
      reveal(options.code),
      reveal(options.verifier),
      Redacted.value(options.app.clientSecret)
    ]
    const info = yield* readUserInfo(idp, tokenSet.access, known).pipe(
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
    return { tokens: tokenSet, client, userInfo: Option.getOrUndefined(info) }
  })

/**
 * The service over an `HttpClient`, on `ChutesSettings.idpBaseUrl`. Each call is one span named after it
 * (`ChutesOAuth.exchangeCode`, …).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: MakeOptions = {}
): Effect.Effect<Service, never, HttpClient.HttpClient | ChutesSettings> =>
  Effect.gen(function*() {
    const settings = yield* ChutesSettings
    const idp: Idp = {
      url: stripSlash(settings.idpBaseUrl),
      send: makeSend(yield* HttpClient.HttpClient, {
        timeout: Duration.decode(options.timeout ?? DEFAULT_TIMEOUT),
        maxBytes: byteCap(options.maxResponseBytes)
      })
    }
    const exchange = (options: ExchangeOptions) =>
      Effect.withSpan(exchangeCode(idp, options), "ChutesOAuth.exchangeCode")
    return ChutesOAuth.of({
      idpBaseUrl: idp.url,
      authorizeUrl: (app, params) => authorizeUrl(idp.url, app, params),
      exchangeCode: exchange,
      refresh: (options) => Effect.withSpan(refresh(idp, options), "ChutesOAuth.refresh"),
      userInfo: (access) => Effect.withSpan(readUserInfo(idp, access, []), "ChutesOAuth.userInfo"),
      revoke: (token, client) => Effect.withSpan(revoke(idp, token, client), "ChutesOAuth.revoke"),
      completeLogin: (options) =>
        Effect.withSpan(completeLogin(idp, exchange(options), options), "ChutesOAuth.completeLogin")
    })
  })

/**
 * The service over the `HttpClient` and `ChutesSettings` in context; `options` set a different deadline per IdP
 * request.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: MakeOptions = {}
): Layer.Layer<ChutesOAuth, never, HttpClient.HttpClient | ChutesSettings> => Layer.effect(ChutesOAuth, make(options))
