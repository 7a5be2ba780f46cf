/**
 * The core entries run anywhere `fetch` runs: `effect-chutes` (src/index.ts) and `effect-chutes/ai` (src/ai/index.ts)
 * are bundled with esbuild for `platform: "neutral"` — no Node built-ins known, nothing polyfilled — with their
 * dependencies inside the bundle, so whatever they reach is checked too. The test fails on:
 * - any Node built-in a bundled module imports (`node:fs`, or a bare `fs`, `crypto`, `path`, …), statically or with
 *   `import()` / `require()`;
 * - any import of a Node-only package (proper-lockfile, open, graceful-fs) or of the Node platform packages;
 * - any module of `src/node/`, `src/cli/` or `src/testing/` in the bundle;
 * - a package the entries' own modules import that package.json does not declare;
 * - a reference to the `process` global in the entries' own modules (it is read through `globalThis`, guarded, where
 *   the runtime has one: see `src/internal/filePolicy.ts`).
 */
import { assert, describe, it } from "@effect/vitest"
import { build, type Metafile, type Plugin } from "esbuild"
import { readFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = fileURLToPath(new URL("..", import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
}

/** Every name Node resolves as a built-in: `fs`, `fs/promises`, `node:test`, … */
const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
const isBuiltin = (specifier: string): boolean => specifier.startsWith("node:") || BUILTINS.has(specifier)

/** Packages that only work on Node. */
const NODE_ONLY = /^(proper-lockfile|open|graceful-fs|@effect\/platform-node(-shared)?|undici|ws)(\/|$)/

const packageName = (specifier: string): string =>
  specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!

interface Offence {
  readonly importer: string
  readonly specifier: string
  readonly kind: string
}

/** Records every Node built-in and Node-only package a bundled module asks for, and keeps it out of the bundle. */
const guard = (offences: Array<Offence>): Plugin => ({
  name: "node-guard",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /.*/ }, (args) => {
      if (!isBuiltin(args.path) && !NODE_ONLY.test(args.path)) return undefined
      offences.push({ importer: relative(root, args.importer), specifier: args.path, kind: args.kind })
      return { path: args.path, external: true }
    })
  }
})

interface Bundle {
  readonly offences: ReadonlyArray<Offence>
  readonly metafile: Metafile
  readonly text: string
}

const bundle = async (entry: string): Promise<Bundle> => {
  const offences: Array<Offence> = []
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    write: false,
    platform: "neutral",
    format: "esm",
    target: "es2022",
    // A neutral build reads no `main`/`module` field and no `node` condition unless asked; these are the fields and
    // conditions of a browser or worker bundler, which is what a runtime without Node gets.
    mainFields: ["module", "main"],
    conditions: ["import", "module", "default"],
    metafile: true,
    logLevel: "silent",
    plugins: [guard(offences)]
  })
  return { offences, metafile: result.metafile, text: result.outputFiles.map((file) => file.text).join("\n") }
}

/** The entries' own modules in a bundle (under src/). */
const ownModules = (metafile: Metafile): ReadonlyArray<string> =>
  Object.keys(metafile.inputs).filter((input) => input.startsWith("src/"))

/** `process` used as a value (not a property name such as `x.process`, not a type) in a module's source. */
const processReferences = (file: string): ReadonlyArray<string> => {
  const text = readFileSync(join(root, file), "utf8")
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: Array<string> = []
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === "process") {
      const parent = node.parent
      const isName = (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isPropertyAssignment(parent) && parent.name === node) ||
        ts.isTypeReferenceNode(parent) || ts.isQualifiedName(parent)
      if (!isName) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart())
        found.push(`${file}:${line + 1}`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const ENTRIES = [
  ["effect-chutes", "src/index.ts"],
  ["effect-chutes/ai", "src/ai/index.ts"]
] as const

describe("the core entries bundle for a runtime without Node", () => {
  for (const [name, entry] of ENTRIES) {
    describe(name, () => {
      // One bundle per entry, shared by its checks (a failed build fails each of them, never as an unhandled
      // rejection).
      const built = bundle(entry)
      built.catch(() => undefined)

      it("imports no Node built-in and no Node-only package", async () => {
        const { offences } = await built
        assert.deepStrictEqual(
          offences.map((o) => `${o.importer} -> ${o.specifier} (${o.kind})`),
          [],
          "Node-only imports reached from the entry"
        )
      }, 60_000)

      it("names no Node built-in in the output", async () => {
        const { text } = await built
        const named = [...text.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']([^"']+)["']/g)]
          .map((match) => match[1]!)
          .filter((specifier) => isBuiltin(specifier) || NODE_ONLY.test(specifier))
        assert.deepStrictEqual([...new Set(named)], [])
        assert.notMatch(text, /["']node:[a-z_/]+["']/, "a node: specifier in the output")
      }, 60_000)

      it("holds none of src/node, src/cli or src/testing, and reaches its own modules", async () => {
        const { metafile } = await built
        const own = ownModules(metafile)
        assert.include(own, entry)
        assert.deepStrictEqual(own.filter((input) => /^src\/(node|cli|testing)\//.test(input)), [])
      }, 60_000)

      it("imports only declared packages from its own modules", async () => {
        const { metafile } = await built
        const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})])
        const undeclared = ownModules(metafile).flatMap((input) =>
          metafile.inputs[input]!.imports
            .map((imported) => imported.original ?? imported.path)
            // Built-ins are the first check's business.
            .filter((specifier) => !specifier.startsWith(".") && !specifier.startsWith("/") && !isBuiltin(specifier))
            .filter((specifier) => !declared.has(packageName(specifier)))
            .map((specifier) => `${input} -> ${specifier}`)
        )
        assert.deepStrictEqual(undeclared, [])
      }, 60_000)

      it("does not use the process global in its own modules", async () => {
        const { metafile } = await built
        assert.deepStrictEqual(ownModules(metafile).flatMap(processReferences), [])
      }, 60_000)
    })
  }

  it("the guard catches what it is meant to (a module of src/node bundled the same way)", async () => {
    const { metafile, offences } = await bundle("src/node/index.ts")
    const specifiers = new Set(offences.map((o) => o.specifier))
    assert.isTrue(specifiers.has("node:fs/promises"), [...specifiers].join(", "))
    assert.isTrue(specifiers.has("proper-lockfile"), [...specifiers].join(", "))
    assert.isTrue(ownModules(metafile).some((input) => input.startsWith("src/node/")))
    assert.isNotEmpty(processReferences("src/node/NodeOAuthLogin.ts"))
  }, 60_000)
})
