/**
 * effect-chutes: the Chutes.ai model provider for Effect.
 *
 * The core entry: pure model refs and catalogs, and the services (settings, credentials, discovery, catalog cache,
 * account, provider) as layers. It loads neither the CLI nor `@effect/platform-node`; see `effect-chutes/node` for the wiring.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AgentConfig from "./AgentConfig.js"
/** @since 0.2.0 */
export * as Aliases from "./Aliases.js"
/** @since 0.3.0 */
export * as ChutesAccount from "./ChutesAccount.js"
/** @since 0.1.0 */
export * as AuthProfileStore from "./AuthProfileStore.js"
/** @since 0.5.0 */
export * as AuthCooldowns from "./AuthCooldowns.js"
/** @since 0.1.0 */
export * as CatalogCache from "./CatalogCache.js"
/** @since 0.1.0 */
export * as ChutesCredentials from "./ChutesCredentials.js"
/** @since 0.1.0 */
export * from "./ChutesError.js"
/** @since 0.1.0 */
export * as ChutesProvider from "./ChutesProvider.js"
/** @since 0.1.0 */
export * as ChutesSettings from "./ChutesSettings.js"
/** @since 0.2.0 */
export * as FileLock from "./FileLock.js"
/** @since 0.1.0 */
export * as ModelCatalog from "./ModelCatalog.js"
/** @since 0.1.0 */
export * as ModelDiscovery from "./ModelDiscovery.js"
/** @since 0.1.0 */
export * as ModelRef from "./ModelRef.js"
/** @since 0.2.0 */
export * as Successors from "./Successors.js"
/** @since 0.1.0 */
export * as ChutesOAuth from "./ChutesOAuth.js"
/** @since 0.2.0 */
export * as OAuthCallback from "./OAuthCallback.js"
/** @since 0.1.0 */
export * as OAuthLogin from "./OAuthLogin.js"
/** @since 0.2.0 */
export * as OAuthPkce from "./OAuthPkce.js"
/** @since 0.2.0 */
export * as PrivateFiles from "./PrivateFiles.js"
