/**
 * The callback of "Sign in with Chutes": the query the browser brings back to the redirect URI, or what a user pasted
 * (a full redirect URL or its query). Pure: it checks the `state` (in constant time, `OAuthPkce.safeEqual`) before it
 * believes an `error=`, refuses a bare code, and never puts the code in an error.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { OAuthError } from "./ChutesError.js"
import { excerpt, oauthErrorCode } from "./internal/redact.js"
import { safeEqual } from "./OAuthPkce.js"

/**
 * The authorization code taken from a callback whose state matched.
 *
 * @since 0.2.0
 * @category models
 */
export interface CallbackCode {
  readonly code: Redacted.Redacted<string>
}

/**
 * The detail given when a bare code is pasted.
 *
 * @since 0.2.0
 * @category callback
 */
export const BARE_CODE_DETAIL = "paste the full redirect URL (it must include code and state)"

const invalidCallback = (detail: string): OAuthError => new OAuthError({ reason: "InvalidCallback", detail })

/**
 * The longest callback text taken (characters): a pasted redirect URL, or a callback's code. Chutes' codes are tens of
 * characters and its redirect URLs a few hundred.
 *
 * @since 0.3.0
 * @category callback
 */
export const MAX_CALLBACK_LENGTH = 8 * 1024

type Single = { readonly _tag: "None" } | { readonly _tag: "One"; readonly value: string } | { readonly _tag: "Many" }

const single = (params: URLSearchParams, name: string): Single => {
  const values = params.getAll(name).filter((value) => value.length > 0)
  const [first] = values
  if (first === undefined) return { _tag: "None" }
  return values.length === 1 ? { _tag: "One", value: first } : { _tag: "Many" }
}

/**
 * Checks the query of a callback against the expected state. The state is checked before an `error=` is believed, so
 * a forged request cannot end a sign-in; the code never appears in an error.
 *
 * @since 0.2.0
 * @category callback
 */
export const parseCallbackParams = (
  params: URLSearchParams,
  expectedState: string
): Either.Either<CallbackCode, OAuthError> => {
  const state = single(params, "state")
  const error = single(params, "error")
  const code = single(params, "code")
  if (state._tag === "Many" || error._tag === "Many" || code._tag === "Many") {
    return Either.left(invalidCallback("the redirect carries a parameter more than once"))
  }
  const stateMatches = state._tag === "One" && safeEqual(state.value, expectedState)
  if (error._tag === "One") {
    if (!stateMatches) {
      return Either.left(
        new OAuthError({
          reason: "StateMismatch",
          error: oauthErrorCode(error.value),
          detail: `the redirect reports an error but its state is ${state._tag === "None" ? "missing" : "wrong"}`
        })
      )
    }
    const description = params.get("error_description")
    return Either.left(
      new OAuthError({
        reason: "Denied",
        error: oauthErrorCode(error.value),
        ...(description !== null && description.trim().length > 0 ? { detail: excerpt(description, 200) } : {})
      })
    )
  }
  if (code._tag === "None") return Either.left(invalidCallback("the redirect has no code parameter"))
  if (state._tag === "None") {
    return Either.left(new OAuthError({ reason: "StateMismatch", detail: "the state parameter is missing" }))
  }
  if (!stateMatches) {
    return Either.left(new OAuthError({ reason: "StateMismatch", detail: "the state parameter is not this sign-in's" }))
  }
  // The code goes into the token request's form: visible ASCII (RFC 6749's VSCHAR), and short.
  if (code.value.length > MAX_CALLBACK_LENGTH || !/^[\x20-\x7e]+$/.test(code.value)) {
    return Either.left(invalidCallback("the code parameter is not an authorization code (too long, or control characters)"))
  }
  return Either.right({ code: Redacted.make(code.value) })
}

/**
 * Parses what a user pasted: a full redirect URL, its query (`?code=…&state=…` or `code=…&state=…`), or a URL
 * without its scheme (`127.0.0.1:1456/oauth-callback?code=…`). Surrounding whitespace is ignored. A bare code is
 * refused: without the state the CSRF check could not run.
 *
 * @since 0.2.0
 * @category callback
 */
export const parseCallbackInput = (input: string, expectedState: string): Either.Either<CallbackCode, OAuthError> => {
  const text = input.trim()
  if (text.length === 0) return Either.left(invalidCallback(`nothing was pasted; ${BARE_CODE_DETAIL}`))
  if (text.length > MAX_CALLBACK_LENGTH) {
    return Either.left(invalidCallback(`what was pasted is over ${MAX_CALLBACK_LENGTH} characters; ${BARE_CODE_DETAIL}`))
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return Either.left(invalidCallback(`that is not a valid URL; ${BARE_CODE_DETAIL}`))
    }
    return parseCallbackParams(url.searchParams, expectedState)
  }
  const withoutFragment = text.split("#")[0] ?? ""
  const question = withoutFragment.indexOf("?")
  if (question >= 0) return parseCallbackParams(new URLSearchParams(withoutFragment.slice(question + 1)), expectedState)
  if (withoutFragment.includes("=")) return parseCallbackParams(new URLSearchParams(withoutFragment), expectedState)
  return Either.left(invalidCallback(BARE_CODE_DETAIL))
}

