/**
 * What the provider's `client` hands back never shows the bearer: not through `util.inspect` (which looks through a
 * `Proxy` at its target), `String`, `JSON.stringify`, Effect's loggers, nor the errors its body readers fail with.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { inspect } from "node:util"
import * as ChutesProvider from "../../src/ChutesProvider.js"
import * as NodeChutes from "../../src/node/NodeChutes.js"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { modelLayer } from "../ai/harness.js"
import * as Capture from "../support/capture.js"

const everyView = (value: unknown): ReadonlyArray<readonly [string, string]> => [
  ["util.inspect", inspect(value, { depth: 12 })],
  ["util.inspect showHidden", inspect(value, { depth: 12, showHidden: true })],
  ["String", String(value)],
  ["JSON.stringify", JSON.stringify(value) ?? ""]
]

describe("the provider's client", () => {
  it.scopedLive("returns responses and errors that never print the bearer", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      const key = fake.apiKey
      const capture = Capture.make()
      const [response, bodyError, statusError] = yield* Effect.gen(function*() {
        const chutes = yield* ChutesProvider.ChutesProvider
        const response = yield* chutes.client.get("/models")
        yield* Effect.logError(response)
        // A body read that fails (not JSON) carries the response and its request.
        fake.fault({ _tag: "Body", route: "models", status: 200, body: "not json", times: 1 })
        const bodyError = yield* Effect.flip(Effect.flatMap(chutes.client.get("/models"), (r) => r.json))
        const statusError = yield* Effect.flip(
          HttpClient.filterStatusOk(chutes.client).get("/no-such-route")
        )
        yield* Effect.logError(statusError)
        return [response, bodyError, statusError] as const
      }).pipe(
        Effect.provide(NodeChutes.layer({
          credential: { apiKey: Redacted.make(key) },
          settings: { baseUrl: fake.baseUrl, diskCachePath: false }
        })),
        Effect.provide(Capture.layer(capture))
      )
      assert.isTrue(HttpClientResponse.TypeId in response)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(statusError._tag, "ResponseError")
      assert.strictEqual(bodyError._tag, "ResponseError")
      const views = [
        ...everyView(response).map(([how, text]) => [`response ${how}`, text] as const),
        ...everyView(bodyError).map(([how, text]) => [`body error ${how}`, text] as const),
        ...everyView(statusError).map(([how, text]) => [`status error ${how}`, text] as const),
        ...capture.entries.map((entry) => [entry.where, entry.text] as const)
      ]
      for (const [how, text] of views) {
        assert.notInclude(text, key, how)
        assert.notInclude(text, key.slice(4, 40), how)
      }
      // The views are real: they show the request, with its header masked.
      assert.include(inspect(response, { depth: 12 }), "<redacted>")
      assert.include(inspect(statusError, { depth: 12 }), "<redacted>")
      assert.isAbove(capture.counts.logs, 1)
    }))
})

describe("trace headers", () => {
  it.scopedLive("the client sends none to Chutes, even inside a traced span", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      yield* Effect.flatMap(ChutesProvider.ChutesProvider, (chutes) =>
        chutes.client.post("/chat/completions", {
          body: HttpBody.unsafeJson({ model: "zai-org/GLM-5-TEE", messages: [{ role: "user", content: "hi" }] })
        })).pipe(
          Effect.flatMap((response) => response.json),
          Effect.withSpan("app.request"),
          Effect.provide(NodeChutes.layer({
            credential: { apiKey: Redacted.make(fake.apiKey) },
            settings: { baseUrl: fake.baseUrl, diskCachePath: false }
          }))
        )
      const chat = fake.requests.filter((request) => request.route === "chat")
      assert.strictEqual(chat.length, 1)
      for (const header of ["traceparent", "b3", "tracestate"]) {
        assert.notProperty(chat[0]!.headers, header)
      }
      assert.property(chat[0]!.headers, "authorization", "headers are recorded")
    }))
})

describe("trace headers from the chat layer", () => {
  it.scopedLive("generateText inside an app's span sends none to Chutes", () =>
    Effect.gen(function*() {
      const fake = yield* FakeChutes.make()
      yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.withSpan("app.request"),
        Effect.provide(modelLayer(fake))
      )
      const chat = fake.requests.filter((request) => request.route === "chat")
      assert.strictEqual(chat.length, 1)
      for (const header of ["traceparent", "b3", "tracestate"]) assert.notProperty(chat[0]!.headers, header)
    }))
})
