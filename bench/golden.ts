/**
 * A refactoring guard (not part of `npm run bench`): renders the kernel's output for many
 * seeded inputs (random plans of every size, the bench cases, the quality instances and
 * fuzzed invalid input) to one text per case, so two versions of the kernel can be compared
 * byte for byte: `node bench/golden.ts > a.txt`, change the kernel, run again, `cmp`.
 */
import * as Result from "effect/Result"
import fc from "fast-check"
import {
  blend,
  defaultPolicy,
  format,
  type InvalidInput,
  isDecimal,
  type Rebalance,
  rebalance,
  type RebalanceInput,
  validateAccount,
  validateHistory,
  validatePolicy,
  validateQuotes,
  validateRegimeMap,
  validateReplacements,
  validateShares,
  validateTargets
} from "../src/kernel/index.ts"
import { readWeights } from "../src/kernel/strategies/weights.ts"
import { planJson } from "../src/programs/documents/plan.ts"
import { build, mixedArb } from "../tests/kernel/helpers.ts"
import { cents, fromCash, instance, micro, pricesCents, random, singleCases, symbol, weightsMicro } from "./cases.ts"

const out: Array<string> = []
const emit = (name: string, text: string): void => {
  out.push(`${name}\t${text}`)
}

const rendered = (r: Result.Result<Rebalance, InvalidInput>): string => {
  if (Result.isFailure(r)) return `FAIL ${r.failure.message}`
  const x = r.success
  return JSON.stringify({
    json: planJson(x),
    deltas: x.deltas.map((d) => [d.line.symbol, d.side, format(d.increment), format(d.targetQuantity), d.steps]),
    skipped: [...x.orders.skipped],
    cashTarget: format(x.plan.cashTarget)
  })
}

const value = (r: Result.Result<unknown, InvalidInput>): string =>
  Result.isFailure(r)
    ? `FAIL ${r.failure.source} ${r.failure.path} ${r.failure.value} ${r.failure.expected}`
    : JSON.stringify(r.success, (_, v: unknown) =>
      v instanceof Map
        ? [...v.entries()]
        : v instanceof Set
        ? [...v]
        : isDecimal(v)
        ? format(v)
        : v)

const section = process.argv[2] ?? "all"

if (section === "all" || section === "random") {
  for (const [seed, maxSymbols, count] of [[1, 10, 3000], [2, 15, 3000], [3, 4, 2000]] as const) {
    const samples = fc.sample(mixedArb({ maxSymbols }), { seed, numRuns: count })
    samples.forEach((s, i) => emit(`random-${seed}-${i}`, rendered(rebalance(build(s)))))
  }
}

/** Larger whole-share and fractional accounts: the sweep, polish and exchange searches. */
const sized = (seed: number): RebalanceInput => {
  const next = random(seed)
  const n = 5 + Math.floor(next() * 120)
  const prices = pricesCents(next, n, 100, 200_000)
  const weights = weightsMicro(next, n, next() < 0.5 ? 1_000_000 : 900_000 + Math.floor(next() * 100_000))
  const equity = 1_000 + Math.floor(next() * 3_000_000)
  const heldShare = next()
  const spread = Math.floor(next() * 20)
  const policy: Record<string, unknown> = { shares: next() < 0.8 ? "whole" : "fractional" }
  if (next() < 0.3) policy["minOrderValue"] = String(Math.floor(next() * 200))
  if (next() < 0.3) policy["cashReserve"] = (next() * 0.05).toFixed(4)
  if (next() < 0.3) policy["buyPriceBuffer"] = (next() * 0.01).toFixed(4)
  if (next() < 0.2) policy["driftBand"] = (next() * 0.01).toFixed(4)
  if (next() < 0.2) policy["mode"] = "buy-only"
  return {
    snapshot: {
      cash: String(Math.floor(equity * (1 - heldShare))),
      positions: prices.flatMap((c, i) =>
        next() < 0.3
          ? []
          : [{
            symbol: symbol(i),
            quantity: String(Math.floor(((weights[i]! / 1e6) * equity * heldShare * (0.5 + next())) / (c / 100)))
          }]
      ),
      quotes: prices.map((c, i) => ({ symbol: symbol(i), bid: cents(c), ask: cents(c + spread) }))
    },
    targets: Object.fromEntries(weights.map((w, i) => [symbol(i), micro(w)])),
    policy
  }
}

if (section === "all" || section === "sized") {
  for (let seed = 1; seed <= 600; seed++) emit(`sized-${seed}`, rendered(rebalance(sized(seed))))
}

if (section === "all" || section === "bench") {
  for (const [name, input] of Object.entries(singleCases)) emit(name, rendered(rebalance(input())))
  for (let seed = 1; seed <= 300; seed++) {
    const inst = instance(1000 + seed, 6, 5_000 + seed * 37, 1_000, 60_000)
    emit(`quality-${seed}`, rendered(rebalance(fromCash(inst))))
  }
  for (let seed = 1; seed <= 200; seed++) {
    for (const n of [10, 30, 60]) {
      emit(`fromcash-${seed}-${n}`, rendered(rebalance(fromCash(instance(5000 + seed, n, 2_000 + seed * 991)))))
    }
  }
}

if (section === "all" || section === "invalid") {
  const anything = fc.anything({ maxDepth: 3, withNullPrototype: false, withBigInt: true })
  const junk = fc.oneof(
    anything,
    fc.constantFrom("1", "-1", "0.5", "abc", "1e400", "", " 2 ", 1.5, -0, Number.NaN, null)
  )
  const samples = fc.sample(fc.tuple(mixedArb({ maxSymbols: 6 }), fc.nat(), junk), { seed: 7, numRuns: 3000 })
  samples.forEach(([s, pick, bad], i) => {
    const input = build(s) as { snapshot: Record<string, unknown>; targets: unknown; policy: Record<string, unknown> }
    const where = pick % 8
    const snapshot = input.snapshot as {
      cash: unknown
      positions: Array<Record<string, unknown>>
      quotes: Array<Record<string, unknown>>
    }
    if (where === 0) snapshot.cash = bad
    else if (where === 1 && snapshot.positions.length > 0) snapshot.positions[0]!["quantity"] = bad
    else if (where === 2 && snapshot.quotes.length > 0) snapshot.quotes[0]!["bid"] = bad
    else if (where === 3) input.policy[["driftBand", "shares", "mode", "lotSizes", "exclude", "nope"][pick % 6]!] = bad
    else if (where === 4) input.targets = bad
    else if (where === 5 && Array.isArray(input.targets) && input.targets.length > 0) {
      ;(input.targets[0] as Record<string, unknown>)["weight"] = bad
    } else if (where === 6) snapshot.positions = bad as never
    else snapshot.quotes = bad as never
    emit(`invalid-${i}`, rendered(rebalance(input)))
  })
  const inputs = fc.sample(anything, { seed: 8, numRuns: 1500 })
  inputs.forEach((x, i) => {
    emit(
      `validators-${i}`,
      [
        value(validateAccount(x)),
        value(validateQuotes(x)),
        value(validatePolicy(x)),
        value(validateTargets(x, defaultPolicy)),
        value(validateReplacements(x)),
        value(validateHistory(x)),
        value(validateRegimeMap(x)),
        value(
          readWeights("targets", x, { unit: "fraction", sum: "partial", tolerance: defaultPolicy.weightTolerance })
        ),
        value(validateShares(Array.isArray(x) ? x : [])),
        value(blend(Array.isArray(x) ? x : []))
      ].join("\n  ")
    )
  })
}

process.stdout.write(out.join("\n") + "\n")
