/**
 * Scale: in fractional mode an account k times larger (cash, every holding, minCash and
 * minOrderValue all × k) trades about k times as much.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type Decimal, format, type Rebalance } from "../../../src/kernel/index.ts"
import { build, check, D0, dec, mixedArb, run, type Scenario, signedOrders, stepOf } from "../helpers.ts"

const times = (text: string, k: number): string => format(dec(text).times(dec(String(k))))

const scale = (s: Scenario, k: number): Scenario => ({
  ...s,
  cash: times(s.cash, k),
  specs: s.specs.map((x) => (x.held === undefined ? x : { ...x, held: times(x.held, k) })),
  policy: {
    ...s.policy,
    ...(s.policy.minCash === undefined ? {} : { minCash: times(s.policy.minCash, k) }),
    ...(s.policy.minOrderValue === undefined ? {} : { minOrderValue: times(s.policy.minOrderValue, k) })
  }
})

/** |q_k − k·q_1| ≤ k steps for every symbol; when `sides`, a symbol traded in both runs trades on one side. */
const linear = (s: Scenario, k: number, r1: Rebalance, rk: Rebalance): void => {
  const q1 = signedOrders(r1)
  const qk = signedOrders(rk)
  const K = dec(String(k))
  const policy = build(s).policy as object
  for (const symbol of new Set([...q1.keys(), ...qk.keys()])) {
    const a = q1.get(symbol) ?? D0
    const b = qk.get(symbol) ?? D0
    const step = stepOf(policy, symbol)
    check(
      b.minus(a.times(K)).abs().lte(step.times(K)),
      () => `${symbol}: q1 = ${format(a)}, q${k} = ${format(b)}, step ${format(step)}`
    )
  }
}

const sidesKept = (r1: Rebalance, rk: Rebalance): void => {
  const qk = signedOrders(rk)
  for (const [symbol, a] of signedOrders(r1)) {
    const b = qk.get(symbol)
    if (b !== undefined) check(a.s === b.s, () => `${symbol}: side flipped (${format(a)} → ${format(b)})`)
  }
  // The plan itself is exactly scaled, so every line decides the same action.
  for (let i = 0; i < r1.lines.length; i++) {
    const x = r1.lines[i]!.line
    const y = rk.lines[i]!.line
    check(
      x.symbol === y.symbol && x.action === y.action && x.reason === y.reason,
      () => `${x.symbol}: ${x.action}/${x.reason} → ${y.action}/${y.reason}`
    )
  }
}

/** An order over 2^52 steps is not placed (QUANTITY_OUT_OF_RANGE): a cap, so not linear either. */
const capped = (r: Rebalance): boolean => r.warnings.some((w) => w.code === "QUANTITY_OUT_OF_RANGE")

const cutFor = (r: Rebalance): boolean =>
  capped(r) ||
  r.warnings.some((w) =>
    w.code === "BUYS_TRIMMED" || w.code === "NO_CASH_FOR_BUYS" || w.code === "BELOW_MIN_ORDER_VALUE"
  )

describe("scaling", () => {
  it("7. fractional: k × the account trades k × as much (within k steps), and no side flips", () => {
    // Invariant: with shares fractional and integer k in [2, 10], scaling cash, every held
    // quantity, minCash and minOrderValue by k leaves every line's action unchanged, never
    // flips a side, and — when neither run cut buys for cash or dropped an order at the
    // minOrderValue threshold — moves each symbol's signed order quantity q_k at most k steps
    // from k × q_1. The exempt runs are not linear by construction: a sell worth exactly
    // minOrderValue at k = 1 may round to k·q_1 − 1 step and fall below k × minOrderValue (see
    // the next test); a cut for cash may happen at one scale and not the other, and sells
    // rounded to the nearest step move the budget by up to k steps' value, which trimming
    // converts at another symbol's price; an order over 2^52 steps is not placed at all.
    fc.assert(
      fc.property(mixedArb({ policy: { shares: "fractional" } }), fc.integer({ min: 2, max: 10 }), (s, k) => {
        const r1 = run(build(s))
        const rk = run(build(scale(s, k)))
        sidesKept(r1, rk)
        if (!cutFor(r1) && !cutFor(rk)) linear(s, k, r1, rk)
      }),
      { numRuns: 1000 }
    )
  })

  it("minOrderValue is a threshold, so scaling it with the account is not linear (why 7 exempts such runs)", () => {
    // Held 10 × 1, target 8.4: sell 1.6 → 2 (worth 2 = minOrderValue, kept). Twice the
    // account: sell 3.2 → 3, worth 3 < 4 = 2 × minOrderValue, dropped.
    const at = (k: number) =>
      run({
        snapshot: { cash: "0", positions: { A: String(10 * k) }, quotes: { A: { bid: "1", ask: "1" } } },
        targets: { A: "0.84" },
        policy: { shares: "fractional", quantityDecimals: 0, minOrderValue: String(2 * k) }
      })
    const one = at(1)
    expect(one.orders.orders.map((o) => [o.side, format(o.quantity), format(o.value)])).toEqual([["sell", "2", "2"]])
    const two = at(2)
    expect(two.orders.orders).toEqual([])
    expect(two.warnings.map((w) => [w.code, w.symbol])).toEqual([["BELOW_MIN_ORDER_VALUE", "A"]])
    expect(two.lines[0]!.reason).toBe("below-min-order-value")
  })

  it("a cut for cash is not linear either: the buys follow the sells' rounding (why 7 exempts such runs)", () => {
    // Equity 1 + 10 × 100 + Y 5 × 100 (excluded) = 1501. X: target 0.576 × 1501 = 8.65 shares,
    // sell 1.35 → 1; A (at 3): 212.1 wanted, 101 to spend → 212 × 101 / 636 = 33.7 → 33.
    // Twice the account: X sells 2.71 → 3 (not 2 × 1), so A gets 424 × 302 / 1272 = 100.7 → 100,
    // not 66 ± 2.
    const at = (k: number) =>
      signedOrders(
        run({
          snapshot: {
            cash: String(k),
            positions: { X: String(10 * k), Y: String(5 * k) },
            quotes: { X: { bid: "100", ask: "100" }, Y: { bid: "100", ask: "100" }, A: { bid: "3", ask: "3" } }
          },
          targets: { X: "0.576", A: "0.424" },
          policy: { shares: "fractional", quantityDecimals: 0, exclude: ["Y"] }
        })
      )
    const show = (m: Map<string, Decimal>) => [...m].map(([symbol, q]) => [symbol, format(q)])
    expect(show(at(1))).toEqual([["X", "-1"], ["A", "33"]])
    expect(show(at(2))).toEqual([["X", "-3"], ["A", "100"]])
  })
})
