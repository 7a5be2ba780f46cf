// `npm run build` (run by `npm test`, and by `npm pack` / `npm publish` through `prepack`; never by `npm install`):
// 1. the library entries compiled to plain ESM with declarations in dist/lib — what `import "effect-chutes"` loads for
//    every consumer (inside this repository, tsconfig paths and the "effect-chutes:source" export condition point at the
//    TypeScript sources instead);
// 2. the CLI bundled into ESM, dist/cli.mjs, so `effect-chutes` starts in a few times the time of a bare `node -e`
//    (bench/README.md has the cold-start rows). The bundle is split: dist/cli.mjs holds what every command needs, and
//    each dynamic `import()` of the CLI (a command's handler, the parser, the Node services) is a chunk under dist/cli/
//    that Node reads only when that import runs. One file with everything was 1.1 MB that every start compiled.
//    `models list --offline` has a bundle of its own, dist/cli/fast.mjs (src/cli/fast.ts).
//
// `node scripts/build.mjs --cli-only [--outdir <dir>]` makes only the CLI bundles (no tsc), in <dir> (default dist):
// what test/cli/fastPath.test.ts runs the executable from, in a temporary directory.
import { build } from "esbuild"
import { spawnSync } from "node:child_process"
import { cpSync, existsSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { parseArgs } from "node:util"

const { values: flags } = parseArgs({
  options: { "cli-only": { type: "boolean", default: false }, outdir: { type: "string", default: "dist" } }
})

if (!flags["cli-only"]) {
  rmSync("dist/lib", { recursive: true, force: true })
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  const compiled = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" })
  if (compiled.status !== 0) process.exit(compiled.status ?? 1)
  // FakeChutes serves the real capture from next to its module.
  cpSync("src/testing/fixtures", "dist/lib/testing/fixtures", { recursive: true })
}

/** Whether Node loads `file` as CommonJS: `.cjs`, or `.js` under a package.json without `"type": "module"`. */
const isCommonJs = (file) => {
  if (/\.(mjs|mts)$/.test(file)) return false
  if (/\.(cjs|cts)$/.test(file)) return true
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json")
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, "utf8")).type !== "module"
    if (dirname(dir) === dir) return true
  }
}

/**
 * Once the bundle is split, esbuild gives a CommonJS package loaded with `import()` only a default export
 * (evanw/esbuild#3245), where Node and an unsplit bundle also give its named exports — and src/node/NodeFileLock.ts
 * calls `(await import("proper-lockfile")).lock`. Such a package is loaded through an ES module that exports what
 * Node's `import()` of it gives (asked here, in the build), so the code behaves as it does unbundled.
 */
const commonJsDynamicImports = {
  name: "commonjs-dynamic-imports",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.kind !== "dynamic-import") return undefined
      const resolved = await build.resolve(args.path, { kind: "import-statement", resolveDir: args.resolveDir })
      if (resolved.errors.length > 0 || resolved.external || !isCommonJs(resolved.path)) return undefined
      const names = Object.keys(await import(pathToFileURL(resolved.path).href))
        .filter((name) => name !== "default" && /^[A-Za-z_$][\w$]*$/.test(name))
      return { path: resolved.path, namespace: "commonjs-dynamic-import", pluginData: names }
    })
    build.onLoad({ filter: /.*/, namespace: "commonjs-dynamic-import" }, (args) => ({
      contents: [
        `import m from ${JSON.stringify(args.path)}`,
        "export default m",
        ...args.pluginData.map((name) => `export const ${name} = m.${name}`)
      ].join("\n"),
      resolveDir: dirname(args.path)
    }))
  }
}

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  // Some bundled dependencies are CommonJS and call require() for Node built-ins (in every chunk: each is a module).
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: "warning"
}

rmSync(join(flags.outdir, "cli"), { recursive: true, force: true })
await build({
  ...common,
  entryPoints: [{ in: "src/cli/bin.ts", out: "cli" }],
  outdir: flags.outdir,
  outExtension: { ".js": ".mjs" },
  splitting: true,
  chunkNames: "cli/[name]-[hash]",
  plugins: [commonJsDynamicImports]
})
// `models list --offline` from a bundle of its own, tree-shaken (src/cli/fast.ts): the executable loads it by URL.
await build({ ...common, entryPoints: ["src/cli/fast.ts"], outfile: join(flags.outdir, "cli", "fast.mjs") })
