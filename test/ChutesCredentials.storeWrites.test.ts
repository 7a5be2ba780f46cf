/**
 * A refresh whose write fails must not lose the rotated refresh token: the IdP has consumed the old one, so a lost
 * write used to end the sign-in (the next use sent the consumed token and got `invalid_grant`). Real files, FakeChutes'
 * IdP over loopback with rotating single-use refresh tokens.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import { CredentialsError, StoreError } from "../src/ChutesError.js"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import { portableFiles } from "./support/nodeFiles.js"

const setup = Effect.gen(function*() {
  const fake = yield* FakeChutes.make()
  const dir = mkdtempSync(join(tmpdir(), "chutes-store-writes-"))
  const storePath = join(dir, "auth-profiles.json")
  const env = { CHUTES_IDP_BASE_URL: fake.idpBaseUrl, CHUTES_CLIENT_SECRET: fake.clientSecret ?? "", HOME: dir }
  const tokens = fake.issueTokens()
  const profile = {
    type: "oauth",
    provider: "chutes",
    access: tokens.access,
    refresh: tokens.refresh,
    expires: 1_000,
    email: "alice",
    clientId: fake.clientId
  }
  return { fake, dir, storePath, env, profile }
})

type Setup = Effect.Effect.Success<typeof setup>

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const platform = Layer.mergeAll(ChutesSettings.layerConfig().pipe(Layer.orDie), portableFiles, NodeHttpClient.layerUndici)

/** The credentials over `store` (default: the file store at `s.storePath`), re-reading the store on every call. */
const credentialsLayer = (s: Setup, store: Layer.Layer<AuthProfileStore.AuthProfileStore, never, never> | undefined = undefined) =>
  ChutesCredentials.layer({ recheckAfter: "0 millis", retryRefreshAfter: "0 millis" }).pipe(
    Layer.provide(Layer.mergeAll(
      store ?? AuthProfileStore.layerFile({ path: s.storePath }).pipe(Layer.provide(platform)),
      ChutesOAuth.layer()
    )),
    Layer.provide(platform)
  )

/** The real file store at `s.storePath`, whose writes fail while `failing.on` (a full disk, say): nothing reaches the file. */
const flakyStore = (s: Setup, failing: { readonly on: boolean }) =>
  Layer.effect(
    AuthProfileStore.AuthProfileStore,
    Effect.map(AuthProfileStore.makeFile(s.storePath), (inner): AuthProfileStore.Service => ({
      ...inner,
      modify: (f) =>
        inner.modify((current) =>
          Effect.flatMap(f(current), ([result, changes]) =>
            failing.on && changes.length > 0
              ? Effect.fail(new StoreError({ reason: "Io", path: inner.location, detail: "ENOSPC (simulated)" }))
              : Effect.succeed([result, changes] as const))
        )
    }))
  ).pipe(Layer.provide(platform))

const logsInto = (lines: Array<string>) =>
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void lines.push(String(message)))))

const storedProfile = (s: Setup) => JSON.parse(readFileSync(s.storePath, "utf8")).profiles["chutes:alice"]

const secretOf = (credential: Option.Option<ChutesCredentials.Credential>): string =>
  Redacted.value(Option.getOrThrow(credential).secret)

describe("a store nested too deep", () => {
  it.scopedLive("is Corrupt before any IdP call: no token consumed, no defect, the file untouched", () =>
    Effect.gen(function*() {
      const s = yield* setup
      // Another tool's entry nested 5,000 levels: JSON.parse takes it, JSON.stringify overflows the stack on it.
      const deep = `${"{\"next\":".repeat(5000)}"bottom"${"}".repeat(5000)}`
      const text = `{"version":1,"profiles":{"chutes:alice":${JSON.stringify(s.profile)},"other:deep":${deep}}}`
      writeFileSync(s.storePath, text, { mode: 0o600 })
      const exit = yield* Effect.exit(ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env)))
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", `a typed failure, not a defect: ${String(exit)}`)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        assert.instanceOf(error, CredentialsError)
        assert.strictEqual(error.reason, "Store")
        assert.include(error.message, "nested deeper than 100 levels")
      }
      assert.strictEqual(s.fake.counters.token, 0, "the refresh token was not consumed")
      assert.strictEqual(readFileSync(s.storePath, "utf8"), text)
    }))
})

describe("a store a refresh could not write back", () => {
  it.scopedLive("is found by a trial before the IdP call: Store, no token consumed, the file untouched", () =>
    Effect.gen(function*() {
      const s = yield* setup
      // Another tool's number that JSON.stringify would write back changed: the store is never rewritten with it.
      const text = `{"version":1,"profiles":{"chutes:alice":${JSON.stringify(s.profile)},` +
        `"other:x":{"provider":"other","accountId":12345678901234567890}}}`
      writeFileSync(s.storePath, text, { mode: 0o600 })
      const exit = yield* Effect.exit(ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env)))
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", `a typed failure: ${String(exit)}`)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        assert.instanceOf(error, CredentialsError)
        assert.strictEqual(error.reason, "Store")
        assert.include(error.message, "an integer past 2^53")
        assert.include(error.message, "the OAuth token of profile chutes:alice was not refreshed")
      }
      assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 0, "the refresh token was not consumed")
      assert.strictEqual(readFileSync(s.storePath, "utf8"), text)
    }))

  it.scopedLive("in memory too: the memory store's trial is the encoding", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const document = { version: 1, profiles: { "chutes:alice": s.profile, "other:x": { provider: "other", n: 2 ** 60 } } }
      const memory = Layer.effect(AuthProfileStore.AuthProfileStore, AuthProfileStore.makeMemory(document))
      const exit = yield* Effect.exit(
        ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s, memory)), withEnv(s.env))
      )
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", `a typed failure: ${String(exit)}`)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.strictEqual(exit.cause.error.reason, "Store")
        assert.include(exit.cause.error.message, "was not refreshed")
      }
      assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 0, "the refresh token was not consumed")
    }))
})

describe("a refresh whose write fails", () => {
  it.scopedLive("keeps the new tokens in memory, says so, retries the write, and never sends the consumed token", () =>
    Effect.gen(function*() {
      const s = yield* setup
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": s.profile } }), { mode: 0o600 })
      const failing = { on: true }
      const flaky = flakyStore(s, failing)
      const logs: Array<string> = []
      yield* Effect.gen(function*() {
        const credentials = yield* ChutesCredentials.ChutesCredentials
        const first = secretOf(yield* credentials.get)
        assert.notStrictEqual(first, s.profile.access, "the refreshed token")
        assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
        assert.strictEqual(storedProfile(s).refresh, s.profile.refresh, "the write failed: the file has the old token")
        assert.isTrue(
          logs.some((line) => line.includes("kept in memory for this process") && line.includes("ENOSPC")),
          logs.join("\n")
        )
        // The next reads use the tokens in memory: no second refresh with the consumed token.
        assert.strictEqual(secretOf(yield* credentials.get), first)
        assert.strictEqual(secretOf(yield* credentials.get), first)
        assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
        assert.strictEqual(s.fake.counters.invalidGrant, 0)
        // The disk is back: the next read writes them.
        failing.on = false
        assert.strictEqual(secretOf(yield* credentials.get), first)
        assert.strictEqual(storedProfile(s).access, first)
        assert.notStrictEqual(storedProfile(s).refresh, s.profile.refresh)
        assert.isTrue(logs.some((line) => line.includes("saved the refreshed OAuth tokens of profile chutes:alice")))
      }).pipe(Effect.provide(credentialsLayer(s, flaky)), withEnv(s.env), logsInto(logs))
      // Another process, later: the stored refresh token is the live one.
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": { ...storedProfile(s), expires: 1 } } }))
      yield* ChutesCredentials.current.pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env))
      assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 2)
      assert.strictEqual(s.fake.counters.invalidGrant, 0)
    }))

  it.scopedLive("when the credentials are closed: a last write, and an error-level line for tokens still unsaved", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const failing = { on: true }
      const flaky = flakyStore(s, failing)
      const logs: Array<{ readonly level: string; readonly text: string }> = []
      const leveled = Effect.provide(
        Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ logLevel, message }) => void logs.push({ level: logLevel.label, text: String(message) }))
        )
      )
      const refreshOnce = Effect.flatMap(ChutesCredentials.ChutesCredentials, (credentials) => credentials.get).pipe(
        Effect.provide(credentialsLayer(s, flaky)),
        withEnv(s.env),
        leveled
      )
      const lost = (level: string) =>
        logs.some((line) =>
          line.level === level && line.text.includes("profile chutes:alice") && line.text.includes("needs a new sign-in")
        )

      // The disk stays full to the end (a CLI run that refreshed): the last write fails too, and an error says so.
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": s.profile } }), { mode: 0o600 })
      const first = secretOf(yield* refreshOnce)
      assert.notStrictEqual(first, s.profile.access)
      assert.strictEqual(storedProfile(s).refresh, s.profile.refresh, "nothing written")
      assert.isTrue(lost("ERROR"), JSON.stringify(logs))

      // The disk is back before the end: the last write lands, and no error.
      logs.length = 0
      const tokens = s.fake.issueTokens()
      const fresh = { ...s.profile, access: tokens.access, refresh: tokens.refresh }
      writeFileSync(s.storePath, JSON.stringify({ version: 1, profiles: { "chutes:alice": fresh } }), { mode: 0o600 })
      const second = yield* Effect.flatMap(ChutesCredentials.ChutesCredentials, (credentials) =>
        Effect.zipLeft(credentials.get, Effect.sync(() => (failing.on = false)))).pipe(
          Effect.provide(credentialsLayer(s, flaky)),
          withEnv(s.env),
          leveled
        )
      assert.strictEqual(storedProfile(s).access, secretOf(second), "written when the credentials were closed")
      assert.isFalse(lost("ERROR"), JSON.stringify(logs))
      assert.isTrue(logs.some((line) => line.text.includes("saved the refreshed OAuth tokens of profile chutes:alice")))
    }))

  it.scopedLive("a store turned into version 2 by hand during the refresh stays as it is; the new tokens are kept in memory", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const v1 = JSON.stringify({ version: 1, profiles: { "chutes:alice": s.profile } })
      const v2 = JSON.stringify({ version: 2, accounts: { alice: { note: "a newer format, never overwritten" } } })
      writeFileSync(s.storePath, v1, { mode: 0o600 })
      s.fake.fault({ _tag: "Delay", route: "token", millis: 300, times: 1 })
      const logs: Array<string> = []
      yield* Effect.gen(function*() {
        const credentials = yield* ChutesCredentials.ChutesCredentials
        // The user rewrites the store while the token request is in flight (the IdP rotates the token meanwhile).
        const editor = yield* Effect.fork(Effect.gen(function*() {
          while (s.fake.counters.token === 0) yield* Effect.sleep("5 millis")
          writeFileSync(s.storePath, v2)
        }))
        const first = secretOf(yield* credentials.get)
        yield* editor.await
        assert.strictEqual(readFileSync(s.storePath, "utf8"), v2, "never written over")
        assert.isTrue(logs.some((line) => line.includes("kept in memory for this process")), logs.join("\n"))
        // While the store cannot be read, the tokens in memory are no help: the store's error stands, no request.
        const error = yield* Effect.flip(credentials.get)
        assert.strictEqual(error.reason, "Store")
        assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
        // The user puts the old store back: the new tokens are written over the consumed one, and used.
        writeFileSync(s.storePath, v1)
        assert.strictEqual(secretOf(yield* credentials.get), first)
        assert.strictEqual(storedProfile(s).access, first)
        assert.strictEqual(s.fake.counters.tokenByGrant.refresh_token, 1)
        assert.strictEqual(s.fake.counters.invalidGrant, 0)
      }).pipe(Effect.provide(credentialsLayer(s)), withEnv(s.env), logsInto(logs))
    }))
})
