/**
 * `ChutesProvider` with everything wired for Node: the undici-based HTTP client, the Node file system and path, the
 * hardened access to the state files (`NodePrivateFiles`: no symbolic links followed, owner and mode checked) and the
 * cross-process lock of the auth profile store (`NodeFileLock`: proper-lockfile, shared with OpenClaw). With
 * `CHUTES_REDIS_URL` set (or the `redis` option), the auth profiles and the catalog cache live on Redis, shared by
 * every host that uses the same URL (`NodeRedis`, docs/deployments.md); `config.json5` stays on each host. Requests go
 * through the HTTP(S) proxy of `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` or of the `proxy` option (undici's
 * `EnvHttpProxyAgent`; loopback destinations bypass it; docs/configuration.md, "Proxies").
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Layer from "effect/Layer"
import * as ChutesProvider from "../ChutesProvider.js"
import * as NodeFileLock from "./NodeFileLock.js"
import * as NodePrivateFiles from "./NodePrivateFiles.js"
import * as NodeRedis from "./NodeRedis.js"
import * as Proxy from "./proxy.js"

/**
 * An HTTP(S) proxy chosen in code: `url` (credentials in it are never shown), `noProxy` (default `NO_PROXY`), and
 * `proxyLoopback` (default `false`: `localhost`, `127.0.0.1` and `[::1]` are reached directly).
 *
 * @since 0.5.0
 * @category models
 */
export type ProxyOptions = Proxy.ProxyOptions

/** The platform services without the choice of a shared store, under a proxy setting (`undefined`: the environment). */
const layerLocalWith = (proxy: Proxy.ProxySetting) =>
  Layer.mergeAll(
    Proxy.layerHttpClient(proxy),
    NodeFileSystem.layer,
    NodePath.layer,
    NodePrivateFiles.layer,
    NodeFileLock.layer
  )

const layerLocal = layerLocalWith(undefined)

/**
 * The platform services the library needs, for Node: the HTTP client, `FileSystem` and `Path`, the hardened
 * `PrivateFiles` that the file-backed services (auth profile store, agent config, catalog cache) read and write
 * through, the cross-process `FileLock` of the auth profile store, and the shared store and cache on Redis when
 * `CHUTES_REDIS_URL` is set (`NodeRedis.layerConfig`; the files otherwise). The HTTP client follows `HTTPS_PROXY` /
 * `HTTP_PROXY` / `NO_PROXY` (lower-case forms too; loopback destinations are never proxied).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPlatform = Layer.merge(layerLocal, Layer.orDie(NodeRedis.layerConfig()))

/**
 * `layerPlatform` with the shared store chosen in code: `false` for the files whatever `CHUTES_REDIS_URL` says,
 * `NodeRedis.Options` for Redis, `undefined` to follow `CHUTES_REDIS_URL`; and the proxy: `ProxyOptions`, `false` for
 * none whatever the environment says, `undefined` to follow `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`.
 *
 * @since 0.4.0
 * @category layers
 */
export const layerPlatformWith = (redis: NodeRedis.Options | false | undefined, proxy?: ProxyOptions | false) => {
  const local = proxy === undefined ? layerLocal : layerLocalWith(proxy)
  return redis === undefined && proxy === undefined
    ? layerPlatform
    : Layer.merge(
      local,
      redis === undefined
        ? Layer.orDie(NodeRedis.layerConfig())
        : redis === false
        ? NodeRedis.layerNone
        : NodeRedis.layerShared(redis)
    )
}

/**
 * Options of `layer`: the provider's, and where the auth profiles and the catalog cache live.
 *
 * @since 0.4.0
 * @category models
 */
export interface LayerOptions extends ChutesProvider.LayerOptions {
  /**
   * The shared store on Redis (`NodeRedis.Options`), or `false` for the files in the state directory. Default: Redis
   * when `CHUTES_REDIS_URL` is set, else the files.
   */
  readonly redis?: NodeRedis.Options | false | undefined
  /**
   * The HTTP(S) proxy for every request (discovery, chat, account, IdP): `ProxyOptions`, or `false` for none. It
   * replaces the environment as a whole. Default: `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (lower-case forms win).
   */
  readonly proxy?: ProxyOptions | false | undefined
}

/**
 * The provider, ready to run on Node: `ChutesProvider.layer(options)` over `layerPlatform`. The credential comes from
 * `options.credential`, else `CHUTES_API_KEY` / `CHUTES_OAUTH_TOKEN`, else the stored auth profiles (on Redis with
 * `CHUTES_REDIS_URL` or `options.redis`); user aliases and the default model from `options`, else the agent config
 * that onboarding wrote.
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
export const layer = (options: LayerOptions = {}) =>
  ChutesProvider.layer(options).pipe(Layer.provide(layerPlatformWith(options.redis, options.proxy)))
