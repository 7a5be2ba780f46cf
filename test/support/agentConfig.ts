/**
 * Fixtures shared by the config tests (`test/AgentConfig.test.ts`) and the onboarding merge tests
 * (`test/cli/onboarding.test.ts`).
 */
import { assert } from "@effect/vitest"
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import * as AgentConfig from "../../src/AgentConfig.js"
import * as ChutesSettings from "../../src/ChutesSettings.js"
import type { OnboardingOptions } from "../../src/cli/onboarding.js"
import * as ModelCatalog from "../../src/ModelCatalog.js"
import * as ModelRef from "../../src/ModelRef.js"

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8")

/** The seed's example config. */
export const SEED = fixture("seed-config.json5")

/** A user's existing file: own aliases (one on the chutes-fast target), fallbacks, another provider, unknown keys. */
export const USER_FILE = fixture("user-config.json5")

/** OpenClaw's inverted alias entries (alias name -> { alias: ref }) next to a well-formed one. */
export const INVERTED = `{ agents: { defaults: { models: {
    "chutes-fast": { alias: "chutes/zai-org/GLM-4.7-FP8" },
    "chutes/zai-org/GLM-4.7-TEE": { alias: "main" },
    "my-pro": { alias: "chutes/deepseek-ai/DeepSeek-V3.2-TEE" },
  } } } }`

/** The target of the built-in `chutes-fast` alias. */
export const FAST = "chutes/zai-org/GLM-4.7-FP8"

export const parseOk = (text: string): AgentConfig.AgentConfigDocument =>
  Either.getOrThrowWith(AgentConfig.parse(text, "test.json5"), (error) => new Error(error.message))

/** What onboarding with an API key and the static catalog merges in. */
export const onboarding: OnboardingOptions = {
  defaultModel: ModelCatalog.DEFAULT_MODEL_REF,
  baseUrl: ChutesSettings.DEFAULT_BASE_URL,
  models: ModelCatalog.STATIC_MODELS,
  profileId: "chutes:default",
  mode: "api_key"
}

export const resolveWith = (doc: AgentConfig.AgentConfigDocument, input: string) => {
  const user = ModelRef.makeUserAliases(AgentConfig.userAliases(doc))
  assert.deepStrictEqual(user.invalid, [])
  return ModelRef.resolve(input, { ids: ModelCatalog.staticSnapshot().byId, userAliases: user.aliases })
}

export const resolvedRef = (doc: AgentConfig.AgentConfigDocument, input: string): string =>
  Either.match(resolveWith(doc, input), { onLeft: (error) => `error: ${error.message}`, onRight: (r) => r.ref })
