/**
 * Orders: the sell phase, then the buy phase, from the deltas.
 *
 * Sells are priced at the sell price and raise cash. Buys may spend
 * cash + sell proceeds − the cash target (which is never below the reserve), and no more.
 * When that is short, buys are trimmed pro rata (see allocation.ts). An order worth less
 * than minOrderValue is dropped with a warning; a dropped buy frees its cash for the others.
 */
import * as Schema from "effect/Schema"
import {
  add,
  compare,
  type Decimal,
  estimate,
  format,
  isPositive,
  isZero,
  multiply,
  stepsOf,
  subtract,
  sumOf
} from "../decimal.ts"
import { allocate, type Candidate } from "./allocation.ts"
import { type BuyDelta, type Delta, type SellDelta, sellQuantity, type Side } from "./deltas.ts"
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

const order = (delta: Delta, quantity: Decimal, price: Decimal): Order => ({
  symbol: delta.line.symbol,
  side: delta.side,
  quantity,
  price,
  value: multiply(quantity, price),
  phase: delta.side,
  attribution: delta.line.attribution
})

const sellOrder = (delta: SellDelta, quantity: Decimal): Order => order(delta, quantity, delta.line.prices.sell.price)

const buyOrder = (delta: BuyDelta, steps: number): Order =>
  order(delta, stepsOf(steps, delta.increment), delta.line.prices.buy.price)

/** Why wanted trades produced no order, and the warnings that say so: what both phases report. */
interface Report {
  readonly minOrderValue: Decimal
  readonly skipped: Map<string, Reason>
  readonly warnings: Array<Warning>
}

/** An order worth less than minOrderValue: reported as dropped. */
const tooSmall = (report: Report, o: Order): boolean => {
  if (compare(o.value, report.minOrderValue) >= 0) return false
  report.skipped.set(o.symbol, "below-min-order-value")
  report.warnings.push(
    warning(
      "BELOW_MIN_ORDER_VALUE",
      `${o.symbol}: ${o.side} worth ${format(o.value)} is below minOrderValue ${format(report.minOrderValue)}; dropped`,
      o.symbol
    )
  )
  return true
}

/** Beyond 2^52 steps a double cannot count one step at a time; no real order is that large. */
const outOfRange = (report: Report, delta: Delta): boolean => {
  if (delta.steps <= MAX_STEPS) return false
  report.skipped.set(delta.line.symbol, "quantity-out-of-range")
  report.warnings.push(
    warning(
      "QUANTITY_OUT_OF_RANGE",
      `${delta.line.symbol}: the ${delta.side} would be more than 2^52 steps of ${format(delta.increment)}; not traded`,
      delta.line.symbol
    )
  )
  return true
}

/** Σ quantity × price of the orders. */
const valueOf = (orders: ReadonlyArray<Order>): Decimal => sumOf(orders.map((o) => o.value))

/** A sell order with the delta it came from. */
interface Sale {
  readonly order: Order
  readonly delta: SellDelta
}

export const orders = (plan: Plan, planned: ReadonlyArray<Delta>): Orders => {
  const policy = plan.model.policy
  const report: Report = { minOrderValue: policy.minOrderValue, skipped: new Map(), warnings: [] }
  const sales: Array<Sale> = []
  const buys: Array<BuyDelta> = []
  for (const delta of planned) {
    if (outOfRange(report, delta)) continue
    if (delta.side === "buy") {
      buys.push(delta)
      continue
    }
    const sale = sell(report, delta)
    if (sale !== undefined) sales.push(sale)
  }

  const proceeds = valueOf(sales.map((sale) => sale.order))
  const available = add(plan.cash, proceeds)
  const bought = buyOrders(plan, buys, subtract(available, plan.cashTarget), report)
  const afterBuys = subtract(available, valueOf(bought))
  // Only where buys are allowed: a sell-only plan may leave cash idle by design.
  const kept = policy.shares === "whole" && policy.mode === "full"
    ? keepBack(sales, subtract(afterBuys, plan.cashTarget), report).filter((o): o is Order => o !== undefined)
    : sales.map((sale) => sale.order)
  // A sell that keepBack reduced or dropped raises less cash than was counted before the buys.
  const after = add(subtract(afterBuys, proceeds), valueOf(kept))
  return {
    orders: [...kept, ...bought],
    cash: { before: plan.cash, after, reserve: plan.reserve },
    skipped: report.skipped,
    warnings: report.warnings
  }
}

const sell = (report: Report, delta: SellDelta): Sale | undefined => {
  const quantity = sellQuantity(delta)
  if (isZero(quantity)) {
    report.skipped.set(delta.line.symbol, "rounds-to-current")
    return undefined
  }
  const o = sellOrder(delta, quantity)
  return tooSmall(report, o) ? undefined : { order: o, delta }
}

/**
 * Whole shares: a sell rounds to its nearest step without knowing what the buys leave. If
 * cash is left unspent and the sell took its symbol below target, selling one step less
 * may lower the error, or the plan's own re-plan would buy the step back at the ask; in
 * either case the sell gives the step back (while the unspent cash covers it). Liquidations
 * are never reduced. Returns the sells in the same order, undefined where a sell shrank to
 * nothing.
 */
const keepBack = (
  sales: ReadonlyArray<Sale>,
  spendable: Decimal,
  report: Report
): ReadonlyArray<Order | undefined> => {
  let unspent = spendable
  return sales.map(({ delta, order: sold }) => {
    if (isZero(delta.line.targetValue)) return sold
    const given = giveBack(delta, sold, unspent)
    unspent = given.unspent
    if (given.steps === delta.steps) return sold
    if (given.steps === 0) {
      report.skipped.set(sold.symbol, "rounds-to-current")
      return undefined
    }
    const reduced = sellOrder(delta, stepsOf(given.steps, delta.increment))
    if (compare(reduced.value, report.minOrderValue) >= 0) return reduced
    // Too small to send: keep the sell as planned (its proceeds may already fund buys).
    unspent = add(unspent, subtract(sold.value, reduced.value))
    return sold
  })
}

/**
 * The steps a sell still sells once it gives steps back, one at a time, while a step given
 * back lowers the error (or spares a buy-back at the ask) and the unspent cash covers it;
 * and the cash then left unspent.
 */
const giveBack = (
  delta: SellDelta,
  sold: Order,
  spendable: Decimal
): { readonly steps: number; readonly unspent: Decimal } => {
  const line = delta.line
  const valuation = line.prices.valuation.estimate
  const stepSize = estimate(delta.increment)
  const stepValue = stepSize * valuation
  const stepProceeds = multiply(delta.increment, sold.price)
  const buyPrice = line.prices.buy
  const buyStep = buyPrice === undefined ? undefined : multiply(delta.increment, buyPrice.price)
  const buyStepCost = buyPrice === undefined ? 0 : stepSize * buyPrice.estimate
  const held = estimate(line.quantity)
  const target = estimate(line.targetValue)
  const sellStep = stepSize * estimate(sold.price)
  let unspent = spendable
  let steps = delta.steps
  for (; steps > 0; steps--) {
    const error = (held - steps * stepSize) * valuation - target
    const cash = estimate(unspent)
    const symbolGain = stepValue * (2 * error + stepValue)
    const keep = symbolGain + sellStep * (sellStep - 2 * cash)
    // Selling one step less is always better than selling it and buying it back (the
    // spread is lost), so it is also done whenever the re-plan would buy the step back.
    const buyBack = buyStep === undefined || compare(unspent, buyStep) < 0
      ? 0
      : symbolGain + buyStepCost * (buyStepCost - 2 * cash)
    if (!(error < 0 && (keep < 0 || buyBack < 0) && compare(unspent, stepProceeds) >= 0)) break
    unspent = subtract(unspent, stepProceeds)
  }
  return { steps, unspent }
}

const buyOrders = (
  plan: Plan,
  buys: ReadonlyArray<BuyDelta>,
  budget: Decimal,
  report: Report
): ReadonlyArray<Order> => {
  if (buys.length === 0) return []
  if (!isPositive(budget)) {
    report.warnings.push(
      warning("NO_CASH_FOR_BUYS", `cash after sells is at or below the cash target ${format(plan.cashTarget)}: no buys`)
    )
    for (const delta of buys) report.skipped.set(delta.line.symbol, "no-cash")
    return []
  }
  const search = plan.model.policy.shares === "whole"
  let active = buys
  let candidates = buys.map(candidate)
  for (;;) {
    const round = buyRound(active, candidates, budget, search, report)
    // A dropped buy frees cash that the others may use: allocate again without it.
    if (round.dropped) {
      active = active.filter((_, i) => round.kept[i])
      candidates = candidates.filter((_, i) => round.kept[i])
      continue
    }
    if (round.trimmed) {
      report.warnings.push(
        warning(
          "BUYS_TRIMMED",
          `cash for buys (${format(budget)} after the cash target) is short: buys trimmed pro rata`
        )
      )
    }
    return round.orders
  }
}

/**
 * One allocation of the budget over the buys (`candidates` are theirs, in the same order): their
 * orders, and which buys are kept (each not dropped as too small).
 */
const buyRound = (
  active: ReadonlyArray<BuyDelta>,
  candidates: ReadonlyArray<Candidate>,
  budget: Decimal,
  search: boolean,
  report: Report
) => {
  for (const delta of active) report.skipped.delete(delta.line.symbol)
  // The cash line's error before any buy is the whole budget: cash above its target.
  const allocation = allocate(candidates, budget, estimate(budget), search)
  const orders: Array<Order> = []
  const kept = active.map(() => false)
  let dropped = false
  for (let i = 0; i < active.length; i++) {
    const delta = active[i]!
    const steps = allocation.steps[i]!
    if (steps === 0) {
      report.skipped.set(delta.line.symbol, Math.round(delta.steps) === 0 ? "rounds-to-current" : "no-cash")
      continue
    }
    const o = buyOrder(delta, steps)
    if (tooSmall(report, o)) {
      dropped = true
      continue
    }
    orders.push(o)
    kept[i] = true
  }
  return { orders, kept, dropped, trimmed: allocation.trimmed }
}

const candidate = (delta: BuyDelta): Candidate => {
  const line = delta.line
  const step = estimate(delta.increment)
  const buyPrice = line.prices.buy
  const target = estimate(line.targetValue)
  return {
    stepValue: step * line.prices.valuation.estimate,
    stepCost: step * buyPrice.estimate,
    stepCostExact: multiply(delta.increment, buyPrice.price),
    error: estimate(line.value) - target,
    target,
    ideal: delta.steps
  }
}
