/**
 * `limitOr`: how every count or size limit a caller gives is read (`maxBytes`, `maxBuckets`, `pageSize`, the AI
 * layer's `limits`, `maxResponseBytes`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as ChutesSettings from "../../src/ChutesSettings.js"
import { limitOr } from "../../src/internal/limits.js"

describe("limitOr", () => {
  it("a whole number of 1 or more is the limit (floored); anything else the fallback", () => {
    assert.strictEqual(limitOr(4096, 10), 4096)
    assert.strictEqual(limitOr(2.9, 10), 2)
    for (const bad of [undefined, Number.NaN, 0, 0.5, -1, Number.NEGATIVE_INFINITY]) {
      assert.strictEqual(limitOr(bad, 10), 10, String(bad))
    }
  })

  it("Infinity lifts the limit only where that is allowed", () => {
    assert.strictEqual(limitOr(Number.POSITIVE_INFINITY, 10, { infinite: true }), Number.POSITIVE_INFINITY)
    assert.strictEqual(limitOr(Number.POSITIVE_INFINITY, 10), 10)
  })

  it("ChutesSettings.maxResponseBytes: NaN is the default cap, not none", () => {
    assert.strictEqual(ChutesSettings.make({ maxResponseBytes: Number.NaN }).maxResponseBytes, 8 * 1024 * 1024)
    assert.strictEqual(ChutesSettings.make({ maxResponseBytes: 0 }).maxResponseBytes, 8 * 1024 * 1024)
    assert.strictEqual(ChutesSettings.make({ maxResponseBytes: 1024 }).maxResponseBytes, 1024)
  })
})
