/**
 * The trading calendar: NYSE's bundled days, sessions across DST, the calendar's end, and the
 * file a user gives instead, with its errors as the user sees them.
 */
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import { decodeShape } from "../../../src/effects/inputs.ts"
import { CalendarFile, isOpen, marketDay, nextOpen, session } from "../../../src/kernel/guards/calendar.ts"
import { addDays, isWeekend } from "../../../src/kernel/guards/marketTime.ts"
import { nyse, nyseFile } from "../../../src/kernel/guards/nyse.ts"

const utc = (y: number, m: number, d: number, h: number, min = 0): number => Date.UTC(y, m - 1, d, h, min)

describe("the bundled NYSE calendar", () => {
  it("is a valid calendar file, and encodes back to itself", () => {
    const decoded = decodeShape(CalendarFile, nyseFile)
    expect(Result.isSuccess(decoded)).toBe(true)
    expect(Schema.encodeSync(CalendarFile)(nyse)).toEqual(nyseFile)
  })

  it("is closed on the ten holidays of each year and closes at 13:00 on the three early closes", () => {
    const closed = (year: number): Array<string> => {
      const days: Array<string> = []
      for (let day = `${year}-01-01`; day.startsWith(String(year)); day = addDays(day, 1)) {
        const s = session(nyse, day)
        if (s._tag === "Closed" && s.why === "holiday") days.push(day.slice(5))
      }
      return days
    }
    expect(closed(2026)).toEqual([
      "01-01",
      "01-19",
      "02-16",
      "04-03",
      "05-25",
      "06-19",
      "07-03",
      "09-07",
      "11-26",
      "12-25"
    ])
    expect(closed(2027)).toEqual([
      "01-01",
      "01-18",
      "02-15",
      "03-26",
      "05-31",
      "06-18",
      "07-05",
      "09-06",
      "11-25",
      "12-24"
    ])
    for (
      const [day, close] of [["2026-11-27", utc(2026, 11, 27, 18)], ["2026-12-24", utc(2026, 12, 24, 18)]] as const
    ) {
      expect(session(nyse, day)).toEqual({ _tag: "Open", day, opens: close - 210 * 60_000, closes: close, early: true })
    }
    expect(session(nyse, "2027-11-26")).toMatchObject({ early: true, closes: utc(2027, 11, 26, 18) })
    // No early close before Independence Day or the 2027 Christmas holiday.
    for (const day of ["2026-07-02", "2027-07-02", "2027-12-23"]) {
      expect(session(nyse, day)).toMatchObject({ early: false })
    }
  })

  it("opens at 09:30 New York time on both sides of each DST change", () => {
    expect(session(nyse, "2026-03-06")).toMatchObject({ opens: utc(2026, 3, 6, 14, 30), closes: utc(2026, 3, 6, 21) })
    expect(session(nyse, "2026-03-09")).toMatchObject({ opens: utc(2026, 3, 9, 13, 30), closes: utc(2026, 3, 9, 20) })
    expect(session(nyse, "2026-10-30")).toMatchObject({ opens: utc(2026, 10, 30, 13, 30) })
    expect(session(nyse, "2026-11-02")).toMatchObject({ opens: utc(2026, 11, 2, 14, 30) })
  })

  it("has 251 sessions in each year: 261 weekdays less 10 holidays", () => {
    const sessions = (year: number): number => {
      let n = 0
      for (let day = `${year}-01-01`; day.startsWith(String(year)); day = addDays(day, 1)) {
        if (session(nyse, day)._tag === "Open") n++
        else expect(isWeekend(day) || nyse.holidays.has(day)).toBe(true)
      }
      return n
    }
    expect([sessions(2026), sessions(2027)]).toEqual([251, 251])
  })
})

describe("isOpen and nextOpen", () => {
  it("is open from the open (included) to the close (excluded)", () => {
    const monday = session(nyse, "2026-03-09")
    if (monday._tag !== "Open") throw new Error("expected a session")
    expect([monday.opens - 1, monday.opens, monday.closes - 1, monday.closes].map((at) => isOpen(nyse, at))).toEqual([
      false,
      true,
      true,
      false
    ])
    expect(isOpen(nyse, utc(2026, 11, 27, 18, 30))).toBe(false)
  })

  it("finds the next session across weekends and holidays", () => {
    // Thursday 24 December 2026 after its 13:00 close → Monday 28 December.
    expect(nextOpen(nyse, utc(2026, 12, 24, 18))).toMatchObject({ _tag: "Open", day: "2026-12-28" })
    // Before the open on a trading day: that day.
    expect(nextOpen(nyse, utc(2026, 3, 9, 12))).toMatchObject({ day: "2026-03-09" })
    // During a session: the next one.
    expect(nextOpen(nyse, utc(2026, 3, 9, 15))).toMatchObject({ day: "2026-03-10" })
  })

  it("knows nothing beyond its years: the day is unknown, never open", () => {
    expect(session(nyse, "2028-01-03")).toEqual({ _tag: "Unknown", day: "2028-01-03" })
    expect(session(nyse, "2025-12-31")).toEqual({ _tag: "Unknown", day: "2025-12-31" })
    expect(isOpen(nyse, utc(2028, 1, 3, 15))).toBe(false)
    expect(nextOpen(nyse, utc(2027, 12, 31, 22))).toEqual({ _tag: "Unknown", day: "2028-01-01" })
    expect(marketDay(nyse, utc(2028, 1, 4, 3))).toBe("2028-01-03")
  })
})

describe("a calendar file", () => {
  const problem = (change: Record<string, unknown>): string => {
    const decoded = decodeShape(CalendarFile, { ...nyseFile, ...change })
    return Result.isFailure(decoded) ? decoded.failure : "decoded"
  }

  it("replaces the bundled one", () => {
    const lse = {
      zone: "Europe/London",
      open: "08:00",
      close: "16:30",
      years: { from: 2026, through: 2026 },
      holidays: ["2026-12-25"],
      earlyCloses: [{ date: "2026-12-24", close: "12:30" }]
    }
    const decoded = decodeShape(CalendarFile, lse)
    if (Result.isFailure(decoded)) throw new Error(decoded.failure)
    expect(session(decoded.success, "2026-12-24")).toMatchObject({ closes: utc(2026, 12, 24, 12, 30), early: true })
    expect(session(decoded.success, "2026-07-01")).toMatchObject({ opens: utc(2026, 7, 1, 7) })
  })

  it("is refused in one line naming the field, what was expected and what was found", () => {
    expect(problem({ zone: "Mars/Olympus" })).toBe(
      "zone: expected a time zone this runtime knows, e.g. \"America/New_York\", got \"Mars/Olympus\""
    )
    expect(problem({ open: "9:30" })).toBe("open: expected a time \"HH:MM\" (00:00 to 23:59), got \"9:30\"")
    expect(problem({ close: "09:00" })).toBe("close: expected a time after open (09:30), got \"09:00\"")
    expect(problem({ opens: "09:30" })).toBe("opens: expected no excess property, got \"opens\"")
    expect(problem({ years: { from: 2027, through: 2026 } })).toBe(
      "years.through: expected a year from 2027 on, got 2026"
    )
    expect(problem({ holidays: ["2026-02-30"] })).toBe(
      "holidays[0]: expected a real date \"YYYY-MM-DD\", got \"2026-02-30\""
    )
    expect(problem({ holidays: [20260101] })).toBe("holidays[0]: expected a date \"YYYY-MM-DD\", got 20260101")
    expect(problem({ holidays: ["2028-01-03"] })).toBe(
      "holidays[0]: expected a date within years 2026–2027, got \"2028-01-03\""
    )
    expect(problem({ holidays: ["2026-01-03"] })).toBe(
      "holidays[0]: expected a weekday (weekends are closed already), got \"2026-01-03\""
    )
    expect(problem({ holidays: ["2026-01-02", "2026-01-02"] })).toBe(
      "holidays[1]: expected each date once, got \"2026-01-02\""
    )
    expect(problem({ earlyCloses: [{ date: "2026-01-01", close: "13:00" }] })).toBe(
      "earlyCloses[0].date: expected a date that is not a holiday and not listed before, got \"2026-01-01\""
    )
    expect(problem({ earlyCloses: [{ date: "2026-01-02", close: "17:00" }] })).toBe(
      "earlyCloses[0].close: expected a time between open (09:30) and close (16:00), got \"17:00\""
    )
    expect(problem({ earlyCloses: [{ date: "2026-01-02", close: "13:00", why: "x" }] })).toBe(
      "earlyCloses[0].why: expected no excess property, got \"why\""
    )
    const { years: _, ...noYears } = nyseFile
    expect(Result.getFailure(decodeShape(CalendarFile, noYears))).toEqual(
      Option.some("years: expected this required field, got nothing")
    )
    expect(problem({ years: "2026" })).toBe("years: expected the years covered, { from, through }, got \"2026\"")
    expect(problem({ years: { from: 2026.5, through: 2027 } })).toBe(
      "years.from: expected a year (1000 to 9999), got 2026.5"
    )
  })
})
