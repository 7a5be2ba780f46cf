/**
 * The central service: the catalog (live -> disk cache -> static, never failing), discovery without fallback, model
 * resolution, the default model and aliases, the current credential, and an `HttpClient` pointed at the service.
 *
 * It is a composition of replaceable layers — `ChutesSettings`, `ChutesCredentials`, `ModelDiscovery`,
 * `CatalogCache` — so apps and tests swap any of them. Nothing runs at import time or at layer build: the first
 * discovery happens on the first `catalog`, `discover` or `resolve`.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as AgentConfig from "./AgentConfig.js"
import * as Aliases from "./Aliases.js"
import * as AuthProfileStore from "./AuthProfileStore.js"
import * as CatalogCache from "./CatalogCache.js"
import * as ChutesCredentials from "./ChutesCredentials.js"
import { CredentialsError, DiscoveryError, type InvalidModelRef, type UnknownModel } from "./ChutesError.js"
import * as ChutesOAuth from "./ChutesOAuth.js"
import * as ChutesSettings from "./ChutesSettings.js"
import type * as FileLock from "./FileLock.js"
import * as ModelCatalog from "./ModelCatalog.js"
import * as ModelDiscovery from "./ModelDiscovery.js"
import * as Auth from "./internal/auth.js"
import * as ProfileOrder from "./internal/profileOrder.js"
import * as SingleFlight from "./internal/singleFlight.js"
import * as ModelRef from "./ModelRef.js"
import type * as PrivateFiles from "./PrivateFiles.js"
import * as Successors from "./Successors.js"
import { warnOnce } from "./internal/warnOnce.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The catalog; never fails: live, else the last good live catalog on disk, else static — with the reason. */
  readonly catalog: Effect.Effect<ModelCatalog.CatalogSnapshot>
  /** Like `catalog`, but skips the in-memory cache (a concurrent fetch in flight is still shared). */
  readonly refresh: Effect.Effect<ModelCatalog.CatalogSnapshot>
  /** The live catalog without fallback: fails with the typed reason. Cached like `catalog`. */
  readonly discover: Effect.Effect<ModelCatalog.CatalogSnapshot, DiscoveryError | CredentialsError>
  /**
   * Resolves an alias, a ref or a bare model id against the current catalog. A built-in alias whose target the catalog
   * no longer serves follows its successor (`followed` says from, to, why and the price change; warned once).
   */
  readonly resolve: (input: string) => Effect.Effect<ModelRef.ResolvedModel, UnknownModel | InvalidModelRef>
  /** The default model against the current catalog: the built-in default follows its successor like a built-in alias. */
  readonly resolveDefault: Effect.Effect<ModelRef.ResolvedModel>
  /** The built-in names that follow a successor in `snapshot` (for listings). */
  readonly followed: (snapshot: ModelCatalog.CatalogSnapshot) => ReadonlyArray<Successors.Hop>
  /** The default model as configured (or the documented one); `resolveDefault` says where it goes today. */
  readonly defaultModel: ModelRef.ModelRef
  /** Alias name (lower case) -> alias, user aliases over built-in ones. */
  readonly aliases: ModelRef.AliasTable
  readonly userAliases: ModelRef.AliasTable
  /** The current credential, refreshed when due; `Missing` when there is none. */
  readonly credential: Effect.Effect<ChutesCredentials.Credential, CredentialsError>
  /**
   * An `HttpClient` for the LLM API: relative URLs against the base URL, a fresh bearer on every request; a 401 for an
   * OAuth token of a stored profile gets one forced refresh and one retry (a refresh that fails is a
   * `CredentialsError`). Responses and errors carry the request with its bearer masked.
   */
  readonly client: HttpClient.HttpClient.With<HttpClientError.HttpClientError | CredentialsError>
  /**
   * Moving a call across the stored profiles, with their cooldowns (`ChutesCredentials.Rotation`); absent with a
   * fixed credential (code, env, or a test layer). `ChutesLanguageModel` uses it.
   */
  readonly rotation?: ChutesCredentials.Rotation | undefined
}

/**
 * The provider as a service: ask it for the catalog, resolve what a user typed, or call the LLM API through its
 * `client`.
 *
 * @example
 * ```ts
 * import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
 * import * as Effect from "effect/Effect"
 * import { ChutesProvider, ModelCatalog } from "effect-chutes"
 *
 * const program = Effect.gen(function*() {
 *   const chutes = yield* ChutesProvider.ChutesProvider
 *   const snapshot = yield* chutes.catalog // never fails: live, else the disk cache, else the built-in catalog
 *   yield* Effect.log(ModelCatalog.describeSource(snapshot))
 *   const model = yield* chutes.resolve("chutes-pro") // an alias, a `chutes/…` ref or a bare model id
 *   // The bearer, the base URL and a refresh on a rejected OAuth token are the client's job.
 *   const response = yield* chutes.client.execute(
 *     HttpClientRequest.post("/chat/completions").pipe(
 *       HttpClientRequest.bodyUnsafeJson({ model: model.id, messages: [{ role: "user", content: "Hello" }] })
 *     )
 *   )
 *   return response.status
 * })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ChutesProvider extends Context.Tag("effect-chutes/ChutesProvider")<ChutesProvider, Service>() {}

/**
 * Options of the provider itself (its dependencies have their own).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** User aliases, alias name -> ref. `layer` adds the agent config's (these win over them). */
  readonly aliases?: Aliases.AliasInput | undefined
  /** Overrides the default model (the documented `chutes/zai-org/GLM-4.7-TEE`, which follows its successor). */
  readonly defaultModel?: string | undefined
}

type DiscoverError = DiscoveryError | CredentialsError

const DEFAULT_MODEL = ModelRef.unsafeMake(ModelCatalog.DEFAULT_MODEL_REF)

/** How far in the future a cached catalog's time may be (clocks of hosts sharing a cache differ a little). */
const CLOCK_SKEW_MILLIS = 5 * 60 * 1000

interface Done {
  readonly exit: Exit.Exit<ModelCatalog.CatalogSnapshot, DiscoverError>
  /** The snapshot `catalog` hands out: the live one, or the fallback computed once for this failure. */
  readonly snapshot: ModelCatalog.CatalogSnapshot
  readonly expiresAt: number
}

/**
 * Warnings for a live catalog: the default model or an alias target not listed, with the nearest live model and the
 * known successor. A built-in name that follows its successor in this catalog is not a warning (the hop is reported
 * where it is used: see `Successors`).
 *
 * @since 0.1.0
 * @category utils
 */
export const catalogWarnings = (
  models: ReadonlyArray<ModelCatalog.ModelDefinition>,
  byId: ReadonlyMap<string, ModelCatalog.ModelDefinition>,
  defaultModel: ModelRef.ModelRef,
  aliases: ModelRef.AliasTable,
  followSuccessors = true
): ReadonlyArray<ModelCatalog.CatalogWarning> => {
  const catalog: Successors.Catalog = { byId, source: "live" }
  const follows = (name: string, ref: ModelRef.ModelRef, builtin: boolean) =>
    followSuccessors && builtin && Successors.follow(name, ref, catalog) !== undefined
  const missing = (ref: ModelRef.ModelRef) => !byId.has(ModelRef.modelId(ref))
  const missingDefault = missing(defaultModel) &&
    !follows("default model", defaultModel, Successors.isBuiltinDefault(defaultModel))
  const missingAliases = Array.from(aliases.values()).filter((alias) =>
    missing(alias.ref) && !follows(alias.name, alias.ref, alias.source === "builtin")
  )
  if (!missingDefault && missingAliases.length === 0) return []
  // One pass over the catalog for every missing ref: on thousands of models the suggestion search is the costliest
  // part of taking in a live catalog (bench/README.md).
  const targets = [...(missingDefault ? [defaultModel] : []), ...missingAliases.map((alias) => alias.ref)]
  const suggestions = ModelRef.nearestRefs(targets.map(ModelRef.modelId), models.map((model) => model.id), 1)
  const warnings: Array<ModelCatalog.CatalogWarning> = []
  const successor = (ref: ModelRef.ModelRef) => {
    const replacement = Successors.replacementFor(ref, catalog)
    return replacement === undefined ? "" : `; its successor: ${replacement}`
  }
  let next = 0
  if (missingDefault) {
    const suggestion = suggestions[next++]![0]
    warnings.push({
      kind: "DefaultModelMissing",
      ref: defaultModel,
      suggestion,
      message: `The default model ${defaultModel} is not in the live catalog` + successor(defaultModel) +
        (suggestion ? `; nearest live model: ${suggestion}` : "")
    })
  }
  for (const alias of missingAliases) {
    const suggestion = suggestions[next++]![0]
    warnings.push({
      kind: "AliasTargetMissing",
      ref: alias.ref,
      alias: alias.name,
      suggestion,
      message: `Alias "${alias.name}" points at ${alias.ref}, which is not in the live catalog` + successor(alias.ref) +
        (suggestion ? `; nearest live model: ${suggestion}` : "")
    })
  }
  return warnings
}

/**
 * Builds the provider from its services. The in-memory cache lives as long as the returned service's scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<
  Service,
  InvalidModelRef,
  | ChutesSettings.ChutesSettings
  | ChutesCredentials.ChutesCredentials
  | ModelDiscovery.ModelDiscovery
  | CatalogCache.CatalogCache
  | HttpClient.HttpClient
  | Scope.Scope
> =>
  Effect.gen(function*() {
    const settings = yield* ChutesSettings.ChutesSettings
    const credentials = yield* ChutesCredentials.ChutesCredentials
    const discovery = yield* ModelDiscovery.ModelDiscovery
    const diskCache = yield* CatalogCache.CatalogCache
    const httpClient = yield* HttpClient.HttpClient
    const scope = yield* Effect.scope

    const defaultModel = options.defaultModel !== undefined
      ? yield* ModelRef.parse(options.defaultModel)
      : DEFAULT_MODEL
    for (const warning of ChutesSettings.unencryptedEndpoints(settings)) yield* warnOnce(warning)
    const user = ModelRef.makeUserAliases(Aliases.entries(options.aliases))
    for (const invalid of user.invalid) yield* warnOnce(`ignoring user alias: ${invalid.message}`)
    const aliases: ModelRef.AliasTable = user.aliases.size === 0
      ? ModelRef.builtinAliases
      : new Map([...ModelRef.builtinAliases, ...user.aliases])
    // Made on first use: constructing an error captures a stack trace, which cost more than the rest of `make`.
    let noCredential: Done | undefined
    const noCredentialDone = (): Done => {
      if (noCredential === undefined) {
        const missing = new CredentialsError({ reason: "Missing" })
        noCredential = {
          exit: Exit.fail(missing),
          snapshot: ModelCatalog.staticSnapshot(missing),
          expiresAt: Number.POSITIVE_INFINITY
        }
      }
      return noCredential
    }

    // The in-memory catalog: one entry per credential until its `expiresAt`, one fetch per credential in flight
    // whatever the number of callers, owned by the provider's scope (internal/singleFlight.ts).
    const catalogs = SingleFlight.memo<string, Done>(scope, (done) => done.expiresAt)

    // Logging a live catalog's warnings (for people) and writing it to the disk cache (for later processes) happen
    // after the callers have their snapshot and have gone on, in the fetch's own fiber (SingleFlight's `after`): the
    // cache write, with its fsyncs, cost more than the whole fetch of a small catalog (bench/README.md). The work is
    // uninterruptible, so closing the provider waits for it: a program that lists the models and exits still leaves
    // the cache and its warnings behind.
    const afterwards = ({ exit, snapshot }: Done): Effect.Effect<void> => {
      const fetchedAt = snapshot.fetchedAt
      if (Exit.isFailure(exit) || snapshot.source !== "live" || fetchedAt === undefined) return Effect.void
      return Effect.gen(function*() {
        for (const warning of snapshot.warnings) yield* warnOnce(warning.message)
        if (snapshot.skipped > 0) yield* warnOnce(`model discovery skipped ${snapshot.skipped} malformed item(s)`)
        yield* diskCache.save({ version: 1, baseUrl: settings.baseUrl, fetchedAt, models: snapshot.models })
      })
    }

    const fallback = (error: DiscoverError) =>
      Effect.gen(function*() {
        const cached = yield* diskCache.load
        const now = yield* Clock.currentTimeMillis
        // A cache dated after now has no age to judge by (a clock set back, or a hand-edited file): not used.
        const age = Option.isSome(cached) ? now - cached.value.fetchedAt : Infinity
        if (
          Option.isSome(cached) && cached.value.baseUrl === settings.baseUrl &&
          age >= -CLOCK_SKEW_MILLIS && age <= Duration.toMillis(settings.diskCacheMaxAge)
        ) {
          return ModelCatalog.makeSnapshot({
            source: "cache",
            models: cached.value.models,
            fetchedAt: cached.value.fetchedAt,
            reason: error
          })
        }
        return ModelCatalog.staticSnapshot(error)
      })

    const fetchLive = (credential: Option.Option<ChutesCredentials.Credential>) =>
      Effect.gen(function*() {
        const result = yield* Effect.either(discovery.fetch(credential))
        const now = yield* Clock.currentTimeMillis
        if (Either.isRight(result)) {
          const { fetchedAt, models, skipped } = result.right
          const indexed = ModelCatalog.makeSnapshot({ source: "live", models, fetchedAt, skipped })
          // The warnings' "nearest live model" search is the costliest part of taking in a large catalog: it is done
          // on first read of `warnings`, or by `afterwards` — not before the callers get their snapshot.
          let warnings: ReadonlyArray<ModelCatalog.CatalogWarning> | undefined
          const snapshot: ModelCatalog.CatalogSnapshot = {
            ...indexed,
            get warnings() {
              return warnings ??= catalogWarnings(
                indexed.models,
                indexed.byId,
                defaultModel,
                aliases,
                settings.followSuccessors
              )
            }
          }
          const done: Done = {
            exit: Exit.succeed(snapshot),
            snapshot,
            expiresAt: now + Duration.toMillis(settings.cacheTtl)
          }
          return done
        }
        // Keep the error itself, not the span-annotated proxy Effect wraps it in, so callers can compare it.
        const error = Cause.originalError(result.left)
        const snapshot = yield* fallback(error)
        yield* warnOnce(`model catalog: using the ${snapshot.source} catalog: ${error.message}`)
        const done: Done = {
          exit: Exit.fail(error),
          snapshot,
          expiresAt: now + Duration.toMillis(settings.negativeTtl)
        }
        return done
      })

    /** The cache key of a credential: a hash of its secret (never the secret itself); none without one to ask with. */
    const keyOf = (credential: Option.Option<ChutesCredentials.Credential>): Effect.Effect<string | undefined> =>
      Option.isSome(credential)
        ? ChutesCredentials.identity(credential.value)
        : Effect.succeed(settings.anonymousDiscovery ? "anonymous" : undefined)

    /** The cached result for `credential`, else a single-flight fetch; results kept until `expiresAt`. */
    const lookupFor = (credential: Option.Option<ChutesCredentials.Credential>, force: boolean): Effect.Effect<Done> =>
      Effect.flatMap(keyOf(credential), (key) =>
        key === undefined
          ? Effect.succeed(noCredentialDone())
          : catalogs.get(key, { force, compute: fetchLive(credential), after: afterwards }))

    /** The credential read, and checked that a header can carry it (`Auth.sendable`): what discovery sends. */
    const readCredential = Effect.either(credentials.get).pipe(Effect.map(Either.flatMap(Auth.sendable)))

    /** The same for the current credential. */
    const lookup = (force: boolean): Effect.Effect<Done, CredentialsError> =>
      Effect.flatMap(credentials.get, (credential) =>
        Either.match(Auth.sendable(credential), {
          onLeft: Effect.fail,
          onRight: (sendable) => lookupFor(sendable, force)
        }))

    const discoverWith = (force: boolean) =>
      lookup(force).pipe(Effect.flatMap((done) => done.exit))

    // A credential that cannot be produced (refresh failed, store unreadable) is a reason to fall back like any
    // discovery failure: the disk cache first, then static.
    const snapshotFor = (
      credential: Either.Either<Option.Option<ChutesCredentials.Credential>, CredentialsError>,
      force: boolean
    ): Effect.Effect<ModelCatalog.CatalogSnapshot> =>
      Either.isLeft(credential)
        ? fallback(credential.left)
        : Effect.map(lookupFor(credential.right, force), (done) => done.snapshot)

    const catalogWith = (force: boolean) =>
      Effect.flatMap(readCredential, (credential) => snapshotFor(credential, force))

    // A span per call, without `Effect.fn`'s call-site capture: that cost a `new Error()` on every call (bench/README.md).
    const context = (catalog: ModelCatalog.CatalogSnapshot): Successors.Context => ({
      catalog,
      userAliases: user.aliases,
      followSuccessors: settings.followSuccessors
    })
    // A built-in name that moved on says so once per process (and in the result's `followed`, every time).
    const announce = (resolved: ModelRef.ResolvedModel) =>
      resolved.followed === undefined ? Effect.void : warnOnce(resolved.followed.message)
    const resolve = (input: string) =>
      catalogWith(false).pipe(
        Effect.flatMap((snapshot) => Successors.resolve(input, context(snapshot))),
        Effect.tap(announce),
        Effect.withSpan("ChutesProvider.resolve", { captureStackTrace: false })
      )
    const resolveDefault = catalogWith(false).pipe(
      Effect.map((snapshot) => Successors.resolveDefault(defaultModel, context(snapshot))),
      Effect.tap(announce),
      Effect.withSpan("ChutesProvider.resolveDefault", { captureStackTrace: false })
    )

    const currentCredential = ChutesCredentials.current.pipe(
      Effect.provideService(ChutesCredentials.ChutesCredentials, credentials)
    )

    // The platform's client spans stay (apps see their LLM calls), but no trace headers go to Chutes.
    const client = Auth.client({
      transport: HttpClient.withTracerPropagation(httpClient, false),
      baseUrl: settings.baseUrl,
      credentials
    })

    // Every chat call reads the catalog. The credential is read once; a catalog the memory holds for it is handed
    // over without a span (a span for a map lookup was ~11 µs of every read: bench/README.md, "Chat", sixth pass),
    // and a read with work to do — a fetch, a wait for one, a fallback — runs in `ChutesProvider.catalog`.
    const traced = <A>(effect: Effect.Effect<A>) =>
      Effect.withSpan(effect, "ChutesProvider.catalog", { captureStackTrace: false })
    const catalog = Effect.flatMap(Effect.either(credentials.get), (read) => {
      const credential = Either.flatMap(read, Auth.sendable)
      return Either.isLeft(credential)
        ? traced(snapshotFor(credential, false))
        : Effect.flatMap(keyOf(credential.right), (key) =>
          key === undefined
            ? traced(snapshotFor(credential, false))
            : Effect.flatMap(Clock.currentTimeMillis, (now) => {
              const kept = catalogs.peek(key, now)
              return kept !== undefined ? Effect.succeed(kept.snapshot) : traced(snapshotFor(credential, false))
            }))
    })

    return {
      catalog,
      // These spans are built here, once: a captured stack trace would only ever point at this line.
      refresh: catalogWith(true).pipe(Effect.withSpan("ChutesProvider.refresh", { captureStackTrace: false })),
      discover: discoverWith(false).pipe(Effect.withSpan("ChutesProvider.discover", { captureStackTrace: false })),
      resolve,
      resolveDefault,
      followed: (snapshot) => Successors.builtinHops(defaultModel, aliases, context(snapshot)),
      defaultModel,
      aliases,
      userAliases: user.aliases,
      credential: currentCredential,
      client,
      rotation: credentials.rotation
    } satisfies Service
  })

/**
 * The provider from its services (settings, credentials, discovery, disk cache, HTTP client).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutDependencies = (options: Options = {}): Layer.Layer<
  ChutesProvider,
  InvalidModelRef,
  | ChutesSettings.ChutesSettings
  | ChutesCredentials.ChutesCredentials
  | ModelDiscovery.ModelDiscovery
  | CatalogCache.CatalogCache
  | HttpClient.HttpClient
> => Layer.scoped(ChutesProvider, make(options))

/**
 * Options of the ready-made layer: the provider's own, the settings, and a credential given in code.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions extends Options {
  readonly settings?: ChutesSettings.Options | undefined
  /** A credential given in code; it wins over the environment and the stored profiles. */
  readonly credential?: ChutesCredentials.ExplicitCredential | undefined
  /** The stored auth profile to use (e.g. `chutes:alice`): pins it, no other profile is tried. */
  readonly profileId?: string | undefined
  /**
   * Where a credential may come from (`ChutesCredentials.Sources`); default `"all"`: `credential`, then
   * `CHUTES_API_KEY` / `CHUTES_OAUTH_TOKEN`, then the stored profiles. `"profiles-only"` reads the stored profiles alone
   * (with `profileId`, exactly that profile, whatever the environment holds: the CLI's `--profile`).
   */
  readonly credentialSources?: ChutesCredentials.Sources | undefined
  /**
   * Stored auth profile ids tried first, in this order; wins over the config's `auth.order.chutes`, which wins over
   * `CHUTES_AUTH_ORDER` (docs/configuration.md).
   */
  readonly authOrder?: ReadonlyArray<string> | undefined
  /**
   * Read the agent config (`config.json5` at `settings.configPath`) for user aliases, the default model and
   * `followSuccessors`, as the CLI does. Default: true. Options given in code win over it.
   */
  readonly readConfig?: boolean | undefined
}

/**
 * The agent config's provider defaults; a config that cannot be read is said once and ignored (the catalog must not
 * depend on a healthy config).
 */
const configDefaults = (
  settings: ChutesSettings.Settings
): Effect.Effect<AgentConfig.ProviderDefaults, never, PrivateFiles.PrivateFiles> =>
  Effect.flatMap(AgentConfig.make(settings.configPath, { allowGroupWritable: settings.allowGroupWritable }), (config) =>
    config.load).pipe(
      Effect.map(Option.match({ onNone: () => AgentConfig.noProviderDefaults, onSome: AgentConfig.providerDefaults })),
      Effect.catchAll((error) =>
        Effect.as(warnOnce(AgentConfig.ignoredConfig(error)), AgentConfig.noProviderDefaults)
      )
    )

/**
 * The provider with its default services: settings from the environment (overridden by `options.settings`), the user
 * aliases and default model of the agent config (overridden by `options`; see `Aliases`), credentials from code, then
 * env, then the stored auth profiles (OAuth tokens refreshed when due), live discovery, and the disk cache in the state
 * directory. Needs an `HttpClient`, a `FileSystem` and a `Path`, the `PrivateFiles` access to the state files and the
 * auth profile store's `FileLock` (`NodeChutes.layerPlatform` provides all five). The provider's `client`
 * handles a rejected OAuth token itself (one forced refresh, one retry), so the layer provides the provider and
 * nothing else.
 *
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
 * import * as FileSystem from "@effect/platform/FileSystem"
 * import * as Path from "@effect/platform/Path"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { ChutesProvider, FileLock, PrivateFiles } from "effect-chutes"
 *
 * // Any runtime with `fetch`: state files in memory, the API key from code. On Node, `NodeChutes.layer()` wires it.
 * const Chutes = ChutesProvider.layer({ credential: { apiKey: "cpk_…" }, settings: { diskCachePath: false } }).pipe(
 *   Layer.provide(Layer.mergeAll(
 *     FetchHttpClient.layer,
 *     FileSystem.layerNoop({}),
 *     Path.layer,
 *     PrivateFiles.layerMemory(),
 *     FileLock.layerMemory
 *   ))
 * )
 *
 * const models = Effect.flatMap(ChutesProvider.ChutesProvider, (chutes) => chutes.catalog).pipe(
 *   Effect.map((snapshot) => snapshot.models.map((model) => model.id)),
 *   Effect.provide(Chutes)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: LayerOptions = {}
): Layer.Layer<
  ChutesProvider,
  InvalidModelRef,
  HttpClient.HttpClient | FileSystem.FileSystem | Path.Path | PrivateFiles.PrivateFiles | FileLock.FileLock
> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const fromEnv = yield* ChutesSettings.fromEnv(options.settings)
    const config = options.readConfig === false ? AgentConfig.noProviderDefaults : yield* configDefaults(fromEnv)
    const combined = Aliases.combine(options, config)
    for (const note of [...config.warnings, ...combined.notes]) yield* warnOnce(note)
    const settings: ChutesSettings.Settings = {
      ...fromEnv,
      followSuccessors: Aliases.followSuccessors(options.settings?.followSuccessors, config, fromEnv.followSuccessors)
    }
    const authOrder = ProfileOrder.choose(
      options.authOrder,
      config.authOrder,
      Option.getOrUndefined(yield* Effect.orDie(ChutesSettings.authOrderConfig))
    )
    const resolved = { ...options, aliases: combined.aliases, defaultModel: combined.defaultModel, authOrder }
    return layerServices(resolved, settings)
  }))

const layerServices = (options: LayerOptions, settings: ChutesSettings.Settings) =>
  layerWithoutDependencies(options).pipe(
    Layer.provide(Layer.mergeAll(ModelDiscovery.layer, CatalogCache.layerFile)),
    Layer.provide(
      ChutesCredentials.layer({
        sources: options.credentialSources,
        explicit: options.credential,
        profileId: options.profileId,
        order: options.authOrder
      }).pipe(
        Layer.provide(Layer.mergeAll(AuthProfileStore.layerFile(), ChutesOAuth.layer()))
      )
    ),
    Layer.provide(Layer.succeed(ChutesSettings.ChutesSettings, settings))
  )

/**
 * Options of the test layer.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestOptions extends Options {
  /** The live catalog discovery returns, or the error it fails with. Default: the static models. */
  readonly models?: ReadonlyArray<ModelCatalog.ModelDefinition> | DiscoveryError | undefined
  /** The credential: a `Credential`, an API key string, or `null` for none. Default: a fake API key. */
  readonly credential?: ChutesCredentials.Credential | string | null | undefined
  /** The HTTP client behind `client`. Default: one that fails every request. */
  readonly httpClient?: HttpClient.HttpClient | undefined
  readonly settings?: ChutesSettings.Options | undefined
  /** A pre-filled disk cache. */
  readonly diskCache?: CatalogCache.CachedCatalog | undefined
}

const offlineClient = HttpClient.make((request) =>
  Effect.fail(
    new HttpClientError.RequestError({
      request,
      reason: "Transport",
      description: "ChutesProvider.layerTest has no HttpClient; pass `httpClient` to make requests"
    })
  )
)

/**
 * A provider with no I/O at all, for tests of code that uses it: fixed discovery, a fixed credential, an in-memory
 * disk cache, and settings that never touch the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (options: TestOptions = {}): Layer.Layer<ChutesProvider, InvalidModelRef> => {
  const credential = options.credential === undefined
    ? ChutesCredentials.make({ kind: "api_key", source: "test", secret: "cpk_test" })
    : options.credential === null
    ? undefined
    : typeof options.credential === "string"
    ? ChutesCredentials.make({ kind: "api_key", source: "test", secret: options.credential })
    : options.credential
  return layerWithoutDependencies(options).pipe(
    Layer.provide(Layer.mergeAll(
      ChutesSettings.layer({ diskCachePath: false, ...options.settings }),
      ChutesCredentials.layerStatic(credential),
      ModelDiscovery.layerStatic(options.models ?? ModelCatalog.STATIC_MODELS),
      CatalogCache.layerMemory(options.diskCache),
      Layer.succeed(HttpClient.HttpClient, options.httpClient ?? offlineClient)
    ))
  )
}
