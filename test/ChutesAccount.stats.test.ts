/**
 * `ChutesAccount.llmStats` (the public, platform-wide `GET /invocations/stats/llm`) over loopback against FakeChutes:
 * the row shape of the live service (int 0 averages, extra fields), the default rows of the fake, no credential sent,
 * its own size cap, and the errors.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ChutesAccount from "../src/ChutesAccount.js"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"

/** The fixture body of the route (test/fixtures/account/ has none of it: the live shape, values made up). */
const fixture = [
  {
    chute_id: "0d7184a2-32a3-53e0-9607-058c37edaab5",
    name: "deepseek-ai/DeepSeek-V3.2-TEE",
    date: "2026-06-11",
    total_requests: 1843221,
    total_input_tokens: 21345678901,
    total_output_tokens: 412345678,
    average_tps: 41.27,
    average_ttft: 1.934
  },
  {
    chute_id: "5f3c0a0e-1111-5222-8333-944455566677",
    name: "[private]",
    date: "2026-06-11",
    total_requests: 12,
    total_input_tokens: 9001,
    total_output_tokens: 400,
    average_tps: 0,
    average_ttft: 0,
    extra: { kept: "or ignored" }
  }
]

const withAccount = <A, E>(
  fake: FakeChutes.FakeChutesServer,
  use: (account: ChutesAccount.Service) => Effect.Effect<A, E>,
  settings: ChutesSettings.Options = {}
) =>
  Effect.flatMap(ChutesAccount.ChutesAccount, use).pipe(
    Effect.provide(ChutesAccount.layer.pipe(Layer.provide(Layer.mergeAll(
      NodeHttpClient.layerUndici,
      ChutesCredentials.layerStatic(ChutesCredentials.make({ kind: "api_key", source: "test", secret: fake.apiKey })),
      ChutesSettings.layer({
        baseUrl: fake.baseUrl,
        idpBaseUrl: fake.idpBaseUrl,
        diskCachePath: false,
        retry: { maxRetries: 0 },
        ...settings
      })
    ))))
  )

const failure = <A>(result: Either.Either<A, unknown>) => {
  if (Either.isRight(result)) return assert.fail("expected a failure")
  return result.left as { readonly _tag: string; readonly reason: string; readonly message: string }
}

describe("ChutesAccount.llmStats", () => {
  it.scopedLive("decodes the live row shape; int 0 averages stay 0; unknown fields ignored", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { llmStats: fixture } })
      const rows = yield* withAccount(fake, (account) => account.llmStats())
      assert.deepStrictEqual(rows, [
        {
          chuteId: "0d7184a2-32a3-53e0-9607-058c37edaab5",
          name: "deepseek-ai/DeepSeek-V3.2-TEE",
          date: "2026-06-11",
          totalRequests: 1843221,
          totalInputTokens: 21345678901,
          totalOutputTokens: 412345678,
          averageTps: 41.27,
          averageTtftSeconds: 1.934
        },
        {
          chuteId: "5f3c0a0e-1111-5222-8333-944455566677",
          name: "[private]",
          date: "2026-06-11",
          totalRequests: 12,
          totalInputTokens: 9001,
          totalOutputTokens: 400,
          averageTps: 0,
          averageTtftSeconds: 0
        }
      ])
      assert.strictEqual(fake.counters.stats, 1)
      assert.strictEqual(fake.counters.account, 0)
    }))

  it.scopedLive("public: no Authorization header is sent, even with a credential at hand", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      yield* withAccount(fake, (account) => account.llmStats())
      const request = fake.requests.find((r) => r.route === "stats")
      assert.strictEqual(request?.path, "/invocations/stats/llm")
      assert.isUndefined(request?.headers["authorization"])
    }))

  it.scopedLive("the fake's default rows: one per catalog model, today on the fake's clock", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ clockOffsetMillis: 2 * 86_400_000 })
      const rows = yield* withAccount(fake, (account) => account.llmStats())
      assert.isAbove(rows.length, 5)
      assert.isTrue(rows.some((row) => row.name === "Qwen/Qwen3-32B-TEE"))
      const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)
      assert.isTrue(rows.every((row) => row.date === day && row.averageTps > 0 && row.averageTtftSeconds > 0))
    }))

  it.scopedLive("its own size cap: a body over `maxBytes` is TooLarge; the default cap is 2 MiB", () =>
    Effect.gen(function*() {
      const row = { ...fixture[0], name: "x".repeat(200) }
      const fake = yield* FakeChutes.make({ account: { llmStats: Array.from({ length: 12_000 }, () => row) } })
      // ~4 MiB: over the default 2 MiB of llmStats, under the 8 MiB of every other route.
      const big = failure(yield* Effect.either(withAccount(fake, (account) => account.llmStats())))
      assert.strictEqual(big._tag, "AccountError")
      assert.strictEqual(big.reason, "TooLarge")
      assert.include(big.message, "size cap")
      assert.include(big.message, String(ChutesAccount.DEFAULT_LLM_STATS_MAX_BYTES))
      // A larger cap reads it; a tiny one refuses even the fixture.
      const rows = yield* withAccount(fake, (account) => account.llmStats({ maxBytes: 8 * 1024 * 1024 }))
      assert.strictEqual(rows.length, 12_000)
      fake.account.set({ llmStats: fixture })
      const small = failure(yield* Effect.either(withAccount(fake, (account) => account.llmStats({ maxBytes: 100 }))))
      assert.strictEqual(small.reason, "TooLarge")
    }))

  it.scopedLive("the stats cap does not depend on maxResponseBytes, nor the account routes on the stats cap", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { llmStats: fixture } })
      const rows = yield* withAccount(fake, (account) => account.llmStats(), { maxResponseBytes: 64 })
      assert.strictEqual(rows.length, 2)
      const me = failure(yield* Effect.either(withAccount(fake, (account) => account.me, { maxResponseBytes: 64 })))
      assert.strictEqual(me.reason, "TooLarge")
    }))

  it.scopedLive("errors: another shape is Decode; 401 on the public route is a plain HttpStatus; retried when transient", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { llmStats: { rows: [] } } })
      const decode = failure(yield* Effect.either(withAccount(fake, (account) => account.llmStats())))
      assert.strictEqual(decode.reason, "Decode")
      fake.fault({ _tag: "Status", route: "stats", status: 401, times: 1 })
      const denied = failure(yield* Effect.either(withAccount(fake, (account) => account.llmStats())))
      assert.deepStrictEqual([denied.reason, (denied as unknown as { status: number }).status], ["HttpStatus", 401])
      assert.strictEqual(fake.counters.models, 0, "no /v1/models probe for a public route")
      fake.account.set({ llmStats: fixture })
      fake.fault({ _tag: "Status", route: "stats", status: 503, times: 1 })
      const rows = yield* withAccount(fake, (account) => account.llmStats(), {
        retry: { maxRetries: 2, baseDelay: "1 millis", maxDelay: "5 millis" }
      })
      assert.strictEqual(rows.length, 2)
    }))

  it.effect("layerTest answers the given rows", () =>
    Effect.gen(function*() {
      const account = yield* ChutesAccount.ChutesAccount
      assert.deepStrictEqual(yield* account.llmStats(), [])
    }).pipe(Effect.provide(ChutesAccount.layerTest())))
})
