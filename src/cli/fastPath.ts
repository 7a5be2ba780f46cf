/**
 * The executable's fast path: `models list --offline` (the commonest command without a network, and the one start-up
 * is benchmarked on) printed without building the @effect/cli command tree or its parser, which cost about as much as
 * the listing itself (bench/README.md, "Cold start").
 *
 * This is not a second parser: it recognises a closed list of exact command lines — `models list` followed by
 * `--offline` and any of `--json` and `--no-follow-successors`, each at most once, in any order, and nothing else —
 * and anything else (another flag, a value, `--offline=true`, a repeated flag, `--help`, `--`) goes to @effect/cli as
 * before. Both paths print through `offline.ts`; `test/cli/fastPath.test.ts` runs every recognised line both ways and
 * compares the bytes and the exit code.
 *
 * @internal
 */
import type { OfflineList } from "./offline.js"

/** The flags a fast-path command line may carry after `models list`, besides `--offline`. */
const FLAGS: ReadonlySet<string> = new Set(["--offline", "--json", "--no-follow-successors"])

/**
 * The offline listing an exact command line asks for (`process.argv`-style: the node and script paths first), or
 * `undefined` when the command line is anything else and must go to the full CLI.
 */
export const offlineListing = (argv: ReadonlyArray<string>): OfflineList | undefined => {
  const [group, name, ...flags] = argv.slice(2)
  if (group !== "models" || name !== "list") return undefined
  if (!flags.includes("--offline") || new Set(flags).size !== flags.length) return undefined
  if (!flags.every((flag) => FLAGS.has(flag))) return undefined
  return {
    json: flags.includes("--json"),
    followSuccessors: flags.includes("--no-follow-successors") ? false : undefined
  }
}
