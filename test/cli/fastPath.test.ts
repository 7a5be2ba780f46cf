/**
 * Start-up paths of the executable (src/cli/bin.ts): `models list --offline` runs from a bundle of its own without
 * @effect/cli (src/cli/fastPath.ts, src/cli/fast.ts), `--help` and `--version` are answered from the command
 * definitions, and every handler's code is loaded only when it runs. Checked here: which command lines take the fast
 * path; that the fast path prints the same bytes with the same exit code as @effect/cli's path (the bin as a real
 * subprocess, on the bundles of the current sources, built into a temporary directory by `scripts/build.mjs
 * --cli-only`); and what each path loads (the static import graph, from esbuild's metafile). Timing is never asserted:
 * the cold-start rows of `npm run bench` measure it.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { build, type Plugin } from "esbuild"
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { offlineListing } from "../../src/cli/fastPath.js"
import { type Run, spawnCli } from "../support/cliProcess.js"

const root = fileURLToPath(new URL("../../", import.meta.url))
/** A package root of its own: bin/ copied, dist/ built from the current sources (no tsc, no race with `dist/`). */
const pkg = mkdtempSync(join(tmpdir(), "chutes-fast-pkg-"))
const bin = join(pkg, "bin/effect-chutes.js")

beforeAll(() => {
  cpSync(join(root, "bin"), join(pkg, "bin"), { recursive: true })
  execFileSync(process.execPath, ["scripts/build.mjs", "--cli-only", "--outdir", join(pkg, "dist")], { cwd: root })
}, 120_000)

afterAll(() => rmSync(pkg, { recursive: true, force: true }))

const argv = (...words: ReadonlyArray<string>) => ["node", "effect-chutes", ...words]

describe("offlineListing: which command lines take the fast path", () => {
  it("models list with --offline and any of --json, --no-follow-successors, in any order", () => {
    assert.deepStrictEqual(offlineListing(argv("models", "list", "--offline")), {
      json: false,
      followSuccessors: undefined
    })
    assert.deepStrictEqual(offlineListing(argv("models", "list", "--json", "--offline")), {
      json: true,
      followSuccessors: undefined
    })
    assert.deepStrictEqual(offlineListing(argv("models", "list", "--no-follow-successors", "--offline", "--json")), {
      json: true,
      followSuccessors: false
    })
  })

  it("anything else goes to @effect/cli", () => {
    const others = [
      [],
      ["models", "list"],
      ["models", "list", "--json"],
      ["models", "list", "--offline", "--refresh"],
      ["models", "list", "--offline", "--timeout", "1h"],
      ["models", "list", "--offline", "--help"],
      ["models", "list", "--offline", "-h"],
      ["models", "list", "--offline", "--version"],
      ["models", "list", "--offline", "--offline"],
      ["models", "list", "--offline=true"],
      ["models", "list", "--offline", "true"],
      ["models", "list", "--offline", "--"],
      ["models", "list", "--offline", "--config", "x.json5"],
      ["models", "list", "--offline", "--profile", "chutes:alice"],
      ["models", "list", "--profile", "chutes:alice", "--offline"],
      ["--log-level", "debug", "models", "list", "--offline"],
      ["models", "resolve", "--offline"],
      ["list", "models", "--offline"],
      ["--offline", "models", "list"]
    ]
    for (const words of others) assert.isUndefined(offlineListing(argv(...words)), words.join(" "))
  })
})

/** What two paths are compared on: the exit code and the bytes (not the wall time). */
type Output = Omit<Run, "millis">

/** Runs the bin in a clean environment (a temporary home, no CHUTES_* but `env`); the listing writes no state. */
const cli = async (args: ReadonlyArray<string>, env: Record<string, string>, executable = bin): Promise<Output> => {
  const home = mkdtempSync(join(tmpdir(), "chutes-fast-"))
  try {
    const run = await spawnCli(args, {
      env: { PATH: process.env["PATH"] ?? "", HOME: home, CHUTES_STATE_DIR: join(home, "state"), ...env },
      cwd: home,
      executable
    })
    assert.isFalse(existsSync(join(home, "state")), "the offline listing wrote no state")
    return { code: run.code, stdout: run.stdout, stderr: run.stderr }
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}

describe("the fast path prints what @effect/cli's path prints", () => {
  // `--timeout 1h` changes nothing for a listing that takes milliseconds, but no fast path takes it (checked above):
  // the same listing through @effect/cli's parser and the command tree.
  const slow = ["--timeout", "1h"]
  const lines = [
    ["models", "list", "--offline"],
    ["models", "list", "--offline", "--json"],
    ["models", "list", "--no-follow-successors", "--offline"],
    ["models", "list", "--json", "--offline", "--no-follow-successors"]
  ]
  const envs: ReadonlyArray<Record<string, string>> = [{}, { CHUTES_FOLLOW_SUCCESSORS: "false" }]

  for (const words of lines) {
    it(words.join(" "), async () => {
      assert.isDefined(offlineListing(argv(...words)), "the fast path takes it")
      assert.isUndefined(offlineListing(argv(...words, ...slow)), "the fast path leaves it to @effect/cli")
      for (const env of envs) {
        const [fast, full] = await Promise.all([cli(words, env), cli([...words, ...slow], env)])
        assert.deepStrictEqual(fast, full, JSON.stringify(env))
        assert.strictEqual(fast.code, 0, fast.stderr)
        assert.include(fast.stdout, "chutes/")
      }
    })
  }

  it("the environment and the flag change the listing the same way on both paths", async () => {
    const plain = await cli(["models", "list", "--offline"], {})
    const kept = await cli(["models", "list", "--offline", "--no-follow-successors"], {})
    const keptByEnv = await cli(["models", "list", "--offline"], { CHUTES_FOLLOW_SUCCESSORS: "false" })
    assert.include(plain.stdout, "followed: ")
    assert.notInclude(kept.stdout, "followed: ")
    assert.deepStrictEqual(keptByEnv, kept)
  })
})

describe("the fast path's own bundle", () => {
  const copies: Array<string> = []
  afterAll(() => copies.forEach((copy) => rmSync(copy, { recursive: true, force: true })))

  /** A copy of the built package whose dist/cli/fast.mjs is `replacement` (or missing). */
  const withFastBundle = (replacement: string | undefined) => {
    const copy = mkdtempSync(join(tmpdir(), "chutes-fast-copy-"))
    copies.push(copy)
    cpSync(pkg, copy, { recursive: true })
    const file = join(copy, "dist", "cli", "fast.mjs")
    if (replacement === undefined) rmSync(file)
    else writeFileSync(file, replacement)
    return join(copy, "bin", "effect-chutes.js")
  }

  it("the executable runs a fast-path command line from dist/cli/fast.mjs, and only those", async () => {
    const stub = "export const run = async () => { process.stdout.write(\"from fast.mjs\\n\"); return true }\n"
    const copy = withFastBundle(stub)
    assert.strictEqual((await cli(["models", "list", "--offline", "--json"], {}, copy)).stdout, "from fast.mjs\n")
    const full = await cli(["models", "list", "--offline", "--timeout", "1h"], {}, copy)
    assert.include(full.stdout, "source: static (offline; the built-in catalog)")
  })

  it("a listing that fails there runs again through the full CLI, which reports it", async () => {
    const copy = withFastBundle("export const run = async () => false\n")
    const [fast, full] = await Promise.all([
      cli(["models", "list", "--offline"], {}, copy),
      cli(["models", "list", "--offline", "--timeout", "1h"], {})
    ])
    assert.deepStrictEqual(fast, full)
  })

  it("without it (a build in one file), the full CLI prints the listing", async () => {
    const copy = withFastBundle(undefined)
    const [fast, full] = await Promise.all([
      cli(["models", "list", "--offline"], {}, copy),
      cli(["models", "list", "--offline"], {})
    ])
    assert.deepStrictEqual(fast, full)
    assert.strictEqual(fast.code, 0)
  })
})

describe("the split bundle", () => {
  it("a CommonJS package loaded with import() keeps its named exports, as on Node (scripts/build.mjs)", () => {
    // src/node/NodeFileLock.ts calls `(await import("proper-lockfile")).lock`; esbuild's chunk alone exports `default`.
    const dir = join(pkg, "dist", "cli")
    const chunk = readdirSync(dir).find((name) => name.startsWith("proper-lockfile-"))
    assert.isDefined(chunk, readdirSync(dir).join(" "))
    const probe = "const m = await import(process.argv[1]);" +
      "process.stdout.write(`${typeof m.lock} ${typeof m.default}`)"
    const types = execFileSync(process.execPath, ["--input-type=module", "-e", probe, join(dir, chunk!)], {
      encoding: "utf8"
    })
    assert.strictEqual(types, "function function")
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// What each path loads
// ---------------------------------------------------------------------------------------------------------------------

/** Leaves every dynamic `import()` out of the bundle: what is left is what loads before any of them runs. */
const staticOnly: Plugin = {
  name: "static-only",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "dynamic-import" ? { path: args.path, external: true } : undefined)
  }
}

/** The files `entries` load statically, as paths relative to the repository. */
const staticGraph = async (entries: ReadonlyArray<string>): Promise<ReadonlyArray<string>> => {
  const result = await build({
    absWorkingDir: root,
    entryPoints: entries.map((entry) => join(root, entry)),
    bundle: true,
    write: false,
    outdir: "out",
    platform: "node",
    format: "esm",
    metafile: true,
    logLevel: "silent",
    plugins: [staticOnly]
  })
  return Object.keys(result.metafile.inputs)
}

/** What the offline listing and `--help` must never load. */
const NEVER = [
  /node_modules\/undici\//,
  /node_modules\/@effect\/platform-node(-shared)?\//,
  /node_modules\/@effect\/ai\//,
  /node_modules\/(json5|open|proper-lockfile)\//,
  /^src\/(ChutesOAuth|OAuth\w*|ChutesCredentials|ChutesProvider|ModelDiscovery|AuthProfileStore|AgentConfig)\.ts$/,
  /^src\/(ai|node)\//,
  /^src\/cli\/(auth|cooldowns|profile|onboard|onboarding|layers|models|defaultModel)\.ts$/
]

const forbidden = (inputs: ReadonlyArray<string>, extra: ReadonlyArray<RegExp> = []) =>
  inputs.filter((input) => [...NEVER, ...extra].some((re) => re.test(input)))

describe("what each path loads", () => {
  it("the executable's entry: only the fast path's check", async () => {
    const inputs = await staticGraph(["src/cli/bin.ts"])
    assert.deepStrictEqual([...inputs].sort(), ["src/cli/bin.ts", "src/cli/fastPath.ts"])
  })

  it("the offline listing: no @effect/cli, HTTP, OAuth, AI, prompt or file modules", async () => {
    const inputs = await staticGraph(["src/cli/fast.ts"])
    assert.include(inputs, "src/ModelCatalog.ts")
    assert.deepStrictEqual(forbidden(inputs, [/node_modules\/@effect\/(cli|printer|printer-ansi)\//]), [])
  })

  it("--help and --version: the command definitions, no HTTP, OAuth, AI, prompt or file modules", async () => {
    const inputs = await staticGraph(["src/cli/start.ts"])
    assert.include(inputs, "src/cli/commands.ts")
    assert.deepStrictEqual(forbidden(inputs, [/^src\/cli\/(runner|offline|platform)\.ts$/]), [])
  })
})
