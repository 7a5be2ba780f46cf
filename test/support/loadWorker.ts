/**
 * A child process for the refresh load test (test/refreshLoad.test.ts): one `ChutesCredentials` service over a shared
 * auth store, driven round by round from stdin.
 *
 *   node loadWorker.mjs <storePath> <reads>
 *
 * Prints `R` once the service is built. Then, for each stdin line `<round> <clockOffsetMillis>`, sets its clock to
 * real time + the offset, makes `reads` concurrent `credentials.get` calls and prints one JSON line
 * `{ round, seen, errors }`: the distinct identities (SHA-256 prefixes, never the secrets) and error messages. Exits
 * when stdin closes.
 *
 * The clock offset is how the test lets time pass without waiting: every worker gets the same offset, as processes on
 * one machine share its clock, so a token is expired for all of them at once. The IdP at `CHUTES_IDP_BASE_URL`
 * (FakeChutes) keeps real time for its own token lifetimes.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { writeSync } from "node:fs"
import { createInterface } from "node:readline"
import * as AuthProfileStore from "../../src/AuthProfileStore.js"
import * as ChutesCredentials from "../../src/ChutesCredentials.js"
import * as ChutesOAuth from "../../src/ChutesOAuth.js"
import * as ChutesSettings from "../../src/ChutesSettings.js"
import * as NodeFileLock from "../../src/node/NodeFileLock.js"
import * as NodePrivateFiles from "../../src/node/NodePrivateFiles.js"

/** What a worker prints after each round. */
export interface RoundReport {
  readonly round: number
  /** Distinct identities of the credentials returned (`none` when there was none). */
  readonly seen: ReadonlyArray<string>
  readonly errors: ReadonlyArray<string>
}

const say = (line: string): void => {
  writeSync(1, `${line}\n`)
}

/** The system clock shifted by `offset()` milliseconds. */
const shiftedClock = (offset: () => number): Clock.Clock => {
  const system = Clock.make()
  const millis = () => system.unsafeCurrentTimeMillis() + offset()
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: millis,
    currentTimeMillis: Effect.sync(millis),
    unsafeCurrentTimeNanos: () => system.unsafeCurrentTimeNanos() + BigInt(offset()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => system.unsafeCurrentTimeNanos() + BigInt(offset()) * 1_000_000n),
    sleep: (duration) => system.sleep(duration)
  }
}

const main = async (storePath: string, reads: number): Promise<void> => {
  // recheckAfter 0: every call reads the store, so that the rounds also load the store while others write it.
  const layer = ChutesCredentials.layer({ recheckAfter: "0 millis" }).pipe(
    Layer.provide(Layer.mergeAll(AuthProfileStore.layerFile({ path: storePath }), ChutesOAuth.layer())),
    Layer.provide(
      Layer.mergeAll(
        ChutesSettings.layerConfig(),
        NodeContext.layer,
        NodePrivateFiles.layer,
        NodeFileLock.layer,
        NodeHttpClient.layerUndici
      )
    )
  )
  let offset = 0
  const clock = shiftedClock(() => offset)
  const runtime = ManagedRuntime.make(layer)
  const round = Effect.gen(function*() {
    const credentials = yield* ChutesCredentials.ChutesCredentials
    const errors: Array<string> = []
    const results = yield* Effect.all(
      Array.from({ length: reads }, () =>
        credentials.get.pipe(
          Effect.flatMap(Option.match({ onNone: () => Effect.succeed("none"), onSome: ChutesCredentials.identity })),
          Effect.catchAll((error) => Effect.sync(() => errors.push(error.message)).pipe(Effect.as("error")))
        )),
      { concurrency: "unbounded" }
    )
    return { seen: [...new Set(results)], errors }
  }).pipe(Effect.withClock(clock))
  await runtime.runPromise(Effect.withClock(ChutesCredentials.ChutesCredentials, clock))
  say("R")
  for await (const line of createInterface({ input: process.stdin })) {
    const [number = "0", shift = "0"] = line.trim().split(" ")
    offset = Number(shift)
    const result = await runtime.runPromise(round)
    const report: RoundReport = { round: Number(number), ...result }
    say(JSON.stringify(report))
  }
  await runtime.dispose()
}

if (process.argv[1] !== undefined && /loadWorker\.(ts|mjs)$/.test(process.argv[1])) {
  const [storePath = "", reads = "1"] = process.argv.slice(2)
  main(storePath, Number(reads)).catch((error: unknown) => {
    process.stderr.write(`worker failed: ${String(error)}\n`)
    process.exit(1)
  })
}
