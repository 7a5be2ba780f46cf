/**
 * The `effect-chutes` executable: runs the CLI and maps outcomes to exit codes — 0 ok, 1 failure, 2 usage (a
 * `ValidationError`: bad flags, or a missing one without a terminal to ask on; or a sign-in that needs a terminal
 * without one), 130 interrupted — printing an expected failure as one clear line starting with "effect-chutes:" (a
 * usage error then says where `--help` is), never a stack trace.
 *
 * @internal
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { commandOf, main } from "./main.js"
import { failure, withCliLogging } from "./render.js"

// A reader that went away (`effect-chutes models list | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0)
    throw error
  })
}

const platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)

Effect.runPromiseExit(main(process.argv).pipe(withCliLogging, Effect.provide(platform))).then((exit) => {
  if (Exit.isSuccess(exit)) {
    process.exitCode = 0
    return
  }
  const { code, text } = failure(exit.cause, commandOf(process.argv))
  process.stderr.write(text)
  process.exitCode = code
})
