/**
 * The minimum interval between two runs of one account.
 */
import * as Duration from "effect/Duration"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { interval } from "../../../src/kernel/guards/interval.ts"

const NY = "America/New_York"
/** 09:35 New York on 2 March 2026. */
const START = Date.UTC(2026, 2, 2, 14, 35)
const MINUTE = 60_000

const verdict = (now: number, minutes: number, force = false) =>
  interval({
    zone: NY,
    now,
    runs: [{ id: "r0", startedAt: START - 600 * MINUTE }, { id: "r1", startedAt: START }],
    minimum: Duration.minutes(minutes),
    force
  })

describe("interval", () => {
  it("refuses a run that starts too soon after the latest, saying when the next may start", () => {
    expect(verdict(START + 10 * MINUTE, 30)).toEqual({
      _tag: "Refuse",
      guard: "interval",
      reason:
        "run r1 started 2026-03-02 09:35 America/New_York, less than 30m ago; the next run may start at 2026-03-02 10:05 America/New_York"
    })
  })

  it("passes at the interval exactly, with no earlier run, and with no interval", () => {
    expect(verdict(START + 30 * MINUTE, 30)._tag).toBe("Pass")
    expect(interval({ zone: NY, now: START, runs: [], minimum: Duration.hours(1), force: false })._tag).toBe("Pass")
    expect(verdict(START, 0)._tag).toBe("Pass")
  })

  it("lets a forced run through as an override", () => {
    expect(verdict(START + MINUTE, 30, true)).toMatchObject({
      _tag: "Note",
      note: "minimum interval overridden (forced): run r1 started 2026-03-02 09:35 America/New_York, less than 30m ago",
      overridden: true
    })
  })

  it("never refuses when every run started at least the interval ago", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1440 }),
        fc.array(fc.integer({ min: 0, max: 10 ** 9 })),
        (minutes, ages) => {
          const now = START
          const runs = ages.map((age, i) => ({ id: `r${i}`, startedAt: now - minutes * MINUTE - age }))
          expect(interval({ zone: NY, now, runs, minimum: Duration.minutes(minutes), force: false })._tag).toBe("Pass")
        }
      )
    )
  })
})
