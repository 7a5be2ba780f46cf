/**
 * The auth profile store against hostile or broken surroundings, with real files: a state directory someone else can
 * write to, a store that is a link, a FIFO or huge, an entry nested thousands of levels deep, a store edited by hand
 * during an update, a lock that proper-lockfile never clears, and a sign-in that would replace a profile of another
 * kind. Tests run as root in CI; mode checks work there, and root can `chown` a directory to another uid.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { execFileSync } from "node:child_process"
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import { StoreError } from "../src/ChutesError.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as NodeChutes from "../src/node/NodeChutes.js"
import * as NodeFileLock from "../src/node/NodeFileLock.js"
import * as NodePrivateFiles from "../src/node/NodePrivateFiles.js"
import * as PrivateFiles from "../src/PrivateFiles.js"
import { portableFiles } from "./support/nodeFiles.js"

const isRoot = process.getuid?.() === 0

const alice: AuthProfileStore.OAuthProfile = {
  type: "oauth",
  provider: "chutes",
  access: "cak_alice_access_0123456789",
  refresh: "crt_alice_refresh_0123456789",
  expires: 1760000000000,
  email: "alice"
}
const apiKey: AuthProfileStore.ApiKeyProfile = { type: "api_key", provider: "chutes", key: "cpk_default_key_0123" }
const example = { version: 1, profiles: { "chutes:alice": alice, "chutes:default": apiKey } }

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "chutes-hardening-"))
  chmodSync(dir, 0o700)
  return dir
}
const storePath = (): string => join(tempDir(), "auth-profiles.json")
const writeJson = (path: string, value: unknown): void =>
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 })
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"))

const fileStore = (path: string, options: Omit<AuthProfileStore.FileOptions, "path"> = {}) =>
  AuthProfileStore.makeFile(path, options).pipe(Effect.provide(portableFiles))

/** Runs `effect` with its log lines collected into `lines`. */
const logsInto = (lines: Array<string>) =>
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void lines.push(String(message)))))

const storeError = (error: unknown, reason: StoreError["reason"]): StoreError => {
  assert.instanceOf(error, StoreError)
  if (!(error instanceof StoreError)) throw error
  assert.strictEqual(error.reason, reason, error.message)
  return error
}

/** Every operation of the store fails with `reason`; `f` of `modify` never runs. */
const everyOperationFails = (store: AuthProfileStore.Service, reason: StoreError["reason"]) =>
  Effect.gen(function*() {
    let called = false
    const errors: Array<StoreError> = []
    for (
      const attempt of [
        store.load,
        store.upsert("chutes:alice", alice),
        store.remove("chutes:default"),
        store.modify(() => Effect.sync(() => (called = true)).pipe(Effect.as([undefined, []] as const)))
      ]
    ) {
      // Either, not flip: a success must not print a whole store (one of them holds 5 MiB) in the failure.
      const outcome = yield* Effect.either(attempt)
      if (Either.isRight(outcome)) return assert.fail(`an operation succeeded instead of failing with ${reason}`)
      errors.push(storeError(outcome.left, reason))
    }
    assert.isFalse(called, "f must not run")
    return errors
  })

describe("the state directory and the store must be the user's own", () => {
  it.live("a world-writable state directory: every operation is Unsafe, says `chmod 700 <dir>`, writes nothing", () =>
    Effect.gen(function*() {
      const path = storePath()
      const dir = dirname(path)
      writeJson(path, example)
      const bytes = readFileSync(path)
      chmodSync(dir, 0o777)
      const errors = yield* everyOperationFails(yield* fileStore(path), "Unsafe")
      for (const error of errors) {
        assert.include(error.message, `Refusing to use the auth profile store ${path}: The directory ${dir} is world-writable`)
        assert.include(error.message, "world-writable")
        assert.include(error.message, `chmod 700 ${dir}`)
      }
      assert.isTrue(readFileSync(path).equals(bytes))
      assert.deepStrictEqual(readdirSync(dir), ["auth-profiles.json"], "no lock, no temp file")
    }))

  it.live("a group-writable one is refused with the opt-in named; allowed by the option or CHUTES_ALLOW_GROUP_WRITABLE=1", () =>
    Effect.gen(function*() {
      const path = storePath()
      const dir = dirname(path)
      writeJson(path, example)
      chmodSync(dir, 0o2770) // a Kubernetes fsGroup volume: group-writable, setgid
      const [error] = yield* everyOperationFails(yield* fileStore(path), "Unsafe")
      assert.include(error?.message, "group-writable")
      assert.include(error?.message, "CHUTES_ALLOW_GROUP_WRITABLE=1")
      const allowed = yield* fileStore(path, { allowGroupWritable: true })
      yield* allowed.upsert("chutes:bob", apiKey)
      assert.deepStrictEqual(Object.keys((readJson(path) as typeof example).profiles), ["chutes:alice", "chutes:default", "chutes:bob"])
      // The same through the settings, from the environment.
      const fromEnv = yield* AuthProfileStore.AuthProfileStore.pipe(
        Effect.provide(AuthProfileStore.layerFile({ path }).pipe(
          Layer.provide(Layer.merge(ChutesSettings.layerConfig(), portableFiles))
        )),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CHUTES_ALLOW_GROUP_WRITABLE", "1"]])))
      )
      assert.strictEqual((yield* fromEnv.load).profiles.size, 3)
      const withoutEnv = yield* AuthProfileStore.AuthProfileStore.pipe(
        Effect.provide(AuthProfileStore.layerFile({ path }).pipe(
          Layer.provide(Layer.merge(ChutesSettings.layerConfig(), portableFiles))
        )),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      storeError(yield* Effect.flip(withoutEnv.load), "Unsafe")
    }))

  it.live.skipIf(!isRoot)("a state directory owned by another user is refused (root chowns it to uid 65534)", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, example)
      chownSync(dirname(path), 65534, 65534)
      const [error] = yield* everyOperationFails(yield* fileStore(path), "Unsafe")
      assert.include(error?.message, "owned by uid 65534")
    }))

  it.live("a store that is a symbolic link is refused, not followed (nor written through)", () =>
    Effect.gen(function*() {
      const path = storePath()
      const elsewhere = join(tempDir(), "elsewhere.json")
      writeJson(elsewhere, example)
      const bytes = readFileSync(elsewhere)
      symlinkSync(elsewhere, path)
      const [error] = yield* everyOperationFails(yield* fileStore(path), "Unsafe")
      assert.include(error?.message, "symbolic link")
      assert.isTrue(readFileSync(elsewhere).equals(bytes))
    }))

  it.live("a store that is a FIFO is refused at once; the old read hung", () =>
    Effect.gen(function*() {
      const path = storePath()
      execFileSync("mkfifo", ["-m", "600", path])
      const outcome = yield* Effect.flip(Effect.flatMap(fileStore(path), (store) => store.load)).pipe(
        Effect.timeout("5 seconds"),
        Effect.either,
        // A reader stuck in open(2) (the old code) gets its end of file when a writer comes and goes.
        Effect.ensuring(Effect.sync(() => {
          try {
            closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK))
          } catch {
            // no reader waiting
          }
        }))
      )
      assert.isTrue(Either.isRight(outcome), "answered within 5 s")
      if (Either.isRight(outcome)) assert.include(storeError(outcome.right, "Unsafe").message, "FIFO")
    }), 15_000)

  it.live("a store over 4 MiB is Corrupt and not read: a valid but huge store is never loaded", () =>
    Effect.gen(function*() {
      const path = storePath()
      const huge = { ...example, profiles: { ...example.profiles, "other:pad": { provider: "other", pad: "x".repeat(5 * 1024 * 1024) } } }
      writeJson(path, huge)
      const [error] = yield* everyOperationFails(yield* fileStore(path), "Corrupt")
      assert.include(error?.message, "over the cap of 4 MiB")
    }))
})

describe("the mode of a new store is set on the open file, never by path", () => {
  it.live("a write through NodeChutes.layerPlatform makes no chmod by path; the store is 0600 under umask 0", () =>
    Effect.gen(function*() {
      const path = storePath()
      const calls: Array<string> = []
      // The platform's FileSystem, recording every chmod by path.
      const recording = Layer.effect(
        FileSystem.FileSystem,
        Effect.map(FileSystem.FileSystem, (fs) => ({
          ...fs,
          chmod: (file: string, m: number) => Effect.zipRight(Effect.sync(() => calls.push(file)), fs.chmod(file, m))
        }))
      ).pipe(Layer.provide(NodeContext.layer))
      const store = yield* AuthProfileStore.makeFile(path).pipe(
        Effect.provide(Layer.merge(NodeChutes.layerPlatform, recording))
      )
      const previous = process.umask(0)
      try {
        yield* store.upsert("chutes:alice", alice)
      } finally {
        process.umask(previous)
      }
      assert.deepStrictEqual(calls, [])
      assert.strictEqual(statSync(path).mode & 0o777, 0o600)
    }))
})

/** A foreign entry nested `depth` levels deep, as another tool could write it (as text: stringify would overflow). */
const nestedText = (depth: number): string => `${"{\"next\":".repeat(depth)}"bottom"${"}".repeat(depth)}`
const nested = (depth: number): unknown => JSON.parse(nestedText(depth))

describe("no refresh token lost to a failed write: limits on load, a typed error on encode", () => {
  it.live("an entry nested 5,000 deep makes the store Corrupt on load, before anything else runs", () =>
    Effect.gen(function*() {
      const path = storePath()
      const text = `${JSON.stringify(example).slice(0, -2)},"other:deep":${nestedText(5000)}}}`
      writeFileSync(path, text, { mode: 0o600 })
      const [error] = yield* everyOperationFails(yield* fileStore(path), "Corrupt")
      assert.include(error?.message, `nested deeper than ${AuthProfileStore.MAX_DEPTH} levels`)
      assert.strictEqual(readFileSync(path, "utf8"), text)
      assert.isTrue(Either.isLeft(AuthProfileStore.decode(text, path)))
      assert.isTrue(Either.isRight(AuthProfileStore.decode(`{"version":1,"profiles":{"x":${nestedText(90)}}}`, path)))
    }))

  it("an encoder that overflows gives Corrupt, not a defect", () => {
    const set = Either.getOrThrow(AuthProfileStore.decode(JSON.stringify(example), "p"))
    const deep = AuthProfileStore.applyChanges(set, [])
    const overflowing = { ...deep, raw: { ...deep.raw, entries: [...deep.raw.entries, ["other:deep", nested(20_000)] as const] } }
    assert.throws(() => AuthProfileStore.encode(overflowing))
    const encoded = AuthProfileStore.encodeEither(overflowing, "p")
    assert.isTrue(Either.isLeft(encoded))
    if (Either.isLeft(encoded)) assert.strictEqual(encoded.left.reason, "Corrupt")
  })
})

describe("a number that JSON would write back changed", () => {
  // `1e400` is read as Infinity (written back as null), 12345678901234567890 as 12345678901234567168 (written back as
  // 12345678901234567000): rewriting the file would silently change another tool's data.
  const lossy = [
    ["an integer past 2^53", `"accountId":12345678901234567890`, `an integer past 2^53, which JSON may round, at profiles."openai:x".accountId`],
    ["a number past 1.8e308", `"expires":1e400`, `a number too large for JSON at profiles."openai:x".expires`]
  ] as const
  for (const [name, field, detail] of lossy) {
    it.live(`${name} in another tool's profile: the store reads, a write is refused (Corrupt), the bytes kept`, () =>
      Effect.gen(function*() {
        const path = storePath()
        const text = `${JSON.stringify(example).slice(0, -2)},"openai:x":{"provider":"openai",${field}}}}`
        writeFileSync(path, text, { mode: 0o600 })
        const store = yield* fileStore(path)
        const set = yield* store.load
        assert.isTrue(set.profiles.has("chutes:alice"), "reading still works")
        const error = storeError(
          yield* Effect.flip(store.upsert("chutes:alice", { ...alice, access: "cak_rotated_0002" })),
          "Corrupt"
        )
        assert.include(error.message, detail)
        assert.include(error.message, "not rewritten")
        assert.strictEqual(readFileSync(path, "utf8"), text)
      }))
  }
})

describe("a store edited during an update is re-checked under the lock right before the write", () => {
  const editDuring = (path: string, edit: () => void) =>
    Effect.flatMap(fileStore(path), (store) =>
      store.modify(() =>
        Effect.sync(() => {
          edit()
          const rotated = { ...alice, access: "cak_rotated_0001", refresh: "crt_rotated_0001" }
          return [undefined, [{ _tag: "Upsert", id: "chutes:alice", profile: rotated }]] as const
        })
      ))

  const broken: ReadonlyArray<readonly [string, string, string]> = [
    ["broken JSON", "{\"version\": 1, \"profiles\": {", "not valid JSON"],
    ["version 2", JSON.stringify({ version: 2, profiles: { "chutes:alice": { note: "a newer format" } } }), "unsupported version 2"]
  ]
  for (const [name, text, detail] of broken) {
    it.live(`the file turned into ${name} by hand is never written over: Corrupt, its bytes kept`, () =>
      Effect.gen(function*() {
        const path = storePath()
        writeJson(path, example)
        const error = storeError(yield* Effect.flip(editDuring(path, () => writeFileSync(path, text))), "Corrupt")
        assert.include(error.message, "changed while it was being updated")
        assert.include(error.message, detail)
        assert.strictEqual(readFileSync(path, "utf8"), text)
        assert.deepStrictEqual(readdirSync(dirname(path)), ["auth-profiles.json"], "no temp file, lock released")
      }))
  }

  it.live("a valid hand edit made meanwhile is kept, the changes applied on top, and a warning says so", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, example)
      const edited = { ...example, profiles: { ...example.profiles, "openai:default": { provider: "openai", key: "sk-1" } } }
      const logs: Array<string> = []
      yield* editDuring(path, () => writeJson(path, edited)).pipe(logsInto(logs))
      const after = readJson(path) as typeof edited
      assert.deepStrictEqual(after.profiles["openai:default"], { provider: "openai", key: "sk-1" })
      assert.strictEqual(after.profiles["chutes:alice"].access, "cak_rotated_0001")
      assert.isTrue(logs.some((line) => line.includes("changed while it was being updated")), logs.join("\n"))
    }))

  it.live("an edit between the re-read and the rename is noticed: the write starts over on the new content", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, example)
      const node = NodePrivateFiles.make()
      let edits = 0
      // The edit lands after the store was re-read and the temp file written: the last check before the rename sees it.
      const racing = Layer.succeed(PrivateFiles.PrivateFiles, {
        ...node,
        writeFileAtomic: (file, content, options) =>
          Effect.zipRight(
            Effect.sync(() => {
              if (edits++ === 0) writeJson(path, { ...example, version: 2 })
            }),
            node.writeFileAtomic(file, content, options)
          )
      })
      const store = yield* AuthProfileStore.makeFile(path).pipe(Effect.provide(Layer.mergeAll(racing, NodeContext.layer, NodeFileLock.layer)))
      const error = storeError(yield* Effect.flip(store.upsert("chutes:bob", apiKey)), "Corrupt")
      assert.include(error.message, "unsupported version 2")
      assert.strictEqual((readJson(path) as { version: number }).version, 2)
      assert.strictEqual(edits, 1, "the write noticed the change; the re-read then found a store it must not write over")
    }))

  it.live("a valid edit between the re-read and the rename: the write starts over and both land", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, example)
      const node = NodePrivateFiles.make()
      let edits = 0
      const edited = { ...example, profiles: { ...example.profiles, "openai:default": { provider: "openai", key: "sk-1" } } }
      const racing = Layer.succeed(PrivateFiles.PrivateFiles, {
        ...node,
        writeFileAtomic: (file, content, options) =>
          Effect.zipRight(
            Effect.sync(() => {
              if (edits++ === 0) writeJson(path, edited)
            }),
            node.writeFileAtomic(file, content, options)
          )
      })
      const store = yield* AuthProfileStore.makeFile(path).pipe(Effect.provide(Layer.mergeAll(racing, NodeContext.layer, NodeFileLock.layer)))
      yield* store.upsert("chutes:bob", apiKey)
      assert.deepStrictEqual(readJson(path), { ...edited, profiles: { ...edited.profiles, "chutes:bob": apiKey } })
      assert.strictEqual(edits, 2)
    }))
})

describe("a lock that proper-lockfile never clears is recovered, or named with the command that removes it", () => {
  it.live("a lock directory dated in the future is taken over once it stays unchanged for lockStale", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, example)
      mkdirSync(`${path}.lock`)
      const future = new Date(Date.now() + 3600_000)
      utimesSync(`${path}.lock`, future, future)
      const logs: Array<string> = []
      const store = yield* fileStore(path, { lockStale: "2 seconds", lockTimeout: "8 seconds" })
      const started = Date.now()
      yield* store.upsert("chutes:bob", apiKey).pipe(logsInto(logs))
      const took = Date.now() - started
      assert.isAtLeast(took, 1900, "not before it stayed unchanged for lockStale")
      assert.isBelow(took, 5000)
      assert.include(Object.keys((readJson(path) as typeof example).profiles), "chutes:bob")
      assert.isFalse(existsSync(`${path}.lock`))
      assert.isTrue(logs.some((line) => line.includes("removed the abandoned lock") && line.includes("in the future")))
    }), 15_000)

  it.live("a plain file at the lock path is removed once stale: at once when old, after lockStale when fresh", () =>
    Effect.gen(function*() {
      for (const age of [60_000, 0]) {
        const path = storePath()
        writeFileSync(`${path}.lock`, "")
        const then = new Date(Date.now() - age)
        utimesSync(`${path}.lock`, then, then)
        const store = yield* fileStore(path, { lockStale: "2 seconds", lockTimeout: "8 seconds" })
        const started = Date.now()
        const logs: Array<string> = []
        yield* store.upsert("chutes:bob", apiKey).pipe(logsInto(logs))
        const took = Date.now() - started
        if (age > 0) assert.isBelow(took, 1000, "an old one at once")
        else assert.isAtLeast(took, 1900, "a fresh one after lockStale")
        assert.deepStrictEqual(readJson(path), { version: 1, profiles: { "chutes:bob": apiKey } })
        assert.isFalse(existsSync(`${path}.lock`))
        assert.isTrue(logs.some((line) => line.includes("a file, not a lock directory")))
      }
    }), 20_000)

  it.live("a stale lock directory with files in it is not proper-lockfile's: left alone, and the error says what to remove", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, example)
      mkdirSync(`${path}.lock`)
      writeFileSync(join(`${path}.lock`, "something"), "")
      const old = new Date(Date.now() - 60_000)
      utimesSync(`${path}.lock`, old, old)
      const store = yield* fileStore(path, { lockStale: "2 seconds", lockTimeout: "3 seconds" })
      const error = yield* Effect.flip(store.upsert("chutes:bob", apiKey))
      assert.instanceOf(error, StoreError)
      assert.include(error.message, `rm -r ${path}.lock`)
      assert.isTrue(existsSync(join(`${path}.lock`, "something")))
    }), 10_000)

  it.live("a held lock that times out says what to remove if no process holds it", () =>
    Effect.gen(function*() {
      const path = storePath()
      mkdirSync(`${path}.lock`)
      const store = yield* fileStore(path, { lockTimeout: "300 millis" })
      const error = storeError(yield* Effect.flip(store.upsert("chutes:bob", apiKey)), "Locked")
      assert.include(error.message, `If no effect-chutes or OpenClaw process is running, remove it: rm -r ${path}.lock`)
    }))
})

describe("a profile of another kind is never replaced without saying so", () => {
  it.live("an OAuth sign-in over an API key (and back) logs a warning naming both; same kind, no warning", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, example)
      const store = yield* fileStore(path)
      const logs: Array<string> = []
      yield* store.upsert("chutes:default", alice).pipe(logsInto(logs))
      assert.deepStrictEqual(logs, [
        "auth profile store: profile \"chutes:default\" held an API key; it is replaced by an OAuth sign-in"
      ])
      logs.length = 0
      yield* store.upsert("chutes:default", apiKey).pipe(logsInto(logs))
      assert.deepStrictEqual(logs, [
        "auth profile store: profile \"chutes:default\" held an OAuth sign-in; it is replaced by an API key"
      ])
      logs.length = 0
      yield* store.upsert("chutes:alice", { ...alice, access: "cak_new" }).pipe(logsInto(logs))
      assert.deepStrictEqual(logs, [])
    }))

  it.live("a sign-in whose user info failed lands beside a stored API key, not over it", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, { version: 1, profiles: { "chutes:default": apiKey } })
      const store = yield* fileStore(path)
      const logs: Array<string> = []
      // What `AuthProfileStore.fromSignIn` makes when `/idp/userinfo` failed: no user name.
      yield* store.upsert(AuthProfileStore.profileIdFor({ type: "oauth" }), { ...alice, email: undefined }).pipe(logsInto(logs))
      const profiles = (readJson(path) as { profiles: Record<string, unknown> }).profiles
      assert.deepStrictEqual(Object.keys(profiles), ["chutes:default", "chutes:oauth"])
      assert.deepStrictEqual(profiles["chutes:default"], apiKey)
      assert.deepStrictEqual(logs, [])
    }))

  it("the OAuth fallback id is chutes:oauth, never the API key's chutes:default", () => {
    assert.strictEqual(AuthProfileStore.profileIdFor({ type: "oauth" }), AuthProfileStore.OAUTH_FALLBACK_PROFILE_ID)
    assert.strictEqual(AuthProfileStore.OAUTH_FALLBACK_PROFILE_ID, "chutes:oauth")
    assert.strictEqual(AuthProfileStore.profileIdFor({ type: "api_key" }), "chutes:default")
  })
})
