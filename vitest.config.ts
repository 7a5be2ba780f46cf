import { defineConfig } from "vitest/config"

// `import "effect-chutes"` by name resolves to the TypeScript sources here: the package's export condition
// "effect-chutes:source" is set only by this repository's tooling (consumers, whose Vite/Vitest enable `development`,
// load dist/). Tests run in Vite's server environment, so the condition goes into `ssr.resolve`, followed by Vite's
// defaults for that environment (`defaultServerConditions`; vite is not a direct dependency to import them from).
const ssr = { resolve: { conditions: ["effect-chutes:source", "module", "node", "development|production"] } }

// Two projects in one run, so `npm test` reports one set of counts:
// - "unit": everything under test/ but the browser suite (unit, swapped layers, loopback, subprocess tests);
// - "browser": the OAuth flow in headless Chromium (`npm run test:browser` runs it alone).
export default defineConfig({
  test: {
    projects: [
      {
        ssr,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/browser/**"],
          testTimeout: 30_000,
          hookTimeout: 30_000
        }
      },
      {
        ssr,
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000
        }
      }
    ]
  }
})
