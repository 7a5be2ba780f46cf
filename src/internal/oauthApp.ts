/**
 * The OAuth app as the flows use it: its settings from the environment, the client (id + secret pair) a stored
 * profile refreshes with, and the authorize URL. Pure, or reading `Config` only; re-exported by `ChutesOAuth`.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { OAuthError } from "../ChutesError.js"
import { optionalEnv } from "../ChutesSettings.js"

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

/** The secret, unless it is missing or blank. Not re-exported. */
export const presentSecret = (
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

/** `url` without trailing slashes. Not re-exported. */
export const stripSlash = (url: string): string => url.replace(/\/+$/, "")

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
