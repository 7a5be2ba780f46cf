/**
 * Text from servers and files never reaches a terminal raw: control characters (ESC starts escape sequences that set
 * the window title or clear the screen) and bidirectional controls (U+202E reverses what follows) are escaped in
 * messages, and model ids or other shown fields that carry them are refused — from the wire and from the disk cache.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as CatalogCache from "../src/CatalogCache.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as ModelDiscovery from "../src/ModelDiscovery.js"
import * as ModelRef from "../src/ModelRef.js"
import { printJson, terminalSafe } from "../src/cli/render.js"
import { printable } from "../src/internal/redact.js"
import * as NodeChutes from "../src/node/NodeChutes.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import * as Capture from "./support/capture.js"
import { portableFiles } from "./support/nodeFiles.js"

const HOSTILE = "\u001b]0;pwned\u0007\u001b[2J\u001b[31mFAKE ALERT\u009b31m\u202eevil"
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

describe("server text in messages", () => {
  it.scopedLive("a 403 body full of escape sequences reaches the fallback reason escaped", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Status", route: "models", status: 403, body: { detail: HOSTILE } })
      const snapshot = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(
        Effect.provide(NodeChutes.layer({
          credential: { apiKey: Redacted.make(fake.apiKey) },
          settings: { baseUrl: fake.baseUrl, diskCachePath: false }
        }))
      )
      assert.strictEqual(snapshot.source, "static")
      const message = snapshot.reason!.message
      assert.notMatch(message, RAW, JSON.stringify(message))
      assert.include(message, "\\u001b]0;pwned")
      assert.include(message, "\\u202eevil")
      assert.notMatch(ModelCatalog.describeSource(snapshot), RAW)
    }))

  it("an input echoed in an error is escaped (a config value, a typed name)", () => {
    const invalid = Either.getLeft(ModelRef.parse(`chutes/x\u009b2J`)).pipe(Option.getOrThrow)
    assert.strictEqual(invalid.reason, "ControlCharacter")
    assert.notMatch(invalid.message, RAW)
    const unknown = Either.getLeft(ModelRef.resolve(`gone\u202e`, { ids: new Map() })).pipe(Option.getOrThrow)
    assert.notMatch(unknown.message, RAW)
  })
})

describe("shown fields from the wire and from files", () => {
  it("an item whose id or shown fields carry control or bidi characters is skipped, like any malformed item", () => {
    const good = { id: "acme/Good-TEE", max_model_len: 1000 }
    const decoded = Either.getOrThrow(ModelDiscovery.decodeItems([
      good,
      { id: "acme/\u202eevil", max_model_len: 1000 },
      { id: "acme/Root-TEE", max_model_len: 1000, root: `x${HOSTILE}` },
      { id: "acme/Owner-TEE", max_model_len: 1000, owned_by: "vllm\u001b[2J" }
    ]))
    assert.deepStrictEqual(decoded.models.map((model) => model.id), ["acme/Good-TEE"])
    assert.strictEqual(decoded.skipped, 3)
  })

  it.effect("a disk cache holding such an id is not used (ids are checked as from the wire)", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "chutes-escapes-"))
      const path = join(dir, "models-cache.json")
      const model = (id: string) => ({ id, name: id, contextWindow: 1000, input: ["text"], reasoning: false })
      const write = (id: string) =>
        writeFileSync(path, JSON.stringify({ version: 1, baseUrl: "http://x", fetchedAt: 1, models: [model(id)] }))
      const load = Effect.flatMap(CatalogCache.CatalogCache, (cache) => cache.load).pipe(
        Effect.provide(CatalogCache.layerFile.pipe(
          Layer.provide(Layer.mergeAll(portableFiles, ChutesSettings.layer({ diskCachePath: path })))
        ))
      )
      write("acme/Plain-TEE")
      assert.isTrue(Option.isSome(yield* load), "the check is not what refuses a plain cache")
      write(`acme/${HOSTILE}`)
      assert.isTrue(Option.isNone(yield* load))
    }))
})

describe("invisible characters", () => {
  // A zero-width space, a word joiner, tag characters (text a terminal does not show), a private-use character.
  const HIDDEN = ["\u200b", "\u2060", "\u{e0041}\u{e0042}", "\ue000", "\ufeff"]

  it("ids that would look like another are skipped from the wire, and refused as typed names", () => {
    const decoded = Either.getOrThrow(ModelDiscovery.decodeItems([
      { id: "zai-org/GLM-5.2-TEE", max_model_len: 1000 },
      ...HIDDEN.map((hidden) => ({ id: `zai-org/GLM-5.2-TEE${hidden}`, max_model_len: 1000 }))
    ]))
    assert.deepStrictEqual(decoded.models.map((model) => model.id), ["zai-org/GLM-5.2-TEE"])
    assert.strictEqual(decoded.skipped, HIDDEN.length)
    for (const hidden of HIDDEN) {
      assert.isFalse(ModelRef.isPrintable(`a${hidden}b`), JSON.stringify(hidden))
      assert.isTrue(Either.isLeft(ModelRef.parse(`chutes/zai-org/GL${hidden}M`)), JSON.stringify(hidden))
    }
    assert.isTrue(ModelRef.isPrintable("zai-org/GLM-5.2-TEE Grüße 🎉 日本語"))
  })

  it("messages show them escaped, a character past U+FFFF whole", () => {
    const text = printable("GLM\u200b-5\u{e0041}")
    assert.strictEqual(text, "GLM\\u200b-5\\u{e0041}")
    assert.strictEqual(printable("Grüße 🎉"), "Grüße 🎉")
  })

  it("--json documents escape them as JSON escapes: the same text to a parser, nothing hidden on a terminal", () => {
    const value = { id: `x${HIDDEN.join("")}\u202e\u009b\u2028y`, plain: "Grüße 🎉" }
    const printed = printJson(value)
    assert.notMatch(printed, /[\u007f-\u009f\p{Cf}\p{Co}\u2028\u2029]/u)
    assert.deepStrictEqual(JSON.parse(printed), value)
    assert.strictEqual(terminalSafe(printed), printed, "nothing left for the terminal filter")
  })
})

describe("endpoints", () => {
  it("a base URL that is neither https nor loopback is named; https and loopback are not", () => {
    const warnings = (baseUrl: string, idpBaseUrl = "https://api.chutes.ai") =>
      ChutesSettings.unencryptedEndpoints(ChutesSettings.make({ baseUrl, idpBaseUrl }))
    assert.deepStrictEqual(warnings("https://llm.chutes.ai/v1"), [])
    assert.deepStrictEqual(warnings("http://127.0.0.1:8080/v1", "http://localhost:9"), [])
    assert.deepStrictEqual(warnings("http://[::1]:8080/v1"), [])
    assert.deepStrictEqual(warnings("http://llm.example.com/v1", "http://10.0.0.2"), [
      "The Chutes base URL http://llm.example.com/v1 is not https: credentials sent to it travel unencrypted",
      "The Chutes API base URL http://10.0.0.2 is not https: credentials sent to it travel unencrypted"
    ])
  })

  it.effect("the provider says so once when it is built", () =>
    Effect.gen(function*() {
      const capture = Capture.make()
      yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(
        Effect.provide(ChutesProvider.layerTest({ settings: { baseUrl: "http://llm.example.com/v1" } })),
        Effect.provide(Capture.layer(capture))
      )
      const lines = capture.entries.filter((entry) => entry.where.startsWith("message"))
      assert.strictEqual(lines.filter((entry) => entry.text.includes("is not https")).length, 1)
    }))
})
