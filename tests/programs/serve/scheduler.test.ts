/**
 * Schedules on TestClock: a cron in New York time fires on weekdays at its local time across the
 * change to daylight saving time, and a time missed while the service was down is caught up once
 * at start, only while its trading day's session is open and only for accounts that have not run.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cron from "effect/Cron"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import { TestClock } from "effect/testing"
import { nyse } from "../../../src/kernel/guards/nyse.ts"
import { type Fire, type PlannedSchedule, runSchedule } from "../../../src/programs/serve/scheduler.ts"

const schedule: PlannedSchedule = {
  label: "schedules[0]",
  cron: Cron.parseUnsafe("35 9 * * 1-5", "America/New_York"),
  accounts: ["alice", "bob"],
  mode: "execute",
  catchUp: true,
  calendar: nyse
}

/** Runs the schedule from `start` with a fake fleet start that records fires; `ran` had a run since the missed time. */
const scheduled = (start: string, ran: ReadonlyArray<string> = [], planned = schedule) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Date.parse(start))
    const fires = yield* Ref.make<ReadonlyArray<Fire>>([])
    const fiber = yield* runSchedule(planned, {
      start: (fire) => Ref.update(fires, (all) => [...all, fire]),
      ranSince: () => Effect.succeed(new Set(ran)),
      log: () => Effect.void
    }).pipe(Effect.forkChild)
    const seen = Effect.map(
      Ref.get(fires),
      (all) => all.map((f) => `${new Date(f.at).toISOString()} ${f.accounts.join(",")}${f.catchUp ? " catch-up" : ""}`)
    )
    return { seen, stop: Fiber.interrupt(fiber) }
  })

describe("runSchedule", () => {
  it.effect("fires at 09:35 New York on weekdays, across the change to daylight saving time", () =>
    Effect.gen(function*() {
      // Friday 2026-03-06, 09:00 EST (before the session: nothing to catch up).
      const { seen, stop } = yield* scheduled("2026-03-06T14:00:00Z")
      yield* TestClock.adjust("34 minutes")
      expect(yield* seen).toEqual([])
      yield* TestClock.adjust("1 minute")
      expect(yield* seen).toEqual(["2026-03-06T14:35:00.000Z alice,bob"])
      // The weekend passes without a fire; DST starts on Sunday 2026-03-08: Monday's 09:35 is 13:35Z.
      yield* TestClock.adjust("3 days")
      expect(yield* seen).toEqual(["2026-03-06T14:35:00.000Z alice,bob", "2026-03-09T13:35:00.000Z alice,bob"])
      yield* stop
    }))

  it.effect("catches a missed time up once at start, for the accounts that have not run since", () =>
    Effect.gen(function*() {
      // Monday 2026-03-09, 11:00 EDT: 09:35 was missed; bob ran since then, alice did not.
      const { seen, stop } = yield* scheduled("2026-03-09T15:00:00Z", ["bob"])
      yield* TestClock.adjust("1 hour")
      expect(yield* seen).toEqual(["2026-03-09T13:35:00.000Z alice catch-up"])
      yield* TestClock.adjust("1 day")
      expect(yield* seen).toEqual(["2026-03-09T13:35:00.000Z alice catch-up", "2026-03-10T13:35:00.000Z alice,bob"])
      yield* stop
    }))

  it.effect("no catch-up when every account ran since, after the close, or when turned off", () =>
    Effect.gen(function*() {
      for (
        const [start, ran, planned] of [
          ["2026-03-09T15:00:00Z", ["alice", "bob"], schedule],
          ["2026-03-09T20:30:00Z", [], schedule], // 16:30 EDT: the session has closed
          ["2026-03-09T15:00:00Z", [], { ...schedule, catchUp: false }]
        ] as const
      ) {
        const { seen, stop } = yield* scheduled(start, ran, planned)
        yield* TestClock.adjust("1 hour")
        expect(yield* seen).toEqual([])
        yield* stop
      }
    }))
})
