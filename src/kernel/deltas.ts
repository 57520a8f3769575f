/**
 * Deltas: the quantity each buy or sell moves, in whole steps of the symbol's increment
 * (a lot, one share, or 10^-quantityDecimals).
 *
 * The ideal quantity (target value ÷ valuation price) is estimated in double precision:
 * it only chooses a whole number of steps, and every amount derived from that choice is
 * exact. Order quantities are multiples of the increment, so an odd-lot holding stays
 * tradable in lots; a full liquidation (target 0) sells exactly what is held.
 */
import { type Decimal, estimate, fromInteger, isZero, ZERO } from "./decimal.ts"
import type { Plan, PlanLine } from "./plan.ts"
import { increment } from "./policy.ts"

export type Side = "buy" | "sell"

export interface Delta {
  readonly line: PlanLine
  readonly side: Side
  /** One step of quantity for this symbol. */
  readonly increment: Decimal
  /** The ideal quantity rounded to the nearest step from the current holding (0 for a liquidation). */
  readonly targetQuantity: Decimal
  /** Buys: the whole steps just below and just above the ideal; the allocation chooses between them. Sells: both are the steps sold. */
  readonly floorSteps: number
  readonly ceilSteps: number
}

const steps = (line: PlanLine, step: Decimal): number => {
  const price = line.prices.valuation!.estimate
  return (estimate(line.targetValue) / price - estimate(line.quantity)) / estimate(step)
}

export const deltas = (plan: Plan): ReadonlyArray<Delta> => {
  const policy = plan.market.policy
  const out: Array<Delta> = []
  for (const line of plan.lines) {
    if (line.action === "hold") continue
    const step = increment(policy, line.symbol)
    if (line.action === "sell") {
      if (isZero(line.targetValue)) {
        out.push({ line, side: "sell", increment: step, targetQuantity: ZERO, floorSteps: 0, ceilSteps: 0 })
        continue
      }
      // Nearest step; an exact half keeps the extra step (sells the less). Never more than held,
      // confirmed exactly because the estimate of held ÷ step can land one step high.
      let k = Math.max(0, Math.min(Math.ceil(-steps(line, step) - 0.5), Math.floor(estimate(line.quantity) / estimate(step))))
      let sold = fromInteger(k).times(step)
      if (sold.gt(line.quantity)) sold = fromInteger(--k).times(step)
      out.push({ line, side: "sell", increment: step, targetQuantity: line.quantity.minus(sold), floorSteps: k, ceilSteps: k })
      continue
    }
    const x = steps(line, step)
    const floorSteps = Math.max(0, Math.floor(x))
    const ceilSteps = Math.max(0, Math.ceil(x))
    out.push({
      line,
      side: "buy",
      increment: step,
      targetQuantity: line.quantity.plus(fromInteger(Math.max(0, Math.round(x))).times(step)),
      floorSteps,
      ceilSteps
    })
  }
  return out
}

/** The quantity a sell delta sells: everything for a liquidation, else its steps. */
export const sellQuantity = (delta: Delta): Decimal =>
  isZero(delta.line.targetValue) ? delta.line.quantity : fromInteger(delta.floorSteps).times(delta.increment)
