/**
 * Checks of parsed JSON that a write back depends on, made without recursion: its nesting depth (`JSON.parse` accepts
 * any depth, but `JSON.stringify` and recursive walkers overflow the stack on a value nested a few thousand levels
 * deep — 5,000 is enough in V8) and numbers it cannot write back as they were read.
 *
 * @internal
 */

/** Whether `value` holds objects or arrays nested deeper than `max` levels. Iterative: it cannot overflow itself. */
export const depthExceeds = (value: unknown, max: number): boolean => {
  const stack: Array<readonly [unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (typeof current !== "object" || current === null) continue
    if (depth >= max) return true
    for (const child of Object.values(current)) stack.push([child, depth + 1])
  }
  return false
}

/**
 * The first number in `value` that JSON may not write back as it was read, described with where it is (`profiles.
 * "openai:x".accountId`); `undefined` when there is none. A number past ±1.8e308 was parsed as `Infinity` (written back
 * as `null`; JSON5 writes `Infinity` and `NaN` back as they were: `json5: true`); an integer past 2^53 may have lost
 * digits when it was parsed (12345678901234567890 would be written back as 12345678901234567000) — the text it came
 * from is gone, so every such integer counts.
 */
export const unwritableNumber = (value: unknown, options: { readonly json5?: boolean } = {}): string | undefined => {
  const stack: Array<readonly [unknown, string]> = [[value, ""]]
  while (stack.length > 0) {
    const [current, path] = stack.pop()!
    if (typeof current === "number") {
      if (!Number.isFinite(current) && options.json5 !== true) return `a number too large for JSON at ${path}`
      if (Number.isInteger(current) && !Number.isSafeInteger(current)) {
        return `an integer past 2^53, which JSON may round, at ${path}`
      }
    }
    if (typeof current === "object" && current !== null) {
      for (const [key, child] of Object.entries(current)) {
        const step = Array.isArray(current)
          ? `[${key}]`
          : `${path === "" ? "" : "."}${/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)}`
        stack.push([child, `${path}${step}`])
      }
    }
  }
  return undefined
}
