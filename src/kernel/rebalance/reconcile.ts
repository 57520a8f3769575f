/**
 * Reconcile: what the account should hold after a run's fills, and where the broker says
 * otherwise. A run's expected positions are its start positions plus every fill (buys
 * positive); a symbol where the broker reports anything else is a discrepancy, reported
 * and never ignored.
 */
import { type Decimal, isZero, ZERO } from "../decimal.ts"
import type { Side } from "./deltas.ts"
import type { Position } from "./snapshot.ts"

/** What an order (or its stored intent) has filled so far. */
export interface Filled {
  readonly side: Side
  readonly symbol: string
  readonly filledQuantity: Decimal
}

/** A symbol whose quantity at the broker is not what the fills say it should be. */
export interface Discrepancy {
  readonly symbol: string
  readonly expected: Decimal
  readonly actual: Decimal
}

/** Filled quantity per symbol, signed (buys positive), over the given orders; symbols with no fill are absent. */
export const filledBySymbol = (orders: ReadonlyArray<Filled>): ReadonlyMap<string, Decimal> => {
  const out = new Map<string, Decimal>()
  for (const o of orders) {
    if (isZero(o.filledQuantity)) continue
    const signed = o.side === "buy" ? o.filledQuantity : o.filledQuantity.neg()
    const before = out.get(o.symbol)
    out.set(o.symbol, before === undefined ? signed : before.plus(signed))
  }
  return out
}

/** What the account holds once every fill of `orders` is applied to `start` (buys positive). */
export const heldAfterFills = (
  start: ReadonlyArray<Position>,
  orders: ReadonlyArray<Filled>
): ReadonlyMap<string, Decimal> => {
  const held = new Map<string, Decimal>()
  for (const p of start) held.set(p.symbol, p.quantity)
  for (const [symbol, change] of filledBySymbol(orders)) held.set(symbol, (held.get(symbol) ?? ZERO).plus(change))
  return held
}

/**
 * Every symbol, sorted, whose final quantity differs from start + the fills of `orders`.
 * A symbol absent on either side counts as 0.
 */
export const reconcile = (
  start: ReadonlyArray<Position>,
  orders: ReadonlyArray<Filled>,
  final: ReadonlyArray<Position>
): ReadonlyArray<Discrepancy> => {
  const expected = heldAfterFills(start, orders)
  const actual = new Map(final.map((p) => [p.symbol, p.quantity]))
  const symbols = [...new Set([...expected.keys(), ...actual.keys()])].sort()
  const out: Array<Discrepancy> = []
  for (const symbol of symbols) {
    const e = expected.get(symbol) ?? ZERO
    const a = actual.get(symbol) ?? ZERO
    if (!e.eq(a)) out.push({ symbol, expected: e, actual: a })
  }
  return out
}
