/**
 * The `effect-chutes` executable as a real subprocess (`node bin/effect-chutes.js`, the esbuild bundle) against
 * FakeChutes over loopback, in a temporary home with no inherited CHUTES_* variables. The OAuth paste flow is driven
 * through a pseudo-terminal (python3's `pty`), with an HTTP client playing the browser. Every run is checked for
 * leaked secrets.
 */
import { assert, afterAll, beforeAll, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AuthStatusOutput, ModelsListOutput, ResolveOutput } from "../../src/cli/json.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { bin, ensureCliBundle, type Run } from "../support/cliProcess.js"
import { approveInBrowser, spawnCliInTerminal, type Step, takeSuggestedModel } from "../support/cliTerminal.js"
import { freePortPromise } from "../support/net.js"
import { oauthProfile } from "../support/profiles.js"

let fake: FakeChutes.FakeChutesServer
/** Every secret a run must never print. Grows as tests learn new ones (tokens read back from a store). */
const secrets = new Set<string>()

/**
 * The environment without any CHUTES_* variable, XDG_CONFIG_HOME (it would move the state dir), the markers of a
 * remote session, a display or a desktop (they decide between the browser and the paste flow), or a browser.
 */
const DROPPED = new RegExp(
  "^(CHUTES_.*|XDG_.*|SSH_.*|REMOTE_CONTAINERS|CODESPACES|DISPLAY|WAYLAND_DISPLAY|WSL_DISTRO_NAME|BROWSER|KDE_.*" +
    "|GNOME_.*|DESKTOP_SESSION)$"
)
const clean: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] =>
    entry[1] !== undefined && !DROPPED.test(entry[0])
  )
)

/** A fresh temporary home: `<home>/state` is the state dir (not created), config inside it. */
const makeHome = () => {
  const home = mkdtempSync(join(tmpdir(), "chutes-cli-"))
  const state = join(home, "state")
  return {
    home,
    state,
    store: join(state, "auth-profiles.json"),
    config: join(state, "config.json5"),
    env: {
      ...clean,
      HOME: home,
      CHUTES_STATE_DIR: state,
      CHUTES_CONFIG_PATH: join(state, "config.json5"),
      CHUTES_BASE_URL: fake.baseUrl,
      CHUTES_IDP_BASE_URL: fake.idpBaseUrl,
      CHUTES_CLIENT_ID: fake.clientId,
      CHUTES_CLIENT_SECRET: fake.clientSecret ?? ""
    }
  }
}

type Home = ReturnType<typeof makeHome>

const assertNoSecrets = (run: Run, extra: ReadonlyArray<string> = []) => {
  const text = run.stdout + run.stderr
  for (const secret of [...secrets, ...extra]) {
    assert.isFalse(text.includes(secret), `a secret ending in ${secret.slice(-4)} was printed`)
  }
}

/**
 * Runs the bin. stdin is a pipe left OPEN unless `input` is given (a prompt that waited for it would hang until the
 * timeout, which fails the test).
 */
const cli = (
  home: Home,
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly input?: string; readonly timeout?: number } = {}
): Promise<Run> =>
  new Promise<Run>((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...home.env, ...options.env },
      cwd: home.home,
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    if (options.input !== undefined) child.stdin.end(options.input)
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`effect-chutes ${args.join(" ")} did not finish in time:\n${stdout}\n${stderr}`))
    }, options.timeout ?? 20_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      child.stdin.destroy()
      resolve({ code, stdout, stderr, millis: Date.now() - started })
    })
  }).then((run) => {
    assertNoSecrets(run)
    return run
  })

const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"))
const mode = (path: string) => statSync(path).mode & 0o777

const onboardWithKey = (home: Home, key = fake.apiKey) =>
  cli(home, ["onboard", "--auth-choice", "chutes-api-key", "--chutes-api-key", key, "--non-interactive"])

beforeAll(async () => {
  ensureCliBundle()
  fake = await FakeChutes.start({ autoApprove: true })
  secrets.add(fake.apiKey)
  if (fake.clientSecret !== undefined) secrets.add(fake.clientSecret)
}, 60_000)

afterAll(async () => {
  await fake?.close()
})

describe("onboard --auth-choice chutes-api-key", () => {
  it("non-interactive: validates the key once, writes the store and the config (0600, dir 0700)", async () => {
    const home = makeHome()
    const before = fake.counters.models
    const run = await onboardWithKey(home)
    assert.strictEqual(run.code, 0, run.stderr)
    assert.strictEqual(fake.counters.models - before, 1)

    const store = readJson(home.store)
    assert.deepStrictEqual(store, {
      version: 1,
      profiles: { "chutes:default": { type: "api_key", provider: "chutes", key: fake.apiKey } }
    })
    assert.strictEqual(mode(home.store), 0o600)
    assert.strictEqual(mode(home.config), 0o600)
    assert.strictEqual(mode(home.state), 0o700)

    const JSON5 = (await import("json5")).default
    const config = JSON5.parse(readFileSync(home.config, "utf8"))
    assert.strictEqual(config.agents.defaults.model.primary, "chutes/zai-org/GLM-4.7-TEE")
    const models = config.agents.defaults.models
    assert.deepStrictEqual(models["chutes/deepseek-ai/DeepSeek-V3.2-TEE"], { alias: "chutes-pro" })
    assert.strictEqual(config.models.providers.chutes.baseUrl, fake.baseUrl)
    assert.strictEqual(config.models.providers.chutes.api, "openai-completions")
    assert.strictEqual(config.models.providers.chutes.models.length, FakeChutes.seedModels().length)
    assert.deepStrictEqual(config.auth.profiles["chutes:default"], { provider: "chutes", mode: "api_key" })
    assert.isFalse(readFileSync(home.config, "utf8").includes(fake.apiKey), "the config never holds the key")

    // What was written where, and which catalog: said on stdout.
    assert.include(run.stdout, home.store)
    assert.include(run.stdout, home.config)
    assert.include(run.stdout, "Catalog: live")
    assert.include(run.stdout, `API key …${fake.apiKey.slice(-4)}`)
    // The provider's intake wrote the live catalog for offline fallback, as every command does.
    const cached = readJson(join(home.state, "models-cache.json"))
    assert.strictEqual(cached.baseUrl, fake.baseUrl)
    assert.strictEqual(cached.models.length, FakeChutes.seedModels().length)
    assert.strictEqual(mode(join(home.state, "models-cache.json")), 0o600)
  })

  it("discovery fails after an earlier onboarding: the key is stored unvalidated, the catalog from the disk cache", async () => {
    const home = makeHome()
    assert.strictEqual((await onboardWithKey(home)).code, 0)
    fake.fault({ _tag: "Status", route: "models", status: 404, times: 1 })
    const run = await onboardWithKey(home)
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, "stored WITHOUT validation")
    assert.include(run.stdout, `Catalog: cache — ${FakeChutes.seedModels().length} models from the last live catalog`)
    const JSON5 = (await import("json5")).default
    const config = JSON5.parse(readFileSync(home.config, "utf8"))
    assert.strictEqual(config.models.providers.chutes.models.length, FakeChutes.seedModels().length)
  })

  it("a second onboarding keeps the previous config as .bak and other providers' profiles", async () => {
    const home = makeHome()
    mkdirSync(home.state, { recursive: true, mode: 0o700 })
    writeFileSync(
      home.store,
      JSON.stringify({
        version: 1,
        profiles: { "openai:default": { type: "api_key", provider: "openai", key: "sk-x" } }
      })
    )
    writeFileSync(
      home.config,
      `// mine\n{ agents: { defaults: { model: { primary: "x/y", fallbacks: ["a/b"] } } }, keep: 1 }\n`
    )
    const run = await onboardWithKey(home)
    assert.strictEqual(run.code, 0, run.stderr)
    assert.deepStrictEqual(Object.keys(readJson(home.store).profiles), ["openai:default", "chutes:default"])
    assert.include(readFileSync(`${home.config}.bak`, "utf8"), "// mine")
    const JSON5 = (await import("json5")).default
    const config = JSON5.parse(readFileSync(home.config, "utf8"))
    assert.deepStrictEqual(config.agents.defaults.model, { primary: "chutes/zai-org/GLM-4.7-TEE", fallbacks: ["a/b"] })
    assert.strictEqual(config.keep, 1)
  })

  it("an edit to the config made while onboarding runs is kept, not reverted to the copy read at the start", async () => {
    const home = makeHome()
    mkdirSync(home.state, { recursive: true, mode: 0o700 })
    writeFileSync(home.config, `{ channels: { telegram: { enabled: true } } }`, { mode: 0o600 })
    // Discovery waits 1.5 s: the config was read before it asked, and is edited while it waits.
    fake.fault({ _tag: "Delay", route: "models", millis: 1500, times: 1 })
    const before = fake.counters.models
    const running = onboardWithKey(home)
    const deadline = Date.now() + 20_000
    while (fake.counters.models === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.isAbove(fake.counters.models, before, "discovery started")
    writeFileSync(home.config, `{ channels: { telegram: { enabled: true }, discord: { enabled: false } } }`, { mode: 0o600 })
    const run = await running
    assert.strictEqual(run.code, 0, run.stderr)
    const JSON5 = (await import("json5")).default
    const config = JSON5.parse(readFileSync(home.config, "utf8"))
    assert.deepStrictEqual(config.channels, { telegram: { enabled: true }, discord: { enabled: false } })
    assert.strictEqual(config.agents.defaults.model.primary, "chutes/zai-org/GLM-4.7-TEE")
  })

  it("a config with an integer past 2^53: the key is stored, the config left byte for byte, and the message says what to set", async () => {
    const home = makeHome()
    mkdirSync(home.state, { recursive: true, mode: 0o700 })
    const text = `{\n  channels: { discord: { id: 1234567890123456789 } },\n}\n`
    writeFileSync(home.config, text, { mode: 0o600 })
    const run = await onboardWithKey(home)
    assert.strictEqual(run.code, 1, run.stdout + run.stderr)
    assert.include(run.stderr, "an integer past 2^53, which JSON may round, at channels.discord.id")
    assert.include(run.stderr, "The API key is stored as profile chutes:default")
    assert.include(run.stderr, `agents.defaults.model.primary to "chutes/zai-org/GLM-4.7-TEE"`)
    assert.strictEqual(readFileSync(home.config, "utf8"), text)
    assert.isFalse(existsSync(`${home.config}.bak`))
    assert.deepStrictEqual(Object.keys(readJson(home.store).profiles), ["chutes:default"])
  })

  it("a rejected key exits 1 with \"key rejected\" and writes nothing", async () => {
    const home = makeHome()
    const rejected = "cpk_" + "0".repeat(32) + "." + "1".repeat(32) + ".REJECTEDrejectedREJECTEDrejected"
    const run = await cli(home, ["onboard", "--auth-choice", "chutes-api-key", "--chutes-api-key", rejected])
    assertNoSecrets(run, [rejected])
    assert.strictEqual(run.code, 1)
    assert.include(run.stderr, "key rejected")
    assert.notInclude(run.stderr, "    at ", "no stack trace")
    assert.isFalse(existsSync(home.state), "nothing written, not even the state dir")
  })

  it("a usage error quoting a key of no known shape does not print it", async () => {
    const home = makeHome()
    const odd = "MyOwnGatewayKey" + "5d2b".repeat(6) + "Kw"
    const twice = await cli(home, ["onboard", "--auth-choice", "chutes-api-key", `--chutes-api-key=${odd}`, `--chutes-api-key=${odd}`])
    assert.strictEqual(twice.code, 2)
    assert.include(twice.stderr, "<redacted>")
    const stray = await cli(home, ["onboard", "--auth-choice", "chutes-api-key", odd], { env: { CHUTES_API_KEY: odd } })
    assert.strictEqual(stray.code, 2)
    for (const run of [twice, stray]) assertNoSecrets(run, [odd, odd.slice(0, 12), odd.slice(-12)])
    // A placeholder shorter than any key is not cut out of the message (it is an ordinary word there).
    const placeholder = await cli(home, ["models", "list", "stray"], { env: { CHUTES_API_KEY: "stray" } })
    assert.strictEqual(placeholder.code, 2)
    assert.include(placeholder.stderr, "Received unknown argument: 'stray'")
  })

  it("CHUTES_API_KEY is used without a terminal; the flag --state-dir wins over CHUTES_STATE_DIR", async () => {
    const home = makeHome()
    const elsewhere = join(home.home, "elsewhere")
    const args = ["--state-dir", elsewhere, "--config", join(elsewhere, "c.json5")]
    const run = await cli(home, ["onboard", "--auth-choice", "chutes-api-key", ...args], {
      env: { CHUTES_API_KEY: fake.apiKey }
    })
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, "from env:CHUTES_API_KEY")
    assert.strictEqual(readJson(join(elsewhere, "auth-profiles.json")).profiles["chutes:default"].key, fake.apiKey)
    assert.isTrue(existsSync(join(elsewhere, "c.json5")))
    assert.isFalse(existsSync(home.state))
  })

  it("discovery fails, not with 401: the key is stored unvalidated, static catalog, and it says so", async () => {
    const home = makeHome()
    fake.fault({ _tag: "Status", route: "models", status: 404, times: 1 })
    const run = await onboardWithKey(home)
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, "stored WITHOUT validation")
    assert.include(run.stdout, "Catalog: static")
    assert.strictEqual(readJson(home.store).profiles["chutes:default"].key, fake.apiKey)
  })
})

describe("without a terminal, nothing waits for input", () => {
  it("onboard without --auth-choice: exit 2 naming the flag", async () => {
    const home = makeHome()
    const run = await cli(home, ["onboard"])
    assert.strictEqual(run.code, 2)
    assert.include(run.stderr, "--auth-choice is required without a terminal")
    assert.isFalse(existsSync(home.state))
  })

  it("an API key prompt: exit 2 naming --chutes-api-key and CHUTES_API_KEY", async () => {
    const home = makeHome()
    const run = await cli(home, ["onboard", "--auth-choice", "chutes-api-key"])
    assert.strictEqual(run.code, 2)
    assert.include(run.stderr, "--chutes-api-key")
    assert.include(run.stderr, "CHUTES_API_KEY")
    assert.include(run.stderr, "no terminal")
  })

  it("OAuth: exit 2, \"OAuth requires interactive mode\" and the alternatives; --non-interactive too", async () => {
    const home = makeHome()
    for (const extra of [[], ["--non-interactive"]]) {
      const run = await cli(home, ["onboard", "--auth-choice", "chutes", ...extra])
      assert.strictEqual(run.code, 2)
      assert.include(run.stderr, "OAuth requires interactive mode")
      assert.include(run.stderr, "chutes-api-key")
      assert.notInclude(run.stdout + run.stderr, "/idp/authorize", "no sign-in was started")
    }
    assert.strictEqual(fake.counters.authorize, 0)
    assert.isFalse(existsSync(home.state))
  })
})

/** `effect-chutes <args>` in a pseudo-terminal in `home`, its prompts answered from `steps` (stdout and stderr merged). */
const cliInTerminal = (
  home: Home,
  args: ReadonlyArray<string>,
  steps: ReadonlyArray<Step>,
  env: Record<string, string> = {}
): Promise<Run> => spawnCliInTerminal(args, steps, { env: { ...home.env, TERM: "dumb", ...env }, cwd: home.home })

describe("onboard --auth-choice chutes (OAuth)", () => {
  it("the paste flow in a terminal ends with a stored profile and the config", async () => {
    const home = makeHome()
    // A display is set, so without --no-browser this would be the local browser flow.
    const run = await cliInTerminal(home, ["onboard", "--auth-choice", "chutes", "--no-browser"], [
      { prompt: /Paste the redirect URL: /, answer: approveInBrowser },
      takeSuggestedModel
    ], { DISPLAY: ":0" })
    assert.strictEqual(run.code, 0, run.stdout + run.stderr)
    assert.include(run.stdout, "Open this URL in your LOCAL browser")
    const profile = readJson(home.store).profiles["chutes:alice"]
    assert.strictEqual(profile.type, "oauth")
    assert.strictEqual(profile.provider, "chutes")
    assert.strictEqual(profile.email, "alice")
    assert.strictEqual(profile.clientId, fake.clientId)
    assert.match(profile.access, /^cak_/)
    assert.match(profile.refresh, /^crt_/)
    assert.isTrue(profile.expires > Date.now())
    assert.strictEqual(mode(home.store), 0o600)
    secrets.add(profile.access)
    secrets.add(profile.refresh)
    assertNoSecrets(run)
    const JSON5 = (await import("json5")).default
    const config = JSON5.parse(readFileSync(home.config, "utf8"))
    assert.deepStrictEqual(config.auth.profiles["chutes:alice"], { provider: "chutes", mode: "oauth" })
    assert.include(run.stdout, "Signed in with Chutes as alice")
    assert.include(run.stdout, "Catalog: live")
  })
})

describe("onboard --auth-choice chutes: a sign-in whose user is not known", () => {
  it("never replaces another such sign-in: the second is stored as chutes:oauth-2, and the run says so", async () => {
    const home = makeHome()
    const signIn = async () => {
      fake.fault({ _tag: "Status", route: "userinfo", status: 503, times: 5 })
      try {
        return await cliInTerminal(home, ["onboard", "--auth-choice", "chutes", "--no-browser"], [
          { prompt: /Paste the redirect URL: /, answer: approveInBrowser },
          takeSuggestedModel
        ])
      } finally {
        fake.clearFaults("userinfo")
      }
    }
    const first = await signIn()
    assert.strictEqual(first.code, 0, first.stdout)
    const stored = readJson(home.store).profiles["chutes:oauth"]
    assert.isDefined(stored)
    secrets.add(stored.access)
    secrets.add(stored.refresh)

    const second = await signIn()
    assert.strictEqual(second.code, 0, second.stdout)
    const profiles = readJson(home.store).profiles
    assert.deepStrictEqual(Object.keys(profiles), ["chutes:oauth", "chutes:oauth-2"])
    assert.strictEqual(profiles["chutes:oauth"].refresh, stored.refresh, "the first sign-in is kept")
    assert.notStrictEqual(profiles["chutes:oauth-2"].refresh, stored.refresh)
    secrets.add(profiles["chutes:oauth-2"].access)
    secrets.add(profiles["chutes:oauth-2"].refresh)
    assert.include(second.stdout, "stored as chutes:oauth-2")
    assert.include(second.stdout, `profile "chutes:oauth-2"`)
    assertNoSecrets(first)
    assertNoSecrets(second)
  })
})

describe("onboard --auth-choice chutes: the client secret", () => {
  it("without a terminal and without CHUTES_CLIENT_SECRET: exit 2 at once, naming the variable", async () => {
    const home = makeHome()
    const authorizeBefore = fake.counters.authorize
    const run = await cli(home, ["onboard", "--auth-choice", "chutes"], { env: { CHUTES_CLIENT_SECRET: "" } })
    assert.strictEqual(run.code, 2)
    assert.include(run.stderr, "CHUTES_CLIENT_SECRET")
    assert.notInclude(run.stdout + run.stderr, "/idp/authorize", "no sign-in was started")
    assert.strictEqual(fake.counters.authorize, authorizeBefore)
    assert.isFalse(existsSync(home.state))
  })

  it("in a terminal: asked for (hidden) before the URL is shown; stored with the profile; a new shell refreshes", async () => {
    const home = makeHome()
    const secret = fake.clientSecret ?? ""
    let urlShownFirst = true
    const run = await cliInTerminal(home, ["onboard", "--auth-choice", "chutes", "--no-browser"], [
      {
        prompt: /Chutes OAuth client secret \(csc_…; input hidden\): /,
        answer: async (output) => {
          urlShownFirst = output.includes("/idp/authorize")
          return secret
        }
      },
      { prompt: /Paste the redirect URL: /, answer: approveInBrowser },
      // Whatever onboarding asks next with a preselected answer (the default model): take it.
      { prompt: /\[[^\]\n]*\]: /, answer: async () => "" }
    ], { DISPLAY: ":0", CHUTES_CLIENT_SECRET: "" })
    assert.strictEqual(run.code, 0, run.stdout + run.stderr)
    assert.isFalse(urlShownFirst, "the secret is asked for before the browser part starts")
    assert.include(run.stdout, "CHUTES_CLIENT_SECRET")
    assertNoSecrets(run, [secret])
    const profile = readJson(home.store).profiles["chutes:alice"]
    assert.strictEqual(profile.clientId, fake.clientId)
    assert.strictEqual(profile.clientSecret, secret)
    assert.strictEqual(mode(home.store), 0o600)
    secrets.add(profile.access)
    secrets.add(profile.refresh)

    // A new shell without CHUTES_CLIENT_ID / CHUTES_CLIENT_SECRET: the due token refreshes with the stored pair.
    writeFileSync(home.store, JSON.stringify({ version: 1, profiles: { "chutes:alice": { ...profile, expires: 1 } } }))
    const refreshesBefore = fake.counters.tokenByGrant.refresh_token
    const status = await cli(home, ["auth", "status"], { env: { CHUTES_CLIENT_ID: "", CHUTES_CLIENT_SECRET: "" } })
    assert.strictEqual(status.code, 0, status.stdout + status.stderr)
    assert.include(status.stdout, "refreshed")
    assert.strictEqual(fake.counters.tokenByGrant.refresh_token, refreshesBefore + 1)
    const after = readJson(home.store).profiles["chutes:alice"]
    assert.notStrictEqual(after.access, profile.access)
    assert.strictEqual(after.clientSecret, secret)
    secrets.add(after.access)
    secrets.add(after.refresh)
    assertNoSecrets(status)
  })
})

describe("onboard --auth-choice chutes, local browser flow", () => {
  // Linux only: elsewhere the `open` package could start a real browser. Here BROWSER=true makes xdg-open a no-op.
  it.skipIf(process.platform !== "linux")("the listener receives the browser's redirect; no paste needed", async () => {
    const redirectUri = `http://127.0.0.1:${await freePortPromise()}/oauth-callback`
    const local = await FakeChutes.start({ autoApprove: true, redirectUris: [redirectUri], username: "carol" })
    try {
      const home = makeHome()
      let page = ""
      const run = await cliInTerminal(
        { ...home, env: { ...home.env, CHUTES_BASE_URL: local.baseUrl, CHUTES_IDP_BASE_URL: local.idpBaseUrl } },
        ["onboard", "--auth-choice", "chutes"],
        [{
          prompt: /Paste the redirect URL \(or wait for the browser\): /,
          answer: async (output) => {
            const url = /(http:\/\/127\.0\.0\.1:\d+\/idp\/authorize\?\S+)/.exec(output)?.[1] ?? ""
            page = await (await fetch(url)).text()
            return undefined
          }
        }, takeSuggestedModel],
        { DISPLAY: ":0", BROWSER: "true", CHUTES_OAUTH_REDIRECT_URI: redirectUri }
      )
      assert.strictEqual(run.code, 0, run.stdout)
      assert.include(page, "you can close this window")
      assert.include(run.stdout, "Open this URL in your browser")
      const profile = readJson(home.store).profiles["chutes:carol"]
      assert.strictEqual(profile.type, "oauth")
      secrets.add(profile.access)
      secrets.add(profile.refresh)
      assertNoSecrets(run)
    } finally {
      await local.close()
    }
  })
})

describe("onboard in a terminal, without --auth-choice", () => {
  it("offers the choice; CHUTES_API_KEY is confirmed first; declined, a hidden prompt (no echo)", async () => {
    const home = makeHome()
    const typed = "cpk_" + "a".repeat(32) + "." + "b".repeat(32) + ".TYPEDtypedTYPEDtypedTYPEDtypedTY"
    const fakeWithTyped = await FakeChutes.start({ apiKeys: [typed] })
    try {
      const run = await cliInTerminal(
        { ...home, env: { ...home.env, CHUTES_BASE_URL: fakeWithTyped.baseUrl } },
        ["onboard"],
        [
          { prompt: /Choose 1 or 2 \[1\]: /, answer: async () => "2" },
          { prompt: /Use the API key from CHUTES_API_KEY \(\S+\)\? \[Y\/n\] /, answer: async () => "n" },
          // Typed the instant the prompt shows: echo must already be off.
          { prompt: /Chutes API key \(cpk_…; input hidden\): /, answer: async () => typed },
          takeSuggestedModel
        ],
        { CHUTES_API_KEY: fake.apiKey }
      )
      assertNoSecrets(run, [typed])
      assert.strictEqual(run.code, 0, run.stdout)
      assert.include(run.stdout, "from prompt")
      assert.strictEqual(readJson(home.store).profiles["chutes:default"].key, typed)
    } finally {
      await fakeWithTyped.close()
    }
  })
})

describe("models", () => {
  it("list --json decodes with its schema: live with a stored key; static with the reason without one", async () => {
    const home = makeHome()
    const none = await cli(home, ["models", "list", "--json"])
    assert.strictEqual(none.code, 0, none.stderr)
    const fallback = Schema.decodeUnknownSync(ModelsListOutput)(JSON.parse(none.stdout))
    assert.strictEqual(fallback.source, "static")
    assert.strictEqual(fallback.reason?.tag, "CredentialsError")

    assert.strictEqual((await onboardWithKey(home)).code, 0)
    const live = await cli(home, ["models", "list", "--json", "--refresh"])
    assert.strictEqual(live.code, 0, live.stderr)
    const output = Schema.decodeUnknownEither(ModelsListOutput)(JSON.parse(live.stdout))
    assert.isTrue(Either.isRight(output))
    if (Either.isRight(output)) {
      assert.strictEqual(output.right.source, "live")
      assert.strictEqual(output.right.models.length, FakeChutes.seedModels().length)
      assert.isTrue(output.right.warnings.some((w) => w.kind === "DefaultModelMissing"))
    }
  })

  it("list: the config's primary model is the default the live catalog is checked against", async () => {
    const home = makeHome()
    assert.strictEqual((await onboardWithKey(home)).code, 0)
    // Onboarding set primary to the built-in default, which the 2026 capture does not list.
    const before = Schema.decodeUnknownSync(ModelsListOutput)(JSON.parse((await cli(home, ["models", "list", "--json"])).stdout))
    assert.isTrue(before.warnings.some((w) => w.kind === "DefaultModelMissing" && w.ref === "chutes/zai-org/GLM-4.7-TEE"))
    writeFileSync(home.config, `{ agents: { defaults: { model: { primary: "chutes/zai-org/GLM-5-TEE" } } } }\n`)
    const after = Schema.decodeUnknownSync(ModelsListOutput)(JSON.parse((await cli(home, ["models", "list", "--json"])).stdout))
    assert.strictEqual(after.source, "live")
    assert.isFalse(after.warnings.some((w) => w.kind === "DefaultModelMissing"), "GLM-5-TEE is live")
  })

  it("list: the table with the source on top; --offline reads no file and makes no request", async () => {
    const home = makeHome()
    const before = fake.counters.models
    const offline = await cli(home, ["models", "list", "--offline"])
    assert.strictEqual(offline.code, 0)
    assert.strictEqual(fake.counters.models, before)
    const lines = offline.stdout.split("\n")
    assert.strictEqual(lines[0], "source: static (offline; the built-in catalog)")
    // One "followed:" line per built-in name that moved on, a blank line, then the table.
    const header = lines[lines.indexOf("") + 1]
    assert.deepStrictEqual(lines.slice(1, lines.indexOf("")).map((line) => line.split(":")[1]), [
      " default model",
      " chutes-fast",
      " chutes-vision"
    ])
    assert.match(header ?? "", /^ref\s+context\s+max out\s+input\s+reasoning\s+USD\/1M in \/ out\s+notes$/)
    assert.match(offline.stdout, /chutes\/zai-org\/GLM-4\.7-TEE .* deprecated -> chutes\/zai-org\/GLM-5\.2-TEE/)
    assert.isFalse(existsSync(home.state))
    const both = await cli(home, ["models", "list", "--offline", "--refresh"])
    assert.strictEqual(both.code, 2)
  })

  it("resolve: built-in alias, user alias from --config, bare id, and \"did you mean\"", async () => {
    const home = makeHome()
    const configPath = join(home.home, "my-config.json5")
    const entry = `"chutes/zai-org/GLM-4.7-TEE": { alias: "Chutes GLM 4.7" }`
    writeFileSync(configPath, `{ agents: { defaults: { models: { ${entry} } } } }`)
    const pro = await cli(home, ["models", "resolve", "chutes-pro"])
    assert.strictEqual(pro.code, 0, pro.stderr)
    assert.strictEqual(pro.stdout.split("\n")[0], "chutes/deepseek-ai/DeepSeek-V3.2-TEE")
    assert.include(pro.stdout, `alias "chutes-pro" (built-in)`)

    const user = await cli(home, ["models", "resolve", "--config", configPath, "--json", "chutes glm 4.7"])
    assert.strictEqual(user.code, 0, user.stderr)
    const resolved = Schema.decodeUnknownSync(ResolveOutput)(JSON.parse(user.stdout))
    assert.strictEqual(resolved.ref, "chutes/zai-org/GLM-4.7-TEE")
    assert.deepStrictEqual(resolved.alias, { name: "Chutes GLM 4.7", source: "user" })
    // Without --config (CHUTES_CONFIG_PATH points elsewhere), the user alias is unknown.
    assert.strictEqual((await cli(home, ["models", "resolve", "--offline", "Chutes GLM 4.7"])).code, 1)

    const bare = await cli(home, ["models", "resolve", "--offline", "zai-org/GLM-5-TEE"])
    assert.include(bare.stdout, "bare model id -> chutes/zai-org/GLM-5-TEE")

    const unknown = await cli(home, ["models", "resolve", "--offline", "glm-5"])
    assert.strictEqual(unknown.code, 1)
    assert.include(unknown.stderr, "did you mean")
    assert.include(unknown.stderr, "chutes/zai-org/GLM-5-TEE")
    assert.notInclude(unknown.stderr, "    at ")
  })

  it("resolve: a retired model says so and names its successor; a served one does not", async () => {
    const home = makeHome()
    const retired = await cli(home, ["models", "resolve", "--offline", "zai-org/GLM-4.7-FP8"])
    assert.strictEqual(retired.code, 0, retired.stderr)
    assert.include(retired.stdout, "  retired: Chutes no longer serves it; its successor is chutes/")
    const json = await cli(home, ["models", "resolve", "--offline", "--json", "--no-follow-successors", "chutes-fast"])
    const output = Schema.decodeUnknownSync(ResolveOutput, { onExcessProperty: "error" })(JSON.parse(json.stdout))
    assert.strictEqual(output.ref, "chutes/zai-org/GLM-4.7-FP8")
    assert.match(output.retired?.successor ?? "", /^chutes\//)
    const served = await cli(home, ["models", "resolve", "--offline", "--json", "chutes-fast"])
    const followed = Schema.decodeUnknownSync(ResolveOutput, { onExcessProperty: "error" })(JSON.parse(served.stdout))
    assert.isNull(followed.retired, "the followed successor is served")
    assert.strictEqual(followed.ref, output.retired?.successor)
  })

  it("resolve: a malformed ref is a usage error (exit 2), found before anything is fetched", async () => {
    const home = homeWithKey()
    for (const input of ["chutes/", "chutes/zai-org/GLM 5", "  "]) {
      const before = fake.counters
      const run = await cli(home, ["models", "resolve", input])
      assert.strictEqual(run.code, 2, `${JSON.stringify(input)}: ${run.stderr}`)
      assert.match(run.stderr, /Model ref .*(no model id|whitespace|empty)/)
      assert.include(run.stderr, `See "effect-chutes models resolve --help"`)
      assert.strictEqual(fake.counters.models, before.models, "no catalog fetch")
    }
    // An alias of that shape in the config is an alias, not a malformed ref.
    const configPath = join(home.home, "odd-alias.json5")
    writeFileSync(configPath, `{ agents: { defaults: { models: { "chutes/zai-org/GLM-5-TEE": { alias: "chutes/ fast" } } } } }`)
    const alias = await cli(home, ["models", "resolve", "--offline", "--config", configPath, "chutes/ fast"])
    assert.strictEqual(alias.code, 0, alias.stderr)
    assert.strictEqual(alias.stdout.split("\n")[0], "chutes/zai-org/GLM-5-TEE")
  })

  it("an unknown flag is a usage error: exit 2", async () => {
    const run = await cli(makeHome(), ["models", "list", "--bogus"])
    assert.strictEqual(run.code, 2)
    assert.include(run.stderr, "Received unknown argument: '--bogus'")
    // A word, shown; a long one (a key of no known shape pasted where no argument goes), its length only.
    const word = await cli(makeHome(), ["onboard", "chutes"])
    assert.include(word.stderr, "Received unknown argument: 'chutes'")
    const odd = "MyOwnGatewayKey" + "7e3c".repeat(6) + "Qz"
    const long = await cli(makeHome(), ["account", odd])
    assert.strictEqual(long.code, 2)
    assert.notInclude(long.stderr, odd)
    assert.include(long.stderr, `Received an unknown argument of ${odd.length} characters (not shown: it may be a secret)`)
    // A long word with a / (a model ref given where none goes) is shown.
    const ref = await cli(makeHome(), ["models", "list", "chutes/zai-org/GLM-5.2-TEE"])
    assert.include(ref.stderr, "Received unknown argument: 'chutes/zai-org/GLM-5.2-TEE'")
  })

  it("an option given last without its value says so (exit 2), not \"unknown argument\"", async () => {
    const home = makeHome()
    for (
      const [args, expected] of [
        [["onboard", "--model"], "--model needs a value: --model <alias|ref>"],
        [["account", "--profile"], "--profile needs a value: --profile <id>"],
        [["usage", "--days"], "--days needs a value: --days <N>"],
        [["models", "list", "--timeout"], "--timeout needs a value: --timeout <duration>"]
      ] as const
    ) {
      const run = await cli(home, args)
      assert.strictEqual(run.code, 2, run.stderr)
      assert.include(run.stderr, `effect-chutes: ${expected}\n`)
    }
    // A flag the command does not have is still unknown, also last.
    const other = await cli(home, ["auth", "status", "--days"])
    assert.strictEqual(other.code, 2)
    assert.include(other.stderr, "Received unknown argument: '--days'")
  })
})

/** Writes a store with the given profiles into a fresh home. */
const homeWithProfiles = (profiles: Record<string, unknown>) => {
  const home = makeHome()
  mkdirSync(home.state, { recursive: true, mode: 0o700 })
  writeFileSync(home.store, JSON.stringify({ version: 1, profiles }, null, 2), { mode: 0o600 })
  return home
}

describe("auth status", () => {
  it("an expired profile that cannot refresh is reported as needing re-auth, not OK: exit 1", async () => {
    const unknownRefresh = "crt_" + "dead".repeat(10)
    secrets.add(unknownRefresh)
    const home = homeWithProfiles({ "chutes:alice": oauthProfile(fake, secrets, { refresh: unknownRefresh, expires: 1_000 }) })
    const text = await cli(home, ["auth", "status"])
    assert.strictEqual(text.code, 1)
    // The active marker, then: source, kind, secret tail, account, state; the refused refresh set a cooldown.
    assert.match(
      text.stdout,
      /\*\s+1\s+profile:chutes:alice\s+OAuth\s+\S+\s+alice\s+expired\s+not checked\s+needs sign-in\s+re-auth needed: run "(.+)"/
    )
    assert.include(text.stdout, `re-auth needed: run "effect-chutes onboard --auth-choice chutes"`)
    assert.notMatch(text.stdout.split("\n").find((line) => line.includes("chutes:alice")) ?? "", /\b(valid|ok)\b/i)
    assert.include(text.stderr, `"chutes:alice" needs to sign in again`)

    const json = await cli(home, ["auth", "status", "--json"])
    assert.strictEqual(json.code, 1)
    const status = Schema.decodeUnknownSync(AuthStatusOutput)(JSON.parse(json.stdout))
    assert.strictEqual(status.active, "profile:chutes:alice")
    assert.isFalse(status.usable)
    const alice = status.credentials.find((c) => c.profileId === "chutes:alice")
    assert.deepStrictEqual([alice?.expiry, alice?.check, alice?.usable, alice?.active], [
      "expired",
      "not-checked",
      false,
      true
    ])
    // The failed refresh never touched the stored credential.
    assert.strictEqual(readJson(home.store).profiles["chutes:alice"].refresh, unknownRefresh)
  })

  it("with a stored API key too, the key is active (first that yields, like the SDK): exit 0", async () => {
    const unknownRefresh = "crt_" + "beef".repeat(10)
    secrets.add(unknownRefresh)
    const home = homeWithProfiles({
      "chutes:alice": oauthProfile(fake, secrets, { refresh: unknownRefresh, expires: 1_000 }),
      "chutes:default": { type: "api_key", provider: "chutes", key: fake.apiKey }
    })
    const json = await cli(home, ["auth", "status", "--json"])
    assertNoSecrets(json)
    assert.strictEqual(json.code, 0, json.stderr)
    const status = Schema.decodeUnknownSync(AuthStatusOutput)(JSON.parse(json.stdout))
    assert.strictEqual(status.active, "profile:chutes:default")
    assert.isTrue(status.usable)
    const alice = status.credentials.find((c) => c.profileId === "chutes:alice")
    assert.deepStrictEqual([alice?.expiry, alice?.usable, alice?.active], ["expired", false, false])
    const key = status.credentials.find((c) => c.profileId === "chutes:default")
    // Checked against the service: accepted (an API key has no expiry; it is never called "valid").
    assert.deepStrictEqual([key?.expiry, key?.check, key?.secret, key?.active], [
      "none",
      "accepted",
      `…${fake.apiKey.slice(-4)}`,
      true
    ])
  })

  it("a due profile that can refresh is refreshed (new tokens stored) and reported valid: exit 0", async () => {
    const before = oauthProfile(fake, secrets, { expires: 1_000 })
    const home = homeWithProfiles({ "chutes:alice": before })
    const run = await cli(home, ["auth", "status", "--json"])
    const after = readJson(home.store).profiles["chutes:alice"]
    secrets.add(after.access)
    secrets.add(after.refresh)
    assertNoSecrets(run)
    assert.strictEqual(run.code, 0, run.stderr)
    const status = Schema.decodeUnknownSync(AuthStatusOutput)(JSON.parse(run.stdout))
    assert.deepStrictEqual(
      [status.credentials[0]?.expiry, status.credentials[0]?.refreshed, status.credentials[0]?.check, status.usable],
      ["valid", true, "accepted", true]
    )
    assert.notStrictEqual(after.refresh, before.refresh)
    assert.isTrue(after.expires > Date.now())
  })

  it("a refresh failing for a passing reason says so; env credentials come first, marked active", async () => {
    const home = homeWithProfiles({ "chutes:alice": oauthProfile(fake, secrets, { expires: 1_000 }) })
    fake.fault({ _tag: "Status", route: "token", status: 503, times: 1 })
    const failed = await cli(home, ["auth", "status"])
    assert.strictEqual(failed.code, 1)
    assert.include(failed.stdout, "refresh failed")

    const withEnv = await cli(home, ["auth", "status", "--json"], { env: { CHUTES_API_KEY: fake.apiKey } })
    assert.strictEqual(withEnv.code, 0, withEnv.stderr)
    const status = Schema.decodeUnknownSync(AuthStatusOutput)(JSON.parse(withEnv.stdout))
    assert.strictEqual(status.active, "env:CHUTES_API_KEY")
    assert.deepStrictEqual(status.credentials.map((c) => [c.source, c.active]), [
      ["env:CHUTES_API_KEY", true],
      ["profile:chutes:alice", false]
    ])
  })

  it("no credential at all: exit 1 with the way to get one; --state-dir points at another store", async () => {
    const home = makeHome()
    const run = await cli(home, ["auth", "status"])
    assert.strictEqual(run.code, 1)
    assert.include(run.stdout, "No Chutes credential found.")
    assert.include(run.stderr, "effect-chutes onboard")

    const other = homeWithProfiles({ "chutes:default": { type: "api_key", provider: "chutes", key: fake.apiKey } })
    const elsewhere = await cli(home, ["auth", "status", "--json", "--state-dir", other.state])
    assert.strictEqual(elsewhere.code, 0, elsewhere.stderr)
    const status = Schema.decodeUnknownSync(AuthStatusOutput)(JSON.parse(elsewhere.stdout))
    assert.deepStrictEqual([status.storePath, status.active], [other.store, "profile:chutes:default"])
  })
})

describe("auth logout", () => {
  it("revokes and removes the active profile; other profiles untouched", async () => {
    const home = homeWithProfiles({
      "chutes:alice": oauthProfile(fake, secrets),
      "chutes:bob": oauthProfile(fake, secrets, { email: "bob" }),
      "openai:default": { type: "api_key", provider: "openai", key: "sk-other" }
    })
    const bob = readJson(home.store).profiles["chutes:bob"]
    const revokes = fake.counters.revoke
    const run = await cli(home, ["auth", "logout"])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.strictEqual(fake.counters.revoke - revokes, 2)
    assert.include(run.stdout, `Removed profile "chutes:alice"`)
    const profiles = readJson(home.store).profiles
    assert.deepStrictEqual(Object.keys(profiles), ["chutes:bob", "openai:default"])
    assert.deepStrictEqual(profiles["chutes:bob"], bob)
  })

  it("revokes with the stored client id and secret in a shell without the OAuth variables", async () => {
    const home = homeWithProfiles({ "chutes:alice": oauthProfile(fake, secrets, { clientSecret: fake.clientSecret }) })
    const revokes = fake.counters.revoke
    const run = await cli(home, ["auth", "logout"], { env: { CHUTES_CLIENT_ID: "", CHUTES_CLIENT_SECRET: "" } })
    assert.strictEqual(run.code, 0, run.stderr)
    assert.notInclude(run.stderr, "could not revoke")
    assert.include(run.stdout, "Revoked the tokens of chutes:alice")
    assert.strictEqual(fake.counters.revoke - revokes, 2)
  })

  it("--profile picks one; an unknown id is a usage error; a failed revoke is only a warning", async () => {
    const home = homeWithProfiles({
      "chutes:alice": oauthProfile(fake, secrets),
      "chutes:default": { type: "api_key", provider: "chutes", key: fake.apiKey }
    })
    const unknown = await cli(home, ["auth", "logout", "--profile", "chutes:nobody"])
    assert.strictEqual(unknown.code, 2)
    assert.include(unknown.stderr, "chutes:alice, chutes:default")

    fake.fault({ _tag: "Status", route: "revoke", status: 500, times: 2 })
    const run = await cli(home, ["auth", "logout", "--profile", "chutes:alice"])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stderr, "could not revoke")
    assert.deepStrictEqual(Object.keys(readJson(home.store).profiles), ["chutes:default"])
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// What the CLI says while it works, how it fails, and its help.
// ---------------------------------------------------------------------------------------------------------------------

/** A home whose store holds the fake's API key: every `models` command discovers live. */
const homeWithKey = () => homeWithProfiles({ "chutes:default": { type: "api_key", provider: "chutes", key: fake.apiKey } })

/** The lines of a text, without the empty last one. */
const lines = (text: string) => text.split("\n").filter((line, i, all) => i < all.length - 1 || line !== "")

describe("progress while discovering", () => {
  it("a retried discovery shows the attempt, the reason and the wait", async () => {
    const home = homeWithKey()
    fake.fault({ _tag: "Status", route: "models", status: 503, times: 1 })
    const run = await cli(home, ["models", "list", "--json"])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.strictEqual(Schema.decodeUnknownSync(ModelsListOutput)(JSON.parse(run.stdout)).source, "live")
    assert.match(run.stderr, /Discovering models at http:\/\/127\.0\.0\.1:\d+\/v1\/models…/)
    assert.match(run.stderr, /attempt 2 of 4 after HTTP 503, retrying in \d+\.\d s/)
  })

  it("in a terminal, the spinner line carries the attempt", async () => {
    const home = homeWithKey()
    fake.fault({ _tag: "Status", route: "models", status: 503, times: 1 })
    const run = await cliInTerminal(home, ["models", "list"], [], { TERM: "xterm-256color" })
    assert.strictEqual(run.code, 0, run.stdout)
    // The line is redrawn in place (at most 80 columns here: the pseudo-terminal reports no width).
    assert.match(run.stdout, /\r\u001b\[2K. Discovering models at [^\r]*… attempt 2 of 4 after HTTP 503, retrying in \d+\.\d s/)
    assert.include(run.stdout, "source: live")
  })

  it("nothing says \"Discovering\" when nothing is discovered: --offline, or no credential", async () => {
    const home = makeHome()
    const before = fake.counters.models
    for (const args of [["models", "list"], ["models", "list", "--offline"], ["models", "resolve", "chutes-pro"]]) {
      const run = await cli(home, args)
      assert.strictEqual(run.code, 0, run.stderr)
      assert.notInclude(run.stderr, "Discovering", args.join(" "))
    }
    assert.strictEqual(fake.counters.models, before, "no request was made")
    const live = await cli(homeWithKey(), ["models", "resolve", "chutes-pro"])
    assert.strictEqual(live.code, 0, live.stderr)
    assert.include(live.stderr, "Discovering models")
  })

  it("--timeout bounds the whole command: exit 1 and a clear line; a bad duration is a usage error", async () => {
    const home = homeWithKey()
    fake.fault({ _tag: "Delay", route: "models", millis: 15_000, times: 1 })
    const run = await cli(home, ["models", "list", "--timeout", "1s"])
    assert.strictEqual(run.code, 1, run.stderr)
    assert.isBelow(run.millis, 8_000)
    assert.match(run.stderr, /^effect-chutes: timed out: the command did not finish within 1s \(--timeout\)$/m)
    assert.notInclude(run.stderr, "    at ")
    assert.strictEqual(run.stdout, "")

    const bad = await cli(home, ["models", "list", "--timeout", "soon"])
    assert.strictEqual(bad.code, 2)
    assert.match(bad.stderr, /^effect-chutes: .*--timeout/)
  })
})

describe("catalog warnings are short notes on stderr", () => {
  it("a user alias whose target the live catalog lacks: one note line, no WARN and no warning on stdout", async () => {
    const home = homeWithKey()
    writeFileSync(home.config, `{ agents: { defaults: { models: { "chutes/nope/Gone-TEE": { alias: "gone" } } } } }\n`)
    for (const args of [["models", "list"], ["models", "resolve", "gone"]]) {
      const run = await cli(home, args)
      assert.strictEqual(run.code, 0, run.stderr)
      assert.notInclude(run.stdout, "warning", args.join(" "))
      const notes = lines(run.stderr).filter((line) => line.includes("Gone-TEE"))
      assert.strictEqual(notes.length, 1, run.stderr)
      assert.match(notes[0]!, /^note: Alias "gone" points at chutes\/nope\/Gone-TEE, which is not in the live catalog/)
      assert.notMatch(run.stderr, /^(warning|WARN)/m)
    }
  })
})

describe("exit codes and usage errors", () => {
  const usage: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["models", "list", "--bogus"], "effect-chutes models list --help"],
    [["auth", "logout", "--profile"], "effect-chutes auth logout --help"],
    [["bogus"], "effect-chutes --help"],
    [["onboard", "--auth-choice", "nope"], "effect-chutes onboard --help"],
    [["models", "list", "--offline", "--refresh"], "effect-chutes models list --help"],
    [["onboard"], "effect-chutes onboard --help"]
  ]
  for (const [args, help] of usage) {
    it(`${args.join(" ")}: exit 2, "effect-chutes:" first, pointing at ${help}`, async () => {
      const run = await cli(makeHome(), args)
      assert.strictEqual(run.code, 2, run.stderr)
      assert.match(run.stderr, /^effect-chutes: \S/)
      assert.include(run.stderr, help)
      assert.notInclude(run.stderr, "\u001b[", "no colour")
      assert.strictEqual(run.stdout, "")
    })
  }

  it("OAuth without a terminal needs a terminal: exit 2 like the other usage errors", async () => {
    const run = await cli(makeHome(), ["onboard", "--auth-choice", "chutes"])
    assert.strictEqual(run.code, 2)
    assert.match(run.stderr, /^effect-chutes: OAuth requires interactive mode/)
    assert.include(run.stderr, "effect-chutes onboard --help")
  })
})

describe("a rejected key at the prompt", () => {
  const rejected = "cpk_" + "0".repeat(32) + "." + "1".repeat(32) + ".REJECTEDrejectedREJECTEDrejected"
  const keyPrompt = /Chutes API key \(cpk_…; input hidden\): /

  it("offers another try; the next accepted key is stored", async () => {
    const home = makeHome()
    // --model: the default model is not asked for (this test is about the key).
    const run = await cliInTerminal(home, ["onboard", "--auth-choice", "chutes-api-key", "--model", "chutes-pro"], [
      { prompt: keyPrompt, answer: async () => rejected },
      { prompt: keyPrompt, answer: async () => fake.apiKey }
    ])
    assertNoSecrets(run, [rejected])
    assert.strictEqual(run.code, 0, run.stdout)
    assert.match(run.stdout, /refused the API key \(HTTP 401\)\. Try again \(2 of 3\)/)
    assert.strictEqual(readJson(home.store).profiles["chutes:default"].key, fake.apiKey)
  })

  it("three refusals: exit 1, \"key rejected\", nothing written", async () => {
    const home = makeHome()
    const run = await cliInTerminal(home, ["onboard", "--auth-choice", "chutes-api-key"], [
      { prompt: keyPrompt, answer: async () => rejected },
      { prompt: keyPrompt, answer: async () => rejected },
      { prompt: keyPrompt, answer: async () => rejected }
    ])
    assertNoSecrets(run, [rejected])
    assert.strictEqual(run.code, 1, run.stdout)
    assert.include(run.stdout, "key rejected")
    assert.isFalse(existsSync(home.state))
  })
})

describe("--help and --version", () => {
  const commands = [
    [],
    ["onboard"],
    ["models"],
    ["models", "list"],
    ["models", "resolve"],
    ["auth"],
    ["auth", "status"],
    ["auth", "logout"]
  ]
  const boilerplate = [
    "A true or false value",
    "This setting is optional",
    "A user-defined piece of text",
    "One of the following",
    "redacted"
  ]

  it("without a terminal: no colour, no line over 100 columns, no boilerplate, secrets as <key>", async () => {
    const home = makeHome()
    for (const command of commands) {
      const run = await cli(home, [...command, "--help"])
      const name = ["effect-chutes", ...command].join(" ")
      assert.strictEqual(run.code, 0, run.stderr)
      assert.notInclude(run.stdout, "\u001b", `${name}: no escape sequence`)
      for (const line of lines(run.stdout)) assert.isAtMost(line.length, 100, `${name}: ${line}`)
      for (const text of boilerplate) assert.notInclude(run.stdout, text, name)
      assert.include(run.stdout, `${name} `, `${name}: the usage names the command`)
    }
    const onboard = await cli(home, ["onboard", "--help"])
    assert.include(onboard.stdout, "--chutes-api-key <key>")
    const list = await cli(home, ["models", "list", "--help"])
    assert.include(list.stdout, "--timeout <duration>")
  })

  it("in a terminal: colour, unless NO_COLOR is set", async () => {
    const home = makeHome()
    const coloured = await cliInTerminal(home, ["models", "list", "--help"], [], { TERM: "xterm-256color" })
    assert.strictEqual(coloured.code, 0)
    assert.include(coloured.stdout, "\u001b[")
    const plain = await cliInTerminal(home, ["models", "list", "--help"], [], { TERM: "xterm-256color", NO_COLOR: "1" })
    assert.strictEqual(plain.code, 0)
    assert.notInclude(plain.stdout, "\u001b")
    assert.include(plain.stdout, "--offline")
  })

  it("--version: the version and one newline", async () => {
    const run = await cli(makeHome(), ["--version"])
    assert.strictEqual(run.code, 0)
    assert.match(run.stdout, /^\d+\.\d+\.\d+\S*\n$/)
  })
})

describe("auth status, the files", () => {
  it("a missing config is \"(not created yet)\", like a missing store", async () => {
    const missing = await cli(makeHome(), ["auth", "status"])
    assert.match(missing.stdout, /^Auth profiles: .*auth-profiles\.json \(not created yet\)$/m)
    assert.match(missing.stdout, /^Config: +.*config\.json5 \(not created yet\)$/m)

    const home = homeWithKey()
    writeFileSync(home.config, "{}\n")
    const present = await cli(home, ["auth", "status"])
    assert.strictEqual(present.code, 0, present.stderr)
    assert.notInclude(present.stdout, "not created yet")
  })
})

describe("built-in names against a live catalog like 2026-08-06", () => {
  beforeAll(() => fake.setModels(FakeChutes.capturedModels("2026-08-06")))
  afterAll(() => fake.setModels(FakeChutes.seedModels()))

  it("onboarding writes a default the catalog serves (the successor), and says why and what it costs", async () => {
    const home = makeHome()
    const run = await onboardWithKey(home)
    assert.strictEqual(run.code, 0, run.stderr)
    const JSON5 = (await import("json5")).default
    const config = JSON5.parse(readFileSync(home.config, "utf8"))
    assert.strictEqual(config.agents.defaults.model.primary, "chutes/zai-org/GLM-5.2-TEE")
    assert.include(run.stdout, "Default model: chutes/zai-org/GLM-5.2-TEE")
    assert.include(run.stdout, "chutes/zai-org/GLM-4.7-TEE is not in the live catalog")
    assert.include(run.stdout, "$1.25 / $3.95 per 1M tokens")
    assert.notInclude(run.stdout, "note: The default model", "a followed default is not also a warning")

    // The aliases onboarding copied into the config still follow their successors.
    const vision = await cli(home, ["models", "resolve", "chutes-vision", "--json"])
    assert.strictEqual(vision.code, 0, vision.stderr)
    const output = Schema.decodeUnknownSync(ResolveOutput)(JSON.parse(vision.stdout))
    assert.strictEqual(output.ref, "chutes/moonshotai/Kimi-K2.6-TEE")
    assert.strictEqual(output.followed?.from, "chutes/chutesai/Mistral-Small-3.2-24B-Instruct-2506")
    assert.strictEqual(output.followed?.priceRatio?.input.toFixed(1), "9.7")
    assert.strictEqual(output.followed?.priceRatio?.output.toFixed(1), "18.9")
  })

  it("models resolve names the hop of the default and of chutes-fast; models list marks the followed entries", async () => {
    const home = makeHome()
    const env = { CHUTES_API_KEY: fake.apiKey }
    const fallbackDefault = await cli(home, ["models", "resolve"], { env })
    assert.strictEqual(fallbackDefault.code, 0, fallbackDefault.stderr)
    assert.match(fallbackDefault.stdout, /^chutes\/zai-org\/GLM-5\.2-TEE\n/)
    assert.include(fallbackDefault.stdout, "default model: chutes/zai-org/GLM-4.7-TEE is not in the live catalog")
    const fast = await cli(home, ["models", "resolve", "chutes-fast"], { env })
    assert.include(fast.stdout, "followed: chutes-fast: chutes/zai-org/GLM-4.7-FP8 is not in the live catalog")
    assert.match(fast.stdout, /^chutes\/deepseek-ai\/DeepSeek-V4-Flash-0731-TEE\n/)
    const list = await cli(home, ["models", "list"], { env })
    assert.strictEqual(list.code, 0, list.stderr)
    assert.match(list.stdout, /chutes\/zai-org\/GLM-5\.2-TEE .*<- default model/)
    assert.match(list.stdout, /chutes\/moonshotai\/Kimi-K2\.6-TEE .*<- chutes-vision/)
    const json = Schema.decodeUnknownSync(ModelsListOutput)(
      JSON.parse((await cli(home, ["models", "list", "--json"], { env })).stdout)
    )
    assert.deepStrictEqual(json.followed.map((hop) => hop.name), ["default model", "chutes-fast", "chutes-vision"])
    assert.deepStrictEqual(json.warnings, [])
  })

  it("--no-follow-successors and followSuccessors: false in the config keep the documented targets", async () => {
    const home = makeHome()
    const env = { CHUTES_API_KEY: fake.apiKey }
    const pinned = await cli(home, ["models", "resolve", "chutes-fast", "--no-follow-successors"], { env })
    assert.match(pinned.stdout, /^chutes\/zai-org\/GLM-4\.7-FP8\n/)
    mkdirSync(home.state, { recursive: true, mode: 0o700 })
    writeFileSync(home.config, `{ models: { providers: { chutes: { followSuccessors: false } } } }`, { mode: 0o600 })
    const fromConfig = await cli(home, ["models", "resolve", "chutes-vision"], { env })
    assert.match(fromConfig.stdout, /^chutes\/chutesai\/Mistral-Small-3\.2-24B-Instruct-2506\n/)
    const fromEnv = await cli(home, ["models", "resolve", "chutes-vision", "--offline"], {
      env: { CHUTES_FOLLOW_SUCCESSORS: "false" }
    })
    assert.match(fromEnv.stdout, /^chutes\/chutesai\/Mistral-Small-3\.2-24B-Instruct-2506\n/)
  })

  it("onboarding without following successors notes the missing targets once, not again as warnings", async () => {
    const home = makeHome()
    const run = await cli(home, [
      "onboard",
      "--auth-choice",
      "chutes-api-key",
      "--chutes-api-key",
      fake.apiKey,
      "--no-follow-successors"
    ])
    assert.strictEqual(run.code, 0, run.stderr)
    const notes = run.stderr.split("\n").filter((line) => line.startsWith("note: "))
    assert.isAbove(notes.length, 0, run.stderr)
    assert.include(notes.join("\n"), "GLM-4.7-TEE")
    assert.notMatch(run.stderr, /^warning: .*GLM-4\.7-TEE/m, "the provider's intake does not say it a second time")
  })

  it("interactive onboarding offers the live models with the successor preselected", async () => {
    const modelPrompt = /Number, alias or ref \[(\d+)\]: /
    const primaryAfter = async (answer: string) => {
      const home = makeHome()
      const run = await cliInTerminal(home, ["onboard", "--auth-choice", "chutes-api-key", "--chutes-api-key", fake.apiKey], [
        { prompt: modelPrompt, answer: async () => answer }
      ])
      assert.strictEqual(run.code, 0, run.stdout)
      const JSON5 = (await import("json5")).default
      return { run, primary: JSON5.parse(readFileSync(home.config, "utf8")).agents.defaults.model.primary }
    }
    const taken = await primaryAfter("")
    assert.strictEqual(taken.primary, "chutes/zai-org/GLM-5.2-TEE")
    const preselected = modelPrompt.exec(taken.run.stdout)![1]!
    assert.match(taken.run.stdout, new RegExp(`\\* +${preselected}\\) chutes/zai-org/GLM-5\\.2-TEE`))
    assert.strictEqual(taken.run.stdout.match(/^\s*[* ] +\d+\) chutes\//gm)?.length, 13, "the 13 live models")
    assert.strictEqual((await primaryAfter("chutes-pro")).primary, "chutes/deepseek-ai/DeepSeek-V3.2-TEE")
    assert.strictEqual((await primaryAfter("1")).primary, "chutes/Qwen/Qwen3-32B-TEE")
  })

  it("onboard --model chooses explicitly; an unknown one is a usage error and no config is written", async () => {
    const home = makeHome()
    const run = await cli(home, [
      "onboard",
      "--auth-choice",
      "chutes-api-key",
      "--chutes-api-key",
      fake.apiKey,
      "--non-interactive",
      "--model",
      "chutes-pro"
    ])
    assert.strictEqual(run.code, 0, run.stderr)
    const JSON5 = (await import("json5")).default
    const config = JSON5.parse(readFileSync(home.config, "utf8"))
    assert.strictEqual(config.agents.defaults.model.primary, "chutes/deepseek-ai/DeepSeek-V3.2-TEE")
    const other = makeHome()
    const bad = await cli(other, [
      "onboard",
      "--auth-choice",
      "chutes-api-key",
      "--chutes-api-key",
      fake.apiKey,
      "--non-interactive",
      "--model",
      "no-such-model"
    ])
    assert.strictEqual(bad.code, 2, bad.stderr)
    assert.include(bad.stderr, "--model")
    assert.isFalse(existsSync(other.config))
  })
})
