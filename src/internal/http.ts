/**
 * Keeping the bearer out of what the provider's `HttpClient` hands back. @effect/platform's errors and responses
 * carry the request they came from, and a plain `JSON.stringify`, `util.inspect` or `String` of them (or of a
 * `FiberFailure` around them, or a logger's error serialiser) prints its headers — `Authorization: Bearer <secret>`
 * included. The provider therefore returns errors and responses whose request has the header masked.
 *
 * @internal
 */
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Stream from "effect/Stream"

/** The request with its `Authorization` header value replaced. */
export const maskAuthorization = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest =>
  request.headers["authorization"] === undefined
    ? request
    : HttpClientRequest.setHeader(request, "authorization", "<redacted>")

/**
 * A response that shows the masked request everywhere it can be seen: its `request` field, `toJSON`, `toString`,
 * Node's `util.inspect` (a `Proxy` cannot do this: `util.inspect` looks through proxies at their target) and the
 * errors its body readers fail with (the original's carry the unmasked request). Everything else is the original's.
 */
class MaskedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly #original: HttpClientResponse.HttpClientResponse

  constructor(original: HttpClientResponse.HttpClientResponse, readonly request: HttpClientRequest.HttpClientRequest) {
    super()
    this.#original = original
  }
  get status() {
    return this.#original.status
  }
  get headers() {
    return this.#original.headers
  }
  get cookies() {
    return this.#original.cookies
  }
  get remoteAddress() {
    return this.#original.remoteAddress
  }
  get formData() {
    return Effect.mapError(this.#original.formData, (error) => this.#mask(error))
  }
  get json() {
    return Effect.mapError(this.#original.json, (error) => this.#mask(error))
  }
  get text() {
    return Effect.mapError(this.#original.text, (error) => this.#mask(error))
  }
  get urlParamsBody() {
    return Effect.mapError(this.#original.urlParamsBody, (error) => this.#mask(error))
  }
  get arrayBuffer() {
    return Effect.mapError(this.#original.arrayBuffer, (error) => this.#mask(error))
  }
  get stream() {
    return Stream.mapError(this.#original.stream, (error) => this.#mask(error))
  }
  toJSON(): unknown {
    const json: unknown = this.#original.toJSON()
    return typeof json === "object" && json !== null ? { ...json, request: this.request.toJSON() } : json
  }
  #mask(error: HttpClientError.ResponseError): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({
      request: this.request,
      response: this,
      reason: error.reason,
      cause: error.cause,
      ...(error.description !== undefined ? { description: error.description } : {})
    })
  }
}

/** The response, seen through a view whose `request` (and every printed form) is the masked request. */
export const maskResponse = (
  response: HttpClientResponse.HttpClientResponse,
  masked: HttpClientRequest.HttpClientRequest
): HttpClientResponse.HttpClientResponse =>
  response instanceof MaskedResponse ? response : new MaskedResponse(response, masked)

/** The same error, carrying the masked request (and response). */
export const maskError = (
  error: HttpClientError.HttpClientError,
  masked: HttpClientRequest.HttpClientRequest
): HttpClientError.HttpClientError =>
  error._tag === "RequestError"
    ? new HttpClientError.RequestError({
      request: masked,
      reason: error.reason,
      cause: error.cause,
      ...(error.description !== undefined ? { description: error.description } : {})
    })
    : new HttpClientError.ResponseError({
      request: masked,
      response: maskResponse(error.response, masked),
      reason: error.reason,
      cause: error.cause,
      ...(error.description !== undefined ? { description: error.description } : {})
    })
