/**
 * The hardened file access: the pure rules, then the Node implementation and the portable one over `FileSystem`
 * against real files, modes, owners, symbolic links, a FIFO and `/dev/zero`. Tests run as root in CI: mode and owner
 * checks work there (root can `chown` a directory to another uid); the few that need a non-root user say so and skip.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { execFileSync } from "node:child_process"
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeChutes from "../src/node/NodeChutes.js"
import * as NodePrivateFiles from "../src/node/NodePrivateFiles.js"
import * as PrivateFiles from "../src/PrivateFiles.js"

const isRoot = process.getuid?.() === 0
const me = process.getuid?.() ?? 0
const OTHER_UID = 65534

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "chutes-private-"))
  chmodSync(dir, 0o700)
  return dir
}
const mode = (path: string): number => statSync(path).mode & 0o777

const portable = Effect.map(FileSystem.FileSystem, (fs) => PrivateFiles.makeFileSystem(fs)).pipe(
  Effect.provide(NodeFileSystem.layer)
)
const implementations: ReadonlyArray<readonly [string, Effect.Effect<PrivateFiles.Service>]> = [
  ["Node", Effect.sync(() => NodePrivateFiles.make())],
  ["portable (FileSystem)", portable]
]

const refusal = (error: unknown, reason: PrivateFiles.PrivateFileError["reason"]): PrivateFiles.PrivateFileError => {
  assert.instanceOf(error, PrivateFiles.PrivateFileError)
  if (!(error instanceof PrivateFiles.PrivateFileError)) throw error
  assert.strictEqual(error.reason, reason, error.message)
  return error
}

describe("the rules (pure)", () => {
  const posix: PrivateFiles.Identity = { posix: true, uid: 1000 }
  const file = (m: number, uid = 1000): PrivateFiles.Subject => ({ type: "File", mode: m, uid })
  const dir = (m: number, uid = 1000): PrivateFiles.Subject => ({ type: "Directory", mode: m, uid })
  const verdict = (subject: PrivateFiles.Subject, kind: "file" | "directory", policy: PrivateFiles.Policy = {}) =>
    Option.map(PrivateFiles.check("/s/x", kind, subject, posix, policy), (e) => e.detail)

  it("own and root-owned, private or read-only for others: accepted", () => {
    for (const m of [0o700, 0o755, 0o750, 0o500]) assert.isTrue(Option.isNone(verdict(dir(m), "directory")))
    for (const m of [0o600, 0o644, 0o400]) assert.isTrue(Option.isNone(verdict(file(m), "file")))
    assert.isTrue(Option.isNone(verdict(dir(0o755, 0), "directory")), "root's")
  })

  it("world-writable: refused, with the chmod that fixes it, even with the group opt-in", () => {
    const d = Option.getOrThrow(verdict(dir(0o777), "directory", { allowGroupWritable: true }))
    assert.include(d, "world-writable (mode 0777)")
    assert.include(d, "chmod 700 /s/x")
    assert.include(Option.getOrThrow(verdict(file(0o666), "file")), "chmod 600 /s/x")
    assert.isTrue(Option.isSome(verdict(dir(0o1777), "directory")), "the sticky bit does not make it private")
  })

  it("group-writable: refused with the fix and the opt-in; accepted with the opt-in", () => {
    const d = Option.getOrThrow(verdict(dir(0o770), "directory"))
    assert.include(d, "group-writable (mode 0770)")
    assert.include(d, "chmod 700 /s/x")
    assert.include(d, "CHUTES_ALLOW_GROUP_WRITABLE=1")
    assert.include(d, "allowGroupWritable")
    assert.isTrue(Option.isNone(verdict(dir(0o2770), "directory", { allowGroupWritable: true })), "fsGroup volume")
    assert.isTrue(Option.isNone(verdict(file(0o660), "file", { allowGroupWritable: true })))
  })

  it("owned by another user: refused, whatever the mode", () => {
    const d = Option.getOrThrow(verdict(dir(0o700, 4242), "directory"))
    assert.include(d, "owned by uid 4242, not by you (uid 1000) or root")
    assert.include(d, "CHUTES_STATE_DIR")
  })

  it("the wrong type: refused; a symbolic link is not followed", () => {
    assert.include(Option.getOrThrow(verdict({ type: "FIFO", mode: 0o600, uid: 1000 }, "file")), "FIFO")
    assert.include(Option.getOrThrow(verdict({ type: "CharacterDevice", mode: 0o666, uid: 0 }, "file")), "character device")
    assert.include(Option.getOrThrow(verdict({ type: "SymbolicLink", mode: 0o777, uid: 1000 }, "file")), "symbolic link")
    assert.include(Option.getOrThrow(verdict(file(0o600), "directory")), "not a directory")
  })

  it("Windows (no POSIX identity): only the type is checked", () => {
    const windows: PrivateFiles.Identity = { posix: false, uid: undefined }
    assert.isTrue(Option.isNone(PrivateFiles.check("C:\\s", "directory", dir(0o777, 9), windows)))
    assert.isTrue(Option.isSome(PrivateFiles.check("C:\\s", "file", dir(0o600), windows)))
  })

  it("paths in a fix are quoted for a shell", () => {
    assert.strictEqual(PrivateFiles.shellQuote("/home/a/.config/effect-chutes"), "/home/a/.config/effect-chutes")
    assert.strictEqual(PrivateFiles.shellQuote("/tmp/my dir/it's"), `'/tmp/my dir/it'\\''s'`)
    assert.strictEqual(PrivateFiles.parentOf("/a/b/c.json"), "/a/b")
    assert.strictEqual(PrivateFiles.parentOf("/c.json"), "/")
    assert.strictEqual(PrivateFiles.parentOf("C:\\a\\c.json"), "C:\\a")
    assert.strictEqual(PrivateFiles.parentOf("C:\\c.json"), "C:\\")
    assert.strictEqual(PrivateFiles.parentOf("c.json"), ".")
  })
})

for (const [name, implementation] of implementations) {
  describe(`${name}: reading`, () => {
    const read = (path: string, options: Partial<PrivateFiles.ReadOptions> = {}) =>
      Effect.flatMap(implementation, (files) => files.readFile(path, { maxBytes: 1024, ...options }))

    it.effect("a private file is read; a missing file or directory is None", () =>
      Effect.gen(function*() {
        const dir = tempDir()
        writeFileSync(join(dir, "a.json"), "{\"ok\":true}", { mode: 0o600 })
        assert.deepStrictEqual(yield* read(join(dir, "a.json")), Option.some("{\"ok\":true}"))
        assert.isTrue(Option.isNone(yield* read(join(dir, "missing.json"))))
        assert.isTrue(Option.isNone(yield* read(join(dir, "no-such-dir", "a.json"))))
      }))

    it.effect("a world-writable or group-writable directory is refused (group: unless allowed)", () =>
      Effect.gen(function*() {
        const dir = tempDir()
        const path = join(dir, "a.json")
        writeFileSync(path, "{}", { mode: 0o600 })
        chmodSync(dir, 0o777)
        const world = refusal(yield* Effect.flip(read(path)), "Unsafe")
        assert.include(world.message, `chmod 700 ${dir}`)
        chmodSync(dir, 0o770)
        const group = refusal(yield* Effect.flip(read(path)), "Unsafe")
        assert.include(group.message, "CHUTES_ALLOW_GROUP_WRITABLE=1")
        assert.deepStrictEqual(yield* read(path, { allowGroupWritable: true }), Option.some("{}"))
        chmodSync(dir, 0o700)
      }))

    it.effect("a world-writable file is refused; a group-writable one needs the opt-in", () =>
      Effect.gen(function*() {
        const dir = tempDir()
        const path = join(dir, "a.json")
        writeFileSync(path, "{}")
        chmodSync(path, 0o666)
        assert.include(refusal(yield* Effect.flip(read(path)), "Unsafe").message, `chmod 600 ${path}`)
        chmodSync(path, 0o660)
        refusal(yield* Effect.flip(read(path)), "Unsafe")
        assert.deepStrictEqual(yield* read(path, { allowGroupWritable: true }), Option.some("{}"))
      }))

    it.effect.skipIf(!isRoot)("a directory or file owned by another user is refused (needs root to chown)", () =>
      Effect.gen(function*() {
        const dir = tempDir()
        const path = join(dir, "a.json")
        writeFileSync(path, "{}", { mode: 0o600 })
        chownSync(path, OTHER_UID, OTHER_UID)
        assert.include(refusal(yield* Effect.flip(read(path)), "Unsafe").message, `owned by uid ${OTHER_UID}`)
        chownSync(path, me, me)
        chownSync(dir, OTHER_UID, OTHER_UID)
        const error = refusal(yield* Effect.flip(read(path)), "Unsafe")
        assert.include(error.message, `The directory ${dir} is owned by uid ${OTHER_UID}`)
        // Root's own files are trusted (a root-provisioned config).
        chownSync(dir, 0, 0)
        assert.deepStrictEqual(yield* read(path), Option.some("{}"))
      }))

    it.effect("a symbolic link is refused, not followed — to a private file or to /dev/zero", () =>
      Effect.gen(function*() {
        const dir = tempDir()
        writeFileSync(join(dir, "real.json"), "{}", { mode: 0o600 })
        symlinkSync(join(dir, "real.json"), join(dir, "link.json"))
        symlinkSync("/dev/zero", join(dir, "zero.json"))
        symlinkSync(join(dir, "nowhere"), join(dir, "dangling.json"))
        for (const link of ["link.json", "zero.json", "dangling.json"]) {
          const error = refusal(yield* Effect.flip(read(join(dir, link))), "Unsafe")
          assert.include(error.message, "symbolic link")
          assert.include(error.message, "not followed")
        }
      }))

    it.effect("a FIFO is refused at once instead of hanging the read", () =>
      Effect.gen(function*() {
        const dir = tempDir()
        const fifo = join(dir, "a.json")
        execFileSync("mkfifo", ["-m", "600", fifo])
        const started = Date.now()
        const error = yield* Effect.flip(read(fifo)).pipe(Effect.timeout("5 seconds"))
        assert.include(refusal(error, "Unsafe").message, "FIFO")
        assert.isBelow(Date.now() - started, 1000)
      }), 10_000)

    it.effect("a file over the cap is TooLarge and not read into memory; a directory in its place is Unsafe", () =>
      Effect.gen(function*() {
        const dir = tempDir()
        writeFileSync(join(dir, "big.json"), "x".repeat(1025), { mode: 0o600 })
        writeFileSync(join(dir, "exact.json"), "x".repeat(1024), { mode: 0o600 })
        assert.include(refusal(yield* Effect.flip(read(join(dir, "big.json"))), "TooLarge").message, "1 KiB")
        assert.strictEqual(Option.getOrThrow(yield* read(join(dir, "exact.json"))).length, 1024)
        mkdirSync(join(dir, "sub.json"))
        assert.include(refusal(yield* Effect.flip(read(join(dir, "sub.json"))), "Unsafe").message, "a directory")
      }))
  })

  describe(`${name}: writing`, () => {
    it.effect("a missing directory is created 0700 (parents too); a file is written 0600 even under umask 0 and 0277", () =>
      Effect.gen(function*() {
        const files = yield* implementation
        const root = tempDir()
        const dir = join(root, "a", "b")
        yield* files.ensureDirectory(dir)
        assert.strictEqual(mode(dir), 0o700)
        assert.strictEqual(mode(join(root, "a")), 0o700)
        for (const umask of [0o000, 0o277]) {
          const previous = process.umask(umask)
          try {
            const path = join(dir, `f-${umask}.json`)
            yield* files.writeFileAtomic(path, "{\"v\":1}")
            assert.strictEqual(mode(path), 0o600, `umask ${umask.toString(8)}`)
            assert.strictEqual(readFileSync(path, "utf8"), "{\"v\":1}")
            const fresh = join(root, `made-under-${umask}`)
            yield* files.ensureDirectory(fresh)
            assert.strictEqual(mode(fresh), 0o700, `umask ${umask.toString(8)}`)
          } finally {
            process.umask(previous)
          }
        }
        assert.deepStrictEqual(readdirSync(dir).sort(), ["f-0.json", "f-191.json"], "no temp file left")
      }))

    it.effect("writing into an unsafe directory is refused and writes nothing", () =>
      Effect.gen(function*() {
        const files = yield* implementation
        const dir = tempDir()
        chmodSync(dir, 0o777)
        const error = refusal(yield* Effect.flip(files.writeFileAtomic(join(dir, "a.json"), "{}")), "Unsafe")
        assert.include(error.message, `chmod 700 ${dir}`)
        assert.deepStrictEqual(readdirSync(dir), [])
        refusal(yield* Effect.flip(files.ensureDirectory(dir)), "Unsafe")
        yield* files.ensureDirectory(dir, { allowGroupWritable: true }).pipe(Effect.flip)
        chmodSync(dir, 0o700)
      }))

    it.effect("a link at the target is replaced, never written through", () =>
      Effect.gen(function*() {
        const files = yield* implementation
        const dir = tempDir()
        const victim = join(tempDir(), "victim.txt")
        writeFileSync(victim, "precious", { mode: 0o644 })
        symlinkSync(victim, join(dir, "a.json"))
        yield* files.writeFileAtomic(join(dir, "a.json"), "{}")
        assert.strictEqual(readFileSync(victim, "utf8"), "precious")
        assert.strictEqual(mode(victim), 0o644)
        assert.isFalse(statSync(join(dir, "a.json")).isSymbolicLink())
      }))

    it.effect("a failing beforeRename leaves the target as it was and no temp file", () =>
      Effect.gen(function*() {
        const files = yield* implementation
        const dir = tempDir()
        const path = join(dir, "a.json")
        writeFileSync(path, "old", { mode: 0o600 })
        const error = yield* Effect.flip(files.writeFileAtomic(path, "new", { beforeRename: Effect.fail("changed" as const) }))
        assert.strictEqual(error, "changed")
        assert.strictEqual(readFileSync(path, "utf8"), "old")
        assert.deepStrictEqual(readdirSync(dir), ["a.json"])
      }))
  })
}

describe("the Node implementation sets the mode on the open file", () => {
  // A FileSystem that records every path-based chmod: the Node implementation never calls one, the portable one
  // (which has no fchmod) does, on its freshly created temp file.
  const recording = (calls: Array<string>) =>
    Layer.effect(
      FileSystem.FileSystem,
      Effect.map(FileSystem.FileSystem, (fs) => ({
        ...fs,
        chmod: (path: string, m: number) => Effect.zipRight(Effect.sync(() => calls.push(path)), fs.chmod(path, m))
      }))
    ).pipe(Layer.provide(NodeFileSystem.layer))

  it.effect("no chmod by path through NodePrivateFiles.layer; the portable layerFileSystem chmods the temp file", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const calls: Array<string> = []
      const files = yield* PrivateFiles.PrivateFiles.pipe(
        Effect.provide(Layer.merge(recording(calls), NodePrivateFiles.layer))
      )
      yield* files.writeFileAtomic(join(dir, "a.json"), "{}")
      assert.deepStrictEqual(calls, [])
      const fallback = yield* PrivateFiles.PrivateFiles.pipe(
        Effect.provide(PrivateFiles.layerFileSystem.pipe(Layer.provide(recording(calls))))
      )
      yield* fallback.writeFileAtomic(join(dir, "b.json"), "{}")
      assert.strictEqual(calls.length, 1)
      assert.match(calls[0] ?? "", /b\.json\.tmp-\d+-[0-9a-f]{12}$/)
    }))

  it.effect("NodeChutes.layerPlatform provides the Node implementation", () =>
    Effect.gen(function*() {
      const found = yield* Effect.serviceOption(PrivateFiles.PrivateFiles)
      assert.isTrue(Option.isSome(found))
    }).pipe(Effect.provide(NodeChutes.layerPlatform)))
})

describe("the memory implementation", () => {
  it.effect("plays the rules over a map of paths", () =>
    Effect.gen(function*() {
      const memory = PrivateFiles.memoryFiles([
        ["/s", { type: "Directory", mode: 0o700, uid: 1000 }],
        ["/s/a.json", { type: "File", mode: 0o600, uid: 1000, content: "{}" }],
        ["/w", { type: "Directory", mode: 0o777, uid: 1000 }],
        ["/w/a.json", { type: "File", mode: 0o600, uid: 1000, content: "{}" }],
        ["/o", { type: "Directory", mode: 0o700, uid: 4242 }]
      ])
      const files = PrivateFiles.makeMemory(memory)
      assert.deepStrictEqual(yield* files.readFile("/s/a.json", { maxBytes: 10 }), Option.some("{}"))
      refusal(yield* Effect.flip(files.readFile("/w/a.json", { maxBytes: 10 })), "Unsafe")
      refusal(yield* Effect.flip(files.writeFileAtomic("/o/a.json", "{}")), "Unsafe")
      refusal(yield* Effect.flip(files.readFile("/s/a.json", { maxBytes: 1 })), "TooLarge")
      yield* files.ensureDirectory("/n/m")
      yield* files.writeFileAtomic("/n/m/b.json", "{\"b\":1}")
      assert.deepStrictEqual(memory.entries.get("/n/m/b.json"), { type: "File", mode: 0o600, uid: 1000, content: "{\"b\":1}" })
      assert.strictEqual(memory.entries.get("/n")?.mode, 0o700)
      assert.isFalse(existsSync("/n/m/b.json"), "nothing on disk")
    }))
})
