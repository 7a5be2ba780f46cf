/**
 * A credential checked against the service, each call saying only what it can say (docs/cli.md, "Credentials"):
 *
 * - `GET /v1/models` with the credential decides accepted / rejected: a 401 is "rejected", a 2xx "accepted" (even if
 *   the catalog in it is unusable: the bearer was let through), anything else leaves it "not checked", with why.
 * - `GET /users/me` (through `ChutesAccount`) only adds the account — user name and balance. Its 401 for a key that
 *   `/v1/models` accepted is a scoped key that may not read the account, and its 403 an OAuth token without the scope:
 *   never "rejected", never "needs sign-in".
 *
 * Both go through the credentials service they are given, so a stored OAuth profile behaves as it does in the SDK: a
 * 401 for its token gets one forced refresh and one more try (`src/internal/auth.ts` does the same for every request
 * of the provider's client). Used by `onboard` and `auth status`.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ChutesAccount from "../ChutesAccount.js"
import * as ChutesCredentials from "../ChutesCredentials.js"
import type { CredentialsError, DiscoveryError } from "../ChutesError.js"
import type * as ChutesSettings from "../ChutesSettings.js"
import * as ModelDiscovery from "../ModelDiscovery.js"
import { excerpt } from "../internal/redact.js"
import { unsendable } from "../internal/auth.js"

/** What `/v1/models` said of a credential. */
export type Verdict =
  | { readonly _tag: "Accepted" }
  | { readonly _tag: "Rejected"; readonly why: string; readonly error?: CredentialsError | undefined }
  | { readonly _tag: "NotChecked"; readonly why: string }

/** What `/users/me` said, once `/v1/models` accepted the credential. */
export type AccountRead =
  | { readonly _tag: "Read"; readonly me: ChutesAccount.Me }
  /** A scoped API key (401) or an OAuth token without `account:read` / `profile` (403). */
  | { readonly _tag: "NotPermitted"; readonly kind: ChutesCredentials.CredentialKind; readonly status: number }
  | { readonly _tag: "Failed"; readonly why: string }

/** A 2xx answer whose catalog was unusable still let the bearer through. */
const answered2xx = (error: DiscoveryError): boolean =>
  error.status !== undefined && error.status >= 200 && error.status < 300

const verdictOf = (error: DiscoveryError): Verdict =>
  error.reason === "Unauthorized"
    ? { _tag: "Rejected", why: `HTTP 401 from ${error.url}${error.detail !== undefined ? `: ${error.detail}` : ""}` }
    : answered2xx(error)
    ? { _tag: "Accepted" }
    : { _tag: "NotChecked", why: error.message }

/**
 * `GET /v1/models` with the current credential of `credentials` (under the SDK's retry policy, as discovery does).
 * A 401 for a refreshable credential (a stored OAuth profile) gets one forced refresh and one more try; a refresh
 * that fails makes it "rejected", with the refresh's error.
 */
export const check = (
  credentials: ChutesCredentials.Service
): Effect.Effect<Verdict, CredentialsError, ModelDiscovery.ModelDiscovery> =>
  Effect.gen(function*() {
    const discovery = yield* ModelDiscovery.ModelDiscovery
    const credential = yield* credentials.get
    if (Option.isNone(credential)) return { _tag: "NotChecked", why: "no credential" } satisfies Verdict
    // One no header can carry is not sent: it could only fail in the transport.
    const refused = unsendable(credential.value)
    if (refused !== undefined) return { _tag: "Rejected", why: refused.message, error: refused } satisfies Verdict
    const first = yield* Effect.either(discovery.fetch(credential))
    if (Either.isRight(first)) return { _tag: "Accepted" } satisfies Verdict
    const verdict = verdictOf(first.left)
    if (verdict._tag !== "Rejected" || credential.value.kind !== "oauth" || credential.value.profileId === undefined) {
      return verdict
    }
    const refreshed = yield* Effect.either(credentials.forceRefresh(credential.value))
    if (Either.isLeft(refreshed)) {
      const why = `${verdict.why}; ${refreshed.left.message}`
      return { _tag: "Rejected", why, error: refreshed.left } satisfies Verdict
    }
    if (Option.isNone(refreshed.right)) return verdict
    const second = yield* Effect.either(discovery.fetch(refreshed.right))
    return Either.isRight(second) ? { _tag: "Accepted" } satisfies Verdict : verdictOf(second.left)
  })

/** `GET /users/me` with the credential of `credentials`: the account, or why it could not be read. */
export const readAccount = (
  credentials: ChutesCredentials.Service,
  kind: ChutesCredentials.CredentialKind
): Effect.Effect<AccountRead, never, HttpClient.HttpClient | ChutesSettings.ChutesSettings> =>
  Effect.gen(function*() {
    const account = yield* ChutesAccount.make
    return yield* account.me
  }).pipe(
    // The caller's credentials (static, or one stored profile), not the resolution order.
    Effect.provideService(ChutesCredentials.ChutesCredentials, credentials),
    Effect.map((me): AccountRead => ({ _tag: "Read", me })),
    Effect.catchAll((error) =>
      Effect.succeed<AccountRead>(
        error._tag === "AccountError" && error.reason === "NotPermitted"
          ? {
            _tag: "NotPermitted",
            kind: error.credential ?? kind,
            status: error.status ?? (kind === "oauth" ? 403 : 401)
          }
          : { _tag: "Failed", why: error.message }
      )
    )
  )

/** What may not be read, in the words of `auth status` and `onboard`. */
export const notPermittedLine = (kind: ChutesCredentials.CredentialKind): string =>
  kind === "api_key"
    ? "scoped key: may not read the account"
    : "token without the account:read scope: may not read the account"

/** A balance in USD: `$14.01`, `-$0.0590`; four digits below one dollar. */
export const usd = (value: number): string => {
  const digits = value !== 0 && Math.abs(value) < 1 ? 4 : 2
  return `${value < 0 ? "-" : ""}$${Math.abs(value).toFixed(digits)}`
}

/** The user name as the terminal may show it (control characters escaped). */
export const userName = (me: ChutesAccount.Me): string => excerpt(me.username, 120)
