/**
 * The paper broker's market: where its quotes come from, how they move, and what a
 * fill costs against them.
 *
 * Quotes come from a fixed list (inline or a JSON/CSV file) or from a seeded random
 * walk. Everything here is plain and synchronous; the broker calls it inside its own
 * lock, so the market never changes under a fill that is being booked.
 */
import * as Effect from "effect/Effect"
import type * as Random from "effect/Random"
import * as Result from "effect/Result"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { type CsvColumns, readCsv } from "../../../formats/csv.ts"
import { parseJson } from "../../../formats/json.ts"
import { Decimal, estimate, fromInteger, isPositive, ONE } from "../../../kernel/decimal.ts"
import type { Side } from "../../../kernel/rebalance/deltas.ts"
import { bySymbol, type Quote, type QuoteInput, validateQuotes } from "../../../kernel/rebalance/snapshot.ts"
import { maxInputBytes, oversize, readWithin } from "../../inputs.ts"

// ---------------------------------------------------------------------------
// quote sources
// ---------------------------------------------------------------------------

/** A fixed list of quotes; they move only through `PaperMarket.setQuotes`. */
export interface StaticQuotes {
  readonly kind: "static"
  readonly quotes: ReadonlyArray<QuoteInput>
}

/**
 * Quotes read once, when the layer starts, from JSON (`[{symbol,bid,ask,last}]`) or
 * CSV (`symbol,bid,ask,last` with that header, columns in any order). The format is
 * chosen by extension (.json/.csv), else by the first character. Editing the file
 * between runs moves the market for the next run.
 */
export interface FileQuotes {
  readonly kind: "file"
  readonly path: string
}

/**
 * A seeded random walk: every `quotes()` call moves every symbol one step, so a run
 * is reproducible from its seed and the sequence of calls alone.
 */
export interface RandomWalkQuotes {
  readonly kind: "random-walk"
  readonly seed: string | number
  /** Starting last price per symbol, e.g. `{ AAPL: "190.00" }`. */
  readonly start: Readonly<Record<string, string>>
  /** Largest move per step, in basis points of the price (a step is uniform in ±this). */
  readonly volatilityBps: number
  /** Bid–ask spread in basis points of the price; at least one cent. Default 10. */
  readonly spreadBps?: number
}

export type QuoteSource = StaticQuotes | FileQuotes | RandomWalkQuotes

/** A walk's spread in basis points (default 10). */
export const walkSpreadBps = (source: RandomWalkQuotes): number => source.spreadBps ?? 10

// ---------------------------------------------------------------------------
// reading quotes
// ---------------------------------------------------------------------------

const describe = (
  where: string,
  problem: { readonly path: string; readonly expected: string; readonly value: string }
) => `${where}: ${problem.path === "" ? "" : `${problem.path}: `}expected ${problem.expected}, got ${problem.value}`

/** Validates quotes given as data, with the kernel's own reader (zero means no price). */
export const readQuotes = (where: string, input: unknown): Result.Result<ReadonlyArray<Quote>, string> => {
  const read = validateQuotes(input)
  return Result.isFailure(read) ? Result.fail(describe(where, read.failure)) : Result.succeed(read.success)
}

/**
 * `symbol,bid,ask,last[,close]` with a header naming the columns (any order, any case); empty
 * cells mean no price. Cells stay text so the kernel reads the decimals exactly.
 */
const CSV_COLUMNS: CsvColumns<"symbol", "bid" | "ask" | "last" | "close"> = {
  required: ["symbol"],
  optional: ["bid", "ask", "last", "close"],
  others: "reject",
  expected: "a header such as \"symbol,bid,ask,last\""
}

/**
 * Reads a quote file: JSON or CSV, by extension or else by its first character. It falls under the
 * input size limit (`KEEL_MAX_INPUT_MB`), checked before it is read, as every input file does; a
 * leading BOM is dropped.
 */
export const loadQuoteFile = (path: string): Effect.Effect<ReadonlyArray<Quote>, string> =>
  Effect.gen(function*() {
    const where = `quote file ${path}`
    const limit = yield* Effect.mapError(maxInputBytes, (error) => error.message)
    const text = yield* Effect.try({
      try: () => {
        const large = oversize(limit, Fs.statSync(path).size)
        return large === undefined ? readWithin(limit, Fs.readFileSync(path, "utf8")) : Result.fail(large)
      },
      catch: (cause) => `cannot read ${where}: ${cause instanceof Error ? cause.message : String(cause)}`
    }).pipe(Effect.flatMap((read) => Effect.mapError(Effect.fromResult(read), (problem) => `${where}: ${problem}`)))
    const extension = Path.extname(path).toLowerCase()
    const json = extension === ".json" || (extension !== ".csv" && /^\s*[[{]/.test(text))
    const parsed = yield* (json
      ? Effect.fromResult(parseJson(text))
      : Effect.map(Effect.mapError(readCsv(text, CSV_COLUMNS), (error) => error.message), (csv) => csv.rows)).pipe(
        Effect.mapError((problem) => `${where}: ${problem}`)
      )
    return yield* Effect.fromResult(readQuotes(where, parsed))
  })

// ---------------------------------------------------------------------------
// the market
// ---------------------------------------------------------------------------

const CENT: Decimal = new Decimal("0.01")
const BASIS_POINT: Decimal = new Decimal("0.0001")

/**
 * The simulated market's current quotes. `step` advances a random walk (a no-op for
 * fixed quotes); `set` overrides quotes, as a test or a scenario moving the market.
 */
export interface Market {
  readonly get: (symbol: string) => Quote | undefined
  /** Moves the market one step; true when anything moved. */
  readonly step: () => boolean
  readonly set: (quotes: ReadonlyArray<Quote>) => void
}

interface WalkSettings {
  readonly volatility: number
  readonly spread: number
  readonly random: Random.Random
}

/** A walk's quote around `last`: half the spread either side, in whole cents. */
const walkQuote = (symbol: string, last: Decimal, spreadBps: number): Quote => {
  const halfCents = Math.max(1, Math.round((estimate(last) * 100 * spreadBps) / 20_000))
  const half = fromInteger(halfCents).times(CENT)
  const bid = last.minus(half)
  return { symbol, bid: bid.gt(CENT) ? bid : CENT, ask: last.plus(half), last }
}

/**
 * Builds the market. For a walk, `random` is a generator seeded from the walk's seed,
 * used only by the walk, so orders and rejections never shift its sequence.
 */
export const makeMarket = (initial: ReadonlyArray<Quote>, walk: WalkSettings | undefined): Market => {
  const quotes = new Map<string, Quote>(initial.map((q) => [q.symbol, q]))
  const lasts = new Map<string, Decimal>()
  if (walk !== undefined) { for (const q of initial) if (q.last !== undefined) lasts.set(q.symbol, q.last) }

  const step = (): boolean => {
    if (walk === undefined || lasts.size === 0) return false
    // Sorted, so the draw each symbol gets never depends on insertion order.
    for (const symbol of [...lasts.keys()].sort()) {
      const last = lasts.get(symbol)!
      // Floats only choose the move; the price itself changes by whole cents.
      const draw = walk.random.nextDoubleUnsafe() * 2 - 1
      const moveCents = Math.round((estimate(last) * 100 * walk.volatility * draw) / 10_000)
      const moved = last.plus(fromInteger(moveCents).times(CENT))
      const next = moved.gte(CENT) ? moved : CENT
      lasts.set(symbol, next)
      quotes.set(symbol, walkQuote(symbol, next, walk.spread))
    }
    return true
  }

  const set = (update: ReadonlyArray<Quote>): void => {
    for (const q of update) {
      quotes.set(q.symbol, q)
      // A walk continues from wherever the market was put.
      if (walk !== undefined && lasts.has(q.symbol)) {
        const anchor = q.last ?? mid(q)
        if (anchor !== undefined) lasts.set(q.symbol, anchor)
      }
    }
  }

  return { get: (symbol) => quotes.get(symbol), step, set }
}

/** The starting quotes of a walk, validated like any other quotes. */
export const walkStart = (source: RandomWalkQuotes): Result.Result<ReadonlyArray<Quote>, string> => {
  const spread = walkSpreadBps(source)
  if (!Number.isFinite(source.volatilityBps) || source.volatilityBps < 0) {
    return Result.fail(`random walk: expected volatilityBps >= 0, got ${source.volatilityBps}`)
  }
  if (!Number.isFinite(spread) || spread < 0) return Result.fail(`random walk: expected spreadBps >= 0, got ${spread}`)
  const read = readQuotes(
    "random walk start",
    Object.entries(source.start).map(([symbol, last]) => ({ symbol, last }))
  )
  if (Result.isFailure(read)) return read
  const missing = read.success.find((q) => q.last === undefined)
  if (missing !== undefined) return Result.fail(`random walk start: expected a positive price for ${missing.symbol}`)
  return Result.succeed(read.success.map((q) => walkQuote(q.symbol, q.last!, spread)).sort(bySymbol))
}

// ---------------------------------------------------------------------------
// prices
// ---------------------------------------------------------------------------

/** The midpoint when both sides are quoted, else the last or close price. */
export const mid = (q: Quote): Decimal | undefined =>
  q.bid !== undefined && q.ask !== undefined ? q.bid.plus(q.ask).times("0.5") : q.last ?? q.close

/** Basis points as a fraction (5 bp → 0.0005). */
export const fromBps = (value: Decimal): Decimal => value.times(BASIS_POINT)

/**
 * Fills happen on the price grid: cents at or above one dollar, hundredths of a cent
 * below (SEC Rule 612). Rounding is always against the trader, as slippage is.
 */
const toTick = (price: Decimal, against: "up" | "down"): Decimal => {
  const places = price.gte(ONE) ? 2 : 4
  return price.round(places, against === "up" ? Decimal.roundUp : Decimal.roundDown)
}

/** What a market order would pay now: ask × (1 + slip), or get: bid × (1 − slip). */
export const marketPrice = (side: Side, quote: Quote, slip: Decimal): Decimal | undefined => {
  if (side === "buy") {
    return quote.ask === undefined ? undefined : toTick(quote.ask.times(ONE.plus(slip)), "up")
  }
  if (quote.bid === undefined) return undefined
  const price = toTick(quote.bid.times(ONE.minus(slip)), "down")
  return isPositive(price) ? price : undefined
}

/**
 * The price an order fills at now, or undefined while it cannot fill: no quote on its
 * side, or a limit that is not marketable (buy: ask ≤ limit, sell: bid ≥ limit).
 * A marketable limit order gets the slipped price, bounded by its limit.
 */
export const fillPrice = (
  order: { readonly side: Side; readonly limitPrice?: Decimal | undefined },
  quote: Quote | undefined,
  slip: Decimal
): Decimal | undefined => {
  if (quote === undefined) return undefined
  const price = marketPrice(order.side, quote, slip)
  if (price === undefined) return undefined
  const limit = order.limitPrice
  if (limit === undefined) return price
  if (order.side === "buy") {
    if (quote.ask!.gt(limit)) return undefined
    return price.gt(limit) ? limit : price
  }
  if (quote.bid!.lt(limit)) return undefined
  return price.lt(limit) ? limit : price
}
