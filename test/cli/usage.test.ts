/**
 * `effect-chutes usage [--days N] [--per-model] [--json]` and `models list --stats` as a real subprocess (the esbuild
 * bundle) against FakeChutes over loopback, in a temporary home with no inherited CHUTES_* variables: the `--json`
 * documents decoded strictly, paging across UTC days, per-model grouping, the query the service gets, hostile server
 * text escaped, the stats' size cap, and the usage errors.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { ModelsListStatsOutput } from "../../src/cli/models.js"
import { UsageOutput, usageLines, usageOutput, usageWindow } from "../../src/cli/usage.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { fakeChutesForSuite, type Run, spawnCliAgainst } from "../support/cliProcess.js"

let fake: FakeChutes.FakeChutesServer

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}, server = fake): Promise<Run> => {
  return spawnCliAgainst(server, args, env).then((run) => {
    assert.notInclude(run.stdout + run.stderr, server.apiKey, "a secret was printed")
    return run
  })
}

/** A document decoded strictly: no field more, none less. */
const decode = <A, I>(schema: Schema.Schema<A, I>, run: Run): A => {
  assert.strictEqual(run.code, 0, run.stderr)
  const decoded = Schema.decodeUnknownEither(schema, { onExcessProperty: "error" })(JSON.parse(run.stdout))
  if (Either.isLeft(decoded)) assert.fail(String(decoded.left))
  return (decoded as Either.Right<I, A>).right
}

const DAY = 86_400_000
const today = Math.floor(Date.now() / DAY) * DAY
/** A naive UTC hour `days` days before today's 00:00 UTC, at `hour`. */
const hourOf = (days: number, hour: number): string => new Date(today - days * DAY + hour * 3_600_000).toISOString().slice(0, 19)
const dateOf = (days: number): string => new Date(today - days * DAY).toISOString().slice(0, 10)

const row = (bucket: string, chute: string, count: number, amount = 0) => ({
  bucket,
  chute_id: chute,
  amount,
  count,
  input_tokens: count * 100,
  output_tokens: count * 10
})

const chuteA = "0d7184a2-32a3-53e0-9607-058c37edaab5"
const chuteB = "8a7b1b35-9f0e-5f5b-bf0b-3c2f2e1e0a11"

/** 30 hours of calls on each of today, yesterday and the day before (90 hourly rows of chute A, 3 of chute B). */
const busyUsage = [
  ...[0, 1, 2].flatMap((days) =>
    Array.from({ length: 24 }, (_, hour) => row(hourOf(days, hour), chuteA, 1, 0.001))
  ),
  row(hourOf(0, 3), chuteB, 5, 0.25),
  row(hourOf(1, 3), chuteB, 2, 0.1),
  // Outside a 3-day window: must not count.
  row(hourOf(3, 5), chuteA, 100, 9)
]

fakeChutesForSuite({}, (started) => (fake = started))

const usageQueries = () =>
  fake.requests.filter((r) => r.path.startsWith("/users/me/usage")).map((r) => new URL(r.path, fake.url).searchParams)

describe("effect-chutes usage --json", () => {
  it("sums the hourly buckets per UTC day, paging through them; sends naive UTC start_date / end_date", async () => {
    fake.reset()
    fake.account.set({ usage: busyUsage, llmStats: null })
    const output = decode(UsageOutput, await cli(["usage", "--days", "3", "--json"]))
    assert.deepStrictEqual(output, {
      timeZone: "UTC",
      from: dateOf(2),
      to: dateOf(0),
      perModel: false,
      total: { requests: 79, inputTokens: 7900, outputTokens: 790, usd: 0.422 },
      days: [
        { date: dateOf(2), requests: 24, inputTokens: 2400, outputTokens: 240, usd: 0.024, models: null },
        { date: dateOf(1), requests: 26, inputTokens: 2600, outputTokens: 260, usd: 0.124, models: null },
        { date: dateOf(0), requests: 29, inputTokens: 2900, outputTokens: 290, usd: 0.274, models: null }
      ],
      models: null
    })
    // 72 hours summed by the service, 24 per page: three pages, each with the same declared filters only.
    const queries = usageQueries()
    assert.deepStrictEqual(queries.map((q) => q.get("page")), ["0", "1", "2"])
    for (const query of queries) {
      assert.deepStrictEqual([...query.keys()].sort(), ["end_date", "limit", "page", "start_date"])
      assert.strictEqual(query.get("start_date"), `${dateOf(2)}T00:00:00`)
      assert.strictEqual(query.get("end_date"), `${dateOf(-1)}T00:00:00`)
    }
  })

  it("--per-model: per chute and day, named from the public stats; per chute for the window", async () => {
    fake.reset()
    fake.account.set({
      usage: busyUsage,
      llmStats: [
        { chute_id: chuteA, name: "deepseek-ai/DeepSeek-V3.2-TEE", date: dateOf(1), total_requests: 1 },
        { chute_id: chuteA, name: "deepseek-ai/DeepSeek-V3.1-TEE", date: dateOf(3), total_requests: 1 },
        { chute_id: chuteB, name: "[private]", date: dateOf(0), average_tps: 0, average_ttft: 0 }
      ]
    })
    const output = decode(UsageOutput, await cli(["usage", "--days", "2", "--per-model", "--json"]))
    assert.strictEqual(output.perModel, true)
    assert.deepStrictEqual(output.models, [
      { chuteId: chuteA, model: "deepseek-ai/DeepSeek-V3.2-TEE", requests: 48, inputTokens: 4800, outputTokens: 480, usd: 0.048 },
      { chuteId: chuteB, model: null, requests: 7, inputTokens: 700, outputTokens: 70, usd: 0.35 }
    ])
    assert.deepStrictEqual(output.days.map((d) => d.models?.map((m) => [m.chuteId, m.requests])), [
      [[chuteA, 24], [chuteB, 2]],
      [[chuteA, 24], [chuteB, 5]]
    ])
    assert.deepStrictEqual(output.total, { requests: 55, inputTokens: 5500, outputTokens: 550, usd: 0.398 })
    const queries = usageQueries()
    assert.isTrue(queries.length >= 3, "per chute: 50 rows over 24 per page")
    assert.isTrue(queries.every((q) => q.get("per_chute") === "true"))
  })

  it("days without calls are zeros; an account without usage is all zeros", async () => {
    fake.account.set({ usage: [] })
    const output = decode(UsageOutput, await cli(["usage", "--json"]))
    assert.strictEqual(output.days.length, 7)
    assert.strictEqual(output.to, dateOf(0))
    assert.isTrue(output.days.every((d) => d.requests === 0 && d.usd === 0))
  })

  it("the buckets of the fake's own chat calls show up today", async () => {
    fake.account.set({ usage: [] })
    const chat = await fetch(`${fake.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "deepseek-ai/DeepSeek-V3.2-TEE", messages: [{ role: "user", content: "hi" }] })
    })
    assert.strictEqual(chat.status, 200)
    await chat.text()
    const output = decode(UsageOutput, await cli(["usage", "--days", "1", "--json"]))
    assert.strictEqual(output.total.requests, 1)
    assert.strictEqual(output.days[0]?.date, dateOf(0))
  })
})

describe("effect-chutes usage (text)", () => {
  it("labelled UTC, one row per day, no bars without a terminal", async () => {
    fake.account.set({ usage: busyUsage })
    const run = await cli(["usage", "--days", "3"])
    assert.strictEqual(run.code, 0, run.stderr)
    const lines = run.stdout.trimEnd().split("\n")
    assert.match(lines[0] ?? "", /^usage per UTC day, \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d \(USD = charged/)
    assert.match(lines[2] ?? "", /^day \(UTC\)\s+requests\s+input tokens\s+output tokens\s+USD$/)
    assert.match(lines[3] ?? "", new RegExp(`^${dateOf(2)}\\s+24\\s+2,400\\s+240\\s+\\$0\\.0240$`))
    assert.match(lines[6] ?? "", /^total\s+79\s+7,900\s+790\s+\$0\.4220$/)
    assert.notMatch(run.stdout, /[█░]/)
  })

  it("a month of 0.1 amounts adds up to what it is: 724, not 724.0000000001", () => {
    const window = usageWindow(Date.UTC(2026, 5, 30, 12), 31)
    const buckets = Array.from({ length: 31 * 24 * 10 - 200 }, (_, i) => ({
      bucket: new Date(window.since.getTime() + Math.floor(i / 10) * 3_600_000),
      chuteId: `chute-${i % 10}`,
      amount: 0.1,
      count: 1,
      inputTokens: 1,
      outputTokens: 1
    }))
    const output = usageOutput(buckets, window, true, new Map())
    assert.strictEqual(output.total.requests, 7240)
    assert.strictEqual(output.total.usd, 724)
    for (const model of output.models ?? []) assert.strictEqual(model.usd, Number((model.requests / 10).toFixed(1)))
  })

  it("bars in a terminal (the renderer with bars on)", () => {
    const window = usageWindow(Date.UTC(2026, 5, 11, 12), 2)
    const output = usageOutput(
      [
        { bucket: new Date(Date.UTC(2026, 5, 11, 1)), chuteId: undefined, amount: 0, count: 4, inputTokens: 1, outputTokens: 1 },
        { bucket: new Date(Date.UTC(2026, 5, 10, 1)), chuteId: undefined, amount: 0, count: 1, inputTokens: 1, outputTokens: 1 }
      ],
      window,
      false
    )
    const lines = usageLines(output, true)
    assert.match(lines[3] ?? "", /2026-06-10 .* \$0\.00 {2}███░{9}$/)
    assert.match(lines[4] ?? "", /2026-06-11 .* \$0\.00 {2}█{12}$/)
    assert.notMatch(usageLines(output, false).join("\n"), /[█░]/)
  })

  it("hostile chute ids and model names never reach the terminal raw", async () => {
    const evil = "evil\u001b]0;pwned\u0007\u202Egnp.exe\u009b"
    fake.account.set({
      usage: [row(hourOf(0, 1), evil, 3), row(hourOf(0, 2), chuteB, 1)],
      llmStats: [{ chute_id: chuteB, name: `model\u001b[2J${evil}`, date: dateOf(0) }]
    })
    const text = await cli(["usage", "--days", "1", "--per-model"])
    assert.strictEqual(text.code, 0, text.stderr)
    assert.notMatch(text.stdout + text.stderr, /[\u001b\u0007\u202e\u009b]/)
    assert.include(text.stdout, "evil\\u001b]0;pwned\\u0007")
    const json = await cli(["usage", "--days", "1", "--per-model", "--json"])
    assert.notMatch(json.stdout, /[\u001b\u0007\u202e\u009b]/)
    const output = decode(UsageOutput, json)
    assert.deepStrictEqual(output.models?.map((m) => [m.chuteId, m.model]), [
      [evil, null],
      [chuteB, `model\u001b[2J${evil}`]
    ])
  })

  it("model names unavailable: a note, the chute ids, exit 0", async () => {
    fake.account.set({ usage: [row(hourOf(0, 1), chuteA, 3)], llmStats: null })
    fake.fault({ _tag: "Status", route: "stats", status: 404 })
    try {
      const run = await cli(["usage", "--days", "1", "--per-model"])
      assert.strictEqual(run.code, 0, run.stderr)
      assert.include(run.stderr, "note: model names unavailable")
      assert.include(run.stdout, chuteA)
    } finally {
      fake.clearFaults("stats")
    }
  })
})

describe("effect-chutes usage: errors", () => {
  it("--days outside 1..31 is a usage error (exit 2), no request", async () => {
    fake.reset()
    for (const days of ["0", "32"]) {
      const run = await cli(["usage", "--days", days])
      assert.strictEqual(run.code, 2, run.stderr)
      assert.include(run.stderr, "--days takes a whole number from 1 to 31")
    }
    assert.strictEqual(fake.counters.account, 0)
  })

  it("a scoped key: exit 1, says it may not read the account", async () => {
    const scopedKey = "cpk_" + "1".repeat(32) + "." + "2".repeat(32) + "." + "S".repeat(32)
    const scoped = await FakeChutes.start({ scopedApiKeys: [scopedKey] })
    try {
      const run = await cli(["usage", "--json"], { CHUTES_API_KEY: scopedKey }, scoped)
      assert.strictEqual(run.code, 1)
      assert.strictEqual(run.stdout, "")
      assert.include(run.stderr, "may not read the account")
    } finally {
      await scoped.close()
    }
  })
})

describe("effect-chutes models list --stats", () => {
  it("--json: the models list document plus `stats` for the listed models, decoded strictly", async () => {
    fake.reset()
    fake.account.set({ llmStats: null })
    const output = decode(ModelsListStatsOutput, await cli(["models", "list", "--stats", "--json"]))
    assert.strictEqual(output.source, "live")
    assert.isNotNull(output.stats)
    assert.strictEqual(output.stats?.length, output.models.length)
    assert.deepStrictEqual(output.stats!.map((s) => s.ref), output.models.map((m) => m.ref))
    const first = output.stats!.find((s) => s.requests === 1000)
    assert.strictEqual(first?.date, dateOf(0))
    assert.strictEqual(first?.averageTtftSeconds, 0.5)
    assert.strictEqual(first?.averageTps, 20)
    assert.strictEqual(fake.counters.stats, 1)
    // Public: sent without the credential.
    const request = fake.requests.find((r) => r.route === "stats")
    assert.isUndefined(request?.headers["authorization"])
  })

  it("text: the stats table after the models; 0 averages shown as not measured", async () => {
    fake.account.set({
      llmStats: [
        { chute_id: "c1", name: "Qwen/Qwen3-32B-TEE", date: dateOf(1), total_requests: 5, average_tps: 3, average_ttft: 9 },
        { chute_id: "c1", name: "Qwen/Qwen3-32B-TEE", date: dateOf(0), total_requests: 1843221, average_tps: 41.27, average_ttft: 1.934 },
        { chute_id: "c2", name: "not-listed/Model", date: dateOf(0), total_requests: 1, average_tps: 1, average_ttft: 1 },
        { chute_id: "c3", name: "deepseek-ai/DeepSeek-V3.2-TEE", date: dateOf(0), average_tps: 0, average_ttft: 0 }
      ]
    })
    const run = await cli(["models", "list", "--stats"])
    assert.strictEqual(run.code, 0, run.stderr)
    const lines = run.stdout.trimEnd().split("\n")
    const start = lines.findIndex((line) => line.startsWith("platform-wide stats"))
    assert.isAbove(start, 3)
    const table = lines.slice(start + 3)
    assert.strictEqual(table.length, 2)
    assert.match(table.find((l) => l.includes("Qwen3-32B")) ?? "", new RegExp(`^chutes/Qwen/Qwen3-32B-TEE\\s+${dateOf(0)}\\s+1,843,221\\s+1\\.93 s\\s+41\\.3$`))
    assert.match(table.find((l) => l.includes("DeepSeek-V3.2")) ?? "", /\s0\s+-\s+-$/)
    assert.notInclude(run.stdout, "not-listed")
  })

  it("without --stats: no stats request, no `stats` field", async () => {
    fake.reset()
    const run = await cli(["models", "list", "--json"])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.notProperty(JSON.parse(run.stdout), "stats")
    assert.strictEqual(fake.counters.stats, 0)
  })

  it("the size cap: a huge stats body is refused; the list still prints, `stats` null, a note", async () => {
    fake.reset()
    const huge = Array.from({ length: 20_000 }, (_, i) => ({
      chute_id: `chute-${i}`,
      name: `org/model-${i}`,
      date: dateOf(0),
      total_requests: i,
      total_input_tokens: i,
      total_output_tokens: i,
      average_tps: 1,
      average_ttft: 1
    }))
    fake.account.set({ llmStats: huge })
    try {
      const run = await cli(["models", "list", "--stats", "--json"])
      const output = decode(ModelsListStatsOutput, run)
      assert.isNull(output.stats)
      assert.isAbove(output.models.length, 0)
      assert.include(run.stderr, "note: no model stats")
      assert.include(run.stderr, "size cap")
    } finally {
      fake.account.set({ llmStats: null })
    }
  })

  it("--stats with --offline is a usage error (exit 2), whichever order", async () => {
    for (const args of [["models", "list", "--offline", "--stats"], ["models", "list", "--stats", "--offline", "--json"]]) {
      const run = await cli(args)
      assert.strictEqual(run.code, 2, run.stderr)
      assert.include(run.stderr, "--stats needs the network")
      assert.strictEqual(run.stdout, "")
    }
  })

  it("no credential at all: the public stats are still read", async () => {
    fake.reset()
    const run = await cli(["models", "list", "--stats", "--json"], { CHUTES_API_KEY: "" })
    const output = decode(ModelsListStatsOutput, run)
    assert.isNotNull(output.stats)
  })
})
