/**
 * Crash safety of the auth profile store (issue 5, item 2): writer processes update a store in a loop and are
 * SIGKILLed at random moments, at least 200 times in all. After every kill, read without the lock while the other
 * writers go on:
 * - the file parses and decodes, and what is not a writer's profile is carried along untouched;
 * - each writer's counter holds a value that writer wrote — for the victim the acknowledged one or the one it was
 *   writing (old or new), never a torn one, and no acknowledged write is ever lost (also checked by every writer: under
 *   the lock it must read its own last value);
 * - the file is 0600, and so is every temp file;
 * - a temp file left by a dead writer is gone as soon as any writer has taken the lock after its death;
 * - a lock left by a killed holder is taken over (stale after 2 s, proper-lockfile's minimum).
 * At the end every writer is killed, and one more modify per store must get through and leave no temp file or lock.
 *
 * Kills that land inside `modify` leave a stale lock, which stalls that store for the stale time; so there are 4
 * independent stores with 2 writers each (kills go on in the others meanwhile), and the share of kills aimed at a
 * writer inside `modify` is set (30 %) rather than left to chance. Which writer, and the moment, are random; a writer
 * is killed only once it has written in its current life, so kills interleave with progress.
 *
 * The writers (test/support/storeWriter.ts) are bundled once with esbuild: a bundled writer starts in ~0.15 s of CPU,
 * where `node --import tsx` takes ~1 s, which would make 200 respawns cost minutes.
 *
 * It prints one JSON line of figures (kills, writes, stale locks recovered, …) for docs/reliability-figures.md.
 * `CRASH_KILLS` sets the number of kills, for a longer soak.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AuthProfileStore from "../src/AuthProfileStore.js"
import { parseKey, profileId, storeKey } from "./support/storeWriter.js"
import { bundleForNode } from "./support/bundle.js"
import { portableFiles } from "./support/nodeFiles.js"

const KILLS = Number(process.env["CRASH_KILLS"] ?? 200)
/** Independent stores, each with its own writers: a stale lock stalls one store for 2 s, not the whole test. */
const STORES = 4
const WRITERS = 2
/** Characters of padding per key (a store is ~WRITERS × 64 KB), so that a kill can land in the middle of a write. */
const PAD = 64_000
/** Writers idle up to this long between writes, so kills land while idle and while waiting, too. */
const MAX_GAP_MILLIS = 100
/** The share of kills aimed at a writer inside `modify` (holding the lock, maybe in the middle of the write). */
const HOLDING_SHARE = 0.3
/** Random pause between kills. */
const KILL_EVERY_MILLIS: readonly [number, number] = [20, 100]

const FILE = AuthProfileStore.FILE_NAME
const TEMP_PREFIX = `${FILE}.tmp-`

/** What the writers must carry along untouched: another provider, a profile of ours, unknown top-level keys. */
const others = {
  "openai:default": { type: "api_key", provider: "openai", key: "sk-openai-0123456789abcdef", note: "kept" },
  "chutes:keep": { type: "api_key", provider: "chutes", key: "cpk_keep_0123456789abcdef" }
}
const initial = { version: 1, profiles: others, order: { chutes: ["chutes:keep"] }, lastGood: { openai: "x" } }

let scratch = ""
let writerScript = ""

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "chutes-crash-"))
  writerScript = join(scratch, "storeWriter.mjs")
  await bundleForNode(new URL("./support/storeWriter.ts", import.meta.url), writerScript)
}, 60_000)

afterAll(() => {
  if (scratch !== "") rmSync(scratch, { recursive: true, force: true })
})

/** One store with its writers. Stores are independent, so a stale lock stalls one of them while kills go on. */
interface Shard {
  readonly index: number
  readonly dir: string
  readonly storePath: string
  readonly slots: Array<Slot>
  /** The newest `L` timestamp seen: every leftover of a writer dead before it must have been cleaned by then. */
  lastLockedAt: number
  /** Stale locks left by killed holders (when they died), until someone takes the lock. */
  pendingStale: Array<number>
}

/** One writer: respawned after every kill, with the counter it has acknowledged so far. */
interface Slot {
  readonly shard: Shard
  readonly index: number
  child: ChildProcess | undefined
  pid: number
  spawnedAt: number
  /** `W` lines in this life: a writer is killed only once it has written, so that kills interleave with progress. */
  lifeWrites: number
  /** The seq announced by `L` and not yet acknowledged by `W`: the write in flight. */
  inside: number | undefined
  /** A seq announced by `L` whose `modify` then failed: it may or may not be on disk. */
  doubt: number | undefined
  /** The highest seq known to be on disk (acknowledged, or seen on disk after the writer died). */
  written: number
  closed: Promise<void>
}

interface Figures {
  stores: number
  writersPerStore: number
  kills: number
  killsHoldingLock: number
  killsMidWrite: number
  staleLocksLeft: number
  staleLocksRecovered: number
  maxLockRecoveryMillis: number
  writesCompleted: number
  writerErrors: Record<string, number>
  /** Log lines of the writers by level: a WARN is a lock lost while modifying (changes re-applied). */
  writerLogs: Record<string, number>
  /** Their distinct texts, the store's directory replaced by `<dir>`. */
  writerLogTexts: Array<string>
  checks: number
  maxTempFilesAtOnce: number
  maxLeftoverLifeMillis: number
  finalModifyMillis: number
  medianSpawnToFirstWriteMillis: number
  durationMillis: number
}

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

const run = async (root: string): Promise<Figures> => {
  const started = Date.now()
  const problems: Array<string> = []
  const problem = (text: string): void => {
    problems.push(text)
  }
  const figures: Figures = {
    stores: STORES,
    writersPerStore: WRITERS,
    kills: 0,
    killsHoldingLock: 0,
    killsMidWrite: 0,
    staleLocksLeft: 0,
    staleLocksRecovered: 0,
    maxLockRecoveryMillis: 0,
    writesCompleted: 0,
    writerErrors: {},
    writerLogs: {},
    writerLogTexts: [],
    checks: 0,
    maxTempFilesAtOnce: 0,
    maxLeftoverLifeMillis: 0,
    finalModifyMillis: 0,
    medianSpawnToFirstWriteMillis: 0,
    durationMillis: 0
  }
  /** When each writer pid exited (absent while it runs). */
  const deadAt = new Map<number, number>()
  const knownPids = new Set<number>()
  /** How long each writer life took from spawn to its first write (startup, then waiting for the lock). */
  const firstWriteAfter: Array<number> = []

  const onLine = (slot: Slot, line: string): void => {
    const shard = slot.shard
    const [kind, a, b] = line.split(" ")
    if (kind === "L") {
      const seq = Number(a)
      const at = Number(b)
      // Under the lock the writer re-reads its counter: anything but the next value means a lost update.
      const expected = slot.doubt !== undefined ? [slot.written + 1, slot.doubt + 1] : [slot.written + 1]
      if (!expected.includes(seq)) problem(`s${shard.index}w${slot.index} locked to write ${seq}, expected ${expected}`)
      slot.written = seq - 1
      slot.doubt = undefined
      slot.inside = seq
      shard.lastLockedAt = Math.max(shard.lastLockedAt, at)
      for (const diedAt of shard.pendingStale.filter((diedAt) => diedAt < at)) {
        figures.staleLocksRecovered += 1
        figures.maxLockRecoveryMillis = Math.max(figures.maxLockRecoveryMillis, at - diedAt)
      }
      shard.pendingStale = shard.pendingStale.filter((diedAt) => diedAt >= at)
    } else if (kind === "W") {
      const seq = Number(a)
      if (seq !== slot.inside) problem(`s${shard.index}w${slot.index} acknowledged ${seq} while writing ${slot.inside}`)
      slot.written = seq
      slot.inside = undefined
      slot.lifeWrites += 1
      if (slot.lifeWrites === 1) firstWriteAfter.push(Date.now() - slot.spawnedAt)
      figures.writesCompleted += 1
    } else if (kind === "E") {
      const reason = a ?? "?"
      figures.writerErrors[reason] = (figures.writerErrors[reason] ?? 0) + 1
      if (slot.inside !== undefined) slot.doubt = slot.inside
      slot.inside = undefined
    } else if (kind === "G") {
      const level = a ?? "?"
      figures.writerLogs[level] = (figures.writerLogs[level] ?? 0) + 1
    } else if (kind !== "R") {
      problem(`s${shard.index}w${slot.index} printed ${JSON.stringify(line)}`)
    }
  }

  const spawnWriter = (slot: Slot): void => {
    const child = spawn(
      process.execPath,
      [writerScript, slot.shard.storePath, String(slot.index), String(PAD), String(MAX_GAP_MILLIS)],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    const pid = child.pid
    if (pid === undefined) throw new Error("spawning a writer failed")
    slot.child = child
    slot.pid = pid
    slot.lifeWrites = 0
    slot.spawnedAt = Date.now()
    slot.inside = undefined
    knownPids.add(pid)
    // A reused pid is alive again.
    deadAt.delete(pid)
    let pending = ""
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      pending += chunk
      const lines = pending.split("\n")
      pending = lines.pop() ?? ""
      for (const line of lines) onLine(slot, line)
    })
    let stderr = ""
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    slot.closed = new Promise((resolve) => {
      child.once("close", (code, signal) => {
        deadAt.set(pid, Date.now())
        for (const text of stderr.split("\n")) {
          const clean = text.split(slot.shard.dir).join("<dir>").trim()
          if (clean !== "" && !figures.writerLogTexts.includes(clean)) figures.writerLogTexts.push(clean)
        }
        if (signal !== "SIGKILL") problem(`a writer exited by itself (${code}, ${signal}): ${stderr.slice(0, 500)}`)
        resolve()
      })
    })
  }

  /**
   * The invariants of one store, checked with plain reads while its other writers keep going (no lock: a reader
   * must see a whole file). `dead`: writers that are not running, whose counter must be the acknowledged one or the
   * one in flight.
   */
  const check = (shard: Shard, dead: ReadonlySet<Slot>): void => {
    figures.checks += 1
    const text = readFileSync(shard.storePath, "utf8")
    const decoded = AuthProfileStore.decode(text, shard.storePath)
    if (Either.isLeft(decoded)) return problem(`the store does not decode: ${decoded.left.message}`)
    const document = JSON.parse(text) as Record<string, unknown>
    const profiles = document["profiles"] as Record<string, unknown>
    const kept = Object.fromEntries(Object.keys(others).map((id) => [id, profiles[id]]))
    assert.deepStrictEqual(
      { order: document["order"], lastGood: document["lastGood"], ...kept },
      { order: initial.order, lastGood: initial.lastGood, ...others },
      "other entries are carried along untouched"
    )
    const mode = statSync(shard.storePath).mode & 0o777
    if (mode !== 0o600) problem(`the store is ${mode.toString(8)}`)
    for (const slot of shard.slots) {
      const name = `s${shard.index}w${slot.index}`
      const entry = decoded.right.profiles.get(profileId(slot.index))
      const key = entry === undefined ? undefined : entry.type === "api_key" ? entry.key : "not an api_key profile"
      const parsed = key === undefined ? { writer: slot.index, seq: 0 } : parseKey(key)
      if (parsed === undefined || parsed.writer !== slot.index) {
        problem(`${name}'s profile is not one it wrote`)
        continue
      }
      if (key !== undefined && key !== storeKey(slot.index, parsed.seq, PAD)) problem(`${name}'s key is torn`)
      if (parsed.seq < slot.written) problem(`${name}: acknowledged ${slot.written}, on disk ${parsed.seq}`)
      if (dead.has(slot)) {
        const allowed = [slot.written, slot.inside, slot.doubt].filter((seq) => seq !== undefined)
        if (!allowed.includes(parsed.seq)) problem(`${name} died with ${parsed.seq} on disk, not ${allowed}`)
        // Settled: a dead writer's profile changes no more, and its next life starts from what is on disk.
        slot.written = parsed.seq
        slot.inside = undefined
        slot.doubt = undefined
      }
    }
    let temps = 0
    const now = Date.now()
    for (const name of readdirSync(shard.dir)) {
      if (name === FILE || name === `${FILE}.lock`) continue
      if (!name.startsWith(TEMP_PREFIX)) {
        problem(`unexpected file ${name}`)
        continue
      }
      temps += 1
      const pid = Number(/^(\d+)-/.exec(name.slice(TEMP_PREFIX.length))?.[1])
      if (!knownPids.has(pid)) problem(`temp file ${name} of an unknown process`)
      try {
        const tempMode = statSync(join(shard.dir, name)).mode & 0o777
        if ((tempMode & 0o077) !== 0) problem(`temp file ${name} is ${tempMode.toString(8)}`)
      } catch {
        // renamed or removed since the listing
      }
      const died = deadAt.get(pid)
      if (died !== undefined) {
        figures.maxLeftoverLifeMillis = Math.max(figures.maxLeftoverLifeMillis, now - died)
        // Every modify cleans leftovers of dead writers right after taking the lock, before it announces `L`.
        if (shard.lastLockedAt > died + 1) problem(`leftover ${name} survived a lock taken after its writer died`)
      }
    }
    figures.maxTempFilesAtOnce = Math.max(figures.maxTempFilesAtOnce, temps)
  }

  const shards: Array<Shard> = Array.from({ length: STORES }, (_, index) => {
    const dir = join(root, `store-${index}`)
    mkdirSync(dir, { mode: 0o700 })
    const storePath = join(dir, FILE)
    writeFileSync(storePath, `${JSON.stringify(initial, null, 2)}\n`, { mode: 0o600 })
    const shard: Shard = { index, dir, storePath, slots: [], lastLockedAt: 0, pendingStale: [] }
    for (let i = 0; i < WRITERS; i++) {
      shard.slots.push({
        shard,
        index: i,
        child: undefined,
        pid: 0,
        spawnedAt: 0,
        lifeWrites: 0,
        inside: undefined,
        doubt: undefined,
        written: 0,
        closed: Promise.resolve()
      })
    }
    return shard
  })
  const everyone = shards.flatMap((shard) => shard.slots)
  for (const slot of everyone) spawnWriter(slot)

  try {
    while (figures.kills < KILLS && problems.length === 0) {
      const [low, high] = KILL_EVERY_MILLIS
      await sleep(low + Math.random() * (high - low))
      const eligible = everyone.filter((slot) => slot.lifeWrites > 0)
      // Each kill that lands inside `modify` stalls its store for the stale time, so their share is chosen, not left
      // to chance: a few target writers that hold the lock, the rest writers that do not (idle, waiting for the lock,
      // or about to take it). Which one, and when, is random.
      const holding = eligible.filter((slot) => slot.inside !== undefined)
      const pool = Math.random() < HOLDING_SHARE
        ? holding
        : eligible.filter((slot) => slot.inside === undefined)
      const victim = pool[Math.floor(Math.random() * pool.length)]
      if (victim === undefined) continue
      const shard = victim.shard
      victim.child?.kill("SIGKILL")
      await victim.closed
      const diedAt = Date.now()
      figures.kills += 1
      if (victim.inside !== undefined) {
        figures.killsHoldingLock += 1
        // Killed between taking the lock and releasing it: the lock stays until it is stale.
        if (existsSync(`${shard.storePath}.lock`)) {
          figures.staleLocksLeft += 1
          shard.pendingStale.push(diedAt)
        }
      }
      const leftover = `${TEMP_PREFIX}${victim.pid}-`
      if (readdirSync(shard.dir).some((name) => name.startsWith(leftover))) figures.killsMidWrite += 1
      check(shard, new Set([victim]))
      spawnWriter(victim)
    }
  } finally {
    for (const slot of everyone) slot.child?.kill("SIGKILL")
    await Promise.all(everyone.map((slot) => slot.closed))
  }
  assert.deepStrictEqual(problems, [])

  // Everyone is dead, maybe holding a lock and leaving a temp file: one more modify per store must get through, and
  // clean up.
  const before = Date.now()
  for (const shard of shards) {
    check(shard, new Set(shard.slots))
    const store = await Effect.runPromise(
      AuthProfileStore.makeFile(shard.storePath, { lockStale: "2 seconds" }).pipe(Effect.provide(portableFiles))
    )
    await Effect.runPromise(store.upsert("chutes:final", finalProfile))
    figures.staleLocksRecovered += shard.pendingStale.length
    shard.pendingStale = []
    assert.deepStrictEqual(readdirSync(shard.dir), [FILE], "no temp file and no lock left")
    shard.lastLockedAt = Date.now()
    check(shard, new Set(shard.slots))
    const final = JSON.parse(readFileSync(shard.storePath, "utf8")) as { profiles: Record<string, unknown> }
    assert.deepStrictEqual(final.profiles["chutes:final"], finalProfile)
  }
  figures.finalModifyMillis = Date.now() - before
  assert.deepStrictEqual(problems, [])
  figures.durationMillis = Date.now() - started
  const sorted = [...firstWriteAfter].sort((x, y) => x - y)
  figures.medianSpawnToFirstWriteMillis = sorted[Math.floor(sorted.length / 2)] ?? 0
  return figures
}

const finalProfile: AuthProfileStore.ApiKeyProfile = { type: "api_key", provider: "chutes", key: "cpk_final_0001" }

describe("crash safety", () => {
  const title = `${STORES} stores × ${WRITERS} writers, ${KILLS} SIGKILLs: every store stays whole and 0600, locks ` +
    `and temp files are recovered`
  it.live(title, () =>
    Effect.gen(function*() {
      const root = mkdtempSync(join(tmpdir(), "chutes-crash-stores-"))
      const figures = yield* Effect.promise(() => run(root))
      rmSync(root, { recursive: true, force: true })
      process.stdout.write(`crash figures: ${JSON.stringify(figures)}\n`)
      assert.isAtLeast(figures.kills, KILLS)
      // The schedule must have hit the interesting moments, or the test proves little.
      assert.isAbove(figures.killsHoldingLock, 0, "some kills landed while a writer held the lock")
      assert.isAbove(figures.staleLocksLeft, 0, "some kills left a stale lock")
      assert.strictEqual(figures.staleLocksRecovered, figures.staleLocksLeft)
      assert.isAbove(figures.writesCompleted, KILLS, "the writers made progress between kills")
      // A writer may give up on the lock (`Locked`) after waiting through a chain of killed holders; nothing was
      // written then, which the checks above verified. Nothing else may fail.
      for (const reason of Object.keys(figures.writerErrors)) assert.oneOf(reason, ["Locked"])
    }), { timeout: Math.max(240_000, KILLS * 1000) })
})
