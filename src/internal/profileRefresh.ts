/**
 * The refresh of a stored OAuth profile under the store's lock, as `ChutesCredentials` runs it (one per profile in
 * flight, through its single flight): re-read, refresh only if still due (or still the rejected token) and the store
 * takes a trial write, write; tokens the IdP rotated but that could not be written all the same are kept
 * (`./unsavedTokens.ts`), never dropped.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as AuthProfileStore from "../AuthProfileStore.js"
import type { Credential } from "../ChutesCredentials.js"
import { CredentialsError, type OAuthError, StoreError } from "../ChutesError.js"
import type * as ChutesOAuth from "../ChutesOAuth.js"
import { printSafe } from "./authProfileDocument.js"
import type { UnsavedTokens } from "./unsavedTokens.js"

/** A store that cannot be used, as the credentials' error. */
export const storeFailure = (error: StoreError) => new CredentialsError({ reason: "Store", detail: error.message })

/** The OAuth error codes (RFC 6749 §5.2) of a refusal that trying again will not change. */
const FINAL_CODES = new Set(["invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type"])

/**
 * A refresh that failed for good — the IdP refused the grant or the client (400, 401 or 403, or a final OAuth code
 * such as `invalid_grant` or `invalid_client`), or there is no client to refresh as (no client id or secret: a new
 * sign-in stores them) — needs a new sign-in; anything else (unreachable IdP, time-out, 408, 429, 5xx, garbled answer)
 * may pass, and a new sign-in would not help with it.
 */
export const refreshFailure = (profileId: string, error: OAuthError) =>
  (error.reason === "Exchange" &&
    ((error.status !== undefined && [400, 401, 403].includes(error.status)) ||
      (error.error !== undefined && FINAL_CODES.has(error.error)))) ||
    error.reason === "ClientId" || error.reason === "ClientSecret"
    ? new CredentialsError({ reason: "ReauthRequired", profileId, source: `profile:${profileId}`, detail: error.message })
    : new CredentialsError({ reason: "RefreshFailed", profileId, source: `profile:${profileId}`, detail: error.message })

/** A store that could not take a write before a refresh: the refresh token was not used, and says so. */
const notRefreshed = (id: string) => (error: StoreError): StoreError =>
  new StoreError({
    reason: error.reason,
    path: error.path,
    detail: `${error.detail ?? "a trial write failed"}; the OAuth token of profile ${id} was not refreshed, and its ` +
      `refresh token is still good once the store can be written`
  })

/**
 * Refreshes profile `id` under the store lock, re-reading it first (another process may have refreshed). `rejected`:
 * the access token the service refused (a forced refresh). See `ChutesCredentials.makeStored` for the rules.
 */
export const refreshUnderLock = (
  deps: {
    readonly store: AuthProfileStore.Service
    readonly oauth: ChutesOAuth.Service
    readonly unsaved: UnsavedTokens
    readonly toCredential: (id: string, profile: AuthProfileStore.ChutesProfile) => Credential
  },
  id: string,
  rejected: string | undefined
): Effect.Effect<Credential, CredentialsError> => {
  const { oauth, store, toCredential: fromProfile, unsaved } = deps
  /** Set once the IdP has rotated the tokens: from then on, losing them would lose the sign-in. */
  let rotated: { readonly profile: AuthProfileStore.OAuthProfile; readonly replaces: string } | undefined
  return store.modify((current) =>
    Effect.gen(function*() {
      const profile = unsaved.over(current.profiles).get(id)
      const stored = current.profiles.get(id)
      if (profile === undefined || profile.type !== "oauth" || stored?.type !== "oauth") {
        return yield* new CredentialsError({ reason: "ReauthRequired", profileId: id, detail: "the profile is gone" })
      }
      const now = yield* Clock.currentTimeMillis
      const alreadyDone = rejected === undefined ? now < profile.expires : profile.access !== rejected
      if (alreadyDone) return [fromProfile(id, profile), []] as const
      // The refresh consumes the refresh token: first the store is shown to take a write (a full disk, a read-only
      // mount, a document that cannot be written back), or the new tokens would last only as long as this process.
      if (store.trialWrite !== undefined) yield* Effect.mapError(store.trialWrite(current), notRefreshed(id))
      const tokens = yield* oauth.refresh({
        clientId: profile.clientId,
        clientSecret: profile.clientSecret,
        refreshToken: Redacted.make(profile.refresh)
      })
      // A profile that stores its client keeps the pair that worked (a secret rotated in the env for the same app
      // replaces the stale one). One without (older, or another tool's) only gets new tokens. Kept in memory until it
      // is written, it prints without its tokens, as loaded profiles do.
      const updated: AuthProfileStore.OAuthProfile = printSafe({
        ...profile,
        access: Redacted.value(tokens.access),
        refresh: Redacted.value(tokens.refresh),
        expires: tokens.expires,
        ...(profile.clientSecret !== undefined
          ? { clientId: tokens.client.clientId, clientSecret: tokens.client.clientSecret }
          : {})
      })
      yield* Effect.logDebug(`refreshed the OAuth token of profile ${id}`)
      rotated = { profile: updated, replaces: stored.refresh }
      return [fromProfile(id, updated), [{ _tag: "Upsert", id, profile: updated }]] as const
    })
  ).pipe(
    // Written: whatever was kept in memory for this profile is on disk now (or superseded by what is).
    Effect.tap(() => Effect.sync(() => rotated !== undefined && unsaved.written(id))),
    Effect.catchTags({
      StoreError: (error) => {
        if (rotated === undefined) return Effect.fail(storeFailure(error))
        // The IdP has consumed the old refresh token: the new tokens must not be dropped with the failed write.
        const kept = rotated
        unsaved.keep(id, kept)
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
          const profile = unsaved.over(reread.profiles).get(id)
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
