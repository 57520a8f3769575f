/**
 * Wall-clock time in a zone, against references that do not use Intl: the US Eastern rules
 * since 2007 (second Sunday of March to first Sunday of November, at 02:00 local).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { addDays, instantOf, isRealDay, localDay, localTime } from "../../../src/kernel/guards/marketTime.ts"

const HOUR = 3_600_000
const NY = "America/New_York"

/** The n-th Sunday of a month (1-based), as a UTC day number of milliseconds at 00:00. */
const nthSunday = (year: number, month: number, n: number): number => {
  const first = new Date(Date.UTC(year, month, 1)).getUTCDay()
  return Date.UTC(year, month, 1 + ((7 - first) % 7) + (n - 1) * 7)
}

/** DST in New York runs from 07:00 UTC on the second Sunday of March to 06:00 UTC on the first Sunday of November. */
const dstStart = (year: number): number => nthSunday(year, 2, 2) + 7 * HOUR
const dstEnd = (year: number): number => nthSunday(year, 10, 1) + 6 * HOUR

const referenceDay = (at: number): string => {
  const year = new Date(at).getUTCFullYear()
  const offset = at >= dstStart(year) && at < dstEnd(year) ? -4 : -5
  return new Date(at + offset * HOUR).toISOString().slice(0, 10)
}

describe("localDay", () => {
  it("agrees with the US Eastern rules at any instant from 2007 to 2099", () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2007, 0, 1), max: Date.UTC(2099, 11, 31) }), (at) => {
        expect(localDay(NY, at)).toBe(referenceDay(at))
      }),
      { numRuns: 2000 }
    )
  })

  it("agrees with them within three hours of every DST change", () => {
    const near = fc.tuple(
      fc.integer({ min: 2007, max: 2099 }),
      fc.boolean(),
      fc.integer({ min: -3 * HOUR, max: 3 * HOUR })
    )
    fc.assert(
      fc.property(near, ([year, start, delta]) => {
        const at = (start ? dstStart(year) : dstEnd(year)) + delta
        expect(localDay(NY, at)).toBe(referenceDay(at))
      }),
      { numRuns: 2000 }
    )
  })

  it("is the market's date, not UTC's: 21:00 in New York is the next day in UTC", () => {
    expect(localDay(NY, Date.UTC(2026, 2, 3, 2, 0))).toBe("2026-03-02")
    expect(localDay("Asia/Tokyo", Date.UTC(2026, 2, 2, 16, 0))).toBe("2026-03-03")
  })
})

describe("instantOf", () => {
  const dayIn2026to2027 = fc.integer({ min: 0, max: 729 }).map((n) => addDays("2026-01-01", n))
  const minuteOfDay = fc.integer({ min: 0, max: 1439 })
  const hhmm = (minute: number): string =>
    `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`

  it("reads back as the same local date and time, DST days included, in zones on both hemispheres", () => {
    const zones = fc.constantFrom(NY, "Europe/London", "Australia/Sydney", "Asia/Kolkata")
    fc.assert(
      fc.property(zones, dayIn2026to2027, minuteOfDay, (zone, day, minute) => {
        // 01:00–03:59 holds every skipped hour of these zones.
        fc.pre(minute < 60 || minute >= 240)
        expect(localTime(zone, instantOf(zone, day, hhmm(minute)))).toBe(`${day} ${hhmm(minute)} ${zone}`)
      }),
      { numRuns: 2000 }
    )
  })

  it("puts a skipped time just after the gap, and a repeated time at its first occurrence", () => {
    // 2026-03-08 02:30 does not exist in New York (02:00 EST → 03:00 EDT): read at EST, it is 03:30 EDT.
    expect(localTime(NY, instantOf(NY, "2026-03-08", "02:30"))).toBe(`2026-03-08 03:30 ${NY}`)
    // 2026-11-01 01:30 happens twice: first at EDT (05:30 UTC).
    expect(instantOf(NY, "2026-11-01", "01:30")).toBe(Date.UTC(2026, 10, 1, 5, 30))
    expect(instantOf(NY, "2026-11-01", "03:00")).toBe(Date.UTC(2026, 10, 1, 8, 0))
  })
})

describe("days", () => {
  it("checks real dates and steps across months and years", () => {
    expect(["2026-02-28", "2028-02-29", "2026-12-31"].map(isRealDay)).toEqual([true, true, true])
    expect(["2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "26-01-01"].map(isRealDay)).toEqual([
      false,
      false,
      false,
      false,
      false
    ])
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01")
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28")
  })
})
