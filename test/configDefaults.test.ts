/**
 * The library reads the agent config as the CLI does: an app on `NodeChutes.layer()` over a state directory where
 * onboarding wrote `config.json5` gets its user aliases, default model and `followSuccessors`; options given in code
 * win, and say so; a broken config is said once and ignored.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AgentConfig from "../src/AgentConfig.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import { mergeOnboarding } from "../src/cli/onboarding.js"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as NodeChutes from "../src/node/NodeChutes.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import * as Capture from "./support/capture.js"

/** A state directory holding the config onboarding writes, plus one user alias of the user's own. */
const onboardedStateDir = (edit: (text: string) => string = (text) => text): string => {
  const stateDir = join(mkdtempSync(join(tmpdir(), "chutes-config-")), "state")
  mkdirSync(stateDir, { mode: 0o700 })
  const merged = mergeOnboarding(AgentConfig.empty, {
    defaultModel: "chutes/zai-org/GLM-5.1-TEE",
    baseUrl: "http://127.0.0.1:1/v1",
    models: ModelCatalog.STATIC_MODELS,
    profileId: "chutes:default",
    mode: "api_key"
  })
  const withAlias = AgentConfig.format(merged.doc).replace(
    `"chutes/zai-org/GLM-5.1-TEE": {}`,
    `"chutes/zai-org/GLM-5.1-TEE": { alias: "My GLM" }`
  )
  writeFileSync(join(stateDir, "config.json5"), edit(withAlias), { mode: 0o600 })
  return stateDir
}

const resolveWith = (
  fake: FakeChutes.FakeChutesServer,
  stateDir: string,
  options: Partial<ChutesProvider.LayerOptions> = {}
) =>
  Effect.flatMap(ChutesProvider.ChutesProvider, (chutes) =>
    Effect.all({
      mine: Effect.either(chutes.resolve("my glm")),
      fast: chutes.resolve("chutes-fast"),
      defaultModel: chutes.resolveDefault
    })).pipe(
      Effect.provide(NodeChutes.layer({
        credential: { apiKey: Redacted.make(fake.apiKey) },
        ...options,
        settings: { baseUrl: fake.baseUrl, stateDir, diskCachePath: false, ...options.settings }
      }))
    )

describe("NodeChutes.layer() and the agent config", () => {
  it.scopedLive("resolves the user alias and default model that onboarding wrote, as the CLI does", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ models: FakeChutes.capturedModels("2026-08-06") })
      const result = yield* resolveWith(fake, onboardedStateDir()).pipe(Effect.provide(Capture.layer(Capture.make())))
      assert.isTrue(result.mine._tag === "Right" && result.mine.right.ref === "chutes/zai-org/GLM-5.1-TEE")
      assert.strictEqual(result.defaultModel.ref, "chutes/zai-org/GLM-5.1-TEE")
      // The built-in alias onboarding copied into the config still follows its successor.
      assert.strictEqual(result.fast.ref, "chutes/deepseek-ai/DeepSeek-V4-Flash-0731-TEE")
      assert.strictEqual(result.fast.alias?.source, "builtin")
    }))

  it.scopedLive("options given in code win over the config, and say so once", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ models: FakeChutes.capturedModels("2026-08-06") })
      const capture = Capture.make()
      const result = yield* resolveWith(fake, onboardedStateDir(), {
        aliases: { "my glm": "chutes/zai-org/GLM-5.2-TEE" },
        defaultModel: "chutes/deepseek-ai/DeepSeek-V3.2-TEE"
      }).pipe(Effect.provide(Capture.layer(capture)))
      assert.isTrue(result.mine._tag === "Right" && result.mine.right.ref === "chutes/zai-org/GLM-5.2-TEE")
      assert.strictEqual(result.defaultModel.ref, "chutes/deepseek-ai/DeepSeek-V3.2-TEE")
      const lines = capture.entries.filter((entry) => entry.where.startsWith("message")).map((entry) => entry.text)
      assert.strictEqual(lines.filter((line) => line.startsWith(`alias "My GLM": the one given in code`)).length, 1)
      assert.strictEqual(lines.filter((line) => line.startsWith("default model: the one given in code")).length, 1)
    }))

  it.scopedLive("followSuccessors: false in the config keeps the documented targets; readConfig: false ignores it", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ models: FakeChutes.capturedModels("2026-08-06") })
      const pinned = onboardedStateDir((text) =>
        text.replace(`api: "openai-completions",`, `api: "openai-completions", followSuccessors: false,`)
      )
      const quiet = Capture.layer(Capture.make())
      const result = yield* resolveWith(fake, pinned).pipe(Effect.provide(quiet))
      assert.strictEqual(result.fast.ref, "chutes/zai-org/GLM-4.7-FP8")
      const ignored = yield* resolveWith(fake, pinned, { readConfig: false }).pipe(Effect.provide(quiet))
      assert.strictEqual(ignored.fast.ref, "chutes/deepseek-ai/DeepSeek-V4-Flash-0731-TEE")
      assert.strictEqual(ignored.mine._tag, "Left")
      assert.strictEqual(ignored.defaultModel.ref, "chutes/zai-org/GLM-5.2-TEE")
    }))

  it.scopedLive("a broken config is said once and ignored: the provider still works", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ models: FakeChutes.capturedModels("2026-08-06") })
      const capture = Capture.make()
      const broken = onboardedStateDir(() => "{ agents: ")
      const result = yield* resolveWith(fake, broken).pipe(Effect.provide(Capture.layer(capture)))
      assert.strictEqual(result.defaultModel.ref, "chutes/zai-org/GLM-5.2-TEE")
      const lines = capture.entries.filter((entry) => entry.where.startsWith("message")).map((entry) => entry.text)
      assert.strictEqual(lines.filter((line) => line.endsWith("its aliases and default model are ignored")).length, 1)
    }))
})
