/**
 * Run by test/bun.test.ts under Bun: the core entries on a runtime that is not Node, with nothing of
 * `effect-chutes/node` — the platform's `FetchHttpClient`, the portable `Path`, a `FileSystem` that has no files, the
 * memory `PrivateFiles` (holding an auth profile store with the API key) and the in-process `FileLock`.
 *
 *   bun --conditions=effect-chutes:source test/support/bunChat.ts <baseUrl> <apiKey>
 *
 * It discovers the catalog, resolves a model, streams one chat through `@effect/ai` with `ChutesLanguageModel`, and
 * prints one JSON line with what it saw.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Stream from "effect/Stream"
import { ChutesProvider, FileLock, PrivateFiles } from "effect-chutes"
import { ChutesLanguageModel } from "effect-chutes/ai"

const [baseUrl = "", apiKey = ""] = process.argv.slice(2)
const STATE_DIR = "/state"

// The stored profile is the credential: the store is read through the memory files, as it would be from disk.
const files = PrivateFiles.memoryFiles([
  [STATE_DIR, { type: "Directory", mode: 0o700, uid: 1000 }],
  [`${STATE_DIR}/auth-profiles.json`, {
    type: "File",
    mode: 0o600,
    uid: 1000,
    content: JSON.stringify({
      version: 1,
      profiles: { "chutes:default": { type: "api_key", provider: "chutes", key: apiKey } }
    })
  }]
])

const platform = Layer.mergeAll(
  FetchHttpClient.layer,
  FileSystem.layerNoop({}),
  Path.layer,
  PrivateFiles.layerMemory(files),
  FileLock.layerMemory
)

const provider = ChutesProvider.layer({
  settings: { baseUrl, idpBaseUrl: baseUrl.replace(/\/v1$/, ""), stateDir: STATE_DIR }
}).pipe(Layer.provide(platform))

const program = Effect.gen(function*() {
  const chutes = yield* ChutesProvider.ChutesProvider
  const snapshot = yield* chutes.discover
  const credential = yield* chutes.credential
  const resolved = yield* chutes.resolve("chutes-pro")
  const parts: Array<string> = []
  let finish: string | undefined
  yield* LanguageModel.streamText({ prompt: "Say hello from Bun" }).pipe(
    Stream.runForEach((part) =>
      Effect.sync(() => {
        if (part.type === "text-delta") parts.push(part.delta)
        if (part.type === "finish") finish = part.reason
      })
    ),
    Effect.provide(ChutesLanguageModel.layer({ model: "chutes-pro" }))
  )
  return {
    runtime: typeof process.versions["bun"] === "string" ? `bun ${process.versions["bun"]}` : "not bun",
    // Where `effect-chutes` and `effect-chutes/ai` come from (the sources, with the export condition).
    entries: [import.meta.resolve("effect-chutes"), import.meta.resolve("effect-chutes/ai")],
    source: snapshot.source,
    models: snapshot.models.length,
    credentialSource: credential.source,
    resolved: resolved.id,
    deltas: parts.length,
    text: parts.join(""),
    finish
  }
})

program.pipe(
  Effect.provide(provider),
  // The catalog warnings (a built-in name that follows its successor in FakeChutes' catalog) would mix with the result.
  Logger.withMinimumLogLevel(LogLevel.Error),
  Effect.runPromise
).then(
  (result) => {
    // The live catalog goes to the disk cache after the callers have it; closing the provider waits for that write.
    const cacheWritten = files.entries.has(`${STATE_DIR}/models-cache.json`)
    process.stdout.write(`${JSON.stringify({ ...result, cacheWritten })}\n`)
  },
  (error: unknown) => {
    process.stderr.write(`bunChat failed: ${String(error)}\n`)
    process.exit(1)
  }
)
