/**
 * Cooldowns of the stored profiles in the CLI, with the built executable (the esbuild bundle) as a subprocess against
 * FakeChutes over loopback, in temporary homes with real state directories and no inherited CHUTES_* variables:
 *
 * - `auth cooldowns` lists the cooldowns that hold (a hand-written `auth-cooldowns.json`; a `needs-sign-in` only while
 *   the profile's secret has the fingerprint it was set for), `--json` every one with `holds`; `--clear` empties the
 *   file, `--clear --profile x` removes only x; an unknown id is a usage error; a corrupt file fails both and is left
 *   byte for byte as it was; on Redis (`CHUTES_REDIS_URL`) the same commands work on the shared store.
 * - `auth status` shows each profile's cooldown and orders the profiles as `ChutesCredentials` does (the cooling ones
 *   behind, by their end); a refresh the IdP refuses sets a real `needs-sign-in`; an unreadable cooldown store is one
 *   line, and the rest still works.
 * - `--profile <id>` pins that stored profile for `account`, `usage`, `models list` and `models resolve` (the bearer
 *   FakeChutes saw is that profile's, even when it cools and when `CHUTES_API_KEY` is set); an id that is not a stored
 *   Chutes profile exits 2 naming the stored ids.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type * as AuthCooldowns from "../../src/AuthCooldowns.js"
import { AuthCooldownsClearOutput, AuthCooldownsOutput } from "../../src/cli/cooldowns.js"
import { AuthStatusOutput } from "../../src/cli/json.js"
import * as NodeRedis from "../../src/node/NodeRedis.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { fakeChutesForSuite, type Run, spawnCliIn } from "../support/cliProcess.js"
import { madeUpTokens, oauthProfile } from "../support/profiles.js"
import { redisMissing, startRedis } from "../support/redisServer.js"

// Built from parts, so no committed line looks like a real key.
const scopedKey = "cpk_" + "7".repeat(32) + "." + "8".repeat(32) + "." + "Scope".repeat(6) + "Sc"
const otherKey = "cpk_" + "9".repeat(32) + "." + "a".repeat(32) + "." + "Other".repeat(6) + "Ot"

const MINUTE = 60_000

let fake: FakeChutes.FakeChutesServer
/** Every secret a run must never print. */
const secrets = new Set<string>([scopedKey, otherKey])

/** A fresh home whose store holds `profiles` and, when given, `auth-cooldowns.json` with `cooldowns`. */
const makeHome = (profiles: Record<string, unknown>, cooldowns?: Record<string, AuthCooldowns.Cooldown>) => {
  const home = mkdtempSync(join(tmpdir(), "chutes-cooldowns-"))
  const state = join(home, "state")
  mkdirSync(state, { recursive: true, mode: 0o700 })
  const store = join(state, "auth-profiles.json")
  const cooldownFile = join(state, "auth-cooldowns.json")
  writeFileSync(store, JSON.stringify({ version: 1, profiles }, null, 2), { mode: 0o600 })
  if (cooldowns !== undefined) writeCooldowns(cooldownFile, cooldowns)
  return { home, state, store, cooldownFile }
}

type Home = ReturnType<typeof makeHome>

const writeCooldowns = (file: string, cooldowns: Record<string, AuthCooldowns.Cooldown>) =>
  writeFileSync(file, JSON.stringify({ version: 1, cooldowns }, null, 2), { mode: 0o600 })

const readCooldowns = (home: Home): Record<string, AuthCooldowns.Cooldown> =>
  JSON.parse(readFileSync(home.cooldownFile, "utf8")).cooldowns

const cli = (home: Home, args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Run> =>
  spawnCliIn(home, fake, args, { env, secrets })

const strict = <A, I>(schema: Schema.Schema<A, I>, run: Run): A => {
  const decoded = Schema.decodeUnknownEither(schema, { onExcessProperty: "error" })(JSON.parse(run.stdout))
  if (Either.isLeft(decoded)) assert.fail(`${String(decoded.left)}\n${run.stdout}`)
  return decoded.right
}

/** The fingerprint a `needs-sign-in` is tied to, as `internal/profileCooldowns.ts` computes it (SHA-256, 8 bytes). */
const fingerprint = (secret: string): string => createHash("sha256").update(secret).digest("hex").slice(0, 16)

const apiKeyProfile = (key: string) => ({ type: "api_key", provider: "chutes", key })

const rateLimited = (now: number, minutes: number): AuthCooldowns.Cooldown => ({
  reason: "rate-limited",
  since: now - MINUTE,
  until: now + minutes * MINUTE,
  millis: MINUTE
})

/** The table line of `word` (a profile id or source). */
const lineOf = (run: Run, word: string): string => {
  const line = run.stdout.split("\n").find((l) => l.split(/\s+/).includes(word))
  assert.isDefined(line, `no line for ${word} in:\n${run.stdout}`)
  return line!
}

/** The bearer of the last request FakeChutes saw on `route`. */
const lastBearer = (route: string): string | undefined =>
  fake.requests.filter((r) => r.route === route).at(-1)?.headers["authorization"]?.replace(/^Bearer /, "")

const UNTIL = "until (\\d{4}-\\d\\d-\\d\\d )?\\d\\d:\\d\\d UTC"

fakeChutesForSuite({ scopedApiKeys: [scopedKey, otherKey], username: "alice" }, (started) => (fake = started), secrets)

describe("auth cooldowns: the ones that hold", () => {
  it("a rate-limited and a needs-sign-in entry are listed; the needs-sign-in only while the key is the one it was set for", async () => {
    const now = Date.now()
    const home = makeHome(
      { "chutes:alice": oauthProfile(fake, secrets), "chutes:default": apiKeyProfile(scopedKey), "chutes:work": apiKeyProfile(otherKey) },
      {
        "chutes:default": { reason: "needs-sign-in", since: now - 5 * MINUTE, fingerprint: fingerprint(scopedKey) },
        "chutes:alice": rateLimited(now, 10),
        // Ended a minute ago: kept, not holding.
        "chutes:work": { reason: "rate-limited", since: now - 3 * MINUTE, until: now - MINUTE, millis: 2 * MINUTE },
        // No stored profile of that id.
        "chutes:gone": rateLimited(now, 30)
      }
    )
    const requests = fake.requests.length

    const text = await cli(home, ["auth", "cooldowns"])
    assert.strictEqual(text.code, 0, text.stderr)
    assert.include(text.stdout, `Cooldowns: ${home.cooldownFile}`)
    assert.match(text.stdout, /^PROFILE\s+COOLDOWN\s+SET$/m)
    assert.match(lineOf(text, "chutes:alice"), new RegExp(`^chutes:alice\\s+rate-limited ${UNTIL}\\s+1m ago$`))
    assert.match(lineOf(text, "chutes:default"), /^chutes:default\s+needs sign-in\s+5m ago$/)
    const lines = text.stdout.split("\n")
    assert.isBelow(
      lines.findIndex((l) => l.startsWith("chutes:alice")),
      lines.findIndex((l) => l.startsWith("chutes:default")),
      "by the end of the cooldown: a needs-sign-in last"
    )
    assert.notMatch(text.stdout, /^chutes:(work|gone)\b/m)
    assert.include(text.stdout, "Also in the store, not in effect: 2 (")
    assert.strictEqual(fake.requests.length, requests, "nothing was sent to Chutes")

    const json = strict(AuthCooldownsOutput, await cli(home, ["auth", "cooldowns", "--json"]))
    assert.strictEqual(json.location, home.cooldownFile)
    assert.deepStrictEqual(json.cooldowns.map((c) => [c.profileId, c.stored, c.holds, c.reason]), [
      ["chutes:alice", true, true, "rate-limited"],
      ["chutes:default", true, true, "needs-sign-in"],
      ["chutes:work", true, false, "rate-limited"],
      ["chutes:gone", false, true, "rate-limited"]
    ])
    const alice = json.cooldowns[0]!
    assert.deepStrictEqual([alice.since, alice.until, alice.millis, alice.endsAt], [
      now - MINUTE,
      now + 10 * MINUTE,
      MINUTE,
      now + 10 * MINUTE
    ])
    const signIn = json.cooldowns[1]!
    assert.deepStrictEqual([signIn.until, signIn.endsAt, signIn.fingerprint, signIn.description], [
      null,
      null,
      fingerprint(scopedKey),
      "needs sign-in"
    ])

    // One profile's alone.
    const one = await cli(home, ["auth", "cooldowns", "--profile", "chutes:default"])
    assert.strictEqual(one.code, 0, one.stderr)
    assert.notInclude(one.stdout, "chutes:alice")
    assert.include(lineOf(one, "chutes:default"), "needs sign-in")

    // A new key under the same id (signed in again): the needs-sign-in was for the old one and no longer holds.
    writeFileSync(home.store, JSON.stringify({
      version: 1,
      profiles: {
        "chutes:alice": JSON.parse(readFileSync(home.store, "utf8")).profiles["chutes:alice"],
        "chutes:default": apiKeyProfile(fake.apiKey),
        "chutes:work": apiKeyProfile(otherKey)
      }
    }), { mode: 0o600 })
    const after = await cli(home, ["auth", "cooldowns"])
    assert.strictEqual(after.code, 0, after.stderr)
    assert.include(lineOf(after, "chutes:alice"), "rate-limited")
    assert.notMatch(after.stdout, /^chutes:default\b/m)
    const afterJson = strict(AuthCooldownsOutput, await cli(home, ["auth", "cooldowns", "--json"]))
    assert.isFalse(afterJson.cooldowns.find((c) => c.profileId === "chutes:default")?.holds)
  })

  it("none at all, and no file: says so, writes nothing", async () => {
    const home = makeHome({ "chutes:default": apiKeyProfile(fake.apiKey) })
    const run = await cli(home, ["auth", "cooldowns"])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, "No cooldown holds now.")
    assert.isFalse(existsSync(home.cooldownFile))
  })
})

describe("auth cooldowns --clear", () => {
  it("--profile x removes only x's; without it, all; the file is checked each time", async () => {
    const now = Date.now()
    const home = makeHome(
      { "chutes:alice": oauthProfile(fake, secrets), "chutes:default": apiKeyProfile(fake.apiKey) },
      {
        "chutes:alice": rateLimited(now, 10),
        "chutes:default": { reason: "quota", since: now, until: now + 60 * MINUTE, millis: 2 * MINUTE },
        "chutes:gone": rateLimited(now, 5)
      }
    )
    const one = await cli(home, ["auth", "cooldowns", "--clear", "--profile", "chutes:alice"])
    assert.strictEqual(one.code, 0, one.stderr)
    assert.strictEqual(one.stdout, `Cleared the cooldown of chutes:alice in ${home.cooldownFile}.\n`)
    assert.deepStrictEqual(Object.keys(readCooldowns(home)), ["chutes:default", "chutes:gone"])

    const again = await cli(home, ["auth", "cooldowns", "--clear", "--profile", "chutes:alice"])
    assert.strictEqual(again.code, 0, again.stderr)
    assert.include(again.stdout, "chutes:alice has no cooldown")

    // An id that is not stored but has a cooldown is cleared; one that is neither is a usage error.
    const unknown = await cli(home, ["auth", "cooldowns", "--clear", "--profile", "chutes:nobody"])
    assert.strictEqual(unknown.code, 2)
    assert.include(unknown.stderr, `--profile "chutes:nobody"`)
    assert.include(unknown.stderr, "stored: chutes:alice, chutes:default")
    assert.deepStrictEqual(Object.keys(readCooldowns(home)), ["chutes:default", "chutes:gone"])

    const all = strict(AuthCooldownsClearOutput, await cli(home, ["auth", "cooldowns", "--clear", "--json"]))
    assert.deepStrictEqual(all, { location: home.cooldownFile, cleared: ["chutes:default", "chutes:gone"] })
    assert.deepStrictEqual(readCooldowns(home), {})

    const empty = await cli(home, ["auth", "cooldowns", "--clear"])
    assert.strictEqual(empty.code, 0, empty.stderr)
    assert.include(empty.stdout, "nothing was cleared")
  })

  it("a corrupt auth-cooldowns.json: --clear and the listing fail with the StoreError, and the bytes stay", async () => {
    const home = makeHome({ "chutes:default": apiKeyProfile(fake.apiKey), "chutes:alice": oauthProfile(fake, secrets) })
    const broken = `{"version": 1, "cooldowns": {"chutes:default": {"reason": "rate-limited"`
    writeFileSync(home.cooldownFile, broken, { mode: 0o600 })
    for (const args of [["auth", "cooldowns", "--clear"], ["auth", "cooldowns", "--clear", "--profile", "chutes:default"], [
      "auth",
      "cooldowns"
    ]]) {
      const run = await cli(home, args)
      assert.strictEqual(run.code, 1, args.join(" "))
      assert.strictEqual(run.stdout, "")
      assert.include(run.stderr, `The auth cooldown store ${home.cooldownFile} is not valid; it was left untouched`)
      assert.strictEqual(readFileSync(home.cooldownFile, "utf8"), broken, "never written over")
    }

    // auth status still works: one line says the cooldowns were not read; the profiles are shown as usual.
    const status = await cli(home, ["auth", "status"])
    assert.strictEqual(status.code, 0, status.stderr)
    assert.match(status.stdout, /^Cooldowns: {5}not read, so not shown and not in ORDER \(The auth cooldown store .* is not valid/m)
    assert.match(lineOf(status, "profile:chutes:alice"), /^\*\s+1\s+profile:chutes:alice\s+OAuth\s+\S+\s+alice\s+valid\s+accepted/)
    assert.notInclude(status.stdout, "COOLDOWN")
    const json = strict(AuthStatusOutput, await cli(home, ["auth", "status", "--json", "--offline"]))
    assert.include(json.cooldowns.error ?? "", "is not valid")
    assert.isTrue(json.credentials.every((c) => c.cooldown === null))
    assert.strictEqual(readFileSync(home.cooldownFile, "utf8"), broken)
  })
})

describe("auth status: each profile's cooldown, and the order they give", () => {
  it("the cooling profiles go behind the others, by the end of their cooldown; the active one follows", async () => {
    const now = Date.now()
    const profiles = {
      "chutes:alice": oauthProfile(fake, secrets),
      "chutes:default": apiKeyProfile(fake.apiKey),
      "chutes:work": apiKeyProfile(scopedKey)
    }
    const home = makeHome(profiles)
    const plain = strict(AuthStatusOutput, await cli(home, ["auth", "status", "--json", "--offline"]))
    assert.deepStrictEqual(plain.credentials.map((c) => [c.profileId, c.order, c.cooldown]), [
      ["chutes:alice", 1, null],
      ["chutes:default", 2, null],
      ["chutes:work", 3, null]
    ])
    assert.strictEqual(plain.active, "profile:chutes:alice")
    assert.deepStrictEqual(plain.cooldowns, { location: home.cooldownFile, error: null })

    writeCooldowns(home.cooldownFile, {
      "chutes:alice": rateLimited(now, 10),
      // A 402 until the next hour, tried again after 2 minutes: it ends (for the order) before alice's.
      "chutes:work": { reason: "quota", since: now, until: now + 60 * MINUTE, millis: 2 * MINUTE }
    })
    const json = strict(AuthStatusOutput, await cli(home, ["auth", "status", "--json", "--offline"]))
    assert.deepStrictEqual(json.credentials.map((c) => [c.profileId, c.order, c.cooldown?.reason ?? null]), [
      ["chutes:alice", 3, "rate-limited"],
      ["chutes:default", 1, null],
      ["chutes:work", 2, "quota"]
    ])
    assert.strictEqual(json.active, "profile:chutes:default")
    const alice = json.credentials[0]!.cooldown!
    assert.deepStrictEqual([alice.since, alice.until, alice.endsAt], [now - MINUTE, now + 10 * MINUTE, now + 10 * MINUTE])
    assert.match(alice.description, new RegExp(`^rate-limited ${UNTIL}$`))
    const work = json.credentials[2]!.cooldown!
    assert.deepStrictEqual([work.until, work.endsAt], [now + 60 * MINUTE, now + 2 * MINUTE])
    assert.match(work.description, new RegExp(`^quota ${UNTIL} \\(tried again from \\d\\d:\\d\\d UTC\\)$`))

    const text = await cli(home, ["auth", "status"])
    assert.strictEqual(text.code, 0, text.stderr)
    assert.match(text.stdout, /^\s+ORDER\s+SOURCE\s+KIND\s+SECRET\s+ACCOUNT\s+EXPIRY\s+CHECK\s+COOLDOWN\s+NOTE$/m)
    assert.match(
      lineOf(text, "profile:chutes:alice"),
      new RegExp(`^\\s+3\\s+profile:chutes:alice\\s+OAuth\\s+\\S+\\s+alice\\s+valid\\s+accepted\\s+rate-limited ${UNTIL}\\s+next refresh`)
    )
    assert.match(lineOf(text, "profile:chutes:default"), /^\*\s+1\s+profile:chutes:default\s+API key\s+\S+\s+alice\s+none\s+accepted$/)
    assert.match(lineOf(text, "profile:chutes:work"), new RegExp(`^\\s+2\\s+profile:chutes:work\\s+.*\\s+quota ${UNTIL}`))
    assert.include(text.stdout, "cooling profiles last, by the end of their COOLDOWN")
  })

  it("a refresh the IdP refuses sets a real needs-sign-in (the SDK's fingerprint); it is shown, and ordered last", async () => {
    const dead = madeUpTokens("dead0123", secrets)
    const home = makeHome({
      "chutes:bob": oauthProfile(fake, secrets, { ...dead, expires: Date.now() - 1000, email: "bob" }),
      "chutes:default": apiKeyProfile(fake.apiKey)
    })
    const run = await cli(home, ["auth", "status", "--json"])
    assert.strictEqual(run.code, 0, run.stderr)
    const stored = readCooldowns(home)["chutes:bob"]
    assert.strictEqual(stored?.reason, "needs-sign-in")
    assert.strictEqual(stored?.fingerprint, fingerprint(dead.refresh), "the test computes the fingerprint as the SDK does")
    const status = strict(AuthStatusOutput, run)
    assert.deepStrictEqual(status.credentials.map((c) => [c.profileId, c.order, c.cooldown?.description ?? null]), [
      ["chutes:bob", 2, "needs sign-in"],
      ["chutes:default", 1, null]
    ])
    assert.strictEqual(status.active, "profile:chutes:default")

    const listed = await cli(home, ["auth", "cooldowns"])
    assert.match(lineOf(listed, "chutes:bob"), /^chutes:bob\s+needs sign-in\s+\d+s ago$/)
  })
})

describe("--profile pins one stored profile", () => {
  const homeWithAdmin = () =>
    makeHome(
      { "chutes:default": apiKeyProfile(scopedKey), "chutes:admin": apiKeyProfile(fake.apiKey) },
      // The admin profile cools: without a pin it comes last; pinned, it is used all the same (no rotation).
      { "chutes:admin": rateLimited(Date.now(), 30) }
    )

  it("account --profile chutes:admin uses the admin key (the scoped one first otherwise), even with CHUTES_API_KEY set", async () => {
    const home = homeWithAdmin()
    const unpinned = await cli(home, ["account", "--json"])
    assert.strictEqual(unpinned.code, 1, "the scoped key is tried and may not read the account")
    assert.strictEqual(lastBearer("account"), scopedKey)

    const pinned = await cli(home, ["account", "--json", "--profile", "chutes:admin"])
    assert.strictEqual(pinned.code, 0, pinned.stderr)
    assert.strictEqual(JSON.parse(pinned.stdout).username, "alice")
    assert.strictEqual(lastBearer("account"), fake.apiKey)

    const env = await cli(home, ["account", "--profile", "chutes:admin"], { CHUTES_API_KEY: scopedKey })
    assert.strictEqual(env.code, 0, env.stderr)
    assert.include(env.stdout, "user: alice")
    assert.include(env.stderr, "note: --profile chutes:admin: CHUTES_API_KEY is set and not used")
    assert.strictEqual(lastBearer("account"), fake.apiKey)

    const usage = await cli(home, ["usage", "--days", "2", "--json", "--profile", "chutes:admin"])
    assert.strictEqual(usage.code, 0, usage.stderr)
    assert.strictEqual(lastBearer("account"), fake.apiKey)
  })

  it("models list and models resolve discover with the pinned profile's key", async () => {
    const home = homeWithAdmin()
    const list = await cli(home, ["models", "list", "--json", "--profile", "chutes:default"], { CHUTES_API_KEY: otherKey })
    assert.strictEqual(list.code, 0, list.stderr)
    assert.strictEqual(JSON.parse(list.stdout).source, "live")
    assert.strictEqual(lastBearer("models"), scopedKey)

    const resolve = await cli(home, ["models", "resolve", "chutes-pro", "--profile", "chutes:admin"])
    assert.strictEqual(resolve.code, 0, resolve.stderr)
    assert.include(resolve.stdout, "checked against the live catalog")
    assert.strictEqual(lastBearer("models"), fake.apiKey)

    // Without the pin the admin profile cools, so the other one is used.
    const unpinned = await cli(home, ["models", "list", "--json"])
    assert.strictEqual(unpinned.code, 0, unpinned.stderr)
    assert.strictEqual(lastBearer("models"), scopedKey)
  })

  it("an id that is not a stored Chutes profile: exit 2 naming the stored ids, nothing sent", async () => {
    const home = homeWithAdmin()
    const requests = fake.requests.length
    for (const args of [
      ["account", "--profile", "chutes:nobody"],
      ["usage", "--profile", "chutes:nobody"],
      ["models", "list", "--profile", "chutes:nobody"],
      ["models", "resolve", "chutes-pro", "--profile", "chutes:nobody"]
    ]) {
      const run = await cli(home, args)
      assert.strictEqual(run.code, 2, args.join(" "))
      assert.strictEqual(run.stdout, "")
      assert.include(run.stderr, `effect-chutes: --profile "chutes:nobody": no stored Chutes profile of that id in ${home.store}`)
      assert.include(run.stderr, "stored: chutes:default, chutes:admin")
      assert.include(run.stderr, `See "effect-chutes ${args[0] === "models" ? `models ${args[1]}` : args[0]} --help".`)
    }
    assert.strictEqual(fake.requests.length, requests, "nothing was sent to Chutes")

    const offline = await cli(home, ["models", "list", "--offline", "--profile", "chutes:admin"])
    assert.strictEqual(offline.code, 2)
    assert.include(offline.stderr, "not with --offline")
  })
})

const missing = redisMissing("test/cli/cooldowns.test.ts (the Redis part)")

describe.skipIf(missing !== undefined)("auth cooldowns with CHUTES_REDIS_URL: the shared store", () => {
  it("lists and clears the cooldowns in Redis; no file is used", async () => {
    const server = await startRedis({ password: "cooldowns-Zx8-never-printed" })
    secrets.add("cooldowns-Zx8-never-printed")
    try {
      const now = Date.now()
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const store = yield* NodeRedis.makeAuthProfileStore({ url: server.url })
        yield* store.upsert("chutes:default", { type: "api_key", provider: "chutes", key: fake.apiKey })
        yield* store.upsert("chutes:work", { type: "api_key", provider: "chutes", key: scopedKey })
        yield* store.cooldowns.set("chutes:work", rateLimited(now, 10))
        yield* store.cooldowns.set("chutes:default", { reason: "needs-sign-in", since: now, fingerprint: fingerprint(fake.apiKey) })
      })))
      const home = makeHome({})
      const env = { CHUTES_REDIS_URL: server.url }

      const listed = await cli(home, ["auth", "cooldowns"], env)
      assert.strictEqual(listed.code, 0, listed.stderr)
      assert.match(listed.stdout, /^Cooldowns: redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ key effect-chutes:auth-cooldowns$/m)
      assert.include(lineOf(listed, "chutes:work"), "rate-limited")
      assert.include(lineOf(listed, "chutes:default"), "needs sign-in")

      const status = strict(AuthStatusOutput, await cli(home, ["auth", "status", "--json", "--offline"], env))
      assert.deepStrictEqual(status.credentials.map((c) => [c.profileId, c.order, c.cooldown?.reason ?? null]), [
        ["chutes:default", 2, "needs-sign-in"],
        ["chutes:work", 1, "rate-limited"]
      ])

      const cleared = await cli(home, ["auth", "cooldowns", "--clear", "--profile", "chutes:work"], env)
      assert.strictEqual(cleared.code, 0, cleared.stderr)
      assert.include(cleared.stdout, "Cleared the cooldown of chutes:work")
      const rest = strict(AuthCooldownsOutput, await cli(home, ["auth", "cooldowns", "--json"], env))
      assert.deepStrictEqual(rest.cooldowns.map((c) => c.profileId), ["chutes:default"])
      assert.strictEqual((await cli(home, ["auth", "cooldowns", "--clear"], env)).code, 0)
      const none = strict(AuthCooldownsOutput, await cli(home, ["auth", "cooldowns", "--json"], env))
      assert.deepStrictEqual(none.cooldowns, [])
      assert.isFalse(existsSync(home.cooldownFile), "no cooldown file in the state directory")
    } finally {
      await server.stop()
    }
  })
})
