/**
 * Runs FakeChutes (the fake Chutes LLM API + IdP) as a standalone process, for multi-process tests and manual runs.
 *
 *   npx tsx scripts/fake-chutes.ts [--port N] [--models N | --capture DATE] [--access-token-ttl S] [--auto-approve]
 *                                  [--client-id ID] [--client-secret S | --no-client-secret] [--username NAME]
 *
 * `--capture 2026-08-06` serves that capture of the real catalog (default: the 2026-06-11 one); `--models N`, N
 * generated models.
 *
 * Environment fallbacks: FAKE_CHUTES_PORT, FAKE_CHUTES_MODELS, FAKE_CHUTES_ACCESS_TOKEN_TTL,
 * FAKE_CHUTES_AUTO_APPROVE (1/true). Prints ONE line of JSON to stdout:
 *   {"url":"http://127.0.0.1:PORT","baseUrl":".../v1","idpBaseUrl":"...","apiKey":"...","clientId":"...",
 *    "clientSecret":"..."}
 * then serves until SIGTERM or SIGINT. Other processes read counters and set faults through
 * `GET /__control/state`, `POST /__control/fault`, `POST /__control/reset` (see src/testing/FakeChutes/control.ts).
 */
import { parseArgs } from "node:util"
import * as FakeChutes from "../src/testing/FakeChutes.js"

const usage = "usage: fake-chutes [--port N] [--models N | --capture 2026-06-11|2026-08-06] [--access-token-ttl S] " +
  "[--auto-approve] " +
  "[--client-id ID] [--client-secret S | --no-client-secret] [--username NAME]"

const fail = (message: string): never => {
  process.stderr.write(`fake-chutes: ${message}\n${usage}\n`)
  process.exit(2)
}

const parsed = (() => {
  try {
    return parseArgs({
      options: {
        port: { type: "string" },
        models: { type: "string" },
        capture: { type: "string" },
        "access-token-ttl": { type: "string" },
        "auto-approve": { type: "boolean" },
        "client-id": { type: "string" },
        "client-secret": { type: "string" },
        "no-client-secret": { type: "boolean" },
        username: { type: "string" },
        help: { type: "boolean", short: "h" }
      },
      strict: true,
      allowPositionals: false
    }).values
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e))
  }
})()

if (parsed.help === true) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s.trim() === "" ? undefined : s)

const integer = (name: string, raw: string | undefined, min: number): number | undefined => {
  if (raw === undefined) return undefined
  const n = Number(raw)
  return Number.isInteger(n) && n >= min ? n : fail(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`)
}

const env = process.env
const port = integer("--port", parsed.port ?? nonEmpty(env["FAKE_CHUTES_PORT"]), 0)
const modelCount = integer("--models", parsed.models ?? nonEmpty(env["FAKE_CHUTES_MODELS"]), 0)
const ttl = integer(
  "--access-token-ttl",
  parsed["access-token-ttl"] ?? nonEmpty(env["FAKE_CHUTES_ACCESS_TOKEN_TTL"]),
  0
)
const captures: ReadonlyArray<FakeChutes.CaptureDate> = ["2026-06-11", "2026-08-06"]
const capture = parsed.capture === undefined
  ? undefined
  : captures.find((date) => date === parsed.capture) ?? fail(`--capture must be one of ${captures.join(", ")}`)
if (capture !== undefined && modelCount !== undefined) fail("--models and --capture exclude each other")

const autoApprove = parsed["auto-approve"] === true ||
  ["1", "true", "yes"].includes((env["FAKE_CHUTES_AUTO_APPROVE"] ?? "").toLowerCase())

const server = await FakeChutes.start({
  port,
  models: capture !== undefined
    ? FakeChutes.capturedModels(capture)
    : modelCount === undefined
    ? undefined
    : FakeChutes.generateModels(modelCount),
  accessTokenTtlSeconds: ttl,
  autoApprove,
  clientId: parsed["client-id"],
  clientSecret: parsed["no-client-secret"] === true ? null : parsed["client-secret"],
  username: parsed.username
}).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)))

process.stdout.write(
  JSON.stringify({
    url: server.url,
    baseUrl: server.baseUrl,
    idpBaseUrl: server.idpBaseUrl,
    apiKey: server.apiKey,
    clientId: server.clientId,
    clientSecret: server.clientSecret ?? null
  }) + "\n"
)

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  server.close().then(
    () => process.exit(0),
    () => process.exit(1)
  )
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
