/**
 * Test doubles for apps that use effect-chutes: a faithful fake Chutes service on loopback (LLM API and IdP) and a
 * provider layer with no I/O.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as FakeChutes from "./FakeChutes.js"

/**
 * A `ChutesProvider` with fixed discovery and credential and no I/O (re-exported from the core).
 *
 * @since 0.1.0
 */
export { layerTest as layerTestProvider } from "../ChutesProvider.js"
