/**
 * Pattern day trader protection: FINRA's counting examples, the five-business-day window on
 * the calendar, and the plan that would make the fourth day trade.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Decimal } from "../../../src/kernel/decimal.ts"
import {
  dayTrades,
  type DayTradesInput,
  recentDayTrades,
  type StoredFill
} from "../../../src/kernel/guards/dayTrades.ts"
import { nyse } from "../../../src/kernel/guards/nyse.ts"
import type { Side } from "../../../src/kernel/rebalance/deltas.ts"

/** `hh:mm` New York time (EST) on a day of 2026, as epoch milliseconds. */
const at = (day: string, time: string): number => Date.parse(`${day}T${time}:00-05:00`)

const fill = (day: string, time: string, side: Side, quantity: string, symbol = "ABC"): StoredFill => ({
  symbol,
  side,
  quantity: new Decimal(quantity),
  at: at(day, time)
})

const order = (side: Side, quantity: string, symbol: string) => ({ side, quantity: new Decimal(quantity), symbol })

const MONDAY = "2026-03-02"
const TUESDAY = "2026-03-03"

describe("counting day trades (FINRA Regulatory Notice 21-13's examples)", () => {
  const count = (fills: ReadonlyArray<StoredFill>): number => recentDayTrades(nyse, fills, at(TUESDAY, "12:00")).length
  const day = (...steps: ReadonlyArray<[string, Side, string] | [string, Side, string, string]>) =>
    steps.map(([time, side, quantity, symbol]) => fill(MONDAY, time, side, quantity, symbol))

  it("counts a sell after buys once, whatever the quantities", () => {
    expect(count(day(["09:30", "buy", "250"], ["09:31", "buy", "250"], ["13:00", "sell", "500"]))).toBe(1) // A
    expect(
      count(day(["09:30", "buy", "100"], ["09:31", "sell", "100"], ["09:32", "buy", "100"], ["13:00", "sell", "100"]))
    ).toBe(2) // B
    expect(
      count(day(["09:30", "buy", "500"], ["13:00", "sell", "100"], ["13:01", "sell", "100"], ["13:03", "sell", "300"]))
    ).toBe(1) // C
    expect(
      count(
        day(["09:30", "buy", "250"], ["09:31", "buy", "300"], ["13:01", "buy", "100"], ["13:02", "sell", "150"], [
          "13:03",
          "sell",
          "175"
        ])
      )
    ).toBe(1) // D
    expect(
      count(day(
        ["09:30", "buy", "199"],
        ["09:31", "buy", "142"],
        ["13:00", "sell", "1"],
        ["13:01", "buy", "45"],
        ["13:02", "sell", "100"],
        ["13:03", "sell", "200"]
      ))
    ).toBe(2) // E
    expect(
      count(
        day(["09:30", "buy", "200"], ["09:30", "buy", "100", "XYZ"], ["13:00", "sell", "100"], [
          "13:00",
          "sell",
          "100",
          "XYZ"
        ])
      )
    ).toBe(2) // F
  })

  it("counts no sell of a position held overnight, nor the buy after it, nor a buy and a sell on two days", () => {
    expect(count(day(["09:30", "sell", "50"], ["10:00", "buy", "50"]))).toBe(0)
    expect(count([fill("2026-02-27", "15:00", "buy", "10"), fill(MONDAY, "10:00", "sell", "10")])).toBe(0)
  })

  it("takes the fills' order in time, not in the list", () => {
    expect(count([fill(MONDAY, "13:00", "sell", "10"), fill(MONDAY, "09:30", "buy", "10")])).toBe(1)
  })

  it("looks back five business days, skipping the calendar's holidays", () => {
    // Tuesday 20 January 2026 follows Martin Luther King Jr. Day: the window is 20, 16, 15, 14 and 13 January.
    const trade = (d: string) => [fill(d, "09:30", "buy", "1"), fill(d, "10:00", "sell", "1")]
    const now = at("2026-01-20", "12:00")
    expect(recentDayTrades(nyse, [...trade("2026-01-13"), ...trade("2026-01-12")], now)).toEqual([{
      symbol: "ABC",
      day: "2026-01-13"
    }])
  })
})

describe("dayTrades", () => {
  /** Three day trades on Monday (ABC, DEF, GHI), and 10 XYZ bought on Tuesday morning. */
  const fills = [
    ...["ABC", "DEF", "GHI"].flatMap((
      s
    ) => [fill(MONDAY, "09:30", "buy", "1", s), fill(MONDAY, "10:00", "sell", "1", s)]),
    fill(TUESDAY, "09:35", "buy", "10", "XYZ")
  ]
  const input = (change: Partial<DayTradesInput>): DayTradesInput => ({
    calendar: nyse,
    now: at(TUESDAY, "14:00"),
    margin: true,
    equity: new Decimal("20000"),
    fills,
    orders: [order("buy", "5", "ABC"), order("sell", "10", "XYZ")],
    ...change
  })

  it("refuses the plan that would make a fourth day trade, naming the orders", () => {
    expect(dayTrades(input({}))).toEqual({
      _tag: "Refuse",
      guard: "day-trades",
      reason:
        "the plan would make 4 day trades in 5 business days (at most 3 in a margin account under 25000 equity): " +
        "sell 10 XYZ (bought today); earlier: ABC on 2026-03-02, DEF on 2026-03-02, GHI on 2026-03-02"
    })
  })

  it("passes a cash account, an account at the threshold, and one under a lower threshold the caller gives", () => {
    expect(dayTrades(input({ margin: false }))._tag).toBe("Pass")
    expect(dayTrades(input({ equity: new Decimal("25000") }))._tag).toBe("Pass")
    expect(dayTrades(input({ equity: new Decimal("24999.99") }))._tag).toBe("Refuse")
    expect(dayTrades(input({ minimumEquity: new Decimal("10000") }))._tag).toBe("Pass")
  })

  it("passes a plan that makes no day trade, and one that makes the third", () => {
    expect(dayTrades(input({ orders: [order("sell", "1", "ABC"), order("buy", "3", "XYZ")] }))._tag).toBe("Pass")
    expect(dayTrades(input({ fills: fills.slice(2) }))._tag).toBe("Pass")
  })

  it("notes when the window reaches beyond the calendar", () => {
    expect(dayTrades(input({ now: Date.parse("2028-01-04T15:00:00Z"), fills: [] }))).toMatchObject({
      _tag: "Note",
      overridden: false
    })
  })

  it("never refuses a plan of buys alone: a buy opens, it never closes a day trade", () => {
    const fillArb = fc.record({
      symbol: fc.constantFrom("ABC", "DEF", "XYZ"),
      side: fc.constantFrom<Side>("buy", "sell"),
      quantity: fc.integer({ min: 1, max: 100 }).map((n) => new Decimal(String(n))),
      at: fc.integer({ min: at("2026-02-20", "09:30"), max: at(TUESDAY, "13:00") })
    })
    const buys = fc.array(fc.constantFrom("ABC", "DEF", "XYZ").map((s) => order("buy", "1", s)))
    fc.assert(
      fc.property(fc.array(fillArb, { maxLength: 30 }), buys, (someFills, orders) => {
        expect(dayTrades(input({ fills: someFills, orders }))._tag).toBe("Pass")
      }),
      { numRuns: 200 }
    )
  })
})
