/**
 * A child process for the proxy suite's `CONNECT` tests (test/proxy.test.ts): `NodeChutes.layer` with an API key, the
 * given base URL and proxy option, runs `ChutesProvider.discover` once (no fallback) and prints one line `RESULT <json>`:
 * the model ids, or the error's tag, reason and message (the provider's own log lines go to stdout too). It is a process of its own because trusting a test CA takes
 * `NODE_EXTRA_CA_CERTS`, which Node reads only at start.
 *
 *   node --import tsx test/support/proxyWorker.ts '{"baseUrl":…,"apiKey":…,"proxy":{…}|false}'
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ChutesProvider from "../../src/ChutesProvider.js"
import * as NodeChutes from "../../src/node/NodeChutes.js"

export interface WorkerInput {
  readonly baseUrl: string
  readonly apiKey: string
  readonly proxy: NodeChutes.ProxyOptions | false
}

export type WorkerOutput =
  | { readonly ok: true; readonly source: string; readonly ids: ReadonlyArray<string> }
  | { readonly ok: false; readonly tag: string; readonly reason: string | undefined; readonly message: string }

const input: WorkerInput = JSON.parse(process.argv[2] ?? "{}")

const program = Effect.gen(function*() {
  const provider = yield* ChutesProvider.ChutesProvider
  const result = yield* Effect.either(provider.discover)
  const output: WorkerOutput = Either.match(result, {
    onRight: (snapshot) => ({ ok: true, source: snapshot.source, ids: snapshot.models.map((m) => m.id) }),
    onLeft: (error) => ({
      ok: false,
      tag: error._tag,
      reason: "reason" in error ? String(error.reason) : undefined,
      message: error.message
    })
  })
  process.stdout.write(`RESULT ${JSON.stringify(output)}\n`)
})

const layer = NodeChutes.layer({
  credential: { apiKey: input.apiKey },
  proxy: input.proxy,
  redis: false,
  readConfig: false,
  settings: {
    baseUrl: input.baseUrl,
    diskCachePath: false,
    retry: { maxRetries: 1, baseDelay: "5 millis", maxDelay: "10 millis" }
  }
})

Effect.runPromise(Effect.provide(program, layer)).catch((error) => {
  process.stderr.write(`worker failed: ${String(error)}\n`)
  process.exit(1)
})
