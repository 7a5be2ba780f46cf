/**
 * The JSON shapes the CLI prints with `--json`, as schemas so scripts (and tests) can decode them.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { CatalogSnapshot } from "../ModelCatalog.js"
import { ModelDefinition } from "../ModelCatalog.js"
import type { Hop } from "../Successors.js"

/**
 * A built-in name that followed its documented target's successor (see `Successors.Hop`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const FollowedOutput = Schema.Struct({
  name: Schema.String,
  from: Schema.String,
  to: Schema.String,
  through: Schema.Array(Schema.String),
  reason: Schema.Literal("NotListed", "Deprecated"),
  priceRatio: Schema.NullOr(Schema.Struct({ input: Schema.Number, output: Schema.Number })),
  message: Schema.String
})

/**
 * The JSON view of a hop.
 *
 * @since 0.2.0
 * @category constructors
 */
export const followedOutput = (hop: Hop): typeof FollowedOutput.Type => ({
  name: hop.name,
  from: hop.from,
  to: hop.to,
  through: hop.through,
  reason: hop.reason,
  priceRatio: hop.priceRatio ?? null,
  message: hop.message
})

/**
 * `effect-chutes models list --json`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelsListOutput = Schema.Struct({
  source: Schema.Literal("live", "cache", "static"),
  offline: Schema.Boolean,
  fetchedAt: Schema.NullOr(Schema.Number),
  reason: Schema.NullOr(Schema.Struct({ tag: Schema.String, reason: Schema.String, message: Schema.String })),
  skipped: Schema.Number,
  warnings: Schema.Array(Schema.Struct({ kind: Schema.String, ref: Schema.String, message: Schema.String })),
  /** The built-in names (default model, aliases) that follow a successor in this catalog. */
  followed: Schema.Array(FollowedOutput),
  models: Schema.Array(Schema.Struct({ ref: Schema.String, ...ModelDefinition.fields }))
})

/**
 * @since 0.1.0
 * @category models
 */
export type ModelsListOutput = typeof ModelsListOutput.Type

/**
 * The JSON view of a snapshot.
 *
 * @since 0.1.0
 * @category constructors
 */
export const modelsListOutput = (
  snapshot: CatalogSnapshot,
  offline: boolean,
  followed: ReadonlyArray<Hop> = []
): ModelsListOutput => ({
  source: snapshot.source,
  offline,
  fetchedAt: snapshot.fetchedAt ?? null,
  reason: snapshot.reason === undefined
    ? null
    : { tag: snapshot.reason._tag, reason: snapshot.reason.reason, message: snapshot.reason.message },
  skipped: snapshot.skipped,
  warnings: snapshot.warnings.map((w) => ({ kind: w.kind, ref: w.ref, message: w.message })),
  followed: followed.map(followedOutput),
  models: snapshot.models.map((model) => ({ ref: `chutes/${model.id}`, ...model }))
})

/**
 * `effect-chutes models resolve --json`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResolveOutput = Schema.Struct({
  input: Schema.String,
  ref: Schema.String,
  id: Schema.String,
  via: Schema.Literal("alias", "ref", "id", "default"),
  alias: Schema.NullOr(Schema.Struct({ name: Schema.String, source: Schema.Literal("user", "builtin") })),
  /** The built-in alias target a user alias of the same name replaced. */
  shadowed: Schema.NullOr(Schema.String),
  /** Whether the catalog used lists the model. */
  known: Schema.Boolean,
  /** Set when a built-in name followed its documented target's successor. */
  followed: Schema.NullOr(FollowedOutput),
  /**
   * Set when the model is retired (the catalog, or for a model it does not list the built-in one, marks it
   * deprecated): the service no longer serves it. `successor`: the ref the built-in lifecycle names, if any.
   */
  retired: Schema.NullOr(Schema.Struct({ successor: Schema.NullOr(Schema.String) })),
  /** The catalog the input was checked against. */
  source: Schema.Literal("live", "cache", "static"),
  explanation: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type ResolveOutput = typeof ResolveOutput.Type

/**
 * How long a credential lasts, in `auth status` (the same words for both kinds):
 *
 * - `valid`: an OAuth token not yet due for refresh (or refreshed just now: see `refreshed`).
 * - `refresh-due`: an OAuth token due for refresh that was not refreshed: `--offline`, or the refresh failed for a
 *   passing reason (IdP unreachable, …; try again).
 * - `expired`: an OAuth token the IdP will not refresh any more: sign in again.
 * - `none`: no expiry known — an API key, or a token from `CHUTES_OAUTH_TOKEN` (never refreshed).
 *
 * @since 0.3.0
 * @category schemas
 */
export const CredentialExpiry = Schema.Literal("valid", "refresh-due", "expired", "none")

/**
 * @since 0.3.0
 * @category models
 */
export type CredentialExpiry = typeof CredentialExpiry.Type

/**
 * What the service said of a credential in `auth status`: `GET /v1/models` with it answered 2xx (`accepted`) or 401
 * (`rejected`); `not-checked` with `--offline`, when the service could not be asked, or without a token to send.
 *
 * @since 0.3.0
 * @category schemas
 */
export const CredentialCheck = Schema.Literal("accepted", "rejected", "not-checked")

/**
 * @since 0.3.0
 * @category models
 */
export type CredentialCheck = typeof CredentialCheck.Type

/**
 * The cooldown that holds for a stored profile in `auth status` (`AuthCooldowns`, shown by `auth cooldowns`): what the
 * service last said of its account. A cooling profile is tried after the others, by the end of its cooldown.
 *
 * @since 0.5.0
 * @category schemas
 */
export const ProfileCooldown = Schema.Struct({
  /** `AuthCooldowns.Reason`. */
  reason: Schema.Literal("rate-limited", "daily-cap", "quota", "needs-sign-in"),
  /** When it was set (epoch ms). */
  since: Schema.Number,
  /** When it ends (epoch ms); null for `needs-sign-in`, which lasts until the profile signs in again. */
  until: Schema.NullOr(Schema.Number),
  /** When it stops holding (a `quota` one is tried again from then); null: when the profile signs in again. */
  endsAt: Schema.NullOr(Schema.Number),
  /** In a few words: "rate-limited until 14:05 UTC", "quota until 00:00 UTC", "needs sign-in". */
  description: Schema.String
})

/**
 * @since 0.5.0
 * @category models
 */
export type ProfileCooldown = typeof ProfileCooldown.Type

/**
 * One credential in `auth status --json`. Secrets appear as their last four characters at most.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CredentialStatus = Schema.Struct({
  /** `env:CHUTES_API_KEY`, `env:CHUTES_OAUTH_TOKEN`, or `profile:<id>`. */
  source: Schema.String,
  profileId: Schema.NullOr(Schema.String),
  kind: Schema.Literal("api_key", "oauth"),
  /** `…abcd` (or `****` for short secrets). */
  secret: Schema.String,
  /**
   * The Chutes user name: from `/users/me` when the credential was checked and may read the account, else the one an
   * OAuth profile stored at sign-in; null otherwise.
   */
  account: Schema.NullOr(Schema.String),
  /** The credential the SDK uses now (resolution order: CHUTES_API_KEY, CHUTES_OAUTH_TOKEN, stored profiles). */
  active: Schema.Boolean,
  /**
   * A stored profile's place (1-based) in the order the stored profiles are tried (`authOrder` first, then OAuth, then
   * API keys); null for a credential from the environment.
   */
  order: Schema.NullOr(Schema.Number),
  /** Nothing found against it: not rejected, not expired, its refresh (if due) did not fail. */
  usable: Schema.Boolean,
  expiry: CredentialExpiry,
  /** Epoch milliseconds when the OAuth token is due for refresh (the stored expiry, margin included). */
  expires: Schema.NullOr(Schema.Number),
  /** The refresh was due and was done just now (the new tokens are stored). */
  refreshed: Schema.Boolean,
  check: CredentialCheck,
  /**
   * Whether it may read the account (`/users/me`): false for a scoped API key or an OAuth token without the scope;
   * null when not known (not checked, not accepted, or the account could not be read).
   */
  readsAccount: Schema.NullOr(Schema.Boolean),
  /** The rest for people, e.g. `refresh due in 54m`, `scoped key: may not read the account`; may be empty. */
  detail: Schema.String,
  /** The stored profile's cooldown that holds now; null when none does (and for a credential from the environment). */
  cooldown: Schema.NullOr(ProfileCooldown)
})

/**
 * @since 0.1.0
 * @category models
 */
export type CredentialStatus = typeof CredentialStatus.Type

/**
 * `effect-chutes auth status --json`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AuthStatusOutput = Schema.Struct({
  stateDir: Schema.NullOr(Schema.String),
  storePath: Schema.NullOr(Schema.String),
  configPath: Schema.NullOr(Schema.String),
  /** `--offline` was given: nothing was sent to Chutes, every `check` is `not-checked`. */
  offline: Schema.Boolean,
  /** The `source` of the active credential; null when there is none. */
  active: Schema.NullOr(Schema.String),
  /** Whether the active credential can be used (the exit code is 0 exactly when this is true). */
  usable: Schema.Boolean,
  credentials: Schema.Array(CredentialStatus),
  /**
   * The configured order of the stored profiles and where it comes from (`auth.order.chutes` in the config wins over
   * `CHUTES_AUTH_ORDER`); null when neither sets one (OAuth profiles first, then API keys).
   */
  authOrder: Schema.NullOr(Schema.Struct({ from: Schema.Literal("config", "env"), ids: Schema.Array(Schema.String) })),
  /** Ids of other providers' profiles in the store (kept untouched). */
  otherProfiles: Schema.Array(Schema.String),
  /**
   * The cooldown store beside the profiles: its location, and why it could not be read (then no `cooldown` is shown
   * and the order ignores them); null when it was read.
   */
  cooldowns: Schema.Struct({ location: Schema.String, error: Schema.NullOr(Schema.String) })
})

/**
 * @since 0.1.0
 * @category models
 */
export type AuthStatusOutput = typeof AuthStatusOutput.Type
