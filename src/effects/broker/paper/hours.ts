/**
 * When the paper market is open: always or never (as configured, or as a test's control sets it),
 * or in the sessions of a trading calendar (`marketOpen: calendar`: NYSE's by default, or the
 * account's calendar file), so a paper account trades and fills on the days and hours a real
 * one would. Outside a session, accepted orders wait for the next open.
 */
import * as Option from "effect/Option"
import { type Calendar, isOpen, marketDay, nextOpen, session } from "../../../kernel/guards/calendar.ts"
import type { MarketClock } from "../../Broker.ts"

export type PaperHours =
  | { readonly _tag: "Fixed"; readonly open: boolean }
  | { readonly _tag: "Calendar"; readonly calendar: Calendar }

export const isOpenAt = (hours: PaperHours, now: number): boolean =>
  hours._tag === "Fixed" ? hours.open : isOpen(hours.calendar, now)

/** The market's clock at `now`: open or not, the next open and the next close (none: not known). */
export const clockAt = (hours: PaperHours, now: number): MarketClock => {
  if (hours._tag === "Fixed") {
    return hours.open
      ? { isOpen: true, nextOpen: Option.some(now), nextClose: Option.none() }
      : { isOpen: false, nextOpen: Option.none(), nextClose: Option.some(now) }
  }
  const today = session(hours.calendar, marketDay(hours.calendar, now))
  const open = isOpen(hours.calendar, now)
  const next = nextOpen(hours.calendar, now)
  return {
    isOpen: open,
    nextOpen: open ? Option.some(now) : next._tag === "Open" ? Option.some(next.opens) : Option.none(),
    nextClose: open && today._tag === "Open" ? Option.some(today.closes) : Option.some(now)
  }
}

/**
 * Milliseconds until the market may open, for an order waiting on it: none for a fixed market
 * (only a control opens it) or beyond the calendar's years.
 */
export const untilOpen = (hours: PaperHours, now: number): number | undefined => {
  if (hours._tag === "Fixed") return undefined
  const next = nextOpen(hours.calendar, now)
  return next._tag === "Open" ? Math.max(0, next.opens - now) : undefined
}
