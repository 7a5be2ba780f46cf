/**
 * Terminal output of the CLI: plain lines on stdout; progress, notes and warnings on stderr; a failure as one message
 * and an exit code.
 *
 * @internal
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type { RetryEvent } from "../ChutesSettings.js"
import { NOT_SENT } from "../internal/notSent.js"
import { printable, scrub, UNSAFE_IN_JSON } from "../internal/redact.js"
import { docText } from "./help.js"

/**
 * Text for the terminal: every control and bidirectional-control character shown escaped (`\u001b`), line breaks and
 * tabs kept. The last guard behind the escaping at each source (`excerpt`, `printable`): an id from a shared store,
 * a message, anything the CLI prints passes here.
 */
export const terminalSafe = (text: string): string =>
  text.split("\n").map((line) => line.split("\t").map(printable).join("\t")).join("\n")

// JSON.stringify escapes C0 controls and lone surrogates, not the other characters `printable` escapes (DEL, C1, bidi
// and invisible ones): these become `\uXXXX` escapes too (a pair past U+FFFF), so the document reads the same to a JSON
// parser and cannot rewrite or disguise anything on a terminal.
const jsonEscape = (char: string, flag: string | undefined): string => {
  if (flag !== undefined) return char
  let escaped = ""
  for (let i = 0; i < char.length; i++) escaped += `\\u${char.charCodeAt(i).toString(16).padStart(4, "0")}`
  return escaped
}

/** A `--json` document as printed: indented JSON, every character a terminal could act on escaped. */
export const printJson = (value: unknown): string => JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, jsonEscape)

/** Writes a line to stdout, terminal-safe. */
export const out = (line: string): Effect.Effect<void> =>
  Effect.sync(() => void process.stdout.write(`${terminalSafe(line)}\n`))

/** Writes the CLI's own text to stdout as it is (help, with its own bold headings). */
export const outOwn = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stdout.write(`${text}\n`))

/** Writes a line to stderr, terminal-safe. */
export const err = (line: string): Effect.Effect<void> =>
  Effect.sync(() => void process.stderr.write(`${terminalSafe(line)}\n`))

/** The spinner on screen: the latest news of its work (a retry), and how to redraw it. */
interface Spinner {
  detail: string | undefined
  readonly redraw: () => void
}

/** The one line a terminal can show progress on belongs to the process: the innermost `withProgress` holds it. */
let spinner: Spinner | undefined

/** A spinner needs a terminal that understands `\r` and erasing a line. */
const canSpin = (): boolean => process.stderr.isTTY === true && process.env["TERM"] !== "dumb"

/**
 * Shows progress on stderr while `effect` runs: a spinner on a terminal, one line otherwise. News told with
 * `progressNews` (a retry: "attempt 2 of 4 after HTTP 503, retrying in 1.2 s") joins the spinner's line, or gets a
 * line of its own without a terminal. The spinner is cleared when the effect ends, whatever the outcome.
 */
export const withProgress = (text: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  // A label names URLs from the environment: control characters in them are shown, not sent to the terminal.
  const label = printable(text)
  if (!canSpin()) return Effect.zipRight(err(`${label}…`), effect)
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
  return Effect.acquireUseRelease(
    Effect.sync(() => {
      let frame = 0
      const current: Spinner = {
        detail: undefined,
        redraw: () => {
          // Within the terminal's width (a wrapped line could not be redrawn in place): the label is cut, the news
          // stays whole. A terminal that reports no width counts as 80 columns.
          const news = current.detail !== undefined ? ` ${current.detail}` : ""
          const room = Math.max(8, (process.stderr.columns || 80) - 1 - news.length - 3)
          const shown = label.length <= room ? label : `${label.slice(0, room - 1)}…`
          process.stderr.write(`\r\u001b[2K${frames[frame]} ${terminalSafe(`${shown}…${news}`)}`)
        }
      }
      const previous = spinner
      spinner = current
      current.redraw()
      const timer = setInterval(() => {
        frame = (frame + 1) % frames.length
        current.redraw()
      }, 80)
      return { timer, previous }
    }),
    () => effect,
    ({ previous, timer }) =>
      Effect.sync(() => {
        clearInterval(timer)
        process.stderr.write("\r\u001b[2K")
        spinner = previous
        spinner?.redraw()
      })
  )
}

/** News of the running work: on the spinner's line (see `withProgress`), else a line of its own on stderr. */
export const progressNews = (detail: string): Effect.Effect<void> =>
  Effect.sync(() => {
    if (spinner !== undefined) {
      spinner.detail = detail
      spinner.redraw()
    } else {
      process.stderr.write(`  ${terminalSafe(detail)}\n`)
    }
  })

/** A retry of the SDK's retry policy as progress news: "attempt 2 of 4 after HTTP 503, retrying in 1.2 s". */
export const reportRetry = (event: RetryEvent): Effect.Effect<void> =>
  progressNews(
    `attempt ${event.attempt} of ${event.maxAttempts} after ${event.reason}, retrying in ` +
      `${(Duration.toMillis(event.delay) / 1000).toFixed(1)} s`
  )

/** The facts already told with `notes`, so each is said once per process. */
const told = new Set<string>()

/**
 * The catalog's warnings (a default model or alias target the catalog lacks, a built-in name that followed its
 * successor, …) as short `note:` lines on stderr, each fact once per process however many times it comes up. The one
 * place the CLI renders `snapshot.warnings`.
 */
export const notes = (warnings: ReadonlyArray<{ readonly message: string }>): Effect.Effect<void> =>
  Effect.sync(() => {
    for (const { message } of warnings) {
      if (told.has(message)) continue
      told.add(message)
      process.stderr.write(`note: ${terminalSafe(scrub(message))}\n`)
    }
  })

/** Effect log lines as plain `warning: …` on stderr, scrubbed; below Warning is dropped. */
export const stderrLogger = Logger.make(({ logLevel, message }) => {
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  const level = logLevel._tag === "Warning" ? "warning" : logLevel.label.toLowerCase()
  process.stderr.write(`${level}: ${terminalSafe(scrub(text))}\n`)
})

/** Replaces the default logger with `stderrLogger` at Warning and above. */
export const loggerLayer = Logger.replace(Logger.defaultLogger, stderrLogger)

/** Runs with the CLI logger and minimum level. */
export const withCliLogging = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provide(loggerLayer), Logger.withMinimumLogLevel(LogLevel.Warning))

/**
 * A usage problem found by a command itself (a missing flag without a terminal to ask on, an unknown profile id): a
 * `ValidationError`, which the executable prints as "effect-chutes: <message>" with a pointer to `--help` and maps to
 * exit code 2 — like the parse errors of @effect/cli.
 */
export const usageError = (message: string): Effect.Effect<never, ValidationError.ValidationError> =>
  Effect.fail(ValidationError.invalidValue(HelpDoc.p(message)))

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null

/**
 * One expected failure as one line: the `message` of a typed error (they are written for people and carry no
 * secrets), scrubbed once more for good measure. A credential the service refused (a `CredentialsError` with reason
 * `Rejected`: onboarding, or the active credential of `auth status`) reads "key rejected: …".
 */
export const renderError = (error: unknown): string => {
  // (One the SDK did not send is not the service's refusal: its own message says so.)
  if (
    isRecord(error) && error["_tag"] === "CredentialsError" && error["reason"] === "Rejected" &&
    error["detail"] !== NOT_SENT
  ) {
    const source = typeof error["source"] === "string" ? ` from ${error["source"]}` : ""
    const detail = typeof error["detail"] === "string" ? ` (${printable(error["detail"])})` : ""
    // `auth status` says the same of a token from CHUTES_OAUTH_TOKEN the service refused.
    const what = source.includes("CHUTES_OAUTH_TOKEN") ? "credential rejected: the Chutes API refused the OAuth token"
      : "key rejected: the Chutes API refused the API key"
    return scrub(`${what}${source}${detail}`)
  }
  if (isRecord(error) && "message" in error) return scrub(String(error["message"]))
  return scrub(String(error))
}

/**
 * A failed run as one line: the typed error (see `renderError`), "interrupted", or a generic line for a defect — never
 * a stack trace.
 */
export const renderCause = <E>(cause: Cause.Cause<E>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") return renderError(failure.value)
  if (Cause.isInterruptedOnly(cause)) return "interrupted"
  const first = Chunk.head(Cause.defects(cause)).pipe((head) => (head._tag === "Some" ? head.value : undefined))
  return `internal error: ${scrub(first instanceof Error ? first.message : String(first))}`
}

/**
 * Whether a failure is the user's to fix by calling differently, exit code 2: a `ValidationError` (bad flags, or a
 * missing one without a terminal to ask on), an `OAuthError` saying a terminal is needed (OAuth without one), or a
 * `PromptError` (a question went unanswered: no terminal, or the input ended — flags would have answered it).
 */
const usageMessage = <E>(cause: Cause.Cause<E>): string | undefined => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "None") return undefined
  const error: unknown = failure.value
  if (ValidationError.isValidationError(error)) return scrub(docText(error.error))
  if (isRecord(error) && error["_tag"] === "OAuthError" && error["reason"] === "NotInteractive") {
    return renderError(error)
  }
  if (isRecord(error) && error["_tag"] === "PromptError") return renderError(error)
  return undefined
}

/**
 * @effect/cli's words, mended: an unknown subcommand of a group is reported against the top level with the top-level
 * list (`models nosuch` named `onboard`, `models`, …), "a integer", an option given last without its value
 * (`missingValue`: its help term, `--model <alias|ref>`) called an unknown argument, and a long unknown word echoed.
 */
const cliWording = (text: string, command: ReadonlyArray<string>, missingValue: string | undefined): string =>
  text
    .replace(/^Invalid subcommand for effect-chutes - use one of .*$/s, (all) =>
      command.length > 1 ? `Invalid subcommand for ${command.join(" ")}` : all)
    .replace(/\bis not a integer\b/g, "is not an integer")
    .replace(/^Received unknown argument: '(--[a-z-]+)'$/, (all, flag: string) =>
      missingValue?.startsWith(`${flag} `) === true ? `${flag} needs a value: ${missingValue}` : all)
    // A long word where no argument goes may be a key pasted in the wrong place (one of a known shape is already
    // `<redacted>`): its length only. A word with a `/` (a model ref, a path) is shown.
    .replace(
      /^Received unknown argument: '([^-/][^/]{23,})'$/s,
      (_, word: string) => `Received an unknown argument of ${word.length} characters (not shown: it may be a secret)`
    )

/**
 * How a failed run ends: its exit code — 2 for usage (with a pointer to the command's `--help`), 130 when interrupted,
 * 1 otherwise — and the text for stderr, each line starting with "effect-chutes:" or a pointer. `missingValue`: the
 * option the command line ended with, without its value (`main.ts`'s `missingValue`).
 */
export const failure = <E>(
  cause: Cause.Cause<E>,
  command: ReadonlyArray<string>,
  missingValue?: string | undefined
): { readonly code: number; readonly text: string } => {
  const usage = usageMessage(cause)
  if (usage !== undefined) {
    const text = cliWording(usage, command, missingValue)
    return { code: 2, text: `effect-chutes: ${text}\nSee "${[...command, "--help"].join(" ")}".\n` }
  }
  return { code: Cause.isInterruptedOnly(cause) ? 130 : 1, text: `effect-chutes: ${renderCause(cause)}\n` }
}

/**
 * A duration for people, rounded down to its largest unit or two: `3h 12m`, `45m`, `20s`, `2d 4h`.
 */
export const formatDuration = (millis: number): string => {
  const seconds = Math.max(0, Math.floor(millis / 1000))
  const days = Math.floor(seconds / 86_400)
  const hours = Math.floor((seconds % 86_400) / 3600)
  const minutes = Math.floor((seconds % 3600) / 60)
  if (days > 0) return hours > 0 ? `${days}d ${hours}h` : `${days}d`
  if (hours > 0) return minutes > 0 ? `${hours}h ${minutes}m` : `${hours}h`
  if (minutes > 0) return `${minutes}m`
  return `${seconds}s`
}

/** Rows as aligned columns, two spaces apart; the last column is not padded. */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()
  )
}

/** Shows at most the last four characters of a secret. */
export { lastFour } from "../internal/redact.js"
