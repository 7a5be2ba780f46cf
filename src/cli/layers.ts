/**
 * How the CLI builds its services: settings from `--config` / `--state-dir` over the environment, the Node platform,
 * and a terminal (`Prompter`) that is interactive only with a TTY on stdin and stdout and without `--non-interactive`.
 *
 * This module is loaded lazily (only by commands that touch files or the network), so `models list --offline` does not
 * pay for it at start-up.
 *
 * @internal
 */
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
import { type ConfigError, type InvalidModelRef, OAuthError } from "../ChutesError.js"
import type * as ModelCatalog from "../ModelCatalog.js"
import * as ModelDiscovery from "../ModelDiscovery.js"
import * as ModelRef from "../ModelRef.js"
import * as NodeChutes from "../node/NodeChutes.js"
import * as NodeOAuthLogin from "../node/NodeOAuthLogin.js"
import { BrowserOpener, Prompter } from "../OAuthLogin.js"
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
  ChutesSettings.layerConfig(settingsOptions(global))

/**
 * The file- and network-backed services the commands use — settings, auth profile store, agent config, OAuth protocol,
 * model discovery, catalog disk cache — over the Node platform.
 */
export type Services =
  | ChutesSettings.ChutesSettings
  | AuthProfileStore.AuthProfileStore
  | AgentConfig.AgentConfig
  | ChutesOAuth.ChutesOAuth
  | ModelDiscovery.ModelDiscovery
  | CatalogCache.CatalogCache

/** `Services` on Node for `global`. */
export const servicesLayer = (global: GlobalOptions): Layer.Layer<Services> =>
  Layer.mergeAll(
    AuthProfileStore.layerFile(),
    AgentConfig.layer,
    ChutesOAuth.layer,
    ModelDiscovery.layer,
    CatalogCache.layerFileSystem
  ).pipe(Layer.provideMerge(settingsLayer(global)), Layer.provide(NodeChutes.layerPlatform))

/**
 * A `Prompter` for `--non-interactive`: never asks (every prompt fails with `NotInteractive` at once) but still shows
 * lines on stdout.
 */
export const nonInteractivePrompter: Layer.Layer<Prompter> = Layer.succeed(Prompter, {
  isInteractive: false,
  prompt: () =>
    Effect.fail(new OAuthError({ reason: "NotInteractive", detail: "--non-interactive was given; nothing is asked" })),
  print: out
})

/** The terminal and the browser of a command: Node's, or none with `--non-interactive`. */
export const terminalLayer = (nonInteractive: boolean): Layer.Layer<Prompter | BrowserOpener> =>
  nonInteractive
    ? Layer.merge(nonInteractivePrompter, BrowserOpener.layerNone)
    : Layer.merge(NodeOAuthLogin.layerPrompter, NodeOAuthLogin.layerBrowserOpener)

/**
 * The user aliases of the agent config (`agents.defaults.models[ref].alias`), for `ChutesProvider.layer({ aliases })`.
 * Config warnings (OpenClaw's inverted aliases, …) are logged. Entries that merely repeat a built-in alias (onboarding
 * writes those into the config) are left out, so they keep being reported as built-in.
 */
export const userAliases = (
  global: GlobalOptions
): Effect.Effect<ConfigDefaults, ConfigError> =>
  Effect.gen(function*() {
    const aliases = yield* AgentConfig.loadUserAliases
    const config = yield* AgentConfig.AgentConfig
    const primary = Option.flatMap(yield* config.load, AgentConfig.primary)
    // The config's primary model is the provider's default model, when it is a valid ref.
    const defaultModel = Option.isSome(primary) && Either.isRight(ModelRef.parse(primary.value))
      ? primary.value
      : undefined
    if (Option.isSome(primary) && defaultModel === undefined) {
      yield* Effect.logWarning(`agents.defaults.model.primary ${JSON.stringify(primary.value)} is not a model ref; ignored`)
    }
    return {
      aliases,
      defaultModel,
      followSuccessors: Option.getOrUndefined(Option.flatMap(yield* config.load, AgentConfig.followSuccessors))
    }
  }).pipe(
    Effect.provide(
      AgentConfig.layer.pipe(Layer.provide(settingsLayer(global)), Layer.provide(NodeChutes.layerPlatform))
    )
  )

/**
 * What the agent config contributes to the provider: user aliases (an entry that repeats a built-in alias counts as
 * the built-in: see `ModelRef.makeUserAliases`), the default (primary) model, and `followSuccessors`.
 */
export interface ConfigDefaults {
  readonly aliases: ReadonlyArray<readonly [string, string]>
  readonly defaultModel: string | undefined
  readonly followSuccessors: boolean | undefined
}

/** The provider for a command: settings from flags over env, the given user aliases, Node platform. */
export const providerLayer = (
  global: GlobalOptions,
  defaults: ConfigDefaults = noConfigDefaults
): Layer.Layer<ChutesProvider.ChutesProvider, InvalidModelRef> =>
  NodeChutes.layer({
    settings: { ...settingsOptions(global), followSuccessors: global.followSuccessors ?? defaults.followSuccessors },
    aliases: defaults.aliases,
    defaultModel: defaults.defaultModel
  })

/** No config: no user aliases, the built-in default, successors as the environment says. */
export const noConfigDefaults: ConfigDefaults = { aliases: [], defaultModel: undefined, followSuccessors: undefined }

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

/**
 * Loads the user aliases, and on a config that cannot be read, warns and goes on without them (listing models must
 * not depend on a healthy config).
 */
export const userAliasesOrWarn = (global: GlobalOptions): Effect.Effect<ConfigDefaults> =>
  userAliases(global).pipe(
    Effect.catchAll((error) =>
      Effect.as(Effect.logWarning(`${error.message}; its aliases are ignored`), noConfigDefaults)
    )
  )
