/**
 * Which credential the SDK sends, and where it came from (docs/oauth.md).
 *
 * Resolution order, first that yields wins: an explicit credential given in code -> `CHUTES_API_KEY` ->
 * `CHUTES_OAUTH_TOKEN` -> stored auth profiles (`layer`) -> none. Empty or whitespace-only values count as
 * unset. `layer({ sources: "profiles-only" })` narrows it to the stored profiles. Secrets stay `Redacted` from the edge
 * to the `Authorization` header.
 *
 * Callers only ever use `ChutesCredentials.get` / `require`; where the credential comes from is the layer's business,
 * so stored, refreshing OAuth profiles slot in without changing them.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as AuthProfileStore from "./AuthProfileStore.js"
import { CredentialsError, type OAuthError, type StoreError } from "./ChutesError.js"
import * as ChutesOAuth from "./ChutesOAuth.js"
import { authOrderConfig, optionalEnv } from "./ChutesSettings.js"
import * as ProfileOrder from "./internal/profileOrder.js"
import * as SingleFlight from "./internal/singleFlight.js"
import { warnOnce } from "./internal/warnOnce.js"
import { lastFour } from "./internal/redact.js"

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
 * A stable, non-secret identity of a credential (the first 16 hex digits of the SHA-256 of its secret, through Web
 * Crypto), for cache keys and logs.
 *
 * @since 0.1.0
 * @category utils
 */
export const identity = (credential: Credential): Effect.Effect<string> => {
  const known = identities.get(credential)
  if (known !== undefined) return Effect.succeed(known)
  return Effect.promise(() =>
    globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(Redacted.value(credential.secret)))
  ).pipe(
    Effect.map((digest) => {
      const id = Array.from(new Uint8Array(digest, 0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("")
      identities.set(credential, id)
      return id
    })
  )
}

// A credential is immutable, so its identity is hashed once per object: the provider asks on every cached call.
const identities = new WeakMap<Credential, string>()

/**
 * A label safe to print: kind, source and the last four characters.
 *
 * @since 0.1.0
 * @category utils
 */
export const label = (credential: Credential): string =>
  `${credential.kind === "oauth" ? "OAuth token" : "API key"} ${lastFour(Redacted.value(credential.secret))} (${credential.source})`

const API_KEY_SHAPE = /^cpk_[0-9a-f]{32}\.[0-9a-f]{32}\.[A-Za-z0-9]{32}$/

/** The shape of a Chutes API key, in words. */
const API_KEY_SHAPE_DESCRIPTION = "cpk_ + 32 hex + \".\" + 32 hex + \".\" + 32 letters or digits, 102 characters"

const API_KEY_LENGTH = 102

/** The three segments after `cpk_`: their names and what each may hold. */
const KEY_SEGMENTS: ReadonlyArray<{ readonly name: string; readonly chars: RegExp; readonly kind: string }> = [
  { name: "first", chars: /^[0-9a-f]*$/, kind: "lower-case hex (0-9, a-f)" },
  { name: "second", chars: /^[0-9a-f]*$/, kind: "lower-case hex (0-9, a-f)" },
  { name: "third", chars: /^[A-Za-z0-9]*$/, kind: "letters and digits" }
]

/**
 * Whether a string has the shape of a Chutes API key (`cpk_` + 32 hex + `.` + 32 hex + `.` + 32 alphanumerics).
 * Other shapes are warned about, never refused.
 *
 * @since 0.1.0
 * @category utils
 */
export const looksLikeApiKey = (key: string): boolean => API_KEY_SHAPE.test(key)

/**
 * What makes `key` differ from the shape of a Chutes API key (`cpk_` + 32 hex + `.` + 32 hex + `.` + 32 alphanumerics,
 * 102 characters), in short phrases that name lengths, segments and character classes but never quote the key. Empty
 * when the shape is right.
 *
 * @since 0.1.0
 * @category utils
 */
export const apiKeyShapeProblems = (key: string): ReadonlyArray<string> => {
  if (looksLikeApiKey(key)) return []
  const problems: Array<string> = []
  if (/\s/.test(key)) problems.push("it contains whitespace")
  if (key.length !== API_KEY_LENGTH) problems.push(`it has ${key.length} characters, not ${API_KEY_LENGTH}`)
  if (!key.startsWith("cpk_")) {
    problems.push("it does not start with cpk_")
    return problems
  }
  const segments = key.slice(4).split(".")
  if (segments.length !== KEY_SEGMENTS.length) {
    problems.push(`it has ${segments.length} segments after cpk_ (separated by "."), not ${KEY_SEGMENTS.length}`)
    return problems
  }
  KEY_SEGMENTS.forEach((expected, i) => {
    const segment = segments[i] ?? ""
    if (segment.length !== 32) {
      problems.push(`the ${expected.name} segment has ${segment.length} characters, not 32`)
    } else if (!expected.chars.test(segment)) {
      problems.push(`the ${expected.name} segment is not all ${expected.kind}`)
    }
  })
  return problems
}

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
    onSome: (c) => {
      const problems = c.kind === "api_key" ? apiKeyShapeProblems(Redacted.value(c.secret)) : []
      return problems.length === 0 ? Effect.void : Effect.logWarning(
        `The API key from ${c.source} does not have the shape of a Chutes key (${API_KEY_SHAPE_DESCRIPTION}): ` +
          `${problems.join("; ")}; using it anyway`
      )
    }
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
 * Explicit credential, then the environment. No stored profiles (see `layer` for those).
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

// ---------------------------------------------------------------------------------------------------------------------
// Stored profiles, with race-free refresh (docs/oauth.md, "How refresh works")
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Where the full credentials layer may take a credential from:
 * - `"all"` (the default): the whole resolution order — `explicit`, `CHUTES_API_KEY`, `CHUTES_OAUTH_TOKEN`, then the
 *   stored profiles;
 * - `"profiles-only"`: the stored profiles alone; `explicit` and the environment are not read. For checking or using a
 *   stored profile while a key is set in the environment (`effect-chutes auth status` does).
 *
 * @since 0.2.0
 * @category models
 */
export type Sources = "all" | "profiles-only"

/**
 * Options of the full credentials layer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Where a credential may come from; default `"all"`. See `Sources`. */
  readonly sources?: Sources | undefined
  /** A credential given in code: wins over everything. Not read with `sources: "profiles-only"`. */
  readonly explicit?: ExplicitCredential | undefined
  /** The stored profile to use, alone, when it exists (it pins: `order` does not apply). */
  readonly profileId?: string | undefined
  /**
   * Profile ids tried first, in this order (the rest follow OAuth first, then API keys). Default: `CHUTES_AUTH_ORDER`.
   * `ChutesProvider.layer` passes code's, else the config's `auth.order.chutes`, else the environment's. Ids that are
   * not stored Chutes profiles are ignored, with a warning said once.
   */
  readonly order?: ReadonlyArray<string> | undefined
  /** How long a resolved stored credential is reused before the store is read again (default 30 s). */
  readonly recheckAfter?: Duration.DurationInput | undefined
  /**
   * After a failed refresh, how long the same stored profile is not tried again (default 30 s, like discovery's
   * negative TTL): a dead IdP is not hammered on every request. A profile changed on disk meanwhile (a new sign-in,
   * another process's refresh) is tried at once.
   */
  readonly retryRefreshAfter?: Duration.DurationInput | undefined
}

/**
 * The stored profiles in the order they are tried: the chosen id alone when it exists; else the ids of `order` that
 * are stored, in that order, then the rest: every OAuth profile, then every API-key profile, each in file order.
 *
 * @since 0.1.0
 * @category profiles
 */
export const orderProfiles = (
  profiles: ReadonlyMap<string, AuthProfileStore.ChutesProfile>,
  preferred?: string | undefined,
  order?: ReadonlyArray<string> | undefined
): ReadonlyArray<readonly [string, AuthProfileStore.ChutesProfile]> => ProfileOrder.order(profiles, preferred, order)

/**
 * The stored profile tried first (see `orderProfiles`).
 *
 * @since 0.1.0
 * @category profiles
 */
export const chooseProfile = (
  profiles: ReadonlyMap<string, AuthProfileStore.ChutesProfile>,
  preferred?: string | undefined
): readonly [string, AuthProfileStore.ChutesProfile] | undefined => orderProfiles(profiles, preferred)[0]

/**
 * The credential of a stored profile.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromProfile = (id: string, profile: AuthProfileStore.ChutesProfile): Credential =>
  profile.type === "oauth"
    ? make({ kind: "oauth", source: `profile:${id}`, secret: profile.access, expires: profile.expires, profileId: id })
    : make({ kind: "api_key", source: `profile:${id}`, secret: profile.key, profileId: id })

const storeFailure = (error: StoreError) => new CredentialsError({ reason: "Store", detail: error.message })

/**
 * A refresh that failed for good — the IdP refused the grant or the client (a 4xx such as `invalid_grant` or
 * `invalid_client`), or there is no client to refresh as (no client id or secret: a new sign-in stores them) — needs a
 * new sign-in; anything else (unreachable IdP, time-out, 5xx, garbled answer) may pass.
 */
const refreshFailure = (profileId: string, error: OAuthError) =>
  (error.reason === "Exchange" && error.status !== undefined && error.status >= 400 && error.status < 500) ||
    error.reason === "ClientId" || error.reason === "ClientSecret"
    ? new CredentialsError({ reason: "ReauthRequired", profileId, source: `profile:${profileId}`, detail: error.message })
    : new CredentialsError({ reason: "RefreshFailed", profileId, source: `profile:${profileId}`, detail: error.message })

/**
 * The full resolution order: explicit -> `CHUTES_API_KEY` -> `CHUTES_OAUTH_TOKEN` -> stored profiles (the stored
 * profiles alone with `sources: "profiles-only"`).
 *
 * A stored OAuth token is refreshed when due (`now >= expires`, the margin is already in `expires`):
 * - inside a process, one refresh per profile is in flight and every concurrent caller waits for it;
 * - across processes, the refresh runs under the store's lock, after re-reading the store: if another process has
 *   refreshed meanwhile, its token is used and no request is made (refresh tokens are single-use);
 * - on failure the store is re-read once (another writer may hold a fresh token); else `ReauthRequired` naming the
 *   profile (the IdP refused) or `RefreshFailed` (a passing failure). The stored profile is never deleted or
 *   overwritten because a refresh failed;
 * - a refresh that succeeded but could not be written (disk full, the store changed into something that must not be
 *   overwritten, …) still returns the new credential: the IdP has consumed the old refresh token, so the new tokens
 *   are kept in memory for the life of this layer (used instead of the stored profile while the store still holds the
 *   consumed token) and the write is retried on later reads, with a warning that says so.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStored = (
  options: Options = {}
): Effect.Effect<Service, never, AuthProfileStore.AuthProfileStore | ChutesOAuth.ChutesOAuth | Scope.Scope> =>
  Effect.gen(function*() {
    if ((options.sources ?? "all") === "all") {
      const fixed = yield* fromExplicitOrEnv(options.explicit)
      yield* warnOnShape(fixed)
      if (Option.isSome(fixed)) return { get: Effect.succeed(fixed), forceRefresh: () => Effect.succeedNone }
    }

    const store = yield* AuthProfileStore.AuthProfileStore
    const oauth = yield* ChutesOAuth.ChutesOAuth
    const scope = yield* Effect.scope
    const recheckMillis = Duration.toMillis(options.recheckAfter ?? Duration.seconds(30))
    const retryRefreshMillis = Duration.toMillis(options.retryRefreshAfter ?? Duration.seconds(30))
    const order = options.order ?? Option.getOrUndefined(yield* Effect.orDie(authOrderConfig))
    /**
     * Refreshed profiles whose write failed, with the stored refresh token they replace (consumed at the IdP). Used
     * instead of the stored profile while the store still holds that token; dropped once the store holds anything else
     * (our write landed, or a new sign-in or another process wrote).
     */
    const unsaved = new Map<string, { readonly profile: AuthProfileStore.OAuthProfile; readonly replaces: string }>()
    const withUnsaved = (
      profiles: ReadonlyMap<string, AuthProfileStore.ChutesProfile>
    ): ReadonlyMap<string, AuthProfileStore.ChutesProfile> => {
      if (unsaved.size === 0) return profiles
      const merged = new Map(profiles)
      for (const [id, entry] of unsaved) {
        const stored = profiles.get(id)
        if (stored?.type === "oauth" && stored.refresh === entry.replaces) merged.set(id, entry.profile)
        else unsaved.delete(id)
      }
      return merged
    }
    /** Tries again to write the refreshed profiles that could not be written; failures wait for the next try. */
    const saveUnsaved = Effect.suspend(() => Effect.forEach(Array.from(unsaved), ([id, entry]) =>
      store.modify((current) => {
        const stored = current.profiles.get(id)
        const still = stored?.type === "oauth" && stored.refresh === entry.replaces
        return Effect.succeed([still, still ? [{ _tag: "Upsert", id, profile: entry.profile } as const] : []] as const)
      }).pipe(
        Effect.tap((written) =>
          Effect.sync(() => unsaved.delete(id)).pipe(
            Effect.zipRight(
              written
                ? Effect.logWarning(`saved the refreshed OAuth tokens of profile ${id} to ${store.location}`)
                : Effect.void
            )
          )
        ),
        Effect.catchAll((error) =>
          Effect.logDebug(`still cannot save the refreshed tokens of profile ${id}: ${error.message}`)
        )
      ), { discard: true }))
    /** Failed refreshes per profile: the error, until when it stands, and the refresh token it was for. */
    const failures = new Map<string, { readonly error: CredentialsError; readonly until: number; readonly refresh: string }>()
    let memo: { readonly credential: Credential; readonly validUntil: number } | undefined
    const refreshes = SingleFlight.make<string, Credential, CredentialsError>(scope)

    const remember = (credential: Credential) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        memo = { credential, validUntil: Math.min(credential.expires ?? Number.POSITIVE_INFINITY, now + recheckMillis) }
        return credential
      })

    /** Refreshes under the store lock. `rejected`: the access token the service refused (a forced refresh). */
    const refreshUnderLock = (id: string, rejected: string | undefined) => {
      /** Set once the IdP has rotated the tokens: from then on, losing them would lose the sign-in. */
      let rotated: { readonly profile: AuthProfileStore.OAuthProfile; readonly replaces: string } | undefined
      return store.modify((current) =>
        Effect.gen(function*() {
          const profile = withUnsaved(current.profiles).get(id)
          const stored = current.profiles.get(id)
          if (profile === undefined || profile.type !== "oauth" || stored?.type !== "oauth") {
            return yield* new CredentialsError({ reason: "ReauthRequired", profileId: id, detail: "the profile is gone" })
          }
          const now = yield* Clock.currentTimeMillis
          const alreadyDone = rejected === undefined ? now < profile.expires : profile.access !== rejected
          if (alreadyDone) return [fromProfile(id, profile), []] as const
          const tokens = yield* oauth.refresh({
            clientId: profile.clientId,
            clientSecret: profile.clientSecret,
            refreshToken: Redacted.make(profile.refresh)
          })
          // A profile that stores its client keeps the pair that worked (a secret rotated in the env for the same app
          // replaces the stale one). One without (older, or another tool's) only gets new tokens.
          const updated: AuthProfileStore.OAuthProfile = {
            ...profile,
            access: Redacted.value(tokens.access),
            refresh: Redacted.value(tokens.refresh),
            expires: tokens.expires,
            ...(profile.clientSecret !== undefined
              ? { clientId: tokens.client.clientId, clientSecret: tokens.client.clientSecret }
              : {})
          }
          yield* Effect.logDebug(`refreshed the OAuth token of profile ${id}`)
          rotated = { profile: updated, replaces: stored.refresh }
          return [fromProfile(id, updated), [{ _tag: "Upsert", id, profile: updated }]] as const
        })
      ).pipe(
        // Written: whatever was kept in memory for this profile is on disk now (or superseded by what is).
        Effect.tap(() => Effect.sync(() => rotated !== undefined && unsaved.delete(id))),
        Effect.catchTags({
          StoreError: (error) => {
            if (rotated === undefined) return Effect.fail(storeFailure(error))
            // The IdP has consumed the old refresh token: the new tokens must not be dropped with the failed write.
            const kept = rotated
            unsaved.set(id, kept)
            return Effect.as(
              Effect.logWarning(
                `refreshed the OAuth token of profile ${id}, but could not write it to ${store.location}: ` +
                  `${error.message}. The new tokens are kept in memory for this process and the write is retried on ` +
                  `later reads; until it succeeds, other processes see the old refresh token, which the identity ` +
                  `provider no longer accepts`
              ),
              fromProfile(id, kept.profile)
            )
          },
          OAuthError: (error) =>
            // Another writer may hold a fresh token (it refreshed between our read and our request).
            Effect.gen(function*() {
              const reread = yield* Effect.mapError(store.load, storeFailure)
              const profile = withUnsaved(reread.profiles).get(id)
              const now = yield* Clock.currentTimeMillis
              if (profile?.type === "oauth" && now < profile.expires && profile.access !== rejected) {
                return fromProfile(id, profile)
              }
              yield* Effect.logWarning(`could not refresh the OAuth token of profile ${id}: ${error.message}`)
              return yield* refreshFailure(id, error)
            })
        }),
        Effect.withSpan("ChutesCredentials.refresh", { attributes: { "chutes.profile": id } })
      )
    }

    /** One refresh per profile in flight; it belongs to the layer's scope, so an interrupted caller strands no one. */
    const refresh = (id: string, rejected: string | undefined): Effect.Effect<Credential, CredentialsError> =>
      refreshes.run(id, Effect.tap(refreshUnderLock(id, rejected), remember))

    const get: Effect.Effect<Option.Option<Credential>, CredentialsError> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (memo !== undefined && now < memo.validUntil) return Option.some(memo.credential)
      if (unsaved.size > 0) yield* saveUnsaved
      const current = yield* Effect.mapError(store.load, storeFailure)
      const profiles = withUnsaved(current.profiles)
      const candidates = orderProfiles(profiles, options.profileId, order)
      const pinned = options.profileId !== undefined && profiles.has(options.profileId)
      if (!pinned) {
        for (const id of ProfileOrder.unknownIds(profiles, order)) {
          yield* warnOnce(ProfileOrder.unknownIdWarning(id, store.location))
        }
      }
      memo = undefined
      // "First that yields wins": an OAuth profile that cannot be refreshed gives way to the next profile, unless it
      // was chosen explicitly. When none yields, the first failure is the answer.
      let firstFailure: CredentialsError | undefined
      for (const [id, profile] of candidates) {
        if (profile.type === "oauth" && now >= profile.expires) {
          const failed = failures.get(id)
          const standing = failed !== undefined && failed.refresh === profile.refresh && now < failed.until
          const refreshed = standing ? Either.left(failed.error) : yield* Effect.either(refresh(id, undefined))
          if (!standing) {
            if (Either.isLeft(refreshed)) {
              failures.set(id, { error: refreshed.left, until: now + retryRefreshMillis, refresh: profile.refresh })
            } else {
              failures.delete(id)
            }
          }
          if (Either.isRight(refreshed)) return Option.some(refreshed.right)
          if (candidates.length === 1) return yield* refreshed.left
          firstFailure ??= refreshed.left
          continue
        }
        return Option.some(yield* remember(fromProfile(id, profile)))
      }
      return firstFailure === undefined ? Option.none() : yield* firstFailure
    })

    const forceRefresh = (credential: Credential): Effect.Effect<Option.Option<Credential>, CredentialsError> =>
      credential.kind === "oauth" && credential.profileId !== undefined
        ? Effect.asSome(refresh(credential.profileId, Redacted.value(credential.secret)))
        : Effect.succeedNone

    return { get, forceRefresh }
  })

/**
 * The full credentials: explicit, env, then stored profiles refreshed when due (`sources: "profiles-only"`: the stored
 * profiles alone). Needs the profile store and the OAuth protocol service (`ChutesProvider.layer` wires both).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<ChutesCredentials, never, AuthProfileStore.AuthProfileStore | ChutesOAuth.ChutesOAuth> =>
  Layer.scoped(ChutesCredentials, makeStored(options))
