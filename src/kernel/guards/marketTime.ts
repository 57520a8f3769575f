/**
 * Wall-clock time in a market's time zone: which date an instant falls on there, and which
 * instant a local date and time is. Everything goes through `Intl.DateTimeFormat`, so daylight
 * saving follows the IANA rules the runtime ships, and nothing reads the process's own zone.
 *
 * Instants are epoch milliseconds within the years 1000–9999 (what `Date` and a four-digit
 * year can both hold); days are "YYYY-MM-DD" and times of day "HH:MM", as written in files.
 */

/** A calendar date in a market's zone, "YYYY-MM-DD". */
export type MarketDay = string

/** A time of day, "HH:MM" (24 hours). */
export type ClockTime = string

const DAY_MILLIS = 86_400_000
const MINUTE_MILLIS = 60_000

/** One formatter per zone: building one costs far more than using it. */
const formatters = new Map<string, Intl.DateTimeFormat>()

const formatter = (zone: string): Intl.DateTimeFormat => {
  let f = formatters.get(zone)
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit"
    })
    formatters.set(zone, f)
  }
  return f
}

/** Whether the runtime knows the IANA zone (a file may name one it does not). */
export const isZone = (zone: string): boolean => {
  try {
    formatter(zone)
    return true
  } catch {
    return false
  }
}

interface WallClock {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
}

const wallClock = (zone: string, at: number): WallClock => {
  const parts: Record<string, number> = {}
  for (const part of formatter(zone).formatToParts(at)) {
    if (part.type !== "literal") parts[part.type] = Number(part.value)
  }
  return {
    year: parts["year"] ?? 0,
    month: parts["month"] ?? 0,
    day: parts["day"] ?? 0,
    hour: parts["hour"] ?? 0,
    minute: parts["minute"] ?? 0,
    second: parts["second"] ?? 0
  }
}

const two = (n: number): string => String(n).padStart(2, "0")

const dayText = (year: number, month: number, day: number): MarketDay =>
  `${String(year).padStart(4, "0")}-${two(month)}-${two(day)}`

/** The date an instant falls on in the zone. */
export const localDay = (zone: string, at: number): MarketDay => {
  const w = wallClock(zone, at)
  return dayText(w.year, w.month, w.day)
}

/** "YYYY-MM-DD HH:MM <zone>": how a message names an instant. */
export const localTime = (zone: string, at: number): string => {
  const w = wallClock(zone, at)
  return `${dayText(w.year, w.month, w.day)} ${two(w.hour)}:${two(w.minute)} ${zone}`
}

/** How far the zone's wall clock is ahead of UTC at an instant, in milliseconds. */
const offsetAt = (zone: string, at: number): number => {
  const w = wallClock(zone, at)
  const wholeSecond = Math.floor(at / 1000) * 1000
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - wholeSecond
}

const parseDay = (day: MarketDay): { readonly year: number; readonly month: number; readonly day: number } => ({
  year: Number(day.slice(0, 4)),
  month: Number(day.slice(5, 7)),
  day: Number(day.slice(8, 10))
})

/** Minutes after midnight of an "HH:MM". */
export const minutesOf = (time: ClockTime): number => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5))

/**
 * The instant a local date and time is in the zone. A time the zone skips (a spring-forward gap)
 * is read with the offset before the gap, so it lands just after it; a time it repeats (a
 * fall-back overlap) is its first occurrence. Markets open and close well away from both.
 */
export const instantOf = (zone: string, day: MarketDay, time: ClockTime): number => {
  const d = parseDay(day)
  const wall = Date.UTC(d.year, d.month - 1, d.day) + minutesOf(time) * MINUTE_MILLIS
  const before = offsetAt(zone, wall - DAY_MILLIS)
  const guess = wall - before
  const after = offsetAt(zone, guess)
  if (after === before) return guess
  // The offset changed that day: the later offset, if the wall time exists under it (else a gap).
  const other = wall - after
  return offsetAt(zone, other) === after ? other : guess
}

/** Days after 1970-01-01 (negative before). */
const ordinal = (day: MarketDay): number => {
  const d = parseDay(day)
  return Date.UTC(d.year, d.month - 1, d.day) / DAY_MILLIS
}

const fromOrdinal = (n: number): MarketDay => {
  const date = new Date(n * DAY_MILLIS)
  return dayText(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate())
}

/** The day `count` days after (or before, when negative) a day. */
export const addDays = (day: MarketDay, count: number): MarketDay => fromOrdinal(ordinal(day) + count)

/** Saturday or Sunday. */
export const isWeekend = (day: MarketDay): boolean => {
  const weekday = new Date(ordinal(day) * DAY_MILLIS).getUTCDay()
  return weekday === 0 || weekday === 6
}

/** Whether "YYYY-MM-DD" names a real date (not 2026-02-30). */
export const isRealDay = (text: string): boolean => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false
  const d = parseDay(text)
  return d.month >= 1 && d.month <= 12 && d.day >= 1 && fromOrdinal(ordinal(text)) === text
}

/** Whether "HH:MM" is a time of day, 00:00 to 23:59. */
export const isClockTime = (text: string): boolean => /^([01]\d|2[0-3]):[0-5]\d$/.test(text)

/** The year of a day. */
export const yearOf = (day: MarketDay): number => parseDay(day).year
