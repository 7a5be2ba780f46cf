/**
 * The package as a plain-Node user imports it: the export map's default condition points at the compiled ESM in
 * dist/lib (built by `npm run build`, which `npm install` and `npm test` run), not at TypeScript sources.
 */
import { build } from "esbuild"
import { assert, describe, it } from "vitest"
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { promisify } from "node:util"

const run = promisify(execFile)

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
