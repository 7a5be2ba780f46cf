/**
 * The demo: `npm run demo` (or `npx tsx examples/quickstart.ts`). No network needed.
 *
 * 1. starts FakeChutes (a faithful fake of the Chutes API, serving the 2026-08-06 capture of the real catalog) on
 *    127.0.0.1,
 * 2. discovers the live catalog from it with an API key and prints it as a table with its source,
 * 3. resolves the default model, the three built-in aliases and a user alias — the built-in names whose documented
 *    targets Chutes has retired follow their successors, and say so,
 * 4. makes the fake service fail and shows the fallback — first to the disk cache, then to the static catalog —
 *    each with its reason.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import { ChutesProvider, ModelCatalog, ModelRef, Successors } from "effect-chutes"
import { NodeChutes } from "effect-chutes/node"
import { FakeChutes } from "effect-chutes/testing"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const stateDir = mkdtempSync(join(tmpdir(), "effect-chutes-demo-"))

const program = Effect.gen(function*() {
  const fake = yield* FakeChutes.make({ models: FakeChutes.capturedModels("2026-08-06") })
  yield* Console.log(`FakeChutes listening on ${fake.baseUrl}\n`)

  // The provider as an app would build it, pointed at the fake service. The API key is the fake's own.
  const providerLayer = (options: { readonly diskCache: boolean }) =>
    NodeChutes.layer({
      credential: { apiKey: Redacted.make(fake.apiKey) },
      aliases: { "Chutes GLM 5.1": "chutes/zai-org/GLM-5.1-TEE" },
      settings: {
        baseUrl: fake.baseUrl,
        stateDir,
        diskCachePath: options.diskCache ? join(stateDir, "models-cache.json") : false,
        retry: { maxRetries: 1, baseDelay: "50 millis" }
      }
    })

  yield* Effect.gen(function*() {
    const provider = yield* ChutesProvider.ChutesProvider
    const snapshot = yield* provider.catalog
    yield* Console.log(`== Live discovery\n${ModelCatalog.describeSource(snapshot)}\n`)
    yield* Console.log(ModelCatalog.formatTable(snapshot.models))
    for (const warning of snapshot.warnings) yield* Console.log(`warning: ${warning.message}`)

    yield* Console.log(`\n== Resolving`)
    const defaultModel = yield* provider.resolveDefault
    yield* Console.log(`  (default): ${ModelRef.describe(defaultModel)}`)
    for (const input of ["chutes-fast", "chutes-pro", "CHUTES-VISION", "chutes glm 5.1", "zai-org/GLM-5.2-TEE", "glm-5"]) {
      const line = yield* provider.resolve(input).pipe(
        Effect.map((resolved) => `${JSON.stringify(input)}: ${ModelRef.describe(resolved)}`),
        Effect.catchAll((error) => Effect.succeed(`${JSON.stringify(input)}: ${error.message}`))
      )
      yield* Console.log(`  ${line}`)
    }
  }).pipe(Effect.provide(providerLayer({ diskCache: true })))

  yield* Console.log(`\n== The service fails (HTTP 503 on every request)`)
  fake.fault({ _tag: "Status", route: "models", status: 503, body: { detail: "No instances available" } })

  const cached = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(
    Effect.provide(providerLayer({ diskCache: true }))
  )
  yield* Console.log(`new provider, disk cache on:  ${ModelCatalog.describeSource(cached)}`)

  const fallback = yield* Effect.flatMap(ChutesProvider.ChutesProvider, (p) => p.catalog).pipe(
    Effect.provide(providerLayer({ diskCache: false }))
  )
  yield* Console.log(`new provider, no disk cache:  ${ModelCatalog.describeSource(fallback)}\n`)
  // The built-in catalog marks what Chutes retired, and the models the built-in names follow there.
  const followed = yield* Effect.map(ChutesProvider.ChutesProvider, (p) => p.followed(fallback)).pipe(
    Effect.provide(providerLayer({ diskCache: false }))
  )
  yield* Console.log(ModelCatalog.formatTable(fallback.models, Successors.listingNotes(fallback.models, followed)))
  yield* Console.log(`\n${fake.counters.models} requests reached FakeChutes' /v1/models.`)
})

// Warnings are printed from the snapshot above; keep the logger for errors only.
program.pipe(
  Effect.scoped,
  Logger.withMinimumLogLevel(LogLevel.Error),
  Effect.ensuring(Effect.sync(() => rmSync(stateDir, { recursive: true, force: true }))),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
