/**
 * Headless Chromium for the browser suite: finding the binary, launching it with a fresh profile, and the loud skip
 * when there is none.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type BrowserContext, chromium } from "playwright-core"

/**
 * Where Chromium may be: `CHROMIUM_PATH`, then Debian's package (`chromium`), then the older name.
 */
export const candidates = (env: Readonly<Record<string, string | undefined>> = process.env): ReadonlyArray<string> => {
  const fromEnv = env["CHROMIUM_PATH"]?.trim()
  const debian = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
  return fromEnv !== undefined && fromEnv.length > 0 ? [fromEnv, ...debian] : debian
}

/** The first Chromium binary that exists, or undefined. */
export const findChromium = (): string | undefined => candidates().find((path) => existsSync(path))

/**
 * The flags the suite runs Chromium with (playwright adds `--headless` for `headless: true`). The machine has no
 * outside network: everything that would phone home is off, and QUIC too.
 */
export const FLAGS: ReadonlyArray<string> = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** Says, loudly, that the browser suite did not run. Never a silent pass. */
export const warnSkipped = (): void => {
  const line = "!".repeat(100)
  console.warn(
    [
      "",
      line,
      "!!! BROWSER TESTS SKIPPED: no Chromium found.",
      `!!! Looked at: ${candidates().join(", ")}`,
      "!!! Install Debian's `chromium` package (apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary.",
      "!!! The OAuth sign-in was NOT tested in a real browser.",
      line,
      ""
    ].join("\n")
  )
}

/** A running headless Chromium with its own fresh profile directory. */
export interface RunningChromium {
  readonly context: BrowserContext
  /** Closes the browser and deletes its profile directory. */
  readonly close: () => Promise<void>
}

/** Launches `executablePath` headless, with `FLAGS` and a fresh `--user-data-dir` under the temp dir. */
export const launch = async (executablePath: string): Promise<RunningChromium> => {
  const userDataDir = mkdtempSync(Path.join(Os.tmpdir(), "effect-chutes-chromium-"))
  // launchPersistentContext is playwright's way to pass --user-data-dir (launch() refuses it in args).
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [...FLAGS],
    timeout: 30_000
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(userDataDir, { recursive: true, force: true })
    }
  }
}
