/**
 * The stages on their own (plan → deltas → orders), their composition, and planBuys.
 */
import { describe, expect, it } from "vitest"
import {
  type Account,
  CASH,
  deltas,
  format,
  lineDrift,
  lineWeight,
  type Model,
  orders,
  plan,
  planBuys,
  planRebalance,
  sellQuantity,
  validateAccount,
  validateModel
} from "../../../src/kernel/index.ts"
import { flat, lineOf, ok, orderRows, outcome, render, run, warningRows } from "../helpers.ts"

/**
 * Equity 2110: A 10 × 100 (target 0.56 → 1181.6), B 10 × 101 (target 0.44 → 928.4), C 2 × 50
 * untargeted; band 0.03 × 2110 = 63.3, so all three trade.
 */
const account: Account = ok(validateAccount({ cash: "0", positions: { A: "10", B: "10", C: "2" } }))
const on: Model = ok(
  validateModel({ A: "0.56", B: "0.44" }, flat({ A: "100", B: "101", C: "50" }), { driftBand: "0.03" })
)

describe("stages", () => {
  it("plan: equity, targets and the decision per symbol", () => {
    const p = plan(account, on)
    expect([format(p.equity), format(p.cash), format(p.reserve), format(p.cashTarget)]).toEqual(["2110", "0", "0", "0"])
    expect(p.lines.map((l) => [l.symbol, format(l.targetValue), l.action, l.reason])).toEqual([
      ["A", "1181.6", "buy", "below-target"],
      ["B", "928.4", "sell", "above-target"],
      ["C", "0", "sell", "untargeted"]
    ])
    expect(format(lineWeight(p.lines[0]!)!)).toBe("0.473933649289")
    expect(format(lineDrift(p.lines[0]!)!)).toBe("-0.086066350711")
  })

  it("deltas: nearest-step targets; a liquidation sells exactly what is held", () => {
    const d = deltas(plan(account, on))
    expect(d.map((x) => [x.line.symbol, x.side, format(x.increment), format(x.targetQuantity)])).toEqual([
      ["A", "buy", "1", "12"], // 1181.6 / 100 = 11.816 → 12
      ["B", "sell", "1", "9"], // 928.4 / 101 = 9.19 → 9
      ["C", "sell", "1", "0"]
    ])
    expect(d[0]!.steps).toBeCloseTo(1.816, 9)
    expect(d.slice(1).filter((x) => x.side === "sell").map((x) => [x.steps, format(sellQuantity(x))])).toEqual([
      [1, "1"],
      [0, "2"]
    ])
  })

  it("orders: all deltas; sells only; none; buys only", () => {
    const p = plan(account, on)
    const d = deltas(p)
    const all = orders(p, d)
    // Sells raise 101 + 100 = 201; A's best fit is 2 × 100 (12 is the nearest step).
    expect(all.orders.map((o) => [o.phase, o.symbol, format(o.quantity), format(o.value)])).toEqual([
      ["sell", "B", "1", "101"],
      ["sell", "C", "2", "100"],
      ["buy", "A", "2", "200"]
    ])
    expect([format(all.cash.before), format(all.cash.after), format(all.cash.reserve)]).toEqual(["0", "1", "0"])

    // Sells alone: no buy takes the cash, so (whole shares, full mode) B's sell, which would
    // leave it 19.4 below target with the cash idle, keeps its one step back.
    const sells = orders(p, d.filter((x) => x.side === "sell"))
    expect(sells.orders.map((o) => [o.symbol, format(o.quantity)])).toEqual([["C", "2"]])
    expect(format(sells.cash.after)).toBe("100")
    expect([...sells.skipped]).toEqual([["B", "rounds-to-current"]])

    const none = orders(p, [])
    expect(none.orders).toEqual([])
    expect(format(none.cash.after)).toBe("0")
    expect(none.warnings).toEqual([])

    const buys = orders(p, d.filter((x) => x.side === "buy"))
    expect(buys.orders).toEqual([])
    expect([...buys.skipped]).toEqual([["A", "no-cash"]])
    expect(buys.warnings.map((w) => w.code)).toEqual(["NO_CASH_FOR_BUYS"])
  })

  it("planRebalance composes the stages exactly like rebalance", () => {
    const direct = planRebalance(account, on)
    const whole = run({
      snapshot: { cash: "0", positions: { A: "10", B: "10", C: "2" }, quotes: flat({ A: "100", B: "101", C: "50" }) },
      targets: { A: "0.56", B: "0.44" },
      policy: { driftBand: "0.03" }
    })
    expect(render(direct)).toBe(render(whole))
    expect(outcome(direct, "A")).toEqual(["buy", "below-target", "12"])
  })

  // Regression (kernel bug fixed in 364ca10): with no weights the reserve was not applied to
  // the cash target (cash 50, minCash 100 gave cashTarget 50).
  it("cashTarget is never below the reserve, even with no weights", () => {
    const r = run({ snapshot: { cash: "50" }, targets: { [CASH]: "1" }, policy: { minCash: "100" } })
    expect(format(r.plan.reserve)).toBe("100")
    expect(format(r.plan.cashTarget)).toBe("100")
  })
})

describe("deltas: rounding", () => {
  it("a buy rounds to the nearest step from the holding (odd lots kept)", () => {
    const r = run({
      snapshot: { cash: "4000", positions: { A: "150" }, quotes: flat({ A: "5" }) },
      targets: { A: "0.45" },
      policy: { lotSizes: { A: "100" } }
    })
    // Equity 4750; A's target 2137.5 = 427.5 shares; 277.5 to buy = 2.775 lots → 3 lots.
    expect(format(lineOf(r, "A").targetQuantity)).toBe("450")
  })

  // Regression (kernel bug fixed in 364ca10): the sell was capped at floor(estimate(held) /
  // estimate(step)) and 0.3 / 0.1 = 2.9999999999999996 in doubles: it sold 0.2 and kept 0.1.
  it("sells to the nearest step when held ÷ step is inexact in binary", () => {
    const r = run({
      snapshot: { cash: "100", positions: { A: "0.3" }, quotes: flat({ A: "10" }) },
      targets: { A: "0.001" },
      policy: { shares: "fractional", quantityDecimals: 1 }
    })
    expect(orderRows(r)).toEqual([["sell", "A", "0.3", "10", "3"]])
    expect(format(lineOf(r, "A").targetQuantity)).toBe("0")
  })
})

describe("planBuys", () => {
  // Equity 300: A 20 × 10 (target 150), B at 9.5 (target 150).
  const overweight: Account = ok(validateAccount({ cash: "100", positions: { A: "20" } }))
  const marketFor = (mode: string): Model =>
    ok(validateModel({ A: "0.5", B: "0.5" }, flat({ A: "10", B: "9.5" }), { mode }))

  it("never sells: it sizes buys from the cash that is there", () => {
    const r = planBuys(overweight, marketFor("full"))
    expect(orderRows(r)).toEqual([["buy", "B", "10", "9.5", "95"]])
    expect(outcome(r, "A")).toEqual(["hold", "buy-only", "20"])
    expect(warningRows(r)).toEqual([["BUYS_TRIMMED", ""]])
    // The full plan would have sold 5 A first.
    expect(orderRows(planRebalance(overweight, marketFor("full")))[0]).toEqual(["sell", "A", "5", "10", "50"])
  })

  it("after the sells settled, buys what the full plan's buy phase bought", () => {
    const settled: Account = ok(validateAccount({ cash: "150", positions: { A: "15" } }))
    const r = planBuys(settled, marketFor("full"))
    expect(orderRows(r)).toEqual([["buy", "B", "15", "9.5", "142.5"]])
    expect(format(r.orders.cash.after)).toBe("7.5")
  })

  it("buy-only stays buy-only", () => {
    expect(orderRows(planBuys(overweight, marketFor("buy-only")))).toEqual([["buy", "B", "10", "9.5", "95"]])
  })

  // Regression (kernel bug fixed in 364ca10): under a sell-only policy planBuys ran the
  // sell-only plan unchanged and sold 5 A.
  it("never sells under a sell-only policy either", () => {
    const r = planBuys(overweight, marketFor("sell-only"))
    expect(r.orders.orders.filter((o) => o.side === "sell")).toEqual([])
  })
})
