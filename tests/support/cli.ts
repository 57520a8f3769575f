/**
 * The `rebalance` CLI as a real process, for the run/status/history/positions/demo and
 * webhook tests: the source entry runs on the Node that runs vitest (Node 24, via npx),
 * in a temp directory of its own, with the environment the test gives it.
 *
 * Same approach as tests/programs/cli/plan.test.ts (execFile on `process.execPath`, asynchronous so a
 * test's own HTTP server keeps answering while the CLI runs); that file keeps its own
 * copy because it may not be edited.
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
import type { RunSummary } from "../../src/effects/Notifier.ts"
import type { RunMode } from "../../src/effects/Store.ts"
import type { Side } from "../../src/kernel/rebalance/deltas.ts"
import type { Phase } from "../../src/kernel/rebalance/orders.ts"

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

/** Runs `rebalance ARGS` in `cwd`; resolves with the exit code and both streams, never rejects. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions): Promise<CliResult> => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries({ ...process.env, ...options.env })) {
    if (value !== undefined) env[key] = value
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SOURCE_BIN, ...args],
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
  timeouts?: { fillSeconds?: number; pollSeconds?: number }
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

/** What `run --json` prints (src/programs/cli/run.ts `outcomeJson`), as far as the tests read it. */
export interface OrderJson {
  readonly clientOrderId: string
  readonly phase: Phase
  readonly symbol: string
  readonly side: Side
  readonly quantity: string
  readonly status: string
  readonly filledQuantity: string
  readonly averageFillPrice: string | null
  readonly reason: string | null
}

export interface RunJson {
  readonly id: string
  readonly account: string
  readonly mode: RunMode
  readonly status: string
  readonly step: string
  readonly reason?: string | null
  readonly startedAt: number
  readonly finishedAt?: number | null
}

/** The summary as --json prints it: the Notifier's RunSummary. */
export type SummaryJson = RunSummary

export interface PlanJson {
  readonly equity: string
  readonly cash: { readonly before: string; readonly after: string; readonly reserve: string }
  readonly plan: ReadonlyArray<
    { readonly symbol: string; readonly quantity: string; readonly action: string; readonly reason: string }
  >
  readonly orders: ReadonlyArray<{
    readonly symbol: string
    readonly side: string
    readonly quantity: string
    readonly price: string
    readonly value: string
    readonly phase: string
  }>
  readonly warnings: ReadonlyArray<unknown>
}

export interface OutcomeJson {
  readonly run: RunJson
  readonly summary: SummaryJson
  readonly plan: PlanJson | null
  readonly buyReplan: PlanJson | null
  readonly orders: ReadonlyArray<OrderJson>
  readonly discrepancies: ReadonlyArray<unknown>
  readonly artifacts: string
}

/** What `status --json` prints. */
export interface StatusJson {
  readonly run: RunJson
  readonly steps: ReadonlyArray<{ readonly step: string; readonly at: number; readonly detail: unknown }>
  readonly intents: ReadonlyArray<OrderJson & { readonly brokerOrderId: string | null }>
}

/** What `positions --json` prints. */
export interface PositionsJson {
  readonly account: string
  readonly cash: string
  readonly realizedPnl: string
  readonly positions: ReadonlyArray<{
    readonly symbol: string
    readonly quantity: string
    readonly averageCost: string
    readonly price: string | null
    readonly value: string | null
    readonly unrealizedPnl: string | null
    readonly realizedPnl: string
  }>
}

/** stdout that is exactly one JSON value (JSON.parse rejects anything before or after it). */
export const parseJson = <A>(stdout: string): A => JSON.parse(stdout) as A
