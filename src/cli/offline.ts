/**
 * `models list --offline`: the built-in catalog, with no config, no store, no network and no terminal. It is what
 * start-up is benchmarked on (bench/README.md, "Cold start"), so this module imports only the catalog, the refs and
 * the settings read from the environment — never @effect/cli, HTTP, OAuth, AI or prompt modules. Both the command
 * tree (`commands.ts`) and the executable's fast path (`fastPath.ts`, run from its own bundle by `fast.ts`) print
 * through `list`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as ChutesSettings from "../ChutesSettings.js"
import * as ModelCatalog from "../ModelCatalog.js"
import * as ModelRef from "../ModelRef.js"
import * as Successors from "../Successors.js"
import { modelsListOutput } from "./json.js"

/** What the offline listing depends on. */
export interface OfflineList {
  readonly json: boolean
  /** `false` with `--no-follow-successors`; `undefined` leaves it to `CHUTES_FOLLOW_SUCCESSORS`. */
  readonly followSuccessors: boolean | undefined
}

/** Writes the lines to stdout in one write. */
const print = (lines: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.sync(() => void process.stdout.write(`${lines.join("\n")}\n`))

/**
 * Prints the built-in catalog: the source line, one `followed:` line per built-in name that follows a successor, a
 * blank line and the table — or the JSON of `ModelsListOutput`.
 */
export const list = (options: OfflineList): Effect.Effect<void> =>
  Effect.gen(function*() {
    const snapshot = ModelCatalog.staticSnapshot()
    const settings = yield* ChutesSettings.fromEnv({ followSuccessors: options.followSuccessors })
    const defaultModel = ModelRef.unsafeMake(ModelCatalog.DEFAULT_MODEL_REF)
    const followed = Successors.builtinHops(defaultModel, ModelRef.builtinAliases, {
      catalog: snapshot,
      followSuccessors: settings.followSuccessors
    })
    if (options.json) return yield* print([JSON.stringify(modelsListOutput(snapshot, true, followed), null, 2)])
    yield* print([
      "source: static (offline; the built-in catalog)",
      ...followed.map((hop) => `followed: ${hop.message}`),
      "",
      ModelCatalog.formatTable(snapshot.models, Successors.listingNotes(snapshot.models, followed))
    ])
  })
