/**
 * The provider over real loopback HTTP (undici) against FakeChutes.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as NodeChutes from "../src/node/NodeChutes.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import * as Capture from "./support/capture.js"

const providerFor = (
  fake: FakeChutes.FakeChutesServer,
  options: { readonly apiKey?: string; readonly retries?: number } = {}
) =>
  NodeChutes.layer({
    credential: { apiKey: Redacted.make(options.apiKey ?? fake.apiKey) },
    settings: {
      baseUrl: fake.baseUrl,
      diskCachePath: false,
      retry: { maxRetries: options.retries ?? 3, baseDelay: "5 millis", maxDelay: "20 millis" }
    }
  })

const withProvider = <A, E>(
  layer: Layer.Layer<ChutesProvider.ChutesProvider, unknown>,
  f: (provider: ChutesProvider.Service) => Effect.Effect<A, E>
) => Effect.flatMap(ChutesProvider.ChutesProvider, f).pipe(Effect.provide(layer))

describe("against FakeChutes over loopback", () => {
  it.scopedLive("discovers the real capture with the API key", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const logs = Capture.make()
      const snapshot = yield* withProvider(providerFor(fake), (p) => p.catalog).pipe(Effect.provide(Capture.layer(logs)))
      assert.strictEqual(snapshot.source, "live")
      assert.strictEqual(snapshot.models.length, FakeChutes.seedModels().length)
      // The 2026-06-11 capture lists neither the default model nor chutes-fast's target, nor their successors.
      assert.deepStrictEqual(snapshot.warnings.map((w) => w.kind), ["DefaultModelMissing", "AliasTargetMissing"])
      assert.strictEqual(fake.requests[0]?.headers["authorization"], `Bearer ${fake.apiKey}`)
    }))

  it.scopedLive("1,000 concurrent catalog calls on a cold cache -> exactly 1 request", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Delay", route: "models", millis: 50 })
      const snapshots = yield* withProvider(providerFor(fake), (p) =>
        Effect.all(Array.from({ length: 1000 }, () => p.catalog), { concurrency: "unbounded" }))
      assert.strictEqual(fake.counters.models, 1)
      assert.isTrue(snapshots.every((s) => s.source === "live"))
    }))

  it.scopedLive("an unknown key gets 401 -> Unauthorized, not retried, static fallback with the reason", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const snapshot = yield* withProvider(providerFor(fake, { apiKey: "cpk_unknown" }), (p) => p.catalog)
      assert.strictEqual(snapshot.source, "static")
      assert.strictEqual(snapshot.reason?._tag === "DiscoveryError" && snapshot.reason.reason, "Unauthorized")
      assert.strictEqual(fake.counters.models, 1)
      assert.notInclude(snapshot.reason?.message ?? "", "cpk_unknown")
    }))

  it.scopedLive("503 twice then success: retried with backoff", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Status", route: "models", status: 503, times: 2 })
      const snapshot = yield* withProvider(providerFor(fake), (p) => p.discover)
      assert.strictEqual(snapshot.source, "live")
      assert.strictEqual(fake.counters.models, 3)
    }))

  it.scopedLive("discovery is traced by one ModelDiscovery.fetch span: attempts, last status, retries as events", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Status", route: "models", status: 503, times: 2 })
      const capture = Capture.make()
      yield* withProvider(providerFor(fake), (p) => p.discover).pipe(Effect.provide(Capture.layer(capture)))
      const attribute = (name: string) =>
        capture.entries.find((entry) => entry.where === `span ModelDiscovery.fetch attribute ${name}`)?.text
      assert.strictEqual(attribute("chutes.attempts"), "chutes.attempts=3")
      assert.strictEqual(attribute("http.response.status_code"), "http.response.status_code=200")
      assert.strictEqual(attribute("chutes.url"), `chutes.url=${fake.baseUrl}/models`)
      const retries = capture.entries.filter((entry) =>
        entry.where === "span ModelDiscovery.fetch event" && entry.text.includes("retrying in")
      )
      assert.strictEqual(retries.length, 2)
      // No platform span per attempt, and no trace headers sent to the service.
      assert.isFalse(capture.entries.some((entry) => entry.where.startsWith("span http.client")))
      for (const request of fake.requests) {
        assert.isUndefined(request.headers["traceparent"])
        assert.isUndefined(request.headers["b3"])
      }
    }))

  it.scopedLive("a connection reset, an HTML page and malformed JSON are typed", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const cases = [
        [{ _tag: "Reset", route: "models" }, "Transport"],
        [{ _tag: "Html", route: "models", status: 502 }, "HttpStatus"],
        [{ _tag: "MalformedJson", route: "models" }, "Decode"]
      ] as const
      for (const [fault, reason] of cases) {
        fake.reset()
        fake.fault(fault)
        const error = yield* withProvider(providerFor(fake, { retries: 1 }), (p) => Effect.flip(p.discover))
        assert.strictEqual(error._tag === "DiscoveryError" && error.reason, reason, fault._tag)
      }
    }))
})

describe("built-in names against a live catalog like 2026-08-06", () => {
  const resolveAll = (provider: ChutesProvider.Service) =>
    Effect.all({
      defaultModel: provider.resolveDefault,
      vision: provider.resolve("chutes-vision"),
      visionAgain: provider.resolve("chutes-vision"),
      fast: provider.resolve("chutes-fast"),
      pro: provider.resolve("chutes-pro"),
      snapshot: provider.catalog
    })

  it.scopedLive("follow their successors, say so in the result, and warn once per fact", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ models: FakeChutes.capturedModels("2026-08-06") })
      const capture = Capture.make()
      const result = yield* withProvider(providerFor(fake), resolveAll).pipe(Effect.provide(Capture.layer(capture)))
      assert.strictEqual(result.snapshot.source, "live")
      assert.strictEqual(result.defaultModel.ref, "chutes/zai-org/GLM-5.2-TEE")
      assert.strictEqual(result.defaultModel.followed?.from, "chutes/zai-org/GLM-4.7-TEE")
      assert.strictEqual(result.vision.ref, "chutes/moonshotai/Kimi-K2.6-TEE")
      assert.strictEqual(result.fast.ref, "chutes/deepseek-ai/DeepSeek-V4-Flash-0731-TEE")
      assert.strictEqual(result.pro.ref, "chutes/deepseek-ai/DeepSeek-V3.2-TEE")
      assert.strictEqual(result.pro.followed, undefined)
      // The live catalog's own warnings no longer complain about built-ins that followed.
      assert.deepStrictEqual(result.snapshot.warnings, [])
      const logs = capture.entries.filter((entry) => entry.where.startsWith("message")).map((entry) => entry.text)
      assert.strictEqual(logs.filter((line) => line.includes("chutes-vision:")).length, 1)
      assert.strictEqual(logs.filter((line) => line.includes("default model:")).length, 1)
    }))

  it.scopedLive("keep their documented targets with followSuccessors: false (and the catalog warns)", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ models: FakeChutes.capturedModels("2026-08-06") })
      const layer = NodeChutes.layer({
        credential: { apiKey: Redacted.make(fake.apiKey) },
        settings: { baseUrl: fake.baseUrl, diskCachePath: false, followSuccessors: false }
      })
      const result = yield* withProvider(layer, resolveAll)
      assert.strictEqual(result.defaultModel.ref, "chutes/zai-org/GLM-4.7-TEE")
      assert.isFalse(result.defaultModel.known)
      assert.strictEqual(result.vision.ref, "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506")
      assert.deepStrictEqual(
        result.snapshot.warnings.map((warning) => [warning.kind, warning.ref]),
        [
          ["DefaultModelMissing", "chutes/zai-org/GLM-4.7-TEE"],
          ["AliasTargetMissing", "chutes/zai-org/GLM-4.7-FP8"],
          ["AliasTargetMissing", "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506"]
        ]
      )
      assert.include(result.snapshot.warnings[0]!.message, "its successor: chutes/zai-org/GLM-5.2-TEE")
    }))

  it.scopedLive("a default model a user chose is passed through, and its warning names the replacement", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ models: FakeChutes.capturedModels("2026-08-06") })
      const layer = NodeChutes.layer({
        credential: { apiKey: Redacted.make(fake.apiKey) },
        defaultModel: "chutes/zai-org/GLM-5-TEE",
        settings: { baseUrl: fake.baseUrl, diskCachePath: false }
      })
      const result = yield* withProvider(layer, resolveAll)
      assert.strictEqual(result.defaultModel.ref, "chutes/zai-org/GLM-5-TEE")
      assert.strictEqual(result.defaultModel.followed, undefined)
      assert.include(result.snapshot.warnings[0]!.message, "its successor: chutes/zai-org/GLM-5.1-TEE")
    }))
})
