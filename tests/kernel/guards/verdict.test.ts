/**
 * Guards' verdicts together: the notes to record, or the first refusal as the run's error.
 */
import * as Result from "effect/Result"
import { describe, expect, it } from "vitest"
import { GuardRefused, judge, note, pass, refuse } from "../../../src/kernel/guards/verdict.ts"

describe("judge", () => {
  it("keeps the notes when every guard lets the run go on", () => {
    const forced = note("once-per-day", "overridden", true)
    expect(judge([pass("market-hours"), forced, pass("risk-limits")])).toEqual(Result.succeed([forced]))
  })

  it("fails with the first refusal, its message the guard and its one line", () => {
    const judged = judge([pass("market-hours"), refuse("interval", "too soon"), refuse("risk-limits", "too big")])
    expect(judged).toEqual(Result.fail(new GuardRefused({ guard: "interval", reason: "too soon" })))
    expect(Result.isFailure(judged) && judged.failure.message).toBe("interval: too soon")
  })
})
