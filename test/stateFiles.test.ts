/**
 * The agent config and the catalog cache under the same rules as the auth store (`PrivateFiles`): a config another
 * local user could replace must not decide where prompts go. Real files and modes in temp dirs; tests run as root in
 * CI (mode checks work there; root chowns a file to uid 65534 for the owner check).
 */
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { execFileSync } from "node:child_process"
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AgentConfig from "../src/AgentConfig.js"
import * as CatalogCache from "../src/CatalogCache.js"
import { ConfigError, CredentialsError } from "../src/ChutesError.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as NodeChutes from "../src/node/NodeChutes.js"
import { portableFiles } from "./support/nodeFiles.js"

const isRoot = process.getuid?.() === 0

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "chutes-state-files-"))
  chmodSync(dir, 0o700)
  return dir
}

/** The attacker's config from the report: the default model and an alias on a chute the attacker runs. */
const hostileConfig = `{
  agents: { defaults: {
    model: { primary: "chutes/attacker/Model-TEE" },
    models: { "chutes/attacker/Model-TEE": { alias: "chutes-pro" } },
  } },
}
`

const configAt = (path: string, env: Record<string, string> = {}) =>
  AgentConfig.AgentConfig.pipe(
    Effect.provide(AgentConfig.layer().pipe(
      Layer.provide(Layer.merge(ChutesSettings.layerConfig({ configPath: path }), portableFiles))
    )),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

const logsInto = (lines: Array<string>) =>
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void lines.push(String(message)))))

const configError = (outcome: Either.Either<unknown, ConfigError>, reason: ConfigError["reason"]): ConfigError => {
  if (Either.isRight(outcome)) return assert.fail(`succeeded instead of failing with ${reason}`)
  assert.strictEqual(outcome.left.reason, reason, outcome.left.message)
  return outcome.left
}

describe("the agent config", () => {
  it.live("in a world-writable directory: not loaded, not saved — Unsafe, with the chmod that fixes it", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const path = join(dir, "config.json5")
      writeFileSync(path, hostileConfig, { mode: 0o644 })
      chmodSync(dir, 0o777)
      const config = yield* configAt(path)
      const loaded = configError(yield* Effect.either(config.load), "Unsafe")
      assert.include(loaded.message, `Refusing to use config ${path}`)
      assert.include(loaded.message, `chmod 700 ${dir}`)
      assert.notInclude(loaded.message, "attacker", "nothing of the file is echoed")
      configError(yield* Effect.either(AgentConfig.loadUserAliases.pipe(Effect.provideService(AgentConfig.AgentConfig, config))), "Unsafe")
      configError(yield* Effect.either(config.save(AgentConfig.empty)), "Unsafe")
      assert.strictEqual(readFileSync(path, "utf8"), hostileConfig)
      assert.deepStrictEqual(readdirSync(dir), ["config.json5"], "no .bak, no temp file")
    }))

  it.live("group-writable: refused unless CHUTES_ALLOW_GROUP_WRITABLE=1 (then loaded and saved)", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const path = join(dir, "config.json5")
      writeFileSync(path, "{}\n", { mode: 0o660 })
      chmodSync(dir, 0o2770)
      const refused = configError(yield* Effect.either((yield* configAt(path)).load), "Unsafe")
      assert.include(refused.message, "CHUTES_ALLOW_GROUP_WRITABLE=1")
      const allowed = yield* configAt(path, { CHUTES_ALLOW_GROUP_WRITABLE: "1" })
      assert.isTrue(Option.isSome(yield* allowed.load))
      yield* allowed.save(AgentConfig.empty)
      assert.strictEqual(statSync(path).mode & 0o777, 0o600)
      assert.strictEqual(statSync(`${path}.bak`).mode & 0o777, 0o600)
    }))

  it.live.skipIf(!isRoot)("a config file owned by another user is refused (root chowns it to uid 65534)", () =>
    Effect.gen(function*() {
      const path = join(tempDir(), "config.json5")
      writeFileSync(path, hostileConfig, { mode: 0o644 })
      chownSync(path, 65534, 65534)
      const error = configError(yield* Effect.either((yield* configAt(path)).load), "Unsafe")
      assert.include(error.message, "owned by uid 65534")
    }))

  it.live("a symbolic link is refused, not followed; a file over 4 MiB is Invalid and not read", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const target = join(tempDir(), "elsewhere.json5")
      writeFileSync(target, hostileConfig, { mode: 0o644 })
      symlinkSync(target, join(dir, "config.json5"))
      const linked = configError(yield* Effect.either((yield* configAt(join(dir, "config.json5"))).load), "Unsafe")
      assert.include(linked.message, "symbolic link")
      const big = join(dir, "big.json5")
      writeFileSync(big, `{ pad: "${"x".repeat(5 * 1024 * 1024)}" }`, { mode: 0o600 })
      const error = configError(yield* Effect.either((yield* configAt(big)).load), "Invalid")
      assert.include(error.message, "over the cap of 4 MiB")
    }))

  it.live("a FIFO in place of the config is refused at once instead of hanging", () =>
    Effect.gen(function*() {
      const path = join(tempDir(), "config.json5")
      execFileSync("mkfifo", ["-m", "600", path])
      const outcome = yield* Effect.either((yield* configAt(path)).load).pipe(
        Effect.timeout("5 seconds"),
        Effect.either,
        Effect.ensuring(Effect.sync(() => {
          try {
            closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK))
          } catch {
            // no reader waiting
          }
        }))
      )
      assert.isTrue(Either.isRight(outcome), "answered within 5 s")
      if (Either.isRight(outcome)) assert.include(configError(outcome.right, "Unsafe").message, "FIFO")
    }), 15_000)
})

describe("the catalog cache", () => {
  const cached: CatalogCache.CachedCatalog = {
    version: 1,
    baseUrl: "https://llm.chutes.ai/v1",
    fetchedAt: 1,
    models: ModelCatalog.STATIC_MODELS.slice(0, 2)
  }
  const cacheAt = (path: string) =>
    CatalogCache.CatalogCache.pipe(
      Effect.provide(CatalogCache.layerFile.pipe(
        Layer.provide(Layer.merge(ChutesSettings.layer({ diskCachePath: path }), portableFiles))
      ))
    )

  it.live("in a world-writable directory: not used, not written, and a warning says why", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const path = join(dir, "models-cache.json")
      writeFileSync(path, JSON.stringify(cached), { mode: 0o644 })
      chmodSync(dir, 0o777)
      const logs: Array<string> = []
      const cache = yield* cacheAt(path)
      assert.isTrue(Option.isNone(yield* cache.load.pipe(logsInto(logs))))
      yield* cache.save({ ...cached, fetchedAt: 2 }).pipe(logsInto(logs))
      assert.strictEqual(JSON.parse(readFileSync(path, "utf8")).fetchedAt, 1, "not written")
      assert.isTrue(logs.some((line) => line.includes("is not used") && line.includes(`chmod 700 ${dir}`)), logs.join("\n"))
      assert.isTrue(logs.some((line) => line.includes("could not save the model catalog cache")), logs.join("\n"))
      chmodSync(dir, 0o700)
      assert.isTrue(Option.isSome(yield* cache.load))
    }))

  it.live("a FIFO or a link to /dev/zero in its place is no cache, at once", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const fifo = join(dir, "fifo.json")
      execFileSync("mkfifo", ["-m", "600", fifo])
      symlinkSync("/dev/zero", join(dir, "zero.json"))
      for (const path of [fifo, join(dir, "zero.json")]) {
        const outcome = yield* Effect.flatMap(cacheAt(path), (cache) => cache.load).pipe(Effect.timeout("5 seconds"), Effect.either)
        assert.isTrue(Either.isRight(outcome) && Option.isNone(outcome.right), path)
      }
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK))
      } catch {
        // no reader waiting
      }
    }), 15_000)
})

describe("through NodeChutes.layer", () => {
  it.live("a world-writable state directory: the provider's credential fails with the fix in its message", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      writeFileSync(
        join(stateDir, "auth-profiles.json"),
        JSON.stringify({ version: 1, profiles: { "chutes:default": { type: "api_key", provider: "chutes", key: "cpk_x" } } }),
        { mode: 0o600 }
      )
      chmodSync(stateDir, 0o777)
      const error = yield* Effect.flip(Effect.flatMap(ChutesProvider.ChutesProvider, (provider) => provider.credential)).pipe(
        Effect.provide(NodeChutes.layer({ settings: { stateDir } })),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      assert.instanceOf(error, CredentialsError)
      assert.strictEqual(error.reason, "Store")
      assert.include(error.message, "world-writable")
      assert.include(error.message, `chmod 700 ${stateDir}`)
      assert.isFalse(existsSync(join(stateDir, "auth-profiles.json.lock")))
    }))
})
