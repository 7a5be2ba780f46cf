/**
 * `schemaGuard` (src/internal/schemaGuard.ts): `Schema.is` compiled to property checks, which discovery uses to read
 * `/v1/models` items with `RawModel`. It must agree with `Schema.is` on every input: checked on arbitrary items built
 * around the real capture's fields (each field valid, null, missing, or of a wrong type), and on schemas with node
 * kinds it hands to `Schema.is` itself.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import fc from "fast-check"
import { schemaGuard } from "../../src/internal/schemaGuard.js"
import * as ModelDiscovery from "../../src/ModelDiscovery.js"
import { capture } from "../support/http.js"

const runs = Number(process.env["FUZZ_RUNS"] ?? 1000)

/** Any value of a field: plausible ones, edge cases, and wrong types. */
const fieldValue = fc.oneof(
  fc.constantFrom(null, undefined, 0, -1, 1.5, 4096, Number.NaN, Infinity, 2 ** 60, "", " ", "a/b", "a b", "x\u0007", true),
  fc.constantFrom(["text", "image"], ["text", 1], [], ["reasoning", "tools"], {}, { prompt: 1, completion: 2 }),
  fc.record({ prompt: fc.anything(), completion: fc.anything(), input_cache_read: fc.anything() }, { requiredKeys: [] }),
  fc.anything()
)

const FIELDS = [
  "id",
  "max_model_len",
  "context_length",
  "max_output_length",
  "input_modalities",
  "supported_features",
  "pricing",
  "confidential_compute",
  "quantization",
  "root",
  "owned_by"
] as const

/** A real item with some fields replaced, removed, or added. */
const item = fc.tuple(
  fc.constantFrom(...capture.data),
  fc.array(fc.tuple(fc.constantFrom(...FIELDS, "extra"), fc.option(fieldValue, { nil: "remove" as const })), {
    maxLength: 4
  })
).map(([base, edits]) => {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of edits) {
    if (value === "remove") delete out[key]
    else out[key] = value
  }
  return out
})

describe("schemaGuard", () => {
  const isRawModel = Schema.is(ModelDiscovery.RawModel)
  const guard = schemaGuard(ModelDiscovery.RawModel)

  it("agrees with Schema.is(RawModel) on the real capture", () => {
    for (const raw of capture.data) assert.strictEqual(guard(raw), isRawModel(raw), String(raw["id"]))
    assert.isTrue(capture.data.every(guard))
  })

  it("agrees with Schema.is(RawModel) on arbitrary items and values", () => {
    let accepted = 0
    let refused = 0
    fc.assert(
      fc.property(fc.oneof(item, fc.anything()), (value) => {
        const expected = isRawModel(value)
        if (expected) accepted++
        else refused++
        return guard(value) === expected
      }),
      { numRuns: runs }
    )
    assert.isAbove(accepted, 0, "some items were valid")
    assert.isAbove(refused, 0, "some items were not")
  })

  it("hands node kinds it does not compile to Schema.is", () => {
    const schema = Schema.Struct({
      when: Schema.DateFromSelf,
      tags: Schema.Record({ key: Schema.String, value: Schema.Number }),
      pair: Schema.Tuple(Schema.String, Schema.Number)
    })
    const guardOf = schemaGuard(schema)
    for (
      const value of [
        { when: new Date(0), tags: { a: 1 }, pair: ["x", 1] },
        { when: "2026-01-01", tags: { a: 1 }, pair: ["x", 1] },
        { when: new Date(0), tags: { a: "1" }, pair: ["x", 1] },
        { when: new Date(0), tags: {}, pair: ["x"] }
      ]
    ) assert.strictEqual(guardOf(value), Schema.is(schema)(value), JSON.stringify(value))
  })
})
