/**
 * Interactive "Sign in with Chutes": the local browser flow with a loopback callback listener, and the
 * paste flow for remote / headless machines.
 *
 * The terminal, the browser and the loopback server are services (`Prompter`, `BrowserOpener`, `CallbackServer`) so
 * apps and tests swap them; they are defined apart (`internal/oauthTerminal.ts`, `internal/oauthListener.ts`) and
 * re-exported here. The Node ones are in `effect-chutes/node` (`NodeOAuthLogin`), and this module imports no Node
 * built-in. The protocol is `ChutesOAuth`. A prompt fails with `PromptError`; the login turns that into `OAuthError`
 * `NotInteractive`, the one error of a sign-in.
 *
 * Faults of OpenClaw's flow that are NOT copied: the listener starts before the browser opens and is bound to the
 * loopback address only; a pasted bare code is refused (no CSRF check without the state); a wrong state never
 * completes the flow; without a TTY the login fails at once instead of hanging on a prompt. The listener always
 * closes: answers in flight get a short grace period, then every connection is dropped, and the code is exchanged
 * without waiting for that.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as AuthProfileStore from "./AuthProfileStore.js"
import { type AppSettings, appFromEnv, ChutesOAuth, type OAuthApp } from "./ChutesOAuth.js"
import { OAuthError, type PromptError } from "./ChutesError.js"
import { callbackListener, CallbackServer, validateRedirectUri } from "./internal/oauthListener.js"
import { BrowserOpener, type PromptOptions, Prompter, type PrompterService } from "./internal/oauthTerminal.js"
import { type CallbackCode, parseCallbackInput } from "./OAuthCallback.js"
import { makeAuthorizationRequest } from "./OAuthPkce.js"

/**
 * The terminal and the browser: `Prompter` (its `prompt` fails with `PromptError`) and `BrowserOpener`, each with a
 * `layerTest`.
 *
 * @since 0.1.0
 */
export {
  BrowserOpener,
  type BrowserOpenerService,
  type PromptOptions,
  Prompter,
  type PrompterService,
  type PrompterTestOptions
} from "./internal/oauthTerminal.js"
/**
 * The callback listener: the redirect URI check, the remote / headless detection, the `CallbackServer` service and
 * `callbackListener`.
 *
 * @since 0.1.0
 */
export {
  callbackListener,
  type CallbackListener,
  CallbackServer,
  type CallbackServerService,
  DEFAULT_CLOSE_GRACE,
  DEFAULT_MAX_CONNECTIONS,
  isRemoteEnvironment,
  type ListenerOptions,
  type RedirectTarget,
  remoteEnvironment,
  SUCCESS_TITLE,
  validateRedirectUri
} from "./internal/oauthListener.js"

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

/**
 * A prompt that went unanswered, as the sign-in reports it: `NotInteractive` (a sign-in needs a terminal), with why —
 * no terminal, or the input ended (Ctrl-D, a closed pipe).
 */
const promptFailed = (error: PromptError): OAuthError =>
  new OAuthError({
    reason: "NotInteractive",
    detail: error.reason === "InputEnded"
      ? `the input ended before an answer was given${error.detail !== undefined ? ` (${error.detail})` : ""}`
      : error.detail ?? "there is no terminal to prompt on"
  })

/** Asks one question of the sign-in. */
const ask = (prompter: PrompterService, message: string, options?: PromptOptions): Effect.Effect<string, OAuthError> =>
  Effect.mapError(prompter.prompt(message, options), promptFailed)

const CLIENT_ID_SHAPE = /^cid_\S+$/

const askClientId = (prompter: PrompterService, attempts: number): Effect.Effect<string, OAuthError> =>
  Effect.gen(function*() {
    yield* prompter.print("No CHUTES_CLIENT_ID is set: enter the client id of your Chutes OAuth app.")
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const answer = (yield* ask(prompter, "Chutes OAuth client id (cid_…): ")).trim()
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
      const answer = (yield* ask(prompter, "Chutes OAuth client secret (csc_…; input hidden): ", { hidden: true }))
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
 * most `attempts` times); `Denied` ends at once. A prompt that gets no answer (`PromptError`) ends it with
 * `NotInteractive`.
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
      const parsed = parseCallbackInput(yield* ask(prompter, message), expectedState)
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

/** The local flow when the callback port is taken: the browser opens, and only the paste prompt is left. */
const portTaken = (
  error: OAuthError,
  url: string,
  port: number,
  state: string,
  attempts: number
): Effect.Effect<CallbackCode, OAuthError, BrowserOpener | Prompter> =>
  Effect.gen(function*() {
    const prompter = yield* Prompter
    yield* Effect.logWarning(`${error.message}; falling back to pasting the redirect URL`)
    yield* prompter.print(`Open this URL in your browser: ${url}`)
    yield* Effect.flatMap(BrowserOpener, (opener) => opener.open(url))
    yield* prompter.print(
      `Port ${port} is in use, so the browser cannot hand the sign-in back by itself. After approving, ` +
        `copy the full URL of the page you land on (it may show an error) and paste it here.`
    )
    return yield* readPastedCallback(prompter, "Paste the redirect URL: ", state, attempts)
  })

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
        return yield* portTaken(listening.left, url, target.port, state, attempts)
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
      return yield* new OAuthError({ reason: "NotInteractive", detail: `${NOT_INTERACTIVE_DETAIL}${missing}` })
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
