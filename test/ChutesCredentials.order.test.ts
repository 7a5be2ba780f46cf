/**
 * The order of the stored auth profiles: `auth.order.chutes` in the config or `CHUTES_AUTH_ORDER` (code > config >
 * env), else OAuth profiles first; unknown ids warned once and ignored; `profileId` pins one.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AgentConfig from "../src/AgentConfig.js"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as FileLock from "../src/FileLock.js"
import * as ProfileOrder from "../src/internal/profileOrder.js"
import { portableFiles } from "./support/nodeFiles.js"

const KEY = (c: string) => `cpk_${"a".repeat(32)}.${"b".repeat(32)}.${c.repeat(32)}`

// File order: an API key first, then two OAuth profiles (never expiring: no refresh, no IdP needed).
const profiles = {
  "chutes:key": { type: "api_key", provider: "chutes", key: KEY("K") },
  "chutes:alice": { type: "oauth", provider: "chutes", access: "cak_alice", refresh: "crt_a", expires: 9e15 },
  "chutes:work": { type: "oauth", provider: "chutes", access: "cak_work", refresh: "crt_w", expires: 9e15 },
  "openai:default": { type: "api_key", provider: "openai", key: "sk-openai" }
}

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

/** The warnings logged while running `effect`, kept instead of printed. */
const logged = <A, E, R>(effect: Effect.Effect<A, E, R>, lines: Array<string>) =>
  Effect.provide(effect, Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void lines.push(String(message)))))

/** The profile the credentials layer picks over the in-memory store. */
const picked = (options: ChutesCredentials.Options, env: Record<string, string> = {}, lines: Array<string> = []) =>
  Effect.flatMap(ChutesCredentials.ChutesCredentials, (c) => c.get).pipe(
    Effect.map((credential) => Option.getOrUndefined(credential)?.profileId),
    Effect.provide(
      ChutesCredentials.layer(options).pipe(
        Layer.provide(Layer.mergeAll(AuthProfileStore.layerMemory({ version: 1, profiles }), ChutesOAuth.layer())),
        Layer.provide(Layer.mergeAll(ChutesSettings.layer({ diskCachePath: false }), NodeHttpClient.layerUndici))
      )
    ),
    (effect) => logged(effect, lines),
    withEnv(env)
  )

const storedProfiles = new Map(
  Object.entries(profiles).filter(([, p]) => p.provider === "chutes") as Array<
    [string, AuthProfileStore.ChutesProfile]
  >
)

describe("the order of the stored profiles", () => {
  it("without an order: OAuth profiles first, then API keys, each in file order (unchanged)", () => {
    const ids = ChutesCredentials.orderProfiles(storedProfiles).map(([id]) => id)
    assert.deepStrictEqual(ids, ["chutes:alice", "chutes:work", "chutes:key"])
  })

  it("named profiles first in that order, the rest by the default rule, unknown and repeated ids skipped", () => {
    const ids = ChutesCredentials.orderProfiles(storedProfiles, undefined, [
      "chutes:key",
      "chutes:ghost",
      "chutes:work",
      "chutes:key"
    ]).map(([id]) => id)
    assert.deepStrictEqual(ids, ["chutes:key", "chutes:work", "chutes:alice"])
    assert.deepStrictEqual(ProfileOrder.unknownIds(storedProfiles, ["chutes:ghost", "chutes:key", "chutes:ghost"]), [
      "chutes:ghost"
    ])
  })

  it("precedence: code > config > env", () => {
    assert.deepStrictEqual(ProfileOrder.choose(["a"], ["b"], ["c"]), ["a"])
    assert.deepStrictEqual(ProfileOrder.choose(undefined, ["b"], ["c"]), ["b"])
    assert.deepStrictEqual(ProfileOrder.choose(undefined, undefined, ["c"]), ["c"])
    assert.strictEqual(ProfileOrder.choose(undefined, undefined, undefined), undefined)
    assert.deepStrictEqual(ProfileOrder.parseList(" chutes:a, ,chutes:b ,"), ["chutes:a", "chutes:b"])
    assert.strictEqual(ProfileOrder.parseList(" , "), undefined)
  })

  it("the config's auth.order.chutes is read; other providers' orders are kept, not read", () => {
    const doc = Either.getOrThrow(AgentConfig.parse(
      `{ auth: { order: { chutes: ["chutes:work", " "], openai: ["openai:x"] } }, other: 1 }`,
      "config.json5"
    ))
    assert.deepStrictEqual(AgentConfig.providerDefaults(doc).authOrder, ["chutes:work"])
    assert.match(AgentConfig.format(doc), /openai:x/)
    assert.strictEqual(AgentConfig.providerDefaults(AgentConfig.empty).authOrder, undefined)
    assert.isTrue(Either.isLeft(AgentConfig.parse(`{ auth: { order: { chutes: "chutes:work" } } }`, "c.json5")))
  })

  it.effect("the credentials layer: default rule without an order", () =>
    Effect.map(picked({}), (id) => assert.strictEqual(id, "chutes:alice")))

  it.effect("the credentials layer: an order given as an option", () =>
    Effect.map(picked({ order: ["chutes:key", "chutes:work"] }), (id) => assert.strictEqual(id, "chutes:key")))

  it.effect("the credentials layer: CHUTES_AUTH_ORDER when no order is given; the option wins over it", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* picked({}, { CHUTES_AUTH_ORDER: "chutes:work, chutes:alice" }), "chutes:work")
      assert.strictEqual(
        yield* picked({ order: ["chutes:key"] }, { CHUTES_AUTH_ORDER: "chutes:work" }),
        "chutes:key"
      )
    }))

  it.effect("an unknown id is ignored with a warning said once", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const order = ["chutes:nobody-order-test", "chutes:work"]
      assert.strictEqual(yield* picked({ order }, {}, lines), "chutes:work")
      assert.strictEqual(yield* picked({ order }, {}, lines), "chutes:work")
      const warnings = lines.filter((line) => line.includes("chutes:nobody-order-test"))
      assert.strictEqual(warnings.length, 1)
      assert.match(warnings[0]!, /not a Chutes profile in memory; it is ignored/)
    }))

  it.effect("a pinned profileId that is not stored: the others serve, with a warning said once naming it", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const options = { profileId: "chutes:wrok-pin-test" }
      const first = yield* picked(options, {}, lines)
      assert.strictEqual(yield* picked(options, {}, lines), first)
      const warnings = lines.filter((line) => line.includes("chutes:wrok-pin-test"))
      assert.strictEqual(warnings.length, 1)
      assert.match(warnings[0]!, /the pinned auth profile "chutes:wrok-pin-test" is not a Chutes profile in memory/)
    }))

  it.effect("profileId pins one profile: the order does not apply", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* picked({ profileId: "chutes:alice", order: ["chutes:key"] }), "chutes:alice")
      assert.strictEqual(
        yield* picked({ profileId: "chutes:alice" }, { CHUTES_AUTH_ORDER: "chutes:work" }),
        "chutes:alice"
      )
    }))
})

describe("ChutesProvider.layer: the order from the config, the env, and code", () => {
  const stateDir = (config: string | undefined) => {
    const dir = mkdtempSync(join(tmpdir(), "chutes-order-"))
    writeFileSync(join(dir, "auth-profiles.json"), JSON.stringify({ version: 1, profiles }), { mode: 0o600 })
    if (config !== undefined) writeFileSync(join(dir, "config.json5"), config, { mode: 0o600 })
    return dir
  }
  const active = (dir: string, env: Record<string, string>, options: ChutesProvider.LayerOptions = {}) =>
    Effect.flatMap(ChutesProvider.ChutesProvider, (provider) => provider.credential).pipe(
      Effect.map((credential) => credential.profileId),
      Effect.provide(
        ChutesProvider.layer({ ...options, settings: { diskCachePath: false } }).pipe(
          Layer.provide(Layer.mergeAll(portableFiles, FileLock.layerMemory, NodeHttpClient.layerUndici)),
          Layer.orDie
        )
      ),
      (effect) => logged(effect, []),
      withEnv({ CHUTES_STATE_DIR: dir, ...env })
    )
  const config = `{ auth: { order: { chutes: ["chutes:key"] } } }`

  it.scopedLive("config order, env order, config over env, code over config, none", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* active(stateDir(config), {}), "chutes:key")
      assert.strictEqual(yield* active(stateDir(undefined), { CHUTES_AUTH_ORDER: "chutes:work" }), "chutes:work")
      assert.strictEqual(yield* active(stateDir(config), { CHUTES_AUTH_ORDER: "chutes:work" }), "chutes:key")
      assert.strictEqual(
        yield* active(stateDir(config), { CHUTES_AUTH_ORDER: "chutes:work" }, { authOrder: ["chutes:alice"] }),
        "chutes:alice"
      )
      assert.strictEqual(
        yield* active(stateDir(config), {}, { profileId: "chutes:work", authOrder: ["chutes:alice"] }),
        "chutes:work"
      )
      assert.strictEqual(yield* active(stateDir(undefined), {}), "chutes:alice")
    }))
})
