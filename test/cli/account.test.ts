/**
 * `effect-chutes account [--json]` as a real subprocess (the esbuild bundle) against FakeChutes over loopback, in a
 * temporary home with no inherited CHUTES_* variables: the `--json` document for each kind of account, the lines of
 * the text form, the scope errors, and server text that must not reach the terminal raw.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AccountOutput } from "../../src/cli/account.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { fakeChutesForSuite, type Run, spawnCliAgainst } from "../support/cliProcess.js"

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/account/${name}.json`, import.meta.url), "utf8"))

const scopedKey = "cpk_" + "1".repeat(32) + "." + "2".repeat(32) + "." + "S".repeat(32)

let fake: FakeChutes.FakeChutesServer

/** The CLI in a fresh home, with `env` (default: the fake's admin key, the API base under its main name). */
const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}, server = fake): Promise<Run> => {
  return spawnCliAgainst(server, args, env).then((run) => {
    for (const secret of [server.apiKey, scopedKey]) {
      assert.notInclude(run.stdout + run.stderr, secret, "a secret was printed")
    }
    return run
  })
}

/** The `--json` document, decoded strictly: no field more, none less. */
const decodeOutput = (run: Run): AccountOutput => {
  assert.strictEqual(run.code, 0, run.stderr)
  const decoded = Schema.decodeUnknownEither(AccountOutput, { onExcessProperty: "error" })(JSON.parse(run.stdout))
  if (Either.isLeft(decoded)) assert.fail(String(decoded.left))
  return decoded.right as AccountOutput
}

const nextMidnight = (): string => {
  const now = new Date()
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString()
}

/** A `+00:00` datetime `hours` from now, on the hour, like the service's `reset_at`. */
const resetIn = (hours: number): string =>
  new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + hours * 3_600_000).toISOString().replace(
    ".000Z",
    "+00:00"
  )

fakeChutesForSuite({ scopedApiKeys: [scopedKey] }, (started) => (fake = started))

describe("effect-chutes account --json", () => {
  it("a plan: quota with the next 00:00 UTC, both subscription windows", async () => {
    fake.account.set({
      balance: 14.0054,
      quotaUsage: { me: fixture("users_me_quota_usage") },
      subscription: fixture("users_me_subscription_usage_pro")
    })
    const output = decodeOutput(await cli(["account", "--json"]))
    assert.deepStrictEqual(output, {
      username: "alice",
      balance: 14.0054,
      quota: { total: 5000, used: 297, remaining: 4703, resetsAt: nextMidnight() },
      subscription: {
        fourHour: {
          usage: 0.1093,
          cap: 8.333333333333332,
          remaining: 8.224033333333333,
          resetsAt: "2026-06-11T20:00:00.000Z"
        },
        monthly: { usage: 4.7127, cap: 100, remaining: 95.2873, resetsAt: "2026-05-02T15:48:11.402Z" }
      }
    })
  })

  it("a free account: no quota (0 covers nothing), no subscription, an unknown balance", async () => {
    fake.account.set({
      balance: null,
      quotaUsage: { me: { quota: 0, used: 3 } },
      subscription: fixture("users_me_subscription_usage_none")
    })
    // The older name of the API base still works.
    const output = decodeOutput(
      await cli(["account", "--json"], { CHUTES_API_BASE_URL: "", CHUTES_IDP_BASE_URL: fake.idpBaseUrl })
    )
    assert.deepStrictEqual(output, { username: "alice", balance: null, quota: null, subscription: null })
  })

  it("an unlimited quota, a negative balance and an uncapped month", async () => {
    fake.account.set({
      balance: -0.059,
      quotaUsage: { me: fixture("users_me_quota_usage_unlimited") },
      subscription: fixture("users_me_subscription_usage_custom")
    })
    const output = decodeOutput(await cli(["account", "--json"]))
    assert.deepStrictEqual(output.quota, { total: "unlimited", used: 0, remaining: null, resetsAt: null })
    assert.strictEqual(output.balance, -0.059)
    assert.deepStrictEqual(output.subscription?.monthly, { uncapped: true })
    assert.strictEqual(output.subscription?.fourHour.resetsAt, "2026-06-11T16:00:00.000Z")
  })

  it("a fractional count is kept; remaining never goes below 0", async () => {
    fake.account.set({ quotaUsage: { me: { quota: 300, used: 300.4 } }, subscription: { subscription: false } })
    const output = decodeOutput(await cli(["account", "--json"]))
    assert.deepStrictEqual(output.quota, { total: 300, used: 300.4, remaining: 0, resetsAt: nextMidnight() })
  })
})

describe("effect-chutes account (text)", () => {
  it("each line only when the account has it; a reset date in the past said plainly", async () => {
    const fourHourReset = resetIn(2)
    fake.account.set({
      balance: 2.5,
      quotaUsage: { me: { quota: 2000, used: 12 } },
      subscription: {
        ...(fixture("users_me_subscription_usage_pro") as Record<string, unknown>),
        four_hour: { usage: 1, cap: 4, remaining: 3, reset_at: fourHourReset }
      }
    })
    const run = await cli(["account"])
    assert.strictEqual(run.code, 0, run.stderr)
    const lines = run.stdout.trimEnd().split("\n")
    assert.strictEqual(lines[0], "user: alice")
    assert.strictEqual(lines[1], "balance: $2.50")
    assert.match(lines[2] ?? "", /^quota today: 12 of 2000 requests used, 1988 left; resets 00:00 UTC \(in \d+/)
    assert.strictEqual(lines[3], "subscription:")
    assert.match(lines[4] ?? "", /^ {2}4-hour window: \$1\.00 of \$4\.00 used 25%, \$3\.00 left; resets \d\d:00 UTC \(in [12]h/)
    assert.match(lines[5] ?? "", /^ {2}monthly: .*reset date 2026-05-02 15:48 UTC has passed/)
    assert.strictEqual(lines.length, 6)
    assert.notInclude(run.stdout, "in -")

    fake.account.set({ balance: null, quotaUsage: { me: { quota: 0, used: 0 } }, subscription: { subscription: false } })
    const bare = await cli(["account"])
    assert.strictEqual(bare.code, 0, bare.stderr)
    assert.strictEqual(bare.stdout, "user: alice\n")
  })

  it("float dust is not money: no -$0.0000 balance, no negative left, no Infinity%; --json the same", async () => {
    const reset = resetIn(2)
    fake.account.set({
      // 0.3 - 0.1 - 0.2 in the service's floats; 300 - 299.9; a window a hair past its cap; one far past it.
      balance: -2.7755575615628914e-17,
      quotaUsage: { me: { quota: 300, used: 299.9 } },
      subscription: {
        subscription: true,
        four_hour: { usage: 8.330000000000002, cap: 8.33, remaining: -1.7763568394002505e-15, reset_at: reset },
        monthly: { usage: 1, cap: 1e-320, remaining: -1, reset_at: reset }
      }
    })
    const run = await cli(["account"])
    assert.strictEqual(run.code, 0, run.stderr)
    const lines = run.stdout.trimEnd().split("\n")
    assert.strictEqual(lines[1], "balance: $0.0000")
    assert.match(lines[2] ?? "", /^quota today: 299\.9 of 300 requests used, 0\.1 left;/)
    assert.match(lines[4] ?? "", /^ {2}4-hour window: \$8\.33 of \$8\.33 used 100%, \$0\.00 left;/)
    assert.match(lines[5] ?? "", /^ {2}monthly: \$1\.00 of \$0\.0000 used, \$0\.00 left;/)
    assert.notInclude(run.stdout, "Infinity")
    assert.notInclude(run.stdout, "-$")
    const output = decodeOutput(await cli(["account", "--json"]))
    assert.strictEqual(output.quota?.remaining, 0.1)
    assert.strictEqual(output.subscription?.fourHour.remaining, 0)
  })

  it("server text never reaches the terminal raw", async () => {
    const hostile = await FakeChutes.start({ username: "al\u001b]0;pwned\u0007ice\u202Egnp.exe\u009b" })
    try {
      const text = await cli(["account"], {}, hostile)
      assert.strictEqual(text.code, 0, text.stderr)
      assert.notMatch(text.stdout, /[\u001b\u0007\u202e\u009b]/)
      assert.include(text.stdout, "\\u001b")
      const json = await cli(["account", "--json"], {}, hostile)
      assert.notMatch(json.stdout, /[\u001b\u0007\u202e\u009b]/)
      assert.strictEqual(decodeOutput(json).username, "al\u001b]0;pwned\u0007ice\u202Egnp.exe\u009b")
    } finally {
      await hostile.close()
    }
  })

  it("a user name of 200,000 characters is cut short on the terminal", async () => {
    const hostile = await FakeChutes.start({ username: "u".repeat(200_000) })
    try {
      const text = await cli(["account"], {}, hostile)
      assert.strictEqual(text.code, 0, text.stderr)
      const line = text.stdout.split("\n").find((l) => l.startsWith("user: ")) ?? ""
      assert.strictEqual(line, `user: ${"u".repeat(120)}…`)
      assert.isBelow(text.stdout.length, 2_000)
    } finally {
      await hostile.close()
    }
  })
})

describe("effect-chutes account: who may read it", () => {
  it("a scoped API key: exit 1, says it may not read the account and what to do", async () => {
    const run = await cli(["account", "--json"], { CHUTES_API_KEY: scopedKey })
    assert.strictEqual(run.code, 1)
    assert.strictEqual(run.stdout, "")
    assert.include(run.stderr, "may not read the account")
    assert.include(run.stderr, "scoped key")
    assert.notInclude(run.stderr, "rejected")
  })

  it("an OAuth token without account:read or profile: exit 1, names the scope", async () => {
    const tokens = fake.issueTokens({ scope: "openid chutes:invoke billing:read" })
    const run = await cli(["account"], { CHUTES_API_KEY: "", CHUTES_OAUTH_TOKEN: tokens.access })
    assert.strictEqual(run.code, 1)
    assert.include(run.stderr, "account:read")
    assert.notInclude(run.stdout + run.stderr, tokens.access)
  })

  it("an OAuth token with the default scopes reads it", async () => {
    const tokens = fake.issueTokens()
    const run = await cli(["account", "--json"], { CHUTES_API_KEY: "", CHUTES_OAUTH_TOKEN: tokens.access })
    assert.strictEqual(decodeOutput(run).username, "alice")
  })

  it("the stored profiles in the config's auth order: the one that may read the account first", async () => {
    const state = mkdtempSync(join(tmpdir(), "chutes-account-order-"))
    const profiles = {
      "chutes:default": { type: "api_key", provider: "chutes", key: scopedKey },
      "chutes:admin": { type: "api_key", provider: "chutes", key: fake.apiKey }
    }
    writeFileSync(join(state, "auth-profiles.json"), JSON.stringify({ version: 1, profiles }), { mode: 0o600 })
    const env = { CHUTES_API_KEY: "", CHUTES_STATE_DIR: state, CHUTES_CONFIG_PATH: join(state, "config.json5") }
    const unordered = await cli(["account", "--json"], env)
    assert.strictEqual(unordered.code, 1, "without an order, the scoped key is tried (and may not read the account)")
    writeFileSync(join(state, "config.json5"), `{ auth: { order: { chutes: ["chutes:admin"] } } }`, { mode: 0o600 })
    const ordered = await cli(["account", "--json"], env)
    assert.strictEqual(decodeOutput(ordered).username, "alice")
  })
})
