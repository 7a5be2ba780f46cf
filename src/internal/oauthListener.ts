/**
 * Where and how the local sign-in listens for the browser's redirect: the redirect URI checked for the loopback
 * listener, the remote / headless detection, and the `CallbackServer` service with its contract (`callbackListener`).
 * The Node server is `NodeOAuthLogin.layerCallbackServer` (in `effect-chutes/node`); re-exported by `OAuthLogin`.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { OAuthError } from "../ChutesError.js"
import { optionalEnv } from "../ChutesSettings.js"
import type { CallbackCode } from "../OAuthCallback.js"

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
  /**
   * The longest a connection may take to send a whole request, headers and body (a browser sends its callback at
   * once); a connection over it is dropped, so one that trickles bytes cannot hold the listener. Default 10 s.
   */
  readonly requestTimeout?: Duration.DurationInput | undefined
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
