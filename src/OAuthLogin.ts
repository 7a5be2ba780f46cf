/**
 * Interactive "Sign in with Chutes": the local browser flow with a loopback callback listener, and the
 * paste flow for remote / headless machines.
 *
 * The terminal, the browser and the loopback server are services (`Prompter`, `BrowserOpener`, `CallbackServer`) so
 * apps and tests swap them; the Node ones are in `effect-chutes/node` (`NodeOAuthLogin`), and this module imports no
 * Node built-in. The protocol is `ChutesOAuth`.
 *
 * Faults of OpenClaw's flow that are NOT copied: the listener starts before the browser opens and is bound to the
 * loopback address only; a pasted bare code is refused (no CSRF check without the state); a wrong state never
 * completes the flow; without a TTY the login fails at once instead of hanging on a prompt. The listener always
 * closes: answers in flight get a short grace period, then every connection is dropped, and the code is exchanged
 * without waiting for that.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as AuthProfileStore from "./AuthProfileStore.js"
import { type AppSettings, appFromEnv, ChutesOAuth, type OAuthApp } from "./ChutesOAuth.js"
import { OAuthError } from "./ChutesError.js"
import { optionalEnv } from "./ChutesSettings.js"
import { type CallbackCode, parseCallbackInput } from "./OAuthCallback.js"
import { makeAuthorizationRequest } from "./OAuthPkce.js"

// ---------------------------------------------------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------------------------------------------------

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
  /** Whether there is a user to ask (a TTY). When false, `prompt` fails with `NotInteractive` at once. */
  readonly isInteractive: boolean
  /** Asks and reads one line. Interruptible: the login races it against the browser callback. */
  readonly prompt: (message: string, options?: PromptOptions) => Effect.Effect<string, OAuthError>
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
    | ((message: string, options: PromptOptions) => Effect.Effect<string, OAuthError>)
    | undefined
  /** Receives every printed line. */
  readonly lines?: Array<string> | undefined
  /** Receives every prompt message. */
  readonly prompts?: Array<string> | undefined
  /** Default true. */
  readonly interactive?: boolean | undefined
}

const notInteractive = (detail: string): OAuthError => new OAuthError({ reason: "NotInteractive", detail })

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
          if (!interactive) return Effect.fail(notInteractive("no terminal to prompt on"))
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
   * No terminal (CI, pipes): every prompt fails with `NotInteractive`; printed lines go to `lines` when given.
   *
   * @since 0.1.0
   */
  static layerNonInteractive(lines?: Array<string>): Layer.Layer<Prompter> {
    return Prompter.layerTest({ interactive: false, lines })
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Where the callback listener binds, from a validated redirect URI.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedirectTarget {
  /** The address to bind: `127.0.0.1` (also for `localhost`) or `::1`. */
  readonly host: "127.0.0.1" | "::1"
  readonly port: number
  /** The path the callback arrives on. */
  readonly path: string
}

const redirectError = (uri: string, why: string): OAuthError =>
  new OAuthError({
    reason: "RedirectUri",
    detail: `${JSON.stringify(uri.slice(0, 200))} ${why}; the local sign-in needs http://127.0.0.1:<port>/<path> ` +
      `(or localhost, [::1]) registered on the Chutes app — or use the paste flow`
  })

/**
 * Checks that the local listener can serve `uri`: `http:`, a loopback host (`127.0.0.1`, `localhost`, `[::1]`), an
 * explicit port (1–65535) or the default 80, no credentials, no fragment.
 *
 * @since 0.1.0
 * @category environment
 */
export const validateRedirectUri = (uri: string): Either.Either<RedirectTarget, OAuthError> => {
  let url: URL
  try {
    url = new URL(uri.trim())
  } catch {
    return Either.left(redirectError(uri, "is not a URL"))
  }
  if (url.protocol !== "http:") return Either.left(redirectError(uri, `uses ${url.protocol} instead of http:`))
  if (url.username !== "" || url.password !== "") return Either.left(redirectError(uri, "contains credentials"))
  if (url.hash !== "") return Either.left(redirectError(uri, "has a fragment"))
  const host = url.hostname === "127.0.0.1" || url.hostname === "localhost"
    ? "127.0.0.1"
    : url.hostname === "[::1]"
    ? "::1"
    : undefined
  if (host === undefined) return Either.left(redirectError(uri, `has host ${url.hostname}, which is not loopback`))
  const port = url.port === "" ? 80 : Number(url.port)
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Either.left(redirectError(uri, "has no usable port"))
  return Either.right({ host, port, path: url.pathname })
}

const REMOTE_MARKERS: ReadonlyArray<string> = [
  "SSH_CLIENT",
  "SSH_TTY",
  "SSH_CONNECTION",
  "REMOTE_CONTAINERS",
  "CODESPACES"
]

/**
 * Whether a local browser is unlikely to reach this machine's loopback: an SSH session, a remote container or
 * Codespaces, or Linux without `DISPLAY` / `WAYLAND_DISPLAY` outside WSL (`WSL_DISTRO_NAME`, or `procVersion` — the
 * text of `/proc/version` — mentioning Microsoft / WSL). Empty values count as unset.
 *
 * @since 0.1.0
 * @category environment
 */
export const isRemoteEnvironment = (
  env: Readonly<Record<string, string | undefined>>,
  platform: string,
  procVersion?: string | undefined
): boolean => {
  const set = (name: string): boolean => (env[name] ?? "").trim().length > 0
  if (REMOTE_MARKERS.some(set)) return true
  if (platform !== "linux") return false
  const wsl = set("WSL_DISTRO_NAME") || /microsoft|wsl/i.test(procVersion ?? "")
  return !wsl && !set("DISPLAY") && !set("WAYLAND_DISPLAY")
}

/**
 * `isRemoteEnvironment` with the env read through `Config`, for a runtime that knows its `platform` and how to read
 * `/proc/version` (asked for on Linux only). The Node one is `NodeOAuthLogin.detectRemoteEnvironment`.
 *
 * @since 0.2.0
 * @category environment
 */
export const remoteEnvironment = (
  platform: string,
  readProcVersion: Effect.Effect<string | undefined>
): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const names = [...REMOTE_MARKERS, "DISPLAY", "WAYLAND_DISPLAY", "WSL_DISTRO_NAME"]
    const env: Record<string, string | undefined> = {}
    for (const name of names) {
      env[name] = Option.getOrUndefined(yield* Effect.orDie(optionalEnv(name)))
    }
    const procVersion = platform === "linux" ? yield* readProcVersion : undefined
    return isRemoteEnvironment(env, platform, procVersion)
  })

// ---------------------------------------------------------------------------------------------------------------------
// The callback listener
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A running callback listener.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallbackListener {
  /** The bound address (`127.0.0.1` or `::1`). */
  readonly host: string
  readonly port: number
  /** Waits for a callback with a code and the right state; fails on `error=` (`Denied`). */
  readonly waitForCode: Effect.Effect<CallbackCode, OAuthError>
  /** Stops listening and drops open connections. Idempotent; also run when the scope closes. */
  readonly close: Effect.Effect<void>
}

/**
 * The title of the page shown after a successful callback.
 *
 * @since 0.1.0
 * @category listener
 */
export const SUCCESS_TITLE = "Signed in to Chutes — you can close this window"

/**
 * How long closing the listener lets answers in flight finish (the browser's page is a few hundred bytes on loopback)
 * before every connection is dropped.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_CLOSE_GRACE: Duration.Duration = Duration.seconds(1)

/**
 * The most connections the listener holds at once; more are dropped as they arrive. A browser opens a few.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_CONNECTIONS = 16

/**
 * Options of `callbackListener`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenerOptions {
  /** How long a close lets answers in flight finish before it drops every connection. Default 1 s. */
  readonly closeGrace?: Duration.DurationInput | undefined
  /** The most connections held at once; more are dropped as they arrive. Default 16. */
  readonly maxConnections?: number | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface CallbackServerService {
  /**
   * Whether a browser on the user's machine is unlikely to reach this machine's loopback (SSH, a remote container,
   * no display): then `login` goes straight to the paste flow.
   */
  readonly isRemote: Effect.Effect<boolean>
  /**
   * Listens on `target` (already validated) for the redirect carrying `expectedState`, with the contract of
   * `callbackListener`; a taken port fails with `PortInUse`. Closes when the scope closes.
   */
  readonly listen: (
    target: RedirectTarget,
    expectedState: string,
    options: ListenerOptions
  ) => Effect.Effect<CallbackListener, OAuthError, Scope.Scope>
}

/**
 * The loopback server the local sign-in's callback listener runs on. The Node one is
 * `NodeOAuthLogin.layerCallbackServer` (in `effect-chutes/node`).
 *
 * @since 0.2.0
 * @category tags
 */
export class CallbackServer
  extends Context.Tag("effect-chutes/CallbackServer")<CallbackServer, CallbackServerService>()
{
  /**
   * No loopback server (a browser tab, an edge worker): the login always uses the paste flow, and `listen` fails with
   * `PortInUse`, which the local flow also turns into the paste flow.
   *
   * @since 0.2.0
   */
  static readonly layerNone: Layer.Layer<CallbackServer> = Layer.succeed(CallbackServer, {
    isRemote: Effect.succeed(true),
    listen: (target) =>
      Effect.fail(
        new OAuthError({
          reason: "PortInUse",
          detail: `cannot listen on ${target.host} port ${target.port} (no loopback server in this runtime)`
        })
      )
  })
}

/**
 * Listens for the OAuth redirect on the redirect URI's loopback address and port — nowhere else — through the
 * `CallbackServer`. Per request: another path -> 404; a method other than GET -> 405; `error=` with the right state ->
 * an error page and `Denied`; no code, or a missing / wrong state -> 400 and it keeps waiting; a good callback -> a
 * small "you can close this window" page (`SUCCESS_TITLE`), then the listener closes (a later request finds nothing
 * listening). A taken port fails with `PortInUse`; a redirect URI the listener cannot serve with `RedirectUri`, before
 * anything listens.
 *
 * Closing takes at most the grace period: answers in flight get that long to finish, then every connection is
 * dropped, so no local process can keep the listener (and the sign-in) open. At most `maxConnections` connections are
 * held at once, and one without traffic for a while is dropped.
 *
 * @since 0.1.0
 * @category listener
 */
export const callbackListener = (
  redirectUri: string,
  expectedState: string,
  options: ListenerOptions = {}
): Effect.Effect<CallbackListener, OAuthError, Scope.Scope | CallbackServer> =>
  Effect.flatMap(
    validateRedirectUri(redirectUri),
    (target) => Effect.flatMap(CallbackServer, (server) => server.listen(target, expectedState, options))
  )

// ---------------------------------------------------------------------------------------------------------------------
// The login
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Options of `login`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoginOptions {
  /**
   * The app; default: `ChutesOAuth.appFromEnv`. A missing client id is asked for, then a missing client secret (hidden
   * input) — both before the browser opens.
   */
  readonly app?: OAuthApp | AppSettings | undefined
  /** Skip the browser and the listener: print the URL and read the pasted redirect URL. */
  readonly forcePaste?: boolean | undefined
  /** Override the remote / headless detection (`CallbackServer`'s `isRemote`). */
  readonly remote?: boolean | undefined
  /** How long the listener waits for the browser before only the paste prompt is left. Default 3 minutes. */
  readonly callbackWait?: Duration.DurationInput | undefined
  /** How many answers a prompt accepts before giving up. Default 3. */
  readonly maxAttempts?: number | undefined
}

/**
 * The default wait for the browser callback.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_CALLBACK_WAIT: Duration.Duration = Duration.minutes(3)

/**
 * The detail of the `NotInteractive` failure: the non-interactive alternatives.
 *
 * @since 0.1.0
 * @category constants
 */
export const NOT_INTERACTIVE_DETAIL = "there is no terminal to prompt on. Without one, use an API key " +
  "(\"--auth-choice chutes-api-key\" with CHUTES_API_KEY) or set CHUTES_OAUTH_TOKEN to an access token"

/**
 * What `NOT_INTERACTIVE_DETAIL` adds when the app settings are incomplete: the variables that would otherwise be asked
 * for (`CHUTES_CLIENT_ID`, `CHUTES_CLIENT_SECRET`), named so that the next attempt has them.
 */
const missingAppVariables = (
  missing: { readonly clientId: boolean; readonly clientSecret: boolean }
): string => {
  const names = [
    ...(missing.clientId ? ["CHUTES_CLIENT_ID"] : []),
    ...(missing.clientSecret ? ["CHUTES_CLIENT_SECRET"] : [])
  ]
  return names.length === 0 ? "" : `; OAuth also needs ${names.join(" and ")} (the ${
    missing.clientId && missing.clientSecret ? "id and secret" : missing.clientId ? "id" : "secret"
  } of your Chutes OAuth app)`
}

const CLIENT_ID_SHAPE = /^cid_\S+$/

const askClientId = (prompter: PrompterService, attempts: number): Effect.Effect<string, OAuthError> =>
  Effect.gen(function*() {
    yield* prompter.print("No CHUTES_CLIENT_ID is set: enter the client id of your Chutes OAuth app.")
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const answer = (yield* prompter.prompt("Chutes OAuth client id (cid_…): ")).trim()
      if (CLIENT_ID_SHAPE.test(answer)) return answer
      yield* prompter.print(
        answer.length === 0 ? "No client id entered." : "That does not look like a client id (it starts with cid_)."
      )
    }
    return yield* new OAuthError({ reason: "ClientId", detail: `no valid client id after ${attempts} tries` })
  })

/** Asks for the client secret with hidden input. Never echoed, never printed back, not even in part. */
const askClientSecret = (
  prompter: PrompterService,
  attempts: number
): Effect.Effect<Redacted.Redacted<string>, OAuthError> =>
  Effect.gen(function*() {
    yield* prompter.print(
      "No CHUTES_CLIENT_SECRET is set: enter the client secret of your Chutes OAuth app " +
        "(it is kept with the sign-in, in the 0600 auth profile store)."
    )
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const answer = (yield* prompter.prompt("Chutes OAuth client secret (csc_…; input hidden): ", { hidden: true }))
        .trim()
      if (answer.length > 0 && !CLIENT_ID_SHAPE.test(answer)) return Redacted.make(answer)
      yield* prompter.print(
        answer.length === 0
          ? "No client secret entered."
          : "That is a client id, not the secret (the secret starts with csc_)."
      )
    }
    return yield* new OAuthError({ reason: "ClientSecret", detail: `none entered after ${attempts} tries` })
  })

/**
 * Reads pasted redirect URLs until one parses with the right state. A bad paste is explained and asked again (at
 * most `attempts` times); `Denied` ends at once.
 *
 * @since 0.1.0
 * @category login
 */
export const readPastedCallback = (
  prompter: PrompterService,
  message: string,
  expectedState: string,
  attempts = 3
): Effect.Effect<CallbackCode, OAuthError> =>
  Effect.gen(function*() {
    let last = new OAuthError({ reason: "InvalidCallback", detail: "nothing was pasted" })
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const parsed = parseCallbackInput(yield* prompter.prompt(message), expectedState)
      if (Either.isRight(parsed)) return parsed.right
      last = parsed.left
      if (last.reason === "Denied") return yield* last
      yield* prompter.print(attempt < attempts ? `${last.message} — try again.` : last.message)
    }
    return yield* last
  })

/** A code from the local flow, and the wait for its listener to finish closing. */
interface LocalCode {
  readonly code: CallbackCode
  /** Ends once the listener is closed: at most its grace period after the code came. */
  readonly listenerClosed: Effect.Effect<void>
}

const localFlow = (
  app: OAuthApp,
  url: string,
  state: string,
  wait: Duration.Duration,
  attempts: number
): Effect.Effect<LocalCode, OAuthError, BrowserOpener | Prompter | CallbackServer> =>
  Effect.gen(function*() {
    const prompter = yield* Prompter
    const opener = yield* BrowserOpener
    const target = yield* validateRedirectUri(app.redirectUri)
    const scope = yield* Scope.make()
    const closeListener = Scope.close(scope, Exit.void)
    let closing: Fiber.RuntimeFiber<void> | undefined
    const code = yield* Effect.gen(function*() {
      const listening = yield* Effect.either(Scope.extend(callbackListener(app.redirectUri, state), scope))
      if (Either.isLeft(listening)) {
        if (listening.left.reason !== "PortInUse") return yield* listening.left
        yield* Effect.logWarning(`${listening.left.message}; falling back to pasting the redirect URL`)
        yield* prompter.print(`Open this URL in your browser: ${url}`)
        yield* opener.open(url)
        yield* prompter.print(
          `Port ${target.port} is in use, so the browser cannot hand the sign-in back by itself. After approving, ` +
            `copy the full URL of the page you land on (it may show an error) and paste it here.`
        )
        return yield* readPastedCallback(prompter, "Paste the redirect URL: ", state, attempts)
      }
      const listener = listening.right
      yield* prompter.print(`Open this URL in your browser: ${url}`)
      yield* opener.open(url)
      const fromBrowser = listener.waitForCode.pipe(
        Effect.timeoutOption(wait),
        Effect.flatMap(Option.match({
          onSome: Effect.succeed,
          onNone: () =>
            Scope.close(scope, Exit.void).pipe(
              Effect.zipRight(prompter.print(
                `No browser callback after ${Duration.format(wait)}; stopped listening. ` +
                  `Paste the redirect URL from your browser's address bar.`
              )),
              Effect.zipRight(Effect.never)
            )
        }))
      )
      const fromPaste = readPastedCallback(
        prompter,
        "Paste the redirect URL (or wait for the browser): ",
        state,
        attempts
      )
      return yield* Effect.raceFirst(fromBrowser, fromPaste)
    }).pipe(
      // With a code in hand the listener closes in the background while the code is exchanged (the exchange must
      // not wait for a client that holds a connection); without one, the flow ends once it is closed.
      Effect.onExit((exit) =>
        Exit.isSuccess(exit)
          ? Effect.map(Effect.forkDaemon(closeListener), (fiber) => void (closing = fiber))
          : closeListener
      )
    )
    const listenerClosed = closing === undefined ? Effect.void : Fiber.join(closing)
    return { code, listenerClosed }
  })

const pasteFlow = (
  app: OAuthApp,
  url: string,
  state: string,
  attempts: number
): Effect.Effect<CallbackCode, OAuthError, Prompter> =>
  Effect.gen(function*() {
    const prompter = yield* Prompter
    yield* prompter.print(`Open this URL in your LOCAL browser: ${url}`)
    yield* prompter.print(
      `After approving, the browser goes to ${app.redirectUri}?code=…; that page may fail to load. ` +
        `Copy its full URL from the address bar.`
    )
    return yield* readPastedCallback(prompter, "Paste the redirect URL: ", state, attempts)
  })

/**
 * Signs in interactively and returns the profile to store (storing is the caller's job); the profile keeps the client
 * id and secret, the pair a later refresh needs.
 *
 * Without a TTY it fails at once with `NotInteractive`, naming the alternatives and any of `CHUTES_CLIENT_ID` /
 * `CHUTES_CLIENT_SECRET` that is missing. A missing client id is asked for, then a missing client secret (hidden
 * input), before the browser opens.
 * Locally it starts the callback listener, then prints and opens the authorize URL, and takes whichever comes first:
 * the browser's callback or a pasted redirect URL; after `callbackWait` (3 minutes) without a callback, or when the
 * port is taken, only the paste prompt is left. Remote / headless (or `forcePaste`), it prints the URL for a local
 * browser and reads the pasted redirect URL. Then it exchanges the code (`ChutesOAuth.completeLogin`) and returns the
 * profile to store (`AuthProfileStore.fromSignIn`); storing it is the caller's job.
 *
 * @since 0.1.0
 * @category login
 */
export const login: (
  options?: LoginOptions
) => Effect.Effect<
  AuthProfileStore.SignInProfile,
  OAuthError,
  ChutesOAuth | BrowserOpener | Prompter | CallbackServer
> = Effect.fn("OAuthLogin.login")(
  function*(options: LoginOptions = {}) {
    const prompter = yield* Prompter
    const oauth = yield* ChutesOAuth
    const settings = options.app ?? (yield* appFromEnv)
    const rawClientId: string | Option.Option<string> = settings.clientId
    const knownClientId = typeof rawClientId === "string"
      ? (rawClientId.trim().length > 0 ? rawClientId.trim() : undefined)
      : Option.getOrUndefined(rawClientId)
    const knownSecret = settings.clientSecret !== undefined && Redacted.value(settings.clientSecret).trim().length > 0
      ? settings.clientSecret
      : undefined
    if (!prompter.isInteractive) {
      const missing = missingAppVariables({
        clientId: knownClientId === undefined,
        clientSecret: knownSecret === undefined
      })
      return yield* notInteractive(`${NOT_INTERACTIVE_DETAIL}${missing}`)
    }
    const attempts = Math.max(1, Math.floor(options.maxAttempts ?? 3))
    // Both before the browser opens: the IdP checks the secret at the code exchange, after the whole round trip.
    const clientId = knownClientId ?? (yield* askClientId(prompter, attempts))
    const clientSecret = knownSecret ?? (yield* askClientSecret(prompter, attempts))
    const app: OAuthApp = {
      clientId,
      clientSecret,
      redirectUri: settings.redirectUri,
      scopes: settings.scopes
    }
    const remote = options.forcePaste === true ||
      (options.remote ?? (yield* Effect.flatMap(CallbackServer, (server) => server.isRemote)))
    const request = yield* makeAuthorizationRequest
    const url = oauth.authorizeUrl(app, request)
    const wait = Duration.decode(options.callbackWait ?? DEFAULT_CALLBACK_WAIT)
    const { code, listenerClosed } = remote
      ? { code: yield* pasteFlow(app, url, request.state, attempts), listenerClosed: Effect.void }
      : yield* localFlow(app, url, request.state, wait, attempts)
    // The exchange starts at once; the login ends once the listener is closed too (its grace period at most).
    return yield* prompter.print("Authorization received; exchanging it for tokens…").pipe(
      Effect.zipRight(oauth.completeLogin({ app, code: code.code, verifier: request.verifier })),
      Effect.map(AuthProfileStore.fromSignIn),
      Effect.ensuring(listenerClosed)
    )
  }
)
