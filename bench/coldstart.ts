/**
 * Cold start: the CLI's offline listing and the core entry's import, each vs `node -e` printing the same table.
 *
 * The core entry is bundled with esbuild (every dependency inlined, minified, ESM — the way the CLI's bin is built)
 * so that the figure is module evaluation, not a TypeScript loader. The bundle's metafile says which files the core
 * entry pulls in: the target is that neither `@effect/cli` nor `@effect/platform-node` is among them.
 */
import { build } from "esbuild"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ModelCatalog from "../src/ModelCatalog.js"
import { exact, interleave, naRow, type Plan, ratioRow, type Row, stats } from "./harness.js"

/**
 * Lets an ESM bundle call `require` for Node built-ins inside inlined CommonJS dependencies.
 */
export const requireBanner =
  "import { createRequire as __cr } from \"node:module\"; const require = __cr(import.meta.url);"

/**
 * Bundles `entry` into `outfile`; returns the input paths of the bundle, or the build error.
 */
export const bundle = async (
  entry: string,
  outfile: string
): Promise<{ readonly inputs: ReadonlyArray<string> } | { readonly error: string }> => {
  try {
    const result = await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      minify: true,
      metafile: true,
      logLevel: "silent",
      banner: { js: requireBanner }
    })
    return { inputs: Object.keys(result.metafile.inputs) }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return { error: message.split("\n").slice(0, 3).join(" ").slice(0, 300) }
  }
}

/** The packages the core entry must not load. */
const FORBIDDEN = ["@effect/cli", "@effect/platform-node"] as const

const run = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv, cwd: string) => {
  const start = process.hrtime.bigint()
  const result = spawnSync(process.execPath, argv, { cwd, env, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  return { ms, status: result.status, stdout: result.stdout, stderr: result.stderr }
}

const excerpt = (text: string) => text.trim().split("\n").slice(-2).join(" ").slice(0, 200)

/**
 * The cold-start rows.
 */
export const coldStartRows = async (options: {
  readonly root: string
  readonly workDir: string
  readonly plan: Plan
}): Promise<ReadonlyArray<Row>> => {
  const { plan, root, workDir } = options
  mkdirSync(workDir, { recursive: true })
  const home = mkdtempSync(join(tmpdir(), "effect-chutes-bench-home-"))
  // A clean environment: no credentials, no config, no colours; state under a temp home.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("CHUTES_") && key !== "NODE_OPTIONS")
  )
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    CHUTES_STATE_DIR: join(home, "state"),
    NO_COLOR: "1"
  })

  try {
    // The CLI, if it is built: one untimed run to see that it works and what it prints.
    const bin = join(root, "bin", "effect-chutes.js")
    const cliArgs = [bin, "models", "list", "--offline"]
    let cliNote: string | undefined
    let floorText = `${ModelCatalog.formatTable(ModelCatalog.STATIC_MODELS)}\n`
    if (!existsSync(bin)) {
      cliNote = "n/a (CLI not built): bin/effect-chutes.js is missing"
    } else if (!existsSync(join(root, "dist", "cli.mjs"))) {
      // Without the bundle the bin runs the TypeScript sources through tsx: that would time the loader, not the CLI.
      cliNote = "n/a (CLI not built): dist/cli.mjs is missing; `npm run build` makes it"
    } else {
      const probe = run(cliArgs, env, root)
      if (probe.status !== 0) {
        cliNote = `n/a (CLI failed: exit ${probe.status}: ${excerpt(probe.stderr || probe.stdout)})`
      } else if (!probe.stdout.includes(ModelCatalog.STATIC_MODELS[0]!.id)) {
        cliNote = `n/a (CLI output has no static model ids: ${excerpt(probe.stdout)})`
      } else {
        // The floor prints exactly the bytes the CLI printed.
        floorText = probe.stdout
      }
    }

    const core = await bundle(join(root, "src", "index.ts"), join(workDir, "core.mjs"))
    let coreNote: string | undefined
    if ("error" in core) {
      coreNote = `n/a (the core entry does not bundle: ${core.error})`
    } else {
      const probe = run([join(workDir, "core.mjs")], env, root)
      if (probe.status !== 0) coreNote = `n/a (the core bundle fails: exit ${probe.status}: ${excerpt(probe.stderr)})`
    }

    const floorArgs = ["-e", `process.stdout.write(${JSON.stringify(floorText)})`]
    const floor = async () => run(floorArgs, env, root).ms
    const cli = async () => {
      const result = run(cliArgs, env, root)
      if (result.status !== 0) throw new Error(`CLI failed during the benchmark: ${excerpt(result.stderr)}`)
      return result.ms
    }
    const coreImport = async () => run([join(workDir, "core.mjs")], env, root).ms
    const fns = [floor, ...(cliNote === undefined ? [cli] : []), ...(coreNote === undefined ? [coreImport] : [])]
    const samples = await interleave(fns, plan)
    const floorStats = stats(samples[0]!)
    let next = 1
    const cliStats = cliNote === undefined ? stats(samples[next++]!) : undefined
    const coreStats = coreNote === undefined ? stats(samples[next++]!) : undefined

    const floorLabel = "node -e printing the table"
    const cliName = "cold start, models list --offline"
    const rows: Array<Row> = []
    rows.push(
      cliStats === undefined
        ? { ...naRow(cliName, "ms", floorLabel, cliNote ?? "n/a", "ratio ≤ 4"), anchor: floorStats }
        : ratioRow({ name: cliName, unit: "ms", sdk: cliStats, anchorLabel: floorLabel, anchor: floorStats, max: 4 })
    )
    rows.push(
      coreStats === undefined
        ? { ...naRow("core entry import (bundled)", "ms", floorLabel, coreNote ?? "n/a"), anchor: floorStats }
        : ratioRow({
          name: "core entry import (bundled)",
          unit: "ms",
          sdk: coreStats,
          anchorLabel: floorLabel,
          anchor: floorStats,
          note: "src/index.ts bundled by esbuild with every dependency inlined, minified, ESM; `node core.mjs`"
        })
    )
    const checkName = "core entry loads no CLI / platform-node"
    if ("error" in core) {
      rows.push(naRow(checkName, "check", "esbuild metafile", coreNote ?? "n/a", "none"))
    } else {
      const found = core.inputs.filter((input) => FORBIDDEN.some((name) => input.includes(`node_modules/${name}/`)))
      const packages = FORBIDDEN.filter((name) => found.some((input) => input.includes(`node_modules/${name}/`)))
      rows.push({
        name: checkName,
        unit: "check",
        sdk: exact(packages.length),
        anchorLabel: "esbuild metafile",
        anchor: undefined,
        ratio: undefined,
        target: "none",
        met: packages.length === 0,
        note: packages.length === 0
          ? `${core.inputs.length} input files, none from ${FORBIDDEN.join(" or ")}`
          : `loads ${packages.join(", ")} (e.g. ${found[0]})`,
        extra: { inputs: core.inputs.length, forbidden: found }
      })
    }
    return rows
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}
