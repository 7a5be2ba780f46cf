/**
 * The fake on Node's HTTP server: the routers joined into one app over the state, served on 127.0.0.1, and the
 * running server as a `FakeChutesServer` whose synchronous methods read and update the state's `Ref`s.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Account from "./account.js"
import * as AccountState from "./accountState.js"
import * as Chat from "./chat.js"
import * as Control from "./control.js"
import * as Idp from "./idp.js"
import * as Models from "./models.js"
import { detailReply } from "./reply.js"
import { fallback } from "./routes.js"
import * as State from "./state.js"
import type { FakeChutesOptions, FakeChutesServer } from "./types.js"
import { respond } from "./writer.js"

/** Every route of the fake; the 404 / 405 fallback matches only what no other route does. */
export const router = HttpRouter.concatAll(
  Models.router,
  Chat.router,
  Idp.router,
  Account.router,
  Control.router,
  fallback
)

/** Serves the routers over `state` on 127.0.0.1 for the life of the scope; returns the base URL. */
const listen = (
  state: State.State,
  port: number
): Effect.Effect<string, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const nodeServer = Http.createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { port, host: "127.0.0.1" })
    // NodeHttpServer's finalizer is a bare `server.close()`, which waits for open connections: drop them first, so
    // closing is immediate with delays, drips and hung streams in flight (this finalizer runs before that one).
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    const app = yield* HttpRouter.toHttpApp(router)
    yield* server.serve(app.pipe(
      Effect.catchAll(() => respond(detailReply(500, "Internal Server Error"))),
      Effect.provideService(State.FakeState, state),
      // A remote service keeps the wall clock: delays and pacing stay real when a test runs on a TestClock.
      Effect.withClock(Clock.make())
    ))
    const address = server.address
    if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("FakeChutes: the server has no TCP address")
    return `http://127.0.0.1:${address.port}`
  })

/**
 * Starts a fake for the life of the scope. Its `close()` closes it earlier (idempotent).
 */
export const make = (
  options: FakeChutesOptions
): Effect.Effect<FakeChutesServer, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const state = yield* State.make(options)
    const url = yield* listen(state, options.port ?? 0).pipe(Scope.extend(scope))
    yield* Ref.set(state.url, url)
    return facade(state, url, Scope.close(scope, Exit.void))
  })

/** The running fake for tests: synchronous reads and updates of the state (each `Ref` is read or set at once). */
const facade = (state: State.State, url: string, close: Effect.Effect<void>): FakeChutesServer => {
  const run = <A>(effect: Effect.Effect<A>): A => Effect.runSync(effect)
  let closing: Promise<void> | undefined
  return {
    url,
    baseUrl: `${url}/v1`,
    idpBaseUrl: url,
    apiKey: state.config.apiKey,
    clientId: state.config.clientId,
    clientSecret: state.config.clientSecret,
    get counters() {
      return run(Ref.get(state.counters))
    },
    get requests() {
      return Chunk.toReadonlyArray(run(Ref.get(state.requests)))
    },
    chat: {
      script: (...replies) => run(Chat.script(state, replies)),
      setDefaultReply: (reply) => run(Chat.setDefaultReply(state, reply)),
      setAvailability: (model, availability) => run(Chat.setAvailability(state, model, availability)),
      get pending() {
        return run(Ref.get(state.chat)).script.length
      },
      get bodies() {
        return Chunk.toReadonlyArray(run(Ref.get(state.chat)).bodies)
      }
    },
    account: {
      set: (script) => run(Ref.update(state.account, (account) => AccountState.apply(account, script))),
      get current() {
        return run(Ref.get(state.account))
      }
    },
    fault: (fault) => run(Control.addFault(state, fault)),
    clearFaults: (route) => run(Control.clearFaults(state, route)),
    setModels: (items) => run(Control.setModels(state, items)),
    setAccessTokenTtl: (seconds) => run(Ref.update(state.settings, (s) => ({ ...s, accessTokenTtl: seconds }))),
    setAutoApprove: (on) => run(Ref.update(state.settings, (s) => ({ ...s, autoApprove: on }))),
    setClockOffset: (millis) => run(Ref.update(state.settings, (s) => ({ ...s, clockOffsetMillis: millis }))),
    get now() {
      return run(State.now(state))
    },
    issueTokens: (options) => run(Control.issueTokens(state, options?.expiresIn, options?.scope)),
    reset: () => run(State.reset(state)),
    close: () => (closing ??= Effect.runPromise(close))
  }
}
