/**
 * Which price the kernel uses for what:
 * - valuation (equity, weights): the mid, else last, else close, else the one side quoted;
 * - buys: ask × (1 + buyPriceBuffer), else last or close (with the same buffer, and a warning);
 * - sells: bid, else last or close (with a warning).
 * A symbol with no positive price at all has none of the three and is never traded.
 */
import * as Schema from "effect/Schema"
import { add, compare, type Decimal, estimate, HALF, multiply, ONE } from "../decimal.ts"
import type { Policy } from "./policy.ts"
import type { Quote } from "./snapshot.ts"

/** Where a price came from: the quote's mid, one side of it, or a fallback (last, close). */
export const PriceSource = Schema.Literals(["mid", "bid", "ask", "last", "close"])
export type PriceSource = typeof PriceSource.Type

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

/** The prices of a symbol that can be bought: valued, with a buy price. */
export interface BuyPrices extends Prices {
  readonly valuation: Priced
  readonly buy: Priced
}

/** The prices of a symbol that can be sold: valued, with a sell price. */
export interface SellPrices extends Prices {
  readonly valuation: Priced
  readonly sell: Priced
}

export const canBuy = (prices: Prices): prices is BuyPrices =>
  prices.valuation !== undefined && prices.buy !== undefined

export const canSell = (prices: Prices): prices is SellPrices =>
  prices.valuation !== undefined && prices.sell !== undefined

export type PriceBook = ReadonlyMap<string, Prices>

const priced = (price: Decimal, source: PriceSource): Priced => ({ price, source, estimate: estimate(price) })

const fallback = (quote: Quote): Priced | undefined =>
  quote.last !== undefined
    ? priced(quote.last, "last")
    : quote.close !== undefined
    ? priced(quote.close, "close")
    : undefined

export const prices = (quote: Quote, buyMarkup: Decimal): Prices => {
  const bid = quote.bid === undefined ? undefined : priced(quote.bid, "bid")
  const ask = quote.ask === undefined ? undefined : priced(quote.ask, "ask")
  const other = fallback(quote)
  const valuation = bid !== undefined && ask !== undefined ? mid(bid, ask) : other ?? bid ?? ask
  const buyBase = ask ?? other
  const buy = buyBase === undefined || compare(buyMarkup, ONE) === 0
    ? buyBase
    : priced(multiply(buyBase.price, buyMarkup), buyBase.source)
  return { valuation, buy, sell: bid ?? other }
}

const mid = (bid: Priced, ask: Priced): Priced =>
  compare(bid.price, ask.price) === 0
    ? { price: bid.price, source: "mid", estimate: bid.estimate }
    : priced(multiply(add(bid.price, ask.price), HALF), "mid")

export const NO_PRICES: Prices = { valuation: undefined, buy: undefined, sell: undefined }

/** Builds the prices of every quoted symbol once, so many accounts can share them. */
export const priceBook = (quotes: ReadonlyArray<Quote>, policy: Policy): PriceBook => {
  const markup = ONE.plus(policy.buyPriceBuffer)
  const book = new Map<string, Prices>()
  for (const quote of quotes) book.set(quote.symbol, prices(quote, markup))
  return book
}
