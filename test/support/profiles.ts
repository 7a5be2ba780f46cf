/**
 * Stored Chutes OAuth profiles over tokens a FakeChutes issued, as they appear in `auth-profiles.json`: for the suites
 * that write a store file by hand and then run the provider or the CLI over it.
 */
import type * as FakeChutes from "../../src/testing/FakeChutes.js"

/** The stored profile of `tokens` (issued by `fake`, for its client), valid for another hour, with `overrides` on top. */
export const storedOAuthProfile = (
  fake: FakeChutes.FakeChutesServer,
  tokens: { readonly access: string; readonly refresh: string },
  overrides: Record<string, unknown> = {}
) => ({
  type: "oauth",
  provider: "chutes",
  access: tokens.access,
  refresh: tokens.refresh,
  expires: Date.now() + 3_600_000,
  email: "alice",
  clientId: fake.clientId,
  ...overrides
})

/**
 * A stored profile of fresh tokens from `fake` (with `scope`, when given); both tokens join `secrets` (what a run must
 * never print).
 */
export const oauthProfile = (
  fake: FakeChutes.FakeChutesServer,
  secrets: Set<string>,
  overrides: Record<string, unknown> = {},
  scope?: string
) => {
  const tokens = fake.issueTokens(scope !== undefined ? { scope } : undefined)
  secrets.add(tokens.access)
  secrets.add(tokens.refresh)
  return storedOAuthProfile(fake, tokens, overrides)
}

/**
 * An access and a refresh token FakeChutes never issued (the service and the IdP refuse them), made of `tag`; both
 * join `secrets`.
 */
export const madeUpTokens = (tag: string, secrets: Set<string>) => {
  const tokens = { access: "cak_" + tag.repeat(6), refresh: "crt_" + tag.repeat(6) }
  secrets.add(tokens.access)
  secrets.add(tokens.refresh)
  return tokens
}
