/**
 * The auth of the provider's `HttpClient`, in one place: a fresh bearer on every request and, on a 401 for an OAuth
 * token from a stored profile, one forced refresh (`ChutesCredentials.Service.forceRefresh`: single-flight, the
 * store's cross-process rules) and one retry. API keys and tokens given in code or env are not retried: nothing could
 * make them valid. Responses and errors come back with the bearer masked (see `./http.ts`).
 *
 * The credential an answer was sent with is kept next to the response (`authorizationOf`), so a caller can say which
 * credential a 401 or 403 refers to without reading the credential a second time.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as ChutesCredentials from "../ChutesCredentials.js"
import { CredentialsError } from "../ChutesError.js"
import { sameBody } from "./cappedBody.js"
import { maskAuthorization, maskError, maskResponse } from "./http.js"
import { NOT_SENT } from "./notSent.js"
import { withoutSecrets } from "./redact.js"

/** What a response was sent with: what an error message needs, and the secret only as `Redacted`. */
export interface Authorization {
  readonly kind: ChutesCredentials.Credential["kind"]
  /** `ChutesCredentials.label`: kind, last four characters, source. */
  readonly label: string
  /** The request was sent again with a force-refreshed credential after a 401. */
  readonly refreshed: boolean
  /** The stored profile of the credential, if it came from one. */
  readonly profileId: string | undefined
  /** The secret sent, to cut an echo of it out of an error body (see {@link withoutCredential}). */
  readonly secret: Redacted.Redacted<string>
}

const sentWith = new WeakMap<HttpClientResponse.HttpClientResponse, Authorization>()

/** The credential a response of the provider's client was sent with. */
export const authorizationOf = (response: HttpClientResponse.HttpClientResponse): Authorization | undefined =>
  sentWith.get(response)

/**
 * `text` (a body of `response`, or an excerpt of one) without the secret the request was sent with. A server may echo
 * the credential in an error body, and `scrub` only knows the shapes of Chutes keys and tokens: a key of any other
 * shape (the SDK warns, but sends it) would otherwise reach the error.
 */
export const withoutCredential = (text: string, response: HttpClientResponse.HttpClientResponse): string => {
  const sent = sentWith.get(response)
  return sent === undefined ? text : withoutSecrets(text, [Redacted.value(sent.secret)])
}

/** What a credential's answers were sent with, made once per credential (it is immutable): for each, a new one. */
const authorizations = new WeakMap<ChutesCredentials.Credential, Authorization>()

const authorization = (credential: ChutesCredentials.Credential, refreshed: boolean): Authorization => {
  const known = refreshed ? undefined : authorizations.get(credential)
  if (known !== undefined) return known
  const made: Authorization = {
    kind: credential.kind,
    label: ChutesCredentials.label(credential),
    refreshed,
    profileId: credential.profileId,
    secret: credential.secret
  }
  if (!refreshed) authorizations.set(credential, made)
  return made
}

/** Credentials found sendable, so that the check runs once per credential, not on every request. */
const sendableOnes = new WeakSet<ChutesCredentials.Credential>()

/** Whether `error` is {@link unsendable}'s: refused here, never by the service. */
export const isNotSent = (error: CredentialsError): boolean => error.reason === "Rejected" && error.detail === NOT_SENT

/**
 * Why the credential cannot be sent, or `undefined` when an HTTP header can carry it: visible ASCII, no spaces (an API
 * key pasted with a control character, a token from a hand-edited store). Any other would fail in the transport as a
 * connection error — retried, and its tail quoted by `fetch` — so it is a typed error, and nothing is sent.
 */
export const unsendable = (credential: ChutesCredentials.Credential): CredentialsError | undefined => {
  if (sendableOnes.has(credential)) return undefined
  const { profileId, secret, source } = credential
  if (!/^[\x21-\x7e]+$/.test(Redacted.value(secret))) {
    return new CredentialsError({ reason: "Rejected", source, profileId, detail: NOT_SENT })
  }
  sendableOnes.add(credential)
  return undefined
}

/** The credential read, when it can be sent ({@link unsendable}). */
export const sendable = (
  credential: Option.Option<ChutesCredentials.Credential>
): Either.Either<Option.Option<ChutesCredentials.Credential>, CredentialsError> => {
  const refused = Option.isSome(credential) ? unsendable(credential.value) : undefined
  return refused === undefined ? Either.right(credential) : Either.left(refused)
}

/** Only an OAuth token of a stored profile has a refresh token behind it. */
const refreshable = (credential: ChutesCredentials.Credential): boolean =>
  credential.kind === "oauth" && credential.profileId !== undefined

/** The rejected answer is not read: a few chunks are let through, then the body is cancelled. */
const discard = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  response.stream.pipe(Stream.take(16), Stream.runDrain, Effect.ignore)

/**
 * The provider's client: `transport` (the app's `HttpClient`, without trace propagation) with relative URLs against
 * `baseUrl` and the credentials of `credentials`.
 */
export const client = (options: {
  readonly transport: HttpClient.HttpClient
  readonly baseUrl: string
  readonly credentials: ChutesCredentials.Service
}): HttpClient.HttpClient.With<HttpClientError.HttpClientError | CredentialsError> => {
  const { credentials, transport } = options
  // `ChutesCredentials.current` over these credentials, without providing the service on every request.
  const current = Effect.flatMap(credentials.get, (credential) => {
    if (Option.isNone(credential)) return Effect.fail(new CredentialsError({ reason: "Missing" }))
    const refused = unsendable(credential.value)
    return refused === undefined ? Effect.succeed(credential.value) : Effect.fail(refused)
  })

  const send = (
    request: HttpClientRequest.HttpClientRequest,
    credential: ChutesCredentials.Credential,
    refreshed: boolean
  ) => {
    const withBearer = HttpClientRequest.bearerToken(request, credential.secret)
    const masked = maskAuthorization(withBearer)
    return transport.execute(withBearer).pipe(
      Effect.map((response) => {
        const safe = maskResponse(response, masked)
        // The masked view shows the same body: ./cappedBody.ts may read it from beneath the view.
        sameBody(safe, response)
        sentWith.set(safe, authorization(credential, refreshed))
        return safe
      }),
      Effect.mapError((error) => maskError(error, masked))
    )
  }

  const authorized = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.gen(function*() {
      const credential = yield* current
      const response = yield* send(request, credential, false)
      if (response.status !== 401 || !refreshable(credential)) return response
      // A refresh that fails is the answer: its typed error says whether to sign in again or to retry later.
      const refreshed = yield* credentials.forceRefresh(credential).pipe(Effect.tapError(() => discard(response)))
      if (Option.isNone(refreshed)) return response
      yield* discard(response)
      return yield* send(request, refreshed.value, true)
    })

  // Relative URLs first; the bearer is set inside, per attempt, so a retry carries the refreshed credential.
  return HttpClient.makeWith<never, never, HttpClientError.HttpClientError | CredentialsError, never>(
    (request) => Effect.flatMap(request, authorized),
    (request) => Effect.succeed(HttpClientRequest.prependUrl(request, options.baseUrl))
  )
}
