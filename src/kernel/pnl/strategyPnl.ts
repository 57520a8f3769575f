/**
 * Paper P&L per strategy: the account's fills, each carrying the attribution of the order
 * it filled, replayed into one book per (strategy, symbol), with the same average-cost rules
 * as the paper broker's books (effects/broker/paper/ledger.ts `bookFill`):
 *
 * - a buy adds its full cost, quantity × price + commission, to the cost basis, and the
 *   symbol's average cost becomes basis ÷ quantity (rounded at the kernel's 12 places);
 * - a sell realizes quantity × price − commission − quantity × average cost, and leaves the
 *   average cost of the rest alone (zero once nothing is held).
 *
 * Alongside the per-strategy books the same replay keeps the unsplit book of each symbol,
 * which is exactly what the paper broker books (for the same fills), and the split is
 * exact: for every symbol the strategies' quantities, cost bases and realized P&L sum to
 * the unsplit quantity, cost basis (quantity × average cost) and realized P&L, to the last
 * digit. How a fill is split:
 *
 * - **Buys** are split by the order's attribution, in proportion to the weights
 *   (weight_i ÷ Σ weights), with `apportion` (exact: the parts sum to the fill). The cost is
 *   split in proportion to the shares each strategy got. The unsplit average cost is rounded
 *   at 12 places; the basis that rounding adds or drops (a few 1e-12) goes to the strategy
 *   that got the most shares of that fill, so the bases keep summing to the unsplit basis.
 *   A buy without attribution (a plain targets file; entries with weight ≤ 0 do not count)
 *   is credited to one strategy named by `unattributed`.
 * - **Sells** are split in proportion to what each strategy holds of the symbol at that
 *   moment, never by the order's attribution: the attribution says who wants the symbol
 *   now, not who holds it (a liquidation has none at all), and a strategy must never sell
 *   shares it does not hold. Every holder sells the same fraction of its holding (to the
 *   last place, each capped at what it holds), pays commission in proportion to the shares
 *   it sold, and releases that fraction of its own cost basis (all of it when it sells out);
 *   since everyone sells the same fraction, the released bases sum to quantity × the unsplit
 *   average cost (a residue of a few 1e-12 from rounding goes to the largest remaining
 *   holder), so realized P&L sums exactly too.
 * - A sell of more than the book holds (fills missing from the record) books the held part;
 *   the rest is `unmatchedQuantity` with its share of the commission, and is not booked:
 *   the cost of shares the record never saw bought is unknown.
 *
 * Pure, synchronous and total: a fill that cannot be booked (quantity not positive, price or
 * commission negative, not a kernel decimal, side neither buy nor sell, no symbol) is left
 * out and listed in `ignored` with the reason.
 */
import { type Decimal, isDecimal, isPositive, isZero, ONE, ZERO } from "../decimal.ts"
import { byCodeUnits, isRecord } from "../input.ts"
import type { Side } from "../rebalance/deltas.ts"
import type { Attribution } from "../rebalance/targets.ts"
import { apportion, credit, divideDown } from "../strategies/blend.ts"

export interface AttributedFill {
  readonly symbol: string
  readonly side: Side
  readonly quantity: Decimal
  readonly price: Decimal
  readonly commission: Decimal
  /** The attribution of the order that filled (empty when its targets had none). */
  readonly attribution: Attribution
}

export interface StrategyPnlOptions {
  /**
   * The strategy credited with buys whose order had no attribution (a strategy of the same
   * name in an attribution shares its books).
   */
  readonly unattributed: string
}

export const StrategyPnlDefaults: StrategyPnlOptions = { unattributed: "unattributed" }

/** The valuation of a holding, when its symbol has a price. */
export interface Valued {
  readonly price?: Decimal
  /** quantity × price. */
  readonly value?: Decimal
  /** value − cost basis. */
  readonly unrealizedPnl?: Decimal
}

/** One strategy's book of one symbol. */
export interface StrategyHolding extends Valued {
  readonly strategy: string
  readonly symbol: string
  readonly quantity: Decimal
  /** What the shares held cost, commissions included. */
  readonly costBasis: Decimal
  /** costBasis ÷ quantity at 12 places; zero when nothing is held. */
  readonly averageCost: Decimal
  readonly realizedPnl: Decimal
}

/** The unsplit book of one symbol: what the paper broker books for the same fills. */
export interface SymbolBook extends Valued {
  readonly symbol: string
  readonly quantity: Decimal
  readonly averageCost: Decimal
  /** quantity × averageCost. */
  readonly costBasis: Decimal
  readonly realizedPnl: Decimal
  /** Sold beyond what the book held (not booked). */
  readonly unmatchedQuantity: Decimal
}

/** A strategy's totals over its symbols. */
export interface StrategyTotals {
  readonly strategy: string
  readonly costBasis: Decimal
  readonly realizedPnl: Decimal
  /** Undefined when a symbol the strategy holds has no price. */
  readonly value?: Decimal
  readonly unrealizedPnl?: Decimal
}

export interface IgnoredFill {
  /** Index in the input. */
  readonly index: number
  readonly reason: string
}

export interface StrategyPnl {
  /** Every (strategy, symbol) a fill ever touched, by strategy then symbol (code units). */
  readonly holdings: ReadonlyArray<StrategyHolding>
  /** By strategy. */
  readonly strategies: ReadonlyArray<StrategyTotals>
  /** By symbol. */
  readonly symbols: ReadonlyArray<SymbolBook>
  readonly ignored: ReadonlyArray<IgnoredFill>
}

/**
 * Splits `total` (0 ≤ total ≤ Σ caps) over parts in proportion to `caps` (each ≥ 0), exactly
 * and never above a cap: each share is rounded down at the division places, and what rounding
 * leaves goes to the largest caps first (the first of equals), each up to its cap. With
 * total ≥ Σ caps every part gets its cap.
 */
export const apportionWithin = (total: Decimal, caps: ReadonlyArray<Decimal>): ReadonlyArray<Decimal> => {
  let sum = ZERO
  for (const c of caps) sum = sum.plus(c)
  if (total.gte(sum)) return [...caps]
  if (!isPositive(total)) return caps.map(() => ZERO)
  const shares = caps.map((c) => divideDown(c.times(total), sum))
  let rest = total
  for (const s of shares) rest = rest.minus(s)
  const order = caps.map((_, i) => i).sort((a, b) => (caps[b] as Decimal).cmp(caps[a] as Decimal) || a - b)
  for (const i of order) {
    if (!isPositive(rest)) break
    const room = (caps[i] as Decimal).minus(shares[i] as Decimal)
    const give = room.lt(rest) ? room : rest
    shares[i] = (shares[i] as Decimal).plus(give)
    rest = rest.minus(give)
  }
  return shares
}

interface Holding {
  quantity: Decimal
  basis: Decimal
  realized: Decimal
}

interface Book {
  quantity: Decimal
  averageCost: Decimal
  realized: Decimal
  unmatched: Decimal
  readonly holdings: Map<string, Holding>
}

/** Why a fill cannot be booked, or undefined when it can. */
const problem = (fill: AttributedFill): string | undefined => {
  if (typeof fill !== "object" || fill === null) return "not a fill"
  if (typeof fill.symbol !== "string" || fill.symbol === "") return "no symbol"
  if (fill.side !== "buy" && fill.side !== "sell") return `side ${String(fill.side)} is neither buy nor sell`
  if (!isDecimal(fill.quantity) || !isPositive(fill.quantity)) return "quantity is not a positive decimal"
  if (!isDecimal(fill.price) || fill.price.lt(ZERO)) return "price is not a non-negative decimal"
  if (!isDecimal(fill.commission) || fill.commission.lt(ZERO)) return "commission is not a non-negative decimal"
  return undefined
}

/**
 * The strategies a buy is split over, by name, with their weights: positive weights only,
 * a strategy named twice counted once with the weights added; the unattributed strategy
 * alone when nothing is left.
 */
const contributors = (attribution: unknown, unattributed: string): ReadonlyArray<readonly [string, Decimal]> => {
  const weights = new Map<string, Decimal>()
  if (Array.isArray(attribution)) {
    for (const a of attribution as ReadonlyArray<unknown>) {
      if (!isRecord(a)) continue
      const { strategy, weight } = a
      if (typeof strategy !== "string" || strategy === "" || !isDecimal(weight) || !isPositive(weight)) continue
      credit(weights, strategy, weight)
    }
  }
  if (weights.size === 0) return [[unattributed, ONE]]
  return [...weights.entries()].sort(([a], [b]) => byCodeUnits(a, b))
}

const holdingOf = (book: Book, strategy: string): Holding => {
  let h = book.holdings.get(strategy)
  if (h === undefined) {
    h = { quantity: ZERO, basis: ZERO, realized: ZERO }
    book.holdings.set(strategy, h)
  }
  return h
}

/** Index of the largest value, the first of equals; -1 for none. */
const largest = (values: ReadonlyArray<Decimal>): number => {
  let best = -1
  for (let i = 0; i < values.length; i++) if (best < 0 || (values[i] as Decimal).gt(values[best] as Decimal)) best = i
  return best
}

const buy = (book: Book, fill: AttributedFill, unattributed: string): void => {
  const parts = contributors(fill.attribution, unattributed)
  const quantities = apportion(fill.quantity, parts.map(([, w]) => w))
  const cost = fill.quantity.times(fill.price).plus(fill.commission)
  const costs = apportion(cost, quantities)
  // The paper broker's rule, to the digit (bookFill).
  const before = book.quantity.times(book.averageCost)
  const quantity = book.quantity.plus(fill.quantity)
  const averageCost = before.plus(cost).div(quantity)
  const residue = quantity.times(averageCost).minus(before).minus(cost)
  const receiver = largest(quantities)
  for (let i = 0; i < parts.length; i++) {
    const q = quantities[i] as Decimal
    if (isZero(q) && i !== receiver) continue
    const h = holdingOf(book, (parts[i] as readonly [string, Decimal])[0])
    h.quantity = h.quantity.plus(q)
    h.basis = h.basis.plus(costs[i] as Decimal)
    if (i === receiver) h.basis = h.basis.plus(residue)
  }
  book.quantity = quantity
  book.averageCost = averageCost
}

const sell = (book: Book, fill: AttributedFill): void => {
  const matched = fill.quantity.gt(book.quantity) ? book.quantity : fill.quantity
  const excess = fill.quantity.minus(matched)
  const [commission] = isZero(excess) ? [fill.commission] : apportion(fill.commission, [matched, excess])
  book.unmatched = book.unmatched.plus(excess)
  if (!isPositive(matched)) return
  const released = matched.times(book.averageCost)
  book.realized = book.realized.plus(matched.times(fill.price).minus(commission as Decimal).minus(released))
  book.quantity = book.quantity.minus(matched)
  if (isZero(book.quantity)) book.averageCost = ZERO

  const holders = [...book.holdings.entries()].filter(([, h]) => isPositive(h.quantity)).sort(([a], [b]) =>
    byCodeUnits(a, b)
  )
  const sold = apportionWithin(matched, holders.map(([, h]) => h.quantity))
  const commissions = apportion(commission as Decimal, sold)
  const bases: Array<Decimal> = holders.map(([, h], i) => {
    const s = sold[i] as Decimal
    return s.eq(h.quantity) ? h.basis : isZero(s) ? ZERO : s.times(h.basis).div(h.quantity)
  })
  // Rounding residue of the released bases, so they sum to matched × average cost exactly.
  let residue = released
  for (const b of bases) residue = residue.minus(b)
  if (!isZero(residue)) {
    const remaining = holders.map(([, h], i) => h.quantity.minus(sold[i] as Decimal))
    const at = isPositive(book.quantity) ? largest(remaining) : largest(sold)
    bases[at] = (bases[at] as Decimal).plus(residue)
  }
  for (let i = 0; i < holders.length; i++) {
    const h = (holders[i] as readonly [string, Holding])[1]
    const s = sold[i] as Decimal
    const b = bases[i] as Decimal
    h.quantity = h.quantity.minus(s)
    h.basis = h.basis.minus(b)
    h.realized = h.realized.plus(s.times(fill.price).minus(commissions[i] as Decimal).minus(b))
  }
}

const valued = (quantity: Decimal, basis: Decimal, price: Decimal | undefined): Valued => {
  if (price === undefined) return {}
  const value = quantity.times(price)
  return { price, value, unrealizedPnl: value.minus(basis) }
}

/**
 * Replays `fills` (in the order they happened) into per-strategy and per-symbol books, valued
 * at `prices` (symbol → price; a symbol without one has no value or unrealized P&L).
 */
export const strategyPnl = (
  fills: ReadonlyArray<AttributedFill>,
  prices: ReadonlyMap<string, Decimal>,
  options: Partial<StrategyPnlOptions> = {}
): StrategyPnl => {
  const unattributed = typeof options.unattributed === "string" && options.unattributed !== ""
    ? options.unattributed
    : StrategyPnlDefaults.unattributed
  const { books, ignored } = replay(fills, unattributed)
  const { symbols, holdings } = valueBooks(books, prices)
  return { holdings, strategies: totals(holdings), symbols, ignored }
}

/** The fills booked one by one, each symbol's book and its strategies' holdings; the fills that cannot be booked. */
const replay = (fills: ReadonlyArray<AttributedFill>, unattributed: string) => {
  const books = new Map<string, Book>()
  const ignored: Array<IgnoredFill> = []
  for (let index = 0; index < fills.length; index++) {
    const fill = fills[index] as AttributedFill
    const why = problem(fill)
    if (why !== undefined) {
      ignored.push({ index, reason: why })
      continue
    }
    let book = books.get(fill.symbol)
    if (book === undefined) {
      book = { quantity: ZERO, averageCost: ZERO, realized: ZERO, unmatched: ZERO, holdings: new Map() }
      books.set(fill.symbol, book)
    }
    if (fill.side === "buy") buy(book, fill, unattributed)
    else sell(book, fill)
  }
  return { books, ignored }
}

/** Each symbol's book and each strategy's holding of it, valued at the symbol's price; sorted. */
const valueBooks = (books: ReadonlyMap<string, Book>, prices: ReadonlyMap<string, Decimal>) => {
  const symbols: Array<SymbolBook> = []
  const holdings: Array<StrategyHolding> = []
  for (const symbol of [...books.keys()].sort(byCodeUnits)) {
    const book = books.get(symbol) as Book
    const listed = prices.get(symbol)
    const price = isDecimal(listed) ? listed : undefined
    const costBasis = book.quantity.times(book.averageCost)
    symbols.push({
      symbol,
      quantity: book.quantity,
      averageCost: book.averageCost,
      costBasis,
      realizedPnl: book.realized,
      unmatchedQuantity: book.unmatched,
      ...valued(book.quantity, costBasis, price)
    })
    for (const [strategy, h] of book.holdings) {
      holdings.push({
        strategy,
        symbol,
        quantity: h.quantity,
        costBasis: h.basis,
        averageCost: isPositive(h.quantity) ? h.basis.div(h.quantity) : ZERO,
        realizedPnl: h.realized,
        ...valued(h.quantity, h.basis, price)
      })
    }
  }
  holdings.sort((a, b) => byCodeUnits(a.strategy, b.strategy) || byCodeUnits(a.symbol, b.symbol))
  return { symbols, holdings }
}

/** Each strategy's totals over its holdings (sorted by strategy); no value when a holding has none. */
const totals = (holdings: ReadonlyArray<StrategyHolding>): ReadonlyArray<StrategyTotals> => {
  const strategies: Array<StrategyTotals> = []
  for (let i = 0; i < holdings.length;) {
    const strategy = (holdings[i] as StrategyHolding).strategy
    let costBasis = ZERO
    let realizedPnl = ZERO
    let value: Decimal | undefined = ZERO
    let unrealizedPnl: Decimal | undefined = ZERO
    for (; i < holdings.length && (holdings[i] as StrategyHolding).strategy === strategy; i++) {
      const h = holdings[i] as StrategyHolding
      costBasis = costBasis.plus(h.costBasis)
      realizedPnl = realizedPnl.plus(h.realizedPnl)
      if (h.value === undefined || h.unrealizedPnl === undefined) {
        // An unpriced symbol with nothing held adds nothing (its basis is zero too).
        if (!isZero(h.quantity) || !isZero(h.costBasis)) value = unrealizedPnl = undefined
      } else if (value !== undefined && unrealizedPnl !== undefined) {
        value = value.plus(h.value)
        unrealizedPnl = unrealizedPnl.plus(h.unrealizedPnl)
      }
    }
    strategies.push({
      strategy,
      costBasis,
      realizedPnl,
      ...(value === undefined || unrealizedPnl === undefined ? {} : { value, unrealizedPnl })
    })
  }
  return strategies
}
