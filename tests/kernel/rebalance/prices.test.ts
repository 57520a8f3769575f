/**
 * Which price is used for what, the fallbacks, every warning code, and unpriced holdings.
 */
import { describe, expect, it } from "vitest"
import { format, linePrice, lineWeight, type Priced, type RebalanceInput } from "../../../src/kernel/index.ts"
import { flat, lineOf, orderRows, outcome, run, warningRows } from "../helpers.ts"

const shown = (
  p: Priced | undefined
): [string, string] | undefined => (p === undefined ? undefined : [format(p.price), p.source])

/** The [valuation, buy, sell] prices of A for a quote. */
const pricesOf = (quote: Record<string, string>, buyPriceBuffer = "0") => {
  const l = lineOf(
    run({ snapshot: { cash: "0", quotes: { A: quote } }, targets: { A: "0" }, policy: { buyPriceBuffer } }),
    "A"
  )
  return [shown(l.line.prices.valuation), shown(l.line.prices.buy), shown(l.line.prices.sell)]
}

describe("prices", () => {
  it("bid and ask: valued at the mid, bought at the ask, sold at the bid", () => {
    expect(pricesOf({ bid: "99", ask: "101", last: "50", close: "40" })).toEqual([["100", "mid"], ["101", "ask"], [
      "99",
      "bid"
    ]])
    expect(pricesOf({ bid: "10", ask: "10" })).toEqual([["10", "mid"], ["10", "ask"], ["10", "bid"]])
  })

  it("the buy price carries the buffer: ask × (1 + buyPriceBuffer)", () => {
    expect(pricesOf({ bid: "99", ask: "100" }, "0.005")).toEqual([["99.5", "mid"], ["100.5", "ask"], ["99", "bid"]])
  })

  it("no bid or ask: last, else close, for all three (the buy with the buffer)", () => {
    expect(pricesOf({ last: "20", close: "19" }, "0.01")).toEqual([["20", "last"], ["20.2", "last"], ["20", "last"]])
    expect(pricesOf({ close: "19" })).toEqual([["19", "close"], ["19", "close"], ["19", "close"]])
  })

  it("one side only: valued at last/close if any, else that side; the other side falls back to last/close or is missing", () => {
    expect(pricesOf({ bid: "9" })).toEqual([["9", "bid"], undefined, ["9", "bid"]])
    expect(pricesOf({ ask: "11" })).toEqual([["11", "ask"], ["11", "ask"], undefined])
    expect(pricesOf({ bid: "9", close: "10" })).toEqual([["10", "close"], ["10", "close"], ["9", "bid"]])
    expect(pricesOf({ ask: "11", last: "10" })).toEqual([["10", "last"], ["11", "ask"], ["10", "last"]])
  })

  it("a zero price is no price", () => {
    expect(pricesOf({ bid: "0", ask: "11" })).toEqual([["11", "ask"], ["11", "ask"], undefined])
    expect(pricesOf({ bid: "0", ask: "0", last: "0", close: "0" })).toEqual([undefined, undefined, undefined])
  })
})

describe("warnings, one per code", () => {
  it("UNPRICED_HOLDING: value unknown (undefined), left out of equity, never traded", () => {
    // X has no quote. Equity is the cash alone; A's target 0.52 × 100 = 52 → 5 × 10.
    const r = run({
      snapshot: { cash: "100", positions: { X: "5" }, quotes: flat({ A: "10" }) },
      targets: { A: "0.52" }
    })
    expect(format(r.plan.equity)).toBe("100")
    const x = lineOf(r, "X")
    expect(x.line.value).toBeUndefined()
    expect(lineWeight(x.line)).toBeUndefined()
    expect(linePrice(x.line)).toBeUndefined()
    expect(outcome(r, "X")).toEqual(["hold", "no-price", "5"])
    expect(orderRows(r)).toEqual([["buy", "A", "5", "10", "50"]])
    expect(warningRows(r)).toEqual([["UNPRICED_HOLDING", "X"]])
    // Targeted, it is still not traded, and only the holding warning is raised.
    const t = run({ snapshot: { cash: "100", positions: { X: "5" } }, targets: { X: "0.5" } })
    expect(outcome(t, "X")).toEqual(["hold", "no-price", "5"])
    expect(warningRows(t)).toEqual([["UNPRICED_HOLDING", "X"]])
    expect(t.orders.orders).toEqual([])
  })

  it("NO_PRICE: a targeted symbol with no price at all is not traded", () => {
    const r = run({ snapshot: { cash: "100" }, targets: { A: "0.5" } })
    expect(outcome(r, "A")).toEqual(["hold", "no-price", "0"])
    expect(warningRows(r)).toEqual([["NO_PRICE", "A"]])
  })

  it("NO_BUY_PRICE: a buy is wanted but there is only a bid", () => {
    const r = run({ snapshot: { cash: "100", quotes: { A: { bid: "10" } } }, targets: { A: "0.5" } })
    expect(outcome(r, "A")).toEqual(["hold", "no-price", "0"])
    expect(warningRows(r)).toEqual([["NO_BUY_PRICE", "A"]])
  })

  it("NO_SELL_PRICE: a sell is wanted but there is only an ask", () => {
    const r = run({
      snapshot: { cash: "0", positions: { X: "2" }, quotes: { X: { ask: "10" } } },
      targets: { "$CASH": "1" }
    })
    expect(outcome(r, "X")).toEqual(["hold", "no-price", "2"])
    expect(warningRows(r)).toEqual([["NO_SELL_PRICE", "X"]])
  })

  it("BUY_PRICE_FALLBACK: no ask, so the buy is sized at last × (1 + buffer)", () => {
    // Target 527.5 = 52.75 × 10; 52 × 10.1 = 525.2 fits, 53 × 10.1 = 535.3 does not.
    const r = run({
      snapshot: { cash: "1000", quotes: { A: { last: "10" } } },
      targets: { A: "0.5275" },
      policy: { buyPriceBuffer: "0.01" }
    })
    expect(orderRows(r)).toEqual([["buy", "A", "52", "10.1", "525.2"]])
    expect(warningRows(r)).toEqual([["BUY_PRICE_FALLBACK", "A"]])
    expect(format(r.orders.cash.after)).toBe("474.8")
  })

  it("SELL_PRICE_FALLBACK: no bid, so the sell is valued at close", () => {
    const r = run({
      snapshot: { cash: "0", positions: { X: "3" }, quotes: { X: { close: "20" } } },
      targets: { "$CASH": "1" }
    })
    expect(orderRows(r)).toEqual([["sell", "X", "3", "20", "60"]])
    expect(warningRows(r)).toEqual([["SELL_PRICE_FALLBACK", "X"]])
  })

  it("TARGETS_SCALED_FOR_RESERVE: the reserve does not fit in the cash the weights leave", () => {
    const r = run({
      snapshot: { cash: "1000", quotes: flat({ A: "30", B: "70" }) },
      targets: { A: "0.6", B: "0.35" },
      policy: { minCash: "100" }
    })
    // Investable 900 over Σw = 0.95: 900 ÷ 0.95 = 947.368421052632 (12 places) per unit of weight.
    expect(warningRows(r)).toEqual([["TARGETS_SCALED_FOR_RESERVE", ""]])
    expect(format(r.plan.cashTarget)).toBe("100")
    expect(r.lines.map((l) => format(l.line.targetValue))).toEqual(["568.4210526315792", "331.5789473684212"])
    expect(r.orders.cash.after.gte(r.plan.reserve)).toBe(true)
  })

  it("BELOW_MIN_ORDER_VALUE: a sell worth less than minOrderValue is dropped too", () => {
    const r = run({
      snapshot: { cash: "0", positions: { X: "3" }, quotes: flat({ X: "20" }) },
      targets: { "$CASH": "1" },
      policy: { minOrderValue: "60.01" }
    })
    expect(r.orders.orders).toEqual([])
    expect(outcome(r, "X")).toEqual(["hold", "below-min-order-value", "3"])
    expect(warningRows(r)).toEqual([["BELOW_MIN_ORDER_VALUE", "X"]])
  })

  it("BUYS_TRIMMED: cash cannot pay for every buy; each is cut pro rata", () => {
    // Equity 100 + excluded 100 = 200: A and B want 100 each (10 × 10) with 100 in cash.
    const r = run({
      snapshot: { cash: "100", positions: { X: "1" }, quotes: flat({ A: "10", B: "10", X: "100" }) },
      targets: { A: "0.5", B: "0.5" },
      policy: { shares: "fractional", quantityDecimals: 0, exclude: ["X"] }
    })
    expect(orderRows(r)).toEqual([
      ["buy", "A", "5", "10", "50"],
      ["buy", "B", "5", "10", "50"]
    ])
    expect(warningRows(r)).toEqual([["BUYS_TRIMMED", ""]])
  })

  it("NO_CASH_FOR_BUYS: nothing above the cash target to spend", () => {
    const r = run({
      snapshot: { cash: "0", positions: { X: "1" }, quotes: flat({ A: "10", X: "100" }) },
      targets: { A: "0.5", X: "0.5" }
    })
    expect(r.orders.orders).toEqual([])
    expect(outcome(r, "A")).toEqual(["hold", "no-cash", "0"])
    // X is 50 above its target, half a share: the sell rounds to nothing.
    expect(lineOf(r, "X").line.action).toBe("sell")
    expect(outcome(r, "X")).toEqual(["hold", "rounds-to-current", "1"])
    expect(warningRows(r)).toEqual([["NO_CASH_FOR_BUYS", ""]])
  })

  it("QUANTITY_OUT_OF_RANGE: an order of more than 2^52 steps is not placed", () => {
    const input: RebalanceInput = {
      snapshot: { cash: "1000000", quotes: flat({ A: "0.00000001" }) },
      targets: { A: "1" },
      policy: { shares: "fractional", quantityDecimals: 9 }
    }
    const r = run(input)
    expect(r.orders.orders).toEqual([])
    expect(outcome(r, "A")).toEqual(["hold", "quantity-out-of-range", "0"])
    expect(warningRows(r)).toEqual([["QUANTITY_OUT_OF_RANGE", "A"]])
  })
})
