/**
 * Sends an `Answer`: whole bodies as platform responses; streamed, dripped and dropped answers on Node's response.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import type * as Http from "node:http"
import type { Answer, Reply, StreamPlan, StreamTail } from "./reply.js"

const bytes = (body: string | Uint8Array): Uint8Array => (typeof body === "string" ? Buffer.from(body) : body)

/** The answer as a response: status, headers and body exactly as built, with `content-length`. */
const whole = (reply: Reply): HttpServerResponse.HttpServerResponse => {
  const body = bytes(reply.body)
  // `raw` keeps the headers as given (`uint8Array` would add a content type of its own to an empty redirect).
  return HttpServerResponse.raw(body, {
    status: reply.status,
    headers: { ...reply.headers, "content-length": String(body.length) }
  })
}

/**
 * Sends an answer.
 *
 * Streamed, dripped and dropped answers work on Node's request and response themselves: the headers must leave before
 * the first byte of the body (a hung stream sends nothing more, a drip waits before each piece), writes are paced one
 * per event-loop turn or per interval with backpressure, a hostile stream stalls or stays open, and a reset destroys
 * the socket — while `HttpServerResponse.stream` sends its headers with the first chunk and always ends the response.
 */
export const respond = (
  answer: Answer
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> => {
  if (!("_tag" in answer)) {
    const plan = answer.stream
    return plan === undefined ? Effect.succeed(whole(answer)) : onNode((res) => stream(res, answer, plan))
  }
  if (answer._tag === "Drip") {
    return onNode((res) => drip(res, answer.reply, answer.chunkBytes, answer.intervalMillis))
  }
  return onNode((_, req) => Effect.sync(() => req.socket.destroy()))
}

/**
 * Runs `write` on Node's response, then ends it. NodeHttpServer interrupts the fiber when the connection closes
 * (client gone, server closing); the response is ended then too, which tells NodeHttpServer it was answered.
 */
const onNode = <E>(
  write: (res: Http.ServerResponse, req: Http.IncomingMessage) => Effect.Effect<void, E>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const res = NodeHttpServerRequest.toServerResponse(request)
    return write(res, NodeHttpServerRequest.toIncomingMessage(request)).pipe(
      Effect.ensuring(Effect.sync(() => {
        if (!res.writableEnded) res.end()
      })),
      Effect.as(HttpServerResponse.empty())
    )
  })

/** One turn of the event loop, so the client sees two writes apart (`Effect.yieldNow` stays in the microtasks). */
const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const id = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(id))
})

const openWithHeaders = (res: Http.ServerResponse, status: number, headers: Readonly<Record<string, string>>) =>
  Effect.sync(() => {
    res.writeHead(status, { ...headers })
    res.flushHeaders()
  })

const stream = (res: Http.ServerResponse, reply: Reply, plan: StreamPlan): Effect.Effect<void> =>
  Effect.gen(function*() {
    yield* openWithHeaders(res, reply.status, reply.headers)
    for (let i = 0; i < plan.chunks.length; i++) {
      if (i > 0) yield* plan.intervalMillis > 0 ? Effect.sleep(plan.intervalMillis) : nextTurn
      if (res.destroyed) return
      res.write(plan.chunks[i])
    }
    if (plan.tail !== undefined) return yield* tail(res, plan.tail)
    if (plan.keepOpen) return yield* Effect.never
  })

/** A hostile stream's end: keep-alive comments (or silence) until the client leaves, or a flood. */
const tail = (res: Http.ServerResponse, end: StreamTail): Effect.Effect<void> => {
  if (end._tag === "KeepAlive") {
    if (end.intervalMillis <= 0) return Effect.never
    return Effect.forever(Effect.zipRight(
      Effect.sleep(end.intervalMillis),
      Effect.sync(() => {
        if (!res.destroyed) res.write(": keep-alive\n\n")
      })
    ))
  }
  return Effect.gen(function*() {
    // As fast as the client reads: wait for `drain` whenever Node's buffer is full.
    for (let written = 0; written < end.maxBytes && !res.destroyed;) {
      written += end.piece.length
      if (!res.write(end.piece)) yield* drained(res)
    }
  })
}

const drained = (res: Http.ServerResponse): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const off = (): void => {
      res.off("drain", go)
      res.off("close", go)
    }
    const go = (): void => {
      off()
      resume(Effect.void)
    }
    res.on("drain", go)
    res.on("close", go)
    return Effect.sync(off)
  })

/** The `SlowDrip` fault: the whole reply with its `content-length`, `chunkBytes` at a time after each pause. */
const drip = (res: Http.ServerResponse, reply: Reply, chunkBytes: number, intervalMillis: number) =>
  Effect.gen(function*() {
    const body = bytes(reply.body)
    yield* openWithHeaders(res, reply.status, { ...reply.headers, "content-length": String(body.length) })
    for (let offset = 0; offset < body.length; offset += chunkBytes) {
      yield* Effect.sleep(intervalMillis)
      if (res.destroyed) return
      res.write(body.subarray(offset, offset + chunkBytes))
    }
  })
