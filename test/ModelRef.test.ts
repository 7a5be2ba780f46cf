import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Aliases from "../src/Aliases.js"
import { InvalidModelRef, UnknownModel } from "../src/ChutesError.js"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as ModelRef from "../src/ModelRef.js"

const staticIds = ModelCatalog.staticSnapshot().byId

describe("ModelRef.parse", () => {
  const valid: ReadonlyArray<readonly [string, string]> = [
    ["chutes/zai-org/GLM-4.7-TEE", "chutes/zai-org/GLM-4.7-TEE"],
    ["  chutes/zai-org/GLM-4.7-TEE\t", "chutes/zai-org/GLM-4.7-TEE"],
    ["CHUTES/zai-org/GLM-4.7-TEE", "chutes/zai-org/GLM-4.7-TEE"],
    ["Chutes/deepseek-ai/DeepSeek-V3.2-TEE", "chutes/deepseek-ai/DeepSeek-V3.2-TEE"],
    ["chutes/a/b/c", "chutes/a/b/c"],
    ["chutes/plain-id", "chutes/plain-id"]
  ]
  for (const [input, expected] of valid) {
    it(`accepts ${JSON.stringify(input)}`, () => {
      const parsed = ModelRef.parse(input)
      assert.isTrue(Either.isRight(parsed))
      if (Either.isRight(parsed)) {
        assert.strictEqual(parsed.right, expected)
        assert.strictEqual(ModelRef.modelId(parsed.right), expected.slice("chutes/".length))
      }
    })
  }

  it("keeps the model id case-sensitive", () => {
    const parsed = Either.getOrThrow(ModelRef.parse("chutes/Zai-Org/glm-4.7-tee"))
    assert.strictEqual(ModelRef.modelId(parsed), "Zai-Org/glm-4.7-tee")
  })

  const invalid: ReadonlyArray<readonly [string, InvalidModelRef["reason"], string]> = [
    ["", "Empty", "Model ref is empty"],
    ["   ", "Empty", "Model ref is empty"],
    ["chutes/", "EmptyId", "has no model id"],
    ["chutes/a/" + "x".repeat(ModelRef.MAX_MODEL_ID_LENGTH - 1), "TooLong", "longer than 256 characters"],
    ["chutes/zai-org/GLM 4.7", "Whitespace", "contains whitespace"],
    ["chutes/zai\u0000org", "ControlCharacter", "control character"],
    ["chutes/zai\u001b[31m", "ControlCharacter", "control character"],
    ["openai/gpt-4o", "WrongProvider", `names provider "openai", not "chutes"`],
    ["/zai-org/GLM-4.7-TEE", "MissingProvider", "has no provider"],
    ["GLM-4.7-TEE", "MissingProvider", "has no provider"]
  ]
  it("accepts an id of exactly MAX_MODEL_ID_LENGTH characters; quotes a long input cut short", () => {
    assert.isTrue(Either.isRight(ModelRef.parse("chutes/a/" + "x".repeat(ModelRef.MAX_MODEL_ID_LENGTH - 2))))
    const parsed = ModelRef.parse("chutes/" + "A".repeat(100_000))
    assert.isTrue(Either.isLeft(parsed) && parsed.left.reason === "TooLong")
    if (Either.isLeft(parsed)) assert.isBelow(parsed.left.message.length, 300)
  })

  for (const [input, reason, text] of invalid) {
    it(`refuses ${JSON.stringify(input)} with ${reason}`, () => {
      const parsed = ModelRef.parse(input)
      assert.isTrue(Either.isLeft(parsed))
      if (Either.isLeft(parsed)) {
        assert.instanceOf(parsed.left, InvalidModelRef)
        assert.strictEqual(parsed.left.reason, reason)
        assert.include(parsed.left.message, text)
        assert.include(parsed.left.message, `expected "chutes/<model-id>"`)
      }
    })
  }
})

describe("ModelRef.resolve", () => {
  const resolve = (input: string, userAliases?: ModelRef.AliasTable) =>
    ModelRef.resolve(input, { ids: staticIds, userAliases })

  it("resolves every built-in alias in any case", () => {
    for (const [name, ref] of Aliases.BUILTIN_ALIASES) {
      for (const variant of [name, name.toUpperCase(), ` ${name[0]!.toUpperCase()}${name.slice(1)} `]) {
        const resolved = Either.getOrThrow(resolve(variant))
        assert.strictEqual(resolved.ref, ref)
        assert.strictEqual(resolved.via, "alias")
        assert.strictEqual(resolved.alias?.source, "builtin")
        assert.isTrue(resolved.known, `${ref} is in the static catalog`)
      }
    }
  })

  it("resolves chutes-fast to GLM-4.7-FP8", () => {
    assert.strictEqual(Either.getOrThrow(resolve("chutes-fast")).ref, "chutes/zai-org/GLM-4.7-FP8")
  })

  it("resolves a user alias with spaces, case-insensitively", () => {
    const { aliases } = ModelRef.makeUserAliases([["Chutes GLM 4.7", "chutes/zai-org/GLM-4.7-TEE"]])
    const resolved = Either.getOrThrow(resolve("chutes glm 4.7", aliases))
    assert.strictEqual(resolved.ref, "chutes/zai-org/GLM-4.7-TEE")
    assert.strictEqual(resolved.alias?.name, "Chutes GLM 4.7")
    assert.strictEqual(resolved.alias?.source, "user")
  })

  it("lets a user alias win over a built-in of the same name, and says so", () => {
    const { aliases } = ModelRef.makeUserAliases([["chutes-pro", "chutes/zai-org/GLM-5-TEE"]])
    const resolved = Either.getOrThrow(resolve("CHUTES-PRO", aliases))
    assert.strictEqual(resolved.ref, "chutes/zai-org/GLM-5-TEE")
    assert.strictEqual(resolved.shadowed?.ref, "chutes/deepseek-ai/DeepSeek-V3.2-TEE")
    assert.include(ModelRef.describe(resolved), "overriding the built-in alias")
  })

  it("reports user aliases whose target does not parse, and keeps the others", () => {
    const { aliases, invalid } = ModelRef.makeUserAliases([["bad", "openai/gpt-4o"], ["good", "chutes/x/y"]])
    assert.strictEqual(invalid.length, 1)
    assert.strictEqual(invalid[0]!.reason, "WrongProvider")
    assert.strictEqual(aliases.get("good")?.ref, "chutes/x/y")
  })

  it("resolves a full ref, known or not", () => {
    const known = Either.getOrThrow(resolve("chutes/zai-org/GLM-5-TEE"))
    assert.deepStrictEqual([known.via, known.known, known.id], ["ref", true, "zai-org/GLM-5-TEE"])
    const unknown = Either.getOrThrow(resolve("chutes/brand-new/Model-X"))
    assert.deepStrictEqual([unknown.via, unknown.known, unknown.ref], ["ref", false, "chutes/brand-new/Model-X"])
    assert.include(ModelRef.describe(unknown), "not in the current catalog")
  })

  it("resolves a bare id of the catalog", () => {
    const resolved = Either.getOrThrow(resolve("zai-org/GLM-5-TEE"))
    assert.deepStrictEqual([resolved.ref, resolved.via, resolved.known], ["chutes/zai-org/GLM-5-TEE", "id", true])
  })

  it("fails on an unknown input with suggestions", () => {
    const result = resolve("zai-org/GLM-5-TE")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.instanceOf(result.left, UnknownModel)
      assert.strictEqual((result.left as UnknownModel).suggestions[0], "chutes/zai-org/GLM-5-TEE")
      assert.include(result.left.message, `did you mean "chutes/zai-org/GLM-5-TEE"`)
    }
  })

  it("suggests aliases for a misspelt alias", () => {
    const result = resolve("chutes-fats")
    assert.isTrue(Either.isLeft(result) && result.left._tag === "UnknownModel")
    if (Either.isLeft(result) && result.left._tag === "UnknownModel") {
      assert.strictEqual(result.left.suggestions[0], "chutes-fast")
    }
  })

  it("gives no suggestion for something unrelated", () => {
    const result = resolve("xyzzy")
    assert.isTrue(Either.isLeft(result) && result.left._tag === "UnknownModel")
    if (Either.isLeft(result) && result.left._tag === "UnknownModel") {
      assert.deepStrictEqual(result.left.suggestions, [])
      assert.notInclude(result.left.message, "did you mean")
    }
  })

  it("refuses empty input and control characters as invalid refs", () => {
    const empty = Either.flip(resolve(" "))
    assert.isTrue(Either.isRight(empty) && empty.right._tag === "InvalidModelRef")
    const control = Either.flip(resolve("chutes-fast\u0007"))
    assert.isTrue(Either.isRight(control) && control.right._tag === "InvalidModelRef")
    const spaced = Either.flip(resolve("chutes/zai-org/GLM 5"))
    assert.isTrue(Either.isRight(spaced) && spaced.right._tag === "InvalidModelRef")
  })
})

describe("ModelRef.nearest", () => {
  it("ranks containing candidates first, then by edit distance", () => {
    assert.deepStrictEqual(ModelRef.nearest("glm-5", ["zai-org/GLM-5-TEE", "zai-org/GLM-4.7-TEE", "other"], 2), [
      "zai-org/GLM-5-TEE"
    ])
    assert.strictEqual(ModelRef.nearest("chutes-prp", ["chutes-fast", "chutes-pro"])[0], "chutes-pro")
  })
})
