/**
 * Settings of the SDK: endpoints, timeouts, the retry and cache policy, and where state lives on disk.
 *
 * `ChutesSettings.layer(options)` takes them from code; `ChutesSettings.layerConfig(options)` reads the environment
 * (`CHUTES_BASE_URL`, `CHUTES_API_BASE_URL` or its older alias `CHUTES_IDP_BASE_URL`, `CHUTES_STATE_DIR`,
 * `CHUTES_CONFIG_PATH`, `XDG_CONFIG_HOME`, `HOME`, `CHUTES_DISCOVERY_ANONYMOUS`, `CHUTES_FOLLOW_SUCCESSORS`,
 * `CHUTES_ALLOW_GROUP_WRITABLE`; `CHUTES_AUTH_ORDER` through `authOrderConfig`) with code options taking precedence.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { parseList as parseAuthOrder } from "./internal/profileOrder.js"
import { limitOr } from "./internal/limits.js"

/**
 * How the SDK retries transient failures — discovery and chat alike (docs/reliability.md): exponential backoff with
 * jitter (each step capped at `maxDelay`, then 50–100 % of it), at most `maxRetries` retries. A `Retry-After` up to
 * `retryAfterCap` lengthens the wait, never shortens it; one above the cap ends the retries with the error, which
 * carries it. Build one with {@link makeRetryPolicy}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicy {
  /** Retries after the first attempt (default 3). */
  readonly maxRetries: number
  /** The first backoff step; doubles on each retry (default 500 ms). */
  readonly baseDelay: Duration.Duration
  /** The largest backoff step (default 8 s). */
  readonly maxDelay: Duration.Duration
  /**
   * The longest wait a `Retry-After` header can impose (default 30 s). A longer one ends the retries: the call fails
   * with the error, which carries the value (`DiscoveryError.retryAfterMillis`, the `retry-after` header of a chat
   * error's response), instead of waiting minutes.
   */
  readonly retryAfterCap: Duration.Duration
  /**
   * Told of each retry before its wait starts: the attempt about to be made, how many the policy allows, why the last
   * one failed and how long the wait is — for a progress line ("attempt 2 of 4 after HTTP 503, retrying in 1.2 s").
   * It belongs to the policy, not to one retry loop: whatever runs the policy calls it once per retry. Its own run
   * time adds to the wait; keep it short. Default: none.
   */
  readonly onRetry?: ((event: RetryEvent) => Effect.Effect<void>) | undefined
}

/**
 * A {@link RetryPolicy} as options take it: everything optional, durations in any `DurationInput`.
 *
 * @since 0.2.0
 * @category models
 */
export interface RetryOptions {
  /** Retries after the first attempt. Default 3. */
  readonly maxRetries?: number | undefined
  /** The first backoff step; doubles on each retry. Default 500 ms. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** The largest backoff step. Default 8 s. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** The longest `Retry-After` waited for; a longer one ends the retries. Default 30 s. */
  readonly retryAfterCap?: Duration.DurationInput | undefined
  /** Told of each retry before its wait (see {@link RetryPolicy}). */
  readonly onRetry?: ((event: RetryEvent) => Effect.Effect<void>) | undefined
}

/**
 * One retry decided by the `RetryPolicy`, as `onRetry` hears of it.
 *
 * @since 0.2.0
 * @category models
 */
export interface RetryEvent {
  /** What is retried: `"discovery"` (`GET {base}/models`) or `"chat"` (`POST {base}/chat/completions`). */
  readonly operation: string
  /** The attempt about to be made: 2 for the first retry. */
  readonly attempt: number
  /** The attempts the policy allows in all (`maxRetries + 1`). */
  readonly maxAttempts: number
  /** Why the previous attempt failed, in a few words: `HTTP 503`, `timeout`, `connection error`. */
  readonly reason: string
  /** The wait before `attempt`: the backoff step with jitter, or the server's `Retry-After` when that is longer. */
  readonly delay: Duration.Duration
  /** The previous attempt's error (a `DiscoveryError` for discovery, a `ChutesAiError` for chat). */
  readonly error: unknown
}

/**
 * The resolved settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  /**
   * The LLM base URL, without a trailing slash (`https://llm.chutes.ai/v1`), nor a user name and password (a bearer
   * token is the credential: undici would drop them, `fetch` refuse the request, and messages and spans show them).
   */
  readonly baseUrl: string
  /** The identity provider base URL (`https://api.chutes.ai`); likewise without a user name and password. */
  readonly idpBaseUrl: string
  /** Deadline of one discovery attempt, headers and body included. */
  readonly requestTimeout: Duration.Duration
  readonly retry: RetryPolicy
  /** How long a live catalog is served from memory. */
  readonly cacheTtl: Duration.Duration
  /** How long a failed discovery is remembered before the endpoint is asked again. */
  readonly negativeTtl: Duration.Duration
  /** The largest discovery body read; a larger one fails with `TooLarge` instead of exhausting memory. */
  readonly maxResponseBytes: number
  /** State directory (auth profiles, config, disk cache); undefined when no home directory is known. */
  readonly stateDir: string | undefined
  /** The JSON5 agent config file. */
  readonly configPath: string | undefined
  /** The last good live catalog on disk; undefined disables the disk cache. */
  readonly diskCachePath: string | undefined
  /** The oldest disk cache the fallback accepts. */
  readonly diskCacheMaxAge: Duration.Duration
  /** Query the live catalog without a credential (the endpoint is public). Default: false (static catalog). */
  readonly anonymousDiscovery: boolean
  /**
   * Whether the built-in default model and built-in aliases follow their successors when the catalog in hand lacks
   * their documented target or marks it deprecated (docs/models.md). Default: true.
   */
  readonly followSuccessors: boolean
  /**
   * Accept a group-writable state directory and files (POSIX). Default: false — such a directory is refused, because
   * everyone in its group could replace the config or the auth profiles. Kubernetes `fsGroup` volumes are
   * group-writable by design: set this (or `CHUTES_ALLOW_GROUP_WRITABLE=1`) there. World-writable ones and ones owned
   * by another user are always refused (`PrivateFiles`).
   */
  readonly allowGroupWritable: boolean
}

/**
 * Options accepted by the layers; everything is optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly baseUrl?: string | undefined
  readonly idpBaseUrl?: string | undefined
  readonly requestTimeout?: Duration.DurationInput | undefined
  readonly retry?: RetryOptions | undefined
  readonly cacheTtl?: Duration.DurationInput | undefined
  readonly negativeTtl?: Duration.DurationInput | undefined
  /** Default 8 MiB; `Infinity` lifts the cap, anything but a number of 1 or more means the default. */
  readonly maxResponseBytes?: number | undefined
  readonly stateDir?: string | undefined
  readonly configPath?: string | undefined
  /** A path, or `false` to disable the disk cache. Default: `<stateDir>/models-cache.json`. */
  readonly diskCachePath?: string | false | undefined
  readonly diskCacheMaxAge?: Duration.DurationInput | undefined
  readonly anonymousDiscovery?: boolean | undefined
  /** `false` keeps the built-in names on their documented targets. */
  readonly followSuccessors?: boolean | undefined
  /** Accept a group-writable state directory and files (a Kubernetes `fsGroup` volume). Default: false. */
  readonly allowGroupWritable?: boolean | undefined
}

/**
 * The default LLM base URL.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_BASE_URL = "https://llm.chutes.ai/v1"

/**
 * The defaults (docs/reliability.md).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  baseUrl: DEFAULT_BASE_URL,
  idpBaseUrl: "https://api.chutes.ai",
  requestTimeout: Duration.seconds(10),
  retry: {
    maxRetries: 3,
    baseDelay: Duration.millis(500),
    maxDelay: Duration.seconds(8),
    retryAfterCap: Duration.seconds(30)
  },
  cacheTtl: Duration.minutes(5),
  negativeTtl: Duration.seconds(30),
  maxResponseBytes: 8 * 1024 * 1024,
  diskCacheMaxAge: Duration.days(7),
  anonymousDiscovery: false,
  followSuccessors: true,
  allowGroupWritable: false
} as const

/**
 * Resolves retry options against the defaults: the one policy of discovery and chat.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeRetryPolicy = (options: RetryOptions = {}): RetryPolicy => ({
  maxRetries: options.maxRetries !== undefined ? Math.max(0, Math.floor(options.maxRetries)) : defaults.retry.maxRetries,
  baseDelay: Duration.decode(options.baseDelay ?? defaults.retry.baseDelay),
  maxDelay: Duration.decode(options.maxDelay ?? defaults.retry.maxDelay),
  retryAfterCap: Duration.decode(options.retryAfterCap ?? defaults.retry.retryAfterCap),
  ...(options.onRetry !== undefined ? { onRetry: options.onRetry } : {})
})

/**
 * @since 0.1.0
 * @category tags
 */
export class ChutesSettings extends Context.Tag("effect-chutes/ChutesSettings")<ChutesSettings, Settings>() {}

const stripSlash = (url: string): string => url.replace(/\/+$/, "")

/**
 * A base URL without a user name and password: the SDK sends its credential as a bearer token, undici drops them from
 * a request and `fetch` refuses the request — and every message, log line and span that shows the URL would show them.
 */
const withoutUserinfo = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.username === "" && parsed.password === "") return url
    parsed.username = ""
    parsed.password = ""
    return parsed.href
  } catch {
    return url
  }
}

const join = (dir: string, file: string): string => `${stripSlash(dir)}/${file}`

/**
 * Resolves options against the defaults. The state dir must already be known (see `layerConfig` for env lookup).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Settings => {
  const stateDir = options.stateDir
  return {
    baseUrl: stripSlash(withoutUserinfo(options.baseUrl ?? defaults.baseUrl)),
    idpBaseUrl: stripSlash(withoutUserinfo(options.idpBaseUrl ?? defaults.idpBaseUrl)),
    requestTimeout: Duration.decode(options.requestTimeout ?? defaults.requestTimeout),
    retry: makeRetryPolicy(options.retry),
    cacheTtl: Duration.decode(options.cacheTtl ?? defaults.cacheTtl),
    negativeTtl: Duration.decode(options.negativeTtl ?? defaults.negativeTtl),
    maxResponseBytes: limitOr(options.maxResponseBytes, defaults.maxResponseBytes, { infinite: true }),
    stateDir,
    configPath: options.configPath ?? (stateDir !== undefined ? join(stateDir, "config.json5") : undefined),
    diskCachePath: options.diskCachePath === false
      ? undefined
      : options.diskCachePath ?? (stateDir !== undefined ? join(stateDir, "models-cache.json") : undefined),
    diskCacheMaxAge: Duration.decode(options.diskCacheMaxAge ?? defaults.diskCacheMaxAge),
    anonymousDiscovery: options.anonymousDiscovery ?? defaults.anonymousDiscovery,
    followSuccessors: options.followSuccessors ?? defaults.followSuccessors,
    allowGroupWritable: options.allowGroupWritable ?? defaults.allowGroupWritable
  }
}

/**
 * Whether a URL host (as `URL.hostname` gives it) is this machine: `localhost`, `127.x.y.z` or `[::1]`.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isLoopbackHost = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname)

/**
 * A sentence for each endpoint that would carry credentials unencrypted: a base URL that is not `https:` and not on
 * this machine (a loopback test server is fine).
 *
 * @since 0.2.0
 * @category predicates
 */
export const unencryptedEndpoints = (settings: Settings): ReadonlyArray<string> =>
  ([["base URL", settings.baseUrl], ["API base URL", settings.idpBaseUrl]] as const).flatMap(([name, url]) => {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return []
    }
    return parsed.protocol === "https:" || isLoopbackHost(parsed.hostname)
      ? []
      : [`The Chutes ${name} ${url} is not https: credentials sent to it travel unencrypted`]
  })

/**
 * An environment variable as an optional string; empty or whitespace-only counts as unset.
 *
 * @since 0.1.0
 * @category config
 */
export const optionalEnv = (name: string): Config.Config<Option.Option<string>> =>
  Config.string(name).pipe(
    Config.option,
    Config.map(Option.flatMap((value) => (value.trim().length > 0 ? Option.some(value.trim()) : Option.none())))
  )

/**
 * The state directory from the environment: `CHUTES_STATE_DIR`, else `$XDG_CONFIG_HOME/effect-chutes`, else
 * `$HOME/.config/effect-chutes` (docs/configuration.md).
 *
 * @since 0.1.0
 * @category config
 */
export const stateDirConfig: Config.Config<Option.Option<string>> = Config.all([
  optionalEnv("CHUTES_STATE_DIR"),
  optionalEnv("XDG_CONFIG_HOME"),
  optionalEnv("HOME"),
  optionalEnv("USERPROFILE")
]).pipe(Config.map(([explicit, xdg, home, userProfile]) =>
  Option.orElse(explicit, () =>
    Option.orElse(
      Option.map(xdg, (dir) => join(dir, "effect-chutes")),
      () => Option.map(Option.orElse(home, () => userProfile), (dir) => join(join(dir, ".config"), "effect-chutes"))
    ))
))

/**
 * The shared store's URL from `CHUTES_REDIS_URL` (`redis://` or `rediss://`, maybe with a password: kept `Redacted`).
 * Only `effect-chutes/node` acts on it (docs/deployments.md); empty or whitespace-only counts as unset.
 *
 * @since 0.4.0
 * @category config
 */
export const redisUrlConfig: Config.Config<Option.Option<Redacted.Redacted<string>>> = optionalEnv("CHUTES_REDIS_URL")
  .pipe(Config.map(Option.map((url) => Redacted.make(url))))

/**
 * The order of the stored auth profiles from `CHUTES_AUTH_ORDER` (comma-separated profile ids, e.g.
 * `chutes:alice,chutes:work`); `None` when unset or empty. The agent config's `auth.order.chutes` wins over it
 * (docs/configuration.md).
 *
 * @since 0.4.0
 * @category config
 */
export const authOrderConfig: Config.Config<Option.Option<ReadonlyArray<string>>> = optionalEnv("CHUTES_AUTH_ORDER")
  .pipe(Config.map(Option.flatMap((text) => Option.fromNullable(parseAuthOrder(text)))))

const isTrue = (value: string): boolean => /^(1|true|yes|on)$/i.test(value)
const isFalse = (value: string): boolean => /^(0|false|no|off)$/i.test(value)

/**
 * The settings as a `Config`: the environment (read through the current `ConfigProvider`), with explicit options
 * winning over it.
 *
 * @since 0.2.0
 * @category config
 */
export const config = (options: Options = {}): Config.Config<Settings> =>
  Config.all({
    baseUrl: optionalEnv("CHUTES_BASE_URL"),
    // `CHUTES_API_BASE_URL` is the main name of the API base; `CHUTES_IDP_BASE_URL` the older alias, read when it is unset.
    idpBaseUrl: Config.all([optionalEnv("CHUTES_API_BASE_URL"), optionalEnv("CHUTES_IDP_BASE_URL")]).pipe(
      Config.map(([main, alias]) => Option.orElse(main, () => alias))
    ),
    configPath: optionalEnv("CHUTES_CONFIG_PATH"),
    stateDir: stateDirConfig,
    anonymous: optionalEnv("CHUTES_DISCOVERY_ANONYMOUS"),
    follow: optionalEnv("CHUTES_FOLLOW_SUCCESSORS"),
    groupWritable: optionalEnv("CHUTES_ALLOW_GROUP_WRITABLE")
  }).pipe(Config.map((env) =>
    make({
      ...options,
      baseUrl: options.baseUrl ?? Option.getOrUndefined(env.baseUrl),
      idpBaseUrl: options.idpBaseUrl ?? Option.getOrUndefined(env.idpBaseUrl),
      configPath: options.configPath ?? Option.getOrUndefined(env.configPath),
      stateDir: options.stateDir ?? Option.getOrUndefined(env.stateDir),
      anonymousDiscovery: options.anonymousDiscovery ??
        Option.getOrUndefined(Option.map(env.anonymous, isTrue)),
      followSuccessors: options.followSuccessors ??
        Option.getOrUndefined(Option.map(env.follow, (value) => !isFalse(value))),
      allowGroupWritable: options.allowGroupWritable ?? Option.getOrUndefined(Option.map(env.groupWritable, isTrue))
    })
  ))

/**
 * Reads the settings from the environment; explicit options win over it. A `ConfigError` (only a custom
 * `ConfigProvider` can raise one: every variable is optional) is a defect here; `layerConfig` surfaces it.
 *
 * @since 0.1.0
 * @category config
 */
export const fromEnv = (options: Options = {}): Effect.Effect<Settings> => Effect.orDie(config(options))

/**
 * Settings given in code only; the environment is not read.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<ChutesSettings> =>
  Layer.succeed(ChutesSettings, make(options))

/**
 * Settings from the environment (`config`), with `options` overriding it; a `ConfigError` fails the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (options: Options = {}): Layer.Layer<ChutesSettings, ConfigError.ConfigError> =>
  Layer.effect(ChutesSettings, config(options))
