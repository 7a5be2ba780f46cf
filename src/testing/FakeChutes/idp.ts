/**
 * The identity provider (`/idp/...`): S256-only PKCE, a consent page (or auto-approval), single-use codes, rotating
 * single-use refresh tokens, the client secret checked on every code exchange, refresh and revoke, userinfo, and the
 * OpenID configuration. Lifetimes run on the wall clock (`Date.now()`), like a remote service's.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { authenticateClient, bearerOf, formValue, isForm, issue, randomHex, s256, validAccessToken } from "./auth.js"
import { escapeHtml, htmlPage, htmlReply, jsonReply, redirectWith, type Reply } from "./reply.js"
import { endpoint, type Incoming } from "./routes.js"
import { count, countGrant, defaultScope, type PendingAuthorization, type State, type Tokens } from "./state.js"
import type { IssuedTokens } from "./types.js"

const codeLifetimeMillis = 600_000
const pendingLifetimeMillis = 600_000

const authorizeErrorPage = (message: string): Reply =>
  htmlReply(
    400,
    htmlPage("Authorization error", `<h1>Authorization error</h1>\n<p id="error">${escapeHtml(message)}</p>`)
  )

const tokenReply = (tokens: IssuedTokens & { readonly scope: string }): Reply =>
  jsonReply(
    200,
    {
      access_token: tokens.access,
      refresh_token: tokens.refresh,
      token_type: "Bearer",
      expires_in: tokens.expiresIn,
      scope: tokens.scope
    },
    { "cache-control": "no-store", pragma: "no-cache" }
  )

const invalidGrant = (state: State): Effect.Effect<Reply> =>
  Effect.as(count(state, "invalidGrant"), jsonReply(400, { error: "invalid_grant" }, { "cache-control": "no-store" }))

/** `tokenByGrant` counts every token request by its grant type, faulted ones included. */
const countTokenGrant = (state: State, request: Incoming): Effect.Effect<void> => {
  const grant = isForm(request) ? new URLSearchParams(request.body).get("grant_type") : null
  return grant === "authorization_code" || grant === "refresh_token" ? countGrant(state, grant) : Effect.void
}

/** A code is taken atomically: it works once, and a check that fails leaves it usable (an expired one goes). */
const exchangeCode = (state: State, form: URLSearchParams, clientId: string): Effect.Effect<Reply> =>
  Effect.gen(function*() {
    const code = formValue(form, "code")
    const verifier = formValue(form, "code_verifier")
    const record = yield* Ref.modify(state.tokens, (tokens) => {
      const found = code === undefined ? undefined : Option.getOrUndefined(HashMap.get(tokens.codes, code))
      if (code === undefined || found === undefined) return [undefined, tokens]
      const burnt = { ...tokens, codes: HashMap.remove(tokens.codes, code) }
      if (Date.now() >= found.expiresAt) return [undefined, burnt]
      const matches = found.clientId === clientId && formValue(form, "redirect_uri") === found.redirectUri &&
        verifier !== undefined && /^[A-Za-z0-9._~-]{43,128}$/.test(verifier) && s256(verifier) === found.challenge
      return matches ? [found, burnt] : [undefined, tokens]
    })
    if (record === undefined) return yield* invalidGrant(state)
    const { accessTokenTtl } = yield* Ref.get(state.settings)
    return tokenReply(yield* issue(state, clientId, record.scope, accessTokenTtl))
  })

const refreshTokens = (state: State, form: URLSearchParams, clientId: string): Effect.Effect<Reply> =>
  Effect.gen(function*() {
    const refresh = formValue(form, "refresh_token")
    if (refresh === undefined) return jsonReply(400, { error: "invalid_request" })
    // Rotating, single-use refresh tokens: a second use is refused like an unknown token.
    const record = yield* Ref.modify(state.tokens, (tokens) => {
      const found = Option.getOrUndefined(HashMap.get(tokens.refresh, refresh))
      if (found === undefined || found.used || found.clientId !== clientId) return [undefined, tokens]
      return [found, { ...tokens, refresh: HashMap.set(tokens.refresh, refresh, { ...found, used: true }) }]
    })
    if (record === undefined) return yield* invalidGrant(state)
    const { accessTokenTtl } = yield* Ref.get(state.settings)
    return tokenReply(yield* issue(state, clientId, record.scope, accessTokenTtl))
  })

const handleToken = (state: State, request: Incoming): Effect.Effect<Reply> => {
  if (!isForm(request)) return Effect.succeed(jsonReply(400, { error: "invalid_request" }))
  const form = new URLSearchParams(request.body)
  const grantType = formValue(form, "grant_type")
  if (grantType === undefined) return Effect.succeed(jsonReply(400, { error: "invalid_request" }))
  if (grantType !== "authorization_code" && grantType !== "refresh_token") {
    return Effect.succeed(jsonReply(400, { error: "unsupported_grant_type" }))
  }
  const client = authenticateClient(state, request, form)
  if (!client.ok) return Effect.succeed(client.reply)
  return grantType === "authorization_code"
    ? exchangeCode(state, form, client.clientId)
    : refreshTokens(state, form, client.clientId)
}

const handleRevoke = (state: State, request: Incoming): Effect.Effect<Reply> => {
  if (!isForm(request)) return Effect.succeed(jsonReply(400, { error: "invalid_request" }))
  const form = new URLSearchParams(request.body)
  const client = authenticateClient(state, request, form)
  if (!client.ok) return Effect.succeed(client.reply)
  const token = formValue(form, "token")
  if (token === undefined) return Effect.succeed(jsonReply(400, { error: "invalid_request" }))
  // RFC 7009: unknown tokens are not an error.
  return Ref.update(state.tokens, (tokens) => ({
    ...tokens,
    access: HashMap.remove(tokens.access, token),
    refresh: HashMap.remove(tokens.refresh, token)
  })).pipe(Effect.as(jsonReply(200, {})))
}

const handleUserinfo = (state: State, request: Incoming): Effect.Effect<Reply> =>
  Effect.gen(function*() {
    const token = bearerOf(request.headers["authorization"])
    if (token === undefined || (yield* validAccessToken(state, token)) === undefined) {
      yield* count(state, "unauthorized")
      return jsonReply(401, { error: "invalid_token" }, { "www-authenticate": "Bearer error=\"invalid_token\"" })
    }
    return jsonReply(200, { sub: state.config.sub, username: state.config.username })
  })

const approve = (state: State, request: PendingAuthorization): Effect.Effect<Reply> => {
  const code = randomHex(20)
  const record = {
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    challenge: request.challenge,
    scope: request.scope,
    expiresAt: Date.now() + codeLifetimeMillis
  }
  return Ref.update(state.tokens, (tokens) => ({ ...tokens, codes: HashMap.set(tokens.codes, code, record) })).pipe(
    Effect.as(redirectWith(request.redirectUri, { code, state: request.state }))
  )
}

const consentPage = (state: State, requestId: string, request: PendingAuthorization): Reply => {
  const scopes = request.scope.split(/\s+/).filter((s) => s !== "")
  const hidden = `<input type="hidden" name="request_id" value="${escapeHtml(requestId)}">`
  return htmlReply(
    200,
    htmlPage(
      "Authorize application",
      `<h1>Authorize application</h1>\n` +
        `<p>The application <code id="client-id">${escapeHtml(request.clientId)}</code> asks to access your ` +
        `Chutes account <strong id="username">${escapeHtml(state.config.username)}</strong> with these scopes:</p>\n` +
        `<ul id="scopes">${scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join("")}</ul>\n` +
        `<form method="post" action="/idp/authorize/decision">${hidden}` +
        `<button id="approve" name="decision" value="approve">Approve</button></form>\n` +
        `<form method="post" action="/idp/authorize/decision">${hidden}` +
        `<button id="deny" name="decision" value="deny">Deny</button></form>`
    )
  )
}

const handleAuthorize = (state: State, request: Incoming): Effect.Effect<Reply> =>
  Effect.gen(function*() {
    const get = (name: string): string | undefined => formValue(request.url.searchParams, name)
    const clientId = get("client_id")
    const redirectUri = get("redirect_uri")
    const challenge = get("code_challenge")
    // Nothing here may redirect: the redirect URI is not trusted until every check passes.
    if (clientId === undefined || clientId !== state.config.clientId) return authorizeErrorPage("Unknown client_id.")
    if (redirectUri === undefined || !state.config.redirectUris.has(redirectUri)) {
      return authorizeErrorPage("redirect_uri is not registered for this application.")
    }
    if (get("response_type") !== "code") return authorizeErrorPage("response_type must be code.")
    if (get("code_challenge_method") !== "S256") return authorizeErrorPage("code_challenge_method must be S256.")
    if (challenge === undefined || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return authorizeErrorPage("code_challenge is missing or malformed.")
    }
    const pending: PendingAuthorization = {
      clientId,
      redirectUri,
      state: get("state"),
      challenge,
      scope: (get("scope") ?? defaultScope).trim().split(/\s+/).join(" "),
      expiresAt: Date.now() + pendingLifetimeMillis
    }
    if ((yield* Ref.get(state.settings)).autoApprove) return yield* approve(state, pending)
    const requestId = randomHex(16)
    yield* Ref.update(state.tokens, (tokens) => ({
      ...tokens,
      pending: HashMap.set(tokens.pending, requestId, pending)
    }))
    return consentPage(state, requestId, pending)
  })

const handleDecision = (state: State, request: Incoming): Effect.Effect<Reply> =>
  Effect.gen(function*() {
    const form = new URLSearchParams(isForm(request) ? request.body : "")
    const requestId = formValue(form, "request_id")
    const decision = formValue(form, "decision")
    // Taken atomically, and only with a valid decision: one request, one decision.
    const outcome = yield* Ref.modify(state.tokens, (tokens): readonly [PendingAuthorization | string, Tokens] => {
      const found = requestId === undefined ? undefined : Option.getOrUndefined(HashMap.get(tokens.pending, requestId))
      if (requestId === undefined || found === undefined || Date.now() >= found.expiresAt) {
        return ["Unknown or expired authorization request.", tokens]
      }
      if (decision !== "approve" && decision !== "deny") return ["decision must be approve or deny.", tokens]
      return [found, { ...tokens, pending: HashMap.remove(tokens.pending, requestId) }]
    })
    if (typeof outcome === "string") return authorizeErrorPage(outcome)
    return decision === "approve"
      ? yield* approve(state, outcome)
      : redirectWith(outcome.redirectUri, { error: "access_denied", state: outcome.state })
  })

const wellKnown = (state: State): Effect.Effect<Reply> =>
  Effect.map(Ref.get(state.url), (url) =>
    jsonReply(200, {
      issuer: url,
      authorization_endpoint: `${url}/idp/authorize`,
      token_endpoint: `${url}/idp/token`,
      userinfo_endpoint: `${url}/idp/userinfo`,
      revocation_endpoint: `${url}/idp/token/revoke`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
      scopes_supported: ["openid", "profile", "chutes:invoke"]
    }))

/** The IdP router. */
export const router = HttpRouter.empty.pipe(
  endpoint("token", handleToken, countTokenGrant),
  endpoint("revoke", handleRevoke),
  endpoint("userinfo", handleUserinfo),
  endpoint("authorize", handleAuthorize),
  endpoint("decision", handleDecision),
  endpoint("wellKnown", wellKnown)
)
