/**
 * Node wiring: the provider with Node's HTTP client and file system.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as NodeChutes from "./NodeChutes.js"
/** @since 0.2.0 */
export * as NodeFileLock from "./NodeFileLock.js"
/** @since 0.1.0 */
export * as NodeOAuthLogin from "./NodeOAuthLogin.js"
/** @since 0.2.0 */
export * as NodePrivateFiles from "./NodePrivateFiles.js"
/** @since 0.4.0 */
export * as NodeRedis from "./NodeRedis.js"
