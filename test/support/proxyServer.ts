/**
 * A real forward HTTP proxy for the proxy suite (test/proxy.test.ts): Debian's `tinyproxy`, started per test on a free
 * loopback port with a generated config, its access log read back to count what it carried. `.ci/run` installs it;
 * `TINYPROXY` names another binary. Without one the suite is skipped with a loud banner (`tinyproxyMissing`).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { connect, freePortPromise } from "./net.js"
import { missingTool } from "./missingTool.js"

const candidates = process.env["TINYPROXY"] !== undefined
  ? [process.env["TINYPROXY"]]
  : ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy", "/usr/local/bin/tinyproxy"]

const find = (): { readonly path: string } | { readonly missing: string } => {
  const path = candidates.find((candidate): candidate is string => candidate !== undefined && existsSync(candidate))
  if (path === undefined) {
    return { missing: `no tinyproxy binary (looked at ${candidates.filter(Boolean).join(", ")}; .ci/run installs it)` }
  }
  try {
    execFileSync(path, ["-v"], { encoding: "utf8", timeout: 10_000 })
    return { path }
  } catch (error) {
    return { missing: `${path} does not run: ${error instanceof Error ? error.message : String(error)}` }
  }
}

export const tinyproxyBinary = find()

/** Why the proxy suite cannot run, after printing the banner; `undefined` when it can. */
export const tinyproxyMissing = (suite: string): string | undefined => missingTool(suite, tinyproxyBinary)

/** One request line of the proxy's log: `GET http://127.0.0.1:1234/v1/models`, `CONNECT host:443`. */
export interface Carried {
  readonly method: string
  readonly target: string
}

export interface ProxyServer {
  readonly port: number
  /** `http://[user:password@]127.0.0.1:<port>` */
  readonly url: string
  /** The requests the proxy carried so far, from its log. */
  readonly carried: () => ReadonlyArray<Carried>
  /** The raw log, for failure messages. */
  readonly log: () => string
}

const waitForPort = async (port: number, child: ChildProcess, output: () => string): Promise<void> => {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tinyproxy exited with ${child.exitCode}: ${output()}`)
    if ((await Effect.runPromise(connect(port))) === "connected") return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`tinyproxy on port ${port}: not listening after 10 s: ${output()}`)
}

/** Starts tinyproxy on a free loopback port; `basicAuth` makes it answer 407 without those credentials. Scoped. */
export const startTinyproxy = (
  options: { readonly basicAuth?: { readonly user: string; readonly password: string } } = {}
): Effect.Effect<ProxyServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      if ("missing" in tinyproxyBinary) throw new Error(tinyproxyBinary.missing)
      const dir = mkdtempSync(Path.join(Os.tmpdir(), "effect-chutes-tinyproxy-"))
      const port = await freePortPromise()
      const logFile = Path.join(dir, "tinyproxy.log")
      const config = [
        `Port ${port}`,
        "Listen 127.0.0.1",
        "Timeout 30",
        `LogFile "${logFile}"`,
        "LogLevel Info",
        "MaxClients 100",
        "Allow 127.0.0.1",
        "DisableViaHeader Yes",
        ...(options.basicAuth !== undefined ? [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`] : [])
      ].join("\n")
      writeFileSync(Path.join(dir, "tinyproxy.conf"), `${config}\n`)
      let output = ""
      const child = spawn(tinyproxyBinary.path, ["-d", "-c", Path.join(dir, "tinyproxy.conf")], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      const keep = (chunk: string) => {
        output = (output + chunk).slice(-4000)
      }
      child.stdout?.setEncoding("utf8").on("data", keep)
      child.stderr?.setEncoding("utf8").on("data", keep)
      await waitForPort(port, child, () => output)
      const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "")
      const carried = () =>
        [...log().matchAll(/Request \(file descriptor \d+\): (\S+) (\S+)/g)].map((m) => ({
          method: m[1]!,
          target: m[2]!
        }))
      const auth = options.basicAuth !== undefined
        ? `${encodeURIComponent(options.basicAuth.user)}:${encodeURIComponent(options.basicAuth.password)}@`
        : ""
      return { port, url: `http://${auth}127.0.0.1:${port}`, carried, log, child, dir }
    }),
    ({ child, dir }) =>
      Effect.promise(async () => {
        if (child.exitCode === null) {
          const exited = new Promise((resolve) => child.once("exit", resolve))
          child.kill("SIGTERM")
          const timer = setTimeout(() => child.kill("SIGKILL"), 5_000)
          await exited
          clearTimeout(timer)
        }
        rmSync(dir, { recursive: true, force: true })
      })
  )
