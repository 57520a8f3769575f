/**
 * Allocation: how many steps each buy gets from a limited budget.
 *
 * Objective: the squared error of the post-trade values against their targets, plus the
 * squared error of cash against the cash target (the tracking error the bench reports).
 * 1. Start every buy at the step just below its ideal quantity (floor).
 * 2. If that costs more than the budget, trim: scale every buy by budget ÷ cost and
 *    round down (each buy keeps the same share of its wanted quantity).
 * 3. Whole-share search (`search`): each buy may end one step either side of its
 *    nearest-step target. With few buys (`EXACT_CANDIDATES`) every combination is tried,
 *    so the result is the optimum of that box; with more, the step that lowers the error
 *    most is added while one fits (top-up), then single drops and one-for-one swaps are
 *    applied while they lower the error (swaps only up to `SWAP_CANDIDATES` buys and
 *    two-for-one exchanges up to `PAIR_CANDIDATES`, where their quadratic and cubic cost
 *    stays small next to the arithmetic). Up to `SWAP_CANDIDATES`, a second start that
 *    fills the largest shortfall first is polished too, and the better result kept.
 *
 * Errors are estimated in double precision to pick moves; whether a move fits the budget
 * is decided exactly whenever the estimate is too close to call, so the budget holds.
 * Ties go to the earlier symbol, so the result never depends on input order.
 */
import { type Decimal, estimate, fromInteger, isPositive, stepsOf, ZERO } from "../decimal.ts"

export interface Candidate {
  /** Valuation value of one step. */
  readonly stepValue: number
  /** Cost of one step at the buy price. */
  readonly stepCost: number
  readonly stepCostExact: Decimal
  /** (held × valuation price − target value) before any buy. */
  readonly error: number
  /** Target value. */
  readonly target: number
  /** The ideal number of steps (target ÷ price − held, in steps), estimated. */
  readonly ideal: number
}

export interface Allocation {
  /** Steps bought per candidate, in candidate order. */
  readonly steps: ReadonlyArray<number>
  /** True when the budget could not pay for every floor and buys were scaled down. */
  readonly trimmed: boolean
}

/** Up to this many buys, every combination within the box is tried (3^8 = 6,561). */
const EXACT_CANDIDATES = 8
/** Up to this many buys, one-for-one swaps are searched (a quadratic pass). */
const SWAP_CANDIDATES = 64
/** Backstop on polishing rounds (each lowers the error, so they end long before). */
const POLISH_ROUNDS_PER_BUY = 64
const POLISH_ROUNDS = 1024
/** Up to this many buys, two-for-one exchanges are searched too (a cubic pass). */
const PAIR_CANDIDATES = 24

const floorOf = (c: Candidate): number => Math.max(0, Math.floor(c.ideal))
const lowOf = (c: Candidate): number => Math.max(0, Math.round(c.ideal) - 1)
const highOf = (c: Candidate): number => Math.max(0, Math.round(c.ideal) + 1)

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
    return { steps: candidates.map(() => 0), trimmed: candidates.some((c) => floorOf(c) > 0) }
  }
  const budgetF = estimate(budget)
  const k = candidates.map(floorOf)
  const lower = candidates.map(lowOf)
  let spent = 0
  for (let i = 0; i < n; i++) spent += k[i]! * candidates[i]!.stepCost
  const slack = BUDGET_SLACK * (budgetF + spent)

  let trimmed = false
  const overBudget = spent > budgetF + slack || (spent > budgetF - slack && exactCost(candidates, k).gt(budget))
  let share = 1
  if (overBudget) {
    trimmed = true
    // Pro rata on what each buy wants (its ideal steps), not on its rounded-down steps, so
    // a buy's share of the cash never depends on where its rounding fell.
    let wanted = 0
    for (const c of candidates) wanted += Math.max(0, c.ideal) * c.stepCost
    share = budgetF / wanted
    spent = 0
    for (let i = 0; i < n; i++) {
      const c = candidates[i]!
      k[i] = Math.min(floorOf(c), Math.max(0, Math.floor(share * c.ideal)))
      lower[i] = 0
      spent += k[i]! * c.stepCost
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
  // After a trim, what the rounding left is handed out in bulk first, so the whole-share
  // search below only ever has a few steps left to try, however cheap a step is.
  if (trimmed) spent = largestRemainders(candidates, k, share, budget, budgetF, spent)
  if (search) improve(candidates, k, lower, budget, budgetF, spent, cashError, trimmed)
  return { steps: k, trimmed }
}

/**
 * Trimmed buys: the cash the rounding-down left goes one step each to the buys furthest
 * below their trimmed share (largest remainder first), then in bulk, as many steps as fit,
 * in the same order. Returns the new estimated spend.
 */
const largestRemainders = (
  candidates: ReadonlyArray<Candidate>,
  k: Array<number>,
  share: number,
  budget: Decimal,
  budgetF: number,
  spentStart: number
): number => {
  let spent = spentStart
  const slack = BUDGET_SLACK * (budgetF + spent)
  const order = candidates
    .map((c, i) => ({ i, remainder: share * c.ideal - k[i]! }))
    .filter((x) => k[x.i]! < floorOf(candidates[x.i]!))
    .sort((x, y) => y.remainder - x.remainder || x.i - y.i)
  const add = (i: number, steps: number): boolean => {
    const cost = steps * candidates[i]!.stepCost
    const room = budgetF - spent
    if (steps <= 0 || cost > room + slack) return false
    if (cost > room - slack && exactCost(candidates, k).plus(stepsOf(steps, candidates[i]!.stepCostExact)).gt(budget)) {
      return false
    }
    k[i] = k[i]! + steps
    spent += cost
    return true
  }
  for (const { i } of order) add(i, 1)
  // Whatever is still left buys as many steps as fit, in the same order, so no buy still
  // below its target is left with cash that could pay for one of its steps.
  for (const { i } of order) {
    const c = candidates[i]!
    const room = floorOf(c) - k[i]!
    // The quotient is an estimate: try one more step first (each try is settled exactly).
    const steps = Math.min(room, Math.floor((budgetF - spent) / c.stepCost))
    if (!(steps < room && add(i, steps + 1)) && !add(i, steps)) add(i, steps - 1)
  }
  return spent
}

/** Exhaustive search of the box for few buys; sweep (and a deficit-first start), then polish, for many. */
const improve = (
  candidates: ReadonlyArray<Candidate>,
  k: Array<number>,
  lower: ReadonlyArray<number>,
  budget: Decimal,
  budgetF: number,
  spentStart: number,
  cashError: number,
  trimmed: boolean
): void => {
  const n = candidates.length
  const a = candidates.map((c) => c.stepValue)
  const c = candidates.map((c) => c.stepCost)
  const upper = candidates.map(highOf)
  const start = k.slice()
  const e = candidates.map((cand, i) => cand.error + k[i]! * cand.stepValue)
  let spent = spentStart
  let ec = cashError - spent
  let scale = 0
  for (let i = 0; i < n; i++) scale = Math.max(scale, a[i]!, c[i]!)
  const noise = GAIN_NOISE * scale * scale
  const slack = BUDGET_SLACK * (budgetF + spent)

  // Trimmed buys start far below their box, so they take the search below instead.
  if (n <= EXACT_CANDIDATES && !trimmed) {
    exhaustive(candidates, k, lower, upper, a, c, budget, budgetF, slack, cashError)
    return
  }

  /** Does an extra cost still fit the budget? Settled exactly when the estimate is too close to call. */
  const fits = (extra: number, add: number, drop: number): boolean => {
    const room = budgetF - spent
    if (extra <= room - slack) return true
    if (extra > room + slack) return false
    let cost = exactCost(candidates, k).plus(candidates[add]!.stepCostExact)
    if (drop >= 0) cost = cost.minus(candidates[drop]!.stepCostExact)
    return !cost.gt(budget)
  }
  const room = (): number => budgetF - spent + slack
  let errorSum = 0
  for (let i = 0; i < n; i++) errorSum += e[i]!
  const move = (i: number, by: number): void => {
    k[i] = k[i]! + by
    e[i] = e[i]! + by * a[i]!
    errorSum += by * a[i]!
    spent += by * c[i]!
    ec -= by * c[i]!
  }
  const reset = (): void => {
    for (let i = 0; i < n; i++) if (k[i] !== start[i]) move(i, start[i]! - k[i]!)
  }
  const objective = (): number => {
    let total = ec * ec
    for (let i = 0; i < n; i++) total += e[i]! * e[i]!
    return total
  }
  const addGain = (j: number): number => a[j]! * (2 * e[j]! + a[j]!) + c[j]! * (c[j]! - 2 * ec)
  const dropGain = (i: number): number => a[i]! * (a[i]! - 2 * e[i]!) + c[i]! * (c[i]! + 2 * ec)

  /** Adds one step at a time while one fits, choosing the lowest `rank`; a rank of 0 or more is never taken. */
  const topUp = (rank: (j: number, gain: number) => number): void => {
    for (;;) {
      let best = -1
      let bestRank = Number.POSITIVE_INFINITY
      for (let j = 0; j < n; j++) {
        if (k[j]! >= upper[j]! || c[j]! > room()) continue
        const gain = addGain(j)
        const r = rank(j, gain)
        if (r >= 0) continue
        if (r < bestRank && fits(c[j]!, j, -1)) {
          best = j
          bestRank = r
        }
      }
      if (best < 0) return
      move(best, 1)
    }
  }
  /** Steepest descent: only steps that lower the error. */
  const steepest = (_: number, gain: number): number => (gain < -noise ? gain : 0)
  /**
   * A plain greedy allocator's rule: the largest weight shortfall first, weights measured
   * against the value invested in these buys, while any symbol is short.
   */
  let targetTotal = 0
  for (const cand of candidates) targetTotal += cand.target
  const deficitFirst = (j: number): number => {
    const invested = targetTotal + errorSum
    const t = candidates[j]!.target
    return invested > 0 ? (t + e[j]!) / invested - t / targetTotal : -t / targetTotal
  }

  /** Drops and one-for-one swaps, then top-up again, while the error falls. */
  const polish = (): void => {
    // Every applied move lowers the error by more than `noise`, so this ends; the bound is a
    // backstop, and a last top-up below keeps "no affordable step lowers the error" true.
    for (let round = 0; round <= POLISH_ROUNDS_PER_BUY * n + POLISH_ROUNDS; round++) {
      topUp(steepest)
      let changed = false
      for (let i = 0; i < n; i++) {
        if (k[i]! <= lower[i]!) continue
        const drop = dropGain(i)
        if (drop < -noise) {
          move(i, -1)
          changed = true
          continue
        }
        if (n > SWAP_CANDIDATES) continue
        let best = -1
        let bestGain = -noise
        for (let j = 0; j < n; j++) {
          if (j === i || k[j]! >= upper[j]!) continue
          const extra = c[j]! - c[i]!
          if (extra > room()) continue
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
      if (!changed && !(n <= PAIR_CANDIDATES && exchange())) return
    }
    topUp(steepest)
  }

  /** The best two-for-one or one-for-two exchange of steps, applied if it lowers the error. */
  const exchange = (): boolean => {
    const symbolGain = (i: number, by: number): number => a[i]! * (a[i]! + 2 * by * e[i]!)
    let best: ReadonlyArray<readonly [number, number]> = []
    let bestGain = -noise
    const consider = (moves: ReadonlyArray<readonly [number, number]>): void => {
      let cash = 0
      let gain = 0
      for (const [i, by] of moves) {
        if (by > 0 ? k[i]! >= upper[i]! : k[i]! <= lower[i]!) return
        cash -= by * c[i]!
        gain += symbolGain(i, by)
      }
      if (-cash > room()) return
      gain += cash * cash + 2 * ec * cash
      if (gain < bestGain) {
        best = moves
        bestGain = gain
      }
    }
    for (let x = 0; x < n; x++) {
      for (let y = x + 1; y < n; y++) {
        for (let z = 0; z < n; z++) {
          if (z === x || z === y) continue
          consider([[x, -1], [y, -1], [z, 1]])
          consider([[x, 1], [y, 1], [z, -1]])
        }
      }
    }
    if (best.length === 0) return false
    // The estimate may be too close to call: confirm the exchange fits exactly before keeping it.
    for (const [i, by] of best) move(i, by)
    if (spent <= budgetF - slack || !exactCost(candidates, k).gt(budget)) return true
    for (const [i, by] of best) move(i, -by)
    return false
  }

  sweep(k, upper, a, c, e, room, fits, move, () => ec)
  polish()
  if (n > SWAP_CANDIDATES) return
  // A second start for moderate sizes, where a local optimum is likeliest to bite: fill the
  // largest relative deficit first (the rule of a plain greedy allocator), then polish.
  const first = k.slice()
  const firstObjective = objective()
  reset()
  topUp(deficitFirst)
  polish()
  if (objective() <= firstObjective - noise) return
  reset()
  for (let i = 0; i < n; i++) if (first[i] !== k[i]) move(i, first[i]! - k[i]!)
}

/**
 * The first pass for many buys: every possible one-step buy, ordered by how much it changes
 * its symbol's error per unit of cost (most helpful first, like a Lagrangian price sweep),
 * is applied in turn when it fits; the best prefix by the full objective is kept. Ordering
 * by the symbol error alone keeps plentiful cash from being spent on overshooting cheap
 * symbols before the expensive ones that are further below target.
 */
const sweep = (
  k: Array<number>,
  upper: ReadonlyArray<number>,
  a: ReadonlyArray<number>,
  c: ReadonlyArray<number>,
  e: ReadonlyArray<number>,
  room: () => number,
  fits: (extra: number, add: number, drop: number) => boolean,
  move: (i: number, by: number) => void,
  cashError: () => number
): void => {
  const moves: Array<{ readonly symbol: number; readonly key: number }> = []
  for (let i = 0; i < k.length; i++) {
    // No more moves than the budget could ever pay for: a trimmed start may sit far below its box.
    const most = Math.min(upper[i]!, k[i]! + Math.floor(room() / c[i]!) + 1)
    for (let m = k[i]!, err = e[i]!; m < most && m + 1 > m; m++, err += a[i]!) {
      moves.push({ symbol: i, key: (a[i]! * (2 * err + a[i]!)) / c[i]! })
    }
  }
  moves.sort((x, y) => x.key - y.key || x.symbol - y.symbol)
  const applied: Array<number> = []
  const blocked = new Uint8Array(k.length)
  let objective = 0
  let best = 0
  let bestAt = 0
  for (const { symbol: i } of moves) {
    if (blocked[i] === 1) continue
    if (c[i]! > room() || !fits(c[i]!, i, -1)) {
      blocked[i] = 1
      continue
    }
    const ec = cashError()
    objective += a[i]! * (2 * e[i]! + a[i]!) + c[i]! * (c[i]! - 2 * ec)
    move(i, 1)
    applied.push(i)
    if (objective < best) {
      best = objective
      bestAt = applied.length
    }
  }
  for (let j = applied.length - 1; j >= bestAt; j--) move(applied[j]!, -1)
}

/**
 * Tries every combination of steps within [lower, upper] that fits the budget, keeping the
 * first best in symbol order.
 */
const exhaustive = (
  candidates: ReadonlyArray<Candidate>,
  k: Array<number>,
  lower: ReadonlyArray<number>,
  upper: ReadonlyArray<number>,
  a: ReadonlyArray<number>,
  c: ReadonlyArray<number>,
  budget: Decimal,
  budgetF: number,
  slack: number,
  cashError: number
): void => {
  const n = candidates.length
  const start = k.slice()
  const current = k.slice()
  let best = Number.POSITIVE_INFINITY
  const visit = (i: number, spent: number, error: number): void => {
    if (i === n) {
      const cash = cashError - spent
      const total = error + cash * cash
      // A combination too close to the budget to call in doubles is settled exactly.
      if (total < best && (spent <= budgetF - slack || !exactCost(candidates, current).gt(budget))) {
        best = total
        for (let j = 0; j < n; j++) k[j] = current[j]!
      }
      return
    }
    const base = candidates[i]!.error
    // At most three values each: the box around the nearest step, or around the trimmed start.
    const low = Math.max(lower[i]!, start[i]! - 1)
    const high = Math.min(upper[i]!, low + 2)
    for (let steps = low; steps <= high; steps++) {
      const cost = spent + steps * c[i]!
      if (cost > budgetF + slack) break
      const err = base + steps * a[i]!
      current[i] = steps
      visit(i + 1, cost, error + err * err)
    }
  }
  visit(0, 0, 0)
}
