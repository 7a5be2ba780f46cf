import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"

/** The real capture of `GET /v1/models` (2026-06-11), as shipped with FakeChutes. */
export const capture: { readonly object: string; readonly data: ReadonlyArray<Record<string, unknown>> } = JSON.parse(
  readFileSync(new URL("../../src/testing/fixtures/chutes-models-2026-06-11.json", import.meta.url), "utf8")
)

/** One scripted answer: a response, a transport failure, no answer at all, or a 200 whose body stalls. */
export type Scripted =
  | { readonly status: number; readonly body?: string; readonly headers?: Record<string, string> }
  | "reset"
  | "hang"
  | "stall"

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Scripted => ({
  status,
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers }
})

/**
 * An HttpClient that answers from a script, one entry per request (the last entry repeats), and records requests.
 */
export const scriptedClient = (script: ReadonlyArray<Scripted>) => {
  const requests: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) =>
    Effect.suspend(() => {
      const step = script[Math.min(requests.length, script.length - 1)]!
      requests.push(request)
      if (step === "hang") return Effect.never
      if (step === "stall") {
        // Headers and the first bytes arrive; the rest never does.
        const body = new ReadableStream<Uint8Array>({
          start: (controller) => controller.enqueue(new TextEncoder().encode(`{"object":"list","data":[`)),
          pull: () => new Promise<void>(() => {})
        })
        return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(body, { status: 200 })))
      }
      if (step === "reset") {
        return Effect.fail(
          new HttpClientError.RequestError({ request, reason: "Transport", description: "socket hang up (ECONNRESET)" })
        )
      }
      return Effect.succeed(
        HttpClientResponse.fromWeb(request, new Response(step.body ?? "", { status: step.status, headers: step.headers ?? {} }))
      )
    })
  )
  return { client, requests }
}
