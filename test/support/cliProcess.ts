/**
 * The built CLI as a subprocess, for the suites of test/cli: where the executable and its bundle are (built when the
 * sources are newer), a suite's FakeChutes, an environment without the caller's CHUTES_* / XDG_* / NO_COLOR variables,
 * and one run with its exit code and output (killed, and the test failed, when it does not finish in time), also in a
 * home against a FakeChutes with its output checked for secrets.
 */
import { afterAll, assert, beforeAll } from "@effect/vitest"
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as FakeChutes from "../../src/testing/FakeChutes.js"

export const root = fileURLToPath(new URL("../../", import.meta.url))
export const bin = join(root, "bin/effect-chutes.js")
export const bundle = join(root, "dist/cli.mjs")

/** The newest modification time under `dir` (is the bundle older than the sources?). */
export const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name)
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

/**
 * Builds the CLI bundle (`node scripts/build.mjs --cli-only`, into dist/) when it is missing or older than a file under
 * src/, for a suite's `beforeAll` (give that hook time: a build takes a while).
 */
export const ensureCliBundle = (): void => {
  if (!existsSync(bundle) || statSync(bundle).mtimeMs < newest(join(root, "src"))) {
    execFileSync(process.execPath, ["scripts/build.mjs", "--cli-only"], { cwd: root, stdio: "ignore" })
  }
}

/**
 * A suite's FakeChutes for the CLI to run against: before all its tests the bundle is made current (`ensureCliBundle`)
 * and a server started with `options` is handed to `started` (its client secret, if any, joins `secrets`); after all
 * of them the server is closed.
 */
export const fakeChutesForSuite = (
  options: FakeChutes.FakeChutesOptions,
  started: (server: FakeChutes.FakeChutesServer) => void,
  secrets?: Set<string>
): void => {
  let server: FakeChutes.FakeChutesServer | undefined
  beforeAll(async () => {
    ensureCliBundle()
    server = await FakeChutes.start(options)
    if (secrets !== undefined && server.clientSecret !== undefined) secrets.add(server.clientSecret)
    started(server)
  }, 120_000)
  afterAll(async () => {
    await server?.close()
  })
}

/** This process's environment without what would change the CLI's behaviour under test. */
export const cleanEnv: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] =>
    entry[1] !== undefined && !/^(CHUTES_.*|XDG_.*|NO_COLOR)$/.test(entry[0])
  )
)

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** Wall time, to show a run ended on its own (never asserted against a tight bound). */
  readonly millis: number
}

/** Runs `effect-chutes <args>` with exactly `env`, in `cwd`. */
export const spawnCli = (
  args: ReadonlyArray<string>,
  options: {
    readonly env: Record<string, string>
    readonly cwd: string
    readonly timeoutMs?: number
    /** Another entry script than the package's bin (e.g. a copy of the build elsewhere). */
    readonly executable?: string
  }
): Promise<Run> =>
  new Promise<Run>((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [options.executable ?? bin, ...args], {
      env: options.env,
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`effect-chutes ${args.join(" ")} did not finish in time:\n${stdout}\n${stderr}`))
    }, options.timeoutMs ?? 20_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, millis: Date.now() - started })
    })
  })

/**
 * `effect-chutes <args>` in a fresh home against a FakeChutes (its LLM and API bases, its admin key in
 * `CHUTES_API_KEY`), with `env` on top.
 */
export const spawnCliAgainst = (
  server: { readonly baseUrl: string; readonly idpBaseUrl: string; readonly apiKey: string },
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Promise<Run> => {
  const home = mkdtempSync(join(tmpdir(), "chutes-cli-"))
  return spawnCli(args, {
    env: {
      ...cleanEnv,
      HOME: home,
      CHUTES_STATE_DIR: join(home, "state"),
      CHUTES_BASE_URL: server.baseUrl,
      CHUTES_API_BASE_URL: server.idpBaseUrl,
      CHUTES_API_KEY: server.apiKey,
      ...env
    },
    cwd: home
  })
}

/** What a suite points the CLI at: a FakeChutes (its LLM and API bases, its app's OAuth client, its admin key). */
export interface CliServer {
  readonly baseUrl: string
  readonly idpBaseUrl: string
  readonly clientId: string
  readonly clientSecret?: string | undefined
  readonly apiKey: string
}

/**
 * `effect-chutes <args>` in `home` (its state directory, `config.json5` there) against `server`, as the server's OAuth
 * app, with `env` on top, in 30 s. The run fails the test if it printed one of `secrets` (as the set is when the run
 * ends) or the server's admin key.
 */
export const spawnCliIn = (
  home: { readonly home: string; readonly state: string },
  server: CliServer,
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly secrets: ReadonlySet<string> }
): Promise<Run> =>
  spawnCli(args, {
    env: {
      ...cleanEnv,
      HOME: home.home,
      CHUTES_STATE_DIR: home.state,
      CHUTES_CONFIG_PATH: join(home.state, "config.json5"),
      CHUTES_BASE_URL: server.baseUrl,
      CHUTES_API_BASE_URL: server.idpBaseUrl,
      CHUTES_CLIENT_ID: server.clientId,
      CHUTES_CLIENT_SECRET: server.clientSecret ?? "",
      ...options.env
    },
    cwd: home.home,
    timeoutMs: 30_000
  }).then((run) => {
    for (const secret of [...options.secrets, server.apiKey]) {
      assert.isFalse((run.stdout + run.stderr).includes(secret), `a secret ending in ${secret.slice(-4)} was printed`)
    }
    return run
  })
