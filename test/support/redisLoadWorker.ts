/**
 * A child process for the fleet refresh test (test/redisRefreshLoad.test.ts): one `ChutesCredentials` service wired
 * as a host of a fleet is — the store `AuthProfileStore.layerFile()` over `NodeChutes.layerPlatform`, which picks the
 * shared store on Redis because `CHUTES_REDIS_URL` is set, with this process's own `CHUTES_STATE_DIR` — driven round
 * by round from stdin like test/support/loadWorker.ts.
 *
 *   node redisLoadWorker.mjs <reads> [<lockLeaseMillis>]
 *
 * With a lease, the shared store is built with that lock lease (`NodeChutes.layerPlatformWith`) from the same URL.
 * Prints `R` once the service is built. Then, for each stdin line `<round> <clockOffsetMillis>`, sets its clock to
 * real time + the offset, makes `reads` concurrent `credentials.get` calls and prints one JSON line
 * `{ round, seen, errors }` (identities, never the secrets). Exits when stdin closes.
 */
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
import * as NodeChutes from "../../src/node/NodeChutes.js"
import type { RoundReport } from "./loadWorker.js"

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

const main = async (reads: number, lease: string | undefined): Promise<void> => {
  const platform = lease === undefined
    ? NodeChutes.layerPlatform
    : NodeChutes.layerPlatformWith({ url: process.env["CHUTES_REDIS_URL"] ?? "", lockLease: Number(lease) })
  // recheckAfter 0: every call reads the store, so that the rounds also load the store while others write it.
  const layer = ChutesCredentials.layer({ recheckAfter: "0 millis" }).pipe(
    Layer.provide(Layer.mergeAll(AuthProfileStore.layerFile(), ChutesOAuth.layer())),
    Layer.provide(Layer.mergeAll(ChutesSettings.layerConfig(), platform))
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

if (process.argv[1] !== undefined && /redisLoadWorker\.(ts|mjs)$/.test(process.argv[1])) {
  const [reads = "1", lease] = process.argv.slice(2)
  main(Number(reads), lease).catch((error: unknown) => {
    process.stderr.write(`worker failed: ${String(error)}\n`)
    process.exit(1)
  })
}
