/**
 * The `rebalance` CLI as a real process, for the CLI and webhook tests: the source entry (or
 * the built bin) runs on the Node that runs vitest (Node 24, via npx), in a temp directory of
 * its own, with the environment the test gives it. `execFile` on `process.execPath`,
 * asynchronous, so a test's own HTTP server keeps answering while the CLI runs.
 */
import { execFile } from "node:child_process"
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { parse, stringify } from "yaml"
import type { OutcomeDocument, ResultDocument } from "../../src/programs/documents/outcome.ts"
import type { PlanDocument } from "../../src/programs/documents/plan.ts"
import type { ByStrategyDocument, PositionsDocument } from "../../src/programs/documents/positions.ts"
import type { ResolvedTargetsDocument } from "../../src/programs/documents/resolvedTargets.ts"
import type { HistoryDocument, StatusDocument } from "../../src/programs/documents/runs.ts"

export const ROOT = fileURLToPath(new URL("../..", import.meta.url))
export const SOURCE_BIN = join(ROOT, "src/programs/rebalance.ts")
export const EXAMPLES = join(ROOT, "examples")

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface CliOptions {
  readonly cwd: string
  /** Added to (or, when undefined, removed from) the test process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/**
 * Runs `rebalance ARGS` in `cwd` (the source entry unless `bin` names another); resolves with the
 * exit code and both streams, never rejects.
 */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions, bin = SOURCE_BIN): Promise<CliResult> => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries({ ...process.env, ...options.env })) {
    if (value !== undefined) env[key] = value
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: options.cwd, env, encoding: "utf8" },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
      }
    )
  })
}

/** The one line an exit-2 error prints on stderr, or an Error saying what was printed instead. */
export const singleLine = (stderr: string): string => {
  const [line, ...rest] = stderr.split("\n")
  if (line === undefined || line === "" || rest.length !== 1 || rest[0] !== "") {
    throw new Error(`expected exactly one line on stderr, got ${JSON.stringify(stderr)}`)
  }
  return line
}

/** The files the example paper account needs: its config and the three inputs it names. */
export const EXAMPLE_FILES = ["keel.yaml", "targets.csv", "policy.yaml", "quotes.csv"] as const

/** The shape of keel.yaml that the tests edit (see src/programs/config.ts); anything else passes through. */
export interface KeelYaml {
  store?: { sqlite?: string }
  artifacts?: string
  timeouts?: { fillSeconds?: number; pollSeconds?: number; leaseSeconds?: number }
  notifiers?: Array<unknown>
  accounts: Array<{
    name: string
    broker: Record<string, unknown>
    targets: string
    policy?: unknown
    openOrders?: string
    [field: string]: unknown
  }>
  [field: string]: unknown
}

export interface Workspace {
  /** The directory's real path (so it matches what the CLI's `path.resolve` prints). */
  readonly dir: string
  readonly path: (name: string) => string
  readonly write: (name: string, text: string) => string
  readonly read: (name: string) => string
  readonly exists: (name: string) => boolean
  /** Reads keel.yaml (or `name`), lets `edit` change it, and writes it back. */
  readonly editConfig: (edit: (config: KeelYaml) => void, name?: string, from?: string) => string
  /** Every file under the directory, as paths relative to it, sorted. */
  readonly files: (under?: string) => Array<string>
  readonly run: (args: ReadonlyArray<string>, env?: CliOptions["env"]) => Promise<CliResult>
  readonly cleanup: () => void
}

/** A fresh temp directory, with copies of `files` from examples/ (none for an empty one). */
export const workspace = (prefix: string, files: ReadonlyArray<string> = EXAMPLE_FILES): Workspace => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)))
  for (const name of files) copyFileSync(join(EXAMPLES, name), join(dir, name))
  const path = (name: string): string => join(dir, name)
  const write = (name: string, text: string): string => {
    writeFileSync(path(name), text)
    return name
  }
  const listing = (at: string): Array<string> =>
    readdirSync(at, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? listing(join(at, entry.name)) : [relative(dir, join(at, entry.name))]
    )
  return {
    dir,
    path,
    write,
    read: (name) => readFileSync(path(name), "utf8"),
    exists: (name) => existsSync(path(name)),
    editConfig: (edit, name = "keel.yaml", from = "keel.yaml") => {
      const config = parse(readFileSync(path(from), "utf8")) as KeelYaml
      edit(config)
      return write(name, stringify(config))
    },
    files: (under = ".") => (existsSync(path(under)) ? listing(path(under)).sort() : []),
    run: (args, env) => runCli(args, env === undefined ? { cwd: dir } : { cwd: dir, env }),
    cleanup: () => rmSync(dir, { recursive: true, force: true })
  }
}

/** The first account of a parsed keel.yaml (the example has exactly one, "demo"). */
export const firstAccount = (config: KeelYaml): KeelYaml["accounts"][number] => {
  const account = config.accounts[0]
  if (account === undefined) throw new Error("keel.yaml has no account")
  return account
}

/** Parses an orders.csv artifact into rows keyed by its header (no quoted cells in these tests). */
export const readCsv = (text: string): Array<Record<string, string>> => {
  const [header, ...rows] = text.trimEnd().split("\n")
  const columns = (header ?? "").split(",")
  return rows.map((row) => Object.fromEntries(row.split(",").map((cell, i) => [columns[i] ?? `#${i}`, cell])))
}

/** What `run --json` prints (src/programs/documents/outcome.ts). */
export type OutcomeJson = typeof OutcomeDocument.Encoded

/** result.json: the outcome's run, summary, buy re-plan and discrepancies. */
export type ResultJson = typeof ResultDocument.Encoded

/** The run as `run --json` and result.json tell it. */
export type RunJson = OutcomeJson["run"]

/** An order of the run, as `run --json` prints it. */
export type OrderJson = OutcomeJson["orders"][number]

/** The summary as --json prints it: the Notifier's RunSummary. */
export type SummaryJson = OutcomeJson["summary"]

/** The plan document: `plan --json`, each plan of `run --json`, plan.json (src/programs/documents/plan.ts). */
export type PlanJson = typeof PlanDocument.Encoded

/** What `status --json` prints (src/programs/documents/runs.ts). */
export type StatusJson = typeof StatusDocument.Encoded

/** What `history --json` prints: stored runs, whose unknown reason and finish are null. */
export type HistoryJson = typeof HistoryDocument.Encoded

/** What `positions --json` prints (src/programs/documents/positions.ts). */
export type PositionsJson = typeof PositionsDocument.Encoded

/** What `positions --by-strategy --json` prints. */
export type ByStrategyJson = typeof ByStrategyDocument.Encoded

/** What `targets --json` prints, and targets.json (src/programs/documents/resolvedTargets.ts). */
export type TargetsJson = typeof ResolvedTargetsDocument.Encoded

/** stdout that is exactly one JSON value (JSON.parse rejects anything before or after it). */
export const parseJson = <A>(stdout: string): A => JSON.parse(stdout) as A
