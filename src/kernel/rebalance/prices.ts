/**
 * Which price the kernel uses for what:
 * - valuation (equity, weights): the mid, else last, else close, else the one side quoted;
 * - buys: ask × (1 + buyPriceBuffer), else last or close (with the same buffer, and a warning);
 * - sells: bid, else last or close (with a warning).
 * A symbol with no positive price at all has none of the three and is never traded.
 */
import { type Decimal, estimate, HALF, ONE } from "../decimal.ts"
import type { Policy } from "./policy.ts"
import type { Quote } from "./snapshot.ts"

export type PriceSource = "mid" | "bid" | "ask" | "last" | "close"

export interface Priced {
  readonly price: Decimal
  readonly source: PriceSource
  /** Double-precision estimate of `price`, for choosing quantities only. */
  readonly estimate: number
}

export interface Prices {
  readonly valuation: Priced | undefined
  readonly buy: Priced | undefined
  readonly sell: Priced | undefined
}

export type PriceBook = ReadonlyMap<string, Prices>

const priced = (price: Decimal, source: PriceSource): Priced => ({ price, source, estimate: estimate(price) })

const fallback = (quote: Quote): Priced | undefined =>
  quote.last !== undefined
    ? priced(quote.last, "last")
    : quote.close !== undefined
    ? priced(quote.close, "close")
    : undefined

export const prices = (quote: Quote, buyMarkup: Decimal): Prices => {
  const { ask, bid } = quote
  const other = fallback(quote)
  const valuation = bid !== undefined && ask !== undefined
    ? priced(bid.eq(ask) ? bid : bid.plus(ask).times(HALF), "mid")
    : other ?? (bid !== undefined ? priced(bid, "bid") : ask !== undefined ? priced(ask, "ask") : undefined)
  const buyBase = ask !== undefined ? priced(ask, "ask") : other
  const buy = buyBase === undefined || buyMarkup.eq(ONE)
    ? buyBase
    : priced(buyBase.price.times(buyMarkup), buyBase.source)
  const sell = bid !== undefined ? priced(bid, "bid") : other
  return { valuation, buy, sell }
}

export const NO_PRICES: Prices = { valuation: undefined, buy: undefined, sell: undefined }

/** Builds the prices of every quoted symbol once, so many accounts can share them. */
export const priceBook = (quotes: ReadonlyArray<Quote>, policy: Policy): PriceBook => {
  const markup = ONE.plus(policy.buyPriceBuffer)
  const book = new Map<string, Prices>()
  for (const quote of quotes) book.set(quote.symbol, prices(quote, markup))
  return book
}
