/**
 * A new user's install, end to end. `npm pack` (whose `prepack` builds dist/) runs in a copy of this checkout, so the
 * repository's own dist/ is never rebuilt under the other suites. A fresh temporary app then runs the README's install
 * line — read from the README's "Install" section, the tarball's path in place of `effect-chutes` — type-checks the
 * README's "Using it in an Effect app" example under strict `module: NodeNext`, runs it against FakeChutes from the
 * installed `effect-chutes/testing`, and checks that dist/ is what loads: on Node, on Node with the `development`
 * condition that bundlers set, and under Vitest's default settings.
 *
 * The install needs the npm registry. Without it that part is skipped with a loud message, never passed in silence;
 * the pack and its contents are checked either way.
 */
import { assert, afterAll, describe, it } from "vitest"
import { execFile } from "node:child_process"
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = fileURLToPath(new URL("../", import.meta.url))
const fixtures = join(root, "test", "fixtures", "consumer")
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const readme = readFileSync(join(root, "README.md"), "utf8")

// ---------------------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------------------

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * The environment of every child: this one without what would bend npm, Node or Vitest — the variables npm sets for the
 * script that runs the suite (`npm_package_*`, `npm_lifecycle_*`), Vitest's own, `NODE_OPTIONS` (a `--conditions` in it
 * would spoil the resolution checks) and any CHUTES_* setting. npm's configuration (`npm_config_*`: registry, proxy, CA
 * file) stays.
 */
const DROPPED =
  /^(npm_package_|npm_lifecycle_|npm_config_local_prefix$|INIT_CWD$|VITEST|TINYPOOL|NODE_OPTIONS$|CHUTES_)/
const childEnv: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] =>
    entry[1] !== undefined && !DROPPED.test(entry[0])
  )
)

const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string>; readonly timeout: number }
): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: { ...childEnv, ...options.env }, timeout: options.timeout, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resolve({ code, stdout, stderr })
      }
    )
  })

/** Whether `version` satisfies the caret range `range` (`^1.2.3`, `^0.2.3`), the only form the peers use. */
const withinCaret = (version: string, range: string): boolean => {
  const [x = NaN, y = NaN, z = NaN] = version.split(/[.-]/).map(Number)
  const [a = NaN, b = NaN, c = NaN] = range.replace(/^\^/, "").split(".").map(Number)
  assert.isTrue(range.startsWith("^") && [a, b, c].every(Number.isInteger), `a caret range: ${range}`)
  return a > 0 ? x === a && (y > b || (y === b && z >= c)) : x === 0 && y === b && z >= c
}

const show = (result: Run) => `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`

// ---------------------------------------------------------------------------------------------------------------------
// The README
// ---------------------------------------------------------------------------------------------------------------------

/** The text of the `## heading` section, up to the next `## ` heading. */
const section = (heading: string): string => {
  const start = readme.indexOf(`\n## ${heading}\n`)
  assert.isAtLeast(start, 0, `the README has a "## ${heading}" section`)
  const end = readme.indexOf("\n## ", start + 1)
  return readme.slice(start, end === -1 ? undefined : end)
}

/** The fenced code blocks of a language in a text, in order. */
const codeBlocks = (text: string, language: string): Array<string> =>
  [...text.matchAll(new RegExp("^```" + language + "\\n([\\s\\S]*?)^```", "gm"))].map((match) => match[1] ?? "")

/** Every `npm install effect-chutes …` line of the README, as written. */
const allInstallLines = (): Array<string> =>
  readme.split("\n").filter((line) => line.startsWith("npm install effect-chutes"))

/** The install line of the "Install" section: the line users copy. */
const installLine = (): string => {
  const line = codeBlocks(section("Install"), "sh").flatMap((block) => block.split("\n"))
    .find((text) => text.startsWith("npm install effect-chutes "))
  assert.isDefined(line, "the Install section has an `npm install effect-chutes …` line")
  return line!.trim()
}

/** The example of the "Using it in an Effect app" section. */
const appExample = (): string => {
  const block = codeBlocks(section("Using it in an Effect app"), "ts")[0]
  assert.isDefined(block, "the section has a ts example")
  return block!
}

/** The options block of the same section: it must compile as written (it builds a layer and does not run). */
const optionsExample = (): string => {
  const block = codeBlocks(section("Using it in an Effect app"), "ts").find((text) => text.includes("settings: {"))
  assert.isDefined(block, "the section shows the layer's options")
  return `${block!}\nexport { layer }\n`
}

describe("the README's install line", () => {
  it("installs every peer at its declared range (the Effect 3 line), and every copy of it is the same", () => {
    const line = installLine()
    const words = line.split(/\s+/)
    assert.deepStrictEqual(words.slice(0, 3), ["npm", "install", "effect-chutes"])
    const asked = Object.fromEntries(words.slice(3).map((word) => {
      const at = word.lastIndexOf("@")
      assert.isAbove(at, 0, `${word} carries a range`)
      return [word.slice(0, at), word.slice(at + 1)]
    }))
    assert.deepStrictEqual(asked, pkg.peerDependencies)
    assert.match(pkg.peerDependencies.effect, /^\^3\./)
    assert.deepStrictEqual([...new Set(allInstallLines())], [line], "the README gives one install line")
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// The pack (no network)
// ---------------------------------------------------------------------------------------------------------------------

const work = realpathSync(mkdtempSync(join(tmpdir(), "effect-chutes-consumer-")))
afterAll(() => rmSync(work, { recursive: true, force: true }))

interface Packed {
  readonly tarball: string
  readonly files: ReadonlyArray<string>
}

/**
 * `npm pack` in a copy of what the build reads (dist/ left out, node_modules linked): `prepack` must build dist/ from
 * nothing. Memoized: both describes use it.
 */
const packed: () => Promise<Packed> = (() => {
  let promise: Promise<Packed> | undefined
  return () =>
    (promise ??= (async () => {
      const checkout = join(work, "checkout")
      mkdirSync(checkout)
      const read = ["package.json", "README.md", "docs", "tsconfig.json", "tsconfig.build.json", "bin", "scripts", "src"]
      for (const entry of read) cpSync(join(root, entry), join(checkout, entry), { recursive: true })
      symlinkSync(join(root, "node_modules"), join(checkout, "node_modules"), "dir")
      const destination = join(work, "pack")
      mkdirSync(destination)
      const result = await run("npm", ["pack", "--json", "--pack-destination", destination], {
        cwd: checkout,
        timeout: 240_000
      })
      assert.strictEqual(result.code, 0, `npm pack failed\n${show(result)}`)
      const [report] = JSON.parse(result.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
      return { tarball: join(destination, report!.filename), files: report!.files.map((file) => file.path) }
    })())
})()

describe("npm pack", () => {
  it("builds dist/ through prepack and ships it, with no TypeScript sources and no install-time script", async () => {
    const { files, tarball } = await packed()
    // docs/ too: the README links into it, and a published README must not point at files the package lacks.
    for (const file of ["package.json", "README.md", "docs/models.md", "docs/cli.md", "bin/effect-chutes.js", "dist/cli.mjs"]) {
      assert.include(files, file)
    }
    for (const entry of ["", "node/", "testing/", "ai/"]) {
      assert.include(files, `dist/lib/${entry}index.js`)
      assert.include(files, `dist/lib/${entry}index.d.ts`)
    }
    assert.isTrue(files.some((file) => /^dist\/lib\/testing\/fixtures\/chutes-models-.*\.json$/.test(file)), "captures")
    const sources = files.filter((file) => file.startsWith("src/") || (/\.ts$/.test(file) && !/\.d\.ts$/.test(file)))
    assert.deepStrictEqual(sources, [])

    // The package.json in the tarball: nothing runs when a consumer installs it.
    const listed = await run("tar", ["-xzOf", tarball, "package/package.json"], { cwd: work, timeout: 30_000 })
    const scripts = Object.keys(JSON.parse(listed.stdout).scripts ?? {})
    const atInstall = ["preinstall", "install", "postinstall", "prepare"]
    assert.deepStrictEqual(scripts.filter((name) => atInstall.includes(name)), [])
  }, 300_000)
})

// ---------------------------------------------------------------------------------------------------------------------
// A fresh app (needs the npm registry)
// ---------------------------------------------------------------------------------------------------------------------

const registry = await run("npm", ["ping", "--fetch-retries=0", "--fetch-timeout=15000"], {
  cwd: work,
  timeout: 30_000
})
if (registry.code !== 0) {
  const line = "!".repeat(100)
  console.warn(
    [
      "",
      line,
      "!!! CONSUMER-INSTALL TESTS SKIPPED: the npm registry is unreachable (`npm ping` failed).",
      // npm's own account: which registry, and the error (its code and message, not the stack).
      ...`${registry.stdout}${registry.stderr}`.split("\n")
        .filter((text) => /^npm (notice PING|error (code|FetchError|request|network))/.test(text))
        .slice(0, 4).map((text) => `!!! ${text}`),
      "!!! The README's install line, its example in a fresh app and which files a consumer loads were NOT tested.",
      line,
      ""
    ].join("\n")
  )
}

describe.skipIf(registry.code !== 0)("a fresh app with the README's install line", () => {
  const app = join(work, "app")
  const dist = pathToFileURL(join(app, "node_modules", "effect-chutes", "dist", "lib")).href + "/"
  const entries = ["effect-chutes", "effect-chutes/node", "effect-chutes/testing", "effect-chutes/ai"]

  /** The app: package.json, the README's install line, the example and the runner. Memoized. */
  const installed: () => Promise<Run> = (() => {
    let promise: Promise<Run> | undefined
    return () =>
      (promise ??= (async () => {
        const { tarball } = await packed()
        mkdirSync(join(app, "src"), { recursive: true })
        const manifest = { name: "consumer-app", private: true, type: "module" }
        writeFileSync(join(app, "package.json"), JSON.stringify(manifest))
        const words = installLine().split(/\s+/).map((word) => (word === "effect-chutes" ? tarball : word))
        const result = await run("npm", [...words.slice(1), "--no-audit", "--no-fund"], { cwd: app, timeout: 300_000 })
        assert.strictEqual(result.code, 0, `${installLine()}\n${show(result)}`)
        return result
      })())
  })()

  it("installs the Effect 3 line, runs no script of effect-chutes, and the example compiles and runs", async () => {
    const install = await installed()
    assert.notMatch(install.stdout + install.stderr, /install-scripts\s+effect-chutes@/, "npm lists no script of ours")
    const version = (name: string) => JSON.parse(readFileSync(join(app, "node_modules", name, "package.json"), "utf8"))
    for (const [name, range] of Object.entries<string>(pkg.peerDependencies)) {
      assert.isTrue(withinCaret(version(name).version, range), `${name}@${version(name).version} is not ${range}`)
    }
    assert.deepStrictEqual(version("effect-chutes").version, pkg.version)
    // The executable npm links for the app: the bundled CLI, with none of this repository's dev dependencies around.
    const cli = await run(process.execPath, [join(app, "node_modules", ".bin", "effect-chutes"), "--version"], {
      cwd: app,
      timeout: 30_000
    })
    assert.strictEqual(cli.code, 0, show(cli))
    assert.strictEqual(cli.stdout.trim(), pkg.version)

    // Strict NodeNext, as a careful consumer sets it; the declarations of every package are checked too.
    writeFileSync(join(app, "src", "readme.ts"), appExample())
    writeFileSync(join(app, "src", "options.ts"), optionsExample())
    cpSync(join(fixtures, "run.ts"), join(app, "src", "run.ts"))
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022"],
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          // The README's line installs no @types/node: this repository's copy stands in for the app's.
          typeRoots: [join(root, "node_modules", "@types")],
          types: ["node"],
          rootDir: "src",
          outDir: "build"
        },
        include: ["src"]
      })
    )
    const tsc = await run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "."], {
      cwd: app,
      timeout: 180_000
    })
    assert.strictEqual(tsc.code, 0, `the README's examples do not type-check\n${show(tsc)}`)

    const home = join(work, "home")
    mkdirSync(home)
    const example = await run(process.execPath, ["build/run.js", "build/readme.js"], {
      cwd: app,
      env: { HOME: home, CHUTES_STATE_DIR: join(home, "state") },
      timeout: 90_000
    })
    assert.strictEqual(example.code, 0, show(example))
    const outcome = JSON.parse(example.stdout.trim().split("\n").at(-1)!) as Run & { modelsRequests: number }
    assert.strictEqual(outcome.code, 0, `the README's example failed\n${show(outcome)}`)
    assert.match(outcome.stdout, /^source: live \(/m, "the catalog came from FakeChutes")
    assert.match(outcome.stdout, /^chutes\/\S+ \S+$/m, "a resolved ref and id")
    assert.isAtLeast(outcome.modelsRequests, 1)
  }, 600_000)

  it("loads dist/ on Node, with or without the `development` condition that bundlers set", async () => {
    await installed()
    const script = `console.log(JSON.stringify(${JSON.stringify(entries)}.map((entry) => import.meta.resolve(entry))))`
    for (const flags of [[], ["--conditions=development"]]) {
      const result = await run(process.execPath, [...flags, "--input-type=module", "-e", script], {
        cwd: app,
        timeout: 30_000
      })
      assert.strictEqual(result.code, 0, show(result))
      const resolved = JSON.parse(result.stdout) as Array<string>
      assert.deepStrictEqual(
        resolved.map((url) => url.startsWith(dist) && url.endsWith("/index.js")),
        entries.map(() => true),
        `node ${flags.join(" ")}: ${resolved.join(", ")}`
      )
    }
  }, 600_000)

  it("loads dist/ under Vitest's default settings (which enable `development`)", async () => {
    await installed()
    cpSync(join(fixtures, "resolution.vitest.mjs"), join(app, "resolution.test.mjs"))
    const vitest = join(root, "node_modules", "vitest", "vitest.mjs")
    const result = await run(process.execPath, [vitest, "run", "--root", app, "--globals", "resolution.test.mjs"], {
      cwd: app,
      env: { NO_COLOR: "1" },
      timeout: 120_000
    })
    const report = join(app, "resolution.json")
    const outcome = existsSync(report) ? readFileSync(report, "utf8") : "none"
    assert.strictEqual(result.code, 0, `${outcome}\n${show(result)}`)
    assert.deepStrictEqual(JSON.parse(outcome), Object.fromEntries(entries.map((entry) => [entry, "dist"])))
  }, 600_000)
})
