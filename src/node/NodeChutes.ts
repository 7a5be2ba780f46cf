/**
 * `ChutesProvider` with everything wired for Node: the undici-based HTTP client, the Node file system and path, the
 * hardened access to the state files (`NodePrivateFiles`: no symbolic links followed, owner and mode checked) and the
 * cross-process lock of the auth profile store (`NodeFileLock`: proper-lockfile, shared with OpenClaw).
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Layer from "effect/Layer"
import * as ChutesProvider from "../ChutesProvider.js"
import * as NodeFileLock from "./NodeFileLock.js"
import * as NodePrivateFiles from "./NodePrivateFiles.js"

/**
 * The platform services the library needs, for Node: the HTTP client, `FileSystem` and `Path`, the hardened
 * `PrivateFiles` that the file-backed services (auth profile store, agent config, catalog cache) read and write
 * through, and the cross-process `FileLock` of the auth profile store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPlatform = Layer.mergeAll(
  NodeHttpClient.layerUndici,
  NodeFileSystem.layer,
  NodePath.layer,
  NodePrivateFiles.layer,
  NodeFileLock.layer
)

/**
 * The provider, ready to run on Node: `ChutesProvider.layer(options)` over `layerPlatform`. The credential comes from
 * `options.credential`, else `CHUTES_API_KEY` / `CHUTES_OAUTH_TOKEN`, else the stored auth profiles; user aliases and
 * the default model from `options`, else the agent config that onboarding wrote.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { ChutesProvider, ModelCatalog } from "effect-chutes"
 * import { NodeChutes } from "effect-chutes/node"
 *
 * const program = Effect.gen(function*() {
 *   const chutes = yield* ChutesProvider.ChutesProvider
 *   const snapshot = yield* chutes.catalog
 *   console.log(ModelCatalog.formatTable(snapshot.models))
 *   console.log(ModelCatalog.describeSource(snapshot))
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(NodeChutes.layer({ aliases: { fast: "chutes/zai-org/GLM-5.1-TEE" } }))))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ChutesProvider.LayerOptions = {}) =>
  ChutesProvider.layer(options).pipe(Layer.provide(layerPlatform))
