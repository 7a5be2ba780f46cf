/**
 * What the callback listener answers, as an `HttpApp` on `@effect/platform`'s `HttpRouter` (any `HttpServer` can
 * serve it; the Node one is `NodeOAuthLogin.layerCallbackServer`). One route, the redirect URI's path; the pages are
 * small, static and never cached or referred on — the callback URL holds the code.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { OAuthError } from "../ChutesError.js"
import { type CallbackCode, parseCallbackParams } from "../OAuthCallback.js"
import { type RedirectTarget, SUCCESS_TITLE } from "./oauthListener.js"

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

/**
 * A page for the browser. `last`: the connection closes after it (the flow is over; nothing more is answered on it).
 */
const page = (status: number, title: string, text: string, last = false): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
      `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>\n`,
    {
      status,
      contentType: "text/html; charset=utf-8",
      headers: {
        "cache-control": "no-store",
        // The callback URL holds the code: no referrer, no sub-resources, no sniffing.
        "referrer-policy": "no-referrer",
        "content-security-policy": "default-src 'none'",
        "x-content-type-options": "nosniff",
        ...(last ? { connection: "close" } : {})
      }
    }
  )

/** The request target as a URL; `undefined` when it is none (e.g. `GET http://[`). */
const urlOf = (target: string): URL | undefined => {
  try {
    return new URL(target, "http://127.0.0.1")
  } catch {
    return undefined
  }
}

/**
 * `find-my-way` (under `HttpRouter`) matches case-insensitively and ignores trailing and repeated slashes by default;
 * the callback path is matched exactly.
 */
const EXACT = { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false } as const

/**
 * The route for the redirect path. `find-my-way` matches request paths after `decodeURI` and reads `:` (a parameter)
 * and `*` (a wildcard, which must be last) as patterns: the route is the decoded path with its colons escaped, or a
 * catch-all when the path cannot be written literally (a `*`, or an escape `decodeURI` keeps, such as `%2F`). The
 * exact comparison in the route decides either way.
 */
const routeFor = (path: string): HttpRouter.PathInput => {
  let decoded: string
  try {
    decoded = decodeURI(path)
  } catch {
    return "*"
  }
  return decoded.includes("*") || decoded.includes("%") ? "*" : decoded.replace(/:/g, "::") as HttpRouter.PathInput
}

/** Options of `make`. */
export interface Options {
  readonly target: RedirectTarget
  readonly expectedState: string
  /** Completed by the first good callback (the code) or a denial with the right state. */
  readonly result: Deferred.Deferred<CallbackCode, OAuthError>
  /** Run once the flow is over, before its page is sent and before `result` completes: stop accepting connections. */
  readonly finish: Effect.Effect<void>
}

/**
 * Per request: a target that is not a URL -> 400; another path -> 404; a method other than GET -> 405; once the flow
 * is over -> 410; `error=` with the right state -> an error page and `Denied`; no code, or a missing / wrong state ->
 * 400 and it keeps waiting; a good callback -> the `SUCCESS_TITLE` page. The query is never logged or traced here.
 */
export const make = (
  options: Options
): Effect.Effect<Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>> =>
  Effect.gen(function*() {
    const { expectedState, finish, result, target } = options
    const notFound = page(404, "Not found", "This is not the sign-in callback.")

    const callback = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const url = urlOf(request.url)
      // The router decodes percent-escapes before matching; the path the browser sent must be the redirect's exactly.
      if (url === undefined || url.pathname !== target.path) return notFound
      if (request.method !== "GET") return page(405, "Method not allowed", "The sign-in callback only accepts GET.")
      if (yield* Deferred.isDone(result)) {
        return page(410, "Sign-in already finished", "You can close this window.", true)
      }
      const parsed = parseCallbackParams(url.searchParams, expectedState)
      if (Either.isRight(parsed)) {
        yield* finish
        yield* Deferred.succeed(result, parsed.right)
        return page(200, SUCCESS_TITLE, "Return to your terminal.", true)
      }
      const error = parsed.left
      if (error.reason === "Denied") {
        yield* finish
        yield* Deferred.fail(result, error)
        return page(400, "Sign-in was not completed", `${error.message}. You can close this window.`, true)
      }
      yield* Effect.logWarning(`Ignored a sign-in callback: ${error.message}`)
      return page(400, "Sign-in callback rejected", `${error.message}. Keep the terminal waiting.`)
    })

    const routed = yield* HttpRouter.empty.pipe(
      HttpRouter.all(routeFor(target.path), callback),
      HttpRouter.toHttpApp,
      HttpRouter.withRouterConfig(EXACT)
    )

    return Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const url = urlOf(request.url)
      if (url === undefined) return page(400, "Bad request", "That is not a sign-in callback.")
      // Routed on the normalised path (an absolute-form target, dot segments), as the browser would have sent it.
      const normalised = request.modify({ url: `${url.pathname}${url.search}` })
      return yield* routed.pipe(
        Effect.provideService(HttpServerRequest.HttpServerRequest, normalised),
        Effect.catchAll(() => Effect.succeed(notFound))
      )
    })
  })
