/**
 * Deltas: the quantity each buy or sell moves, in whole steps of the symbol's increment
 * (a lot, one share, or 10^-quantityDecimals).
 *
 * The ideal quantity (target value ÷ valuation price) is estimated in double precision:
 * it only chooses a whole number of steps, and every amount derived from that choice is
 * exact. Order quantities are multiples of the increment, so an odd-lot holding stays
 * tradable in lots; a full liquidation (target 0) sells exactly what is held.
 */
import * as Schema from "effect/Schema"
import { type Decimal, estimate, isZero, stepsOf, ZERO } from "../decimal.ts"
import type { Plan, PlanLine } from "./plan.ts"
import { increment } from "./policy.ts"

/** Which way an order goes. */
export const Side = Schema.Literals(["buy", "sell"])
export type Side = typeof Side.Type

export interface Delta {
  readonly line: PlanLine
  readonly side: Side
  /** One step of quantity for this symbol. */
  readonly increment: Decimal
  /** The ideal quantity rounded to the nearest step from the current holding (0 for a liquidation). */
  readonly targetQuantity: Decimal
  /** Sells: the whole steps sold. Buys: the ideal number of steps (estimated); the allocation chooses near it. */
  readonly steps: number
}

const idealSteps = (line: PlanLine, step: Decimal): number => {
  const price = line.prices.valuation!.estimate
  return (estimate(line.targetValue) / price - estimate(line.quantity)) / estimate(step)
}

/** How close (relative) below a whole number an estimated step count must be to be checked exactly. */
const WHOLE_STEP_SLACK = 1e-9

export const deltas = (plan: Plan): ReadonlyArray<Delta> => {
  const policy = plan.model.policy
  const out: Array<Delta> = []
  for (const line of plan.lines) {
    if (line.action === "hold") continue
    const step = increment(policy, line.symbol)
    if (line.action === "sell") {
      if (isZero(line.targetValue)) {
        out.push({ line, side: "sell", increment: step, targetQuantity: ZERO, steps: 0 })
        continue
      }
      // Nearest step; an exact half keeps the extra step (sells the less). Never more than held,
      // confirmed exactly because the estimate of held ÷ step can land one step high.
      const nearest = Math.max(0, Math.ceil(-idealSteps(line, step) - 0.5))
      // The whole steps held, settled exactly: the estimate of held ÷ step can land one off
      // either way (0.3 ÷ 0.1 is 2.9999999999999996 in doubles).
      let held = Math.floor(estimate(line.quantity) / estimate(step))
      if (stepsOf(held + 1, step).lte(line.quantity)) held++
      else if (held > 0 && stepsOf(held, step).gt(line.quantity)) held--
      const k = Math.min(nearest, held)
      const sold = stepsOf(k, step)
      out.push({ line, side: "sell", increment: step, targetQuantity: line.quantity.minus(sold), steps: k })
      continue
    }
    let x = idealSteps(line, step)
    // Just under a whole number of steps may be that number exactly (0.3 ÷ 0.1 in doubles):
    // settle it with multiplications, so a target worth exactly n steps buys n.
    const whole = Math.ceil(x)
    if (
      whole - x > 0 && whole - x < WHOLE_STEP_SLACK * Math.max(1, whole) &&
      !line.quantity.plus(stepsOf(whole, step)).times(line.prices.valuation!.price).gt(line.targetValue)
    ) {
      x = whole
    }
    out.push({
      line,
      side: "buy",
      increment: step,
      targetQuantity: isZero(line.quantity)
        ? stepsOf(Math.max(0, Math.round(x)), step)
        : line.quantity.plus(stepsOf(Math.max(0, Math.round(x)), step)),
      steps: Math.max(0, x)
    })
  }
  return out
}

/** The quantity a sell delta sells: everything for a liquidation, else its steps. */
export const sellQuantity = (delta: Delta): Decimal =>
  isZero(delta.line.targetValue) ? delta.line.quantity : stepsOf(delta.steps, delta.increment)
