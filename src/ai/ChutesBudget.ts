/**
 * A USD budget for the chat calls of `ChutesLanguageModel`: every call through a model built over this service adds
 * its list-price value (the `usd` of its `CallCost`: the catalog's prices times its tokens, whether the daily quota
 * covered it or not) to `spent`; once `spent` ≥ the limit, the next call fails at once with kind `BudgetExceeded`
 * (an `UnknownError`), before any request is sent.
 *
 * What it is and is not:
 * - Per layer and per process: the amount lives in memory, in the `ChutesBudget` layer's instance (one per layer
 *   build; a layer provided to several programs is built once per `Effect.provide`), and is gone at restart. Several
 *   `ChutesLanguageModel` layers built over one instance share it.
 * - The check is made when a call starts; the cost is added when its answer is read to the end (the finish part).
 *   Calls already in flight when the limit is reached finish, so the spend can end above the limit by at most what
 *   those calls cost; a stream the caller stops reading early adds nothing.
 * - A call whose model has no price in the catalog (`priceSource: "none"`) or whose answer reported no usage adds 0.
 * - It counts list-price value, not what the balance was charged: a quota-covered call counts too.
 *
 * @example
 * ```ts
 * import * as LanguageModel from "@effect/ai/LanguageModel"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { ChutesBudget, ChutesLanguageModel } from "effect-chutes/ai"
 * import { NodeChutes } from "effect-chutes/node"
 *
 * const Chat = ChutesLanguageModel.layer({ model: "chutes-pro" }).pipe(
 *   Layer.provideMerge(ChutesBudget.layer({ usd: 0.5 })),
 *   Layer.provide(NodeChutes.layer())
 * )
 *
 * const program = Effect.gen(function*() {
 *   const answer = yield* LanguageModel.generateText({ prompt: "Hello" })
 *   const budget = yield* ChutesBudget.ChutesBudget
 *   const spent = yield* budget.spent
 *   return `${answer.text} (spent $${spent.toFixed(4)} of $${budget.limitUsd})`
 * }).pipe(Effect.provide(Chat))
 * ```
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"

/**
 * @since 0.3.0
 * @category models
 */
export interface Service {
  /** The limit, in USD (`Infinity`: none; the spend is still counted). */
  readonly limitUsd: number
  /** The list-price value of the calls counted so far, in USD. */
  readonly spent: Effect.Effect<number>
  /** `limitUsd - spent`, never below 0. */
  readonly remaining: Effect.Effect<number>
  /** Adds a call's list-price value (what `ChutesLanguageModel` does at each finish part). */
  readonly add: (usd: number) => Effect.Effect<void>
}

/**
 * The budget `ChutesLanguageModel` reads when it is built (when present).
 *
 * @since 0.3.0
 * @category tags
 */
export class ChutesBudget extends Context.Tag("effect-chutes/ai/ChutesBudget")<ChutesBudget, Service>() {}

/**
 * A fresh budget of `usd`: 0 or more, `Infinity` included (0 refuses every call); anything else (`NaN`, a negative
 * number) is a defect — a programming error, like a layer built with a bad option.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (options: { readonly usd: number }): Effect.Effect<Service> =>
  Effect.suspend(() => {
    const limitUsd = options.usd
    if (!(limitUsd >= 0)) return Effect.dieMessage(`ChutesBudget: the limit must be 0 or more USD, got ${limitUsd}`)
    return Effect.map(Ref.make(0), (spent): Service => ({
      limitUsd,
      spent: Ref.get(spent),
      remaining: Effect.map(Ref.get(spent), (usd) => Math.max(0, limitUsd - usd)),
      add: (usd) => usd > 0 && Number.isFinite(usd) ? Ref.update(spent, (total) => total + usd) : Effect.void
    }))
  })

/**
 * A budget of `usd` for the `ChutesLanguageModel` layers built over it.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (options: { readonly usd: number }): Layer.Layer<ChutesBudget> =>
  Layer.effect(ChutesBudget, make(options))
