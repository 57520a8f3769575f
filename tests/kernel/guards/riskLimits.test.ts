/**
 * Pre-trade risk limits: every breach on its own clause, naming the limit and the order or
 * symbol; confirmation lets them through as overridden.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Decimal } from "../../../src/kernel/decimal.ts"
import { breaches, type RiskInput, riskLimits } from "../../../src/kernel/guards/riskLimits.ts"
import type { Side } from "../../../src/kernel/rebalance/deltas.ts"

const d = (text: string): Decimal => new Decimal(text)
const order = (side: Side, quantity: string, symbol: string, value: string) => ({
  side,
  quantity: d(quantity),
  symbol,
  value: d(value)
})

const input = (change: Partial<RiskInput>): RiskInput => ({
  limits: { maxTurnover: d("0.3"), maxOrderValue: d("20000"), maxWeight: d("0.25") },
  orders: [order("sell", "100", "MSFT", "12000"), order("buy", "120", "AAPL", "25200")],
  equity: d("100000"),
  weights: [{ symbol: "AAPL", weight: d("0.2700004") }, { symbol: "MSFT", weight: d("0.4") }],
  confirmed: false,
  ...change
})

describe("riskLimits", () => {
  it("names every limit the plan breaks and the order or symbol that breaks it", () => {
    expect(breaches(input({}))).toEqual([
      "maxTurnover 0.3: the 2 orders trade 37200 (0.372 of equity)",
      "maxOrderValue 20000: buy 120 AAPL is worth 25200",
      "maxWeight 0.25: buy 120 AAPL takes AAPL to 0.2701"
    ])
    expect(riskLimits(input({}))).toEqual({
      _tag: "Refuse",
      guard: "risk-limits",
      reason: breaches(input({})).join("; ")
    })
  })

  it("holds only the symbols the plan buys to maxWeight (MSFT, sold, stays above it)", () => {
    expect(breaches(input({ limits: { maxWeight: d("0.25") }, orders: [order("sell", "100", "MSFT", "12000")] })))
      .toEqual([])
  })

  it("lets a confirmed plan through, reporting the breaches as overridden", () => {
    expect(riskLimits(input({ confirmed: true }))).toEqual({
      _tag: "Note",
      guard: "risk-limits",
      overridden: true,
      note: `risk limits overridden (confirmed): ${breaches(input({})).join("; ")}`
    })
  })

  it("passes with no limits, and refuses any trade of an account with no equity under a turnover limit", () => {
    expect(riskLimits(input({ limits: {} }))._tag).toBe("Pass")
    expect(breaches(input({ limits: { maxTurnover: d("1") }, equity: d("0") }))).toEqual([
      "maxTurnover 1: the 2 orders trade 37200 (with no equity)"
    ])
  })

  it("refuses for turnover exactly when the orders trade more than maxTurnover × equity", () => {
    const cents = fc.integer({ min: 1, max: 10_000_000 }).map((n) => d(String(n)).div(d("100")))
    const percent = fc.integer({ min: 1, max: 200 }).map((n) => d(String(n)).div(d("100")))
    fc.assert(
      fc.property(fc.array(cents, { maxLength: 10 }), cents, percent, (values, equity, maxTurnover) => {
        const traded = values.reduce((a, b) => a.plus(b), d("0"))
        const orders = values.map((v, i) => order(i % 2 === 0 ? "buy" : "sell", "1", `S${i}`, v.toFixed()))
        const found = breaches(input({ limits: { maxTurnover }, orders, equity, weights: [] }))
        expect(found.length > 0).toBe(traded.gt(maxTurnover.times(equity)))
      }),
      { numRuns: 500 }
    )
  })
})
