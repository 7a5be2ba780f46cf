import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import JSON5 from "json5"
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AgentConfig from "../src/AgentConfig.js"
import { ConfigError } from "../src/ChutesError.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as ModelRef from "../src/ModelRef.js"

const SEED = readFileSync(new URL("./fixtures/seed-config.json5", import.meta.url), "utf8")
const FAST = "chutes/zai-org/GLM-4.7-FP8"

const tempDir = () => mkdtempSync(join(tmpdir(), "chutes-config-"))
const mode = (path: string) => statSync(path).mode & 0o777

const parseOk = (text: string): AgentConfig.AgentConfigDocument =>
  Either.getOrThrowWith(AgentConfig.parse(text, "test.json5"), (error) => new Error(error.message))

const parseError = (text: string): ConfigError =>
  Either.match(AgentConfig.parse(text, "test.json5"), {
    onLeft: (error) => error,
    onRight: () => assert.fail("expected a ConfigError")
  })

const onboarding: AgentConfig.OnboardingOptions = {
  defaultModel: ModelCatalog.DEFAULT_MODEL_REF,
  baseUrl: ModelCatalog.DEFAULT_BASE_URL,
  models: ModelCatalog.STATIC_MODELS,
  profileId: "chutes:default",
  mode: "api_key"
}

const resolveWith = (doc: AgentConfig.AgentConfigDocument, input: string) => {
  const user = ModelRef.makeUserAliases(AgentConfig.userAliases(doc))
  assert.deepStrictEqual(user.invalid, [])
  return ModelRef.resolve(input, { ids: ModelCatalog.staticSnapshot().byId, userAliases: user.aliases })
}

const resolvedRef = (doc: AgentConfig.AgentConfigDocument, input: string): string =>
  Either.match(resolveWith(doc, input), { onLeft: (error) => `error: ${error.message}`, onRight: (r) => r.ref })

/** A user's existing file: own aliases (one on the chutes-fast target), fallbacks, another provider, unknown keys. */
const USER_FILE = `// my agent config
{
  agents: {
    defaults: {
      model: { primary: "openai/gpt-4o", fallbacks: ["chutes/deepseek-ai/DeepSeek-V3.2-TEE", "openai/gpt-4o-mini"],
               thinking: "low" },
      models: {
        "chutes/zai-org/GLM-4.7-FP8": { alias: "glm-quick", params: { temperature: 0.2 } },
        "chutes/moonshotai/Kimi-K2.5-TEE": { alias: "kimi" },
        "openai/gpt-4o": { alias: "gpt" },
      },
      workspace: "~/agent",
    },
    list: [{ id: "main" }],
  },
  models: {
    mode: "replace",
    providers: {
      openai: { baseUrl: "https://api.openai.com/v1", api: "openai-responses",
                models: [{ id: "gpt-4o", name: "GPT-4o" }] },
      chutes: { headers: { "X-Team": "blue" }, baseUrl: "https://old.example/v1", models: [{ id: "old-model" }] },
    },
  },
  auth: { profiles: { "openai:me": { provider: "openai", mode: "api_key" } }, order: { openai: ["openai:me"] } },
  channels: { telegram: { enabled: true } },
}
`

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
  const INVERTED = `{ agents: { defaults: { models: {
    "chutes-fast": { alias: "chutes/zai-org/GLM-4.7-FP8" },
    "chutes/zai-org/GLM-4.7-TEE": { alias: "main" },
    "my-pro": { alias: "chutes/deepseek-ai/DeepSeek-V3.2-TEE" },
  } } } }`

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

  it("are repaired by the onboarding merge, other keys of the entry moving along", () => {
    const doc = parseOk(`{ agents: { defaults: { models: {
      "my-pro": { alias: "chutes/deepseek-ai/DeepSeek-V3.2-TEE", params: { temperature: 0.1 } },
      "slow": { alias: "chutes/zai-org/GLM-5-TEE" },
      "chutes/zai-org/GLM-5-TEE": { alias: "five" },
    } } } }`)
    const { changes, doc: merged } = AgentConfig.mergeOnboarding(doc, onboarding)
    const models = merged.view.agents?.defaults?.models ?? {}
    assert.isUndefined(models["my-pro"])
    assert.deepStrictEqual(merged.root["agents"], {
      defaults: {
        model: { primary: ModelCatalog.DEFAULT_MODEL_REF },
        models: {
          // The target already had an alias: the inverted entry stays (and keeps resolving).
          "slow": { alias: "chutes/zai-org/GLM-5-TEE" },
          "chutes/zai-org/GLM-5-TEE": { alias: "five" },
          "chutes/deepseek-ai/DeepSeek-V3.2-TEE": { alias: "my-pro", params: { temperature: 0.1 } },
          [FAST]: { alias: "chutes-fast" },
          "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506": { alias: "chutes-vision" },
          [ModelCatalog.DEFAULT_MODEL_REF]: {}
        }
      }
    })
    const has = (prefix: string) => changes.some((line) => line.startsWith(prefix))
    assert.isTrue(has(`repaired the inverted alias agents.defaults.models["my-pro"]`))
    assert.isTrue(has(`kept your alias "my-pro" for chutes/deepseek-ai/DeepSeek-V3.2-TEE`))
    assert.isTrue(has(`kept the inverted entry agents.defaults.models.slow: chutes/zai-org/GLM-5-TEE already has`))
    assert.strictEqual(resolvedRef(merged, "my-pro"), "chutes/deepseek-ai/DeepSeek-V3.2-TEE")
    assert.strictEqual(resolvedRef(merged, "slow"), "chutes/zai-org/GLM-5-TEE")
    assert.strictEqual(resolvedRef(merged, "chutes-fast"), FAST)
  })

  it("an OpenClaw-written chutes-fast entry ends up in the right orientation", () => {
    const { doc } = AgentConfig.mergeOnboarding(parseOk(INVERTED), onboarding)
    const models = doc.view.agents?.defaults?.models ?? {}
    assert.isUndefined(models["chutes-fast"])
    assert.deepStrictEqual(models[FAST], { alias: "chutes-fast" })
    assert.deepStrictEqual(AgentConfig.warnings(doc), [])
  })
})

describe("mergeOnboarding", () => {
  it("keeps user aliases, fallbacks, other providers and unknown keys; adds the built-ins as ref -> { alias }", () => {
    const before = parseOk(USER_FILE)
    const snapshot = JSON.stringify(before.root)
    const { changes, doc } = AgentConfig.mergeOnboarding(before, onboarding)
    assert.strictEqual(JSON.stringify(before.root), snapshot, "the input is not modified")

    const root = doc.root
    // Unknown top-level and nested keys.
    assert.deepStrictEqual(root["channels"], { telegram: { enabled: true } })
    const agents = JSON5.parse(JSON.stringify(root["agents"]))
    assert.deepStrictEqual(agents.list, [{ id: "main" }])
    assert.strictEqual(agents.defaults.workspace, "~/agent")
    // Primary set; fallbacks and the model object's other keys kept.
    assert.deepStrictEqual(agents.defaults.model, {
      primary: ModelCatalog.DEFAULT_MODEL_REF,
      fallbacks: ["chutes/deepseek-ai/DeepSeek-V3.2-TEE", "openai/gpt-4o-mini"],
      thinking: "low"
    })
    // The user's alias on the chutes-fast target wins; the other built-ins are added in ref -> { alias } orientation.
    assert.deepStrictEqual(agents.defaults.models, {
      [FAST]: { alias: "glm-quick", params: { temperature: 0.2 } },
      "chutes/moonshotai/Kimi-K2.5-TEE": { alias: "kimi" },
      "openai/gpt-4o": { alias: "gpt" },
      "chutes/deepseek-ai/DeepSeek-V3.2-TEE": { alias: "chutes-pro" },
      "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506": { alias: "chutes-vision" },
      [ModelCatalog.DEFAULT_MODEL_REF]: {}
    })
    assert.isUndefined(agents.defaults.models["chutes-fast"], "never the inverted orientation")
    // Other providers and models.mode kept; chutes registered with its unknown keys kept.
    const models = JSON5.parse(JSON.stringify(root["models"]))
    assert.strictEqual(models.mode, "replace")
    assert.deepStrictEqual(models.providers.openai, {
      baseUrl: "https://api.openai.com/v1",
      api: "openai-responses",
      models: [{ id: "gpt-4o", name: "GPT-4o" }]
    })
    assert.deepStrictEqual(models.providers.chutes.headers, { "X-Team": "blue" })
    assert.strictEqual(models.providers.chutes.baseUrl, ModelCatalog.DEFAULT_BASE_URL)
    assert.strictEqual(models.providers.chutes.api, "openai-completions")
    assert.deepStrictEqual(
      models.providers.chutes.models.map((m: { id: string }) => m.id),
      ModelCatalog.STATIC_MODELS.map((m) => m.id)
    )
    // Auth profiles of other providers and other auth keys kept.
    assert.deepStrictEqual(root["auth"], {
      profiles: {
        "openai:me": { provider: "openai", mode: "api_key" },
        "chutes:default": { provider: "chutes", mode: "api_key" }
      },
      order: { openai: ["openai:me"] }
    })
    assert.isTrue(changes.includes(`agents.defaults.model.primary: openai/gpt-4o -> ${ModelCatalog.DEFAULT_MODEL_REF}`))
    assert.isTrue(changes.some((line) => line.startsWith(`kept your alias "glm-quick" for ${FAST}`)))
    assert.isTrue(changes.includes(`added alias "chutes-pro" -> chutes/deepseek-ai/DeepSeek-V3.2-TEE`))
    assert.isTrue(changes.some((line) => line.startsWith("kept the other providers: openai")))
  })

  it("makes the built-in aliases resolvable from the written config", () => {
    const { doc } = AgentConfig.mergeOnboarding(AgentConfig.empty, onboarding)
    assert.deepStrictEqual(AgentConfig.userAliases(doc), ModelCatalog.BUILTIN_ALIASES)
    assert.deepStrictEqual(AgentConfig.warnings(doc), [], "written in the ref -> { alias } orientation, not inverted")
    assert.deepStrictEqual(doc.view.agents?.defaults?.models?.[FAST], { alias: "chutes-fast" })
    const resolved = Either.getOrThrow(resolveWith(doc, "chutes-fast"))
    assert.strictEqual(resolved.ref, FAST)
    // An entry that repeats a built-in alias is the built-in (so it keeps following its target's successor).
    assert.strictEqual(resolved.alias?.source, "builtin")
    assert.isTrue(resolved.known)
    // And through a save / load round trip of the text.
    const reloaded = parseOk(AgentConfig.format(doc))
    assert.strictEqual(resolvedRef(reloaded, "CHUTES-FAST"), FAST)
    assert.deepStrictEqual(reloaded.root, doc.root)
  })

  it("keeps a user's own use of a built-in alias name for another ref", () => {
    const doc = parseOk(`{ agents: { defaults: { models: {
      "chutes/zai-org/GLM-5-TEE": { alias: "Chutes-Fast" },
    } } } }`)
    const merged = AgentConfig.mergeOnboarding(doc, onboarding)
    assert.isUndefined(merged.doc.view.agents?.defaults?.models?.[FAST])
    assert.strictEqual(resolvedRef(merged.doc, "chutes-fast"), "chutes/zai-org/GLM-5-TEE")
    assert.isTrue(merged.changes.some((line) => line.startsWith(`kept your alias "chutes-fast"`)))
  })

  it("writes the catalog in OpenClaw's model format", () => {
    const kimi = ModelCatalog.STATIC_MODELS.find((m) => m.id === "moonshotai/Kimi-K2.5-TEE")!
    assert.deepStrictEqual(AgentConfig.toProviderModel(kimi), {
      id: "moonshotai/Kimi-K2.5-TEE",
      name: "moonshotai/Kimi-K2.5-TEE",
      reasoning: true,
      input: ["text", "image"],
      cost: { input: 0.44, output: 2.0 },
      contextWindow: 262144,
      maxTokens: 65535
    })
    const bare = AgentConfig.toProviderModel({
      id: "x/y",
      name: "y",
      contextWindow: 1000,
      input: ["text"],
      reasoning: false
    })
    assert.deepStrictEqual(bare, { id: "x/y", name: "y", reasoning: false, input: ["text"], contextWindow: 1000 })
  })

  it("sets models.mode to merge only when unset, and turns a bare string model into { primary }", () => {
    const { doc } = AgentConfig.mergeOnboarding(parseOk(`{ agents: { defaults: { model: "openai/gpt-4o" } } }`), {
      ...onboarding,
      mode: "oauth",
      profileId: "chutes:alice"
    })
    assert.deepStrictEqual(doc.view.agents?.defaults?.model, { primary: ModelCatalog.DEFAULT_MODEL_REF })
    assert.strictEqual(doc.view.models?.mode, "merge")
    assert.deepStrictEqual(AgentConfig.authProfiles(doc), { "chutes:alice": { provider: "chutes", mode: "oauth" } })
  })
})

describe("AgentConfig service on real files", () => {
  const serviceAt = (configPath: string) =>
    AgentConfig.layer.pipe(Layer.provide(Layer.mergeAll(NodeFileSystem.layer, ChutesSettings.layer({ configPath }))))

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
      const first = AgentConfig.mergeOnboarding(AgentConfig.empty, onboarding).doc
      yield* config.save(first)
      assert.strictEqual(mode(dir), 0o700)
      assert.strictEqual(mode(path), 0o600)
      assert.isFalse(existsSync(`${path}.bak`), "no .bak without a previous file")
      const firstText = readFileSync(path, "utf8")
      assert.strictEqual(firstText, AgentConfig.format(first))

      const loaded = Option.getOrThrow(yield* config.load)
      assert.deepStrictEqual(loaded.root, first.root)
      const second = AgentConfig.mergeOnboarding(loaded, { ...onboarding, defaultModel: "chutes/zai-org/GLM-5-TEE" })
        .doc
      yield* config.save(second)
      assert.strictEqual(readFileSync(`${path}.bak`, "utf8"), firstText)
      assert.strictEqual(mode(`${path}.bak`), 0o600)
      assert.strictEqual(mode(path), 0o600)
      const secondText = readFileSync(path, "utf8")

      yield* config.save(AgentConfig.mergeOnboarding(second, { ...onboarding, mode: "oauth" }).doc)
      assert.strictEqual(readFileSync(`${path}.bak`, "utf8"), secondText, "the .bak holds the file just replaced")
    }).pipe(Effect.provide(serviceAt(path)))
  })

  it.live("save keeps the seed's content in .bak, comment included, and the merge result loads back", () => {
    const path = join(tempDir(), "config.json5")
    writeFileSync(path, SEED, { mode: 0o644 })
    return Effect.gen(function*() {
      const config = yield* AgentConfig.AgentConfig
      const loaded = Option.getOrThrow(yield* config.load)
      yield* config.save(AgentConfig.mergeOnboarding(loaded, onboarding).doc)
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
      const saveError = yield* Effect.flip(config.save(AgentConfig.mergeOnboarding(AgentConfig.empty, onboarding).doc))
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

  it.live("no config path: load is None, save fails with a typed error", () =>
    Effect.gen(function*() {
      const config = yield* AgentConfig.AgentConfig
      assert.isTrue(Option.isNone(yield* config.load))
      const error = yield* Effect.flip(config.save(AgentConfig.empty))
      assert.strictEqual(error.reason, "Io")
      assert.include(error.message, "CHUTES_CONFIG_PATH")
    }).pipe(Effect.provide(AgentConfig.layer.pipe(
      Layer.provide(Layer.mergeAll(NodeFileSystem.layer, ChutesSettings.layer({}))) // no state dir, no path
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
