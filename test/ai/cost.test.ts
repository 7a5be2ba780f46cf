/**
 * What a call cost (issue 16, point 2): the `chutes` metadata of the finish part of `generateText` and `streamText`
 * answers — tokens, list-price USD (cached input at `input_cache_read`), price source, quota covered or charged, the
 * quota and rate-limit headers — and the same figures in the metrics and on the span. Over loopback against
 * FakeChutes (whose account charges the same list price), and over a scripted transport for headers it always sends.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as Cost from "../../src/ai/internal/cost.js"
import { DiscoveryError } from "../../src/ChutesError.js"
import * as ChutesProvider from "../../src/ChutesProvider.js"
import * as ModelCatalog from "../../src/ModelCatalog.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { json, scriptedClient } from "../support/http.js"
import { recordingTracer } from "../support/tracer.js"
import { collect, modelLayer } from "./harness.js"

const MODEL = "zai-org/GLM-5-TEE"
/** Its prices in the fake's catalog (the 2026-06-11 capture), USD per 1M tokens. */
const PRICE = { input: 0.95, output: 2.55, cacheRead: 0.475 }
const USAGE = { prompt_tokens: 1000, completion_tokens: 200, prompt_tokens_details: { cached_tokens: 400 } }
/** 600 uncached × 0.95 + 400 cached × 0.475 + 200 out × 2.55, per 1M. */
const USD = (600 * 0.95 + 400 * 0.475 + 200 * 2.55) / 1_000_000

const close = (actual: number | undefined, expected: number, what: string) => {
  assert.isDefined(actual, what)
  assert.approximately(actual!, expected, 1e-12, what)
}

const counterValue = (metric: Metric.Metric.Counter<number>, tags: Record<string, string>) => {
  let tagged = metric
  for (const [key, value] of Object.entries(tags)) tagged = Metric.tagged(tagged, key, value)
  return Effect.map(Metric.value(tagged), (state) => state.count)
}


describe("the cost arithmetic", () => {
  it("divides by a million, as the service does: the same number, not one off in its last digits", () => {
    const definition = { ...ModelCatalog.STATIC_MODELS[0]!, cost: { input: 0.75, output: 2.25 } }
    const target = { input: "m", id: definition.id, ref: `chutes/${definition.id}`, definition }
    const facts = { invocationId: undefined, quota: undefined, rateLimitPerMinute: undefined, chuteRateLimitPerMinute: undefined }
    const cost = Cost.callCost({ inputTokens: 1200, outputTokens: 150, totalTokens: 1350 }, target, "live", facts)
    // 1200 × 0.75 + 150 × 2.25 = 1237.5; × (1 / 1e6) gives 0.0012374999999999999.
    assert.strictEqual(cost.usd, 0.0012375)
    assert.strictEqual(cost.chargedUsd, 0.0012375)
  })
})

describe("the cost of a call", () => {
  it.scopedLive("generateText: tokens, list price with cached input at input_cache_read, live prices, charged", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.account.set({ balance: 10 })
      fake.chat.script({ content: "Hi", usage: USAGE })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(modelLayer(fake)))
      const cost = ChutesLanguageModel.callCost(response)
      assert.isDefined(cost)
      assert.strictEqual(cost!.model, MODEL)
      assert.strictEqual(cost!.inputTokens, 1000)
      assert.strictEqual(cost!.cachedInputTokens, 400)
      assert.strictEqual(cost!.outputTokens, 200)
      assert.deepStrictEqual(cost!.pricing, PRICE)
      assert.strictEqual(cost!.priceSource, "live")
      close(cost!.usd, USD, "usd")
      // The default account has a daily quota of 0: no quota headers, nothing covered, the balance pays.
      assert.isUndefined(cost!.quota)
      assert.isFalse(cost!.quotaCovered)
      close(cost!.chargedUsd, USD, "charged")
      assert.strictEqual(cost!.rateLimitPerMinute, 60)
      assert.match(cost!.invocationId ?? "", /^[0-9a-f-]{36}$/)
      assert.strictEqual(cost!.invocationId, ChutesLanguageModel.responseInfo(response)?.invocationId)
      // The fake's account charged the same list price.
      close(10 - (fake.account.current.balance ?? 0), USD, "what the fake charged")
    }))

  it.scopedLive("the daily quota covers calls while used < total (charged 0), then the balance pays", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.account.set({ balance: 5, quotaUsage: { me: { quota: 2, used: 1 } } })
      fake.chat.setDefaultReply({ content: "Hi", usage: USAGE })
      const layer = modelLayer(fake)
      const call = LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.map((response) => ChutesLanguageModel.callCost(response)!)
      )
      const [covered, charged] = yield* Effect.all([call, call]).pipe(Effect.provide(layer))
      assert.deepStrictEqual(covered.quota, { total: 2, used: 1, remaining: 1 })
      assert.isTrue(covered.quotaCovered)
      assert.strictEqual(covered.chargedUsd, 0)
      close(covered.usd, USD, "a covered call still has its list-price value")
      assert.deepStrictEqual(charged.quota, { total: 2, used: 2, remaining: 0 })
      assert.isFalse(charged.quotaCovered)
      close(charged.chargedUsd, USD, "charged")
      close(5 - (fake.account.current.balance ?? 0), USD, "the fake charged the second call only")
    }))

  it.scopedLive("streamText: the same figures on the finish part only", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.account.set({ quotaUsage: { me: { quota: 300, used: 17 } } })
      fake.chat.script({ content: "A streamed answer of several chunks", usage: USAGE, stream: { deltaChars: 3 } })
      const parts = yield* collect({ prompt: "Hi" }).pipe(Effect.provide(modelLayer(fake)))
      const withCost = parts.filter((part) => "metadata" in part && (part.metadata as any)?.chutes?.usd !== undefined)
      assert.deepStrictEqual(withCost.map((part) => part.type), ["finish"])
      const cost = ChutesLanguageModel.callCost(parts)!
      assert.strictEqual(cost.cachedInputTokens, 400)
      close(cost.usd, USD, "usd")
      assert.deepStrictEqual(cost.quota, { total: 300, used: 17, remaining: 283 })
      assert.isTrue(cost.quotaCovered)
      assert.strictEqual(cost.chargedUsd, 0)
    }))

  it.scopedLive("rate-limit headers: inf is unlimited, the per-chute limit when sent", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.script({ content: "Hi", headers: { "x-chutes-rl-user": "inf", "x-chutes-rl-chute": "120" } })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(modelLayer(fake)))
      const cost = ChutesLanguageModel.callCost(response)!
      assert.strictEqual(cost.rateLimitPerMinute, "unlimited")
      assert.strictEqual(cost.chuteRateLimitPerMinute, 120)
    }))

  it.effect("no Chutes headers at all, no usage, a model without prices: every field says so", () =>
    Effect.gen(function*() {
      const { client } = scriptedClient([
        json(200, {
          id: "c1",
          model: "someone/unpriced-model",
          choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop" }]
        })
      ])
      const layer = ChutesLanguageModel.layer({ model: "someone/unpriced-model" }).pipe(
        Layer.provide(ChutesProvider.layerTest({ httpClient: client })),
        Layer.orDie,
        Layer.merge(Logger.minimumLogLevel(LogLevel.Error))
      )
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(layer))
      const cost = ChutesLanguageModel.callCost(response)!
      assert.deepStrictEqual(cost, {
        model: "someone/unpriced-model",
        invocationId: undefined,
        inputTokens: undefined,
        cachedInputTokens: undefined,
        outputTokens: undefined,
        usd: undefined,
        priceSource: "none",
        pricing: undefined,
        quotaCovered: false,
        chargedUsd: undefined,
        quota: undefined,
        rateLimitPerMinute: undefined,
        chuteRateLimitPerMinute: undefined
      })
    }))

  it.effect("static prices: priceSource static, and a usage without cached tokens", () =>
    Effect.gen(function*() {
      const { client } = scriptedClient([
        json(200, {
          id: "c1",
          model: "deepseek-ai/DeepSeek-V3.2-TEE",
          choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop" }],
          usage: { prompt_tokens: 3000, completion_tokens: 1000, total_tokens: 4000 }
        }, { "x-chutes-quota-total": "200", "x-chutes-quota-used": "200", "x-chutes-quota-remaining": "0" })
      ])
      // Discovery is down: the provider falls back to the built-in catalog.
      const outage = new DiscoveryError({ reason: "HttpStatus", url: "http://x/v1/models", status: 503, detail: "x" })
      const layer = ChutesLanguageModel.layer({ model: "deepseek-ai/DeepSeek-V3.2-TEE" }).pipe(
        Layer.provide(ChutesProvider.layerTest({ httpClient: client, models: outage })),
        Layer.orDie,
        Layer.merge(Logger.minimumLogLevel(LogLevel.Error))
      )
      const cost = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.map((response) => ChutesLanguageModel.callCost(response)!),
        Effect.provide(layer)
      )
      assert.strictEqual(cost.priceSource, "static")
      assert.strictEqual(cost.cachedInputTokens, 0)
      close(cost.usd, (3000 * 1 + 1000 * 1) / 1_000_000, "static DeepSeek-V3.2 prices: $1 / $1 per 1M")
      assert.isFalse(cost.quotaCovered, "used 200 of 200 before this call")
      close(cost.chargedUsd, 0.004, "charged")
    }))
})

describe("metrics and span attributes", () => {
  it.scopedLive("tokens by model and kind, USD by model; chutes.* attributes on the call's span", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.account.set({ balance: 3, quotaUsage: { me: { quota: 1, used: 0 } } })
      fake.chat.setDefaultReply({ content: "Hi", usage: USAGE })
      const read = Effect.all({
        input: counterValue(ChutesLanguageModel.metrics.tokens, { model: MODEL, kind: "input" }),
        cached: counterValue(ChutesLanguageModel.metrics.tokens, { model: MODEL, kind: "cached_input" }),
        output: counterValue(ChutesLanguageModel.metrics.tokens, { model: MODEL, kind: "output" }),
        usd: counterValue(ChutesLanguageModel.metrics.costUsd, { model: MODEL }),
        charged: counterValue(ChutesLanguageModel.metrics.chargedUsd, { model: MODEL })
      })
      const before = yield* read
      const { spans, tracer } = recordingTracer()
      const layer = modelLayer(fake)
      // One covered completion, one charged stream.
      yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
      yield* collect({ prompt: "Hi" }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
      const after = yield* read
      assert.strictEqual(after.input - before.input, 2000)
      assert.strictEqual(after.cached - before.cached, 800)
      assert.strictEqual(after.output - before.output, 400)
      close(after.usd - before.usd, 2 * USD, "usd")
      close(after.charged - before.charged, USD, "charged: the stream only")

      const text = spans.find((span) => span.name === "LanguageModel.generateText")
      assert.isDefined(text)
      close(text!.attributes.get("chutes.cost.usd") as number, USD, "chutes.cost.usd")
      assert.strictEqual(text!.attributes.get("chutes.cost.charged_usd"), 0)
      assert.strictEqual(text!.attributes.get("chutes.quota.covered"), true)
      assert.strictEqual(text!.attributes.get("chutes.usage.cached_input_tokens"), 400)
      assert.strictEqual(text!.attributes.get("chutes.cost.price_source"), "live")
      assert.strictEqual(text!.attributes.get("chutes.quota.total"), 1)
      assert.strictEqual(text!.attributes.get("chutes.rate_limit.per_minute"), 60)
      const stream = spans.find((span) => span.name === "LanguageModel.streamText")
      assert.isDefined(stream)
      assert.strictEqual(stream!.attributes.get("chutes.quota.covered"), false)
      close(stream!.attributes.get("chutes.cost.charged_usd") as number, USD, "chutes.cost.charged_usd")
    }))

  it.scopedLive("a call's span is @effect/ai's: the SDK's steps are its children, with no second span around them", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.setDefaultReply({ content: "Hi", usage: USAGE })
      const { spans, tracer } = recordingTracer()
      // One provider for the first three calls: the first fetches the catalog, the others find it in memory; a fresh
      // one for the last, a stream that fetches.
      const context = yield* Layer.build(modelLayer(fake))
      const fresh = yield* Layer.build(modelLayer(fake))
      const generate = Effect.asVoid(LanguageModel.generateText({ prompt: "Hi" }))
      const stream = Effect.asVoid(collect({ prompt: "Hi" }))
      const calls = [
        ["LanguageModel.generateText", Effect.provide(generate, context)],
        ["LanguageModel.generateText", Effect.provide(generate, context)],
        ["LanguageModel.streamText", Effect.provide(stream, context)],
        ["LanguageModel.streamText", Effect.provide(stream, fresh)]
      ] as const
      const children: Array<ReadonlyArray<string>> = []
      for (const [name, call] of calls) {
        yield* Effect.withTracer(call, tracer)
        const span = spans.filter((s) => s.name === name).pop()
        assert.isDefined(span, name)
        assert.strictEqual(span!.attributes.get("gen_ai.request.model"), MODEL, `${name}: gen_ai attributes`)
        const names = spans.filter((s) => s.parentId === span!.spanId).map((s) => s.name)
        assert.isTrue(names.some((n) => n.startsWith("http.client")), `${name}: the request (${names})`)
        children.push(names.filter((n) => !n.startsWith("http.client")))
      }
      assert.deepStrictEqual(spans.filter((span) => span.name.startsWith("ChutesLanguageModel.")), [])
      // The catalog reads that fetched have their span, with the fetch inside, and so does the model's resolution
      // against that catalog; the reads the memory answered have none (a name is resolved once per catalog).
      const fetched = ["ChutesProvider.catalog", "ChutesProvider.resolve"]
      assert.deepStrictEqual(children, [fetched, [], [], fetched])
      const catalog = spans.find((s) => s.name === "ChutesProvider.catalog")
      assert.include(spans.filter((s) => s.parentId === catalog!.spanId).map((s) => s.name), "ModelDiscovery.fetch")
    }))
})

describe("usage numbers that are not token counts", () => {
  it.scopedLive("negative, fractional or huge counts count as unreported: no NaN, Infinity or negative cost, metric or budget", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const odd = [
        { prompt_tokens: 1e308, completion_tokens: 1e308 },
        { prompt_tokens: 1_000_000, completion_tokens: -999_000 },
        { prompt_tokens: 1000, completion_tokens: 10.5, prompt_tokens_details: { cached_tokens: -500 } }
      ]
      const before = yield* counterValue(ChutesLanguageModel.metrics.costUsd, { model: MODEL })
      for (const usage of odd) {
        // (The fake charges its own account by the usage it sends: refilled for each call.)
        fake.account.set({ balance: 10 })
        fake.chat.script({ content: "Hi", usage })
        const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(modelLayer(fake)))
        const cost = ChutesLanguageModel.callCost(response)!
        for (const value of [cost.inputTokens, cost.outputTokens, cost.cachedInputTokens, cost.usd, cost.chargedUsd]) {
          assert.isTrue(value === undefined || (Number.isFinite(value) && value >= 0), `${JSON.stringify(usage)}: ${value}`)
        }
        assert.isUndefined(cost.usd, `${JSON.stringify(usage)}: no price without both counts`)
      }
      // The last one keeps its good count; the negative cached count is dropped, not subtracted.
      fake.account.set({ balance: 10 })
      fake.chat.script({ content: "Hi", usage: { prompt_tokens: 1000, completion_tokens: 200, prompt_tokens_details: { cached_tokens: -500 } } })
      const last = ChutesLanguageModel.callCost(
        yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(modelLayer(fake)))
      )!
      assert.strictEqual(last.cachedInputTokens, 0)
      close(last.usd, (1000 * 0.95 + 200 * 2.55) / 1_000_000, "usd")
      const after = yield* counterValue(ChutesLanguageModel.metrics.costUsd, { model: MODEL })
      assert.isTrue(Number.isFinite(after) && after - before > 0 && after - before < 0.01, `${before} -> ${after}`)
    }))
})
