/**
 * Shared pieces of the fuzz suite (test/fuzz.test.ts): the totality check, the run parameters and arbitraries of
 * hostile text.
 *
 * The contract every parser of untrusted input must keep: whatever the input, the result is a value or a typed
 * error — never a thrown exception, never a defect, never a hang. `assertTotal(fn)` turns a parser into a checked
 * function that enforces it, so adding a parser to the suite is one small block.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import { performance } from "node:perf_hooks"
import * as ChutesError from "../../src/ChutesError.js"

/**
 * Runs per property: at least 1,000 (the CI floor); `FUZZ_RUNS=100000` for a longer local soak.
 */
export const RUNS: number = Math.max(1000, Number(process.env["FUZZ_RUNS"] ?? "0") || 0)

/**
 * fast-check parameters for every property. `FUZZ_SEED` (and `FUZZ_PATH`) replay a reported failure.
 *
 * `interruptAfterTimeLimit` + `markInterruptAsFailure` make a property that stops making progress fail instead of
 * passing silently; the limit grows with `RUNS` and is far above the normal run time, so it is a hang detector, not a
 * speed check.
 */
export const parameters = <T>(): fc.Parameters<T> => {
  const seed = Number(process.env["FUZZ_SEED"])
  const path = process.env["FUZZ_PATH"]
  return {
    numRuns: RUNS,
    interruptAfterTimeLimit: 15_000 * (RUNS / 1000),
    markInterruptAsFailure: true,
    ...(Number.isInteger(seed) ? { seed } : {}),
    ...(path !== undefined && path.length > 0 ? { path } : {})
  }
}

/** Classes exported by src/ChutesError.ts: every public typed error, including ones added later. */
const errorClasses = Object.values(ChutesError).flatMap((value) => (typeof value === "function" ? [value] : []))

/**
 * Whether a value is one of the public typed errors (an instance of a class from src/ChutesError.ts).
 */
export const isChutesError = (u: unknown): boolean => errorClasses.some((cls) => u instanceof cls)

/** What a total function produced. */
export type Outcome<A> =
  | { readonly _tag: "Value"; readonly value: A }
  | { readonly _tag: "TypedError"; readonly error: unknown }

/** Options of `assertTotal`. */
export interface TotalOptions {
  /** Which failures count as typed. Default: `isChutesError`. */
  readonly isTypedError?: ((u: unknown) => boolean) | undefined
  /**
   * A single call that takes longer than this (ms) is reported as a hang. Generous on purpose: it catches super-linear
   * blow-ups (catastrophic regex backtracking, quadratic loops on long input), not slowness. Default 2,000.
   */
  readonly hangMillis?: number | undefined
}

/** Thrown (inside fast-check only) when a parser breaks the contract; fast-check shrinks and reports the input. */
export class ContractViolation extends Error {
  override readonly name = "ContractViolation"
}

const show = (u: unknown): string => {
  if (u instanceof Error) return `${u.name}: ${u.message}`
  try {
    return JSON.stringify(u)?.slice(0, 300) ?? String(u)
  } catch {
    return String(u)
  }
}

/** A typed error must also render: its `message` getter and JSON form are part of the contract. */
const checkRenders = (error: unknown): void => {
  if (typeof error === "object" && error !== null && "message" in error) {
    if (typeof error.message !== "string") throw new ContractViolation(`typed error has a non-string message`)
  }
  JSON.stringify(error)
}

/**
 * Wraps a parser so that every call either returns its outcome or throws a `ContractViolation` naming what went
 * wrong (a throw, a defect, an untyped failure, a hang). Handles parsers returning an `Either` (the Left must be a
 * typed error), a synchronous `Effect` (a failure must be a typed error; a defect, an interruption or an async
 * boundary is a violation) or a plain value.
 */
export function assertTotal<Args extends ReadonlyArray<unknown>, A, E>(
  fn: (...args: Args) => Either.Either<A, E>,
  options?: TotalOptions
): (...args: Args) => Outcome<A>
export function assertTotal<Args extends ReadonlyArray<unknown>, A, E>(
  fn: (...args: Args) => Effect.Effect<A, E>,
  options?: TotalOptions
): (...args: Args) => Outcome<A>
export function assertTotal<Args extends ReadonlyArray<unknown>, A>(
  fn: (...args: Args) => A,
  options?: TotalOptions
): (...args: Args) => Outcome<A>
export function assertTotal<Args extends ReadonlyArray<unknown>>(
  fn: (...args: Args) => unknown,
  options: TotalOptions = {}
): (...args: Args) => Outcome<unknown> {
  const isTyped = options.isTypedError ?? isChutesError
  const hangMillis = options.hangMillis ?? 2000
  const typed = (error: unknown): Outcome<unknown> => {
    if (!isTyped(error)) throw new ContractViolation(`failed with an untyped error: ${show(error)}`)
    checkRenders(error)
    return { _tag: "TypedError", error }
  }
  const classify = (result: unknown): Outcome<unknown> => {
    // Either and Option are Effects in Effect 3: test them first.
    if (Either.isEither(result)) {
      return Either.isLeft(result) ? typed(result.left) : { _tag: "Value", value: result.right }
    }
    if (Option.isOption(result) || !Effect.isEffect(result)) return { _tag: "Value", value: result }
    // The overloads only accept Effects without requirements, so running it here needs no context.
    const exit = Effect.runSyncExit(result as Effect.Effect<unknown, unknown>)
    if (Exit.isSuccess(exit)) return { _tag: "Value", value: exit.value }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure) && !Cause.isDie(exit.cause) && !Cause.isInterrupted(exit.cause)) {
      return typed(failure.value)
    }
    throw new ContractViolation(`died or was interrupted: ${Cause.pretty(exit.cause).slice(0, 500)}`)
  }
  return (...args) => {
    const started = performance.now()
    let result: unknown
    try {
      result = fn(...args)
    } catch (thrown) {
      throw new ContractViolation(`threw instead of returning a typed error: ${show(thrown)}`)
    }
    const outcome = classify(result)
    const took = performance.now() - started
    if (took > hangMillis) throw new ContractViolation(`one call took ${Math.round(took)} ms: treated as a hang`)
    return outcome
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Arbitraries of hostile text
// ---------------------------------------------------------------------------------------------------------------------

/** Whitespace JavaScript's `\s` and `trim` know, Unicode ones included. */
export const whitespaceChars: ReadonlyArray<string> = [
  " ",
  "\t",
  "\n",
  "\r",
  "\v",
  "\f",
  "\u00a0",
  "\u1680",
  "\u2000",
  "\u2028",
  "\u2029",
  "\u202f",
  "\u3000",
  "\ufeff"
]

/** C0, DEL and C1 control characters, ESC (terminal escapes) included. */
export const controlChars: ReadonlyArray<string> = [
  "\u0000",
  "\u0001",
  "\u001b",
  "\u001f",
  "\u007f",
  "\u0085",
  "\u009f"
]

/** Characters that look harmless but are not ASCII: zero-width, bidi overrides, lone surrogates, emoji. */
export const trickyChars: ReadonlyArray<string> = [
  "\u200b",
  "\u200d",
  "\u202e",
  "\u2066",
  "\ud800",
  "\udfff",
  "😀",
  "é",
  "ß"
]

/** One "unit" of a hostile string: mostly model-name characters, sometimes something nasty. */
export const hostileChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(..."abcXYZ019-_.:@".split("")) },
  { weight: 2, arbitrary: fc.constant("/") },
  { weight: 1, arbitrary: fc.constantFrom(...whitespaceChars) },
  { weight: 1, arbitrary: fc.constantFrom(...controlChars) },
  { weight: 1, arbitrary: fc.constantFrom(...trickyChars) }
)

/** Strings built from `hostileChar`. */
export const hostileString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.array(hostileChar, { maxLength }).map((chars) => chars.join(""))

/** Any string: printable, any code point (lone surrogates too), or long. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) }),
  fc.string({ minLength: 1000, maxLength: 5000 })
)

/**
 * Counts which branches a property's runs reached, so a property whose generators never produce (say) an accepted
 * input fails instead of passing on the refusals alone.
 */
export const coverage = () => {
  const seen = new Map<string, number>()
  return {
    hit: (label: string): void => void seen.set(label, (seen.get(label) ?? 0) + 1),
    assertReached: (...labels: ReadonlyArray<string>): void => {
      const missing = labels.filter((label) => !seen.has(label))
      if (missing.length > 0) {
        throw new Error(`the generators never reached ${missing.join(", ")} (seen: ${JSON.stringify([...seen])})`)
      }
    }
  }
}
