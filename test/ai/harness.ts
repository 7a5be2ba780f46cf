/**
 * Shared set-up of the `effect-chutes/ai` tests: FakeChutes on loopback, a provider over undici pointed at it, and
 * `ChutesLanguageModel` on top.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Stream from "effect/Stream"
import * as ChutesLanguageModel from "../../src/ai/ChutesLanguageModel.js"
import * as CatalogCache from "../../src/CatalogCache.js"
import * as ChutesCredentials from "../../src/ChutesCredentials.js"
import * as ChutesProvider from "../../src/ChutesProvider.js"
import * as ChutesSettings from "../../src/ChutesSettings.js"
import * as ModelDiscovery from "../../src/ModelDiscovery.js"
import type * as FakeChutes from "../../src/testing/FakeChutes.js"

/** The fake's API key as a static credential. */
export const apiKeyCredentials = (
  fake: Pick<FakeChutes.FakeChutesServer, "apiKey">
): Layer.Layer<ChutesCredentials.ChutesCredentials> =>
  ChutesCredentials.layerStatic(ChutesCredentials.make({ kind: "api_key", source: "test", secret: fake.apiKey }))

/**
 * `LanguageModel` over a provider over undici against the fake. The credentials layer is the provider's alone (its
 * client sets the bearer and does the forced refresh after a 401): the model sees only `ChutesProvider`.
 */
export const modelLayer = (
  fake: Pick<FakeChutes.FakeChutesServer, "baseUrl" | "apiKey">,
  options: Partial<ChutesLanguageModel.Options> & {
    readonly credentials?: Layer.Layer<ChutesCredentials.ChutesCredentials> | undefined
  } = {}
) => {
  const base = Layer.mergeAll(
    ChutesSettings.layer({ baseUrl: fake.baseUrl, diskCachePath: false, retry: { maxRetries: 0 } }),
    NodeHttpClient.layerUndici
  )
  const services = Layer.mergeAll(
    ModelDiscovery.layer,
    CatalogCache.layerMemory(),
    options.credentials ?? apiKeyCredentials(fake)
  ).pipe(Layer.provideMerge(base))
  const provider = ChutesProvider.layerWithoutDependencies().pipe(Layer.provide(services))
  return ChutesLanguageModel.layer({
    model: options.model ?? "zai-org/GLM-5-TEE",
    fallbackModels: options.fallbackModels,
    config: options.config,
    retry: options.retry ?? { maxRetries: 0 },
    timeouts: options.timeouts,
    limits: options.limits
  }).pipe(
    Layer.provideMerge(provider),
    Layer.orDie,
    // The fake's catalog lacks the default model and two alias targets: the provider warns; tests need no noise.
    Layer.merge(Logger.minimumLogLevel(LogLevel.Error))
  )
}

/** The parts of a streamed answer, in order. */
export const collect = (options: { readonly prompt: string }) =>
  LanguageModel.streamText(options).pipe(Stream.runCollect, Effect.map((chunk) => Array.from(chunk)))

/** The parts of one type. */
export const ofType = <T extends Response.AnyPart["type"]>(
  parts: ReadonlyArray<Response.AnyPart>,
  type: T
): Array<Extract<Response.AnyPart, { readonly type: T }>> =>
  parts.filter((part): part is Extract<Response.AnyPart, { readonly type: T }> => part.type === type)
