/**
 * Hardened access to the files the SDK trusts: the auth profile store (secrets), the agent config (which model a
 * prompt goes to) and the catalog cache. Whoever can change them can send the user's prompts, and bill, to a chute of
 * their own, or swap in their own credentials, so only the user (or root) may be able to change them.
 *
 * The rules, on POSIX systems (Windows is not checked: its ACLs do not map onto mode bits):
 * - a directory or file that is **world-writable** is refused;
 * - one **owned by another user** than the current one or root is refused;
 * - a **group-writable** one is refused unless `allowGroupWritable` is set (`CHUTES_ALLOW_GROUP_WRITABLE=1`):
 *   Kubernetes `fsGroup` volumes are group-writable by design;
 * - a file must be a **regular file** (a FIFO would hang the read, `/dev/zero` would never end), is opened **without
 *   following a symbolic link**, and is read up to a **size cap**.
 *
 * Every refusal says what to run to fix it (`chmod 700 <dir>`, …) and how to opt in to group-writable files.
 *
 * `@effect/platform`'s `FileSystem` has no `lstat`, no no-follow open and no `fchmod`, so the access goes through this
 * service. `effect-chutes/node` provides the hardened Node implementation (`NodePrivateFiles.layer`, part of
 * `NodeChutes.layerPlatform`): checks on the open handle (`fstat`), `O_NOFOLLOW`, `fchmod` of the temp file.
 * `layerFileSystem` applies the same rules over any runtime's `FileSystem` through `stat` and `readLink` (a small
 * window between check and open, and `chmod` by path of a freshly created temp file). `layerMemory` keeps the files in
 * memory (tests, runtimes without files). The file-backed services (auth profile store, agent config, catalog cache)
 * require the service, and so does `ChutesProvider.layer`.
 *
 * @since 0.2.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { PrivateFileError } from "./ChutesError.js"
import {
  check,
  currentIdentity,
  type Identity,
  parentOf,
  type Policy,
  type Subject,
  symbolicLink,
  tempPathFor,
  tooLarge
} from "./internal/filePolicy.js"
import { decodePieces } from "./internal/utf8.js"

/**
 * The rules (pure) and their helpers: `check` a directory or file, the refusal messages, `currentIdentity`, …
 *
 * @since 0.2.0
 */
export {
  ALLOW_GROUP_WRITABLE_ENV,
  check,
  currentIdentity,
  formatBytes,
  type Identity,
  parentOf,
  type Policy,
  shellQuote,
  type Subject,
  symbolicLink,
  TEMP_MARKER,
  tempPathFor,
  tooLarge
} from "./internal/filePolicy.js"
/**
 * The error of the service (defined with the other public errors).
 *
 * @since 0.2.0
 */
export { PrivateFileError } from "./ChutesError.js"

// ---------------------------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Options of `readFile`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReadOptions extends Policy {
  /** The largest file read; a larger one fails with `TooLarge`. */
  readonly maxBytes: number
}

/**
 * Options of `writeFileAtomic`.
 *
 * @since 0.2.0
 * @category models
 */
export interface WriteOptions<E = never> extends Policy {
  /** The mode of the new file; default 0600. */
  readonly mode?: number | undefined
  /**
   * Runs after the temp file is written and synced, right before it is renamed over the target; a failure removes the
   * temp file and leaves the target as it was. The last moment to notice that the target changed meanwhile.
   */
  readonly beforeRename?: Effect.Effect<void, E> | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /**
   * Reads a whole file as UTF-8 after checking its directory and itself (not following a symbolic link, a regular
   * file, owner, mode, at most `maxBytes`). `None` when the file or its directory does not exist.
   */
  readonly readFile: (path: string, options: ReadOptions) => Effect.Effect<Option.Option<string>, PrivateFileError>
  /** Creates the directory (and its parents) with mode 0700 when missing, then checks it. */
  readonly ensureDirectory: (path: string, options?: Policy) => Effect.Effect<void, PrivateFileError>
  /**
   * Replaces `path` atomically after checking its directory: a temp file in the same directory created exclusively,
   * without following a link, with the mode from creation (and set again on the open file), written, synced, renamed
   * over the target; then the directory is synced. A reader sees the old or the new file, never a torn one.
   */
  readonly writeFileAtomic: <E = never>(
    path: string,
    content: string,
    options?: WriteOptions<E>
  ) => Effect.Effect<void, PrivateFileError | E>
}

/**
 * @since 0.2.0
 * @category tags
 */
export class PrivateFiles extends Context.Tag("effect-chutes/PrivateFiles")<PrivateFiles, Service>() {}

// ---------------------------------------------------------------------------------------------------------------------
// Over @effect/platform's FileSystem (any runtime)
// ---------------------------------------------------------------------------------------------------------------------

const errnoOf = (error: PlatformError): string | undefined => {
  if (error._tag !== "SystemError") return undefined
  const cause: unknown = error.cause
  const code = typeof cause === "object" && cause !== null ? Reflect.get(cause, "code") : undefined
  return typeof code === "string" ? code : undefined
}

const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

/**
 * A platform error as a `PrivateFileError`.
 *
 * @since 0.2.0
 * @category errors
 */
export const fromPlatformError = (path: string, action: string) => (error: PlatformError): PrivateFileError => {
  const code = errnoOf(error)
  const permission = (error._tag === "SystemError" && error.reason === "PermissionDenied") || code === "EPERM"
  return new PrivateFileError({
    reason: permission ? "Permission" : "Io",
    path,
    detail: `${action} ${path} failed (${code ?? (error._tag === "SystemError" ? error.reason : "BadArgument")})`
  })
}

const subjectOf = (info: FileSystem.File.Info): Subject => ({
  type: info.type,
  mode: info.mode,
  uid: Option.getOrUndefined(info.uid)
})

/**
 * The rules over `@effect/platform`'s `FileSystem`, for runtimes without `effect-chutes/node`. A symbolic link is
 * noticed with `readLink` and the type with `stat` before the file is opened (so a FIFO never blocks the open), then
 * checked again on the open file; the temp file is created exclusively with its mode and `chmod`ed by path (the
 * platform has no `fchmod`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeFileSystem = (
  fs: FileSystem.FileSystem,
  identity: Identity = currentIdentity()
): Service => {
  const checked = (path: string, kind: "directory" | "file", subject: Subject, policy: Policy) =>
    Option.match(check(path, kind, subject, identity, policy), { onNone: () => Effect.void, onSome: Effect.fail })

  /** `None` when missing. */
  const statOption = (path: string) =>
    fs.stat(path).pipe(
      Effect.map(Option.some),
      Effect.catchIf(isNotFound, () => Effect.succeedNone),
      Effect.mapError(fromPlatformError(path, "reading the status of"))
    )

  /** Checks a directory; `false` when it does not exist. */
  const checkDirectory = (dir: string, policy: Policy) =>
    Effect.flatMap(statOption(dir), (info) =>
      Option.isNone(info)
        ? Effect.succeed(false)
        : Effect.as(checked(dir, "directory", subjectOf(info.value), policy), true))

  /** Reads an open file to its end, failing past `maxBytes` (it may grow while read). */
  const readAll = (path: string, file: FileSystem.File, maxBytes: number) =>
    Effect.gen(function*() {
      const chunks: Array<Uint8Array> = []
      let total = 0
      while (true) {
        const chunk = yield* Effect.mapError(file.readAlloc(64 * 1024), fromPlatformError(path, "reading"))
        if (Option.isNone(chunk) || chunk.value.length === 0) break
        total += chunk.value.length
        if (total > maxBytes) return yield* tooLarge(path, "more", maxBytes)
        chunks.push(chunk.value)
      }
      return decodePieces(chunks, total)
    })

  const readFile: Service["readFile"] = (path, options) =>
    Effect.gen(function*() {
      if (!(yield* checkDirectory(parentOf(path), options))) return Option.none()
      // `readLink` succeeds on a symbolic link only: the platform's stand-in for lstat.
      if (yield* fs.readLink(path).pipe(Effect.as(true), Effect.orElseSucceed(() => false))) {
        return yield* symbolicLink(path)
      }
      // The type is checked before the open, so a FIFO never blocks it.
      const before = yield* statOption(path)
      if (Option.isNone(before)) return Option.none()
      yield* checked(path, "file", subjectOf(before.value), options)
      const size = Number(before.value.size)
      if (size > options.maxBytes) return yield* tooLarge(path, size, options.maxBytes)
      return yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* Effect.mapError(fs.open(path, { flag: "r" }), fromPlatformError(path, "opening"))
        const info = yield* Effect.mapError(file.stat, fromPlatformError(path, "reading the status of"))
        yield* checked(path, "file", subjectOf(info), options)
        return Option.some(yield* readAll(path, file, options.maxBytes))
      }))
    })

  const ensureDirectory: Service["ensureDirectory"] = (dir, policy = {}) =>
    Effect.gen(function*() {
      if (yield* checkDirectory(dir, policy)) return
      yield* fs.makeDirectory(dir, { recursive: true, mode: 0o700 }).pipe(
        Effect.zipRight(fs.chmod(dir, 0o700)),
        Effect.mapError(fromPlatformError(dir, "creating the directory"))
      )
      yield* checkDirectory(dir, policy)
    })

  const writeFileAtomic = <E = never>(
    path: string,
    content: string,
    options: WriteOptions<E> = {}
  ): Effect.Effect<void, PrivateFileError | E> =>
    Effect.gen(function*() {
      const dir = parentOf(path)
      if (!(yield* checkDirectory(dir, options))) {
        return yield* new PrivateFileError({ reason: "Io", path, detail: `the directory ${dir} does not exist` })
      }
      const mode = options.mode ?? 0o600
      const temp = tempPathFor(path)
      const write = Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(temp, { flag: "wx", mode })
        yield* file.writeAll(new TextEncoder().encode(content))
        yield* file.sync
      })).pipe(
        // No fchmod on this platform: the temp file was just created exclusively in a checked directory.
        Effect.zipRight(fs.chmod(temp, mode)),
        Effect.mapError(fromPlatformError(path, "writing"))
      )
      yield* write.pipe(
        Effect.zipRight(options.beforeRename ?? Effect.void),
        Effect.zipRight(Effect.mapError(fs.rename(temp, path), fromPlatformError(path, "renaming a temp file over"))),
        Effect.onError(() => Effect.ignore(fs.remove(temp)))
      )
      // Sync the directory so the rename is durable; some file systems refuse it, which is not an error.
      yield* Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (handle) => handle.sync)).pipe(Effect.ignore)
    })

  return { readFile, ensureDirectory, writeFileAtomic }
}

/**
 * `makeFileSystem` over the `FileSystem` in context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFileSystem: Layer.Layer<PrivateFiles, never, FileSystem.FileSystem> = Layer.effect(
  PrivateFiles,
  Effect.map(FileSystem.FileSystem, (fs) => makeFileSystem(fs))
)

// ---------------------------------------------------------------------------------------------------------------------
// In memory (tests)
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A directory or file of the memory implementation. Tests set `mode`, `uid` and `type` to play unsafe states.
 *
 * @since 0.2.0
 * @category models
 */
export interface MemoryEntry {
  readonly type: FileSystem.File.Type
  readonly mode: number
  readonly uid: number
  readonly content?: string | undefined
}

/**
 * The memory implementation's files, by path, and who it runs as.
 *
 * @since 0.2.0
 * @category models
 */
export interface MemoryFiles {
  readonly entries: Map<string, MemoryEntry>
  readonly identity: Identity
}

/**
 * Fresh memory files, as uid 1000 on POSIX unless told otherwise.
 *
 * @since 0.2.0
 * @category constructors
 */
export const memoryFiles = (
  entries: Iterable<readonly [string, MemoryEntry]> = [],
  identity: Identity = { posix: true, uid: 1000 }
): MemoryFiles => ({ entries: new Map(entries), identity })

/**
 * The rules over a map of paths, for tests: a missing directory reads as missing files.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeMemory = (files: MemoryFiles = memoryFiles()): Service => {
  const checkEntry = (path: string, kind: "directory" | "file", policy: Policy) =>
    Effect.suspend(() => {
      const entry = files.entries.get(path)
      if (entry === undefined) return Effect.succeed(false)
      return Option.match(check(path, kind, entry, files.identity, policy), {
        onNone: () => Effect.succeed(true),
        onSome: Effect.fail
      })
    })
  const create = (dir: string) =>
    Effect.sync(() => {
      for (let current = dir; !files.entries.has(current); current = parentOf(current)) {
        files.entries.set(current, { type: "Directory", mode: 0o700, uid: files.identity.uid ?? 0 })
        if (parentOf(current) === current) break
      }
    })
  return {
    readFile: (path, options) =>
      Effect.gen(function*() {
        yield* checkEntry(parentOf(path), "directory", options)
        if (!(yield* checkEntry(path, "file", options))) return Option.none()
        const content = files.entries.get(path)?.content ?? ""
        const size = new TextEncoder().encode(content).length
        if (size > options.maxBytes) return yield* tooLarge(path, size, options.maxBytes)
        return Option.some(content)
      }),
    ensureDirectory: (dir, policy = {}) =>
      Effect.flatMap(
        checkEntry(dir, "directory", policy),
        (exists) => (exists ? Effect.void : create(dir))
      ),
    writeFileAtomic: (path, content, options = {}) =>
      Effect.gen(function*() {
        const dir = parentOf(path)
        if (!(yield* checkEntry(dir, "directory", options))) {
          return yield* new PrivateFileError({ reason: "Io", path, detail: `the directory ${dir} does not exist` })
        }
        yield* options.beforeRename ?? Effect.void
        files.entries.set(path, { type: "File", mode: options.mode ?? 0o600, uid: files.identity.uid ?? 0, content })
      })
  }
}

/**
 * The memory implementation as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemory = (files: MemoryFiles = memoryFiles()): Layer.Layer<PrivateFiles> =>
  Layer.sync(PrivateFiles, () => makeMemory(files))
