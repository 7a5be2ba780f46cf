/**
 * The command tree of `effect-chutes`: the definitions (names, options, descriptions) that `--help` is rendered from
 * and @effect/cli parses with. Start-up time matters (bench/README.md, "Cold start"): every handler loads its code
 * with a dynamic `import()` when it runs, and the esbuild bundle is split so that such code is not even read before
 * (scripts/build.mjs). This module imports no HTTP, file, OAuth, AI or prompt module, and not `Command.run` (the parser
 * and its built-ins live in `runner.ts`), so `--help` reads only these definitions.
 *
 * @since 0.2.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  followOptions,
  globalOf,
  globalOptions,
  type GlobalValues,
  profileOption,
  profileOptions,
  withTimeout
} from "./global.js"
import type { HelpNode } from "./help.js"
import { usageError } from "./render.js"

/** Bounds a command by its `--timeout` (see `global.ts`). */
const bounded = <Name extends string, R, E, A extends GlobalValues>(self: Command.Command<Name, R, E, A>) =>
  Command.transformHandler(self, (effect, options: A) => withTimeout(globalOf(options))(effect))

const json = Options.boolean("json").pipe(Options.withDescription("print JSON instead of text"))
const offline = Options.boolean("offline").pipe(
  Options.withDescription("use the built-in static catalog; no network, no files")
)
const profileOffline = usageError("--profile chooses the credential of the requests to Chutes: not with --offline")

const modelsList = Command.make(
  "list",
  {
    ...globalOptions,
    ...followOptions,
    ...profileOptions,
    json,
    offline,
    refresh: Options.boolean("refresh").pipe(
      Options.withDescription("force a fresh request to the service (bypass the provider's in-memory catalog cache)")
    ),
    stats: Options.boolean("stats").pipe(
      Options.withDescription("add the platform-wide daily stats of each model (requests, TTFT, TPS; a public request)")
    )
  },
  (options) =>
    Effect.gen(function*() {
      if (options.offline && options.refresh) return yield* usageError("--offline and --refresh exclude each other")
      if (options.offline && options.stats) return yield* usageError("--stats needs the network: not with --offline")
      if (options.offline && Option.isSome(options.profile)) return yield* profileOffline
      const global = globalOf(options)
      if (options.offline) {
        // No config, no store, no network: the executable takes the same path without this tree (fastPath.ts).
        const offline = yield* Effect.promise(() => import("./offline.js"))
        return yield* offline.list({ json: options.json, followSuccessors: global.followSuccessors })
      }
      const models = yield* Effect.promise(() => import("./models.js"))
      yield* models.list(global, {
        json: options.json,
        refresh: options.refresh,
        stats: options.stats,
        profile: Option.getOrUndefined(options.profile)
      })
    })
).pipe(
  Command.withDescription(
    "List the models (ref, context, max output, input, reasoning, price): live catalog, else the disk cache, else " +
      "the built-in one — the source and any fallback reason on top"
  )
)

const modelsResolve = Command.make(
  "resolve",
  {
    ...globalOptions,
    ...followOptions,
    ...profileOptions,
    json,
    offline,
    input: Args.text({ name: "alias|ref" }).pipe(
      Args.withDescription(
        "an alias (chutes-pro, or one from the config), a chutes/<id> ref, or a bare model id; " +
          "without it, the default model"
      ),
      Args.optional
    )
  },
  (options) =>
    Effect.gen(function*() {
      if (options.offline && Option.isSome(options.profile)) return yield* profileOffline
      const models = yield* Effect.promise(() => import("./models.js"))
      yield* models.resolve(globalOf(options), {
        input: Option.getOrUndefined(options.input),
        json: options.json,
        offline: options.offline,
        profile: Option.getOrUndefined(options.profile)
      })
    })
).pipe(Command.withDescription("Resolve an alias, ref or bare model id to a model ref, and say why"))

const models = Command.make("models").pipe(
  Command.withDescription("List and resolve Chutes models"),
  Command.withSubcommands([bounded(modelsList), bounded(modelsResolve)])
)

const onboard = Command.make(
  "onboard",
  {
    ...globalOptions,
    ...followOptions,
    authChoice: Options.choice("auth-choice", ["chutes", "chutes-api-key"]).pipe(
      Options.withDescription("chutes = Sign in with Chutes (OAuth); chutes-api-key = an API key. Asked when omitted"),
      Options.optional
    ),
    apiKey: Options.redacted("chutes-api-key").pipe(
      Options.withPseudoName("<key>"),
      Options.withDescription(
        "the API key (cpk_…); else CHUTES_API_KEY, else a hidden prompt. Prefer those two: arguments show up in `ps`"
      ),
      Options.optional
    ),
    noBrowser: Options.boolean("no-browser").pipe(
      Options.withDescription("OAuth without opening a browser: print the URL and paste the redirect URL back")
    ),
    nonInteractive: Options.boolean("non-interactive").pipe(
      Options.withDescription("never prompt (also implied when stdin or stdout is not a terminal)")
    ),
    model: Options.text("model").pipe(
      Options.withPseudoName("<alias|ref>"),
      Options.withDescription(
        "the default model to write (an alias or a chutes/<id> ref); else offered from the catalog with a terminal, " +
          "else the documented default or, where Chutes retired it, its successor"
      ),
      Options.optional
    )
  },
  (options) =>
    Effect.gen(function*() {
      const [{ onboard }, layers] = yield* Effect.promise(() =>
        Promise.all([import("./onboard.js"), import("./layers.js")])
      )
      const global = globalOf(options)
      yield* onboard({
        authChoice: options.authChoice,
        apiKey: options.apiKey,
        noBrowser: options.noBrowser,
        model: Option.getOrUndefined(options.model),
        followSuccessors: global.followSuccessors
      }).pipe(
        Effect.provide(layers.servicesLayer(global)),
        Effect.provide(layers.terminalLayer(options.nonInteractive))
      )
    })
).pipe(
  Command.withDescription(
    "Sign in (OAuth or API key), store the auth profile, register the catalog, set the default model " +
      "(one the catalog serves) and write the config"
  )
)

const authStatus = Command.make("status", {
  ...globalOptions,
  json,
  offline: Options.boolean("offline").pipe(
    Options.withDescription("no request to Chutes: expiry from the store, no refresh, check = not checked")
  )
}, (options) =>
  Effect.gen(function*() {
    const [auth, layers] = yield* Effect.promise(() => Promise.all([import("./auth.js"), import("./layers.js")]))
    yield* auth.status({ json: options.json, offline: options.offline }).pipe(
      Effect.provide(layers.servicesLayer(globalOf(options)))
    )
  })).pipe(
    Command.withDescription(
      "Show each credential (env and stored profiles): kind, source, which is active, its expiry (a due OAuth token " +
        "is refreshed) and its check against Chutes (accepted / rejected by /v1/models; the account name from " +
        "/users/me). Exit 1 when the active credential is unusable or there is none"
    )
  )

const authLogout = Command.make(
  "logout",
  {
    ...globalOptions,
    profile: profileOption("the profile to remove, e.g. chutes:alice (default: the active stored profile)"),
    allHosts: Options.boolean("all-hosts").pipe(
      Options.withDescription(
        "with CHUTES_REDIS_URL set: yes, sign out every host that shares the store (asked with a terminal; " +
          "required without one)"
      )
    )
  },
  (options) =>
    Effect.gen(function*() {
      const [auth, layers] = yield* Effect.promise(() => Promise.all([import("./auth.js"), import("./layers.js")]))
      yield* auth.logout({ profile: options.profile, allHosts: options.allHosts }).pipe(
        Effect.provide(layers.servicesLayer(globalOf(options))),
        Effect.provide(layers.terminalLayer(false))
      )
    })
).pipe(
  Command.withDescription(
    "Revoke (when possible) and remove a stored profile; other profiles stay untouched. With CHUTES_REDIS_URL set " +
      "this signs out every host sharing the store"
  )
)

const authMove = Command.make(
  "move",
  {
    ...globalOptions,
    toRedis: Options.boolean("to-redis").pipe(
      Options.withDescription("move the local chutes profiles to the Redis of CHUTES_REDIS_URL (asked when unset)")
    ),
    fromRedis: Options.boolean("from-redis").pipe(
      Options.withDescription("move the chutes profiles from that Redis to this host's auth-profiles.json")
    ),
    profile: profileOption("move only this profile, e.g. chutes:alice (default: every chutes profile)"),
    force: Options.boolean("force").pipe(
      Options.withDescription("replace a profile of the same id at the destination")
    )
  },
  (options) =>
    Effect.gen(function*() {
      if (options.toRedis === options.fromRedis) return yield* usageError("give one of --to-redis and --from-redis")
      const [authMove, layers] = yield* Effect.promise(() =>
        Promise.all([import("./authMove.js"), import("./layers.js")])
      )
      yield* authMove.move({
        direction: options.toRedis ? "to-redis" : "from-redis",
        force: options.force,
        profile: options.profile
      }).pipe(Effect.provide(layers.platformLayer(globalOf(options))), Effect.provide(layers.terminalLayer(false)))
    })
).pipe(
  Command.withDescription(
    "Hand the sign-in to a fleet (--to-redis) or back (--from-redis): copy the chutes profiles, check they read back, " +
      "then remove them from where they were (a refresh token is single-use: one live copy). The Redis URL comes " +
      "from CHUTES_REDIS_URL or a hidden prompt, never the command line"
  )
)

const authCooldowns = Command.make(
  "cooldowns",
  {
    ...globalOptions,
    json,
    clear: Options.boolean("clear").pipe(
      Options.withDescription("remove the cooldowns (all, or those of --profile) and say which were removed")
    ),
    profile: profileOption("only this profile's cooldown, e.g. chutes:alice (default: every profile's)")
  },
  (options) =>
    Effect.gen(function*() {
      const [cooldowns, layers] = yield* Effect.promise(() =>
        Promise.all([import("./cooldowns.js"), import("./layers.js")])
      )
      const profile = Option.getOrUndefined(options.profile)
      const run = options.clear
        ? cooldowns.clear({ json: options.json, profile })
        : cooldowns.list({ json: options.json, profile })
      yield* run.pipe(Effect.provide(layers.storeLayer(globalOf(options))))
    })
).pipe(
  Command.withDescription(
    "List the cooldowns that hold now (what the service last said of a stored profile's account: rate-limited, " +
      "out of quota, the free-models daily cap, needs sign-in; a cooling profile is tried after the others), or " +
      "remove them with --clear"
  )
)

const auth = Command.make("auth").pipe(
  Command.withDescription("Inspect, move and remove credentials"),
  Command.withSubcommands([bounded(authStatus), bounded(authCooldowns), bounded(authLogout), bounded(authMove)])
)

const account = Command.make("account", { ...globalOptions, ...profileOptions, json }, (options) =>
  Effect.gen(function*() {
    const account = yield* Effect.promise(() => import("./account.js"))
    yield* account.show(globalOf(options), { json: options.json, profile: Option.getOrUndefined(options.profile) })
  })).pipe(
    Command.withDescription(
      "Show the account of the credential: user, balance, today's request quota (resets 00:00 UTC) and the " +
        "subscription's 4-hour and monthly windows — each line only when the account has it"
    )
  )

const usage = Command.make(
  "usage",
  {
    ...globalOptions,
    ...profileOptions,
    json,
    days: Options.integer("days").pipe(
      Options.withPseudoName("<N>"),
      Options.withDescription("the last N UTC days, today included (1-31; default 7)"),
      Options.withDefault(7)
    ),
    perModel: Options.boolean("per-model").pipe(Options.withDescription("split each day by model"))
  },
  (options) =>
    Effect.gen(function*() {
      if (options.days < 1 || options.days > 31) return yield* usageError("--days takes a whole number from 1 to 31")
      const usage = yield* Effect.promise(() => import("./usage.js"))
      yield* usage.show(globalOf(options), {
        days: options.days,
        perModel: options.perModel,
        json: options.json,
        profile: Option.getOrUndefined(options.profile)
      })
    })
).pipe(
  Command.withDescription(
    "Show requests, tokens and USD charged per UTC day (and per model), from the account's hourly usage buckets"
  )
)

/**
 * The command tree.
 *
 * @since 0.1.0
 */
export const command = Command.make("effect-chutes").pipe(
  Command.withDescription(
    "Chutes.ai for Effect: sign in, list and resolve models, inspect credentials, read the account"
  ),
  Command.withSubcommands([bounded(onboard), models, auth, bounded(account), bounded(usage)])
)

/**
 * The version `--version` prints.
 *
 * @since 0.2.0
 */
export const VERSION = "0.1.0"

/**
 * The commands by name, for `--help` and for naming the command of a usage error.
 *
 * @since 0.2.0
 */
export const tree: HelpNode = {
  name: "effect-chutes",
  command,
  children: [
    { name: "onboard", command: onboard },
    {
      name: "models",
      command: models,
      children: [{ name: "list", command: modelsList }, { name: "resolve", command: modelsResolve }]
    },
    {
      name: "auth",
      command: auth,
      children: [
        { name: "status", command: authStatus },
        { name: "cooldowns", command: authCooldowns },
        { name: "logout", command: authLogout },
        { name: "move", command: authMove }
      ]
    },
    { name: "account", command: account },
    { name: "usage", command: usage }
  ]
}
