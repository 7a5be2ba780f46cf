/**
 * The cooldowns of auth profiles on Redis (`AuthCooldowns`), beside the shared profile store: the hash
 * `<prefix>auth-cooldowns`, one field per profile id holding the cooldown's JSON (the `Cooldown` schema). Every
 * operation is one command or one script, so no lock is needed: hosts setting cooldowns of different profiles never
 * lose each other's, and the last `set` of a profile wins.
 *
 * - `load` is `HGETALL`; a field that does not decode (written by hand, or by a newer version) is skipped (logged at
 *   debug level) and replaced by the next `set` of that profile.
 * - `set` is `HSET` of the field, and in the same script the removal of the cooldowns that ended more than
 *   `AuthCooldowns.RETENTION` ago, so the hash does not grow forever (fields that do not decode are left to their
 *   next `set`).
 * - `clear` is `HDEL` of the fields (or `DEL` of the hash), returning the ids that had one.
 *
 * Failures are the connection's (`connection.ts`): `StoreError` `Unreachable` (or `Permission`, `Io`) naming the
 * masked location, never the password.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Cooldown, Cooldown as CooldownSchema, MAX_BYTES, RETENTION, type Store } from "../../AuthCooldowns.js"
import { StoreError } from "../../ChutesError.js"
import { decodeEntry } from "../../internal/authCooldownFile.js"
import { formatBytes } from "../../internal/filePolicy.js"
import { excerpt } from "../../internal/redact.js"
import { type Connection, isCommandRefused, readNotBounded } from "./connection.js"

/**
 * Sets field `ARGV[1]` to `ARGV[2]`, then removes the fields whose `until` is a number below `ARGV[3]`. A field that
 * does not decode is left as it is (`pcall`).
 */
const SET_AND_PRUNE = `
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
local cutoff = tonumber(ARGV[3])
local all = redis.call("HGETALL", KEYS[1])
for i = 1, #all, 2 do
  local ok, value = pcall(cjson.decode, all[i + 1])
  if ok and type(value) == "table" and type(value["until"]) == "number" and value["until"] < cutoff then
    redis.call("HDEL", KEYS[1], all[i])
  end
end
return 1`

/**
 * Every field and value when they come to at most `ARGV[1]` bytes together: `{1, {id, value, …}}`, else `{0, size}`
 * (the size so far) — cooldowns over the cap never cross the network.
 */
const LOAD_CAPPED = `
local cap = tonumber(ARGV[1])
local size = 0
for _, id in ipairs(redis.call("HKEYS", KEYS[1])) do
  size = size + #id + redis.call("HSTRLEN", KEYS[1], id)
  if size > cap then return {0, size} end
end
return {1, redis.call("HGETALL", KEYS[1])}`

/** Removes the fields `ARGV` and returns those that existed (all of them when `ARGV` is empty). */
const CLEAR = `
if #ARGV == 0 then
  local ids = redis.call("HKEYS", KEYS[1])
  redis.call("DEL", KEYS[1])
  return ids
end
local removed = {}
for _, id in ipairs(ARGV) do
  if redis.call("HDEL", KEYS[1], id) == 1 then table.insert(removed, id) end
end
return removed`

const encodeCooldown = Schema.encodeSync(CooldownSchema)

/** The cooldown store in the hash `key` over `connection`. */
export const make = (connection: Connection, key: string): Store => {
  const location = `${connection.location} key ${key}`

  // Counted in a script first: cooldowns over the cap never cross the network. A client whose ACL does not allow the
  // script's HSTRLEN (it predates it) reads them all, with a warning said once.
  const capped = connection.run(location, (client) => client.eval(LOAD_CAPPED, 1, key, String(MAX_BYTES))).pipe(
    Effect.catchIf(isCommandRefused, () =>
      Effect.zipRight(
        readNotBounded(location, "HSTRLEN"),
        connection.run(location, (client) => client.hgetall(key)).pipe(
          Effect.map((fields) => [1, Object.entries(fields).flat()] as const)
        )
      ))
  )
  const load: Store["load"] = capped.pipe(
    Effect.flatMap((answer) =>
      Effect.gen(function*() {
        const [ok, fields] = answer as [number, ReadonlyArray<string> | number]
        if (ok !== 1 || typeof fields === "number") {
          return yield* new StoreError({
            reason: "Corrupt",
            path: location,
            detail: `the cooldowns come to at least ${fields} bytes, over the cap of ${formatBytes(MAX_BYTES)}`
          })
        }
        const cooldowns = new Map<string, Cooldown>()
        for (let i = 0; i + 1 < fields.length; i += 2) {
          const id = fields[i]!
          const text = fields[i + 1]!
          let value: unknown
          try {
            value = JSON.parse(text)
          } catch {
            value = undefined
          }
          const cooldown = decodeEntry(id, value)
          if (Either.isRight(cooldown)) cooldowns.set(id, cooldown.right)
          else yield* Effect.logDebug(`auth cooldowns: ${location}: skipped, ${cooldown.left}`)
        }
        return cooldowns as ReadonlyMap<string, Cooldown>
      })
    ),
    Effect.withSpan("AuthCooldowns.load", { attributes: { location } })
  )

  const set: Store["set"] = (id, cooldown) =>
    Effect.gen(function*() {
      const text = JSON.stringify(encodeCooldown(cooldown))
      // Our own write must read back: a number JSON cannot hold is a bug of the caller.
      if (Either.isLeft(decodeEntry(id, JSON.parse(text)))) {
        return yield* Effect.dieMessage(`AuthCooldowns: a cooldown with a number JSON cannot hold (NaN, Infinity)`)
      }
      const cutoff = (yield* Clock.currentTimeMillis) - Duration.toMillis(RETENTION)
      yield* connection.run(location, (client) => client.eval(SET_AND_PRUNE, 1, key, id, text, String(cutoff)))
    }).pipe(Effect.withSpan("AuthCooldowns.set", { attributes: { location, id: excerpt(id, 80) } }))

  const clear: Store["clear"] = (ids) =>
    (ids !== undefined && ids.length === 0
      ? Effect.succeed<ReadonlyArray<string>>([])
      : connection.run(location, (client) => client.eval(CLEAR, 1, key, ...new Set(ids ?? []))).pipe(
        Effect.map((answer): ReadonlyArray<string> =>
          Array.isArray(answer) ? answer.filter((id): id is string => typeof id === "string") : []
        )
      )).pipe(Effect.withSpan("AuthCooldowns.clear", { attributes: { location } }))

  return { location, load, set, clear }
}
