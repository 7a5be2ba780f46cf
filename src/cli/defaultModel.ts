/**
 * Which default model onboarding writes: `--model <alias|ref>` when given; else, with a terminal, the user's pick from
 * the catalog in hand with the suggestion preselected; else the suggestion. The suggestion is the documented default,
 * or — when the catalog no longer serves it — its successor (see `Successors`), so the written `model.primary` is a
 * model the catalog holds.
 *
 * @internal
 */
import type * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { PromptError } from "../ChutesError.js"
import * as ModelCatalog from "../ModelCatalog.js"
import * as ModelRef from "../ModelRef.js"
import type * as OAuthLogin from "../OAuthLogin.js"
import * as Successors from "../Successors.js"
import { usageError } from "./render.js"

/** The model onboarding chose and the lines that say why. */
export interface Chosen {
  readonly ref: ModelRef.ModelRef
  /** Why this model (and what it costs next to the documented default, when it followed a successor). */
  readonly why: ReadonlyArray<string>
}

const ATTEMPTS = 3

const price = (model: ModelCatalog.ModelDefinition | undefined): string =>
  model?.cost === undefined ? "" : ` ($${model.cost.input} / $${model.cost.output} per 1M tokens in / out)`

/** The suggestion: the documented default, or its successor in `context.catalog`. */
const suggestion = (context: Successors.Context): Chosen => {
  const resolved = Successors.resolveDefault(ModelRef.unsafeMake(ModelCatalog.DEFAULT_MODEL_REF), context)
  const model = context.catalog.byId.get(resolved.id)
  return {
    ref: resolved.ref,
    why: resolved.followed === undefined
      ? [`the documented default${price(model)}`]
      : [`${resolved.followed.message}${price(model)}`]
  }
}

/** An input (`--model`, or typed at the prompt) resolved against the catalog, as `models resolve` does. */
const fromInput = (
  input: string,
  context: Successors.Context
): Either.Either<Chosen, string> =>
  Either.mapBoth(Successors.resolve(input, context), {
    onLeft: (error) => error.message,
    onRight: (resolved) => ({
      ref: resolved.ref,
      why: [
        `chosen: ${ModelRef.describe(resolved).replace(/\n\s*/g, "; ")}${price(context.catalog.byId.get(resolved.id))}`
      ]
    })
  })

/** Offers the catalog's served models, numbered, with the suggestion preselected (Enter takes it). */
const ask = (
  prompter: OAuthLogin.PrompterService,
  catalog: ModelCatalog.CatalogSnapshot,
  context: Successors.Context,
  suggested: Chosen
): Effect.Effect<Chosen, PromptError> =>
  Effect.gen(function*() {
    const served = catalog.models.filter((model) => model.status !== "deprecated")
    const preselected = served.findIndex((model) => ModelRef.modelId(suggested.ref) === model.id)
    yield* prompter.print(`Default model (from the ${context.catalog.source} catalog):`)
    for (const [index, model] of served.entries()) {
      const mark = index === preselected ? "*" : " "
      yield* prompter.print(`${mark} ${String(index + 1).padStart(2)}) chutes/${model.id}${price(model)}`)
    }
    const fallback = preselected >= 0 ? String(preselected + 1) : ModelRef.modelId(suggested.ref)
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const answer = (yield* prompter.prompt(`Number, alias or ref [${fallback}]: `)).trim()
      if (answer.length === 0) return suggested
      const index = /^\d+$/.test(answer) ? Number(answer) - 1 : -1
      const picked = served[index]
      if (picked !== undefined) return { ref: ModelRef.unsafeMake(`chutes/${picked.id}`), why: ["chosen from the list"] }
      const typed = fromInput(answer, context)
      if (Either.isRight(typed)) return typed.right
      yield* prompter.print(`${typed.left}. Enter a number from 1 to ${served.length}, an alias or a chutes/<id> ref.`)
    }
    return suggested
  })

/**
 * The default model to write. `--model` that does not resolve is a usage error (exit 2).
 */
export const choose = (options: {
  readonly input: string | undefined
  readonly catalog: ModelCatalog.CatalogSnapshot
  readonly userAliases: ModelRef.AliasTable
  readonly followSuccessors: boolean
  readonly prompter: OAuthLogin.PrompterService
}): Effect.Effect<Chosen, ValidationError.ValidationError | PromptError> => {
  const context: Successors.Context = {
    catalog: options.catalog,
    userAliases: options.userAliases,
    followSuccessors: options.followSuccessors
  }
  if (options.input !== undefined) {
    return Either.match(fromInput(options.input, context), {
      onLeft: (message) => usageError(`--model ${JSON.stringify(options.input)}: ${message}`),
      onRight: Effect.succeed
    })
  }
  const suggested = suggestion(context)
  return options.prompter.isInteractive
    ? ask(options.prompter, options.catalog, context, suggested)
    : Effect.succeed(suggested)
}
