/**
 * The last good live catalog, kept on disk so a later process can fall back to it when discovery fails
 * (SPEC §3.3: live -> disk cache -> static). Reading and writing never fail the caller: a missing, unreadable or
 * malformed cache file is simply "no cache", and a failed write is logged.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { dirname } from "node:path"
import { ChutesSettings } from "./ChutesSettings.js"
import { ensurePrivateDir, writeAtomic } from "./internal/atomicFile.js"
import { ModelDefinition } from "./ModelCatalog.js"

/**
 * What is cached: the models of one live fetch, when it happened, and from which base URL.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CachedCatalog = Schema.Struct({
  version: Schema.Literal(1),
  baseUrl: Schema.String,
  fetchedAt: Schema.Number,
  models: Schema.Array(ModelDefinition)
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

const decode = Schema.decodeUnknownOption(Schema.parseJson(CachedCatalog))
const encode = Schema.encodeSync(Schema.parseJson(CachedCatalog))

/**
 * The cache file at `ChutesSettings.diskCachePath` (disabled when that is undefined).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFileSystem: Layer.Layer<CatalogCache, never, FileSystem.FileSystem | ChutesSettings> = Layer.effect(
  CatalogCache,
  Effect.gen(function*() {
    const settings = yield* ChutesSettings
    const fs = yield* FileSystem.FileSystem
    const path = settings.diskCachePath
    if (path === undefined) return noop
    return {
      load: fs.readFileString(path).pipe(
        Effect.map(decode),
        Effect.catchAll(() => Effect.succeed(Option.none()))
      ),
      save: (catalog) =>
        ensurePrivateDir(dirname(path)).pipe(
          Effect.zipRight(writeAtomic(path, encode(catalog))),
          Effect.provideService(FileSystem.FileSystem, fs),
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
