/**
 * One chat request to one model, through the provider's `client` (which sets the bearer and answers a 401 for a stored
 * OAuth profile with one forced refresh and one retry): a 2xx answer, or the typed error of a non-2xx one, retried
 * under the SDK's retry policy (internal/retry.ts). Only the answer's headers are awaited here, so a retry always
 * happens before the first byte of an answer is handed on.
 *
 * With several stored profiles (`ChutesCredentials.Rotation`), an answer that is the account's problem (an edge 429,
 * the free-models daily cap, a 402, a credential no refresh cures: internal/cooldownPolicy.ts) cools the profile that
 * got it and the same request goes at once to the next profile that is neither tried nor cooling; when none is left the
 * error stands, for the retry policy and then the next model. A call to a model not known to be paid fails at once
 * while every profile is on the free-models daily cap.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ChutesCredentials from "../../ChutesCredentials.js"
import type { CredentialsError } from "../../ChutesError.js"
import type * as ChutesProvider from "../../ChutesProvider.js"
import type { RetryPolicy } from "../../ChutesSettings.js"
import { authorizationOf, withoutCredential } from "../../internal/auth.js"
import { isAccountProblem } from "../../internal/cooldownPolicy.js"
import { errorDetail } from "../../internal/redact.js"
import * as Retry from "../../internal/retry.js"
import type * as ModelCatalog from "../../ModelCatalog.js"
import * as ChutesAiError from "../ChutesAiError.js"
import type { ModelTarget } from "./chatRequest.js"
import {
  classify,
  credentialsError,
  describeReset,
  detailSuffix,
  type Method,
  requestFailure,
  responseError,
  unknownError
} from "./errors.js"

/**
 * Reads at most `max` characters of an error body, without the credential if the server echoed it; a failure to read
 * gives what was read.
 */
const readCapped = (response: HttpClientResponse.HttpClientResponse, max = 64 * 1024): Effect.Effect<string> =>
  response.stream.pipe(
    Stream.decodeText(),
    Stream.runFoldWhile("", (text) => text.length < max, (text, piece) => text + piece),
    Effect.orElseSucceed(() => ""),
    Effect.map((text) => withoutCredential(text.slice(0, max), response))
  )

/** A 401 the provider's client did not (or could not) cure: which credential, and why signing in again helps. */
const unauthorized = (method: Method, response: HttpClientResponse.HttpClientResponse) => {
  const sent = authorizationOf(response)
  const label = sent?.label ?? "the credential"
  const signIn = `sign in again ("effect-chutes onboard --auth-choice chutes")`
  const [kind, text]: [ChutesAiError.Kind, string] = sent?.kind !== "oauth"
    ? ["Unauthorized", `Chutes rejected ${label} (HTTP 401)`]
    : sent.refreshed
    ? ["ReauthRequired", `Chutes rejected ${label} (HTTP 401) even after a refresh; ${signIn}`]
    : ["ReauthRequired", `Chutes rejected ${label} (HTTP 401) and it cannot be refreshed; ${signIn}`]
  return Effect.flatMap(readCapped(response), (body) =>
    Effect.fail(responseError({
      method,
      url: response.request.url,
      status: response.status,
      headers: response.headers,
      kind,
      text: `${text}${detailSuffix(errorDetail(body, 200))}`,
      body
    })))
}

/** A non-2xx answer other than 401, read and classified. */
const failed = (
  method: Method,
  response: HttpClientResponse.HttpClientResponse,
  target: ModelTarget,
  snapshot: ModelCatalog.CatalogSnapshot
) =>
  Effect.flatMap(Effect.zip(readCapped(response), Clock.currentTimeMillis), ([text, now]) => {
    const classified = classify(response.status, text, target, snapshot, authorizationOf(response), now)
    return Effect.fail(responseError({
      method,
      url: response.request.url,
      status: response.status,
      headers: response.headers,
      kind: classified.kind,
      text: classified.text,
      body: text,
      resetsAt: classified.resetsAt
    }))
  })

/** Why an attempt failed, in a few words, for the retry hook: `HTTP 429`, `connection error`. */
const retryReason = (error: ChutesAiError.ChutesAiError): string =>
  error._tag === "HttpResponseError"
    ? `HTTP ${error.response.status}`
    : error.kind === "Transport"
    ? "connection error"
    : error.kind

/**
 * Chat under the retry policy. With a next model to fail over to, the failures it may not have (429, 503, …) are not
 * retried: failing over is the faster way out.
 */
const retrying = (hasNext: boolean): Retry.Retrying<ChutesAiError.ChutesAiError> => ({
  operation: "chat",
  judge: (error, now) => ({
    retryable: ChutesAiError.isRetryable(error) && !(hasNext && ChutesAiError.isFailoverEligible(error)),
    retryAfterMillis: error._tag === "HttpResponseError"
      ? Retry.parseRetryAfter(error.response.headers["retry-after"], now)
      : undefined,
    reason: retryReason(error)
  })
})

/** What {@link send} needs besides the request. */
export interface SendOptions {
  readonly client: ChutesProvider.Service["client"]
  readonly policy: RetryPolicy
  readonly method: Method
  readonly target: ModelTarget
  readonly snapshot: ModelCatalog.CatalogSnapshot
  readonly stream: boolean
  /** Whether another model follows this one (see `./failover.ts`). */
  readonly hasNext: boolean
  /** The provider's rotation across stored profiles, if it has one. */
  readonly rotation?: ChutesCredentials.Rotation | undefined
}

/** A failed attempt, and the stored profile whose answer it was (none for a credential from code or env). */
interface Refused {
  readonly error: ChutesAiError.ChutesAiError
  readonly profileId: string | undefined
}

const refusedBy = (response: HttpClientResponse.HttpClientResponse) => (error: ChutesAiError.ChutesAiError): Refused => ({
  error,
  profileId: authorizationOf(response)?.profileId
})

/** A model that is known to cost something per token: the free-models daily cap does not apply to it. */
const knownPaid = (target: ModelTarget): boolean =>
  target.definition?.cost !== undefined && (target.definition.cost.input > 0 || target.definition.cost.output > 0)

/** Every profile on the free-models daily cap: the call fails at once, with the reset. */
const dailyCapped = (method: Method, target: ModelTarget, until: number) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.fail(unknownError(
      method,
      "DailyCapReached",
      `Every Chutes auth profile has reached the free-models daily cap; ${target.ref} was not asked. It resets at ` +
        `${describeReset(until, now)} ("effect-chutes auth cooldowns --clear" forgets the cooldowns)`
    )))

/** One model: the request, retried under the policy. Succeeds with a 2xx answer only, its body unread. */
export const send = (
  body: Record<string, unknown>,
  options: SendOptions
): Effect.Effect<HttpClientResponse.HttpClientResponse, ChutesAiError.ChutesAiError> => {
  const { client, method, snapshot, stream, target } = options
  const request = HttpClientRequest.post("/chat/completions").pipe(
    HttpClientRequest.bodyUnsafeJson(body),
    HttpClientRequest.accept(stream ? "text/event-stream" : "application/json")
  )
  const once: Effect.Effect<HttpClientResponse.HttpClientResponse, Refused> = client.execute(request).pipe(
    Effect.catchAll((error) =>
      Effect.fail<Refused>(
        error._tag === "CredentialsError"
          ? { error: credentialsError(method, error), profileId: (error as CredentialsError).profileId }
          : { error: requestFailure(method, error), profileId: undefined }
      )
    ),
    Effect.flatMap((response) =>
      response.status >= 200 && response.status < 300
        ? Effect.succeed(response)
        : Effect.mapError(
          response.status === 401 ? unauthorized(method, response) : failed(method, response, target, snapshot),
          refusedBy(response)
        )
    )
  )
  const { rotation } = options
  /** `once`, moved to the next profile after an account problem (see the module comment). */
  const rotating = (tried: ReadonlyArray<string>): Effect.Effect<HttpClientResponse.HttpClientResponse, ChutesAiError.ChutesAiError> =>
    Effect.catchAll(once, ({ error, profileId }) => {
      const kind = ChutesAiError.kind(error)
      if (rotation === undefined || profileId === undefined || kind === undefined || !isAccountProblem(kind)) {
        return Effect.fail(error)
      }
      return Effect.gen(function*() {
        const resetsAt = error._tag === "HttpResponseError" && error.resetsAt !== undefined
          ? DateTime.toEpochMillis(error.resetsAt)
          : undefined
        yield* rotation.report(profileId, { kind, resetsAt })
        const next = yield* rotation.next([...tried, profileId])
        if (Option.isNone(next)) return yield* Effect.fail(error)
        yield* Effect.logDebug(`ChutesLanguageModel: profile ${profileId} got ${kind}; trying profile ${next.value}`)
        return yield* Effect.provideService(rotating([...tried, profileId]), ChutesCredentials.CallProfile, next)
      })
    })
  const guarded = rotation === undefined || knownPaid(target)
    ? rotating([])
    : Effect.flatMap(rotation.dailyCapUntil, Option.match({
      onNone: () => rotating([]),
      onSome: (until) => dailyCapped(method, target, until)
    }))
  return Retry.retry(guarded, options.policy, retrying(options.hasNext))
}
