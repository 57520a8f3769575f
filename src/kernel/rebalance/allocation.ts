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
import { add, type Decimal, estimate, isPositive, stepsOf, subtract, ZERO } from "../decimal.ts"

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

/** The budget, exactly and as the estimate the search compares against. */
interface Budget {
  readonly exact: Decimal
  readonly estimate: number
}

const exactCost = (candidates: ReadonlyArray<Candidate>, steps: ReadonlyArray<number>): Decimal => {
  let cost = ZERO
  for (let i = 0; i < candidates.length; i++) {
    const count = steps[i]!
    if (count > 0) cost = add(cost, stepsOf(count, candidates[i]!.stepCostExact))
  }
  return cost
}

/** Do the steps, and an `extra` cost if any, fit the budget exactly? */
const fitsExactly = (
  candidates: ReadonlyArray<Candidate>,
  steps: ReadonlyArray<number>,
  budget: Budget,
  extra?: Decimal
): boolean => {
  const cost = exactCost(candidates, steps)
  return !(extra === undefined ? cost : add(cost, extra)).gt(budget.exact)
}

/**
 * The estimated budget check: does a cost fit in `room`? Undefined when the estimate is
 * within `slack` of the room, too close to call: then `fitsExactly` decides.
 */
const fitsByEstimate = (cost: number, room: number, slack: number): boolean | undefined =>
  cost <= room - slack ? true : cost <= room + slack ? undefined : false

/** The estimated cost of the steps. */
const costOf = (candidates: ReadonlyArray<Candidate>, steps: ReadonlyArray<number>): number => {
  let spent = 0
  for (let i = 0; i < candidates.length; i++) spent += steps[i]! * candidates[i]!.stepCost
  return spent
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
  if (candidates.length === 0) return { steps: [], trimmed: false }
  if (!isPositive(budget)) {
    return { steps: candidates.map(() => 0), trimmed: candidates.some((c) => floorOf(c) > 0) }
  }
  const money: Budget = { exact: budget, estimate: estimate(budget) }
  const start = floors(candidates, money)
  const { steps, lower } = start
  const trimmed = settle(candidates, start, money) || start.trimmed
  // After a trim, what the rounding left is handed out in bulk first, so the whole-share
  // search below only ever has a few steps left to try, however cheap a step is.
  const spent = trimmed ? largestRemainders(candidates, start, money) : start.spent
  if (search) improve(new Search(candidates, steps, lower, money, spent, cashError), trimmed)
  return { steps, trimmed }
}

/** Where the search starts: the steps, the lowest each may go, their estimated cost. */
interface Start {
  readonly steps: Array<number>
  readonly lower: Array<number>
  spent: number
  /** The budget check's slack, from the floors' cost. */
  readonly slack: number
  /** The floors did not fit: every buy was scaled by `share` of what it wants. */
  readonly trimmed: boolean
  readonly share: number
}

/** Every buy at its floor, or, when the floors cost more than the budget, trimmed pro rata. */
const floors = (candidates: ReadonlyArray<Candidate>, budget: Budget): Start => {
  const steps = candidates.map(floorOf)
  const lower = candidates.map(lowOf)
  const spent = costOf(candidates, steps)
  const slack = BUDGET_SLACK * (budget.estimate + spent)
  if (fitsByEstimate(spent, budget.estimate, slack) ?? fitsExactly(candidates, steps, budget)) {
    return { steps, lower, spent, slack, trimmed: false, share: 1 }
  }
  // Pro rata on what each buy wants (its ideal steps), not on its rounded-down steps, so
  // a buy's share of the cash never depends on where its rounding fell.
  let wanted = 0
  for (const c of candidates) wanted += Math.max(0, c.ideal) * c.stepCost
  const share = budget.estimate / wanted
  let trimmedSpent = 0
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!
    steps[i] = Math.min(floorOf(c), Math.max(0, Math.floor(share * c.ideal)))
    lower[i] = 0
    trimmedSpent += steps[i]! * c.stepCost
  }
  return { steps, lower, spent: trimmedSpent, slack, trimmed: true, share }
}

/**
 * Exact guard: a start too close to the budget to call in doubles is checked exactly, and
 * steps are dropped (the largest step first) until it fits. True when a step was dropped.
 */
const settle = (candidates: ReadonlyArray<Candidate>, start: Start, budget: Budget): boolean => {
  const { steps, lower } = start
  if (!(start.spent > budget.estimate - start.slack)) return false
  let dropped = false
  let cost = exactCost(candidates, steps)
  while (cost.gt(budget.exact)) {
    let drop = -1
    for (let i = 0; i < candidates.length; i++) {
      if (steps[i]! > 0 && (drop < 0 || candidates[i]!.stepCost > candidates[drop]!.stepCost)) drop = i
    }
    steps[drop] = steps[drop]! - 1
    lower[drop] = Math.min(lower[drop]!, steps[drop]!)
    cost = cost.minus(candidates[drop]!.stepCostExact)
    start.spent -= candidates[drop]!.stepCost
    dropped = true
  }
  return dropped
}

/**
 * Trimmed buys: the cash the rounding-down left goes one step each to the buys furthest
 * below their trimmed share (largest remainder first), then in bulk, as many steps as fit,
 * in the same order. Returns the new estimated spend.
 */
const largestRemainders = (candidates: ReadonlyArray<Candidate>, start: Start, budget: Budget): number => {
  const { steps, share } = start
  let spent = start.spent
  const slack = BUDGET_SLACK * (budget.estimate + spent)
  const order = candidates
    .map((c, i) => ({ i, remainder: share * c.ideal - steps[i]! }))
    .filter((x) => steps[x.i]! < floorOf(candidates[x.i]!))
    .sort((x, y) => y.remainder - x.remainder || x.i - y.i)
  const buySteps = (i: number, count: number): boolean => {
    if (count <= 0) return false
    const cost = count * candidates[i]!.stepCost
    const fits = fitsByEstimate(cost, budget.estimate - spent, slack) ??
      fitsExactly(candidates, steps, budget, stepsOf(count, candidates[i]!.stepCostExact))
    if (!fits) return false
    steps[i] = steps[i]! + count
    spent += cost
    return true
  }
  for (const { i } of order) buySteps(i, 1)
  // Whatever is still left buys as many steps as fit, in the same order, so no buy still
  // below its target is left with cash that could pay for one of its steps.
  for (const { i } of order) {
    const c = candidates[i]!
    const room = floorOf(c) - steps[i]!
    // The quotient is an estimate: try one more step first (each try is settled exactly).
    const count = Math.min(room, Math.floor((budget.estimate - spent) / c.stepCost))
    if (!(count < room && buySteps(i, count + 1)) && !buySteps(i, count)) buySteps(i, count - 1)
  }
  return spent
}

/**
 * The whole-share search's state: the steps of every buy and what follows from them (each
 * buy's error, the cash line's error, the estimated spend), kept consistent by `move`.
 * An error is post-trade value − target; a gain is the change of the objective (negative
 * is better).
 */
class Search {
  readonly candidates: ReadonlyArray<Candidate>
  readonly size: number
  readonly steps: Array<number>
  readonly lower: ReadonlyArray<number>
  readonly stepValue: ReadonlyArray<number>
  readonly stepCost: ReadonlyArray<number>
  readonly upper: ReadonlyArray<number>
  /** Where the search started, for a second start from the same place. */
  readonly start: ReadonlyArray<number>
  readonly error: Array<number>
  /** Σ error over the buys. */
  errorSum: number
  /** Cash before any buy − the cash target. */
  readonly cashErrorBefore: number
  spent: number
  readonly budget: Budget
  readonly slack: number
  /** Gains smaller than this are rounding noise, not improvements. */
  readonly noise: number

  constructor(
    candidates: ReadonlyArray<Candidate>,
    steps: Array<number>,
    lower: ReadonlyArray<number>,
    budget: Budget,
    spent: number,
    cashErrorBefore: number
  ) {
    this.candidates = candidates
    this.size = candidates.length
    this.steps = steps
    this.lower = lower
    this.budget = budget
    this.spent = spent
    this.stepValue = candidates.map((c) => c.stepValue)
    this.stepCost = candidates.map((c) => c.stepCost)
    this.upper = candidates.map(highOf)
    this.start = steps.slice()
    this.error = candidates.map((c, i) => c.error + steps[i]! * c.stepValue)
    this.cashErrorBefore = cashErrorBefore
    let scale = 0
    for (let i = 0; i < this.size; i++) scale = Math.max(scale, this.stepValue[i]!, this.stepCost[i]!)
    this.noise = GAIN_NOISE * scale * scale
    this.slack = BUDGET_SLACK * (budget.estimate + spent)
    this.errorSum = 0
    for (let i = 0; i < this.size; i++) this.errorSum += this.error[i]!
  }

  /** Buys `by` more steps of buy `i` (fewer when negative). */
  move(i: number, by: number): void {
    this.steps[i] = this.steps[i]! + by
    this.error[i] = this.error[i]! + by * this.stepValue[i]!
    this.errorSum += by * this.stepValue[i]!
    this.spent += by * this.stepCost[i]!
  }

  /** Cash after the buys − the cash target. */
  get cashError(): number {
    return this.cashErrorBefore - this.spent
  }

  /** Moves every buy back to `to`. */
  moveTo(to: ReadonlyArray<number>): void {
    for (let i = 0; i < this.size; i++) if (to[i] !== this.steps[i]) this.move(i, to[i]! - this.steps[i]!)
  }

  /** The most an extra cost may be before it surely does not fit. */
  room(): number {
    return this.budget.estimate - this.spent + this.slack
  }

  /** Does an extra cost (buy `buy`, drop `drop` unless −1) still fit? Exact when too close to call. */
  fits(extra: number, buy: number, drop: number): boolean {
    const fits = fitsByEstimate(extra, this.budget.estimate - this.spent, this.slack)
    if (fits !== undefined) return fits
    const bought = this.candidates[buy]!.stepCostExact
    const net = drop < 0 ? bought : subtract(bought, this.candidates[drop]!.stepCostExact)
    return fitsExactly(this.candidates, this.steps, this.budget, net)
  }

  /** Are the current steps within the budget? Exact when too close to call. */
  withinBudget(): boolean {
    return this.spent <= this.budget.estimate - this.slack || fitsExactly(this.candidates, this.steps, this.budget)
  }

  objective(): number {
    let total = this.cashError * this.cashError
    for (let i = 0; i < this.size; i++) total += this.error[i]! * this.error[i]!
    return total
  }

  /** The gain of buying one more step of `j`. */
  addGain(j: number): number {
    const value = this.stepValue[j]!
    const cost = this.stepCost[j]!
    return value * (2 * this.error[j]! + value) + cost * (cost - 2 * this.cashError)
  }

  /** The gain of buying one step less of `i`. */
  dropGain(i: number): number {
    const value = this.stepValue[i]!
    const cost = this.stepCost[i]!
    return value * (value - 2 * this.error[i]!) + cost * (cost + 2 * this.cashError)
  }

  canAdd(j: number): boolean {
    return this.steps[j]! < this.upper[j]!
  }

  canDrop(i: number): boolean {
    return this.steps[i]! > this.lower[i]!
  }
}

/** Exhaustive search of the box for few buys; sweep (and a deficit-first start), then polish, for many. */
const improve = (search: Search, trimmed: boolean): void => {
  // Trimmed buys start far below their box, so they take the search below instead.
  if (search.size <= EXACT_CANDIDATES && !trimmed) {
    exhaustive(search)
    return
  }
  sweep(search)
  polish(search)
  if (search.size > SWAP_CANDIDATES) return
  // A second start for moderate sizes, where a local optimum is likeliest to bite: fill the
  // largest relative deficit first (the rule of a plain greedy allocator), then polish.
  const first = search.steps.slice()
  const firstObjective = search.objective()
  search.moveTo(search.start)
  topUp(search, deficitFirst(search))
  polish(search)
  if (search.objective() <= firstObjective - search.noise) return
  search.moveTo(first)
}

/** Adds one step at a time while one fits, choosing the lowest `rank`; a rank of 0 or more is never taken. */
const topUp = (search: Search, rank: (j: number, gain: number) => number): void => {
  for (;;) {
    let best = -1
    let bestRank = Number.POSITIVE_INFINITY
    for (let j = 0; j < search.size; j++) {
      const cost = search.stepCost[j]!
      if (!search.canAdd(j) || cost > search.room()) continue
      const r = rank(j, search.addGain(j))
      if (r >= 0) continue
      if (r < bestRank && search.fits(cost, j, -1)) {
        best = j
        bestRank = r
      }
    }
    if (best < 0) return
    search.move(best, 1)
  }
}

/** Steepest descent: only steps that lower the error. */
const steepest = (search: Search) => (_: number, gain: number): number => (gain < -search.noise ? gain : 0)

/**
 * A plain greedy allocator's rule: the largest weight shortfall first, weights measured
 * against the value invested in these buys, while any symbol is short.
 */
const deficitFirst = (search: Search) => {
  let targetTotal = 0
  for (const c of search.candidates) targetTotal += c.target
  return (j: number): number => {
    const invested = targetTotal + search.errorSum
    const target = search.candidates[j]!.target
    return invested > 0 ? (target + search.error[j]!) / invested - target / targetTotal : -target / targetTotal
  }
}

/** Drops and one-for-one swaps, then top-up again, while the error falls. */
const polish = (search: Search): void => {
  const descend = steepest(search)
  // Every applied move lowers the error by more than `noise`, so this ends; the bound is a
  // backstop, and a last top-up below keeps "no affordable step lowers the error" true.
  for (let round = 0; round <= POLISH_ROUNDS_PER_BUY * search.size + POLISH_ROUNDS; round++) {
    topUp(search, descend)
    let changed = false
    for (let i = 0; i < search.size; i++) {
      if (!search.canDrop(i)) continue
      const drop = search.dropGain(i)
      if (drop < -search.noise) {
        search.move(i, -1)
        changed = true
        continue
      }
      if (search.size > SWAP_CANDIDATES) continue
      const best = bestSwap(search, i, drop)
      if (best >= 0) {
        search.move(i, -1)
        search.move(best, 1)
        changed = true
      }
    }
    if (!changed && !(search.size <= PAIR_CANDIDATES && exchange(search))) return
  }
  topUp(search, descend)
}

/** The buy whose extra step, in place of one step of `i`, lowers the error most; −1 for none. */
const bestSwap = (search: Search, i: number, drop: number): number => {
  const dropCost = search.stepCost[i]!
  let best = -1
  let bestGain = -search.noise
  for (let j = 0; j < search.size; j++) {
    if (j === i || !search.canAdd(j)) continue
    const extra = search.stepCost[j]! - dropCost
    if (extra > search.room()) continue
    const gain = drop + search.addGain(j) - 2 * dropCost * search.stepCost[j]!
    if (gain < bestGain && search.fits(extra, j, i)) {
      best = j
      bestGain = gain
    }
  }
  return best
}

/** A set of one-step moves: [buy, +1 or −1]. */
type Moves = ReadonlyArray<readonly [number, number]>

/** The best two-for-one or one-for-two exchange of steps, applied if it lowers the error. */
const exchange = (search: Search): boolean => {
  const { size } = search
  let best: Moves = []
  let bestGain = -search.noise
  const consider = (moves: Moves): void => {
    const gain = exchangeGain(search, moves)
    if (gain < bestGain) {
      best = moves
      bestGain = gain
    }
  }
  for (let x = 0; x < size; x++) {
    for (let y = x + 1; y < size; y++) {
      for (let z = 0; z < size; z++) {
        if (z === x || z === y) continue
        consider([[x, -1], [y, -1], [z, 1]])
        consider([[x, 1], [y, 1], [z, -1]])
      }
    }
  }
  if (best.length === 0) return false
  // The estimate may be too close to call: confirm the exchange fits exactly before keeping it.
  for (const [i, by] of best) search.move(i, by)
  if (search.withinBudget()) return true
  for (const [i, by] of best) search.move(i, -by)
  return false
}

/** The gain of a set of moves; +∞ when one leaves its box or the cash surely does not cover it. */
const exchangeGain = (search: Search, moves: Moves): number => {
  let cash = 0
  let gain = 0
  for (const [i, by] of moves) {
    if (by > 0 ? !search.canAdd(i) : !search.canDrop(i)) return Number.POSITIVE_INFINITY
    const value = search.stepValue[i]!
    cash -= by * search.stepCost[i]!
    gain += value * (value + 2 * by * search.error[i]!)
  }
  if (-cash > search.room()) return Number.POSITIVE_INFINITY
  return gain + (cash * cash + 2 * search.cashError * cash)
}

/**
 * The first pass for many buys: every possible one-step buy, ordered by how much it changes
 * its symbol's error per unit of cost (most helpful first, like a Lagrangian price sweep),
 * is applied in turn when it fits; the best prefix by the full objective is kept. Ordering
 * by the symbol error alone keeps plentiful cash from being spent on overshooting cheap
 * symbols before the expensive ones that are further below target.
 */
const sweep = (search: Search): void => {
  const { steps, stepValue, stepCost } = search
  // Each possible one-step buy: its symbol and its key.
  const symbols: Array<number> = []
  const keys: Array<number> = []
  for (let i = 0; i < search.size; i++) {
    const value = stepValue[i]!
    const cost = stepCost[i]!
    // No more moves than the budget could ever pay for: a trimmed start may sit far below its box.
    const most = Math.min(search.upper[i]!, steps[i]! + Math.floor(search.room() / cost) + 1)
    for (let m = steps[i]!, error = search.error[i]!; m < most && m + 1 > m; m++, error += value) {
      symbols.push(i)
      keys.push((value * (2 * error + value)) / cost)
    }
  }
  // Moves are listed by symbol, so equal keys go to the earlier symbol.
  const order = ascending(keys)
  const applied: Array<number> = []
  const blocked = new Uint8Array(search.size)
  let objective = 0
  let best = 0
  let bestAt = 0
  for (const move of order) {
    const i = symbols[move]!
    if (blocked[i] === 1) continue
    const cost = stepCost[i]!
    if (cost > search.room() || !search.fits(cost, i, -1)) {
      blocked[i] = 1
      continue
    }
    objective += search.addGain(i)
    search.move(i, 1)
    applied.push(i)
    if (objective < best) {
      best = objective
      bestAt = applied.length
    }
  }
  for (let j = applied.length - 1; j >= bestAt; j--) search.move(applied[j]!, -1)
}

/**
 * The indices of `keys` in ascending order of key, equal keys in index order: a stable
 * bottom-up merge sort (the built-in sort calls a comparator for every comparison, which
 * cost a tenth of a whole plan).
 */
const ascending = (keys: ReadonlyArray<number>): Int32Array => {
  const n = keys.length
  let from = new Int32Array(n)
  let to = new Int32Array(n)
  for (let i = 0; i < n; i++) from[i] = i
  for (let width = 1; width < n; width *= 2) {
    for (let low = 0; low < n; low += 2 * width) {
      const middle = Math.min(low + width, n)
      const high = Math.min(low + 2 * width, n)
      let left = low
      let right = middle
      let k = low
      while (left < middle && right < high) {
        to[k++] = keys[from[right]!]! < keys[from[left]!]! ? from[right++]! : from[left++]!
      }
      while (left < middle) to[k++] = from[left++]!
      while (right < high) to[k++] = from[right++]!
    }
    const merged = to
    to = from
    from = merged
  }
  return from
}

/**
 * Tries every combination of steps within [lower, upper] that fits the budget, keeping the
 * first best in symbol order.
 */
const exhaustive = (search: Search): void => {
  const { candidates, size, steps, stepValue, stepCost, budget, slack, cashErrorBefore } = search
  const start = search.start
  const current = steps.slice()
  let best = Number.POSITIVE_INFINITY
  const visit = (i: number, spent: number, error: number): void => {
    if (i === size) {
      const cash = cashErrorBefore - spent
      const total = error + cash * cash
      // A combination too close to the budget to call in doubles is settled exactly.
      if (total < best && (fitsByEstimate(spent, budget.estimate, slack) ?? fitsExactly(candidates, current, budget))) {
        best = total
        for (let j = 0; j < size; j++) steps[j] = current[j]!
      }
      return
    }
    const base = candidates[i]!.error
    // At most three values each: the box around the nearest step, or around the trimmed start.
    const low = Math.max(search.lower[i]!, start[i]! - 1)
    const high = Math.min(search.upper[i]!, low + 2)
    for (let count = low; count <= high; count++) {
      const cost = spent + count * stepCost[i]!
      if (cost > budget.estimate + slack) break
      const err = base + count * stepValue[i]!
      current[i] = count
      visit(i + 1, cost, error + err * err)
    }
  }
  visit(0, 0, 0)
}
