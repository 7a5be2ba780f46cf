/**
 * Discovery against the real service: `CHUTES_API_KEY=cpk_… npx tsx examples/discover.ts`.
 *
 * Offline, or without a key, it shows the explicit fallback and its reason instead of failing: `discover` is the
 * lookup without fallback (typed error), `catalog` never fails.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { ChutesProvider, ModelCatalog } from "effect-chutes"
import { NodeChutes } from "effect-chutes/node"

const program = Effect.gen(function*() {
  const provider = yield* ChutesProvider.ChutesProvider

  // 1. Without fallback: the typed error is ours to handle.
  yield* provider.discover.pipe(
    Effect.tap((snapshot) => Console.log(`discover: ${snapshot.models.length} live models`)),
    Effect.catchTags({
      DiscoveryError: (error) => Console.log(`discover failed (${error.reason}): ${error.message}`),
      CredentialsError: (error) => Console.log(`discover failed (${error.reason}): ${error.message}`)
    })
  )

  // 2. With the explicit fallback: live -> disk cache -> static, with the reason.
  const snapshot = yield* provider.catalog
  yield* Console.log(`\ncatalog: ${ModelCatalog.describeSource(snapshot)}\n`)
  yield* Console.log(ModelCatalog.formatTable(snapshot.models))
  for (const warning of snapshot.warnings) yield* Console.log(`warning: ${warning.message}`)
})

program.pipe(
  // A short policy so an offline run ends quickly; the defaults are 10 s per attempt and 3 retries.
  Effect.provide(NodeChutes.layer({ settings: { requestTimeout: "5 seconds", retry: { maxRetries: 1 } } })),
  Logger.withMinimumLogLevel(LogLevel.Error),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
