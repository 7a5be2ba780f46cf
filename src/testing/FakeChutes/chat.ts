/**
 * `POST /v1/chat/completions`: checks in the live service's order — bearer (401), OAuth scope `chutes:invoke` (403),
 * body (400), model availability (404 / 503), daily quota and balance (402, quota.ts) — then the next scripted answer
 * for the model, else the default one, with the rate-limit and quota headers; the call is counted in the account.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import { bearerOf, llmAuth, randomHex, validAccessToken } from "./auth.js"
import {
  chatErrorReply,
  completionReply,
  defaultChatReply,
  isChatErrorReply,
  replyUsage,
  streamReply
} from "./completion.js"
import * as Quota from "./quota.js"
import { detailReply, type Reply } from "./reply.js"
import { endpoint, type Incoming } from "./routes.js"
import type { ChatState, State } from "./state.js"
import type { ChatAvailability, ChatErrorReply, ChatReply } from "./types.js"

const parseJson = (text: string): Either.Either<unknown, string> => {
  if (text.trim() === "") return Either.right({})
  try {
    const value: unknown = JSON.parse(text)
    return Either.right(value)
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

/** Every chat body is kept, parsed as JSON (the raw text when it is not JSON), faulted and refused ones included. */
const recordBody = (state: State, request: Incoming): Effect.Effect<void> => {
  const parsed = parseJson(request.body)
  const body = Either.isRight(parsed) && request.body.trim() !== "" ? parsed.right : request.body
  return Ref.update(state.chat, (chat) => ({ ...chat, bodies: Chunk.append(chat.bodies, body) }))
}

/** The first queued answer for `model` (or for any model), taken off the queue. */
const takeScripted = (state: State, model: string): Effect.Effect<ChatReply | ChatErrorReply | undefined> =>
  Ref.modify(state.chat, (chat): [ChatReply | ChatErrorReply | undefined, ChatState] => {
    const index = chat.script.findIndex((reply) => reply.model === undefined || reply.model === model)
    if (index < 0) return [undefined, chat]
    return [chat.script[index], { ...chat, script: chat.script.filter((_, i) => i !== index) }]
  })

/** 403 for an OAuth access token without `chutes:invoke`; API keys carry no scopes. */
const checkScope = (state: State, request: Incoming): Effect.Effect<Reply | undefined> => {
  const token = bearerOf(request.headers["authorization"])
  return Effect.map(token === undefined ? Effect.succeed(undefined) : validAccessToken(state, token), (record) =>
    record === undefined || record.scope.split(/\s+/).includes("chutes:invoke")
      ? undefined
      : detailReply(403, "Insufficient scope: chutes:invoke is required for inference."))
}

const handleChat = (state: State, request: Incoming): Effect.Effect<Reply> =>
  Effect.gen(function*() {
    const denied = (yield* llmAuth(state, request, true)) ?? (yield* checkScope(state, request))
    if (denied !== undefined) return denied
    const parsed = parseJson(request.body)
    if (Either.isLeft(parsed) || !Predicate.isRecord(parsed.right)) return detailReply(400, "Invalid JSON body.")
    const body = parsed.right
    const model = body["model"]
    if (typeof model !== "string" || model === "") return detailReply(400, "model is required")
    const messages = body["messages"]
    if (!Array.isArray(messages) || messages.length === 0) return detailReply(400, "messages is required")
    const chat = yield* Ref.get(state.chat)
    const catalog = yield* Ref.get(state.catalog)
    const availability = chat.availability.get(model) ?? (catalog.ids.has(model) ? "available" : "not-found")
    if (availability === "not-found") return detailReply(404, `model not found: ${model}`)
    if (availability === "no-instances") return detailReply(503, `No instances available (yet) for chute: ${model}`)
    // The quota and balance are checked before any upstream work: a 402 is plain JSON even for a stream.
    const metering = yield* Quota.meter(state)
    if (metering._tag === "Refused") return metering.reply
    const scripted = yield* takeScripted(state, model)
    if (scripted !== undefined && isChatErrorReply(scripted)) return chatErrorReply(scripted)
    const reply = scripted ?? chat.defaultReply ?? defaultChatReply
    const id = scripted === undefined && chat.defaultReply === undefined
      ? "chatcmpl-fake"
      : `chatcmpl-${randomHex(12)}`
    const answer = body["stream"] === true
      ? streamReply(reply, model, id, Date.now())
      : completionReply(reply, model, id, Date.now())
    yield* Quota.record(state, model, replyUsage(reply), metering.covered)
    return { ...answer, headers: { ...metering.headers, ...answer.headers } }
  })

/** The chat completions router. */
export const router = HttpRouter.empty.pipe(endpoint("chat", handleChat, recordBody))

// ---------------------------------------------------------------------------------------------------------------------
// Scripting (the `FakeChat` side of the server)
// ---------------------------------------------------------------------------------------------------------------------

export const script = (state: State, replies: ReadonlyArray<ChatReply | ChatErrorReply>): Effect.Effect<void> =>
  Ref.update(state.chat, (chat) => ({ ...chat, script: [...chat.script, ...replies] }))

export const setDefaultReply = (state: State, reply: ChatReply | undefined): Effect.Effect<void> =>
  Ref.update(state.chat, (chat) => ({ ...chat, defaultReply: reply }))

export const setAvailability = (
  state: State,
  model: string,
  availability: ChatAvailability | undefined
): Effect.Effect<void> =>
  Ref.update(state.chat, (chat) => {
    const next = new Map(chat.availability)
    if (availability === undefined) next.delete(model)
    else next.set(model, availability)
    return { ...chat, availability: next }
  })
