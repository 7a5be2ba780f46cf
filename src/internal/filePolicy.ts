/**
 * The rules of `PrivateFiles` (pure): who may own and write a state directory or file, what type it must be, and the
 * messages that say how to fix a refusal. `PrivateFiles` re-exports what its users need.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Option from "effect/Option"
import { PrivateFileError } from "../ChutesError.js"

/**
 * The environment variable that allows group-writable state directories and files.
 *
 * @since 0.2.0
 * @category constants
 */
export const ALLOW_GROUP_WRITABLE_ENV = "CHUTES_ALLOW_GROUP_WRITABLE"

/**
 * What the caller accepts beyond the defaults.
 *
 * @since 0.2.0
 * @category models
 */
export interface Policy {
  /** Accept group-writable directories and files (a Kubernetes `fsGroup` volume). Default: false. */
  readonly allowGroupWritable?: boolean | undefined
}

/**
 * Who is asking: the current user id, and whether the rules apply at all (POSIX).
 *
 * @since 0.2.0
 * @category models
 */
export interface Identity {
  readonly posix: boolean
  readonly uid: number | undefined
}

interface ProcessLike {
  readonly platform?: string
  readonly pid?: number
  readonly getuid?: () => number
  readonly kill?: (pid: number, signal: number) => unknown
}

/**
 * The `process` global where the runtime has one (Node, Bun, Deno), read without naming it, so that the core runs
 * where there is none (browsers, workers) and bundles for them without a Node polyfill.
 */
const processLike = (): ProcessLike | undefined => {
  const candidate: unknown = Reflect.get(globalThis, "process")
  return typeof candidate === "object" && candidate !== null ? candidate as ProcessLike : undefined
}

/**
 * The id of this process; `undefined` where the runtime has none.
 *
 * @since 0.2.0
 * @category utils
 */
export const currentPid = (): number | undefined => {
  const pid = processLike()?.pid
  return typeof pid === "number" ? pid : undefined
}

/**
 * Whether a process with this id is running (signal 0 tests without sending); `undefined` where the runtime cannot
 * tell. A process of another user counts as running (`EPERM`).
 *
 * @since 0.2.0
 * @category utils
 */
export const isProcessAlive = (pid: number): boolean | undefined => {
  const kill = processLike()?.kill
  if (typeof kill !== "function") return undefined
  try {
    kill.call(processLike(), pid, 0)
    return true
  } catch (error) {
    const code = typeof error === "object" && error !== null ? Reflect.get(error, "code") : undefined
    return code === "EPERM"
  }
}

/**
 * The identity of this process, read without importing a Node module (Node, Bun and Deno all offer
 * `process.getuid`; Windows and browsers do not, and then nothing is checked).
 *
 * @since 0.2.0
 * @category constructors
 */
export const currentIdentity = (): Identity => {
  const proc = processLike()
  const uid = typeof proc?.getuid === "function" ? proc.getuid() : undefined
  return { posix: proc?.platform !== "win32" && uid !== undefined, uid }
}

/**
 * What is known of a directory or file: its type, mode bits and owner.
 *
 * @since 0.2.0
 * @category models
 */
export interface Subject {
  readonly type: FileSystem.File.Type
  readonly mode: number
  readonly uid: number | undefined
}

/**
 * A path as it can be pasted into a shell.
 *
 * @since 0.2.0
 * @category utils
 */
export const shellQuote = (path: string): string =>
  /^[A-Za-z0-9_./~+:@%-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, "0")}`

const TYPE_NAMES: Record<FileSystem.File.Type, string> = {
  File: "a regular file",
  Directory: "a directory",
  SymbolicLink: "a symbolic link",
  BlockDevice: "a block device",
  CharacterDevice: "a character device",
  FIFO: "a FIFO (named pipe)",
  Socket: "a socket",
  Unknown: "of an unknown type"
}

const unsafe = (path: string, detail: string) => new PrivateFileError({ reason: "Unsafe", path, detail })

/**
 * The refusal of a file that is a symbolic link.
 *
 * @since 0.2.0
 * @category policy
 */
export const symbolicLink = (path: string): PrivateFileError =>
  unsafe(
    path,
    `${path} is a symbolic link, which is not followed (a link could point anywhere). Fix: replace the link with the ` +
      `file itself`
  )

const OPT_IN = `${ALLOW_GROUP_WRITABLE_ENV}=1 (option allowGroupWritable)`

/**
 * Checks a directory or file against the rules. `kind` is what it must be. On a non-POSIX system only the type is
 * checked.
 *
 * @since 0.2.0
 * @category policy
 */
export const check = (
  path: string,
  kind: "directory" | "file",
  subject: Subject,
  identity: Identity,
  policy: Policy = {}
): Option.Option<PrivateFileError> => {
  const expected = kind === "directory" ? "Directory" : "File"
  const chmod = kind === "directory" ? "700" : "600"
  const what = kind === "directory" ? `The directory ${path}` : path
  if (subject.type !== expected) {
    return Option.some(
      subject.type === "SymbolicLink"
        ? symbolicLink(path)
        : unsafe(
          path,
          `${path} is ${TYPE_NAMES[subject.type]}, not ${TYPE_NAMES[expected]}; it is not used. Fix: move it away`
        )
    )
  }
  if (!identity.posix) return Option.none()
  if (subject.uid !== undefined && subject.uid !== identity.uid && subject.uid !== 0) {
    return Option.some(unsafe(
      path,
      `${what} is owned by uid ${subject.uid}, not by you (uid ${identity.uid ?? "?"}) or root: its owner could ` +
        `change what is in it. Fix: use a ${kind} of your own (CHUTES_STATE_DIR / --state-dir, CHUTES_CONFIG_PATH / ` +
        `--config), or have it handed to you (sudo chown ${identity.uid ?? "$(id -u)"} ${shellQuote(path)})`
    ))
  }
  if ((subject.mode & 0o002) !== 0) {
    return Option.some(unsafe(
      path,
      `${what} is world-writable (mode ${octal(subject.mode)}): any local user could replace ` +
        `${kind === "directory" ? "the files in it" : "it"}. Fix: chmod ${chmod} ${shellQuote(path)}` +
        (kind === "directory" ? `, or use a new directory inside it (CHUTES_STATE_DIR), which is created 0700` : "")
    ))
  }
  if ((subject.mode & 0o020) !== 0 && policy.allowGroupWritable !== true) {
    return Option.some(unsafe(
      path,
      `${what} is group-writable (mode ${octal(subject.mode)}): everyone in its group could replace ` +
        `${kind === "directory" ? "the files in it" : "it"}. Fix: chmod ${chmod} ${shellQuote(path)} — or, when ` +
        `the group is trusted (a Kubernetes fsGroup volume), allow it with ${OPT_IN}`
    ))
  }
  return Option.none()
}

/**
 * The error for a file over its cap.
 *
 * @since 0.2.0
 * @category policy
 */
export const tooLarge = (path: string, size: number | "more", maxBytes: number): PrivateFileError =>
  new PrivateFileError({
    reason: "TooLarge",
    path,
    detail: `${path} is ${size === "more" ? "larger than" : `${size} bytes, over`} the cap of ${formatBytes(maxBytes)}` +
      `${size === "more" ? " (it grew while read)" : ""}; it is not read. Fix: move it away`
  })

/**
 * Bytes in words: `4 MiB`, `512 KiB`, `100 bytes`.
 *
 * @since 0.2.0
 * @category utils
 */
export const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : bytes >= 1024 && bytes % 1024 === 0
    ? `${bytes / 1024} KiB`
    : `${bytes} bytes`

/**
 * The directory that holds `path` (POSIX or Windows separators), without importing `node:path`.
 *
 * @since 0.2.0
 * @category utils
 */
export const parentOf = (path: string): string => {
  const index = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"))
  if (index < 0) return "."
  if (index === 0) return path.slice(0, 1)
  // `C:\file` -> `C:\`
  return /^[A-Za-z]:$/.test(path.slice(0, index)) ? path.slice(0, index + 1) : path.slice(0, index)
}

/**
 * The prefix of temp files next to their target (`<file>.tmp-<pid>-<hex>`), so that leftovers of a killed writer can
 * be recognised.
 *
 * @since 0.2.0
 * @category constants
 */
export const TEMP_MARKER = ".tmp-"

/**
 * A fresh temp file name next to `path`.
 *
 * @since 0.2.0
 * @category utils
 */
export const tempPathFor = (path: string): string => {
  const bytes = new Uint8Array(6)
  globalThis.crypto.getRandomValues(bytes)
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
  return `${path}${TEMP_MARKER}${currentPid() ?? 0}-${hex}`
}
