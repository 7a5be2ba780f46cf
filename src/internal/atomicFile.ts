/**
 * Crash-safe file replacement shared by the auth store, the agent config and the catalog cache: the new content is
 * written to a temp file in the same directory (mode 0600 from creation), fsynced, renamed over the target, and the
 * directory is fsynced so the rename itself survives a crash. A reader therefore sees the old or the new file, never
 * a torn one.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import { dirname } from "node:path"

/** The prefix of temp files, so that leftovers of a killed writer can be recognised. */
export const TEMP_MARKER = ".tmp-"

/** Writes `content` to `path` atomically with the given mode (default 0600). */
export const writeAtomic = (
  path: string,
  content: string,
  options: { readonly mode?: number | undefined } = {}
): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const mode = options.mode ?? 0o600
    const temp = `${path}${TEMP_MARKER}${process.pid}-${randomBytes(6).toString("hex")}`
    const written = Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(temp, { flag: "wx", mode })
      yield* file.writeAll(new TextEncoder().encode(content))
      yield* file.sync
    }))
    yield* written.pipe(
      Effect.zipRight(fs.chmod(temp, mode)),
      Effect.zipRight(fs.rename(temp, path)),
      Effect.onError(() => Effect.ignore(fs.remove(temp)))
    )
    // fsync the directory so the rename is durable; some file systems refuse it, which is not an error.
    yield* Effect.scoped(Effect.flatMap(fs.open(dirname(path), { flag: "r" }), (dir) => dir.sync)).pipe(Effect.ignore)
  })

/** Creates a directory (and parents) with mode 0700 when missing; an existing directory keeps its mode. */
export const ensurePrivateDir = (dir: string): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (yield* fs.exists(dir)) return
    yield* fs.makeDirectory(dir, { recursive: true, mode: 0o700 })
    yield* fs.chmod(dir, 0o700)
  })
