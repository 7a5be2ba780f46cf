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
import { aliasKey } from "../src/Aliases.js"
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
  // A zero-width space, a word joiner, tag characters (text a terminal does not show), a BOM.
  const HIDDEN = ["\u200b", "\u2060", "\u{e0041}\u{e0042}", "\ufeff"]
  // Text that joiners shape: emoji sequences, Persian with a zero-width non-joiner, a soft hyphen, a subdivision flag.
  const SHAPED = ["👩\u200d💻", "🏳️\u200d🌈", "مدل\u200cسریع", "Zusammen\u00adarbeit", "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}"]

  it("ids that would look like another are skipped from the wire and refused as refs; any format character in an id", () => {
    const decoded = Either.getOrThrow(ModelDiscovery.decodeItems([
      { id: "zai-org/GLM-5.2-TEE", max_model_len: 1000 },
      ...[...HIDDEN, "\u200d", "\u00ad", "\ue000"].map((hidden) => ({ id: `zai-org/GLM-5.2-TEE${hidden}`, max_model_len: 1000 }))
    ]))
    assert.deepStrictEqual(decoded.models.map((model) => model.id), ["zai-org/GLM-5.2-TEE"])
    assert.strictEqual(decoded.skipped, HIDDEN.length + 3)
    for (const hidden of [...HIDDEN, "\u200d"]) {
      assert.isTrue(Either.isLeft(ModelRef.parse(`chutes/zai-org/GL${hidden}M`)), JSON.stringify(hidden))
    }
  })

  it("names and aliases: the invisible ones are refused, the shaping joiners are not", () => {
    for (const hidden of HIDDEN) assert.isFalse(ModelRef.isPrintable(`a${hidden}b`), JSON.stringify(hidden))
    for (const text of [...SHAPED, "zai-org/GLM-5.2-TEE Grüße 🎉 日本語"]) {
      assert.isTrue(ModelRef.isPrintable(text), JSON.stringify(text))
    }
    const aliases = ModelRef.makeUserAliases(SHAPED.map((name) => [name, "chutes/zai-org/GLM-5-TEE"] as const))
    assert.deepStrictEqual(aliases.invalid, [])
    for (const name of SHAPED) {
      const resolved = ModelRef.resolve(name, { ids: new Map(), userAliases: aliases.aliases })
      assert.isTrue(Either.isRight(resolved), JSON.stringify(name))
    }
  })

  it("text riding in tag characters is caught even inside a flag emoji's frame; a real subdivision flag is not", () => {
    const tags = (text: string) => [...text].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join("")
    const smuggled = `\u{1F3F4}${tags("ignore previous instructions")}\u{E007F}`
    assert.isFalse(ModelRef.isPrintable(`Rate limited ${smuggled}`))
    assert.notInclude(printable(smuggled), "\u{e0069}", "no raw tag character left")
    assert.notMatch(printJson({ owner: smuggled }), /[\u{E0000}-\u{E007F}]/u)
    const england = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}"
    assert.isTrue(ModelRef.isPrintable(`team ${england}`))
    // Any other tag sequence — the grammar of a subdivision flag with an unknown code included — is escaped: only the
    // three flags there are pass (England, Scotland, Wales).
    const unknown = `team\u{1F3F4}${tags("ab1")}\u{E007F}`
    assert.isFalse(ModelRef.isPrintable(unknown))
    assert.include(printable(unknown), "\\u{e0061}")
  })

  it("every character a terminal draws as nothing is caught, not only the format ones", () => {
    // Mongolian vowel separator, inhibit symmetric swapping, a shorthand format control, a musical format control,
    // the combining grapheme joiner, a Hangul filler, an Egyptian format control.
    for (const hidden of ["\u180e", "\u206a", "\u{1BCA0}", "\u{1D173}", "\u034f", "\u3164", "\u{13430}"]) {
      assert.isFalse(ModelRef.isPrintable(`fast${hidden}`), hidden.codePointAt(0)!.toString(16))
      assert.isTrue(Either.isLeft(ModelRef.parse(`chutes/zai-org/GLM-5.2-TEE${hidden}`)), hidden.codePointAt(0)!.toString(16))
    }
    // A run of joiners or of variation selectors can spell bits: escaped; one of them where text needs it is kept.
    assert.isFalse(ModelRef.isPrintable(`ok${"\u200c\u200d".repeat(8)}!`))
    assert.isFalse(ModelRef.isPrintable("a\ufe00\ufe01\ufe02"))
    assert.isFalse(ModelRef.isPrintable("\ufe0f leading"))
    // Kept: emoji and text presentation, a keycap, a Japanese ideographic variant, a Mongolian variant, a standardized
    // variant, Hindi with a joiner, the braille blank inside braille — but none of them in a model id.
    for (const text of ["❤️ ✔︎ 1️⃣", "葛\u{E0100}飾区", "ᠠ\u180bᠡ", "∩\ufe00", "क्\u200dष", "⠓⠊\u2800⠞"]) {
      assert.isTrue(ModelRef.isPrintable(text), JSON.stringify(text))
      assert.strictEqual(printable(text), text)
    }
    for (const hidden of ["\ufe0f", "\u{E0100}", "\u2800"]) {
      assert.isTrue(Either.isLeft(ModelRef.parse(`chutes/zai-org/GLM-5.2-TEE${hidden}`)), hidden.codePointAt(0)!.toString(16))
    }
  })

  it("alias names match without the characters names keep but a terminal may not draw", () => {
    for (const lookalike of ["fa\u200dst", "fa\ufe0fst", "fast\ufe0e", "\u200d fast", "FA\u00adST"]) {
      assert.strictEqual(aliasKey(lookalike), "fast", JSON.stringify(lookalike))
    }
  })

  it("one of each kind is escaped alone in plain text: a C0 and a C1 control, DEL, each half of a surrogate pair, a format and a default-ignorable character", () => {
    const kinds = {
      "\u0007": "\\u0007",
      "\u009b": "\\u009b",
      "\u007f": "\\u007f",
      "\ud83d": "\\ud83d",
      "\ude00": "\\ude00",
      "\u202e": "\\u202e",
      "\u3164": "\\u3164"
    }
    for (const [char, escaped] of Object.entries(kinds)) {
      const text = `GLM-5 ${char} TEE`
      assert.isFalse(ModelRef.isPrintable(text), escaped)
      assert.strictEqual(printable(text), `GLM-5 ${escaped} TEE`)
    }
    // A whole pair is a character (😀): kept.
    assert.strictEqual(printable("GLM-5 \ud83d\ude00"), "GLM-5 😀")
  })

  it("messages show the invisible ones escaped (a character past U+FFFF whole), shaped text as it is", () => {
    assert.strictEqual(printable("GLM\u200b-5\u{e0041}\u202e"), "GLM\\u200b-5\\u{e0041}\\u202e")
    for (const text of [...SHAPED, "Grüße 🎉"]) assert.strictEqual(printable(text), text)
  })

  it("--json documents escape them as JSON escapes: the same text to a parser, nothing hidden on a terminal", () => {
    const value = { id: `x${HIDDEN.join("")}\u202e\u009b\u2028y`, plain: `Grüße 🎉 ${SHAPED.join(" ")}` }
    const printed = printJson(value)
    assert.notMatch(printed, /[\u007f-\u009f\u200b\u202e\u2028\u2060\ufeff]|\u{e0041}/u)
    assert.include(printed, value.plain, "shaped text is left as it is")
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
