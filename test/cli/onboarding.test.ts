/**
 * The onboarding merge: what `effect-chutes onboard` writes into a user's agent config, keeping everything else; and
 * what onboarding makes of a question that gets no answer.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import JSON5 from "json5"
import * as AgentConfig from "../../src/AgentConfig.js"
import * as Aliases from "../../src/Aliases.js"
import { PromptError } from "../../src/ChutesError.js"
import * as ChutesSettings from "../../src/ChutesSettings.js"
import * as DefaultModel from "../../src/cli/defaultModel.js"
import { apiKeyFrom } from "../../src/cli/onboard.js"
import * as Onboarding from "../../src/cli/onboarding.js"
import * as ModelCatalog from "../../src/ModelCatalog.js"
import * as OAuthLogin from "../../src/OAuthLogin.js"
import { FAST, INVERTED, onboarding, parseOk, resolvedRef, resolveWith, USER_FILE } from "../support/agentConfig.js"

describe("OpenClaw's inverted aliases", () => {
  it("are repaired by the onboarding merge, other keys of the entry moving along", () => {
    const doc = parseOk(`{ agents: { defaults: { models: {
      "my-pro": { alias: "chutes/deepseek-ai/DeepSeek-V3.2-TEE", params: { temperature: 0.1 } },
      "slow": { alias: "chutes/zai-org/GLM-5-TEE" },
      "chutes/zai-org/GLM-5-TEE": { alias: "five" },
    } } } }`)
    const { changes, doc: merged } = Onboarding.mergeOnboarding(doc, onboarding)
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
    const { doc } = Onboarding.mergeOnboarding(parseOk(INVERTED), onboarding)
    const models = doc.view.agents?.defaults?.models ?? {}
    assert.isUndefined(models["chutes-fast"])
    assert.deepStrictEqual(models[FAST], { alias: "chutes-fast" })
    assert.deepStrictEqual(AgentConfig.warnings(doc), [])
  })
})

describe("mergeOnboarding", () => {
  it("registers a retired model the config names only as a fallback", () => {
    const retired = ModelCatalog.STATIC_MODELS.find((m) => m.status === "deprecated" && m.id.startsWith("deepseek-ai/"))
    assert.isDefined(retired)
    const doc = parseOk(`{ agents: { defaults: { model: { fallbacks: [" Chutes/${retired!.id} ", "openrouter/x/y"] } } } }`)
    const { doc: merged } = Onboarding.mergeOnboarding(doc, onboarding)
    const ids = (JSON.parse(JSON.stringify(merged.root)) as {
      models: { providers: { chutes: { models: ReadonlyArray<{ id: string }> } } }
    }).models.providers.chutes.models.map((m) => m.id)
    assert.include(ids, retired!.id)
    const plain = Onboarding.mergeOnboarding(parseOk("{}"), onboarding).doc
    const plainIds = (JSON.parse(JSON.stringify(plain.root)) as {
      models: { providers: { chutes: { models: ReadonlyArray<{ id: string }> } } }
    }).models.providers.chutes.models.map((m) => m.id)
    assert.notInclude(plainIds, retired!.id, "named by nothing, it is left out")
  })


  it("keeps user aliases, fallbacks, other providers and unknown keys; adds the built-ins as ref -> { alias }", () => {
    const before = parseOk(USER_FILE)
    const snapshot = JSON.stringify(before.root)
    const { changes, doc } = Onboarding.mergeOnboarding(before, onboarding)
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
    assert.strictEqual(models.providers.chutes.baseUrl, ChutesSettings.DEFAULT_BASE_URL)
    assert.strictEqual(models.providers.chutes.api, "openai-completions")
    // The static catalog's retired models are not offered (the service no longer serves them), except those the
    // config names: every model the primary, an alias or a fallback names is registered.
    const named = new Set([
      ModelCatalog.DEFAULT_MODEL_REF,
      "chutes/deepseek-ai/DeepSeek-V3.2-TEE",
      ...Object.keys(agents.defaults.models)
    ])
    const served = ModelCatalog.STATIC_MODELS.filter((m) => m.status !== "deprecated" || named.has(`chutes/${m.id}`))
    assert.isBelow(served.length, ModelCatalog.STATIC_MODELS.length, "the built-in catalog has retired models")
    const registered = models.providers.chutes.models.map((m: { id: string }) => m.id)
    assert.deepStrictEqual(registered, served.map((m) => m.id))
    for (const ref of Object.keys(agents.defaults.models).filter((key) => key.startsWith("chutes/"))) {
      if (ModelCatalog.STATIC_MODELS.some((m) => `chutes/${m.id}` === ref)) {
        assert.include(registered, ref.slice("chutes/".length), `${ref} is named by the config and registered`)
      }
    }
    assert.include(registered, ModelCatalog.DEFAULT_MODEL_REF.slice("chutes/".length))
    const retired = ModelCatalog.STATIC_MODELS.length - served.length
    assert.isTrue(
      changes.some((c) => c.includes(`${served.length} models`) && c.includes(`${retired} retired model(s) left out`)),
      changes.join("\n")
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
    const { doc } = Onboarding.mergeOnboarding(AgentConfig.empty, onboarding)
    assert.deepStrictEqual(AgentConfig.userAliases(doc), Aliases.BUILTIN_ALIASES)
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
    const merged = Onboarding.mergeOnboarding(doc, onboarding)
    assert.isUndefined(merged.doc.view.agents?.defaults?.models?.[FAST])
    assert.strictEqual(resolvedRef(merged.doc, "chutes-fast"), "chutes/zai-org/GLM-5-TEE")
    assert.isTrue(merged.changes.some((line) => line.startsWith(`kept your alias "chutes-fast"`)))
  })

  it("writes the catalog in OpenClaw's model format", () => {
    const kimi = ModelCatalog.STATIC_MODELS.find((m) => m.id === "moonshotai/Kimi-K2.5-TEE")!
    assert.deepStrictEqual(Onboarding.toProviderModel(kimi), {
      id: "moonshotai/Kimi-K2.5-TEE",
      name: "moonshotai/Kimi-K2.5-TEE",
      reasoning: true,
      input: ["text", "image"],
      cost: { input: 0.44, output: 2.0 },
      contextWindow: 262144,
      maxTokens: 65535
    })
    const bare = Onboarding.toProviderModel({
      id: "x/y",
      name: "y",
      contextWindow: 1000,
      input: ["text"],
      reasoning: false
    })
    assert.deepStrictEqual(bare, { id: "x/y", name: "y", reasoning: false, input: ["text"], contextWindow: 1000 })
  })

  it("sets models.mode to merge only when unset, and turns a bare string model into { primary }", () => {
    const { doc } = Onboarding.mergeOnboarding(parseOk(`{ agents: { defaults: { model: "openai/gpt-4o" } } }`), {
      ...onboarding,
      mode: "oauth",
      profileId: "chutes:alice"
    })
    assert.deepStrictEqual(doc.view.agents?.defaults?.model, { primary: ModelCatalog.DEFAULT_MODEL_REF })
    assert.strictEqual(doc.view.models?.mode, "merge")
    assert.deepStrictEqual(AgentConfig.authProfiles(doc), { "chutes:alice": { provider: "chutes", mode: "oauth" } })
  })
})

describe("onboarding's prompts (PromptError)", () => {
  const endedAnswers = { answers: () => Effect.fail(new PromptError({ reason: "InputEnded" })) }
  const prompterWith = (options: OAuthLogin.PrompterTestOptions) =>
    Effect.provide(OAuthLogin.Prompter, OAuthLogin.Prompter.layerTest(options))

  it.effect("an API-key prompt that ends is \"no key entered\" (CredentialsError Missing), saying why", () =>
    Effect.gen(function*() {
      const prompter = yield* prompterWith(endedAnswers)
      const error = yield* Effect.flip(
        apiKeyFrom(Option.none(), prompter).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      )
      assert.strictEqual(error._tag, "CredentialsError")
      if (error._tag !== "CredentialsError") return
      assert.strictEqual(error.reason, "Missing")
      assert.strictEqual(error.source, "prompt")
      assert.include(error.message, "the input ended before an answer was given")
      // The confirmation of CHUTES_API_KEY too.
      const confirm = yield* Effect.flip(
        apiKeyFrom(Option.none(), prompter).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CHUTES_API_KEY", "cpk_test_0000000000000000"]])))
        )
      )
      assert.strictEqual(confirm._tag, "CredentialsError")
      if (confirm._tag === "CredentialsError") assert.include(confirm.message, "the input ended")
    }))

  it.effect("the default-model question passes the PromptError on (the CLI exits 2 with it)", () =>
    Effect.gen(function*() {
      const prompter = yield* prompterWith(endedAnswers)
      const error = yield* Effect.flip(DefaultModel.choose({
        input: undefined,
        catalog: ModelCatalog.makeSnapshot({ source: "static", models: ModelCatalog.STATIC_MODELS }),
        userAliases: new Map(),
        followSuccessors: true,
        prompter
      }))
      assert.strictEqual(error._tag, "PromptError")
      if (error._tag === "PromptError") assert.strictEqual(error.reason, "InputEnded")
    }))
})
