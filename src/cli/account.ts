/**
 * `effect-chutes account [--json]`: the user, the balance, today's request quota and the subscription windows, each
 * line only when the account has it. Loaded lazily.
 *
 * @internal
 */
import type * as ValidationError from "@effect/cli/ValidationError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as AgentConfig from "../AgentConfig.js"
import * as ChutesAccount from "../ChutesAccount.js"
import * as ChutesCredentials from "../ChutesCredentials.js"
import type { AccountError, CredentialsError, StoreError } from "../ChutesError.js"
import { excerpt } from "../internal/redact.js"
import { warnOnce } from "../internal/warnOnce.js"
import * as NodeChutes from "../node/NodeChutes.js"
import type { GlobalOptions } from "./global.js"
import { useColor } from "./help.js"
import { configDefaults, servicesLayer } from "./layers.js"
import { pinned } from "./profile.js"
import { formatDuration, out, printJson, withProgress } from "./render.js"

// ---------------------------------------------------------------------------------------------------------------------
// The `--json` document (docs/cli.md)
// ---------------------------------------------------------------------------------------------------------------------

const Window = Schema.Struct({
  usage: Schema.Number,
  cap: Schema.Number,
  remaining: Schema.Number,
  resetsAt: Schema.String
})

/**
 * `effect-chutes account --json`. `quota` is null when no daily quota covers calls (quota 0: every call is
 * pay-as-you-go); `subscription` is null without a subscription.
 */
export const AccountOutput = Schema.Struct({
  username: Schema.String,
  balance: Schema.NullOr(Schema.Number),
  quota: Schema.NullOr(Schema.Struct({
    total: Schema.Union(Schema.Number, Schema.Literal("unlimited")),
    used: Schema.Number,
    remaining: Schema.NullOr(Schema.Number),
    resetsAt: Schema.NullOr(Schema.String)
  })),
  subscription: Schema.NullOr(Schema.Struct({
    fourHour: Window,
    monthly: Schema.Union(Window, Schema.Struct({ uncapped: Schema.Literal(true) }))
  }))
})

export type AccountOutput = typeof AccountOutput.Type

const windowOutput = (window: ChutesAccount.UsageWindow): typeof Window.Type => ({
  usage: window.usage,
  cap: window.cap,
  // Past the cap the service says a negative remaining: nothing is left.
  remaining: Math.max(0, window.remaining),
  resetsAt: window.resetAt.toISOString()
})

/** The document from what the service said, at `now` (epoch milliseconds). */
export const accountOutput = (
  me: ChutesAccount.Me,
  today: ChutesAccount.QuotaUsage,
  subscription: ChutesAccount.SubscriptionUsage,
  now: number
): AccountOutput => ({
  username: me.username,
  balance: me.balance,
  quota: today.quota === 0 ? null : today.quota === "unlimited"
    ? { total: "unlimited", used: today.used, remaining: null, resetsAt: null }
    : {
      total: today.quota,
      used: today.used,
      remaining: Math.max(0, tidy(today.quota - today.used)),
      resetsAt: ChutesAccount.nextQuotaReset(now).toISOString()
    },
  subscription: subscription.subscription
    ? {
      fourHour: windowOutput(subscription.fourHour),
      monthly: "uncapped" in subscription.monthly ? { uncapped: true } : windowOutput(subscription.monthly)
    }
    : null
})


// ---------------------------------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------------------------------

/** USD for people: cents, or four decimals below a dollar; a sign only when the rounded amount has one. */
export const usd = (value: number): string => {
  const digits = value !== 0 && Math.abs(value) < 1 ? 4 : 2
  const shown = Math.abs(value).toFixed(digits)
  return `${value < 0 && Number(shown) !== 0 ? "-" : ""}$${shown}`
}

/**
 * A sum or difference of the service's float amounts without its dust (`0.10000000000002274` for 0.1,
 * `724.0000000001` for 724): 12 significant digits, far past a cent, and past what thousands of additions leave of a
 * double's 15–17.
 */
export const tidy = (value: number): number => Number(value.toPrecision(12))

const count = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(1))

/** `[██████░░░░░░░░░░░░░░]`: the share of `cap` used, 20 cells. */
export const bar = (usage: number, cap: number): string => {
  const cells = 20
  const filled = cap > 0 ? Math.min(cells, Math.max(0, Math.round((usage / cap) * cells))) : cells
  return `[${"█".repeat(filled)}${"░".repeat(cells - filled)}]`
}

const utc = (date: Date, now: number): string => {
  const iso = date.toISOString()
  const time = `${iso.slice(11, 16)} UTC`
  return Math.abs(date.getTime() - now) < 86_400_000 ? time : `${iso.slice(0, 10)} ${time}`
}

/** When a window resets: in how long, or — for a reset date the service has not moved on yet — that it passed. */
const resets = (at: Date, now: number): string =>
  at.getTime() > now
    ? `resets ${utc(at, now)} (in ${formatDuration(at.getTime() - now)})`
    : `reset date ${utc(at, now)} has passed (the service has not moved it on yet)`

const windowLine = (name: string, window: ChutesAccount.UsageWindow, now: number, bars: boolean): string => {
  const ratio = window.usage / window.cap
  const share = window.cap > 0 && Number.isFinite(ratio) ? ` ${Math.round(ratio * 100)}%` : ""
  const shown = bars ? ` ${bar(window.usage, window.cap)}${share}` : share
  return `  ${name}: ${usd(window.usage)} of ${usd(window.cap)} used${shown}, ${usd(Math.max(0, window.remaining))} left; ` +
    resets(window.resetAt, now)
}

/** The lines for people; `bars` when stdout is a terminal without `NO_COLOR` (help.ts `useColor`). */
export const accountLines = (
  me: ChutesAccount.Me,
  today: ChutesAccount.QuotaUsage,
  subscription: ChutesAccount.SubscriptionUsage,
  now: number,
  bars: boolean
): ReadonlyArray<string> => {
  const lines = [`user: ${excerpt(me.username, 120)}`]
  if (me.balance !== null) {
    const balance = usd(me.balance)
    lines.push(`balance: ${balance}${balance.startsWith("-") ? " (below zero: pay-as-you-go calls went past it)" : ""}`)
  }
  if (today.quota === "unlimited") {
    lines.push(`quota today: unlimited (${count(today.used)} requests so far)`)
  } else if (today.quota > 0) {
    const reset = ChutesAccount.nextQuotaReset(now)
    lines.push(
      `quota today: ${count(today.used)} of ${today.quota} requests used, ` +
        `${count(Math.max(0, today.quota - today.used))} left; resets 00:00 UTC ` +
        `(in ${formatDuration(reset.getTime() - now)})`
    )
  }
  if (subscription.subscription) {
    lines.push(`subscription${subscription.custom ? " (custom)" : ""}:`)
    lines.push(windowLine("4-hour window", subscription.fourHour, now, bars))
    lines.push(
      "uncapped" in subscription.monthly
        ? "  monthly: uncapped"
        : windowLine("monthly", subscription.monthly, now, bars)
    )
  }
  return lines
}

// ---------------------------------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The account service of a command: the credentials as the library resolves them (env, then stored profiles in the
 * config's `auth.order.chutes`, else `CHUTES_AUTH_ORDER`, else the default rule). A config that cannot be read is said
 * once and ignored, as for `models list`. With `profile` (`--profile`, checked by `profile.ts`): that stored profile
 * alone, pinned, and not the environment's credential.
 */
export const accountLayer = (
  global: GlobalOptions,
  profile?: string | undefined
): Layer.Layer<ChutesAccount.ChutesAccount> =>
  Layer.unwrapEffect(
    configDefaults(global).pipe(
      Effect.catchAll((error) => Effect.as(warnOnce(AgentConfig.ignoredConfig(error)), AgentConfig.noProviderDefaults)),
      Effect.map((config) =>
        ChutesAccount.layer.pipe(
          Layer.provide(ChutesCredentials.layer(
            profile !== undefined
              ? { sources: "profiles-only", profileId: profile }
              : config.authOrder === undefined
              ? {}
              : { order: config.authOrder }
          )),
          Layer.provide(Layer.merge(servicesLayer(global), NodeChutes.layerPlatform))
        )
      )
    )
  )

/** `account [--json] [--profile <id>]`. */
export const show = (
  global: GlobalOptions,
  options: { readonly json: boolean; readonly profile?: string | undefined }
): Effect.Effect<void, AccountError | CredentialsError | ValidationError.ValidationError | StoreError> =>
  Effect.gen(function*() {
    const account = yield* ChutesAccount.ChutesAccount
    const [me, today, subscription] = yield* Effect.all(
      [account.me, account.quotaUsage("me"), account.subscriptionUsage],
      { concurrency: "unbounded" }
    ).pipe(withProgress("Reading the account"))
    const now = yield* Clock.currentTimeMillis
    if (options.json) return yield* out(printJson(accountOutput(me, today, subscription, now)))
    for (const line of accountLines(me, today, subscription, now, useColor(process.stdout))) yield* out(line)
  }).pipe(Effect.provide(accountLayer(global, options.profile)), pinned(global, options.profile))
