/**
 * Every IdP answer is read through a byte cap (issue 13, item 1): an answer body that never ends, or that declares a
 * huge length, ends in a typed `OAuthError` after at most the cap — on the code exchange, the refresh, userinfo and
 * revoke, over both HTTP clients the SDK is used with, and for a background refresh through the provider. Before the
 * cap, the whole body was read: an endless one grew the heap until V8 aborted the process.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import * as ChutesOAuth from "../src/ChutesOAuth.js"
import type { OAuthError } from "../src/ChutesError.js"
import * as ChutesProvider from "../src/ChutesProvider.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as NodeChutes from "../src/node/NodeChutes.js"
import { type Behaviour, hostileIdp } from "./support/hostileIdp.js"

const CAP = 64 * 1024

const app: ChutesOAuth.OAuthApp = {
  clientId: "cid_hostile",
  clientSecret: Redacted.make("csc_hostile_secret_value"),
  redirectUri: "http://127.0.0.1:1456/oauth-callback",
  scopes: ChutesOAuth.DEFAULT_SCOPES
}

const clients = [
  ["undici (NodeHttpClient.layerUndici)", NodeHttpClient.layerUndici],
  ["fetch (FetchHttpClient.layer)", FetchHttpClient.layer]
] as const

/** The four IdP calls, each returning its failure. */
const withOAuth = <A>(f: (oauth: ChutesOAuth.Service) => Effect.Effect<A, OAuthError>) =>
  Effect.flip(Effect.flatMap(ChutesOAuth.ChutesOAuth, f))
const calls: ReadonlyArray<readonly [string, Effect.Effect<OAuthError, unknown, ChutesOAuth.ChutesOAuth>]> = [
  ["code exchange", withOAuth((o) => o.exchangeCode({ app, code: "c0de_1234", verifier: "v3rifier_1234" }))],
  [
    "refresh",
    withOAuth((o) =>
      o.refresh({ clientId: app.clientId, clientSecret: app.clientSecret, refreshToken: Redacted.make("crt_old_1234") })
    )
  ],
  ["userinfo", withOAuth((o) => o.userInfo(Redacted.make("cak_access_1234")))],
  [
    "revoke",
    withOAuth((o) => o.revoke(Redacted.make("crt_old_1234"), { clientId: app.clientId, clientSecret: app.clientSecret }))
  ]
]

/** What each case measured, printed as one JSON line (`idp body cap figures: …`) for docs/reliability-figures.md. */
const figures: Array<{
  readonly what: string
  readonly cap: number
  readonly bytesSent: number
  readonly millis: number
}> = []

afterAll(() => {
  const worst = (rows: typeof figures) => ({
    cases: rows.length,
    maxBytesSentByTheServer: Math.max(...rows.map((r) => r.bytesSent)),
    maxMillisToTheError: Math.max(...rows.map((r) => r.millis))
  })
  console.log(`idp body cap figures: ${JSON.stringify({
    cap64KiB: worst(figures.filter((r) => r.cap === CAP)),
    backgroundRefreshDefaultCap: worst(figures.filter((r) => r.cap !== CAP))
  })}`)
})

describe("IdP answers are read through a byte cap", () => {
  for (const [clientName, httpClient] of clients) {
    for (const behaviour of ["endless", "declared"] satisfies ReadonlyArray<Behaviour>) {
      for (const status of [200, 400]) {
        it.live(`${clientName}: a ${status} whose body is ${behaviour}: a typed error at the cap, the rest not read`, () =>
          Effect.gen(function*() {
            const idp = yield* hostileIdp(behaviour, { status })
            const oauth = ChutesOAuth.layer({ maxResponseBytes: CAP }).pipe(
              Layer.provide(Layer.mergeAll(ChutesSettings.layer({ idpBaseUrl: idp.idpBaseUrl }), httpClient))
            )
            for (const [name, call] of calls) {
              const before = idp.written()
              const started = Date.now()
              const error = yield* Effect.provide(call, oauth).pipe(
                Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
              )
              const elapsed = Date.now() - started
              const bytesSent = idp.written() - before
              figures.push({ what: `${clientName} ${status} ${behaviour} ${name}`, cap: CAP, bytesSent, millis: elapsed })
              // The client stopped at the cap (plus what was in flight in socket buffers), far short of the 64 MiB.
              assert.isBelow(bytesSent, 16 * 1024 * 1024, `${name}: read on past the cap`)
              assert.strictEqual(error._tag, "OAuthError", name)
              assert.strictEqual(error.reason, "InvalidTokenResponse", `${name}: ${error.message}`)
              assert.strictEqual(error.status, status, name)
              assert.include(error.message, "larger than the cap of 64 KiB", name)
              assert.isBelow(elapsed, 10_000, name)
            }
            assert.strictEqual(idp.requests().length, 4, "one request per call, none retried")
          }).pipe(Effect.scoped))
      }
    }
  }

  it("the default cap is 2 MiB", () => {
    assert.strictEqual(ChutesOAuth.DEFAULT_MAX_RESPONSE_BYTES, 2 * 1024 * 1024)
  })

  it.live("a background refresh (the provider's credential, default cap) against an endless answer: RefreshFailed", () =>
    Effect.gen(function*() {
      const idp = yield* hostileIdp("endless")
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(Path.join(Os.tmpdir(), "effect-chutes-bounds-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      writeFileSync(
        Path.join(dir, AuthProfileStore.FILE_NAME),
        JSON.stringify({
          version: 1,
          profiles: {
            "chutes:alice": {
              type: "oauth",
              provider: "chutes",
              access: "cak_expired_access_0001",
              refresh: "crt_stored_refresh_0001",
              expires: 1,
              clientId: "cid_hostile",
              clientSecret: "csc_hostile_secret_value"
            }
          }
        }),
        { mode: 0o600 }
      )
      const env = ConfigProvider.fromMap(new Map([
        ["CHUTES_BASE_URL", "http://127.0.0.1:9/v1"],
        ["CHUTES_IDP_BASE_URL", idp.idpBaseUrl],
        ["CHUTES_STATE_DIR", dir]
      ]))
      const started = Date.now()
      const credential = Effect.flatMap(ChutesProvider.ChutesProvider, (provider) => Effect.flip(provider.credential))
      const error = yield* credential.pipe(
        Effect.provide(NodeChutes.layer()),
        Effect.withConfigProvider(env)
      )
      figures.push({
        what: "background refresh",
        cap: ChutesOAuth.DEFAULT_MAX_RESPONSE_BYTES,
        bytesSent: idp.written(),
        millis: Date.now() - started
      })
      assert.isBelow(idp.written(), 16 * 1024 * 1024, "read on past the cap")
      assert.strictEqual(error._tag, "CredentialsError")
      assert.strictEqual(error.reason, "RefreshFailed", error.message)
      assert.include(error.message, "larger than the cap of 2 MiB")
      assert.strictEqual(idp.requests().length, 1)
    }).pipe(Effect.scoped))
})

/** A loopback server answering every request with `answer`; its requests counted. Closed with the scope. */
const serving = (answer: (req: Http.IncomingMessage, res: Http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly url: string; readonly requests: () => number }>((resume) => {
      let requests = 0
      const server = Http.createServer((req, res) => {
        requests += 1
        req.resume()
        answer(req, res)
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          server,
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          requests: () => requests
        })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

describe("an IdP that redirects", () => {
  for (const [clientName, httpClient] of clients) {
    it.live(`${clientName}: every call refuses a 302, 307 or 308 with its status; nothing is asked of the other host`, () =>
      Effect.gen(function*() {
        const elsewhere = yield* serving((_, res) => {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(`{"access_token":"cak_elsewhere","refresh_token":"crt_elsewhere","expires_in":3600,"username":"mallory"}`)
        })
        for (const status of [302, 307, 308]) {
          const idp = yield* serving((req, res) => {
            res.writeHead(status, { location: `${elsewhere.url}${req.url ?? "/"}` })
            res.end()
          })
          const oauth = ChutesOAuth.layer().pipe(
            Layer.provide(Layer.mergeAll(ChutesSettings.layer({ idpBaseUrl: `${idp.url}/idp` }), httpClient))
          )
          for (const [name, call] of calls) {
            const error = yield* Effect.provide(call, oauth).pipe(
              Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
            )
            assert.strictEqual(error._tag, "OAuthError", `${status} ${name}`)
            assert.strictEqual(error.status, status, `${status} ${name}: ${error.message}`)
            assert.include(error.message, `HTTP ${status}`, `${status} ${name}`)
          }
          assert.strictEqual(idp.requests(), 4)
        }
        assert.strictEqual(elsewhere.requests(), 0, "the other host was never asked")
      }).pipe(Effect.scoped))
  }
})
