/**
 * How a suite that needs a real program (redis-server, tinyproxy, openssl) says it cannot run: a banner on stderr that
 * a CI log shows, and the reason for `describe.skipIf`.
 */

/** What looking for the program found: where it is, or why it cannot be used. */
export type Found = { readonly path: string } | { readonly missing: string }

/** Why `suite` cannot run, after printing the banner; `undefined` when `found` is usable. */
export const missingTool = (suite: string, found: Found): string | undefined => {
  if (!("missing" in found)) return undefined
  const line = "!".repeat(100)
  console.warn(`\n${line}\n!! SKIPPED ${suite}: ${found.missing}\n${line}\n`)
  return found.missing
}
