/**
 * The `effect-chutes` command line: onboarding, model listing and resolution, auth status and logout.
 *
 * Start-up time matters (the bin is bundled; PERF.md): this module imports only what `models list --offline` needs —
 * the command definitions and the static catalog. Each command that touches files, the network or the terminal loads
 * its handler with a dynamic `import()`, which the bundle evaluates lazily.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as ModelCatalog from "../ModelCatalog.js"
import { globalOf, globalOptions } from "./global.js"
import { modelsListOutput } from "./json.js"
import { out, usageError } from "./render.js"

const json = Options.boolean("json").pipe(Options.withDescription("print JSON instead of text"))
const offline = Options.boolean("offline").pipe(
  Options.withDescription("use the built-in static catalog; no network, no files")
)

const modelsList = Command.make(
  "list",
  {
    ...globalOptions,
    json,
    offline,
    refresh: Options.boolean("refresh").pipe(
      Options.withDescription("force a fresh request to the service (bypass the provider's in-memory catalog cache)")
    )
  },
  (options) =>
    Effect.gen(function*() {
      if (options.offline && options.refresh) return yield* usageError("--offline and --refresh exclude each other")
      if (options.offline) {
        // No config, no store, no network: the fast path (it is what start-up is benchmarked on).
        const snapshot = ModelCatalog.staticSnapshot()
        if (options.json) return yield* out(JSON.stringify(modelsListOutput(snapshot, true), null, 2))
        yield* out("source: static (offline; the built-in catalog)")
        yield* out("")
        return yield* out(ModelCatalog.formatTable(snapshot.models))
      }
      const models = yield* Effect.promise(() => import("./models.js"))
      yield* models.list(globalOf(options), { json: options.json, refresh: options.refresh })
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
    json,
    offline,
    input: Args.text({ name: "alias|ref" }).pipe(
      Args.withDescription("an alias (chutes-pro, or one from the config), a chutes/<id> ref, or a bare model id")
    )
  },
  (options) =>
    Effect.gen(function*() {
      const models = yield* Effect.promise(() => import("./models.js"))
      yield* models.resolve(globalOf(options), { input: options.input, json: options.json, offline: options.offline })
    })
).pipe(Command.withDescription("Resolve an alias, ref or bare model id to a model ref, and say why"))

const models = Command.make("models").pipe(
  Command.withDescription("List and resolve Chutes models"),
  Command.withSubcommands([modelsList, modelsResolve])
)

const onboard = Command.make(
  "onboard",
  {
    ...globalOptions,
    authChoice: Options.choice("auth-choice", ["chutes", "chutes-api-key"]).pipe(
      Options.withDescription("chutes = Sign in with Chutes (OAuth); chutes-api-key = an API key. Asked when omitted"),
      Options.optional
    ),
    apiKey: Options.redacted("chutes-api-key").pipe(
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
    )
  },
  (options) =>
    Effect.gen(function*() {
      const [{ onboard }, layers] = yield* Effect.promise(() =>
        Promise.all([import("./onboard.js"), import("./layers.js")])
      )
      const global = globalOf(options)
      yield* onboard({ authChoice: options.authChoice, apiKey: options.apiKey, noBrowser: options.noBrowser }).pipe(
        Effect.provide(layers.servicesLayer(global)),
        Effect.provide(layers.terminalLayer(options.nonInteractive))
      )
    })
).pipe(
  Command.withDescription(
    "Sign in (OAuth or API key), store the auth profile, register the catalog, set the default model " +
      "chutes/zai-org/GLM-4.7-TEE and write the config"
  )
)

const authStatus = Command.make("status", { ...globalOptions, json }, (options) =>
  Effect.gen(function*() {
    const [auth, layers] = yield* Effect.promise(() => Promise.all([import("./auth.js"), import("./layers.js")]))
    yield* auth.status({ json: options.json }).pipe(Effect.provide(layers.servicesLayer(globalOf(options))))
  })).pipe(
    Command.withDescription(
      "Show each credential (env and stored profiles): kind, source, which is active, and its state — a due OAuth " +
        "token is refreshed to check it. Exit 1 when the active credential is unusable or there is none"
    )
  )

const authLogout = Command.make(
  "logout",
  {
    ...globalOptions,
    profile: Options.text("profile").pipe(
      Options.withDescription("the profile to remove, e.g. chutes:alice (default: the active stored profile)"),
      Options.optional
    )
  },
  (options) =>
    Effect.gen(function*() {
      const [auth, layers] = yield* Effect.promise(() => Promise.all([import("./auth.js"), import("./layers.js")]))
      yield* auth.logout({ profile: options.profile }).pipe(Effect.provide(layers.servicesLayer(globalOf(options))))
    })
).pipe(Command.withDescription("Revoke (when possible) and remove a stored profile; other profiles stay untouched"))

const auth = Command.make("auth").pipe(
  Command.withDescription("Inspect and remove credentials"),
  Command.withSubcommands([authStatus, authLogout])
)

/**
 * The command tree.
 *
 * @since 0.1.0
 */
export const command = Command.make("effect-chutes").pipe(
  Command.withDescription("Chutes.ai for Effect: sign in, list and resolve models, inspect credentials"),
  Command.withSubcommands([onboard, models, auth])
)

/**
 * Runs the CLI on `process.argv`-style arguments (the node and script paths first; they are dropped).
 *
 * @since 0.1.0
 */
export const run = Command.run(command, { name: "effect-chutes", version: "0.1.0" })
