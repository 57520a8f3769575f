/**
 * Snapshot: what the account holds and what the market says, validated.
 * Lists come out sorted by symbol, so nothing downstream depends on input order.
 * Positions and quotes are read strictly, as the policy is: a field they do not have (`Bid`,
 * `price`, `side`) is an error, since a misspelt price would silently leave a holding unpriced
 * and a `side: short` would read as long.
 */
import * as Result from "effect/Result"
import { type Decimal, type DecimalInput, isZero } from "../decimal.ts"
import {
  byCodeUnits,
  type DecimalRule,
  entries,
  field,
  invalid,
  isRecord,
  nonNegative,
  onlyFields,
  passOn,
  type Read,
  readDecimal,
  subPath,
  uniqueSymbol
} from "../input.ts"

export interface Position {
  readonly symbol: string
  readonly quantity: Decimal
}

/** A quote; a zero price is treated as no price (a halted or one-sided market). */
export interface Quote {
  readonly symbol: string
  readonly bid?: Decimal
  readonly ask?: Decimal
  readonly last?: Decimal
  readonly close?: Decimal
}

/** What one account holds: settled cash available to trade, and positions (long only). */
export interface Account {
  readonly cash: Decimal
  readonly positions: ReadonlyArray<Position>
}

export interface QuoteInput {
  readonly symbol: string
  readonly bid?: DecimalInput
  readonly ask?: DecimalInput
  readonly last?: DecimalInput
  readonly close?: DecimalInput
}

export const bySymbol = <A extends { readonly symbol: string }>(a: A, b: A): number => byCodeUnits(a.symbol, b.symbol)

const PRICE_FIELDS = ["bid", "ask", "last", "close"] as const

const POSITION = { known: ["symbol", "quantity"], what: "a field of a long position" }
const QUOTE = { known: ["symbol", ...PRICE_FIELDS], what: "a quote field" }

/** Keel plans long positions only; a short one is refused, never read as long. */
const longQuantity: DecimalRule = { ...nonNegative, expected: "a quantity of at least 0 (long positions only)" }

export const validateAccount = (input: unknown): Read<Account> => {
  if (!isRecord(input)) return invalid("snapshot", "", input, "an object with cash, positions and quotes")
  const cash = readDecimal("snapshot", "cash", field(input, "cash"), nonNegative)
  if (Result.isFailure(cash)) return passOn(cash)
  const raw = field(input, "positions")
  const items = raw === undefined
    ? Result.succeed([])
    : entries("snapshot", "positions", raw, "symbol", "quantity", POSITION)
  if (Result.isFailure(items)) return passOn(items)
  const seen = new Set<string>()
  const positions: Array<Position> = []
  for (const item of items.success) {
    const symbol = uniqueSymbol("snapshot", seen, item)
    if (Result.isFailure(symbol)) return passOn(symbol)
    const quantity = readDecimal("snapshot", item, item.value, longQuantity)
    if (Result.isFailure(quantity)) return passOn(quantity)
    positions.push({ symbol: symbol.success, quantity: quantity.success })
  }
  return Result.succeed({ cash: cash.success, positions: positions.sort(bySymbol) })
}

export const validateQuotes = (input: unknown): Read<ReadonlyArray<Quote>> => {
  if (input === undefined) return Result.succeed([])
  const items = entries("snapshot", "quotes", input, "symbol", undefined, QUOTE)
  if (Result.isFailure(items)) return passOn(items)
  const seen = new Set<string>()
  const quotes: Array<Quote> = []
  for (const item of items.success) {
    const symbol = uniqueSymbol("snapshot", seen, item)
    if (Result.isFailure(symbol)) return passOn(symbol)
    if (!isRecord(item.value)) {
      return invalid("snapshot", item.path, item.value, "a quote object with bid, ask, last or close")
    }
    // The list form's items were checked with their symbol; the map form's values are checked here.
    if (!Array.isArray(input)) {
      const only = onlyFields("snapshot", item, item.value, PRICE_FIELDS, QUOTE.what)
      if (Result.isFailure(only)) return passOn(only)
    }
    const quote: { symbol: string } & { -readonly [K in (typeof PRICE_FIELDS)[number]]?: Decimal } = {
      symbol: symbol.success
    }
    for (const name of PRICE_FIELDS) {
      const value = field(item.value, name)
      if (value === undefined || value === null) continue
      const price = readDecimal("snapshot", subPath(item, name), value, nonNegative)
      if (Result.isFailure(price)) return passOn(price)
      if (!isZero(price.success)) quote[name] = price.success
    }
    quotes.push(quote)
  }
  return Result.succeed(quotes.sort(bySymbol))
}
