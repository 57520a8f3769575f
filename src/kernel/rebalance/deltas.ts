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
import { add, compare, type Decimal, estimate, isZero, multiply, stepsOf, subtract, ZERO } from "../decimal.ts"
import type { BuyLine, Plan, SellLine } from "./plan.ts"
import { increment } from "./policy.ts"

/** Which way an order goes. */
export const Side = Schema.Literals(["buy", "sell"])
export type Side = typeof Side.Type

interface DeltaBasis {
  /** One step of quantity for this symbol. */
  readonly increment: Decimal
  /** The ideal quantity rounded to the nearest step from the current holding (0 for a liquidation). */
  readonly targetQuantity: Decimal
}

export interface BuyDelta extends DeltaBasis {
  readonly side: "buy"
  readonly line: BuyLine
  /** The ideal number of steps (estimated); the allocation chooses near it. */
  readonly steps: number
}

export interface SellDelta extends DeltaBasis {
  readonly side: "sell"
  readonly line: SellLine
  /** The whole steps sold (0 for a liquidation, which sells everything held). */
  readonly steps: number
}

export type Delta = BuyDelta | SellDelta

const idealSteps = (line: BuyLine | SellLine, step: Decimal): number =>
  (estimate(line.targetValue) / line.prices.valuation.estimate - estimate(line.quantity)) / estimate(step)

/** How close (relative) below a whole number an estimated step count must be to be checked exactly. */
const WHOLE_STEP_SLACK = 1e-9

export const deltas = (plan: Plan): ReadonlyArray<Delta> => {
  const policy = plan.model.policy
  const out: Array<Delta> = []
  for (const line of plan.lines) {
    if (line.action === "sell") out.push(sellDelta(line, increment(policy, line.symbol)))
    else if (line.action === "buy") out.push(buyDelta(line, increment(policy, line.symbol)))
  }
  return out
}

const sellDelta = (line: SellLine, step: Decimal): SellDelta => {
  if (isZero(line.targetValue)) return { line, side: "sell", increment: step, targetQuantity: ZERO, steps: 0 }
  // Nearest step; an exact half keeps the extra step (sells the less).
  const nearest = Math.max(0, Math.ceil(-idealSteps(line, step) - 0.5))
  const steps = Math.min(nearest, wholeStepsHeld(line.quantity, step))
  const sold = stepsOf(steps, step)
  return { line, side: "sell", increment: step, targetQuantity: subtract(line.quantity, sold), steps }
}

/**
 * The whole steps held, settled exactly: the estimate of held ÷ step can land one off
 * either way (0.3 ÷ 0.1 is 2.9999999999999996 in doubles).
 */
const wholeStepsHeld = (quantity: Decimal, step: Decimal): number => {
  const held = Math.floor(estimate(quantity) / estimate(step))
  if (compare(stepsOf(held + 1, step), quantity) <= 0) return held + 1
  if (held > 0 && compare(stepsOf(held, step), quantity) > 0) return held - 1
  return held
}

const buyDelta = (line: BuyLine, step: Decimal): BuyDelta => {
  let ideal = idealSteps(line, step)
  // Just under a whole number of steps may be that number exactly (0.3 ÷ 0.1 in doubles):
  // settle it with multiplications, so a target worth exactly n steps buys n.
  const whole = Math.ceil(ideal)
  if (
    whole - ideal > 0 && whole - ideal < WHOLE_STEP_SLACK * Math.max(1, whole) &&
    compare(multiply(add(line.quantity, stepsOf(whole, step)), line.prices.valuation.price), line.targetValue) <= 0
  ) {
    ideal = whole
  }
  const nearest = stepsOf(Math.max(0, Math.round(ideal)), step)
  return {
    line,
    side: "buy",
    increment: step,
    targetQuantity: isZero(line.quantity) ? nearest : add(line.quantity, nearest),
    steps: Math.max(0, ideal)
  }
}

/** The quantity a sell delta sells: everything for a liquidation, else its steps. */
export const sellQuantity = (delta: SellDelta): Decimal =>
  isZero(delta.line.targetValue) ? delta.line.quantity : stepsOf(delta.steps, delta.increment)
