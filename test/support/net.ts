/**
 * Loopback socket helpers shared by the listener, login and browser suites.
 */
import * as Effect from "effect/Effect"
import * as Net from "node:net"

/** A port that was free a moment ago (listen on 0 on 127.0.0.1, read it, close). */
export const freePortPromise = (): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = address !== null && typeof address === "object" ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** `freePortPromise` as an Effect. */
export const freePort: Effect.Effect<number> = Effect.promise(freePortPromise)

/** "connected", or the error code of a fresh TCP connection attempt (no pooled connection is reused). */
export const connect = (port: number, host = "127.0.0.1"): Effect.Effect<string> =>
  Effect.promise(() =>
    new Promise<string>((resolve) => {
      const socket = Net.connect({ port, host })
      socket.once("connect", () => {
        socket.destroy()
        resolve("connected")
      })
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    })
  )

/** Whether the port can be bound exclusively on `host` right now (then it is released again). */
export const bindable = (port: number, host = "127.0.0.1"): Effect.Effect<boolean> =>
  Effect.promise(() =>
    new Promise<boolean>((resolve) => {
      const server = Net.createServer()
      server.once("error", () => resolve(false))
      server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)))
    })
  )
