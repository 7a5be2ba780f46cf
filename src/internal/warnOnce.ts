/**
 * A warning said once per process per fact: the same catalog warning or successor hop is logged the first time it is
 * seen, not on every discovery or resolution.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

const said = new Set<string>()

/** Logs `message` at Warning level the first time this process sees it; later calls do nothing. */
export const warnOnce = (message: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (said.has(message)) return Effect.void
    said.add(message)
    return Effect.logWarning(message)
  })
