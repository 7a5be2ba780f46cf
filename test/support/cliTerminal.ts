/**
 * The built CLI in a pseudo-terminal, for the suites of test/cli that sign in with OAuth (`onboard --auth-choice
 * chutes` needs a terminal): python3's `pty.spawn` relays a pipe to the terminal and back, so stdin, stdout and stderr
 * are all TTYs; the prompts are answered from a list of steps, in order; an HTTP client plays the browser against
 * FakeChutes' IdP (started with `autoApprove`).
 */
import { spawn } from "node:child_process"
import { bin, type Run } from "./cliProcess.js"

/** Spawns argv[1:] in a pseudo-terminal and exits with its exit code. */
const PTY_SPAWN = "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))"

/** One step of a terminal session: when `prompt` appears (after the previous step's), type `answer` and Enter. */
export interface Step {
  readonly prompt: RegExp
  /** What to type; `undefined` types nothing (the step only acts, e.g. as the browser). */
  readonly answer: (output: string) => Promise<string | undefined>
  /** Wait this long after the prompt appeared before typing. */
  readonly delayMillis?: number
}

/**
 * Runs `effect-chutes <args>` with exactly `env` in a pseudo-terminal in `cwd` and answers its prompts from `steps`.
 * stdout and stderr arrive merged in `stdout`. Killed, and rejected, when it does not finish in time.
 */
export const spawnCliInTerminal = (
  args: ReadonlyArray<string>,
  steps: ReadonlyArray<Step>,
  options: { readonly env: Record<string, string>; readonly cwd: string; readonly timeoutMs?: number }
): Promise<Run> =>
  new Promise<Run>((resolve, reject) => {
    const started = Date.now()
    const child = spawn("python3", ["-c", PTY_SPAWN, process.execPath, bin, ...args], {
      env: { TERM: "dumb", ...options.env },
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"]
    })
    let output = ""
    let stderr = ""
    let next = 0
    let seen = 0
    let answering = false
    const advance = (): void => {
      const step = steps[next]
      if (answering || step === undefined) return
      const match = step.prompt.exec(output.slice(seen))
      if (match === null) return
      answering = true
      seen += match.index + match[0].length
      const typed = step.answer(output).then((answer) =>
        new Promise<string | undefined>((done) => setTimeout(() => done(answer), step.delayMillis ?? 0))
      )
      typed.then((answer) => {
        next += 1
        answering = false
        if (answer !== undefined) child.stdin.write(`${answer}\r`)
        advance()
      }, (error: unknown) => {
        child.kill("SIGKILL")
        reject(error)
      })
    }
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8")
      advance()
    })
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`effect-chutes ${args.join(" ")} in a terminal did not finish (step ${next}):\n${output}\n${stderr}`))
    }, options.timeoutMs ?? 30_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: output, stderr, millis: Date.now() - started })
    })
  })

/**
 * The browser of the paste flow: opens the authorize URL shown in `output` (FakeChutes auto-approves) and returns the
 * redirect URL it was sent to, for pasting.
 */
export const approveInBrowser = async (output: string): Promise<string> => {
  const url = /(http:\/\/127\.0\.0\.1:\d+\/idp\/authorize\?\S+)/.exec(output)?.[1]
  if (url === undefined) throw new Error(`no authorize URL was shown:\n${output}`)
  const response = await fetch(url, { redirect: "manual" })
  const location = response.headers.get("location")
  if (location === null) throw new Error(`no redirect from the authorize URL (${response.status})`)
  return location
}

/** The paste flow's prompt, answered by `approveInBrowser`. */
export const pasteRedirect: Step = { prompt: /Paste the redirect URL: /, answer: approveInBrowser }

/** Onboarding in a terminal offers the default model last: Enter takes the preselected one. */
export const takeSuggestedModel: Step = { prompt: /Number, alias or ref \[[^\]]*\]: /, answer: async () => "" }
