import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import * as ChutesCredentials from "../src/ChutesCredentials.js"
import { DiscoveryError } from "../src/ChutesError.js"
import * as ChutesSettings from "../src/ChutesSettings.js"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as ModelDiscovery from "../src/ModelDiscovery.js"
import * as ModelRef from "../src/ModelRef.js"
import * as Capture from "./support/capture.js"
import { capture, json, type Scripted, scriptedClient } from "./support/http.js"

// Built from parts, so no committed line looks like a real key.
const SECRET = "cpk_" + "0123456789abcdef".repeat(2) + "." + "0123456789abcdef".repeat(2) + "." + "SECRETsecret".repeat(2) + "SECRET12"
const credential = Option.some(ChutesCredentials.make({ kind: "api_key", source: "test", secret: SECRET }))
const okBody = json(200, capture)

const discoveryOver = (client: HttpClient.HttpClient, settings: ChutesSettings.Options = {}) => {
  const layer = ModelDiscovery.layer.pipe(
    Layer.provide(ChutesSettings.layer({ baseUrl: "http://chutes.test/v1", ...settings })),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
  )
  return Effect.flatMap(ModelDiscovery.ModelDiscovery, (d) => d.fetch(credential)).pipe(Effect.provide(layer))
}

const discoveryWith = (script: ReadonlyArray<Scripted>, settings: ChutesSettings.Options = {}) => {
  const scripted = scriptedClient(script)
  return { fetch: discoveryOver(scripted.client, settings), requests: scripted.requests }
}

/** Runs a discovery on the TestClock, moving time forward until it ends. */
const runToEnd = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.either(effect))
    for (let i = 0; i < 200; i++) {
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) break
      yield* TestClock.adjust(Duration.millis(250))
    }
    return yield* Fiber.join(fiber)
  })

describe("decoding the real capture", () => {
  const decoded = Either.getOrThrow(ModelDiscovery.decodeCatalog(JSON.stringify(capture)))

  it("decodes every item", () => {
    assert.strictEqual(decoded.skipped, 0)
    assert.strictEqual(decoded.models.length, capture.data.length)
    assert.deepStrictEqual(decoded.models.map((m) => m.id), capture.data.map((item) => item["id"]))
  })

  it("takes reasoning only from supported_features", () => {
    for (const [index, item] of capture.data.entries()) {
      const features = item["supported_features"]
      const expected = Array.isArray(features) && features.includes("reasoning")
      assert.strictEqual(decoded.models[index]!.reasoning, expected, String(item["id"]))
    }
  })

  it("maps context, max output and prices (USD per 1M tokens)", () => {
    const qwen = decoded.models.find((m) => m.id === "Qwen/Qwen3-32B-TEE")!
    assert.deepStrictEqual(
      [qwen.contextWindow, qwen.maxOutputTokens, qwen.cost, qwen.tools, qwen.jsonMode, qwen.quantization, qwen.ownedBy],
      [40960, 40960, { input: 0.104, output: 0.416, cacheRead: 0.052 }, true, true, "fp8", "sglang"]
    )
    // context_length wins over max_model_len
    const gemma = decoded.models.find((m) => m.id === "google/gemma-4-31B-turbo-TEE")!
    assert.strictEqual(gemma.contextWindow, 131072)
    assert.deepStrictEqual(gemma.input, ["text", "image"])
  })

  it("accepts minimal items: context from max_model_len, max output unknown, text input, no reasoning", () => {
    const nemo = decoded.models.find((m) => m.id === "unsloth/Mistral-Nemo-Instruct-2407-TEE")!
    assert.strictEqual(nemo.contextWindow, 131072)
    assert.isUndefined(nemo.maxOutputTokens)
    assert.deepStrictEqual(nemo.input, ["text"])
    assert.isFalse(nemo.reasoning)
    assert.isUndefined(nemo.tools)
    assert.deepStrictEqual(nemo.cost, { input: 0.0245, output: 0.0978, cacheRead: 0.01225 })
  })

  it("skips and counts malformed items, keeps the first of duplicate ids, ignores unknown modalities", () => {
    const body = JSON.stringify({
      object: "list",
      data: [
        { id: "a/one", max_model_len: 1000, input_modalities: ["text", "hologram"] },
        { max_model_len: 1000 },
        { id: "a/two", max_model_len: "big" },
        { id: "a/one", max_model_len: 5 },
        { id: "a/three", max_model_len: 2000, pricing: { prompt: -1, completion: 1 } },
        null,
        { id: "a/four", max_model_len: 2000, brand_new_field: { x: 1 } }
      ]
    })
    const result = Either.getOrThrow(ModelDiscovery.decodeCatalog(body))
    assert.deepStrictEqual(result.models.map((m) => [m.id, m.contextWindow]), [["a/one", 1000], ["a/four", 2000]])
    assert.deepStrictEqual(result.models[0]!.input, ["text"])
    assert.strictEqual(result.skipped, 4)
  })

  it("an absurdly long id, name or owner skips its item (the rest of the catalog is kept)", () => {
    const long = "a/" + "x".repeat(ModelCatalog.MAX_MODEL_ID_LENGTH - 1)
    const body = JSON.stringify({
      object: "list",
      data: [
        { id: "a/" + "x".repeat(ModelCatalog.MAX_MODEL_ID_LENGTH - 2), max_model_len: 1000 },
        { id: long, max_model_len: 1000 },
        { id: "long/" + "A".repeat(1_000_000), max_model_len: 1000 },
        { id: "a/named", max_model_len: 1000, owned_by: "o".repeat(ModelCatalog.MAX_TEXT_LENGTH + 1) },
        { id: "a/fine", max_model_len: 1000, owned_by: "o".repeat(ModelCatalog.MAX_TEXT_LENGTH) }
      ]
    })
    const result = Either.getOrThrow(ModelDiscovery.decodeCatalog(body))
    assert.deepStrictEqual(result.models.map((m) => m.id.length), [ModelCatalog.MAX_MODEL_ID_LENGTH, 6])
    assert.strictEqual(result.skipped, 3)
    assert.isTrue(Either.isLeft(ModelRef.fromId(long)), "not addressable as a ref either")
  })

  it("input modalities: the known ones in their order, else text only", () => {
    const cases: ReadonlyArray<readonly [unknown, ReadonlyArray<string>]> = [
      [undefined, ["text"]],
      [null, ["text"]],
      [[], ["text"]],
      [["hologram"], ["text"]],
      [["text", "image"], ["text", "image"]],
      [["image", "hologram", "audio"], ["image", "audio"]],
      [["video"], ["video"]]
    ]
    const item = (modalities: unknown) =>
      modalities === undefined
        ? { id: "a/one", max_model_len: 1000 }
        : { id: "a/one", max_model_len: 1000, input_modalities: modalities }
    for (const [modalities, expected] of cases) {
      const result = Either.getOrThrow(ModelDiscovery.decodeItems([item(modalities)]))
      assert.deepStrictEqual(result.models[0]!.input, expected, JSON.stringify(modalities))
    }
  })

  const failures: ReadonlyArray<readonly [string, string, string]> = [
    ["{\"object\":\"list\",\"data\":[{\"id\"", "Decode", "not JSON"],
    ["<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>", "Decode", "HTML page: 502 Bad Gateway"],
    ["{\"object\":\"list\"}", "Decode", "no \"data\" array"],
    ["[1,2,3]", "Decode", "no \"data\" array"],
    ["{\"object\":\"list\",\"data\":[]}", "EmptyCatalog", "the list is empty"],
    ["{\"object\":\"list\",\"data\":[{\"id\":1},{}]}", "EmptyCatalog", "all 2 items were malformed"]
  ]
  for (const [body, tag, detail] of failures) {
    it(`fails with ${tag} on ${body.slice(0, 30)}`, () => {
      const result = ModelDiscovery.decodeCatalog(body)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, tag)
        assert.include(result.left.detail, detail)
      }
    })
  }
})

describe("discovery over HTTP", () => {
  it.effect("sends the bearer and Accept: application/json to {base}/models", () =>
    Effect.gen(function*() {
      const { fetch, requests } = discoveryWith([okBody])
      const result = yield* fetch
      assert.strictEqual(result.models.length, capture.data.length)
      assert.strictEqual(result.attempts, 1)
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(requests[0]!.url, "http://chutes.test/v1/models")
      assert.strictEqual(requests[0]!.headers["authorization"], `Bearer ${SECRET}`)
      assert.strictEqual(requests[0]!.headers["accept"], "application/json")
    }))

  const neverRetried: ReadonlyArray<readonly [number, DiscoveryError["reason"]]> = [
    [400, "HttpStatus"],
    [401, "Unauthorized"],
    [402, "HttpStatus"],
    [403, "HttpStatus"],
    [404, "HttpStatus"]
  ]
  for (const [status, reason] of neverRetried) {
    it.effect(`does not retry ${status}`, () =>
      Effect.gen(function*() {
        const { fetch, requests } = discoveryWith([json(status, { detail: `nope ${status}` }), okBody])
        const result = yield* runToEnd(fetch)
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) {
          assert.instanceOf(result.left, DiscoveryError)
          assert.strictEqual(result.left.reason, reason)
          assert.strictEqual(result.left.status, status)
          assert.strictEqual(result.left.attempts, 1)
          assert.strictEqual(result.left.detail, `nope ${status}`)
          assert.isFalse(result.left.retryable)
        }
        assert.strictEqual(requests.length, 1)
      }))
  }

  it.effect("keeps an excerpt of an object detail (402)", () =>
    Effect.gen(function*() {
      const { fetch } = discoveryWith([json(402, { detail: { message: "Quota exceeded", reset_at: "2026-11-26" } })])
      const result = yield* Effect.flip(fetch)
      assert.include(result.message, "HTTP 402")
      assert.include(result.message, "Quota exceeded")
    }))

  for (const status of [408, 425, 429, 500, 502, 503, 504]) {
    it.effect(`retries ${status} with backoff, then succeeds`, () =>
      Effect.gen(function*() {
        const { fetch, requests } = discoveryWith([json(status, { detail: "busy" }), json(status, { detail: "busy" }), okBody])
        const fiber = yield* Effect.fork(fetch)
        yield* TestClock.adjust(Duration.millis(1))
        assert.strictEqual(requests.length, 1, "first attempt at once")
        // Backoff step 1 is 250..500 ms, step 2 is 500..1000 ms.
        yield* TestClock.adjust(Duration.millis(500))
        assert.strictEqual(requests.length, 2)
        yield* TestClock.adjust(Duration.millis(1000))
        assert.strictEqual(requests.length, 3)
        const result = yield* Fiber.join(fiber)
        assert.strictEqual(result.attempts, 3)
      }))
  }

  it.effect("gives up after 3 retries (4 attempts) with the last error", () =>
    Effect.gen(function*() {
      const { fetch, requests } = discoveryWith([json(503, { detail: "No instances available" })])
      const result = yield* runToEnd(fetch)
      assert.strictEqual(requests.length, 4)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "HttpStatus")
        assert.strictEqual(result.left.status, 503)
        assert.strictEqual(result.left.attempts, 4)
        assert.include(result.left.message, "after 4 attempts: No instances available")
      }
    }))

  it.effect("tells the policy's onRetry hook of each retry before its wait: attempt, reason, delay", () =>
    Effect.gen(function*() {
      const events: Array<ChutesSettings.RetryEvent & { readonly at: number }> = []
      const onRetry = (event: ChutesSettings.RetryEvent) =>
        Effect.map(Clock.currentTimeMillis, (at) => void events.push({ ...event, at }))
      const { fetch, requests } = discoveryWith(
        [json(503, { detail: "busy" }), "hang", json(429, {}, { "retry-after": "3" }), okBody],
        { requestTimeout: "10 seconds", retry: { onRetry } }
      )
      const result = yield* runToEnd(fetch)
      assert.isTrue(Either.isRight(result))
      assert.strictEqual(requests.length, 4)
      assert.deepStrictEqual(
        events.map((e) => [e.operation, e.attempt, e.maxAttempts, e.reason]),
        [["discovery", 2, 4, "HTTP 503"], ["discovery", 3, 4, "timeout"], ["discovery", 4, 4, "HTTP 429"]]
      )
      // Backoff steps 250..500 ms and 500..1000 ms (jittered), then the server's Retry-After.
      const delays = events.map((e) => Duration.toMillis(e.delay))
      assert.isTrue(delays[0]! >= 250 && delays[0]! <= 500, String(delays[0]))
      assert.isTrue(delays[1]! >= 500 && delays[1]! <= 1000, String(delays[1]))
      assert.strictEqual(delays[2], 3000)
      // Told before the wait: the hook's clock is the failure's, the wait follows it.
      assert.strictEqual(events[1]!.at - events[0]!.at, delays[0]! + 10_000, "the hang timed out after the first wait")
      assert.instanceOf(events[0]!.error, DiscoveryError)
    }))

  it.effect("no retry, no event: a success at once and a failure that is not retried", () =>
    Effect.gen(function*() {
      const events: Array<ChutesSettings.RetryEvent> = []
      const onRetry = (event: ChutesSettings.RetryEvent) => Effect.sync(() => void events.push(event))
      yield* discoveryWith([okBody], { retry: { onRetry } }).fetch
      yield* Effect.flip(discoveryWith([json(401, {})], { retry: { onRetry } }).fetch)
      assert.deepStrictEqual(events, [])
    }))

  it.effect("honours Retry-After within the cap", () =>
    Effect.gen(function*() {
      const { fetch, requests } = discoveryWith([json(429, { detail: "slow down" }, { "retry-after": "3" }), okBody])
      const fiber = yield* Effect.fork(fetch)
      yield* TestClock.adjust(Duration.millis(2999))
      assert.strictEqual(requests.length, 1, "still waiting for Retry-After")
      yield* TestClock.adjust(Duration.millis(1))
      assert.strictEqual(requests.length, 2)
      yield* Fiber.join(fiber)
    }))

  it.effect("a Retry-After over the cap ends the retries at once, with the error carrying it", () =>
    Effect.gen(function*() {
      const events: Array<ChutesSettings.RetryEvent> = []
      const onRetry = (event: ChutesSettings.RetryEvent) => Effect.sync(() => void events.push(event))
      const capped = discoveryWith(
        [json(429, { detail: "slow down" }, { "retry-after": "3600" }), okBody],
        { retry: { retryAfterCap: "5 seconds", onRetry } }
      )
      // No clock moves: the call ends without waiting, neither the cap nor the hour.
      const error = yield* Effect.flip(capped.fetch)
      assert.strictEqual(capped.requests.length, 1)
      assert.strictEqual(error.reason, "HttpStatus")
      assert.strictEqual(error.status, 429)
      assert.strictEqual(error.attempts, 1)
      assert.strictEqual(error.retryAfterMillis, 3_600_000)
      assert.deepStrictEqual(events, [])

      // The same under the default cap (30 s): a later answer after retries, then one over the cap.
      const later = discoveryWith([json(503, { detail: "busy" }), json(429, {}, { "retry-after": "31" }), okBody])
      const result = yield* runToEnd(later.fetch)
      assert.strictEqual(later.requests.length, 2)
      assert.isTrue(Either.isLeft(result) && result.left.attempts === 2 && result.left.retryAfterMillis === 31_000)
    }))

  it.effect("does not retry the free-models daily cap (a 429 that resets at 00:00 UTC); a capacity 429 is retried", () =>
    Effect.gen(function*() {
      const daily = discoveryWith([
        json(429, { detail: "Free models limit reached for today - maintain >= $10 balance or upgrade subscription to pro to unlock more." }),
        okBody
      ])
      const result = yield* runToEnd(daily.fetch)
      assert.strictEqual(daily.requests.length, 1)
      assert.isTrue(Either.isLeft(result) && result.left.status === 429 && result.left.attempts === 1)
      // The error says what the policy did: not retryable.
      assert.isTrue(Either.isLeft(result) && result.left.retryable === false)
      const capacity = discoveryWith([
        json(429, { detail: "Infrastructure is at maximum capacity, try again later" }),
        okBody
      ])
      assert.isTrue(Either.isRight(yield* runToEnd(capacity.fetch)))
      assert.strictEqual(capacity.requests.length, 2)
    }))

  it("DiscoveryError.retryable agrees with the retry policy on a 429: the daily cap is not retryable", () => {
    const error = (detail: string | undefined) =>
      new DiscoveryError({ reason: "HttpStatus", url: "https://llm.chutes.ai/v1/models", status: 429, detail })
    assert.isFalse(error("Free models limit reached for today - maintain >= $10 balance").retryable)
    assert.isFalse(error("Daily limit reached").retryable)
    assert.isTrue(error("Infrastructure is at maximum capacity, try again later").retryable)
    assert.isTrue(error(undefined).retryable)
    assert.isTrue(new DiscoveryError({ reason: "HttpStatus", url: "u", status: 503, detail: "limit reached for today" }).retryable)
  })

  it.effect("times out one attempt by the per-attempt deadline (TestClock) and retries", () =>
    Effect.gen(function*() {
      const { fetch, requests } = discoveryWith(["hang", okBody], { requestTimeout: "10 seconds" })
      const fiber = yield* Effect.fork(fetch)
      yield* TestClock.adjust(Duration.millis(9999))
      assert.strictEqual(requests.length, 1)
      yield* TestClock.adjust(Duration.millis(1))
      yield* TestClock.adjust(Duration.millis(500))
      assert.strictEqual(requests.length, 2)
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.attempts, 2)
    }))

  it.effect("reports Timeout when every attempt hangs", () =>
    Effect.gen(function*() {
      const { fetch, requests } = discoveryWith(["hang"], { retry: { maxRetries: 1 } })
      const result = yield* runToEnd(fetch)
      assert.strictEqual(requests.length, 2)
      assert.isTrue(Either.isLeft(result) && result.left.reason === "Timeout" && result.left.attempts === 2)
    }))

  it.effect("the span keeps the status of the last response received, even when its body then times out", () =>
    Effect.gen(function*() {
      const capture = Capture.make()
      const { fetch, requests } = discoveryWith([json(503, { detail: "busy" }), "stall"], { retry: { maxRetries: 1 } })
      const result = yield* runToEnd(fetch.pipe(Effect.provide(Capture.layer(capture))))
      assert.strictEqual(requests.length, 2)
      assert.isTrue(Either.isLeft(result) && result.left.reason === "Timeout" && result.left.status === undefined)
      const attribute = (name: string) =>
        capture.entries.find((entry) => entry.where === `span ModelDiscovery.fetch attribute ${name}`)?.text
      assert.strictEqual(attribute("http.response.status_code"), "http.response.status_code=200")
      assert.strictEqual(attribute("chutes.attempts"), "chutes.attempts=2")
    }))

  it.effect("retries a connection reset as a transport error", () =>
    Effect.gen(function*() {
      const { fetch, requests } = discoveryWith(["reset"], { retry: { maxRetries: 2 } })
      const result = yield* runToEnd(fetch)
      assert.strictEqual(requests.length, 3)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "Transport")
        assert.include(result.left.message, "ECONNRESET")
      }
    }))

  it.effect("does not retry a malformed body, an HTML page or an empty catalog", () =>
    Effect.gen(function*() {
      for (
        const [step, reason] of [
          [{ status: 200, body: "{\"data\": [" }, "Decode"],
          [{ status: 200, body: "<html><title>Oops</title></html>", headers: { "content-type": "text/html" } }, "Decode"],
          [json(200, { object: "list", data: [] }), "EmptyCatalog"]
        ] as const
      ) {
        const { fetch, requests } = discoveryWith([step, okBody])
        const result = yield* runToEnd(fetch)
        assert.strictEqual(requests.length, 1)
        assert.isTrue(Either.isLeft(result) && result.left.reason === reason, reason)
      }
    }))

  it.effect("refuses a body over the size cap", () =>
    Effect.gen(function*() {
      const { fetch } = discoveryWith([okBody], { maxResponseBytes: 1000 })
      const error = yield* Effect.flip(fetch)
      assert.strictEqual(error.reason, "TooLarge")
    }))

  it.effect("never puts the credential in an error, even when the server echoes it", () =>
    Effect.gen(function*() {
      const { fetch } = discoveryWith([json(401, { detail: `Invalid token: Bearer ${SECRET} (${SECRET})` })])
      const error = yield* Effect.flip(fetch)
      assert.strictEqual(error.reason, "Unauthorized")
      for (const text of [error.message, String(error), JSON.stringify(error), error.detail ?? ""]) {
        assert.notInclude(text, SECRET)
        assert.notInclude(text, SECRET.slice(4, 40))
      }
    }))
})

/**
 * A transport whose answer never completes, and which records how it was given up: no headers ever (`headers`: the
 * request is interrupted), or a 200 with its first bytes and then nothing (`body`: the body stream is cancelled).
 * `cleanup` runs when the request is interrupted, before it counts as given up.
 */
const neverAnswering = (where: "headers" | "body", cleanup: Effect.Effect<void> = Effect.void) => {
  const events: Array<string> = []
  let requests = 0
  const client = HttpClient.make((request) =>
    Effect.suspend(() => {
      requests++
      if (where === "headers") {
        return Effect.onInterrupt(Effect.never, () => Effect.zipRight(cleanup, Effect.sync(() => void events.push("request interrupted"))))
      }
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(new TextEncoder().encode(`{"object":"list","data":[`)),
        pull: () => new Promise<void>(() => {}),
        cancel: () => void events.push("body cancelled")
      })
      return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(body, { status: 200 })))
    })
  )
  return { client, events, requests: () => requests }
}

describe("the per-attempt deadline", () => {
  for (const where of ["headers", "body"] as const) {
    it.effect(`fires at the deadline, not before, when the ${where === "headers" ? "headers never come" : "body never ends"}, and gives the request up first`, () =>
      Effect.gen(function*() {
        const transport = neverAnswering(where)
        const fiber = yield* Effect.fork(
          discoveryOver(transport.client, { requestTimeout: "10 seconds", retry: { maxRetries: 0 } })
        )
        yield* TestClock.adjust(Duration.millis(9999))
        assert.isNull(fiber.unsafePoll(), "still waiting 1 ms before the deadline")
        assert.deepStrictEqual(transport.events, [])
        yield* TestClock.adjust(Duration.millis(1))
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        assert.isTrue(Option.isSome(error), "a typed failure, not a defect or an interruption")
        if (Option.isSome(error)) {
          assert.instanceOf(error.value, DiscoveryError)
          assert.strictEqual(error.value.reason, "Timeout")
          assert.strictEqual(error.value.detail, "no complete answer within 10s")
          assert.isTrue(error.value.retryable)
        }
        // The timeout is reported only once the request has been given up.
        assert.deepStrictEqual(transport.events, [where === "headers" ? "request interrupted" : "body cancelled"])
        assert.strictEqual(transport.requests(), 1)
      }))
  }

  it.effect("an attempt that answers in time leaves nothing running: its deadline's timer is gone", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let requests = 0
      const client = HttpClient.make((request) =>
        Effect.as(
          Effect.zipRight(Effect.sync(() => requests++), Deferred.await(gate)),
          HttpClientResponse.fromWeb(request, new Response(JSON.stringify(capture), { status: 200 }))
        )
      )
      const supervisor = yield* Supervisor.track
      const fiber = yield* Effect.fork(
        Effect.supervised(discoveryOver(client, { requestTimeout: "10 seconds" }), supervisor)
      )
      for (let turn = 0; turn < 50 && requests === 0; turn++) yield* Effect.yieldNow()
      yield* TestClock.adjust(Duration.millis(9999))
      assert.strictEqual((yield* supervisor.value).length, 2, "the attempt and its timer")
      yield* Deferred.succeed(gate, undefined)
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.attempts, 1)
      assert.strictEqual((yield* supervisor.value).length, 0, "no fiber outlives the answer")
    }))

  it.effect("a defect of the transport passes through as it is: not a timeout, not retried", () =>
    Effect.gen(function*() {
      const boom = new Error("boom")
      let requests = 0
      const dying = HttpClient.make(() => Effect.suspend(() => (requests++, Effect.die(boom))))
      const exit = yield* Effect.exit(discoveryOver(dying))
      assert.isTrue(Exit.isFailure(exit))
      // The span around the call re-wraps the error with its trace: the same name and message, not the same object.
      const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
      assert.instanceOf(defect, Error)
      assert.strictEqual((defect as Error).message, "boom")
      assert.isTrue(Exit.isFailure(exit) && Option.isNone(Cause.failureOption(exit.cause)), "no typed failure")
      assert.strictEqual(requests, 1)
    }))

  it.effect("a caller that interrupts a discovery waits until the request has cleaned up", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      let cleanedUp = false
      const transport = neverAnswering("headers", Effect.zipRight(Deferred.await(release), Effect.sync(() => (cleanedUp = true))))
      const supervisor = yield* Supervisor.track
      const fiber = yield* Effect.fork(
        Effect.supervised(discoveryOver(transport.client, { requestTimeout: "10 seconds" }), supervisor)
      )
      for (let turn = 0; turn < 50 && transport.requests() === 0; turn++) yield* Effect.yieldNow()
      assert.strictEqual(transport.requests(), 1, "the request is in flight")
      const interrupter = yield* Effect.fork(Fiber.interrupt(fiber))
      for (let turn = 0; turn < 20; turn++) yield* Effect.yieldNow()
      assert.isNull(interrupter.unsafePoll(), "the interruption has not returned while the request cleans up")
      assert.isFalse(cleanedUp)
      yield* Deferred.succeed(release, undefined)
      const exit = yield* Fiber.join(interrupter)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.isTrue(cleanedUp)
      assert.deepStrictEqual(transport.events, ["request interrupted"])
      assert.strictEqual((yield* supervisor.value).length, 0, "neither the attempt nor its timer outlives the call")
      // Nothing is left to fire: the deadline passing later changes nothing.
      yield* TestClock.adjust(Duration.seconds(60))
      assert.strictEqual(transport.requests(), 1)
    }))
})
