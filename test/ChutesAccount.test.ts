/**
 * `ChutesAccount` over loopback against FakeChutes' account routes: every body shape the live API sends (the bodies
 * of test/fixtures/account/, built from the Chutes server's code), the scope errors, paging of the usage buckets, and
 * the bounds (size cap, deadline, retries).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { readFileSync } from "node:fs"
import * as ChutesAccount from "../src/ChutesAccount.js"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import { AccountError } from "../src/ChutesError.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import { parseUtc } from "../src/internal/accountWire.js"
import * as FakeChutes from "../src/testing/FakeChutes.js"

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/account/${name}.json`, import.meta.url), "utf8"))

/** A well-formed API key the fake does not know. */
const unknownKey = "cpk_" + "a".repeat(32) + "." + "b".repeat(32) + "." + "C".repeat(32)
const scopedKey = "cpk_" + "1".repeat(32) + "." + "2".repeat(32) + "." + "S".repeat(32)

type Credential = { readonly kind: "api_key" | "oauth"; readonly secret: string }

/** The account service against `fake`, with `credential` (default: the fake's admin key). */
const accountLayer = (
  fake: FakeChutes.FakeChutesServer,
  options: { readonly credential?: Credential; readonly settings?: ChutesSettings.Options } = {}
) => {
  const credential = options.credential ?? { kind: "api_key", secret: fake.apiKey }
  return ChutesAccount.layer.pipe(
    Layer.provide(Layer.mergeAll(
      NodeHttpClient.layerUndici,
      ChutesCredentials.layerStatic(ChutesCredentials.make({ ...credential, source: "test" })),
      ChutesSettings.layer({
        baseUrl: fake.baseUrl,
        idpBaseUrl: fake.idpBaseUrl,
        diskCachePath: false,
        retry: { maxRetries: 0 },
        ...options.settings
      })
    ))
  )
}

const withAccount = <A, E>(
  fake: FakeChutes.FakeChutesServer,
  use: (account: ChutesAccount.Service) => Effect.Effect<A, E>,
  options: Parameters<typeof accountLayer>[1] = {}
) => Effect.flatMap(ChutesAccount.ChutesAccount, use).pipe(Effect.provide(accountLayer(fake, options)))

const accountRequests = (fake: FakeChutes.FakeChutesServer) => fake.requests.filter((r) => r.route === "account")

const failure = <A>(exit: Either.Either<A, unknown>): AccountError => {
  assert.isTrue(Either.isLeft(exit), "expected a failure")
  const error = (exit as Either.Left<unknown, A>).left
  assert.instanceOf(error, AccountError)
  return error as AccountError
}

describe("datetimes", () => {
  it("naive, Z and +00:00 are the same instant; fractions of any length", () => {
    const expected = Date.UTC(2026, 5, 11, 16, 0, 0, 513)
    for (const text of ["2026-06-11T16:00:00.513204", "2026-06-11T16:00:00.513204Z", "2026-06-11T16:00:00.513+00:00"]) {
      assert.strictEqual(parseUtc(text)?.getTime(), expected, text)
    }
    assert.strictEqual(parseUtc("2026-06-11T18:00:00+02:00")?.getTime(), Date.UTC(2026, 5, 11, 16))
    assert.isUndefined(parseUtc("yesterday"))
    assert.isUndefined(parseUtc("2026-13-45T99:00:00"))
    // Days and times that do not exist are refused, not moved to another date.
    for (const text of ["2027-02-30T00:00:00", "2026-04-31", "2027-02-29T12:00:00Z", "2026-06-11T24:00:00", "2026-06-11T12:60:00"]) {
      assert.isUndefined(parseUtc(text), text)
    }
    assert.strictEqual(parseUtc("2028-02-29T23:59:59Z")?.getTime(), Date.UTC(2028, 1, 29, 23, 59, 59))
    // Python's datetime.min, a common placeholder: years below 100 are years, not 19xx.
    assert.strictEqual(parseUtc("0001-01-01T00:00:00")?.toISOString(), "0001-01-01T00:00:00.000Z")
    assert.strictEqual(parseUtc("0099-12-31T23:59:59Z")?.toISOString(), "0099-12-31T23:59:59.000Z")
  })

  it("nextQuotaReset is the next 00:00 UTC", () => {
    assert.strictEqual(
      ChutesAccount.nextQuotaReset(Date.UTC(2026, 5, 11, 14, 30)).toISOString(),
      "2026-06-12T00:00:00.000Z"
    )
    assert.strictEqual(
      ChutesAccount.nextQuotaReset(new Date(Date.UTC(2026, 11, 31, 0, 0))).toISOString(),
      "2027-01-01T00:00:00.000Z"
    )
  })
})

describe("ChutesAccount.me", () => {
  it.scopedLive("the live body decodes", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Body", route: "account", status: 200, body: JSON.stringify(fixture("users_me")) })
      const me = yield* withAccount(fake, (account) => account.me)
      assert.deepStrictEqual([me.username, me.balance], ["alice", 14.0054])
    }))

  it.scopedLive("user name, id, balance and creation date (a `Z` datetime)", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ username: "alice" })
      const me = yield* withAccount(fake, (account) => account.me)
      assert.strictEqual(me.username, "alice")
      assert.strictEqual(me.userId, "8f14e45f-ceea-567a-9a36-9b8f2b1f0c3d")
      assert.strictEqual(me.balance, 14.0054)
      assert.strictEqual(me.createdAt?.toISOString(), "2025-09-14T18:22:07.513Z")
      const [request] = accountRequests(fake)
      assert.strictEqual(request?.path, "/users/me")
      assert.strictEqual(request?.headers["authorization"], `Bearer ${fake.apiKey}`)
    }))

  it.scopedLive("a negative balance and a null balance", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { balance: -0.059 } })
      assert.strictEqual((yield* withAccount(fake, (account) => account.me)).balance, -0.059)
      fake.account.set({ balance: null })
      assert.isNull((yield* withAccount(fake, (account) => account.me)).balance)
    }))
})

describe("ChutesAccount.quotas", () => {
  it.scopedLive("a list of rows (naive datetimes), {} and a dict", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { quotas: fixture("users_me_quotas_pro") } })
      const rows = yield* withAccount(fake, (account) => account.quotas)
      assert.strictEqual(rows.length, 1)
      assert.strictEqual(rows[0]?.chuteId, "*")
      assert.strictEqual(rows[0]?.quota, 5000)
      assert.isTrue(rows[0]?.isDefault)
      assert.strictEqual(rows[0]?.effectiveDate?.toISOString(), "2026-04-02T15:48:11.402Z")
      assert.isUndefined(rows[0]?.paymentRefreshDate)

      fake.account.set({ quotas: fixture("users_me_quotas_free_or_invoiced") })
      assert.deepStrictEqual(yield* withAccount(fake, (account) => account.quotas), [])

      fake.account.set({ quotas: { "*": 200, "0d7184a2-32a3-53e0-9607-058c37edaab5": 5 } })
      const dict = yield* withAccount(fake, (account) => account.quotas)
      assert.deepStrictEqual(
        dict.map((q) => [q.chuteId, q.quota, q.isDefault]),
        [["*", 200, true], ["0d7184a2-32a3-53e0-9607-058c37edaab5", 5, false]]
      )
    }))

  it.scopedLive("a quota of 0 is kept as 0 (nothing covered), not read as unlimited", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { quotas: fixture("users_me_quotas_new_account") } })
      const rows = yield* withAccount(fake, (account) => account.quotas)
      assert.strictEqual(rows[0]?.quota, 0)
    }))
})

describe("ChutesAccount.quotaUsage", () => {
  it.scopedLive("a number, \"unlimited\", fractional use, and an unknown id (never 404)", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({
        account: {
          quotaUsage: {
            me: fixture("users_me_quota_usage"),
            "chute/with space": fixture("users_me_quota_usage_unlimited"),
            rerolled: { quota: 300, used: 12.3 }
          }
        }
      })
      const read = (id: string) => withAccount(fake, (account) => account.quotaUsage(id))
      assert.deepStrictEqual(yield* read("me"), { quota: 5000, used: 297 })
      assert.deepStrictEqual(yield* read("chute/with space"), { quota: "unlimited", used: 0 })
      assert.deepStrictEqual(yield* read("rerolled"), { quota: 300, used: 12.3 })
      assert.deepStrictEqual(yield* read("6c1b0a3e-0000-4000-8000-000000000000"), { quota: 5000, used: 0 })
      assert.strictEqual(accountRequests(fake)[1]?.path, "/users/me/quota_usage/chute%2Fwith%20space")
    }))
})

describe("ChutesAccount.subscriptionUsage", () => {
  it.scopedLive("no subscription: {\"subscription\": false}", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      assert.deepStrictEqual(yield* withAccount(fake, (account) => account.subscriptionUsage), { subscription: false })
    }))

  it.scopedLive("a plan: both windows, `+00:00` reset times, a monthly reset in the past kept as it is", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { subscription: fixture("users_me_subscription_usage_pro") } })
      const usage = yield* withAccount(fake, (account) => account.subscriptionUsage)
      assert.isTrue(usage.subscription)
      if (!usage.subscription) return
      assert.isFalse(usage.custom)
      assert.strictEqual(usage.monthlyPrice, 20)
      assert.strictEqual(usage.fourHour.cap, 8.333333333333332)
      assert.strictEqual(usage.fourHour.resetAt.toISOString(), "2026-06-11T20:00:00.000Z")
      assert.isFalse("uncapped" in usage.monthly)
      if ("uncapped" in usage.monthly) return
      assert.strictEqual(usage.monthly.remaining, 95.2873)
      assert.strictEqual(usage.monthly.resetAt.toISOString(), "2026-05-02T15:48:11.402Z")
      assert.strictEqual(usage.anchorDate?.toISOString(), "2026-04-02T15:48:11.402Z")
    }))

  it.scopedLive("a custom plan with an uncapped month", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { subscription: fixture("users_me_subscription_usage_custom") } })
      const usage = yield* withAccount(fake, (account) => account.subscriptionUsage)
      assert.isTrue(usage.subscription && usage.custom)
      assert.deepStrictEqual(usage.subscription ? usage.monthly : undefined, { uncapped: true })
    }))

  it.scopedLive("a shape the route never sends is a Decode error", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { subscription: { subscription: true, four_hour: null } } })
      const error = failure(yield* Effect.either(withAccount(fake, (account) => account.subscriptionUsage)))
      assert.strictEqual(error.reason, "Decode")
    }))
})

/** `count` hourly rows for two chutes, newest at 2026-06-11T23:00. */
const rows = (hours: number) =>
  Array.from({ length: hours }, (_, i) => {
    const bucket = new Date(Date.UTC(2026, 5, 11, 23 - i)).toISOString().slice(0, 19)
    return [
      { bucket, chute_id: "chute-a", amount: 0.01, count: 2, input_tokens: 100, output_tokens: 10 },
      { bucket, chute_id: "chute-b", amount: 0, count: 1, input_tokens: 50, output_tokens: 5 }
    ]
  }).flat()

describe("ChutesAccount.usage", () => {
  it.scopedLive("pages until (page+1)*limit >= total: 60 hours in pages of 24 are 3 requests, newest first", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { usage: rows(60) } })
      const buckets = yield* withAccount(fake, (account) => Stream.runCollect(account.usage({ pageSize: 24 })))
      const all = Chunk.toReadonlyArray(buckets)
      assert.strictEqual(all.length, 60)
      assert.strictEqual(all[0]?.bucket.toISOString(), "2026-06-11T23:00:00.000Z")
      assert.strictEqual(all[59]?.bucket.toISOString(), "2026-06-09T12:00:00.000Z")
      assert.deepStrictEqual(
        [all[0]?.count, all[0]?.amount, all[0]?.inputTokens, all[0]?.outputTokens, all[0]?.chuteId],
        [3, 0.01, 150, 15, undefined]
      )
      assert.deepStrictEqual(accountRequests(fake).map((r) => r.path), [
        "/users/me/usage?page=0&limit=24",
        "/users/me/usage?page=1&limit=24",
        "/users/me/usage?page=2&limit=24"
      ])
    }))

  it.scopedLive("per chute, since and until: only the declared parameters, dates as naive UTC", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { usage: rows(48) } })
      const buckets = yield* withAccount(fake, (account) =>
        Stream.runCollect(account.usage({
          perChute: true,
          since: new Date(Date.UTC(2026, 5, 11, 0)),
          until: new Date(Date.UTC(2026, 5, 11, 9, 59, 59, 999))
        })))
      const all = Chunk.toReadonlyArray(buckets)
      assert.strictEqual(all.length, 20)
      assert.deepStrictEqual(all.slice(0, 2).map((b) => b.chuteId), ["chute-a", "chute-b"])
      const paths = accountRequests(fake).map((r) => r.path)
      assert.strictEqual(paths.length, 1)
      const query = new URL(paths[0] ?? "", "http://x").searchParams
      assert.deepStrictEqual([...query.keys()].sort(), ["end_date", "limit", "page", "per_chute", "start_date"])
      assert.strictEqual(query.get("start_date"), "2026-06-11T00:00:00")
      assert.strictEqual(query.get("end_date"), "2026-06-11T09:59:59")
    }))

  it.scopedLive("the live bodies decode: an aggregate page (naive hours) and a per-chute page", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const raw = (name: string) =>
        fake.fault({ _tag: "Body", route: "account", status: 200, body: JSON.stringify(fixture(name)), times: 1 })
      // The aggregate page says 104 in all: the next page is asked for, and the (empty) account ends the stream.
      raw("users_me_usage_aggregate")
      const aggregate = Chunk.toReadonlyArray(
        yield* withAccount(fake, (account) => Stream.runCollect(account.usage()))
      )
      assert.deepStrictEqual(aggregate.map((b) => b.bucket.toISOString()), [
        "2026-06-11T14:00:00.000Z",
        "2026-06-10T03:00:00.000Z",
        "2026-06-08T16:00:00.000Z"
      ])
      assert.deepStrictEqual([aggregate[0]?.count, aggregate[0]?.inputTokens], [22, 351288])
      assert.strictEqual(accountRequests(fake).length, 2)
      raw("users_me_usage_per_chute")
      const perChute = Chunk.toReadonlyArray(
        yield* withAccount(fake, (account) => Stream.runCollect(account.usage({ perChute: true })))
      )
      assert.deepStrictEqual(perChute.map((b) => b.chuteId), [
        "0d7184a2-32a3-53e0-9607-058c37edaab5",
        "8a7b1b35-9f0e-5f5b-bf0b-3c2f2e1e0a11"
      ])
      assert.strictEqual(accountRequests(fake).length, 3)
    }))

  it.scopedLive("a server whose pages never end: the page it names, else maxBuckets, ends the stream with a typed error", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const items = rows(12)
      // Page 0 for every request, saying there are 10^15 buckets: a server that ignores `page`.
      fake.fault({ _tag: "Body", route: "account", status: 200, body: JSON.stringify({ total: 1e15, page: 0, limit: 24, items }) })
      const repeated = failure(yield* Effect.either(withAccount(fake, (account) => Stream.runCollect(account.usage()))))
      assert.strictEqual(repeated.reason, "Decode")
      assert.include(repeated.message, "page 0 came for page 1")
      assert.strictEqual(accountRequests(fake).length, 2)

      // The same without `page`: maxBuckets ends it.
      fake.reset()
      fake.fault({ _tag: "Body", route: "account", status: 200, body: JSON.stringify({ total: 1e15, limit: 24, items }) })
      const endless = failure(
        yield* Effect.either(withAccount(fake, (account) => Stream.runCollect(account.usage({ maxBuckets: 100 }))))
      )
      assert.strictEqual(endless.reason, "TooLarge")
      assert.include(endless.message, "more than 100 buckets")
      assert.strictEqual(accountRequests(fake).length, 5, "four pages of 24 read, the fifth would pass 100")
    }))

  it.scopedLive("an invalid since / until fails with InvalidOptions before any request", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { usage: rows(3) } })
      for (const options of [{ since: new Date(Number.NaN) }, { until: new Date("not a date") }]) {
        const error = failure(yield* Effect.either(withAccount(fake, (account) => Stream.runCollect(account.usage(options)))))
        assert.strictEqual(error.reason, "InvalidOptions")
        assert.include(error.message, `${"since" in options ? "since" : "until"} is an invalid Date`)
      }
      assert.strictEqual(accountRequests(fake).length, 0)
    }))

  it.scopedLive("a NaN, zero or negative maxBuckets / pageSize means the default, never no limit", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      // Pages of 10,000 buckets (`rows` gives two an hour) that never end: the default of 200,000 ends it at 21 pages.
      const body = JSON.stringify({ total: 1e15, limit: 24, items: rows(5_000) })
      for (const maxBuckets of [Number.NaN, 0, -5]) {
        fake.reset()
        fake.fault({ _tag: "Body", route: "account", status: 200, body })
        const usage = (account: ChutesAccount.Service) =>
          Stream.runCollect(account.usage({ maxBuckets, pageSize: Number.NaN }))
        const error = failure(yield* Effect.either(withAccount(fake, usage)))
        assert.strictEqual(error.reason, "TooLarge")
        assert.include(error.message, "more than 200000 buckets")
        assert.strictEqual(accountRequests(fake).length, 21)
        assert.include(accountRequests(fake)[0]?.path ?? "", "limit=24")
      }
    }), 60_000)

  it.scopedLive("a bucket that appears between two pages shifts the rest: none is counted twice", () =>
    Effect.gen(function*() {
      const before = rows(24) // 48 buckets, two pages of 24
      const fake = yield* FakeChutes.make({ account: { usage: before } })
      let pulled = 0
      const buckets = yield* withAccount(fake, (account) =>
        Stream.runCollect(account.usage({ perChute: true }).pipe(
          Stream.tap(() =>
            Effect.sync(() => {
              // After the first page: a first call to another chute this hour, newest of all.
              if (++pulled === 24) {
                fake.account.set({
                  usage: [
                    { bucket: "2026-06-12T00:00:00", chute_id: "chute-c", amount: 0.5, count: 7, input_tokens: 1, output_tokens: 1 },
                    ...before
                  ]
                })
              }
            })
          )
        )))
      const all = Chunk.toArray(buckets)
      const keys = all.map((b) => `${b.bucket.toISOString()} ${b.chuteId}`)
      assert.strictEqual(new Set(keys).size, keys.length, "a bucket came twice")
      assert.strictEqual(all.length, 48)
      assert.strictEqual(all.reduce((sum, b) => sum + b.count, 0), 24 * 3, "the counts of the 48 buckets, once each")
    }))

  it.scopedLive("a stream stops reading pages when the consumer stops", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { usage: rows(100) } })
      const first = yield* withAccount(fake, (account) => Stream.runCollect(Stream.take(account.usage(), 5)))
      assert.strictEqual(Chunk.size(first), 5)
      assert.strictEqual(accountRequests(fake).length, 1)
    }))

  it.scopedLive("an empty account is one request and no buckets", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const buckets = yield* withAccount(fake, (account) => Stream.runCollect(account.usage()))
      assert.strictEqual(Chunk.size(buckets), 0)
      assert.strictEqual(accountRequests(fake).length, 1)
    }))

  it.scopedLive("the fake answers 400 to an undeclared query parameter, like the live front", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const response = yield* Effect.promise(() =>
        fetch(`${fake.idpBaseUrl}/users/me/usage?page=0&limit=24&days=7`, {
          headers: { authorization: `Bearer ${fake.apiKey}` }
        })
      )
      assert.strictEqual(response.status, 400)
    }))
})

describe("who may read the account", () => {
  const detailOf = (fake: FakeChutes.FakeChutesServer, headers: Record<string, string>) =>
    Effect.promise(async () => {
      const response = await fetch(`${fake.idpBaseUrl}/users/me`, { headers })
      return [response.status, ((await response.json()) as { detail: string }).detail] as const
    })

  it.scopedLive("the fake's exact 401 and 403 strings", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ scopedApiKeys: [scopedKey] })
      const noScope = fake.issueTokens({ scope: "openid chutes:invoke billing:read" })
      assert.deepStrictEqual(yield* detailOf(fake, {}), [401, "Can't find a user with that api key in our db :("])
      assert.deepStrictEqual(
        yield* detailOf(fake, { "x-api-key": fake.apiKey }),
        [401, "Can't find a user with that api key in our db :("]
      )
      assert.deepStrictEqual(yield* detailOf(fake, { authorization: "Bearer garbage" }), [401, "Invalid token."])
      assert.deepStrictEqual(
        yield* detailOf(fake, { authorization: "Bearer cpk_short" }),
        [401, "Missing or invalid authorization header(s)"]
      )
      assert.deepStrictEqual(
        yield* detailOf(fake, { authorization: `Bearer ${unknownKey}` }),
        [401, "Invalid token or user not found"]
      )
      assert.deepStrictEqual(
        yield* detailOf(fake, { authorization: `Bearer ${scopedKey}` }),
        [401, "Invalid token or user not found"]
      )
      assert.deepStrictEqual(
        yield* detailOf(fake, { authorization: `Bearer ${noScope.access}` }),
        [403, "Token does not have permission for this resource"]
      )
      // The token is the last word of the header.
      assert.deepStrictEqual((yield* detailOf(fake, { authorization: fake.apiKey }))[0], 200)
    }))

  it.scopedLive("a scoped API key (401 here, accepted by /v1/models) is NotPermitted, with what to do", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ scopedApiKeys: [scopedKey] })
      const error = failure(
        yield* Effect.either(
          withAccount(fake, (account) => account.me, { credential: { kind: "api_key", secret: scopedKey } })
        )
      )
      assert.strictEqual(error.reason, "NotPermitted")
      assert.strictEqual(error.status, 401)
      assert.strictEqual(error.credential, "api_key")
      assert.include(error.message, "may not read the account")
      assert.include(error.message, "scoped key")
      assert.include(error.message, "admin API key")
      assert.notInclude(error.message, scopedKey)
      assert.strictEqual(fake.counters.models, 1)
    }))

  it.scopedLive("a key /v1/models rejects too is Unauthorized, not NotPermitted", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const error = failure(
        yield* Effect.either(
          withAccount(fake, (account) => account.me, { credential: { kind: "api_key", secret: unknownKey } })
        )
      )
      assert.strictEqual(error.reason, "Unauthorized")
      assert.include(error.message, "rejected")
      assert.notInclude(error.message, unknownKey)
    }))

  it.scopedLive("when the /v1/models check fails in passing (503, 429), the 401 stands: not called rejected", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ scopedApiKeys: [scopedKey] })
      for (const status of [503, 429]) {
        fake.fault({ _tag: "Status", route: "models", status, times: 1 })
        const error = failure(
          yield* Effect.either(
            withAccount(fake, (account) => account.me, { credential: { kind: "api_key", secret: scopedKey } })
          )
        )
        assert.strictEqual(error.reason, "HttpStatus")
        assert.strictEqual(error.status, 401)
        assert.include(error.message, `could not tell a scoped API key from a rejected one`)
        assert.include(error.message, `got HTTP ${status}; try again`)
        assert.notInclude(error.message, "rejected (HTTP 401)")
        assert.notInclude(error.message, scopedKey)
      }
      // Once the check answers, the verdict is the usual one.
      const scoped = failure(
        yield* Effect.either(withAccount(fake, (account) => account.me, { credential: { kind: "api_key", secret: scopedKey } }))
      )
      assert.strictEqual(scoped.reason, "NotPermitted")
    }))

  it.scopedLive("an OAuth token without account:read / profile is NotPermitted (403), with what to do", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const tokens = fake.issueTokens({ scope: "openid chutes:invoke billing:read" })
      const error = failure(
        yield* Effect.either(
          withAccount(fake, (account) => account.quotaUsage("me"), {
            credential: { kind: "oauth", secret: tokens.access }
          })
        )
      )
      assert.strictEqual(error.reason, "NotPermitted")
      assert.strictEqual(error.status, 403)
      assert.strictEqual(error.credential, "oauth")
      assert.include(error.message, "account:read")
      assert.include(error.message, "onboard --auth-choice chutes")
    }))

  it.scopedLive("OAuth tokens with the default scopes or account:read read the account", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      for (const scope of ["openid profile chutes:invoke", "account:read", "quota"]) {
        const tokens = fake.issueTokens({ scope })
        const me = yield* withAccount(fake, (account) => account.me, {
          credential: { kind: "oauth", secret: tokens.access }
        })
        assert.strictEqual(me.username, "alice", scope)
      }
    }))
})

describe("bounds", () => {
  it.scopedLive("a body over the size cap is TooLarge", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make({ account: { usage: rows(200) } })
      const error = failure(
        yield* Effect.either(
          withAccount(fake, (account) => Stream.runCollect(account.usage({ pageSize: 400 })), {
            settings: { maxResponseBytes: 4096 }
          })
        )
      )
      assert.strictEqual(error.reason, "TooLarge")
    }))

  it.scopedLive("an answer slower than the deadline is Timeout", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Delay", route: "account", millis: 2000 })
      const started = Date.now()
      const error = failure(
        yield* Effect.either(withAccount(fake, (account) => account.me, { settings: { requestTimeout: "200 millis" } }))
      )
      assert.strictEqual(error.reason, "Timeout")
      assert.isBelow(Date.now() - started, 1500)
    }))

  it.scopedLive("a body stalled mid-way is Timeout too (the deadline covers the body)", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "SlowDrip", route: "account", chunkBytes: 8, intervalMillis: 100 })
      const error = failure(
        yield* Effect.either(withAccount(fake, (account) => account.me, { settings: { requestTimeout: "300 millis" } }))
      )
      assert.strictEqual(error.reason, "Timeout")
    }))

  it.scopedLive("a transient 503 is retried under the retry policy; a 404 is not", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Status", route: "account", status: 503, times: 2 })
      const me = yield* withAccount(fake, (account) => account.me, {
        settings: { retry: { maxRetries: 3, baseDelay: "5 millis", maxDelay: "10 millis" } }
      })
      assert.strictEqual(me.username, "alice")
      assert.strictEqual(fake.counters.account, 3)

      fake.reset()
      fake.fault({ _tag: "Status", route: "account", status: 404 })
      const error = failure(
        yield* Effect.either(withAccount(fake, (account) => account.me, {
          settings: { retry: { maxRetries: 3, baseDelay: "5 millis", maxDelay: "10 millis" } }
        }))
      )
      assert.strictEqual(error.reason, "HttpStatus")
      assert.strictEqual(error.status, 404)
      assert.strictEqual(fake.counters.account, 1)

      fake.reset()
      fake.fault({ _tag: "Status", route: "account", status: 503 })
      const spent = failure(
        yield* Effect.either(withAccount(fake, (account) => account.me, {
          settings: { retry: { maxRetries: 2, baseDelay: "5 millis", maxDelay: "10 millis" } }
        }))
      )
      assert.deepStrictEqual([spent.reason, spent.status, spent.attempts], ["HttpStatus", 503, 3])
      assert.include(spent.message, "after 3 attempts")
    }))

  it.scopedLive("HTML error pages and cut-off JSON are typed errors, not defects", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({ _tag: "Html", route: "account", status: 502, times: 1 })
      const html = failure(yield* Effect.either(withAccount(fake, (account) => account.me)))
      assert.strictEqual(html.reason, "HttpStatus")
      assert.strictEqual(html.status, 502)
      fake.fault({ _tag: "MalformedJson", route: "account", times: 1 })
      const cut = failure(yield* Effect.either(withAccount(fake, (account) => account.me)))
      assert.strictEqual(cut.reason, "Decode")
    }))

  it.scopedLive("an answer of the wrong shape is Decode, naming the field and what came instead", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      fake.fault({
        _tag: "Body",
        route: "account",
        status: 200,
        body: JSON.stringify({ username: "alice", user_id: 5, balance: 1 }),
        times: 1
      })
      const error = failure(yield* Effect.either(withAccount(fake, (account) => account.me)))
      assert.strictEqual(error.reason, "Decode")
      assert.strictEqual(error.detail, "user_id: Expected string, actual 5")
      assert.notInclude(error.message, "readonly")
    }))

  it.scopedLive("an error body echoing a credential of no known shape: the credential is cut out of the detail", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const oddKey = "MyOwnGatewayKey" + "7c1e".repeat(6) + "Qx"
      for (const status of [401, 403, 500]) {
        fake.fault({ _tag: "Status", route: "account", status, body: { detail: `no access for ${oddKey}` }, times: 1 })
        const error = failure(
          yield* Effect.either(withAccount(fake, (account) => account.me, {
            credential: { kind: "oauth", secret: oddKey }
          }))
        )
        assert.strictEqual(error.status, status)
        assert.include(error.detail, "no access for <redacted>")
        assert.notInclude(`${error.message} ${JSON.stringify(error)}`, oddKey.slice(0, 12))
      }
    }))

  it.scopedLive("a server that cannot be reached is Transport", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      yield* Effect.promise(() => fake.close())
      const error = failure(yield* Effect.either(withAccount(fake, (account) => account.me)))
      assert.strictEqual(error.reason, "Transport")
    }))
})

describe("ChutesAccount.layerTest", () => {
  it.effect("fixed answers, usage filtered by since / until", () =>
    Effect.gen(function*() {
      const bucket = (hour: number): ChutesAccount.UsageBucket => ({
        bucket: new Date(Date.UTC(2026, 5, 11, hour)),
        chuteId: undefined,
        amount: 0,
        count: 1,
        inputTokens: 1,
        outputTokens: 1
      })
      const account = yield* ChutesAccount.ChutesAccount.pipe(
        Effect.provide(ChutesAccount.layerTest({ usage: [bucket(3), bucket(2), bucket(1)] }))
      )
      assert.strictEqual((yield* account.me).username, "test")
      const since = yield* Stream.runCollect(account.usage({ since: new Date(Date.UTC(2026, 5, 11, 2)) }))
      assert.strictEqual(Chunk.size(since), 2)
    }))
})
