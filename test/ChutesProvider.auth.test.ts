/**
 * The provider's own client owns auth: a 401 for an OAuth token of a stored profile makes it force one refresh (the
 * real `ChutesCredentials` over a real store file and FakeChutes' IdP) and retry once; an API key gets no retry.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as CatalogCache from "../src/CatalogCache.js"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as ModelDiscovery from "../src/ModelDiscovery.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"
import { portableFiles } from "./support/nodeFiles.js"
import { storedOAuthProfile } from "./support/profiles.js"

const revoke = (fake: FakeChutes.FakeChutesServer, token: string) =>
  Effect.promise(() =>
    fetch(`${fake.idpBaseUrl}/idp/token/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, client_id: fake.clientId, client_secret: fake.clientSecret ?? "" }).toString()
    })
  )

/** The provider over a store file holding `profiles`, with the real credentials service and OAuth client. */
const providerOver = (fake: FakeChutes.FakeChutesServer, profiles: Record<string, unknown>) => {
  const dir = mkdtempSync(join(tmpdir(), "chutes-provider-auth-"))
  const storePath = join(dir, "auth-profiles.json")
  writeFileSync(storePath, JSON.stringify({ version: 1, profiles }, null, 2), { mode: 0o600 })
  const platform = Layer.mergeAll(
    ChutesSettings.layer({ baseUrl: fake.baseUrl, idpBaseUrl: fake.idpBaseUrl, diskCachePath: false }),
    portableFiles,
    NodeHttpClient.layerUndici
  )
  const credentials = ChutesCredentials.layer().pipe(
    Layer.provide(Layer.mergeAll(AuthProfileStore.layerFile({ path: storePath }), ChutesOAuth.layer()))
  )
  const layer = ChutesProvider.layerWithoutDependencies().pipe(
    Layer.provide(Layer.mergeAll(ModelDiscovery.layer, CatalogCache.layerMemory(), credentials)),
    Layer.provide(platform),
    Layer.orDie
  )
  const env = new Map([["CHUTES_CLIENT_SECRET", fake.clientSecret ?? ""], ["HOME", dir]])
  return {
    storePath,
    run: <A, E>(program: Effect.Effect<A, E, ChutesProvider.ChutesProvider>) =>
      program.pipe(
        Effect.provide(layer),
        Effect.withConfigProvider(ConfigProvider.fromMap(env)),
        Logger.withMinimumLogLevel(LogLevel.Error)
      )
  }
}

/** One chat request through the provider's client: its status. */
const chat = Effect.flatMap(ChutesProvider.ChutesProvider, (provider) =>
  provider.client.execute(
    HttpClientRequest.post("/chat/completions").pipe(
      HttpClientRequest.bodyUnsafeJson({ model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }] })
    )
  )).pipe(Effect.map((response) => response.status))

const chatAuthorizations = (fake: FakeChutes.FakeChutesServer) =>
  fake.requests.filter((r) => r.route === "chat").map((r) => r.headers["authorization"])

describe("ChutesProvider.client auth", () => {
  it.scopedLive("a 401 for a stored OAuth profile -> one forced refresh -> one retry with the new token", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const tokens = fake.issueTokens()
      // The stored token is not due, but the service no longer takes it: only a 401 tells.
      yield* revoke(fake, tokens.access)
      const t = providerOver(fake, {
        "chutes:alice": storedOAuthProfile(fake, tokens)
      })
      const status = yield* t.run(chat)
      assert.strictEqual(status, 200)
      const sent = chatAuthorizations(fake)
      assert.strictEqual(sent.length, 2, "one request, one retry")
      assert.strictEqual(sent[0], `Bearer ${tokens.access}`)
      assert.notStrictEqual(sent[1], sent[0])
      assert.strictEqual(fake.counters.unauthorized, 1)
      assert.strictEqual(fake.counters.token, 1, "exactly one refresh")
      // The refreshed token is stored: the next process starts from it.
      const stored = JSON.parse(readFileSync(t.storePath, "utf8")).profiles["chutes:alice"]
      assert.strictEqual(`Bearer ${stored.access}`, sent[1])
    }))

  it.scopedLive("a refresh the IdP refuses -> the typed CredentialsError (ReauthRequired); no retry", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const tokens = fake.issueTokens()
      yield* revoke(fake, tokens.access)
      const t = providerOver(fake, {
        "chutes:alice": storedOAuthProfile(fake, tokens, { refresh: "crt_not_issued_by_the_idp" })
      })
      const error = yield* t.run(Effect.flip(chat))
      assert.strictEqual(error._tag, "CredentialsError")
      assert.strictEqual(error._tag === "CredentialsError" && error.reason, "ReauthRequired")
      assert.include(error.message, "chutes:alice")
      assert.strictEqual(fake.counters.chat, 1)
    }))

  it.scopedLive("a 401 for a stored API key is the answer: no refresh, no retry", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const t = providerOver(fake, {
        "chutes:default": { type: "api_key", provider: "chutes", key: "cpk_not_the_fake_key" }
      })
      const status = yield* t.run(chat)
      assert.strictEqual(status, 401)
      assert.strictEqual(fake.counters.chat, 1)
      assert.strictEqual(fake.counters.token, 0)
    }))
})
