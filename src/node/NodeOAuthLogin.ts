/**
 * The Node terminal and browser for `OAuthLogin`: a `Prompter` on stdin / stdout (interactive only when both are
 * TTYs; hidden input for secrets) and a `BrowserOpener` that uses the `open` package (loaded only when used).
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as Readline from "node:readline"
import * as ChutesOAuth from "../ChutesOAuth.js"
import { OAuthError } from "../ChutesError.js"
import * as ChutesSettings from "../ChutesSettings.js"
import { excerpt } from "../internal/redact.js"
import { BrowserOpener, type BrowserOpenerService, Prompter, type PrompterService } from "../OAuthLogin.js"

const inputEnded = (): OAuthError =>
  new OAuthError({ reason: "NotInteractive", detail: "the input ended before an answer was given" })

/** Ctrl-C while we own the terminal: give the signal back to the process (the runtime interrupts, or Node exits). */
const resendInterrupt = (): void => {
  process.kill(process.pid, "SIGINT")
}

const visiblePrompt = (
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
  message: string
): Effect.Effect<string, OAuthError> =>
  Effect.async<string, OAuthError>((resume) => {
    let done = false
    const rl = Readline.createInterface({ input, output, terminal: true })
    rl.on("SIGINT", () => {
      done = true
      rl.close()
      output.write("\n")
      resendInterrupt()
    })
    rl.on("close", () => {
      if (done) return
      done = true
      output.write("\n")
      resume(Effect.fail(inputEnded()))
    })
    rl.question(message, (answer) => {
      done = true
      rl.close()
      resume(Effect.succeed(answer))
    })
    // Interrupted (the browser callback won the race): give the terminal back.
    return Effect.sync(() => {
      if (done) return
      done = true
      rl.close()
      output.write("\n")
    })
  })

const hiddenPrompt = (
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
  message: string
): Effect.Effect<string, OAuthError> =>
  Effect.async<string, OAuthError>((resume) => {
    let answer = ""
    let done = false
    const wasRaw = input.isRaw
    const cleanup = (): void => {
      done = true
      input.off("data", onData)
      input.setRawMode(wasRaw)
      input.pause()
      output.write("\n")
    }
    // Raw mode: nothing is echoed; we handle Enter, Backspace, Ctrl-C and Ctrl-D ourselves.
    const onData = (chunk: Buffer | string): void => {
      for (const char of chunk.toString("utf8")) {
        if (done) return
        if (char === "\r" || char === "\n") {
          cleanup()
          return resume(Effect.succeed(answer))
        }
        if (char === "\u0003") {
          cleanup()
          return resendInterrupt()
        }
        if (char === "\u0004") {
          cleanup()
          return resume(Effect.fail(inputEnded()))
        }
        if (char === "\u007f" || char === "\b") answer = answer.slice(0, -1)
        else if (char >= " ") answer += char
      }
    }
    // Echo off before the prompt shows: a key typed the instant it appears must not be echoed.
    input.setRawMode(true)
    output.write(message)
    input.resume()
    input.on("data", onData)
    return Effect.sync(() => {
      if (!done) cleanup()
    })
  })

/**
 * A prompter on the given streams (default: the process's). Interactive only when input and output are TTYs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePrompter = (
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stdout
): PrompterService => {
  const isInteractive = input.isTTY === true && output.isTTY === true
  return {
    isInteractive,
    prompt: (message, options = {}) =>
      !isInteractive
        ? Effect.fail(new OAuthError({ reason: "NotInteractive", detail: "stdin or stdout is not a terminal" }))
        : options.hidden === true
        ? hiddenPrompt(input, output, message)
        : visiblePrompt(input, output, message),
    print: (line) => Effect.sync(() => void output.write(`${line}\n`))
  }
}

/**
 * A browser opener using the `open` package. A failure (no browser, no `xdg-open`) is logged as a warning: the URL is
 * printed anyway.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBrowserOpener: Effect.Effect<BrowserOpenerService> = Effect.map(
  Effect.runtime<never>(),
  (runtime) => {
    const warn = (error: unknown): void => {
      const why = error instanceof Error ? error.message : String(error)
      Runtime.runFork(runtime)(
        Effect.logWarning(`Could not open a browser (${excerpt(why, 160)}); open the URL by hand`)
      )
    }
    return {
      open: (url) =>
        Effect.tryPromise(async () => {
          const { default: open } = await import("open")
          const child = await open(url)
          // Spawn errors arrive later as an event; without a listener they would crash the process.
          child.once("error", warn)
        }).pipe(Effect.catchAll((error) => Effect.sync(() => warn(error.cause))))
    }
  }
)

/**
 * The Node `Prompter` (stdin / stdout).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPrompter: Layer.Layer<Prompter> = Layer.sync(Prompter, () => makePrompter())

/**
 * The Node `BrowserOpener` (`open`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBrowserOpener: Layer.Layer<BrowserOpener> = Layer.effect(BrowserOpener, makeBrowserOpener)

/**
 * The terminal and the browser for `OAuthLogin.login`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<BrowserOpener | Prompter> = Layer.mergeAll(layerPrompter, layerBrowserOpener)

/**
 * Everything `OAuthLogin.login` needs on Node: `layer`, plus `ChutesOAuth` over Node's HTTP client with settings from
 * the environment (`CHUTES_IDP_BASE_URL`, …; `settings` override it).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAll = (
  settings: ChutesSettings.Options = {}
): Layer.Layer<BrowserOpener | Prompter | ChutesOAuth.ChutesOAuth> =>
  Layer.mergeAll(
    layer,
    ChutesOAuth.layer.pipe(
      Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, ChutesSettings.layerConfig(settings)))
    )
  )
