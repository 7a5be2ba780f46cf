/**
 * The `effect-chutes` executable (`start.ts` runs the CLI and maps outcomes to exit codes).
 *
 * Start-up (bench/README.md, "Cold start"): this entry loads nothing but the fast path's check. `models list
 * --offline` runs from a bundle of its own (`fast.ts`, `fastPath.ts`); every other command line loads the CLI
 * (`start.ts`), whose bundle is split so that each command's code is read only when it runs.
 *
 * @internal
 */
import { offlineListing } from "./fastPath.js"

// A reader that went away (`effect-chutes models list | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0)
    throw error
  })
}

const full = () => import("./start.js").then(({ start }) => start(process.argv))

/**
 * The fast path's bundle, next to the split chunks (scripts/build.mjs). A build without it (the CLI bundled in one
 * file, or run from the sources) takes the full path, which prints the same.
 */
const fast = (): Promise<typeof import("./fast.js") | undefined> =>
  import(new URL("./cli/fast.mjs", import.meta.url).href).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ERR_MODULE_NOT_FOUND") return undefined
    throw error
  })

const listing = offlineListing(process.argv)
if (listing === undefined) {
  void full()
} else {
  void fast().then(async (bundle) => {
    // A failed listing printed nothing: the full CLI runs it again and reports the failure as every command does.
    if (bundle === undefined || !(await bundle.run(listing))) await full()
    else process.exitCode = 0
  })
}
