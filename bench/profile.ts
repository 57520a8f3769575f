/**
 * One bench case in a loop, for a profiler or a quick comparison on a busy machine:
 * `node --cpu-prof bench/profile.ts single-500-whole 400` writes a .cpuprofile;
 * without a profiler it prints the median wall time and the median CPU time per run
 * (CPU time is steadier than wall time when other processes share the cores).
 */
import * as Result from "effect/Result"
import { rebalance } from "../src/kernel/index.ts"
import { batchRun, singleCases } from "./cases.ts"

const plan = (input: Parameters<typeof rebalance>[0]) => () => {
  const result = rebalance(input)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
}

const cases: Record<string, () => () => void> = {
  "single-500-whole": () => plan(singleCases["single-500-whole"]()),
  "single-500-drift": () => plan(singleCases["single-500-drift"]()),
  "single-5000-fractional": () => plan(singleCases["single-5000-fractional"]()),
  // The batch case of bench/kernel.ts, with fewer accounts.
  "batch-1000x30": () => batchRun(1000)
}

const median = (xs: Array<number>): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!

const name = process.argv[2] ?? "single-500-whole"
const runs = Number(process.argv[3] ?? 200)
const make = cases[name]
if (make === undefined) throw new Error(`unknown case ${name} (${Object.keys(cases).join(", ")})`)
const f = make()
for (let i = 0; i < Math.max(5, runs >> 2); i++) f()
const wall: Array<number> = []
const cpu: Array<number> = []
for (let i = 0; i < runs; i++) {
  const c = process.cpuUsage()
  const t = performance.now()
  f()
  wall.push(performance.now() - t)
  const used = process.cpuUsage(c)
  cpu.push((used.user + used.system) / 1000)
}
process.stdout.write(
  `${name}: median wall ${median(wall).toFixed(3)} ms, median cpu ${median(cpu).toFixed(3)} ms, min wall ${
    Math.min(...wall).toFixed(3)
  } ms\n`
)
