/**
 * A `rebalance` command that runs until it is stopped (`paper-venue`), as a real process in the
 * background: the source entry on the Node that runs vitest, like `runCli`, with its stdout lines
 * as they arrive and a stop by signal that resolves with its exit code and both streams.
 */
import { spawn } from "node:child_process"
import { type CliResult, SOURCE_BIN } from "./cli.ts"

export interface Background {
  /** Resolves with stdout's first `count` lines once they are there; rejects if the process ends first. */
  readonly lines: (count: number) => Promise<ReadonlyArray<string>>
  /** Sends `signal` and resolves once the process has ended. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<CliResult>
  /** Resolves once the process has ended, however it ended. */
  readonly exited: Promise<CliResult>
}

/** Starts `rebalance ARGS` in `cwd`. Stop it (or let it end) in the test: nothing else kills it. */
export const startCli = (args: ReadonlyArray<string>, cwd: string): Background => {
  const child = spawn(process.execPath, [SOURCE_BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  let ended = false
  const waiting = new Set<() => void>()
  const notify = () => {
    for (const check of waiting) check()
  }
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    notify()
  })
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<CliResult>((resolve) => {
    child.on("close", (code) => {
      ended = true
      notify()
      resolve({ code, stdout, stderr })
    })
  })
  const lines = (count: number) =>
    new Promise<ReadonlyArray<string>>((resolve, reject) => {
      const check = () => {
        const complete = stdout.split("\n").slice(0, -1)
        if (complete.length >= count) {
          waiting.delete(check)
          resolve(complete.slice(0, count))
        } else if (ended) {
          waiting.delete(check)
          reject(new Error(`the process ended after ${complete.length} line(s); stderr: ${stderr}`))
        }
      }
      waiting.add(check)
      check()
    })
  return {
    lines,
    stop: (signal = "SIGTERM") => {
      if (!ended) child.kill(signal)
      return exited
    },
    exited
  }
}
