/**
 * Cooldowns for the suites of the cooldown stores (test/AuthCooldowns.test.ts on files and memory,
 * test/redisCooldowns.test.ts on Redis): the two kinds of entry they write, and many concurrent writers over two
 * instances of one store.
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as AuthCooldowns from "../../src/AuthCooldowns.js"

export const rateLimited = (since: number, until: number): AuthCooldowns.Cooldown => ({
  reason: "rate-limited",
  since,
  until,
  millis: until - since
})

export const needsSignIn = (since: number): AuthCooldowns.Cooldown => ({
  reason: "needs-sign-in",
  since,
  fingerprint: "fp01"
})

/**
 * 40 profiles `chutes:w<i>` each set a cooldown (rate-limited from `now` until `now + 60 s + i`) at once, the even ones
 * through `even` and the odd ones through `odd` — two instances of the same store — and then every one of them, with
 * its own end, is loaded back through `loadFrom`: no set is lost. The ids, in order.
 */
export const concurrentSetsAllLand = (
  even: AuthCooldowns.Store,
  odd: AuthCooldowns.Store,
  loadFrom: AuthCooldowns.Store,
  now: number
) =>
  Effect.gen(function*() {
    const ids = Array.from({ length: 40 }, (_, i) => `chutes:w${i}`)
    yield* Effect.forEach(
      ids,
      (id, i) => (i % 2 === 0 ? even : odd).set(id, rateLimited(now, now + 60_000 + i)),
      { concurrency: "unbounded", discard: true }
    )
    const loaded = yield* loadFrom.load
    assert.deepStrictEqual(Array.from(loaded.keys()).sort(), [...ids].sort())
    for (const [i, id] of ids.entries()) assert.strictEqual(loaded.get(id)?.until, now + 60_000 + i)
    return ids
  })
