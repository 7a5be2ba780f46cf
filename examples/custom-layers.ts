/**
 * Swapping layers: an app that brings its own credential source (a "vault") and its own discovery (a fixed,
 * curated model list), keeping the rest of the provider — resolution, aliases, caching, fallback — as it is.
 *
 * `npx tsx examples/custom-layers.ts` (offline).
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import {
  CatalogCache,
  ChutesCredentials,
  ChutesProvider,
  ChutesSettings,
  DiscoveryError,
  ModelCatalog,
  ModelDiscovery
} from "effect-chutes"
import { NodeChutes } from "effect-chutes/node"

// A credential layer backed by the app's own secret store.
const VaultCredentials = Layer.succeed(ChutesCredentials.ChutesCredentials, {
  get: Effect.succeed(Option.some(ChutesCredentials.make({
    kind: "api_key",
    source: "vault:chutes/prod",
    secret: Redacted.make("cpk_from_the_vault")
  }))),
  forceRefresh: () => Effect.succeedNone
})

// A discovery layer that serves a curated list instead of calling the service.
const CuratedDiscovery = ModelDiscovery.layerStatic(
  ModelCatalog.STATIC_MODELS.filter((model) => model.reasoning)
)

// A discovery layer that is down, to show the fallback.
const DownDiscovery = ModelDiscovery.layerStatic(
  new DiscoveryError({ reason: "Transport", url: "https://llm.chutes.ai/v1/models", detail: "maintenance window" })
)

const providerWith = (discovery: Layer.Layer<ModelDiscovery.ModelDiscovery>) =>
  ChutesProvider.layerWithoutDependencies({ aliases: { fast: "chutes/openai/gpt-oss-120b-TEE" } }).pipe(
    Layer.provide(Layer.mergeAll(VaultCredentials, discovery, CatalogCache.layerNone, ChutesSettings.layer())),
    Layer.provide(NodeChutes.layerPlatform)
  )

const show = Effect.gen(function*() {
  const provider = yield* ChutesProvider.ChutesProvider
  const credential = yield* provider.credential
  const snapshot = yield* provider.catalog
  const fast = yield* provider.resolve("fast")
  yield* Console.log(`credential: ${ChutesCredentials.label(credential)}`)
  yield* Console.log(ModelCatalog.describeSource(snapshot))
  yield* Console.log(`"fast" -> ${fast.ref} (known: ${fast.known})\n`)
})

Effect.gen(function*() {
  yield* Console.log("== curated discovery")
  yield* show.pipe(Effect.provide(providerWith(CuratedDiscovery)))
  yield* Console.log("== discovery down")
  yield* show.pipe(Effect.provide(providerWith(DownDiscovery)))
}).pipe(
  // The provider logs its fallbacks as warnings; this example prints them from the snapshot instead.
  Logger.withMinimumLogLevel(LogLevel.Error),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
