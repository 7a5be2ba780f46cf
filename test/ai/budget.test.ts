/**
 * A USD budget shared by every call through the models built over one `ChutesBudget` (issue 16, point 3): once the
 * list-price value spent reaches it, the next call fails at once with kind `BudgetExceeded` and sends nothing; calls
 * in flight finish (the only overshoot). Over loopback against FakeChutes.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ChutesAiError from "../../src/ai/ChutesAiError.js"
import * as ChutesBudget from "../../src/ai/ChutesBudget.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { modelLayer } from "./harness.js"

const USAGE = { prompt_tokens: 1000, completion_tokens: 200, prompt_tokens_details: { cached_tokens: 400 } }
/** A call of zai-org/GLM-5-TEE with USAGE, at the fake catalog's prices. */
const USD = (600 * 0.95 + 400 * 0.475 + 200 * 2.55) / 1_000_000

const withBudget = (fake: FakeChutes.FakeChutesServer, usd: number) =>
  modelLayer(fake).pipe(Layer.provideMerge(ChutesBudget.layer({ usd })))

const spent = Effect.flatMap(ChutesBudget.ChutesBudget, (budget) => budget.spent)

describe("ChutesBudget", () => {
  it.scopedLive("sequential calls: the call after the limit is reached fails at once, with nothing sent", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.setDefaultReply({ content: "Hi", usage: USAGE })
      const outcome = yield* Effect.gen(function*() {
        yield* LanguageModel.generateText({ prompt: "1" })
        yield* LanguageModel.streamText({ prompt: "2" }).pipe(Stream.runDrain)
        const afterTwo = yield* spent
        const error = yield* LanguageModel.generateText({ prompt: "3" }).pipe(Effect.flip)
        const streamError = yield* LanguageModel.streamText({ prompt: "4" }).pipe(Stream.runDrain, Effect.flip)
        const budget = yield* ChutesBudget.ChutesBudget
        return { afterTwo, error, streamError, remaining: yield* budget.remaining }
      }).pipe(Effect.provide(withBudget(fake, 1.5 * USD)))
      assert.approximately(outcome.afterTwo, 2 * USD, 1e-12, "both calls counted, the stream at its finish part")
      assert.strictEqual(ChutesAiError.kind(outcome.error), "BudgetExceeded")
      assert.strictEqual(ChutesAiError.kind(outcome.streamError), "BudgetExceeded")
      assert.instanceOf(outcome.error, ChutesAiError.UnknownError)
      assert.include(outcome.error.message, "The Chutes budget is spent: $0.0025 of list-price value against a limit of $0.0019")
      assert.include(outcome.error.message, "no request was sent")
      assert.strictEqual(outcome.remaining, 0)
      assert.strictEqual(fake.counters.chat, 2, "no request after the budget was spent")
    }))

  it.scopedLive("concurrent calls: no overshoot beyond the calls already in flight", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.setDefaultReply({ content: "Hi", usage: USAGE })
      // A little latency so that calls overlap.
      fake.fault({ _tag: "Delay", route: "chat", millis: 20 })
      const concurrency = 3
      const limit = 2.5 * USD
      const { outcomes, total } = yield* Effect.gen(function*() {
        const outcomes = yield* Effect.all(
          Array.from({ length: 12 }, (_, i) => Effect.either(LanguageModel.generateText({ prompt: `call ${i}` }))),
          { concurrency }
        )
        return { outcomes, total: yield* spent }
      }).pipe(Effect.provide(withBudget(fake, limit)))
      const succeeded = outcomes.filter(Either.isRight).length
      const refused = outcomes.filter(Either.isLeft)
      assert.isTrue(refused.every((o) => ChutesAiError.kind(o.left) === "BudgetExceeded"))
      assert.strictEqual(succeeded + refused.length, 12)
      // Within budget: 2 calls (2.5 × a call); the third starts while spent < limit. In flight with those: at most
      // concurrency - 1 more.
      assert.isAtLeast(succeeded, 3)
      assert.isAtMost(succeeded, 3 + concurrency - 1)
      assert.strictEqual(fake.counters.chat, succeeded, "a refused call sends nothing")
      assert.approximately(total, succeeded * USD, 1e-12)
      assert.isBelow(total - limit, concurrency * USD, "the overshoot is only what was in flight")
    }))

  it.scopedLive("one budget shared by two model layers built over it; 0 USD refuses the first call", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.chat.setDefaultReply({ content: "Hi", usage: USAGE })
      const shared = ChutesBudget.layer({ usd: 1.5 * USD })
      const a = modelLayer(fake, { model: "zai-org/GLM-5-TEE" })
      const b = modelLayer(fake, { model: "zai-org/GLM-5-TEE" })
      const result = yield* Effect.gen(function*() {
        const budget = yield* ChutesBudget.ChutesBudget
        const modelA = yield* Layer.build(a.pipe(Layer.provide(Layer.succeed(ChutesBudget.ChutesBudget, budget))))
        const modelB = yield* Layer.build(b.pipe(Layer.provide(Layer.succeed(ChutesBudget.ChutesBudget, budget))))
        yield* LanguageModel.generateText({ prompt: "a" }).pipe(Effect.provide(modelA))
        yield* LanguageModel.generateText({ prompt: "b" }).pipe(Effect.provide(modelB))
        return yield* LanguageModel.generateText({ prompt: "a again" }).pipe(Effect.provide(modelA), Effect.flip)
      }).pipe(Effect.provide(shared))
      assert.strictEqual(ChutesAiError.kind(result), "BudgetExceeded")
      assert.strictEqual(fake.counters.chat, 2)

      const none = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.provide(withBudget(fake, 0)),
        Effect.flip
      )
      assert.strictEqual(ChutesAiError.kind(none), "BudgetExceeded")
      assert.strictEqual(fake.counters.chat, 2)
    }))

  it.effect("make refuses a negative or NaN limit; Infinity counts without a limit", () =>
    Effect.gen(function*() {
      const bad = yield* ChutesBudget.make({ usd: -1 }).pipe(Effect.exit)
      assert.isTrue(bad._tag === "Failure")
      const nan = yield* ChutesBudget.make({ usd: Number.NaN }).pipe(Effect.exit)
      assert.isTrue(nan._tag === "Failure")
      const open = yield* ChutesBudget.make({ usd: Infinity })
      yield* open.add(0.25)
      yield* open.add(Number.NaN)
      yield* open.add(-3)
      assert.strictEqual(yield* open.spent, 0.25)
      assert.strictEqual(yield* open.remaining, Infinity)
    }))
})
