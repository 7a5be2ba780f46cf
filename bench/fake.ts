/**
 * FakeChutes in its own process (`scripts/fake-chutes.ts`), driven over its `/__control/...` routes.
 *
 * The server runs out of process on purpose: serialising and writing a 4.6 MB body is the server's work, and sharing
 * the client's event loop with it would add the same milliseconds to both sides of every discovery ratio and flatter
 * the SDK. On loopback in another process it behaves like a remote service that answers instantly.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createInterface } from "node:readline"

/**
 * A running fake and the few controls the benchmark needs.
 */
export interface FakeProcess {
  /** `http://127.0.0.1:PORT/v1` */
  readonly baseUrl: string
  readonly apiKey: string
  /** Serve a catalog of `count` models made from the real capture (`FakeChutes.generateModels`). */
  readonly setModels: (count: number) => Promise<void>
  /** `GET /v1/models` requests seen so far. */
  readonly modelsRequests: () => Promise<number>
  /** Zero the counters and drop the request log (it grows with every request). */
  readonly reset: () => Promise<void>
  readonly close: () => Promise<void>
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/**
 * Starts the fake with `tsx` from the repository root `root`.
 */
export const startFake = async (root: string, models: number): Promise<FakeProcess> => {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/fake-chutes.ts", "--models", String(models)],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NODE_OPTIONS: "" } }
  )
  const stdout = child.stdout
  if (stdout === null) throw new Error("fake-chutes: no stdout")
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: stdout })
    lines.once("line", (line) => {
      lines.close()
      resolve(line)
    })
    child.once("exit", (code) => reject(new Error(`fake-chutes exited with ${code} before it was ready`)))
    child.once("error", reject)
  })
  const info: unknown = JSON.parse(first)
  if (!isRecord(info) || typeof info["url"] !== "string" || typeof info["apiKey"] !== "string") {
    child.kill("SIGTERM")
    throw new Error(`fake-chutes: unexpected first line ${first.slice(0, 200)}`)
  }
  const url = info["url"]
  const control = async (method: "GET" | "POST", path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${url}/__control/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    })
    const json: unknown = await response.json()
    if (!response.ok || !isRecord(json)) throw new Error(`fake-chutes control ${path}: HTTP ${response.status}`)
    return json
  }
  return {
    baseUrl: `${url}/v1`,
    apiKey: info["apiKey"],
    setModels: async (count) => {
      await control("POST", "models", { count })
    },
    modelsRequests: async () => {
      const state = await control("GET", "state")
      return typeof state["models"] === "number" ? state["models"] : Number.NaN
    },
    reset: async () => {
      await control("POST", "reset", {})
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.kill("SIGTERM")
      })
  }
}
