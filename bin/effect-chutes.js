#!/usr/bin/env node
// The effect-chutes executable: runs the bundled CLI, dist/cli.mjs. The published package always has it; in a checkout
// `npm run build` makes it (`npm test` and `npm pack` run that build). Without it this says so and exits 1: it never
// builds or compiles the sources behind the user's back (a silent fallback to the sources through tsx took 18 s).
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const bundled = new URL("../dist/cli.mjs", import.meta.url)
if (existsSync(bundled)) {
  await import(bundled.href)
} else {
  const root = fileURLToPath(new URL("..", import.meta.url))
  process.stderr.write(
    `effect-chutes: the CLI is not built (${fileURLToPath(bundled)} is missing).\n` +
      `Run \`npm run build\` in ${root} first.\n`
  )
  process.exitCode = 1
}
