/**
 * Schedules: each one a fiber that sleeps until its cron's next time (in the schedule's zone, on
 * Effect's Clock, so TestClock drives it) and then starts a fleet run of its accounts. A time
 * missed while the service was down is caught up once at start, while its trading day allows.
 * Starting is the dispatcher's (the runs go on in the background); guards apply as in any run.
 */
import * as Clock from "effect/Clock"
import * as Cron from "effect/Cron"
import * as Effect from "effect/Effect"
import type { RunMode } from "../../effects/Store.ts"
import { type Calendar, marketDay, session } from "../../kernel/guards/calendar.ts"

/** A schedule ready to run: its cron in its zone, its accounts, and the calendar that decides a catch-up. */
export interface PlannedSchedule {
  /** How logs name it: `schedules[0] (35 9 * * 1-5, America/New_York)`. */
  readonly label: string
  readonly cron: Cron.Cron
  readonly accounts: ReadonlyArray<string>
  readonly mode: RunMode
  readonly catchUp: boolean
  readonly calendar: Calendar
}

/** A schedule's fire: the accounts to run, and the cron time it stands for (epoch milliseconds). */
export interface Fire {
  readonly schedule: PlannedSchedule
  readonly accounts: ReadonlyArray<string>
  readonly at: number
  readonly catchUp: boolean
}

export interface SchedulerDeps<E extends { readonly message: string }> {
  /** Starts the fire's fleet run (in the background). */
  readonly start: (fire: Fire) => Effect.Effect<void>
  /** Which of `accounts` had a run of `mode` (or an execution) start at or after `since`. */
  readonly ranSince: (
    accounts: ReadonlyArray<string>,
    mode: RunMode,
    since: number
  ) => Effect.Effect<ReadonlySet<string>, E>
  readonly log: (line: string) => Effect.Effect<void>
}

/** The schedule's next time after `now` (epoch milliseconds). */
export const nextFire = (schedule: PlannedSchedule, now: number): number =>
  Cron.next(schedule.cron, new Date(now)).getTime()

/**
 * The cron time a start at `now` may still catch up: the last one before `now`, when it lies in
 * today's session (the calendar's) and that session has not closed. Undefined otherwise.
 */
export const missedTime = (schedule: PlannedSchedule, now: number): number | undefined => {
  if (!schedule.catchUp) return undefined
  const last = Cron.prev(schedule.cron, new Date(now)).getTime()
  const today = session(schedule.calendar, marketDay(schedule.calendar, now))
  return today._tag === "Open" && last >= today.opens && last < today.closes && now < today.closes
    ? last
    : undefined
}

/** At start: the missed fire, for the accounts that have not run since its time; none when there is nothing to catch up. */
const catchUp = <E extends { readonly message: string }>(schedule: PlannedSchedule, deps: SchedulerDeps<E>) =>
  Effect.gen(function*() {
    const missed = missedTime(schedule, yield* Clock.currentTimeMillis)
    if (missed === undefined) return
    const ran = yield* deps.ranSince(schedule.accounts, schedule.mode, missed)
    const accounts = schedule.accounts.filter((account) => !ran.has(account))
    if (accounts.length > 0) yield* deps.start({ schedule, accounts, at: missed, catchUp: true })
  }).pipe(
    Effect.catch((error) => deps.log(`${schedule.label}: no catch-up, the store could not be read: ${error.message}`))
  )

/** Sleeps until each next cron time and fires, forever (until interrupted). */
const everyTime = <E extends { readonly message: string }>(schedule: PlannedSchedule, deps: SchedulerDeps<E>) =>
  Effect.forever(
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const at = nextFire(schedule, now)
      yield* Effect.sleep(at - now)
      yield* deps.start({ schedule, accounts: schedule.accounts, at, catchUp: false })
    })
  )

/** The schedule's life: its catch-up, then every cron time. */
export const runSchedule = <E extends { readonly message: string }>(
  schedule: PlannedSchedule,
  deps: SchedulerDeps<E>
): Effect.Effect<never> => Effect.andThen(catchUp(schedule, deps), everyTime(schedule, deps))
