/**
 * The options every command takes: `--config` and `--state-dir`, mirroring `CHUTES_CONFIG_PATH` / `CHUTES_STATE_DIR`
 * (the flags win).
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as Option from "effect/Option"

/** Where a command reads and writes its files; `undefined` = from the environment, else the default. */
export interface GlobalOptions {
  readonly configPath: string | undefined
  readonly stateDir: string | undefined
}

/** `--config` and `--state-dir`, to spread into every command's options. */
export const globalOptions = {
  config: Options.text("config").pipe(
    Options.withDescription(
      "the JSON5 agent config file (default: $CHUTES_CONFIG_PATH, else <state dir>/config.json5)"
    ),
    Options.optional
  ),
  stateDir: Options.text("state-dir").pipe(
    Options.withDescription(
      "the state directory holding auth-profiles.json (default: $CHUTES_STATE_DIR, else " +
        "$XDG_CONFIG_HOME/effect-chutes, else ~/.config/effect-chutes)"
    ),
    Options.optional
  )
}

/** The parsed `--config` / `--state-dir` of a command. */
export const globalOf = (
  options: { readonly config: Option.Option<string>; readonly stateDir: Option.Option<string> }
): GlobalOptions => ({
  configPath: Option.getOrUndefined(options.config),
  stateDir: Option.getOrUndefined(options.stateDir)
})
