/**
 * The public, typed errors of effect-chutes.
 *
 * Every error is a `Schema.TaggedError`: it can be caught by tag (`Effect.catchTag("DiscoveryError", …)`), it has a
 * readable `message`, and it never carries a secret or a raw request — only short, scrubbed excerpts of what a server
 * said.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { excerpt, printable } from "./internal/redact.js"
import { isDailyCap } from "./internal/retry.js"

// Text echoed into a message (user input, a config value, a server's words) is shown with its control characters
// escaped: a message ends up on a terminal.
/** Input quoted for a message: printable, and cut short past 160 characters. */
const quote = (input: string): string => {
  const quoted = printable(JSON.stringify(input))
  return quoted.length > 160 ? `${quoted.slice(0, 160)}…` : quoted
}

/** `: <detail>` (made printable) for a message, or nothing when there is no detail. */
const detailSuffix = (detail: string | undefined): string =>
  detail !== undefined && detail.length > 0 ? `: ${printable(detail)}` : ""

/** ` after N attempts` when more than one was made. */
const attemptsSuffix = (attempts: number): string => (attempts > 1 ? ` after ${attempts} attempts` : "")

/**
 * A string that is not a valid model ref (`chutes/<model-id>`).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidModelRef extends Schema.TaggedError<InvalidModelRef>("effect-chutes/InvalidModelRef")(
  "InvalidModelRef",
  {
    input: Schema.String,
    reason: Schema.Literal(
      "Empty",
      "EmptyId",
      "TooLong",
      "Whitespace",
      "ControlCharacter",
      "WrongProvider",
      "MissingProvider"
    )
  }
) {
  /** @since 0.1.0 */
  override get message(): string {
    const expected = `expected "chutes/<model-id>", e.g. "chutes/zai-org/GLM-4.7-TEE"`
    switch (this.reason) {
      case "Empty":
        return `Model ref is empty: ${expected}`
      case "EmptyId":
        return `Model ref ${quote(this.input)} has no model id after "chutes/": ${expected}`
      case "TooLong":
        return `Model ref ${quote(this.input)} has a model id longer than 256 characters: ${expected}`
      case "Whitespace":
        return `Model ref ${quote(this.input)} contains whitespace: ${expected}`
      case "ControlCharacter":
        return `Model ref ${quote(this.input)} contains a control character: ${expected}`
      case "WrongProvider":
        return `Model ref ${quote(this.input)} names provider ${quote(this.input.split("/")[0] ?? "")}, not "chutes": ${expected}`
      case "MissingProvider":
        return `Model ref ${quote(this.input)} has no provider: ${expected}`
    }
  }
}

/**
 * An input that is neither an alias, a model ref, nor a model id of the current catalog.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownModel extends Schema.TaggedError<UnknownModel>("effect-chutes/UnknownModel")("UnknownModel", {
  input: Schema.String,
  suggestions: Schema.Array(Schema.String)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    const hint = this.suggestions.length > 0 ? `; did you mean ${this.suggestions.map(quote).join(", ")}?` : ""
    return `Unknown model ${quote(this.input)}: not an alias, a "chutes/<model-id>" ref, or a model id of the catalog${hint}`
  }
}

/**
 * Why live model discovery failed.
 *
 * - `Transport`: the request did not complete (connection refused / reset, DNS, TLS).
 * - `Timeout`: one attempt took longer than the per-attempt timeout.
 * - `HttpStatus`: the service answered with a non-2xx status other than 401.
 * - `Unauthorized`: the service rejected the credential (401).
 * - `Decode`: the body was not a usable `{"object":"list","data":[…]}` (not JSON, HTML page, no `data` array).
 * - `EmptyCatalog`: the list was empty, or every item was malformed.
 * - `TooLarge`: the body exceeded the configured size cap.
 *
 * @since 0.1.0
 * @category errors
 */
export class DiscoveryError extends Schema.TaggedError<DiscoveryError>("effect-chutes/DiscoveryError")(
  "DiscoveryError",
  {
    reason: Schema.Literal("Transport", "Timeout", "HttpStatus", "Unauthorized", "Decode", "EmptyCatalog", "TooLarge"),
    /** The URL that was requested (never carries credentials). */
    url: Schema.String,
    /** HTTP status, when the service answered. */
    status: Schema.optional(Schema.Number),
    /** A short, scrubbed excerpt of what the service or the transport said. */
    detail: Schema.optional(Schema.String),
    /** How many attempts were made before giving up. */
    attempts: Schema.optionalWith(Schema.Number, { default: () => 1 }),
    /** The delay the service asked for through `Retry-After`, in milliseconds. */
    retryAfterMillis: Schema.optional(Schema.Number)
  }
) {
  /**
   * Whether a later attempt may succeed: transport errors, timeouts, 408/425/429/5xx — but not the free-models daily
   * cap (a 429 "Free models limit reached for today", which resets at 00:00 UTC). Discovery retries exactly these.
   */
  get retryable(): boolean {
    return isRetryableFailure(this)
  }

  /** @since 0.1.0 */
  override get message(): string {
    const tries = attemptsSuffix(this.attempts)
    const detail = detailSuffix(this.detail)
    switch (this.reason) {
      case "Transport":
        return `Model discovery could not reach ${this.url}${tries}${detail}`
      case "Timeout":
        return `Model discovery timed out on ${this.url}${tries}${detail}`
      case "HttpStatus":
        return `Model discovery got HTTP ${this.status ?? "?"} from ${this.url}${tries}${detail}`
      case "Unauthorized":
        return `Model discovery: the credential was rejected (HTTP 401) by ${this.url}${detail}`
      case "Decode":
        return `Model discovery got an unusable response from ${this.url}${detail}`
      case "EmptyCatalog":
        return `Model discovery got an empty catalog from ${this.url}${detail}`
      case "TooLarge":
        return `Model discovery response from ${this.url} exceeded the size cap${detail}`
    }
  }
}

/**
 * The HTTP statuses that model discovery retries (docs/reliability.md); a 429 only when it is not the free-models
 * daily cap (`DiscoveryError.retryable`).
 *
 * @since 0.1.0
 * @category errors
 */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504])

/**
 * The one rule of `DiscoveryError.retryable` and `AccountError.retryable`: transport errors and timeouts, and the
 * statuses of `RETRYABLE_STATUS` — except the free-models daily cap, which resets at 00:00 UTC.
 */
const isRetryableFailure = (error: {
  readonly reason: string
  readonly status?: number | undefined
  readonly detail?: string | undefined
}): boolean =>
  error.reason === "Transport" || error.reason === "Timeout" ||
  (error.reason === "HttpStatus" && error.status !== undefined && RETRYABLE_STATUS.has(error.status) &&
    !isDailyCap(error.status, error.detail))

/**
 * Why no usable credential could be produced.
 *
 * - `Missing`: no explicit credential, no env variable, no stored profile.
 * - `Rejected`: the service refused the credential (401).
 * - `ReauthRequired`: a stored OAuth profile could not be refreshed; sign in again.
 * - `Expired`: a static OAuth token is past its expiry and cannot be refreshed.
 * - `RefreshFailed`: a stored OAuth token is due and the refresh failed for a passing reason (IdP unreachable, time
 *   out, bad answer); the profile is kept as it was and the next use tries again.
 * - `Store`: the auth profile store could not be read.
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialsError extends Schema.TaggedError<CredentialsError>("effect-chutes/CredentialsError")(
  "CredentialsError",
  {
    reason: Schema.Literal("Missing", "Rejected", "ReauthRequired", "Expired", "RefreshFailed", "Store"),
    /** Where the credential came from (`env:CHUTES_API_KEY`, `profile:chutes:alice`, …), when there was one. */
    source: Schema.optional(Schema.String),
    /** The stored profile involved, when there was one. */
    profileId: Schema.optional(Schema.String),
    /** A short, scrubbed explanation. */
    detail: Schema.optional(Schema.String)
  }
) {
  /** @since 0.1.0 */
  override get message(): string {
    const detail = this.detail !== undefined && this.detail.length > 0 ? ` (${printable(this.detail)})` : ""
    switch (this.reason) {
      case "Missing":
        return `No Chutes credential: set CHUTES_API_KEY or CHUTES_OAUTH_TOKEN, or sign in with ` +
          `"effect-chutes onboard --auth-choice chutes" or "--auth-choice chutes-api-key"${detail}`
      case "Rejected":
        return `The Chutes credential from ${this.source ?? "unknown source"} was rejected${detail}`
      case "ReauthRequired":
        return `Chutes profile "${this.profileId ?? "?"}" needs to sign in again: run ` +
          `"effect-chutes onboard --auth-choice chutes"${detail}`
      case "Expired":
        return `The Chutes OAuth token from ${this.source ?? "unknown source"} has expired and cannot be refreshed${detail}`
      case "RefreshFailed":
        return `The Chutes OAuth token of profile "${this.profileId ?? "?"}" is due and could not be refreshed now; ` +
          `the profile is unchanged, try again${detail}`
      case "Store":
        return `The Chutes auth profile store could not be used${detail}`
    }
  }
}

/**
 * Why a sign-in step failed (docs/oauth.md).
 *
 * - `Denied`: the user (or the IdP) refused: `error=access_denied` or another `error=` in the callback.
 * - `StateMismatch`: the callback's `state` is missing or not the one this flow sent (CSRF protection).
 * - `InvalidCallback`: the callback or pasted input has no usable `code` (e.g. a bare code was pasted).
 * - `Exchange`: the token endpoint refused the code or the refresh token (`invalid_grant`, `invalid_client`, …).
 * - `InvalidTokenResponse`: the token endpoint answered 200 with an unusable body (no tokens, bad `expires_in`).
 * - `Transport`: the IdP could not be reached.
 * - `Timeout`: a deadline passed (30 s for the code exchange; the wait for a callback).
 * - `NotInteractive`: a prompt was needed but there is no terminal.
 * - `RedirectUri`: the redirect URI cannot be served by the local listener (not http, not loopback, bad port).
 * - `PortInUse`: the local listener's port is taken.
 * - `ClientId`: no OAuth client id is configured.
 * - `ClientSecret`: no client secret for the OAuth app is at hand (the IdP checks it on every code exchange and refresh).
 *
 * @since 0.1.0
 * @category errors
 */
export class OAuthError extends Schema.TaggedError<OAuthError>("effect-chutes/OAuthError")("OAuthError", {
  reason: Schema.Literal(
    "Denied",
    "StateMismatch",
    "InvalidCallback",
    "Exchange",
    "InvalidTokenResponse",
    "Transport",
    "Timeout",
    "NotInteractive",
    "RedirectUri",
    "PortInUse",
    "ClientId",
    "ClientSecret"
  ),
  /** The OAuth `error` code from the IdP or the callback (`access_denied`, `invalid_grant`, …), when there was one. */
  error: Schema.optional(Schema.String),
  /** HTTP status of the IdP answer, when there was one. */
  status: Schema.optional(Schema.Number),
  /** A short, scrubbed explanation. */
  detail: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    // The code comes from the IdP or the callback URL: scrubbed and capped like any other server text.
    const code = this.error !== undefined ? ` (${excerpt(this.error, 60)})` : ""
    const detail = detailSuffix(this.detail)
    switch (this.reason) {
      case "Denied":
        return `Sign-in was denied${code}${detail}`
      case "StateMismatch":
        return `Sign-in callback rejected: its state does not match this sign-in (possible CSRF)${detail}`
      case "InvalidCallback":
        return `Sign-in callback unusable${detail}`
      case "Exchange":
        return `The Chutes identity provider refused the request${code}${detail}`
      case "InvalidTokenResponse":
        return `The Chutes identity provider sent an unusable token response${detail}`
      case "Transport":
        return `Could not reach the Chutes identity provider${detail}`
      case "Timeout":
        return `The Chutes identity provider did not answer in time${detail}`
      case "NotInteractive":
        return `OAuth requires interactive mode${detail}`
      case "RedirectUri":
        return `Invalid OAuth redirect URI${detail}`
      case "PortInUse":
        return `The OAuth callback port is already in use${detail}`
      case "ClientId":
        return `No OAuth client id: set CHUTES_CLIENT_ID (shape cid_…)${detail}`
      case "ClientSecret":
        return `No usable OAuth client secret: set CHUTES_CLIENT_SECRET (the secret of the Chutes app, csc_…)${detail}`
    }
  }
}

/**
 * Why a prompt got no answer. `Prompter.prompt` fails with it; a flow that needs the answer decides what it means
 * (the OAuth login turns it into `OAuthError` with reason `NotInteractive`; onboarding into "no key entered").
 *
 * - `NotInteractive`: there is no terminal to ask on (stdin or stdout is not a TTY, or `--non-interactive`).
 * - `InputEnded`: the input closed (Ctrl-D, a closed pipe) before an answer was given.
 *
 * @since 0.2.0
 * @category errors
 */
export class PromptError extends Schema.TaggedError<PromptError>("effect-chutes/PromptError")("PromptError", {
  reason: Schema.Literal("NotInteractive", "InputEnded"),
  /** A short explanation (e.g. "--non-interactive was given; nothing is asked"). */
  detail: Schema.optional(Schema.String)
}) {
  /** @since 0.2.0 */
  override get message(): string {
    const detail = detailSuffix(this.detail)
    switch (this.reason) {
      case "NotInteractive":
        return `No terminal to ask on${detail}`
      case "InputEnded":
        return `The input ended before an answer was given${detail}`
    }
  }
}

/**
 * Why the auth profile store could not be used. A corrupt store is never overwritten.
 *
 * - `Corrupt`: the file does not parse, has another `version`, is nested too deep or is too large.
 * - `Unsafe`: the state directory or the file could be changed by someone else (world- or group-writable, another
 *   owner) or is not a regular file (a symbolic link, a FIFO, a device); the detail says how to fix it.
 * - `Permission`, `Io`: the operating system refused or failed.
 * - `Locked`: another process held the lock for too long.
 * - `Unreachable`: the shared store (Redis, `effect-chutes/node`) could not be reached or did not answer in time; the
 *   detail says what to check. Nothing was changed.
 * - `LeaseLost`: the lease of the shared store's refresh lock ran out while this process held it, and another writer
 *   changed the store meanwhile; nothing was written over that newer write.
 *
 * For the shared store, `path` is its location with any password masked (`redis://:***@host:6379 key …`). The
 * cooldowns kept beside the profiles (`AuthCooldowns`) fail with it too: then `path` is `auth-cooldowns.json` (or the
 * key `<prefix>auth-cooldowns`) and the message says "auth cooldown store".
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreError extends Schema.TaggedError<StoreError>("effect-chutes/StoreError")("StoreError", {
  reason: Schema.Literal("Corrupt", "Permission", "Io", "Locked", "Unsafe", "Unreachable", "LeaseLost"),
  /** The file involved (for the shared store: its location, password masked). */
  path: Schema.String,
  detail: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    const detail = detailSuffix(this.detail)
    // The cooldowns kept beside the profiles (`AuthCooldowns`) fail with this error too; their path names them.
    const store = /auth-cooldowns(\.json)?$/.test(this.path) ? "auth cooldown store" : "auth profile store"
    switch (this.reason) {
      case "Corrupt":
        return `The ${store} ${this.path} is not valid; it was left untouched — fix or move it${detail}`
      case "Permission":
        return `No permission to use the ${store} ${this.path}${detail}`
      case "Io":
        return `Could not read or write the ${store} ${this.path}${detail}`
      case "Locked":
        return `The ${store} ${this.path} is locked by another process${detail}`
      case "Unsafe":
        return `Refusing to use the ${store} ${this.path}${detail}`
      case "Unreachable":
        return `The shared ${store} ${this.path} cannot be reached; nothing was changed${detail}`
      case "LeaseLost":
        return `The refresh lock of the shared ${store} ${this.path} expired while this process held it, ` +
          `and another writer changed the store meanwhile; nothing was written over it${detail}`
    }
  }
}

/**
 * Why the JSON5 agent config could not be used (docs/configuration.md). A malformed file is never overwritten.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigError extends Schema.TaggedError<ConfigError>("effect-chutes/ConfigError")("ConfigError", {
  /** `Unsafe`: the file or its directory could be changed by someone else, or is not a regular file (see `detail`). */
  reason: Schema.Literal("Parse", "Invalid", "Io", "Permission", "Unsafe"),
  path: Schema.String,
  /** 1-based position of a parse error. */
  line: Schema.optional(Schema.Number),
  column: Schema.optional(Schema.Number),
  detail: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    const at = this.line !== undefined ? `:${this.line}${this.column !== undefined ? `:${this.column}` : ""}` : ""
    const detail = detailSuffix(this.detail)
    switch (this.reason) {
      case "Parse":
        return `Config ${this.path}${at} is not valid JSON5; it was left untouched${detail}`
      case "Invalid":
        return `Config ${this.path} has an unexpected shape${detail}`
      case "Io":
        return `Could not read or write config ${this.path}${detail}`
      case "Permission":
        return `No permission to use config ${this.path}${detail}`
      case "Unsafe":
        return `Refusing to use config ${this.path}${detail}`
    }
  }
}

/**
 * Why `PrivateFiles` refused or failed to read or write a state directory or file (the auth profile store, the
 * agent config, the catalog cache). The services that use it turn it into their own error (`StoreError`, `ConfigError`).
 *
 * - `Unsafe`: the directory or file could be changed by someone else (world- or group-writable, another owner), or is
 *   not what it should be (a symbolic link, a FIFO, a device, a directory). The detail says how to fix it.
 * - `TooLarge`: the file is larger than the cap of the caller.
 * - `Permission`: the operating system refused (EACCES, EPERM).
 * - `Io`: anything else.
 *
 * @since 0.2.0
 * @category errors
 */
export class PrivateFileError extends Schema.TaggedError<PrivateFileError>("effect-chutes/PrivateFileError")(
  "PrivateFileError",
  {
    reason: Schema.Literal("Unsafe", "TooLarge", "Permission", "Io"),
    path: Schema.String,
    detail: Schema.String
  }
) {
  /** @since 0.2.0 */
  override get message(): string {
    return printable(this.detail)
  }
}

/**
 * Why an account call (`ChutesAccount`: `/users/me`, quotas, subscription windows, usage) failed.
 *
 * - `NotPermitted`: the credential is accepted for inference but may not read the account — an API key that is not an
 *   admin key (a scoped key: HTTP 401 on `/users/me*` while `/v1/models` accepts it), or an OAuth token without the
 *   scope `account:read` (or `profile`, `quota`, `admin`: HTTP 403). The message says which and what to do.
 * - `Unauthorized`: the service rejected the credential itself (HTTP 401, and `/v1/models` rejects it too).
 * - `Transport`: the request did not complete (connection refused / reset, DNS, TLS).
 * - `Timeout`: no complete answer within the per-request deadline (`ChutesSettings.requestTimeout`).
 * - `HttpStatus`: any other non-2xx answer.
 * - `Decode`: the body was not one of the shapes the route is known to send.
 * - `TooLarge`: the body exceeded the size cap (`ChutesSettings.maxResponseBytes`).
 * - `InvalidOptions`: the call's own options cannot be sent (a `since` or `until` that is an invalid `Date`); nothing
 *   was requested.
 *
 * @since 0.3.0
 * @category errors
 */
export class AccountError extends Schema.TaggedError<AccountError>("effect-chutes/AccountError")("AccountError", {
  reason: Schema.Literal(
    "NotPermitted",
    "Unauthorized",
    "Transport",
    "Timeout",
    "HttpStatus",
    "Decode",
    "TooLarge",
    "InvalidOptions"
  ),
  /** The URL that was requested (never carries credentials). */
  url: Schema.String,
  /** HTTP status, when the service answered. */
  status: Schema.optional(Schema.Number),
  /** The kind of credential the request was sent with, when one was. */
  credential: Schema.optional(Schema.Literal("api_key", "oauth")),
  /** A short, scrubbed excerpt of what the service or the transport said. */
  detail: Schema.optional(Schema.String),
  /** How many attempts were made before giving up. */
  attempts: Schema.optionalWith(Schema.Number, { default: () => 1 })
}) {
  /** Whether a later attempt may succeed: transport errors, timeouts and 408/425/429/5xx (not the free-models cap). */
  get retryable(): boolean {
    return isRetryableFailure(this)
  }

  /** @since 0.3.0 */
  override get message(): string {
    const tries = attemptsSuffix(this.attempts)
    const detail = detailSuffix(this.detail)
    switch (this.reason) {
      case "NotPermitted":
        return this.credential === "oauth"
          ? `This Chutes sign-in may not read the account (HTTP ${this.status ?? 403} from ${this.url}): the OAuth ` +
            `token lacks the scope "account:read" (or "profile"). Sign in again with the default scopes: ` +
            `"effect-chutes onboard --auth-choice chutes" (if CHUTES_OAUTH_SCOPES is set, add account:read to it)`
          : `This Chutes API key works for inference but may not read the account (HTTP ${this.status ?? 401} from ` +
            `${this.url}): it is a scoped key. Use an admin API key (one created without a scope) or sign in with ` +
            `Chutes: "effect-chutes onboard --auth-choice chutes"`
      case "Unauthorized":
        return `The Chutes credential was rejected (HTTP 401) by ${this.url}${detail}`
      case "Transport":
        return `Could not reach the Chutes account API at ${this.url}${tries}${detail}`
      case "Timeout":
        return `The Chutes account API timed out on ${this.url}${tries}${detail}`
      case "HttpStatus":
        return `The Chutes account API answered HTTP ${this.status ?? "?"} on ${this.url}${tries}${detail}`
      case "Decode":
        return `The Chutes account API sent an unusable answer on ${this.url}${detail}`
      case "TooLarge":
        return `The Chutes account API answer on ${this.url} exceeded the size cap${detail}`
      case "InvalidOptions":
        return `Nothing was asked of ${this.url}: the options are not valid${detail}`
    }
  }
}
