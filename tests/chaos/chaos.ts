/**
 * `npm run chaos -- --sessions N --seed S [--pairs P] [--alpaca K] [--concurrency C] [--only ID]
 * [--json] [--keep]`: Keel killed at every step and at random times, concurrent pairs, and
 * Alpaca-emulator kills, then every invariant counted from the venue's books against Keel's
 * Store (see README "Chaos"). A line per session and the summary go to stderr; `--json` prints
 * one JSON object on stdout. Exit 0 when every count is 0, 1 otherwise, 2 on a bad flag.
 */
import { availableParallelism } from "node:os"
import { parseArgs } from "node:util"
import { INVARIANT_NAMES, INVARIANTS } from "./invariants.ts"
import { failed, reportJson, type SessionResult, summaryTable } from "./report.ts"
import { scenarioById } from "./scenarios.ts"
import { runSuite, type SuiteOptions } from "./suite.ts"

const FLAGS = {
  sessions: { type: "string", default: "50" },
  seed: { type: "string", default: "1" },
  pairs: { type: "string", default: "0" },
  alpaca: { type: "string", default: "0" },
  concurrency: { type: "string", default: String(availableParallelism()) },
  only: { type: "string" },
  json: { type: "boolean", default: false },
  keep: { type: "boolean", default: false }
} as const

const count = (flag: string, text: string, least: number): number => {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < least) {
    throw new Error(`--${flag}: expected a whole number of at least ${least}, got ${text}`)
  }
  return n
}

const optionsOf = (argv: ReadonlyArray<string>): SuiteOptions & { readonly json: boolean } => {
  const { values } = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false })
  if (values.only !== undefined && scenarioById(values.seed, values.only) === undefined) {
    throw new Error(`--only: expected a session id (paper-0001, pair-001, alpaca-001), got ${values.only}`)
  }
  return {
    seed: values.seed,
    sessions: count("sessions", values.sessions, 0),
    pairs: count("pairs", values.pairs, 0),
    alpaca: count("alpaca", values.alpaca, 0),
    concurrency: count("concurrency", values.concurrency, 1),
    only: values.only,
    keep: values.keep,
    json: values.json
  }
}

/** One line per session as it ends: where it was killed, its exits, and what it broke. */
const progressLine = (result: SessionResult): string => {
  const broken = INVARIANTS.filter((name) => result.findings.counts[name] > 0)
    .map((name) => `${INVARIANT_NAMES[name]} ${result.findings.counts[name]}`)
  const verdict = result.error !== undefined
    ? `not judged: ${result.error}`
    : broken.length === 0
    ? "ok"
    : broken.join(", ")
  const kill = result.kill === undefined ? "" : ` kill ${result.kill.planned} → ${result.kill.landed};`
  return `${result.id}:${kill} exits ${result.exits.join(" ")}; ${verdict}`
}

const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  let options: ReturnType<typeof optionsOf>
  try {
    options = optionsOf(argv)
  } catch (error) {
    process.stderr.write(`chaos: ${error instanceof Error ? error.message : String(error)}\n`)
    return 2
  }
  const report = await runSuite({ ...options, onResult: (r) => process.stderr.write(`${progressLine(r)}\n`) })
  process.stderr.write(`\n${summaryTable(report)}\n`)
  if (options.json) process.stdout.write(`${JSON.stringify(reportJson(report), null, 2)}\n`)
  return failed(report) ? 1 : 0
}

process.exitCode = await main(process.argv.slice(2))
