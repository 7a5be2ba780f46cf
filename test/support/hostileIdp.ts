/**
 * A tiny hostile IdP on loopback, for what FakeChutes does not play: answers to `/idp/token`, `/idp/userinfo` and
 * `/idp/token/revoke` whose body never ends (as fast as the client reads), or that declare a huge `content-length`.
 * Each answer writes at most `maxBytes`, so a client that never stops reading still ends (with the old code, a test
 * fails instead of exhausting the test process's memory).
 */
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/**
 * `endless`: a JSON string that never closes, chunked (no `content-length`); `declared`: a `content-length` of
 * `maxBytes` and that many bytes.
 */
export type Behaviour = "endless" | "declared"

export interface HostileIdp {
  readonly idpBaseUrl: string
  /** Bytes of answer bodies written so far (the client stopped reading when this stops growing). */
  readonly written: () => number
  /** Requests received, by path. */
  readonly requests: () => ReadonlyArray<string>
  /** Answers whose client went away before the whole body was written. */
  readonly cutShort: () => number
}

const OPENING = `{"access_token":"cak_hostile","refresh_token":"crt_hostile","expires_in":3600,"padding":"`

/** Serves until the scope closes; `status` is the status of every answer. */
export const hostileIdp = (
  behaviour: Behaviour,
  options: { readonly status?: number; readonly maxBytes?: number } = {}
) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly state: HostileIdp }>((resume) => {
      const status = options.status ?? 200
      const maxBytes = options.maxBytes ?? 64 * 1024 * 1024
      let written = 0
      let cutShort = 0
      const requests: Array<string> = []
      const piece = Buffer.alloc(64 * 1024, "a")
      const server = Http.createServer((req, res) => {
        requests.push(req.url ?? "")
        req.resume()
        let gone = false
        let sent = 0
        res.on("close", () => {
          gone = true
          if (sent < maxBytes) cutShort += 1
        })
        res.writeHead(status, {
          "content-type": "application/json",
          ...(behaviour === "declared" ? { "content-length": String(maxBytes) } : {})
        })
        const pump = async () => {
          const opening = Buffer.from(OPENING)
          res.write(opening)
          sent += opening.length
          written += opening.length
          while (!gone && sent < maxBytes) {
            const chunk = piece.subarray(0, Math.min(piece.length, maxBytes - sent))
            sent += chunk.length
            written += chunk.length
            if (!res.write(chunk)) {
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
          if (!gone) res.end()
        }
        void pump()
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({
          server,
          state: {
            idpBaseUrl: `http://127.0.0.1:${port}`,
            written: () => written,
            requests: () => requests,
            cutShort: () => cutShort
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  ).pipe(Effect.map(({ state }) => state))
