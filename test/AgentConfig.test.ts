import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AgentConfig from "../src/AgentConfig.js"
import { ConfigError } from "../src/ChutesError.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import { mergeOnboarding } from "../src/cli/onboarding.js"
import { FAST, INVERTED, onboarding, parseOk, resolvedRef, SEED, USER_FILE } from "./support/agentConfig.js"
import { portableFiles } from "./support/nodeFiles.js"

// The merge itself is tested in test/cli/onboarding.test.ts; the service tests below use it to write real configs.

const tempDir = () => mkdtempSync(join(tmpdir(), "chutes-config-"))
const mode = (path: string) => statSync(path).mode & 0o777

const parseError = (text: string): ConfigError =>
  Either.match(AgentConfig.parse(text, "test.json5"), {
    onLeft: (error) => error,
    onRight: () => assert.fail("expected a ConfigError")
  })

describe("parse", () => {
  it("loads the seed's example as it is (comment and trailing commas included)", () => {
    const doc = parseOk(SEED)
    assert.deepStrictEqual(AgentConfig.primary(doc), Option.some("chutes/zai-org/GLM-4.7-TEE"))
    assert.deepStrictEqual(AgentConfig.fallbacks(doc), [])
    assert.deepStrictEqual(AgentConfig.userAliases(doc), [
      ["Chutes GLM 4.7", "chutes/zai-org/GLM-4.7-TEE"],
      ["Chutes DeepSeek V3.2", "chutes/deepseek-ai/DeepSeek-V3.2-TEE"]
    ])
    assert.deepStrictEqual(AgentConfig.warnings(doc), [])
    const provider = Option.getOrThrow(AgentConfig.providerConfig(doc))
    assert.strictEqual(provider.baseUrl, "https://llm.chutes.ai/v1")
    assert.strictEqual(provider.api, "openai-completions")
    assert.deepStrictEqual(provider.models, [])
    assert.deepStrictEqual(AgentConfig.authProfiles(doc), {
      "chutes:default": { provider: "chutes", mode: "api_key" }
    })
    assert.strictEqual(resolvedRef(doc, "chutes glm 4.7"), "chutes/zai-org/GLM-4.7-TEE")
  })

  it("reports a syntax error with its line and column", () => {
    const error = parseError(`{\n  agents: {},\n  models: { mode: "merge" }\n  auth: {},\n}\n`)
    assert.strictEqual(error.reason, "Parse")
    assert.strictEqual(error.line, 4)
    assert.strictEqual(error.column, 3)
    assert.include(error.message, "test.json5:4:3")
    assert.include(error.message, "left untouched")
  })

  it("names the key of a known key with the wrong shape, without echoing its value", () => {
    const array = parseError(`{ agents: { defaults: { models: ["chutes/zai-org/GLM-4.7-TEE"] } } }`)
    assert.strictEqual(array.reason, "Invalid")
    assert.include(array.message, "agents.defaults.models: expected an object of model ref -> { alias }, got an array")
    const alias = parseError(`{ agents: { defaults: { models: { "chutes/x": { alias: 42 } } } } }`)
    assert.include(alias.message, `agents.defaults.models["chutes/x"].alias: expected string, got a number`)
    const fallback = parseError(`{ agents: { defaults: { model: { primary: "chutes/x", fallbacks: [7] } } } }`)
    assert.include(fallback.message, "agents.defaults.model.fallbacks[0]: expected string, got a number")
    const secret = parseError(`{ models: { providers: { chutes: { baseUrl: { key: "cpk_secret_value_1234" } } } } }`)
    assert.include(secret.message, "models.providers.chutes.baseUrl: expected string, got an object")
    assert.notInclude(secret.message, "cpk_secret")
    assert.strictEqual(parseError(`[1, 2]`).reason, "Invalid")
  })

  it("tolerates unknown keys everywhere and other providers' shapes", () => {
    const doc = parseOk(USER_FILE)
    assert.deepStrictEqual(AgentConfig.primary(doc), Option.some("openai/gpt-4o"))
    assert.deepStrictEqual(AgentConfig.fallbacks(doc), ["chutes/deepseek-ai/DeepSeek-V3.2-TEE", "openai/gpt-4o-mini"])
    // Only chutes refs become aliases of this provider.
    assert.deepStrictEqual(AgentConfig.userAliases(doc), [
      ["glm-quick", FAST],
      ["kimi", "chutes/moonshotai/Kimi-K2.5-TEE"]
    ])
    assert.isTrue(Either.isRight(AgentConfig.parse(`{ models: { providers: { openai: 3 } } }`, "x")))
  })

  it("reads a provider segment case-insensitively and normalises it", () => {
    const doc = parseOk(`{ agents: { defaults: { models: { "Chutes/zai-org/GLM-5-TEE": { alias: "five" } } } } }`)
    assert.deepStrictEqual(AgentConfig.userAliases(doc), [["five", "chutes/zai-org/GLM-5-TEE"]])
  })
})

describe("OpenClaw's inverted aliases", () => {
  it("are read as alias name -> ref, and reported as warnings", () => {
    const doc = parseOk(INVERTED)
    assert.deepStrictEqual(AgentConfig.userAliases(doc), [
      ["chutes-fast", FAST],
      ["main", "chutes/zai-org/GLM-4.7-TEE"],
      ["my-pro", "chutes/deepseek-ai/DeepSeek-V3.2-TEE"]
    ])
    const warnings = AgentConfig.warnings(doc)
    assert.deepStrictEqual(warnings.map((w) => [w.kind, w.key]), [
      ["InvertedAlias", `agents.defaults.models["chutes-fast"]`],
      ["InvertedAlias", `agents.defaults.models["my-pro"]`]
    ])
    assert.include(warnings[0]!.message, `"chutes/zai-org/GLM-4.7-FP8": { alias: "chutes-fast" }`)
    assert.strictEqual(resolvedRef(doc, "my-pro"), "chutes/deepseek-ai/DeepSeek-V3.2-TEE")
  })
})

describe("aliases do not chain", () => {
  it("an alias whose target is another alias (either form) is skipped with a warning that says so", () => {
    const doc = parseOk(`{ agents: { defaults: { models: {
      "chutes/chutes-fast": { alias: "myfast" },
      "chutes/zai-org/GLM-5-TEE": { alias: "five" },
      "chutes/Five": { alias: "also-five" },
      "myvision": { alias: "chutes-vision" },
      "openai/gpt-4o": { alias: "gpt" }
    } } } }`)
    assert.deepStrictEqual(AgentConfig.userAliases(doc), [["five", "chutes/zai-org/GLM-5-TEE"]])
    const warnings = AgentConfig.warnings(doc)
    assert.deepStrictEqual(warnings.map((w) => [w.kind, w.key]), [
      ["AliasTargetIsAlias", `agents.defaults.models["chutes/chutes-fast"]`],
      ["AliasTargetIsAlias", `agents.defaults.models["chutes/Five"]`],
      ["AliasTargetIsAlias", `agents.defaults.models.myvision`]
    ])
    assert.include(warnings[0]!.message, `the alias "myfast" points at "chutes-fast", which is an alias, not a model`)
    assert.include(warnings[2]!.message, `the alias "myvision" points at "chutes-vision"`)
  })

  it("an entry named after itself is a chain when a built-in alias or another entry has that name", () => {
    const doc = parseOk(`{ agents: { defaults: { models: {
      "chutes/chutes-fast": { alias: "chutes-fast" },
      "chutes/glm": { alias: "glm" },
      "chutes/zai-org/GLM-5-TEE": { alias: "glm" },
      "chutes/solo": { alias: "solo" }
    } } } }`)
    assert.deepStrictEqual(
      AgentConfig.warnings(doc).map((w) => [w.kind, w.key]),
      [
        ["AliasTargetIsAlias", `agents.defaults.models["chutes/chutes-fast"]`],
        ["AliasTargetIsAlias", `agents.defaults.models["chutes/glm"]`]
      ]
    )
    assert.deepStrictEqual(AgentConfig.userAliases(doc), [["glm", "chutes/zai-org/GLM-5-TEE"], ["solo", "chutes/solo"]])
  })

  it("an entry named after itself is no chain when the others that name it are skipped or give it the same model", () => {
    for (const models of [
      `"chutes/foo bar": { alias: "foo" }, "chutes/foo": { alias: "foo" }`,
      `"chutes/foo": { alias: "foo" }, "Chutes/foo": { alias: "foo" }`
    ]) {
      const doc = parseOk(`{ agents: { defaults: { models: { ${models} } } } }`)
      assert.deepStrictEqual(AgentConfig.warnings(doc).filter((w) => w.kind === "AliasTargetIsAlias"), [], models)
      assert.deepStrictEqual(AgentConfig.userAliases(doc), [["foo", "chutes/foo"]], models)
    }
  })

  it("a second alias of the same model through a name that stands for it is no chain", () => {
    for (const models of [
      `"chutes/foo": { alias: "f" }, "foo": { alias: "chutes/foo" }`,
      `"chutes/foo": { alias: "foo" }, "Chutes/foo": { alias: "f" }`
    ]) {
      const doc = parseOk(`{ agents: { defaults: { models: { ${models} } } } }`)
      assert.deepStrictEqual(AgentConfig.warnings(doc).filter((w) => w.kind === "AliasTargetIsAlias"), [], models)
      assert.includeDeepMembers([...AgentConfig.userAliases(doc)], [["f", "chutes/foo"], ["foo", "chutes/foo"]], models)
    }
  })

  it("names that differ only by a joiner or soft hyphen are one alias: the second is a duplicate", () => {
    const doc = parseOk(`{ agents: { defaults: { models: {
      "chutes/zai-org/GLM-5.1-TEE": { alias: "fast" },
      "chutes/unsloth/gemma-3-4b-it": { alias: "fa\u200dst" }
    } } } }`)
    assert.deepStrictEqual(AgentConfig.warnings(doc).map((w) => w.kind), ["DuplicateAlias"])
    assert.deepStrictEqual(AgentConfig.userAliases(doc), [["fast", "chutes/zai-org/GLM-5.1-TEE"]])
    assert.strictEqual(resolvedRef(doc, "fa\u00adst"), "chutes/zai-org/GLM-5.1-TEE")
  })

  it("an alias spelled like a model id, or like its own model, is no chain", () => {
    const doc = parseOk(`{ agents: { defaults: { models: {
      "chutes/zai-org/GLM-4.7-TEE": { alias: "glm" },
      "chutes/deepseek-ai/DeepSeek-V3.2-TEE": { alias: "zai-org/GLM-4.7-TEE" },
      "chutes/zai-org/GLM-5-TEE": { alias: "zai-org/GLM-5-TEE" }
    } } } }`)
    assert.deepStrictEqual(AgentConfig.warnings(doc).filter((w) => w.kind === "AliasTargetIsAlias"), [])
    assert.deepStrictEqual(AgentConfig.userAliases(doc).map(([name]) => name), [
      "glm",
      "zai-org/GLM-4.7-TEE",
      "zai-org/GLM-5-TEE"
    ])
  })
})

describe("AgentConfig service on real files", () => {
  const serviceAt = (configPath: string) =>
    AgentConfig.layer().pipe(Layer.provide(Layer.mergeAll(portableFiles, ChutesSettings.layer({ configPath }))))

  it.live("load: None when the file does not exist", () =>
    Effect.gen(function*() {
      const config = yield* AgentConfig.AgentConfig
      assert.isTrue(Option.isNone(yield* config.load))
    }).pipe(Effect.provide(serviceAt(join(tempDir(), "config.json5")))))

  it.live("save: 0600 file in a 0700 dir, .bak of the previous content (0600), rotated by a second save", () => {
    const dir = join(tempDir(), "state", "nested")
    const path = join(dir, "config.json5")
    return Effect.gen(function*() {
      const config = yield* AgentConfig.AgentConfig
      assert.strictEqual(config.path, path)
      const first = mergeOnboarding(AgentConfig.empty, onboarding).doc
      yield* config.save(first)
      assert.strictEqual(mode(dir), 0o700)
      assert.strictEqual(mode(path), 0o600)
      assert.isFalse(existsSync(`${path}.bak`), "no .bak without a previous file")
      const firstText = readFileSync(path, "utf8")
      assert.strictEqual(firstText, AgentConfig.format(first))

      const loaded = Option.getOrThrow(yield* config.load)
      assert.deepStrictEqual(loaded.root, first.root)
      const second = mergeOnboarding(loaded, { ...onboarding, defaultModel: "chutes/zai-org/GLM-5-TEE" })
        .doc
      yield* config.save(second)
      assert.strictEqual(readFileSync(`${path}.bak`, "utf8"), firstText)
      assert.strictEqual(mode(`${path}.bak`), 0o600)
      assert.strictEqual(mode(path), 0o600)
      const secondText = readFileSync(path, "utf8")

      yield* config.save(mergeOnboarding(second, { ...onboarding, mode: "oauth" }).doc)
      assert.strictEqual(readFileSync(`${path}.bak`, "utf8"), secondText, "the .bak holds the file just replaced")
    }).pipe(Effect.provide(serviceAt(path)))
  })

  it.live("save keeps the seed's content in .bak, comment included, and the merge result loads back", () => {
    const path = join(tempDir(), "config.json5")
    writeFileSync(path, SEED, { mode: 0o644 })
    return Effect.gen(function*() {
      const config = yield* AgentConfig.AgentConfig
      const loaded = Option.getOrThrow(yield* config.load)
      yield* config.save(mergeOnboarding(loaded, onboarding).doc)
      assert.strictEqual(readFileSync(`${path}.bak`, "utf8"), SEED)
      assert.strictEqual(mode(path), 0o600, "a previously 0644 file is replaced by a 0600 one")
      const again = Option.getOrThrow(yield* config.load)
      assert.deepStrictEqual(AgentConfig.userAliases(again).slice(0, 2), [
        ["Chutes GLM 4.7", "chutes/zai-org/GLM-4.7-TEE"],
        ["Chutes DeepSeek V3.2", "chutes/deepseek-ai/DeepSeek-V3.2-TEE"]
      ])
    }).pipe(Effect.provide(serviceAt(path)))
  })

  it.live("a malformed file: load reports the position; save refuses and leaves the bytes unchanged", () => {
    const path = join(tempDir(), "config.json5")
    const broken = `{\n  agents: { defaults: {} },\n  models: { mode: "merge" }\n  auth: {},\n}\n`
    writeFileSync(path, broken, { mode: 0o600 })
    return Effect.gen(function*() {
      const config = yield* AgentConfig.AgentConfig
      const loadError = yield* Effect.flip(config.load)
      assert.strictEqual(loadError.reason, "Parse")
      assert.strictEqual(loadError.path, path)
      assert.strictEqual(loadError.line, 4)
      assert.strictEqual(loadError.column, 3)
      const saveError = yield* Effect.flip(config.save(mergeOnboarding(AgentConfig.empty, onboarding).doc))
      assert.strictEqual(saveError.reason, "Parse")
      assert.strictEqual(saveError.line, 4)
      assert.strictEqual(readFileSync(path, "utf8"), broken)
      assert.isFalse(existsSync(`${path}.bak`))
    }).pipe(Effect.provide(serviceAt(path)))
  })

  it.live("a file broken after it was loaded is not overwritten either", () => {
    const path = join(tempDir(), "config.json5")
    writeFileSync(path, SEED)
    return Effect.gen(function*() {
      const config = yield* AgentConfig.AgentConfig
      const loaded = Option.getOrThrow(yield* config.load)
      writeFileSync(path, "{ oops")
      const error = yield* Effect.flip(config.save(loaded))
      assert.strictEqual(error.reason, "Parse")
      assert.strictEqual(readFileSync(path, "utf8"), "{ oops")
    }).pipe(Effect.provide(serviceAt(path)))
  })

  it.live("an integer past 2^53 (another tool's id without quotes): save refuses, naming it; Infinity is kept", () => {
    const path = join(tempDir(), "config.json5")
    const text = `{\n  // a Discord channel id, not quoted\n  channels: { discord: { id: 1234567890123456789, limit: Infinity } },\n}\n`
    writeFileSync(path, text, { mode: 0o600 })
    return Effect.gen(function*() {
      const config = yield* AgentConfig.AgentConfig
      const loaded = Option.getOrThrow(yield* config.load)
      const error = yield* Effect.flip(config.save(mergeOnboarding(loaded, onboarding).doc))
      assert.strictEqual(error.reason, "Invalid")
      assert.include(error.message, "an integer past 2^53, which JSON may round, at channels.discord.id")
      assert.include(error.message, "Write that number as a string")
      assert.strictEqual(readFileSync(path, "utf8"), text, "the file is as it was")
      assert.isFalse(existsSync(`${path}.bak`))

      // Quoted, it is a string and survives; Infinity and NaN are JSON5 and are written back as they were.
      writeFileSync(path, text.replace("1234567890123456789", `"1234567890123456789"`), { mode: 0o600 })
      yield* config.save(mergeOnboarding(Option.getOrThrow(yield* config.load), onboarding).doc)
      const saved = readFileSync(path, "utf8")
      assert.include(saved, `"1234567890123456789"`)
      assert.match(saved, /limit: Infinity/)
    }).pipe(Effect.provide(serviceAt(path)))
  })

  it.effect("layerMemory refuses the same", () =>
    Effect.gen(function*() {
      const files = AgentConfig.memoryFiles(`{ ids: [9007199254740993] }`)
      const config = yield* Effect.provide(AgentConfig.AgentConfig, AgentConfig.layerMemory(files))
      const loaded = Option.getOrThrow(yield* config.load)
      const error = yield* Effect.flip(config.save(mergeOnboarding(loaded, onboarding).doc))
      assert.include(error.message, "an integer past 2^53, which JSON may round, at ids[0]")
      assert.strictEqual(files.text, `{ ids: [9007199254740993] }`)
    }))

  it.live("no config path: load is None, save fails with a typed error", () =>
    Effect.gen(function*() {
      const config = yield* AgentConfig.AgentConfig
      assert.isTrue(Option.isNone(yield* config.load))
      const error = yield* Effect.flip(config.save(AgentConfig.empty))
      assert.strictEqual(error.reason, "Io")
      assert.include(error.message, "CHUTES_CONFIG_PATH")
    }).pipe(Effect.provide(AgentConfig.layer().pipe(
      Layer.provide(Layer.mergeAll(portableFiles, ChutesSettings.layer({}))) // no state dir, no path
    ))))
})

describe("feeding the provider", () => {
  it.effect("ChutesProvider.resolve honours the aliases of the loaded config, inverted ones included", () =>
    Effect.gen(function*() {
      const aliases = yield* AgentConfig.loadUserAliases
      const resolved = yield* Effect.gen(function*() {
        const provider = yield* ChutesProvider.ChutesProvider
        return [
          yield* provider.resolve("Chutes GLM 4.7"),
          yield* provider.resolve("my-fast")
        ] as const
      }).pipe(Effect.provide(ChutesProvider.layerTest({ aliases })))
      assert.strictEqual(resolved[0].ref, "chutes/zai-org/GLM-4.7-TEE")
      assert.strictEqual(resolved[0].alias?.source, "user")
      assert.strictEqual(resolved[1].ref, FAST)
    }).pipe(Effect.provide(AgentConfig.layerMemory(AgentConfig.memoryFiles(
      SEED.replace("models: {", `models: {\n      "my-fast": { alias: "${FAST}" },`)
    )))))

  it.effect("layerMemory has the file semantics: refuses to save over malformed text, rotates the backup", () =>
    Effect.gen(function*() {
      const files = AgentConfig.memoryFiles("{ broken")
      const config = AgentConfig.layerMemory(files)
      const error = yield* Effect.flip(Effect.flatMap(AgentConfig.AgentConfig, (c) => c.save(AgentConfig.empty)).pipe(
        Effect.provide(config)
      ))
      assert.strictEqual(error.reason, "Parse")
      assert.strictEqual(files.text, "{ broken")
      files.text = SEED
      yield* Effect.flatMap(AgentConfig.AgentConfig, (c) => c.save(AgentConfig.empty)).pipe(Effect.provide(config))
      assert.strictEqual(files.backup, SEED)
      assert.strictEqual(files.text, "{}\n")
      const aliases = yield* AgentConfig.loadUserAliases.pipe(Effect.provide(config))
      assert.deepStrictEqual(aliases, [])
    }))
})
