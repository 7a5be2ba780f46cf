/**
 * One ioredis client for the shared store and cache (`NodeRedis`): created for a scope and closed with it, every
 * command run as an Effect whose failure is a `StoreError` with a sentence saying what to check, and the URL never
 * shown with its password.
 *
 * The client fails fast instead of queueing forever: a command waits at most `commandTimeout`, and a command issued
 * while Redis is down is rejected after one reconnection attempt (`maxRetriesPerRequest: 1`). The client keeps
 * reconnecting in the background (at most 2 s apart), so the store works again as soon as Redis is back.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import { StoreError } from "../../ChutesError.js"
import { excerpt } from "../../internal/redact.js"
import { warnOnce } from "../../internal/warnOnce.js"

/** A client and how to name it in messages. */
export interface Connection {
  /** The URL with its password masked, e.g. `rediss://app:***@cache.internal:6380/0`. */
  readonly location: string
  /** Runs one command; a failure is a `StoreError` about `path` (a masked location and key). */
  readonly run: <A>(path: string, command: (client: Redis) => Promise<A>) => Effect.Effect<A, StoreError>
}

/**
 * `url` with any password replaced by `***` and without query or fragment (which may carry one too). A URL that does not
 * parse is never echoed.
 */
export const redactUrl = (url: string): string => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return "<CHUTES_REDIS_URL: not a valid URL>"
  }
  const user = decodeURIComponent(parsed.username)
  const auth = user.length > 0 || parsed.password.length > 0
    ? `${excerpt(user, 64)}${parsed.password.length > 0 ? ":***" : ""}@`
    : ""
  return `${parsed.protocol}//${auth}${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`
}

/** The password of `url`, to scrub from messages that might echo it. */
const passwordOf = (url: string): string | undefined => {
  try {
    const password = decodeURIComponent(new URL(url).password)
    return password.length > 0 ? password : undefined
  } catch {
    return undefined
  }
}

/** The sentence that says what to check, by the kind of failure. */
const classify = (location: string, path: string, message: string): StoreError => {
  // (A script that runs a command its user may not: "can't run this command", "can't access".)
  if (/\b(NOAUTH|WRONGPASS|NOPERM)\b|can't run this command|can't access/.test(message)) {
    return new StoreError({
      reason: "Permission",
      path,
      detail: `Redis refused this client (${message}): check the user name and password in CHUTES_REDIS_URL and ` +
        `the ACL of that user (it needs INFO, GET, STRLEN, SET, HGET, HMGET, HSTRLEN, HGETALL, HSET, HDEL, HKEYS, ` +
        `DEL, PEXPIRE and EVAL on the key prefix)`
    })
  }
  if (/\b(READONLY|OOM|MISCONF|LOADING)\b/.test(message)) {
    return new StoreError({
      reason: "Io",
      path,
      detail: `Redis at ${location} cannot take writes now (${message}): check that the URL points at the primary and ` +
        `that the server has memory and disk to spare`
    })
  }
  if (/\bWRONGTYPE\b|\bERR (user_script|Error running script)\b/.test(message)) {
    return new StoreError({
      reason: "Corrupt",
      path,
      detail: `Redis cannot use the value at that key (${message}): it holds another type, or fields a write cannot ` +
        `use. Nothing was written; fix or delete the key`
    })
  }
  return new StoreError({
    reason: "Unreachable",
    path,
    detail: `${message}. Check that Redis is running and reachable from this host at ${location}, the host, port ` +
      `and TLS (rediss://) in CHUTES_REDIS_URL, and any firewall in between`
  })
}

/** Whether Redis refused a command to this client's ACL (not its password). */
export const isCommandRefused = (error: StoreError): boolean => /NOPERM|can't run this command/.test(error.detail ?? "")

/** The warning, said once, for a read that cannot be bounded: the ACL does not allow the size query `command`. */
export const readNotBounded = (path: string, command: string): Effect.Effect<void> =>
  warnOnce(
    `${path}: this Redis user may not run ${command}, so the read is not bounded; add ${command} to the commands of its ` +
      `ACL (docs/deployments.md)`
  )

/**
 * A value read within `cap`: `size` is asked first and `read` runs only when the value is at most `cap`, else
 * `tooLarge(size)` — a value over the cap never crosses the network. A client whose ACL does not allow the size query
 * (its ACL predates it) reads without the bound, with a warning said once.
 */
export const readWithin = <A>(
  connection: Connection,
  path: string,
  options: {
    readonly size: (client: Redis) => Promise<number>
    readonly read: (client: Redis) => Promise<A>
    readonly cap: number
    readonly tooLarge: (size: number) => StoreError
    /** The command `size` runs, for the warning. */
    readonly sizeCommand: string
  }
): Effect.Effect<A, StoreError> =>
  connection.run(path, options.size).pipe(
    Effect.catchIf(isCommandRefused, () => Effect.as(readNotBounded(path, options.sizeCommand), 0)),
    Effect.flatMap((size) => size > options.cap ? Effect.fail(options.tooLarge(size)) : connection.run(path, options.read))
  )

/** How the client is tuned; see the module comment. */
export interface ConnectionOptions {
  readonly commandTimeout: Duration.Duration
}

/**
 * A client for `url`, closed when the scope closes. Nothing connects until the first command (nothing runs at layer
 * build). A URL that is not `redis://` or `rediss://` gives a connection whose every command fails with `Io`.
 */
export const make = (
  url: Redacted.Redacted<string>,
  options: ConnectionOptions
): Effect.Effect<Connection, never, Scope.Scope> =>
  Effect.gen(function*() {
    const raw = Redacted.value(url)
    const location = redactUrl(raw)
    const password = passwordOf(raw)
    const scrubbed = (text: string) => excerpt(password === undefined ? text : text.split(password).join("***"), 300)
    const protocol = (() => {
      try {
        return new URL(raw).protocol
      } catch {
        return undefined
      }
    })()
    if (protocol !== "redis:" && protocol !== "rediss:") {
      return {
        location,
        run: (path) =>
          Effect.fail(
            new StoreError({
              reason: "Io",
              path,
              detail: `CHUTES_REDIS_URL is not a redis:// or rediss:// URL (${location}); nothing was changed`
            })
          )
      }
    }
    // Loaded on first use, so a bare `import "effect-chutes/node"` (and every CLI command) does not load ioredis.
    const { Redis } = yield* Effect.promise(() => import("ioredis"))
    let lastError: string | undefined
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const created = new Redis(raw, {
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          connectTimeout: Math.max(1000, Duration.toMillis(options.commandTimeout)),
          commandTimeout: Duration.toMillis(options.commandTimeout),
          retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000)
        })
        // Without a listener ioredis prints every connection error; the last one is kept for the next message.
        created.on("error", (error: Error) => {
          lastError = error.message
        })
        created.on("ready", () => {
          lastError = undefined
        })
        return created
      }),
      (client) =>
        Effect.promise(() =>
          client.status === "ready"
            ? Promise.race([
              client.quit().catch(() => undefined),
              new Promise((resolve) => setTimeout(resolve, 1000).unref())
            ])
            : Promise.resolve()
        ).pipe(Effect.ensuring(Effect.sync(() => client.disconnect())))
    )
    const run: Connection["run"] = (path, command) =>
      Effect.tryPromise({
        try: () => command(client),
        catch: (cause) => {
          const message = cause instanceof Error ? cause.message : String(cause)
          // "Reached the max retries per request limit" and "Command timed out" say nothing about why: the last
          // connection error does ("connect ECONNREFUSED 127.0.0.1:6379").
          const why = lastError === undefined || message.includes(lastError)
            ? message
            : /max retries per request/i.test(message)
            ? lastError
            : `${message} (${lastError})`
          return classify(location, path, scrubbed(why))
        }
      })
    return { location, run }
  })
