/**
 * The Node terminal, browser and loopback server for `OAuthLogin`: a `Prompter` on stdin / stdout (interactive only
 * when both are TTYs; hidden input for secrets), a `BrowserOpener` that uses the `open` package (loaded only when
 * used), and a `CallbackServer` that serves the callback app (`internal/oauthCallbackApp.ts`, on `HttpRouter`) with
 * `@effect/platform-node`'s `NodeHttpServer` over an `http.Server` of its own, with the remote / headless detection of
 * this process.
 *
 * @since 0.1.0
 */
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as ConfigError from "effect/ConfigError"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import * as Readline from "node:readline"
import * as ChutesOAuth from "../ChutesOAuth.js"
import { OAuthError, PromptError } from "../ChutesError.js"
import * as ChutesSettings from "../ChutesSettings.js"
import * as CallbackApp from "../internal/oauthCallbackApp.js"
import { excerpt } from "../internal/redact.js"
import type { CallbackCode } from "../OAuthCallback.js"
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
  remoteEnvironment
} from "../OAuthLogin.js"
import * as Proxy from "./proxy.js"

const inputEnded = (): PromptError => new PromptError({ reason: "InputEnded" })

/** Ctrl-C while we own the terminal: give the signal back to the process (the runtime interrupts, or Node exits). */
const resendInterrupt = (): void => {
  process.kill(process.pid, "SIGINT")
}

const visiblePrompt = (
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
  message: string
): Effect.Effect<string, PromptError> =>
  Effect.async<string, PromptError>((resume) => {
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
): Effect.Effect<string, PromptError> =>
  Effect.async<string, PromptError>((resume) => {
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
        ? Effect.fail(new PromptError({ reason: "NotInteractive", detail: "stdin or stdout is not a terminal" }))
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
 * `NodeHttpServer`'s own finalizer is a bare `server.close()`, which waits for every connection: this runs as a
 * finalizer ahead of it, on the `http.Server` the listener gave it. The grace timer is the wall clock's (a Node
 * timer), like the sockets it bounds.
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

/**
 * The listener's own `http.Server`: at most `maxConnections` connections, one silent for 10 s dropped, and
 * `closeServer` (idempotent) closing it through `closeWithinGrace` — with the responses not yet flushed counted from
 * the moment their requests arrive, so that the last one's flush drops what is left at once.
 */
const boundedServer = (options: ListenerOptions, graceMillis: number) => {
  // A request not complete within `requestTimeout` (headers included: a trickle of bytes resets no idle timer) is
  // dropped; Node checks every `connectionsCheckingInterval`.
  const requestMillis = Math.max(1, Duration.toMillis(Duration.decode(options.requestTimeout ?? IDLE_SOCKET_MILLIS)))
  const server = Http.createServer({
    requestTimeout: requestMillis,
    headersTimeout: requestMillis,
    connectionsCheckingInterval: Math.min(1_000, requestMillis)
  })
  // Node drops connections past the cap as they arrive; a connection silent both ways is dropped after a while
  // (the server has no 'timeout' listener, so Node destroys the socket).
  server.maxConnections = Math.max(1, Math.floor(options.maxConnections ?? DEFAULT_MAX_CONNECTIONS))
  server.timeout = IDLE_SOCKET_MILLIS
  // Responses not yet flushed: closing lets them finish (within the grace period) so the browser gets its page.
  const inFlight = new Set<Http.ServerResponse>()
  let closing: Promise<void> | undefined
  const closeServer = (): Promise<void> => {
    if (closing === undefined) {
      closing = closeWithinGrace(server, graceMillis)
      // Nothing in flight: nothing to wait for.
      if (inFlight.size === 0) server.closeAllConnections()
    }
    return closing
  }
  // Registered before `NodeHttpServer` adds its own listener: every response counts from its request's arrival.
  server.on("request", (_request: Http.IncomingMessage, response: Http.ServerResponse) => {
    inFlight.add(response)
    response.on("close", () => {
      inFlight.delete(response)
      if (closing !== undefined && inFlight.size === 0) server.closeAllConnections()
    })
  })
  return { server, closeServer }
}

/**
 * Listens on the loopback `target` (see `OAuthLogin.callbackListener` for the contract): the callback app served by
 * `NodeHttpServer` over an `http.Server` of ours, so that closing goes through `closeWithinGrace`, at most
 * `maxConnections` connections are held, and one silent for 10 s is dropped.
 */
const listen = (
  target: RedirectTarget,
  expectedState: string,
  options: ListenerOptions
): Effect.Effect<CallbackListener, OAuthError, Scope.Scope> =>
  Effect.gen(function*() {
    const graceMillis = Duration.toMillis(Duration.decode(options.closeGrace ?? DEFAULT_CLOSE_GRACE))
    const result = yield* Deferred.make<CallbackCode, OAuthError>()
    const runtime = yield* Effect.runtime<never>()
    const { closeServer, server } = boundedServer(options, graceMillis)
    const http = yield* NodeHttpServer.make(() => server, { port: target.port, host: target.host, exclusive: true })
      .pipe(
        Effect.catchTag("ServeError", (error) => {
          const cause = error.cause as NodeJS.ErrnoException | undefined
          const why = cause?.code ?? cause?.message ?? "error"
          return Effect.fail(
            new OAuthError({ reason: "PortInUse", detail: `cannot listen on ${target.host} port ${target.port} (${why})` })
          )
        })
      )
    server.on("error", (error) => {
      Runtime.runFork(runtime)(Effect.logWarning(`The sign-in callback listener failed: ${error.message}`))
    })
    const app = yield* CallbackApp.make({
      target,
      expectedState,
      result,
      finish: Effect.sync(() => void closeServer())
    })
    // The request URL carries the code and the state: no server span records it.
    yield* http.serve(app).pipe(HttpMiddleware.withTracerDisabledWhenEffect(() => true))

    // Bounded by the grace period; an interrupted wait drops every connection at once. Added last, so it runs first
    // on close: before the platform's finalizers (unhook the app, a bare `server.close()`).
    const close: Effect.Effect<void> = Effect.async<void>((resume) => {
      void closeServer().then(() => resume(Effect.void))
      return Effect.sync(() => server.closeAllConnections())
    })
    yield* Effect.addFinalizer(() => close)
    // Report what the socket is really bound to, not what was asked for.
    const address = http.address
    return {
      host: address._tag === "TcpAddress" ? address.hostname : target.host,
      port: address._tag === "TcpAddress" ? address.port : target.port,
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
 * The Node `CallbackServer`: the callback app on `NodeHttpServer`, on the loopback address only, and
 * `detectRemoteEnvironment`.
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
 * The Node `CallbackServer` (`NodeHttpServer` on loopback).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerCallbackServer: Layer.Layer<CallbackServer> = Layer.succeed(CallbackServer, callbackServer)

/**
 * The Node pieces of an interactive login: the terminal, the browser and the loopback callback server.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerPlatform: Layer.Layer<BrowserOpener | Prompter | CallbackServer> = Layer.mergeAll(
  layerPrompter,
  layerBrowserOpener,
  layerCallbackServer
)

/**
 * Everything `OAuthLogin.login` needs on Node: `layerPlatform`, plus `ChutesOAuth` over Node's HTTP client (through
 * `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` when set; the loopback callback listener is never proxied) with
 * settings from the environment (`CHUTES_IDP_BASE_URL`, …; `settings` override it; `ChutesSettings.layerConfig`).
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { OAuthLogin } from "effect-chutes"
 * import { NodeOAuthLogin } from "effect-chutes/node"
 *
 * // The app from CHUTES_CLIENT_ID / CHUTES_CLIENT_SECRET (asked for when missing); storing the profile is yours to do.
 * const signIn = OAuthLogin.login().pipe(Effect.provide(NodeOAuthLogin.layer()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  settings: ChutesSettings.Options = {}
): Layer.Layer<BrowserOpener | Prompter | CallbackServer | ChutesOAuth.ChutesOAuth, ConfigError.ConfigError> =>
  Layer.mergeAll(
    layerPlatform,
    ChutesOAuth.layer().pipe(
      Layer.provide(Layer.mergeAll(Proxy.layerHttpClient(undefined), ChutesSettings.layerConfig(settings)))
    )
  )
