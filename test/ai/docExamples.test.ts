/**
 * The `@example` blocks in the JSDoc of `effect-chutes/ai`'s public modules type-check, as a user's file would: each
 * block is a module of its own, importing `effect-chutes/*` by name (the repository's tsconfig `paths` point those at
 * the sources), compiled with the repository's compiler options.
 */
import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = fileURLToPath(new URL("../..", import.meta.url))
const MODULES = readdirSync(join(root, "src", "ai")).filter((name) => name.endsWith(".ts") && name !== "index.ts")

/** The ```ts blocks after `@example` tags in the JSDoc comments of `source`. */
const examplesOf = (source: string): Array<string> => {
  const out: Array<string> = []
  for (const comment of source.match(/\/\*\*[\s\S]*?\*\//g) ?? []) {
    const lines = comment.split("\n").map((line) => line.replace(/^\s*\* ?/, ""))
    const text = lines.join("\n")
    for (const match of text.matchAll(/@example\s*\n```ts\n([\s\S]*?)\n```/g)) out.push(match[1]!)
  }
  return out
}

describe("JSDoc examples of effect-chutes/ai", () => {
  it("the public modules have some, and every one type-checks", { timeout: 120_000 }, () => {
    const files = new Map<string, string>()
    for (const name of MODULES) {
      examplesOf(readFileSync(join(root, "src", "ai", name), "utf8")).forEach((code, i) => {
        // Next to the tests, so that `effect-chutes/*` and the dependencies resolve as they do for the repository.
        files.set(join(root, "test", "ai", `__example_${name.replace(/\.ts$/, "")}_${i}.ts`), `${code}\nexport {}\n`)
      })
    }
    for (const name of ["ChutesAiError", "ChutesLanguageModel"]) {
      assert.isTrue([...files.keys()].some((file) => file.includes(`__example_${name}_`)), `${name} has an @example`)
    }
    const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => assert.fail(String(diagnostic.messageText))
    })
    assert.isDefined(config)
    // Unused declarations are what examples are made of.
    const options = { ...config!.options, noUnusedLocals: false, noEmit: true }
    const host = ts.createCompilerHost(options)
    const readFile = host.readFile
    const fileExists = host.fileExists
    host.readFile = (file) => files.get(file) ?? readFile.call(host, file)
    host.fileExists = (file) => files.has(file) || fileExists.call(host, file)
    const program = ts.createProgram([...files.keys()], options, host)
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file !== undefined && files.has(diagnostic.file.fileName))
      .map((diagnostic) => {
        const where = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
        const file = diagnostic.file!.fileName.slice(root.length)
        return `${file}:${where.line + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`
      })
    assert.deepStrictEqual(problems, [])
  })
})
