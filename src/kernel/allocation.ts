/**
 * Allocation: how many steps each buy gets from a limited budget.
 *
 * Objective: the squared error of the post-trade values against their targets, plus the
 * squared error of cash against the cash target (the tracking error the bench reports).
 * 1. Start every buy at the step just below its ideal quantity (floor).
 * 2. If that costs more than the budget, trim: scale every buy by budget ÷ cost and
 *    round down (each buy keeps the same share of its wanted quantity).
 * 3. Whole-share search (`search`): repeatedly add the step that lowers the error most
 *    (top-up); then try dropping one step, or swapping one step of one symbol for one of
 *    another, while the error falls. A buy never goes above the step just above its ideal.
 *
 * Errors are estimated in double precision to pick moves; whether a move fits the budget
 * is decided exactly whenever the estimate is too close to call, so the budget holds.
 * Ties go to the earlier symbol, so the result never depends on input order.
 */
import { type Decimal, estimate, fromInteger, isNegative, isPositive, ZERO } from "./decimal.ts"

export interface Candidate {
  /** Valuation value of one step. */
  readonly stepValue: number
  /** Cost of one step at the buy price. */
  readonly stepCost: number
  readonly stepCostExact: Decimal
  /** (held × valuation price − target value) before any buy. */
  readonly error: number
  readonly floor: number
  readonly ceil: number
}

export interface Allocation {
  /** Steps bought per candidate, in candidate order. */
  readonly steps: ReadonlyArray<number>
  /** True when the budget could not pay for every floor and buys were scaled down. */
  readonly trimmed: boolean
}

/** Relative slack under which an estimated budget check is re-done exactly. */
const BUDGET_SLACK = 1e-9
/** Relative size under which an estimated improvement counts as none (rounding noise). */
const GAIN_NOISE = 1e-12

const exactCost = (candidates: ReadonlyArray<Candidate>, steps: ReadonlyArray<number>): Decimal => {
  let cost = ZERO
  for (let i = 0; i < candidates.length; i++) {
    const k = steps[i]!
    if (k > 0) cost = cost.plus(fromInteger(k).times(candidates[i]!.stepCostExact))
  }
  return cost
}

/**
 * Allocates `budget` over the candidates. `cashError` is the cash line's error before any
 * buy (cash after sells − cash target).
 */
export const allocate = (
  candidates: ReadonlyArray<Candidate>,
  budget: Decimal,
  cashError: number,
  search: boolean
): Allocation => {
  const n = candidates.length
  if (n === 0) return { steps: [], trimmed: false }
  if (!isPositive(budget)) {
    return { steps: candidates.map(() => 0), trimmed: candidates.some((c) => c.floor > 0) }
  }
  const budgetF = estimate(budget)
  const k = candidates.map((c) => c.floor)
  const lower = k.slice()
  let spent = 0
  for (let i = 0; i < n; i++) spent += k[i]! * candidates[i]!.stepCost
  const slack = BUDGET_SLACK * (budgetF + spent)

  let trimmed = false
  const overBudget = spent > budgetF + slack || (spent > budgetF - slack && exactCost(candidates, k).gt(budget))
  if (overBudget) {
    trimmed = true
    const factor = budgetF / spent
    spent = 0
    for (let i = 0; i < n; i++) {
      k[i] = Math.floor(factor * k[i]!)
      lower[i] = 0
      spent += k[i]! * candidates[i]!.stepCost
    }
  }
  // Exact guard: estimates near the edge are settled exactly, largest step first.
  if (spent > budgetF - slack) {
    let cost = exactCost(candidates, k)
    while (cost.gt(budget)) {
      let drop = -1
      for (let i = 0; i < n; i++) {
        if (k[i]! > 0 && (drop < 0 || candidates[i]!.stepCost > candidates[drop]!.stepCost)) drop = i
      }
      k[drop] = k[drop]! - 1
      lower[drop] = Math.min(lower[drop]!, k[drop]!)
      cost = cost.minus(candidates[drop]!.stepCostExact)
      spent -= candidates[drop]!.stepCost
      trimmed = true
    }
  }
  if (search) improve(candidates, k, lower, budget, budgetF, spent, cashError)
  return { steps: k, trimmed }
}

/** Top-up, then drops and swaps while they lower the error (see the module comment). */
const improve = (
  candidates: ReadonlyArray<Candidate>,
  k: Array<number>,
  lower: ReadonlyArray<number>,
  budget: Decimal,
  budgetF: number,
  spentStart: number,
  cashError: number
): void => {
  const n = candidates.length
  const a = candidates.map((c) => c.stepValue)
  const c = candidates.map((c) => c.stepCost)
  const e = candidates.map((cand, i) => cand.error + k[i]! * cand.stepValue)
  let spent = spentStart
  let ec = cashError - spent
  let scale = 0
  for (let i = 0; i < n; i++) scale = Math.max(scale, a[i]!, c[i]!)
  const noise = GAIN_NOISE * scale * scale
  const slack = BUDGET_SLACK * (budgetF + spent)

  /** Does an extra cost (exact when `add`/`drop` are given) still fit the budget? */
  const fits = (extra: number, add: number, drop: number): boolean => {
    const room = budgetF - spent
    if (extra <= room - slack) return true
    if (extra > room + slack) return false
    let cost = exactCost(candidates, k).plus(candidates[add]!.stepCostExact)
    if (drop >= 0) cost = cost.minus(candidates[drop]!.stepCostExact)
    return !cost.gt(budget)
  }
  const move = (i: number, by: 1 | -1): void => {
    k[i] = k[i]! + by
    e[i] = e[i]! + by * a[i]!
    spent += by * c[i]!
    ec -= by * c[i]!
  }
  const addGain = (j: number): number => a[j]! * (2 * e[j]! + a[j]!) + c[j]! * (c[j]! - 2 * ec)
  const dropGain = (i: number): number => a[i]! * (a[i]! - 2 * e[i]!) + c[i]! * (c[i]! + 2 * ec)

  const topUp = (): boolean => {
    let changed = false
    for (;;) {
      let best = -1
      let bestGain = -noise
      for (let j = 0; j < n; j++) {
        if (k[j]! >= candidates[j]!.ceil || c[j]! > budgetF - spent + slack) continue
        const gain = addGain(j)
        if (gain < bestGain && fits(c[j]!, j, -1)) {
          best = j
          bestGain = gain
        }
      }
      if (best < 0) return changed
      move(best, 1)
      changed = true
    }
  }

  // Every applied move lowers the error by more than `noise`, so this ends; the bound is a backstop.
  for (let round = 0; round <= 4 * n; round++) {
    topUp()
    let changed = false
    for (let i = 0; i < n; i++) {
      if (k[i]! <= lower[i]!) continue
      const drop = dropGain(i)
      if (drop < -noise) {
        move(i, -1)
        changed = true
        continue
      }
      let best = -1
      let bestGain = -noise
      for (let j = 0; j < n; j++) {
        if (j === i || k[j]! >= candidates[j]!.ceil) continue
        const extra = c[j]! - c[i]!
        if (extra > budgetF - spent + slack) continue
        const gain = drop + addGain(j) - 2 * c[i]! * c[j]!
        if (gain < bestGain && fits(extra, j, i)) {
          best = j
          bestGain = gain
        }
      }
      if (best >= 0) {
        move(i, -1)
        move(best, 1)
        changed = true
      }
    }
    if (!changed) return
  }
}

/** True when the exact cost of the steps fits the budget (for tests and callers that want proof). */
export const fitsBudget = (candidates: ReadonlyArray<Candidate>, steps: ReadonlyArray<number>, budget: Decimal): boolean =>
  !isNegative(budget.minus(exactCost(candidates, steps)))
