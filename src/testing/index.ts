/**
 * Test doubles for apps that use effect-chutes: a faithful fake Chutes service on loopback (LLM API and IdP). A
 * provider with no I/O at all is `ChutesProvider.layerTest` in the core entry.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as FakeChutes from "./FakeChutes.js"

