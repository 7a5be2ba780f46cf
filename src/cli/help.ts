/**
 * `--help`, written here rather than by @effect/cli: its renderer colours unconditionally, does not wrap (the commands
 * list ran to 250 columns) and adds a generic line to every option ("A true or false value.", "This setting is
 * optional."). The content still comes from the command definitions (`Command.getHelp`: descriptions, option names,
 * placeholders); only the layout is ours: plain text wrapped to at most 100 columns, bold headings only on a terminal
 * without `NO_COLOR`.
 *
 * @internal
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import type * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"

/** A command of the tree, for help and for finding which command a command line names. */
export interface HelpNode {
  readonly name: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly command: Command.Command<any, any, any, any>
  readonly children?: ReadonlyArray<HelpNode> | undefined
}

/** How to lay help out. */
export interface Layout {
  readonly color: boolean
  /** The widest line, at most 100. */
  readonly width: number
}

/** Whether `stream` gets colour: a terminal, `NO_COLOR` unset or empty (no-color.org), and not `TERM=dumb`. */
export const useColor = (stream: { readonly isTTY?: boolean | undefined }): boolean =>
  stream.isTTY === true && (process.env["NO_COLOR"] ?? "") === "" && process.env["TERM"] !== "dumb"

/** The layout for stdout: its width when it is a narrower terminal, else 100 columns. */
export const layoutFor = (stream: { readonly isTTY?: boolean | undefined; readonly columns?: number | undefined }) => ({
  color: useColor(stream),
  width: Math.max(40, Math.min(100, stream.isTTY === true && stream.columns ? stream.columns : 100))
})

/**
 * The command a command line names: the longest run of leading words that are subcommand names (@effect/cli's
 * `--log-level <level>` may come first). `rest` is what follows them.
 */
export const findCommand = (
  root: HelpNode,
  args: ReadonlyArray<string>
): { readonly node: HelpNode; readonly path: ReadonlyArray<string>; readonly rest: ReadonlyArray<string> } => {
  let node = root
  const path = [root.name]
  const rest = [...args]
  while (rest.length > 0) {
    if (rest[0] === "--log-level") {
      rest.splice(0, 2)
      continue
    }
    const child = node.children?.find((c) => c.name === rest[0])
    if (child === undefined) break
    node = child
    path.push(child.name)
    rest.shift()
  }
  return { node, path, rest }
}

// ---------------------------------------------------------------------------------------------------------------------
// HelpDoc -> text
// ---------------------------------------------------------------------------------------------------------------------

/** A span as plain text. */
export const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
    default:
      return spanText(span.value)
  }
}

/** The blocks of a doc in order, sequences flattened. */
const blocks = (doc: HelpDoc.HelpDoc): ReadonlyArray<HelpDoc.HelpDoc> =>
  doc._tag === "Sequence" ? [...blocks(doc.left), ...blocks(doc.right)] : doc._tag === "Empty" ? [] : [doc]

/** The paragraphs of a doc as text, in order (lists and enumerations flattened). */
const paragraphs = (doc: HelpDoc.HelpDoc): ReadonlyArray<string> =>
  blocks(doc).flatMap((block) => {
    switch (block._tag) {
      case "Paragraph":
      case "Header":
        return [spanText(block.value)]
      case "DescriptionList":
        return block.definitions.flatMap(([term, desc]) => [spanText(term), ...paragraphs(desc)])
      case "Enumeration":
        return block.elements.flatMap(paragraphs)
      default:
        return []
    }
  })

/** A doc (an error message of @effect/cli, say) as one line of plain text. */
export const docText = (doc: HelpDoc.HelpDoc): string => paragraphs(doc).join(" ").replace(/\s+/g, " ").trim()

/** What @effect/cli adds to every option and argument whatever it is: not worth a reader's time. */
const BOILERPLATE = [
  /^A true or false value\.$/,
  /^A user-defined piece of text( that is confidential)?\.$/,
  /^One of the following: /,
  /^This setting is optional\./,
  /^This option can be set from environment variables\.$/,
  /^An integer\.$/,
  /^A floating point number\.$/,
  /^A date without a time-zone /,
  /^An? (existing )?(file|directory|file or directory)( that must not exist)?\.$/
]

const isBoilerplate = (text: string): boolean => BOILERPLATE.some((re) => re.test(text))

/** The sections of `Command.getHelp` by heading (DESCRIPTION, ARGUMENTS, OPTIONS, COMMANDS). */
const sections = (doc: HelpDoc.HelpDoc): ReadonlyMap<string, ReadonlyArray<HelpDoc.HelpDoc>> => {
  const found = new Map<string, Array<HelpDoc.HelpDoc>>()
  let current: Array<HelpDoc.HelpDoc> | undefined
  for (const block of blocks(doc)) {
    if (block._tag === "Header") found.set(spanText(block.value), current = [])
    else current?.push(block)
  }
  return found
}

/** The [term, description] pairs of a section's description lists, boilerplate left out. */
const definitions = (section: ReadonlyArray<HelpDoc.HelpDoc> | undefined): ReadonlyArray<readonly [string, string]> =>
  (section ?? []).flatMap((block) =>
    block._tag === "DescriptionList"
      ? block.definitions.map(([term, desc]) =>
        [spanText(term), paragraphs(desc).filter((text) => !isBoilerplate(text)).join(" ")] as const
      )
      : []
  )

/** The arguments of a command for its usage line: `<name>`, or `[<name>]` when optional. */
const argumentUsage = (section: ReadonlyArray<HelpDoc.HelpDoc> | undefined): ReadonlyArray<string> =>
  (section ?? []).flatMap((block) =>
    block._tag === "DescriptionList"
      ? block.definitions.map(([term, desc]) =>
        paragraphs(desc).some((text) => /^This setting is optional\./.test(text))
          ? `[${spanText(term)}]`
          : spanText(term)
      )
      : []
  )

/**
 * The option of `node` that takes a value, as its help term (`--model <alias|ref>`), by its flag (`--model`);
 * `undefined` for a flag without a value or not of this command.
 */
export const valuedOption = (node: HelpNode, flag: string): string | undefined =>
  definitions(sections(Command.getHelp(node.command, { ...CliConfig.defaultConfig, showBuiltIns: false })).get("OPTIONS"))
    .map(([term]) => term)
    .find((term) => term.startsWith(`${flag} `))

// ---------------------------------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------------------------------

/** Words of `text` in lines of at most `width` columns (a longer word stands alone). */
export const wrap = (text: string, width: number): ReadonlyArray<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line.length > 0 ? `${line} ${word}` : word
    }
  }
  if (line.length > 0) lines.push(line)
  return lines
}

const INDENT = 2
const GAP = 2
/** Terms longer than this get a line of their own, the description under them. */
const MAX_TERM_COLUMN = 26

/** A two-column list: the terms, and their descriptions wrapped in the second column. */
const table = (rows: ReadonlyArray<readonly [string, string]>, layout: Layout, bold: (s: string) => string) => {
  const longest = Math.max(...rows.map(([term]) => (term.length <= MAX_TERM_COLUMN ? term.length : 0)))
  const column = INDENT + Math.max(longest, 8) + GAP
  return rows.flatMap(([term, desc]) => {
    const text = wrap(desc, layout.width - column)
    const head = " ".repeat(INDENT) + bold(term)
    if (INDENT + term.length + GAP > column || text.length === 0) {
      return [head, ...text.map((line) => " ".repeat(column) + line)]
    }
    return [
      head + " ".repeat(column - INDENT - term.length) + text[0],
      ...text.slice(1).map((line) => " ".repeat(column) + line)
    ]
  })
}

const HELP_OPTION = ["-h, --help", "show this help"] as const

/** What `render` adds to the command definitions. */
export interface Extras {
  /** Options @effect/cli handles itself, as [term, description]. */
  readonly options?: ReadonlyArray<readonly [string, string]> | undefined
  /** Flags every command shares (`--config`, …): listed after the command's own. */
  readonly shared?: ReadonlyArray<string> | undefined
}

/**
 * The help of the command at `path` (names from the root): usage, description, arguments, options, and for a group
 * its commands.
 */
export const render = (node: HelpNode, path: ReadonlyArray<string>, layout: Layout, extras: Extras = {}): string => {
  const bold = (s: string) => (layout.color ? `\u001b[1m${s}\u001b[0m` : s)
  const found = sections(Command.getHelp(node.command, { ...CliConfig.defaultConfig, showBuiltIns: false }))
  const args = definitions(found.get("ARGUMENTS"))
  const shared = (row: readonly [string, string]) => extras.shared?.includes(row[0].split(" ")[0]!) === true
  const defined = definitions(found.get("OPTIONS"))
  const options = [
    ...defined.filter((row) => !shared(row)),
    ...defined.filter(shared),
    ...(extras.options ?? []),
    HELP_OPTION
  ]
  const children = node.children ?? []
  const usage = [
    ...path,
    ...(children.length > 0 ? ["<command>"] : []),
    ...(options.length > 1 ? ["[options]"] : []),
    ...argumentUsage(found.get("ARGUMENTS"))
  ].join(" ")
  const description = (found.get("DESCRIPTION") ?? []).flatMap(paragraphs).join(" ")
  const out: Array<string> = [`${bold("Usage:")} ${usage}`]
  if (description.length > 0) out.push("", ...wrap(description, layout.width))
  if (children.length > 0) {
    const rows = children.flatMap((child) =>
      (child.children ?? [child]).map((leaf) => {
        const name = leaf === child ? child.name : `${child.name} ${leaf.name}`
        const help = sections(Command.getHelp(leaf.command, { ...CliConfig.defaultConfig, showBuiltIns: false }))
        return [name, (help.get("DESCRIPTION") ?? []).flatMap(paragraphs).join(" ")] as const
      })
    )
    out.push("", bold("Commands:"), ...table(rows, layout, bold))
  }
  if (args.length > 0) out.push("", bold("Arguments:"), ...table(args, layout, bold))
  out.push("", bold("Options:"), ...table(options, layout, bold))
  if (children.length > 0) {
    const more = `Run "${[...path, "<command>", "--help"].join(" ")}" for the options of a command.`
    out.push("", ...wrap(more, layout.width))
  }
  return out.join("\n")
}
