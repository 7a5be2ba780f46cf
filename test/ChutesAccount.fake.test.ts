/**
 * FakeChutes' account side on its own: scripting through `/__control/account` (for a fake in another process), the
 * route's counter and faults, the usage route's query rules, and the other routes left as they were.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FakeChutes from "../src/testing/FakeChutes.js"

const call = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, body: (await response.json()) as unknown }
  })

describe("FakeChutes account routes", () => {
  it.scopedLive("POST /__control/account scripts the account; GET reads it back", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const auth = { authorization: `Bearer ${fake.apiKey}` }
      const set = yield* call(`${fake.url}/__control/account`, {
        method: "POST",
        body: JSON.stringify({ balance: -1.5, quotas: {}, subscription: { subscription: false } })
      })
      assert.strictEqual(set.status, 200)
      assert.strictEqual(fake.account.current.balance, -1.5)
      const me = yield* call(`${fake.url}/users/me`, { headers: auth })
      assert.strictEqual((me.body as { balance: number }).balance, -1.5)
      assert.deepStrictEqual((yield* call(`${fake.url}/users/me/quotas`, { headers: auth })).body, {})
      const back = yield* call(`${fake.url}/__control/account`)
      assert.strictEqual((back.body as { balance: number }).balance, -1.5)
      const bad = yield* call(`${fake.url}/__control/account`, { method: "POST", body: JSON.stringify({ usage: [1] }) })
      assert.strictEqual(bad.status, 400)
    }))

  it.scopedLive("counted on the `account` counter; faults on the `account` route; 405 for another method", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const auth = { authorization: `Bearer ${fake.apiKey}` }
      fake.fault({ _tag: "Status", route: "account", status: 500, times: 1 })
      const faulted = yield* call(`${fake.url}/users/me/subscription_usage`, { headers: auth })
      assert.deepStrictEqual(faulted, { status: 500, body: { detail: "Internal Server Error" } })
      assert.strictEqual((yield* call(`${fake.url}/users/me/quota_usage/me`, { headers: auth })).status, 200)
      assert.strictEqual(fake.counters.account, 2)
      assert.strictEqual(fake.counters.models, 0)
      const post = yield* call(`${fake.url}/users/me/quota_usage/abc`, { method: "POST", headers: auth })
      assert.strictEqual(post.status, 405)
      assert.strictEqual((yield* call(`${fake.url}/users/someone-else`, { headers: auth })).status, 404)
    }))

  it.scopedLive("usage: per_chute sums nothing, the default sums per hour; bad values are 422", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({
        account: {
          usage: [
            { bucket: "2026-06-11T14:00:00", chute_id: "a", amount: 0.5, count: 2, input_tokens: 10, output_tokens: 1 },
            { bucket: "2026-06-11T14:00:00", chute_id: "b", amount: 0.25, count: 1, input_tokens: 5, output_tokens: 2 },
            { bucket: "2026-06-11T15:00:00", chute_id: "a", amount: 0, count: 1, input_tokens: 1, output_tokens: 1 }
          ]
        }
      })
      const headers = { authorization: `Bearer ${fake.apiKey}` }
      const summed = yield* call(`${fake.url}/users/me/usage`, { headers })
      assert.deepStrictEqual(summed.body, {
        total: 2,
        page: 0,
        limit: 24,
        items: [
          { bucket: "2026-06-11T15:00:00", amount: 0, count: 1, input_tokens: 1, output_tokens: 1 },
          { bucket: "2026-06-11T14:00:00", amount: 0.75, count: 3, input_tokens: 15, output_tokens: 3 }
        ]
      })
      const perChute = yield* call(`${fake.url}/users/me/usage?per_chute=true&limit=1&page=2`, { headers })
      assert.deepStrictEqual(perChute.body, {
        total: 3,
        page: 2,
        limit: 1,
        items: [{ bucket: "2026-06-11T14:00:00", chute_id: "b", amount: 0.25, count: 1, input_tokens: 5, output_tokens: 2 }]
      })
      assert.strictEqual((yield* call(`${fake.url}/users/me/usage?limit=0`, { headers })).status, 422)
      assert.strictEqual((yield* call(`${fake.url}/users/me/usage?start_date=soon`, { headers })).status, 422)
    }))

  it.scopedLive("scoped keys still work for inference", () =>
    Effect.gen(function*() {
      const scoped = "cpk_" + "1".repeat(32) + "." + "2".repeat(32) + "." + "S".repeat(32)
      const fake = yield* FakeChutes.make({ scopedApiKeys: [scoped] })
      const models = yield* call(`${fake.baseUrl}/models`, { headers: { authorization: `Bearer ${scoped}` } })
      assert.strictEqual(models.status, 200)
      const me = yield* call(`${fake.url}/users/me`, { headers: { authorization: `Bearer ${scoped}` } })
      assert.strictEqual(me.status, 401)
    }))
})
