// Bundles the CLI into one ESM file (dist/cli.mjs) so `effect-chutes` starts in a few times the time of a bare
// `node -e` (PERF.md: bundling is the main lever for cold start). The library entries stay plain ESM sources.
import { build } from "esbuild"

await build({
  entryPoints: ["src/cli/bin.ts"],
  outfile: "dist/cli.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  // Some bundled dependencies are CommonJS and call require() for Node built-ins.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: "warning"
})
