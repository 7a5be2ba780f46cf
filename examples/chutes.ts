/**
 * A helper module of the chat examples (`chat.ts`, `chat-stream.ts`, `tools.ts`), not an example to run: it prints
 * nothing on its own. Where the chat examples send their calls: the real service when the SDK finds a credential — `CHUTES_API_KEY`,
 * `CHUTES_OAUTH_TOKEN`, or the profile `effect-chutes onboard` stored — or with `--live`; otherwise (and always with
 * `--offline`) FakeChutes on 127.0.0.1, scripted by the example.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { ChutesCredentials, ChutesProvider, type InvalidModelRef } from "effect-chutes"
import { NodeChutes } from "effect-chutes/node"
import { FakeChutes } from "effect-chutes/testing"

/** The provider to give the example's program, and the fake when it runs offline. */
export interface Target {
  readonly provider: Layer.Layer<ChutesProvider.ChutesProvider>
  readonly fake: Option.Option<FakeChutes.FakeChutesServer>
}

const args = process.argv.slice(2)

/** The credential the SDK finds (code, env, stored profiles), or none — also when what it finds cannot be used. */
const findCredential = Effect.flatMap(ChutesProvider.ChutesProvider, (provider) => provider.credential).pipe(
  Effect.asSome,
  Effect.catchAll((error) =>
    error.reason === "Missing"
      ? Effect.succeedNone
      : Effect.as(Console.error(`(no usable Chutes credential: ${error.message})`), Option.none())
  )
)

/** Chooses the target; `script` sets up the fake's answers when the example runs offline. */
export const target = (
  script: (fake: FakeChutes.FakeChutesServer) => void
): Effect.Effect<Target, InvalidModelRef, Scope.Scope> =>
  Effect.gen(function*() {
    // The provider as an app builds it: the credential from code, the environment or the stored profiles.
    const chutes = yield* Layer.build(NodeChutes.layer())
    const credential = args.includes("--offline") ? Option.none() : yield* Effect.provide(findCredential, chutes)
    if (Option.isSome(credential) || args.includes("--live")) {
      if (Option.isSome(credential)) {
        yield* Console.log(`(Chutes with ${ChutesCredentials.label(credential.value)}; --offline for the fake)\n`)
      }
      return { provider: Layer.succeedContext(chutes), fake: Option.none() }
    }
    const fake = yield* FakeChutes.make()
    script(fake)
    yield* Console.log(
      `(offline: FakeChutes on ${fake.baseUrl}; sign in with "effect-chutes onboard" or set CHUTES_API_KEY ` +
        `for the real service)\n`
    )
    const provider = NodeChutes.layer({
      credential: { apiKey: Redacted.make(fake.apiKey) },
      settings: { baseUrl: fake.baseUrl, diskCachePath: false }
    }).pipe(
      Layer.orDie,
      // The fake's catalog lacks some built-in models and the provider notes it: not news here.
      Layer.merge(Logger.minimumLogLevel(LogLevel.Error))
    )
    return { provider, fake: Option.some(fake) }
  })
