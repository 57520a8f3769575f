/**
 * Drift: how far an account is from its targets, as one number a fleet summary can show: the
 * largest |weight − target weight| over the plan's symbols. Weights are taken at the plan's
 * valuation prices, so before, planned and filled drift are measured with one ruler; an
 * unpriced symbol has no weight and is left out.
 */
import { type Decimal, isZero, max, multiply, sumOf, ZERO } from "../decimal.ts"
import { linePrice } from "./plan.ts"
import type { Rebalance } from "./rebalance.ts"
import type { Position } from "./snapshot.ts"

/** Cash and quantities held: at the start, as planned, or as the venue reported them at the end. */
export interface Holdings {
  readonly cash: Decimal
  readonly quantity: (symbol: string) => Decimal
}

/** The account as the plan found it. */
export const heldAtStart = (rebalance: Rebalance): Holdings => {
  const held = new Map(rebalance.lines.map((l) => [l.line.symbol, l.line.quantity]))
  return { cash: rebalance.plan.cash, quantity: (symbol) => held.get(symbol) ?? ZERO }
}

/** The account once every order of the plan fills at its own price. */
export const heldAsPlanned = (rebalance: Rebalance): Holdings => {
  const held = new Map(rebalance.lines.map((l) => [l.line.symbol, l.finalQuantity]))
  return { cash: rebalance.orders.cash.after, quantity: (symbol) => held.get(symbol) ?? ZERO }
}

/** The account as a snapshot reported it. */
export const heldIn = (cash: Decimal, positions: ReadonlyArray<Position>): Holdings => {
  const held = new Map(positions.map((p) => [p.symbol, p.quantity]))
  return { cash, quantity: (symbol) => held.get(symbol) ?? ZERO }
}

/**
 * The largest |weight − target weight| of `holdings` over the plan's priced symbols (a
 * fraction: 0.031 is 3.1 points). Zero when nothing is priced or the equity is zero.
 */
export const largestDrift = (rebalance: Rebalance, holdings: Holdings): Decimal => {
  const priced = rebalance.lines.flatMap(({ line }) => {
    const price = linePrice(line)
    return price === undefined ? [] : [{ line, value: multiply(holdings.quantity(line.symbol), price) }]
  })
  const equity = sumOf([holdings.cash, ...priced.map((p) => p.value)])
  if (!equity.gt(ZERO) || priced.length === 0) return ZERO
  let largest = ZERO
  for (const { line, value } of priced) {
    const weight = isZero(value) ? ZERO : value.div(equity)
    largest = max(largest, weight.minus(line.targetWeight).abs())
  }
  return largest
}
