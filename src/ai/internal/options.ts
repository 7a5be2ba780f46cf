/**
 * `ChutesLanguageModel`'s options resolved against their defaults: deadlines and size caps. (Retries use the SDK's
 * one policy: `ChutesSettings.makeRetryPolicy`.)
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type { LimitOptions, TimeoutOptions } from "../ChutesLanguageModel.js"
import type * as Answer from "./answer.js"
import { defaultStreamLimits, type StreamLimits } from "./sse.js"
import { limitOr } from "../../internal/limits.js"

/** The deadlines of a call (`Duration.infinity` turns one off). */
export interface Deadlines extends Answer.StreamDeadlines {
  readonly completion: Duration.Duration
}

export const deadlines = (options: TimeoutOptions = {}): Deadlines => ({
  completion: Duration.decode(options.completion ?? "10 minutes"),
  firstEvent: Duration.decode(options.firstEvent ?? "5 minutes"),
  idle: Duration.decode(options.idle ?? "2 minutes"),
  stream: Duration.decode(options.stream ?? Duration.infinity)
})

/** The size caps of an answer. */
export interface Limits extends StreamLimits {
  readonly maxBodyBytes: number
}

const cap = (value: number | undefined, fallback: number): number => limitOr(value, fallback, { infinite: true })

export const limits = (options: LimitOptions = {}): Limits => ({
  maxBodyBytes: cap(options.maxBodyBytes, 32 * 1024 * 1024),
  maxLineLength: cap(options.maxLineLength, defaultStreamLimits.maxLineLength),
  maxEventLength: cap(options.maxEventLength, defaultStreamLimits.maxEventLength),
  maxToolArgumentsLength: cap(options.maxToolArgumentsLength, defaultStreamLimits.maxToolArgumentsLength)
})
