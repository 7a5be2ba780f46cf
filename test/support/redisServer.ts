/**
 * A real `redis-server` for the Redis suites (test/redis*.test.ts): each test starts its own on a free loopback port,
 * with persistence off, and stops it. Debian's package puts the binary at /usr/bin/redis-server (`.ci/run` installs
 * it); `REDIS_SERVER` names another one. Without a binary the suites are skipped with a loud banner (`redisMissing`).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { connect, freePortPromise } from "./net.js"
import { missingTool } from "./missingTool.js"

// \`REDIS_SERVER\` names the one binary to use (\`REDIS_SERVER=/nonexistent\` shows what a machine without one does).
const candidates = process.env["REDIS_SERVER"] !== undefined
  ? [process.env["REDIS_SERVER"]]
  : ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]

/** The redis-server binary and its version, or why there is none. */
const find = (): { readonly path: string; readonly version: string } | { readonly missing: string } => {
  const path = candidates.find((candidate): candidate is string => candidate !== undefined && existsSync(candidate))
  if (path === undefined) {
    return { missing: `no redis-server binary (looked at ${candidates.filter(Boolean).join(", ")}; .ci/run installs it)` }
  }
  try {
    return { path, version: execFileSync(path, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim() }
  } catch (error) {
    return { missing: `${path} does not run: ${error instanceof Error ? error.message : String(error)}` }
  }
}

export const redisBinary = find()

/** Why the Redis suites cannot run, after printing the banner; `undefined` when they can. */
export const redisMissing = (suite: string): string | undefined => missingTool(suite, redisBinary)

/** A running (or stopped) server on a fixed loopback port. */
export interface RedisServer {
  readonly port: number
  /** `redis://[:password@]127.0.0.1:<port>` */
  readonly url: string
  /** Stops it (SIGTERM, then SIGKILL after 5 s); data is lost (no persistence). */
  readonly stop: () => Promise<void>
  /** Starts it again on the same port. */
  readonly start: () => Promise<void>
  /** SIGSTOP / SIGCONT: a server that hangs, with its data kept. */
  readonly pause: () => void
  readonly resume: () => void
}

const waitFor = async (port: number, want: "connected" | "refused", timeoutMillis = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMillis
  while (Date.now() < deadline) {
    const outcome = await Effect.runPromise(connect(port))
    if ((outcome === "connected") === (want === "connected")) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`redis-server on port ${port}: not ${want} after ${timeoutMillis} ms`)
}

/** Starts a server; `password` turns on `requirepass`. */
export const startRedis = async (options: { readonly password?: string } = {}): Promise<RedisServer> => {
  if ("missing" in redisBinary) throw new Error(redisBinary.missing)
  const binary = redisBinary.path
  const port = await freePortPromise()
  let child: ChildProcess | undefined
  let output = ""
  const start = async () => {
    const args = ["--save", "", "--appendonly", "no", "--port", String(port), "--bind", "127.0.0.1"]
    if (options.password !== undefined) args.push("--requirepass", options.password)
    child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] })
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      output = (output + chunk).slice(-4000)
    })
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      output = (output + chunk).slice(-4000)
    })
    try {
      await waitFor(port, "connected")
    } catch (error) {
      throw new Error(`${String(error)}\n${output}`)
    }
  }
  const stop = async () => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()))
    running.kill("SIGCONT")
    running.kill("SIGTERM")
    const timer = setTimeout(() => running.kill("SIGKILL"), 5000)
    await exited
    clearTimeout(timer)
    await waitFor(port, "refused")
  }
  await start()
  const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : ""
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    stop,
    start,
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT")
  }
}

/** `startRedis` for the life of a scope. */
export const redisServer = (
  options: { readonly password?: string } = {}
): Effect.Effect<RedisServer, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.promise(() => startRedis(options)), (server) => Effect.promise(() => server.stop()))
