/**
 * What the IdP answers with: the token response and the userinfo body, each decoded by one `Schema`, and the expiry
 * arithmetic. Pure; the public names are re-exported by `ChutesOAuth`.
 *
 * A field's rule and the error for breaking it are written once, on the field (`required`): the detail of an
 * `InvalidTokenResponse` is that message, never the decoder's default text (which would quote the value — a token).
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { OAuthError } from "../ChutesError.js"
import { errorDetail } from "./redact.js"

// ---------------------------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Tokens from the IdP. `expires` is epoch milliseconds and already holds the 5-minute margin: refresh when
 * `now >= expires`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenSet {
  readonly access: Redacted.Redacted<string>
  readonly refresh: Redacted.Redacted<string>
  readonly expires: number
  readonly scope?: string | undefined
}

/**
 * What `/idp/userinfo` says about the user (unknown fields dropped).
 *
 * @since 0.1.0
 * @category models
 */
export interface UserInfo {
  readonly sub?: string | undefined
  readonly username?: string | undefined
}

// ---------------------------------------------------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------------------------------------------------

/**
 * How long before the real expiry a token counts as expired.
 *
 * @since 0.1.0
 * @category constants
 */
export const EXPIRY_MARGIN_MILLIS = 5 * 60_000

/**
 * The shortest lifetime given to a token, however short its `expires_in`.
 *
 * @since 0.1.0
 * @category constants
 */
export const MIN_LIFETIME_MILLIS = 30_000

/**
 * The largest `expires_in` accepted (seconds): keeps the expiry a safe integer of milliseconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_EXPIRES_IN = 1_000_000_000_000

/**
 * `max(now + expiresIn·1000 − 5 min, now + 30 s)`, epoch milliseconds.
 *
 * @since 0.1.0
 * @category tokens
 */
export const expiresAt = (now: number, expiresInSeconds: number): number =>
  Math.max(now + expiresInSeconds * 1000 - EXPIRY_MARGIN_MILLIS, now + MIN_LIFETIME_MILLIS)

// ---------------------------------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------------------------------

/** A string with something in it, trimmed. */
const Text = Schema.Trim.pipe(Schema.nonEmptyString())

/**
 * The longest token taken, in characters: Chutes' tokens are ~100; a JWT with many claims is a few KiB.
 *
 * @since 0.3.0
 * @category constants
 */
export const MAX_TOKEN_LENGTH = 16 * 1024

/**
 * A token as it goes into an `Authorization` header and the store: visible ASCII (RFC 6750's token characters and a
 * few more), no spaces, at most `MAX_TOKEN_LENGTH`; surrounding whitespace is trimmed.
 */
const Token = Schema.Trim.pipe(
  Schema.nonEmptyString(),
  Schema.maxLength(MAX_TOKEN_LENGTH),
  Schema.pattern(/^[\x21-\x7e]+$/)
)

/** What is wrong with a token field, from its kind and length, never its text. */
const tokenProblem = (field: string) => (found: unknown): string =>
  typeof found !== "string" || found.trim() === ""
    ? `${field} is missing or empty`
    : found.trim().length > MAX_TOKEN_LENGTH
    ? `${field} is over ${MAX_TOKEN_LENGTH} characters`
    : `${field} has characters a bearer token cannot have (spaces, control or non-ASCII characters)`

/** `scope`: kept when it is printable (space-separated words), dropped otherwise (it is shown, never sent back). */
const Scope = Text.pipe(Schema.maxLength(1024), Schema.pattern(/^[\x20-\x7e]+$/))

/** A positive whole number of seconds, at most `MAX_EXPIRES_IN` (`Int` refuses NaN and Infinity, e.g. `1e309`). */
const Seconds = Schema.Int.pipe(Schema.positive(), Schema.lessThanOrEqualTo(MAX_EXPIRES_IN))

/**
 * `expires_in`: a number of seconds, or the decimal digits of one (some IdPs send strings). Zero, negatives,
 * fractions and other strings (`"1e3"`, `" 3600"`, `"1.5"`) are refused.
 */
const ExpiresIn = Schema.Union(
  Seconds,
  Schema.String.pipe(
    Schema.pattern(/^[1-9][0-9]{0,12}$/),
    Schema.compose(Schema.NumberFromString),
    Schema.compose(Seconds)
  )
)

/**
 * A field the body must have: `describe` gets the value found (`undefined` when the key is missing) and says what is
 * wrong with it — from its kind, never its text.
 */
const required = <A, I>(schema: Schema.Schema<A, I>, describe: (found: unknown) => string) =>
  Schema.propertySignature(
    schema.annotations({ message: (issue) => ({ message: describe(issue.actual), override: true }) })
  ).annotations({ missingMessage: () => describe(undefined) })

/** A field kept when it passes `schema`, dropped otherwise (absent, `null`, empty, another type): never a refusal. */
const lenient = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.optionalToOptional(Schema.Unknown, Schema.typeSchema(schema), {
    decode: Option.flatMap(Schema.decodeUnknownOption(schema)),
    encode: (value) => value
  })

const kindOf = (value: unknown): string => {
  if (value === undefined) return "missing"
  const kind = value === null ? "null" : typeof value
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind} that is not a positive integer`
}

/**
 * A 2xx answer of `/idp/token`. `refresh_token` may be missing on a refresh (the old one is kept), so the Schema
 * leaves it optional and `decodeTokenResponse` decides.
 */
const TokenResponse = Schema.Struct({
  access_token: required(Token, tokenProblem("access_token")),
  // Absent, null or empty: none given (a refresh keeps the old one). Anything else must be a token (below).
  refresh_token: Schema.optional(Schema.Unknown),
  expires_in: required(ExpiresIn, (found) => `expires_in must be a positive integer of seconds (got ${kindOf(found)})`),
  scope: lenient(Scope)
})

/** The `refresh_token` given: `None` when there is none (absent, null, empty), else the token or what is wrong. */
const givenRefresh = (found: unknown): Option.Option<Either.Either<string, string>> => {
  if (found === undefined || found === null || (typeof found === "string" && found.trim() === "")) return Option.none()
  return Option.some(Either.mapLeft(Schema.decodeUnknownEither(Token)(found), () => tokenProblem("refresh_token")(found)))
}

/** A 2xx answer of `/idp/userinfo`: the fields kept when they are non-empty strings. */
const UserInfoBody = Schema.Struct({ sub: lenient(Text), username: lenient(Text) })

/** A non-2xx answer of the IdP, as far as it follows RFC 6749 §5.2. */
const ErrorBody = Schema.Struct({ error: lenient(Schema.String), error_description: lenient(Text) })

/** The body as a JSON object, or `undefined` (not JSON, or an array / a scalar). */
const jsonObject = (body: string): Record<string, unknown> | undefined => {
  try {
    const json: unknown = JSON.parse(body)
    return Predicate.isRecord(json) ? json : undefined
  } catch {
    return undefined
  }
}

/** The message of the first problem: a field's own message (see `required`). */
const firstMessage = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message ?? "the body does not have the expected fields"

const invalidTokenResponse = (detail: string): OAuthError => new OAuthError({ reason: "InvalidTokenResponse", detail })

// ---------------------------------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Validates `expires_in`: a positive integer number of seconds (at most `MAX_EXPIRES_IN`), or a string of decimal
 * digits denoting one (some IdPs send strings). NaN, Infinity (`1e309` in JSON), zero, negatives, fractions and other
 * strings are refused. The token response's own rule for the field.
 *
 * @since 0.1.0
 * @category tokens
 */
export const parseExpiresIn: (value: unknown) => Option.Option<number> = Schema.decodeUnknownOption(ExpiresIn)

/**
 * Reads a 2xx token response. `previousRefresh` is kept when the answer has no (or an empty) `refresh_token` — the
 * refresh grant may omit it; without it, a refresh token is required (the code exchange). Error details describe the
 * problem and never echo a field's value.
 */
export const decodeTokenResponse = (
  body: string,
  now: number,
  previousRefresh?: Redacted.Redacted<string>
): Either.Either<TokenSet, OAuthError> => {
  const json = jsonObject(body)
  if (json === undefined) {
    const detail = errorDetail(body)
    const html = detail?.startsWith("HTML") === true
    return Either.left(invalidTokenResponse(html ? `expected JSON, got an ${detail}` : "the body is not a JSON object"))
  }
  return Schema.decodeUnknownEither(TokenResponse)(json).pipe(
    Either.mapLeft((error) => invalidTokenResponse(firstMessage(error))),
    Either.flatMap((decoded) => {
      const given = givenRefresh(decoded.refresh_token)
      if (Option.isSome(given) && Either.isLeft(given.value)) return Either.left(invalidTokenResponse(given.value.left))
      const refresh = Option.isSome(given) && Either.isRight(given.value)
        ? Redacted.make(given.value.right)
        : previousRefresh
      if (refresh === undefined) return Either.left(invalidTokenResponse("refresh_token is missing or empty"))
      return Either.right({
        access: Redacted.make(decoded.access_token),
        refresh,
        expires: expiresAt(now, decoded.expires_in),
        ...(decoded.scope !== undefined ? { scope: decoded.scope } : {})
      })
    })
  )
}

/** Reads a 2xx userinfo body: `sub` and `username` when they are non-empty strings; a body that is no object fails. */
export const decodeUserInfo = (body: string): Either.Either<UserInfo, OAuthError> => {
  const json = jsonObject(body)
  if (json === undefined) return Either.left(invalidTokenResponse("userinfo: the body is not a JSON object"))
  return Either.mapLeft(
    Schema.decodeUnknownEither(UserInfoBody)(json),
    () => invalidTokenResponse("userinfo: the body does not have the expected fields")
  )
}

/** The OAuth `error` and `error_description` of a refusal's body, when it is a JSON object that has them. */
export const decodeErrorBody = (
  body: string
): { readonly error?: string | undefined; readonly error_description?: string | undefined } => {
  const json = jsonObject(body)
  return json === undefined ? {} : Either.getOrElse(Schema.decodeUnknownEither(ErrorBody)(json), () => ({}))
}
