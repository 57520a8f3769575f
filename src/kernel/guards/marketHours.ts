/**
 * Market hours for a venue without a clock of its own (the paper venue): trade only within a
 * session of the trading calendar. Live venues ask their own clock instead.
 */
import { type Calendar, marketDay, nextOpen, session } from "./calendar.ts"
import { localTime } from "./marketTime.ts"
import { pass, refuse, type Verdict } from "./verdict.ts"

/** Refuses outside a session, saying why and when the market opens next. */
export const marketHours = (calendar: Calendar, now: number): Verdict => {
  const today = session(calendar, marketDay(calendar, now))
  if (today._tag === "Open" && now >= today.opens && now < today.closes) return pass("market-hours")
  if (today._tag === "Unknown") {
    return refuse(
      "market-hours",
      `the trading calendar covers ${calendar.years.from}–${calendar.years.through} only, not ${today.day}: ` +
        "give a calendar file that covers it"
    )
  }
  if (today._tag === "Open" && now < today.opens) {
    return refuse("market-hours", `market not open yet: it opens ${localTime(calendar.zone, today.opens)}`)
  }
  const why = today._tag === "Closed"
    ? `market closed on ${today.day} (${today.why})`
    : `market closed at ${localTime(calendar.zone, today.closes)}${today.early ? " (early close)" : ""}`
  const next = nextOpen(calendar, now)
  const then = next._tag === "Open"
    ? `next open ${localTime(calendar.zone, next.opens)}`
    : `the trading calendar has no session after it (it covers ${calendar.years.from}–${calendar.years.through})`
  return refuse("market-hours", `${why}; ${then}`)
}
