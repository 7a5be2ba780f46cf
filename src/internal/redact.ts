/**
 * Scrubbing of untrusted text (HTTP error bodies, pasted input) before it reaches an error, a log or the terminal.
 * Secrets are `Redacted` from the edge, but a server may echo a token back in an error body, so every excerpt that
 * leaves the SDK goes through here.
 *
 * @internal
 */

// Chutes API keys (`cpk_…`), OAuth access / refresh tokens (`cak_…`, `crt_…`), client secrets (`csc_…`/`cs_…`),
// and anything following a `Bearer` keyword.
const SECRET_PATTERNS: ReadonlyArray<RegExp> = [
  /\b(?:cpk|cak|crt|csc|cs|sk)_[A-Za-z0-9._-]{6,}/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /\b((?:access_token|refresh_token|client_secret|code_verifier|code|api_key|token)["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi
]

/** Replaces anything that looks like a credential with a marker. */
export const scrub = (text: string): string => {
  let out = text
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === "string" && prefix.length > 0 && !/^(Bearer|Basic)$/i.test(prefix)
        ? `${prefix}<redacted>`
        : /^(Bearer|Basic)\s/i.test(match)
        ? `${match.split(/\s+/)[0]} <redacted>`
        : "<redacted>")
  }
  return out
}

/** A short, single-line, scrubbed excerpt of untrusted text. */
export const excerpt = (text: string, max = 200): string => {
  const oneLine = scrub(text).replace(/\s+/g, " ").trim()
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine
}

/** Shows at most the last four characters of a secret, the way the CLI labels credentials. */
export const lastFour = (secret: string): string => (secret.length <= 8 ? "****" : `…${secret.slice(-4)}`)

/**
 * Extracts the human part of a FastAPI-style error body (`{"detail": "…"}` or `{"detail": {...}}`) or an OAuth error
 * body (`{"error": "…", "error_description": "…"}`), scrubbed and capped. Falls back to an excerpt of the raw text.
 */
export const errorDetail = (body: string, max = 200): string | undefined => {
  const trimmed = body.trim()
  if (trimmed.length === 0) return undefined
  try {
    const parsed: unknown = JSON.parse(trimmed)
    if (typeof parsed === "object" && parsed !== null) {
      const record = parsed as Record<string, unknown>
      const detail = record["detail"] ?? record["error_description"] ?? record["error"] ?? record["message"]
      if (typeof detail === "string") return excerpt(detail, max)
      if (detail !== undefined) return excerpt(JSON.stringify(detail), max)
    }
  } catch {
    // not JSON: fall through to the raw excerpt
  }
  if (/^<(!doctype|html)/i.test(trimmed)) {
    const title = /<title>([^<]*)<\/title>/i.exec(trimmed)?.[1]
    return `HTML page${title ? `: ${excerpt(title, 80)}` : ""}`
  }
  return excerpt(trimmed, max)
}

/**
 * A short, scrubbed description of an HTTP client failure: its description and causes only — never the request it
 * carries, whose body may hold refresh tokens, codes or client secrets.
 */
export const transportDetail = (error: {
  readonly reason: string
  readonly description?: string | undefined
  readonly cause?: unknown
}): string => {
  const cause = error.cause instanceof Error
    ? [error.cause.message, error.cause.cause instanceof Error ? error.cause.cause.message : undefined]
    : []
  const parts = [error.description, ...cause].filter((p): p is string => typeof p === "string" && p.length > 0)
  return excerpt(parts.length > 0 ? parts.join(": ") : error.reason, 160)
}
