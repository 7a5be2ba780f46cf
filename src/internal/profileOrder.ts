/**
 * The order in which stored auth profiles are tried (pure). `ChutesCredentials.orderProfiles` is the public face of
 * `order`; `src/cli/auth.ts` shows each profile's place from the same function.
 *
 * The rule: a pinned profile (`profileId`) that exists is tried alone. Else the profiles named in the configured order
 * (`auth.order.chutes` in config.json5, `CHUTES_AUTH_ORDER`, or code; see `choose`) come first, in that order; the rest
 * follow by the default rule: every OAuth profile, then every API-key profile, each in file order. An id of the order
 * that is not a stored Chutes profile is skipped (and reported by `unknownIds`).
 *
 * @internal
 */

/** What the ordering needs of a profile. */
interface Typed {
  readonly type: "oauth" | "api_key"
}

/** The default rule: OAuth profiles, then API-key profiles, each in file order. */
const byKind = <P extends Typed>(entries: ReadonlyArray<readonly [string, P]>): Array<readonly [string, P]> => [
  ...entries.filter(([, p]) => p.type === "oauth"),
  ...entries.filter(([, p]) => p.type === "api_key")
]

/** The profiles in the order they are tried (see the module comment). */
export const order = <P extends Typed>(
  profiles: ReadonlyMap<string, P>,
  preferred: string | undefined,
  configured: ReadonlyArray<string> | undefined
): ReadonlyArray<readonly [string, P]> => {
  const chosen = preferred !== undefined ? profiles.get(preferred) : undefined
  if (preferred !== undefined && chosen !== undefined) return [[preferred, chosen]]
  const named: Array<readonly [string, P]> = []
  for (const id of configured ?? []) {
    const profile = profiles.get(id)
    if (profile !== undefined && !named.some(([seen]) => seen === id)) named.push([id, profile])
  }
  const rest = Array.from(profiles).filter(([id]) => !named.some(([seen]) => seen === id))
  return [...named, ...byKind(rest)]
}

/** The ids of the configured order that are not stored Chutes profiles, once each, in order. */
export const unknownIds = (profiles: ReadonlyMap<string, unknown>, configured: ReadonlyArray<string> | undefined) =>
  Array.from(new Set((configured ?? []).filter((id) => !profiles.has(id))))

/** The sentence said (once) for an id of the order that is not a stored Chutes profile. */
export const unknownIdWarning = (id: string, location: string): string =>
  `the auth order names ${JSON.stringify(id)}, which is not a Chutes profile in ${location}; it is ignored`

/** The warning for a pinned profile id (`profileId`) that is not stored: the others serve, by the order. */
export const unknownPinWarning = (id: string, location: string): string =>
  `the pinned auth profile ${JSON.stringify(id)} is not a Chutes profile in ${location}; the other stored profiles ` +
  `serve instead, by the auth order (check the id: "effect-chutes auth status" lists them)`

/** `CHUTES_AUTH_ORDER`'s text as ids: comma-separated, trimmed, empty parts dropped; nothing left is no order. */
export const parseList = (text: string): ReadonlyArray<string> | undefined => {
  const ids = text.split(",").map((id) => id.trim()).filter((id) => id.length > 0)
  return ids.length > 0 ? ids : undefined
}

/**
 * Which order applies: the one given in code, else the config's (`auth.order.chutes`), else the environment's
 * (`CHUTES_AUTH_ORDER`) — the project's one precedence (code > config > env, as `Aliases.followSuccessors`).
 */
export const choose = (
  code: ReadonlyArray<string> | undefined,
  config: ReadonlyArray<string> | undefined,
  env: ReadonlyArray<string> | undefined
): ReadonlyArray<string> | undefined => code ?? config ?? env
