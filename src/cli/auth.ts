/**
 * `effect-chutes auth status` and `auth logout` (`auth cooldowns` is ./cooldowns.ts, `auth move` ./authMove.ts).
 *
 * `status` lists every credential the SDK could use — `CHUTES_API_KEY`, `CHUTES_OAUTH_TOKEN`, each stored chutes
 * profile — with its kind, source, last four characters, and two words for both kinds of credential:
 *
 * - `expiry`: `valid` (an OAuth token not yet due), `refresh due`, `expired` (the IdP refused the refresh: sign in
 *   again) or `none` (an API key; a token from the environment, whose expiry is not known). A due OAuth profile is
 *   refreshed right there through the real credentials machinery (under the store lock) unless `--offline`.
 * - `check`: `accepted` / `rejected` by `GET /v1/models` with the credential, or `not checked` (`--offline`, the
 *   service could not be asked, or there is no usable token to send). `/users/me` then adds the account name; its 401
 *   for an accepted key is a scoped key, which is said and is nothing worse (./credentialCheck.ts).
 *
 * Nothing is called valid that was not checked: an API key has no expiry, and its check says what the service said.
 * A stored profile's cooldown that holds (`AuthCooldowns`, listed by `auth cooldowns`, ./cooldowns.ts) is shown, and
 * the order accounts for them as the SDK does: the cooling profiles behind the others, by the end of their cooldown.
 * A cooldown store that cannot be read is said in one line and ignored.
 * The active credential is the one the resolution order picks (`ChutesCredentials.ts`). The exit code is 0 when the
 * active credential is usable (nothing found against it: not rejected, not expired, its refresh did not fail), 1
 * otherwise (none at all, or it is not).
 *
 * `logout` revokes an OAuth profile's tokens when it can (a failure is only a warning), then removes the profile;
 * every other profile stays untouched. With `CHUTES_REDIS_URL` set the profile is in the shared store, so removing it
 * signs out every host that reads it: the command says so and asks (with a terminal) or needs `--all-hosts`.
 *
 * Loaded lazily.
 *
 * @internal
 */
import type * as ValidationError from "@effect/cli/ValidationError"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as AgentConfig from "../AgentConfig.js"
import type * as AuthCooldowns from "../AuthCooldowns.js"
import * as AuthProfileStore from "../AuthProfileStore.js"
import * as ChutesCredentials from "../ChutesCredentials.js"
import { CredentialsError, type StoreError } from "../ChutesError.js"
import * as ChutesOAuth from "../ChutesOAuth.js"
import * as ChutesSettings from "../ChutesSettings.js"
import type * as ModelDiscovery from "../ModelDiscovery.js"
import { Prompter } from "../OAuthLogin.js"
import * as CooldownPolicy from "../internal/cooldownPolicy.js"
import * as ProfileOrder from "../internal/profileOrder.js"
import { excerpt } from "../internal/redact.js"
import { warnOnce } from "../internal/warnOnce.js"
import * as Cooldowns from "./cooldowns.js"
import * as CredentialCheck from "./credentialCheck.js"
import type { AuthStatusOutput, CredentialStatus, ProfileCooldown } from "./json.js"
import { formatDuration, lastFour, out, printJson, table, usageError, withProgress } from "./render.js"

/** What the auth commands need. */
export type AuthServices =
  | ChutesSettings.ChutesSettings
  | AuthProfileStore.AuthProfileStore
  | ChutesOAuth.ChutesOAuth
  | AgentConfig.AgentConfig
  | ModelDiscovery.ModelDiscovery
  | HttpClient.HttpClient

const REAUTH_COMMAND = "effect-chutes onboard --auth-choice chutes"

/** What the clock and the store say of a credential (no request to Chutes, but a due refresh when online). */
interface ExpiryState {
  readonly expiry: CredentialStatus["expiry"]
  readonly expires: number | null
  /** The refresh was due and was done just now. */
  readonly refreshed: boolean
  /** Whether the SDK would use it (false: its refresh was refused or failed). */
  readonly yields: boolean
  readonly note: string | undefined
  readonly error?: CredentialsError | undefined
  /** The credentials to check it with; none when there is no usable token to send. */
  readonly credentials: ChutesCredentials.Service | undefined
}

/** A credential that does not expire as far as the CLI knows (an API key, a token from the environment). */
const noExpiry = (credential: ChutesCredentials.Credential, note?: string): ExpiryState => ({
  expiry: "none",
  expires: null,
  refreshed: false,
  yields: true,
  note,
  credentials: {
    get: Effect.succeedSome(credential),
    forceRefresh: () => Effect.succeedNone
  }
})

/**
 * The expiry of a stored OAuth profile, the way the SDK would use it: through `ChutesCredentials` for that profile
 * alone, which refreshes a due token under the store lock (and writes the new tokens) or says why it cannot. The stored
 * profiles are its only source: `CHUTES_API_KEY` / `CHUTES_OAUTH_TOKEN`, which would win otherwise, are not read (the
 * rest of the environment — the OAuth client for the refresh — is). `--offline`: the store's expiry alone.
 */
const oauthExpiry = (
  profileId: string,
  profile: AuthProfileStore.OAuthProfile,
  offline: boolean
): Effect.Effect<ExpiryState, never, AuthProfileStore.AuthProfileStore | ChutesOAuth.ChutesOAuth | Scope.Scope> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    if (now < profile.expires) {
      const credentials = offline
        ? undefined
        : yield* ChutesCredentials.makeStored({ sources: "profiles-only", profileId, recheckAfter: 0 })
      const note = `next refresh in ${formatDuration(profile.expires - now)}`
      return { expiry: "valid", expires: profile.expires, refreshed: false, yields: true, note, credentials } as const
    }
    if (offline) {
      const note = "refresh due: not tried (--offline); the SDK refreshes it when it is next used"
      const expires = profile.expires
      return { expiry: "refresh-due", expires, refreshed: false, yields: true, note, credentials: undefined } as const
    }
    const credentials = yield* ChutesCredentials.makeStored({ sources: "profiles-only", profileId, recheckAfter: 0 })
    const result = yield* Effect.either(credentials.get).pipe(
      // The credentials layer warns about a failed refresh; the status line says the same.
      Logger.withMinimumLogLevel(LogLevel.Error),
      withProgress(`Checking profile ${profileId} (refresh due)`)
    )
    const after = yield* Clock.currentTimeMillis
    if (Either.isRight(result)) {
      const credential = Option.getOrUndefined(result.right)
      if (credential === undefined || credential.profileId !== profileId) {
        const error = new CredentialsError({ reason: "ReauthRequired", profileId, detail: "the profile disappeared" })
        const note = "the profile disappeared while it was checked"
        const credentials = undefined
        return { expiry: "expired", expires: null, refreshed: false, yields: false, note, error, credentials } as const
      }
      const expires = credential.expires ?? null
      const next = expires !== null ? ` (next refresh in ${formatDuration(expires - after)})` : ""
      const note = `refresh was due: refreshed${next}`
      return { expiry: "valid", expires, refreshed: true, yields: true, note, credentials } as const
    }
    const error = result.left
    const why = error.detail !== undefined ? ` (${error.detail})` : ""
    return error.reason === "ReauthRequired"
      ? {
        expiry: "expired",
        expires: profile.expires,
        refreshed: false,
        yields: false,
        note: `re-auth needed: run "${REAUTH_COMMAND}"${why}`,
        error,
        credentials: undefined
      } as const
      : {
        expiry: "refresh-due",
        expires: profile.expires,
        refreshed: false,
        yields: false,
        note: error.reason === "Store"
          ? `not refreshed: the auth profile store could not be used${why}`
          : `refresh failed, try again later${why}`,
        error,
        credentials: undefined
      } as const
  })

/** What checking a credential needs. */
type CheckServices = ModelDiscovery.ModelDiscovery | HttpClient.HttpClient | ChutesSettings.ChutesSettings

/** What the service said of a credential: `check`, the account name when it may read it, and a note. */
interface ServiceState {
  readonly check: CredentialStatus["check"]
  readonly readsAccount: boolean | null
  readonly account: string | undefined
  readonly note: string | undefined
  readonly error?: CredentialsError | undefined
}

/**
 * Asks the service about one credential (./credentialCheck.ts): `/v1/models` decides accepted / rejected, then
 * `/users/me` gives the account name when the credential may read it.
 */
const serviceState = (
  source: string,
  kind: ChutesCredentials.CredentialKind,
  profileId: string | null,
  credentials: ChutesCredentials.Service
): Effect.Effect<ServiceState, never, CheckServices> =>
  Effect.gen(function*() {
    const settings = yield* ChutesSettings.ChutesSettings
    const verdict = yield* CredentialCheck.check(credentials).pipe(
      Effect.catchAll((error) => Effect.succeed<CredentialCheck.Verdict>({ _tag: "NotChecked", why: error.message })),
      withProgress(`Checking ${source} against ${settings.baseUrl}/models`)
    )
    switch (verdict._tag) {
      case "NotChecked":
        const note = `the service could not be asked: ${verdict.why}`
        return { check: "not-checked", readsAccount: null, account: undefined, note }
      case "Rejected": {
        const error = verdict.error ?? (kind === "oauth" && profileId !== null
          ? new CredentialsError({ reason: "ReauthRequired", profileId, source, detail: verdict.why })
          : new CredentialsError({ reason: "Rejected", source, detail: verdict.why }))
        return { check: "rejected", readsAccount: null, account: undefined, note: verdict.why, error }
      }
      case "Accepted": {
        const read = yield* CredentialCheck.readAccount(credentials, kind).pipe(
          withProgress(`Reading the account at ${settings.idpBaseUrl}/users/me`)
        )
        switch (read._tag) {
          case "Read":
            return { check: "accepted", readsAccount: true, account: read.me.username, note: undefined }
          case "NotPermitted":
            return {
              check: "accepted",
              readsAccount: false,
              account: undefined,
              note: `${CredentialCheck.notPermittedLine(read.kind)} (HTTP ${read.status} from /users/me)`
            }
          case "Failed":
            return { check: "accepted", readsAccount: null, account: undefined, note: `account not read: ${read.why}` }
        }
      }
    }
  })

/** One row of `auth status`, before the active one is known. */
type Row = Omit<CredentialStatus, "active" | "usable" | "order" | "cooldown"> & {
  readonly yields: boolean
  readonly error?: CredentialsError | undefined
}

/** The row of one credential: its expiry, then — online, with a token to send — what the service says of it. */
const inspect = (
  base: { readonly source: string; readonly profileId: string | null; readonly kind: "api_key" | "oauth" },
  secret: string,
  storedName: string | null,
  state: ExpiryState,
  offline: boolean
): Effect.Effect<Row, never, CheckServices> =>
  Effect.gen(function*() {
    const service: ServiceState = offline
      ? { check: "not-checked", readsAccount: null, account: undefined, note: "--offline" }
      : state.credentials === undefined
      ? { check: "not-checked", readsAccount: null, account: undefined, note: undefined }
      : yield* serviceState(base.source, base.kind, base.profileId, state.credentials)
    const notes = [state.note, service.note].filter((note): note is string => note !== undefined)
    return {
      ...base,
      secret: lastFour(secret),
      account: service.account ?? storedName,
      expiry: state.expiry,
      expires: state.expires,
      refreshed: state.refreshed,
      check: service.check,
      readsAccount: service.readsAccount,
      detail: notes.join("; "),
      yields: state.yields,
      error: state.error ?? service.error
    }
  })

/** Where the config is, and whether it exists yet — worded like the store's line. */
const configLine: Effect.Effect<string, never, AgentConfig.AgentConfig> = Effect.gen(function*() {
  const config = yield* AgentConfig.AgentConfig
  if (config.path === undefined) return "(none: set CHUTES_CONFIG_PATH or CHUTES_STATE_DIR)"
  const loaded = yield* Effect.either(config.load)
  if (Either.isLeft(loaded)) return `${config.path} (unreadable: ${loaded.left.message})`
  return Option.isSome(loaded.right) ? config.path : `${config.path} (not created yet)`
})

/** The configured order of the stored profiles, as the SDK picks it: the config's, else `CHUTES_AUTH_ORDER`. */
const configuredOrder: Effect.Effect<AuthStatusOutput["authOrder"], never, AgentConfig.AgentConfig> = Effect.gen(
  function*() {
    const config = yield* AgentConfig.AgentConfig
    const loaded = yield* Effect.either(config.load)
    const fromConfig = Either.isRight(loaded) ? Option.flatMap(loaded.right, AgentConfig.authOrder) : Option.none()
    if (Option.isSome(fromConfig)) return { from: "config" as const, ids: fromConfig.value }
    const fromEnv = yield* Effect.orDie(ChutesSettings.authOrderConfig)
    return Option.isSome(fromEnv) ? { from: "env" as const, ids: fromEnv.value } : null
  }
)

const kindLabel = (kind: "api_key" | "oauth"): string => (kind === "oauth" ? "OAuth" : "API key")

/** The words of the table for the JSON literals. */
const EXPIRY_WORDS: Record<CredentialStatus["expiry"], string> = {
  valid: "valid",
  "refresh-due": "refresh due",
  expired: "expired",
  none: "none"
}
const CHECK_WORDS: Record<CredentialStatus["check"], string> = {
  accepted: "accepted",
  rejected: "rejected",
  "not-checked": "not checked"
}

/** The text form of `auth status`: the files, then one line per credential. Server text is escaped. */
const printText = (
  output: AuthStatusOutput,
  store: { readonly location: string; readonly exists: boolean }
): Effect.Effect<void, never, AgentConfig.AgentConfig> =>
  Effect.gen(function*() {
    yield* out(`Auth profiles: ${store.location}${store.exists ? "" : " (not created yet)"}`)
    yield* out(`Config:        ${yield* configLine}`)
    if (output.cooldowns.error !== null) {
      yield* out(`Cooldowns:     not read, so not shown and not in ORDER (${output.cooldowns.error})`)
    }
    yield* out("")
    if (output.credentials.length === 0) {
      yield* out("No Chutes credential found.")
    } else {
      // The COOLDOWN column only when a profile has one that holds: the table stays as it was otherwise.
      const cooling = output.credentials.some((c) => c.cooldown !== null)
      const rows = [
        ["", "ORDER", "SOURCE", "KIND", "SECRET", "ACCOUNT", "EXPIRY", "CHECK", ...(cooling ? ["COOLDOWN"] : []),
          "NOTE"],
        ...output.credentials.map((c) => [
          c.active ? "*" : "",
          c.order !== null ? String(c.order) : "env",
          c.source,
          kindLabel(c.kind),
          c.secret,
          c.account !== null ? excerpt(c.account, 120) : "-",
          EXPIRY_WORDS[c.expiry],
          CHECK_WORDS[c.check],
          ...(cooling ? [c.cooldown?.description ?? ""] : []),
          excerpt(c.detail, 300)
        ])
      ]
      for (const line of table(rows)) yield* out(line)
      yield* out("")
      yield* out(
        "* = active: the one the SDK uses (CHUTES_API_KEY, CHUTES_OAUTH_TOKEN, then the stored profiles by ORDER)"
      )
      const coolingLast = cooling ? "; cooling profiles last, by the end of their COOLDOWN" : ""
      yield* out(
        output.authOrder === null
          ? "ORDER: stored OAuth profiles, then stored API keys" + coolingLast +
            " (set auth.order.chutes or CHUTES_AUTH_ORDER to choose)"
          : `ORDER: ${output.authOrder.ids.map((id) => excerpt(id, 120)).join(", ")} first (from ${
            output.authOrder.from === "config" ? "auth.order.chutes in the config" : "CHUTES_AUTH_ORDER"
          }), then stored OAuth profiles, then stored API keys${coolingLast}`
      )
      if (cooling) {
        yield* out(
          "COOLDOWN: what the service last said of the account; tried after the others, never refused for it " +
            "(effect-chutes auth cooldowns)"
        )
      }
      if (output.offline) yield* out("--offline: nothing was sent to Chutes; no credential was checked.")
    }
    if (output.otherProfiles.length > 0) {
      yield* out(`Other entries in the store (not Chutes; untouched): ${output.otherProfiles.join(", ")}`)
    }
  })

/**
 * `auth status [--json] [--offline]`: prints every credential, its expiry and what the service says of it, then fails
 * (exit 1) when the active credential is not usable or there is none.
 */
export const status = (
  options: { readonly json: boolean; readonly offline: boolean }
): Effect.Effect<void, CredentialsError | StoreError, AuthServices> =>
  Effect.gen(function*() {
    const { offline } = options
    const settings = yield* ChutesSettings.ChutesSettings
    const store = yield* AuthProfileStore.AuthProfileStore
    const envKey = yield* Effect.orDie(ChutesSettings.optionalEnv("CHUTES_API_KEY"))
    const envToken = yield* Effect.orDie(ChutesSettings.optionalEnv("CHUTES_OAUTH_TOKEN"))
    const set = yield* store.load

    const rows: Array<Row> = []
    if (Option.isSome(envKey)) {
      const source = "env:CHUTES_API_KEY"
      const credential = ChutesCredentials.make({ kind: "api_key", source, secret: envKey.value })
      const state = noExpiry(credential)
      rows.push(yield* inspect({ source, profileId: null, kind: "api_key" }, envKey.value, null, state, offline))
    }
    if (Option.isSome(envToken)) {
      const source = "env:CHUTES_OAUTH_TOKEN"
      const credential = ChutesCredentials.make({ kind: "oauth", source, secret: envToken.value })
      const state = noExpiry(credential, "expiry not known: a token from the environment is never refreshed")
      rows.push(yield* inspect({ source, profileId: null, kind: "oauth" }, envToken.value, null, state, offline))
    }
    for (const [id, profile] of set.profiles) {
      const base = { source: `profile:${id}`, profileId: id, kind: profile.type } as const
      if (profile.type === "api_key") {
        const credential = ChutesCredentials.fromProfile(id, profile)
        rows.push(yield* inspect(base, profile.key, null, noExpiry(credential), offline))
        continue
      }
      const state = yield* oauthExpiry(id, profile, offline)
      // A refresh (here, or forced by a 401 during the check) rotates the tokens: show the new access token's tail.
      const row = yield* inspect(base, profile.access, profile.email ?? null, state, offline)
      const after = (yield* store.load).profiles.get(id)
      rows.push(after?.type === "oauth" ? { ...row, secret: lastFour(after.access) } : row)
    }

    // Like the SDK ("first that yields wins"): the environment first, then the first stored profile in resolution
    // order that yields a credential, else the first in that order (which then shows why it does not).
    const active = Option.isSome(envKey)
      ? "env:CHUTES_API_KEY"
      : Option.isSome(envToken)
      ? "env:CHUTES_OAUTH_TOKEN"
      : null
    const authOrder = yield* configuredOrder
    // The cooldowns, read after the checks (a refresh the IdP refused just now sets one) and held as the SDK holds
    // them: the cooling profiles go behind the others, by the end of their cooldown. Unreadable: said, and ignored.
    const cooldownsRead = yield* Effect.either(store.cooldowns.load)
    const now = yield* Clock.currentTimeMillis
    const latest = yield* Effect.either(store.load)
    const profilesNow = Either.isRight(latest) ? latest.right.profiles : set.profiles
    const cooling = Either.isRight(cooldownsRead)
      ? yield* Cooldowns.holding(profilesNow, cooldownsRead.right, now)
      : new Map<string, AuthCooldowns.Cooldown>()
    const order = CooldownPolicy.arrange(
      ChutesCredentials.orderProfiles(set.profiles, undefined, authOrder?.ids),
      ([id]) => cooling.get(id)
    ).map(([id]) => `profile:${id}`)
    for (const id of ProfileOrder.unknownIds(set.profiles, authOrder?.ids)) {
      yield* warnOnce(ProfileOrder.unknownIdWarning(id, store.location))
    }
    const storedActive = order.find((source) => rows.some((r) => r.source === source && r.yields)) ?? order[0]
    const activeSource = active ?? storedActive ?? null
    const usableRow = (row: Row) => row.yields && row.check !== "rejected"
    const cooldownOf = (profileId: string | null): ProfileCooldown | null => {
      const cooldown = profileId === null ? undefined : cooling.get(profileId)
      return cooldown === undefined ? null : {
        reason: cooldown.reason,
        since: cooldown.since,
        until: cooldown.until ?? null,
        endsAt: Cooldowns.endsAt(cooldown),
        description: CooldownPolicy.describe(cooldown, now)
      }
    }
    const credentials = rows.map(({ error: _error, yields: _yields, ...row }, i) => ({
      ...row,
      active: row.source === activeSource,
      order: row.profileId === null ? null : order.indexOf(row.source) + 1,
      usable: usableRow(rows[i]!),
      cooldown: cooldownOf(row.profileId)
    }))
    const activeRow = rows.find((row) => row.source === activeSource)
    const usable = activeRow !== undefined && usableRow(activeRow)
    const output: AuthStatusOutput = {
      stateDir: settings.stateDir ?? null,
      storePath: store.location,
      configPath: settings.configPath ?? null,
      offline,
      active: activeSource,
      usable,
      credentials,
      authOrder,
      otherProfiles: set.others,
      cooldowns: {
        location: store.cooldowns.location,
        error: Either.isLeft(cooldownsRead) ? cooldownsRead.left.message : null
      }
    }

    if (options.json) yield* out(printJson(output))
    else yield* printText(output, { location: store.location, exists: set.exists })

    if (activeRow === undefined) return yield* new CredentialsError({ reason: "Missing" })
    if (!usable) {
      return yield* activeRow.error ??
        new CredentialsError({ reason: "ReauthRequired", profileId: activeRow.profileId ?? undefined })
    }
  }).pipe(Effect.scoped)

/**
 * With `CHUTES_REDIS_URL` set, a logout removes the profile from the shared store: every host that reads it is signed
 * out. Says so, then `--all-hosts` answers; else a terminal asks (anything but yes: nothing changes, `false`); without
 * one it is a usage error. Without `CHUTES_REDIS_URL`: `true` at once.
 */
const confirmAllHosts = (
  location: string,
  allHosts: boolean
): Effect.Effect<boolean, ValidationError.ValidationError, Prompter> =>
  Effect.gen(function*() {
    const shared = yield* Effect.orDie(ChutesSettings.redisUrlConfig)
    if (Option.isNone(shared)) return true
    const what = `CHUTES_REDIS_URL is set: logging out removes the profile from the shared store ${location}, ` +
      `which signs out EVERY host that uses it`
    if (allHosts) {
      yield* out(`${what}.`)
      return true
    }
    const prompter = yield* Prompter
    if (!prompter.isInteractive) {
      return yield* usageError(`${what}; add --all-hosts to do that (no terminal to ask on)`)
    }
    yield* out(`${what}.`)
    const answer = yield* prompter.prompt("Sign out every host? [y/N] ").pipe(
      Effect.catchAll(() => Effect.succeed(""))
    )
    if (/^y(es)?$/i.test(answer.trim())) return true
    yield* out("Nothing was changed.")
    return false
  })

/**
 * `auth logout [--profile id] [--all-hosts]`: revokes the tokens of an OAuth profile when possible (failures are warnings), then
 * removes the profile — by default the active stored profile. Other profiles stay as they are.
 */
export const logout = (
  options: { readonly profile: Option.Option<string>; readonly allHosts: boolean }
): Effect.Effect<void, ValidationError.ValidationError | StoreError, AuthServices | Prompter> =>
  Effect.gen(function*() {
    const store = yield* AuthProfileStore.AuthProfileStore
    if (!(yield* confirmAllHosts(store.location, options.allHosts))) return
    const oauth = yield* ChutesOAuth.ChutesOAuth
    const set = yield* store.load
    let id: string
    let profile: AuthProfileStore.ChutesProfile | undefined
    if (Option.isSome(options.profile)) {
      id = options.profile.value
      profile = set.profiles.get(id)
      if (profile === undefined && !AuthProfileStore.isChutesEntry(set, id)) {
        const known = Array.from(set.profiles.keys())
        return yield* usageError(
          `no Chutes profile ${JSON.stringify(id)} in ${store.location}` +
            (known.length > 0 ? `; stored: ${known.join(", ")}` : "; it holds no Chutes profile")
        )
      }
    } else {
      const chosen = ChutesCredentials.chooseProfile(set.profiles)
      if (chosen === undefined) {
        return yield* out(`No stored Chutes profile in ${store.location}: nothing to log out of.`)
      }
      ;[id, profile] = chosen
    }

    if (profile?.type === "oauth") {
      const clientId = profile.clientId ?? Option.getOrUndefined(yield* ChutesOAuth.clientIdFromEnv)
      if (clientId === undefined) {
        yield* Effect.logWarning(
          `could not revoke the tokens of ${id}: the profile stores no client id and CHUTES_CLIENT_ID is not set; ` +
            `removing the profile only`
        )
      } else {
        const tokens = [["refresh token", profile.refresh], ["access token", profile.access]] as const
        const failures = yield* Effect.forEach(tokens, ([what, token]) =>
          // The stored id and secret are a pair (the IdP checks the secret on revoke too); env values fill in.
          oauth.revoke(Redacted.make(token), { clientId, clientSecret: profile.clientSecret }).pipe(
            Effect.as(Option.none<string>()),
            Effect.catchAll((error) => Effect.succeedSome(`could not revoke the ${what} of ${id}: ${error.message}`))
          )).pipe(withProgress(`Revoking the tokens of ${id} at ${oauth.idpBaseUrl}`))
        for (const failure of failures) if (Option.isSome(failure)) yield* Effect.logWarning(failure.value)
        if (failures.every(Option.isNone)) yield* out(`Revoked the tokens of ${id} at ${oauth.idpBaseUrl}.`)
      }
    }

    yield* store.remove(id)
    yield* out(`Removed profile ${JSON.stringify(id)} from ${store.location}.`)
    const rest = Array.from(set.profiles.keys()).filter((other) => other !== id)
    if (rest.length > 0) yield* out(`Other Chutes profiles untouched: ${rest.join(", ")}`)
    const envKey = yield* Effect.orDie(ChutesSettings.optionalEnv("CHUTES_API_KEY"))
    const envToken = yield* Effect.orDie(ChutesSettings.optionalEnv("CHUTES_OAUTH_TOKEN"))
    for (const [name, value] of [["CHUTES_API_KEY", envKey], ["CHUTES_OAUTH_TOKEN", envToken]] as const) {
      if (Option.isSome(value)) yield* out(`Note: ${name} is still set in the environment and is used first.`)
    }
  }).pipe(Effect.withSpan("cli.auth.logout"))
