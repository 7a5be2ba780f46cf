/**
 * Credentials as the fake checks them: bearers on `/v1/...` (API keys and live access tokens), OAuth client
 * authentication, and the tokens the IdP issues. Token lifetimes run on the wall clock (`Date.now()`), like a remote
 * service's, even when a test drives a `TestClock`.
 */
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { detailReply, jsonReply, type Reply } from "./reply.js"
import type { Incoming } from "./routes.js"
import { type AccessTokenRecord, count, type State } from "./state.js"
import type { IssuedTokens } from "./types.js"

export const randomHex = (bytes: number): string => randomBytes(bytes).toString("hex")

export const s256 = (verifier: string): string => createHash("sha256").update(verifier).digest("base64url")

const safeEqual = (a: string, b: string): boolean => {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  return ab.length === bb.length && timingSafeEqual(ab, bb)
}

export const bearerOf = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  return match?.[1]
}

const basicOf = (header: string | undefined): { readonly id: string; readonly secret: string } | undefined => {
  const match = header === undefined ? null : /^Basic[ \t]+(\S+)[ \t]*$/i.exec(header)
  const encoded = match?.[1]
  if (encoded === undefined) return undefined
  const decoded = Buffer.from(encoded, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon < 0) return undefined
  return {
    id: decodeURIComponent(decoded.slice(0, colon)),
    secret: decodeURIComponent(decoded.slice(colon + 1))
  }
}

/** A form or query value; empty counts as missing. */
export const formValue = (form: URLSearchParams, name: string): string | undefined => {
  const value = form.get(name)
  return value === null || value === "" ? undefined : value
}

export const isForm = (incoming: Incoming): boolean =>
  (incoming.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")

/** A fresh access + refresh token pair for a client. */
export const issue = (
  state: State,
  clientId: string,
  scope: string,
  ttlSeconds: number
): Effect.Effect<IssuedTokens & { readonly scope: string }> => {
  const access = `cak_${randomHex(24)}`
  const refresh = `crt_${randomHex(24)}`
  return Ref.update(state.tokens, (tokens) => ({
    ...tokens,
    access: HashMap.set(tokens.access, access, { clientId, scope, expiresAt: Date.now() + ttlSeconds * 1000 }),
    refresh: HashMap.set(tokens.refresh, refresh, { clientId, scope, used: false })
  })).pipe(Effect.as({ access, refresh, expiresIn: ttlSeconds, scope }))
}

export const validAccessToken = (state: State, token: string): Effect.Effect<AccessTokenRecord | undefined> =>
  Effect.map(Ref.get(state.tokens), (tokens) =>
    HashMap.get(tokens.access, token).pipe(
      Option.filter((record) => Date.now() < record.expiresAt),
      Option.getOrUndefined
    ))

/**
 * Auth on `/v1/...`: only the Authorization header is read; API keys (scoped ones too) and live access tokens pass.
 * `required: false` lets a request without the header through (the public `/v1/models`). A refusal is counted as
 * `unauthorized`.
 */
export const llmAuth = (state: State, incoming: Incoming, required: boolean): Effect.Effect<Reply | undefined> =>
  Effect.gen(function*() {
    const header = incoming.headers["authorization"]
    if (header === undefined || header.trim() === "") {
      if (!required) return undefined
      yield* count(state, "unauthorized")
      return detailReply(401, "Not authenticated", { "www-authenticate": "Bearer" })
    }
    const token = bearerOf(header)
    const known = token !== undefined && (state.config.apiKeys.has(token) || state.config.scopedApiKeys.has(token))
    if (token !== undefined && (known || (yield* validAccessToken(state, token)))) {
      return undefined
    }
    yield* count(state, "unauthorized")
    return detailReply(401, "Invalid token.", { "www-authenticate": "Bearer" })
  })

/** Client authentication: `client_secret_post` or `client_secret_basic`; the secret is checked when one is set. */
export const authenticateClient = (
  state: State,
  incoming: Incoming,
  form: URLSearchParams
): { readonly ok: true; readonly clientId: string } | { readonly ok: false; readonly reply: Reply } => {
  const { clientId, clientSecret } = state.config
  const basic = basicOf(incoming.headers["authorization"])
  const id = basic?.id ?? formValue(form, "client_id")
  const secret = basic?.secret ?? formValue(form, "client_secret")
  const fail = (): { readonly ok: false; readonly reply: Reply } => ({
    ok: false,
    // RFC 6749 §5.2: 401 when the client tried the Authorization header, else 400.
    reply: basic !== undefined
      ? jsonReply(401, { error: "invalid_client" }, { "www-authenticate": "Basic realm=\"chutes\"" })
      : jsonReply(400, { error: "invalid_client" })
  })
  if (id === undefined || id !== clientId) return fail()
  if (clientSecret !== undefined && (secret === undefined || !safeEqual(secret, clientSecret))) return fail()
  return { ok: true, clientId: id }
}
