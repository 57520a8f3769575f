/**
 * Pattern day trader protection. FINRA Rule 4210(f)(8)(B) makes a margin account with less than
 * $25,000 of equity a pattern day trader once it makes four day trades within five business
 * days; this guard refuses the plan that would make the fourth.
 *
 * Counting, from the stored fills, per symbol and market day, in time order: every sell that
 * follows a buy (with no sell between them) ends one day trade. So several buys then one sell
 * are one day trade, buy–sell–buy–sell are two, and one buy sold in three parts is one (FINRA's
 * examples in Regulatory Notice 21-13), whatever the quantities. A sell before any buy that day
 * closes a position held overnight and is none, nor is the buy after it (FINRA's exception).
 * Keel never sells short, so a sell followed by a buy is never counted. The 6% share of all
 * trades that FINRA also allows is not used: the guard counts day trades only, which is stricter.
 */
import { compare, Decimal, format, isPositive } from "../decimal.ts"
import type { Side } from "../rebalance/deltas.ts"
import type { Order } from "../rebalance/orders.ts"
import { type Calendar, isBusinessDay, marketDay } from "./calendar.ts"
import { addDays, type MarketDay } from "./marketTime.ts"
import { note, pass, refuse, type Verdict } from "./verdict.ts"

/** FINRA's figures: more day trades than `most` within `days` business days make a pattern day trader. */
export const DayTradeLimit = { days: 5, most: 3 } as const

/** The equity below which a margin account is held to the limit, unless the caller gives another. */
export const PATTERN_DAY_TRADER_EQUITY: Decimal = new Decimal("25000")

/** A fill as the Store keeps it. */
export interface StoredFill {
  readonly symbol: string
  readonly side: Side
  readonly quantity: Decimal
  /** Epoch milliseconds. */
  readonly at: number
}

export interface DayTradesInput {
  readonly calendar: Calendar
  readonly now: number
  readonly margin: boolean
  readonly equity: Decimal
  /** Defaults to PATTERN_DAY_TRADER_EQUITY. */
  readonly minimumEquity?: Decimal | undefined
  /** The account's fills of at least the last five business days (older ones are left out). */
  readonly fills: ReadonlyArray<StoredFill>
  /** The plan's orders; the run sends every sell before any buy. */
  readonly orders: ReadonlyArray<Pick<Order, "symbol" | "side" | "quantity">>
}

/** The market days that count: today and the business days before it, `DayTradeLimit.days` in all. */
const windowOf = (
  calendar: Calendar,
  today: MarketDay
): { readonly days: Set<MarketDay>; readonly guessed: boolean } => {
  const days = new Set([today])
  let guessed = false
  for (let day = addDays(today, -1); days.size < DayTradeLimit.days; day = addDays(day, -1)) {
    const business = isBusinessDay(calendar, day)
    guessed ||= business.guessed
    if (business.business) days.add(day)
  }
  return { days, guessed }
}

/** One day trade: a symbol bought and then sold on a market day. */
export interface DayTrade {
  readonly symbol: string
  readonly day: MarketDay
}

interface Counted {
  /** Oldest first. */
  readonly dayTrades: ReadonlyArray<DayTrade>
  /** Today's last side per symbol: what a planned sell would close. */
  readonly lastToday: Map<string, Side>
}

const count = (
  calendar: Calendar,
  fills: ReadonlyArray<StoredFill>,
  days: ReadonlySet<MarketDay>,
  today: MarketDay
): Counted => {
  const inWindow = fills
    .filter((fill) => isPositive(fill.quantity))
    .map((fill) => ({ fill, day: marketDay(calendar, fill.at) }))
    .filter(({ day }) => days.has(day))
    .sort((a, b) => a.fill.at - b.fill.at)
  const last = new Map<string, Side>()
  const dayTrades: Array<DayTrade> = []
  for (const { day, fill } of inWindow) {
    const key = `${day} ${fill.symbol}`
    if (fill.side === "sell" && last.get(key) === "buy") dayTrades.push({ symbol: fill.symbol, day })
    last.set(key, fill.side)
  }
  const lastToday = new Map<string, Side>()
  for (const [key, side] of last) if (key.startsWith(`${today} `)) lastToday.set(key.slice(today.length + 1), side)
  return { dayTrades, lastToday }
}

/** The day trades the fills made in the five business days up to `now`'s market day (FINRA's count, above). */
export const recentDayTrades = (
  calendar: Calendar,
  fills: ReadonlyArray<StoredFill>,
  now: number
): ReadonlyArray<DayTrade> => {
  const today = marketDay(calendar, now)
  return count(calendar, fills, windowOf(calendar, today).days, today).dayTrades
}

/** The planned orders that would end a day trade, in the order the run sends them. */
const plannedDayTrades = (input: DayTradesInput, lastToday: Map<string, Side>): ReadonlyArray<string> => {
  const inRunOrder = [...input.orders.filter((o) => o.side === "sell"), ...input.orders.filter((o) => o.side === "buy")]
  const found: Array<string> = []
  for (const order of inRunOrder) {
    if (order.side === "sell" && lastToday.get(order.symbol) === "buy") {
      found.push(`sell ${format(order.quantity)} ${order.symbol}`)
    }
    lastToday.set(order.symbol, order.side)
  }
  return found
}

/**
 * Refuses a plan that would bring the day trades of the last five business days above three, in
 * a margin account under the minimum equity, naming the orders that would be the day trades.
 */
export const dayTrades = (input: DayTradesInput): Verdict => {
  const minimumEquity = input.minimumEquity ?? PATTERN_DAY_TRADER_EQUITY
  if (!input.margin || compare(input.equity, minimumEquity) >= 0) return pass("day-trades")
  const today = marketDay(input.calendar, input.now)
  const window = windowOf(input.calendar, today)
  const counted = count(input.calendar, input.fills, window.days, today)
  const planned = plannedDayTrades(input, counted.lastToday)
  const total = counted.dayTrades.length + planned.length
  if (planned.length > 0 && total > DayTradeLimit.most) {
    const earlier = counted.dayTrades.length === 0
      ? ""
      : `; earlier: ${counted.dayTrades.map((trade) => `${trade.symbol} on ${trade.day}`).join(", ")}`
    return refuse(
      "day-trades",
      `the plan would make ${total} day trades in ${DayTradeLimit.days} business days (at most ${DayTradeLimit.most} ` +
        `in a margin account under ${format(minimumEquity)} equity): ${planned.join(", ")} (bought today)${earlier}`
    )
  }
  return window.guessed
    ? note(
      "day-trades",
      "day trades counted over weekdays beyond the trading calendar (its holidays are unknown)",
      false
    )
    : pass("day-trades")
}
