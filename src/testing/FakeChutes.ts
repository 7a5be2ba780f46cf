/**
 * A faithful fake of the Chutes service — the OpenAI-compatible LLM API (`/v1/...`) and the identity provider
 * (`/idp/...`) — served on loopback with `@effect/platform`'s `HttpRouter` on Node's HTTP server.
 *
 * It behaves like the live service where the SDK cares (docs/testing.md): `/v1/models` is public but rejects a bad
 * bearer with 401 `{"detail": …}`, the IdP accepts S256 PKCE only, codes are single-use, refresh tokens rotate and are
 * single-use, the client secret is checked on every code exchange, refresh and revoke (by default, like the live IdP).
 * Faults (status, HTML error page, malformed JSON, delay, connection reset, slow drip, raw body) can be injected per
 * route, and every request is counted and recorded.
 *
 * `POST /v1/chat/completions` answers scripted replies (`server.chat`): text, `reasoning_content` / `reasoning`, tool
 * calls, usage and finish reasons, as one completion or as SSE chunks (usage repeated on every chunk like the live
 * service, configurable network chunking, a mid-stream error as the raw un-prefixed `{"error": …}` line; hostile
 * streams: a hang with `: keep-alive` comments, an endless line, endless tool-call arguments), per-model
 * availability (404 `model not found`, 503 `No instances available`), and every request body recorded as parsed JSON.
 *
 * Use it as a scoped Effect (`make`), a Layer (`layer`) or a Promise (`start`), in-process or as a child process
 * (`scripts/fake-chutes.ts`), which other processes drive through the `/__control/...` routes.
 *
 * The pieces live in `./FakeChutes/`: one router per concern (`models`, `chat`, `idp`, `control`), the route list and
 * its wrapper (`routes`), the fault Schema and queue (`faults`), the state in `Ref`s (`state`) and the server
 * (`server`).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Server from "./FakeChutes/server.js"
import type { FakeChutesOptions, FakeChutesServer } from "./FakeChutes/types.js"

/**
 * The fake's model catalogs: the real capture's models, generated ones for load, and a small seed.
 *
 * @since 0.1.0
 */
export {
  /** @since 0.2.0 */
  type CaptureDate,
  /** @since 0.2.0 */
  capturedModels,
  /** @since 0.1.0 */
  generateModels,
  /** @since 0.1.0 */
  seedModels
} from "./FakeChutes/catalog.js"
/**
 * The faults a test can inject, and the routes they apply to.
 *
 * @since 0.1.0
 */
export {
  /** @since 0.1.0 */
  FakeRoute,
  /** @since 0.1.0 */
  Fault,
  /** @since 0.3.0 */
  GatewayRefusal
} from "./FakeChutes/faults.js"
/**
 * The API key the fake accepts unless told otherwise.
 *
 * @since 0.1.0
 */
export {
  /** @since 0.1.0 */
  defaultApiKey
} from "./FakeChutes/state.js"
/**
 * The fake's options, its running server's interface, and what it records (each documented in
 * src/testing/FakeChutes/types.ts).
 *
 * @since 0.1.0
 */
export type {
  ChatAvailability,
  ChatErrorReply,
  ChatReply,
  ChatStreamOptions,
  ChatToolCall,
  ChatUsage,
  FakeAccount,
  FakeAccountScript,
  FakeAccountState,
  FakeChat,
  FakeChutesOptions,
  FakeChutesServer,
  FakeCounters,
  FakeUsageRow,
  IssuedTokens,
  RecordedRequest
} from "./FakeChutes/types.js"

/**
 * The running fake as a service.
 *
 * @since 0.1.0
 */
export class FakeChutes extends Context.Tag("effect-chutes/testing/FakeChutes")<FakeChutes, FakeChutesServer>() {}

/**
 * Start a fake on 127.0.0.1 (ephemeral port unless `options.port`) for the lifetime of the scope: it closes with the
 * scope, or earlier with its `close()`. A failure to listen is a defect.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { FakeChutes } from "effect-chutes/testing"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const fake = yield* FakeChutes.make()
 *   fake.fault({ _tag: "Status", route: "models", status: 503, times: 1 })
 *   const res = yield* Effect.promise(() => fetch(`${fake.baseUrl}/models`))
 *   return [res.status, fake.counters.models] // [503, 1]
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: FakeChutesOptions = {}): Effect.Effect<FakeChutesServer, never, Scope.Scope> =>
  Effect.orDie(Server.make(options))

/**
 * A layer providing a running fake, closed with the layer. Point the provider at it with `settings.baseUrl` and its
 * `apiKey`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { ChutesProvider } from "effect-chutes"
 * import { NodeChutes } from "effect-chutes/node"
 * import { FakeChutes } from "effect-chutes/testing"
 *
 * // The provider over the fake: discovery and chat go to 127.0.0.1.
 * const provider = Layer.unwrapEffect(
 *   Effect.map(FakeChutes.FakeChutes, (fake) =>
 *     NodeChutes.layer({ settings: { baseUrl: fake.baseUrl, diskCachePath: false }, credential: { apiKey: fake.apiKey } }))
 * ).pipe(Layer.provide(FakeChutes.layer()))
 *
 * const live = Effect.flatMap(ChutesProvider.ChutesProvider, (chutes) => chutes.discover).pipe(
 *   Effect.map((snapshot) => snapshot.models.length),
 *   Effect.provide(provider)
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options?: FakeChutesOptions): Layer.Layer<FakeChutes> => Layer.scoped(FakeChutes, make(options))

/**
 * Start a fake outside Effect (scripts, plain Promise tests); stop it with `close()`. Rejects with the listen error
 * (e.g. `EADDRINUSE`) when the port is taken.
 *
 * @since 0.1.0
 */
export const start = async (options: FakeChutesOptions = {}): Promise<FakeChutesServer> => {
  const exit = await Effect.runPromiseExit(
    Effect.flatMap(Scope.make(), (scope) => Scope.extend(Server.make(options), scope))
  )
  if (Exit.isSuccess(exit)) return exit.value
  const error = Cause.squash(exit.cause)
  throw error instanceof Error && error.cause instanceof Error ? error.cause : error
}
