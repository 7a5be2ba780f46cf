/**
 * Which credential the SDK sends, and where it came from (docs/oauth.md).
 *
 * Resolution order, first that yields wins: an explicit credential given in code -> `CHUTES_API_KEY` ->
 * `CHUTES_OAUTH_TOKEN` -> stored auth profiles (`layer`) -> none. Empty or whitespace-only values count as
 * unset. `layer({ sources: "profiles-only" })` narrows it to the stored profiles. Secrets stay `Redacted` from the edge
 * to the `Authorization` header.
 *
 * Callers only ever use `ChutesCredentials.get` / `require`; where the credential comes from is the layer's business,
 * so stored, refreshing OAuth profiles slot in without changing them. With several stored profiles, cooldowns (what
 * the service said of an account: `AuthCooldowns`) order them, and `Rotation` moves a call to the next one
 * (docs/deployments.md, "Several accounts").
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
import type * as AuthCooldowns from "./AuthCooldowns.js"
import * as AuthProfileStore from "./AuthProfileStore.js"
import { CredentialsError } from "./ChutesError.js"
import * as ChutesOAuth from "./ChutesOAuth.js"
import { authOrderConfig, optionalEnv } from "./ChutesSettings.js"
import * as ApiKeyShape from "./internal/apiKeyShape.js"
import * as CooldownPolicy from "./internal/cooldownPolicy.js"
import { sha256Prefix } from "./internal/fingerprint.js"
import * as ProfileCooldowns from "./internal/profileCooldowns.js"
import * as ProfileOrder from "./internal/profileOrder.js"
import * as ProfileRefresh from "./internal/profileRefresh.js"
import * as SingleFlight from "./internal/singleFlight.js"
import * as UnsavedTokens from "./internal/unsavedTokens.js"
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
  /** Moving a call across the stored profiles; absent for a fixed credential (code or env: one credential). */
  readonly rotation?: Rotation | undefined
}

/**
 * Several stored profiles, in order, with cooldowns (docs/deployments.md, "Several accounts"): what the service
 * answered for a profile cools it (`report`), a call whose account failed moves to the `next` profile, and a call to
 * a free model fails at once while every profile is on the free-models daily cap (`dailyCapUntil`). The provider's
 * chat path uses it; a call is moved to a profile by running it with `CallProfile` set.
 *
 * @since 0.5.0
 * @category models
 */
export interface Rotation {
  /**
   * Records an answer of the service for stored profile `profileId`: an account problem (`kind`: a `ChutesAiError`
   * kind such as `EdgeRateLimited`, `DailyCapReached`, `QuotaExceeded`, `ReauthRequired`) cools it, in this process
   * at once and in the store beside the profiles; any other answer does nothing.
   */
  readonly report: (profileId: string, answer: { readonly kind: string; readonly resetsAt?: number | undefined }) => Effect.Effect<void>
  /** The profile a call that has tried `tried` moves to: the first in order that is not tried or cooling. */
  readonly next: (tried: ReadonlyArray<string>) => Effect.Effect<Option.Option<string>>
  /** When every profile is on the free-models daily cap: the earliest reset (epoch milliseconds). */
  readonly dailyCapUntil: Effect.Effect<Option.Option<number>>
}

/**
 * The stored profile the current call asks for (set by the rotation for the rest of a call); `get` serves it when it
 * exists, else the usual order.
 *
 * @since 0.5.0
 * @category tags
 */
export class CallProfile extends Context.Reference<CallProfile>()("effect-chutes/ChutesCredentials/CallProfile", {
  defaultValue: (): Option.Option<string> => Option.none()
}) {}

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
  return Effect.tap(sha256Prefix(Redacted.value(credential.secret)), (id) => identities.set(credential, id))
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

/**
 * Whether a string has the shape of a Chutes API key (`cpk_` + 32 hex + `.` + 32 hex + `.` + 32 alphanumerics).
 * Other shapes are warned about, never refused.
 *
 * @since 0.1.0
 * @category utils
 */
export const looksLikeApiKey: (key: string) => boolean = ApiKeyShape.looksLikeApiKey

/**
 * What makes `key` differ from the shape of a Chutes API key (`cpk_` + 32 hex + `.` + 32 hex + `.` + 32 alphanumerics,
 * 102 characters), in short phrases that name lengths, segments and character classes but never quote the key. Empty
 * when the shape is right.
 *
 * @since 0.1.0
 * @category utils
 */
export const apiKeyShapeProblems: (key: string) => ReadonlyArray<string> = ApiKeyShape.apiKeyShapeProblems

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
        `The API key from ${c.source} does not have the shape of a Chutes key (${ApiKeyShape.API_KEY_SHAPE_DESCRIPTION}): ` +
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
  /**
   * The stored profile to use, alone, when it exists (it pins: `order` does not apply). When it does not, the other
   * stored profiles serve by the order, with a warning said once.
   */
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
    const unsaved = UnsavedTokens.make(store)
    yield* Effect.addFinalizer(() => unsaved.close)
    const cooldowns = ProfileCooldowns.make(store.cooldowns)
    /** Failed refreshes per profile: the error, until when it stands, and the refresh token it was for. */
    const failures = new Map<string, { readonly error: CredentialsError; readonly until: number; readonly refresh: string }>()
    let memo: { readonly credential: Credential; readonly validUntil: number } | undefined
    const refreshes = SingleFlight.make<string, Credential, CredentialsError>(scope)

    const remember = (credential: Credential) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        memo = { credential, validUntil: Math.min(credential.expires ?? Number.POSITIVE_INFINITY, now + recheckMillis) }
        return credential
      })

    const refreshing = { store, oauth, unsaved, toCredential: fromProfile }
    /** One refresh per profile in flight; it belongs to the layer's scope, so an interrupted caller strands no one. */
    const refresh = (id: string, rejected: string | undefined): Effect.Effect<Credential, CredentialsError> =>
      refreshes.run(id, Effect.tap(ProfileRefresh.refreshUnderLock(refreshing, id, rejected), remember))

    /** The stored profiles (with unsaved tokens) and when they were read; re-read every `recheckAfter`. */
    let snapshot: { readonly profiles: ReadonlyMap<string, AuthProfileStore.ChutesProfile>; readonly at: number } | undefined
    const profilesAt = (now: number, reread: boolean) =>
      Effect.gen(function*() {
        if (!reread && snapshot !== undefined && now < snapshot.at + recheckMillis) return snapshot.profiles
        yield* unsaved.save
        const current = yield* Effect.mapError(store.load, ProfileRefresh.storeFailure)
        yield* cooldowns.reload
        snapshot = { profiles: unsaved.over(current.profiles), at: now }
        return snapshot.profiles
      })

    /** The candidates in the order they are tried now: the configured order, the cooling ones behind. */
    const arranged = (profiles: ReadonlyMap<string, AuthProfileStore.ChutesProfile>, now: number) =>
      Effect.gen(function*() {
        const candidates = orderProfiles(profiles, options.profileId, order)
        const cooling = new Map<string, AuthCooldowns.Cooldown>()
        for (const [id, profile] of candidates) {
          const cooldown = yield* cooldowns.holding(id, profile, now)
          if (cooldown !== undefined) cooling.set(id, cooldown)
        }
        return { candidates: CooldownPolicy.arrange(candidates, ([id]) => cooling.get(id)), cooling }
      })

    /** The credential of one profile, refreshed when due; a refresh that failed stands for `retryRefreshAfter`. */
    const serve = (id: string, profile: AuthProfileStore.ChutesProfile, now: number) =>
      Effect.gen(function*() {
        if (profile.type !== "oauth" || now < profile.expires) return Either.right(fromProfile(id, profile))
        const failed = failures.get(id)
        if (failed !== undefined && failed.refresh === profile.refresh && now < failed.until) {
          return Either.left(failed.error)
        }
        const refreshed = yield* Effect.either(refresh(id, undefined))
        if (Either.isRight(refreshed)) {
          failures.delete(id)
        } else {
          failures.set(id, { error: refreshed.left, until: now + retryRefreshMillis, refresh: profile.refresh })
          if (refreshed.left.reason === "ReauthRequired") {
            yield* cooldowns.report(id, profile, { kind: "ReauthRequired" })
          }
        }
        return refreshed
      })

    const get: Effect.Effect<Option.Option<Credential>, CredentialsError> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      // A call moved to another profile (`rotation`) asks for that one.
      const call = yield* CallProfile
      if (Option.isSome(call)) {
        const profile = (yield* profilesAt(now, false)).get(call.value)
        if (profile !== undefined) return Option.some(yield* Either.match(yield* serve(call.value, profile, now), {
          onLeft: Effect.fail,
          onRight: Effect.succeed
        }))
      }
      if (memo !== undefined && now < memo.validUntil) return Option.some(memo.credential)
      const profiles = yield* profilesAt(now, true)
      const pinned = options.profileId !== undefined && profiles.has(options.profileId)
      if (options.profileId !== undefined && !pinned && profiles.size > 0) {
        // A mistyped id would otherwise be served silently by another account's profile.
        yield* warnOnce(ProfileOrder.unknownPinWarning(options.profileId, store.location))
      }
      if (!pinned) {
        for (const id of ProfileOrder.unknownIds(profiles, order)) {
          yield* warnOnce(ProfileOrder.unknownIdWarning(id, store.location))
        }
      }
      memo = undefined
      // "First that yields wins": an OAuth profile that cannot be refreshed gives way to the next profile, unless it
      // was chosen explicitly. When none yields, the first failure is the answer.
      const { candidates } = yield* arranged(profiles, now)
      let firstFailure: CredentialsError | undefined
      for (const [id, profile] of candidates) {
        const served = yield* serve(id, profile, now)
        if (Either.isRight(served)) return Option.some(yield* remember(served.right))
        if (candidates.length === 1) return yield* served.left
        firstFailure ??= served.left
      }
      return firstFailure === undefined ? Option.none() : yield* firstFailure
    })

    const rotation: Rotation = {
      report: (profileId, answer) =>
        Effect.gen(function*() {
          const set = yield* cooldowns.report(profileId, snapshot?.profiles.get(profileId), answer)
          if (set && memo?.credential.profileId === profileId) memo = undefined
        }),
      next: (tried) =>
        Effect.gen(function*() {
          if (options.profileId !== undefined) return Option.none()
          const now = yield* Clock.currentTimeMillis
          const { candidates, cooling } = yield* arranged(yield* profilesAt(now, false), now)
          const next = candidates.find(([id]) => !tried.includes(id) && !cooling.has(id))
          return Option.fromNullable(next?.[0])
        }).pipe(Effect.orElseSucceed(() => Option.none<string>())),
      // On the call path: the profiles and cooldowns in memory only (`get` keeps them fresh), nothing when none cools.
      dailyCapUntil: Effect.gen(function*() {
        if (snapshot === undefined || cooldowns.current().size === 0) return Option.none()
        const now = yield* Clock.currentTimeMillis
        const { candidates, cooling } = yield* arranged(snapshot.profiles, now)
        let until: number | undefined
        for (const [id] of candidates) {
          const cooldown = cooling.get(id)
          if (cooldown?.reason !== "daily-cap" || cooldown.until === undefined) return Option.none()
          until = Math.min(until ?? cooldown.until, cooldown.until)
        }
        return Option.fromNullable(until)
      })
    }

    const forceRefresh = (credential: Credential): Effect.Effect<Option.Option<Credential>, CredentialsError> =>
      credential.kind === "oauth" && credential.profileId !== undefined
        ? Effect.asSome(refresh(credential.profileId, Redacted.value(credential.secret)))
        : Effect.succeedNone

    return { get, forceRefresh, rotation }
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
