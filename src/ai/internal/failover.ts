/**
 * Model failover: the models of a call (`model`, then `fallbackModels`) tried in order until one gives a 2xx answer,
 * moving on only on a failure another model may not have (`ChutesAiError.isFailoverEligible`: 404 model not found,
 * 429, 503, "no instances", a prompt the model cannot take). What was passed over, and why, goes into the response
 * metadata (`ResponseInfo.failover`) and into the description of the last error.
 *
 * It ends when a model's answer has arrived (its headers): reading it, streamed or not, is the caller's business, so a
 * stream that started is never replayed on another model.
 *
 * A small loop, not `ExecutionPlan`. A plan's steps are a fixed list, each allowed only "go on to the next step" or
 * "stop"; here the next step depends on the error, and the account profiles to come add a second axis: an account
 * error (quota, credential) moves to the next profile for the same model, a model error to the next model. That
 * choice is one function ({@link nextStep}); with a plan it would be a product of steps with `while` predicates that
 * cannot skip, plus a side channel for the record of what was passed over. (A plan's steps with attempts or a schedule
 * also re-request a stream that failed after partial output without limit; retries here are `Effect.retry`, before
 * the answer, in `./send.ts`.)
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as ChutesAiError from "../ChutesAiError.js"
import type { FailoverStep } from "../ChutesLanguageModel.js"
import type { ModelTarget } from "./chatRequest.js"
import { appendDescription } from "./errors.js"

/** The answer, the model that gave it, and the models passed over before it. */
export interface Answered<A> {
  readonly value: A
  readonly target: ModelTarget
  readonly failover: ReadonlyArray<FailoverStep>
}

/** The index of the next model to try after `error` on model `index` of `count`; `undefined` ends the call. */
const nextStep = (index: number, count: number, error: ChutesAiError.ChutesAiError): number | undefined =>
  index + 1 < count && ChutesAiError.isFailoverEligible(error) ? index + 1 : undefined

const triedBefore = (failover: ReadonlyArray<FailoverStep>): string =>
  failover.length > 0 ? `; tried before: ${failover.map((f) => `chutes/${f.model} (${f.kind})`).join(", ")}` : ""

/**
 * Tries `inputs` in order: `resolve` names the model (its failure ends the call), `attempt` asks it (`hasNext`: whether
 * a model follows, so that its retries can leave the failover-eligible failures to the next one).
 */
export const run = <A, R>(options: {
  readonly inputs: ReadonlyArray<string>
  readonly resolve: (input: string) => Effect.Effect<ModelTarget, ChutesAiError.ChutesAiError, R>
  readonly attempt: (target: ModelTarget, hasNext: boolean) => Effect.Effect<A, ChutesAiError.ChutesAiError, R>
}): Effect.Effect<Answered<A>, ChutesAiError.ChutesAiError, R> => {
  const { inputs } = options
  const from = (
    index: number,
    failover: ReadonlyArray<FailoverStep>
  ): Effect.Effect<Answered<A>, ChutesAiError.ChutesAiError, R> =>
    Effect.flatMap(options.resolve(inputs[index]!), (target) =>
      Effect.matchEffect(options.attempt(target, index + 1 < inputs.length), {
        onSuccess: (value) => Effect.succeed({ value, target, failover }),
        onFailure: (error) => {
          const next = nextStep(index, inputs.length, error)
          if (next === undefined) {
            return Effect.fail(failover.length > 0 ? appendDescription(error, triedBefore(failover)) : error)
          }
          const step: FailoverStep = {
            model: target.id,
            kind: error.kind,
            status: error._tag === "HttpResponseError" ? error.response.status : undefined
          }
          return Effect.zipRight(
            Effect.logDebug(`ChutesLanguageModel: ${target.ref} failed (${error.description}); trying the next model`),
            from(next, [...failover, step])
          )
        }
      }))
  return inputs.length === 0 ? Effect.dieMessage("ChutesLanguageModel: no model to try") : from(0, [])
}
