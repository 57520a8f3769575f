/**
 * `rebalance positions --json`: an account's holdings as its venue books them, valued at the
 * latest quotes; and `--by-strategy --json`: the same P&L split by strategy, from the fills the
 * Store recorded. A holding without a price has no value and no unrealized P&L: null.
 */
import * as Schema from "effect/Schema"
import type { AccountBooks } from "../../effects/Broker.ts"
import { ComputedDecimalText } from "../../formats/decimal.ts"
import { type Decimal, isZero, ZERO } from "../../kernel/decimal.ts"
import { StrategyPnlDefaults } from "../../kernel/pnl/strategyPnl.ts"
import type { StrategyPnlReport } from "../accountPnl.ts"
import { NullWhenUnknown } from "./document.ts"

/** What a holding is worth at its price, and what that makes of its P&L. */
const ValuedFields = {
  price: NullWhenUnknown(ComputedDecimalText),
  value: NullWhenUnknown(ComputedDecimalText),
  unrealizedPnl: NullWhenUnknown(ComputedDecimalText),
  realizedPnl: ComputedDecimalText
}

const HoldingDocument = Schema.Struct({
  symbol: Schema.String,
  quantity: ComputedDecimalText,
  averageCost: ComputedDecimalText,
  ...ValuedFields
})
export type Holding = typeof HoldingDocument.Type

export const PositionsDocument = Schema.Struct({
  account: Schema.String,
  cash: ComputedDecimalText,
  realizedPnl: ComputedDecimalText,
  positions: Schema.Array(HoldingDocument)
})
export type PositionsDocument = typeof PositionsDocument.Type

/** A holding that says something: shares held, or P&L realized. */
const held = (h: { readonly quantity: Decimal; readonly realizedPnl: Decimal }): boolean =>
  !isZero(h.quantity) || !isZero(h.realizedPnl)

/** The venue's books, valued at `prices` (symbol → valuation price); symbols never held left out. */
export const positionsDocument = (
  account: string,
  books: AccountBooks,
  prices: ReadonlyMap<string, Decimal>
): PositionsDocument => ({
  account,
  cash: books.cash,
  realizedPnl: books.realizedPnl,
  positions: books.positions.filter(held).map((p) => {
    const price = prices.get(p.symbol)
    const value = price === undefined ? undefined : p.quantity.times(price)
    return { ...p, price, value, unrealizedPnl: value?.minus(p.quantity.times(p.averageCost)) }
  })
})

/** The symbols whose holdings the positions document values. */
export const heldSymbols = (books: AccountBooks): ReadonlyArray<string> =>
  books.positions.filter(held).map((p) => p.symbol)

const StrategyDocument = Schema.Struct({
  strategy: Schema.String,
  positions: Schema.Array(Schema.Struct({
    symbol: Schema.String,
    quantity: ComputedDecimalText,
    averageCost: ComputedDecimalText,
    costBasis: ComputedDecimalText,
    ...ValuedFields
  })),
  totals: Schema.Struct({
    costBasis: ComputedDecimalText,
    value: NullWhenUnknown(ComputedDecimalText),
    unrealizedPnl: NullWhenUnknown(ComputedDecimalText),
    realizedPnl: ComputedDecimalText
  })
})

export const ByStrategyDocument = Schema.Struct({
  account: Schema.String,
  /** The strategy credited with buys whose order had no attribution. */
  unattributed: Schema.String,
  realizedPnl: ComputedDecimalText,
  strategies: Schema.Array(StrategyDocument),
  warnings: Schema.Array(Schema.String)
})
export type ByStrategyDocument = typeof ByStrategyDocument.Type

/** The per-strategy P&L of an account; `warnings` are the report's and any disagreement with the venue's books. */
export const byStrategyDocument = (
  account: string,
  report: StrategyPnlReport,
  warnings: ReadonlyArray<string>
): ByStrategyDocument => ({
  account,
  unattributed: StrategyPnlDefaults.unattributed,
  realizedPnl: report.strategies.reduce((total, t) => total.plus(t.realizedPnl), ZERO),
  strategies: report.strategies.map((totals) => ({
    strategy: totals.strategy,
    positions: report.holdings.filter((h) => h.strategy === totals.strategy && held(h)),
    totals
  })),
  warnings
})
