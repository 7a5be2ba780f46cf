/**
 * `GET /v1/models`: public, like the live service, but a bad bearer gets 401 `{"detail": …}`.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { llmAuth } from "./auth.js"
import type { Reply } from "./reply.js"
import { endpoint, type Incoming } from "./routes.js"
import type { State } from "./state.js"

const handleModels = (state: State, request: Incoming): Effect.Effect<Reply> =>
  Effect.gen(function*() {
    const denied = yield* llmAuth(state, request, false)
    if (denied !== undefined) return denied
    const catalog = yield* Ref.get(state.catalog)
    return { status: 200, headers: { "content-type": "application/json" }, body: catalog.body }
  })

/** The catalog router. */
export const router = HttpRouter.empty.pipe(endpoint("models", handleModels))
