/**
 * A real full disk for the suites that must show what a failed write does: a tmpfs of a few KiB mounted on a fresh
 * directory, filled up by a filler file. Mounting needs root (CI runs as root); without it the suite is skipped with
 * a banner (`missingTool`).
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Found } from "./missingTool.js"

/** Mounts a tmpfs of `kib` KiB (mode 0700) on a fresh directory: its path, or why it cannot be had. */
export const mountSmallDisk = (kib: number): Found => {
  if (process.getuid?.() !== 0) return { missing: "mounting a tmpfs (a disk that fills up) needs root" }
  const path = mkdtempSync(join(tmpdir(), "chutes-small-disk-"))
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${kib}k,mode=0700`, "tmpfs", path], { stdio: "pipe" })
    return { path }
  } catch (error) {
    rmSync(path, { recursive: true, force: true })
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error)
    return { missing: `could not mount a tmpfs: ${why}` }
  }
}

/** Unmounts what `mountSmallDisk` mounted, and removes the directory. */
export const unmountSmallDisk = (path: string): void => {
  execFileSync("umount", [path], { stdio: "pipe" })
  rmSync(path, { recursive: true, force: true })
}

/** Writes a filler file in `dir` until the disk is full (ENOSPC); returns its path (remove it to free the disk). */
export const fillDisk = (dir: string): string => {
  const filler = join(dir, "filler")
  try {
    writeFileSync(filler, Buffer.alloc(64 * 1024 * 1024))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error
    return filler
  }
  throw new Error(`${dir} did not fill up`)
}
