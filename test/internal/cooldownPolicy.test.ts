/**
 * The cooldown rules: which answer cools a profile, for how long, and the order cooldowns give.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as AuthCooldowns from "../../src/AuthCooldowns.js"
import * as Policy from "../../src/internal/cooldownPolicy.js"

const T0 = Date.UTC(2026, 11, 5, 14, 0, 0)
const MINUTE = 60_000

describe("cooldownPolicy", () => {
  it("an edge 429 cools 1 minute, doubles while it recurs, stops at 1 hour, and starts over after a quiet spell", () => {
    let previous: AuthCooldowns.Cooldown | undefined
    let now = T0
    const lengths: Array<number> = []
    for (let i = 0; i < 9; i++) {
      previous = Policy.fromAnswer({ kind: "EdgeRateLimited" }, now, previous)
      lengths.push(previous!.millis! / MINUTE)
      now = previous!.until! + 1_000 // the next 429 right after the cooldown ends
    }
    assert.deepStrictEqual(lengths, [1, 2, 4, 8, 16, 32, 60, 60, 60])
    // Quiet for longer than the last cooldown's length after its end: back to 1 minute.
    const quiet = Policy.fromAnswer({ kind: "EdgeRateLimited" }, previous!.until! + 61 * MINUTE, previous)
    assert.strictEqual(quiet!.millis, MINUTE)
  })

  it("the daily cap cools until the next 00:00 UTC, or the reset the answer gave", () => {
    const capped = Policy.fromAnswer({ kind: "DailyCapReached" }, T0, undefined)
    assert.deepStrictEqual(capped, { reason: "daily-cap", since: T0, until: Date.UTC(2026, 11, 6) })
    const given = Policy.fromAnswer({ kind: "DailyCapReached", resetsAt: T0 + 5 * MINUTE }, T0, undefined)
    assert.strictEqual(given!.until, T0 + 5 * MINUTE)
  })

  it("a 402 holds until the reset but is re-probed after 2 minutes; without a reset, 2 minutes", () => {
    const reset = Date.UTC(2026, 11, 6)
    for (const kind of ["QuotaExceeded", "SubscriptionCapReached", "TeeRequiresSubscription"]) {
      const cooldown = Policy.fromAnswer({ kind, resetsAt: reset }, T0, undefined)!
      assert.strictEqual(cooldown.reason, "quota")
      assert.strictEqual(cooldown.until, reset)
      assert.isTrue(Policy.holds(cooldown, T0 + 2 * MINUTE - 1, undefined))
      assert.isFalse(Policy.holds(cooldown, T0 + 2 * MINUTE, undefined))
      assert.strictEqual(Policy.describe(cooldown, T0), "quota until 2026-12-06 00:00 UTC (tried again from 14:02 UTC)")
    }
    const bare = Policy.fromAnswer({ kind: "QuotaExceeded" }, T0, undefined)!
    assert.strictEqual(bare.until, T0 + 2 * MINUTE)
    assert.strictEqual(Policy.describe(bare, T0), "quota until 14:02 UTC")
  })

  it("a rejected credential needs a sign-in while it is the same credential", () => {
    for (const kind of ["ReauthRequired", "Unauthorized"]) {
      const cooldown = Policy.fromAnswer({ kind, fingerprint: "f1" }, T0, undefined)!
      assert.strictEqual(cooldown.reason, "needs-sign-in")
      assert.isUndefined(cooldown.until)
      assert.isTrue(Policy.holds(cooldown, T0 + 1_000 * 24 * 60 * MINUTE, "f1"))
      assert.isFalse(Policy.holds(cooldown, T0, "f2"))
      assert.strictEqual(Policy.describe(cooldown, T0), "needs sign-in")
    }
  })

  it("the model's problems cool nothing", () => {
    for (const kind of ["Capacity", "ModelNotFound", "CreatorZeroBalance", "NoInstances", "RateLimited", "Transport"]) {
      assert.isFalse(Policy.isAccountProblem(kind))
      assert.isUndefined(Policy.fromAnswer({ kind }, T0, undefined))
    }
  })

  it("arrange: the profiles that are not cooling first in their order, then the cooling ones by end, sign-in last", () => {
    const cooling = new Map<string, AuthCooldowns.Cooldown>([
      ["a", { reason: "needs-sign-in", since: T0 }],
      ["b", { reason: "rate-limited", since: T0, until: T0 + 2 * MINUTE, millis: 2 * MINUTE }],
      ["d", { reason: "daily-cap", since: T0, until: T0 + MINUTE }]
    ])
    assert.deepStrictEqual(Policy.arrange(["a", "b", "c", "d", "e"], (id) => cooling.get(id)), ["c", "e", "d", "b", "a"])
    assert.deepStrictEqual(Policy.arrange(["x", "y"], () => undefined), ["x", "y"])
  })

  it("describe says when, with the date when it is not today", () => {
    const limited = Policy.fromAnswer({ kind: "EdgeRateLimited" }, T0 + 5 * MINUTE, undefined)!
    assert.strictEqual(Policy.describe(limited, T0), "rate-limited until 14:06 UTC")
    const capped = Policy.fromAnswer({ kind: "DailyCapReached" }, T0, undefined)!
    assert.strictEqual(Policy.describe(capped, T0), "free-models daily cap until 2026-12-06 00:00 UTC")
  })
})
