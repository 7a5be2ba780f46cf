/**
 * Fuzzing of every parser of untrusted input (issue 5, item 4).
 *
 * The property common to all: whatever the input, the result is a value or a typed error — never a throw, a defect
 * or a hang (`assertTotal`, test/support/fuzz.ts). Each parser also gets the invariants its callers rely on (a parsed
 * ref is in normal form and parses to itself, a decoded catalog has unique ids and finite numbers, …), so a property
 * fails on wrong answers as well as on crashes.
 *
 * At least 1,000 runs per property (`FUZZ_RUNS` raises it; `FUZZ_SEED`/`FUZZ_PATH` replay a failure). Hangs: a call
 * slower than 2 s, or a property running past its time limit, fails; a synchronous infinite loop cannot be
 * interrupted in-process and would stall the worker until vitest gives up on it.
 *
 * Adding a parser is one block: `const total = assertTotal(Module.parse)` and a `property` over an arbitrary.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import JSON5 from "json5"
import { readFileSync } from "node:fs"
import { aliasKey } from "../src/Aliases.js"
import * as AgentConfig from "../src/AgentConfig.js"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as ChutesError from "../src/ChutesError.js"
import type * as ModelCatalog from "../src/ModelCatalog.js"
import * as ModelDiscovery from "../src/ModelDiscovery.js"
import * as ModelRef from "../src/ModelRef.js"
import * as OAuthCallback from "../src/OAuthCallback.js"
import {
  anyString,
  assertTotal,
  ContractViolation,
  coverage,
  hostileString,
  parameters,
  RUNS,
  whitespaceChars
} from "./support/fuzz.js"
import { capture } from "./support/http.js"

/** Runs one property with the suite's parameters. */
const property = <Ts extends [unknown, ...Array<unknown>]>(
  ...args: [...arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...values: Ts) => void]
): void => fc.assert(fc.property(...args), parameters<Ts>())

/** Breaks the property with a message fast-check prints next to the shrunk counterexample. */
const check = (condition: boolean, message: string): void => {
  if (!condition) throw new ContractViolation(message)
}

// What no model id may hold: control, format (U+202E shows text reversed on a terminal; zero-width, joiner and tag
// characters make ids look alike), private-use, lone-surrogate and default-ignorable characters, and the braille blank.
const CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Default_Ignorable_Code_Point}\u2800]/u
const WHITESPACE = /\s/
const isValidId = (id: string): boolean => id.length > 0 && !CONTROL.test(id) && !WHITESPACE.test(id)

const INVALID_REASONS: ReadonlySet<string> = new Set(ChutesError.InvalidModelRef.fields.reason.literals)

const checkInvalidRef = (error: unknown, input: string): void => {
  check(error instanceof ChutesError.InvalidModelRef, `expected InvalidModelRef, got ${String(error)}`)
  if (error instanceof ChutesError.InvalidModelRef) {
    // `resolve` reports some refusals on the trimmed input, `parse` on the input as given: both name the input.
    check(error.input === input || error.input === input.trim(), "the error names the input")
    check(INVALID_REASONS.has(error.reason), `unknown reason ${error.reason}`)
    check(error.message.includes(`"chutes/<model-id>"`), "the message shows the expected form")
  }
}

/** A ref in normal form: parses to itself, and its id is valid. */
const checkNormalRef = (ref: string): void => {
  check(ref.startsWith("chutes/"), `not in normal form: ${JSON.stringify(ref)}`)
  check(isValidId(ref.slice("chutes/".length)), `a ModelRef with an invalid id: ${JSON.stringify(ref)}`)
  const again = ModelRef.parse(ref)
  check(Either.isRight(again) && again.right === ref, `does not parse to itself: ${JSON.stringify(ref)}`)
}

// ---------------------------------------------------------------------------------------------------------------------
// Arbitraries: refs, ids, aliases
// ---------------------------------------------------------------------------------------------------------------------

const padding = fc.array(fc.constantFrom(...whitespaceChars), { maxLength: 3 }).map((chars) => chars.join(""))

/** `chutes` in any case, sometimes another provider or a near miss. */
const provider = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("chutes", "CHUTES", "Chutes", "cHuTeS") },
  {
    weight: 1,
    arbitrary: fc.constantFrom("", "openai", "chute", "chutes ", " chutes", "chutes\u200b", "ｃｈｕｔｅｓ")
  },
  { weight: 1, arbitrary: hostileString(8) }
)

/** A model id that `checkId` accepts: no whitespace, no control, format or private-use characters, slashes allowed. */
const validId = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(..."abcXYZ0189-_.:@".split("")) },
    { weight: 2, arbitrary: fc.constant("/") },
    { weight: 1, arbitrary: fc.constantFrom("é", "😀", "日") }
  ),
  { minLength: 1, maxLength: 30 }
).map((chars) => chars.join(""))

const realIds: ReadonlyArray<string> = capture.data.map((item) => String(item["id"]))

/** Something that looks like a ref: mostly the right shape, with hostile ids. */
const refLike = fc.oneof(
  fc.tuple(
    padding,
    provider,
    fc.constantFrom("/", "//", ""),
    fc.oneof(validId, hostileString(), fc.constantFrom(...realIds)),
    padding
  ).map((parts) => parts.join("")),
  hostileString(),
  anyString
)

const BUILTIN_NAMES = Array.from(ModelRef.builtinAliases.values(), (alias) => alias.name)

/** Hostile text without control characters: alias names with those are a separate finding (see below). */
const noControl = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "")

/** Alias names: built-in names in other cases and with padding (to shadow them), hostile text, the empty name. */
const aliasName = fc.oneof(
  fc.tuple(padding, fc.constantFrom(...BUILTIN_NAMES), padding).map(([a, name, b]) => a + name.toUpperCase() + b),
  fc.constantFrom("", "   ", "Chutes GLM 4.7", "chutes/zai-org/GLM-5-TEE", "zai-org/GLM-5-TEE"),
  hostileString(16).map(noControl)
)

const aliasEntries = fc.array(fc.tuple(aliasName, refLike), { maxLength: 8 })

/**
 * A resolution case: user aliases, a catalog (the real ids plus `extraId`s) and an input that is one of the alias
 * names or ids (re-cased, padded) or any ref-like text. Built with `map` rather than `chain` so failures shrink.
 */
const resolveCase = (extraId: fc.Arbitrary<string>) =>
  fc.record({
    entries: aliasEntries,
    extraIds: fc.array(extraId, { maxLength: 6 }),
    kind: fc.constantFrom("alias" as const, "builtin" as const, "id" as const, "text" as const),
    pick: fc.nat(),
    upper: fc.boolean(),
    before: padding,
    after: padding,
    text: refLike
  }).map(({ after, before, entries, extraIds, kind, pick, text, upper }) => {
    const ids = [...realIds, ...extraIds]
    const from = (list: ReadonlyArray<string>): string | undefined => list[pick % Math.max(1, list.length)]
    const chosen = kind === "alias"
      ? from(entries.map(([name]) => name))
      : kind === "builtin"
      ? from(BUILTIN_NAMES)
      : kind === "id"
      ? from(extraIds.length > 0 && upper ? extraIds : ids)
      : undefined
    const input = chosen === undefined
      ? text
      : before + (kind === "id" ? chosen : upper ? chosen.toUpperCase() : chosen.toLowerCase()) + after
    return { entries, ids, input }
  })

// ---------------------------------------------------------------------------------------------------------------------
// ModelRef
// ---------------------------------------------------------------------------------------------------------------------

describe(`ModelRef (${RUNS} runs per property)`, () => {
  const parse = assertTotal(ModelRef.parse)
  const fromId = assertTotal(ModelRef.fromId)
  const makeUserAliases = assertTotal(ModelRef.makeUserAliases)
  const resolve = assertTotal(ModelRef.resolve)

  it("parse: any string -> a ref in normal form or InvalidModelRef", () =>
    property(refLike, (input) => {
      const outcome = parse(input)
      if (outcome._tag === "TypedError") return checkInvalidRef(outcome.error, input)
      checkNormalRef(outcome.value)
      const trimmed = input.trim()
      const id = trimmed.slice(trimmed.indexOf("/") + 1)
      check(ModelRef.modelId(outcome.value) === id, "the model id is kept as written (case-sensitive)")
    }))

  it("parse: every well-formed ref parses, whatever the provider case and the padding", () =>
    property(
      padding,
      fc.constantFrom("chutes", "CHUTES", "Chutes", "cHuTeS"),
      validId,
      padding,
      (before, name, id, after) => {
        const outcome = parse(`${before}${name}/${id}${after}`)
        const expected = `chutes/${id}`
        check(outcome._tag === "Value" && outcome.value === expected, `refused ${JSON.stringify(expected)}`)
      }
    ))

  it("fromId: any string -> chutes/<id> exactly when the id is valid, else InvalidModelRef", () =>
    property(fc.oneof(validId, hostileString(), anyString), (id) => {
      const outcome = fromId(id)
      check((outcome._tag === "Value") === isValidId(id), `validity of ${JSON.stringify(id)} misjudged`)
      if (outcome._tag === "TypedError") return checkInvalidRef(outcome.error, id)
      check(outcome.value === `chutes/${id}`, "fromId prefixes the id")
      checkNormalRef(outcome.value)
    }))

  it("makeUserAliases: any entries -> lower-case keys, valid refs, first entry wins, bad refs reported", () =>
    property(aliasEntries, (entries) => {
      const outcome = makeUserAliases(entries)
      check(outcome._tag === "Value", "makeUserAliases returns a table")
      if (outcome._tag !== "Value") return
      const { aliases, invalid } = outcome.value
      for (const error of invalid) check(error instanceof ChutesError.InvalidModelRef, "invalid entries are typed")
      const expected = new Map<string, string>()
      let refused = 0
      for (const [name, ref] of entries) {
        const key = aliasKey(name)
        if (key.length === 0) continue
        const parsed = ModelRef.parse(ref)
        // A name with control characters could never be typed back: refused, like a bad ref.
        // (What a name may hold is checked case by case in test/escapes.test.ts.)
        if (!ModelRef.isPrintable(name.trim()) || Either.isLeft(parsed)) refused++
        // An entry that repeats a built-in alias (same name, same target) is the built-in, not a user alias.
        else if (ModelRef.builtinAliases.get(key)?.ref === parsed.right) continue
        else if (!expected.has(key)) expected.set(key, parsed.right)
      }
      check(invalid.length === refused, "every unparsable ref is reported once")
      check(aliases.size === expected.size, "one alias per distinct name")
      for (const [key, alias] of aliases) {
        const normal = key === aliasKey(alias.name) && key === key.trim() && key.length > 0
        check(normal, `bad key ${JSON.stringify(key)}`)
        check(alias.source === "user", "user aliases are marked as such")
        check(expected.get(key) === alias.ref, `the first entry for ${JSON.stringify(key)} wins`)
        checkNormalRef(alias.ref)
      }
    }))

  const resolveBranches = coverage()
  const checkResolve = ({ entries, ids, input }: {
    readonly entries: ReadonlyArray<readonly [string, string]>
    readonly ids: ReadonlyArray<string>
    readonly input: string
  }): void => {
      const userAliases = ModelRef.makeUserAliases(entries).aliases
      const catalog = new Map(ids.map((id) => [id, id]))
      const outcome = resolve(input, { ids: catalog, userAliases })
      const key = aliasKey(input)
      const alias = userAliases.get(key) ?? ModelRef.builtinAliases.get(key)
      if (outcome._tag === "TypedError") {
        const error = outcome.error
        resolveBranches.hit(error instanceof ChutesError.UnknownModel ? "UnknownModel" : "InvalidModelRef")
        check(alias === undefined, `alias ${JSON.stringify(key)} exists but did not resolve`)
        if (error instanceof ChutesError.UnknownModel) {
          check(error.suggestions.length <= 3, "at most 3 suggestions")
          const candidates = new Set([...userAliases.values(), ...ModelRef.builtinAliases.values()].map((a) => a.name))
          for (const id of ids) candidates.add(`chutes/${id}`)
          for (const suggestion of error.suggestions) check(candidates.has(suggestion), `suggested ${suggestion}`)
        } else {
          checkInvalidRef(error, input)
        }
        return
      }
      const resolved = outcome.value
      resolveBranches.hit(resolved.via === "alias" ? `alias (${resolved.alias?.source})` : resolved.via)
      checkNormalRef(resolved.ref)
      check(resolved.id === ModelRef.modelId(resolved.ref), "id and ref agree")
      check(resolved.known === catalog.has(resolved.id), "known says whether the catalog lists the id")
      switch (resolved.via) {
        case "alias":
          check(alias !== undefined && resolved.alias === alias, "resolved through the alias of that name, user first")
          break
        case "ref":
          check(alias === undefined && key.startsWith("chutes/"), "a ref is tried only after the aliases")
          break
        case "id":
          check(alias === undefined && catalog.has(input.trim()), "a bare id must be in the catalog")
          break
      }
  }

  it("resolve: any input, catalog and user aliases -> a normal ref or UnknownModel / InvalidModelRef", () => {
    property(resolveCase(validId), checkResolve)
    resolveBranches.assertReached("alias (user)", "alias (builtin)", "ref", "id", "UnknownModel", "InvalidModelRef")
  })

  // FINDING (fails on purpose until src/ModelRef.ts is fixed; see the report): catalog ids come from the network and
  // the decoder accepts any non-empty string as an id, so a bare id such as "a b" is branded as the ModelRef
  // "chutes/a b", which `parse` refuses. Minimal: resolve("a b", { ids: new Map([["a b", …]]) }).
  it("resolve: a catalog holding ids with whitespace or control characters never yields an invalid ref", () =>
    property(resolveCase(hostileString(12)), checkResolve))

  // FINDING (fails on purpose until src/ModelRef.ts is fixed; see the report): makeUserAliases accepts an alias name
  // with a control character, which resolve then refuses before it looks at aliases. Minimal: the name "a\u0000".
  it("makeUserAliases: every alias it accepts resolves by its name", () =>
    property(hostileString(12), (name) => {
      const { aliases } = ModelRef.makeUserAliases([[name, "chutes/zai-org/GLM-5-TEE"]])
      const alias = aliases.get(aliasKey(name))
      if (alias === undefined) return
      const outcome = resolve(name, { ids: new Map(), userAliases: aliases })
      const resolved = outcome._tag === "Value" && outcome.value.alias === alias
      check(resolved, `the accepted alias ${JSON.stringify(name)} does not resolve`)
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// The /v1/models decoder
// ---------------------------------------------------------------------------------------------------------------------

type Decoded = { readonly models: ReadonlyArray<ModelCatalog.ModelDefinition>; readonly skipped: number }

/** `decodeCatalog` fails with a plain `DecodeFailure` (turned into a `DiscoveryError` by the caller). */
const isDecodeFailure = (u: unknown): boolean =>
  typeof u === "object" && u !== null && "_tag" in u && (u._tag === "Decode" || u._tag === "EmptyCatalog") &&
  "detail" in u && typeof u.detail === "string" && u.detail.length > 0

const MODALITIES: ReadonlySet<string> = new Set(["text", "image", "video", "audio"])
const isFiniteNonNegative = (n: unknown): boolean => typeof n === "number" && Number.isFinite(n) && n >= 0
const isLength = (n: unknown): boolean => typeof n === "number" && Number.isSafeInteger(n) && n > 0

/** What the rest of the SDK relies on in a decoded catalog. */
const checkCatalog = (decoded: Decoded, items: number | undefined): void => {
  check(decoded.models.length > 0, "a successful decode has at least one model")
  if (items !== undefined) check(decoded.models.length + decoded.skipped <= items, "no model comes from nowhere")
  const ids = new Set<string>()
  for (const model of decoded.models) {
    check(typeof model.id === "string" && model.id.length > 0, "every model has an id")
    check(!ids.has(model.id), `duplicate id ${JSON.stringify(model.id)}`)
    ids.add(model.id)
    check(isLength(model.contextWindow), `contextWindow ${model.contextWindow} of ${model.id}`)
    check(model.maxOutputTokens === undefined || isLength(model.maxOutputTokens), `maxOutputTokens of ${model.id}`)
    check(model.input.length > 0 && model.input.every((m) => MODALITIES.has(m)), `input of ${model.id}`)
    check(typeof model.reasoning === "boolean", "reasoning is a boolean")
    if (model.cost !== undefined) {
      const { cacheRead, input, output } = model.cost
      check(isFiniteNonNegative(input) && isFiniteNonNegative(output), `cost of ${model.id}`)
      check(cacheRead === undefined || isFiniteNonNegative(cacheRead), `cacheRead of ${model.id}`)
    }
  }
}

/** A bare model id must be addressable as `chutes/<id>`, or the catalog lists a model nobody can select. */
const checkIdsAddressable = (decoded: Decoded): void => {
  for (const model of decoded.models) {
    check(isValidId(model.id), `the catalog accepted the unaddressable id ${JSON.stringify(model.id)}`)
  }
}

const decodeCatalog = assertTotal(ModelDiscovery.decodeCatalog, { isTypedError: isDecodeFailure })
const decodeItems = assertTotal(ModelDiscovery.decodeItems, { isTypedError: isDecodeFailure })

const deepNest = fc.integer({ min: 50, max: 400 }).map((depth) => {
  let value: unknown = "bottom"
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { nested: value }
  return value
})

/** Values that are wrong in interesting ways for a JSON field. */
const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -0,
    -1,
    0.5,
    1e308,
    -1e308,
    2 ** 53 + 2,
    2 ** 64,
    5e-324,
    "",
    " ",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",
    "0x10",
    "42",
    " 42 ",
    "null",
    "true",
    [],
    {},
    [null],
    { "": null },
    ["text", 1, null, "image"],
    { prompt: "0.1", completion: null }
  ),
  fc.jsonValue({ maxDepth: 3 }),
  deepNest,
  fc.integer({ min: 10_000, max: 200_000 }).map((n) => "x".repeat(n)),
  hostileString(20)
)

/** Fields the decoder reads (and a few it ignores), including ones that clash with Object.prototype. */
const fieldName = fc.oneof(
  fc.constantFrom(
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
    "owned_by",
    "created",
    "price",
    "permission"
  ),
  fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"),
  hostileString(10)
)

type Mutation =
  | { readonly op: "drop"; readonly field: string }
  | { readonly op: "set"; readonly field: string; readonly value: unknown }
  | { readonly op: "setPrice"; readonly field: "prompt" | "completion" | "input_cache_read"; readonly value: unknown }
  | { readonly op: "setListItem"; readonly field: "input_modalities" | "supported_features"; readonly value: unknown }
  | { readonly op: "replace"; readonly value: unknown }
  | { readonly op: "duplicateId"; readonly of: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("drop" as const), field: fieldName }),
  fc.record({ op: fc.constant("set" as const), field: fieldName, value: weirdValue }),
  fc.record({
    op: fc.constant("setPrice" as const),
    field: fc.constantFrom("prompt" as const, "completion" as const, "input_cache_read" as const),
    value: weirdValue
  }),
  fc.record({
    op: fc.constant("setListItem" as const),
    field: fc.constantFrom("input_modalities" as const, "supported_features" as const),
    value: weirdValue
  }),
  fc.record({ op: fc.constant("replace" as const), value: weirdValue }),
  fc.record({ op: fc.constant("duplicateId" as const), of: fc.nat(realIds.length - 1) })
)

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Sets an own property the way JSON.parse would (so `__proto__` stays a key, not a prototype change). */
const setOwn = (target: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

const applyMutation = (item: unknown, m: Mutation): unknown => {
  if (m.op === "replace") return m.value
  if (!isRecord(item)) return item
  const copy: Record<string, unknown> = { ...item }
  switch (m.op) {
    case "drop":
      delete copy[m.field]
      return copy
    case "set":
      setOwn(copy, m.field, m.value)
      return copy
    case "setPrice": {
      const pricing = isRecord(copy["pricing"]) ? { ...copy["pricing"] } : {}
      setOwn(pricing, m.field, m.value)
      copy["pricing"] = pricing
      return copy
    }
    case "setListItem": {
      const list = Array.isArray(copy[m.field]) ? [...(copy[m.field] as ReadonlyArray<unknown>)] : []
      list.push(m.value)
      copy[m.field] = list
      return copy
    }
    case "duplicateId":
      copy["id"] = realIds[m.of]
      return copy
  }
}

/** The real items, some mutated (1-4 mutations each), with garbage items around them. */
const mutatedCatalog = fc.record({
  mutations: fc.array(fc.tuple(fc.nat(realIds.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 })), {
    maxLength: 8
  }),
  before: fc.array(weirdValue, { maxLength: 2 }),
  after: fc.array(weirdValue, { maxLength: 2 })
}).map(({ after, before, mutations }) => {
  const items: Array<unknown> = capture.data.map((item) => ({ ...item }))
  const touched = new Set<number>()
  for (const [index, ops] of mutations) {
    touched.add(index)
    items[index] = ops.reduce(applyMutation, items[index])
  }
  const untouchedIds = realIds.filter((_, index) => !touched.has(index))
  return { data: [...before, ...items, ...after], untouchedIds }
})

/** JSON number literals, valid and not, written into the raw text. */
const rawNumber = fc.constantFrom(
  "1e309",
  "-1e309",
  "1E400",
  "1e-400",
  "123456789012345678901234567890",
  "9007199254740993",
  "-0",
  "0.0",
  "1.5",
  "NaN",
  "Infinity",
  "0x1F",
  "01",
  "+1",
  "1.",
  ".5"
)

const captureText = JSON.stringify(capture)
const numberSlots = Array.from(captureText.matchAll(/:(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?=[,}\]])/g), (match) => ({
  start: (match.index ?? 0) + 1,
  end: (match.index ?? 0) + match[0].length
}))

/** Edits of the raw body text: number literals swapped, cut, bytes inserted, keys duplicated, padding. */
const rawBody = fc.oneof(
  fc.array(fc.tuple(fc.nat(numberSlots.length - 1), rawNumber), { minLength: 1, maxLength: 6 }).map((edits) => {
    // Apply right to left so earlier offsets stay valid; one edit per slot.
    const bySlot = new Map(edits)
    let text = captureText
    for (const [slot, literal] of [...bySlot].sort((a, b) => b[0] - a[0])) {
      const { end, start } = numberSlots[slot]!
      text = text.slice(0, start) + literal + text.slice(end)
    }
    return text
  }),
  fc.nat(captureText.length).map((cut) => captureText.slice(0, cut)),
  fc.tuple(fc.nat(captureText.length), hostileString(6)).map(([at, junk]) =>
    captureText.slice(0, at) + junk + captureText.slice(at)
  ),
  fc.tuple(
    fc.nat(realIds.length - 1),
    fc.constantFrom(`"max_model_len":1e309,`, `"id":5,`, `"id":"x y",`, `"pricing":"free",`)
  )
    .map(([index, key]) => {
      // A duplicate key before the real one (JSON.parse keeps the last) or after it (this one wins).
      const anchor = `{"chute_id":"${String(capture.data[index]!["chute_id"])}"`
      return index % 2 === 0
        ? captureText.replace(anchor, `{${key}${anchor.slice(1)}`)
        : captureText.replace(`"id":"${realIds[index]}"`, `"id":"${realIds[index]}",${key.slice(0, -1)}`)
    }),
  fc.tuple(padding, padding).map(([a, b]) => `\ufeff${a}${captureText}${b}`)
)

describe(`ModelDiscovery decoder (${RUNS} runs per property)`, () => {
  it("decodeCatalog: any string -> a catalog or Decode / EmptyCatalog", () =>
    property(anyString, (body) => {
      const outcome = decodeCatalog(body)
      if (outcome._tag === "Value") checkCatalog(outcome.value, undefined)
    }))

  it("decodeCatalog: any JSON document -> a catalog or Decode / EmptyCatalog", () =>
    property(
      fc.oneof(
        fc.jsonValue({ maxDepth: 4 }),
        fc.record({ object: fc.jsonValue({ maxDepth: 1 }), data: fc.array(fc.jsonValue({ maxDepth: 3 })) }),
        fc.record({ data: fc.jsonValue({ maxDepth: 3 }) })
      ),
      (document) => {
        const outcome = decodeCatalog(JSON.stringify(document))
        if (outcome._tag === "Value") checkCatalog(outcome.value, undefined)
      }
    ))

  it("decodeItems: arrays of anything (non-JSON values too) -> a catalog or a typed failure", () =>
    property(
      fc.array(
        fc.oneof(
          fc.anything({
            maxDepth: 3,
            withBigInt: true,
            withBoxedValues: true,
            withDate: true,
            withMap: true,
            withNullPrototype: true,
            withObjectString: true,
            withSet: true,
            withSparseArray: true,
            withTypedArray: true
          }),
          fc.constantFrom<unknown>(undefined, Number.NaN, Infinity, -Infinity, Symbol("x"), () => 1),
          fc.record({ id: validId, max_model_len: fc.oneof(fc.integer(), fc.double(), fc.constant(Number.NaN)) })
        ),
        { maxLength: 10 }
      ),
      (items) => {
        const outcome = decodeItems(items)
        if (outcome._tag === "Value") checkCatalog(outcome.value, items.length)
      }
    ))

  it("decodeCatalog: mutations of the real items -> untouched items survive, broken ones are skipped", () => {
    const branches = coverage()
    property(mutatedCatalog, ({ data, untouchedIds }) => {
      const outcome = decodeCatalog(JSON.stringify({ object: "list", data }))
      if (untouchedIds.length > 0) check(outcome._tag === "Value", "one bad item must not sink the catalog")
      if (outcome._tag !== "Value") return
      branches.hit(outcome.value.skipped > 0 ? "some skipped" : "none skipped")
      checkCatalog(outcome.value, data.length)
      const ids = new Set(outcome.value.models.map((model) => model.id))
      for (const id of untouchedIds) check(ids.has(id), `the untouched item ${id} was lost`)
    })
    branches.assertReached("some skipped", "none skipped")
  })

  it("decodeCatalog: raw-text edits (1e309, huge and invalid literals, cuts, junk, duplicate keys)", () => {
    const branches = coverage()
    property(rawBody, (body) => {
      const outcome = decodeCatalog(body)
      branches.hit(outcome._tag === "Value" ? (outcome.value.skipped > 0 ? "some skipped" : "none skipped") : "refused")
      if (outcome._tag === "Value") checkCatalog(outcome.value, capture.data.length + 1)
    })
    branches.assertReached("some skipped", "none skipped", "refused")
  })

  it("decodeCatalog: duplicate ids -> the first occurrence wins, in order", () =>
    property(fc.array(fc.nat(realIds.length - 1), { minLength: 1, maxLength: 40 }), (order) => {
      const data = order.map((index) => capture.data[index])
      const outcome = decodeCatalog(JSON.stringify({ object: "list", data }))
      check(outcome._tag === "Value", "real items always decode")
      if (outcome._tag !== "Value") return
      const expected = [...new Set(order.map((index) => realIds[index]!))]
      check(
        outcome.value.models.map((model) => model.id).join("\n") === expected.join("\n"),
        "first occurrence wins, order kept"
      )
      check(outcome.value.skipped === 0, "duplicates are not counted as malformed")
    }))

  // FINDING (fails on purpose until src/ModelDiscovery.ts is fixed; see the report): an item whose id has whitespace or
  // control characters (a terminal escape from the network, say) is kept, yet no "chutes/<id>" ref can name it.
  // Minimal: decodeItems([{ id: " ", max_model_len: 4096 }]).
  it("decodeItems: every listed model can be addressed as chutes/<id>", () =>
    property(
      fc.array(fc.record({ id: fc.oneof(validId, hostileString(12)), max_model_len: fc.constant(4096) }), {
        minLength: 1,
        maxLength: 5
      }),
      (items) => {
        const outcome = decodeItems(items)
        if (outcome._tag === "Value") checkIdsAddressable(outcome.value)
      }
    ))

  it("the helpers themselves catch a throwing parser (the suite can fail)", () => {
    const throwing = assertTotal((input: string): Either.Either<string, ChutesError.InvalidModelRef> => {
      if (input.length > 3) throw new Error("boom")
      return Either.right(input)
    })
    assert.throws(
      () => property(fc.string(), (input) => void throwing(input)),
      /threw instead of returning a typed error/
    )
    const untyped = assertTotal((input: string) => Either.left(new Error(input)))
    assert.throws(() => untyped("x"), /untyped error/)
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// The pasted redirect (OAuthCallback.parseCallbackInput)
// ---------------------------------------------------------------------------------------------------------------------

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".split("")
const token = (prefix: string) =>
  fc.array(fc.constantFrom(...BASE64URL), { minLength: 16, maxLength: 43 }).map((chars) => prefix + chars.join(""))

/** `encodeURIComponent`, except that text it cannot encode (lone surrogates) is sent raw. */
const encodeLenient = (text: string): string => {
  try {
    return encodeURIComponent(text)
  } catch {
    return text
  }
}

/** A pasted callback: a URL, a query with or without `?`, a URL without scheme, or anything. */
const pastedCallback = fc.record({
  state: token(""),
  code: token("cde_"),
  form: fc.constantFrom("url", "?query", "query", "noScheme", "custom"),
  params: fc.array(
    fc.tuple(
      fc.constantFrom("code", "state", "error", "error_description", "Code", "STATE", "x"),
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom("<code>", "<state>", "<other state>") },
        { weight: 1, arbitrary: fc.constantFrom("", "access_denied", "%E0%A4%A", "a%00b", "%", "+", "<state>x") },
        { weight: 1, arbitrary: hostileString(12) }
      ),
      fc.boolean()
    ),
    { maxLength: 5 }
  ),
  fragment: fc.option(hostileString(8), { nil: undefined }),
  before: padding,
  after: padding
}).map(({ after, before, code, form, fragment, params, state }) => {
  const query = params.map(([name, value, encode]) => {
    const actual = value.replace("<code>", code).replace("<other state>", `${state}0`).replace("<state>", state)
    return `${name}=${encode ? encodeLenient(actual) : actual}`
  }).join("&")
  const prefix = {
    url: "http://127.0.0.1:1456/oauth-callback?",
    "?query": "?",
    query: "",
    noScheme: "127.0.0.1:1456/oauth-callback?",
    custom: "my-app://callback?"
  }[form]
  const stateSent = params.some(([name, value]) => name === "state" && value === "<state>")
  // Only a code sent as `code` must stay out of errors: an `error` or `error_description` value is shown on purpose.
  const codeOnlyAsCode = params.every(([name, value]) => name === "code" || value !== "<code>")
  const input = `${before}${prefix}${query}${fragment !== undefined ? `#${fragment}` : ""}${after}`
  return { input, state, code, stateSent, codeOnlyAsCode }
})

describe(`OAuthCallback.parseCallbackInput (${RUNS} runs per property)`, () => {
  const parseCallbackInput = assertTotal(OAuthCallback.parseCallbackInput)

  it("any text, any expected state -> a code or OAuthError", () =>
    property(fc.oneof(anyString, hostileString(60)), fc.oneof(token(""), anyString), (input, state) => {
      const outcome = parseCallbackInput(input, state)
      if (outcome._tag === "TypedError") {
        check(outcome.error instanceof ChutesError.OAuthError, "the refusal is an OAuthError")
      } else {
        check(Redacted.value(outcome.value.code).length > 0, "an accepted code is not empty")
      }
    }))

  it("pasted redirects: accepted only with this sign-in's state; the code never shows in an error", () => {
    const branches = coverage()
    property(pastedCallback, ({ code, codeOnlyAsCode, input, state, stateSent }) => {
      const outcome = parseCallbackInput(input, state)
      branches.hit(outcome._tag === "Value" ? "accepted" : String(Reflect.get(Object(outcome.error), "reason")))
      if (outcome._tag === "Value") {
        check(stateSent, "accepted a callback that does not carry this sign-in's state (CSRF)")
        check(Redacted.value(outcome.value.code).length > 0, "an accepted code is not empty")
        return
      }
      const error = outcome.error
      check(error instanceof ChutesError.OAuthError, "the refusal is an OAuthError")
      if (!codeOnlyAsCode) return
      for (const text of [String(error), JSON.stringify(error)]) {
        check(!text.includes(code), "the code leaked into the error")
      }
    })
    branches.assertReached("accepted", "StateMismatch", "InvalidCallback", "Denied")
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// The config loader (AgentConfig.parse)
// ---------------------------------------------------------------------------------------------------------------------

const SECRET_MARKER = "FUZZSECRET0123456789"
const seedConfigText = readFileSync(new URL("./fixtures/seed-config.json5", import.meta.url), "utf8")
const seedConfig: unknown = JSON5.parse(seedConfigText)

/** Paths into the seed config the typed view reads. */
const configPaths: ReadonlyArray<ReadonlyArray<string>> = [
  [],
  ["agents"],
  ["agents", "defaults"],
  ["agents", "defaults", "model"],
  ["agents", "defaults", "model", "primary"],
  ["agents", "defaults", "model", "fallbacks"],
  ["agents", "defaults", "models"],
  ["agents", "defaults", "models", "chutes/zai-org/GLM-4.7-TEE"],
  ["agents", "defaults", "models", "chutes/zai-org/GLM-4.7-TEE", "alias"],
  ["models"],
  ["models", "providers"],
  ["models", "providers", "chutes"],
  ["models", "providers", "chutes", "models"],
  ["models", "providers", "chutes", "apiKey"],
  ["auth", "profiles"],
  ["auth", "profiles", "chutes:default"],
  ["auth", "profiles", "__proto__"]
]

/** A copy of `root` with the value at `path` replaced (intermediate objects created as needed). */
const setPath = (root: unknown, path: ReadonlyArray<string>, value: unknown): unknown => {
  const [head, ...rest] = path
  if (head === undefined) return value
  const copy: Record<string, unknown> = isRecord(root) ? { ...root } : {}
  setOwn(copy, head, setPath(copy[head], rest, value))
  return copy
}

/** Config texts of every kind but the deeply nested ones. */
const configTextFlat = fc.oneof(
  anyString,
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON5.stringify(value)),
  fc.array(fc.tuple(fc.constantFrom(...configPaths), fc.oneof(weirdValue, fc.constant(`cpk_${SECRET_MARKER}`))), {
    minLength: 1,
    maxLength: 4
  }).map((edits) => JSON5.stringify(edits.reduce((doc, [path, value]) => setPath(doc, path, value), seedConfig))),
  fc.nat(seedConfigText.length).map((cut) => seedConfigText.slice(0, cut)),
  fc.tuple(fc.nat(seedConfigText.length), hostileString(6)).map(([at, junk]) =>
    seedConfigText.slice(0, at) + junk + seedConfigText.slice(at)
  )
)

/**
 * Deep nesting, not shrunk (each step re-parses thousands of levels). A config file is never this deep, but a
 * truncated or hostile one can be, and loading must still end in a value or a ConfigError.
 */
const configTextDeep = (maxDepth: number) =>
  fc.oneof(
    fc.integer({ min: 10, max: maxDepth }).noShrink().map((depth) =>
      `{ agents: ${"[".repeat(depth)}${"]".repeat(depth)} }`
    ),
    fc.integer({ min: 10, max: maxDepth }).noShrink().map((depth) => `${"{a:".repeat(depth)}1${"}".repeat(depth)}`)
  )

describe(`AgentConfig.parse (${RUNS} runs per property)`, () => {
  const PATH = "/fuzz/config.json5"
  const parse = assertTotal(AgentConfig.parse)

  it("any text -> a document or ConfigError (Parse / Invalid) naming the file; never echoes a secret", () => {
    const branches = coverage()
    const texts = fc.oneof({ weight: 5, arbitrary: configTextFlat }, { weight: 1, arbitrary: configTextDeep(6000) })
    property(texts, (text) => {
      const outcome = parse(text, PATH)
      if (outcome._tag === "TypedError") {
        const error = outcome.error
        check(error instanceof ChutesError.ConfigError, "the refusal is a ConfigError")
        if (!(error instanceof ChutesError.ConfigError)) return
        branches.hit(error.reason)
        check(error.path === PATH, "the error names the file")
        check(error.reason === "Parse" || error.reason === "Invalid", `reason ${error.reason}`)
        for (const n of [error.line, error.column]) {
          check(n === undefined || (Number.isInteger(n) && n > 0), "1-based position")
        }
        check(!JSON.stringify(error).includes(SECRET_MARKER) && !error.message.includes(SECRET_MARKER), "secret echoed")
        return
      }
      branches.hit("accepted")
      check(AgentConfig.isJsonObject(outcome.value.root), "the root is an object")
    })
    branches.assertReached("accepted", "Parse", "Invalid")
  })

  // Pretty-printing makes the output quadratic in the depth: the round trip stays shallow to stay fast.
  it("what it accepts, it writes back in a form it accepts again, unchanged", () => {
    const texts = fc.oneof({ weight: 5, arbitrary: configTextFlat }, { weight: 1, arbitrary: configTextDeep(200) })
    property(texts, (text) => {
      const outcome = parse(text, PATH)
      if (outcome._tag !== "Value") return
      const written = assertTotal(AgentConfig.format)(outcome.value)
      check(written._tag === "Value", "format returns text")
      if (written._tag !== "Value") return
      const again = parse(written.value, PATH)
      check(again._tag === "Value", `its own output is refused: ${again._tag === "TypedError" ? again.error : ""}`)
      if (again._tag === "Value") check(AgentConfig.format(again.value) === written.value, "format is stable")
    })
  })

  // A document parse accepts must be writable: `save` formats it. Deeply nested unknown keys are accepted today and
  // JSON5.stringify then overflows the stack (see the report).
  it("format: every document parse accepts can be written", () =>
    property(fc.constantFrom(10, 1000, 5000, 10_000).noShrink(), (depth) => {
      const outcome = parse(`${"{a:".repeat(depth)}1${"}".repeat(depth)}`, PATH)
      if (outcome._tag === "Value") assertTotal(AgentConfig.format)(outcome.value)
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// The auth-store decoder (AuthProfileStore.decode / fromDocument)
// ---------------------------------------------------------------------------------------------------------------------

const validStore = {
  version: 1,
  profiles: {
    "chutes:alice": {
      type: "oauth",
      provider: "chutes",
      access: `cak_${SECRET_MARKER}`,
      refresh: `crt_${SECRET_MARKER}`,
      expires: 1760000000000,
      email: "alice",
      clientId: "cid_fake",
      accountId: "user-alice-0001"
    },
    "chutes:default": { type: "api_key", provider: "chutes", key: `cpk_${SECRET_MARKER}` },
    "openai:default": { type: "api_key", provider: "openai", key: `sk-${SECRET_MARKER}` }
  },
  lastGood: { chutes: "chutes:alice" }
}

const storePaths: ReadonlyArray<ReadonlyArray<string>> = [
  [],
  ["version"],
  ["profiles"],
  ["profiles", "chutes:alice"],
  ["profiles", "chutes:alice", "type"],
  ["profiles", "chutes:alice", "provider"],
  ["profiles", "chutes:alice", "access"],
  ["profiles", "chutes:alice", "refresh"],
  ["profiles", "chutes:alice", "expires"],
  ["profiles", "chutes:default", "key"],
  ["profiles", "chutes:default", "type"],
  ["profiles", "__proto__"],
  ["profiles", "constructor"],
  ["__proto__"]
]

const storeText = fc.oneof(
  anyString,
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.record({ version: weirdValue, profiles: weirdValue }).map((doc) => JSON.stringify(doc)),
  fc.array(fc.tuple(fc.constantFrom(...storePaths), weirdValue), { minLength: 1, maxLength: 4 })
    .map((edits) =>
      JSON.stringify(edits.reduce((doc: unknown, [path, value]) => setPath(doc, path, value), validStore))
    ),
  fc.tuple(fc.nat(JSON.stringify(validStore).length), fc.constantFrom("1e309", "-1e309", "NaN", "null", "\"x\""))
    .map(([at, literal]) => {
      // Raw number literals for `expires` (1e309 parses to Infinity), or a cut.
      const text = JSON.stringify(validStore)
      return at % 2 === 0 ? text.replace("1760000000000", literal) : text.slice(0, at)
    }),
  fc.tuple(padding, padding).map(([a, b]) => `\ufeff${a}${JSON.stringify(validStore)}${b}`)
)

describe(`AuthProfileStore.decode (${RUNS} runs per property)`, () => {
  const PATH = "/fuzz/auth-profiles.json"
  const decode = assertTotal(AuthProfileStore.decode)
  const fromDocument = assertTotal(AuthProfileStore.fromDocument)

  const checkStoreError = (error: unknown): void => {
    check(error instanceof ChutesError.StoreError, "the refusal is a StoreError")
    if (!(error instanceof ChutesError.StoreError)) return
    check(error.reason === "Corrupt" && error.path === PATH, "Corrupt, naming the file")
    check(!JSON.stringify(error).includes(SECRET_MARKER) && !error.message.includes(SECRET_MARKER), "secret echoed")
  }

  it("any text -> a profile set or StoreError Corrupt; never echoes a secret", () => {
    const branches = coverage()
    property(storeText, (text) => {
      const outcome = decode(text, PATH)
      const branch = outcome._tag === "TypedError"
        ? "refused"
        : outcome.value.profiles.size > 0
        ? "profiles"
        : "no profiles"
      branches.hit(branch)
      if (outcome._tag === "TypedError") return checkStoreError(outcome.error)
      for (const profile of outcome.value.profiles.values()) {
        check(profile.provider === "chutes", "only chutes profiles")
      }
    })
    branches.assertReached("refused", "profiles", "no profiles")
  })

  it("any value (non-JSON too) as the document -> a profile set or StoreError", () => {
    const anything = fc.anything({ maxDepth: 3, withNullPrototype: true, withMap: true, withBoxedValues: true })
    property(anything, (document) => {
      const outcome = fromDocument(document, PATH)
      if (outcome._tag === "TypedError") checkStoreError(outcome.error)
    })
  })

  it("what it reads, it writes back in a form it reads again, with the same profiles", () =>
    property(storeText, (text) => {
      const outcome = decode(text, PATH)
      if (outcome._tag !== "Value") return
      const again = decode(AuthProfileStore.encode(outcome.value), PATH)
      check(again._tag === "Value", "its own output is refused")
      if (again._tag !== "Value") return
      check(
        JSON.stringify([...again.value.profiles]) === JSON.stringify([...outcome.value.profiles]),
        "profiles changed on a write-back"
      )
      check(again.value.others.join("\n") === outcome.value.others.join("\n"), "other entries changed on a write-back")
    }))
})
