/**
 * A minimum interval between two runs of one account, whatever their mode: a trigger fired in a
 * loop, or a schedule and a hand run close together, start one run, not a burst of them.
 */
import * as Duration from "effect/Duration"
import { localTime } from "./marketTime.ts"
import { note, pass, refuse, type Verdict } from "./verdict.ts"

export interface IntervalInput {
  /** The zone the refusal names times in. */
  readonly zone: string
  readonly now: number
  /** The account's other runs (not this one). */
  readonly runs: ReadonlyArray<{ readonly id: string; readonly startedAt: number }>
  /** Zero lets every run through. */
  readonly minimum: Duration.Duration
  /** Run anyway; the verdict says the guard was overridden. */
  readonly force: boolean
}

/** When the next run may start (an infinite interval allows none). */
const next = (zone: string, at: number): string =>
  Number.isFinite(at)
    ? `the next run may start at ${localTime(zone, at)}`
    : "no run may start again (the interval is infinite)"

/** Refuses a run when the latest run started less than `minimum` ago, saying when one may start. */
export const interval = (input: IntervalInput): Verdict => {
  let latest: { readonly id: string; readonly startedAt: number } | undefined
  for (const run of input.runs) {
    if (latest === undefined || run.startedAt > latest.startedAt) latest = run
  }
  const minimum = Duration.toMillis(input.minimum)
  if (latest === undefined || input.now - latest.startedAt >= minimum) return pass("interval")
  const what = `run ${latest.id} started ${localTime(input.zone, latest.startedAt)}, less than ${
    Duration.format(input.minimum)
  } ago`
  return input.force
    ? note("interval", `minimum interval overridden (forced): ${what}`, true)
    : refuse("interval", `${what}; ${next(input.zone, latest.startedAt + minimum)}`)
}
