/**
 * Captures everything the SDK could leak a secret through — log lines, spans (names, attributes, events, exit
 * causes), errors (message, `String`, `JSON.stringify`, `Cause.pretty`), printed output — and finds secrets in it.
 *
 * Usage: `Effect.provide(program, Capture.layer(capture))`, then `Capture.leaks(capture, secrets)` must be empty.
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import type * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { randomBytes } from "node:crypto"

/** One captured piece of text and where it came from (`log`, `span`, `error`, `output`). */
export interface Entry {
  readonly kind: "log" | "span" | "error" | "output"
  /** What produced it, e.g. `logfmt`, `span ChutesOAuth.refresh attribute http.url`, `JSON.stringify`. */
  readonly where: string
  readonly text: string
}

/** Everything captured so far (append-only), and the logger and tracer feeding it. */
export interface Capture {
  readonly entries: Array<Entry>
  /** How many log lines, spans, errors and outputs were captured. */
  readonly counts: { logs: number; spans: number; errors: number; output: number }
  /**
   * One logger per capture: installing it twice (nested `Effect.provide(layer(capture))`) adds the same logger to the
   * set of loggers, not a second one, so no line is captured twice.
   */
  readonly logger: Logger.Logger<unknown, void>
  readonly tracer: Tracer.Tracer
}

/** An empty capture. */
export const make = (): Capture => {
  const entries: Array<Entry> = []
  const counts = { logs: 0, spans: 0, errors: 0, output: 0 }
  const capture: Capture = {
    entries,
    counts,
    logger: Logger.make((options) => logLine(capture, options)),
    tracer: Tracer.make({
      span: (name, parent, context, links, startTime, kind) =>
        new CapturedSpan(capture, name, parent, context, links, startTime, kind),
      context: (f) => f()
    })
  }
  return capture
}

/** JSON of anything, falling back to `String` for what JSON cannot show (cycles, bigint). */
const json = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const push = (capture: Capture, kind: Entry["kind"], where: string, text: string): void => {
  capture.entries.push({ kind, where, text })
}

/**
 * Records one log line four ways: Effect's logfmt and JSON formatters (what users see), the raw message parts (strings
 * as they are, anything else through a plain `JSON.stringify`, as a structured logger would), the annotations and
 * spans, and `Cause.pretty` of the cause.
 */
const logLine = (capture: Capture, options: Logger.Logger.Options<unknown>): void => {
  capture.counts.logs += 1
  const level = options.logLevel.label
  push(capture, "log", `logfmt ${level}`, Logger.logfmtLogger.log(options))
  push(capture, "log", `json ${level}`, Logger.jsonLogger.log(options))
  const parts: ReadonlyArray<unknown> = Array.isArray(options.message) ? options.message : [options.message]
  for (const part of parts) push(capture, "log", `message ${level}`, typeof part === "string" ? part : json(part))
  for (const [key, value] of HashMap.toEntries(options.annotations)) {
    push(capture, "log", `annotation ${key}`, `${key}=${typeof value === "string" ? value : json(value)}`)
  }
  for (const span of List.toArray(options.spans)) push(capture, "log", "log span", span.label)
  if (!Cause.isEmpty(options.cause)) push(capture, "log", `cause ${level}`, Cause.pretty(options.cause))
}

class CapturedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId = randomBytes(8).toString("hex")
  readonly traceId: string
  readonly sampled = true
  readonly attributes = new Map<string, unknown>()
  readonly links: Array<Tracer.SpanLink>
  readonly events: Array<readonly [string, Record<string, unknown> | undefined]> = []
  status: Tracer.SpanStatus

  constructor(
    readonly capture: Capture,
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.traceId = Option.isSome(parent) ? parent.value.traceId : randomBytes(16).toString("hex")
    this.links = [...links]
    this.status = { _tag: "Started", startTime }
  }

  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }

  event(name: string, _startTime: bigint, attributes?: Record<string, unknown>): void {
    this.events.push([name, attributes])
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Started") this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
    const capture = this.capture
    capture.counts.spans += 1
    const at = `span ${this.name}`
    push(capture, "span", `${at} name`, this.name)
    for (const [key, value] of this.attributes) {
      push(capture, "span", `${at} attribute ${key}`, `${key}=${typeof value === "string" ? value : json(value)}`)
    }
    for (const [name, attributes] of this.events) {
      push(capture, "span", `${at} event`, attributes === undefined ? name : `${name} ${json(attributes)}`)
    }
    for (const link of this.links) push(capture, "span", `${at} link`, json(link.attributes))
    // What an exporter records for a failed span: the status message is the pretty cause.
    if (exit._tag === "Failure") push(capture, "span", `${at} exit`, Cause.pretty(exit.cause))
  }
}

/** The capture's logger in place of the default one, every level logged, and the capture's tracer. */
export const layer = (capture: Capture): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, capture.logger),
    Logger.minimumLogLevel(LogLevel.All),
    Layer.setTracer(capture.tracer)
  )

/**
 * Records an error the SDK handed to its caller: its message, `String(error)`, `JSON.stringify(error)`, and
 * `Cause.pretty` of a failure with it. `where` says which flow it came from.
 */
export const recordError = (capture: Capture, where: string, error: unknown): void => {
  capture.counts.errors += 1
  if (error instanceof Error) push(capture, "error", `${where} message`, error.message)
  push(capture, "error", `${where} String`, String(error))
  push(capture, "error", `${where} JSON.stringify`, json(error))
  push(capture, "error", `${where} Cause.pretty`, Cause.pretty(Cause.fail(error)))
}

/** Records a whole cause (failures, defects, interruptions), pretty and as JSON. */
export const recordCause = (capture: Capture, where: string, cause: Cause.Cause<unknown>): void => {
  for (const failure of Cause.failures(cause)) recordError(capture, where, failure)
  for (const defect of Cause.defects(cause)) recordError(capture, `${where} defect`, defect)
  push(capture, "error", `${where} Cause.pretty`, Cause.pretty(cause))
}

/** Records text shown to a user (printed lines, CLI stdout / stderr). */
export const recordOutput = (capture: Capture, where: string, text: string): void => {
  capture.counts.output += 1
  push(capture, "output", where, text)
}

/** A secret and a name to report it by (never the value itself). */
export interface Secret {
  readonly name: string
  readonly value: string
}

/** A secret found in a captured entry. */
export interface Leak {
  readonly secret: string
  readonly kind: Entry["kind"]
  readonly where: string
  /** The matched window, shown by offset and length only: the report must not leak either. */
  readonly offset: number
}

/**
 * Every entry holding a secret, or any `window`-character piece of one (default 12: long enough that it cannot occur
 * by chance, short enough to catch a truncated or partly masked secret; the "last 4 characters" labels stay allowed).
 */
export const leaks = (capture: Capture, secrets: ReadonlyArray<Secret>, window = 12): ReadonlyArray<Leak> => {
  const found: Array<Leak> = []
  for (const secret of secrets) {
    const pieces = new Set<string>()
    for (let i = 0; i + window <= secret.value.length; i++) pieces.add(secret.value.slice(i, i + window))
    if (secret.value.length < window) pieces.add(secret.value)
    for (const entry of capture.entries) {
      for (const piece of pieces) {
        const offset = entry.text.indexOf(piece)
        if (offset >= 0) {
          found.push({ secret: secret.name, kind: entry.kind, where: entry.where, offset })
          break
        }
      }
    }
  }
  return found
}

/** A readable list of leaks for an assertion message (no secret text in it). */
export const describeLeaks = (found: ReadonlyArray<Leak>): string =>
  found.map((leak) => `${leak.secret} in ${leak.kind} (${leak.where}) at ${leak.offset}`).join("\n")
