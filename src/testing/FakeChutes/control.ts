/**
 * The control routes (`/__control/...`), through which other processes drive a fake started by
 * `scripts/fake-chutes.ts`: read the state and the request log, reset, inject and clear faults, replace the catalog,
 * change settings, issue tokens (with a scope) and script the account (`GET`/`POST /__control/account`) and move the account side's clock (`clockOffsetMillis` of
 * `POST /__control/settings`). They are
 * not recorded, counted or faulted. The same operations back the in-process `FakeChutesServer`.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as AccountState from "./accountState.js"
import { issue } from "./auth.js"
import { catalogOf, generateModels } from "./catalog.js"
import * as Faults from "./faults.js"
import { detailReply, jsonReply, type Reply } from "./reply.js"
import { defaultScope, FakeState, reset, type State } from "./state.js"
import type { IssuedTokens } from "./types.js"
import { respond } from "./writer.js"

// ---------------------------------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Tokens for the registered client, as if it had signed in (default lifetime: the current access token TTL; default
 * scope: the default scopes).
 */
export const issueTokens = (
  state: State,
  expiresIn: number | undefined,
  scope: string | undefined = undefined
): Effect.Effect<IssuedTokens> =>
  Effect.gen(function*() {
    const ttl = expiresIn ?? (yield* Ref.get(state.settings)).accessTokenTtl
    const tokens = yield* issue(state, state.config.clientId, scope ?? defaultScope, ttl)
    return { access: tokens.access, refresh: tokens.refresh, expiresIn: tokens.expiresIn }
  })

export const setModels = (state: State, items: ReadonlyArray<unknown>): Effect.Effect<void> =>
  Ref.set(state.catalog, catalogOf(items))

export const addFault = (state: State, fault: Faults.Fault): Effect.Effect<void> =>
  Ref.update(state.faults, (queue) => Faults.enqueue(queue, fault))

export const clearFaults = (state: State, route?: Faults.FakeRoute): Effect.Effect<void> =>
  Ref.update(state.faults, (queue) => Faults.clear(queue, route))

const snapshot = (state: State) =>
  Effect.gen(function*() {
    const counters = yield* Ref.get(state.counters)
    const settings = yield* Ref.get(state.settings)
    return {
      ...counters,
      tokenByGrant: { ...counters.tokenByGrant },
      requestCount: Chunk.size(yield* Ref.get(state.requests)),
      faults: Faults.describeQueue(yield* Ref.get(state.faults)),
      modelCount: (yield* Ref.get(state.catalog)).count,
      accessTokenTtlSeconds: settings.accessTokenTtl,
      autoApprove: settings.autoApprove,
      clockOffsetMillis: settings.clockOffsetMillis
    }
  })

// ---------------------------------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------------------------------

const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })

const ModelsBody = Schema.Struct({
  items: optional(Schema.Array(Schema.Unknown)),
  count: optional(Schema.Int.pipe(Schema.nonNegative()))
})
const SettingsBody = Schema.Struct({
  accessTokenTtlSeconds: optional(Schema.Number),
  autoApprove: optional(Schema.Boolean),
  clockOffsetMillis: optional(Schema.Number.pipe(Schema.finite()))
})
const TokensBody = Schema.Struct({ expiresIn: optional(Schema.Number), scope: optional(Schema.String) })
const ClearBody = Schema.Struct({ route: optional(Faults.FakeRoute) })

const ok = jsonReply(200, { ok: true })

/**
 * A control route taking a JSON body (an empty body reads as `{}`); a body that does not decode gets 400
 * `{"detail": <the parse error>}`.
 */
const withBody = <A, I>(
  path: `/__control/${string}`,
  schema: Schema.Schema<A, I>,
  handle: (state: State, body: A) => Effect.Effect<Reply>
) =>
  HttpRouter.post(
    path,
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const text = yield* request.text
      const decoded = Schema.decodeUnknownEither(Schema.parseJson(schema))(text.trim() === "" ? "{}" : text)
      if (Either.isLeft(decoded)) {
        return yield* respond(detailReply(400, ParseResult.TreeFormatter.formatErrorSync(decoded.left)))
      }
      return yield* respond(yield* handle(yield* FakeState, decoded.right))
    })
  )

const reply = (path: `/__control/${string}`, method: "GET" | "POST", handle: (state: State) => Effect.Effect<Reply>) =>
  HttpRouter.route(method)(path, Effect.flatMap(Effect.flatMap(FakeState, handle), respond))

/** The control router. Unknown control paths get 404, unrecorded. */
export const router = HttpRouter.empty.pipe(
  reply("/__control/state", "GET", (state) => Effect.map(snapshot(state), (value) => jsonReply(200, value))),
  reply("/__control/requests", "GET", (state) =>
    Effect.map(Ref.get(state.requests), (requests) => jsonReply(200, Chunk.toReadonlyArray(requests)))),
  reply("/__control/reset", "POST", (state) => Effect.as(reset(state), ok)),
  withBody("/__control/fault", Faults.Fault, (state, fault) => Effect.as(addFault(state, fault), ok)),
  withBody("/__control/clear-faults", ClearBody, (state, { route }) => Effect.as(clearFaults(state, route), ok)),
  withBody("/__control/models", ModelsBody, (state, { count, items }) => {
    const models = items ?? (count !== undefined ? generateModels(count) : undefined)
    if (models === undefined) return Effect.succeed(detailReply(400, "expected {\"items\": [...]} or {\"count\": N}"))
    return Effect.as(setModels(state, models), jsonReply(200, { ok: true, modelCount: models.length }))
  }),
  withBody("/__control/settings", SettingsBody, (state, settings) =>
    Ref.update(state.settings, (current) => ({
      accessTokenTtl: settings.accessTokenTtlSeconds ?? current.accessTokenTtl,
      autoApprove: settings.autoApprove ?? current.autoApprove,
      clockOffsetMillis: settings.clockOffsetMillis ?? current.clockOffsetMillis
    })).pipe(Effect.as(ok))),
  withBody("/__control/tokens", TokensBody, (state, { expiresIn, scope }) =>
    Effect.map(issueTokens(state, expiresIn, scope), (tokens) => jsonReply(200, tokens))),
  withBody("/__control/account", AccountState.AccountScript, (state, script) =>
    Ref.update(state.account, (account) => AccountState.apply(account, script)).pipe(Effect.as(ok))),
  reply("/__control/account", "GET", (state) =>
    Effect.map(Ref.get(state.account), (account) => jsonReply(200, account))),
  HttpRouter.all("/__control/*", respond(detailReply(404, "Not Found")))
)
