import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as CatalogCache from "../src/CatalogCache.js"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import { CredentialsError, DiscoveryError } from "../src/ChutesError.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as ModelDiscovery from "../src/ModelDiscovery.js"
import { capture, json, type Scripted, scriptedClient } from "./support/http.js"
import * as Capture from "./support/capture.js"
import { portableFiles } from "./support/nodeFiles.js"
import { recordingTracer } from "./support/tracer.js"

const BASE = "http://chutes.test/v1"
const apiKey = ChutesCredentials.make({ kind: "api_key", source: "test", secret: "cpk_provider_test_key_0001" })
const liveModels: ReadonlyArray<ModelCatalog.ModelDefinition> = [
  { id: "zai-org/GLM-5-TEE", name: "zai-org/GLM-5-TEE", contextWindow: 202752, input: ["text"], reasoning: true }
]
const outage = new DiscoveryError({ reason: "HttpStatus", url: `${BASE}/models`, status: 503, detail: "No instances" })

/** A provider over a scripted HTTP client, with the real discovery and an in-memory disk cache. */
const providerOver = (
  script: ReadonlyArray<Scripted>,
  options: {
    readonly settings?: ChutesSettings.Options
    readonly cache?: Layer.Layer<CatalogCache.CatalogCache>
    readonly credentials?: Layer.Layer<ChutesCredentials.ChutesCredentials>
  } = {}
) => {
  const scripted = scriptedClient(script)
  const layer = ChutesProvider.layerWithoutDependencies().pipe(
    Layer.provide(Layer.mergeAll(
      ModelDiscovery.layer,
      options.credentials ?? ChutesCredentials.layerStatic(apiKey),
      options.cache ?? CatalogCache.layerMemory()
    )),
    Layer.provide(Layer.mergeAll(
      ChutesSettings.layer({ baseUrl: BASE, ...options.settings }),
      Layer.succeed(HttpClient.HttpClient, scripted.client)
    ))
  )
  return { layer, requests: scripted.requests }
}

describe("fallback order: live -> disk cache -> static", () => {
  it.effect("live when discovery works", () =>
    Effect.gen(function*() {
      const provider = yield* ChutesProvider.ChutesProvider
      const snapshot = yield* provider.catalog
      assert.strictEqual(snapshot.source, "live")
      assert.isUndefined(snapshot.reason)
      assert.deepStrictEqual(snapshot.models, liveModels)
      assert.isNumber(snapshot.fetchedAt)
    }).pipe(Effect.provide(ChutesProvider.layerTest({ models: liveModels }))))

  it.effect("the disk cache, with the reason, when discovery fails", () =>
    Effect.gen(function*() {
      const provider = yield* ChutesProvider.ChutesProvider
      const snapshot = yield* provider.catalog
      assert.strictEqual(snapshot.source, "cache")
      assert.strictEqual(snapshot.fetchedAt, 0)
      assert.deepStrictEqual(snapshot.models, liveModels)
      assert.strictEqual(snapshot.reason, outage)
      const error = yield* Effect.flip(provider.discover)
      assert.strictEqual(Cause.originalError(error), outage, "discover has no fallback")
    }).pipe(Effect.provide(ChutesProvider.layerTest({
      models: outage,
      settings: { baseUrl: BASE },
      diskCache: { version: 1, baseUrl: BASE, fetchedAt: 0, models: liveModels }
    }))))

  it.effect("static, with the reason, when the disk cache is too old", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust(Duration.days(8))
      const snapshot = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog)
      assert.strictEqual(snapshot.source, "static")
      assert.strictEqual(snapshot.reason, outage)
      assert.deepStrictEqual(snapshot.models, ModelCatalog.STATIC_MODELS)
    }).pipe(Effect.provide(ChutesProvider.layerTest({
      models: outage,
      settings: { baseUrl: BASE },
      diskCache: { version: 1, baseUrl: BASE, fetchedAt: 0, models: liveModels }
    }))))

  it.effect("static, with the reason, when the cache is for another base URL or absent", () =>
    Effect.gen(function*() {
      const snapshot = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog)
      assert.strictEqual(snapshot.source, "static")
      assert.strictEqual(snapshot.reason, outage)
    }).pipe(Effect.provide(ChutesProvider.layerTest({
      models: outage,
      settings: { baseUrl: BASE },
      diskCache: { version: 1, baseUrl: "http://elsewhere/v1", fetchedAt: 0, models: liveModels }
    }))))

  it.effect("static with reason Missing when there is no credential; live when anonymous discovery is on", () =>
    Effect.gen(function*() {
      const none = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(
        Effect.provide(ChutesProvider.layerTest({ models: liveModels, credential: null }))
      )
      assert.strictEqual(none.source, "static")
      assert.instanceOf(none.reason, CredentialsError)
      assert.strictEqual(none.reason?._tag === "CredentialsError" && none.reason.reason, "Missing")
      const anonymous = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(
        Effect.provide(ChutesProvider.layerTest({ models: liveModels, credential: null, settings: { anonymousDiscovery: true } }))
      )
      assert.strictEqual(anonymous.source, "live")
    }))
})

describe("credential failures fall back like discovery failures", () => {
  it.effect("a refresh that failed -> the disk cache, with the CredentialsError as the reason", () =>
    Effect.gen(function*() {
      const failed = new CredentialsError({ reason: "RefreshFailed", profileId: "chutes:alice" })
      const layer = ChutesProvider.layerWithoutDependencies().pipe(
        Layer.provide(Layer.mergeAll(
          Layer.succeed(ChutesCredentials.ChutesCredentials, { get: Effect.fail(failed), forceRefresh: () => Effect.succeedNone }),
          ModelDiscovery.layerStatic(liveModels),
          CatalogCache.layerMemory({ version: 1, baseUrl: BASE, fetchedAt: 0, models: liveModels }),
          ChutesSettings.layer({ baseUrl: BASE }),
          Layer.succeed(HttpClient.HttpClient, scriptedClient([json(200, {})]).client)
        ))
      )
      const snapshot = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(Effect.provide(layer))
      assert.strictEqual(snapshot.source, "cache")
      assert.strictEqual(snapshot.reason?._tag === "CredentialsError" && snapshot.reason.reason, "RefreshFailed")
    }))
})

describe("the disk cache", () => {
  it.live("survives a new provider instance, as a real 0600 file", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "chutes-cache-"))
      const diskCachePath = join(dir, "state", "models-cache.json")
      const fileCache = CatalogCache.layerFile.pipe(
        Layer.provide(Layer.mergeAll(portableFiles, ChutesSettings.layer({ baseUrl: BASE, diskCachePath })))
      )
      const first = providerOver([json(200, capture)], { cache: fileCache })
      // The capture lacks the successors of two built-in names: their notes (and the fallback's) are kept, not printed.
      const logs = Capture.make()
      const live = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(
        Effect.provide(first.layer),
        Effect.provide(Capture.layer(logs))
      )
      assert.strictEqual(live.source, "live")
      assert.strictEqual(statSync(diskCachePath).mode & 0o777, 0o600)
      assert.strictEqual(statSync(join(dir, "state")).mode & 0o777, 0o700)
      assert.strictEqual(JSON.parse(readFileSync(diskCachePath, "utf8")).models.length, capture.data.length)

      const second = providerOver([json(404, { detail: "Not Found" })], { cache: fileCache })
      const cached = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(
        Effect.provide(second.layer),
        Effect.provide(Capture.layer(logs))
      )
      assert.strictEqual(cached.source, "cache")
      assert.strictEqual(cached.fetchedAt, live.fetchedAt)
      assert.deepStrictEqual(cached.models, live.models)
      assert.strictEqual(cached.reason?._tag === "DiscoveryError" && cached.reason.status, 404)
    }))

  it.live("treats a corrupt cache file as no cache", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "chutes-cache-"))
      const diskCachePath = join(dir, "models-cache.json")
      yield* Effect.promise(() => import("node:fs/promises").then((fs) => fs.writeFile(diskCachePath, "{ not json")))
      const cache = CatalogCache.layerFile.pipe(
        Layer.provide(Layer.mergeAll(portableFiles, ChutesSettings.layer({ baseUrl: BASE, diskCachePath })))
      )
      const { layer } = providerOver([json(500, { detail: "boom" })], { cache, settings: { retry: { maxRetries: 0 } } })
      const snapshot = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(Effect.provide(layer))
      assert.strictEqual(snapshot.source, "static")
    }))
})

describe("a cache file that cannot be trusted is not used", () => {
  const fileCacheWith = (content: unknown) => {
    const dir = mkdtempSync(join(tmpdir(), "chutes-cache-"))
    const diskCachePath = join(dir, "models-cache.json")
    writeFileSync(diskCachePath, JSON.stringify(content), { mode: 0o600 })
    return CatalogCache.layerFile.pipe(
      Layer.provide(Layer.mergeAll(portableFiles, ChutesSettings.layer({ baseUrl: BASE, diskCachePath })))
    )
  }
  const catalogOver = (cache: Layer.Layer<CatalogCache.CatalogCache>, logs: Capture.Capture) => {
    const { layer } = providerOver([json(503, { detail: "No instances" })], { cache, settings: { retry: { maxRetries: 0 } } })
    return Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(
      Effect.provide(layer),
      Effect.provide(Capture.layer(logs))
    )
  }
  const warnings = (logs: Capture.Capture) =>
    logs.entries.filter((e) => e.where === "message WARN" && e.text.includes("model catalog cache is not used"))

  it.live("a time past what a Date holds, or an empty list: static, with a warning (no crash describing it)", () =>
    Effect.gen(function*() {
      for (const bad of [{ fetchedAt: 9e15, models: liveModels }, { fetchedAt: Date.now(), models: [] }]) {
        const logs = Capture.make()
        const snapshot = yield* catalogOver(fileCacheWith({ version: 1, baseUrl: BASE, ...bad }), logs)
        assert.strictEqual(snapshot.source, "static")
        assert.strictEqual(snapshot.reason?._tag === "DiscoveryError" && snapshot.reason.status, 503)
        assert.strictEqual(warnings(logs).length, 1, JSON.stringify(logs.entries))
      }
      const good = Capture.make()
      const cached = yield* catalogOver(fileCacheWith({ version: 1, baseUrl: BASE, fetchedAt: Date.now(), models: liveModels }), good)
      assert.strictEqual(cached.source, "cache")
      assert.deepStrictEqual(warnings(good), [])
    }))

  it.effect("a cache dated in the future (beyond a few minutes of clock skew) is not used; within them it is", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 11, 6))
      const now = Date.UTC(2026, 11, 6)
      const at = (fetchedAt: number) =>
        Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(
          Effect.provide(ChutesProvider.layerTest({
            models: outage,
            settings: { baseUrl: BASE },
            diskCache: { version: 1, baseUrl: BASE, fetchedAt, models: liveModels }
          }))
        )
      assert.strictEqual((yield* at(Date.UTC(2100, 0, 1))).source, "static")
      assert.strictEqual((yield* at(now + 60 * 60 * 1000)).source, "static")
      assert.strictEqual((yield* at(now + 60 * 1000)).source, "cache")
      assert.strictEqual((yield* at(now - 60 * 1000)).source, "cache")
    }))

  it.live("saving: a catalog the reader would refuse is not written, with a warning; a fractional time is kept", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "chutes-cache-"))
      const diskCachePath = join(dir, "models-cache.json")
      const layer = CatalogCache.layerFile.pipe(
        Layer.provide(Layer.mergeAll(portableFiles, ChutesSettings.layer({ baseUrl: BASE, diskCachePath })))
      )
      const logs = Capture.make()
      const save = (catalog: CatalogCache.CachedCatalog) =>
        Effect.flatMap(CatalogCache.CatalogCache, (cache) => cache.save(catalog)).pipe(
          Effect.provide(layer),
          Effect.provide(Capture.layer(logs))
        )
      yield* save({ version: 1, baseUrl: BASE, fetchedAt: Date.now(), models: [] })
      assert.isFalse(existsSync(diskCachePath))
      assert.isTrue(
        logs.entries.some((e) => e.where === "message WARN" && e.text.startsWith("the model catalog cache is not saved: models")),
        JSON.stringify(logs.entries)
      )
      yield* save({ version: 1, baseUrl: BASE, fetchedAt: 1_796_530_826_235.5, models: liveModels })
      assert.strictEqual(JSON.parse(readFileSync(diskCachePath, "utf8")).fetchedAt, 1_796_530_826_235.5)
    }))

  it("describing a snapshot with an impossible time says so instead of throwing", () => {
    const text = ModelCatalog.describeSource({ ...ModelCatalog.staticSnapshot(), source: "cache", fetchedAt: 9e15 })
    assert.include(text, "fetched at an impossible time (9000000000000000 ms)")
  })
})

describe("the in-memory cache", () => {
  it.effect("1,000 concurrent calls on a cold cache make one request", () =>
    Effect.gen(function*() {
      const { layer, requests } = providerOver([json(200, capture)])
      const snapshots = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (provider) =>
        Effect.all(Array.from({ length: 1000 }, () => provider.catalog), { concurrency: "unbounded" })).pipe(
          Effect.provide(layer)
        )
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(new Set(snapshots).size, 1, "every caller gets the same snapshot")
    }))

  it.effect("serves from memory for the TTL, then makes exactly one more request", () =>
    Effect.gen(function*() {
      const { layer, requests } = providerOver([json(200, capture)])
      yield* Effect.gen(function*() {
        const provider = yield* ChutesProvider.ChutesProvider
        yield* provider.catalog
        yield* TestClock.adjust(Duration.minutes(4))
        yield* Effect.all(Array.from({ length: 50 }, () => provider.catalog), { concurrency: "unbounded" })
        assert.strictEqual(requests.length, 1)
        yield* TestClock.adjust(Duration.minutes(1))
        yield* Effect.all(Array.from({ length: 50 }, () => provider.catalog), { concurrency: "unbounded" })
        assert.strictEqual(requests.length, 2)
        yield* provider.refresh
        assert.strictEqual(requests.length, 3, "refresh skips the cache")
      }).pipe(Effect.provide(layer))
    }))

  it.effect("remembers a failure only for the negative TTL", () =>
    Effect.gen(function*() {
      const { layer, requests } = providerOver([json(401, { detail: "Invalid token" }), json(200, capture)])
      yield* Effect.gen(function*() {
        const provider = yield* ChutesProvider.ChutesProvider
        const first = yield* provider.catalog
        assert.strictEqual(first.source, "static")
        assert.strictEqual(first.reason?._tag === "DiscoveryError" && first.reason.reason, "Unauthorized")
        yield* TestClock.adjust(Duration.seconds(29))
        assert.strictEqual((yield* provider.catalog).source, "static")
        assert.strictEqual(requests.length, 1)
        yield* TestClock.adjust(Duration.seconds(1))
        assert.strictEqual((yield* provider.catalog).source, "live")
        assert.strictEqual(requests.length, 2)
      }).pipe(Effect.provide(layer))
    }))

  it.effect("a span for a catalog read with work to do (a fetch, a fallback), none for one the memory answers", () =>
    Effect.gen(function*() {
      const { layer, requests } = providerOver([json(200, capture), json(401, { detail: "Invalid token" })])
      const { spans, tracer } = recordingTracer()
      const catalogSpans = () => spans.filter((span) => span.name === "ChutesProvider.catalog").length
      yield* Effect.gen(function*() {
        const provider = yield* ChutesProvider.ChutesProvider
        const first = yield* provider.catalog
        assert.deepStrictEqual([first.source, catalogSpans(), requests.length], ["live", 1, 1], "the fetch")
        const kept = yield* provider.catalog
        assert.strictEqual(kept, first, "the same snapshot, from memory")
        assert.strictEqual(catalogSpans(), 1, "no span for the memory's answer")
        yield* TestClock.adjust(Duration.minutes(5))
        const after = yield* provider.catalog
        assert.deepStrictEqual([after.source !== "live", catalogSpans(), requests.length], [true, 2, 2], "expired: a fetch")
        assert.strictEqual(after.reason?._tag === "DiscoveryError" && after.reason.reason, "Unauthorized", "a fallback")
        assert.include(
          spans.filter((span) => span.parentId === spans.filter((s) => s.name === "ChutesProvider.catalog").pop()!.spanId)
            .map((span) => span.name),
          "ModelDiscovery.fetch"
        )
        yield* provider.catalog
        assert.strictEqual(catalogSpans(), 2, "the failure's fallback is kept for the negative TTL, without a span")
      }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
    }))

  it.effect("the credential is read once a catalog read: from memory, a fetch, none, a read that fails", () =>
    Effect.gen(function*() {
      /** Credentials whose `get` counts its reads and answers with `answer()`. */
      const counting = (answer: () => Effect.Effect<Option.Option<ChutesCredentials.Credential>, CredentialsError>) => {
        const counter = { reads: 0 }
        const layer = Layer.succeed(ChutesCredentials.ChutesCredentials, {
          get: Effect.suspend(() => {
            counter.reads += 1
            return answer()
          }),
          forceRefresh: () => Effect.succeed(Option.none())
        })
        return { counter, layer }
      }
      const cases = [
        { answer: () => Effect.succeed(Option.some(apiKey)), source: "live" },
        { answer: () => Effect.succeed(Option.none()), source: "static" },
        { answer: () => Effect.fail(new CredentialsError({ reason: "RefreshFailed", detail: "idp down" })), source: "static" }
      ] as const
      for (const { answer, source } of cases) {
        const { counter, layer: credentials } = counting(answer)
        const { layer } = providerOver([json(200, capture)], { credentials })
        const { spans, tracer } = recordingTracer()
        yield* Effect.gen(function*() {
          const provider = yield* ChutesProvider.ChutesProvider
          assert.strictEqual((yield* provider.catalog).source, source)
          assert.strictEqual(counter.reads, 1, `${source}: one read`)
          assert.strictEqual(spans.filter((span) => span.name === "ChutesProvider.catalog").length, 1, `${source}: its span`)
          yield* provider.catalog
          assert.strictEqual(counter.reads, 2, `${source}: one read again`)
        }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
      }
    }))

  it.effect("an interrupted caller does not strand the others", () =>
    Effect.gen(function*() {
      const { layer, requests } = providerOver([json(200, capture)], { settings: { requestTimeout: "1 minute" } })
      yield* Effect.gen(function*() {
        const provider = yield* ChutesProvider.ChutesProvider
        const first = yield* Effect.fork(provider.catalog)
        const second = yield* Effect.fork(provider.catalog)
        yield* Fiber.interrupt(first)
        const snapshot = yield* Fiber.join(second)
        assert.strictEqual(snapshot.source, "live")
        assert.strictEqual(requests.length, 1)
      }).pipe(Effect.provide(layer))
    }))
})

describe("warnings and resolution", () => {
  it.effect("warns when the default model or an alias target is missing, with the nearest live model", () =>
    Effect.gen(function*() {
      const { layer } = providerOver([json(200, capture)])
      const snapshot = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(Effect.provide(layer))
      const byRef = new Map(snapshot.warnings.map((w) => [w.ref, w]))
      const missingDefault = byRef.get("chutes/zai-org/GLM-4.7-TEE")
      assert.strictEqual(missingDefault?.kind, "DefaultModelMissing")
      assert.isString(missingDefault?.suggestion)
      assert.match(missingDefault!.suggestion!, /^chutes\/zai-org\/GLM-/)
      assert.strictEqual(byRef.get("chutes/zai-org/GLM-4.7-FP8")?.alias, "chutes-fast")
      assert.isFalse(byRef.has("chutes/deepseek-ai/DeepSeek-V3.2-TEE"), "chutes-pro's target is live")
    }))

  it.effect("resolves aliases, user aliases, refs and bare ids against the current catalog", () =>
    Effect.gen(function*() {
      const provider = yield* ChutesProvider.ChutesProvider
      assert.strictEqual(provider.defaultModel, "chutes/zai-org/GLM-4.7-TEE")
      assert.strictEqual((yield* provider.resolve("CHUTES-PRO")).ref, "chutes/deepseek-ai/DeepSeek-V3.2-TEE")
      const mine = yield* provider.resolve("my glm")
      assert.deepStrictEqual([mine.ref, mine.known], ["chutes/zai-org/GLM-5-TEE", true])
      assert.strictEqual((yield* provider.resolve("zai-org/GLM-5-TEE")).via, "id")
      const unknown = yield* Effect.flip(provider.resolve("zai-org/GLM-5-TE"))
      assert.strictEqual(unknown._tag, "UnknownModel")
      assert.strictEqual(provider.aliases.get("my glm")?.source, "user")
    }).pipe(Effect.provide(ChutesProvider.layerTest({ models: liveModels, aliases: { "My GLM": "chutes/zai-org/GLM-5-TEE" } }))))
})

describe("the HTTP client", () => {
  it.effect("prefixes the base URL and sends a fresh bearer on every request", () =>
    Effect.gen(function*() {
      const scripted = scriptedClient([json(200, { ok: true })])
      let calls = 0
      const rotating = Layer.succeed(ChutesCredentials.ChutesCredentials, {
        get: Effect.sync(() => {
          calls++
          return ChutesCredentials.make({ kind: "oauth", source: "test", secret: `cak_token_${calls}` })
        }).pipe(Effect.asSome),
        forceRefresh: () => Effect.succeedNone
      })
      const layer = ChutesProvider.layerWithoutDependencies().pipe(
        Layer.provide(Layer.mergeAll(
          rotating,
          ModelDiscovery.layerStatic(liveModels),
          CatalogCache.layerNone,
          ChutesSettings.layer({ baseUrl: BASE }),
          Layer.succeed(HttpClient.HttpClient, scripted.client)
        ))
      )
      yield* Effect.gen(function*() {
        const provider = yield* ChutesProvider.ChutesProvider
        yield* provider.client.get("/chat/completions")
        yield* provider.client.get("/chat/completions")
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(scripted.requests.map((r) => r.url), [`${BASE}/chat/completions`, `${BASE}/chat/completions`])
      assert.deepStrictEqual(scripted.requests.map((r) => r.headers["authorization"]), [
        "Bearer cak_token_1",
        "Bearer cak_token_2"
      ])
    }))

  it.effect("fails with Missing before sending anything when there is no credential", () =>
    Effect.gen(function*() {
      const provider = yield* ChutesProvider.ChutesProvider
      const error = yield* Effect.flip(provider.client.get("/models"))
      assert.strictEqual(error._tag, "CredentialsError")
    }).pipe(Effect.provide(ChutesProvider.layerTest({ credential: null }))))
})

describe("swapped layers", () => {
  it.effect("a failing discovery layer and a fixed credential layer", () =>
    Effect.gen(function*() {
      const failing = Layer.succeed(ModelDiscovery.ModelDiscovery, { fetch: () => Effect.fail(outage) })
      const layer = ChutesProvider.layerWithoutDependencies().pipe(
        Layer.provide(Layer.mergeAll(
          failing,
          ChutesCredentials.layerStatic(
            ChutesCredentials.make({ kind: "api_key", source: "vault", secret: Redacted.make("cpk_from_vault") })
          ),
          CatalogCache.layerNone,
          ChutesSettings.layer(),
          Layer.succeed(HttpClient.HttpClient, scriptedClient([json(200, {})]).client)
        ))
      )
      const { credential, snapshot } = yield* Effect.gen(function*() {
        const provider = yield* ChutesProvider.ChutesProvider
        return { credential: yield* provider.credential, snapshot: yield* provider.catalog }
      }).pipe(Effect.provide(layer))
      assert.strictEqual(credential.source, "vault")
      assert.strictEqual(snapshot.source, "static")
      assert.strictEqual(snapshot.reason, outage)
    }))
})

describe("a credential no HTTP header can carry", () => {
  it.effect("is a typed CredentialsError and nothing is sent: discovery falls back, the client refuses", () =>
    Effect.gen(function*() {
      for (const secret of ["cpk_pasted\u0001with_a_control", "cpk_caf\u00e9_non_ascii", "cpk_with a space"]) {
        const odd = ChutesCredentials.make({ kind: "api_key", source: "env:CHUTES_API_KEY", secret })
        const { layer, requests } = providerOver([json(200, capture)], {
          credentials: ChutesCredentials.layerStatic(odd)
        })
        yield* Effect.gen(function*() {
          const provider = yield* ChutesProvider.ChutesProvider
          const snapshot = yield* provider.catalog
          assert.strictEqual(snapshot.source, "static", secret)
          assert.instanceOf(snapshot.reason, CredentialsError)
          assert.include(snapshot.reason?.message ?? "", "env:CHUTES_API_KEY was rejected (not sent: it has spaces, control")
          const error = yield* Effect.flip(provider.client.get("/models"))
          assert.strictEqual(error._tag, "CredentialsError")
          if (error._tag === "CredentialsError") assert.strictEqual(error.reason, "Rejected")
          assert.strictEqual(requests.length, 0, "nothing was sent")
        }).pipe(Effect.provide(layer))
      }
      // A plain key is sent as before.
      const { layer, requests } = providerOver([json(200, capture)])
      const snapshot = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (provider) => provider.catalog).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(snapshot.source, "live")
      assert.strictEqual(requests.length, 1)
    }))
})
