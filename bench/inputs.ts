/**
 * Input benchmark: how long each input reader takes on a file just under the size limit, and how
 * much memory it needs. `npm run bench:inputs` prints a table; `-- --json` prints
 * `{ "limitMiB", "readers": [ { name, bytes, medianMs, peakRssMiB, runs } ], "oversize": { … } }`.
 *
 * Each reader runs in a child process of its own, several times, so its peak RSS is its own
 * (node's baseline included) and no run warms the next. The readers are the ones the CLI uses
 * (`readInput`, `loadConfig`, the paper venue's `loadQuoteFile`), file reading included. The
 * oversize case is a 50 MiB snapshot, which must be refused by the size limit before parsing.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { loadQuoteFile } from "../src/effects/broker/paper/quotes.ts"
import { InputLimits, readInput } from "../src/effects/inputs.ts"

const RUNS = 3
const MIB = 1024 * 1024
/** Just under the default limit, so the reader, not the limit, is what is measured. */
const TARGET_BYTES = InputLimits.megabytes * MIB - 4096
const OVERSIZE_BYTES = 50 * MIB

// ---------------------------------------------------------------------------
// inputs
// ---------------------------------------------------------------------------

const symbol = (i: number): string => `S${i.toString(36).toUpperCase()}`
const price = (i: number): string => `${10 + (i % 500)}.${String(i % 100).padStart(2, "0")}`

/** Lines from `line(i)` after `head`, until the text is `bytes` long. */
const fill = (head: string, line: (i: number) => string, bytes: number, tail = ""): string => {
  const parts = [head]
  let size = head.length + tail.length
  for (let i = 0;; i++) {
    const next = line(i)
    if (size + next.length > bytes) break
    parts.push(next)
    size += next.length
  }
  parts.push(tail)
  return parts.join("")
}

/** A snapshot of positions and quotes (half the file each), its decimals written as plain YAML numbers. */
const yamlSnapshot = (bytes: number): string =>
  fill(
    "cash: 2500.00\npositions:\n",
    (i) =>
      i % 2 === 0
        ? `  - { symbol: ${symbol(i)}, quantity: ${i % 900 + 1} }\n`
        : `  - symbol: ${symbol(i)}\n    quantity: 12.5\n`,
    bytes / 2
  ) + fill("quotes:\n", (i) => `  - symbol: ${symbol(i)}\n    bid: ${price(i)}\n    ask: ${price(i + 1)}\n`, bytes / 2)

const jsonSnapshot = (bytes: number): string => {
  const positions = fill(
    "{\"cash\": \"2500.00\", \"positions\": [\n",
    (i) => `{"symbol": "${symbol(i)}", "quantity": ${i % 900 + 1}},\n`,
    bytes / 2
  )
  const quotes = fill(
    "{\"symbol\": \"CASH0\", \"last\": 1}],\n\"quotes\": [\n",
    (i) => `{"symbol": "${symbol(i)}", "bid": "${price(i)}", "ask": "${price(i + 1)}"},\n`,
    bytes / 2 - 40
  )
  return `${positions}${quotes}{"symbol": "CASH0", "last": 1}]}\n`
}

const csvTargets = (bytes: number): string => fill("symbol,weight\n", (i) => `${symbol(i)},0.000001\n`, bytes)
const yamlTargets = (bytes: number): string => fill("", (i) => `${symbol(i)}: 0.000001\n`, bytes)
const csvQuotes = (bytes: number): string =>
  fill("symbol,bid,ask,last\n", (i) => `${symbol(i)},${price(i)},${price(i + 1)},${price(i)}\n`, bytes)

/** keel.yaml with as many paper accounts as fill the file. */
const keelYaml = (bytes: number): string =>
  fill(
    "store:\n  sqlite: .keel/keel.db\naccounts:\n",
    (i) =>
      `  - name: ${symbol(i).toLowerCase()}\n    targets: targets.csv\n    broker:\n      kind: paper\n`
      + `      startingCash: "100000"\n      quotes: quotes.csv\n`,
    bytes
  )

interface Reader {
  readonly name: string
  readonly file: string
  readonly make: (bytes: number) => string
  readonly read: (file: string) => Effect.Effect<unknown, unknown, NodeServices.NodeServices>
}

const readers: ReadonlyArray<Reader> = [
  { name: "snapshot (yaml)", file: "snapshot.yaml", make: yamlSnapshot, read: (f) => readInput("snapshot", f) },
  { name: "snapshot (json)", file: "snapshot.json", make: jsonSnapshot, read: (f) => readInput("snapshot", f) },
  { name: "targets (csv)", file: "targets.csv", make: csvTargets, read: (f) => readInput("targets", f) },
  { name: "targets (yaml)", file: "targets.yaml", make: yamlTargets, read: (f) => readInput("targets", f) },
  { name: "paper quotes (csv)", file: "quotes.csv", make: csvQuotes, read: loadQuoteFile },
  {
    name: "keel.yaml",
    file: "keel.yaml",
    make: keelYaml,
    // Loaded when used: the config module is the programs' layer, above the readers.
    read: (f) => Effect.flatMap(Effect.promise(() => import("../src/programs/config.ts")), (m) => m.loadConfig(f))
  }
]

// ---------------------------------------------------------------------------
// one measurement, in a child process
// ---------------------------------------------------------------------------

interface Measured {
  readonly ms: number
  readonly peakRssMiB: number
  readonly outcome: string
}

/** Runs one reader once on `file` and prints what it measured as JSON. */
const child = async (name: string, file: string): Promise<void> => {
  const reader = readers.find((r) => r.name === name)!
  const start = performance.now()
  const exit = await Effect.runPromiseExit(reader.read(file).pipe(Effect.provide(NodeServices.layer)))
  const ms = performance.now() - start
  const outcome = exit._tag === "Success" ? "read" : String(exit.cause).split("\n", 1)[0]!.slice(0, 200)
  const measured: Measured = { ms, peakRssMiB: process.resourceUsage().maxRSS / 1024, outcome }
  console.log(JSON.stringify(measured))
}

const self = fileURLToPath(import.meta.url)

const measure = (name: string, file: string): Measured =>
  JSON.parse(execFileSync(process.execPath, [self, "--child", name, file], { encoding: "utf8" })) as Measured

// ---------------------------------------------------------------------------
// the report
// ---------------------------------------------------------------------------

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const round = (x: number): number => Math.round(x * 10) / 10

const report = () => {
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-inputs-"))
  try {
    const results = readers.map((reader) => {
      const file = join(dir, reader.file)
      writeFileSync(file, reader.make(TARGET_BYTES))
      const runs = Array.from({ length: RUNS }, () => measure(reader.name, file))
      const failed = runs.find((r) => r.outcome !== "read")
      if (failed !== undefined) throw new Error(`${reader.name}: ${failed.outcome}`)
      return {
        name: reader.name,
        bytes: statSync(file).size,
        medianMs: round(median(runs.map((r) => r.ms))),
        peakRssMiB: round(Math.max(...runs.map((r) => r.peakRssMiB))),
        runs: RUNS
      }
    })
    const big = join(dir, "big.yaml")
    writeFileSync(big, yamlSnapshot(OVERSIZE_BYTES))
    const refused = measure("snapshot (yaml)", big)
    const oversize = { bytes: statSync(big).size, ms: round(refused.ms), refusal: refused.outcome }
    return { limitMiB: InputLimits.megabytes, readers: results, oversize }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const at = process.argv.indexOf("--child")
if (at >= 0) await child(process.argv[at + 1]!, process.argv[at + 2]!)
else {
  const { limitMiB, oversize, readers: results } = report()
  if (process.argv.includes("--json")) console.log(JSON.stringify({ limitMiB, readers: results, oversize }, null, 2))
  else {
    console.log(`reader (file of ~${limitMiB} MiB)   time (median)   peak RSS`)
    for (const r of results) {
      console.log(`${r.name.padEnd(30)} ${`${r.medianMs} ms`.padStart(13)} ${`${r.peakRssMiB} MiB`.padStart(10)}`)
    }
    console.log(`${(oversize.bytes / MIB).toFixed(0)} MiB snapshot: refused in ${oversize.ms} ms: ${oversize.refusal}`)
  }
}
