/**
 * Several stored profiles: an answer that is the account's problem cools the profile that got it (in
 * `auth-cooldowns.json` beside the profiles) and the same request goes to the next profile, before the first byte;
 * the model's problems do not rotate; a pinned profile or a credential from code does not rotate; cooldowns order the
 * profiles of every process on the same store; a free model fails at once while every profile is on the daily cap.
 * Real files, the real credentials service, FakeChutes on loopback.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as AuthProfileStore from "../../src/AuthProfileStore.js"
import * as CatalogCache from "../../src/CatalogCache.js"
import * as ChutesCredentials from "../../src/ChutesCredentials.js"
import * as ChutesOAuth from "../../src/ChutesOAuth.js"
import * as ChutesProvider from "../../src/ChutesProvider.js"
import * as ChutesSettings from "../../src/ChutesSettings.js"
import * as ModelDiscovery from "../../src/ModelDiscovery.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { portableFiles } from "../support/nodeFiles.js"
import { collect, ofType } from "./harness.js"

const hex = (c: string) => c.repeat(32)
const KEY_A = `cpk_${hex("a")}.${hex("1")}.${"A".repeat(32)}`
const KEY_B = `cpk_${hex("b")}.${hex("2")}.${"B".repeat(32)}`
const KEY_C = `cpk_${hex("c")}.${hex("3")}.${"C".repeat(32)}`

const apiKeyProfile = (key: string) => ({ type: "api_key", provider: "chutes", key })

/** A state directory holding `auth-profiles.json` with profiles a, b (and c) in that order. */
const stateDir = (keys: ReadonlyArray<string> = [KEY_A, KEY_B]) => {
  const dir = mkdtempSync(join(tmpdir(), "chutes-rotation-"))
  const profiles = Object.fromEntries(keys.map((key, i) => [`chutes:${"abc"[i]}`, apiKeyProfile(key)]))
  writeFileSync(join(dir, "auth-profiles.json"), JSON.stringify({ version: 1, profiles }, null, 2), { mode: 0o600 })
  return dir
}

/** `LanguageModel` over a provider over the store in `dir` (the real credentials service and file store). */
const modelOver = (
  fake: FakeChutes.FakeChutesServer,
  dir: string,
  options: { readonly profileId?: string; readonly model?: string; readonly explicit?: string } = {}
) => {
  const platform = Layer.mergeAll(
    ChutesSettings.layer({ baseUrl: fake.baseUrl, idpBaseUrl: fake.idpBaseUrl, diskCachePath: false }),
    portableFiles,
    NodeHttpClient.layerUndici
  )
  const credentials = ChutesCredentials.layer({
    order: ["chutes:a", "chutes:b", "chutes:c"],
    profileId: options.profileId,
    explicit: options.explicit !== undefined ? { apiKey: options.explicit } : undefined
  }).pipe(
    Layer.provide(Layer.mergeAll(AuthProfileStore.layerFile({ path: join(dir, "auth-profiles.json") }), ChutesOAuth.layer()))
  )
  const provider = ChutesProvider.layerWithoutDependencies().pipe(
    Layer.provide(Layer.mergeAll(ModelDiscovery.layer, CatalogCache.layerMemory(), credentials)),
    Layer.provide(platform)
  )
  return ChutesLanguageModel.layer({ model: options.model ?? "zai-org/GLM-5-TEE", retry: { maxRetries: 0 } }).pipe(
    Layer.provideMerge(provider),
    Layer.orDie,
    Layer.merge(Logger.minimumLogLevel(LogLevel.Error))
  )
}

/** The bearers of the chat requests FakeChutes saw, as profile letters. */
const chatProfiles = (fake: FakeChutes.FakeChutesServer): ReadonlyArray<string> =>
  fake.requests.filter((r) => r.route === "chat").map((r) => {
    const bearer = r.headers["authorization"] ?? ""
    return bearer.endsWith(KEY_A) ? "a" : bearer.endsWith(KEY_B) ? "b" : bearer.endsWith(KEY_C) ? "c" : "?"
  })

const cooldowns = (dir: string): Record<string, { readonly reason: string; readonly until?: number }> => {
  const path = join(dir, "auth-cooldowns.json")
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")).cooldowns : {}
}

const ask = LanguageModel.generateText({ prompt: "Hi" })

describe("rotation across stored profiles", () => {
  it.scopedLive("the edge limiter's 429 on the first profile: cooled about a minute, the same request on the next", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B] })
      const dir = stateDir()
      const profilesBefore = readFileSync(join(dir, "auth-profiles.json"), "utf8")
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "EdgeLimiter", times: 1 })
      const before = Date.now()
      const layer = modelOver(fake, dir)
      const response = yield* Effect.provide(ask, layer)
      assert.deepStrictEqual(chatProfiles(fake), ["a", "b"])
      assert.strictEqual(ChutesLanguageModel.responseInfo(response)?.profile, "chutes:b")
      const cooled = cooldowns(dir)["chutes:a"]
      assert.strictEqual(cooled?.reason, "rate-limited")
      assert.isAtLeast(cooled!.until! - before, 60_000)
      assert.isAtMost(cooled!.until! - Date.now(), 60_000)
      assert.strictEqual(statSync(join(dir, "auth-cooldowns.json")).mode & 0o777, 0o600)
      // The profiles themselves are never rewritten for a cooldown.
      assert.strictEqual(readFileSync(join(dir, "auth-profiles.json"), "utf8"), profilesBefore)
    }))

  it.scopedLive("a stream rotates the same way before its first byte, and its metadata names the profile", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B] })
      const dir = stateDir()
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "SubscriptionCap", times: 1 })
      const parts = yield* Effect.provide(collect({ prompt: "Hi" }), modelOver(fake, dir))
      assert.deepStrictEqual(chatProfiles(fake), ["a", "b"])
      assert.isAbove(ofType(parts, "text-delta").length, 0)
      const metadata = ofType(parts, "response-metadata")[0]
      assert.strictEqual(metadata?.metadata.chutes?.profile, "chutes:b")
      assert.strictEqual(cooldowns(dir)["chutes:a"]?.reason, "quota")
    }))

  it.scopedLive("a cooled profile is tried last by the same process and by another one on the same store", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B] })
      const dir = stateDir()
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "EdgeLimiter", times: 1 })
      const first = modelOver(fake, dir)
      yield* Effect.provide(Effect.zipRight(ask, ask), first)
      assert.deepStrictEqual(chatProfiles(fake), ["a", "b", "b"])
      // A second provider (its own memory, as another process has) reads the cooldown beside the profiles.
      const other = yield* Effect.provide(ask, modelOver(fake, dir))
      assert.deepStrictEqual(chatProfiles(fake), ["a", "b", "b", "b"])
      assert.strictEqual(ChutesLanguageModel.responseInfo(other)?.profile, "chutes:b")
    }))

  it.scopedLive("402 quota exhausted: next profile, a short cooldown until the given reset, re-probed in 2 minutes", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B] })
      const dir = stateDir()
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "QuotaExceeded", times: 1 })
      const response = yield* Effect.provide(ask, modelOver(fake, dir))
      assert.strictEqual(ChutesLanguageModel.responseInfo(response)?.profile, "chutes:b")
      const cooled = cooldowns(dir)["chutes:a"] as { reason: string; since: number; until: number; millis: number }
      assert.strictEqual(cooled.reason, "quota")
      assert.strictEqual(cooled.millis, 120_000)
      assert.strictEqual(new Date(cooled.until).toISOString().slice(11), "00:00:00.000Z")
    }))

  it.scopedLive("the free-models daily cap: cooled until 00:00 UTC, next profile", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B] })
      const dir = stateDir()
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "FreeModelsDailyCap", times: 1 })
      const response = yield* Effect.provide(ask, modelOver(fake, dir))
      assert.strictEqual(ChutesLanguageModel.responseInfo(response)?.profile, "chutes:b")
      const cooled = cooldowns(dir)["chutes:a"]
      assert.strictEqual(cooled?.reason, "daily-cap")
      assert.strictEqual(new Date(cooled!.until!).toISOString().slice(11), "00:00:00.000Z")
    }))

  it.scopedLive("every profile on the daily cap: a model not known to be paid fails at once with the reset", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B] })
      const dir = stateDir()
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "FreeModelsDailyCap", times: 2 })
      // An id the catalog does not list (passed through): its price is unknown.
      const layer = modelOver(fake, dir, { model: "someorg/free-model" })
      const first = yield* Effect.either(Effect.provide(ask, layer))
      assert.isTrue(Either.isLeft(first))
      assert.strictEqual(ChutesAiError.kind(Either.isLeft(first) ? first.left : undefined), "DailyCapReached")
      assert.deepStrictEqual(chatProfiles(fake), ["a", "b"])
      const second = yield* Effect.either(Effect.provide(ask, layer))
      assert.isTrue(Either.isLeft(second))
      const error = Either.isLeft(second) ? second.left : undefined
      assert.strictEqual(ChutesAiError.kind(error), "DailyCapReached")
      assert.match(String((error as { description?: string }).description), /resets at \d{4}-\d\d-\d\d 00:00 UTC/)
      // Not asked again.
      assert.deepStrictEqual(chatProfiles(fake), ["a", "b"])
      // A paid model is still asked (the daily cap is on free models only).
      const paid = yield* Effect.provide(ask, modelOver(fake, dir))
      assert.isDefined(ChutesLanguageModel.responseInfo(paid)?.profile)
      assert.strictEqual(chatProfiles(fake).length, 3)
    }))

  it.scopedLive("a stored key the service rejects (401): marked needs sign-in, the next profile answers", () =>
    Effect.gen(function*() {
      // The fake does not know key A.
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_B, KEY_C] })
      const dir = stateDir()
      const layer = modelOver(fake, dir)
      const response = yield* Effect.provide(Effect.zipRight(ask, ask), layer)
      assert.strictEqual(ChutesLanguageModel.responseInfo(response)?.profile, "chutes:b")
      assert.deepStrictEqual(chatProfiles(fake), ["a", "b", "b"])
      const cooled = cooldowns(dir)["chutes:a"] as { reason: string; fingerprint?: string; until?: number }
      assert.strictEqual(cooled.reason, "needs-sign-in")
      assert.isUndefined(cooled.until)
      assert.match(String(cooled.fingerprint), /^[0-9a-f]{16}$/)
      assert.notInclude(readFileSync(join(dir, "auth-cooldowns.json"), "utf8"), KEY_A.slice(4, 20))
      // A new key stored under the same id ends the mark: the profile is first again.
      const store = JSON.parse(readFileSync(join(dir, "auth-profiles.json"), "utf8"))
      store.profiles["chutes:a"].key = KEY_C
      writeFileSync(join(dir, "auth-profiles.json"), JSON.stringify(store), { mode: 0o600 })
      const again = yield* Effect.provide(ask, modelOver(fake, dir))
      assert.strictEqual(ChutesLanguageModel.responseInfo(again)?.profile, "chutes:a")
      assert.deepStrictEqual(chatProfiles(fake), ["a", "b", "b", "c"])
    }))

  it.scopedLive("the model's problems do not rotate: capacity and a creator's zero balance cool nothing", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B] })
      const dir = stateDir()
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "Capacity", times: 1 })
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "CreatorZeroBalance", times: 1 })
      const layer = modelOver(fake, dir)
      const capacity = yield* Effect.either(Effect.provide(ask, layer))
      const creator = yield* Effect.either(Effect.provide(ask, layer))
      assert.strictEqual(ChutesAiError.kind(Either.isLeft(capacity) ? capacity.left : undefined), "Capacity")
      assert.strictEqual(ChutesAiError.kind(Either.isLeft(creator) ? creator.left : undefined), "CreatorZeroBalance")
      assert.deepStrictEqual(chatProfiles(fake), ["a", "a"])
      assert.deepStrictEqual(cooldowns(dir), {})
    }))

  it.scopedLive("a pinned profile and a key given in code do not rotate", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B, KEY_C] })
      const dir = stateDir()
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "EdgeLimiter", times: 2 })
      const pinned = yield* Effect.either(Effect.provide(ask, modelOver(fake, dir, { profileId: "chutes:a" })))
      assert.strictEqual(ChutesAiError.kind(Either.isLeft(pinned) ? pinned.left : undefined), "EdgeRateLimited")
      const explicit = yield* Effect.either(Effect.provide(ask, modelOver(fake, dir, { explicit: KEY_C })))
      assert.strictEqual(ChutesAiError.kind(Either.isLeft(explicit) ? explicit.left : undefined), "EdgeRateLimited")
      assert.deepStrictEqual(chatProfiles(fake), ["a", "c"])
      // The pinned profile's cooldown is still recorded; the key from code has none to record.
      assert.deepStrictEqual(Object.keys(cooldowns(dir)), ["chutes:a"])
    }))

  it.scopedLive("every profile cooling: the call goes to the one whose cooldown ends first", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B, KEY_C] })
      const dir = stateDir([KEY_A, KEY_B, KEY_C])
      const now = Date.now()
      writeFileSync(
        join(dir, "auth-cooldowns.json"),
        JSON.stringify({
          version: 1,
          cooldowns: {
            "chutes:a": { reason: "daily-cap", since: now, until: now + 3_600_000 },
            "chutes:b": { reason: "rate-limited", since: now, until: now + 120_000, millis: 120_000 },
            "chutes:c": { reason: "rate-limited", since: now, until: now + 60_000, millis: 60_000 }
          }
        }),
        { mode: 0o600 }
      )
      const response = yield* Effect.provide(ask, modelOver(fake, dir))
      assert.strictEqual(ChutesLanguageModel.responseInfo(response)?.profile, "chutes:c")
      assert.deepStrictEqual(chatProfiles(fake), ["c"])
    }))

  it.scopedLive("a corrupt cooldown file: calls go on in the configured order and the file is left as it was", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B] })
      const dir = stateDir()
      writeFileSync(join(dir, "auth-cooldowns.json"), "{ not json", { mode: 0o600 })
      fake.fault({ _tag: "Refusal", route: "chat", refusal: "EdgeLimiter", times: 1 })
      const layer = modelOver(fake, dir)
      const response = yield* Effect.provide(Effect.zipRight(ask, ask), layer)
      // The cooldown is kept in memory for this process.
      assert.deepStrictEqual(chatProfiles(fake), ["a", "b", "b"])
      assert.strictEqual(ChutesLanguageModel.responseInfo(response)?.profile, "chutes:b")
      assert.strictEqual(readFileSync(join(dir, "auth-cooldowns.json"), "utf8"), "{ not json")
    }))

  it.scopedLive("no store round trip per call: 40 calls over stored profiles with a cooldown read the store once", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ apiKeys: [KEY_A, KEY_B] })
      const now = Date.now()
      const inner = yield* AuthProfileStore.makeMemory({
        version: 1,
        profiles: { "chutes:a": apiKeyProfile(KEY_A), "chutes:b": apiKeyProfile(KEY_B) }
      })
      yield* inner.cooldowns.set("chutes:a", { reason: "rate-limited", since: now, until: now + 600_000, millis: 600_000 })
      const reads = { profiles: 0, cooldowns: 0 }
      const counted: AuthProfileStore.Service = {
        ...inner,
        load: Effect.suspend(() => (reads.profiles++, inner.load)),
        cooldowns: { ...inner.cooldowns, load: Effect.suspend(() => (reads.cooldowns++, inner.cooldowns.load)) }
      }
      const credentials = ChutesCredentials.layer({ order: ["chutes:a", "chutes:b"] }).pipe(
        Layer.provide(Layer.mergeAll(Layer.succeed(AuthProfileStore.AuthProfileStore, counted), ChutesOAuth.layer()))
      )
      const provider = ChutesProvider.layerWithoutDependencies().pipe(
        Layer.provide(Layer.mergeAll(ModelDiscovery.layer, CatalogCache.layerMemory(), credentials)),
        Layer.provide(Layer.mergeAll(
          ChutesSettings.layer({ baseUrl: fake.baseUrl, idpBaseUrl: fake.idpBaseUrl, diskCachePath: false }),
          NodeHttpClient.layerUndici
        ))
      )
      const layer = ChutesLanguageModel.layer({ model: "zai-org/GLM-5-TEE", retry: { maxRetries: 0 } }).pipe(
        Layer.provideMerge(provider),
        Layer.orDie,
        Layer.merge(Logger.minimumLogLevel(LogLevel.Error))
      )
      const served = yield* Effect.provide(
        Effect.forEach(Array.from({ length: 40 }), () => Effect.map(ask, ChutesLanguageModel.responseInfo)),
        layer
      )
      // The cooling profile is behind the other one on every call, and the store was read once (within 30 s).
      assert.deepStrictEqual(new Set(served.map((info) => info?.profile)), new Set(["chutes:b"]))
      assert.strictEqual(chatProfiles(fake).length, 40)
      assert.deepStrictEqual(reads, { profiles: 1, cooldowns: 1 })
    }))
})
