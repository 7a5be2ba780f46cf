/**
 * `effect-chutes auth status` and `auth logout`.
 *
 * `status` lists every credential the SDK could use — `CHUTES_API_KEY`, `CHUTES_OAUTH_TOKEN`, each stored chutes
 * profile — with its kind, source, last four characters, and an honest state: an OAuth profile that is due is refreshed
 * right there through the real credentials machinery (under the store lock), so "valid" is never said of a token that
 * cannot be refreshed. The active credential is the one the resolution order picks (`ChutesCredentials.ts`). The exit
 * code is 0 when the active credential is usable, 1 otherwise (none at all, or it needs a new sign-in / its refresh
 * failed).
 *
 * `logout` revokes an OAuth profile's tokens when it can (a failure is only a warning), then removes the profile;
 * every other profile stays untouched.
 *
 * Loaded lazily.
 *
 * @internal
 */
import type * as ValidationError from "@effect/cli/ValidationError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as AgentConfig from "../AgentConfig.js"
import * as AuthProfileStore from "../AuthProfileStore.js"
import * as ChutesCredentials from "../ChutesCredentials.js"
import { CredentialsError, type StoreError } from "../ChutesError.js"
import * as ChutesOAuth from "../ChutesOAuth.js"
import * as ChutesSettings from "../ChutesSettings.js"
import type { AuthStatusOutput, CredentialStatus } from "./json.js"
import { formatDuration, lastFour, out, usageError, withProgress } from "./render.js"

/** What the auth commands need. */
export type AuthServices =
  | ChutesSettings.ChutesSettings
  | AuthProfileStore.AuthProfileStore
  | ChutesOAuth.ChutesOAuth
  | AgentConfig.AgentConfig

const REAUTH_COMMAND = "effect-chutes onboard --auth-choice chutes"

/** The outcome of checking one due OAuth profile. */
interface Check {
  readonly state: CredentialStatus["state"]
  readonly expires: number | null
  readonly detail: string
  readonly error?: CredentialsError | undefined
}

const checked = (check: Check): Check => check

/**
 * Checks a stored OAuth profile that is due, the way the SDK would use it: through `ChutesCredentials` for that
 * profile, which refreshes under the store lock (and writes the new tokens) or says why it cannot. The stored profiles
 * are its only source: `CHUTES_API_KEY` / `CHUTES_OAUTH_TOKEN`, which would win otherwise, are not read (the rest of
 * the environment — the OAuth client for the refresh — is).
 */
const checkDue = (
  profileId: string
): Effect.Effect<Check, never, AuthProfileStore.AuthProfileStore | ChutesOAuth.ChutesOAuth> =>
  Effect.gen(function*() {
    const credentials = yield* ChutesCredentials.makeStored({ sources: "profiles-only", profileId, recheckAfter: 0 })
    const result = yield* Effect.either(credentials.get)
    const now = yield* Clock.currentTimeMillis
    if (Either.isRight(result)) {
      const credential = Option.getOrUndefined(result.right)
      if (credential === undefined || credential.profileId !== profileId) {
        return checked({
          state: "reauth-required",
          expires: null,
          detail: "the profile disappeared while it was checked"
        })
      }
      const expires = credential.expires ?? null
      const next = expires !== null ? ` (next refresh in ${formatDuration(expires - now)})` : ""
      return checked({ state: "refreshed", expires, detail: `refresh was due: refreshed, valid${next}` })
    }
    const error = result.left
    const why = error.detail !== undefined ? ` (${error.detail})` : ""
    switch (error.reason) {
      case "ReauthRequired":
        return checked({
          state: "reauth-required",
          expires: null,
          detail: `re-auth needed: run "${REAUTH_COMMAND}"${why}`,
          error
        })
      default:
        return checked({
          state: "refresh-failed",
          expires: null,
          detail: `refresh due; refresh failed, try again later${why}`,
          error
        })
    }
  }).pipe(
    Effect.scoped,
    // The credentials layer warns about a failed refresh; the status line says the same.
    Logger.withMinimumLogLevel(LogLevel.Error),
    withProgress(`Checking profile ${profileId} (refresh due)`)
  )

/** Where the config is, and whether it exists yet — worded like the store's line. */
const configLine: Effect.Effect<string, never, AgentConfig.AgentConfig> = Effect.gen(function*() {
  const config = yield* AgentConfig.AgentConfig
  if (config.path === undefined) return "(none: set CHUTES_CONFIG_PATH or CHUTES_STATE_DIR)"
  const loaded = yield* Effect.either(config.load)
  if (Either.isLeft(loaded)) return `${config.path} (unreadable: ${loaded.left.message})`
  return Option.isSome(loaded.right) ? config.path : `${config.path} (not created yet)`
})

const kindLabel = (kind: "api_key" | "oauth"): string => (kind === "oauth" ? "OAuth" : "API key")

const table = (rows: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()
  )
}

/**
 * `auth status [--json]`: prints every credential and its state, then fails (exit 1) when the active credential is
 * not usable or there is none.
 */
export const status = (
  options: { readonly json: boolean }
): Effect.Effect<void, CredentialsError | StoreError, AuthServices> =>
  Effect.gen(function*() {
    const settings = yield* ChutesSettings.ChutesSettings
    const store = yield* AuthProfileStore.AuthProfileStore
    const envKey = yield* Effect.orDie(ChutesSettings.optionalEnv("CHUTES_API_KEY"))
    const envToken = yield* Effect.orDie(ChutesSettings.optionalEnv("CHUTES_OAUTH_TOKEN"))
    const set = yield* store.load
    // Which entry is active is decided once every entry is checked: see below.
    const active = Option.isSome(envKey)
      ? "env:CHUTES_API_KEY"
      : Option.isSome(envToken)
      ? "env:CHUTES_OAUTH_TOKEN"
      : null

    const checked: Array<CredentialStatus & { readonly error?: CredentialsError | undefined }> = []
    if (Option.isSome(envKey)) {
      checked.push({
        source: "env:CHUTES_API_KEY",
        profileId: null,
        kind: "api_key",
        secret: lastFour(envKey.value),
        account: null,
        active: active === "env:CHUTES_API_KEY",
        usable: true,
        state: "valid",
        expires: null,
        detail: "valid (API key; no expiry)"
      })
    }
    if (Option.isSome(envToken)) {
      checked.push({
        source: "env:CHUTES_OAUTH_TOKEN",
        profileId: null,
        kind: "oauth",
        secret: lastFour(envToken.value),
        account: null,
        active: active === "env:CHUTES_OAUTH_TOKEN",
        usable: true,
        state: "unknown-expiry",
        expires: null,
        detail: "expiry unknown (a token from the environment is never refreshed)"
      })
    }
    for (const [id, profile] of set.profiles) {
      const source = `profile:${id}`
      const common = { source, profileId: id, kind: profile.type, active: active === source } as const
      if (profile.type === "api_key") {
        checked.push({
          ...common,
          secret: lastFour(profile.key),
          account: null,
          usable: true,
          state: "valid",
          expires: null,
          detail: "valid (API key; no expiry)"
        })
        continue
      }
      const now = yield* Clock.currentTimeMillis
      const account = profile.email ?? null
      if (now < profile.expires) {
        checked.push({
          ...common,
          secret: lastFour(profile.access),
          account,
          usable: true,
          state: "valid",
          expires: profile.expires,
          detail: `valid (refresh due in ${formatDuration(profile.expires - now)})`
        })
        continue
      }
      const check = yield* checkDue(id)
      // A refresh rotates the tokens: show the new access token's tail.
      const after = check.state === "refreshed" ? (yield* store.load).profiles.get(id) : undefined
      checked.push({
        ...common,
        secret: lastFour(after?.type === "oauth" ? after.access : profile.access),
        account,
        usable: check.state === "refreshed",
        state: check.state,
        expires: check.state === "refreshed" ? check.expires : profile.expires,
        detail: check.detail,
        error: check.error
      })
    }

    // Like the SDK ("first that yields wins"): the first stored profile in resolution order that is usable, else the
    // first in that order (which then shows why it is not).
    const order = ChutesCredentials.orderProfiles(set.profiles).map(([id]) => `profile:${id}`)
    const storedActive = order.find((source) => checked.some((c) => c.source === source && c.usable)) ?? order[0]
    const activeSource = active ?? storedActive ?? null
    const credentials = checked.map((c) => ({ ...c, active: c.source === activeSource }))
    const activeEntry = credentials.find((c) => c.active)
    const usable = activeEntry?.usable === true
    const otherProfiles = set.others
    const output: AuthStatusOutput = {
      stateDir: settings.stateDir ?? null,
      storePath: store.location,
      configPath: settings.configPath ?? null,
      active: activeSource,
      usable,
      credentials: credentials.map(({ error: _error, ...rest }) => rest),
      otherProfiles
    }

    if (options.json) {
      yield* out(JSON.stringify(output, null, 2))
    } else {
      yield* out(`Auth profiles: ${store.location}${set.exists ? "" : " (not created yet)"}`)
      yield* out(`Config:        ${yield* configLine}`)
      yield* out("")
      if (credentials.length === 0) {
        yield* out("No Chutes credential found.")
      } else {
        const rows = [
          ["", "SOURCE", "KIND", "SECRET", "ACCOUNT", "STATE"],
          ...credentials.map((c) => [
            c.active ? "*" : "",
            c.source,
            kindLabel(c.kind),
            c.secret,
            c.account ?? "-",
            c.detail
          ])
        ]
        for (const line of table(rows)) yield* out(line)
        yield* out("")
        yield* out(
          "* = active: the one the SDK uses (order: CHUTES_API_KEY, CHUTES_OAUTH_TOKEN, stored OAuth profiles, " +
            "stored API keys)"
        )
      }
      if (otherProfiles.length > 0) {
        yield* out(`Other entries in the store (not Chutes; untouched): ${otherProfiles.join(", ")}`)
      }
    }

    if (activeEntry === undefined) return yield* new CredentialsError({ reason: "Missing" })
    if (!usable) {
      return yield* activeEntry.error ??
        new CredentialsError({ reason: "ReauthRequired", profileId: activeEntry.profileId ?? undefined })
    }
  })

/**
 * `auth logout [--profile id]`: revokes the tokens of an OAuth profile when possible (failures are warnings), then
 * removes the profile — by default the active stored profile. Other profiles stay as they are.
 */
export const logout = (
  options: { readonly profile: Option.Option<string> }
): Effect.Effect<void, ValidationError.ValidationError | StoreError, AuthServices> =>
  Effect.gen(function*() {
    const store = yield* AuthProfileStore.AuthProfileStore
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
