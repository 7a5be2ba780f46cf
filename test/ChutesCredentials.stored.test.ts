/**
 * Stored auth profiles: resolution order, refresh when due, single-flight in a process, the lock across processes,
 * and failures that never lose a credential. Real files, FakeChutes' IdP over loopback.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import * as Capture from "./support/capture.js"
import { portableFiles } from "./support/nodeFiles.js"

const run = promisify(execFile)

interface Setup {
  readonly fake: FakeChutes.FakeChutesServer
  readonly dir: string
  readonly storePath: string
  readonly env: Record<string, string>
}

const setup = (profiles: Record<string, unknown>) =>
  Effect.gen(function*() {
    const fake = yield* FakeChutes.make()
    const dir = mkdtempSync(join(tmpdir(), "chutes-creds-"))
    const storePath = join(dir, "auth-profiles.json")
    writeFileSync(storePath, JSON.stringify({ version: 1, profiles }, null, 2), { mode: 0o600 })
    const env = { CHUTES_IDP_BASE_URL: fake.idpBaseUrl, CHUTES_CLIENT_SECRET: fake.clientSecret ?? "", HOME: dir }
    return { fake, dir, storePath, env } satisfies Setup
  })

const expiredProfile = (fake: FakeChutes.FakeChutesServer, extra: Record<string, unknown> = {}) => {
  const tokens = fake.issueTokens()
  return {
    type: "oauth",
    provider: "chutes",
    access: tokens.access,
    refresh: tokens.refresh,
    expires: 1_000,
    email: "alice",
    clientId: fake.clientId,
    ...extra
  }
}

const credentialsLayer = (s: Setup, options: ChutesCredentials.Options = {}) =>
  ChutesCredentials.layer(options).pipe(
    Layer.provide(Layer.mergeAll(AuthProfileStore.layerFile({ path: s.storePath }), ChutesOAuth.layer())),
    Layer.provide(Layer.mergeAll(ChutesSettings.layerConfig().pipe(Layer.orDie), portableFiles, NodeHttpClient.layerUndici))
  )

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const stored = (s: Setup) => JSON.parse(readFileSync(s.storePath, "utf8")).profiles

describe("stored profiles", () => {
  it.scopedLive("order: explicit > env > chosen profile > first OAuth > first API key", () =>
    Effect.gen(function*() {
      const s = yield* setup({
        "chutes:default": { type: "api_key", provider: "chutes", key: "cpk_stored_key" },
        "chutes:alice": { type: "oauth", provider: "chutes", access: "cak_alice", refresh: "crt_a", expires: 9e15 },
        "chutes:bob": { type: "oauth", provider: "chutes", access: "cak_bob", refresh: "crt_b", expires: 9e15 },
        "openai:default": { type: "api_key", provider: "openai", key: "sk-openai" }
      })
      // The short fake keys draw the key-shape warning: kept for this test instead of printed.
      const shapeWarnings = Capture.make()
      const sourceOf = (options: ChutesCredentials.Options, env: Record<string, string> = {}) =>
        Effect.flatMap(ChutesCredentials.current, (c) => Effect.succeed([c.source, Redacted.value(c.secret)])).pipe(
          Effect.provide(credentialsLayer(s, options)),
          withEnv({ ...s.env, ...env }),
          Effect.provide(Capture.layer(shapeWarnings))
        )
      assert.deepStrictEqual(yield* sourceOf({}), ["profile:chutes:alice", "cak_alice"])
      assert.deepStrictEqual(yield* sourceOf({ profileId: "chutes:bob" }), ["profile:chutes:bob", "cak_bob"])
      assert.deepStrictEqual(yield* sourceOf({ profileId: "chutes:default" }), ["profile:chutes:default", "cpk_stored_key"])
      assert.deepStrictEqual(yield* sourceOf({ profileId: "chutes:nobody" }), ["profile:chutes:alice", "cak_alice"])
      assert.deepStrictEqual(yield* sourceOf({}, { CHUTES_OAUTH_TOKEN: "cak_env" }), ["env:CHUTES_OAUTH_TOKEN", "cak_env"])
      assert.deepStrictEqual(
        yield* sourceOf({}, { CHUTES_OAUTH_TOKEN: "cak_env", CHUTES_API_KEY: "cpk_env" }),
        ["env:CHUTES_API_KEY", "cpk_env"]
      )
      assert.deepStrictEqual(
        yield* sourceOf({ explicit: { apiKey: "cpk_code" } }, { CHUTES_API_KEY: "cpk_env" }),
        ["explicit", "cpk_code"]
      )
    }))

  it.scopedLive("sources \"profiles-only\": the stored profiles alone, whatever the env and code say", () =>
    Effect.gen(function*() {
      const s = yield* setup({ "chutes:default": { type: "api_key", provider: "chutes", key: "cpk_stored_key" } })
      const shapeWarnings = Capture.make()
      const credential = (options: ChutesCredentials.Options, env: Record<string, string>) =>
        Effect.flatMap(ChutesCredentials.ChutesCredentials, (c) => c.get).pipe(
          Effect.map(Option.map((c) => [c.source, Redacted.value(c.secret)])),
          Effect.provide(credentialsLayer(s, options)),
          withEnv({ ...s.env, ...env }),
          Effect.provide(Capture.layer(shapeWarnings))
        )
      const env = { CHUTES_API_KEY: "cpk_env", CHUTES_OAUTH_TOKEN: "cak_env" }
      // The default order: the env wins over the stored profile.
      assert.deepStrictEqual(yield* credential({}, env), Option.some(["env:CHUTES_API_KEY", "cpk_env"]))
      assert.deepStrictEqual(
        yield* credential({ sources: "all", explicit: { apiKey: "cpk_code" } }, env),
        Option.some(["explicit", "cpk_code"])
      )
      // Profiles only: neither the env nor a credential given in code is read.
      const stored = Option.some(["profile:chutes:default", "cpk_stored_key"])
      assert.deepStrictEqual(yield* credential({ sources: "profiles-only" }, env), stored)
      assert.deepStrictEqual(
        yield* credential({ sources: "profiles-only", explicit: { apiKey: "cpk_code" } }, env),
        stored
      )
      // And with no stored profile it has nothing, though the env has a key.
      const empty = yield* setup({})
      const none = yield* Effect.flatMap(ChutesCredentials.ChutesCredentials, (c) => c.get).pipe(
        Effect.provide(credentialsLayer(empty, { sources: "profiles-only" })),
        withEnv({ ...empty.env, ...env })
      )
      assert.isTrue(Option.isNone(none))
    }))

  it.scopedLive("sources \"profiles-only\" refreshes a due OAuth profile while CHUTES_API_KEY is set", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": expiredProfile(s.fake) } }))
      const c = yield* ChutesCredentials.current.pipe(
        Effect.provide(credentialsLayer(s, { sources: "profiles-only", profileId: "chutes:alice" })),
        withEnv({ ...s.env, CHUTES_API_KEY: "cpk_env" })
      )
      assert.deepStrictEqual([c.kind, c.source], ["oauth", "profile:chutes:alice"])
      assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
      assert.strictEqual(Redacted.value(c.secret), stored(s)["chutes:alice"].access)
      assert.isAbove(stored(s)["chutes:alice"].expires, Date.now())
    }))

  it.scopedLive("an API-key profile is used when there is no OAuth profile; none at all gives None", () =>
    Effect.gen(function*() {
      const s = yield* setup({ "chutes:default": { type: "api_key", provider: "chutes", key: "cpk_only" } })
      const c = yield* ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env))
      assert.deepStrictEqual([c.kind, c.profileId], ["api_key", "chutes:default"])
      const empty = yield* setup({})
      const none = yield* Effect.flatMap(ChutesCredentials.ChutesCredentials, (c) => c.get).pipe(
        Effect.provide(credentialsLayer(empty)),
        withEnv(empty.env)
      )
      assert.isTrue(Option.isNone(none))
    }))
})

describe("refresh", () => {
  it.scopedLive("an expired profile refreshes once; the new tokens are on disk, 0600, unknown fields kept", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      const before = expiredProfile(s.fake, { note: "kept" })
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": before } }), { mode: 0o600 })
      const credential = yield* ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env))
      const after = stored(s)["chutes:alice"]
      assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
      assert.notStrictEqual(after.access, before.access)
      assert.notStrictEqual(after.refresh, before.refresh)
      assert.isAbove(after.expires, Date.now())
      assert.strictEqual(after.note, "kept")
      assert.strictEqual(Redacted.value(credential.secret), after.access)
      assert.strictEqual(statSync(s.storePath).mode & 0o777, 0o600)
      // The new token is accepted by the service.
      const models = yield* Effect.promise(() =>
        fetch(`${s.fake.baseUrl}/models`, { headers: { authorization: `Bearer ${after.access}` } })
      )
      assert.strictEqual(models.status, 200)
    }))

  it.scopedLive("50 concurrent callers -> exactly 1 token request", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": expiredProfile(s.fake) } }))
      s.fake.fault({ _tag: "Delay", route: "token", millis: 100, times: 1 })
      const secrets = yield* Effect.flatMap(ChutesCredentials.ChutesCredentials, (credentials) =>
        Effect.all(
          Array.from({ length: 50 }, () => Effect.map(credentials.get, (c) => Redacted.value(Option.getOrThrow(c).secret))),
          { concurrency: "unbounded" }
        )).pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env))
      assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
      assert.strictEqual(s.fake.counters.invalidGrant, 0)
      assert.deepStrictEqual(new Set(secrets), new Set([stored(s)["chutes:alice"].access]))
    }))

  it.scopedLive("invalid_grant: re-reads once, then ReauthRequired naming the profile; the profile is untouched", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      const profile = expiredProfile(s.fake)
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": profile } }))
      // Spend the refresh token elsewhere, so ours is reused: the IdP answers invalid_grant.
      const spent = yield* Effect.promise(() =>
        fetch(`${s.fake.idpBaseUrl}/idp/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "refresh_token",
            refresh_token: profile.refresh,
            client_id: s.fake.clientId,
            client_secret: s.fake.clientSecret ?? ""
          })
        })
      )
      assert.strictEqual(spent.status, 200)
      const bytes = readFileSync(s.storePath)
      const error = yield* Effect.flip(ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env)))
      assert.strictEqual(error.reason, "ReauthRequired")
      assert.strictEqual(error.profileId, "chutes:alice")
      assert.include(error.message, `"chutes:alice"`)
      assert.include(error.message, "effect-chutes onboard --auth-choice chutes")
      assert.deepStrictEqual(readFileSync(s.storePath), bytes, "never deleted or overwritten")
      for (const text of [error.message, String(error), JSON.stringify(error)]) {
        assert.notInclude(text, profile.refresh)
        assert.notInclude(text, profile.access)
      }
    }))

  it.scopedLive("an unreachable IdP gives RefreshFailed and keeps the profile; the next call tries again", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": expiredProfile(s.fake) } }))
      const bytes = readFileSync(s.storePath)
      s.fake.fault({ _tag: "Status", route: "token", status: 503, body: { error: "temporarily_unavailable" }, times: 1 })
      const layer = credentialsLayer(s)
      yield* Effect.gen(function*() {
        const credentials = yield* ChutesCredentials.ChutesCredentials
        const error = yield* Effect.flip(credentials.get)
        assert.strictEqual(error.reason, "RefreshFailed", "a 503 is a passing failure, not a refusal")
        assert.deepStrictEqual(readFileSync(s.storePath), bytes)
      }).pipe(Effect.provide(layer), withEnv(s.env))

      s.fake.fault({ _tag: "Reset", route: "token", times: 1 })
      yield* Effect.gen(function*() {
        const credentials = yield* ChutesCredentials.ChutesCredentials
        const error = yield* Effect.flip(credentials.get)
        assert.strictEqual(error.reason, "RefreshFailed")
        assert.deepStrictEqual(readFileSync(s.storePath), bytes)
        const retried = yield* credentials.get
        assert.isTrue(Option.isSome(retried), "the next call refreshes")
      }).pipe(Effect.provide(credentialsLayer(s, { retryRefreshAfter: "0 millis" })), withEnv(s.env))
    }))

  it.scopedLive("a 429 or 408 from the IdP is RefreshFailed, not a sign-in to redo: no endless needs-sign-in cooldown", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": expiredProfile(s.fake) } }))
      const bytes = readFileSync(s.storePath)
      for (const [status, code] of [[429, "slow_down"], [408, "timeout"], [400, "invalid_grant"]] as const) {
        s.fake.fault({ _tag: "Status", route: "token", status, body: { error: code }, times: 1 })
        const error = yield* Effect.flip(Effect.flatMap(ChutesCredentials.ChutesCredentials, (c) => c.get)).pipe(
          Effect.provide(credentialsLayer(s)),
          withEnv(s.env)
        )
        assert.strictEqual(error.reason, status === 400 ? "ReauthRequired" : "RefreshFailed", `${status} ${code}`)
        assert.deepStrictEqual(readFileSync(s.storePath), bytes, "the profile is kept")
      }
    }))

  it.scopedLive("forceRefresh after a 401 refreshes once even before expiry; static credentials give None", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      const profile = { ...expiredProfile(s.fake), expires: 9e15 }
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": profile } }))
      yield* Effect.gen(function*() {
        const credentials = yield* ChutesCredentials.ChutesCredentials
        const first = yield* ChutesCredentials.current
        const [a, b] = yield* Effect.all([credentials.forceRefresh(first), credentials.forceRefresh(first)], {
          concurrency: "unbounded"
        })
        assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
        assert.strictEqual(Redacted.value(Option.getOrThrow(a).secret), Redacted.value(Option.getOrThrow(b).secret))
        assert.notStrictEqual(Redacted.value(Option.getOrThrow(a).secret), profile.access)
      }).pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env))
      const fromEnv = yield* Effect.flatMap(ChutesCredentials.ChutesCredentials, (c) =>
        Effect.flatMap(ChutesCredentials.current, c.forceRefresh)).pipe(
          Effect.provide(credentialsLayer(s)),
          withEnv({ ...s.env, CHUTES_OAUTH_TOKEN: "cak_static" })
        )
      assert.isTrue(Option.isNone(fromEnv))
    }))
})

describe("the stored client id and secret", () => {
  it.scopedLive("a profile with its secret refreshes in a shell without CHUTES_CLIENT_SECRET; another app's env pair is ignored", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      const secret = s.fake.clientSecret ?? ""
      const profile = expiredProfile(s.fake, { clientSecret: secret })
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": profile } }), { mode: 0o600 })
      // A new shell: no secret at all; then a shell set up for another OAuth app.
      const newShell = { CHUTES_IDP_BASE_URL: s.fake.idpBaseUrl, HOME: s.dir }
      const first = yield* ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s)), withEnv(newShell))
      assert.strictEqual(Redacted.value(first.secret), stored(s)["chutes:alice"].access)
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": { ...stored(s)["chutes:alice"], expires: 1 } } }))
      const otherApp = { ...newShell, CHUTES_CLIENT_ID: "cid_other_app", CHUTES_CLIENT_SECRET: "csc_other_app_secret" }
      yield* ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s)), withEnv(otherApp))
      assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 2)
      const tokenRequests = s.fake.requests.filter((r) => r.route === "token")
      assert.isTrue(tokenRequests.every((r) => new URLSearchParams(r.body).get("client_secret") === secret))
      assert.isTrue(tokenRequests.every((r) => new URLSearchParams(r.body).get("client_id") === s.fake.clientId))
      const after = stored(s)["chutes:alice"]
      assert.strictEqual(after.clientId, s.fake.clientId)
      assert.strictEqual(after.clientSecret, secret, "the pair stays in the profile")
    }))

  it.scopedLive("an older profile (no stored secret) refreshes with CHUTES_CLIENT_SECRET; only its tokens change", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      const before = expiredProfile(s.fake)
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": before } }))
      yield* ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env))
      const after = stored(s)["chutes:alice"]
      assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
      assert.deepStrictEqual({ ...after, access: "", refresh: "", expires: 0 }, { ...before, access: "", refresh: "", expires: 0 })
    }))

  it.scopedLive("a secret rotated in the env for the same app is used, and replaces the stale stored one", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      const stale = "csc_" + "rotatedAwaySecret".repeat(3)
      writeFileSync(
        s.storePath,
        JSON.stringify({ version: 1, profiles: { "chutes:alice": expiredProfile(s.fake, { clientSecret: stale }) } })
      )
      const sameApp = { ...s.env, CHUTES_CLIENT_ID: s.fake.clientId }
      yield* ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s)), withEnv(sameApp))
      assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
      const after = stored(s)["chutes:alice"]
      assert.strictEqual(after.clientId, s.fake.clientId)
      assert.strictEqual(after.clientSecret, s.fake.clientSecret, "the next refresh, in any shell, has the current pair")
      assert.strictEqual(statSync(s.storePath).mode & 0o777, 0o600)
    }))

  it.scopedLive("a stored secret the IdP refuses (invalid_client): ReauthRequired saying the client id or secret is wrong", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      const wrong = "csc_" + "revokedAppSecret".repeat(3)
      writeFileSync(
        s.storePath,
        JSON.stringify({ version: 1, profiles: { "chutes:alice": expiredProfile(s.fake, { clientSecret: wrong }) } })
      )
      const bytes = readFileSync(s.storePath)
      const error = yield* Effect.flip(
        ChutesCredentials.current.pipe(
          Effect.provide(credentialsLayer(s)),
          withEnv({ CHUTES_IDP_BASE_URL: s.fake.idpBaseUrl, HOME: s.dir })
        )
      )
      assert.strictEqual(error.reason, "ReauthRequired")
      assert.include(error.message, "client id or client secret is wrong")
      assert.include(error.message, "effect-chutes onboard --auth-choice chutes")
      for (const text of [error.message, String(error), JSON.stringify(error)]) {
        assert.notInclude(text, wrong)
        assert.notInclude(text, wrong.slice(4, 16))
      }
      assert.deepStrictEqual(readFileSync(s.storePath), bytes, "never deleted or overwritten")
    }))

  it.scopedLive("an older profile with no secret anywhere: ReauthRequired naming CHUTES_CLIENT_SECRET, no request", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": expiredProfile(s.fake) } }))
      const error = yield* Effect.flip(
        ChutesCredentials.current.pipe(
          Effect.provide(credentialsLayer(s)),
          withEnv({ CHUTES_IDP_BASE_URL: s.fake.idpBaseUrl, HOME: s.dir })
        )
      )
      assert.strictEqual(error.reason, "ReauthRequired")
      assert.include(error.message, "CHUTES_CLIENT_SECRET")
      assert.strictEqual(s.fake.counters.token, 0)
    }))
})

describe("a failed refresh is not retried on every call", () => {
  it.scopedLive("within retryRefreshAfter: the same error, no new token request; a changed profile is tried at once", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": expiredProfile(s.fake) } }))
      s.fake.fault({ _tag: "Status", route: "token", status: 503, body: { error: "temporarily_unavailable" } })
      yield* Effect.gen(function*() {
        const credentials = yield* ChutesCredentials.ChutesCredentials
        for (let i = 0; i < 5; i++) assert.strictEqual((yield* Effect.flip(credentials.get)).reason, "RefreshFailed")
        assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1, "one request for five calls")
        // A new sign-in elsewhere changes the stored profile: it is used at once.
        s.fake.clearFaults("token")
        writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": expiredProfile(s.fake) } }))
        assert.isTrue(Option.isSome(yield* credentials.get))
        assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 2)
      }).pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env))
    }))
})

describe("across processes", () => {
  it.scopedLive("4 processes needing a refresh at once -> 1 token request, 0 invalid_grant, all on the new token", () =>
    Effect.gen(function*() {
      const s = yield* setup({})
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": expiredProfile(s.fake) } }))
      s.fake.fault({ _tag: "Delay", route: "token", millis: 200, times: 1 })
      const outputs = yield* Effect.promise(() =>
        Promise.all(Array.from({ length: 4 }, () =>
          run(process.execPath, ["--import", "tsx", "test/support/refreshWorker.ts", s.storePath, "10", "1", "0"], {
            env: { ...process.env, ...s.env },
            timeout: 60_000
          })))
      )
      const access = stored(s)["chutes:alice"].access
      const expected = yield* ChutesCredentials.identity(
        ChutesCredentials.make({ kind: "oauth", source: "x", secret: access })
      )
      assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
      assert.strictEqual(s.fake.counters.invalidGrant, 0)
      for (const { stdout } of outputs) {
        const result = JSON.parse(stdout)
        assert.deepStrictEqual(result, { seen: [[expected]], errors: [] })
      }
    }), { timeout: 90_000 })
})
