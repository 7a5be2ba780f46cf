/**
 * `effect-chutes onboard`: sign in with OAuth or an API key, store the auth profile, register the catalog through the
 * provider (live if reachable, else the disk cache or static — and say which), set the default model, write the
 * config, and print what was written where — never a secret (at most the last four characters). A credential the
 * service accepted is asked for its account (user and balance, ./credentialCheck.ts); a scoped key, which may not read
 * it, says so and onboarding goes on.
 *
 * Order matters so a failure leaves nothing half-done: the config and the auth store are read first (a broken file
 * stops onboarding before anything is written); an API key is stored only once the service did not reject it; an
 * OAuth sign-in is stored as soon as the tokens arrive; the config is written last.
 *
 * Loaded lazily.
 *
 * @internal
 */
import type * as ValidationError from "@effect/cli/ValidationError"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as AgentConfig from "../AgentConfig.js"
import * as Aliases from "../Aliases.js"
import * as AuthProfileStore from "../AuthProfileStore.js"
import * as CatalogCache from "../CatalogCache.js"
import * as ChutesCredentials from "../ChutesCredentials.js"
import {
  ConfigError,
  CredentialsError,
  type DiscoveryError,
  type OAuthError,
  type PromptError,
  type StoreError
} from "../ChutesError.js"
import type * as ChutesOAuth from "../ChutesOAuth.js"
import * as ChutesProvider from "../ChutesProvider.js"
import * as ChutesSettings from "../ChutesSettings.js"
import * as ModelCatalog from "../ModelCatalog.js"
import type * as ModelDiscovery from "../ModelDiscovery.js"
import * as ModelRef from "../ModelRef.js"
import * as OAuthLogin from "../OAuthLogin.js"
import { unsendable } from "../internal/auth.js"
import { excerpt } from "../internal/redact.js"
import * as CredentialCheck from "./credentialCheck.js"
import * as DefaultModel from "./defaultModel.js"
import type { Services } from "./layers.js"
import { mergeOnboarding } from "./onboarding.js"
import { lastFour, notes, out, usageError, withProgress } from "./render.js"

/** The two sign-in methods, named as OpenClaw names them. */
export type AuthChoice = "chutes" | "chutes-api-key"

/** The choices, in the order they are offered. */
export const AUTH_CHOICES: ReadonlyArray<AuthChoice> = ["chutes", "chutes-api-key"]

/** Options of `onboard`. */
export interface OnboardOptions {
  readonly authChoice: Option.Option<AuthChoice>
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  /** Skip the browser and the local listener: print the URL and read the pasted redirect URL. */
  readonly noBrowser: boolean
  /** `--model <alias|ref>`: the default model to write; else asked (with a terminal) or the suggested one. */
  readonly model?: string | undefined
  /** `false` with `--no-follow-successors`; else the config, then `CHUTES_FOLLOW_SUCCESSORS`, decide. */
  readonly followSuccessors?: boolean | undefined
}

/** What `onboard` needs: the file- and network-backed services, a terminal and a browser. */
export type OnboardServices = Services | OAuthLogin.Prompter | OAuthLogin.BrowserOpener | OAuthLogin.CallbackServer

/** How `onboard` can fail. */
export type OnboardError =
  | ValidationError.ValidationError
  | CredentialsError
  | OAuthError
  | PromptError
  | StoreError
  | ConfigError

/** A finished sign-in, before anything is written. */
interface SignedIn {
  readonly profileId: string
  readonly profile: AuthProfileStore.ChutesProfile
  readonly mode: "oauth" | "api_key"
  /** The credential as stored (source `profile:<id>`). */
  readonly credential: ChutesCredentials.Credential
  /** Where an API key came from (`--chutes-api-key`, `env:CHUTES_API_KEY`, `prompt`); the user name for OAuth. */
  readonly from: string
  /** The intake already made with the credential (the API-key validation), if any. */
  readonly intake: Option.Option<Intake>
}

/** Whether the service refused the credential (HTTP 401). */
const isRejected = (discovered: Intake["discovered"]): boolean =>
  Either.isLeft(discovered) && discovered.left._tag === "DiscoveryError" && discovered.left.reason === "Unauthorized"

/** What the provider made of the catalog with one credential: the live lookup itself, and the catalog it serves. */
interface Intake {
  /** The live lookup: how an API key is validated (a 401 is `Unauthorized`). */
  readonly discovered: Either.Either<unknown, DiscoveryError | CredentialsError>
  /** Live when the lookup succeeded; else the disk cache or the built-in catalog, with the reason. */
  readonly catalog: ModelCatalog.CatalogSnapshot
}

/**
 * The catalog through the provider, over one credential and no config: the intake every command uses (discovery with
 * the retry policy, the disk cache written after a live answer, the fallback and its reason). The provider memoises
 * the lookup, so `discover` and then `catalog` make one request.
 */
const intakeWith = (
  credential: ChutesCredentials.Credential
): Effect.Effect<
  Intake,
  never,
  ChutesSettings.ChutesSettings | ModelDiscovery.ModelDiscovery | CatalogCache.CatalogCache | HttpClient.HttpClient
> =>
  Effect.gen(function*() {
    const provider = yield* ChutesProvider.ChutesProvider
    const discovered = yield* Effect.either(provider.discover)
    // A rejected key is asked for again: no catalog is made of it.
    if (isRejected(discovered)) return { discovered, catalog: ModelCatalog.staticSnapshot() }
    return { discovered, catalog: yield* provider.catalog }
  }).pipe(
    Effect.provide(
      // No aliases are given, so none can be invalid.
      ChutesProvider.layerWithoutDependencies().pipe(
        Layer.orDie,
        Layer.provide(ChutesCredentials.layerStatic(credential))
      )
    ),
    // The provider's own warnings are silenced, as for `models list`: onboarding says the same facts itself (the
    // catalog line, and short notes for the targets the catalog lacks).
    Logger.withMinimumLogLevel(LogLevel.Error)
  )

/**
 * The account of a credential the service accepted, for the report (./credentialCheck.ts): the user and the balance
 * when it may read the account; a scoped key (or a token without the scope) says so and is nothing worse; any other
 * failure is one line too — onboarding never fails on it.
 */
const accountLine = (
  credential: ChutesCredentials.Credential
): Effect.Effect<string, never, HttpClient.HttpClient | ChutesSettings.ChutesSettings> =>
  Effect.gen(function*() {
    const settings = yield* ChutesSettings.ChutesSettings
    const url = `${settings.idpBaseUrl}/users/me`
    const credentials: ChutesCredentials.Service = {
      get: Effect.succeedSome(credential),
      forceRefresh: () => Effect.succeedNone
    }
    const read = yield* CredentialCheck.readAccount(credentials, credential.kind).pipe(
      withProgress(`Reading the account at ${url}`)
    )
    switch (read._tag) {
      case "Read": {
        const balance = read.me.balance !== null ? `, balance ${CredentialCheck.usd(read.me.balance)}` : ""
        return `Account: ${CredentialCheck.userName(read.me)}${balance}.`
      }
      case "NotPermitted":
        return `Account: not read — ${CredentialCheck.notPermittedLine(read.kind)} ` +
          `(HTTP ${read.status} from ${url}). ` +
          (read.kind === "api_key"
            ? `The key works for inference; "effect-chutes account" needs an admin key or "--auth-choice chutes".`
            : `Sign in again with the default scopes to read it.`)
      case "Failed":
        return `Account: not read (${excerpt(read.why, 300)}).`
    }
  })

const ATTEMPTS = 3

const isYes = (answer: string): boolean => /^(y|yes)?$/i.test(answer.trim())

/** Asks which sign-in to use (only called with a terminal). */
const askChoice = (
  prompter: OAuthLogin.PrompterService
): Effect.Effect<AuthChoice, PromptError | ValidationError.ValidationError> =>
  Effect.gen(function*() {
    yield* prompter.print("How do you want to sign in to Chutes?")
    yield* prompter.print("  1) chutes          Sign in with Chutes (OAuth in your browser)")
    yield* prompter.print("  2) chutes-api-key  Use an API key (cpk_…)")
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const answer = (yield* prompter.prompt("Choose 1 or 2 [1]: ")).trim().toLowerCase()
      if (answer === "" || answer === "1" || answer === "chutes" || answer === "oauth") return "chutes"
      if (answer === "2" || answer === "chutes-api-key" || answer === "api-key" || answer === "key") {
        return "chutes-api-key"
      }
      yield* prompter.print(`Please answer 1 or 2.`)
    }
    return yield* usageError("no sign-in method chosen: pass --auth-choice chutes or --auth-choice chutes-api-key")
  })

/** "No key": asked for with nothing entered, or the input ended. */
const noKeyEntered = (detail: string) =>
  new CredentialsError({ reason: "Missing", source: "prompt", detail })

/** A key prompt that got no answer is "no key" too, saying why. */
const unanswered = (error: PromptError) =>
  noKeyEntered(
    error.detail ?? (error.reason === "InputEnded" ? "the input ended before an answer was given" : "no terminal")
  )

/** Reads a hidden API key from the terminal, asking again on an empty answer. */
const promptKey = (prompter: OAuthLogin.PrompterService): Effect.Effect<Redacted.Redacted<string>, CredentialsError> =>
  Effect.gen(function*() {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const answer = (yield* prompter.prompt("Chutes API key (cpk_…; input hidden): ", { hidden: true })).trim()
      if (answer.length > 0) return Redacted.make(answer)
      yield* prompter.print("No key entered.")
    }
    return yield* noKeyEntered(`no key entered after ${ATTEMPTS} tries`)
  }).pipe(
    Effect.catchTag("PromptError", (error) => Effect.fail(unanswered(error)))
  )

/**
 * The API key: `--chutes-api-key`, else `CHUTES_API_KEY` (confirmed first when interactive), else a hidden prompt.
 * Without a terminal and without a key: a usage error naming the flag and the variable.
 */
export const apiKeyFrom = (
  flag: Option.Option<Redacted.Redacted<string>>,
  prompter: OAuthLogin.PrompterService
): Effect.Effect<
  { readonly secret: Redacted.Redacted<string>; readonly from: string },
  ValidationError.ValidationError | CredentialsError
> =>
  Effect.gen(function*() {
    if (Option.isSome(flag)) {
      const value = Redacted.value(flag.value).trim()
      if (value.length === 0) return yield* usageError("--chutes-api-key is empty")
      return { secret: Redacted.make(value), from: "--chutes-api-key" }
    }
    const env = yield* Effect.orDie(ChutesSettings.optionalEnv("CHUTES_API_KEY"))
    if (Option.isSome(env)) {
      const secret = Redacted.make(env.value)
      if (!prompter.isInteractive) return { secret, from: "env:CHUTES_API_KEY" }
      const question = `Use the API key from CHUTES_API_KEY (${lastFour(env.value)})? [Y/n] `
      const answer = yield* prompter.prompt(question).pipe(
        Effect.catchTag("PromptError", (error) => Effect.fail(unanswered(error)))
      )
      if (isYes(answer)) return { secret, from: "env:CHUTES_API_KEY" }
    } else if (!prompter.isInteractive) {
      return yield* usageError(
        "no API key: pass --chutes-api-key <key> or set CHUTES_API_KEY (there is no terminal to ask on)"
      )
    }
    return { secret: yield* promptKey(prompter), from: "prompt" }
  })

/**
 * Signs in with an API key: one discovery call validates it. A 401 at a terminal asks for another key (three keys in
 * all); without a terminal, or after the third, it fails with "key rejected" before any write.
 */
const signInWithApiKey = (
  flag: Option.Option<Redacted.Redacted<string>>
): Effect.Effect<
  SignedIn,
  ValidationError.ValidationError | CredentialsError,
  | OAuthLogin.Prompter
  | ChutesSettings.ChutesSettings
  | ModelDiscovery.ModelDiscovery
  | CatalogCache.CatalogCache
  | HttpClient.HttpClient
> =>
  Effect.gen(function*() {
    const prompter = yield* OAuthLogin.Prompter
    const settings = yield* ChutesSettings.ChutesSettings
    const url = `${settings.baseUrl}/models`
    let { from, secret } = yield* apiKeyFrom(flag, prompter)
    // A key the service refuses gets another try at a terminal (ATTEMPTS keys in all); without one, it ends here.
    for (let attempt = 1;; attempt++) {
      const candidate = ChutesCredentials.make({ kind: "api_key", source: from, secret })
      // A key no header can carry is refused before anything is sent or written.
      const refused = unsendable(candidate)
      if (refused !== undefined) return yield* refused
      yield* ChutesCredentials.warnOnShape(Option.some(candidate))
      const intake = yield* intakeWith(candidate).pipe(withProgress(`Validating the API key against ${url}`))
      if (!isRejected(intake.discovered)) {
        const profileId = AuthProfileStore.profileIdFor({ type: "api_key" })
        return {
          profileId,
          profile: { type: "api_key", provider: AuthProfileStore.PROVIDER, key: Redacted.value(secret) },
          mode: "api_key",
          credential: ChutesCredentials.make({ kind: "api_key", source: `profile:${profileId}`, secret, profileId }),
          from,
          intake: Option.some(intake)
        } satisfies SignedIn
      }
      if (!prompter.isInteractive || attempt >= ATTEMPTS) {
        return yield* new CredentialsError({
          reason: "Rejected",
          source: from,
          detail: `HTTP 401 from ${url}${attempt > 1 ? ` for each of ${attempt} keys` : ""}; nothing was written`
        })
      }
      yield* prompter.print(
        `The Chutes API refused the API key (HTTP 401). Try again (${attempt + 1} of ${ATTEMPTS}), or press Ctrl-C.`
      )
      secret = yield* promptKey(prompter)
      from = "prompt"
    }
  })

/** Signs in with OAuth (docs/oauth.md); `noBrowser` forces the paste flow. Without a terminal: `NotInteractive`. */
const signInWithOAuth = (
  noBrowser: boolean
): Effect.Effect<
  SignedIn,
  OAuthError,
  ChutesOAuth.ChutesOAuth | OAuthLogin.BrowserOpener | OAuthLogin.Prompter | OAuthLogin.CallbackServer
> =>
  Effect.map(OAuthLogin.login({ forcePaste: noBrowser }), (completed) => ({
    profileId: completed.profileId,
    profile: completed.profile,
    mode: "oauth",
    credential: ChutesCredentials.fromProfile(completed.profileId, completed.profile),
    from: completed.profile.email ?? "",
    intake: Option.none()
  } satisfies SignedIn))

/**
 * Stores a sign-in under its id. A sign-in whose user is not known (userinfo failed: `chutes:oauth`) never replaces
 * another such sign-in, which may be another account's: it takes the first free `chutes:oauth-<n>`, and says so.
 */
const storeSignIn = (
  store: AuthProfileStore.Service,
  signedIn: SignedIn
): Effect.Effect<SignedIn, StoreError> =>
  Effect.flatMap(
    store.modify((current) => {
      let id = signedIn.profileId
      if (signedIn.mode === "oauth" && id === AuthProfileStore.OAUTH_FALLBACK_PROFILE_ID) {
        for (let n = 2; current.profiles.has(id); n++) id = `${AuthProfileStore.OAUTH_FALLBACK_PROFILE_ID}-${n}`
      }
      return Effect.succeed([id, [{ _tag: "Upsert", id, profile: signedIn.profile }]] as const)
    }),
    (id) =>
      id === signedIn.profileId ? Effect.succeed(signedIn) : Effect.as(
        Effect.logWarning(
          `the sign-in's user is not known (userinfo failed) and ${signedIn.profileId} holds another such sign-in: ` +
            `stored as ${id}. Remove the one you no longer need with "effect-chutes auth logout --profile <id>"`
        ),
        {
          ...signedIn,
          profileId: id,
          credential: ChutesCredentials.fromProfile(id, signedIn.profile)
        }
      )
  )

/**
 * Runs onboarding. `authChoice` absent: asked for with a terminal, else a usage error (exit 2).
 */
export const onboard = (options: OnboardOptions): Effect.Effect<void, OnboardError, OnboardServices> =>
  Effect.gen(function*() {
    const settings = yield* ChutesSettings.ChutesSettings
    const prompter = yield* OAuthLogin.Prompter
    const config = yield* AgentConfig.AgentConfig
    const store = yield* AuthProfileStore.AuthProfileStore

    if (Option.isSome(options.apiKey) && Option.contains(options.authChoice, "chutes")) {
      return yield* usageError("--chutes-api-key goes with --auth-choice chutes-api-key, not --auth-choice chutes")
    }
    // Both files must be usable before anything is written: a broken config or store stops here.
    const configPath = config.path
    if (configPath === undefined) return yield* AgentConfig.noPath()
    const loaded = yield* config.load
    yield* store.load

    const choice: AuthChoice = Option.isSome(options.authChoice)
      ? options.authChoice.value
      : Option.isSome(options.apiKey)
      ? "chutes-api-key"
      : prompter.isInteractive
      ? yield* askChoice(prompter)
      : yield* usageError(
        "--auth-choice is required without a terminal: --auth-choice chutes-api-key (with --chutes-api-key or " +
          "CHUTES_API_KEY), or --auth-choice chutes (OAuth, needs a terminal)"
      )

    const signedIn = yield* storeSignIn(
      store,
      choice === "chutes-api-key" ? yield* signInWithApiKey(options.apiKey) : yield* signInWithOAuth(options.noBrowser)
    )

    // The catalog through the provider: live with the new credential when reachable, else the disk cache or the
    // built-in one — and why.
    const { catalog, discovered } = Option.isSome(signedIn.intake)
      ? signedIn.intake.value
      : yield* intakeWith(signedIn.credential).pipe(withProgress(`Discovering models at ${settings.baseUrl}/models`))
    const models = catalog.models

    const doc = Option.getOrElse(loaded, () => AgentConfig.empty)
    const configured = AgentConfig.providerDefaults(doc)
    const userAliases = ModelRef.makeUserAliases(configured.aliases).aliases
    const followSuccessors = Aliases.followSuccessors(options.followSuccessors, configured, settings.followSuccessors)
    const chosen = yield* DefaultModel.choose({
      input: options.model,
      prompter,
      catalog,
      userAliases,
      followSuccessors
    })
    // The credential is stored whatever happens to the config now: a config error says so, and what the config would
    // have said, for a change by hand.
    const stillStored = (error: ConfigError) =>
      new ConfigError({
        reason: error.reason,
        path: error.path,
        detail: `${error.detail ?? "it was not rewritten"}. The ${
          signedIn.mode === "oauth" ? "sign-in" : "API key"
        } is stored as profile ${signedIn.profileId}; onboarding would have set agents.defaults.model.primary to ` +
          `"${chosen.ref}"`
      })
    // The config again, just before it is written: an edit made while the sign-in and the discovery ran (minutes, for
    // a browser sign-in) is merged into, not reverted to the copy read at the start.
    const current = Option.getOrElse(yield* config.load.pipe(Effect.mapError(stillStored)), () => AgentConfig.empty)
    const merged = mergeOnboarding(current, {
      defaultModel: chosen.ref,
      baseUrl: settings.baseUrl,
      models,
      profileId: signedIn.profileId,
      mode: signedIn.mode
    })
    yield* config.save(merged.doc).pipe(
      // A config the SDK may not rewrite (a number it would change).
      Effect.mapError((error) => error.reason !== "Invalid" ? error : stillStored(error))
    )

    // Who the credential belongs to: only asked of a credential the service accepted.
    const account = Either.isRight(discovered) ? Option.some(yield* accountLine(signedIn.credential)) : Option.none()

    // Report.
    const secret = `${signedIn.mode === "oauth" ? "OAuth token" : "API key"} ${
      lastFour(Redacted.value(signedIn.credential.secret))
    }`
    yield* out("")
    if (signedIn.mode === "oauth") {
      // The user name is the IdP's text: escaped like every server text that reaches the terminal.
      yield* out(`Signed in with Chutes${signedIn.from.length > 0 ? ` as ${excerpt(signedIn.from, 120)}` : ""} (${secret}).`)
    } else if (Either.isRight(discovered)) {
      yield* out(`${secret} (from ${signedIn.from}) accepted by ${settings.baseUrl}/models.`)
    } else {
      yield* out(
        `${secret} (from ${signedIn.from}) stored WITHOUT ` +
          `validation: ${discovered.left.message}. It was not rejected; check it later with ` +
          `"effect-chutes auth status".`
      )
    }
    if (Option.isSome(account)) yield* out(account.value)
    if (Either.isRight(discovered)) {
      yield* out(`Catalog: live — ${models.length} models from ${settings.baseUrl}/models.`)
      const byId = new Map(models.map((model) => [model.id, model] as const))
      const aliases = new Map([
        ...ModelRef.builtinAliases,
        ...ModelRef.makeUserAliases(AgentConfig.userAliases(merged.doc)).aliases
      ])
      const warnings = ChutesProvider.catalogWarnings(models, byId, chosen.ref, aliases, followSuccessors)
      yield* notes(warnings)
    } else if (catalog.source === "cache") {
      yield* out(
        `Catalog: cache — ${models.length} models from the last live catalog (live discovery failed: ` +
          `${discovered.left.message}).`
      )
    } else {
      yield* out(
        `Catalog: static — the ${models.length} built-in models (live discovery failed: ${discovered.left.message}).`
      )
    }
    yield* out("")
    yield* out("Wrote:")
    // With CHUTES_REDIS_URL the profile and the catalog cache went to the shared store on Redis, not to files.
    const sharedStore = Option.isSome(yield* AuthProfileStore.SharedStore)
    const sharedCache = Option.isSome(yield* CatalogCache.SharedCache)
    const storeNote = sharedStore ? "the shared store: every host with this CHUTES_REDIS_URL uses it" : "mode 0600"
    yield* out(`  ${store.location}  (${storeNote})`)
    yield* out(`    - profile ${JSON.stringify(signedIn.profileId)} (${secret})`)
    yield* out(
      `  ${configPath}  (mode 0600${Option.isSome(loaded) ? `; previous version kept as ${configPath}.bak` : ""})`
    )
    for (const change of merged.changes) yield* out(`    - ${change}`)
    if (Either.isRight(discovered) && sharedCache) {
      yield* out(`  the live catalog, for offline fallback: in the shared store on Redis, next to the profiles`)
    } else if (Either.isRight(discovered) && settings.diskCachePath !== undefined) {
      yield* out(`  ${settings.diskCachePath}  (the live catalog, for offline fallback)`)
    }
    yield* out("")
    yield* out(`Default model: ${chosen.ref}`)
    for (const line of chosen.why) yield* out(`  ${line}`)
    yield* out(`Next: effect-chutes models list · effect-chutes models resolve chutes-pro · effect-chutes auth status`)
  })
