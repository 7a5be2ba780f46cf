/**
 * A stable, non-secret fingerprint of a secret: the first 16 hex digits (8 bytes) of its SHA-256, through Web Crypto
 * (so it runs wherever `fetch` runs). `ChutesCredentials.identity` keys caches and logs with it; a "needs sign-in"
 * cooldown is tied to the fingerprint of the secret it was set for (`./profileCooldowns.ts`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"

export const sha256Prefix = (secret: string): Effect.Effect<string> =>
  Effect.map(
    Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret))),
    (digest) => Array.from(new Uint8Array(digest, 0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("")
  )
