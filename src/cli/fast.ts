/**
 * The fast path's own bundle, `dist/cli/fast.mjs` (scripts/build.mjs): `models list --offline` (`fastPath.ts`) with
 * only what it needs, tree-shaken. The split bundle of the whole CLI carries the same code in bigger chunks, because
 * esbuild splits by file and a chunk keeps every part of a file that any command uses: ~265 KB against ~210 KB here,
 * a fifth of the start-up (bench/README.md, "Cold start").
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { list, type OfflineList } from "./offline.js"

/**
 * Prints the offline listing. `false` when it failed: the executable then runs the command line again through the
 * full CLI, which fails the same way and reports it as every command does (the listing writes once, at its end, so
 * nothing was printed).
 */
export const run = (listing: OfflineList): Promise<boolean> =>
  Effect.runPromiseExit(list(listing)).then(Exit.isSuccess)
