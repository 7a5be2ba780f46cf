/**
 * FakeChutes' daily quota counter resets at 00:00 UTC on the fake's clock (the wall clock plus `clockOffsetMillis`,
 * movable with `setClockOffset` or `POST /__control/settings`): the counter, the quota headers, the 402's
 * `quota_reset_timestamp` and the hour of the usage buckets all follow that clock.
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

const MODEL = "Qwen/Qwen3-32B-TEE"
const DAY = 86_400_000

/** An offset that puts the fake's clock `millis` after the next 00:00 UTC of the wall clock (negative: before it). */
const offsetTo = (millis: number): number => Math.floor(Date.now() / DAY) * DAY + DAY + millis - Date.now()

const chat = (fake: FakeChutes.FakeChutesServer) =>
  Effect.promise(async () => {
    const response = await fetch(`${fake.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }] })
    })
    const body = (await response.json()) as unknown
    return {
      status: response.status,
      body,
      used: response.headers.get("x-chutes-quota-used"),
      remaining: response.headers.get("x-chutes-quota-remaining")
    }
  })

const withAccount = <A, E>(fake: FakeChutes.FakeChutesServer, use: (account: ChutesAccount.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(ChutesAccount.ChutesAccount, use).pipe(
    Effect.provide(ChutesAccount.layer.pipe(Layer.provide(Layer.mergeAll(
      NodeHttpClient.layerUndici,
      ChutesCredentials.layerStatic(ChutesCredentials.make({ kind: "api_key", source: "test", secret: fake.apiKey })),
      ChutesSettings.layer({ baseUrl: fake.baseUrl, idpBaseUrl: fake.idpBaseUrl, diskCachePath: false })
    ))))
  )

const used = (fake: FakeChutes.FakeChutesServer) =>
  withAccount(fake, (account) => Effect.map(account.quotaUsage("me"), (today) => today.used))

describe("FakeChutes: the daily quota counter on the fake's clock", () => {
  it.scopedLive("counts up to 23:59 UTC, reads 0 after 00:00 UTC, and the next call counts from 0", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({
        clockOffsetMillis: offsetTo(-60_000),
        account: { quotaUsage: { me: { quota: 300, used: 297 } } }
      })
      const before = new Date(fake.now)
      assert.strictEqual(before.getUTCHours(), 23)
      assert.strictEqual(before.getUTCMinutes(), 59)

      const first = yield* chat(fake)
      assert.deepStrictEqual([first.status, first.used, first.remaining], [200, "297", "3"])
      assert.strictEqual(yield* used(fake), 298)
      // Still the same UTC day on the fake's clock: no reset.
      fake.setClockOffset(offsetTo(-1_000))
      assert.strictEqual(yield* used(fake), 298)
      const second = yield* chat(fake)
      assert.strictEqual(second.used, "298")

      // Past 00:00 UTC on the fake's clock (the wall clock has not moved): the counter reads 0.
      fake.setClockOffset(offsetTo(30_000))
      assert.strictEqual(yield* used(fake), 0)
      const third = yield* chat(fake)
      assert.deepStrictEqual([third.status, third.used, third.remaining], [200, "0", "300"])
      assert.strictEqual(yield* used(fake), 1)

      // The usage buckets are on the fake's clock too: two calls in the last hour of one day, one in the next.
      const buckets = yield* withAccount(fake, (account) =>
        Effect.map(Stream.runCollect(account.usage()), Chunk.toReadonlyArray))
      const day = new Date(fake.now - 30_000).toISOString().slice(0, 10)
      const eve = new Date(fake.now - 3_600_000).toISOString().slice(0, 10)
      assert.deepStrictEqual(buckets.map((b) => [b.bucket.toISOString(), b.count]), [
        [`${day}T00:00:00.000Z`, 1],
        [`${eve}T23:00:00.000Z`, 2]
      ])
    }))

  it.scopedLive("a used-up quota is 402 with quota_reset_timestamp at the next 00:00 UTC of the fake's clock", () =>
    Effect.gen(function*() {
      // 3 days ahead, 10 minutes before midnight.
      const fake = yield* FakeChutes.make({
        clockOffsetMillis: offsetTo(3 * DAY - 600_000),
        account: { balance: 0, quotaUsage: { me: { quota: 300, used: 300 } } }
      })
      const refused = yield* chat(fake)
      assert.strictEqual(refused.status, 402)
      const expected = new Date(Math.floor(fake.now / DAY) * DAY + DAY).toISOString().replace(".000Z", "+00:00")
      assert.strictEqual(
        (refused.body as { detail: { quota_reset_timestamp: string } }).detail.quota_reset_timestamp,
        expected
      )
      // After that midnight the quota covers calls again, balance or not.
      fake.setClockOffset(offsetTo(3 * DAY + 1_000))
      const served = yield* chat(fake)
      assert.deepStrictEqual([served.status, served.used], [200, "0"])
    }))

  it.scopedLive("the clock through the control route, for a fake in another process", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { quotaUsage: { me: { quota: 300, used: 12 } } } })
      assert.strictEqual(yield* used(fake), 12)
      const set = yield* Effect.promise(() =>
        fetch(`${fake.url}/__control/settings`, {
          method: "POST",
          body: JSON.stringify({ clockOffsetMillis: offsetTo(5_000) })
        }).then((response) => response.status)
      )
      assert.strictEqual(set, 200)
      const state = yield* Effect.promise(() =>
        fetch(`${fake.url}/__control/state`).then((response) => response.json() as Promise<Record<string, unknown>>)
      )
      assert.isAbove(state["clockOffsetMillis"] as number, 0)
      assert.strictEqual(yield* used(fake), 0)
      const bad = yield* Effect.promise(() =>
        fetch(`${fake.url}/__control/settings`, { method: "POST", body: JSON.stringify({ clockOffsetMillis: "x" }) })
          .then((response) => response.status)
      )
      assert.strictEqual(bad, 400)
    }))

  it.scopedLive("without an offset the fake's clock is the wall clock", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      assert.isBelow(Math.abs(fake.now - Date.now()), 1_000)
    }))
})
