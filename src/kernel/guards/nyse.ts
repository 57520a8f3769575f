/**
 * The New York Stock Exchange's calendar for 2026 and 2027, in the calendar file's own form
 * (a user's file replaces it). A TypeScript module rather than JSON, so that it is compiled
 * into dist/ with the rest of the kernel and needs no file read.
 *
 * Source: NYSE Group, "NYSE Group Announces 2026, 2027 and 2028 Holiday and Early Closings
 * Calendar" (press release of 23 December 2025), which also matches the 2025–2027 release of
 * 8 November 2024. Early closes are at 1:00 p.m. Eastern: the Fridays after Thanksgiving, and
 * Christmas Eve 2026 (in 2027 Christmas is observed on 24 December itself). Independence Day
 * is observed on Friday 3 July 2026 and Monday 5 July 2027, with no early close before either.
 */
import { type Calendar, type CalendarFile, calendarOf } from "./calendar.ts"

export const nyseFile: CalendarFile = {
  zone: "America/New_York",
  open: "09:30",
  close: "16:00",
  years: { from: 2026, through: 2027 },
  holidays: [
    // 2026: New Year's Day, Martin Luther King Jr. Day, Washington's Birthday, Good Friday, Memorial Day,
    // Juneteenth, Independence Day (observed), Labor Day, Thanksgiving Day, Christmas Day.
    "2026-01-01",
    "2026-01-19",
    "2026-02-16",
    "2026-04-03",
    "2026-05-25",
    "2026-06-19",
    "2026-07-03",
    "2026-09-07",
    "2026-11-26",
    "2026-12-25",
    // 2027: the same holidays; Juneteenth, Independence Day and Christmas Day observed on the nearest weekday.
    "2027-01-01",
    "2027-01-18",
    "2027-02-15",
    "2027-03-26",
    "2027-05-31",
    "2027-06-18",
    "2027-07-05",
    "2027-09-06",
    "2027-11-25",
    "2027-12-24"
  ],
  earlyCloses: [
    { date: "2026-11-27", close: "13:00" },
    { date: "2026-12-24", close: "13:00" },
    { date: "2027-11-26", close: "13:00" }
  ]
}

/** The bundled calendar: NYSE, 2026–2027. */
export const nyse: Calendar = calendarOf(nyseFile)
