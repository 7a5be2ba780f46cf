/**
 * The capped read of a body without `content-length` (src/internal/cappedBody.ts) on both clients the SDK runs on —
 * undici (`NodeHttpClient.layerUndici`) and fetch (`FetchHttpClient.layer`) — over loopback: it reads the client's own
 * body (the fast path; its shape is the platform's undeclared fields, so a platform that moved them fails here rather
 * than making every chunked answer slow again), gives the whole text, stops at the cap with the caller's error having
 * read little past it (the connection is cut), and turns a body cut by the server into a `ResponseError`. A response of
 * no known shape goes through `response.stream`, with the same cap.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as CappedBody from "../../src/internal/cappedBody.js"

interface Server {
  readonly url: string
  /** Bytes written to the last `/endless` answer. */
  readonly written: () => number
  /** The client closed the last `/endless` answer's connection before it ended. */
  readonly hungUp: () => boolean
}

const PIECE = "a".repeat(16 * 1024)

/**
 * `/small`: three chunked writes; `/endless`: 16 KiB writes up to 8 MiB, as fast as read; `/slow`: 16 KiB every 10 ms,
 * never ending; `/cut`: a write, then the socket dies.
 */
const server = Effect.acquireRelease(
  Effect.async<{ readonly http: Http.Server; readonly state: Server }>((resume) => {
    let written = 0
    let hungUp = false
    const http = Http.createServer((req, res) => {
      req.resume()
      res.writeHead(200, { "content-type": "application/json" })
      if (req.url === "/small") {
        res.write(`{"text":"`)
        res.write("héllo ".repeat(100))
        res.end(`"}`)
      } else if (req.url === "/cut") {
        res.write(`{"text":"`)
        setTimeout(() => res.socket?.destroy(), 20)
      } else {
        written = 0
        hungUp = false
        res.on("close", () => {
          if (!res.writableEnded) hungUp = true
        })
        if (req.url === "/slow") {
          const tick = setInterval(() => {
            if (res.destroyed) return clearInterval(tick)
            written += PIECE.length
            res.write(PIECE)
          }, 10)
          return
        }
        const pump = () => {
          while (written < 8 * 1024 * 1024 && !res.destroyed) {
            written += PIECE.length
            if (!res.write(PIECE)) return void res.once("drain", pump)
          }
          if (!res.destroyed) res.end()
        }
        pump()
      }
    })
    http.listen(0, "127.0.0.1", () => {
      const port = (http.address() as AddressInfo).port
      resume(Effect.succeed({
        http,
        state: { url: `http://127.0.0.1:${port}`, written: () => written, hungUp: () => hungUp }
      }))
    })
  }),
  ({ http }) => Effect.async<void>((resume) => {
    http.closeAllConnections()
    http.close(() => resume(Effect.void))
  })
).pipe(Effect.map(({ state }) => state))

const tooLarge = (overflow: CappedBody.Overflow) => ({ _tag: "TooLarge" as const, overflow })

const clients: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>, "Node" | "Web"]> = [
  ["undici", NodeHttpClient.layerUndici, "Node"],
  ["fetch", FetchHttpClient.layer, "Web"]
]

for (const [name, layer, shape] of clients) {
  describe(`the capped read of a chunked body (${name})`, () => {
    it.scopedLive("reads the client's own body, and the whole text", () =>
      Effect.gen(function*() {
        const { url } = yield* server
        const client = yield* HttpClient.HttpClient
        const response = yield* client.get(`${url}/small`)
        assert.isUndefined(response.headers["content-length"])
        assert.strictEqual(CappedBody.directBody(response)?._tag, shape)
        const text = yield* CappedBody.readText(response, 1024 * 1024, tooLarge)
        assert.strictEqual(text, `{"text":"${"héllo ".repeat(100)}"}`)
        // A second call goes as well (the connection was left usable).
        const again = yield* client.get(`${url}/small`).pipe(
          Effect.flatMap((r) => CappedBody.readText(r, 1024 * 1024, tooLarge))
        )
        assert.strictEqual(again, text)
      }).pipe(Effect.provide(layer)))

    it.scopedLive("stops at the cap with the caller's error, having read little past it", () =>
      Effect.gen(function*() {
        const state = yield* server
        const client = yield* HttpClient.HttpClient
        const response = yield* client.get(`${state.url}/endless`)
        const result = yield* Effect.either(CappedBody.readText(response, 256 * 1024, tooLarge))
        assert.isTrue(Either.isLeft(result))
        const error = Either.isLeft(result) ? result.left : undefined
        assert.strictEqual(error?._tag, "TooLarge")
        const overflow = error?._tag === "TooLarge" ? error.overflow : undefined
        assert.strictEqual(overflow?._tag, "Read")
        assert.isAbove(overflow?._tag === "Read" ? overflow.total : 0, 256 * 1024)
        yield* Effect.sleep("100 millis")
        assert.isTrue(state.hungUp(), "the client closed the connection")
        assert.isBelow(state.written(), 8 * 1024 * 1024, `the server wrote ${state.written()} bytes`)
      }).pipe(Effect.provide(layer)))

    it.scopedLive("a body the server cuts is a ResponseError naming the response", () =>
      Effect.gen(function*() {
        const { url } = yield* server
        const client = yield* HttpClient.HttpClient
        const response = yield* client.get(`${url}/cut`)
        const error = yield* Effect.flip(CappedBody.readText(response, 1024 * 1024, tooLarge))
        assert.strictEqual(error._tag, "ResponseError")
        if (error._tag === "ResponseError") assert.strictEqual(error.response, response)
      }).pipe(Effect.provide(layer)))

    it.scopedLive("an interrupted read hangs up", () =>
      Effect.gen(function*() {
        const state = yield* server
        const client = yield* HttpClient.HttpClient
        const response = yield* client.get(`${state.url}/slow`)
        // A body that never ends, and a read interrupted after 50 ms.
        const result = yield* CappedBody.readText(response, 1024 * 1024 * 1024, tooLarge).pipe(
          Effect.timeoutOption("50 millis")
        )
        assert.strictEqual(result._tag, "None")
        yield* Effect.sleep("100 millis")
        assert.isTrue(state.hungUp(), "the client closed the connection")
      }).pipe(Effect.provide(layer)))
  })
}

describe("the capped read of a response of no known shape", () => {
  it.scopedLive("goes through response.stream, with the same cap", () =>
    Effect.gen(function*() {
      const chunked = (body: string) =>
        HttpClientResponse.fromWeb(
          HttpClientRequest.get("http://127.0.0.1/"),
          new Response(new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode(body))
              controller.close()
            }
          }))
        )
      // Another client's response: the same body, but none of the fields the fast path looks for.
      const opaque = (inner: HttpClientResponse.HttpClientResponse) =>
        ({
          request: inner.request,
          headers: inner.headers,
          get stream() {
            return inner.stream
          }
        }) as unknown as HttpClientResponse.HttpClientResponse
      const small = opaque(chunked("x".repeat(1000)))
      assert.isUndefined(CappedBody.directBody(small))
      assert.strictEqual((yield* CappedBody.readText(small, 2000, tooLarge)).length, 1000)
      const error = yield* Effect.flip(CappedBody.readText(opaque(chunked("x".repeat(3000))), 2000, tooLarge))
      assert.deepStrictEqual(error, { _tag: "TooLarge", overflow: { _tag: "Read", total: 3000 } })
    }))
})
