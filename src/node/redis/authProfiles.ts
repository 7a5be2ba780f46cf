/**
 * The auth profile store on Redis: the same document as `auth-profiles.json` (the loss-free codec of
 * `internal/authProfileDocument.ts`: other providers' profiles, unknown top-level keys and unknown fields kept), in a
 * hash `<prefix>auth-profiles` with the fields `doc` (the JSON text) and `version` (a counter bumped by every write).
 *
 * `modify` (and so a token refresh) runs under the distributed lock `<prefix>auth-profiles:lock` (`lock.ts`): take
 * the lock, re-read, run `f`, write, release. The write is a compare-and-set on `version`, in one script: it lands only
 * when nobody wrote since the document was read. When the document changed since `f` read it:
 * - and the lock is still ours (someone whose lease had run out wrote meanwhile): the changes, which are deltas, are
 *   applied to the new document, as the file store does, with a warning;
 * - and the lock is lost (our lease ran out and another holder may have written): `StoreError` `LeaseLost`, nothing
 *   written — a late holder never writes over a newer write. `ChutesCredentials` then keeps refreshed tokens in
 *   memory and writes them later only if the store still holds the refresh token they replace.
 * A document that does not decode is never written over (`Corrupt`), as with the file.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { StoreError } from "../../ChutesError.js"
import type * as FileLock from "../../FileLock.js"
import {
  applyChanges,
  corrupt,
  encodeEither,
  fromText,
  MAX_BYTES,
  type ProfileChange
} from "../../internal/authProfileDocument.js"
import type { Backend } from "../../internal/authProfileFile.js"
import { formatBytes } from "../../internal/filePolicy.js"
import { type Connection, readWithin } from "./connection.js"

/**
 * Writes `ARGV[2]` as the document when the version is still `ARGV[1]` ("0" for a store that does not exist yet) and
 * bumps it: `{1, new version}`, else `{0, current version}`.
 */
const COMPARE_AND_SET = `
local current = redis.call("HGET", KEYS[1], "version")
if not current then current = "0" end
if current ~= ARGV[1] then return {0, current} end
local next = tostring(tonumber(current) + 1)
redis.call("HSET", KEYS[1], "doc", ARGV[2], "version", next)
return {1, next}`

/**
 * A write of `ARGV[1]` that changes nothing (the store's `trialWrite`, before a refresh spends the refresh token): into
 * a field of its own, removed in the same script, so Redis checks this client may write the key and has the memory for
 * the document. `0` when the version is not a number, which the compare-and-set could not bump.
 */
const TRIAL_WRITE = `
local current = redis.call("HGET", KEYS[1], "version")
if current and not tonumber(current) then return 0 end
redis.call("HSET", KEYS[1], "trial", ARGV[1])
redis.call("HDEL", KEYS[1], "trial")
return 1`

/** How often a write starts over because the document changed between reading it and the compare-and-set. */
const MAX_WRITE_ATTEMPTS = 3

/** What the lock of the store is. */
export interface LockSettings {
  readonly lease: Duration.Duration
  readonly update?: Duration.Duration | undefined
  readonly timeout: Duration.Duration
}

/** The store's backend in the hash `key`, locked by `locks` on `<key>:lock`. */
export const make = (
  connection: Connection,
  locks: FileLock.Service,
  key: string,
  settings: LockSettings
): Effect.Effect<Backend> =>
  Effect.gen(function*() {
    const location = `${connection.location} key ${key}`
    const lock = locks.make(`${key}:lock`, { stale: settings.lease, update: settings.update, timeout: settings.timeout })
    // Fibers of this process queue here rather than polling Redis for the lock.
    const semaphore = yield* Effect.makeSemaphore(1)

    // Its size first: a document over the cap never crosses the network. (Plain reads, not a script: a client whose ACL
    // only reads the key, or a replica, can read it.)
    const readVersioned = readWithin(connection, location, {
      size: (client) => client.hstrlen(key, "doc"),
      read: (client) => client.hmget(key, "doc", "version"),
      cap: MAX_BYTES,
      tooLarge: (size) => corrupt(location, `the document is ${size} bytes, over the cap of ${formatBytes(MAX_BYTES)}`),
      sizeCommand: "HSTRLEN"
    }).pipe(
      Effect.map(([doc, version]) => ({ doc: Option.fromNullable(doc), version: version ?? "0" }))
    )
    const read: Backend["read"] = Effect.map(readVersioned, ({ doc }) => doc)

    const compareAndSet = (version: string, text: string) =>
      connection.run(location, (client) => client.eval(COMPARE_AND_SET, 1, key, version, text)).pipe(
        Effect.map((answer) => Array.isArray(answer) && answer[0] === 1)
      )

    const leaseLost = new StoreError({
      reason: "LeaseLost",
      path: location,
      detail: `the lease is ${Duration.format(settings.lease)}. Check the latency between this host and Redis and ` +
        `whether this process was stalled (CPU starvation, a debugger, a suspended VM); a longer lease ` +
        `(NodeRedis option lockLease) rides out longer stalls`
    })

    const commit = (held: FileLock.HeldLock) =>
    (base: Option.Option<string>, changes: ReadonlyArray<ProfileChange>): Effect.Effect<void, StoreError> =>
      Effect.gen(function*() {
        let warned = false
        for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
          const latest = yield* readVersioned
          const changed = !Option.getEquivalence<string>((a, b) => a === b)(latest.doc, base)
          if (changed) {
            if (!(yield* held.stillHeld)) return yield* leaseLost
            if (!warned) {
              warned = true
              yield* Effect.logWarning(
                `auth profile store: ${location} changed while it was being updated (by a process whose lease had ` +
                  `run out); the changes were applied to the new content`
              )
            }
          }
          const set = yield* fromText(location, latest.doc).pipe(
            Effect.mapError((error) =>
              corrupt(
                location,
                `it changed while it was being updated and is no longer valid (${error.detail ?? "?"}); nothing ` +
                  `was written`
              )
            )
          )
          const text = yield* encodeEither(applyChanges(set, changes), location)
          if (yield* compareAndSet(latest.version, text)) return
        }
        return yield* new StoreError({
          reason: "Io",
          path: location,
          detail: `it kept changing while it was being written (${MAX_WRITE_ATTEMPTS} attempts); nothing was written`
        })
      })

    const trialWrite = (text: string): Effect.Effect<void, StoreError> =>
      connection.run(location, (client) => client.eval(TRIAL_WRITE, 1, key, text)).pipe(
        Effect.flatMap((answer) =>
          answer === 1 ? Effect.void : Effect.fail(
            corrupt(location, "its version field is not a number, so no write can land; it is not rewritten")
          )
        )
      )

    const exclusive: Backend["exclusive"] = (body) =>
      semaphore.withPermits(1)(Effect.scoped(Effect.flatMap(lock.acquire, (held) => body(commit(held)))))

    return { location, read, exclusive, trialWrite }
  })
