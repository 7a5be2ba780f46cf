import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { spawnSync } from "node:child_process"
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  utimesSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { inspect } from "node:util"
import * as Logger from "effect/Logger"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import { StoreError } from "../src/ChutesError.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import { lockHolder } from "./support/lockHolder.js"
import { portableFiles } from "./support/nodeFiles.js"

const ACCESS = "cak_alice_access_0123456789abcdef"
const REFRESH = "crt_alice_refresh_0123456789abcdef"
const KEY = "cpk_default_key_0123456789abcdef"
const OPENAI_KEY = "sk-openai-0123456789abcdef"
const SECRETS = [ACCESS, REFRESH, KEY, OPENAI_KEY]

const alice: AuthProfileStore.OAuthProfile = {
  type: "oauth",
  provider: "chutes",
  access: ACCESS,
  refresh: REFRESH,
  expires: 1760000000000,
  email: "alice",
  clientId: "cid_test",
  accountId: "sub-alice"
}
const apiKey: AuthProfileStore.ApiKeyProfile = { type: "api_key", provider: "chutes", key: KEY }

/** The example store of docs/oauth.md ("Auth profiles on disk"). */
const specExample = { version: 1, profiles: { "chutes:alice": alice, "chutes:default": apiKey } }

/** A store shared with OpenClaw: other providers, top-level keys and fields this SDK does not know. */
const sharedStore = {
  version: 1,
  profiles: {
    "openai:default": { type: "api_key", provider: "openai", key: OPENAI_KEY },
    "chutes:alice": { ...alice, note: "kept", nested: { deep: [1, 2, { x: null }] } },
    "anthropic:work": { type: "token", provider: "anthropic", token: "tok", extra: true },
    "chutes:default": apiKey
  },
  order: { chutes: ["chutes:alice", "chutes:default"] },
  lastGood: { openai: "openai:default" }
}

const tempDir = (): string => mkdtempSync(join(tmpdir(), "chutes-store-"))
const storePath = (): string => join(tempDir(), "auth-profiles.json")
const writeJson = (path: string, value: unknown, mode = 0o600): void => {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode })
  chmodSync(path, mode)
}
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"))
const mode = (path: string): number => statSync(path).mode & 0o777

const fileStore = (path: string, options: Omit<AuthProfileStore.FileOptions, "path"> = {}) =>
  AuthProfileStore.makeFile(path, options).pipe(Effect.provide(portableFiles))

const assertNoSecret = (error: unknown): void => {
  const texts = [String(error), JSON.stringify(error)]
  if (error instanceof Error) texts.push(error.message)
  for (const text of texts) {
    for (const secret of SECRETS) assert.notInclude(text, secret)
    assert.notInclude(text, "SECRET")
  }
}

const assertStoreError = (error: unknown, reason: StoreError["reason"], path: string): StoreError => {
  assert.instanceOf(error, StoreError)
  if (!(error instanceof StoreError)) throw error
  assert.strictEqual(error.reason, reason, error.message)
  assert.strictEqual(error.path, path)
  assert.include(error.message, path)
  assertNoSecret(error)
  return error
}

/** Increments `expires` of chutes:alice under `modify`, yielding in between so that unserialised calls would race. */
const increment = (store: AuthProfileStore.Service) =>
  store.modify((current) =>
    Effect.gen(function*() {
      const profile = current.profiles.get("chutes:alice")
      if (profile === undefined || !AuthProfileStore.isOAuth(profile)) return yield* Effect.die("alice missing")
      yield* Effect.sleep("1 millis")
      const next = { ...profile, expires: profile.expires + 1 }
      return [profile.expires, [{ _tag: "Upsert", id: "chutes:alice", profile: next }]] as const
    })
  )


/** A logger that keeps the lines for the test to check, instead of printing them. */
const recordLogs = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => {
      lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
  )

describe("the document (pure)", () => {
  it("profile ids follow the documented rule (docs/oauth.md)", () => {
    assert.strictEqual(AuthProfileStore.profileIdFor({ type: "oauth", username: "alice" }), "chutes:alice")
    // An OAuth sign-in without a usable user name never takes the API key's id.
    assert.strictEqual(AuthProfileStore.profileIdFor({ type: "oauth", username: "  " }), "chutes:oauth")
    assert.strictEqual(AuthProfileStore.profileIdFor({ type: "oauth", username: "..." }), "chutes:oauth")
    assert.strictEqual(AuthProfileStore.profileIdFor({ type: "oauth" }), "chutes:oauth")
    assert.strictEqual(AuthProfileStore.profileIdFor({ type: "api_key" }), "chutes:default")
  })

  const tiny: AuthProfileStore.OAuthProfile = {
    type: "oauth",
    provider: "chutes",
    access: "a",
    refresh: "r",
    expires: 1
  }

  it("an upsert replaces known fields in place, keeps unknown ones, drops known ones the new profile lacks", () => {
    const set = AuthProfileStore.fromDocument(sharedStore, "x")
    assert.isTrue(set._tag === "Right")
    if (set._tag !== "Right") return
    const next = AuthProfileStore.applyChanges(set.right, [
      { _tag: "Upsert", id: "chutes:alice", profile: { ...alice, access: "cak_new", email: undefined } },
      // switching type must not leave the OAuth tokens behind
      { _tag: "Upsert", id: "chutes:default", profile: tiny }
    ])
    const profiles = AuthProfileStore.toDocument(next)["profiles"] as Record<string, Record<string, unknown>>
    assert.deepStrictEqual(Object.keys(profiles["chutes:alice"] ?? {}), [
      "type",
      "provider",
      "access",
      "refresh",
      "expires",
      "clientId",
      "accountId",
      "note",
      "nested"
    ])
    assert.strictEqual(profiles["chutes:alice"]?.["access"], "cak_new")
    assert.deepStrictEqual(profiles["chutes:default"], tiny)
  })

  it.effect("tokens and keys stay plain strings for code, but printing what the store hands out shows none of them", () =>
    Effect.gen(function*() {
      const store = yield* AuthProfileStore.makeMemory(specExample)
      const set = yield* store.load
      const profile = set.profiles.get("chutes:alice")
      assert.strictEqual(profile?.type === "oauth" ? profile.access : undefined, ACCESS, "read as a string")
      const lines: Array<string> = []
      yield* Effect.log("loaded", profile, set.profiles.get("chutes:default")).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void lines.push(String(message)))))
      )
      const signedIn = AuthProfileStore.fromSignIn({
        tokens: { access: Redacted.make(ACCESS), refresh: Redacted.make(REFRESH), expires: 1 },
        client: { clientId: "cid_test", clientSecret: Redacted.make("csc_" + "SignInSecret".repeat(3)) },
        userInfo: { username: "alice" }
      })
      const printed = [
        inspect(set, { depth: 12 }),
        inspect(set.profiles, { depth: 12 }),
        JSON.stringify(profile),
        JSON.stringify([...set.profiles.values()]),
        inspect(signedIn, { depth: 12 }),
        JSON.stringify(signedIn),
        ...lines
      ]
      for (const text of printed) {
        for (const secret of [ACCESS, REFRESH, KEY]) assert.notInclude(text, secret.slice(0, 16), text.slice(0, 200))
      }
      assert.include(inspect(profile), "access: '<redacted>'")
      // The store writes the real values: field by field, never through toJSON.
      yield* store.upsert("chutes:alice", { ...signedIn.profile, refresh: `${REFRESH}2` })
      const read = (yield* store.load).profiles.get("chutes:alice")
      assert.strictEqual(read?.type === "oauth" ? read.refresh : undefined, `${REFRESH}2`)
      // A memory store made from a document of loaded (printed-safe) API key profiles keeps the keys.
      const copy = yield* AuthProfileStore.makeMemory({ version: 1, profiles: { "chutes:default": set.profiles.get("chutes:default") } })
      const key = (yield* copy.load).profiles.get("chutes:default")
      assert.strictEqual(key?.type === "api_key" ? key.key : undefined, KEY)
    }))

  it("the client secret is stored as a string and read back Redacted: printing a loaded profile shows no secret", () => {
    const secret = "csc_" + "AliceAppSecret0123456789".repeat(2)
    const document = { version: 1, profiles: { "chutes:alice": { ...alice, clientSecret: secret, note: "kept" } } }
    const set = AuthProfileStore.fromDocument(document, "x")
    assert.isTrue(set._tag === "Right")
    if (set._tag !== "Right") return
    const profile = set.right.profiles.get("chutes:alice")
    assert.isTrue(profile !== undefined && AuthProfileStore.isOAuth(profile))
    if (profile === undefined || !AuthProfileStore.isOAuth(profile)) return
    assert.isTrue(profile.clientSecret !== undefined && Redacted.isRedacted(profile.clientSecret))
    assert.strictEqual(profile.clientSecret && Redacted.value(profile.clientSecret), secret)
    for (const text of [inspect(set.right.profiles, { depth: 10 }), JSON.stringify(profile), String(profile.clientSecret)]) {
      assert.notInclude(text, secret)
      assert.notInclude(text, secret.slice(4, 16))
    }
    // Written back as the plain string, beside the client id; an upsert without a secret drops the stale one.
    const rotated = AuthProfileStore.applyChanges(set.right, [
      { _tag: "Upsert", id: "chutes:alice", profile: { ...profile, clientSecret: Redacted.make(`${secret}x`) } }
    ])
    const written = JSON.parse(AuthProfileStore.encode(rotated)).profiles["chutes:alice"]
    assert.strictEqual(written.clientSecret, `${secret}x`)
    assert.strictEqual(written.note, "kept")
    const { clientSecret: _dropped, ...withoutSecret } = profile
    const dropped = AuthProfileStore.applyChanges(rotated, [{ _tag: "Upsert", id: "chutes:alice", profile: withoutSecret }])
    assert.notProperty(JSON.parse(AuthProfileStore.encode(dropped)).profiles["chutes:alice"], "clientSecret")
  })

  it("an id like __proto__ stays a plain key", () => {
    const set = AuthProfileStore.applyChanges(AuthProfileStore.empty, [
      { _tag: "Upsert", id: "__proto__", profile: apiKey }
    ])
    const text = AuthProfileStore.encode(set)
    assert.deepStrictEqual(Object.keys((JSON.parse(text) as { profiles: object }).profiles), ["__proto__"])
  })

  it("a chutes entry whose type is not a string is kept as another entry, not thrown on", () => {
    const text = JSON.stringify({
      version: 1,
      profiles: {
        "chutes:odd": { type: { toString: false }, provider: "chutes", key: "cpk_x" },
        "chutes:default": { type: "api_key", provider: "chutes", key: "cpk_y" }
      }
    })
    const set = Either.getOrThrow(AuthProfileStore.decode(text, "/store.json"))
    assert.deepStrictEqual([...set.profiles.keys()], ["chutes:default"])
    assert.deepStrictEqual(set.others, ["chutes:odd"])
    assert.strictEqual(AuthProfileStore.encode(set), `${JSON.stringify(JSON.parse(text), null, 2)}\n`)
  })
})

describe("file store: preservation", () => {
  it.live("round trip of the documented example store", () =>
    Effect.gen(function*() {
      const path = storePath()
      const store = yield* fileStore(path)
      assert.strictEqual(store.location, path)
      const before = yield* store.load
      assert.isFalse(before.exists)
      assert.strictEqual(before.profiles.size, 0)
      yield* store.upsert("chutes:alice", alice)
      yield* store.upsert("chutes:default", apiKey)
      assert.deepStrictEqual(readJson(path), specExample)
      const loaded = yield* store.load
      assert.isTrue(loaded.exists)
      assert.deepStrictEqual([...loaded.profiles], [["chutes:alice", alice], ["chutes:default", apiKey]])
      assert.deepStrictEqual(loaded.others, [])
      // and the example written by hand loads the same
      writeJson(path, specExample)
      assert.deepStrictEqual([...(yield* store.load).profiles], [["chutes:alice", alice], ["chutes:default", apiKey]])
    }))

  it.live("other providers, unknown top-level keys and unknown fields survive upsert and remove", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, sharedStore)
      const store = yield* fileStore(path)
      const loaded = yield* store.load
      assert.deepStrictEqual([...loaded.profiles.keys()], ["chutes:alice", "chutes:default"])
      assert.deepStrictEqual(loaded.others, ["openai:default", "anthropic:work"])

      const refreshed = { ...alice, access: "cak_refreshed_01", refresh: "crt_refreshed_01", expires: 1770000000000 }
      yield* store.upsert("chutes:alice", refreshed)
      const expected = structuredClone(sharedStore)
      expected.profiles["chutes:alice"] = { ...expected.profiles["chutes:alice"], ...refreshed }
      assert.deepStrictEqual(readJson(path), expected)
      const doc = readJson(path) as typeof sharedStore
      assert.deepStrictEqual(Object.keys(doc), ["version", "profiles", "order", "lastGood"])
      assert.deepStrictEqual(Object.keys(doc.profiles), [
        "openai:default",
        "chutes:alice",
        "anthropic:work",
        "chutes:default"
      ])

      assert.isTrue(yield* store.remove("chutes:default"))
      const { "chutes:default": _removed, ...rest } = expected.profiles
      assert.deepStrictEqual(readJson(path), { ...expected, profiles: rest })

      // other providers' profiles are never removed; an absent id is no change
      const bytes = readFileSync(path)
      assert.isFalse(yield* store.remove("openai:default"))
      assert.isFalse(yield* store.remove("chutes:nobody"))
      assert.isTrue(readFileSync(path).equals(bytes))

      // a new id is appended
      yield* store.upsert("chutes:bob", apiKey)
      assert.deepStrictEqual(Object.keys((readJson(path) as typeof sharedStore).profiles), [
        "openai:default",
        "chutes:alice",
        "anthropic:work",
        "chutes:bob"
      ])
    }))

  it.live("a chutes profile that does not decode is kept verbatim as an other entry", () =>
    Effect.gen(function*() {
      const path = storePath()
      const broken = { type: "oauth", provider: "chutes", access: "cak_x", expires: "soon", custom: 1 }
      const unknownType = { type: "token", provider: "chutes", token: "t" }
      writeJson(path, { version: 1, profiles: { "chutes:broken": broken, "chutes:token": unknownType } })
      const store = yield* fileStore(path)
      const loaded = yield* store.load
      assert.strictEqual(loaded.profiles.size, 0)
      assert.deepStrictEqual(loaded.others, ["chutes:broken", "chutes:token"])
      yield* store.upsert("chutes:default", apiKey)
      assert.deepStrictEqual(readJson(path), {
        version: 1,
        profiles: { "chutes:broken": broken, "chutes:token": unknownType, "chutes:default": apiKey }
      })
      // a broken chutes entry can be removed (logout), unlike other providers'
      assert.isTrue(yield* store.remove("chutes:broken"))
      const ids = Object.keys((readJson(path) as { profiles: object }).profiles)
      assert.deepStrictEqual(ids, ["chutes:token", "chutes:default"])
    }))
})

describe("file store: a corrupt store is never written over", () => {
  const variants: ReadonlyArray<readonly [string, string, string]> = [
    ["garbage text", `{"version": 1, "profiles": {"chutes:x": {"access": "cak_SECRET_0123456" ,, }`, "not valid JSON"],
    ["a JSON array", `[{"access": "cak_SECRET_0123456789"}]`, "not a JSON object"],
    ["profiles not an object", `{"version": 1, "profiles": ["cak_SECRET_0123456789"]}`, `"profiles"`],
    ["no version", `{"profiles": {"chutes:x": {"type": "api_key", "key": "cpk_SECRET_01234567"}}}`, "version"],
    ["version as a string", `{"version": "cak_SECRET_0123456789", "profiles": {}}`, "not a number"],
    ["version 2", `{"version": 2, "profiles": {"chutes:x": {"key": "cpk_SECRET_012345"}}}`, "unsupported version 2"],
    ["an empty file", "", "empty"]
  ]

  for (const [name, text, detail] of variants) {
    it.live(name, () =>
      Effect.gen(function*() {
        const path = storePath()
        writeFileSync(path, text, { mode: 0o644 })
        const past = new Date(Date.now() - 60_000)
        utimesSync(path, past, past)
        const bytes = readFileSync(path)
        const mtime = statSync(path).mtimeMs
        const store = yield* fileStore(path)
        let called = false
        const attempts = [
          store.load,
          store.upsert("chutes:alice", alice),
          store.remove("chutes:x"),
          store.modify(() => Effect.sync(() => (called = true)).pipe(Effect.as([undefined, []] as const)))
        ]
        for (const attempt of attempts) {
          const error = assertStoreError(yield* Effect.flip(attempt), "Corrupt", path)
          assert.include(error.detail ?? "", detail)
        }
        assert.isFalse(called, "f must not run on a corrupt store")
        assert.isTrue(readFileSync(path).equals(bytes), "bytes unchanged")
        assert.strictEqual(statSync(path).mtimeMs, mtime, "mtime unchanged")
        assert.strictEqual(mode(path), 0o644, "mode unchanged")
        assert.deepStrictEqual(readdirSync(dirname(path)), ["auth-profiles.json"], "no temp file, lock released")
      }))
  }
})

describe("file store: modes", () => {
  it.live("the state dir is created 0700 and the file is 0600 after every write", () =>
    Effect.gen(function*() {
      const dir = join(tempDir(), "nested", "state")
      const path = join(dir, "auth-profiles.json")
      const store = yield* fileStore(path)
      yield* store.upsert("chutes:alice", alice)
      assert.strictEqual(mode(dir), 0o700)
      assert.strictEqual(mode(path), 0o600)
      for (let i = 0; i < 3; i++) {
        yield* store.upsert("chutes:alice", { ...alice, expires: alice.expires + i })
        assert.strictEqual(mode(path), 0o600)
        assert.strictEqual(mode(dir), 0o700)
      }
      yield* store.remove("chutes:alice")
      assert.strictEqual(mode(path), 0o600)
    }))

  it.live("a file that was 0644 is 0600 after the next write", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, specExample, 0o644)
      assert.strictEqual(mode(path), 0o644)
      const store = yield* fileStore(path)
      yield* store.upsert("chutes:default", { ...apiKey, key: "cpk_rotated_0001" })
      assert.strictEqual(mode(path), 0o600)
      yield* store.upsert("chutes:default", apiKey)
      assert.strictEqual(mode(path), 0o600)
      assert.deepStrictEqual(readJson(path), specExample)
    }))

  it.live.skipIf(process.getuid?.() === 0)("an unwritable state dir fails with Permission", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const path = join(dir, "auth-profiles.json")
      chmodSync(dir, 0o500)
      const store = yield* fileStore(path)
      assertStoreError(yield* Effect.flip(store.upsert("chutes:alice", alice)), "Permission", path)
      chmodSync(dir, 0o700)
    }))
})

describe("file store: modify", () => {
  it.live("applies f's changes and returns its result", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, sharedStore)
      const store = yield* fileStore(path)
      const result = yield* store.modify((current) =>
        Effect.succeed([current.profiles.size, [
          { _tag: "Remove", id: "chutes:default" },
          { _tag: "Upsert", id: "chutes:bob", profile: { ...alice, email: "bob" } }
        ]] as const)
      )
      assert.strictEqual(result, 2)
      const loaded = yield* store.load
      assert.deepStrictEqual([...loaded.profiles.keys()], ["chutes:alice", "chutes:bob"])
      assert.deepStrictEqual(loaded.others, ["openai:default", "anthropic:work"])
      assert.isFalse(existsSync(`${path}.lock`), "lock released")
    }))

  it.live("f failing writes nothing and releases the lock", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, specExample)
      const bytes = readFileSync(path)
      const store = yield* fileStore(path)
      const error = yield* Effect.flip(store.modify(() => Effect.fail("refresh failed" as const)))
      assert.strictEqual(error, "refresh failed")
      assert.isTrue(readFileSync(path).equals(bytes))
      assert.isFalse(existsSync(`${path}.lock`))
      // no changes: no file is created
      const fresh = storePath()
      const other = yield* fileStore(fresh)
      assert.strictEqual(yield* other.modify(() => Effect.succeed([7, []] as const)), 7)
      assert.isFalse(existsSync(fresh))
    }))

  it.live("interrupting f writes nothing and releases the lock", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, specExample)
      const bytes = readFileSync(path)
      const store = yield* fileStore(path)
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(store.modify(() =>
        Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never))
      ))
      yield* Deferred.await(started)
      assert.isTrue(existsSync(`${path}.lock`), "held while f runs")
      yield* Fiber.interrupt(fiber)
      assert.isFalse(existsSync(`${path}.lock`))
      assert.isTrue(readFileSync(path).equals(bytes))
      yield* store.upsert("chutes:bob", apiKey)
    }))

  it.live("20 concurrent modify calls in one process all land, also across two store instances", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, specExample)
      const one = yield* fileStore(path)
      const two = yield* fileStore(path)
      const seen = yield* Effect.all(
        Array.from({ length: 20 }, (_, i) => increment(i % 2 === 0 ? one : two)),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual([...seen].sort(), Array.from({ length: 20 }, (_, i) => alice.expires + i))
      const profile = (yield* one.load).profiles.get("chutes:alice")
      assert.strictEqual(profile?.type === "oauth" ? profile.expires : undefined, alice.expires + 20)
      assert.deepStrictEqual(readdirSync(dirname(path)), ["auth-profiles.json"])
    }))

  it.live("a lock taken over while f runs: the changes are re-applied to the latest store once it is free", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, specExample)
      const store = yield* fileStore(path)
      const logs: Array<string> = []
      const theirs = { ...specExample, profiles: { ...specExample.profiles, "chutes:theirs": apiKey } }
      yield* store.modify(() =>
        Effect.sync(() => {
          // another process decided our lock was stale, removed it, took its own and wrote
          renameSync(`${path}.lock`, join(dirname(path), "old-lock"))
          mkdirSync(`${path}.lock`)
          writeJson(path, theirs)
          setTimeout(() => rmdirSync(`${path}.lock`), 200)
          const rotated = { ...alice, access: "cak_rotated" }
          return [undefined, [{ _tag: "Upsert", id: "chutes:alice", profile: rotated }]] as const
        })
      ).pipe(Effect.provide(recordLogs(logs)))
      assert.isTrue(logs.some((line) => line.includes("lost the lock")), "the takeover is reported")
      assert.deepStrictEqual(readJson(path), {
        ...theirs,
        profiles: { ...theirs.profiles, "chutes:alice": { ...alice, access: "cak_rotated" } }
      })
      assert.isFalse(existsSync(`${path}.lock`))
    }))

  it.live("a lock taken over and never freed: Locked, nothing written, the new holder's lock left alone", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, specExample)
      const bytes = readFileSync(path)
      const store = yield* fileStore(path, { lockTimeout: "300 millis" })
      const logs: Array<string> = []
      const error = yield* Effect.flip(store.modify(() =>
        Effect.sync(() => {
          renameSync(`${path}.lock`, join(dirname(path), "old-lock"))
          mkdirSync(`${path}.lock`)
          return [undefined, [{ _tag: "Remove", id: "chutes:default" }]] as const
        })
      ).pipe(Effect.provide(recordLogs(logs))))
      assert.isTrue(logs.some((line) => line.includes("lost the lock")), "the takeover is reported")
      assertStoreError(error, "Locked", path)
      assert.isTrue(readFileSync(path).equals(bytes))
      assert.isTrue(existsSync(`${path}.lock`), "the new holder's lock is not removed by our release")
    }))
})

describe("file store: the cross-process lock", () => {
  it.live("a lock directory that vanishes while it is taken (a concurrent takeover) is retried, never an Io error", () =>
    Effect.gen(function*() {
      const path = storePath()
      // Another process taking a stale lock over removes the lock directory at any moment.
      const remover = setInterval(() => rmSync(`${path}.lock`, { recursive: true, force: true }), 1)
      const logs: Array<string> = []
      const outcomes = yield* Effect.all(
        Array.from({ length: 150 }, (_, i) =>
          Effect.flatMap(fileStore(path, { lockTimeout: "2 seconds" }), (store) =>
            Effect.either(store.upsert(`chutes:p${i % 3}`, apiKey)))),
        { concurrency: 1 }
      ).pipe(Effect.provide(recordLogs(logs)), Effect.ensuring(Effect.sync(() => clearInterval(remover))))
      for (const line of logs) assert.include(line, "lost the lock", "only the takeovers are reported")
      const reasons = outcomes.flatMap((o) => (o._tag === "Left" ? [o.left.reason] : []))
      for (const reason of reasons) assert.strictEqual(reason, "Locked")
      assert.isAbove(outcomes.length - reasons.length, 0, "some writes went through")
    }), { timeout: 60_000 })


  it.live("a stale lock (old mtime, as left by a killed process) is taken over", () =>
    Effect.gen(function*() {
      const path = storePath()
      mkdirSync(`${path}.lock`)
      const old = new Date(Date.now() - 60_000)
      utimesSync(`${path}.lock`, old, old)
      const store = yield* fileStore(path)
      yield* store.upsert("chutes:alice", alice)
      assert.deepStrictEqual(readJson(path), { version: 1, profiles: { "chutes:alice": alice } })
      assert.isFalse(existsSync(`${path}.lock`))
    }))

  it.live("a fresh foreign lock fails Locked within a short bound, and is left alone", () =>
    Effect.gen(function*() {
      const path = storePath()
      writeJson(path, specExample)
      const bytes = readFileSync(path)
      mkdirSync(`${path}.lock`)
      const store = yield* fileStore(path, { lockTimeout: "300 millis" })
      const error = assertStoreError(yield* Effect.flip(store.upsert("chutes:alice", alice)), "Locked", path)
      assert.include(error.message, "locked by another process")
      assert.isTrue(existsSync(`${path}.lock`))
      assert.isTrue(readFileSync(path).equals(bytes))
      rmdirSync(`${path}.lock`)
    }))

  it.live("a fresh foreign lock makes modify wait, then succeed once released", () =>
    Effect.gen(function*() {
      const path = storePath()
      mkdirSync(`${path}.lock`)
      const store = yield* fileStore(path)
      const fiber = yield* Effect.fork(store.upsert("chutes:alice", alice))
      yield* Effect.sleep("300 millis")
      assert.isFalse(existsSync(path), "still waiting")
      rmdirSync(`${path}.lock`)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(readJson(path), { version: 1, profiles: { "chutes:alice": alice } })
    }))

  it.live("another process holding the lock is waited for, and its write is re-read", () =>
    Effect.scoped(Effect.gen(function*() {
      const path = storePath()
      writeJson(path, specExample)
      const theirs = { ...specExample, profiles: { ...specExample.profiles, "chutes:child": apiKey } }
      yield* lockHolder(path, { holdMillis: 300, write: JSON.stringify(theirs), staleMillis: 2_000 })
      const store = yield* fileStore(path)
      yield* store.upsert("chutes:bob", apiKey)
      assert.deepStrictEqual(readJson(path), { ...theirs, profiles: { ...theirs.profiles, "chutes:bob": apiKey } })
    })))

  it.live("the lock of a SIGKILLed process is recovered after the stale time", () =>
    Effect.scoped(Effect.gen(function*() {
      const path = storePath()
      const child = yield* lockHolder(path, { staleMillis: 2_000 })
      child.kill("SIGKILL")
      yield* Effect.async<void>((resume) => {
        child.once("exit", () => resume(Effect.void))
      })
      assert.isTrue(existsSync(`${path}.lock`), "a killed holder leaves its lock behind")
      const store = yield* fileStore(path, { lockStale: "2 seconds" })
      yield* store.upsert("chutes:alice", alice)
      assert.deepStrictEqual(readJson(path), { version: 1, profiles: { "chutes:alice": alice } })
      assert.isFalse(existsSync(`${path}.lock`))
    })))

  it.live("leftover temp files of dead or old writers are removed under the lock, a live fresh one is kept", () =>
    Effect.gen(function*() {
      const path = storePath()
      const dir = dirname(path)
      const deadPid = spawnSync(process.execPath, ["-e", ""]).pid
      const dead = `auth-profiles.json.tmp-${deadPid}-aaaaaaaaaaaa`
      const old = `auth-profiles.json.tmp-${process.pid}-bbbbbbbbbbbb`
      const live = `auth-profiles.json.tmp-${process.pid}-cccccccccccc`
      for (const name of [dead, old, live]) writeFileSync(join(dir, name), "{\"half\": ", { mode: 0o600 })
      const past = new Date(Date.now() - 5 * 60_000)
      utimesSync(join(dir, old), past, past)
      const store = yield* fileStore(path)
      assert.strictEqual((yield* store.load).profiles.size, 0, "leftovers do not affect reads")
      yield* store.upsert("chutes:alice", alice)
      assert.deepStrictEqual(readdirSync(dir).sort(), ["auth-profiles.json", live])
    }))
})

describe("no state directory", () => {
  it.live("every operation fails with Io and says what to set", () =>
    Effect.gen(function*() {
      const store = yield* AuthProfileStore.AuthProfileStore.pipe(
        Effect.provide(AuthProfileStore.layerFile().pipe(
          Layer.provide(Layer.merge(ChutesSettings.layer({}), portableFiles))
        ))
      )
      for (const attempt of [store.load, store.upsert("chutes:alice", alice), store.remove("chutes:alice")]) {
        const error = assertStoreError(yield* Effect.flip(attempt), "Io", "auth-profiles.json")
        assert.include(error.message, "no state directory (set CHUTES_STATE_DIR or HOME)")
      }
    }))

  it.live("with a state dir, the store is <stateDir>/auth-profiles.json", () =>
    Effect.gen(function*() {
      const stateDir = join(tempDir(), "effect-chutes")
      const store = yield* AuthProfileStore.AuthProfileStore.pipe(
        Effect.provide(AuthProfileStore.layerFile().pipe(
          Layer.provide(Layer.merge(ChutesSettings.layer({ stateDir }), portableFiles))
        ))
      )
      assert.strictEqual(store.location, join(stateDir, "auth-profiles.json"))
      yield* store.upsert("chutes:default", apiKey)
      assert.strictEqual(mode(stateDir), 0o700)
      assert.deepStrictEqual(readJson(store.location), { version: 1, profiles: { "chutes:default": apiKey } })
    }))
})

describe("memory store", () => {
  const memory = (initial?: Record<string, unknown>) =>
    AuthProfileStore.AuthProfileStore.pipe(Effect.provide(AuthProfileStore.layerMemory(initial)))

  it.effect("keeps other providers, unknown keys and fields across upsert and remove", () =>
    Effect.gen(function*() {
      const store = yield* memory(sharedStore)
      assert.strictEqual(store.location, "memory")
      yield* store.upsert("chutes:alice", { ...alice, access: "cak_new_0001" })
      assert.isTrue(yield* store.remove("chutes:default"))
      assert.isFalse(yield* store.remove("openai:default"))
      const { "chutes:default": _removed, ...rest } = sharedStore.profiles
      assert.deepStrictEqual(AuthProfileStore.toDocument(yield* store.load), {
        ...sharedStore,
        profiles: { ...rest, "chutes:alice": { ...sharedStore.profiles["chutes:alice"], access: "cak_new_0001" } }
      })
    }))

  it.effect("starts empty and round-trips the documented example", () =>
    Effect.gen(function*() {
      const store = yield* memory()
      assert.isFalse((yield* store.load).exists)
      yield* store.upsert("chutes:alice", alice)
      yield* store.upsert("chutes:default", apiKey)
      assert.deepStrictEqual(AuthProfileStore.toDocument(yield* store.load), specExample)
    }))

  it.effect("a corrupt initial document fails every operation with Corrupt and stays as it is", () =>
    Effect.gen(function*() {
      const corrupt = [{ version: 2, profiles: {} }, { version: 1, profiles: "cak_SECRET_012345" }, { profiles: {} }]
      for (const initial of corrupt) {
        const store = yield* memory(initial)
        let called = false
        for (
          const attempt of [
            store.load,
            store.upsert("chutes:alice", alice),
            store.remove("chutes:alice"),
            store.modify(() => Effect.sync(() => (called = true)).pipe(Effect.as([undefined, []] as const)))
          ]
        ) {
          assertStoreError(yield* Effect.flip(attempt), "Corrupt", "memory")
        }
        assert.isFalse(called)
      }
    }))

  it.live("serialises concurrent modify calls", () =>
    Effect.gen(function*() {
      const store = yield* memory(specExample)
      yield* Effect.all(Array.from({ length: 20 }, () => increment(store)), { concurrency: "unbounded" })
      const profile = (yield* store.load).profiles.get("chutes:alice")
      assert.strictEqual(profile?.type === "oauth" ? profile.expires : undefined, alice.expires + 20)
    }))
})
