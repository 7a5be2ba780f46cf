/**
 * FakeChutes counts chat calls against the account like the live gateway (src/testing/FakeChutes/quota.ts): quota
 * headers on served calls (the count before the call), 402 with the object detail once the quota is used up and the
 * balance is 0, the list price charged to the balance when no quota covers a call, and hourly usage buckets that
 * `ChutesAccount` reads back.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ChutesAccount from "../src/ChutesAccount.js"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"

/** A model of the seed catalog with its pricing (USD per 1M tokens) and chute id. */
const MODEL = "Qwen/Qwen3-32B-TEE"
const CHUTE = "ac059e33-eb27-541c-b9a9-24b214036475"

const chat = (fake: FakeChutes.FakeChutesServer, stream = false) =>
  Effect.promise(async () => {
    const response = await fetch(`${fake.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }], stream })
    })
    const text = await response.text()
    const header = (name: string) => response.headers.get(name)
    return {
      status: response.status,
      text,
      quota: [header("x-chutes-quota-total"), header("x-chutes-quota-used"), header("x-chutes-quota-remaining")],
      rateLimit: header("x-chutes-rl-user")
    }
  })

const account = (fake: FakeChutes.FakeChutesServer) =>
  Effect.flatMap(ChutesAccount.ChutesAccount, (service) =>
    Effect.all({
      today: service.quotaUsage("me"),
      me: service.me,
      buckets: Effect.map(Stream.runCollect(service.usage({ perChute: true })), Chunk.toReadonlyArray)
    })).pipe(
      Effect.provide(ChutesAccount.layer.pipe(Layer.provide(Layer.mergeAll(
        NodeHttpClient.layerUndici,
        ChutesCredentials.layerStatic(ChutesCredentials.make({ kind: "api_key", source: "test", secret: fake.apiKey })),
        ChutesSettings.layer({ baseUrl: fake.baseUrl, idpBaseUrl: fake.idpBaseUrl, diskCachePath: false })
      ))))
    )

const nextMidnight = (): string => {
  const now = new Date()
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString()
    .replace(".000Z", "+00:00")
}

describe("FakeChutes: chat calls against the account", () => {
  it.scopedLive("quota headers count before the call; used up with no balance is 402 with the reset time", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { balance: 0, quotaUsage: { me: { quota: 3, used: 0.5 } } } })
      const served = [yield* chat(fake), yield* chat(fake, true), yield* chat(fake)]
      assert.deepStrictEqual(served.map((r) => r.status), [200, 200, 200])
      assert.deepStrictEqual(served.map((r) => r.quota), [["3", "0", "3"], ["3", "1", "2"], ["3", "2", "1"]])
      assert.deepStrictEqual(served.map((r) => r.rateLimit), ["60", "60", "60"])

      const refused = yield* chat(fake, true)
      assert.strictEqual(refused.status, 402)
      assert.deepStrictEqual(JSON.parse(refused.text), {
        detail: {
          message: "Quota exceeded and account balance is $0.0, please pay with fiat or send tao to " +
            "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw",
          quota_reset_timestamp: nextMidnight()
        }
      })
      assert.deepStrictEqual(refused.quota, [null, null, null])

      const seen = yield* account(fake)
      assert.deepStrictEqual(seen.today, { quota: 3, used: 3.5 })
      assert.strictEqual(seen.me.balance, 0)
      assert.strictEqual(seen.buckets.length, 1)
      assert.deepStrictEqual(
        [seen.buckets[0]?.chuteId, seen.buckets[0]?.count, seen.buckets[0]?.amount],
        [CHUTE, 3, 0]
      )
      assert.isAbove(seen.buckets[0]?.inputTokens ?? 0, 0)
    }))

  it.scopedLive("no quota: no quota headers, the list price charged to the balance; at $0 a 402 without reset time", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { balance: 1, quotaUsage: { me: { quota: 0, used: 0 } } } })
      fake.chat.script({ content: "ok", usage: { prompt_tokens: 1_000_000, completion_tokens: 500_000 } })
      const served = yield* chat(fake)
      assert.strictEqual(served.status, 200)
      assert.deepStrictEqual(served.quota, [null, null, null])
      const seen = yield* account(fake)
      // 1M prompt tokens at $0.104 + 0.5M completion tokens at $0.416 = $0.312.
      assert.approximately(seen.buckets[0]?.amount ?? 0, 0.312, 1e-9)
      assert.approximately(seen.me.balance ?? 0, 0.688, 1e-9)

      fake.account.set({ balance: -0.059 })
      const refused = yield* chat(fake)
      assert.strictEqual(refused.status, 402)
      assert.deepStrictEqual(JSON.parse(refused.text), {
        detail: {
          message: "Quota exceeded and account balance is $-0.059, please pay with fiat or send tao to " +
            "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw"
        }
      })
    }))

  it.scopedLive("an unlimited quota is never refused and sends no quota headers", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { balance: 0, quotaUsage: { me: { quota: "unlimited", used: 0 } } } })
      const served = yield* chat(fake)
      assert.strictEqual(served.status, 200)
      assert.deepStrictEqual(served.quota, [null, null, null])
      assert.deepStrictEqual((yield* account(fake)).today, { quota: "unlimited", used: 1 })
    }))
})
