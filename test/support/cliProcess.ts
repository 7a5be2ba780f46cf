/**
 * The built CLI as a subprocess, for the suites of test/cli: where the executable and its bundle are, an environment
 * without the caller's CHUTES_* / XDG_* / NO_COLOR variables, and one run with its exit code and output (killed, and
 * the test failed, when it does not finish in time).
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("../../", import.meta.url))
export const bin = join(root, "bin/effect-chutes.js")
export const bundle = join(root, "dist/cli.mjs")

/** The newest modification time under `dir` (is the bundle older than the sources?). */
export const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name)
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

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
}

/** Runs `effect-chutes <args>` with exactly `env`, in `cwd`. */
export const spawnCli = (
  args: ReadonlyArray<string>,
  options: { readonly env: Record<string, string>; readonly cwd: string; readonly timeoutMs?: number }
): Promise<Run> =>
  new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
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
      resolve({ code, stdout, stderr })
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
