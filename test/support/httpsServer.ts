/**
 * A real TLS endpoint on loopback for the proxy suite's `CONNECT` tests (test/proxy.test.ts): a self-signed
 * certificate for `127.0.0.1` and `localhost`, made at test time by the `openssl` CLI (`OPENSSL` names another binary),
 * and a Node `https` server that answers `GET /v1/models` with FakeChutes' seed catalog and records every request it
 * saw. Without openssl the suite is skipped with a loud banner (`opensslMissing`).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as FakeChutes from "../../src/testing/FakeChutes.js"
import { missingTool } from "./missingTool.js"

const opensslPath = process.env["OPENSSL"] ?? "openssl"

const find = (): { readonly path: string } | { readonly missing: string } => {
  try {
    execFileSync(opensslPath, ["version"], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "pipe"] })
    return { path: opensslPath }
  } catch (error) {
    return { missing: `no usable openssl CLI (${opensslPath}: ${error instanceof Error ? error.message : String(error)})` }
  }
}

export const opensslBinary = find()

/** Why the TLS suite cannot run, after printing the banner; `undefined` when it can. */
export const opensslMissing = (suite: string): string | undefined => missingTool(suite, opensslBinary)

export interface SelfSigned {
  /** The certificate's PEM file: what `NODE_EXTRA_CA_CERTS` is given. */
  readonly certPath: string
  readonly cert: string
  readonly key: string
}

/** A fresh self-signed certificate (RSA 2048, one day) for `IP:127.0.0.1` and `DNS:localhost`, in a temp dir. Scoped. */
export const selfSignedCertificate: Effect.Effect<SelfSigned, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => {
      if ("missing" in opensslBinary) throw new Error(opensslBinary.missing)
      const dir = mkdtempSync(Path.join(Os.tmpdir(), "effect-chutes-tls-"))
      const certPath = Path.join(dir, "cert.pem")
      const keyPath = Path.join(dir, "key.pem")
      const args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1"]
      const san = ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
      execFileSync(opensslBinary.path, [...args, ...san, "-keyout", keyPath, "-out", certPath], {
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 60_000
      })
      return { dir, certPath, cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") }
    }),
    ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ),
  ({ cert, certPath, key }) => ({ cert, certPath, key })
)

/** One request the https server answered. */
export interface SeenRequest {
  readonly method: string
  readonly path: string
  readonly authorization: string | undefined
}

export interface HttpsModels {
  readonly port: number
  /** `https://127.0.0.1:<port>/v1` */
  readonly baseUrl: string
  /** Every request that got past the TLS handshake, in order. */
  readonly seen: () => ReadonlyArray<SeenRequest>
  /** The ids of the served catalog, in order. */
  readonly modelIds: ReadonlyArray<string>
}

/**
 * A Node `https` server on a free loopback port with `certificate`: `GET /v1/models` answers FakeChutes' seed catalog
 * (`{"object":"list","data":[…]}`, a real capture), anything else 404 `{"detail":"Not Found"}`. Scoped.
 */
export const startHttpsModels = (certificate: SelfSigned): Effect.Effect<HttpsModels, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(() => {
        const data = FakeChutes.seedModels()
        const body = JSON.stringify({ object: "list", data })
        const seen: Array<SeenRequest> = []
        const server = Https.createServer({ cert: certificate.cert, key: certificate.key }, (request, response) => {
          const path = request.url ?? ""
          seen.push({ method: request.method ?? "", path, authorization: request.headers.authorization })
          request.resume()
          const ok = request.method === "GET" && path.split("?")[0] === "/v1/models"
          response.writeHead(ok ? 200 : 404, { "content-type": "application/json" })
          response.end(ok ? body : JSON.stringify({ detail: "Not Found" }))
        })
        // A client that rejects the certificate aborts the handshake: not an error of the server.
        server.on("tlsClientError", () => {})
        return new Promise<{ server: Https.Server; seen: Array<SeenRequest>; data: ReadonlyArray<unknown> }>(
          (resolve, reject) => {
            server.once("error", reject)
            server.listen(0, "127.0.0.1", () => resolve({ server, seen, data }))
          }
        )
      }),
      ({ server }) =>
        Effect.promise(() =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
        )
    ),
    ({ data, seen, server }) => {
      const port = (server.address() as AddressInfo).port
      return {
        port,
        baseUrl: `https://127.0.0.1:${port}/v1`,
        seen: () => seen.slice(),
        modelIds: data.map((item) => String((item as { readonly id?: unknown }).id))
      }
    }
  )
