/**
 * PKCE and `state` for "Sign in with Chutes" (RFC 7636): the verifier, its S256 challenge, the `state` of one sign-in,
 * and the constant-time compare the callback uses. Pure, over Web Crypto (`crypto.getRandomValues`,
 * `crypto.subtle.digest`), so it runs anywhere `fetch` runs.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Redacted from "effect/Redacted"

/** `n` bytes from the platform's cryptographic random source. */
const randomBytes = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n))

/**
 * A fresh PKCE code verifier: 32 random bytes, base64url (43 characters of `[A-Za-z0-9_-]`).
 *
 * @since 0.2.0
 * @category pkce
 */
export const makeVerifier = (): string => Encoding.encodeBase64Url(randomBytes(32))

/**
 * A fresh `state`: 24 random bytes, base64url (32 characters), drawn separately from the verifier.
 *
 * @since 0.2.0
 * @category pkce
 */
export const makeState = (): string => Encoding.encodeBase64Url(randomBytes(24))

/**
 * The S256 code challenge of a verifier: base64url(SHA-256(verifier)) without padding (RFC 7636 §4.2). Web Crypto's
 * digest is asynchronous, hence an `Effect`.
 *
 * @since 0.2.0
 * @category pkce
 */
export const challengeFor = (verifier: string): Effect.Effect<string> =>
  Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))).pipe(
    Effect.map((digest) => Encoding.encodeBase64Url(new Uint8Array(digest)))
  )

/**
 * What one sign-in attempt needs to remember: its state, verifier (secret until the exchange) and challenge.
 *
 * @since 0.2.0
 * @category models
 */
export interface AuthorizationRequest {
  readonly state: string
  readonly verifier: Redacted.Redacted<string>
  readonly challenge: string
}

/**
 * A fresh state, verifier and challenge.
 *
 * @since 0.2.0
 * @category pkce
 */
export const makeAuthorizationRequest: Effect.Effect<AuthorizationRequest> = Effect.suspend(() => {
  const verifier = makeVerifier()
  const state = makeState()
  return Effect.map(challengeFor(verifier), (challenge) => ({ state, verifier: Redacted.make(verifier), challenge }))
})

/**
 * Constant-time string equality, for checking a received `state` against the expected one.
 *
 * Written by hand because Web Crypto has no `timingSafeEqual`. The loop runs over every byte of `received` whatever
 * the contents, and folds the length difference into the result instead of returning early, so the time taken
 * depends only on the length of `received` (which its sender already knows) and reveals nothing of `expected`.
 *
 * @since 0.2.0
 * @category state
 */
export const safeEqual = (received: string, expected: string): boolean => {
  const a = new TextEncoder().encode(received)
  const b = new TextEncoder().encode(expected)
  let difference = a.length ^ b.length
  for (let i = 0; i < a.length; i++) {
    // When `expected` is shorter (or empty) the index wraps (or reads 0): the length term above already differs.
    difference |= a[i]! ^ (b.length === 0 ? 0 : b[i % b.length]!)
  }
  return difference === 0
}
