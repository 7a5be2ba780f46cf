/**
 * Which credential the SDK sends, and where it came from (SPEC §4).
 *
 * Resolution order, first that yields wins: an explicit credential given in code -> `CHUTES_API_KEY` ->
 * `CHUTES_OAUTH_TOKEN` -> stored auth profiles (see `ChutesAuth`) -> none. Empty or whitespace-only values count as
 * unset. Secrets stay `Redacted` from the edge to the `Authorization` header.
 *
 * Callers only ever use `ChutesCredentials.get` / `require`; where the credential comes from is the layer's business,
 * so stored, refreshing OAuth profiles slot in without changing them.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { CredentialsError } from "./ChutesError.js"
import { optionalEnv } from "./ChutesSettings.js"

/**
 * @since 0.1.0
 * @category models
 */
export type CredentialKind = "api_key" | "oauth"

/**
 * A credential ready to be sent as `Authorization: Bearer …`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Credential {
  readonly kind: CredentialKind
  /** `explicit`, `env:CHUTES_API_KEY`, `env:CHUTES_OAUTH_TOKEN`, `profile:chutes:alice`, … */
  readonly source: string
  readonly secret: Redacted.Redacted<string>
  /** Epoch milliseconds after which an OAuth token must be refreshed; undefined when unknown. */
  readonly expires?: number | undefined
  /** The stored profile it came from, if any. */
  readonly profileId?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The current credential, refreshed first when due; `None` when there is none at all. */
  readonly get: Effect.Effect<Option.Option<Credential>, CredentialsError>
  /**
   * Called after the service rejected `credential` (HTTP 401): a refreshable credential is refreshed once and the new
   * one returned; a static one gives `None`.
   */
  readonly forceRefresh: (credential: Credential) => Effect.Effect<Option.Option<Credential>, CredentialsError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ChutesCredentials extends Context.Tag("effect-chutes/ChutesCredentials")<ChutesCredentials, Service>() {}

/**
 * The current credential, or `CredentialsError` with reason `Missing`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const current: Effect.Effect<Credential, CredentialsError, ChutesCredentials> = Effect.flatMap(
  ChutesCredentials,
  (credentials) =>
    Effect.flatMap(
      credentials.get,
      Option.match({
        onNone: () => Effect.fail(new CredentialsError({ reason: "Missing" })),
        onSome: Effect.succeed
      })
    )
)

/**
 * A stable, non-secret identity of a credential (a SHA-256 prefix), for cache keys and logs.
 *
 * @since 0.1.0
 * @category utils
 */
export const identity = (credential: Credential): string =>
  createHash("sha256").update(Redacted.value(credential.secret)).digest("hex").slice(0, 16)

/**
 * A label safe to print: kind, source and the last four characters.
 *
 * @since 0.1.0
 * @category utils
 */
export const label = (credential: Credential): string => {
  const secret = Redacted.value(credential.secret)
  const tail = secret.length > 8 ? `…${secret.slice(-4)}` : "****"
  return `${credential.kind === "oauth" ? "OAuth token" : "API key"} ${tail} (${credential.source})`
}

const API_KEY_SHAPE = /^cpk_[0-9a-f]{32}\.[0-9a-f]{32}\.[A-Za-z0-9]{32}$/

/**
 * Whether a string has the shape of a Chutes API key (`cpk_` + 32 hex + `.` + 32 hex + `.` + 32 alphanumerics).
 * Other shapes are warned about, never refused.
 *
 * @since 0.1.0
 * @category utils
 */
export const looksLikeApiKey = (key: string): boolean => API_KEY_SHAPE.test(key)

/**
 * What can be given in code: a secret (string or `Redacted`) as an API key or an OAuth access token.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExplicitCredential {
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
  readonly oauthToken?: string | Redacted.Redacted<string> | undefined
}

const nonEmpty = (value: string | Redacted.Redacted<string> | undefined): Option.Option<Redacted.Redacted<string>> => {
  if (value === undefined) return Option.none()
  const raw = Redacted.isRedacted(value) ? Redacted.value(value) : value
  return raw.trim().length > 0 ? Option.some(Redacted.make(raw.trim())) : Option.none()
}

/**
 * Makes a credential from a secret.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly kind: CredentialKind
  readonly source: string
  readonly secret: string | Redacted.Redacted<string>
  readonly expires?: number | undefined
  readonly profileId?: string | undefined
}): Credential => ({
  kind: options.kind,
  source: options.source,
  secret: Redacted.isRedacted(options.secret) ? options.secret : Redacted.make(options.secret),
  expires: options.expires,
  profileId: options.profileId
})

/**
 * The static part of the resolution order: explicit (API key before OAuth token), then `CHUTES_API_KEY`, then
 * `CHUTES_OAUTH_TOKEN`. Read once; env credentials never refresh.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromExplicitOrEnv = (explicit: ExplicitCredential = {}): Effect.Effect<Option.Option<Credential>> =>
  Effect.gen(function*() {
    const apiKey = nonEmpty(explicit.apiKey)
    if (Option.isSome(apiKey)) return Option.some(make({ kind: "api_key", source: "explicit", secret: apiKey.value }))
    const token = nonEmpty(explicit.oauthToken)
    if (Option.isSome(token)) return Option.some(make({ kind: "oauth", source: "explicit", secret: token.value }))
    const envKey = yield* optionalEnv("CHUTES_API_KEY").pipe(Effect.orDie)
    if (Option.isSome(envKey)) return Option.some(make({ kind: "api_key", source: "env:CHUTES_API_KEY", secret: envKey.value }))
    const envToken = yield* optionalEnv("CHUTES_OAUTH_TOKEN").pipe(Effect.orDie)
    if (Option.isSome(envToken)) {
      return Option.some(make({ kind: "oauth", source: "env:CHUTES_OAUTH_TOKEN", secret: envToken.value }))
    }
    return Option.none()
  })

/**
 * Logs a warning when an API key does not have the usual shape (it is still used).
 *
 * @since 0.1.0
 * @category utils
 */
export const warnOnShape = (credential: Option.Option<Credential>): Effect.Effect<void> =>
  Option.match(credential, {
    onNone: () => Effect.void,
    onSome: (c) =>
      c.kind === "api_key" && !looksLikeApiKey(Redacted.value(c.secret))
        ? Effect.logWarning(`The API key from ${c.source} does not look like a Chutes key (cpk_…); using it anyway`)
        : Effect.void
  })

/**
 * A fixed credential (or none): for tests and apps that manage secrets themselves.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStatic = (credential: Credential | undefined): Layer.Layer<ChutesCredentials> =>
  Layer.succeed(ChutesCredentials, {
    get: Effect.succeed(Option.fromNullable(credential)),
    forceRefresh: () => Effect.succeed(Option.none())
  })

/**
 * Explicit credential, then the environment. No stored profiles (see `ChutesAuth.layerCredentials` for those).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEnv = (explicit: ExplicitCredential = {}): Layer.Layer<ChutesCredentials> =>
  Layer.effect(
    ChutesCredentials,
    Effect.gen(function*() {
      const credential = yield* fromExplicitOrEnv(explicit)
      yield* warnOnShape(credential)
      return {
        get: Effect.succeed(credential),
        forceRefresh: () => Effect.succeed(Option.none())
      }
    })
  )
