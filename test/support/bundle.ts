/**
 * Bundles a worker script with esbuild, so child processes start in ~0.1 s instead of the ~1 s `node --import tsx`
 * takes — what makes hundreds of respawns affordable (crash test) and 8 simultaneous starts quick (load test).
 */
import { build } from "esbuild"
import { fileURLToPath } from "node:url"

export const bundleForNode = (entry: URL, outfile: string): Promise<unknown> =>
  build({
    entryPoints: [fileURLToPath(entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Bundled CommonJS dependencies (proper-lockfile, graceful-fs) call require() for Node built-ins.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "warning"
  })
