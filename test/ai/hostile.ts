/**
 * A tiny hostile chat server on loopback, for what FakeChutes does not play: a non-streaming answer whose body never
 * ends, or trickles forever. `/v1/models` answers an empty list (the provider falls back to its built-in catalog);
 * `/v1/chat/completions` starts a 200 JSON answer and then misbehaves.
 */
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** `endless`: a JSON string that never closes, as fast as the client reads; `trickle`: one byte every 50 ms. */
export type Behaviour = "endless" | "trickle"

export interface HostileServer {
  readonly baseUrl: string
  readonly apiKey: string
  /** Bytes of chat answers written so far (the client stopped reading when this stops growing). */
  readonly written: () => number
  /** Whether the client closed the connection of the last answer before the server ended it. */
  readonly hungUp: () => boolean
}

const OPENING = `{"id":"chatcmpl-hostile","object":"chat.completion",` +
  `"choices":[{"index":0,"message":{"role":"assistant","content":"`

/** Serves until the scope closes; writes at most `maxBytes` per answer (so a client that never stops ends anyway). */
export const hostileServer = (behaviour: Behaviour, maxBytes = 64 * 1024 * 1024) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly state: HostileServer }>((resume) => {
      let written = 0
      let hungUp = false
      const piece = Buffer.alloc(64 * 1024, "a")
      const server = Http.createServer((req, res) => {
        req.resume()
        if (req.url?.endsWith("/models") === true) {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(`{"object":"list","data":[]}`)
          return
        }
        let gone = false
        res.on("close", () => {
          gone = true
          if (!res.writableEnded) hungUp = true
        })
        res.writeHead(200, { "content-type": "application/json" })
        res.write(OPENING)
        const pump = async () => {
          while (!gone && written < maxBytes) {
            if (behaviour === "trickle") {
              await new Promise((resolve) => setTimeout(resolve, 50))
              if (gone) return
              res.write("a")
              written += 1
            } else {
              written += piece.length
              if (!res.write(piece)) {
                await new Promise<void>((resolve) => {
                  const go = () => {
                    res.off("drain", go)
                    res.off("close", go)
                    resolve()
                  }
                  res.on("drain", go)
                  res.on("close", go)
                })
              }
            }
          }
          if (!gone) res.end(`"}}]}`)
        }
        void pump()
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({
          server,
          state: { baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: "cpk_hostile", written: () => written, hungUp: () => hungUp }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  ).pipe(Effect.map(({ state }) => state))
