/**
 * A child process for the crash test (test/crash.test.ts): increments its own counter in a shared auth store with
 * `AuthProfileStore.modify`, forever, until it is killed.
 *
 *   node --import tsx test/support/storeWriter.ts <storePath> <writer> <padChars> <maxGapMillis>
 *
 * Writer `w` owns the API-key profile `chutes:w<w>`, whose key encodes its counter: `storeKey(w, seq, padChars)`.
 * Each round reads the stored counter under the lock and writes `seq + 1`, so a lost update, a torn file or a write of
 * a dead process would show as a counter that goes back, a key that is not one a writer wrote, or a file that does not
 * parse. The padding makes each write large enough that a kill can land in the middle of it.
 *
 * Progress goes to stdout, one line per event, written synchronously (`writeSync` on fd 1) so that every line printed
 * before a SIGKILL reaches the parent:
 * - `R` ready (the store is opened);
 * - `L <seq> <epochMillis>` inside `modify`: the lock is held (leftover temp files were cleaned just before) and
 *   `<seq>` is about to be written;
 * - `W <seq>` `modify` returned: `<seq>` is on disk and the lock released;
 * - `E <reason>[:lock-<code>]` a `modify` failed (the writer goes on), with the errno when taking the lock failed;
 *   the message goes to stderr;
 * - `G <level>` the store logged something (e.g. a lock lost to a double takeover, changes re-applied); the text goes
 *   to stderr.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { createHash } from "node:crypto"
import { writeSync } from "node:fs"
import * as AuthProfileStore from "../../src/AuthProfileStore.js"
import * as NodeFileLock from "../../src/node/NodeFileLock.js"
import * as NodePrivateFiles from "../../src/node/NodePrivateFiles.js"

/** The key writer `writer` stores for counter `seq`: `cpk_w<writer>_<seq>_<padding derived from both>`. */
export const storeKey = (writer: number, seq: number, padChars: number): string => {
  const digest = createHash("sha256").update(`${writer}:${seq}`).digest("hex")
  return `cpk_w${writer}_${seq}_${digest.repeat(Math.ceil(padChars / digest.length)).slice(0, padChars)}`
}

/** The writer and counter a stored key claims, or undefined when it is not shaped like one. */
export const parseKey = (key: string): { readonly writer: number; readonly seq: number } | undefined => {
  const match = /^cpk_w(\d+)_(\d+)_/.exec(key)
  return match?.[1] === undefined || match[2] === undefined
    ? undefined
    : { writer: Number(match[1]), seq: Number(match[2]) }
}

/** The profile id writer `writer` owns. */
export const profileId = (writer: number): string => `chutes:w${writer}`

const say = (line: string): void => {
  writeSync(1, `${line}\n`)
}

/** Log lines would mix with the protocol on stdout: announce them there, and print their text to stderr. */
const logger = Logger.make(({ logLevel, message }) => {
  say(`G ${logLevel.label}`)
  process.stderr.write(`${Array.isArray(message) ? message.join(" ") : String(message)}\n`)
})

const main = (storePath: string, writer: number, padChars: number, maxGap: number) =>
  Effect.gen(function*() {
    // lockStale 2 s (proper-lockfile's minimum): a writer killed while holding the lock blocks the others until then.
    const store = yield* AuthProfileStore.makeFile(storePath, { lockStale: "2 seconds" })
    const id = profileId(writer)
    say("R")
    while (true) {
      const written = yield* store.modify((current) =>
        Effect.sync(() => {
          const stored = current.profiles.get(id)
          const seq = (stored?.type === "api_key" ? parseKey(stored.key)?.seq ?? 0 : 0) + 1
          say(`L ${seq} ${Date.now()}`)
          const profile: AuthProfileStore.ApiKeyProfile = {
            type: "api_key",
            provider: "chutes",
            key: storeKey(writer, seq, padChars)
          }
          return [seq, [{ _tag: "Upsert", id, profile }]] as const
        })
      ).pipe(
        Effect.catchAll((error) =>
          Effect.sync(() => {
            // Which step failed, when it was taking the lock: `lock-ENOENT` is a lock directory that vanished while
            // being taken, i.e. another process took the same stale lock over at the same moment.
            const code = /taking the lock .* failed: (E[A-Z]+)/.exec(error.detail ?? "")?.[1]
            say(`E ${error.reason}${code !== undefined ? `:lock-${code}` : ""}`)
            process.stderr.write(`${error.message}\n`)
          }).pipe(Effect.as(undefined))
        )
      )
      if (written !== undefined) say(`W ${written}`)
      if (maxGap > 0) yield* Effect.sleep(Math.floor(Math.random() * maxGap))
    }
  }).pipe(Effect.provide(Layer.mergeAll(
    NodeContext.layer,
    // The hardened file access and the cross-process lock, as NodeChutes.layerPlatform wires them: the crash drill runs
    // the real write path.
    NodePrivateFiles.layer,
    NodeFileLock.layer,
    Logger.replace(Logger.defaultLogger, logger)
  )))

// Only as a script: the test imports storeKey/parseKey from this module too.
if (process.argv[1] !== undefined && /storeWriter\.(ts|mjs)$/.test(process.argv[1])) {
  const [storePath = "", writer = "0", padChars = "0", maxGap = "0"] = process.argv.slice(2)
  Effect.runPromise(main(storePath, Number(writer), Number(padChars), Number(maxGap))).catch((error: unknown) => {
    process.stderr.write(`writer failed: ${String(error)}\n`)
    process.exit(1)
  })
}
