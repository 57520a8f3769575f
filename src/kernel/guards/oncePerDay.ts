/**
 * Once per trading day: an account's execution runs at most once per market day, in the
 * market's time zone, so a schedule firing twice or a trigger repeated cannot trade twice.
 * Previews are never limited, and this guard is for an execution run only.
 */
import { localDay, localTime } from "./marketTime.ts"
import { note, pass, refuse, type Verdict } from "./verdict.ts"

/** An earlier run of the account, as the Store keeps it. */
export interface EarlierRun {
  readonly id: string
  /** "preview" or "execute". */
  readonly mode: string
  /** "completed", "failed", …: only a completed one counts when it placed no order. */
  readonly status: string
  /** Epoch milliseconds. */
  readonly startedAt: number
  /** Whether it placed any order (whatever became of it). */
  readonly placedOrders: boolean
}

export interface OncePerDayInput {
  /** The market's IANA time zone: its dates are the trading days. */
  readonly zone: string
  readonly now: number
  /** The account's other runs (not this one). */
  readonly runs: ReadonlyArray<EarlierRun>
  /** Run anyway; the verdict says the guard was overridden, so the run can record it. */
  readonly force: boolean
}

/**
 * An execution run of the same market day that completed, or that placed any order, spends the
 * day: a later execution is refused (naming that run and when it started) unless forced.
 */
export const oncePerDay = (input: OncePerDayInput): Verdict => {
  const today = localDay(input.zone, input.now)
  let spent: EarlierRun | undefined
  for (const run of input.runs) {
    const spends = run.mode === "execute" && (run.status === "completed" || run.placedOrders)
    if (
      spends && localDay(input.zone, run.startedAt) === today &&
      (spent === undefined || run.startedAt > spent.startedAt)
    ) {
      spent = run
    }
  }
  if (spent === undefined) return pass("once-per-day")
  const what = `run ${spent.id} (${spent.status}${spent.placedOrders ? ", placed orders" : ""}) started ${
    localTime(input.zone, spent.startedAt)
  }`
  return input.force
    ? note("once-per-day", `once per trading day overridden (forced): ${what}`, true)
    : refuse("once-per-day", `already executed on trading day ${today}: ${what}`)
}
