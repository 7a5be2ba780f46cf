/**
 * The `effect-chutes` command line: onboarding, models (list, resolve), auth (status, cooldowns, logout, move), account
 * and usage.
 *
 * Start-up time matters (bench/README.md, "Cold start"): the command definitions are in `commands.ts`, and every
 * handler loads its code with a dynamic `import()` when it runs; the bundle is split (scripts/build.mjs) so that code
 * is not even read before. `--help` and `--version` are answered here from the definitions alone; @effect/cli's parser
 * (`runner.ts`) is loaded for everything else.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { command, tree, VERSION } from "./commands.js"
import { findCommand, layoutFor, render as renderHelp, valuedOption } from "./help.js"
import { out, outOwn } from "./render.js"

/**
 * The command tree.
 *
 * @since 0.1.0
 */
export { command }

/** The built-in options of @effect/cli worth a line in the top-level help. */
const ROOT_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ["--version", "print the version"],
  ["--completions <shell>", "print a completion script for sh, bash, fish or zsh"]
]

/**
 * Runs the CLI on `process.argv`-style arguments (the node and script paths first; they are dropped).
 *
 * @since 0.1.0
 */
export const run = (argv: ReadonlyArray<string>) =>
  Effect.flatMap(Effect.promise(() => import("./runner.js")), (runner) => runner.run(argv))

/** The words before `--`, where `--help` and `--version` count. */
const words = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const args = argv.slice(2)
  const end = args.indexOf("--")
  return end === -1 ? args : args.slice(0, end)
}

/** The command a command line names, as words (`["effect-chutes", "models", "list"]`): where its `--help` is. */
export const commandOf = (argv: ReadonlyArray<string>): ReadonlyArray<string> => findCommand(tree, words(argv)).path

/**
 * The option that ends a command line without its value, as its help term (`--model <alias|ref>`): @effect/cli calls
 * it an unknown argument, which it is not.
 */
export const missingValue = (argv: ReadonlyArray<string>): string | undefined => {
  const { node, rest } = findCommand(tree, words(argv))
  const last = rest.at(-1)
  return last !== undefined && /^--[a-z][a-z-]*$/.test(last) ? valuedOption(node, last) : undefined
}

/**
 * @effect/cli prints a parse error itself, coloured and without saying where help is: silenced here, as the
 * executable prints every usage error the same way ("effect-chutes: …", then where `--help` is).
 */
const withoutCliErrorOutput = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((console) => Console.withConsole(effect, { ...console, error: () => Effect.void }))

/**
 * `--help` (also a group named without a command) and `--version`, answered from the command definitions (see
 * `help.ts`) with no service and without @effect/cli's parser; `undefined` for any other command line.
 *
 * @since 0.2.0
 */
export const answer = (argv: ReadonlyArray<string>): Effect.Effect<void> | undefined => {
  const given = words(argv)
  const { node, path, rest } = findCommand(tree, given)
  if (given.includes("--help") || given.includes("-h") || (node.children !== undefined && rest.length === 0)) {
    return outOwn(renderHelp(node, path, layoutFor(process.stdout), {
      options: node === tree ? ROOT_OPTIONS : [],
      shared: ["--config", "--state-dir", "--timeout", "--no-follow-successors"]
    }))
  }
  if (given.includes("--version")) return out(VERSION)
  return undefined
}

/**
 * The executable's entry: `--help` and `--version` are answered here (`answer`); everything else goes to `run`.
 *
 * @since 0.2.0
 */
export const main = (argv: ReadonlyArray<string>) => answer(argv) ?? withoutCliErrorOutput(run(argv))
