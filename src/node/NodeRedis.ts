/**
 * The auth profile store and the catalog cache on Redis, so that a fleet of hosts (replicas, machines) shares one
 * Chutes sign-in (docs/deployments.md). Chutes' refresh tokens are single-use and rotate: hosts that each kept a copy would
 * sign each other out at the first refresh; with one shared store, one host refreshes and the others use its tokens.
 *
 * Keys, under `keyPrefix` (default `effect-chutes:`):
 * - `<prefix>auth-profiles`: a hash, `doc` = the `auth-profiles.json` document (other providers' profiles and unknown
 *   fields kept), `version` = a counter every write bumps (writes are compare-and-set on it);
 * - `<prefix>auth-profiles:lock`: the refresh lock (set-if-absent with a lease and a random token, renewed while held,
 *   released by its holder only, atomically);
 * - `<prefix>auth-cooldowns`: the profiles' cooldowns (`AuthProfileStore.Service.cooldowns`, `AuthCooldowns`), a hash
 *   with one field per profile id holding the cooldown's JSON; a field that does not decode is skipped and replaced
 *   by the next cooldown of that profile;
 * - `<prefix>models-cache`: the last good live catalog.
 *
 * A refresh runs as on one host, with the lock on Redis: the single flight inside the process, then the lock, re-read,
 * refresh only if still due, write (compare-and-set), release. A refresh request that may have reached the identity
 * provider is never retried. Redis unreachable is `StoreError` `Unreachable` (the credential fails with reason
 * `Store`, and discovery falls back as for any credential failure); a lease lost while another writer changed the
 * store is `LeaseLost`. Nothing is ever deleted but cooldowns (cleared, or ended more than a day ago).
 *
 * `NodeChutes.layer` and the CLI use it when `CHUTES_REDIS_URL` is set (`layerConfig`), or with
 * `NodeChutes.layer({ redis: { url } })`. `config.json5` stays a file on each host. The URL is never shown with its
 * password. Use `rediss://` and a password (AUTH) in production: the store holds refresh tokens and client secrets.
 *
 * @since 0.4.0
 */
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as AuthProfileStore from "../AuthProfileStore.js"
import * as CatalogCache from "../CatalogCache.js"
import { StoreError } from "../ChutesError.js"
import * as ChutesSettings from "../ChutesSettings.js"
import { fromBackend } from "../internal/authProfileBackend.js"
import { firstIssue } from "../internal/parseIssue.js"
import * as AuthProfiles from "./redis/authProfiles.js"
import * as Connection from "./redis/connection.js"
import * as Cooldowns from "./redis/cooldowns.js"
import * as RedisLock from "./redis/lock.js"

/**
 * Where the shared store is and how its lock behaves.
 *
 * @since 0.4.0
 * @category models
 */
export interface Options {
  /** `redis://` or `rediss://` (TLS), with the password: `rediss://:<password>@host:6380/0`. Never printed whole. */
  readonly url: string | Redacted.Redacted<string>
  /** Prefix of every key; default `effect-chutes:`. Give each account or environment its own. */
  readonly keyPrefix?: string | undefined
  /**
   * The lease of the refresh lock; default 10 s. A live holder renews it every third of it; a dead holder's lock is
   * taken over once it runs out.
   */
  readonly lockLease?: Duration.DurationInput | undefined
  /** How long `modify` waits for the lock before `StoreError` `Locked`; default the larger of lease + 5 s and 40 s. */
  readonly lockTimeout?: Duration.DurationInput | undefined
  /** How long one Redis command may take (also the connect time-out); default 5 s. */
  readonly commandTimeout?: Duration.DurationInput | undefined
}

/**
 * The default key prefix.
 *
 * @since 0.4.0
 * @category constants
 */
export const DEFAULT_KEY_PREFIX = "effect-chutes:"

/**
 * A Redis URL safe to print: the password replaced by `***`, no query string.
 *
 * @since 0.4.0
 * @category utils
 */
export const redactUrl: (url: string) => string = Connection.redactUrl

/** The shared services of one connection. */
interface Shared {
  readonly store: AuthProfileStore.Service
  readonly cache: CatalogCache.Service
}

const connect = (options: Options) => {
  const url = Redacted.isRedacted(options.url) ? options.url : Redacted.make(options.url)
  return Connection.make(url, { commandTimeout: Duration.decode(options.commandTimeout ?? Duration.seconds(5)) })
}

const storeOn = (connection: Connection.Connection, options: Options): Effect.Effect<AuthProfileStore.Service> => {
  const lease = Duration.decode(options.lockLease ?? Duration.seconds(10))
  const timeout = options.lockTimeout === undefined
    ? Duration.max(Duration.sum(lease, Duration.seconds(5)), Duration.seconds(40))
    : Duration.decode(options.lockTimeout)
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX
  const cooldowns = Cooldowns.make(connection, `${prefix}auth-cooldowns`)
  return Effect.map(
    AuthProfiles.make(connection, RedisLock.make(connection), `${prefix}auth-profiles`, { lease, timeout }),
    (backend) => fromBackend(backend, cooldowns)
  )
}

const decodeCatalog = Schema.decodeUnknownOption(Schema.parseJson(CatalogCache.CachedCatalog))
const encodeCatalog = Schema.encodeEither(Schema.parseJson(CatalogCache.CachedCatalog))

const cacheOn = (connection: Connection.Connection, options: Options): CatalogCache.Service => {
  const key = `${options.keyPrefix ?? DEFAULT_KEY_PREFIX}models-cache`
  const path = `${connection.location} key ${key}`
  const cap = CatalogCache.maxBytes(ChutesSettings.defaults)
  return {
    // Like the file cache, it never fails the caller: an unreachable Redis or a bad value is "no cache".
    // Its size first: a value over the cap never crosses the network.
    load: Connection.readWithin(connection, path, {
      size: (client) => client.strlen(key),
      read: (client) => client.get(key),
      cap,
      tooLarge: (size) =>
        new StoreError({ reason: "Corrupt", path, detail: `${size} bytes, over its cap of ${cap} bytes` }),
      sizeCommand: "STRLEN"
    }).pipe(
      Effect.map((text) => Option.flatMap(Option.fromNullable(text), decodeCatalog)),
      Effect.catchAll((error) =>
        Effect.as(Effect.logWarning(`the shared model catalog cache is not used: ${error.detail ?? error.reason}`), Option.none())
      )
    ),
    save: (catalog) =>
      Effect.gen(function*() {
        // A catalog the reader would refuse (an empty list, a time no `Date` holds) is not written.
        const encoded = encodeCatalog(catalog)
        if (Either.isLeft(encoded)) {
          return yield* Effect.logWarning(`the shared model catalog cache is not saved: ${firstIssue(encoded.left)}`)
        }
        const text = encoded.right
        // In bytes, as STRLEN counts them when it is read back (a character may take up to four).
        if (Buffer.byteLength(text, "utf8") > cap) {
          return yield* Effect.logWarning(`the shared model catalog cache is not saved: over its cap of ${cap} bytes`)
        }
        yield* connection.run(path, (client) => client.set(key, text))
      }).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(`could not save the shared model catalog cache: ${error.detail ?? error.reason}`)
        )
      )
  }
}

const makeShared = (options: Options): Effect.Effect<Shared, never, Scope.Scope> =>
  Effect.gen(function*() {
    const connection = yield* connect(options)
    return { store: yield* storeOn(connection, options), cache: cacheOn(connection, options) }
  })

/**
 * The auth profile store on Redis (see the module comment), with its own connection, closed with the scope.
 *
 * @since 0.4.0
 * @category constructors
 */
export const makeAuthProfileStore = (options: Options): Effect.Effect<AuthProfileStore.Service, never, Scope.Scope> =>
  Effect.map(makeShared(options), (shared) => shared.store)

/**
 * The auth profile store on Redis as the `AuthProfileStore` itself.
 *
 * @since 0.4.0
 * @category layers
 */
export const layerAuthProfileStore = (options: Options): Layer.Layer<AuthProfileStore.AuthProfileStore> =>
  Layer.scoped(AuthProfileStore.AuthProfileStore, makeAuthProfileStore(options))

/**
 * The catalog cache on Redis as the `CatalogCache` itself. It never fails the caller (like the file cache).
 *
 * @since 0.4.0
 * @category layers
 */
export const layerCatalogCache = (options: Options): Layer.Layer<CatalogCache.CatalogCache> =>
  Layer.scoped(CatalogCache.CatalogCache, Effect.map(makeShared(options), (shared) => shared.cache))

/**
 * The store and the cache on Redis as the shared ones (`AuthProfileStore.SharedStore`, `CatalogCache.SharedCache`),
 * over one connection: the default wiring (`ChutesProvider.layer`, the CLI) then uses them instead of the files.
 * `NodeChutes.layer({ redis })` does this.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { ChutesProvider } from "effect-chutes"
 * import { NodeChutes, NodeRedis } from "effect-chutes/node"
 *
 * // The provider over a shared store whose URL comes from a secret manager rather than CHUTES_REDIS_URL.
 * const Chutes = ChutesProvider.layer().pipe(
 *   Layer.provide(NodeRedis.layerShared({ url: "rediss://:secret@cache.internal:6380/0", keyPrefix: "prod:" })),
 *   Layer.provide(NodeChutes.layerPlatform)
 * )
 *
 * const models = Effect.flatMap(ChutesProvider.ChutesProvider, (chutes) => chutes.catalog).pipe(Effect.provide(Chutes))
 * ```
 *
 * @since 0.4.0
 * @category layers
 */
export const layerShared = (options: Options): Layer.Layer<AuthProfileStore.SharedStore | CatalogCache.SharedCache> =>
  Layer.scopedContext(Effect.map(makeShared(options), (shared) =>
    Context.make(AuthProfileStore.SharedStore, Option.some(shared.store)).pipe(
      Context.add(CatalogCache.SharedCache, Option.some(shared.cache))
    )))

/**
 * No shared store or cache: the files are used.
 *
 * @since 0.4.0
 * @category layers
 */
export const layerNone: Layer.Layer<AuthProfileStore.SharedStore | CatalogCache.SharedCache> = Layer.succeedContext(
  Context.make(AuthProfileStore.SharedStore, Option.none()).pipe(Context.add(CatalogCache.SharedCache, Option.none()))
)

/**
 * `layerShared` for `CHUTES_REDIS_URL` when it is set (with `options` for the rest), else `layerNone`. Part of
 * `NodeChutes.layerPlatform`, so `NodeChutes.layer()` and the CLI follow the variable. Nothing connects before the
 * first use.
 *
 * @since 0.4.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<Options, "url"> = {}
): Layer.Layer<AuthProfileStore.SharedStore | CatalogCache.SharedCache, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const url = yield* ChutesSettings.redisUrlConfig
    return Option.isSome(url) ? layerShared({ ...options, url: url.value }) : layerNone
  }))
