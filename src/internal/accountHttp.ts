/**
 * The transport of `ChutesAccount`: one `GET` on the API base through the SDK's auth middleware (src/internal/auth.ts),
 * its body read through the size cap (./cappedBody.ts) within the per-request deadline, judged (401 / 403 / other
 * statuses / decode) into `AccountError`, and retried under the SDK's one retry policy (./retry.ts) when transient.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as ChutesCredentials from "../ChutesCredentials.js"
import { AccountError, type CredentialsError } from "../ChutesError.js"
import type { Settings } from "../ChutesSettings.js"
import { decodeBody } from "./accountWire.js"
import * as Auth from "./auth.js"
import * as CappedBody from "./cappedBody.js"
import { errorDetail, transportDetail } from "./redact.js"
import * as Retry from "./retry.js"

/** What an account call fails with. */
export type Failure = AccountError | CredentialsError

const retrying: Retry.Retrying<Failure> = {
  operation: "account",
  judge: (error) => ({
    retryable: error._tag === "AccountError" && error.retryable,
    retryAfterMillis: undefined,
    reason: error._tag === "AccountError"
      ? error.reason === "HttpStatus" ? `HTTP ${error.status ?? "?"}` : error.reason.toLowerCase()
      : error.reason
  })
}

const withAttempts = (error: Failure, attempts: number): Failure =>
  error._tag !== "AccountError" || attempts === 1 ? error : new AccountError({ ...error, attempts })

/** The rejected answer is not read: a few chunks are let through, then the body is cancelled. */
const discard = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  response.stream.pipe(Stream.take(16), Stream.runDrain, Effect.ignore)

/** How one route is read, when it differs from the `/users/me*` routes. */
export interface GetOptions {
  /** The body's size cap in bytes. Default: `settings.maxResponseBytes`. */
  readonly maxBytes?: number | undefined
  /**
   * A public route (`/invocations/stats/llm`): sent without a credential (it needs none, so none is exposed and none
   * is required), and a 401 / 403 is a plain `HttpStatus`.
   */
  readonly public?: boolean | undefined
}

/** `GET path` (with `query`), decoded with `schema`, under the retry policy. */
export type Get = <A, I>(
  path: string,
  schema: Schema.Schema<A, I>,
  query?: ReadonlyArray<readonly [string, string]>,
  options?: GetOptions
) => Effect.Effect<A, Failure>

/**
 * The `GET` of the account routes: `transport` (the app's `HttpClient`, trace propagation off) against
 * `settings.idpBaseUrl`, with the bearer of `credentials`.
 */
export const makeGet = (options: {
  readonly settings: Settings
  readonly credentials: ChutesCredentials.Service
  readonly transport: HttpClient.HttpClient
}): Get => {
  const { credentials, settings, transport } = options
  const api = Auth.client({ transport, baseUrl: settings.idpBaseUrl, credentials })
  const anonymous = HttpClient.mapRequest(transport, HttpClientRequest.prependUrl(settings.idpBaseUrl))
  // Only to tell a scoped API key from a rejected one after a 401 (see `unauthorized`).
  const llm = Auth.client({ transport, baseUrl: settings.baseUrl, credentials })
  const deadline = settings.requestTimeout

  const transportError = (url: string) => (error: HttpClientError.HttpClientError) =>
    new AccountError({ reason: "Transport", url, detail: transportDetail(error) })

  /**
   * A 401 on `/users/me*`: for an API key, `/v1/models` decides — accepted there means a scoped key that may not read
   * the account (`NotPermitted`), refused there (401/403) means the key is rejected. When that check itself fails in
   * passing (a 503, a 429, a timeout, no connection) nothing is known: the 401 stands as `HttpStatus`, saying so. An
   * OAuth token got its forced refresh and retry in the middleware already: it is rejected.
   */
  const unauthorized = (url: string, kind: ChutesCredentials.CredentialKind | undefined, detail: string | undefined) =>
    kind !== "api_key"
      ? Effect.fail(new AccountError({ reason: "Unauthorized", url, status: 401, credential: kind, detail }))
      : llm.execute(HttpClientRequest.get("/models")).pipe(
        Effect.tap(discard),
        Effect.timeout(deadline),
        Effect.either,
        Effect.flatMap((probe) => {
          const status = Either.isRight(probe) ? probe.right.status : undefined
          if (status !== undefined && status >= 200 && status < 300) {
            return Effect.fail(new AccountError({ reason: "NotPermitted", url, status: 401, credential: kind, detail }))
          }
          if (status === 401 || status === 403) {
            return Effect.fail(new AccountError({ reason: "Unauthorized", url, status: 401, credential: kind, detail }))
          }
          const check = status !== undefined ? `HTTP ${status}` : "no answer"
          return Effect.fail(
            new AccountError({
              reason: "HttpStatus",
              url,
              status: 401,
              credential: kind,
              detail: `${detail !== undefined ? `${detail}; ` : ""}could not tell a scoped API key from a rejected ` +
                `one: the check on ${settings.baseUrl}/models got ${check}; try again`
            })
          )
        })
      )

  const judge = <A>(
    url: string,
    response: HttpClientResponse.HttpClientResponse,
    body: string,
    decode: (body: string) => Either.Either<A, string>,
    isPublic: boolean
  ) => {
    const kind = isPublic ? undefined : Auth.authorizationOf(response)?.kind
    const status = response.status
    if (status >= 200 && status < 300) {
      return Either.match(decode(body), {
        onLeft: (detail) =>
          Effect.fail(new AccountError({ reason: "Decode", url, status, detail: Auth.withoutCredential(detail, response) })),
        onRight: Effect.succeed
      })
    }
    const text = Auth.withoutCredential(body, response)
    if (status === 401 && !isPublic) return unauthorized(url, kind, errorDetail(text))
    const detail = errorDetail(text)
    return Effect.fail(
      status === 403 && !isPublic
        ? new AccountError({ reason: "NotPermitted", url, status, credential: kind, detail })
        : new AccountError({ reason: "HttpStatus", url, status, credential: kind, detail })
    )
  }

  /** One attempt: the request, its whole body under the cap, the verdict; all within the deadline. */
  const attempt = <A>(
    request: HttpClientRequest.HttpClientRequest,
    url: string,
    decode: (body: string) => Either.Either<A, string>,
    options: GetOptions
  ) => {
    const maxBytes = options.maxBytes ?? settings.maxResponseBytes
    const isPublic = options.public === true
    return (isPublic ? anonymous : api).execute(request).pipe(
      Effect.catchTags({ RequestError: transportError(url), ResponseError: transportError(url) }),
      Effect.flatMap((response) =>
        CappedBody.readText(response, maxBytes, (overflow) =>
          new AccountError({
            reason: "TooLarge",
            url,
            status: response.status,
            detail: CappedBody.overflowDetail(overflow, maxBytes)
          })).pipe(
            Effect.catchTag("ResponseError", transportError(url)),
            Effect.flatMap((body) => judge(url, response, body, decode, isPublic))
          )
      ),
      Effect.timeoutFail({
        duration: deadline,
        onTimeout: () =>
          new AccountError({ reason: "Timeout", url, detail: `no complete answer within ${Duration.format(deadline)}` })
      })
    )
  }

  /** `GET path` (with `query`), decoded with `schema`, under the retry policy. */
  const get = <A, I>(
    path: string,
    schema: Schema.Schema<A, I>,
    query: ReadonlyArray<readonly [string, string]> = [],
    options: GetOptions = {}
  ): Effect.Effect<A, Failure> => {
    const search = query.length === 0 ? "" : `?${new URLSearchParams(query.map(([k, v]) => [k, v])).toString()}`
    const url = `${settings.idpBaseUrl}${path}${search}`
    const request = HttpClientRequest.get(`${path}${search}`).pipe(HttpClientRequest.acceptJson)
    const decode = decodeBody(schema)
    return Effect.suspend(() => {
      let count = 0
      const once = Effect.suspend(() => {
        count++
        return attempt(request, url, decode, options)
      })
      return Effect.mapError(Retry.retry(once, settings.retry, retrying), (error) => withAttempts(error, count))
    })
  }
  return get
}
