/**
 * The options every command takes: `--config` and `--state-dir`, mirroring `CHUTES_CONFIG_PATH` / `CHUTES_STATE_DIR`
 * (the flags win), and `--timeout`, a bound on the whole command; `--no-follow-successors` for the commands that
 * resolve model names.
 *
 * @internal
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** A `--timeout` value: as typed (for messages) and as a duration. */
export interface Timeout {
  readonly text: string
  readonly duration: Duration.Duration
}

/** Where a command reads and writes its files (`undefined` = from the environment, else the default), and its bound. */
export interface GlobalOptions {
  readonly configPath: string | undefined
  readonly stateDir: string | undefined
  readonly timeout: Timeout | undefined
  /** `false` with `--no-follow-successors`; `undefined` leaves it to the config and the environment. */
  readonly followSuccessors: boolean | undefined
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** `30s`, `1.5m`, `500ms`, `2h`, or a bare number of seconds; `undefined` for anything else or a zero duration. */
export const parseTimeout = (text: string): Timeout | undefined => {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim())
  if (match === null) return undefined
  const millis = Number(match[1]) * UNITS[match[2] ?? "s"]!
  return millis > 0 ? { text: text.trim(), duration: Duration.millis(millis) } : undefined
}

/** The whole command took longer than `--timeout`. */
export class CommandTimeout extends Schema.TaggedError<CommandTimeout>("effect-chutes/cli/CommandTimeout")(
  "CommandTimeout",
  { timeout: Schema.String }
) {
  override get message(): string {
    return `timed out: the command did not finish within ${this.timeout} (--timeout)`
  }
}

/** `--config`, `--state-dir` and `--timeout`, to spread into every command's options. */
export const globalOptions = {
  config: Options.text("config").pipe(
    Options.withPseudoName("<file>"),
    Options.withDescription(
      "the JSON5 agent config file (default: $CHUTES_CONFIG_PATH, else <state dir>/config.json5)"
    ),
    Options.optional
  ),
  stateDir: Options.text("state-dir").pipe(
    Options.withPseudoName("<dir>"),
    Options.withDescription(
      "the state directory holding auth-profiles.json (default: $CHUTES_STATE_DIR, else " +
        "$XDG_CONFIG_HOME/effect-chutes, else ~/.config/effect-chutes)"
    ),
    Options.optional
  ),
  timeout: Options.text("timeout").pipe(
    Options.withPseudoName("<duration>"),
    Options.withDescription("give up after this long, e.g. 30s or 2m: the whole command, prompts included"),
    Options.mapEffect((text) => {
      const timeout = parseTimeout(text)
      return timeout !== undefined ? Effect.succeed(timeout) : Effect.fail(ValidationError.invalidValue(
        HelpDoc.p(`--timeout ${JSON.stringify(text)} is not a duration: give e.g. 30s, 2m or 500ms`)
      ))
    }),
    Options.optional
  )
}

/** `--no-follow-successors`, for the commands that resolve model names (onboard, models list / resolve). */
export const followOptions = {
  noFollowSuccessors: Options.boolean("no-follow-successors").pipe(
    Options.withDescription(
      "keep the built-in default model and aliases on their documented targets even when the catalog no longer " +
        "serves them (default: they follow their successors; also CHUTES_FOLLOW_SUCCESSORS=false)"
    )
  )
}

/** An optional `--profile <id>`; each command says what it does with it. */
export const profileOption = (description: string) =>
  Options.text("profile").pipe(Options.withPseudoName("<id>"), Options.withDescription(description), Options.optional)

/**
 * `--profile <id>` for the commands that call Chutes with a stored credential (models list / resolve, account, usage):
 * that stored profile alone, pinned — no other profile is tried, no rotation, and `CHUTES_API_KEY` /
 * `CHUTES_OAUTH_TOKEN` are not used (`profile.ts`).
 */
export const profileOptions = {
  profile: profileOption(
    "use this stored profile alone, e.g. chutes:alice (no other is tried; CHUTES_API_KEY and CHUTES_OAUTH_TOKEN " +
      "are not used). Default: the resolution order (effect-chutes auth status)"
  )
}

/** The global options as @effect/cli parses them. */
export interface GlobalValues {
  readonly config: Option.Option<string>
  readonly stateDir: Option.Option<string>
  readonly timeout: Option.Option<Timeout>
  readonly noFollowSuccessors?: boolean | undefined
}

/** The parsed global options of a command. */
export const globalOf = (options: GlobalValues): GlobalOptions => ({
  configPath: Option.getOrUndefined(options.config),
  stateDir: Option.getOrUndefined(options.stateDir),
  timeout: Option.getOrUndefined(options.timeout),
  followSuccessors: options.noFollowSuccessors === true ? false : undefined
})

/** Bounds `effect` by `--timeout`, when given: past it, the command is interrupted and fails with `CommandTimeout`. */
export const withTimeout = (global: GlobalOptions) => <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | CommandTimeout, R> => {
  const timeout = global.timeout
  if (timeout === undefined) return effect
  return Effect.timeoutFail(effect, {
    duration: timeout.duration,
    onTimeout: () => new CommandTimeout({ timeout: timeout.text })
  })
}
