/**
 * Terminal output of the CLI: plain lines on stdout, progress and warnings on stderr, typed errors as one message.
 *
 * @internal
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { scrub } from "../internal/redact.js"

/** Writes a line to stdout. */
export const out = (line: string): Effect.Effect<void> => Effect.sync(() => void process.stdout.write(`${line}\n`))

/** Writes a line to stderr. */
export const err = (line: string): Effect.Effect<void> => Effect.sync(() => void process.stderr.write(`${line}\n`))

/**
 * Shows progress on stderr while `effect` runs: a spinner on a terminal, one line otherwise. The line is cleared
 * when the effect ends, whatever the outcome.
 */
export const withProgress = (label: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  if (!process.stderr.isTTY) return Effect.zipRight(err(`${label}…`), effect)
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
  return Effect.acquireUseRelease(
    Effect.sync(() => {
      let frame = 0
      process.stderr.write(`${frames[0]} ${label}…`)
      return setInterval(() => {
        frame = (frame + 1) % frames.length
        process.stderr.write(`\r${frames[frame]} ${label}…`)
      }, 80)
    }),
    () => effect,
    (timer) => Effect.sync(() => {
      clearInterval(timer)
      process.stderr.write("\r\u001b[2K")
    })
  )
}

/** Effect log lines as plain `warning: …` on stderr, scrubbed; below Warning is dropped. */
export const stderrLogger = Logger.make(({ logLevel, message }) => {
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  process.stderr.write(`${logLevel._tag === "Warning" ? "warning" : logLevel.label.toLowerCase()}: ${scrub(text)}\n`)
})

/** Replaces the default logger with `stderrLogger` at Warning and above. */
export const loggerLayer = Logger.replace(Logger.defaultLogger, stderrLogger)

/** Runs with the CLI logger and minimum level. */
export const withCliLogging = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provide(loggerLayer), Logger.withMinimumLogLevel(LogLevel.Warning))

/**
 * A usage problem found by a command itself (a missing flag without a terminal to ask on, an unknown profile id): the
 * message goes to stderr now and the failure is a `ValidationError`, which the executable maps to exit code 2 — like
 * the parse errors @effect/cli reports.
 */
export const usageError = (message: string): Effect.Effect<never, ValidationError.ValidationError> =>
  Effect.zipRight(
    err(`effect-chutes: ${scrub(message)}`),
    Effect.fail(ValidationError.invalidValue(HelpDoc.p(message)))
  )

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null

/**
 * One expected failure as one line: the `message` of a typed error (they are written for people and carry no
 * secrets), scrubbed once more for good measure. A credential the service refused during onboarding (a
 * `CredentialsError` with reason `Rejected`, only raised there) reads "key rejected: …".
 */
export const renderError = (error: unknown): string => {
  if (isRecord(error) && error["_tag"] === "CredentialsError" && error["reason"] === "Rejected") {
    const source = typeof error["source"] === "string" ? ` from ${error["source"]}` : ""
    const detail = typeof error["detail"] === "string" ? ` (${error["detail"]})` : ""
    return scrub(`key rejected: the Chutes API refused the API key${source}${detail}`)
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

/** Shows at most the last four characters of a secret. */
export { lastFour } from "../internal/redact.js"
