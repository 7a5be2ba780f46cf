/**
 * The CLI behind the executable (`bin.ts`): runs a command line and maps outcomes to exit codes — 0 ok, 1 failure, 2
 * usage (a `ValidationError`: bad flags, or a missing one without a terminal to ask on; or a sign-in that needs a
 * terminal without one), 130 interrupted — printing an expected failure as one clear line starting with
 * "effect-chutes:" (a usage error then says where `--help` is), never a stack trace.
 *
 * `--help` and `--version` are answered from the command definitions (`main.ts`); only the other commands load
 * @effect/cli's parser and the Node services.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { withoutOccurrences } from "../internal/redact.js"
import { answer, commandOf, main, missingValue } from "./main.js"
import { failure, terminalSafe, withCliLogging } from "./render.js"

/** The environment's secrets a command may read. */
const SECRET_ENV = ["CHUTES_API_KEY", "CHUTES_OAUTH_TOKEN", "CHUTES_CLIENT_SECRET"] as const

/**
 * The secrets a command line carries — the value of `--chutes-api-key` — and the environment's: a usage error quotes
 * the arguments it did not take whole, and the scrub only knows the shape of Chutes keys. (Whole occurrences only: a
 * key someone typed may share words with the message.)
 */
const secretsOf = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv): ReadonlyArray<string> => {
  const secrets: Array<string> = SECRET_ENV.flatMap((name) => env[name] ?? [])
  argv.forEach((arg, i) => {
    if (arg === "--chutes-api-key" && argv[i + 1] !== undefined) secrets.push(argv[i + 1]!)
    else if (arg.startsWith("--chutes-api-key=")) secrets.push(arg.slice("--chutes-api-key=".length))
  })
  // A placeholder (`CHUTES_API_KEY=test`) would cut ordinary words out of the message; no real key is that short.
  return secrets.filter((secret) => secret.length >= 8)
}

/** What a command line runs: the help, or the command with the Node services (loaded only then). */
const program = (argv: ReadonlyArray<string>): Effect.Effect<void, unknown> =>
  answer(argv) ??
    Effect.flatMap(Effect.promise(() => import("./platform.js")), (platform) =>
      main(argv).pipe(Effect.provide(platform.layer)))

/** Runs `argv` (`process.argv`-style) and sets the exit code. */
export const start = (argv: ReadonlyArray<string>): Promise<void> =>
  Effect.runPromiseExit(withCliLogging(program(argv))).then((exit) => {
    if (Exit.isSuccess(exit)) {
      process.exitCode = 0
      return
    }
    const { code, text } = failure(exit.cause, commandOf(argv), missingValue(argv))
    process.stderr.write(terminalSafe(withoutOccurrences(text, secretsOf(argv, process.env))))
    process.exitCode = code
  })
