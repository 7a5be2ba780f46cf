// `npm run build` (run by `npm test`, and by `npm pack` / `npm publish` through `prepack`; never by `npm install`):
// 1. the library entries compiled to plain ESM with declarations in dist/lib — what `import "effect-chutes"` loads for
//    every consumer (inside this repository, tsconfig paths and the "effect-chutes:source" export condition point at the
//    TypeScript sources instead);
// 2. the CLI bundled into one ESM file, dist/cli.mjs, so `effect-chutes` starts in a few times the time of a bare
//    `node -e` (bundling is the main lever for cold start; bench/README.md has the cold-start row).
import { build } from "esbuild"
import { spawnSync } from "node:child_process"
import { cpSync, rmSync } from "node:fs"
import { createRequire } from "node:module"

rmSync("dist/lib", { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
const compiled = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" })
if (compiled.status !== 0) process.exit(compiled.status ?? 1)
// FakeChutes serves the real capture from next to its module.
cpSync("src/testing/fixtures", "dist/lib/testing/fixtures", { recursive: true })

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
