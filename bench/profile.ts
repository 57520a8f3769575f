/**
 * One bench case in a loop, for a profiler or a quick comparison on a busy machine:
 * `node --cpu-prof bench/profile.ts single-500-whole 400` writes a .cpuprofile;
 * without a profiler it prints the median wall time and the median CPU time per run
 * (CPU time is steadier than wall time when other processes share the cores).
 */
import * as Result from "effect/Result"
import { planRebalance, rebalance, validateAccount, validateModel } from "../src/kernel/index.ts"
import { cents, drifted, fromCash, instance, micro, pricesCents, random, symbol, weightsMicro } from "./cases.ts"

const plan = (input: Parameters<typeof rebalance>[0]) => () => {
  const result = rebalance(input)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
}

/** The batch case of bench/kernel.ts, with fewer accounts (`accounts`). */
const batch = (accounts: number) => {
  const n = 30
  const next = random(4)
  const prices = pricesCents(next, n)
  const weights = weightsMicro(next, n, 980_000)
  const quotes = prices.map((c, i) => ({ symbol: symbol(i), bid: cents(c - 2), ask: cents(c + 2) }))
  const targets = Object.fromEntries(weights.map((w, i) => [symbol(i), micro(w)]))
  const raw = Array.from({ length: accounts }, () => {
    const equity = 20_000 + Math.floor(next() * 2_000_000)
    const drift = next() < 1 / 3 ? 0.005 : 0.3
    return {
      cash: String(Math.floor(equity * 0.02 * next())),
      positions: prices.map((c, i) => ({
        symbol: symbol(i),
        quantity: String(Math.floor(((weights[i]! / 1e6) * equity * (1 + drift * (2 * next() - 1))) / (c / 100)))
      }))
    }
  })
  return () => {
    const shared = validateModel(targets, quotes, { driftBand: "0.01", minOrderValue: "1" })
    if (Result.isFailure(shared)) throw new Error(shared.failure.message)
    for (const account of raw) {
      const valid = validateAccount(account)
      if (Result.isFailure(valid)) throw new Error(valid.failure.message)
      planRebalance(valid.success, shared.success)
    }
  }
}

const cases: Record<string, () => () => void> = {
  "single-500-whole": () => plan(fromCash(instance(1, 500, 1_000_000))),
  "single-500-drift": () => plan(drifted(2, 500, 2_000_000, 0.2, "whole")),
  "single-5000-fractional": () => plan(drifted(3, 5000, 20_000_000, 0.2, "fractional")),
  "batch-1000x30": () => batch(1000)
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
