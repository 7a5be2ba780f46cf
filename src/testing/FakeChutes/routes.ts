/**
 * The route list, written once: every endpoint the fake serves, with its method, path, fault route and counter; and the
 * one wrapper every endpoint goes through (record, count, fault, answer), plus the 404 / 405 for everything else.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Faults from "./faults.js"
import { detailReply, type Reply } from "./reply.js"
import { count, type Counter, FakeState, now, type State } from "./state.js"
import type { RecordedRequest } from "./types.js"
import { respond } from "./writer.js"

interface EndpointSpec {
  readonly method: "GET" | "POST"
  readonly path: `/${string}`
  /** The fault route (`undefined`: no faults). */
  readonly route: Faults.FakeRoute | undefined
  /** Counted on arrival, faulted requests included. */
  readonly counter: Counter | undefined
}

/** Every endpoint of the fake (the control routes apart). */
export const Endpoints = {
  models: { method: "GET", path: "/v1/models", route: "models", counter: "models" },
  chat: { method: "POST", path: "/v1/chat/completions", route: "chat", counter: "chat" },
  token: { method: "POST", path: "/idp/token", route: "token", counter: "token" },
  revoke: { method: "POST", path: "/idp/token/revoke", route: "revoke", counter: "revoke" },
  userinfo: { method: "GET", path: "/idp/userinfo", route: "userinfo", counter: "userinfo" },
  authorize: { method: "GET", path: "/idp/authorize", route: "authorize", counter: "authorize" },
  decision: { method: "POST", path: "/idp/authorize/decision", route: "authorize", counter: undefined },
  wellKnown: { method: "GET", path: "/.well-known/openid-configuration", route: undefined, counter: undefined },
  me: { method: "GET", path: "/users/me", route: "account", counter: "account" },
  quotas: { method: "GET", path: "/users/me/quotas", route: "account", counter: "account" },
  quotaUsage: { method: "GET", path: "/users/me/quota_usage/:chute", route: "account", counter: "account" },
  subscriptionUsage: { method: "GET", path: "/users/me/subscription_usage", route: "account", counter: "account" },
  usage: { method: "GET", path: "/users/me/usage", route: "account", counter: "account" },
  llmStats: { method: "GET", path: "/invocations/stats/llm", route: "stats", counter: "stats" }
} as const satisfies Record<string, EndpointSpec>

export type Endpoint = keyof typeof Endpoints

/** A request as the handlers see it: the body read whole, the headers flattened. */
export interface Incoming {
  readonly method: string
  readonly url: URL
  /** Lower-case names; repeated headers joined with `", "`. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

const incoming = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const body = yield* request.text
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers as Readonly<Record<string, string | Array<string>>>)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return { method: request.method, url: new URL(request.url, "http://127.0.0.1"), headers, body } satisfies Incoming
})

/** Reads the request and adds it to the log. */
const arrive = (state: State, route: (url: URL) => Faults.FakeRoute | undefined) =>
  Effect.tap(incoming, (request) => {
    const recorded: RecordedRequest = {
      method: request.method,
      path: request.url.pathname + request.url.search,
      route: route(request.url),
      headers: request.headers,
      body: request.body,
      at: Date.now()
    }
    return Ref.update(state.requests, Chunk.append(recorded))
  })

/**
 * One endpoint of the fake: the request is recorded and counted (`onArrival` adds what that endpoint counts besides),
 * then meets the next queued fault of its route, or `handler`'s answer.
 */
export const endpoint = (
  name: Endpoint,
  handler: (state: State, request: Incoming) => Effect.Effect<Reply>,
  onArrival?: (state: State, request: Incoming) => Effect.Effect<void>
) => {
  const spec: EndpointSpec = Endpoints[name]
  return HttpRouter.route(spec.method)(
    spec.path,
    Effect.gen(function*() {
      const state = yield* FakeState
      const request = yield* arrive(state, () => spec.route)
      if (spec.counter !== undefined) yield* count(state, spec.counter)
      if (onArrival !== undefined) yield* onArrival(state, request)
      const route = spec.route
      const fault = route === undefined
        ? undefined
        : yield* Ref.modify(state.faults, (queue) => Faults.take(queue, route))
      const normal = handler(state, request)
      if (fault === undefined) return yield* respond(yield* normal)
      const catalog = yield* Ref.get(state.catalog)
      return yield* respond(
        yield* Faults.answer(fault, {
          authorization: request.headers["authorization"],
          body: request.body,
          modelsBody: catalog.body,
          normal,
          now: yield* now(state)
        })
      )
    })
  )
}

/** Whether a request path is an endpoint's path (a `:name` segment matches any one segment). */
const matches = (pattern: string, pathname: string): boolean => {
  const want = pattern.split("/")
  const got = pathname.split("/")
  return want.length === got.length && want.every((part, i) => part.startsWith(":") ? got[i] !== "" : part === got[i])
}

const specOf = (url: URL): EndpointSpec | undefined =>
  Object.values(Endpoints).find((spec: EndpointSpec) => matches(spec.path, url.pathname))

/** Any other request: recorded, then 405 on a known path, else 404. */
export const fallback = HttpRouter.empty.pipe(
  HttpRouter.all(
    "*",
    Effect.gen(function*() {
      const state = yield* FakeState
      const request = yield* arrive(state, (url) => specOf(url)?.route)
      return yield* respond(
        specOf(request.url) !== undefined ? detailReply(405, "Method Not Allowed") : detailReply(404, "Not Found")
      )
    })
  )
)
