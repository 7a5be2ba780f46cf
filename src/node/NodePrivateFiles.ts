/**
 * The hardened Node implementation of `PrivateFiles` (see that module for the rules): every check runs on the open
 * file handle (`fstat`), so what is checked is what is read; files are opened with `O_NOFOLLOW` (a symbolic link is
 * refused, not followed) and `O_NONBLOCK` (a FIFO cannot hang the open); the temp file of a write is created with
 * `O_CREAT | O_EXCL | O_NOFOLLOW` and its mode is set on the open file (`fchmod`), never by path.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { constants, type Stats } from "node:fs"
import { type FileHandle, mkdir, open, rename, stat, unlink } from "node:fs/promises"
import { dirname } from "node:path"
import {
  check,
  currentIdentity,
  type Identity,
  type Policy,
  PrivateFileError,
  PrivateFiles,
  type ReadOptions,
  type Service,
  type Subject,
  symbolicLink,
  tempPathFor,
  tooLarge,
  type WriteOptions
} from "../PrivateFiles.js"

// Windows has neither flag (and is not checked); 0 leaves the open as it was.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0
const O_NONBLOCK = constants.O_NONBLOCK ?? 0
const O_DIRECTORY = constants.O_DIRECTORY ?? 0

const codeOf = (cause: unknown): string | undefined => {
  const code = typeof cause === "object" && cause !== null ? Reflect.get(cause, "code") : undefined
  return typeof code === "string" ? code : undefined
}

const failure = (path: string, action: string) => (cause: unknown): PrivateFileError => {
  const code = codeOf(cause)
  return new PrivateFileError({
    reason: code === "EACCES" || code === "EPERM" ? "Permission" : "Io",
    path,
    detail: `${action} ${path} failed (${code ?? (cause instanceof Error ? cause.message : "unknown error")})`
  })
}

const typeOf = (stats: Stats): Subject["type"] =>
  stats.isFile()
    ? "File"
    : stats.isDirectory()
    ? "Directory"
    : stats.isSymbolicLink()
    ? "SymbolicLink"
    : stats.isFIFO()
    ? "FIFO"
    : stats.isCharacterDevice()
    ? "CharacterDevice"
    : stats.isBlockDevice()
    ? "BlockDevice"
    : stats.isSocket()
    ? "Socket"
    : "Unknown"

const subjectOf = (stats: Stats): Subject => ({ type: typeOf(stats), mode: stats.mode, uid: stats.uid })

/** An open handle, closed when the scope ends. */
const openHandle = (path: string, flags: number, mode?: number) =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => open(path, flags, mode), catch: (cause) => cause }),
    (handle) => Effect.promise(() => handle.close().catch(() => undefined))
  )

/**
 * The Node implementation for `identity` (default: this process).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (identity: Identity = currentIdentity()): Service => {
  const verdict = (path: string, kind: "directory" | "file", stats: Stats, policy: Policy) =>
    Option.match(check(path, kind, subjectOf(stats), identity, policy), {
      onNone: () => Effect.void,
      onSome: Effect.fail
    })

  /** Checks a directory (following a link to it: a linked state directory is common); `false` when missing. */
  const checkDirectory = (dir: string, policy: Policy) =>
    Effect.tryPromise({ try: () => stat(dir), catch: (cause) => cause }).pipe(
      Effect.map((stats): Option.Option<Stats> => Option.some(stats)),
      Effect.catchIf((cause) => codeOf(cause) === "ENOENT", () => Effect.succeedNone),
      Effect.mapError(failure(dir, "reading the status of")),
      Effect.flatMap((stats) =>
        Option.isNone(stats) ? Effect.succeed(false) : Effect.as(verdict(dir, "directory", stats.value, policy), true)
      )
    )

  /**
   * Reads to the end of the file, never more than `maxBytes`: a file that grows while it is read (past the size `fstat`
   * gave) is read on only up to the cap.
   */
  const readAll = (path: string, handle: FileHandle, size: number, maxBytes: number) =>
    Effect.gen(function*() {
      // Room for the size `fstat` gave and one byte more, so that a file that grew since shows.
      let buffer = Buffer.allocUnsafe(Math.min(maxBytes, size) + 1)
      let total = 0
      while (true) {
        if (total === buffer.length) {
          if (total > maxBytes) return yield* tooLarge(path, "more", maxBytes)
          const larger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buffer.length * 2))
          buffer.copy(larger, 0, 0, total)
          buffer = larger
        }
        const wanted = buffer.length - total
        const into = buffer
        const { bytesRead } = yield* Effect.tryPromise({
          try: () => handle.read(into, total, wanted, null),
          catch: failure(path, "reading")
        })
        total += bytesRead
        // End of file: nothing more, or a short read of a file no larger than `fstat` said.
        if (bytesRead === 0 || (bytesRead < wanted && total <= size)) break
      }
      if (total > maxBytes) return yield* tooLarge(path, "more", maxBytes)
      return buffer.toString("utf8", 0, total)
    })

  const readFile = (path: string, options: ReadOptions): Effect.Effect<Option.Option<string>, PrivateFileError> =>
    Effect.gen(function*() {
      if (!(yield* checkDirectory(dirname(path), options))) return Option.none()
      return yield* Effect.scoped(Effect.gen(function*() {
        const handle = yield* openHandle(path, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK).pipe(
          Effect.map(Option.some),
          Effect.catchIf((cause) => codeOf(cause) === "ENOENT", () => Effect.succeedNone),
          Effect.mapError((cause) =>
            // O_NOFOLLOW on a link: ELOOP on Linux and macOS, EMLINK on FreeBSD.
            codeOf(cause) === "ELOOP" || codeOf(cause) === "EMLINK" ? symbolicLink(path) : failure(path, "opening")(cause)
          )
        )
        if (Option.isNone(handle)) return Option.none<string>()
        const stats = yield* Effect.tryPromise({
          try: () => handle.value.stat(),
          catch: failure(path, "reading the status of")
        })
        yield* verdict(path, "file", stats, options)
        if (stats.size > options.maxBytes) return yield* tooLarge(path, stats.size, options.maxBytes)
        return Option.some(yield* readAll(path, handle.value, stats.size, options.maxBytes))
      }))
    })

  const ensureDirectory = (dir: string, policy: Policy = {}): Effect.Effect<void, PrivateFileError> =>
    Effect.gen(function*() {
      if (yield* checkDirectory(dir, policy)) return
      yield* Effect.tryPromise({
        try: () => mkdir(dir, { recursive: true, mode: 0o700 }),
        catch: failure(dir, "creating the directory")
      })
      // The umask may have taken bits away (0500 under umask 0277): set the mode on the open directory.
      yield* Effect.scoped(Effect.flatMap(
        openHandle(dir, constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW),
        (handle) => Effect.tryPromise(() => handle.chmod(0o700))
      )).pipe(Effect.mapError(failure(dir, "setting the mode of")))
      yield* checkDirectory(dir, policy)
    })

  const writeFileAtomic = <E = never>(
    path: string,
    content: string,
    options: WriteOptions<E> = {}
  ): Effect.Effect<void, PrivateFileError | E> =>
    Effect.gen(function*() {
      const dir = dirname(path)
      if (!(yield* checkDirectory(dir, options))) {
        return yield* new PrivateFileError({ reason: "Io", path, detail: `the directory ${dir} does not exist` })
      }
      const mode = options.mode ?? 0o600
      const temp = tempPathFor(path)
      const written = Effect.scoped(Effect.gen(function*() {
        const handle = yield* openHandle(
          temp,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
          mode
        ).pipe(Effect.mapError(failure(path, "creating a temp file next to")))
        yield* Effect.tryPromise({
          // The umask may have taken bits away; set the mode on the open file, never by path.
          try: async () => {
            await handle.chmod(mode)
            await handle.writeFile(content, "utf8")
            await handle.sync()
          },
          catch: failure(path, "writing")
        })
      }))
      yield* written.pipe(
        Effect.zipRight(options.beforeRename ?? Effect.void),
        Effect.zipRight(Effect.tryPromise({
          try: () => rename(temp, path),
          catch: failure(path, "renaming a temp file over")
        })),
        Effect.onError(() => Effect.promise(() => unlink(temp).catch(() => undefined)))
      )
      // Sync the directory so the rename is durable; some file systems refuse it, which is not an error.
      yield* Effect.scoped(Effect.flatMap(
        openHandle(dir, constants.O_RDONLY | O_DIRECTORY),
        (handle) => Effect.tryPromise(() => handle.sync())
      )).pipe(Effect.ignore)
    })

  return { readFile, ensureDirectory, writeFileAtomic }
}

/**
 * The Node implementation as a layer; `NodeChutes.layerPlatform` includes it.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<PrivateFiles> = Layer.sync(PrivateFiles, () => make())
