/**
 * The Node terminal, browser and loopback server for `OAuthLogin`: a `Prompter` on stdin / stdout (interactive only
 * when both are TTYs; hidden input for secrets), a `BrowserOpener` that uses the `open` package (loaded only when
 * used), and a `CallbackServer` on `node:http` with the remote / headless detection of this process.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import * as Readline from "node:readline"
import * as ChutesOAuth from "../ChutesOAuth.js"
import { OAuthError } from "../ChutesError.js"
import * as ChutesSettings from "../ChutesSettings.js"
import { excerpt } from "../internal/redact.js"
import { type CallbackCode, parseCallbackParams } from "../OAuthCallback.js"
import {
  BrowserOpener,
  type BrowserOpenerService,
  type CallbackListener,
  CallbackServer,
  type CallbackServerService,
  DEFAULT_CLOSE_GRACE,
  DEFAULT_MAX_CONNECTIONS,
  type ListenerOptions,
  Prompter,
  type PrompterService,
  type RedirectTarget,
  remoteEnvironment,
  SUCCESS_TITLE
} from "../OAuthLogin.js"

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

// ---------------------------------------------------------------------------------------------------------------------
// The callback server
// ---------------------------------------------------------------------------------------------------------------------

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

const page = (title: string, text: string): string =>
  `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
  `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>\n`

/**
 * A connection with no traffic either way for this long is dropped, so a stuck one does not hold a place under the
 * connection cap while the listener waits (up to 3 minutes) for the browser.
 */
const IDLE_SOCKET_MILLIS = 10_000

/**
 * Closes a Node HTTP server within `graceMillis`, whatever its clients do: it stops accepting at once (the port is
 * free), drops idle keep-alive connections, lets answers in flight finish, and after the grace period drops every
 * connection left (`closeAllConnections`) — a client that pipelines requests and never reads the answers would
 * otherwise keep `server.close` waiting forever. The promise resolves once the server has closed.
 *
 * Written against the `http.Server` alone so that it outlives a move of the listener onto `@effect/platform`'s
 * `HttpServer` (`NodeHttpServer.make(() => server, …)`, whose finalizer is a bare `server.close()` that waits for
 * every connection): there it runs as a finalizer ahead of the platform's.
 */
const closeWithinGrace = (server: Http.Server, graceMillis: number): Promise<void> =>
  new Promise<void>((resolve) => {
    if (!server.listening) {
      server.closeAllConnections()
      return resolve()
    }
    const timer = setTimeout(() => server.closeAllConnections(), graceMillis)
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
    server.closeIdleConnections()
  })

const respond = (res: Http.ServerResponse, status: number, title: string, text: string, last: boolean): void => {
  const body = Buffer.from(page(title, text))
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": String(body.length),
    "cache-control": "no-store",
    // The callback URL holds the code: no referrer, no sub-resources, no sniffing.
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'",
    "x-content-type-options": "nosniff",
    ...(last ? { connection: "close" } : {})
  })
  res.end(body)
}

/**
 * Listens on the loopback `target` with Node's `http.Server` (see `OAuthLogin.callbackListener` for the contract):
 * closing goes through `closeWithinGrace`, at most `maxConnections` connections are held, and one silent for 10 s is
 * dropped.
 */
const listen = (
  target: RedirectTarget,
  expectedState: string,
  options: ListenerOptions
): Effect.Effect<CallbackListener, OAuthError, Scope.Scope> =>
  Effect.gen(function*() {
    const graceMillis = Duration.toMillis(Duration.decode(options.closeGrace ?? DEFAULT_CLOSE_GRACE))
    const maxConnections = Math.max(1, Math.floor(options.maxConnections ?? DEFAULT_MAX_CONNECTIONS))
    const result = yield* Deferred.make<CallbackCode, OAuthError>()
    const runtime = yield* Effect.runtime<never>()
    const warn = (message: string): void => {
      Runtime.runFork(runtime)(Effect.logWarning(message))
    }
    let finished = false
    let closing: Promise<void> | undefined
    // Responses not yet flushed: closing lets them finish (within the grace period) so the browser gets its page.
    const inFlight = new Set<Http.ServerResponse>()

    const closeServer = (): Promise<void> => {
      if (closing === undefined) {
        closing = closeWithinGrace(server, graceMillis)
        // Nothing in flight: nothing to wait for.
        if (inFlight.size === 0) server.closeAllConnections()
      }
      return closing
    }

    const server = Http.createServer((req, res) => {
      inFlight.add(res)
      res.on("close", () => {
        inFlight.delete(res)
        if (closing !== undefined && inFlight.size === 0) server.closeAllConnections()
      })
      // A request target that is not a valid URL (e.g. "http://[") would throw here and take the process down.
      let url: URL
      try {
        url = new URL(req.url ?? "/", "http://127.0.0.1")
      } catch {
        return respond(res, 400, "Bad request", "That is not a sign-in callback.", false)
      }
      if (url.pathname !== target.path) {
        return respond(res, 404, "Not found", "This is not the sign-in callback.", false)
      }
      if (req.method !== "GET") {
        return respond(res, 405, "Method not allowed", "The sign-in callback only accepts GET.", false)
      }
      if (finished) return respond(res, 410, "Sign-in already finished", "You can close this window.", true)
      Either.match(parseCallbackParams(url.searchParams, expectedState), {
        onRight: (code) => {
          finished = true
          respond(res, 200, SUCCESS_TITLE, "Return to your terminal.", true)
          Deferred.unsafeDone(result, Effect.succeed(code))
          void closeServer()
        },
        onLeft: (error) => {
          if (error.reason === "Denied") {
            finished = true
            respond(res, 400, "Sign-in was not completed", `${error.message}. You can close this window.`, true)
            Deferred.unsafeDone(result, Effect.fail(error))
            void closeServer()
          } else {
            warn(`Ignored a sign-in callback: ${error.message}`)
            respond(res, 400, "Sign-in callback rejected", `${error.message}. Keep the terminal waiting.`, false)
          }
        }
      })
    })

    // Node drops connections past the cap as they arrive; a connection silent both ways is dropped after a while
    // (the server has no 'timeout' listener, so Node destroys the socket).
    server.maxConnections = maxConnections
    server.timeout = IDLE_SOCKET_MILLIS

    // Bounded by the grace period; an interrupted wait drops every connection at once.
    const close: Effect.Effect<void> = Effect.async<void>((resume) => {
      void closeServer().then(() => resume(Effect.void))
      return Effect.sync(() => server.closeAllConnections())
    })

    yield* Effect.acquireRelease(
      Effect.async<void, OAuthError>((resume) => {
        const onError = (error: NodeJS.ErrnoException): void => {
          resume(Effect.fail(
            new OAuthError({
              reason: "PortInUse",
              detail: `cannot listen on ${target.host} port ${target.port} (${error.code ?? error.message})`
            })
          ))
        }
        server.once("error", onError)
        server.listen({ port: target.port, host: target.host, exclusive: true }, () => {
          server.off("error", onError)
          server.on("error", (error) => warn(`The sign-in callback listener failed: ${error.message}`))
          resume(Effect.void)
        })
      }),
      () => close
    )
    // Report what the socket is really bound to, not what was asked for.
    const address = server.address()
    const bound = address !== null && typeof address === "object" ? address : undefined
    return {
      host: bound?.address ?? target.host,
      port: bound?.port ?? target.port,
      waitForCode: Deferred.await(result),
      close
    }
  })


/**
 * `OAuthLogin.isRemoteEnvironment` of this process: the env through `Config`, `process.platform`, and `/proc/version`
 * on Linux.
 *
 * @since 0.1.0
 * @category environment
 */
export const detectRemoteEnvironment: Effect.Effect<boolean> = remoteEnvironment(
  process.platform,
  Effect.sync(() => {
    try {
      return readFileSync("/proc/version", "utf8")
    } catch {
      return undefined
    }
  })
)

/**
 * The Node `CallbackServer`: `node:http` on the loopback address, and `detectRemoteEnvironment`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const callbackServer: CallbackServerService = { isRemote: detectRemoteEnvironment, listen }

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
 * The Node `CallbackServer` (`node:http` on loopback).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerCallbackServer: Layer.Layer<CallbackServer> = Layer.succeed(CallbackServer, callbackServer)

/**
 * The terminal, the browser and the loopback server for `OAuthLogin.login`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<BrowserOpener | Prompter | CallbackServer> = Layer.mergeAll(
  layerPrompter,
  layerBrowserOpener,
  layerCallbackServer
)

/**
 * Everything `OAuthLogin.login` needs on Node: `layer`, plus `ChutesOAuth` over Node's HTTP client with settings from
 * the environment (`CHUTES_IDP_BASE_URL`, …; `settings` override it).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAll = (
  settings: ChutesSettings.Options = {}
): Layer.Layer<BrowserOpener | Prompter | CallbackServer | ChutesOAuth.ChutesOAuth> =>
  Layer.mergeAll(
    layer,
    ChutesOAuth.layer.pipe(
      Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, ChutesSettings.layerConfig(settings)))
    )
  )
