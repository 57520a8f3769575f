/**
 * A trading calendar: the market's time zone, its regular session, and the holidays and early
 * closes of the years it covers. The paper venue, which has no clock of its own, follows one;
 * Keel ships NYSE's (nyse.ts) and a user's file replaces it, read through `CalendarFile`.
 *
 * Sessions run Monday to Friday. A day outside the covered years is `Unknown`: never guessed
 * open (a missing holiday would trade on a closed market) and never guessed closed (a guard
 * says the calendar ran out, so the user can give a newer one).
 */
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import {
  addDays,
  type ClockTime,
  instantOf,
  isClockTime,
  isRealDay,
  isWeekend,
  isZone,
  localDay,
  type MarketDay,
  minutesOf,
  yearOf
} from "./marketTime.ts"

export interface Calendar {
  /** IANA time zone of the market, e.g. "America/New_York". */
  readonly zone: string
  /** The regular session, local "HH:MM". */
  readonly open: ClockTime
  readonly close: ClockTime
  /** The years whose holidays and early closes are all listed. */
  readonly years: { readonly from: number; readonly through: number }
  readonly holidays: ReadonlySet<MarketDay>
  /** Day → local close. */
  readonly earlyCloses: ReadonlyMap<MarketDay, ClockTime>
}

/** Why a day has no session. */
export const ClosedReason = Schema.Literals(["weekend", "holiday"])
export type ClosedReason = typeof ClosedReason.Type

export type Session =
  | {
    readonly _tag: "Open"
    readonly day: MarketDay
    /** Epoch milliseconds: the session is [opens, closes). */
    readonly opens: number
    readonly closes: number
    readonly early: boolean
  }
  | { readonly _tag: "Closed"; readonly day: MarketDay; readonly why: ClosedReason }
  | { readonly _tag: "Unknown"; readonly day: MarketDay }

/** The market's date at an instant (DST-correct: the zone's own rules). */
export const marketDay = (calendar: Calendar, at: number): MarketDay => localDay(calendar.zone, at)

const covers = (calendar: Calendar, day: MarketDay): boolean => {
  const year = yearOf(day)
  return year >= calendar.years.from && year <= calendar.years.through
}

/** A day's session, or why it has none. */
export const session = (calendar: Calendar, day: MarketDay): Session => {
  if (!covers(calendar, day)) return { _tag: "Unknown", day }
  if (isWeekend(day)) return { _tag: "Closed", day, why: "weekend" }
  if (calendar.holidays.has(day)) return { _tag: "Closed", day, why: "holiday" }
  const early = calendar.earlyCloses.get(day)
  return {
    _tag: "Open",
    day,
    opens: instantOf(calendar.zone, day, calendar.open),
    closes: instantOf(calendar.zone, day, early ?? calendar.close),
    early: early !== undefined
  }
}

/** Whether the market is in session at an instant; an instant beyond the calendar is not. */
export const isOpen = (calendar: Calendar, at: number): boolean => {
  const today = session(calendar, marketDay(calendar, at))
  return today._tag === "Open" && at >= today.opens && at < today.closes
}

/**
 * The first session that opens after an instant, or the first day beyond the calendar when
 * none is left in it. Ends: every step moves a day forward, towards the last covered year.
 */
export const nextOpen = (calendar: Calendar, at: number): Session => {
  let day = marketDay(calendar, at)
  for (;;) {
    const next = session(calendar, day)
    if (next._tag === "Unknown" || (next._tag === "Open" && next.opens > at)) return next
    day = addDays(day, 1)
  }
}

/**
 * Business days: the days with a session. Outside the calendar a weekday is taken for one, and
 * `guessed` says so.
 */
export const isBusinessDay = (
  calendar: Calendar,
  day: MarketDay
): { readonly business: boolean; readonly guessed: boolean } => {
  const s = session(calendar, day)
  return s._tag === "Unknown"
    ? { business: !isWeekend(day), guessed: true }
    : { business: s._tag === "Open", guessed: false }
}

// ---------------------------------------------------------------------------------------
// The calendar file: what a user writes (JSON or YAML) and nyse.ts holds.
// ---------------------------------------------------------------------------------------

/** The years a calendar may cover: four-digit years, as the dates are written. */
const FIRST_YEAR = 1000
const LAST_YEAR = 9999

const Day = Schema.String.annotate({ message: "a date \"YYYY-MM-DD\"" }).check(
  Schema.makeFilter((text: string) => isRealDay(text) || "a real date \"YYYY-MM-DD\"")
)

const Time = Schema.String.annotate({ message: "a time \"HH:MM\"" }).check(
  Schema.makeFilter((text: string) => isClockTime(text) || "a time \"HH:MM\" (00:00 to 23:59)")
)

const A_YEAR = `a year (${FIRST_YEAR} to ${LAST_YEAR})`

const Year = Schema.Int.annotate({ message: A_YEAR }).check(
  Schema.isBetween({ minimum: FIRST_YEAR, maximum: LAST_YEAR }, { message: A_YEAR })
)

const FileShape = Schema.Struct({
  zone: Schema.String.annotate({ message: "an IANA time zone, e.g. \"America/New_York\"" }).check(
    Schema.makeFilter((zone: string) => isZone(zone) || "a time zone this runtime knows, e.g. \"America/New_York\"")
  ),
  open: Time,
  close: Time,
  years: Schema.Struct({ from: Year, through: Year }).annotate({ message: "the years covered, { from, through }" }),
  holidays: Schema.Array(Day),
  earlyCloses: Schema.Array(Schema.Struct({ date: Day, close: Time }))
})

type FileShape = typeof FileShape.Type

/** The first problem across fields, at its path, as an expected-phrase. */
const consistency = (file: FileShape): Schema.FilterOutput => {
  if (minutesOf(file.open) >= minutesOf(file.close)) {
    return { path: ["close"], issue: `a time after open (${file.open})` }
  }
  if (file.years.through < file.years.from) {
    return { path: ["years", "through"], issue: `a year from ${file.years.from} on` }
  }
  const inYears = (day: MarketDay): boolean => yearOf(day) >= file.years.from && yearOf(day) <= file.years.through
  const span = `${file.years.from}–${file.years.through}`
  const seen = new Set<MarketDay>()
  for (const [i, day] of file.holidays.entries()) {
    const problem = !inYears(day)
      ? `a date within years ${span}`
      : isWeekend(day)
      ? "a weekday (weekends are closed already)"
      : seen.has(day)
      ? "each date once"
      : undefined
    if (problem !== undefined) return { path: ["holidays", i], issue: problem }
    seen.add(day)
  }
  for (const [i, early] of file.earlyCloses.entries()) {
    const day = early.date
    const problem = !inYears(day)
      ? `a date within years ${span}`
      : isWeekend(day)
      ? "a weekday"
      : seen.has(day)
      ? "a date that is not a holiday and not listed before"
      : undefined
    if (problem !== undefined) return { path: ["earlyCloses", i, "date"], issue: problem }
    const minutes = minutesOf(early.close)
    if (minutes <= minutesOf(file.open) || minutes >= minutesOf(file.close)) {
      return {
        path: ["earlyCloses", i, "close"],
        issue: `a time between open (${file.open}) and close (${file.close})`
      }
    }
    seen.add(day)
  }
  return undefined
}

/** A file's content as a calendar (the file is already checked). */
export const calendarOf = (file: FileShape): Calendar => ({
  zone: file.zone,
  open: file.open,
  close: file.close,
  years: { from: file.years.from, through: file.years.through },
  holidays: new Set(file.holidays),
  earlyCloses: new Map(file.earlyCloses.map((early) => [early.date, early.close]))
})

const fileOf = (calendar: Calendar): FileShape => ({
  zone: calendar.zone,
  open: calendar.open,
  close: calendar.close,
  years: { from: calendar.years.from, through: calendar.years.through },
  holidays: [...calendar.holidays].sort(),
  earlyCloses: [...calendar.earlyCloses].sort(([a], [b]) => (a < b ? -1 : 1)).map(([date, close]) => ({ date, close }))
})

const isCalendar = (u: unknown): u is Calendar =>
  typeof u === "object" && u !== null && "holidays" in u && u.holidays instanceof Set && "earlyCloses" in u &&
  u.earlyCloses instanceof Map

/**
 * A calendar file ⇄ Calendar. Every field is required; decode with `onExcessProperty: "error"`
 * (as `decodeShape` does) so a misspelt field is refused, not ignored.
 *
 * ```yaml
 * zone: America/New_York
 * open: "09:30"
 * close: "16:00"
 * years: { from: 2026, through: 2027 }
 * holidays: [2026-01-01, 2026-01-19]
 * earlyCloses: [{ date: 2026-11-27, close: "13:00" }]
 * ```
 */
export const CalendarFile = FileShape.check(Schema.makeFilter(consistency)).pipe(
  Schema.decodeTo(
    Schema.declare(isCalendar, { expected: "Calendar" }),
    SchemaTransformation.transform({ decode: calendarOf, encode: fileOf })
  )
)

export type CalendarFile = typeof CalendarFile.Encoded
