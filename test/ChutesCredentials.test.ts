import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import { CredentialsError } from "../src/ChutesError.js"
import * as ChutesSettings from "../src/ChutesSettings.js"

// Built from parts, so no committed line looks like a real key.
const KEY = "cpk_" + "0123456789abcdef".repeat(2) + "." + "fedcba9876543210".repeat(2) + "." + "ENVkey".repeat(5) + "12"
const TOKEN = "cak_env_oauth_token_0123456789"
const CODE_KEY = "cpk_code_key_given_in_code_0001"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const resolveWith = (explicit: ChutesCredentials.ExplicitCredential, env: Record<string, string>) =>
  ChutesCredentials.fromExplicitOrEnv(explicit).pipe(withEnv(env))

describe("credential precedence", () => {
  const table: ReadonlyArray<{
    readonly name: string
    readonly explicit: ChutesCredentials.ExplicitCredential
    readonly env: Record<string, string>
    readonly expected: readonly [ChutesCredentials.CredentialKind, string, string] | undefined
  }> = [
    { name: "nothing", explicit: {}, env: {}, expected: undefined },
    { name: "explicit beats env", explicit: { apiKey: CODE_KEY }, env: { CHUTES_API_KEY: KEY }, expected: ["api_key", "explicit", CODE_KEY] },
    {
      name: "explicit Redacted token",
      explicit: { oauthToken: Redacted.make("cak_code") },
      env: { CHUTES_API_KEY: KEY },
      expected: ["oauth", "explicit", "cak_code"]
    },
    {
      name: "CHUTES_API_KEY beats CHUTES_OAUTH_TOKEN",
      explicit: {},
      env: { CHUTES_API_KEY: KEY, CHUTES_OAUTH_TOKEN: TOKEN },
      expected: ["api_key", "env:CHUTES_API_KEY", KEY]
    },
    { name: "CHUTES_OAUTH_TOKEN alone", explicit: {}, env: { CHUTES_OAUTH_TOKEN: TOKEN }, expected: ["oauth", "env:CHUTES_OAUTH_TOKEN", TOKEN] },
    {
      name: "empty CHUTES_API_KEY counts as unset",
      explicit: {},
      env: { CHUTES_API_KEY: "", CHUTES_OAUTH_TOKEN: TOKEN },
      expected: ["oauth", "env:CHUTES_OAUTH_TOKEN", TOKEN]
    },
    {
      name: "whitespace-only values count as unset",
      explicit: { apiKey: "   " },
      env: { CHUTES_API_KEY: " \t ", CHUTES_OAUTH_TOKEN: "\n" },
      expected: undefined
    },
    { name: "surrounding whitespace is trimmed", explicit: {}, env: { CHUTES_API_KEY: `  ${KEY}\n` }, expected: ["api_key", "env:CHUTES_API_KEY", KEY] }
  ]
  for (const row of table) {
    it.effect(row.name, () =>
      Effect.gen(function*() {
        const credential = yield* resolveWith(row.explicit, row.env)
        if (row.expected === undefined) {
          assert.isTrue(Option.isNone(credential))
        } else {
          assert.isTrue(Option.isSome(credential))
          const c = Option.getOrThrow(credential)
          assert.deepStrictEqual([c.kind, c.source, Redacted.value(c.secret)], row.expected)
        }
      }))
  }
})

describe("secrets stay secret", () => {
  it.effect("a credential prints without its secret", () =>
    Effect.gen(function*() {
      const c = Option.getOrThrow(yield* resolveWith({}, { CHUTES_API_KEY: KEY }))
      for (const text of [String(c.secret), JSON.stringify(c), ChutesCredentials.label(c), String(c)]) {
        assert.notInclude(text, KEY)
        assert.notInclude(text, KEY.slice(4, 36))
      }
      assert.strictEqual(ChutesCredentials.label(c), "API key …ey12 (env:CHUTES_API_KEY)")
      const id = yield* ChutesCredentials.identity(c)
      assert.notStrictEqual(id, KEY)
      assert.match(id, /^[0-9a-f]{16}$/)
      // Web Crypto gives the SHA-256 prefix that node:crypto does, and the same identity on every ask.
      assert.strictEqual(id, createHash("sha256").update(KEY).digest("hex").slice(0, 16))
      assert.strictEqual(yield* ChutesCredentials.identity(c), id)
    }))

  it("no credentials error carries secret text", () => {
    const errors = [
      new CredentialsError({ reason: "Missing" }),
      new CredentialsError({ reason: "Rejected", source: "env:CHUTES_API_KEY" }),
      new CredentialsError({ reason: "ReauthRequired", profileId: "chutes:alice" }),
      new CredentialsError({ reason: "Expired", source: "env:CHUTES_OAUTH_TOKEN" })
    ]
    for (const error of errors) {
      for (const text of [error.message, String(error), JSON.stringify(error)]) {
        assert.notInclude(text, KEY)
        assert.notInclude(text, TOKEN)
      }
    }
    assert.include(errors[0]!.message, "CHUTES_API_KEY")
    assert.include(errors[2]!.message, `"chutes:alice"`)
    assert.include(errors[2]!.message, "effect-chutes onboard --auth-choice chutes")
  })

  it.effect("current fails with Missing when there is none", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ChutesCredentials.current)
      assert.strictEqual(error.reason, "Missing")
    }).pipe(Effect.provide(ChutesCredentials.layerStatic(undefined))))

  it("knows the API key shape, and only warns on others", () => {
    assert.isTrue(ChutesCredentials.looksLikeApiKey(KEY))
    assert.isFalse(ChutesCredentials.looksLikeApiKey("sk-something"))
    assert.isFalse(ChutesCredentials.looksLikeApiKey(KEY.slice(0, -1)))
  })

  it.effect("the shape warning says what is off (length, which segment) without showing the key", () =>
    Effect.gen(function*() {
      const hex = "0123456789abcdef".repeat(2)
      const tail = "ENVkey".repeat(5) + "12"
      const cases: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
        ["one character short", KEY.slice(0, -1), ["101 characters", "third segment", "31 characters"]],
        ["upper-case hex", `cpk_${hex.toUpperCase()}.${hex}.${tail}`, ["first segment", "lower-case hex"]],
        ["a dash instead of a dot", `cpk_${hex}-${hex}.${tail}`, ["2 segments", "3"]],
        ["a symbol in the last segment", `cpk_${hex}.${hex}.${tail.slice(0, -1)}!`, ["third segment", "letters"]],
        ["another prefix", `cpx_${hex}.${hex}.${tail}`, ["cpk_"]],
        ["not a Chutes key at all", "sk-0123456789abcdefXYZ", ["cpk_", "22 characters"]]
      ]
      for (const [name, key, needles] of cases) {
        const logged: Array<string> = []
        const logger = Logger.make(({ message }) => void logged.push(String(message)))
        yield* ChutesCredentials.warnOnShape(Option.some(ChutesCredentials.make({ kind: "api_key", source: "test", secret: key })))
          .pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        assert.strictEqual(logged.length, 1, name)
        const line = logged[0] ?? ""
        // What the right shape is, what is off, and never the key (nor a 12-character piece of it).
        assert.include(line, "cpk_ + 32 hex", name)
        assert.include(line, "102 characters", name)
        for (const needle of needles) assert.include(line, needle, `${name}: ${line}`)
        for (let i = 0; i + 12 <= key.length; i++) assert.notInclude(line, key.slice(i, i + 12), `${name}: ${line}`)
      }
      const quiet: Array<string> = []
      yield* ChutesCredentials.warnOnShape(Option.some(ChutesCredentials.make({ kind: "api_key", source: "t", secret: KEY })))
        .pipe(Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void quiet.push(String(message))))))
      assert.deepStrictEqual(quiet, [], "a key of the right shape gets no warning")
    }))

  it.effect("layerEnv uses an odd-shaped key anyway", () =>
    Effect.gen(function*() {
      const c = yield* ChutesCredentials.current
      assert.strictEqual(Redacted.value(c.secret), "not-a-chutes-key")
    }).pipe(Effect.provide(ChutesCredentials.layerEnv()), withEnv({ CHUTES_API_KEY: "not-a-chutes-key" })))
})

describe("settings from the environment", () => {
  it.effect("defaults", () =>
    Effect.gen(function*() {
      const settings = yield* ChutesSettings.fromEnv().pipe(withEnv({ HOME: "/home/u" }))
      assert.strictEqual(settings.baseUrl, "https://llm.chutes.ai/v1")
      assert.strictEqual(settings.idpBaseUrl, "https://api.chutes.ai")
      assert.strictEqual(settings.stateDir, "/home/u/.config/effect-chutes")
      assert.strictEqual(settings.configPath, "/home/u/.config/effect-chutes/config.json5")
      assert.strictEqual(settings.diskCachePath, "/home/u/.config/effect-chutes/models-cache.json")
      assert.strictEqual(settings.retry.maxRetries, 3)
      assert.isFalse(settings.anonymousDiscovery)
    }))

  it.effect("env overrides, XDG before HOME, CHUTES_STATE_DIR before both, code options over env", () =>
    Effect.gen(function*() {
      const xdg = yield* ChutesSettings.fromEnv().pipe(withEnv({ HOME: "/home/u", XDG_CONFIG_HOME: "/xdg" }))
      assert.strictEqual(xdg.stateDir, "/xdg/effect-chutes")
      const env = {
        HOME: "/home/u",
        XDG_CONFIG_HOME: "/xdg",
        CHUTES_STATE_DIR: "/state",
        CHUTES_CONFIG_PATH: "/etc/openclaw.json5",
        CHUTES_BASE_URL: "http://127.0.0.1:9/v1/",
        CHUTES_IDP_BASE_URL: "http://127.0.0.1:9",
        CHUTES_DISCOVERY_ANONYMOUS: "true"
      }
      const settings = yield* ChutesSettings.fromEnv().pipe(withEnv(env))
      assert.deepStrictEqual(
        [settings.stateDir, settings.configPath, settings.baseUrl, settings.idpBaseUrl, settings.anonymousDiscovery],
        ["/state", "/etc/openclaw.json5", "http://127.0.0.1:9/v1", "http://127.0.0.1:9", true]
      )
      const code = yield* ChutesSettings.fromEnv({ baseUrl: "http://code/v1", diskCachePath: false }).pipe(withEnv(env))
      assert.strictEqual(code.baseUrl, "http://code/v1")
      assert.isUndefined(code.diskCachePath)
    }))

  it.effect("empty env values count as unset", () =>
    Effect.gen(function*() {
      const settings = yield* ChutesSettings.fromEnv().pipe(withEnv({ HOME: "/h", CHUTES_BASE_URL: " ", CHUTES_STATE_DIR: "" }))
      assert.strictEqual(settings.baseUrl, "https://llm.chutes.ai/v1")
      assert.strictEqual(settings.stateDir, "/h/.config/effect-chutes")
    }))
})
