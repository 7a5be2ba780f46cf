/**
 * Keeping the bearer out of what the provider's `HttpClient` hands back. @effect/platform's errors and responses
 * carry the request they came from, and a plain `JSON.stringify` of them (or of a `FiberFailure` around them, or a
 * logger's error serialiser) prints its headers — `Authorization: Bearer <secret>` included. The provider therefore
 * returns errors and responses whose request has the header masked.
 *
 * @internal
 */
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"

/** The request with its `Authorization` header value replaced. */
export const maskAuthorization = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest =>
  request.headers["authorization"] === undefined
    ? request
    : HttpClientRequest.setHeader(request, "authorization", "<redacted>")

/** The response, seen through a view whose `request` (and JSON form) is the masked request. */
export const maskResponse = (
  response: HttpClientResponse.HttpClientResponse,
  masked: HttpClientRequest.HttpClientRequest
): HttpClientResponse.HttpClientResponse =>
  new Proxy(response, {
    get(target, key) {
      if (key === "request") return masked
      if (key === "toJSON") {
        return () => {
          const json: unknown = target.toJSON()
          return typeof json === "object" && json !== null ? { ...json, request: masked.toJSON() } : json
        }
      }
      // The receiver is the response itself, so its getters and methods see their own fields.
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })

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
