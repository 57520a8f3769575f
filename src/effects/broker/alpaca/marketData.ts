/**
 * Latest quotes from Alpaca's Market Data API as the kernel's Quote.
 *
 * - `bp` → bid and `ap` → ask, exact.
 * - A side that is 0, null or missing is no price (the kernel treats a zero price the same way):
 *   IEX sends 0 for a side it has no quote for, typically outside market hours.
 * - When a side is missing, the symbol's latest trade (GET /v2/stocks/trades/latest, asked
 *   for those symbols only) becomes `last`, so the kernel can still value the holding and
 *   price the order (it warns when it falls back to `last`). A zero trade price is no price.
 *   This is best effort: if the trades cannot be had, the quotes stand as they are (logged).
 * - A symbol Alpaca returns nothing for gets no Quote at all (the kernel reports it unpriced).
 */
import { type Decimal, isPositive } from "../../../kernel/decimal.ts"
import type { Quote } from "../../../kernel/rebalance/snapshot.ts"
import type { LatestQuotes, LatestTrades } from "./schemas.ts"

const price = (d: Decimal | null | undefined): Decimal | undefined => (d != null && isPositive(d) ? d : undefined)

/** The asked symbols' quotes from Alpaca's latest quotes, without the trade fallback. */
export const toQuotes = (symbols: ReadonlyArray<string>, latest: LatestQuotes): ReadonlyArray<Quote> =>
  symbols.flatMap((symbol) => {
    const quote = Object.hasOwn(latest.quotes, symbol) ? latest.quotes[symbol] : undefined
    if (quote === undefined) return []
    const bid = price(quote.bp)
    const ask = price(quote.ap)
    return [{ symbol, ...(bid === undefined ? {} : { bid }), ...(ask === undefined ? {} : { ask }) }]
  })

/** Symbols whose quote lacks a side (or is absent): they need a latest trade. */
export const oneSided = (symbols: ReadonlyArray<string>, quotes: ReadonlyArray<Quote>): ReadonlyArray<string> => {
  const full = new Set(quotes.filter((q) => q.bid !== undefined && q.ask !== undefined).map((q) => q.symbol))
  return symbols.filter((s) => !full.has(s))
}

/** Adds each latest trade as `last` (a symbol without a quote gets a Quote with `last` alone). */
export const withTrades = (
  symbols: ReadonlyArray<string>,
  quotes: ReadonlyArray<Quote>,
  trades: LatestTrades
): ReadonlyArray<Quote> => {
  const bySymbol = new Map(quotes.map((q) => [q.symbol, q]))
  return symbols.flatMap((symbol) => {
    const quote = bySymbol.get(symbol)
    const trade = Object.hasOwn(trades.trades, symbol) ? trades.trades[symbol] : undefined
    const last = price(trade?.p)
    if (last === undefined) return quote === undefined ? [] : [quote]
    return [{ ...(quote ?? { symbol }), last }]
  })
}
