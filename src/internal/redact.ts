/**
 * Scrubbing of untrusted text (HTTP error bodies, pasted input) before it reaches an error, a log or the terminal.
 * Secrets are `Redacted` from the edge, but a server may echo a token back in an error body, so every excerpt that
 * leaves the SDK goes through here.
 *
 * @internal
 */

// Chutes API keys (`cpk_…`), OAuth access / refresh tokens (`cak_…`, `crt_…`), client secrets (`csc_…`/`cs_…`) —
// also right after a URL-encoded character (`Bearer%20cpk_…`), where `\b` sees no word boundary — and anything
// following a `Bearer` keyword.
const SECRET_PATTERNS: ReadonlyArray<RegExp> = [
  /(?:\b|(?<=%[0-9A-Fa-f]{2}))(?:cpk|cak|crt|csc|cs|sk)_[A-Za-z0-9._-]{6,}/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /\b((?:access_token|refresh_token|client_secret|code_verifier|code|api_key|token)["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi
]

/**
 * A `code` that is a short number is an error or status code (`"code":500`, `"code": -32600`), never an OAuth code.
 */
const numericCode = (prefix: string, value: string): boolean =>
  /^code\b/i.test(prefix) && /^-?\d{1,5}$/.test(value)

/** Replaces anything that looks like a credential with a marker. */
export const scrub = (text: string): string => {
  let out = text
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === "string" && prefix.length > 0 && !/^(Bearer|Basic)$/i.test(prefix)
        ? numericCode(prefix, match.slice(prefix.length)) ? match : `${prefix}<redacted>`
        : /^(Bearer|Basic)\s/i.test(match)
        ? `${match.split(/\s+/)[0]} <redacted>`
        : "<redacted>")
  }
  return out
}

// What a terminal must never get raw: control characters (C0 and C1 — ESC starts terminal escape sequences — and DEL),
// lone surrogates, and the characters a terminal draws as nothing — every format and default-ignorable code point:
// the bidirectional controls (U+202E reverses the text after it on screen), zero-width spaces, word joiners, fillers,
// tag characters, the Egyptian format controls —, since they make two texts look alike or carry hidden text. Kept as
// they are (`KEPT`): the format characters that draw something (the soft hyphen, the Arabic and Syriac number signs,
// …); a joiner that stands alone (U+200D in emoji such as 👩‍💻, U+200C in Persian and Indic script — a run of them is
// escaped: it can spell bits); one variation selector right after a letter, digit, symbol or punctuation (emoji and text
// presentation, Japanese and Mongolian variants — a run of them is escaped); and the three subdivision flags there are
// (England, Scotland, Wales: 🏴 and tags; any other tag sequence is escaped). `UNSAFE_IN_JSON` leaves out what
// JSON.stringify escapes itself (C0, lone surrogates).
const FLAGS = "\\u{1F3F4}\\u{E0067}\\u{E0062}(?:\\u{E0065}\\u{E006E}\\u{E0067}|\\u{E0073}\\u{E0063}\\u{E0074}|\\u{E0077}\\u{E006C}\\u{E0073})\\u{E007F}"
const VARIATION = "\\u180b-\\u180d\\u180f\\ufe00-\\ufe0f\\u{E0100}-\\u{E01EF}"
const JOINERS = "\\u200c\\u200d"
const DRAWN = "\\u00ad\\u0600-\\u0605\\u06dd\\u070f\\u0890\\u0891\\u08e2\\u{110BD}\\u{110CD}"
const KEPT = `${FLAGS}|(?<=[\\p{L}\\p{N}\\p{S}\\p{P}])[${VARIATION}]|(?<![${JOINERS}])[${JOINERS}](?![${JOINERS}])`
const HIDDEN = `[[\\p{Cf}\\p{Default_Ignorable_Code_Point}]--[${DRAWN}]]`
const UNPRINTABLE = new RegExp(`(${KEPT})|[\\p{Cc}\\p{Cs}${HIDDEN}]`, "gv")

/**
 * The invisible characters names keep (the soft hyphen, the joiners, variation selectors): `Aliases.aliasKey` drops
 * them, so two names that differ only by them are one.
 */
export const KEPT_INVISIBLE = new RegExp(`[\\u00ad${JOINERS}${VARIATION}]`, "gu")

/**
 * The same characters in a `--json` document (JSON.stringify has escaped C0 and lone surrogates), with the line and
 * paragraph separators, which some readers take for line breaks.
 */
export const UNSAFE_IN_JSON = new RegExp(`(${KEPT})|[\\u007f-\\u009f${HIDDEN}\\u2028\\u2029]`, "gv")

/**
 * Every character `UNPRINTABLE` escapes is a control, a lone surrogate, a format or a default-ignorable character: a
 * text without any needs no closer look. Nearly every text is one, and the closer look costs: discovery checks the
 * shown fields of every model (a `matchAll` over `UNPRINTABLE` is ~0.7 µs a name, this test ~0.1).
 */
const MAYBE_UNPRINTABLE = /[\p{Cc}\p{Cs}\p{Cf}\p{Default_Ignorable_Code_Point}]/u

/** Whether text holds a character {@link printable} would escape. */
export const hasUnprintable = (text: string): boolean => {
  if (!MAYBE_UNPRINTABLE.test(text)) return false
  for (const match of text.matchAll(UNPRINTABLE)) if (match[1] === undefined) return true
  return false
}

const CONTROL_OR_INVISIBLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Default_Ignorable_Code_Point}\u2800]/u

/**
 * Whether text holds any control, format (`\p{Cf}`: joiners, soft hyphen, bidi and tag characters), private-use, lone
 * surrogate or default-ignorable character (variation selectors, fillers, the combining grapheme joiner), or the
 * braille blank: none belongs in a model id, which is a repository name, and each could make two ids look alike. (All
 * that {@link hasUnprintable} finds, and more.)
 */
export const hasInvisible = (text: string): boolean => CONTROL_OR_INVISIBLE.test(text)

const escapeChar = (char: string): string => {
  const code = char.codePointAt(0)!
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, "0")}`
}

/**
 * Untrusted text made safe to show on a terminal: control, bidi and invisible characters become visible
 * `\u001b`-style escapes (`\u{e0041}` past U+FFFF), so a server cannot set the window title, clear the screen or
 * disguise text. Tabs and line breaks are control characters, escaped too: callers fold whitespace first where that is
 * harmless.
 */
export const printable = (text: string): string =>
  MAYBE_UNPRINTABLE.test(text)
    ? text.replace(UNPRINTABLE, (char: string, flag: string | undefined) => flag !== undefined ? char : escapeChar(char))
    : text

/** A short, single-line, scrubbed excerpt of untrusted text, safe to print. */
export const excerpt = (text: string, max = 200): string => {
  const oneLine = printable(scrub(text).replace(/\s+/g, " ").trim())
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine
}

/**
 * Shows at most the last four characters of a secret, the way the CLI labels credentials — escaped, for a secret may
 * come from a file or another tool.
 */
export const lastFour = (secret: string): string => (secret.length <= 8 ? "****" : `…${printable(secret.slice(-4))}`)

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

/**
 * The shortest run of a known secret's characters that `withoutSecrets` cuts out. Shorter runs are left: they could
 * be ordinary text, and they say little about the secret.
 */
const MIN_SECRET_PIECE = 8

/** Texts up to this length are also searched for pieces of secrets (the search costs text length × secret length). */
const PIECE_SEARCH_LIMIT = 4096

/** Where runs of at least `MIN_SECRET_PIECE` characters of `secret` occur in `text`: marks[i] is true inside one. */
const markPieces = (text: string, secret: string, marks: Array<boolean>): void => {
  // runs[j + 1]: the length of the common run ending at text[i] and secret[j] (the classic longest-common-substring
  // table, one row at a time).
  let previous = new Array<number>(secret.length + 1).fill(0)
  let current = new Array<number>(secret.length + 1).fill(0)
  for (let i = 0; i < text.length; i++) {
    let longest = 0
    for (let j = 0; j < secret.length; j++) {
      const run = text[i] === secret[j] ? previous[j]! + 1 : 0
      current[j + 1] = run
      if (run > longest) longest = run
    }
    if (longest >= MIN_SECRET_PIECE) marks.fill(true, i - longest + 1, i + 1)
    ;[previous, current] = [current, previous]
  }
}

/**
 * Every whole occurrence of a known secret (of 4 characters or more) cut out of text, pieces left: for text that
 * quotes what it was given whole (a usage error quoting an argument), where the piece search of `withoutSecrets`
 * could cut ordinary words that also occur in a secret someone chose.
 */
export const withoutOccurrences = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join("<redacted>")
  }
  return out
}

/**
 * Cuts the values the SDK knows to be secret (a client secret, a code, a verifier, tokens) out of text, whatever
 * their shape — `scrub` only knows the shapes of Chutes tokens. Every whole occurrence becomes `<redacted>`, in text
 * of any length; in text up to 4 KiB (messages and excerpts: call it again on the excerpt of a longer text) so does
 * every run of 8 or more characters that also occurs in a secret, as when the echo of a secret was cut short.
 * Values under 4 characters are ignored.
 */
export const withoutSecrets = (text: string, secrets: ReadonlyArray<string>): string => {
  const known = secrets.filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length)
  const out = withoutOccurrences(text, known)
  if (out.length > PIECE_SEARCH_LIMIT) return out
  const marks = new Array<boolean>(out.length).fill(false)
  for (const secret of known) {
    if (secret.length >= MIN_SECRET_PIECE) markPieces(out, secret, marks)
  }
  if (!marks.includes(true)) return out
  let result = ""
  for (let i = 0; i < out.length; i++) {
    if (!marks[i]) result += out[i]
    else if (i === 0 || !marks[i - 1]) result += "<redacted>"
  }
  return result
}

/**
 * An OAuth error code is short ASCII; anything else — or anything shaped like a token, which fits that alphabet
 * too — is reduced to a scrubbed excerpt.
 */
export const oauthErrorCode = (value: string): string => {
  const scrubbed = scrub(value)
  return scrubbed === value && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : excerpt(scrubbed, 64)
}
