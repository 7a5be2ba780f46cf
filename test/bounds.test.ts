/**
 * Nothing the SDK handles grows a call stack with the size of its input: listings and config checks over very large
 * inputs (still under the discovery size cap) finish with a result or a typed error.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as AgentConfig from "../src/AgentConfig.js"
import * as ModelCatalog from "../src/ModelCatalog.js"

describe("large inputs", () => {
  it("a table of 150,000 models (what an 8 MiB catalog can hold) renders", () => {
    const models = Array.from({ length: 150_000 }, (_, i): ModelCatalog.ModelDefinition => ({
      id: `acme/model-${i}`,
      name: `acme/model-${i}`,
      contextWindow: 1000,
      input: ["text"],
      reasoning: false
    }))
    const table = ModelCatalog.formatTable(models)
    assert.strictEqual(table.split("\n").length, 150_002)
  })

  it("a config with 150,000 bad entries is a typed error, not a stack overflow", () => {
    const entries = Array.from({ length: 150_000 }, (_, i) => `"chutes/m${i}": { alias: ${i} }`).join(",")
    const result = AgentConfig.parse(`{ agents: { defaults: { models: { ${entries} } } } }`, "big.json5")
    assert.isTrue(Either.isLeft(result) && result.left._tag === "ConfigError")
  })
})
