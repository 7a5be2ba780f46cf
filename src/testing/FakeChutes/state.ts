/**
 * The fake's state: every mutable fact in a `Ref`, reached by the routers through the `FakeState` service.
 */
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Ref from "effect/Ref"
import type { ActiveFault } from "./faults.js"
import * as Account from "./accountState.js"
import { type Catalog, catalogOf, seedModels } from "./catalog.js"
import type {
  ChatAvailability,
  FakeAccountState,
  ChatErrorReply,
  ChatReply,
  FakeChutesOptions,
  FakeCounters,
  RecordedRequest
} from "./types.js"

/**
 * A fake API key shaped like a real one (`cpk_` + 32 hex + `.` + 32 hex + `.` + 32 alphanumerics) and obviously fake.
 *
 * @since 0.1.0
 */
export const defaultApiKey: string = "cpk_" + "0123456789abcdef".repeat(2) + "." + "fedcba9876543210".repeat(2) + "." +
  "FAKEfake".repeat(4)

/** The scope of tokens issued without an authorization request (`issueTokens`). */
export const defaultScope = "openid profile chutes:invoke"

/** What the options fix for the life of the server. */
export interface Config {
  readonly apiKeys: ReadonlySet<string>
  /** Accepted on `/v1/...`, refused (401) on `/users/me*`. */
  readonly scopedApiKeys: ReadonlySet<string>
  readonly apiKey: string
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly redirectUris: ReadonlySet<string>
  readonly username: string
  readonly sub: string
}

export interface Settings {
  readonly accessTokenTtl: number
  readonly autoApprove: boolean
  /** The account side's clock against the wall clock (see `FakeChutesOptions.clockOffsetMillis`). */
  readonly clockOffsetMillis: number
}

export interface AccessTokenRecord {
  readonly clientId: string
  readonly scope: string
  readonly expiresAt: number
}
export interface RefreshTokenRecord {
  readonly clientId: string
  readonly scope: string
  readonly used: boolean
}
export interface CodeRecord {
  readonly clientId: string
  readonly redirectUri: string
  readonly challenge: string
  readonly scope: string
  readonly expiresAt: number
}
export interface PendingAuthorization {
  readonly clientId: string
  readonly redirectUri: string
  readonly state: string | undefined
  readonly challenge: string
  readonly scope: string
  readonly expiresAt: number
}

/** The IdP's tokens, authorization codes and consent pages awaiting a decision. */
export interface Tokens {
  readonly access: HashMap.HashMap<string, AccessTokenRecord>
  readonly refresh: HashMap.HashMap<string, RefreshTokenRecord>
  readonly codes: HashMap.HashMap<string, CodeRecord>
  readonly pending: HashMap.HashMap<string, PendingAuthorization>
}

/** The chat script, availability overrides and recorded bodies. */
export interface ChatState {
  readonly script: ReadonlyArray<ChatReply | ChatErrorReply>
  readonly defaultReply: ChatReply | undefined
  readonly availability: ReadonlyMap<string, ChatAvailability>
  readonly bodies: Chunk.Chunk<unknown>
}

/** @internal */
export interface State {
  readonly config: Config
  /** `"http://127.0.0.1:PORT"`, set once the server listens. */
  readonly url: Ref.Ref<string>
  readonly settings: Ref.Ref<Settings>
  readonly catalog: Ref.Ref<Catalog>
  readonly counters: Ref.Ref<FakeCounters>
  readonly requests: Ref.Ref<Chunk.Chunk<RecordedRequest>>
  readonly faults: Ref.Ref<ReadonlyArray<ActiveFault>>
  readonly tokens: Ref.Ref<Tokens>
  readonly chat: Ref.Ref<ChatState>
  readonly account: Ref.Ref<FakeAccountState>
  /** The UTC day (`2026-06-11`) the daily quota counter was last used on; `""` before the first chat call. */
  readonly quotaDay: Ref.Ref<string>
}

/** The state of the running fake, for its routers. */
export class FakeState extends Context.Tag("effect-chutes/testing/FakeChutes/State")<FakeState, State>() {}

export const zeroCounters: FakeCounters = {
  models: 0,
  token: 0,
  tokenByGrant: { authorization_code: 0, refresh_token: 0 },
  invalidGrant: 0,
  userinfo: 0,
  revoke: 0,
  authorize: 0,
  chat: 0,
  unauthorized: 0,
  account: 0,
  stats: 0
}

/** The counters that count one thing each (`tokenByGrant` is split by grant type). */
export type Counter = Exclude<keyof FakeCounters, "tokenByGrant">

const emptyChat: ChatState = { script: [], defaultReply: undefined, availability: new Map(), bodies: Chunk.empty() }

export const configOf = (options: FakeChutesOptions): Config => {
  const username = options.username ?? "alice"
  return {
    apiKeys: new Set(options.apiKeys ?? [defaultApiKey]),
    scopedApiKeys: new Set(options.scopedApiKeys ?? []),
    apiKey: options.apiKeys?.[0] ?? defaultApiKey,
    clientId: options.clientId ?? "cid_fake_client",
    clientSecret: options.clientSecret === undefined
      ? "cs_fake_secret"
      : options.clientSecret === null || options.clientSecret === ""
      ? undefined
      : options.clientSecret,
    redirectUris: new Set(options.redirectUris ?? ["http://127.0.0.1:1456/oauth-callback"]),
    username,
    sub: options.sub ?? `user-${username}-0001`
  }
}

export const make = (options: FakeChutesOptions): Effect.Effect<State> =>
  Effect.all({
    url: Ref.make(""),
    settings: Ref.make<Settings>({
      accessTokenTtl: options.accessTokenTtlSeconds ?? 3600,
      autoApprove: options.autoApprove ?? false,
      clockOffsetMillis: options.clockOffsetMillis ?? 0
    }),
    catalog: Ref.make(catalogOf(options.models ?? seedModels())),
    counters: Ref.make(zeroCounters),
    requests: Ref.make(Chunk.empty<RecordedRequest>()),
    faults: Ref.make<ReadonlyArray<ActiveFault>>([]),
    tokens: Ref.make<Tokens>({
      access: HashMap.empty(),
      refresh: HashMap.empty(),
      codes: HashMap.empty(),
      pending: HashMap.empty()
    }),
    chat: Ref.make(emptyChat),
    account: Ref.make(Account.initial(options.account)),
    quotaDay: Ref.make("")
  }).pipe(Effect.map((refs): State => ({ config: configOf(options), ...refs })))

/** The account side's clock: the wall clock plus the offset (epoch milliseconds). */
export const now = (state: State): Effect.Effect<number> =>
  Effect.map(Ref.get(state.settings), (settings) => Date.now() + settings.clockOffsetMillis)

export const count = (state: State, counter: Counter): Effect.Effect<void> =>
  Ref.update(state.counters, (counters) => ({ ...counters, [counter]: counters[counter] + 1 }))

export const countGrant = (state: State, grant: keyof FakeCounters["tokenByGrant"]): Effect.Effect<void> =>
  Ref.update(state.counters, (counters) => ({
    ...counters,
    tokenByGrant: { ...counters.tokenByGrant, [grant]: counters.tokenByGrant[grant] + 1 }
  }))

/**
 * Zero the counters, clear the faults, the request log and the chat script; tokens, catalog, settings and the account
 * stay.
 */
export const reset = (state: State): Effect.Effect<void> =>
  Effect.all([
    Ref.set(state.counters, zeroCounters),
    Ref.set(state.faults, []),
    Ref.set(state.requests, Chunk.empty()),
    Ref.set(state.chat, emptyChat)
  ], { discard: true })
