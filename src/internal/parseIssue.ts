/**
 * A failed decode of a server's answer in a few words, for an error's detail: the first problem and where it is
 * (`user_id: Expected string, actual 5`). `TreeFormatter` starts with the schema's whole type, so a message cut to a
 * readable length had lost the field and the value.
 *
 * @internal
 */
import * as ParseResult from "effect/ParseResult"
import { formatPath } from "./configJson.js"
import { excerpt } from "./redact.js"

/** The first issue of `error` as `path: message` (the message alone at the top level), scrubbed, escaped, cut short. */
export const firstIssue = (error: ParseResult.ParseError, max = 200): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return "unexpected shape"
  const where = issue.path.length > 0 ? `${formatPath(issue.path)}: ` : ""
  return excerpt(`${where}${issue.message}`, max)
}
