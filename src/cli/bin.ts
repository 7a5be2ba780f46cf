/**
 * The `effect-chutes` executable: runs the CLI and maps outcomes to exit codes — 0 ok, 1 failure, 2 usage (a
 * `ValidationError`: bad flags, or a missing one without a terminal to ask on), 130 interrupted — printing an expected
 * failure as one clear line, never a stack trace.
 *
 * @internal
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { run } from "./main.js"
import { renderCause, withCliLogging } from "./render.js"

// A reader that went away (`effect-chutes models list | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0)
    throw error
  })
}

const platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)

const main = run(process.argv).pipe(withCliLogging, Effect.provide(platform))

Effect.runPromiseExit(main).then((exit) => {
  if (Exit.isSuccess(exit)) {
    process.exitCode = 0
    return
  }
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some" && ValidationError.isValidationError(failure.value)) {
    // Already printed: by @effect/cli for parse errors, by `usageError` for the commands' own usage problems.
    process.exitCode = 2
    return
  }
  process.stderr.write(`effect-chutes: ${renderCause(exit.cause)}\n`)
  process.exitCode = Cause.isInterruptedOnly(exit.cause) ? 130 : 1
})
