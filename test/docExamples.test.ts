/**
 * The public API's documentation, checked with the TypeScript API over the public modules of every entry
 * (`src/*.ts`, `src/node/*.ts`, `src/testing/FakeChutes.ts`, `src/ai/*.ts`; not `internal/` or `cli/`):
 * - every `export` has a JSDoc comment;
 * - the `@example` blocks type-check, as a user's file would: each block is a module of its own, importing
 *   `effect-chutes/*` by name (the repository's tsconfig `paths` point those at the sources), compiled with the
 *   repository's compiler options;
 * - the main exports of each entry have one.
 */
import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = fileURLToPath(new URL("..", import.meta.url))

const tsFiles = (dir: string): Array<string> =>
  readdirSync(join(root, dir)).filter((name) => name.endsWith(".ts")).sort().map((name) => `${dir}/${name}`)

/** The public modules, relative to the repository: every entry's modules and its barrel. */
const MODULES = [...tsFiles("src"), ...tsFiles("src/node"), "src/testing/FakeChutes.ts", "src/testing/index.ts", ...tsFiles("src/ai")]

/** The exports that must show an `@example` (a module named with `*`: any of its exports). */
const REQUIRED: ReadonlyArray<readonly [module: string, exports: ReadonlyArray<string>]> = [
  ["src/ChutesProvider.ts", ["ChutesProvider", "layer"]],
  ["src/node/NodeChutes.ts", ["layer"]],
  ["src/ModelRef.ts", ["parse", "resolve"]],
  ["src/testing/FakeChutes.ts", ["layer", "make"]],
  ["src/ai/ChutesLanguageModel.ts", ["*"]],
  ["src/ai/ChutesAiError.ts", ["*"]]
]

interface Exported {
  readonly names: ReadonlyArray<string>
  readonly line: number
  /** The JSDoc comments right before the statement, `/**` included. */
  readonly docs: ReadonlyArray<string>
}

const isExported = (statement: ts.Statement): boolean =>
  ts.isExportDeclaration(statement) || ts.isExportAssignment(statement) ||
  (ts.canHaveModifiers(statement) &&
    (ts.getModifiers(statement) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword))

const namesOf = (statement: ts.Statement): Array<string> => {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.map((declaration) => declaration.name.getText())
  }
  if (ts.isExportDeclaration(statement)) {
    const clause = statement.exportClause
    if (clause === undefined) return ["*"]
    return ts.isNamespaceExport(clause) ? [clause.name.text] : clause.elements.map((element) => element.name.text)
  }
  const name = (statement as { readonly name?: ts.Node }).name
  return [name !== undefined ? name.getText() : "default"]
}

/** The top-level exports of a module, each with the JSDoc comments before it. */
const exportsOf = (file: string): Array<Exported> => {
  const text = readFileSync(join(root, file), "utf8")
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  return source.statements.filter(isExported).map((statement) => ({
    names: namesOf(statement),
    line: source.getLineAndCharacterOfPosition(statement.getStart()).line + 1,
    docs: (ts.getLeadingCommentRanges(text, statement.getFullStart()) ?? [])
      .map((range) => text.slice(range.pos, range.end))
      .filter((comment) => comment.startsWith("/**"))
  }))
}

/** The ```ts blocks after `@example` tags in a JSDoc comment. */
const examplesIn = (comment: string): Array<string> => {
  const text = comment.split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n")
  return Array.from(text.matchAll(/@example\s*\n```ts\n([\s\S]*?)\n```/g), (match) => match[1]!)
}

/** The examples of every JSDoc comment of a module: its own, its exports', their members'. */
const examplesOf = (file: string): Array<string> =>
  (readFileSync(join(root, file), "utf8").match(/\/\*\*[\s\S]*?\*\//g) ?? []).flatMap(examplesIn)

describe("the public modules' documentation", () => {
  it("covers every public module of every entry", () => {
    for (const file of ["src/ModelRef.ts", "src/node/NodeChutes.ts", "src/ai/ChutesLanguageModel.ts", "src/index.ts"]) {
      assert.include(MODULES, file)
    }
    assert.isFalse(MODULES.some((file) => file.includes("/internal/") || file.includes("/cli/")))
  })

  it("every export has a JSDoc comment", () => {
    const missing = MODULES.flatMap((file) =>
      exportsOf(file).filter((exported) => exported.docs.length === 0).map((exported) =>
        `${file}:${exported.line}: ${exported.names.join(", ")}`
      )
    )
    assert.deepStrictEqual(missing, [])
  })

  it("the main exports of each entry have an @example", () => {
    for (const [file, names] of REQUIRED) {
      const exported = exportsOf(file)
      for (const name of names) {
        const found = name === "*"
          ? examplesOf(file).length
          : exported.filter((e) => e.names.includes(name) && e.docs.some((doc) => examplesIn(doc).length > 0)).length
        assert.isAbove(found, 0, `${file}: ${name} has an @example`)
      }
    }
  })

  it("every @example type-checks", { timeout: 120_000 }, () => {
    const files = new Map<string, string>()
    for (const file of MODULES) {
      examplesOf(file).forEach((code, i) => {
        // Next to the tests, so that `effect-chutes/*` and the dependencies resolve as they do for the repository.
        const name = file.replace(/^src\//, "").replace(/\.ts$/, "").replaceAll("/", "_")
        files.set(join(root, "test", `__example_${name}_${i}.ts`), `${code}\nexport {}\n`)
      })
    }
    assert.isAbove(files.size, REQUIRED.length)
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
