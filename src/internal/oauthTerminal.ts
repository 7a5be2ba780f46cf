/**
 * The user's side of a sign-in as services: the terminal (`Prompter`) and the browser (`BrowserOpener`), with the
 * test doubles. The Node ones are in `effect-chutes/node` (`NodeOAuthLogin`); re-exported by `OAuthLogin`.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { PromptError } from "../ChutesError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface BrowserOpenerService {
  /** Opens `url` in the user's browser. Failing to open is only worth a warning: the URL is printed too. */
  readonly open: (url: string) => Effect.Effect<void>
}

/**
 * Opens URLs in a browser.
 *
 * @since 0.1.0
 * @category tags
 */
export class BrowserOpener extends Context.Tag("effect-chutes/BrowserOpener")<BrowserOpener, BrowserOpenerService>() {
  /**
   * A browser that runs `onOpen` (e.g. an HTTP client playing the browser in tests).
   *
   * @since 0.1.0
   */
  static layerTest(onOpen: (url: string) => Effect.Effect<void>): Layer.Layer<BrowserOpener> {
    return Layer.succeed(BrowserOpener, { open: onOpen })
  }

  /**
   * A browser that opens nothing (the printed URL is the only way).
   *
   * @since 0.1.0
   */
  static readonly layerNone: Layer.Layer<BrowserOpener> = Layer.succeed(BrowserOpener, { open: () => Effect.void })
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PromptOptions {
  /** Do not echo the answer (secrets). */
  readonly hidden?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PrompterService {
  /** Whether there is a user to ask (a TTY). When false, `prompt` fails with `PromptError` `NotInteractive` at once. */
  readonly isInteractive: boolean
  /**
   * Asks and reads one line. Interruptible: the login races it against the browser callback. Fails with `PromptError`:
   * `NotInteractive` without a terminal, `InputEnded` when the input closes first.
   */
  readonly prompt: (message: string, options?: PromptOptions) => Effect.Effect<string, PromptError>
  /** Shows one line to the user. */
  readonly print: (line: string) => Effect.Effect<void>
}

/**
 * Options of `Prompter.layerTest`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PrompterTestOptions {
  /**
   * The answers, in order (once used up, further prompts wait forever, like a user who types nothing), or a function
   * answering each prompt.
   */
  readonly answers?:
    | ReadonlyArray<string>
    | ((message: string, options: PromptOptions) => Effect.Effect<string, PromptError>)
    | undefined
  /** Receives every printed line. */
  readonly lines?: Array<string> | undefined
  /** Receives every prompt message. */
  readonly prompts?: Array<string> | undefined
  /** Default true. */
  readonly interactive?: boolean | undefined
}

/**
 * Asks the user things and shows them lines.
 *
 * @since 0.1.0
 * @category tags
 */
export class Prompter extends Context.Tag("effect-chutes/Prompter")<Prompter, PrompterService>() {
  /**
   * A scripted user, recording what it was shown.
   *
   * @since 0.1.0
   */
  static layerTest(options: PrompterTestOptions = {}): Layer.Layer<Prompter> {
    const interactive = options.interactive ?? true
    const answers = options.answers ?? []
    let next = 0
    return Layer.succeed(Prompter, {
      isInteractive: interactive,
      prompt: (message, promptOptions = {}) =>
        Effect.suspend(() => {
          if (!interactive) {
            return Effect.fail(new PromptError({ reason: "NotInteractive", detail: "no terminal to prompt on" }))
          }
          options.prompts?.push(message)
          if (typeof answers === "function") return answers(message, promptOptions)
          const answer = answers[next]
          next += 1
          return answer === undefined ? Effect.never : Effect.succeed(answer)
        }),
      print: (line) => Effect.sync(() => void options.lines?.push(line))
    })
  }

  /**
   * No terminal (CI, pipes): every prompt fails with `PromptError` `NotInteractive`; printed lines go to `lines` when
   * given.
   *
   * @since 0.1.0
   */
  static layerNonInteractive(lines?: Array<string>): Layer.Layer<Prompter> {
    return Prompter.layerTest({ interactive: false, lines })
  }
}
