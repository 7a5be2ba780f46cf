/**
 * The shape of a Chutes API key (`cpk_` + 32 hex + `.` + 32 hex + `.` + 32 alphanumerics, 102 characters), checked
 * without ever quoting the key. `ChutesCredentials` re-exports both functions.
 *
 * @internal
 */
const API_KEY_SHAPE = /^cpk_[0-9a-f]{32}\.[0-9a-f]{32}\.[A-Za-z0-9]{32}$/

/** The shape of a Chutes API key, in words. */
export const API_KEY_SHAPE_DESCRIPTION = "cpk_ + 32 hex + \".\" + 32 hex + \".\" + 32 letters or digits, 102 characters"

const API_KEY_LENGTH = 102

/** The three segments after `cpk_`: their names and what each may hold. */
const KEY_SEGMENTS: ReadonlyArray<{ readonly name: string; readonly chars: RegExp; readonly kind: string }> = [
  { name: "first", chars: /^[0-9a-f]*$/, kind: "lower-case hex (0-9, a-f)" },
  { name: "second", chars: /^[0-9a-f]*$/, kind: "lower-case hex (0-9, a-f)" },
  { name: "third", chars: /^[A-Za-z0-9]*$/, kind: "letters and digits" }
]

/** Whether a string has the shape of a Chutes API key (see `ChutesCredentials.looksLikeApiKey`). */
export const looksLikeApiKey = (key: string): boolean => API_KEY_SHAPE.test(key)

/** What makes `key` differ from the shape of a Chutes API key (see `ChutesCredentials.apiKeyShapeProblems`). */
export const apiKeyShapeProblems = (key: string): ReadonlyArray<string> => {
  if (looksLikeApiKey(key)) return []
  const problems: Array<string> = []
  if (/\s/.test(key)) problems.push("it contains whitespace")
  if (key.length !== API_KEY_LENGTH) problems.push(`it has ${key.length} characters, not ${API_KEY_LENGTH}`)
  if (!key.startsWith("cpk_")) {
    problems.push("it does not start with cpk_")
    return problems
  }
  const segments = key.slice(4).split(".")
  if (segments.length !== KEY_SEGMENTS.length) {
    problems.push(`it has ${segments.length} segments after cpk_ (separated by "."), not ${KEY_SEGMENTS.length}`)
    return problems
  }
  KEY_SEGMENTS.forEach((expected, i) => {
    const segment = segments[i] ?? ""
    if (segment.length !== 32) {
      problems.push(`the ${expected.name} segment has ${segment.length} characters, not 32`)
    } else if (!expected.chars.test(segment)) {
      problems.push(`the ${expected.name} segment is not all ${expected.kind}`)
    }
  })
  return problems
}

