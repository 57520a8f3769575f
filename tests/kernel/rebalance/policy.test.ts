/**
 * One hand-computed example per policy field: exact quantities, prices, values and cash.
 */
import * as Result from "effect/Result"
import { describe, expect, it } from "vitest"
import {
  Decimal,
  format,
  makeModel,
  planRebalance,
  type RebalanceInput,
  type ShareMode,
  validatePolicy,
  validateTargets,
  withVenueRules
} from "../../../src/kernel/index.ts"
import { failure, flat, lineOf, orderRows, outcome, run, warningRows } from "../helpers.ts"

describe("policy: shares", () => {
  const input = (shares: ShareMode): RebalanceInput => ({
    snapshot: { cash: "1000", quotes: flat({ A: "300" }) },
    targets: { A: "1" },
    policy: { shares }
  })

  it("whole: 1000 / 300 = 3.33 shares → 3 shares, 100 left", () => {
    const r = run(input("whole"))
    expect(orderRows(r)).toEqual([["buy", "A", "3", "300", "900"]])
    expect(format(r.orders.cash.after)).toBe("100")
    expect(format(lineOf(r, "A").targetQuantity)).toBe("3")
  })

  it("fractional (6 decimals by default): 3.333333 shares, 0.0001 left", () => {
    const r = run(input("fractional"))
    expect(orderRows(r)).toEqual([["buy", "A", "3.333333", "300", "999.9999"]])
    expect(format(r.orders.cash.after)).toBe("0.0001")
  })
})

describe("policy: quantityDecimals", () => {
  const at = (quantityDecimals: number) =>
    run({
      snapshot: { cash: "1000", quotes: flat({ A: "300" }) },
      targets: { A: "1" },
      policy: { shares: "fractional", quantityDecimals }
    })

  it("2 decimals: 3.33 shares; 0 decimals: 3 shares", () => {
    expect(orderRows(at(2))).toEqual([["buy", "A", "3.33", "300", "999"]])
    expect(format(at(2).orders.cash.after)).toBe("1")
    expect(orderRows(at(0))).toEqual([["buy", "A", "3", "300", "900"]])
  })
})

describe("policy: lotSizes", () => {
  it("buys whole lots: 1000 / 30 = 33.3 shares = 3.33 lots of 10 → 30 shares", () => {
    const r = run({
      snapshot: { cash: "1000", quotes: flat({ A: "30" }) },
      targets: { A: "1" },
      policy: { lotSizes: { A: 10 } }
    })
    expect(orderRows(r)).toEqual([["buy", "A", "30", "30", "900"]])
    expect(format(r.orders.cash.after)).toBe("100")
  })

  it("sells whole lots from an odd-lot holding (an exact half sells the less); a liquidation sells the odd lot too", () => {
    // Equity 125 × 10 + 15 × 10 = 1400; A's target 0.5 × 1400 = 700 = 70 shares, so 55 to
    // sell = 5.5 lots → 5 lots (the half keeps the extra lot): 50 sold, 75 left.
    const r = run({
      snapshot: { cash: "0", positions: { A: "125", B: "15" }, quotes: flat({ A: "10", B: "10" }) },
      targets: { A: "0.5" },
      policy: { lotSizes: { A: "10", B: "10" } }
    })
    expect(orderRows(r)).toEqual([
      ["sell", "A", "50", "10", "500"],
      ["sell", "B", "15", "10", "150"]
    ])
    expect(outcome(r, "A")).toEqual(["sell", "above-target", "75"])
    expect(outcome(r, "B")).toEqual(["sell", "untargeted", "0"])
    expect(format(lineOf(r, "A").targetQuantity)).toBe("75")
    expect(format(r.orders.cash.after)).toBe("650")
  })
})

describe("policy: cashReserve", () => {
  it("a reserve above the cash target scales the targets down to fit it", () => {
    // Equity 1000, reserve 0.1 × 1000 = 100 > cash target 0: A's target is 900 → 8 × 110.
    const r = run({
      snapshot: { cash: "1000", quotes: flat({ A: "110" }) },
      targets: { A: "1" },
      policy: { cashReserve: "0.1" }
    })
    expect([format(r.plan.reserve), format(r.plan.cashTarget), format(lineOf(r, "A").line.targetValue)]).toEqual([
      "100",
      "100",
      "900"
    ])
    expect(orderRows(r)).toEqual([["buy", "A", "8", "110", "880"]])
    expect(format(r.orders.cash.after)).toBe("120")
    expect(warningRows(r)).toEqual([["TARGETS_SCALED_FOR_RESERVE", ""]])
  })

  it("a reserve within the cash the weights leave changes nothing", () => {
    // Σw = 0.8 leaves 200 in cash ≥ reserve 100: A's target stays 800 → 7 × 110.
    const r = run({
      snapshot: { cash: "1000", quotes: flat({ A: "110" }) },
      targets: { A: "0.8" },
      policy: { cashReserve: "0.1" }
    })
    expect([format(r.plan.reserve), format(r.plan.cashTarget), format(lineOf(r, "A").line.targetValue)]).toEqual([
      "100",
      "200",
      "800"
    ])
    expect(orderRows(r)).toEqual([["buy", "A", "7", "110", "770"]])
    expect(r.warnings).toEqual([])
  })
})

describe("policy: minCash", () => {
  it("an amount kept in cash: the reserve is max(cashReserve × equity, minCash)", () => {
    const r = run({
      snapshot: { cash: "1000", quotes: flat({ A: "110" }) },
      targets: { A: "1" },
      policy: { minCash: "250" }
    })
    // Target 1000 − 250 = 750 = 6.8 shares; 7 would cost 770 > 750.
    expect([format(r.plan.reserve), format(r.plan.cashTarget)]).toEqual(["250", "250"])
    expect(orderRows(r)).toEqual([["buy", "A", "6", "110", "660"]])
    expect(format(r.orders.cash.after)).toBe("340")
    const reserve = (cashReserve: string) =>
      format(
        run({
          snapshot: { cash: "1000", quotes: flat({ A: "110" }) },
          targets: { A: "1" },
          policy: { minCash: "250", cashReserve }
        }).plan.reserve
      )
    expect(reserve("0.2")).toBe("250")
    expect(reserve("0.3")).toBe("300")
  })
})

/** Equity 2010: A 10 × 100 (target 0.56 → 1125.6), B 10 × 101 (target 0.44 → 884.4); each 125.6 off. */
const banded = (policy: Record<string, unknown>) =>
  run({
    snapshot: { cash: "0", positions: { A: "10", B: "10" }, quotes: flat({ A: "100", B: "101" }) },
    targets: { A: "0.56", B: "0.44" },
    policy
  })

describe("policy: driftBand", () => {
  it("holds while |value − target| ≤ driftBand × equity", () => {
    // 0.063 × 2010 = 126.63 ≥ 125.6: both within.
    const r = banded({ driftBand: "0.063" })
    expect(r.orders.orders).toEqual([])
    expect(outcome(r, "A")).toEqual(["hold", "within-band", "10"])
    expect(outcome(r, "B")).toEqual(["hold", "within-band", "10"])
  })

  it("trades both once outside it: sell 1 B (8.76 wanted), buy 1 A with the proceeds", () => {
    // 0.06 × 2010 = 120.6 < 125.6.
    const r = banded({ driftBand: "0.06" })
    expect(orderRows(r)).toEqual([
      ["sell", "B", "1", "101", "101"],
      ["buy", "A", "1", "100", "100"]
    ])
    expect(format(r.orders.cash.after)).toBe("1")
  })
})

describe("policy: relativeDriftBand", () => {
  it("compares each deviation with relativeDriftBand × its own target value", () => {
    // 0.12 × 1125.6 = 135.07 ≥ 125.6: A within; 0.12 × 884.4 = 106.13 < 125.6: B sells.
    const r = banded({ relativeDriftBand: "0.12" })
    expect(orderRows(r)).toEqual([["sell", "B", "1", "101", "101"]])
    expect(outcome(r, "A")).toEqual(["hold", "within-band", "10"])
    expect(format(r.orders.cash.after)).toBe("101")
  })

  it("with both bands set, a symbol is held only within both", () => {
    // A: within the relative band but outside the absolute one (120.6): traded.
    const r = banded({ relativeDriftBand: "0.12", driftBand: "0.06" })
    expect(orderRows(r)).toEqual([
      ["sell", "B", "1", "101", "101"],
      ["buy", "A", "1", "100", "100"]
    ])
  })
})

describe("policy: minOrderValue", () => {
  it("drops an order worth less, with a warning and a reason; the cash stays for the others", () => {
    // Fractional (2 decimals): A 50 shares (500), B 0.5 shares (5 < 10: dropped).
    const input = (minOrderValue: string): RebalanceInput => ({
      snapshot: { cash: "1000", quotes: flat({ A: "10", B: "10" }) },
      targets: { A: "0.5", B: "0.005" },
      policy: { shares: "fractional", quantityDecimals: 2, minOrderValue }
    })
    const r = run(input("10"))
    expect(orderRows(r)).toEqual([["buy", "A", "50", "10", "500"]])
    expect(outcome(r, "B")).toEqual(["hold", "below-min-order-value", "0"])
    expect(warningRows(r)).toEqual([["BELOW_MIN_ORDER_VALUE", "B"]])
    expect(format(r.orders.cash.after)).toBe("500")
    expect(orderRows(run(input("5")))).toEqual([
      ["buy", "A", "50", "10", "500"],
      ["buy", "B", "0.5", "10", "5"]
    ])
  })
})

describe("policy: mode", () => {
  // Equity 300: A 20 × 10 (target 150: sell 5); B at 9.5 (target 150: 15.8 shares).
  const at = (mode: string) =>
    run({
      snapshot: { cash: "100", positions: { A: "20" }, quotes: flat({ A: "10", B: "9.5" }) },
      targets: { A: "0.5", B: "0.5" },
      policy: { mode }
    })

  it("full: sells and buys", () => {
    const r = at("full")
    expect(orderRows(r)).toEqual([
      ["sell", "A", "5", "10", "50"],
      ["buy", "B", "15", "9.5", "142.5"]
    ])
    expect(format(r.orders.cash.after)).toBe("7.5")
  })

  it("buy-only: no sells, so buys are cut to the cash there is", () => {
    const r = at("buy-only")
    expect(orderRows(r)).toEqual([["buy", "B", "10", "9.5", "95"]])
    expect(outcome(r, "A")).toEqual(["hold", "buy-only", "20"])
    expect(warningRows(r)).toEqual([["BUYS_TRIMMED", ""]])
    expect(format(r.orders.cash.after)).toBe("5")
  })

  it("sell-only: no buys", () => {
    const r = at("sell-only")
    expect(orderRows(r)).toEqual([["sell", "A", "5", "10", "50"]])
    expect(outcome(r, "B")).toEqual(["hold", "sell-only", "0"])
    expect(format(r.orders.cash.after)).toBe("150")
  })
})

describe("policy: liquidateUntargeted", () => {
  const at = (liquidateUntargeted: boolean) =>
    run({
      snapshot: { cash: "0", positions: { X: "3" }, quotes: flat({ X: "20" }) },
      targets: { "$CASH": "1" },
      policy: { liquidateUntargeted }
    })

  it("true (default): an untargeted holding is sold in full", () => {
    const r = at(true)
    expect(orderRows(r)).toEqual([["sell", "X", "3", "20", "60"]])
    expect(outcome(r, "X")).toEqual(["sell", "untargeted", "0"])
  })

  it("false: it is kept", () => {
    const r = at(false)
    expect(r.orders.orders).toEqual([])
    expect(outcome(r, "X")).toEqual(["hold", "untargeted-kept", "3"])
  })
})

describe("policy: exclude", () => {
  it("an excluded holding is never traded but counts in equity", () => {
    // Equity 40 + 3 × 20 = 100; A's target 100 = 9.09 × 11 but only 40 in cash: 3 × 11.
    const r = run({
      snapshot: { cash: "40", positions: { X: "3" }, quotes: flat({ X: "20", A: "11" }) },
      targets: { A: "1" },
      policy: { exclude: ["X"] }
    })
    expect(format(r.plan.equity)).toBe("100")
    expect(format(lineOf(r, "A").line.targetValue)).toBe("100")
    expect(orderRows(r)).toEqual([["buy", "A", "3", "11", "33"]])
    expect(outcome(r, "X")).toEqual(["hold", "excluded", "3"])
    expect(warningRows(r)).toEqual([["BUYS_TRIMMED", ""]])
  })

  it("an excluded symbol cannot be targeted", () => {
    const f = failure({ snapshot: { cash: "40" }, targets: { A: "1" }, policy: { exclude: [" A"] } })
    expect([f.source, f.path, f.value]).toEqual(["targets", "A", "\"A\""])
  })
})

describe("policy: buyPriceBuffer", () => {
  // A: bid 99, ask 100 (valued at 99.5); target 0.605 × 1000 = 605 = 6.08 shares.
  const at = (buyPriceBuffer: string) =>
    run({
      snapshot: { cash: "1000", quotes: { A: { bid: "99", ask: "100" } } },
      targets: { A: "0.605" },
      policy: { buyPriceBuffer }
    })

  it("0: buys are sized and priced at the ask", () => {
    const r = at("0")
    expect(orderRows(r)).toEqual([["buy", "A", "6", "100", "600"]])
    expect(format(r.orders.cash.after)).toBe("400")
  })

  it("0.01: at ask × 1.01 = 101, six shares (606) no longer fit 605", () => {
    const r = at("0.01")
    expect(orderRows(r)).toEqual([["buy", "A", "5", "101", "505"]])
    expect(warningRows(r)).toEqual([["BUYS_TRIMMED", ""]])
    expect(format(r.orders.cash.after)).toBe("495")
  })
})

describe("policy: weightTolerance", () => {
  const input = (policy?: Record<string, unknown>): RebalanceInput => ({
    snapshot: { cash: "1000", quotes: flat({ A: "1", B: "1" }) },
    targets: { A: "0.6", B: "0.4005" },
    ...(policy === undefined ? {} : { policy })
  })

  it("weights may sum above 1 by at most the tolerance (default 1e-9)", () => {
    const f = failure(input())
    expect([f.source, f.path, f.value]).toEqual(["targets", "sum of weights", "\"1.0005\""])
    const r = run(input({ weightTolerance: "0.001" }))
    expect(format(r.plan.cashTarget)).toBe("0")
    expect(r.lines.map((l) => format(l.line.targetValue))).toEqual(["600", "400.5"])
  })
})

describe("withVenueRules: what a venue imposes", () => {
  const policy = (input: Record<string, unknown>) => {
    const read = validatePolicy(input)
    if (Result.isFailure(read)) throw new Error(read.failure.message)
    return read.success
  }
  const rules = { wholeShares: ["B", "C"], minOrderValue: new Decimal("1") }

  it("fractional: whole-share symbols get a lot of one share (a set lot is kept), the minimum order value rises to the venue's", () => {
    const p = withVenueRules(policy({ shares: "fractional", lotSizes: { C: 10 }, minOrderValue: "0.5" }), rules)
    expect([...p.lotSizes].map(([s, lot]) => [s, format(lot)])).toEqual([["C", "10"], ["B", "1"]])
    expect(format(p.minOrderValue)).toBe("1")
    expect(format(withVenueRules(policy({ shares: "fractional", minOrderValue: "5" }), rules).minOrderValue)).toBe("5")
  })

  it("fractional: 1000 over A and B at 300 → A 1.666666 shares, B whole: 1 share", () => {
    const p = withVenueRules(policy({ shares: "fractional" }), rules)
    const t = validateTargets({ A: "0.5", B: "0.5" }, p)
    if (Result.isFailure(t)) throw new Error(t.failure.message)
    const quotes = [
      { symbol: "A", bid: new Decimal("300"), ask: new Decimal("300") },
      { symbol: "B", bid: new Decimal("300"), ask: new Decimal("300") }
    ]
    const r = planRebalance({ cash: new Decimal("1000"), positions: [] }, makeModel(t.success, quotes, p))
    expect(r.orders.orders.map((o) => [o.symbol, format(o.quantity)])).toEqual([["A", "1.666666"], ["B", "1"]])
  })

  it("whole shares: the policy is returned as it is", () => {
    const p = policy({ shares: "whole" })
    expect(withVenueRules(p, rules)).toBe(p)
  })

  it("a venue's reserve (a market-buy collar) raises the policy's, in either share mode, and never lowers it", () => {
    const collar = { ...rules, cashReserve: new Decimal("0.02") }
    expect(format(withVenueRules(policy({ shares: "whole" }), collar).cashReserve)).toBe("0.02")
    expect(format(withVenueRules(policy({ shares: "fractional", cashReserve: "0.01" }), collar).cashReserve))
      .toBe("0.02")
    expect(format(withVenueRules(policy({ shares: "whole", cashReserve: "0.05" }), collar).cashReserve)).toBe("0.05")
    // $10,000 all in cash, one symbol at $100 targeted at 100%: the 2% reserve leaves $9,800, 98 shares.
    const p = withVenueRules(policy({ shares: "whole" }), collar)
    const t = validateTargets({ A: "1" }, p)
    if (Result.isFailure(t)) throw new Error(t.failure.message)
    const quotes = [{ symbol: "A", bid: new Decimal("100"), ask: new Decimal("100") }]
    const r = planRebalance({ cash: new Decimal("10000"), positions: [] }, makeModel(t.success, quotes, p))
    expect(r.orders.orders.map((o) => [o.symbol, format(o.quantity)])).toEqual([["A", "98"]])
  })
})
