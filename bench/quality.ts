/**
 * Whole-share allocation quality: the yardsticks the kernel is measured against.
 *
 * - `greedyPortfolio`: PyPortfolioOpt's `greedy_portfolio` re-stated from its published
 *   algorithm (floor every target, then repeatedly buy one share of the affordable symbol
 *   with the largest deficit, deficits measured against invested value; it gives up after
 *   ten unaffordable picks in a row, as the original does).
 * - `optimum`: the exact integer optimum by exhaustive search (small instances only).
 * - `trackingError`: RMSE of post-trade weights vs targets over the targeted symbols plus
 *   the cash line (target 1 − Σw).
 * Floating point is fine here: these are measurements, not money.
 */

export interface Instance {
  /** One price per symbol (bid = ask = last), so every method sees the same prices. */
  readonly prices: ReadonlyArray<number>
  readonly weights: ReadonlyArray<number>
  readonly cash: number
}

export const trackingError = (instance: Instance, shares: ReadonlyArray<number>): number => {
  const { cash, prices, weights } = instance
  let spent = 0
  let sum = 0
  let weightSum = 0
  for (let i = 0; i < prices.length; i++) {
    const value = shares[i]! * prices[i]!
    spent += value
    const d = value / cash - weights[i]!
    sum += d * d
    weightSum += weights[i]!
  }
  const cashLine = (cash - spent) / cash - (1 - weightSum)
  sum += cashLine * cashLine
  return Math.sqrt(sum / (prices.length + 1))
}

export const leftover = (instance: Instance, shares: ReadonlyArray<number>): number =>
  instance.cash - shares.reduce((s, n, i) => s + n * instance.prices[i]!, 0)

export const greedyPortfolio = (instance: Instance): Array<number> => {
  const { cash, prices, weights } = instance
  const n = prices.length
  const shares = prices.map((p, i) => Math.floor((weights[i]! * cash) / p))
  let funds = cash - shares.reduce((s, k, i) => s + k * prices[i]!, 0)
  for (;;) {
    const invested = shares.reduce((s, k, i) => s + k * prices[i]!, 0)
    const deficit = weights.map((w, i) => w - (invested > 0 ? (shares[i]! * prices[i]!) / invested : 0))
    let idx = argmax(deficit)
    let counter = 0
    while (prices[idx]! > funds) {
      deficit[idx] = 0
      idx = argmax(deficit)
      if (deficit[idx]! < 0 || counter === 10) break
      counter++
    }
    if (deficit[idx]! <= 0 || counter === 10 || prices[idx]! > funds || n === 0) return shares
    shares[idx] = shares[idx]! + 1
    funds -= prices[idx]!
  }
}

const argmax = (xs: ReadonlyArray<number>): number => {
  let best = 0
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i
  return best
}

/**
 * The best whole-share allocation within the budget, searching every quantity from two
 * below to two above each symbol's floored target (the optimum lies well inside that box).
 */
export const optimum = (instance: Instance): Array<number> => {
  const { cash, prices, weights } = instance
  const n = prices.length
  const floors = prices.map((p, i) => Math.floor((weights[i]! * cash) / p))
  const current = floors.slice()
  let best = floors.slice()
  let bestError = Number.POSITIVE_INFINITY
  const visit = (i: number, spent: number): void => {
    if (spent > cash) return
    if (i === n) {
      const error = trackingError(instance, current)
      if (error < bestError) {
        bestError = error
        best = current.slice()
      }
      return
    }
    for (let k = Math.max(0, floors[i]! - 2); k <= floors[i]! + 2; k++) {
      current[i] = k
      visit(i + 1, spent + k * prices[i]!)
    }
    current[i] = floors[i]!
  }
  visit(0, 0)
  return best
}
