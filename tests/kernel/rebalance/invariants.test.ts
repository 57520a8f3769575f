/**
 * Properties that hold for every valid input: cash, quantities, ordering, rounding and modes.
 * Random scenarios: up to 10 symbols from a case-sensitive pool, every quote shape, holdings
 * whole or fractional, any policy (lots, bands, reserves, minimum order value, modes, buffer).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { CASH, format, max } from "../../../src/kernel/index.ts"
import {
  build,
  buyPriceOf,
  check,
  D0,
  dec,
  estimateSlack,
  failure,
  isMultiple,
  mixedArb,
  quoteOf,
  run,
  type Scenario,
  sellPriceOf,
  stepOf,
  sum,
  valuationOf,
  weightsOf,
  within
} from "../helpers.ts"

const RUNS = { numRuns: 1000 }

/** Held 0.3 in steps of 0.1 (0.3 / 0.1 = 2.9999999999999996 in doubles), target ≈ 0.01 share: sell all 0.3. */
const inexactQuotient: Scenario = {
  cash: "100",
  specs: [{
    symbol: "A",
    priceUnits: 100_000,
    spreadUnits: 0,
    quote: "bidask",
    held: "0.3",
    targetRaw: 1,
    lot: undefined,
    excluded: false
  }],
  weightMicros: 1000,
  policy: { shares: "fractional", quantityDecimals: 1 },
  useLots: false
}

describe("kernel invariants", () => {
  it("1. buys never take cash below the reserve or the cash target; cash and order values are exact", () => {
    // Invariant: cash.after = cash.before + Σ sells − Σ buys exactly; each order's value is
    // quantity × its price exactly, at the documented price; equity, reserve and cash target
    // follow their definitions; and when any buy is placed, cash.after ≥ cashTarget ≥ reserve.
    fc.assert(
      fc.property(mixedArb(), (s) => {
        const input = build(s)
        const r = run(input)
        const quotes = new Map(s.specs.map((x) => [x.symbol, quoteOf(x)]))
        const held = new Map(s.specs.filter((x) => x.held !== undefined).map((x) => [x.symbol, dec(x.held!)]))

        // Equity: cash + every priced holding at its valuation price.
        let equity = dec(s.cash)
        for (const [symbol, quantity] of held) {
          const price = valuationOf(quotes.get(symbol)!)
          if (price !== undefined) equity = equity.plus(quantity.times(price))
        }
        check(r.plan.equity.eq(equity), () => `equity ${format(r.plan.equity)} ≠ ${format(equity)}`)
        const reserve = max(dec(s.policy.cashReserve ?? "0").times(equity), dec(s.policy.minCash ?? "0"))
        check(r.plan.reserve.eq(reserve), () => `reserve ${format(r.plan.reserve)} ≠ ${format(reserve)}`)
        const weights = sum(weightsOf(s).filter((t) => t.symbol !== CASH).map((t) => dec(t.weight)))
        const cashTarget = max(reserve, dec("1").minus(weights).times(equity))
        check(r.plan.cashTarget.eq(cashTarget), () => `cashTarget ${format(r.plan.cashTarget)} ≠ ${format(cashTarget)}`)

        const { orders, cash } = r.orders
        for (const o of orders) {
          check(o.value.eq(o.quantity.times(o.price)), () => `${o.symbol}: value ${format(o.value)} ≠ quantity × price`)
          const q = quotes.get(o.symbol)!
          const price = o.side === "buy" ? buyPriceOf(q, s.policy.buyPriceBuffer) : sellPriceOf(q)
          check(
            price !== undefined && o.price.eq(price),
            () => `${o.symbol}: ${o.side} price ${format(o.price)}, expected ${price && format(price)}`
          )
        }
        const sold = sum(orders.filter((o) => o.side === "sell").map((o) => o.value))
        const bought = sum(orders.filter((o) => o.side === "buy").map((o) => o.value))
        check(cash.before.eq(dec(s.cash)), () => `cash.before ${format(cash.before)}`)
        check(cash.reserve.eq(r.plan.reserve), () => `cash.reserve ${format(cash.reserve)}`)
        check(
          cash.after.eq(cash.before.plus(sold).minus(bought)),
          () => `cash.after ${format(cash.after)} ≠ before + sells − buys`
        )
        if (orders.some((o) => o.side === "buy")) {
          check(
            cash.after.gte(r.plan.reserve),
            () => `buys took cash to ${format(cash.after)}, below the reserve ${format(r.plan.reserve)}`
          )
          check(
            cash.after.gte(r.plan.cashTarget),
            () => `buys took cash to ${format(cash.after)}, below the cash target ${format(r.plan.cashTarget)}`
          )
        }
      }),
      RUNS
    )
  })

  it("2. no sell exceeds the holding, no final quantity is negative, every order is positive and in whole steps", () => {
    // Invariant: 0 < order quantity; a sell never sells more than is held; finalQuantity =
    // held ± the order and is never negative; at most one order per symbol; every order
    // quantity is a multiple of the symbol's step, except a full liquidation (sells all).
    fc.assert(
      fc.property(mixedArb(), (s) => {
        const input = build(s)
        const r = run(input)
        const lines = new Map(r.lines.map((l) => [l.line.symbol, l]))
        const seen = new Set<string>()
        for (const o of r.orders.orders) {
          check(!seen.has(o.symbol), () => `${o.symbol}: two orders`)
          seen.add(o.symbol)
          check(o.quantity.gt(D0), () => `${o.symbol}: order quantity ${format(o.quantity)}`)
          const l = lines.get(o.symbol)!
          if (o.side === "sell") {
            check(
              o.quantity.lte(l.line.quantity),
              () => `${o.symbol}: sells ${format(o.quantity)} of ${format(l.line.quantity)}`
            )
          }
          const liquidation = o.side === "sell" && o.quantity.eq(l.line.quantity) && l.line.targetValue.eq(D0)
          const step = stepOf(input.policy as object, o.symbol)
          check(
            liquidation || isMultiple(o.quantity, step),
            () => `${o.symbol}: ${format(o.quantity)} is not a multiple of ${format(step)}`
          )
        }
        for (const l of r.lines) {
          check(l.finalQuantity.gte(D0), () => `${l.line.symbol}: final quantity ${format(l.finalQuantity)}`)
          const o = r.orders.orders.find((x) => x.symbol === l.line.symbol)
          const expected = o === undefined
            ? l.line.quantity
            : o.side === "buy"
            ? l.line.quantity.plus(o.quantity)
            : l.line.quantity.minus(o.quantity)
          check(l.finalQuantity.eq(expected), () => `${l.line.symbol}: final ${format(l.finalQuantity)} ≠ held ± order`)
          check(
            (o === undefined) === (l.action === "hold"),
            () => `${l.line.symbol}: action ${l.action} with order ${o?.side}`
          )
        }
      }),
      RUNS
    )
  })

  it("3. sells precede buys, phase = side, each phase in symbol order", () => {
    // Invariant: the order list is every sell, then every buy; an order's phase is its side;
    // within a phase symbols are strictly ascending (so the list never depends on input order).
    fc.assert(
      fc.property(mixedArb(), (s) => {
        const orders = run(build(s)).orders.orders
        let buying = false
        let previous: { side: string; symbol: string } | undefined
        for (const o of orders) {
          check(o.phase === o.side, () => `${o.symbol}: phase ${o.phase}, side ${o.side}`)
          if (o.side === "buy") buying = true
          check(!(buying && o.side === "sell"), () => `${o.symbol}: a sell after a buy`)
          if (previous !== undefined && previous.side === o.side) {
            check(previous.symbol < o.symbol, () => `${previous!.symbol} before ${o.symbol} in the ${o.side} phase`)
          }
          previous = o
        }
      }),
      RUNS
    )
  })

  it("4. executing the orders leaves every traded symbol within one step of its rounded target", () => {
    // Invariant: unless buys were cut for cash (BUYS_TRIMMED / NO_CASH_FOR_BUYS), each traded
    // symbol's final quantity (held ± order) is within one step of targetQuantity. A sell
    // lands on it exactly, except in whole shares and full mode, where a sell that would
    // leave its symbol below target and the cash idle keeps back (at most) one step.
    fc.assert(
      fc.property(mixedArb(), (s) => {
        const input = build(s)
        const r = run(input)
        const cut = r.warnings.some((w) => w.code === "BUYS_TRIMMED" || w.code === "NO_CASH_FOR_BUYS")
        const traded = new Map(r.orders.orders.map((o) => [o.symbol, o]))
        for (const l of r.lines) {
          const o = traded.get(l.line.symbol)
          if (o === undefined) continue
          const step = stepOf(input.policy as object, l.line.symbol)
          if (o.side === "sell") {
            const keptBack = l.finalQuantity.minus(l.targetQuantity)
            const mayKeepBack = (s.policy.shares ?? "whole") === "whole" && (s.policy.mode ?? "full") === "full" &&
              l.line.targetValue.gt(D0)
            check(
              keptBack.eq(D0) || (mayKeepBack && keptBack.gt(D0) && keptBack.lte(step)),
              () =>
                `${l.line.symbol}: sold to ${format(l.finalQuantity)}, target ${format(l.targetQuantity)}, step ${
                  format(step)
                }`
            )
          } else if (!cut) {
            check(
              within(l.finalQuantity, l.targetQuantity, step),
              () =>
                `${l.line.symbol}: bought to ${format(l.finalQuantity)}, target ${format(l.targetQuantity)}, step ${
                  format(step)
                }`
            )
          }
        }
      }),
      RUNS
    )
  })

  // Regression (kernel bug fixed in 364ca10): a sell stopped one step short of the nearest
  // step when held ÷ step was just under a whole number in doubles (0.3 / 0.1 =
  // 2.9999999999999996). Random inputs hit that only now and then, so the minimal input runs
  // first, every time.
  it("4b. the rounded target of every buy and sell is the nearest step to the ideal quantity", () => {
    // Invariant: targetQuantity = held ± a whole number of steps, within half a step of
    // targetValue ÷ valuation price (up to the double estimate's few ulps); a sell's target
    // may sit higher only when it cannot sell another whole step (less than one step left).
    fc.assert(
      fc.property(mixedArb(), (s) => {
        const input = build(s)
        const r = run(input)
        for (const d of r.deltas) {
          const l = r.lines.find((x) => x.line.symbol === d.line.symbol)!
          const step = stepOf(input.policy as object, l.line.symbol)
          check(l.targetQuantity.eq(d.targetQuantity), () => `${l.line.symbol}: line and delta targets differ`)
          if (l.line.targetValue.eq(D0)) {
            check(
              l.targetQuantity.eq(D0),
              () => `${l.line.symbol}: target value 0 but target quantity ${format(l.targetQuantity)}`
            )
            continue
          }
          check(
            isMultiple(l.targetQuantity.minus(l.line.quantity), step),
            () => `${l.line.symbol}: target ${format(l.targetQuantity)} is not held ± whole steps`
          )
          const ideal = l.line.targetValue.div(d.line.prices.valuation.price)
          const slack = step.div(dec("2")).plus(estimateSlack(ideal))
          const capped = d.side === "sell" && l.targetQuantity.lt(step)
          check(
            capped || within(l.targetQuantity, ideal, slack),
            () =>
              `${l.line.symbol}: ${d.side} target ${format(l.targetQuantity)}, ideal ${format(ideal)}, step ${
                format(step)
              }`
          )
        }
      }),
      { ...RUNS, examples: [[inexactQuotient]] }
    )
  })

  it("8. buy-only never sells, sell-only never buys, excluded symbols never trade (and cannot be targeted)", () => {
    // Invariant: the trade mode bounds the sides; an excluded symbol has no order and holds
    // with reason "excluded"; putting an excluded symbol in the targets is an InvalidInput
    // naming the targets entry.
    fc.assert(
      fc.property(mixedArb(), fc.constantFrom("full", "buy-only", "sell-only"), (s0, mode) => {
        const s = { ...s0, policy: { ...s0.policy, mode } }
        const input = build(s)
        const r = run(input)
        const sides = new Set(r.orders.orders.map((o) => o.side))
        if (mode === "buy-only") check(!sides.has("sell"), () => "buy-only sold")
        if (mode === "sell-only") check(!sides.has("buy"), () => "sell-only bought")
        const excluded = (input.policy as { exclude?: Array<string> }).exclude ?? []
        for (const symbol of excluded) {
          check(!r.orders.orders.some((o) => o.symbol === symbol), () => `${symbol} is excluded but traded`)
          const line = r.lines.find((l) => l.line.symbol === symbol)
          if (line !== undefined) {
            check(
              line.action === "hold" && line.reason === "excluded",
              () => `${symbol}: ${line.action} ${line.reason}`
            )
          }
        }
        // Targeting an excluded symbol is invalid.
        const targets = weightsOf(s)
        const victim = s.specs[0]!.symbol
        const policy = { ...(input.policy as object), exclude: [...excluded, victim] }
        const listed = targets.some((t) => t.symbol === victim)
          ? targets
          : [...targets, { symbol: victim, weight: "0" }]
        const f = failure({ snapshot: input.snapshot, targets: listed, policy })
        const at = listed.findIndex((t) => t.symbol === victim)
        // Entries are read in order, so the error names the victim unless an earlier entry fails first (none can).
        expect([f.source, f.path, f.value]).toEqual(["targets", `[${at}].symbol`, JSON.stringify(victim)])
      }),
      RUNS
    )
  })
})
