/**
 * Once per trading day, in the market's zone: an execution that completed or placed orders
 * spends the day; force lets a run through and says it overrode the guard.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { localDay } from "../../../src/kernel/guards/marketTime.ts"
import { type EarlierRun, oncePerDay } from "../../../src/kernel/guards/oncePerDay.ts"

const NY = "America/New_York"
const utc = (y: number, m: number, d: number, h: number, min = 0): number => Date.UTC(y, m - 1, d, h, min)
/** 09:35 New York on 2 March 2026. */
const MORNING = utc(2026, 3, 2, 14, 35)

const run = (change: Partial<EarlierRun>): EarlierRun => ({
  id: "r1",
  mode: "execute",
  status: "completed",
  startedAt: MORNING,
  placedOrders: true,
  ...change
})

const verdict = (runs: ReadonlyArray<EarlierRun>, now: number, force = false) =>
  oncePerDay({ zone: NY, now, runs, force })

describe("oncePerDay", () => {
  it("refuses a second execution on the same market day, naming the run and when it started", () => {
    // 20:30 in New York is already the next day in UTC: still the same trading day.
    expect(verdict([run({})], utc(2026, 3, 3, 1, 30))).toEqual({
      _tag: "Refuse",
      guard: "once-per-day",
      reason:
        "already executed on trading day 2026-03-02: run r1 (completed, placed orders) started 2026-03-02 09:35 America/New_York"
    })
  })

  it("counts a run that failed after placing orders, and not one that placed none, nor a preview", () => {
    const later = utc(2026, 3, 2, 18)
    expect(verdict([run({ status: "crashed" })], later)._tag).toBe("Refuse")
    expect(verdict([run({ status: "failed", placedOrders: false })], later)._tag).toBe("Pass")
    expect(verdict([run({ status: "completed", placedOrders: false })], later)._tag).toBe("Refuse")
    expect(verdict([run({ mode: "preview" })], later)._tag).toBe("Pass")
  })

  it("takes days in the market's zone: the evening before in New York is another day", () => {
    // 22:00 New York on 1 March is 03:00 UTC on 2 March.
    expect(verdict([run({ startedAt: utc(2026, 3, 2, 3) })], MORNING + 60_000)._tag).toBe("Pass")
  })

  it("lets a forced run through, saying which run it overrode", () => {
    expect(verdict([run({ id: "r7" })], utc(2026, 3, 2, 18), true)).toEqual({
      _tag: "Note",
      guard: "once-per-day",
      note:
        "once per trading day overridden (forced): run r7 (completed, placed orders) started 2026-03-02 09:35 America/New_York",
      overridden: true
    })
    expect(verdict([], MORNING, true)._tag).toBe("Pass")
  })

  it("never refuses when no execution of that market day completed or placed orders", () => {
    const runs = fc.array(
      fc.record({
        id: fc.string(),
        mode: fc.constantFrom("preview", "execute"),
        status: fc.constantFrom("completed", "failed", "aborted", "crashed", "timed_out"),
        startedAt: fc.integer({ min: utc(2026, 1, 1, 0), max: utc(2027, 12, 31, 0) }),
        placedOrders: fc.boolean()
      }),
      { maxLength: 8 }
    )
    fc.assert(
      fc.property(runs, fc.integer({ min: utc(2026, 1, 1, 0), max: utc(2027, 12, 31, 0) }), (all, now) => {
        const today = localDay(NY, now)
        const others = all.filter((r) =>
          r.mode !== "execute" || localDay(NY, r.startedAt) !== today || (r.status !== "completed" && !r.placedOrders)
        )
        expect(verdict(others, now)._tag).toBe("Pass")
      }),
      { numRuns: 300 }
    )
  })
})
