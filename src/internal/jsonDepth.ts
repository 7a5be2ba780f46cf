/**
 * Nesting depth of parsed JSON, measured without recursion: `JSON.parse` accepts any depth, but `JSON.stringify` and
 * recursive walkers overflow the stack on a value nested a few thousand levels deep (5,000 is enough in V8).
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
