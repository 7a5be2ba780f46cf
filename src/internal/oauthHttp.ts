/**
 * One request to the IdP, the way `ChutesOAuth` sends them all: the body read through a byte cap, a deadline, platform
 * errors turned into `OAuthError`, a non-2xx answer turned into a scrubbed `Exchange` error, and the secrets a request
 * carried cut out of whatever error comes back. No retries anywhere: codes and refresh tokens are single-use.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { OAuthError } from "../ChutesError.js"
import * as CappedBody from "./cappedBody.js"
import { decodeErrorBody } from "./oauthTokens.js"
import { errorDetail, excerpt, oauthErrorCode, transportDetail, withoutSecrets } from "./redact.js"

/** The form fields that carry secrets. */
const SECRET_FIELDS: ReadonlyArray<string> = ["client_secret", "code", "code_verifier", "refresh_token", "token"]

/** The secret values a form carries. */
export const secretsOf = (fields: Readonly<Record<string, string>>): ReadonlyArray<string> =>
  SECRET_FIELDS.flatMap((name) => fields[name] ?? [])

/**
 * The same error with `secrets` cut out of its texts (`withoutSecrets`: whole values and pieces of them): the last
 * step of every IdP call, so that no echo of what the call sent reaches an error, a log line or a span.
 */
export const withoutKnownSecrets = (secrets: ReadonlyArray<string>) => (error: OAuthError): OAuthError => {
  const code = error.error !== undefined ? withoutSecrets(error.error, secrets) : undefined
  const detail = error.detail !== undefined ? withoutSecrets(error.detail, secrets) : undefined
  if (code === error.error && detail === error.detail) return error
  return new OAuthError({
    reason: error.reason,
    ...(error.status !== undefined ? { status: error.status } : {}),
    ...(code !== undefined ? { error: code } : {}),
    ...(detail !== undefined ? { detail } : {})
  })
}

/** Options of `refusal`. */
export interface RefusalOptions {
  /** The client id the request was sent as: named when the IdP refuses the client. */
  readonly clientId?: string | undefined
  /**
   * The secrets the request carried (client secret, code, verifier, tokens). An IdP may echo them; they are cut out of
   * the error even when no pattern of a known token shape would catch them.
   */
  readonly secrets?: ReadonlyArray<string> | undefined
}

/**
 * The error for a non-2xx IdP answer: the OAuth `error` code, the status, and a scrubbed, capped excerpt of the
 * `error_description` (or of the body when there is no error code). `invalid_client` says that the client id or
 * secret is wrong, naming the id and the variables to check. The `secrets` given are cut out of the error code, the
 * description and the body, whole and in pieces.
 */
export const refusal = (status: number, body: string, options: RefusalOptions = {}): OAuthError => {
  const secrets = options.secrets ?? []
  const parsed = decodeErrorBody(body)
  const code = parsed.error !== undefined ? oauthErrorCode(withoutSecrets(parsed.error, secrets)) : undefined
  const description = parsed.error_description === undefined
    ? undefined
    : excerpt(withoutSecrets(parsed.error_description, secrets), 200)
  const detail = code === "invalid_client"
    ? `the client id or client secret is wrong: ${
      options.clientId !== undefined ? `client ${excerpt(options.clientId, 80)}` : "the client"
    } and the secret sent are not the id and current secret of one Chutes app (check CHUTES_CLIENT_ID and ` +
      `CHUTES_CLIENT_SECRET)${description !== undefined ? `; the IdP says: ${description}` : ""}`
    : description !== undefined
    ? description
    : code === undefined
    ? `HTTP ${status}${body.trim().length > 0 ? `: ${errorDetail(withoutSecrets(body, secrets)) ?? ""}` : ""}`
    : undefined
  return withoutKnownSecrets(secrets)(
    new OAuthError({
      reason: "Exchange",
      status,
      ...(code !== undefined ? { error: code } : {}),
      ...(detail !== undefined ? { detail } : {})
    })
  )
}

/** `n` bytes as the cap is shown: `2 MiB`, `64 KiB`, `1500 bytes`. */
const formatBytes = (n: number): string =>
  n >= 1024 * 1024 && n % (1024 * 1024) === 0
    ? `${n / (1024 * 1024)} MiB`
    : n >= 1024 && n % 1024 === 0
    ? `${n / 1024} KiB`
    : `${n} bytes`

/** The body of an answer as text through the cap (internal/cappedBody.ts); no body at all (a 204 to a revoke) is "". */
const readWithin = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number,
  tooLarge: () => OAuthError
): Effect.Effect<string, OAuthError | HttpClientError.ResponseError> =>
  CappedBody.readText(response, maxBytes, tooLarge).pipe(
    Effect.catchIf(
      (error): error is HttpClientError.ResponseError => error._tag === "ResponseError" && error.reason === "EmptyBody",
      () => Effect.succeed("")
    )
  )

/**
 * Runs a request of the IdP with redirects left unfollowed: a 3xx is an answer like any other non-2xx, refused (tokens
 * and user names come from the IdP itself, never from where it points). The platform's undici client does not follow
 * them; `fetch` does unless told (`FetchHttpClient.RequestInit`, merged into the app's own).
 */
const notFollowingRedirects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(FetchHttpClient.RequestInit), (init) =>
    Effect.provideService(effect, FetchHttpClient.RequestInit, {
      ...Option.getOrUndefined(init),
      redirect: "manual"
    }))

/** An answer of the IdP: its status and its body, read through the cap. */
export interface Answer {
  readonly status: number
  readonly body: string
}

/**
 * Sends one request and reads its answer through the cap of `maxBytes`, within `timeout` (the body included).
 * `what` names the call in errors ("code exchange", "userinfo", …). Any status comes back; `answerOk` refuses non-2xx.
 */
export const makeSend = (client: HttpClient.HttpClient, options: {
  readonly timeout: Duration.Duration
  readonly maxBytes: number
}) =>
(request: HttpClientRequest.HttpClientRequest, what: string): Effect.Effect<Answer, OAuthError> =>
  Effect.gen(function*() {
    const response = yield* notFollowingRedirects(client.execute(request))
    const tooLarge = () =>
      new OAuthError({
        reason: "InvalidTokenResponse",
        status: response.status,
        detail: `${what}: the answer is larger than the cap of ${
          formatBytes(options.maxBytes)
        } (HTTP ${response.status})`
      })
    const body = yield* readWithin(response, options.maxBytes, tooLarge)
    return { status: response.status, body }
  }).pipe(
    Effect.catchTags({
      RequestError: (error) =>
        Effect.fail(new OAuthError({ reason: "Transport", detail: `${what}: ${transportDetail(error)}` })),
      ResponseError: (error) =>
        Effect.fail(new OAuthError({ reason: "Transport", detail: `${what}: ${transportDetail(error)}` }))
    }),
    Effect.timeoutFail({
      duration: options.timeout,
      onTimeout: () =>
        new OAuthError({ reason: "Timeout", detail: `${what}: no answer within ${Duration.format(options.timeout)}` })
    })
  )

/** The answer when it is a 2xx; else the `refusal` for it. */
export const answerOk = (answer: Answer, options: RefusalOptions = {}): Effect.Effect<string, OAuthError> =>
  answer.status >= 200 && answer.status < 300
    ? Effect.succeed(answer.body)
    : Effect.fail(refusal(answer.status, answer.body, options))
