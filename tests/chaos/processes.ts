/**
 * Keel as real processes: `rebalance` from source on the Node that runs the harness (Node 24),
 * in the session's directory. A process the harness does not end itself is given a time limit:
 * past it, it is killed and its exit says `hung`, so one stuck run never stalls a suite.
 *
 * Loading Keel's modules is most of what a short process costs, and a suite starts thousands: they
 * share Node's compile cache (`NODE_COMPILE_CACHE`, checked against each source file's contents, so
 * an edited file is compiled afresh), which halves the start-up.
 */
import { spawn } from "node:child_process"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const SOURCE_BIN = join(fileURLToPath(new URL("../..", import.meta.url)), "src/programs/rebalance.ts")

const COMPILE_CACHE = process.env["NODE_COMPILE_CACHE"] ?? join(tmpdir(), "keel-chaos-compile-cache")

export interface Exit {
  /** The exit code; null when a signal ended the process. */
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** The harness killed it for running past its limit. */
  readonly hung: boolean
  /** From start to exit. */
  readonly seconds: number
}

export interface KeelProcess {
  readonly exited: Promise<Exit>
  readonly running: () => boolean
  /** What it printed on stdout so far. */
  readonly stdout: () => string
  /** Sends `signal` to this process (only to it: never by name). */
  readonly signal: (signal: NodeJS.Signals) => void
}

export interface Launch {
  readonly cwd: string
  /** Added to the harness's environment. */
  readonly env?: Readonly<Record<string, string>>
  /** Seconds before the process counts as hung and is killed. */
  readonly limitSeconds: number
}

export const startKeel = (args: ReadonlyArray<string>, launch: Launch): KeelProcess => {
  const child = spawn(process.execPath, [SOURCE_BIN, ...args], {
    cwd: launch.cwd,
    env: { ...process.env, NODE_COMPILE_CACHE: COMPILE_CACHE, ...launch.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const started = performance.now()
  let running = true
  let hung = false
  const limit = setTimeout(() => {
    hung = true
    child.kill("SIGKILL")
  }, launch.limitSeconds * 1000)
  const exited = new Promise<Exit>((resolve) => {
    child.on("close", (code, signal) => {
      running = false
      clearTimeout(limit)
      resolve({ code, signal, stdout, stderr, hung, seconds: (performance.now() - started) / 1000 })
    })
  })
  return {
    exited,
    running: () => running,
    stdout: () => stdout,
    signal: (signal) => {
      if (running) child.kill(signal)
    }
  }
}

/** Runs `rebalance ARGS` to its end. */
export const keel = (args: ReadonlyArray<string>, launch: Launch): Promise<Exit> => startKeel(args, launch).exited

/** What an exit looks like in a report: `0`, `3`, `SIGKILL`, `hung`. */
export const exitLabel = (exit: Exit): string =>
  `${exit.hung ? "hung" : exit.code !== null ? String(exit.code) : (exit.signal ?? "?")} (${exit.seconds.toFixed(1)}s)`

/** What a process last said, for a report: its last lines on stderr (or stdout when stderr is empty), shortened. */
export const lastWords = (exit: Exit, lines = 2): string => {
  const said = (exit.stderr.trim() === "" ? exit.stdout : exit.stderr).trim().split("\n").filter((l) => l.trim() !== "")
  return said.slice(-lines).map((line) => line.length > 200 ? `${line.slice(0, 200)}…` : line).join(" | ")
}

/** A run's or recovery's exit is one of the contract's: 0 completed, 3 not completed. */
export const settledExit = (exit: Exit): boolean => !exit.hung && (exit.code === 0 || exit.code === 3)

export const sleep = (seconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, seconds * 1000))
