/**
 * The account, what calls cost, and where the money went — offline, against FakeChutes on 127.0.0.1.
 *
 *   npx tsx examples/account.ts
 *
 * It reads the account (`ChutesAccount`: balance, today's quota), makes three chat calls through `@effect/ai` under
 * a `ChutesBudget`, prints what each cost (`ChutesLanguageModel.callCost`: tokens, list-price USD from the catalog,
 * covered by the daily quota or charged), meets a 402 as a typed kind, and prints the hourly usage table. The fake's
 * account is scripted so that the daily quota runs out on the third call. Against the real service the same program
 * runs over `NodeChutes.layer()` and `ChutesAccount.layer` with your credential (see docs/account.md).
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { ChutesAccount, ChutesCredentials, ChutesSettings } from "effect-chutes"
import { ChutesAiError, ChutesBudget, ChutesLanguageModel } from "effect-chutes/ai"
import { NodeChutes } from "effect-chutes/node"
import { FakeChutes } from "effect-chutes/testing"

const DEEPSEEK = "deepseek-ai/DeepSeek-V3.2-TEE"
const KIMI = "moonshotai/Kimi-K2.6-TEE"

const usd = (value: number | undefined, digits = 6): string => (value === undefined ? "?" : `$${value.toFixed(digits)}`)
const int = (value: number | undefined): string => (value === undefined ? "?" : value.toLocaleString("en-US"))

/** One line per call: the model, its tokens, its list-price value, and who pays. */
const costLine = (method: string, cost: ChutesLanguageModel.CallCost | undefined): string => {
  if (cost === undefined) return `  ${method}: no cost reported`
  const quota = cost.quota !== undefined ? ` (quota ${cost.quota.used}/${cost.quota.total} used before it)` : ""
  return `  ${cost.model.padEnd(30)} ${method.padEnd(12)} ${int(cost.inputTokens)} in (${int(cost.cachedInputTokens)} ` +
    `cached) · ${int(cost.outputTokens)} out · ${usd(cost.usd)} list (${cost.priceSource} prices) · ` +
    (cost.quotaCovered ? "covered by the daily quota" : `charged ${usd(cost.chargedUsd)}`) + quota
}

const generate = (model: string, prompt: string) =>
  LanguageModel.generateText({ prompt }).pipe(
    Effect.map((response) => costLine("generateText", ChutesLanguageModel.callCost(response))),
    Effect.provide(ChutesLanguageModel.layer({ model }))
  )

const stream = (model: string, prompt: string) =>
  LanguageModel.streamText({ prompt }).pipe(
    Stream.runCollect,
    Effect.map((parts) => costLine("streamText", ChutesLanguageModel.callCost(parts))),
    Effect.provide(ChutesLanguageModel.layer({ model }))
  )

/** The hourly buckets per chute, with the model names of the public stats. */
const usageTable = Effect.gen(function*() {
  const account = yield* ChutesAccount.ChutesAccount
  const names = new Map((yield* account.llmStats()).map((row) => [row.chuteId, row.name]))
  const buckets = yield* account.usage({ perChute: true }).pipe(Stream.runCollect)
  const lines = [
    `  ${"hour (UTC)".padEnd(20)} ${"model".padEnd(30)} ${"requests".padStart(8)} ${"in".padStart(7)} ` +
    `${"out".padStart(5)} ${"charged".padStart(10)}`
  ]
  for (const bucket of buckets) {
    lines.push(
      `  ${bucket.bucket.toISOString().slice(0, 16).replace("T", " ").padEnd(20)} ` +
        `${(names.get(bucket.chuteId ?? "") ?? bucket.chuteId ?? "?").padEnd(30)} ${String(bucket.count).padStart(8)} ` +
        `${int(bucket.inputTokens).padStart(7)} ${int(bucket.outputTokens).padStart(5)} ${usd(bucket.amount).padStart(10)}`
    )
  }
  return lines.join("\n")
})

const main = Effect.gen(function*() {
  const fake = yield* FakeChutes.make()
  // An account with $2.50 and a daily quota of 300 requests, 298 used today: two more calls are covered.
  fake.account.set({ balance: 2.5, quotaUsage: { me: { quota: 300, used: 298 } } })
  fake.chat.script(
    { model: DEEPSEEK, content: "A TEE is an isolated part of a processor.", usage: { prompt_tokens: 1200, completion_tokens: 150 } },
    {
      model: KIMI,
      content: "Attestation proves which code runs inside.",
      usage: { prompt_tokens: 3000, completion_tokens: 400, prompt_tokens_details: { cached_tokens: 2000 } }
    },
    {
      model: DEEPSEEK,
      content: "Both, briefly.",
      usage: { prompt_tokens: 1200, completion_tokens: 90, prompt_tokens_details: { cached_tokens: 1000 } }
    }
  )
  yield* Console.log(`(offline: FakeChutes on ${fake.baseUrl})\n`)

  const credential = ChutesCredentials.make({ kind: "api_key", source: "example", secret: fake.apiKey })
  const account = ChutesAccount.layer.pipe(
    Layer.provide(Layer.mergeAll(
      ChutesCredentials.layerStatic(credential),
      ChutesSettings.layer({ baseUrl: fake.baseUrl, idpBaseUrl: fake.idpBaseUrl, diskCachePath: false }),
      NodeHttpClient.layerUndici
    ))
  )
  const provider = NodeChutes.layer({
    credential: { apiKey: Redacted.make(fake.apiKey) },
    settings: { baseUrl: fake.baseUrl, idpBaseUrl: fake.idpBaseUrl, diskCachePath: false }
  }).pipe(Layer.orDie)

  const program = Effect.gen(function*() {
    const chutes = yield* ChutesAccount.ChutesAccount
    const me = yield* chutes.me
    const today = yield* chutes.quotaUsage("me")
    const reset = ChutesAccount.nextQuotaReset(Date.now())
    yield* Console.log(
      `account: ${me.username} · balance ${usd(me.balance ?? undefined, 4)} · today's quota ${today.used} of ` +
        `${today.quota} requests used, resets ${reset.toISOString().slice(0, 16).replace("T", " ")} UTC\n`
    )

    yield* Console.log("calls:")
    yield* Console.log(yield* generate(DEEPSEEK, "What is a TEE?"))
    yield* Console.log(yield* stream(KIMI, "What does attestation prove?"))
    yield* Console.log(yield* generate(DEEPSEEK, "Both, in one line."))
    const budget = yield* ChutesBudget.ChutesBudget
    yield* Console.log(
      `budget: ${usd(yield* budget.spent)} of ${usd(budget.limitUsd, 2)} spent (list-price value, this process)\n`
    )

    // A refusal of the gateway, as a kind to match on.
    fake.fault({ _tag: "Refusal", route: "chat", refusal: "QuotaExceeded", times: 1 })
    const refused = yield* generate(DEEPSEEK, "One more?").pipe(Effect.flip)
    yield* Console.log(`a refused call: kind ${ChutesAiError.kind(refused)} — ${refused.description}\n`)

    yield* Console.log("usage (per UTC hour and chute):")
    yield* Console.log(yield* usageTable)
    const after = yield* chutes.me
    yield* Console.log(`\nbalance now: ${usd(after.balance ?? undefined, 6)}`)
  })

  yield* program.pipe(
    Effect.provide(Layer.mergeAll(account, provider, ChutesBudget.layer({ usd: 0.01 })))
  )
})

main.pipe(
  Effect.scoped,
  Effect.catchIf(AiError.isAiError, (error) =>
    Console.error(`Chutes call failed (${ChutesAiError.kind(error) ?? error._tag}): ${error.description}`).pipe(
      Effect.zipRight(Effect.sync(() => (process.exitCode = 1)))
    )),
  // The fake's catalog lacks some built-in models and the provider notes it: not news here.
  Logger.withMinimumLogLevel(LogLevel.Error),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
