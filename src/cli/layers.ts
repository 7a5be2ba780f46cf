/**
 * How the CLI builds its services: settings from `--config` / `--state-dir` over the environment, the Node platform,
 * and a terminal (`Prompter`) that is interactive only with a TTY on stdin and stdout and without `--non-interactive`.
 *
 * This module is loaded lazily (only by commands that touch files or the network), so `models list --offline` does not
 * pay for it at start-up.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as AgentConfig from "../AgentConfig.js"
import * as AuthProfileStore from "../AuthProfileStore.js"
import * as CatalogCache from "../CatalogCache.js"
import * as ChutesOAuth from "../ChutesOAuth.js"
import * as ChutesProvider from "../ChutesProvider.js"
import * as ChutesSettings from "../ChutesSettings.js"
import { type ConfigError, type InvalidModelRef, PromptError } from "../ChutesError.js"
import type * as ModelCatalog from "../ModelCatalog.js"
import * as ModelDiscovery from "../ModelDiscovery.js"
import { warnOnce } from "../internal/warnOnce.js"
import * as NodeChutes from "../node/NodeChutes.js"
import * as NodeOAuthLogin from "../node/NodeOAuthLogin.js"
import { BrowserOpener, CallbackServer, Prompter } from "../OAuthLogin.js"
import type { GlobalOptions } from "./global.js"
import { out, reportRetry, withProgress } from "./render.js"

/**
 * The settings of a command: `--state-dir` / `--config` win over `CHUTES_STATE_DIR` / `CHUTES_CONFIG_PATH`, which win
 * over the defaults.
 */
export const settingsOptions = (global: GlobalOptions): ChutesSettings.Options => ({
  stateDir: global.stateDir,
  configPath: global.configPath,
  // Each retry of discovery shows on the progress line: "attempt 2 of 4 after HTTP 503, retrying in 1.2 s".
  retry: { onRetry: reportRetry },
  followSuccessors: global.followSuccessors
})

/** `ChutesSettings` for a command. */
export const settingsLayer = (global: GlobalOptions): Layer.Layer<ChutesSettings.ChutesSettings> =>
  ChutesSettings.layerConfig(settingsOptions(global)).pipe(Layer.orDie)

/**
 * The file- and network-backed services the commands use — settings, auth profile store, agent config, OAuth protocol,
 * model discovery, catalog disk cache, and the HTTP client (onboarding builds a provider over them) — over the Node
 * platform.
 */
export type Services =
  | ChutesSettings.ChutesSettings
  | AuthProfileStore.AuthProfileStore
  | AgentConfig.AgentConfig
  | ChutesOAuth.ChutesOAuth
  | ModelDiscovery.ModelDiscovery
  | CatalogCache.CatalogCache
  | HttpClient.HttpClient

/** `Services` on Node for `global`. */
export const servicesLayer = (global: GlobalOptions): Layer.Layer<Services> =>
  Layer.mergeAll(
    AuthProfileStore.layerFile(),
    AgentConfig.layer(),
    ChutesOAuth.layer(),
    ModelDiscovery.layer,
    CatalogCache.layerFile
  ).pipe(Layer.provideMerge(settingsLayer(global)), Layer.provideMerge(NodeChutes.layerPlatform))

/**
 * The auth profile store alone, with the settings: the file in the state directory, or the shared store when
 * `CHUTES_REDIS_URL` is set (the same selection as `servicesLayer`). For `auth cooldowns` and the `--profile` check.
 */
export const storeLayer = (
  global: GlobalOptions
): Layer.Layer<AuthProfileStore.AuthProfileStore | ChutesSettings.ChutesSettings> =>
  AuthProfileStore.layerFile().pipe(Layer.provideMerge(settingsLayer(global)), Layer.provide(NodeChutes.layerPlatform))

/**
 * The settings and the Node platform alone (files, private-file checks, the file lock; the shared store when
 * `CHUTES_REDIS_URL` is set): for `auth move`, which opens the local file and the Redis store itself.
 */
export const platformLayer = (global: GlobalOptions) =>
  Layer.merge(settingsLayer(global), NodeChutes.layerPlatform)

/**
 * A `Prompter` for `--non-interactive`: never asks (every prompt fails with `PromptError` `NotInteractive` at once) but
 * still shows lines on stdout.
 */
export const nonInteractivePrompter: Layer.Layer<Prompter> = Layer.succeed(Prompter, {
  isInteractive: false,
  prompt: () =>
    Effect.fail(new PromptError({ reason: "NotInteractive", detail: "--non-interactive was given; nothing is asked" })),
  print: out
})

/** The terminal, the browser and the loopback server of a command: Node's, or none with `--non-interactive`. */
export const terminalLayer = (nonInteractive: boolean): Layer.Layer<Prompter | BrowserOpener | CallbackServer> =>
  nonInteractive
    ? Layer.mergeAll(nonInteractivePrompter, BrowserOpener.layerNone, CallbackServer.layerNone)
    : NodeOAuthLogin.layerPlatform

/**
 * The agent config's provider defaults (user aliases, default model, `followSuccessors`), read as the library reads
 * them (`AgentConfig.providerDefaults`); its warnings are said once. For what the CLI does without a provider
 * (`models resolve --offline`, onboarding); the provider reads the same config itself.
 */
export const configDefaults = (
  global: GlobalOptions
): Effect.Effect<AgentConfig.ProviderDefaults, ConfigError> =>
  Effect.gen(function*() {
    const config = yield* AgentConfig.AgentConfig
    const defaults = Option.match(yield* config.load, {
      onNone: () => AgentConfig.noProviderDefaults,
      onSome: AgentConfig.providerDefaults
    })
    for (const warning of defaults.warnings) yield* warnOnce(warning)
    return defaults
  }).pipe(
    Effect.provide(
      AgentConfig.layer().pipe(Layer.provide(settingsLayer(global)), Layer.provide(NodeChutes.layerPlatform))
    )
  )

/**
 * The provider for a command: settings from flags over env, Node platform. It reads the agent config at
 * `--config` / `CHUTES_CONFIG_PATH` itself (user aliases, default model, `followSuccessors`), as any app's
 * `NodeChutes.layer()` does. With `profile` (`--profile`, checked by `profile.ts`) that stored profile is pinned; run it
 * under `Profile.pinned`, which also keeps `CHUTES_API_KEY` / `CHUTES_OAUTH_TOKEN` from winning over it.
 */
export const providerLayer = (
  global: GlobalOptions,
  profile?: string | undefined
): Layer.Layer<ChutesProvider.ChutesProvider, InvalidModelRef> =>
  NodeChutes.layer({
    settings: settingsOptions(global),
    ...(profile !== undefined ? { profileId: profile, credentialSources: "profiles-only" } : {})
  })

/**
 * The provider's catalog (`refresh` when `force`), with a progress line while a live discovery runs — and only then:
 * without a credential (and without anonymous discovery) the provider answers with the built-in catalog at once, and
 * nothing says "Discovering".
 */
export const catalogWithProgress = (
  global: GlobalOptions,
  force: boolean
): Effect.Effect<ModelCatalog.CatalogSnapshot, never, ChutesProvider.ChutesProvider> =>
  Effect.gen(function*() {
    const provider = yield* ChutesProvider.ChutesProvider
    const settings = yield* ChutesSettings.fromEnv(settingsOptions(global))
    // The provider's own rule (ChutesProvider.ts, `lookup`): discovery needs a credential unless it may go anonymous.
    const credential = yield* Effect.either(provider.credential)
    const discovers = Either.isRight(credential) ||
      (credential.left.reason === "Missing" && settings.anonymousDiscovery)
    const catalog = force ? provider.refresh : provider.catalog
    return yield* discovers ? withProgress(`Discovering models at ${settings.baseUrl}/models`)(catalog) : catalog
  })
