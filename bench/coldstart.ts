/**
 * Cold start: the CLI's offline listing and its `--help`, each vs `node -e` printing the same bytes, and the core
 * entry's import; every process in a clean environment (`cleanEnv`).
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
 * A clean environment, as a user's shell would give a fresh `node`: `PATH` and a temporary `HOME`, nothing else. Not
 * the bench's own environment: a machine's `NODE_EXTRA_CA_CERTS` (a CA bundle read by every `node` at start-up) adds
 * ~50 ms to both sides and hides the ratio (6× read as 2.8×); `NODE_OPTIONS`, `CHUTES_*` or a colour setting would
 * change what runs.
 */
export const cleanEnv = (home: string): NodeJS.ProcessEnv => ({ PATH: process.env["PATH"] ?? "", HOME: home })

/** A CLI command line for a cold-start row, and the `node -e` that prints the same bytes. */
interface ColdCommand {
  readonly name: string
  readonly args: ReadonlyArray<string>
  readonly floorLabel: string
  readonly max: number
  /** What the CLI's output must contain for the row to count (it could be an error message otherwise). */
  readonly expect: string
  /** What the floor prints when the CLI cannot be run (the row is n/a then, but the floor is still measured). */
  readonly fallback: string
}

/** The CLI's side and its floor, measured or n/a with the reason. */
interface Measured {
  readonly command: ColdCommand
  readonly note: string | undefined
  readonly floorArgs: ReadonlyArray<string>
}

/**
 * The cold-start rows: each CLI command line against `node -e` writing exactly the bytes it printed (so the floor
 * pays for the same output), then the core entry's import against the listing's floor; every process in a clean
 * environment (`cleanEnv`), all interleaved in one run.
 */
export const coldStartRows = async (options: {
  readonly root: string
  readonly workDir: string
  readonly plan: Plan
}): Promise<ReadonlyArray<Row>> => {
  const { plan, root, workDir } = options
  mkdirSync(workDir, { recursive: true })
  const home = mkdtempSync(join(tmpdir(), "effect-chutes-bench-home-"))
  const env = cleanEnv(home)

  try {
    const bin = join(root, "bin", "effect-chutes.js")
    // The listing is what the 3× is for: it takes the fast path (src/cli/fastPath.ts). `--help` goes through
    // the command definitions, without @effect/cli's parser: 4×.
    const commands: ReadonlyArray<ColdCommand> = [
      {
        name: "cold start, models list --offline",
        args: ["models", "list", "--offline"],
        floorLabel: "node -e printing the table",
        max: 3,
        expect: ModelCatalog.STATIC_MODELS[0]!.id,
        fallback: `${ModelCatalog.formatTable(ModelCatalog.STATIC_MODELS)}\n`
      },
      {
        name: "cold start, --help",
        args: ["--help"],
        floorLabel: "node -e printing the help",
        max: 4,
        expect: "Usage: effect-chutes",
        fallback: "Usage: effect-chutes <command> [options]\n"
      }
    ]
    // The CLI, if it is built: one untimed run of each command line to see that it works and what it prints.
    const built = !existsSync(bin)
      ? "n/a (CLI not built): bin/effect-chutes.js is missing"
      : !existsSync(join(root, "dist", "cli.mjs"))
      ? "n/a (CLI not built): dist/cli.mjs is missing; `npm run build` makes it"
      : undefined
    const measured: ReadonlyArray<Measured> = commands.map((command) => {
      const floor = (text: string) => ["-e", `process.stdout.write(${JSON.stringify(text)})`]
      if (built !== undefined) return { command, note: built, floorArgs: floor(command.fallback) }
      const probe = run([bin, ...command.args], env, root)
      const note = probe.status !== 0
        ? `n/a (CLI failed: exit ${probe.status}: ${excerpt(probe.stderr || probe.stdout)})`
        : !probe.stdout.includes(command.expect)
        ? `n/a (CLI output lacks ${JSON.stringify(command.expect)}: ${excerpt(probe.stdout)})`
        : undefined
      // The floor prints exactly the bytes the CLI printed.
      return { command, note, floorArgs: floor(note === undefined ? probe.stdout : command.fallback) }
    })

    const core = await bundle(join(root, "src", "index.ts"), join(workDir, "core.mjs"))
    let coreNote: string | undefined
    if ("error" in core) {
      coreNote = `n/a (the core entry does not bundle: ${core.error})`
    } else {
      const probe = run([join(workDir, "core.mjs")], env, root)
      if (probe.status !== 0) coreNote = `n/a (the core bundle fails: exit ${probe.status}: ${excerpt(probe.stderr)})`
    }

    // Every side as a function, interleaved: each command's floor, then the CLI; the core import last.
    const timed = (argv: ReadonlyArray<string>, what: string) => async () => {
      const result = run(argv, env, root)
      if (result.status !== 0) throw new Error(`${what} failed during the benchmark: ${excerpt(result.stderr)}`)
      return result.ms
    }
    const fns: Array<() => Promise<number>> = []
    const slots = measured.map((m) => {
      const floor = fns.push(timed(m.floorArgs, "node -e")) - 1
      const cli = m.note === undefined ? fns.push(timed([bin, ...m.command.args], m.command.name)) - 1 : undefined
      return { floor, cli }
    })
    const coreSlot = coreNote === undefined
      ? fns.push(timed([join(workDir, "core.mjs")], "the core bundle")) - 1
      : undefined
    const samples = await interleave(fns, plan)

    const rows: Array<Row> = measured.map((m, i) => {
      const { cli, floor } = slots[i]!
      const anchor = stats(samples[floor]!)
      const { floorLabel, max, name } = m.command
      return cli === undefined
        ? { ...naRow(name, "ms", floorLabel, m.note ?? "n/a", `ratio ≤ ${max}`), anchor }
        : ratioRow({ name, unit: "ms", sdk: stats(samples[cli]!), anchorLabel: floorLabel, anchor, max })
    })
    const listFloor = stats(samples[slots[0]!.floor]!)
    const floorLabel = commands[0]!.floorLabel
    rows.push(
      coreSlot === undefined
        ? { ...naRow("core entry import (bundled)", "ms", floorLabel, coreNote ?? "n/a"), anchor: listFloor }
        : ratioRow({
          name: "core entry import (bundled)",
          unit: "ms",
          sdk: stats(samples[coreSlot]!),
          anchorLabel: floorLabel,
          anchor: listFloor,
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
