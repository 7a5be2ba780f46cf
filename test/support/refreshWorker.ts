/**
 * A child process for the multi-process refresh tests: reads the credential from a shared auth store `reads` times
 * concurrently, `rounds` times (waiting `gapMillis` between rounds), against the IdP at `CHUTES_IDP_BASE_URL`.
 * Prints one JSON line: the identity hashes it saw per round (never the secrets) and any error messages.
 *
 *   node --import tsx test/support/refreshWorker.ts <storePath> <reads> <rounds> <gapMillis>
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as AuthProfileStore from "../../src/AuthProfileStore.js"
import * as ChutesCredentials from "../../src/ChutesCredentials.js"
import * as ChutesOAuth from "../../src/ChutesOAuth.js"
import * as ChutesSettings from "../../src/ChutesSettings.js"
import * as NodeFileLock from "../../src/node/NodeFileLock.js"
import * as NodePrivateFiles from "../../src/node/NodePrivateFiles.js"

const [storePath = "", reads = "1", rounds = "1", gap = "0"] = process.argv.slice(2)

const layer = ChutesCredentials.layer({ recheckAfter: "0 millis" }).pipe(
  Layer.provide(Layer.mergeAll(AuthProfileStore.layerFile({ path: storePath }), ChutesOAuth.layer())),
  Layer.provide(
    Layer.mergeAll(ChutesSettings.layerConfig(), NodeContext.layer, NodePrivateFiles.layer, NodeFileLock.layer, NodeHttpClient.layerUndici)
  )
)

const program = Effect.gen(function*() {
  const credentials = yield* ChutesCredentials.ChutesCredentials
  const seen: Array<Array<string>> = []
  const errors: Array<string> = []
  for (let round = 0; round < Number(rounds); round++) {
    if (round > 0) yield* Effect.sleep(Number(gap))
    const results = yield* Effect.all(
      Array.from({ length: Number(reads) }, () =>
        credentials.get.pipe(
          Effect.flatMap(Option.match({ onNone: () => Effect.succeed("none"), onSome: ChutesCredentials.identity })),
          Effect.catchAll((error) => Effect.sync(() => errors.push(error.message)).pipe(Effect.as("error")))
        )),
      { concurrency: "unbounded" }
    )
    seen.push([...new Set(results)])
  }
  process.stdout.write(`${JSON.stringify({ seen, errors })}\n`)
})

Effect.runPromise(Effect.provide(program, layer)).catch((error) => {
  process.stderr.write(`worker failed: ${String(error)}\n`)
  process.exit(1)
})
