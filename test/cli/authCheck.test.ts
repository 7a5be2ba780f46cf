/**
 * Honest credential checks of the `effect-chutes` executable (the esbuild bundle) against FakeChutes over loopback, in
 * temporary homes with no inherited CHUTES_* variables: `/v1/models` decides accepted / rejected, `/users/me` only
 * adds the account (a scoped key says so, nothing worse), `auth status` uses `expiry` and `check` for both kinds of
 * credential and never calls a key it did not check valid, `--offline` sends nothing, and the user name the service
 * sends never reaches the terminal raw.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AuthStatusOutput } from "../../src/cli/json.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { fakeChutesForSuite, type Run, spawnCliIn } from "../support/cliProcess.js"
import { missingTool } from "../support/missingTool.js"
import { madeUpTokens, oauthProfile as issuedOAuthProfile } from "../support/profiles.js"
import { fillDisk, mountSmallDisk, unmountSmallDisk } from "../support/smallDisk.js"

// Built from parts, so no committed line looks like a real key.
const scopedKey = "cpk_" + "3".repeat(32) + "." + "4".repeat(32) + "." + "Scoped".repeat(5) + "SS"
const rejectedKey = "cpk_" + "5".repeat(32) + "." + "6".repeat(32) + "." + "Refused".repeat(4) + "Refu"

let fake: FakeChutes.FakeChutesServer
/** Every secret a run must never print. */
const secrets = new Set<string>([scopedKey, rejectedKey])

/** A fresh home whose store holds `profiles` (none: no store file). */
const makeHome = (profiles?: Record<string, unknown>) => {
  const home = mkdtempSync(join(tmpdir(), "chutes-auth-check-"))
  const state = join(home, "state")
  const store = join(state, "auth-profiles.json")
  if (profiles !== undefined) {
    mkdirSync(state, { recursive: true, mode: 0o700 })
    writeFileSync(store, JSON.stringify({ version: 1, profiles }, null, 2), { mode: 0o600 })
  }
  return { home, state, store }
}

type Home = ReturnType<typeof makeHome>

const cli = (
  home: Home,
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  server = fake
): Promise<Run> => spawnCliIn(home, server, args, { env, secrets })

const onboardWithKey = (home: Home, key: string) =>
  cli(home, ["onboard", "--auth-choice", "chutes-api-key", "--chutes-api-key", key, "--non-interactive"])

const decodeStatus = (run: Run): AuthStatusOutput =>
  Schema.decodeUnknownSync(AuthStatusOutput, { onExcessProperty: "error" })(JSON.parse(run.stdout))

const byProfile = (status: AuthStatusOutput, id: string) => {
  const found = status.credentials.find((c) => c.profileId === id)
  assert.isDefined(found, `no row for ${id}`)
  return found!
}

/** The table line of one source. */
const lineOf = (run: Run, source: string): string => {
  const line = run.stdout.split("\n").find((l) => l.includes(` ${source} `) || l.endsWith(` ${source}`))
  assert.isDefined(line, `no line for ${source} in:\n${run.stdout}`)
  return line!
}

/** A stored profile of fresh tokens, its email the stored name. */
const oauthProfile = (overrides: Record<string, unknown> = {}, scope?: string) =>
  issuedOAuthProfile(fake, secrets, { email: "stored-name", ...overrides }, scope)

const apiKeyProfile = (key: string) => ({ type: "api_key", provider: "chutes", key })

fakeChutesForSuite({ scopedApiKeys: [scopedKey], username: "alice" }, (started) => (fake = started), secrets)

describe("onboard --auth-choice chutes-api-key: the account of the key", () => {
  it("an admin key: accepted, and the user name and balance are shown", async () => {
    fake.account.set({ balance: 14.0054 })
    const before = fake.counters
    const run = await onboardWithKey(makeHome(), fake.apiKey)
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, `accepted by ${fake.baseUrl}/models`)
    assert.include(run.stdout, "Account: alice, balance $14.01.")
    assert.strictEqual(fake.counters.models - before.models, 1, "one request validates the key and reads the catalog")
    assert.strictEqual(fake.counters.account - before.account, 1, "one request reads the account")
  })

  it("a negative balance is shown as such", async () => {
    fake.account.set({ balance: -0.059 })
    const run = await onboardWithKey(makeHome(), fake.apiKey)
    fake.account.set({ balance: 14.0054 })
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, "Account: alice, balance -$0.0590.")
  })

  it("a scoped key: accepted and stored; \"scoped key: may not read the account\", nothing worse", async () => {
    const home = makeHome()
    const run = await onboardWithKey(home, scopedKey)
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, `accepted by ${fake.baseUrl}/models`)
    assert.include(run.stdout, "scoped key: may not read the account")
    assert.notMatch(run.stdout + run.stderr, /rejected|sign in again|needs to sign in|failed/i)
    assert.notInclude(run.stdout, "balance")
    assert.include(run.stdout, "Catalog: live")
    const store = JSON.parse(readFileSync(home.store, "utf8"))
    assert.strictEqual(store.profiles["chutes:default"].key, scopedKey)
  })

  it("a rejected key: exit 1, \"key rejected\", the account is not asked, nothing written", async () => {
    const home = makeHome()
    const before = fake.counters.account
    const run = await onboardWithKey(home, rejectedKey)
    assert.strictEqual(run.code, 1)
    assert.include(run.stderr, "key rejected")
    assert.notInclude(run.stdout, "Account:")
    assert.strictEqual(fake.counters.account, before)
    assert.isFalse(existsSync(home.state))
  })

  it("the account cannot be read for another reason: one line, onboarding succeeds", async () => {
    fake.fault({ _tag: "Status", route: "account", status: 404, times: 1 })
    const run = await onboardWithKey(makeHome(), fake.apiKey)
    assert.strictEqual(run.code, 0, run.stderr)
    assert.match(run.stdout, /^Account: not read \(.*HTTP 404.*\)\.$/m)
  })
})

describe("auth status: expiry and check, for both kinds", () => {
  it("an admin key, online: expiry none, check accepted by /v1/models, the account name from /users/me", async () => {
    const home = makeHome({ "chutes:default": apiKeyProfile(fake.apiKey) })
    const before = fake.counters
    const json = await cli(home, ["auth", "status", "--json"])
    assert.strictEqual(json.code, 0, json.stderr)
    const status = decodeStatus(json)
    assert.isFalse(status.offline)
    const key = byProfile(status, "chutes:default")
    assert.deepStrictEqual(
      [key.expiry, key.check, key.account, key.readsAccount, key.usable, key.active],
      ["none", "accepted", "alice", true, true, true]
    )
    assert.strictEqual(fake.counters.models - before.models, 1)
    assert.strictEqual(fake.counters.account - before.account, 1)

    const text = await cli(home, ["auth", "status"])
    assert.strictEqual(text.code, 0, text.stderr)
    assert.match(text.stdout, /^\s+ORDER\s+SOURCE\s+KIND\s+SECRET\s+ACCOUNT\s+EXPIRY\s+CHECK\s+NOTE$/m)
    assert.match(
      lineOf(text, "profile:chutes:default"),
      /^\*\s+1\s+profile:chutes:default\s+API key\s+\S+\s+alice\s+none\s+accepted$/
    )
  })

  it("a scoped key: accepted; \"scoped key: may not read the account\"; usable, exit 0", async () => {
    const home = makeHome({ "chutes:default": apiKeyProfile(scopedKey) })
    const json = await cli(home, ["auth", "status", "--json"])
    assert.strictEqual(json.code, 0, json.stderr)
    const key = byProfile(decodeStatus(json), "chutes:default")
    assert.deepStrictEqual([key.check, key.readsAccount, key.account, key.usable], ["accepted", false, null, true])
    assert.include(key.detail, "scoped key: may not read the account")

    const text = await cli(home, ["auth", "status"])
    assert.strictEqual(text.code, 0, text.stderr)
    const line = lineOf(text, "profile:chutes:default")
    assert.match(line, /\s-\s+none\s+accepted\s+scoped key: may not read the account/)
    assert.notMatch(text.stdout + text.stderr, /rejected|re-auth|sign in again/i)
  })

  it("a rejected key: check rejected, never valid; exit 1 with \"key rejected\"", async () => {
    const home = makeHome({ "chutes:default": apiKeyProfile(rejectedKey) })
    const json = await cli(home, ["auth", "status", "--json"])
    assert.strictEqual(json.code, 1)
    const status = decodeStatus(json)
    const key = byProfile(status, "chutes:default")
    assert.deepStrictEqual([key.expiry, key.check, key.usable, key.active, status.usable], [
      "none",
      "rejected",
      false,
      true,
      false
    ])
    assert.include(key.detail, "HTTP 401")
    assert.include(json.stderr, "key rejected")

    const text = await cli(home, ["auth", "status"])
    assert.strictEqual(text.code, 1)
    const line = lineOf(text, "profile:chutes:default")
    assert.match(line, /\s+none\s+rejected\s+HTTP 401 from /)
    assert.notMatch(line, /\bvalid\b/i)
  })

  it("CHUTES_API_KEY rejected, a stored key works: the env key is active (like the SDK), rejected, exit 1", async () => {
    const home = makeHome({ "chutes:default": apiKeyProfile(fake.apiKey) })
    const run = await cli(home, ["auth", "status", "--json"], { CHUTES_API_KEY: rejectedKey })
    assert.strictEqual(run.code, 1)
    const status = decodeStatus(run)
    assert.deepStrictEqual(status.credentials.map((c) => [c.source, c.active, c.check]), [
      ["env:CHUTES_API_KEY", true, "rejected"],
      ["profile:chutes:default", false, "accepted"]
    ])
  })

  it("the service cannot be asked (HTTP 404 on /v1/models): not checked, with why; not rejected", async () => {
    const home = makeHome({ "chutes:default": apiKeyProfile(fake.apiKey) })
    fake.fault({ _tag: "Status", route: "models", status: 404, times: 1 })
    const run = await cli(home, ["auth", "status", "--json"])
    assert.strictEqual(run.code, 0, run.stderr)
    const key = byProfile(decodeStatus(run), "chutes:default")
    assert.deepStrictEqual([key.check, key.readsAccount, key.usable], ["not-checked", null, true])
    assert.include(key.detail, "404")
  })

  it("an OAuth profile, online: valid, accepted, the account name from /users/me (not the stored one)", async () => {
    const home = makeHome({ "chutes:alice": oauthProfile() })
    const run = await cli(home, ["auth", "status", "--json"])
    assert.strictEqual(run.code, 0, run.stderr)
    const alice = byProfile(decodeStatus(run), "chutes:alice")
    assert.deepStrictEqual(
      [alice.expiry, alice.refreshed, alice.check, alice.account, alice.readsAccount, alice.usable],
      ["valid", false, "accepted", "alice", true, true]
    )
    assert.match(alice.detail, /^next refresh in \d+m$/)
  })

  it("an OAuth token without the account scope: accepted, stored name, \"may not read the account\" (403)", async () => {
    const home = makeHome({ "chutes:bob": oauthProfile({ email: "bob" }, "openid chutes:invoke") })
    const run = await cli(home, ["auth", "status", "--json"])
    assert.strictEqual(run.code, 0, run.stderr)
    const bob = byProfile(decodeStatus(run), "chutes:bob")
    assert.deepStrictEqual([bob.check, bob.account, bob.readsAccount, bob.usable], ["accepted", "bob", false, true])
    assert.include(bob.detail, "may not read the account (HTTP 403")
  })

  it("an OAuth token the service refuses (revoked, its refresh refused too): rejected, exit 1", async () => {
    const home = makeHome({ "chutes:alice": oauthProfile(madeUpTokens("0badc0de", secrets)) })
    const run = await cli(home, ["auth", "status", "--json"])
    assert.strictEqual(run.code, 1)
    const alice = byProfile(decodeStatus(run), "chutes:alice")
    assert.deepStrictEqual([alice.check, alice.usable], ["rejected", false])
    assert.include(run.stderr, `"chutes:alice" needs to sign in again`)
  })
})

describe("auth status --offline: no request, nothing called valid that was not checked", () => {
  it("api_key and OAuth profiles (one due): expiry from the store, check not checked, no request at all", async () => {
    const due = oauthProfile({ expires: 1_000 })
    const home = makeHome({
      "chutes:alice": oauthProfile(),
      "chutes:due": due,
      "chutes:default": apiKeyProfile(rejectedKey)
    })
    const stored = readFileSync(home.store, "utf8")
    const requests = fake.requests.length
    const json = await cli(home, ["auth", "status", "--json", "--offline"])
    assert.strictEqual(fake.requests.length, requests, "nothing was sent to Chutes")
    assert.strictEqual(readFileSync(home.store, "utf8"), stored, "no refresh, the store unchanged")
    assert.strictEqual(json.code, 0, json.stderr)
    const status = decodeStatus(json)
    assert.isTrue(status.offline)
    assert.isTrue(status.credentials.every((c) => c.check === "not-checked" && c.readsAccount === null))
    assert.deepStrictEqual(status.credentials.map((c) => [c.profileId, c.expiry, c.account]), [
      ["chutes:alice", "valid", "stored-name"],
      ["chutes:due", "refresh-due", "stored-name"],
      ["chutes:default", "none", null]
    ])

    const text = await cli(home, ["auth", "status", "--offline"])
    assert.strictEqual(fake.requests.length, requests, "nothing was sent to Chutes")
    assert.strictEqual(text.code, 0, text.stderr)
    const key = lineOf(text, "profile:chutes:default")
    assert.match(key, /API key\s+\S+\s+-\s+none\s+not checked/)
    assert.notMatch(key, /\b(valid|ok|accepted)\b/i)
    assert.match(lineOf(text, "profile:chutes:due"), /stored-name\s+refresh due\s+not checked\s+refresh due: not tried/)
    assert.include(text.stdout, "--offline: nothing was sent to Chutes")
    assert.notInclude(text.stderr, "Checking")
  })

  it("CHUTES_API_KEY and CHUTES_OAUTH_TOKEN --offline: expiry none, not checked; online: accepted", async () => {
    const tokens = fake.issueTokens()
    secrets.add(tokens.access)
    secrets.add(tokens.refresh)
    const env = { CHUTES_API_KEY: fake.apiKey, CHUTES_OAUTH_TOKEN: tokens.access }
    const offline = await cli(makeHome(), ["auth", "status", "--json", "--offline"], env)
    assert.strictEqual(offline.code, 0, offline.stderr)
    assert.deepStrictEqual(decodeStatus(offline).credentials.map((c) => [c.source, c.expiry, c.check]), [
      ["env:CHUTES_API_KEY", "none", "not-checked"],
      ["env:CHUTES_OAUTH_TOKEN", "none", "not-checked"]
    ])
    const online = await cli(makeHome(), ["auth", "status", "--json"], env)
    assert.strictEqual(online.code, 0, online.stderr)
    assert.deepStrictEqual(decodeStatus(online).credentials.map((c) => [c.source, c.check, c.account]), [
      ["env:CHUTES_API_KEY", "accepted", "alice"],
      ["env:CHUTES_OAUTH_TOKEN", "accepted", "alice"]
    ])
  })
})

describe("auth status: each profile's place in the order", () => {
  it("auth.order.chutes in the config wins over CHUTES_AUTH_ORDER; the active profile follows it", async () => {
    const home = makeHome({
      "chutes:default": apiKeyProfile(rejectedKey),
      "chutes:alice": oauthProfile(),
      "chutes:work": oauthProfile()
    })
    const env = { CHUTES_AUTH_ORDER: "chutes:alice" }
    const byEnv = decodeStatus(await cli(home, ["auth", "status", "--json", "--offline"], env))
    assert.deepStrictEqual(byEnv.authOrder, { from: "env", ids: ["chutes:alice"] })
    assert.deepStrictEqual(byEnv.credentials.map((c) => [c.profileId, c.order]), [
      ["chutes:default", 3],
      ["chutes:alice", 1],
      ["chutes:work", 2]
    ])
    assert.strictEqual(byEnv.active, "profile:chutes:alice")

    writeFileSync(join(home.state, "config.json5"), `{ auth: { order: { chutes: ["chutes:default", "chutes:gone"] } } }`, {
      mode: 0o600
    })
    const json = await cli(home, ["auth", "status", "--json", "--offline"], env)
    const status = decodeStatus(json)
    assert.deepStrictEqual(status.authOrder, { from: "config", ids: ["chutes:default", "chutes:gone"] })
    assert.deepStrictEqual(status.credentials.map((c) => [c.profileId, c.order]), [
      ["chutes:default", 1],
      ["chutes:alice", 2],
      ["chutes:work", 3]
    ])
    assert.strictEqual(status.active, "profile:chutes:default")
    assert.include(json.stderr, "\"chutes:gone\", which is not a Chutes profile")

    const text = await cli(home, ["auth", "status", "--offline"], env)
    assert.match(lineOf(text, "profile:chutes:default"), /^\*\s+1\s+profile:chutes:default /)
    assert.match(lineOf(text, "profile:chutes:work"), /^\s+3\s+profile:chutes:work /)
    assert.include(text.stdout, "ORDER: chutes:default, chutes:gone first (from auth.order.chutes in the config)")
  })
})

describe("text from the service never reaches the terminal raw", () => {
  it("a profile id with terminal controls (a shared store is other hosts' text) is escaped in every command", async () => {
    const hostile = "chutes:x\u001b]0;PWNED\u0007\u001b[31m\u202e"
    const home = makeHome({ [hostile]: apiKeyProfile(fake.apiKey), "other:\u001b[2Jbulk": { provider: "other" } })
    const runs = [
      await cli(home, ["auth", "status"]),
      await cli(home, ["auth", "status", "--offline"]),
      await cli(home, ["auth", "logout", "--profile", "nosuch"]),
      await cli(home, ["auth", "cooldowns", "--profile", "nosuch"]),
      await cli(home, ["models", "list", "--profile", "nosuch"])
    ]
    for (const run of runs) {
      const text = run.stdout + run.stderr
      assert.notMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/, text)
    }
    assert.include(runs[0]!.stdout, "chutes:x\\u001b]0;PWNED\\u0007\\u001b[31m\\u202e")
    assert.include(runs[2]!.stderr, "stored: chutes:x\\u001b]0;PWNED")
  })

  it("a user name with terminal controls is escaped in onboard and auth status; exact in --json", async () => {
    const hostile = "mal\u001b]0;owned\u0007lory\u202e"
    const other = await FakeChutes.start({ username: hostile })
    try {
      const home = makeHome()
      const onboard = await cli(home, ["onboard", "--auth-choice", "chutes-api-key", "--non-interactive"], {
        CHUTES_API_KEY: other.apiKey
      }, other)
      assert.strictEqual(onboard.code, 0, onboard.stderr)
      assert.include(onboard.stdout, "Account: mal\\u001b]0;owned\\u0007lory\\u202e, balance")
      assert.notMatch(onboard.stdout, /[\u001b\u0007\u202e]/)

      const text = await cli(home, ["auth", "status"], {}, other)
      assert.strictEqual(text.code, 0, text.stderr)
      assert.include(text.stdout, "mal\\u001b]0;owned\\u0007lory\\u202e")
      assert.notMatch(text.stdout, /[\u001b\u0007\u202e]/)

      const json = await cli(home, ["auth", "status", "--json"], {}, other)
      assert.notMatch(json.stdout, /[\u001b\u0007\u202e]/)
      assert.strictEqual(byProfile(decodeStatus(json), "chutes:default").account, hostile)
    } finally {
      await other.close()
    }
  })
})

describe("a key no HTTP header can carry", () => {
  it("auth status: rejected, \"not sent\", exit 1, nothing sent; onboard refuses it and writes nothing", async () => {
    const key = "cpk_pasted\u0001with_a_control_character"
    const home = makeHome()
    const before = fake.counters
    const status = await cli(home, ["auth", "status"], { CHUTES_API_KEY: key })
    assert.strictEqual(status.code, 1, status.stdout + status.stderr)
    assert.match(lineOf(status, "env:CHUTES_API_KEY"), /rejected\s+The Chutes credential from env:CHUTES_API_KEY was rejected \(not sent: /)
    assert.notInclude(status.stdout + status.stderr, "the Chutes API refused")
    const onboard = await cli(home, ["onboard", "--auth-choice", "chutes-api-key", "--non-interactive"], { CHUTES_API_KEY: key })
    assert.strictEqual(onboard.code, 1)
    assert.include(onboard.stderr, "was rejected (not sent: it has spaces, control or non-ASCII characters")
    assert.notInclude(onboard.stderr, "key rejected: the Chutes API refused")
    assert.isFalse(existsSync(home.state), "nothing written")
    assert.strictEqual(fake.counters.models, before.models, "nothing sent")
  })
})

const smallDisk = mountSmallDisk(256)
const noSmallDisk = missingTool("the full-disk test of auth status", smallDisk)
afterAll(() => {
  if ("path" in smallDisk) unmountSmallDisk(smallDisk.path)
})

describe.skipIf(noSmallDisk !== undefined)("a full disk: the refresh token is not spent", () => {
  it("no refresh while the store cannot be written (a real ENOSPC), the store untouched; once freed, it refreshes", async () => {
    const disk = (smallDisk as { readonly path: string }).path
    {
      const home = { ...makeHome(), state: disk, store: join(disk, "auth-profiles.json") }
      const profile = oauthProfile({ expires: 1 })
      writeFileSync(home.store, JSON.stringify({ version: 1, profiles: { "chutes:alice": profile } }, null, 2), {
        mode: 0o600
      })
      const text = readFileSync(home.store, "utf8")
      const filler = fillDisk(disk)
      const before = fake.counters

      const full = await cli(home, ["auth", "status"])
      assert.strictEqual(fake.counters.tokenByGrant.refresh_token, before.tokenByGrant.refresh_token, "not refreshed")
      assert.strictEqual(readFileSync(home.store, "utf8"), text, "the store is as it was")
      assert.strictEqual(full.code, 1, full.stdout + full.stderr)
      assert.match(full.stdout + full.stderr, /ENOSPC|no space/i)
      assert.include(full.stdout + full.stderr, "was not refreshed")
      assert.include(lineOf(full, "profile:chutes:alice"), "not refreshed: the auth profile store could not be used")

      rmSync(filler)
      const freed = await cli(home, ["auth", "status"])
      assert.strictEqual(freed.code, 0, freed.stdout + freed.stderr)
      assert.strictEqual(fake.counters.tokenByGrant.refresh_token - before.tokenByGrant.refresh_token, 1)
      assert.strictEqual(fake.counters.invalidGrant, before.invalidGrant, "the stored refresh token was still good")
      const stored = JSON.parse(readFileSync(home.store, "utf8")).profiles["chutes:alice"]
      assert.notStrictEqual(stored.refresh, profile.refresh, "the rotated token is on disk")
      secrets.add(stored.access)
      secrets.add(stored.refresh)
    }
  })
})
