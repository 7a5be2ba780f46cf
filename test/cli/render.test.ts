/**
 * The CLI's output helpers without a subprocess: notes said once per fact, how a failure maps to an exit code and a
 * message, `--timeout` values, and help wrapping. The executable itself is tested in cli.test.ts.
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import { CredentialsError, OAuthError, PromptError } from "../../src/ChutesError.js"
import { nonInteractivePrompter } from "../../src/cli/layers.js"
import { parseTimeout } from "../../src/cli/global.js"
import { wrap } from "../../src/cli/help.js"
import { failure, lastFour, notes } from "../../src/cli/render.js"
import { Prompter } from "../../src/OAuthLogin.js"

/** Runs `effect` and returns what it wrote to stderr. */
const stderrOf = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const written: Array<string> = []
      const original = process.stderr.write.bind(process.stderr)
      process.stderr.write = ((chunk: string | Uint8Array) => {
        written.push(String(chunk))
        return true
      }) as typeof process.stderr.write
      return { written, original }
    }),
    ({ written }) => Effect.map(effect, () => written.join("")),
    ({ original }) => Effect.sync(() => void (process.stderr.write = original))
  )

describe("notes", () => {
  it.effect("each fact once per process, as a short note: line", () =>
    Effect.gen(function*() {
      const gone = { message: "Alias \"gone\" points at chutes/nope/Gone-TEE, which is not in the live catalog" }
      const other = { message: "The default model chutes/a/b is not in the live catalog" }
      const first = yield* stderrOf(notes([gone, gone]))
      const second = yield* stderrOf(notes([gone, other]))
      assert.strictEqual(first, `note: ${gone.message}\n`)
      assert.strictEqual(second, `note: ${other.message}\n`)
    }))
})

describe("failure: exit code and message", () => {
  const command = ["effect-chutes", "models", "list"]

  it("a usage error: 2, \"effect-chutes:\" and where --help is", () => {
    const usage = ValidationError.invalidValue(HelpDoc.p("--offline and --refresh exclude each other"))
    const result = failure(Cause.fail(usage), command)
    assert.deepStrictEqual(result, {
      code: 2,
      text: "effect-chutes: --offline and --refresh exclude each other\nSee \"effect-chutes models list --help\".\n"
    })
  })

  it("@effect/cli's words mended: a group's unknown subcommand named against the group, \"an integer\"", () => {
    const top = "Invalid subcommand for effect-chutes - use one of 'onboard', 'models', 'auth', 'account', 'usage'"
    const text = (message: string, path: ReadonlyArray<string>) =>
      failure(Cause.fail(ValidationError.commandMismatch(HelpDoc.p(message))), path).text
    assert.strictEqual(
      text(top, ["effect-chutes", "models"]),
      "effect-chutes: Invalid subcommand for effect-chutes models\nSee \"effect-chutes models --help\".\n"
    )
    assert.strictEqual(text(top, ["effect-chutes"]), `effect-chutes: ${top}\nSee "effect-chutes --help".\n`)
    assert.include(text("'abc' is not a integer", ["effect-chutes", "usage"]), "'abc' is not an integer")
  })

  it("a sign-in that needs a terminal without one: 2 as well", () => {
    const result = failure(Cause.fail(new OAuthError({ reason: "NotInteractive", detail: "no terminal" })), command)
    assert.strictEqual(result.code, 2)
    assert.match(result.text, /^effect-chutes: OAuth requires interactive mode/)
    assert.include(result.text, "effect-chutes models list --help")
  })

  it("a question without an answer (PromptError): 2, naming why; --non-interactive's prompter fails with it", () =>
    Effect.runPromise(Effect.gen(function*() {
      const none = failure(Cause.fail(new PromptError({ reason: "NotInteractive", detail: "no terminal" })), command)
      assert.deepStrictEqual(none, {
        code: 2,
        text: "effect-chutes: No terminal to ask on: no terminal\nSee \"effect-chutes models list --help\".\n"
      })
      const ended = failure(Cause.fail(new PromptError({ reason: "InputEnded" })), command)
      assert.strictEqual(ended.code, 2)
      assert.match(ended.text, /^effect-chutes: The input ended before an answer was given\n/)
      const error = yield* Effect.flip(Effect.flatMap(Prompter, (p) => p.prompt("Choose: ")).pipe(
        Effect.provide(nonInteractivePrompter)
      ))
      assert.strictEqual(error._tag, "PromptError")
      assert.strictEqual(error.reason, "NotInteractive")
      assert.include(error.message, "--non-interactive was given")
    })))

  it("any other failure: 1, one line; an interruption: 130", () => {
    const missing = failure(Cause.fail(new CredentialsError({ reason: "Missing" })), command)
    assert.strictEqual(missing.code, 1)
    assert.match(missing.text, /^effect-chutes: [^\n]+\n$/)
    assert.notInclude(missing.text, "--help")
    assert.strictEqual(failure(Cause.interrupt(FiberId.none), command).code, 130)
  })
})

describe("lastFour", () => {
  it("shows the last four characters of a secret, escaped (a stored token is another tool's text too)", () => {
    assert.strictEqual(lastFour("cpk_0123456789abcdef"), "…cdef")
    assert.strictEqual(lastFour("short"), "****")
    const shown = lastFour("cak_token_0001\u001b[2J\u001bc")
    assert.notInclude(shown, "\u001b")
    assert.strictEqual(shown, "…2J\\u001bc")
  })
})

describe("--timeout values", () => {
  it("units ms, s, m, h; a bare number is seconds; zero and words are refused", () => {
    const millis = (text: string) => {
      const parsed = parseTimeout(text)
      return parsed === undefined ? undefined : Duration.toMillis(parsed.duration)
    }
    assert.deepStrictEqual(
      ["500ms", "30s", "1.5m", "2h", "45", " 10s "].map(millis),
      [500, 30_000, 90_000, 7_200_000, 45_000, 10_000]
    )
    for (const bad of ["0", "0s", "soon", "-5s", "10 minutes", ""]) assert.isUndefined(millis(bad), bad)
    assert.strictEqual(parseTimeout(" 10s ")?.text, "10s")
  })
})

describe("help layout", () => {
  it("wraps words within the width; a longer word stands alone", () => {
    const text = "the state directory holding auth-profiles.json (default: $CHUTES_STATE_DIR, else ~/.config/x)"
    for (const width of [20, 40, 72]) {
      const lines = wrap(text, width)
      assert.strictEqual(lines.join(" "), text)
      for (const line of lines) assert.isTrue(line.length <= width || !line.includes(" "), line)
    }
    assert.deepStrictEqual(wrap("a verylongwordthatdoesnotfit b", 10), ["a", "verylongwordthatdoesnotfit", "b"])
  })
})
