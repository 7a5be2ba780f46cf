/**
 * Another process holding a file's lock: a Node child that takes the lock with proper-lockfile (as `NodeFileLock`
 * does), says "locked", and then either keeps it until killed or, after `holdMillis`, optionally writes the file and
 * releases. For the store suites' tests of waiting for, re-reading after and recovering from a foreign lock holder.
 */
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"

export interface LockHolderOptions {
  /** Release after this long; without it the lock is held until the child is killed (or the scope closes). */
  readonly holdMillis?: number
  /** What to write to the file just before releasing (nothing when omitted). */
  readonly write?: string
  /** The mode the write creates the file with (Node's default when omitted). */
  readonly writeMode?: number
  /** proper-lockfile's `stale` for the child's lock, in milliseconds. */
  readonly staleMillis: number
}

/** The child, once it holds the lock of `path`; killed when the scope closes if it is still running. */
export const lockHolder = (path: string, options: LockHolderOptions) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess, Error>((resume) => {
      const script = `
        const lockfile = require("proper-lockfile")
        const fs = require("node:fs")
        const [file, hold, content, mode, stale] = process.argv.slice(1)
        lockfile.lock(file, { realpath: false, stale: Number(stale) }).then((release) => {
          process.stdout.write("locked\\n")
          if (hold === "") return setInterval(() => {}, 1000)
          setTimeout(() => {
            if (content !== "") fs.writeFileSync(file, content, mode === "" ? undefined : { mode: Number(mode) })
            release().then(() => process.exit(0))
          }, Number(hold))
        })`
      const child = spawn(
        process.execPath,
        [
          "-e",
          script,
          path,
          options.holdMillis?.toString() ?? "",
          options.write ?? "",
          options.writeMode?.toString() ?? "",
          options.staleMillis.toString()
        ],
        { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] }
      )
      child.stdout?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("locked")) resume(Effect.succeed(child))
      })
      child.once("error", (error) => resume(Effect.fail(error)))
    }),
    (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )
