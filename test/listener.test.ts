/**
 * The OAuth callback listener's guarantees (issue 5, item 7) that test/OAuthLogin.test.ts does not already pin down:
 * the kernel's view of the bound address, no answer on a connection the browser kept alive once the flow is over,
 * the port free after every way the flow can end (success, interruption, a failed exchange, failed pastes), and a
 * wrong state never completing the flow even with a genuine code.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import { existsSync, readFileSync } from "node:fs"
import * as Net from "node:net"
import * as NodeOAuthLogin from "../src/node/NodeOAuthLogin.js"
import * as OAuthLogin from "../src/OAuthLogin.js"
import * as Capture from "./support/capture.js"
import { bindable, connect, freePort } from "./support/net.js"
import { idpSetup } from "./support/idp.js"

/** The listener on Node's loopback server. */
const callbackListener = (...args: Parameters<typeof OAuthLogin.callbackListener>) =>
  OAuthLogin.callbackListener(...args).pipe(Effect.provide(NodeOAuthLogin.layerCallbackServer))

// ---------------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------------

/** `a.b.c.d` from the little-endian hex of /proc/net/tcp. */
const ipv4FromHex = (hex: string): string =>
  [6, 4, 2, 0].map((i) => String(Number.parseInt(hex.slice(i, i + 2), 16))).join(".")

/** The kernel's representation of ::1 in /proc/net/tcp6. */
const IPV6_LOOPBACK_HEX = "00000000000000000000000001000000"

/** The local addresses of sockets LISTENING on `port`, as the kernel has them (Linux /proc/net/tcp{,6}). */
const listeningOn = (port: number): ReadonlyArray<string> => {
  const found: Array<string> = []
  for (const [file, v4] of [["/proc/net/tcp", true], ["/proc/net/tcp6", false]] as const) {
    if (!existsSync(file)) continue
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const [local, , state] = line.trim().split(/\s+/).slice(1)
      if (local === undefined || state !== "0A") continue
      const [address = "", hexPort = ""] = local.split(":")
      if (Number.parseInt(hexPort, 16) === port) found.push(v4 ? ipv4FromHex(address) : `[${address}]`)
    }
  }
  return found
}

const onLinux = process.platform === "linux"

/**
 * A raw HTTP/1.1 keep-alive connection, as a browser holds one: `request` sends a GET and resolves with the status
 * line of the complete response; `closed` resolves with the bytes received after the last response once the server
 * closes the connection (or fails after 5 s).
 */
const keepAlive = (port: number) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<Net.Socket>((resolve, reject) => {
        const socket = Net.connect({ port, host: "127.0.0.1" })
        socket.once("connect", () => resolve(socket))
        socket.once("error", reject)
      })
    ),
    (socket) => Effect.sync(() => socket.destroy())
  ).pipe(Effect.map((socket) => {
    let buffer = Buffer.alloc(0)
    let waiting: ((status: string) => void) | undefined
    const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(buffer.length)))
    socket.on("error", () => {})
    socket.on("data", (data: Buffer) => {
      buffer = Buffer.concat([buffer, data])
      const end = buffer.indexOf("\r\n\r\n")
      if (end < 0 || waiting === undefined) return
      const head = buffer.subarray(0, end).toString("latin1")
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? "0")
      if (buffer.length < end + 4 + length) return
      buffer = buffer.subarray(end + 4 + length)
      const done = waiting
      waiting = undefined
      done(head.split("\r\n")[0] ?? "")
    })
    return {
      request: (path: string) =>
        Effect.promise(() =>
          new Promise<string>((resolve) => {
            waiting = resolve
            socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`)
          })
        ),
      closed: Effect.promise(() =>
        Promise.race([
          closed.then((bytes) => `closed, ${bytes} more bytes`),
          new Promise<string>((resolve) => setTimeout(() => resolve("still open after 5 s"), 5_000).unref())
        ])
      )
    }
  }))

/** Waits (live clock) until `check` holds; fails the test after 5 s. */
const eventually = (what: string, check: () => Effect.Effect<boolean> | boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      const result = check()
      if (typeof result === "boolean" ? result : yield* result) return
      yield* TestServices.provideLive(Effect.sleep(Duration.millis(10)))
    }
    assert.fail(`timed out waiting for: ${what}`)
  })

/** The IdP with auto-approve: loading the authorize URL redirects at once to the callback with a genuine code. */
const redirectFor = (authorizeUrl: string) =>
  Effect.promise(async () => {
    const response = await fetch(authorizeUrl, { redirect: "manual" })
    const location = response.headers.get("location")
    if (response.status !== 302 || location === null) throw new Error(`no redirect (${response.status})`)
    return location
  })

const status = (url: string) => Effect.promise(() => fetch(url, { redirect: "manual" }).then((r) => r.status))

const withParams = (url: string, changes: Record<string, string | undefined>): string => {
  const target = new URL(url)
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) target.searchParams.delete(name)
    else target.searchParams.set(name, value)
  }
  return target.toString()
}

const setup = idpSetup()

type Env = Effect.Effect.Success<typeof setup>

/** The local login, forked; resolves once the SDK has asked the browser to open the authorize URL. */
const startLogin = (env: Env, prompter: OAuthLogin.PrompterTestOptions = {}, options: OAuthLogin.LoginOptions = {}) =>
  Effect.gen(function*() {
    const opened = yield* Deferred.make<string>()
    const fiber = yield* OAuthLogin.login({ app: env.app, remote: false, ...options }).pipe(
      Effect.provide(Layer.mergeAll(
        env.oauth,
        OAuthLogin.BrowserOpener.layerTest((url) => Effect.asVoid(Deferred.succeed(opened, url))),
        OAuthLogin.Prompter.layerTest(prompter),
        NodeOAuthLogin.layerCallbackServer
      )),
      Effect.fork
    )
    const url = yield* Deferred.await(opened)
    return { fiber, url }
  })

// ---------------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------------

describe("callback listener: where it listens", () => {
  it.live("a 127.0.0.1 redirect: the kernel shows one listening socket, on 127.0.0.1; ::1 gets no answer", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const listener = yield* callbackListener(`http://127.0.0.1:${port}/oauth-callback`, "s")
      assert.strictEqual(listener.host, "127.0.0.1")
      if (onLinux) assert.deepStrictEqual(listeningOn(port), ["127.0.0.1"])
      assert.strictEqual(yield* connect(port), "connected")
      assert.strictEqual(yield* connect(port, "::1"), "ECONNREFUSED")
    }).pipe(Effect.scoped))

  it.live("a [::1] redirect listens on ::1 only", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const listener = yield* callbackListener(`http://[::1]:${port}/cb`, "s")
      assert.strictEqual(listener.host, "::1")
      if (onLinux) assert.deepStrictEqual(listeningOn(port), [`[${IPV6_LOOPBACK_HEX}]`])
      assert.strictEqual(yield* connect(port, "::1"), "connected")
      assert.strictEqual(yield* connect(port, "127.0.0.1"), "ECONNREFUSED")
    }).pipe(Effect.scoped))

  it.live("during a login the listener is up before the browser opens, on 127.0.0.1 only", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const { fiber } = yield* startLogin(env)
      if (onLinux) assert.deepStrictEqual(listeningOn(env.port), ["127.0.0.1"])
      assert.strictEqual(yield* connect(env.port), "connected")
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.scoped))
})

describe("callback listener: hostile requests", () => {
  it.live("a request target that is not a URL gets 400 and the listener keeps serving", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const listener = yield* callbackListener(`http://127.0.0.1:${port}/oauth-callback`, "s")
      const raw = (request: string) =>
        Effect.async<string>((resume) => {
          const socket = Net.connect(port, "127.0.0.1", () => socket.end(request))
          let data = ""
          socket.on("data", (chunk) => (data += chunk.toString()))
          socket.on("close", () => resume(Effect.succeed(data)))
          socket.on("error", () => resume(Effect.succeed(data)))
        })
      const answer = yield* raw("GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
      assert.match(answer, /^HTTP\/1\.1 400/)
      assert.strictEqual(listener.host, "127.0.0.1")
      const after = yield* raw("GET /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
      assert.match(after, /^HTTP\/1\.1 404/, "still serving")
    }).pipe(Effect.scoped))
})

describe("callback listener: nothing answers once the flow ends, and the port is free", () => {
  it.live("after success, a keep-alive connection the browser held is closed without another answer", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const { fiber, url } = yield* startLogin(env)
      // The browser asked for something else first and kept the connection open.
      const held = yield* keepAlive(env.port)
      assert.strictEqual(yield* held.request("/favicon.ico"), "HTTP/1.1 404 Not Found")
      assert.strictEqual(yield* status(yield* redirectFor(url)), 200)
      const completed = yield* Fiber.join(fiber)
      assert.strictEqual(completed.profileId, "chutes:alice")
      assert.strictEqual(yield* held.closed, "closed, 0 more bytes")
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
      assert.isTrue(yield* bindable(env.port))
      if (onLinux) assert.deepStrictEqual(listeningOn(env.port), [])
    }).pipe(Effect.scoped))

  it.live("interrupting the login (Ctrl-C) while it waits closes the listener and frees the port", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const { fiber } = yield* startLogin(env)
      const held = yield* keepAlive(env.port)
      assert.strictEqual(yield* held.request("/other"), "HTTP/1.1 404 Not Found")
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* held.closed, "closed, 0 more bytes")
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
      assert.isTrue(yield* bindable(env.port))
      assert.strictEqual(env.server.counters.token, 0)
    }).pipe(Effect.scoped))

  it.live("when the code exchange fails after the callback, the listener is gone and the port free", () =>
    Effect.gen(function*() {
      const env = yield* setup
      env.server.fault({ _tag: "Status", route: "token", status: 400, body: { error: "invalid_grant" } })
      const { fiber, url } = yield* startLogin(env)
      assert.strictEqual(yield* status(yield* redirectFor(url)), 200)
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error.reason, "Exchange")
      assert.strictEqual(error.error, "invalid_grant")
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
      assert.isTrue(yield* bindable(env.port))
    }).pipe(Effect.scoped))

  it.live("when the paste prompt gives up (three wrong states) while the listener waits, the listener closes too", () =>
    Effect.gen(function*() {
      const env = yield* setup
      let location = ""
      const answers = () => Effect.sync(() => withParams(location, { state: "forged-state" }))
      const opened = yield* Deferred.make<string>()
      const fiber = yield* OAuthLogin.login({ app: env.app, remote: false }).pipe(
        Effect.provide(Layer.mergeAll(
          env.oauth,
          OAuthLogin.BrowserOpener.layerTest((url) =>
            Effect.flatMap(redirectFor(url), (l) => Effect.sync(() => void (location = l))).pipe(
              Effect.zipRight(Deferred.succeed(opened, url))
            )
          ),
          OAuthLogin.Prompter.layerTest({ answers }),
          NodeOAuthLogin.layerCallbackServer
        )),
        Effect.fork
      )
      yield* Deferred.await(opened)
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error.reason, "StateMismatch")
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
      assert.isTrue(yield* bindable(env.port))
      assert.strictEqual(env.server.counters.token, 0)
    }).pipe(Effect.scoped))
})

describe("callback listener: a wrong state never completes the flow", () => {
  it.scoped("a genuine code with any wrong state is refused until the listener stops; nothing is exchanged", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const prompts: Array<string> = []
      const lines: Array<string> = []
      const { fiber, url } = yield* startLogin(env, { prompts, lines })
      const location = yield* redirectFor(url)
      const state = new URL(location).searchParams.get("state") ?? ""
      assert.isAbove(state.length, 20)
      const forgeries = [
        withParams(location, { state: `${state}x` }),
        withParams(location, { state: state.slice(0, -1) }),
        withParams(location, { state: state.slice(1) }),
        withParams(location, { state: state.toUpperCase() === state ? state.toLowerCase() : state.toUpperCase() }),
        withParams(location, { state: "" }),
        withParams(location, { state: undefined }),
        withParams(location, { state: " " + state }),
        // The right state twice, or the right one next to a forged one: ambiguous, refused.
        `${location}&state=${encodeURIComponent(state)}`,
        `${withParams(location, { state: undefined })}&state=forged&state=${encodeURIComponent(state)}`,
        // A forged denial with a wrong state cannot end the flow either.
        withParams(location, { code: undefined, error: "access_denied", state: "forged" })
      ]
      for (const forged of forgeries) assert.strictEqual(yield* status(forged), 400, forged)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "the flow is still waiting")
      assert.strictEqual(env.server.counters.token, 0)

      // The callback wait ends (TestClock): the listener stops; the flow still has not completed.
      yield* eventually(
        "the race to start",
        () => Effect.map(TestClock.sleeps(), (sleeps) => Chunk.size(sleeps) > 0 && prompts.length > 0)
      )
      yield* TestClock.adjust(OAuthLogin.DEFAULT_CALLBACK_WAIT)
      yield* eventually("the timeout notice", () => lines.some((line) => line.startsWith("No browser callback")))
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "still not completed: only the paste prompt is left")
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(env.server.counters.token, 0, "the genuine code was never exchanged")
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// A local process that holds the listener (issue 13, item 3)
// ---------------------------------------------------------------------------------------------------------------------

/** The IPv4 TCP sockets the kernel has, from the side of `localPort` (Linux /proc/net/tcp). */
const tcpSockets = (localPort: number) =>
  readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1).flatMap((line) => {
    const [, local = "", remote = "", state = "", queues = ""] = line.trim().split(/\s+/)
    if (Number.parseInt(local.split(":")[1] ?? "", 16) !== localPort) return []
    const [tx = "0", rx = "0"] = queues.split(":")
    return [{
      remotePort: Number.parseInt(remote.split(":")[1] ?? "", 16),
      established: state === "01",
      txQueue: Number.parseInt(tx, 16),
      rxQueue: Number.parseInt(rx, 16)
    }]
  })

/**
 * A local process that pipelines `count` requests on one connection and never reads the answers: the listener's
 * answers back up until Node stops reading the rest, so that connection always has an answer in flight that cannot
 * flush. The client side never notices a close (it reads nothing), so the kernel is asked: `open` is whether the
 * connection still exists (Linux; elsewhere always `undefined`), `stuck` waits until the listener has stopped reading
 * it (its queues hold requests and answers and do not move; elsewhere it waits 2 s).
 */
const pipeliningHog = (port: number, count = 40_000) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<Net.Socket>((resolve, reject) => {
        const socket = Net.connect({ port, host: "127.0.0.1" })
        socket.once("connect", () => resolve(socket))
        socket.once("error", reject)
      })
    ),
    (socket) => Effect.sync(() => socket.destroy())
  ).pipe(Effect.map((socket) => {
    socket.pause()
    socket.on("error", () => {})
    const localPort = socket.localPort ?? 0
    socket.write(`GET /not-the-callback HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`.repeat(count))
    /** The listener's side of this connection. */
    const serverSide = () => onLinux ? tcpSockets(port).find((s) => s.remotePort === localPort) : undefined
    return {
      open: (): boolean | undefined => onLinux ? tcpSockets(localPort).some((s) => s.established) : undefined,
      stuck: Effect.gen(function*() {
        if (!onLinux) return yield* TestServices.provideLive(Effect.sleep(Duration.seconds(2)))
        // Stuck: requests waiting in its receive queue, answers in its send queue, neither moving for half a second.
        let last = ""
        let still = 0
        for (let i = 0; i < 300; i++) {
          const side = serverSide()
          const now = `${side?.rxQueue ?? 0}:${side?.txQueue ?? 0}`
          still = (side?.rxQueue ?? 0) > 0 && (side?.txQueue ?? 0) > 0 && now === last ? still + 1 : 0
          if (still >= 5) return
          last = now
          yield* TestServices.provideLive(Effect.sleep(Duration.millis(100)))
        }
        assert.fail("the listener kept reading the pipelined requests")
      })
    }
  }))

/** Waits on the live clock until `check` holds, or `millis` pass; returns whether it held. */
const within = (millis: number, check: () => boolean) =>
  Effect.gen(function*() {
    const end = Date.now() + millis
    while (Date.now() < end) {
      if (check()) return true
      yield* TestServices.provideLive(Effect.sleep(Duration.millis(10)))
    }
    return check()
  })

describe("callback listener: a local process cannot hold it open", () => {
  it.live("close ends within the grace period although a connection pipelines requests and never reads", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const listener = yield* callbackListener(`http://127.0.0.1:${port}/cb`, "s", {
        closeGrace: Duration.millis(300)
      })
      const hog = yield* pipeliningHog(port)
      yield* hog.stuck
      const started = Date.now()
      const closed = yield* listener.close.pipe(Effect.timeoutOption(Duration.seconds(5)), TestServices.provideLive)
      const took = Date.now() - started
      console.log(`listener close figures: ${JSON.stringify({ graceMillis: 300, closeMillis: took })}`)
      assert.isTrue(Option.isSome(closed), "the close did not end within 5 s")
      assert.isAtLeast(took, 250, "the answers in flight got the grace period")
      assert.isBelow(took, 2_000, "the close took longer than the grace period")
      if (onLinux) assert.isFalse(hog.open(), "the hog's connection was dropped")
      assert.strictEqual(yield* connect(port), "ECONNREFUSED")
      assert.isTrue(yield* bindable(port))
    }).pipe(Effect.scoped))

  it.live("a sign-in completes while a local process holds a connection; the code is exchanged before the close ends", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const { fiber, url } = yield* startLogin(env)
      const hog = yield* pipeliningHog(env.port)
      yield* hog.stuck
      assert.strictEqual(yield* status(yield* redirectFor(url)), 200, "the browser gets its page")
      const callbackAt = Date.now()
      // The code is exchanged at once, while the hog's connection still has its grace period to run.
      assert.isTrue(yield* within(5_000, () => env.server.counters.token === 1), "the code was not exchanged")
      const exchangedAfter = Date.now() - callbackAt
      if (onLinux) assert.isTrue(hog.open(), "the exchange came after the close")
      const joined = yield* Fiber.join(fiber).pipe(Effect.timeoutOption(Duration.seconds(10)), TestServices.provideLive)
      const endedAt = Date.now()
      console.log(`listener login figures: ${JSON.stringify({ exchangedAfter, loginEndedAfter: endedAt - callbackAt })}`)
      assert.isTrue(Option.isSome(joined), "the login did not end")
      if (Option.isSome(joined)) assert.strictEqual(joined.value.profileId, "chutes:alice")
      // The login ends once the listener is closed: the hog dropped after the grace period.
      if (onLinux) assert.isFalse(hog.open(), "the login ended with the hog's connection still open")
      assert.isBelow(endedAt - callbackAt, Duration.toMillis(OAuthLogin.DEFAULT_CLOSE_GRACE) + 2_000)
      assert.strictEqual(yield* connect(env.port), "ECONNREFUSED")
      assert.isTrue(yield* bindable(env.port))
    }).pipe(Effect.scoped))

  it.live("connections past the cap are refused; the ones inside it are still served", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      yield* callbackListener(`http://127.0.0.1:${port}/cb`, "s", { maxConnections: 4 })
      const held = yield* Effect.forEach(Array.from({ length: 4 }), () => keepAlive(port))
      for (const connection of held) assert.strictEqual(yield* connection.request("/x"), "HTTP/1.1 404 Not Found")
      const extra = yield* keepAlive(port)
      assert.strictEqual(yield* extra.closed, "closed, 0 more bytes", "a fifth connection is dropped at once")
      assert.strictEqual(yield* held[0]!.request("/x"), "HTTP/1.1 404 Not Found", "the first four are still served")
    }).pipe(Effect.scoped))

  it.live("a connection that trickles an endless body or endless headers is dropped at requestTimeout", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const listener = yield* callbackListener(`http://127.0.0.1:${port}/cb`, "s", { requestTimeout: "300 millis" })
      /** A socket that writes `first`, then `next` every 50 ms; resolves with the milliseconds until the server closed it. */
      const trickle = (first: string, next: string) =>
        Effect.async<number>((resume) => {
          const started = Date.now()
          const socket = Net.connect(port, "127.0.0.1", () => socket.write(first))
          const timer = setInterval(() => socket.writable && socket.write(next), 50)
          socket.on("data", () => {})
          socket.on("close", () => {
            clearInterval(timer)
            resume(Effect.succeed(Date.now() - started))
          })
          socket.on("error", () => {})
          return Effect.sync(() => {
            clearInterval(timer)
            socket.destroy()
          })
        })
      const host = `Host: 127.0.0.1:${port}\r\n`
      const [body, headers] = yield* Effect.all([
        trickle(`POST /cb HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\n`, "1\r\nx\r\n"),
        trickle(`GET /cb?code=c&state=s HTTP/1.1\r\n${host}`, "X-Padding: y\r\n")
      ], { concurrency: 2 }).pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "still open after 5 s" }))
      // 300 ms, checked every 300 ms: dropped well before the 10 s idle timeout (which the trickle keeps resetting).
      assert.isBelow(body, 3_000)
      assert.isBelow(headers, 3_000)
      // The callback still comes through.
      assert.strictEqual(statusOf(yield* rawRequest(port, "GET", "/cb?code=c1&state=s")), 200)
      const code = yield* listener.waitForCode
      assert.strictEqual(Redacted.value(code.code), "c1")
    }).pipe(Effect.scoped))
})

// ---------------------------------------------------------------------------------------------------------------------
// The callback app on HttpRouter: exact matching, the pages, nothing traced
// ---------------------------------------------------------------------------------------------------------------------

/** One raw request (the target exactly as written: `fetch` would normalise it); resolves with the whole answer. */
const rawRequest = (port: number, method: string, target: string) =>
  Effect.async<string>((resume) => {
    const socket = Net.connect(port, "127.0.0.1", () =>
      socket.end(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`))
    let data = ""
    socket.on("data", (chunk) => (data += chunk.toString()))
    socket.on("close", () => resume(Effect.succeed(data)))
    socket.on("error", () => resume(Effect.succeed(data)))
  })

const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? "0")

/** The headers of a raw answer, names lower-cased, and its body. */
const parseAnswer = (answer: string) => {
  const end = answer.indexOf("\r\n\r\n")
  const headers = new Map<string, string>()
  for (const line of answer.slice(0, end).split("\r\n").slice(1)) {
    const colon = line.indexOf(":")
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  return { headers, body: answer.slice(end + 4) }
}

describe("callback listener: the app on HttpRouter", () => {
  it.live("the path is matched exactly (no case folding, no trailing or doubled slash, no decoding); GET only", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const listener = yield* callbackListener(`http://127.0.0.1:${port}/cb`, "s")
      const query = "?code=c1&state=s"
      for (const target of [`/cb/${query}`, `/CB${query}`, `/c%62${query}`, `/cb/x${query}`, `/${query}`]) {
        assert.strictEqual(statusOf(yield* rawRequest(port, "GET", target)), 404, target)
      }
      for (const method of ["HEAD", "POST", "PUT", "DELETE", "OPTIONS"]) {
        assert.strictEqual(statusOf(yield* rawRequest(port, method, `/cb${query}`)), 405, method)
      }
      assert.isTrue(Option.isNone(yield* Effect.timeoutOption(listener.waitForCode, Duration.millis(1))))
      // An absolute-form target with dot segments names the callback path: it is the callback.
      const good = yield* rawRequest(port, "GET", `http://127.0.0.1:${port}/x/../cb${query}`)
      assert.strictEqual(statusOf(good), 200)
      assert.strictEqual(Redacted.value((yield* listener.waitForCode).code), "c1")
    }).pipe(Effect.scoped))

  it.live("a redirect path with a colon, a star or an escape: a literal path, not a route pattern", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [path: string, others: ReadonlyArray<string>]> = [
        ["/a:b/c%20d", ["/a:x/c%20d", "/a:b/c%2520d", "/A:b/c%20d"]],
        ["/a*b", ["/azzb", "/a", "/a*bc"]],
        ["/x%2Fy", ["/x/y", "/x%2fy"]],
        ["/caf%C3%A9", ["/cafe"]]
      ]
      for (const [path, others] of cases) {
        yield* Effect.scoped(Effect.gen(function*() {
          const port = yield* freePort
          const listener = yield* callbackListener(`http://127.0.0.1:${port}${path}`, "s")
          for (const other of others) {
            assert.strictEqual(statusOf(yield* rawRequest(port, "GET", `${other}?code=c1&state=s`)), 404, other)
          }
          assert.strictEqual(statusOf(yield* rawRequest(port, "GET", `${path}?code=c2&state=s`)), 200, path)
          assert.strictEqual(Redacted.value((yield* listener.waitForCode).code), "c2")
        }))
      }
    }))

  it.live("every page: HTML with its length, never cached, no referrer, nothing loaded; the last one closes", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      yield* callbackListener(`http://127.0.0.1:${port}/cb`, "s")
      const answers = [
        yield* rawRequest(port, "GET", "/elsewhere"),
        yield* rawRequest(port, "GET", "/cb?code=c1&state=wrong"),
        yield* rawRequest(port, "GET", "/cb?code=c1&state=s")
      ]
      assert.deepStrictEqual(answers.map(statusOf), [404, 400, 200])
      for (const answer of answers) {
        const { body, headers } = parseAnswer(answer)
        assert.strictEqual(headers.get("content-type"), "text/html; charset=utf-8")
        assert.strictEqual(headers.get("content-length"), String(Buffer.byteLength(body)))
        assert.strictEqual(headers.get("cache-control"), "no-store")
        assert.strictEqual(headers.get("referrer-policy"), "no-referrer")
        assert.strictEqual(headers.get("content-security-policy"), "default-src 'none'")
        assert.strictEqual(headers.get("x-content-type-options"), "nosniff")
        assert.match(body, /^<!DOCTYPE html>/)
      }
      assert.include(parseAnswer(answers[2]!).body, OAuthLogin.SUCCESS_TITLE)
      assert.strictEqual(parseAnswer(answers[2]!).headers.get("connection"), "close")
      // A page quoting the request escapes it.
      const hostile = yield* callbackListener(`http://127.0.0.1:${yield* freePort}/cb`, "s").pipe(
        Effect.map((l) => l.port)
      )
      const denied = yield* rawRequest(hostile, "GET", "/cb?error=%3Cscript%3E&state=s")
      assert.strictEqual(statusOf(denied), 400)
      assert.notInclude(parseAnswer(denied).body, "<script>")
    }).pipe(Effect.scoped))

  it.live("a sign-in through the listener traces and logs neither the code nor the state", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const capture = Capture.make()
      const opened = yield* Deferred.make<string>()
      const fiber = yield* OAuthLogin.login({ app: env.app, remote: false }).pipe(
        Effect.provide(Layer.mergeAll(
          env.oauth,
          OAuthLogin.BrowserOpener.layerTest((url) => Effect.asVoid(Deferred.succeed(opened, url))),
          OAuthLogin.Prompter.layerTest({}),
          NodeOAuthLogin.layerCallbackServer
        )),
        Effect.provide(Capture.layer(capture)),
        Effect.fork
      )
      const location = yield* redirectFor(yield* Deferred.await(opened))
      const params = new URL(location).searchParams
      // A wrong state first (logged as ignored), then the genuine callback.
      assert.strictEqual(yield* status(withParams(location, { state: "forged-state-0123456789" })), 400)
      assert.strictEqual(yield* status(location), 200)
      const completed = yield* Fiber.join(fiber)
      assert.strictEqual(completed.profileId, "chutes:alice")
      assert.isAbove(capture.counts.spans, 0)
      assert.isTrue(capture.entries.some((e) => e.kind === "log" && e.text.includes("Ignored a sign-in callback")))
      const secrets = [
        { name: "code", value: params.get("code") ?? "" },
        { name: "state", value: params.get("state") ?? "" },
        { name: "forged state", value: "forged-state-0123456789" }
      ]
      assert.deepStrictEqual(Capture.describeLeaks(Capture.leaks(capture, secrets)), "")
    }).pipe(Effect.scoped))
})
