/**
 * The SDK as the benchmark runs it: the services of `NodeChutes.layer` (undici HTTP client, Node file system,
 * settings and credentials the way `ChutesProvider.layer` reads them, live discovery, the disk cache in a temp state
 * directory) built ONCE into a runtime, so that an iteration can build just a fresh provider on top of them.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as CatalogCache from "../src/CatalogCache.js"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import type * as ModelCatalog from "../src/ModelCatalog.js"
import * as ModelDiscovery from "../src/ModelDiscovery.js"
import * as NodeChutes from "../src/node/NodeChutes.js"

/**
 * What a provider needs, minus its scope.
 */
export type Services =
  | ChutesSettings.ChutesSettings
  | ChutesCredentials.ChutesCredentials
  | ModelDiscovery.ModelDiscovery
  | CatalogCache.CatalogCache
  | Layer.Layer.Success<typeof NodeChutes.layerPlatform>

/**
 * The services, composed like `ChutesProvider.layer` + `NodeChutes.layerPlatform`. Log output is dropped (the
 * generated catalogs lack the default model, so every fetch warns); the warnings are still computed.
 */
export const servicesLayer = (options: {
  readonly baseUrl: string
  readonly apiKey: string
  readonly stateDir: string
}): Layer.Layer<Services> =>
  Layer.mergeAll(
    ChutesCredentials.layerEnv({ apiKey: options.apiKey }),
    ModelDiscovery.layer,
    CatalogCache.layerFile
  ).pipe(
    Layer.provideMerge(ChutesSettings.layerConfig({ baseUrl: options.baseUrl, stateDir: options.stateDir }).pipe(Layer.orDie)),
    Layer.provideMerge(NodeChutes.layerPlatform),
    Layer.provideMerge(Logger.replace(Logger.defaultLogger, Logger.none))
  )

/**
 * A runtime over the services.
 */
export type Runtime = ManagedRuntime.ManagedRuntime<Services, never>

/**
 * Builds the runtime once.
 */
export const makeRuntime = (options: Parameters<typeof servicesLayer>[0]): Runtime =>
  ManagedRuntime.make(servicesLayer(options))

/**
 * A fresh provider in a fresh scope: what `Effect.provide(NodeChutes.layer())` gives, minus the platform services.
 */
export const freshProvider = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const provider = yield* ChutesProvider.make().pipe(Scope.extend(scope), Effect.orDie)
  return { provider, close: Scope.close(scope, Exit.void) }
})

/**
 * The credential the services resolved (for calling `ModelDiscovery.fetch` directly).
 */
export const credential = Effect.flatMap(ChutesCredentials.ChutesCredentials, (c) => c.get).pipe(Effect.orDie)

/**
 * `ModelDiscovery.fetch` with the resolved credential.
 */
export const fetchModels = (credential: Option.Option<ChutesCredentials.Credential>) =>
  Effect.flatMap(ModelDiscovery.ModelDiscovery, (discovery) => discovery.fetch(credential))

/**
 * Fails loudly when a catalog is not the size the fake serves: a benchmark of a failing call would be meaningless.
 */
export const expectModels = (
  what: string,
  models: ReadonlyArray<ModelCatalog.ModelDefinition> | ReadonlyArray<unknown>,
  expected: number
): void => {
  if (models.length !== expected) throw new Error(`${what}: expected ${expected} models, got ${models.length}`)
}
