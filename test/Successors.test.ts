import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as ModelDiscovery from "../src/ModelDiscovery.js"
import * as ModelRef from "../src/ModelRef.js"
import * as Successors from "../src/Successors.js"
import { capturedModels } from "../src/testing/FakeChutes.js"

/** A live snapshot of a real capture, decoded as discovery decodes it. */
const liveCapture = (date: "2026-06-11" | "2026-08-06"): ModelCatalog.CatalogSnapshot => {
  const decoded = Either.getOrThrow(ModelDiscovery.decodeItems(capturedModels(date)))
  return ModelCatalog.makeSnapshot({ source: "live", models: decoded.models, fetchedAt: 0 })
}

const follow = { followSuccessors: true } as const
const DEFAULT = ModelRef.unsafeMake(ModelCatalog.DEFAULT_MODEL_REF)
const SEED_REFS = [
  "zai-org/GLM-4.7-TEE",
  "zai-org/GLM-5-TEE",
  "deepseek-ai/DeepSeek-V3.2-TEE",
  "deepseek-ai/DeepSeek-R1-0528-TEE",
  "moonshotai/Kimi-K2.5-TEE",
  "chutesai/Mistral-Small-3.2-24B-Instruct-2506",
  "Qwen/Qwen3-Coder-Next-TEE",
  "openai/gpt-oss-120b-TEE",
  "zai-org/GLM-4.7-FP8"
]

describe("the built-in catalog's lifecycle", () => {
  it("keeps the documented refs at its head, in their order, and marks all but DeepSeek-V3.2 deprecated", () => {
    const head = ModelCatalog.STATIC_MODELS.slice(0, SEED_REFS.length)
    assert.deepStrictEqual(head.map((model) => model.id), SEED_REFS)
    const active = head.filter((model) => model.status === "active").map((model) => model.id)
    assert.deepStrictEqual(active, ["deepseek-ai/DeepSeek-V3.2-TEE"])
  })

  it("names for every deprecated entry a successor that the catalog lists as active", () => {
    const byId = ModelCatalog.staticSnapshot().byId
    for (const model of ModelCatalog.STATIC_MODELS) {
      if (model.status !== "deprecated") {
        assert.strictEqual(model.replacedBy, undefined, model.id)
        continue
      }
      const next = byId.get(ModelRef.modelId(ModelRef.unsafeMake(model.replacedBy!)))
      assert.strictEqual(next?.status, "active", `${model.id} -> ${model.replacedBy}`)
    }
  })

  it("holds every model of the 2026-08-06 capture as active, with the capture's prices", () => {
    const live = liveCapture("2026-08-06")
    const byId = ModelCatalog.staticSnapshot().byId
    assert.strictEqual(live.models.length, 13)
    for (const model of live.models) {
      const entry = byId.get(model.id)
      assert.strictEqual(entry?.status, "active", model.id)
      for (const kind of ["input", "output", "cacheRead"] as const) {
        assert.closeTo(entry!.cost![kind]!, model.cost![kind]!, 1e-9, `${model.id} ${kind}`)
      }
      assert.strictEqual(entry?.contextWindow, model.contextWindow, model.id)
      assert.strictEqual(entry?.maxOutputTokens, model.maxOutputTokens, model.id)
    }
  })
})

describe("Successors.follow", () => {
  it("moves the built-ins that a live catalog like 2026-08-06 no longer lists", () => {
    const live = liveCapture("2026-08-06")
    const hops = Successors.builtinHops(DEFAULT, ModelRef.builtinAliases, { catalog: live, ...follow })
    assert.deepStrictEqual(
      hops.map((hop) => [hop.name, hop.from, hop.to, hop.reason]),
      [
        ["default model", "chutes/zai-org/GLM-4.7-TEE", "chutes/zai-org/GLM-5.2-TEE", "NotListed"],
        ["chutes-fast", "chutes/zai-org/GLM-4.7-FP8", "chutes/deepseek-ai/DeepSeek-V4-Flash-0731-TEE", "NotListed"],
        [
          "chutes-vision",
          "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506",
          "chutes/moonshotai/Kimi-K2.6-TEE",
          "NotListed"
        ]
      ]
    )
  })

  it("says what the successor costs next to the old target (chutes-vision: 9.7x input, 18.9x output)", () => {
    const hop = Successors.follow(
      "chutes-vision",
      ModelRef.unsafeMake("chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506"),
      liveCapture("2026-08-06")
    )!
    assert.strictEqual(hop.priceRatio!.input.toFixed(1), "9.7")
    assert.strictEqual(hop.priceRatio!.output.toFixed(1), "18.9")
    assert.include(hop.message, "9.7×")
    assert.include(hop.message, "18.9×")
    assert.include(hop.message, "not in the live catalog")
  })

  it("follows a deprecated entry of the static catalog, and says it is deprecated there", () => {
    const hop = Successors.follow("default model", DEFAULT, ModelCatalog.staticSnapshot())!
    assert.strictEqual(hop.to, "chutes/zai-org/GLM-5.2-TEE")
    assert.strictEqual(hop.reason, "Deprecated")
    assert.include(hop.message, "deprecated in the static catalog")
  })

  it("stays on a target the catalog still serves", () => {
    const withOld = ModelCatalog.makeSnapshot({
      source: "live",
      models: [{ id: "zai-org/GLM-4.7-TEE", name: "GLM", contextWindow: 1, input: ["text"], reasoning: true }]
    })
    assert.strictEqual(Successors.follow("default model", DEFAULT, withOld), undefined)
  })

  it("walks the chain past successors the catalog does not hold", () => {
    // The 2026-06-11 capture lists GLM-5.1 but not GLM-5.2: GLM-4.7 -> GLM-5.2 is a dead end there, while GLM-5 ->
    // GLM-5.1 is listed. A catalog that lists only Kimi-K2.6 takes Kimi-K2.5 there directly.
    const onlyKimi = ModelCatalog.makeSnapshot({
      source: "cache",
      models: [{ id: "moonshotai/Kimi-K2.6-TEE", name: "K", contextWindow: 1, input: ["text"], reasoning: true }]
    })
    const hop = Successors.follow("x", ModelRef.unsafeMake("chutes/moonshotai/Kimi-K2.5-TEE"), onlyKimi)
    assert.strictEqual(hop?.to, "chutes/moonshotai/Kimi-K2.6-TEE")
    assert.strictEqual(hop?.source, "cache")
    // R1 -> DeepSeek-V3.2 (not listed here) has nowhere to go: no hop, the target is passed through.
    assert.strictEqual(
      Successors.follow("x", ModelRef.unsafeMake("chutes/deepseek-ai/DeepSeek-R1-0528-TEE"), onlyKimi),
      undefined
    )
  })

  it("passes on through a retired successor to the next one the catalog holds", () => {
    // A catalog whose own entries chain GLM-4.7 -> GLM-5.2 (deprecated there) -> GLM-6.
    const model = (id: string, extra: Partial<ModelCatalog.ModelDefinition> = {}): ModelCatalog.ModelDefinition => ({
      id,
      name: id,
      contextWindow: 1,
      input: ["text"],
      reasoning: true,
      ...extra
    })
    const catalog = ModelCatalog.makeSnapshot({
      source: "static",
      models: [
        model("zai-org/GLM-5.2-TEE", { status: "deprecated", replacedBy: "chutes/zai-org/GLM-6-TEE" }),
        model("zai-org/GLM-6-TEE", { status: "active" })
      ]
    })
    const hop = Successors.follow("default model", DEFAULT, catalog)
    assert.strictEqual(hop?.to, "chutes/zai-org/GLM-6-TEE")
    assert.deepStrictEqual(hop?.through, [ModelRef.unsafeMake("chutes/zai-org/GLM-5.2-TEE")])
  })

  it("stops on a cycle instead of looping", () => {
    const model = (id: string, next: string): ModelCatalog.ModelDefinition => ({
      id,
      name: id,
      contextWindow: 1,
      input: ["text"],
      reasoning: true,
      status: "deprecated",
      replacedBy: `chutes/${next}`
    })
    const catalog = ModelCatalog.makeSnapshot({ source: "static", models: [model("a/x", "a/y"), model("a/y", "a/x")] })
    assert.strictEqual(Successors.follow("x", ModelRef.unsafeMake("chutes/a/x"), catalog), undefined)
  })
})

describe("Successors.resolve", () => {
  const live = liveCapture("2026-08-06")

  it("resolves a built-in alias to its successor, with the hop in the result", () => {
    const resolved = Either.getOrThrow(Successors.resolve("CHUTES-VISION", { catalog: live, ...follow }))
    assert.strictEqual(resolved.ref, "chutes/moonshotai/Kimi-K2.6-TEE")
    assert.strictEqual(resolved.id, "moonshotai/Kimi-K2.6-TEE")
    assert.isTrue(resolved.known)
    assert.strictEqual(resolved.followed?.from, "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506")
    assert.include(ModelRef.describe(resolved), "followed: chutes-vision")
  })

  it("keeps the documented targets with followSuccessors: false", () => {
    const resolved = Either.getOrThrow(Successors.resolve("chutes-fast", { catalog: live, followSuccessors: false }))
    assert.strictEqual(resolved.ref, "chutes/zai-org/GLM-4.7-FP8")
    assert.isFalse(resolved.known)
    assert.strictEqual(resolved.followed, undefined)
  })

  it("never swaps a ref or a user alias, even one at a retired model", () => {
    const user = ModelRef.makeUserAliases([["my vision", "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506"]])
    const context = { catalog: live, userAliases: user.aliases, ...follow }
    const viaRef = Either.getOrThrow(Successors.resolve("chutes/zai-org/GLM-4.7-TEE", context))
    assert.strictEqual(viaRef.ref, "chutes/zai-org/GLM-4.7-TEE")
    assert.isFalse(viaRef.known)
    const viaAlias = Either.getOrThrow(Successors.resolve("My Vision", context))
    assert.strictEqual(viaAlias.ref, "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506")
    assert.strictEqual(viaAlias.followed, undefined)
  })

  it("counts a config alias that repeats a built-in (as onboarding writes them) as the built-in", () => {
    const user = ModelRef.makeUserAliases([["chutes-fast", "chutes/zai-org/GLM-4.7-FP8"]])
    assert.strictEqual(user.aliases.size, 0)
    const resolved = Either.getOrThrow(Successors.resolve("chutes-fast", { catalog: live, userAliases: user.aliases, ...follow }))
    assert.strictEqual(resolved.ref, "chutes/deepseek-ai/DeepSeek-V4-Flash-0731-TEE")
    assert.strictEqual(resolved.alias?.source, "builtin")
  })

  it("lets a user alias of a built-in's name at another model win, unswapped", () => {
    const user = ModelRef.makeUserAliases([["chutes-fast", "chutes/zai-org/GLM-4.7-TEE"]])
    const resolved = Either.getOrThrow(Successors.resolve("chutes-fast", { catalog: live, userAliases: user.aliases, ...follow }))
    assert.strictEqual(resolved.ref, "chutes/zai-org/GLM-4.7-TEE")
    assert.strictEqual(resolved.followed, undefined)
  })
})

describe("Successors.resolveDefault", () => {
  const live = liveCapture("2026-08-06")

  it("follows the built-in default (also when a config repeats it), not a default a user chose", () => {
    const builtin = Successors.resolveDefault(DEFAULT, { catalog: live, ...follow })
    assert.strictEqual(builtin.ref, "chutes/zai-org/GLM-5.2-TEE")
    assert.strictEqual(builtin.via, "default")
    assert.strictEqual(builtin.followed?.from, DEFAULT)
    const chosen = Successors.resolveDefault(ModelRef.unsafeMake("chutes/zai-org/GLM-5-TEE"), { catalog: live, ...follow })
    assert.strictEqual(chosen.ref, "chutes/zai-org/GLM-5-TEE")
    assert.isFalse(chosen.known)
    assert.strictEqual(chosen.followed, undefined)
  })

  it("stays on the documented default with followSuccessors: false", () => {
    const pinned = Successors.resolveDefault(DEFAULT, { catalog: live, followSuccessors: false })
    assert.strictEqual(pinned.ref, DEFAULT)
  })
})

describe("Successors.replacementFor", () => {
  it("names the successor of a retired ref a user chose (for 'model not found' messages)", () => {
    const live = liveCapture("2026-08-06")
    assert.strictEqual(
      Successors.replacementFor(ModelRef.unsafeMake("chutes/zai-org/GLM-5-TEE"), live),
      "chutes/zai-org/GLM-5.1-TEE"
    )
    assert.strictEqual(Successors.replacementFor(ModelRef.unsafeMake("chutes/acme/unknown"), live), undefined)
  })
})

describe("listing notes", () => {
  it("marks deprecated entries and the models built-in names follow", () => {
    const snapshot = ModelCatalog.staticSnapshot()
    const hops = Successors.builtinHops(DEFAULT, ModelRef.builtinAliases, { catalog: snapshot, ...follow })
    const notes = Successors.listingNotes(snapshot.models, hops)
    assert.strictEqual(notes.get("zai-org/GLM-4.7-FP8"), "deprecated -> chutes/deepseek-ai/DeepSeek-V4-Flash-0731-TEE")
    assert.strictEqual(notes.get("zai-org/GLM-5.2-TEE"), "<- default model")
    assert.strictEqual(notes.get("moonshotai/Kimi-K2.6-TEE"), "<- chutes-vision")
    assert.strictEqual(notes.get("deepseek-ai/DeepSeek-V3.2-TEE"), undefined)
    const table = ModelCatalog.formatTable(snapshot.models, notes)
    assert.match(table.split("\n")[0]!, /notes$/)
  })
})
