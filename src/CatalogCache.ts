/**
 * The last good live catalog, kept on disk so a later process can fall back to it when discovery fails
 * (live -> disk cache -> static; docs/reliability.md). Reading and writing never fail the caller: a missing, unreadable
 * or malformed cache file is simply "no cache" (a malformed one with a warning), and a failed write is logged.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ChutesSettings } from "./ChutesSettings.js"
import { ModelDefinition } from "./ModelCatalog.js"
import { MAX_DATE_MILLIS } from "./internal/dates.js"
import { firstIssue } from "./internal/parseIssue.js"
import * as PrivateFiles from "./PrivateFiles.js"

/**
 * What is cached: the models of one live fetch, when it happened, and from which base URL.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CachedCatalog = Schema.Struct({
  version: Schema.Literal(1),
  baseUrl: Schema.String,
  /** Milliseconds since the epoch, within what a `Date` holds. */
  fetchedAt: Schema.Number.pipe(Schema.between(0, MAX_DATE_MILLIS)),
  /** Never empty: live discovery refuses an empty list, and so does the cache. */
  models: Schema.Array(ModelDefinition).pipe(Schema.minItems(1))
})

/**
 * @since 0.1.0
 * @category models
 */
export type CachedCatalog = typeof CachedCatalog.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly load: Effect.Effect<Option.Option<CachedCatalog>>
  readonly save: (catalog: CachedCatalog) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CatalogCache extends Context.Tag("effect-chutes/CatalogCache")<CatalogCache, Service>() {}

/**
 * A cache shared by several hosts that the default wiring uses instead of the file: when it is set, `layerFile` (which
 * `ChutesProvider.layer` and the CLI use) provides this cache. `effect-chutes/node` sets it from `CHUTES_REDIS_URL`
 * (`NodeRedis`, docs/deployments.md); unset (the default), the file is used.
 *
 * @since 0.4.0
 * @category tags
 */
export class SharedCache extends Context.Reference<SharedCache>()("effect-chutes/CatalogCache/SharedCache", {
  defaultValue: (): Option.Option<Service> => Option.none()
}) {}

const decode = Schema.decodeUnknownOption(Schema.parseJson(CachedCatalog))
const encode = Schema.encodeEither(Schema.parseJson(CachedCatalog))

/**
 * The largest cache file read or written: twice the discovery body cap, and at least 16 MiB. A cache takes about 0.4
 * bytes per byte of the `/models` body it came from (1.8 MB for 5,000 models), but a body of minimal items maps to
 * larger definitions.
 *
 * @since 0.2.0
 * @category constants
 */
export const maxBytes = (settings: { readonly maxResponseBytes: number }): number =>
  Math.max(16 * 1024 * 1024, 2 * settings.maxResponseBytes)

/**
 * The cache file at `ChutesSettings.diskCachePath` (disabled when that is undefined), read and written through the
 * `PrivateFiles` in context (`NodePrivateFiles.layer` on Node, `PrivateFiles.layerFileSystem` over any `FileSystem`).
 * A file that someone else could change, a symbolic link, not a regular file or over `maxBytes` is not used (a
 * warning says why); a catalog too large for the cap is not written. When a `SharedCache` is set, that cache is
 * provided instead.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile: Layer.Layer<CatalogCache, never, PrivateFiles.PrivateFiles | ChutesSettings> = Layer.effect(
  CatalogCache,
  Effect.gen(function*() {
    const shared = yield* SharedCache
    if (Option.isSome(shared)) return shared.value
    const settings = yield* ChutesSettings
    const files = yield* PrivateFiles.PrivateFiles
    const path = settings.diskCachePath
    if (path === undefined) return noop
    const policy: PrivateFiles.Policy = { allowGroupWritable: settings.allowGroupWritable }
    const cap = maxBytes(settings)
    return {
      load: files.readFile(path, { ...policy, maxBytes: cap }).pipe(
        Effect.flatMap((text): Effect.Effect<Option.Option<CachedCatalog>> => {
          if (Option.isNone(text)) return Effect.succeedNone
          const catalog = decode(text.value)
          return Option.isSome(catalog) ? Effect.succeed(catalog) : Effect.as(
            Effect.logWarning(`the model catalog cache is not used: ${path} does not hold a catalog this version reads`),
            catalog
          )
        }),
        Effect.catchAll((error) =>
          Effect.as(
            error.reason === "Unsafe" || error.reason === "TooLarge"
              ? Effect.logWarning(`the model catalog cache is not used: ${error.message}`)
              : Effect.void,
            Option.none()
          )
        )
      ),
      save: (catalog) =>
        Effect.gen(function*() {
          // A catalog the reader would refuse (an empty list, a time no `Date` holds) is not written.
          const encoded = encode(catalog)
          if (Either.isLeft(encoded)) {
            return yield* Effect.logWarning(`the model catalog cache is not saved: ${firstIssue(encoded.left)}`)
          }
          const text = encoded.right
          const size = new TextEncoder().encode(text).length
          if (size > cap) {
            return yield* Effect.logWarning(
              `the model catalog cache is not saved: ${size} bytes, over its cap of ${
                PrivateFiles.formatBytes(cap)
              }`
            )
          }
          yield* files.ensureDirectory(PrivateFiles.parentOf(path), policy)
          yield* files.writeFileAtomic(path, text, policy)
        }).pipe(
          Effect.catchAll((error) => Effect.logWarning(`could not save the model catalog cache: ${error.message}`))
        )
    }
  })
)

const noop: Service = { load: Effect.succeedNone, save: () => Effect.void }

/**
 * No disk cache: the fallback goes from live straight to static.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNone: Layer.Layer<CatalogCache> = Layer.succeed(CatalogCache, noop)

/**
 * An in-memory cache, for tests: optionally pre-filled.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (initial?: CachedCatalog | undefined): Layer.Layer<CatalogCache> =>
  Layer.sync(CatalogCache, () => {
    let current = Option.fromNullable(initial)
    return {
      load: Effect.sync(() => current),
      save: (catalog) => Effect.sync(() => void (current = Option.some(catalog)))
    }
  })
