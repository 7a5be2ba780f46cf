/**
 * The package as its users get it: the export map (compiled ESM in dist/lib for everyone; the TypeScript sources only
 * under a condition this repository sets), the dependencies each entry needs, no script that runs when a consumer
 * installs it, and the `effect-chutes` executable in a checkout without a build. The install itself, from the packed
 * tarball into a fresh app, is test/consumer.test.ts.
 */
import { build } from "esbuild"
import ts from "typescript"
import { assert, describe, it } from "vitest"
import { execFile } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { isBuiltin } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const run = promisify(execFile)
const root = fileURLToPath(new URL("../", import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const exportMap: Record<string, Record<string, string>> = pkg.exports

/** The condition under which this repository's own tooling (Vitest, `node --conditions`) reaches the sources. */
const SOURCE = "effect-chutes:source"

/** `effect-chutes`, `effect-chutes/node`, … for the keys `.`, `./node`, … of the export map. */
const specifier = (key: string) => `effect-chutes${key.slice(1)}`

/** The TypeScript source of an entry, from its compiled file: dist/lib/node/index.js -> src/node/index.ts. */
const sourceOf = (key: string) =>
  exportMap[key]!["default"]!.replace(/^\.\/dist\/lib\//, "src/").replace(/\.js$/, ".ts")

describe("the published entries", () => {
  it.skipIf(!existsSync("dist/lib/index.js"))("import on plain Node (no TypeScript loader), by package name", async () => {
    // Self-reference: inside the package, `effect-chutes` resolves through its own export map, as it would for a user.
    const script = `
      const core = await import("effect-chutes")
      const node = await import("effect-chutes/node")
      const testing = await import("effect-chutes/testing")
      const ai = await import("effect-chutes/ai")
      console.log(JSON.stringify({
        core: Object.keys(core).sort(), node: Object.keys(node), testing: Object.keys(testing), ai: Object.keys(ai),
        resolved: import.meta.resolve("effect-chutes")
      }))`
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { timeout: 30_000 })
    const entries = JSON.parse(stdout)
    assert.match(entries.resolved, /\/dist\/lib\/index\.js$/)
    for (const name of ["ChutesProvider", "ModelRef", "ModelCatalog", "ChutesCredentials", "ChutesOAuth", "AgentConfig"]) {
      assert.include(entries.core, name)
    }
    assert.include(entries.node, "NodeChutes")
    assert.include(entries.testing, "FakeChutes")
    assert.include(entries.ai, "ChutesLanguageModel")
  })

  it("offer dist/ under every condition a consumer's tools set; the sources only under effect-chutes:source", () => {
    // Vite, Vitest and webpack enable `development`: a condition of that name would hand consumers the .ts sources.
    for (const [key, target] of Object.entries(exportMap)) {
      assert.deepStrictEqual(Object.keys(target), [SOURCE, "types", "default"], key)
      assert.strictEqual(target[SOURCE], `./${sourceOf(key)}`, key)
      assert.strictEqual(target["types"], target["default"]!.replace(/\.js$/, ".d.ts"), key)
    }
  })

  it("inside this repository, tsc and tsx (tsconfig paths) reach the same sources as the export condition", () => {
    const config = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile)
    assert.isUndefined(config.error)
    const paths = config.config.compilerOptions.paths ?? {}
    assert.deepStrictEqual(
      paths,
      Object.fromEntries(Object.entries(exportMap).map(([key, target]) => [specifier(key), [target[SOURCE]]]))
    )
  })

  it("inside this repository, Vitest loads the sources for `effect-chutes` by name (vitest.config.ts)", async () => {
    for (const key of Object.keys(exportMap)) {
      const byName = await import(/* @vite-ignore */ specifier(key))
      const source = await import(/* @vite-ignore */ join(root, sourceOf(key)))
      assert.strictEqual(byName, source, specifier(key))
    }
  })
})

describe("what a consumer's npm runs", () => {
  it("no install-time script (prepare, preinstall, install, postinstall); `npm pack` builds through prepack", () => {
    const scripts: Record<string, string> = pkg.scripts
    assert.deepStrictEqual(
      Object.keys(scripts).filter((name) => ["prepare", "preinstall", "install", "postinstall"].includes(name)),
      []
    )
    assert.strictEqual(scripts["prepack"], "npm run build")
  })
})

/** The packages an entry imports itself: esbuild follows every import, leaving packages out of the bundle. */
const packagesImportedBy = async (entry: string): Promise<Array<string>> => {
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    metafile: true,
    packages: "external",
    logLevel: "silent"
  })
  const names = Object.values(result.metafile.inputs).flatMap((input) =>
    input.imports.filter((i) => i.external && !isBuiltin(i.path)).map((i) =>
      i.path.split("/").slice(0, i.path.startsWith("@") ? 2 : 1).join("/")
    )
  )
  return [...new Set(names)].sort()
}

describe("the dependencies each entry needs", () => {
  it("are declared; only effect-chutes/ai needs an optional peer; every peer is needed by some entry", async () => {
    const peers = Object.keys(pkg.peerDependencies)
    const optional = Object.entries(pkg.peerDependenciesMeta ?? {})
      .filter(([, meta]) => (meta as { optional?: boolean }).optional === true)
      .map(([name]) => name)
    const declared = [...peers, ...Object.keys(pkg.dependencies)]
    const used = new Set<string>()
    for (const key of Object.keys(exportMap)) {
      const imported = await packagesImportedBy(sourceOf(key))
      imported.forEach((name) => used.add(name))
      assert.deepStrictEqual(imported.filter((name) => !declared.includes(name)), [], `${specifier(key)}: undeclared`)
      if (key !== "./ai") {
        // An optional peer is not installed by npm: an entry that imports one crashes with ERR_MODULE_NOT_FOUND.
        assert.deepStrictEqual(imported.filter((name) => optional.includes(name)), [], `${specifier(key)}: optional`)
      }
    }
    assert.deepStrictEqual(peers.filter((name) => !used.has(name)), [], "peers no entry imports")
    assert.deepStrictEqual(optional, ["@effect/ai"])
    // The repository tests against what it declares.
    for (const name of peers) assert.strictEqual(pkg.devDependencies[name], pkg.peerDependencies[name], name)
  })
})

describe("what the core entry loads", () => {
  it("neither the CLI, @effect/cli, @effect/platform-node nor @effect/ai (esbuild's list of every file it pulls in)", async () => {
    const result = await build({
      entryPoints: ["src/index.ts"],
      bundle: true,
      platform: "node",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent"
    })
    const inputs = Object.keys(result.metafile.inputs)
    assert.isAbove(inputs.length, 50, "the bundle really walked the imports")
    assert.isTrue(inputs.some((file) => file.includes("node_modules/effect/")), "effect is in")
    const forbidden = inputs.filter((file) =>
      /node_modules\/@effect\/(cli|platform-node|ai)\//.test(file) || file.startsWith("src/cli/") || file.startsWith("src/ai/")
    )
    assert.deepStrictEqual(forbidden, [])
  })
})

describe("the effect-chutes executable in a checkout without a build", () => {
  it("says the CLI is not built and to run `npm run build`, exits 1, and builds nothing", async () => {
    // A checkout with the sources and the dev dependencies (linked) but no dist/.
    const checkout = mkdtempSync(join(tmpdir(), "effect-chutes-unbuilt-"))
    try {
      mkdirSync(join(checkout, "bin"))
      cpSync(join(root, "bin", "effect-chutes.js"), join(checkout, "bin", "effect-chutes.js"))
      symlinkSync(join(root, "src"), join(checkout, "src"), "dir")
      symlinkSync(join(root, "node_modules"), join(checkout, "node_modules"), "dir")
      const started = Date.now()
      const result = await run(process.execPath, [join(checkout, "bin", "effect-chutes.js"), "--version"], {
        cwd: checkout,
        timeout: 90_000
      }).then(
        ({ stderr, stdout }) => ({ code: 0, stdout, stderr }),
        (error: { code?: unknown; stdout?: string; stderr?: string }) => ({
          code: error.code,
          stdout: error.stdout ?? "",
          stderr: error.stderr ?? ""
        })
      )
      assert.strictEqual(result.code, 1, `exit code; stdout: ${result.stdout}`)
      assert.strictEqual(result.stdout, "")
      assert.match(result.stderr, /^effect-chutes: the CLI is not built \(.*dist\/cli\.mjs is missing\)\./)
      assert.include(result.stderr, "npm run build")
      assert.isFalse(existsSync(join(checkout, "dist")), "nothing was built")
      assert.isBelow(Date.now() - started, 10_000, "it answers at once")
    } finally {
      rmSync(checkout, { recursive: true, force: true })
    }
  }, 120_000)
})
