/**
 * Weights from a source: the sum checked against the caller's tolerance (a file's is the
 * policy's weightTolerance, a signal service's its own), in the source's unit, and whatever
 * passes handed on summing to at most 1.
 */
import * as Result from "effect/Result"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { blend, format } from "../../../src/kernel/index.ts"
import {
  readWeights,
  scaleDownToOne,
  type WeightsOptions,
  type WeightSum
} from "../../../src/kernel/strategies/weights.ts"
import { check, D0, D1, dec, err, ok, scaled, sum } from "../helpers.ts"

const RUNS = { numRuns: 500 }
const SYMBOLS = ["A", "B", "C", "D", "E"] as const

const partial = (tolerance: string, unit: WeightsOptions["unit"] = "fraction"): WeightsOptions => ({
  unit,
  sum: "partial",
  tolerance: dec(tolerance)
})
const full = (tolerance: string, unit: WeightsOptions["unit"] = "fraction"): WeightsOptions => ({
  unit,
  sum: "full",
  tolerance: dec(tolerance)
})

/** symbol → weight text, from integer units at `places` decimal places. */
const weightsArb = (places: number, max: number): fc.Arbitrary<Record<string, string>> =>
  fc.dictionary(fc.constantFrom(...SYMBOLS), fc.integer({ min: 0, max }).map((u) => scaled(u, places)), { minKeys: 1 })

/** Weights at 9 places summing exactly to 1 + δ, δ within ±0.002: around the tolerances, either side. */
const nearOneArb: fc.Arbitrary<Record<string, string>> = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom(...SYMBOLS), { minLength: 1, maxLength: SYMBOLS.length }),
    fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 5, maxLength: 5 }),
    fc.integer({ min: -2_000_000, max: 2_000_000 })
  )
  .map(([symbols, raw, delta]) => {
    const budget = 1_000_000_000 + delta
    const parts = symbols.map((_, i) => raw[i]!)
    const whole = parts.reduce((a, b) => a + b, 0)
    const units = parts.map((p) => Math.floor((p * budget) / whole))
    units[0]! += budget - units.reduce((a, b) => a + b, 0)
    return Object.fromEntries(symbols.map((symbol, i) => [symbol, scaled(units[i]!, 9)]))
  })

const total = (w: Record<string, string>): ReturnType<typeof dec> => sum(Object.values(w).map(dec))

describe("readWeights: properties", () => {
  it("partial sums: accepted exactly when Σ ≤ 1 + tolerance; the error names the sum as written", () => {
    // Protects: a file is judged by the tolerance it is given (the policy's weightTolerance), not by a constant of its own.
    fc.assert(
      fc.property(weightsArb(6, 600_000), fc.constantFrom("0", "0.000000001", "0.0001", "0.001"), (w, tolerance) => {
        const r = readWeights("targets", w, partial(tolerance))
        const s = total(w)
        if (s.gt(D1.plus(dec(tolerance)))) {
          const e = err(r)
          check(e.path === "sum of weights" && e.value === JSON.stringify(format(s)), () => e.message)
          check(e.expected === `weights that sum to at most 1 (tolerance ${tolerance})`, () => e.expected)
        } else {
          check(Result.isSuccess(r) && r.success.sum.eq(s), () => `${format(s)} refused`)
        }
      }),
      RUNS
    )
  })

  it(
    "whatever passes sums to at most 1: a sum above 1 is scaled down, each" +
      " weight at most what was written, within 1e-12 per weight of 1",
    () => {
      // Protects: no source can hand on weights summing above 1, so no later check (blend, replacement, the policy) blames
      // another file for a source's excess.
      fc.assert(
        fc.property(nearOneArb, fc.constantFrom<WeightSum>("partial", "full"), (w, mode) => {
          const r = readWeights("targets", w, { unit: "fraction", sum: mode, tolerance: dec("0.001") })
          fc.pre(Result.isSuccess(r))
          const { targets, scaledDown } = ok(r)
          const s = total(w)
          check(scaledDown === s.gt(D1), () => `scaledDown ${String(scaledDown)} for Σ ${format(s)}`)
          check(!targets.total.gt(D1), () => `Σ ${format(targets.total)} above 1`)
          for (const t of targets.weights) {
            check(!t.weight.lt(D0) && !t.weight.gt(dec(w[t.symbol]!)), () => `${t.symbol}: ${format(t.weight)}`)
          }
          if (scaledDown) {
            check(
              D1.minus(targets.total).lte(dec("1e-12").times(dec(String(targets.weights.length)))),
              () => `Σ ${format(targets.total)} lost too much`
            )
          } else check(targets.total.eq(s), () => "a sum at most 1 must pass unchanged")
        }),
        RUNS
      )
    }
  )

  it("percent: the same weights read as fractions × 0.01, exactly, and the sum is judged (and named) in percent", () => {
    // Protects: unit: percent reads exactly what a fractions file would, and its errors speak the file's own unit.
    fc.assert(
      fc.property(weightsArb(6, 600_000), (w) => {
        const asPercent = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, format(dec(v).times("100"))]))
        const fraction = readWeights("targets", w, partial("0.0001"))
        const percent = readWeights("targets", asPercent, partial("0.0001", "percent"))
        if (Result.isSuccess(fraction)) {
          check(Result.isSuccess(percent), () => "percent refused")
          const a = fraction.success.targets.weights.map((t) => [t.symbol, format(t.weight)])
          const b = ok(percent).targets.weights.map((t) => [t.symbol, format(t.weight)])
          check(JSON.stringify(a) === JSON.stringify(b), () => `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
        } else {
          const e = err(percent)
          check(e.value === JSON.stringify(format(total(w).times("100"))), () => e.message)
          check(e.expected === "percentages that sum to at most 100 (tolerance 0.01)", () => e.expected)
        }
      }),
      RUNS
    )
  })
})

describe("readWeights: examples", () => {
  it("a source that names no target is refused, whatever its unit or sum; all cash is $CASH", () => {
    for (const options of [partial("0"), full("0.0001", "percent"), { ...partial("0"), sum: "normalize" as const }]) {
      for (const input of [{}, []]) expect(err(readWeights("targets", input, options)).value).toBe("none")
    }
    const cash = ok(readWeights("targets", { $CASH: "100" }, full("0", "percent")))
    expect([cash.targets.weights.length, format(cash.targets.cash)]).toEqual([0, "1"])
  })

  it("$CASH counts in a full allocation's sum and is never a target", () => {
    const r = ok(readWeights("targets", { VTI: "0.7", $CASH: "0.3" }, full("0")))
    expect(r.targets.weights.map((t) => [t.symbol, format(t.weight)])).toEqual([["VTI", "0.7"]])
    expect(format(r.targets.cash)).toBe("0.3")
    expect(err(readWeights("targets", { VTI: "0.7" }, full("0"))).path).toBe("sum of weights")
  })

  it("a file at 1.00005: refused with the default policy's tolerance, accepted (and scaled down to 1) with 0.0001", () => {
    const w = { VTI: "0.50005", BND: "0.5" }
    expect(err(readWeights("targets", w, partial("0.000000001"))).message).toBe(
      "targets: sum of weights: expected weights that sum to at most 1 (tolerance 0.000000001), got \"1.00005\""
    )
    const r = ok(readWeights("targets", w, partial("0.0001")))
    expect(r.scaledDown).toBe(true)
    expect(format(r.sum)).toBe("1.00005")
    // 0.50005 / 1.00005 and 0.5 / 1.00005, each rounded down at 12 places; the rest is cash.
    expect(r.targets.weights.map((t) => [t.symbol, format(t.weight)])).toEqual([
      ["BND", "0.499975001249"],
      ["VTI", "0.50002499875"]
    ])
    expect(format(r.targets.total)).toBe("0.999999999999")
  })

  it("with weightTolerance 0.001 a file summing to 1.0005 passes; 1.0011 does not", () => {
    expect(ok(readWeights("targets", { A: "0.6", B: "0.4005" }, partial("0.001"))).scaledDown).toBe(true)
    expect(err(readWeights("targets", { A: "0.6", B: "0.4011" }, partial("0.001"))).value).toBe("\"1.0011\"")
  })

  it("percent sums are named in percent: 110, not 1.1", () => {
    expect(err(readWeights("targets", { A: "60", B: "50" }, partial("0.000000001", "percent"))).message).toBe(
      "targets: sum of weights: expected percentages that sum to at most 100 (tolerance 0.0000001), got \"110\""
    )
    expect(err(readWeights("targets", { A: "60", B: "30" }, full("0.0001", "percent"))).message).toBe(
      "targets: sum of weights: expected percentages that sum to 100 (tolerance 0.01), or normalize: true, got \"90\""
    )
    // A third in percent, read exactly (a division would round at 12 places).
    expect(
      format(
        ok(readWeights("targets", { A: "33.333333333333333333" }, partial("0", "percent"))).targets.weights[0]!.weight
      )
    ).toBe("0.33333333333333333333")
  })

  it("a full allocation: within the tolerance either side; below 1 stays as it is (the rest is cash)", () => {
    const below = ok(readWeights("targets", { A: "0.99995" }, full("0.0001")))
    expect([format(below.targets.total), below.scaledDown]).toEqual(["0.99995", false])
    const above = ok(readWeights("targets", { A: "0.6", B: "0.40005" }, full("0.0001")))
    expect(above.scaledDown).toBe(true)
    expect(above.targets.total.lte(D1)).toBe(true)
    expect(err(readWeights("targets", { A: "0.9" }, full("0.0001"))).expected).toBe(
      "weights that sum to 1 (tolerance 0.0001), or normalize: true"
    )
  })

  it("normalize: any positive sum, scaled to exactly 1", () => {
    const r = ok(
      readWeights("targets", { A: "3", B: "1" }, { unit: "fraction", sum: "normalize", tolerance: dec("0") })
    )
    expect(r.targets.weights.map((t) => [t.symbol, format(t.weight)])).toEqual([
      ["A", "0.75"],
      ["B", "0.25"]
    ])
    expect(r.scaledDown).toBe(false)
    expect(
      err(readWeights("targets", { A: "0" }, { unit: "fraction", sum: "normalize", tolerance: dec("0") })).expected
    ).toBe(
      "weights with a positive sum to normalize"
    )
  })
})

describe("scaleDownToOne", () => {
  it("attributed targets above 1: at most 1, attribution still sums exactly to each weight, nothing grows", () => {
    // Protects: a blend scaled down to 1 keeps explaining every weight by strategy, and never invests more than the whole account.
    fc.assert(
      fc.property(
        fc.array(
          fc.dictionary(fc.constantFrom(...SYMBOLS), fc.integer({ min: 0, max: 1_000_000 }).map((u) => scaled(u, 6)), {
            minKeys: 1
          }),
          { minLength: 2, maxLength: 2 }
        ),
        ([x, y]) => {
          const targets = (w: Record<string, string>) => ({
            weights: Object.entries(w).map(([symbol, weight]) => ({ symbol, weight: dec(weight), attribution: [] }))
              .sort((a, b) => (a.symbol < b.symbol ? -1 : 1)),
            total: total(w),
            cash: D0
          })
          const b = ok(
            blend([{ name: "x", share: "0.5", targets: targets(x!) }, {
              name: "y",
              share: "0.5",
              targets: targets(y!)
            }])
          ).targets
          const s = scaleDownToOne(b)
          if (!b.total.gt(D1)) {
            check(s === b, () => "a sum at most 1 must be returned as it is")
            return
          }
          check(!s.total.gt(D1) && s.total.eq(sum(s.weights.map((t) => t.weight))), () => `Σ ${format(s.total)}`)
          const parts = sum(b.weights.map((t) => dec(String(t.attribution.length))))
          check(D1.minus(s.total).lte(dec("1e-12").times(parts)), () => `Σ ${format(s.total)} lost too much`)
          for (const t of s.weights) {
            const before = b.weights.find((u) => u.symbol === t.symbol)!
            check(sum(t.attribution.map((a) => a.weight)).eq(t.weight), () => `${t.symbol}: attribution`)
            check(!t.weight.lt(D0) && t.weight.lte(before.weight), () => `${t.symbol}: ${format(t.weight)}`)
          }
        }
      ),
      RUNS
    )
  })
})
