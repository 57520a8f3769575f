/**
 * Orders: the sell phase, then the buy phase, from the deltas.
 *
 * Sells are priced at the sell price and raise cash. Buys may spend
 * cash + sell proceeds − the cash target (which is never below the reserve), and no more.
 * When that is short, buys are trimmed pro rata (see allocation.ts). An order worth less
 * than minOrderValue is dropped with a warning; a dropped buy frees its cash for the others.
 */
import * as Schema from "effect/Schema"
import { type Decimal, estimate, format, isZero, stepsOf, ZERO } from "../decimal.ts"
import { allocate, type Candidate } from "./allocation.ts"
import { type Delta, sellQuantity, type Side } from "./deltas.ts"
import type { Plan, Reason } from "./plan.ts"
import type { Attribution } from "./targets.ts"
import { type Warning, warning } from "./warnings.ts"

/** The run's two order phases: every sell goes out (and fills) before any buy. */
export const Phase = Schema.Literals(["sell", "buy"])
export type Phase = typeof Phase.Type

/** The largest number of steps an order may have: quantities are chosen by counting steps in doubles. */
const MAX_STEPS = 2 ** 52

export interface Order {
  readonly symbol: string
  readonly side: Side
  readonly quantity: Decimal
  /** The price the plan assumed: the sell price, or the buffered buy price. */
  readonly price: Decimal
  /** quantity × price. */
  readonly value: Decimal
  readonly phase: Phase
  readonly attribution: Attribution
}

export interface Orders {
  /** Sell phase first, then buy phase; each in symbol order. */
  readonly orders: ReadonlyArray<Order>
  readonly cash: {
    readonly before: Decimal
    /** before + sell values − buy values, at the orders' own prices. */
    readonly after: Decimal
    readonly reserve: Decimal
  }
  /** Why a wanted trade produced no order. */
  readonly skipped: ReadonlyMap<string, Reason>
  readonly warnings: ReadonlyArray<Warning>
}

const order = (delta: Delta, quantity: Decimal, price: Decimal, phase: Phase): Order => ({
  symbol: delta.line.symbol,
  side: delta.side,
  quantity,
  price,
  value: quantity.times(price),
  phase,
  attribution: delta.line.attribution
})

export const orders = (plan: Plan, planned: ReadonlyArray<Delta>): Orders => {
  const policy = plan.model.policy
  const warnings: Array<Warning> = []
  const skipped = new Map<string, Reason>()
  const small = (o: Order): boolean => {
    if (!o.value.lt(policy.minOrderValue)) return false
    skipped.set(o.symbol, "below-min-order-value")
    warnings.push(
      warning(
        "BELOW_MIN_ORDER_VALUE",
        `${o.symbol}: ${o.side} worth ${format(o.value)} is below minOrderValue ${
          format(policy.minOrderValue)
        }; dropped`,
        o.symbol
      )
    )
    return true
  }

  const sells: Array<Order> = []
  const sellDeltas: Array<Delta> = []
  let proceeds = ZERO
  const buys: Array<Delta> = []
  for (const delta of planned) {
    if (delta.steps > MAX_STEPS) {
      // Beyond 2^52 steps a double cannot count one step at a time; no real order is that large.
      skipped.set(delta.line.symbol, "quantity-out-of-range")
      warnings.push(
        warning(
          "QUANTITY_OUT_OF_RANGE",
          `${delta.line.symbol}: the ${delta.side} would be more than 2^52 steps of ${
            format(delta.increment)
          }; not traded`,
          delta.line.symbol
        )
      )
      continue
    }
    if (delta.side === "buy") {
      buys.push(delta)
      continue
    }
    const quantity = sellQuantity(delta)
    if (isZero(quantity)) {
      skipped.set(delta.line.symbol, "rounds-to-current")
      continue
    }
    const o = order(delta, quantity, delta.line.prices.sell!.price, "sell")
    if (small(o)) continue
    sells.push(o)
    sellDeltas.push(delta)
    proceeds = proceeds.plus(o.value)
  }

  const available = plan.cash.plus(proceeds)
  const budget = available.minus(plan.cashTarget)
  const bought = buyOrders(plan, buys, budget, small, skipped, warnings)
  let after = available
  for (const o of bought) after = after.minus(o.value)
  // Only where buys are allowed: a sell-only plan may leave cash idle by design.
  const kept = policy.shares === "whole" && policy.mode === "full"
    ? keepBack(sells, sellDeltas, after.minus(plan.cashTarget), policy.minOrderValue, skipped)
    : sells
  for (let i = 0; i < sells.length; i++) after = after.minus(sells[i]!.value).plus(kept[i]?.value ?? ZERO)
  return {
    orders: [...kept.filter((o): o is Order => o !== undefined), ...bought],
    cash: { before: plan.cash, after, reserve: plan.reserve },
    skipped,
    warnings
  }
}

/**
 * Whole shares: a sell rounds to its nearest step without knowing what the buys leave. If
 * cash is left unspent and the sell took its symbol below target, selling one step less
 * may lower the error, or the plan's own re-plan would buy the step back at the ask; in
 * either case the sell gives the step back (while the unspent cash covers it). Liquidations are never reduced. Returns the sells
 * in the same order, undefined where a sell shrank to nothing.
 */
const keepBack = (
  sells: ReadonlyArray<Order>,
  deltas: ReadonlyArray<Delta>,
  spendable: Decimal,
  minOrderValue: Decimal,
  skipped: Map<string, Reason>
): ReadonlyArray<Order | undefined> => {
  let unspent = spendable
  return sells.map((sold, i) => {
    const delta = deltas[i]!
    const line = delta.line
    if (isZero(line.targetValue)) return sold
    const valuation = line.prices.valuation!.estimate
    const stepSize = estimate(delta.increment)
    const stepValue = stepSize * valuation
    const stepProceeds = delta.increment.times(sold.price)
    const buyPrice = line.prices.buy
    const buyStep = buyPrice === undefined ? undefined : delta.increment.times(buyPrice.price)
    const b = buyPrice === undefined ? 0 : stepSize * buyPrice.estimate
    let steps = delta.steps
    for (; steps > 0; steps--) {
      const error = (estimate(line.quantity) - steps * stepSize) * valuation - estimate(line.targetValue)
      const cash = estimate(unspent)
      const s = stepSize * estimate(sold.price)
      const symbolGain = stepValue * (2 * error + stepValue)
      const keep = symbolGain + s * (s - 2 * cash)
      // Selling one step less is always better than selling it and buying it back (the
      // spread is lost), so it is also done whenever the re-plan would buy the step back.
      const buyBack = buyStep === undefined || unspent.lt(buyStep) ? 0 : symbolGain + b * (b - 2 * cash)
      if (!(error < 0 && (keep < 0 || buyBack < 0) && !unspent.lt(stepProceeds))) break
      unspent = unspent.minus(stepProceeds)
    }
    if (steps === delta.steps) return sold
    if (steps === 0) {
      skipped.set(sold.symbol, "rounds-to-current")
      return undefined
    }
    const reduced = order(delta, stepsOf(steps, delta.increment), sold.price, "sell")
    if (!reduced.value.lt(minOrderValue)) return reduced
    // Too small to send: keep the sell as planned (its proceeds may already fund buys).
    unspent = unspent.plus(sold.value.minus(reduced.value))
    return sold
  })
}

const buyOrders = (
  plan: Plan,
  buys: ReadonlyArray<Delta>,
  budget: Decimal,
  small: (o: Order) => boolean,
  skipped: Map<string, Reason>,
  warnings: Array<Warning>
): ReadonlyArray<Order> => {
  if (buys.length === 0) return []
  if (!budget.gt(ZERO)) {
    warnings.push(
      warning("NO_CASH_FOR_BUYS", `cash after sells is at or below the cash target ${format(plan.cashTarget)}: no buys`)
    )
    for (const delta of buys) skipped.set(delta.line.symbol, "no-cash")
    return []
  }
  const search = plan.model.policy.shares === "whole"
  let active = buys
  for (;;) {
    for (const delta of active) skipped.delete(delta.line.symbol)
    const candidates: Array<Candidate> = active.map((delta) => {
      const line = delta.line
      const step = estimate(delta.increment)
      const buyPrice = line.prices.buy!
      return {
        stepValue: step * line.prices.valuation!.estimate,
        stepCost: step * buyPrice.estimate,
        stepCostExact: delta.increment.times(buyPrice.price),
        error: estimate(line.value!) - estimate(line.targetValue),
        target: estimate(line.targetValue),
        ideal: delta.steps
      }
    })
    // The cash line's error before any buy is the whole budget: cash above its target.
    const allocation = allocate(candidates, budget, estimate(budget), search)
    const out: Array<Order> = []
    const kept: Array<Delta> = []
    let dropped = false
    for (let i = 0; i < active.length; i++) {
      const delta = active[i]!
      const steps = allocation.steps[i]!
      if (steps === 0) {
        skipped.set(delta.line.symbol, Math.round(delta.steps) === 0 ? "rounds-to-current" : "no-cash")
        continue
      }
      const o = order(delta, stepsOf(steps, delta.increment), delta.line.prices.buy!.price, "buy")
      if (small(o)) {
        dropped = true
        continue
      }
      out.push(o)
      kept.push(delta)
    }
    // A dropped buy frees cash that the others may use: allocate again without it.
    if (dropped) {
      active = kept
      continue
    }
    if (allocation.trimmed) {
      warnings.push(
        warning(
          "BUYS_TRIMMED",
          `cash for buys (${format(budget)} after the cash target) is short: buys trimmed pro rata`
        )
      )
    }
    return out
  }
}
