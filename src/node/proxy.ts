/**
 * HTTP(S) proxies for the Node HTTP client: which proxy (the `proxy` option of `NodeChutes.layer`, else
 * `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` and their lower-case forms), undici's own `EnvHttpProxyAgent` as the
 * dispatcher of `NodeHttpClient.layerUndiciWithoutDispatcher`, and transport errors that name the proxy without its
 * credentials. docs/configuration.md ("Proxies") describes the rules for users.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { EnvHttpProxyAgent } from "undici"

/**
 * A proxy chosen in code.
 *
 * @since 0.5.0
 * @category models
 */
export interface ProxyOptions {
  /** The proxy, `http://host:port` or `http://user:password@host:port` (`https://` for a TLS proxy). */
  readonly url: string
  /**
   * Hosts that bypass the proxy, `NO_PROXY` syntax (`example.com`, `.example.com`, `host:8443`, `*`), as one
   * comma-separated string or a list. Default: `NO_PROXY` / `no_proxy`.
   */
  readonly noProxy?: string | ReadonlyArray<string> | undefined
  /**
   * Send loopback destinations (`localhost`, `127.0.0.1`, `[::1]`) through the proxy too. Default `false`: a local
   * FakeChutes or offline demo keeps working behind a corporate proxy.
   */
  readonly proxyLoopback?: boolean | undefined
}

/** The proxy setting of the Node layer: options, `false` for none whatever the environment says, or the environment. */
export type ProxySetting = ProxyOptions | false | undefined

/** What undici is given: a proxy per destination scheme ("" = none) and the bypass list, loopback included. */
export interface ProxyPlan {
  readonly httpProxy: string
  readonly httpsProxy: string
  readonly noProxy: string
}

/** Loopback names that never go through a proxy unless `proxyLoopback` is set. */
const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"]

/**
 * A bare IPv6 address of the bypass list (`::1`, `fd00::2`) bracketed as in a URL: unbracketed, its last group reads as
 * a port (`::ffff:7f00:1` was host `::ffff:7f00`, port 1) and the address went through the proxy.
 */
const bracketIpv6 = (entry: string): string => /^[0-9a-f.]*:[0-9a-f.]*:[0-9a-f:.]*$/i.test(entry) ? `[${entry}]` : entry

/** The proxy variables, lower-case first (curl's and undici's order); empty values count as unset. */
const envVar = (lower: string, upper: string) =>
  Config.all([Config.option(Config.string(lower)), Config.option(Config.string(upper))]).pipe(
    Config.map(([l, u]) =>
      Option.getOrUndefined(Option.orElse(Option.filter(l, nonEmpty), () => Option.filter(u, nonEmpty)))
    )
  )

const nonEmpty = (s: string) => s.trim().length > 0

/** `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (lower-case forms win), read through `Config`. */
export const envConfig = Config.all({
  httpsProxy: envVar("https_proxy", "HTTPS_PROXY"),
  httpProxy: envVar("http_proxy", "HTTP_PROXY"),
  noProxy: envVar("no_proxy", "NO_PROXY")
})

/** The variables as read. */
export type ProxyEnv = Config.Config.Success<typeof envConfig>

/**
 * The plan, or `undefined` for no proxy at all. The option wins over the environment as a whole (its `url` for both
 * schemes, its `noProxy` else `NO_PROXY`); from the environment, `https://` destinations use `HTTPS_PROXY` else
 * `HTTP_PROXY`, `http://` destinations `HTTP_PROXY` (undici's `EnvHttpProxyAgent` rules).
 */
export const plan = (setting: ProxySetting, env: ProxyEnv): ProxyPlan | undefined => {
  if (setting === false) return undefined
  const httpProxy = setting !== undefined ? setting.url : env.httpProxy ?? ""
  const httpsProxy = setting !== undefined ? setting.url : env.httpsProxy ?? httpProxy
  if (httpProxy === "" && httpsProxy === "") return undefined
  const listed = setting?.noProxy !== undefined
    ? typeof setting.noProxy === "string" ? [setting.noProxy] : setting.noProxy
    : env.noProxy !== undefined ? [env.noProxy] : []
  const entries = listed.flatMap((s) => s.split(/[,\s]+/)).filter((s) => s.length > 0).map(bracketIpv6)
  const loopback = setting?.proxyLoopback === true ? [] : LOOPBACK
  const noProxy = entries.includes("*") ? "*" : [...entries, ...loopback].join(",")
  return { httpProxy, httpsProxy, noProxy }
}

/**
 * The proxy URL, safe to show: user and password replaced by `<redacted>` (also when the URL does not parse: whatever
 * precedes the last `@` is cut).
 */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    const auth = parsed.username !== "" || parsed.password !== "" ? "<redacted>@" : ""
    return `${parsed.protocol}//${auth}${parsed.host}`
  } catch {
    const at = url.lastIndexOf("@")
    if (at < 0) return url
    const scheme = url.match(/^[a-z][a-z0-9+.-]*:\/\//i)?.[0] ?? ""
    return `${scheme}<redacted>@${url.slice(at + 1)}`
  }
}

/** Why a proxy URL cannot be used, or `undefined` when it can. */
const invalidReason = (url: string): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return "not a URL"
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return `unsupported proxy scheme ${parsed.protocol} (http: or https:)`
  }
  // undici decodes the user name and password for Proxy-Authorization and throws on a stray `%`.
  try {
    decodeURIComponent(parsed.username)
    decodeURIComponent(parsed.password)
  } catch {
    return "its user name or password has a % that is not an escape (write a literal % as %25)"
  }
  return undefined
}

/** The proxy a request to `url` goes through under `p`, or `undefined`: the matching of undici's `EnvHttpProxyAgent`. */
export const proxyFor = (p: ProxyPlan, url: URL): string | undefined => {
  const proxy = url.protocol === "https:" ? p.httpsProxy : p.httpProxy
  if (proxy === "" || p.noProxy === "*") return undefined
  const hostname = url.host.replace(/:\d*$/, "").toLowerCase()
  const port = Number.parseInt(url.port, 10) || (url.protocol === "https:" ? 443 : 80)
  for (const entry of p.noProxy.split(",")) {
    if (entry === "") continue
    const parsed = entry.match(/^(.+):(\d+)$/)
    const host = (parsed ? parsed[1]! : entry).replace(/^\*?\./, "").toLowerCase()
    if (parsed && Number.parseInt(parsed[2]!, 10) !== port) continue
    if (hostname === host || hostname.endsWith(`.${host}`)) return undefined
  }
  return proxy
}

/** `text` without the proxy's credentials (undici's messages may quote the proxy URL). */
const withoutCredentials = (text: string, proxy: string): string => {
  let out = text.split(proxy).join(redactUrl(proxy))
  try {
    const { username, password } = new URL(proxy)
    for (const secret of [password, username, decodeURIComponent(password), decodeURIComponent(username)]) {
      if (secret.length >= 3) out = out.split(secret).join("<redacted>")
    }
  } catch {
    // an unparseable URL has no credentials to cut beyond `redactUrl`
  }
  return out
}

/** The chain of messages of an error's causes, as one string. */
const causeText = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 3 && current instanceof Error; depth++) {
    parts.push(current.message)
    current = current.cause
  }
  return parts.filter((p) => p.length > 0).join(": ")
}

/**
 * A transport failure of a proxied request, re-said: the description names the proxy (redacted) first, so every error
 * built from it (`DiscoveryError`, `OAuthError`, `AccountError`, chat errors) says which proxy failed; the cause keeps
 * the transport's words without the proxy's credentials.
 */
const nameProxy = (p: ProxyPlan) => (error: HttpClientError.HttpClientError): HttpClientError.HttpClientError => {
  if (error._tag !== "RequestError" || error.reason !== "Transport") return error
  let proxy: string | undefined
  try {
    proxy = proxyFor(p, new URL(error.request.url))
  } catch {
    return error
  }
  if (proxy === undefined) return error
  const said = withoutCredentials(causeText(error.cause), proxy)
  return new HttpClientError.RequestError({
    request: error.request,
    reason: "Transport",
    description: `through proxy ${redactUrl(proxy)}`,
    cause: new Error(said.length > 0 ? said : "the proxy could not be used")
  })
}

/**
 * A forwarded `http://` request answered `407 Proxy Authentication Required` by the proxy itself, as a transport
 * error: it is the proxy's refusal, not the service's answer. (A tunnelled `https://` request never gets here: undici
 * fails its `CONNECT` on any status but 200 — "Proxy response (407) !== 200 when HTTP Tunneling" — and `nameProxy`
 * names the proxy in that error the same way.)
 */
const refusedByProxy = (p: ProxyPlan) =>
(
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
  if (response.status !== 407) return Effect.succeed(response)
  const proxy = proxyFor(p, new URL(response.request.url))
  if (proxy === undefined) return Effect.succeed(response)
  return Effect.fail(
    new HttpClientError.RequestError({
      request: response.request,
      reason: "Transport",
      description: `through proxy ${redactUrl(proxy)}`,
      cause: new Error("Proxy Authentication Required (407): the proxy URL lacks the right credentials")
    })
  )
}

/** A client whose every request fails: the proxy URL is unusable (said once per request, never with credentials). */
const unusable = (proxy: string, why: string): HttpClient.HttpClient =>
  HttpClient.make((request) =>
    Effect.fail(
      new HttpClientError.RequestError({
        request,
        reason: "Transport",
        description: `through proxy ${redactUrl(proxy)}`,
        cause: new Error(`invalid proxy URL: ${why}`)
      })
    )
  )

/**
 * The undici client through the proxies of `p`: an `EnvHttpProxyAgent` given every value explicitly (so it reads no
 * variable itself), closed with the layer; `http://` destinations are forwarded (one request line per request at the
 * proxy, as curl does), `https://` ones tunnelled with `CONNECT`.
 */
const layerProxied = (p: ProxyPlan): Layer.Layer<HttpClient.HttpClient> => {
  for (const proxy of [p.httpProxy, p.httpsProxy]) {
    const why = proxy === "" ? undefined : invalidReason(proxy)
    if (why !== undefined) return Layer.succeed(HttpClient.HttpClient, unusable(proxy, why))
  }
  const dispatcher = Layer.scoped(
    NodeHttpClient.Dispatcher,
    Effect.acquireRelease(
      Effect.sync(() =>
        new EnvHttpProxyAgent({
          httpProxy: p.httpProxy,
          httpsProxy: p.httpsProxy,
          noProxy: p.noProxy,
          proxyTunnel: false
        })
      ),
      (agent) => Effect.promise(() => agent.destroy())
    )
  )
  return Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transformResponse(client, (response) =>
        response.pipe(Effect.flatMap(refusedByProxy(p)), Effect.mapError(nameProxy(p)))))
  ).pipe(Layer.provide(NodeHttpClient.layerUndiciWithoutDispatcher), Layer.provide(dispatcher))
}

/**
 * The Node HTTP client under a proxy setting: `proxy` options, `false` (never a proxy), or `undefined` (the
 * environment). Without any proxy it is exactly `NodeHttpClient.layerUndici`.
 */
export const layerHttpClient = (setting: ProxySetting): Layer.Layer<HttpClient.HttpClient> =>
  Layer.unwrapEffect(
    Effect.map(Effect.orDie(setting === false ? Effect.succeed(undefined) : envConfig), (env) => {
      const p = env === undefined ? undefined : plan(setting, env)
      return p === undefined ? NodeHttpClient.layerUndici : layerProxied(p)
    })
  )
