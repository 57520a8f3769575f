/**
 * Market hours on the paper venue: in session it passes; out of it, one line says why and when
 * the market opens next.
 */
import { describe, expect, it } from "vitest"
import { marketHours } from "../../../src/kernel/guards/marketHours.ts"
import { nyse } from "../../../src/kernel/guards/nyse.ts"

const utc = (y: number, m: number, d: number, h: number, min = 0): number => Date.UTC(y, m - 1, d, h, min)
const reason = (at: number): string => {
  const verdict = marketHours(nyse, at)
  return verdict._tag === "Refuse" ? verdict.reason : verdict._tag
}

describe("marketHours", () => {
  it("passes in a session", () => {
    expect(marketHours(nyse, utc(2026, 3, 9, 14))).toEqual({ _tag: "Pass", guard: "market-hours" })
  })

  it("refuses on a holiday, a weekend, before the open and after an early close, naming the next open", () => {
    expect(reason(utc(2026, 12, 25, 15))).toBe(
      "market closed on 2026-12-25 (holiday); next open 2026-12-28 09:30 America/New_York"
    )
    expect(reason(utc(2026, 3, 7, 15))).toBe(
      "market closed on 2026-03-07 (weekend); next open 2026-03-09 09:30 America/New_York"
    )
    expect(reason(utc(2026, 3, 9, 13))).toBe(
      "market not open yet: it opens 2026-03-09 09:30 America/New_York"
    )
    expect(reason(utc(2026, 11, 27, 18, 5))).toBe(
      "market closed at 2026-11-27 13:00 America/New_York (early close); next open 2026-11-30 09:30 America/New_York"
    )
  })

  it("says when the calendar has run out, rather than guess", () => {
    expect(reason(utc(2028, 1, 3, 15))).toBe(
      "the trading calendar covers 2026–2027 only, not 2028-01-03: give a calendar file that covers it"
    )
    expect(reason(utc(2027, 12, 31, 22))).toBe(
      "market closed at 2027-12-31 16:00 America/New_York; the trading calendar has no session after it (it covers 2026–2027)"
    )
  })
})
