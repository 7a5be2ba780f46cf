#!/usr/bin/env node
// The effect-chutes executable. Runs the bundled CLI (built by `npm run build`, which `npm install` runs through
// `prepare`); in a checkout without a build it falls back to the TypeScript sources through tsx.
import { existsSync } from "node:fs"

const bundled = new URL("../dist/cli.mjs", import.meta.url)
if (existsSync(bundled)) {
  await import(bundled.href)
} else {
  const { register } = await import("tsx/esm/api")
  register()
  await import(new URL("../src/cli/bin.ts", import.meta.url).href)
}
