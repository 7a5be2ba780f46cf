/**
 * The fake IdP on loopback with an ephemeral-port redirect URI registered, the OAuth app for it, and the OAuth layer
 * over it: the setup shared by the login, listener and browser suites.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as ChutesOAuth from "../../src/ChutesOAuth.js"
import * as ChutesSettings from "../../src/ChutesSettings.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { freePort } from "./net.js"

export const idpSetup = (options: { readonly autoApprove?: boolean } = {}) =>
  Effect.gen(function*() {
    const port = yield* freePort
    const redirectUri = `http://127.0.0.1:${port}/oauth-callback`
    const server = yield* FakeChutes.make({ redirectUris: [redirectUri], autoApprove: options.autoApprove ?? true })
    const app: ChutesOAuth.OAuthApp = {
      clientId: server.clientId,
      clientSecret: Redacted.make(server.clientSecret ?? ""),
      redirectUri,
      scopes: ChutesOAuth.DEFAULT_SCOPES
    }
    const oauth = ChutesOAuth.layer().pipe(
      Layer.provide(Layer.mergeAll(ChutesSettings.layer({ idpBaseUrl: server.idpBaseUrl }), FetchHttpClient.layer))
    )
    return { port, redirectUri, server, app, oauth }
  })
