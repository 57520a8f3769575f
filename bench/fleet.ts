/**
 * Fleet benchmark: a 1,000-account paper fleet executed by one `rebalance run --all --execute`
 * process, as a user runs it. The model is 30 symbols; the accounts differ in size ($5,000 to
 * $500,000) and in holdings (each first bought a model of its own, in an untimed setup fleet), so
 * the timed fleet sells and buys. `npm run bench:fleet` prints the figures; `-- --json` one object:
 * `{ accounts, symbols, concurrency, seconds, accountsPerSecond, peakRssMb, completed }`.
 * Target: under 60 s with peak RSS under 1 GB on this machine class.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const ACCOUNTS = Number(process.env["KEEL_BENCH_FLEET_ACCOUNTS"] ?? 1000)
const SYMBOLS = 30
const CONCURRENCY = 8
const BIN = fileURLToPath(new URL("../src/programs/rebalance.ts", import.meta.url))

const symbol = (i: number): string => `S${String(i).padStart(2, "0")}`

/** The market: 30 symbols from $20 to $600, a cent of spread. */
const quotesCsv = (): string =>
  [
    "symbol,bid,ask,last",
    ...Array.from({ length: SYMBOLS }, (_, i) => {
      const mid = 20 + ((i * 197) % 580)
      return `${symbol(i)},${(mid - 0.01).toFixed(2)},${(mid + 0.01).toFixed(2)},${mid.toFixed(2)}`
    })
  ].join("\n") + "\n"

/** Weights over the 30 symbols, leaning by `tilt`, summing to 0.98 (2% cash). */
const modelCsv = (tilt: number): string => {
  const raw = Array.from({ length: SYMBOLS }, (_, i) => 1 + ((i * tilt) % 7))
  const total = raw.reduce((a, b) => a + b, 0)
  const weights = raw.map((w) => Math.floor((w / total) * 0.98 * 1e6) / 1e6)
  return ["symbol,weight", ...weights.map((w, i) => `${symbol(i)},${w}`)].join("\n") + "\n"
}

const keelYaml = (targets: (account: number) => string): string =>
  [
    "store: { sqlite: .keel/keel.db }",
    "notifiers: []",
    "guards: { oncePerDay: false }",
    `fleet: { concurrency: ${CONCURRENCY} }`,
    "accounts:",
    ...Array.from({ length: ACCOUNTS }, (_, a) =>
      [
        `  - name: acct${a}`,
        `    broker: { kind: paper, startingCash: "${5000 + ((a * 7919) % 495_000)}", quotes: quotes.csv }`,
        `    targets: ${targets(a)}`,
        "    policy: { shares: whole }"
      ].join("\n"))
  ].join("\n") + "\n"

interface Measured {
  readonly seconds: number
  readonly peakRssMb: number
  readonly completed: number
}

/** Runs the fleet in a process of its own; GNU time writes its peak RSS (KiB) to a file. */
const fleet = (dir: string): Measured => {
  const rss = join(dir, "rss.txt")
  const start = performance.now()
  let out: string
  try {
    out = execFileSync(
      "/usr/bin/time",
      ["-f", "%M", "-o", rss, process.execPath, BIN, "run", "--all", "--execute", "--ignore-market-hours", "--json"],
      { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 1 << 28 }
    )
  } catch (e) {
    // Exit 3 (an account did not complete) still prints the fleet's document.
    out = (e as { stdout?: string }).stdout ?? "{}"
  }
  const seconds = (performance.now() - start) / 1000
  const document = JSON.parse(out) as { completed?: number }
  return { seconds, peakRssMb: Number(readFileSync(rss, "utf8").trim()) / 1024, completed: document.completed ?? 0 }
}

const run = () => {
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-fleet-"))
  try {
    writeFileSync(join(dir, "quotes.csv"), quotesCsv())
    for (let t = 0; t < 7; t++) writeFileSync(join(dir, `start${t}.csv`), modelCsv(t + 2))
    writeFileSync(join(dir, "model.csv"), modelCsv(1))
    // Setup, untimed: each account buys a model of its own, so the timed fleet sells and buys.
    writeFileSync(join(dir, "keel.yaml"), keelYaml((a) => `start${a % 7}.csv`))
    const setup = fleet(dir)
    if (setup.completed !== ACCOUNTS) throw new Error(`setup: ${setup.completed} of ${ACCOUNTS} completed`)
    writeFileSync(join(dir, "keel.yaml"), keelYaml(() => "model.csv"))
    const timed = fleet(dir)
    return {
      accounts: ACCOUNTS,
      symbols: SYMBOLS,
      concurrency: CONCURRENCY,
      seconds: Math.round(timed.seconds * 10) / 10,
      accountsPerSecond: Math.round((ACCOUNTS / timed.seconds) * 10) / 10,
      completed: timed.completed,
      peakRssMb: Math.round(timed.peakRssMb)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const result = run()
if (process.argv.includes("--json")) console.log(JSON.stringify(result))
else {
  console.log(
    `fleet of ${result.accounts} paper accounts, ${result.symbols} symbols, concurrency ${result.concurrency}: ` +
      `${result.seconds} s (${result.accountsPerSecond} accounts/s), ${result.completed} completed, ` +
      `peak RSS ${result.peakRssMb} MB`
  )
}
