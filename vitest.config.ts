import { defineConfig } from "vitest/config"

// Two projects in one run, so `npm test` reports one set of counts:
// - "unit": everything under test/ but the browser suite (unit, swapped layers, loopback, subprocess tests);
// - "browser": the OAuth flow in headless Chromium (`npm run test:browser` runs it alone).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/browser/**"],
          testTimeout: 30_000,
          hookTimeout: 30_000
        }
      },
      {
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
