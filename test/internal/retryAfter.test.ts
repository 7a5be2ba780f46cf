/**
 * `Retry-After` can lengthen a retry's wait but never shorten it below the backoff: `0`, `-1`, `1.5` or a date in the
 * past must not turn retries into a tight loop against a struggling service.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as ModelDiscovery from "../../src/ModelDiscovery.js"

const policy = {
  maxRetries: 3,
  baseDelay: Duration.millis(500),
  maxDelay: Duration.seconds(8),
  retryAfterCap: Duration.seconds(30)
}
const now = Date.UTC(2026, 11, 5, 12, 0, 0)

describe("Retry-After and the backoff", () => {
  for (const header of ["0", "-1", "1.5", "Thu, 01 Jan 2026 00:00:00 GMT", "  0  "]) {
    it(`${JSON.stringify(header)} waits at least the backoff step`, () => {
      const retryAfter = ModelDiscovery.parseRetryAfter(header, now)
      for (const retry of [0, 1, 2]) {
        const backoff = ModelDiscovery.retryDelay(policy, retry, undefined, 0)
        assert.isAtLeast(ModelDiscovery.retryDelay(policy, retry, retryAfter, 0), backoff, `retry ${retry}`)
        assert.isAtLeast(backoff, 250)
      }
    })
  }

  it("reads neither a negative nor a fractional number as a date", () => {
    assert.isUndefined(ModelDiscovery.parseRetryAfter("-1", now))
    assert.isUndefined(ModelDiscovery.parseRetryAfter("1.5", now))
    assert.strictEqual(ModelDiscovery.parseRetryAfter("Sat, 05 Dec 2026 12:00:09 GMT", now), 9000)
  })

  it("a longer Retry-After still wins, up to the cap", () => {
    assert.strictEqual(ModelDiscovery.retryDelay(policy, 0, 12_000, 0.5), 12_000)
    assert.strictEqual(ModelDiscovery.retryDelay(policy, 0, 120_000, 0.5), 30_000)
  })
})
