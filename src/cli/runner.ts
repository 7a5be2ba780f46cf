/**
 * @effect/cli's parser and built-ins (`--completions`, `--wizard`, `--log-level`) over the command tree. Apart from
 * `commands.ts` because `--help` and `--version` never need it (`main.ts`), and it is the larger part of @effect/cli.
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import { command, VERSION } from "./commands.js"

/** Runs the CLI on `process.argv`-style arguments (the node and script paths first; they are dropped). */
export const run = Command.run(command, { name: "effect-chutes", version: VERSION })
