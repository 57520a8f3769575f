/**
 * Kernel benchmark. `npm run bench` prints a table; `npm run bench -- --json` prints
 * `{ "cases": [ { name, positions, medianMs, positionsPerSecond, peakRssMb, … } ], "quality": … }`.
 *
 * Each case runs in its own child process, so its peak RSS is its own. Timings cover the
 * whole pipeline from raw (string) input: validation, plan, deltas and orders.
 */
import * as Result from "effect/Result"
import { spawnSync } from "node:child_process"
import { rebalance } from "../src/kernel/index.ts"
import { batchRun, fromCash, instance, singleCases, symbol, wholeInstance } from "./cases.ts"
import { greedyPortfolio, type Instance, leftover, optimum, trackingError } from "./quality.ts"

interface CaseResult {
  readonly name: string
  readonly positions: number
  readonly medianMs: number
  readonly positionsPerSecond: number
  readonly peakRssMb: number
  readonly [extra: string]: unknown
}

const median = (xs: Array<number>): number => {
  const s = xs.slice().sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const time = (runs: number, warmup: number, f: () => void): number => {
  for (let i = 0; i < warmup; i++) f()
  const samples: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    f()
    samples.push(performance.now() - start)
  }
  return median(samples)
}

const peakRssMb = (): number => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10

const run = (input: Parameters<typeof rebalance>[0]) => {
  const result = rebalance(input)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return result.success
}

/** Kernel shares per symbol for a from-cash instance. */
export const kernelShares = (inst: Instance): Array<number> => {
  const result = run(fromCash(inst))
  const bought = new Map(result.orders.orders.map((o) => [o.symbol, Number(o.quantity.toFixed())]))
  return inst.prices.map((_, i) => bought.get(symbol(i)) ?? 0)
}

const single = (
  name: string,
  input: Parameters<typeof rebalance>[0],
  positions: number,
  runs: number,
  extra = {}
): CaseResult => {
  const medianMs = time(runs, Math.max(5, runs >> 2), () => run(input))
  return {
    name,
    positions,
    medianMs: round(medianMs),
    positionsPerSecond: Math.round((positions / medianMs) * 1000),
    peakRssMb: peakRssMb(),
    ...extra
  }
}

const round = (x: number, places = 3): number => Math.round(x * 10 ** places) / 10 ** places

const cases: Record<string, () => CaseResult> = {
  "single-500-whole": () => {
    const inst = wholeInstance()
    const shares = kernelShares(inst)
    const greedy = greedyPortfolio(inst)
    return single("single-500-whole", fromCash(inst), 500, 200, {
      leftoverCash: round(leftover(inst, shares), 2),
      trackingError: trackingError(inst, shares),
      greedyLeftoverCash: round(leftover(inst, greedy), 2),
      greedyTrackingError: trackingError(inst, greedy)
    })
  },
  "single-500-drift": () => single("single-500-drift", singleCases["single-500-drift"](), 500, 200),
  "single-5000-fractional": () => single("single-5000-fractional", singleCases["single-5000-fractional"](), 5000, 30),
  "batch-10000x30": () => {
    const accounts = 10_000
    const n = 30
    const batch = batchRun(accounts, n)
    const medianMs = time(5, 1, batch)
    return {
      name: "batch-10000x30",
      positions: accounts * n,
      medianMs: round(medianMs, 1),
      positionsPerSecond: Math.round(((accounts * n) / medianMs) * 1000),
      peakRssMb: peakRssMb(),
      orders: batch()
    }
  }
}

/** Mean tracking error against the exact optimum on small instances, and how often greedy beats us. */
const quality = () => {
  const count = Number(process.env.QN ?? 300)
  let kernelSum = 0
  let greedySum = 0
  let optimumSum = 0
  let worseThanGreedy = 0
  for (let seed = 1; seed <= count; seed++) {
    const inst = instance(1000 + seed, Number(process.env.QS ?? 6), 5_000 + seed * 37, 1_000, 60_000)
    const k = trackingError(inst, kernelShares(inst))
    const g = trackingError(inst, greedyPortfolio(inst))
    const o = trackingError(inst, optimum(inst))
    kernelSum += k
    greedySum += g
    optimumSum += o
    if (k > g + 1e-12) worseThanGreedy++
  }
  return {
    instances: count,
    symbols: 6,
    meanTrackingError: { kernel: kernelSum / count, greedy: greedySum / count, optimum: optimumSum / count },
    kernelOverOptimum: round(kernelSum / optimumSum, 4),
    greedyOverOptimum: round(greedySum / optimumSum, 4),
    worseThanGreedy
  }
}

const main = () => {
  const args = process.argv.slice(2)
  const only = args[args.indexOf("--case") + 1]
  if (args.includes("--case") && only !== undefined) {
    const result = only === "quality" ? quality() : cases[only]?.()
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  const child = (name: string): unknown => {
    const out = spawnSync(process.execPath, [import.meta.filename, "--case", name], { encoding: "utf8" })
    if (out.status !== 0) throw new Error(`bench case ${name} failed: ${out.stderr}`)
    return JSON.parse(out.stdout)
  }
  const results = Object.keys(cases).map((name) => child(name) as CaseResult)
  const q = child("quality")
  if (args.includes("--json")) {
    process.stdout.write(`${JSON.stringify({ cases: results, quality: q })}\n`)
    return
  }
  console.log("case                      positions   median ms   positions/s   peak RSS MB")
  for (const r of results) {
    console.log(
      `${r.name.padEnd(26)}${String(r.positions).padStart(9)}${r.medianMs.toFixed(3).padStart(12)}${
        String(r.positionsPerSecond).padStart(14)
      }${r.peakRssMb.toFixed(1).padStart(14)}`
    )
  }
  const whole = results[0]!
  console.log(
    `\nsingle-500-whole: leftover cash ${Number(whole["leftoverCash"])} (greedy ${
      Number(whole["greedyLeftoverCash"])
    }), tracking error ${Number(whole["trackingError"]).toExponential(3)} (greedy ${
      Number(whole["greedyTrackingError"]).toExponential(3)
    })`
  )
  console.log(`quality (${JSON.stringify(q)})`)
}

main()
