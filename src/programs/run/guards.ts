/**
 * The run's trading guards, from the kernel's (kernel/guards): before the plan, once per
 * trading day and a minimum interval between runs; on the plan, pattern day trader protection
 * and the pre-trade risk limits. They hold an execution only: a preview says, as a warning,
 * what an execution of its plan would be refused for. A refusal stops the run, `aborted` with
 * category `guard` and the guard's one line; an override (`--force`, `--confirm-over-limits`) is
 * let through and said in the run's warnings and the guards step's record.
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { type Run, Store } from "../../effects/Store.ts"
import { type Decimal, isPositive } from "../../kernel/decimal.ts"
import type { Calendar } from "../../kernel/guards/calendar.ts"
import { DayTradeLimit, dayTrades } from "../../kernel/guards/dayTrades.ts"
import { interval } from "../../kernel/guards/interval.ts"
import { oncePerDay } from "../../kernel/guards/oncePerDay.ts"
import { type RiskLimits, riskLimits } from "../../kernel/guards/riskLimits.ts"
import { judge, type Note, type Verdict } from "../../kernel/guards/verdict.ts"
import { linePrice } from "../../kernel/rebalance/plan.ts"
import type { Rebalance } from "../../kernel/rebalance/rebalance.ts"
import { type Progress, Stop, withWarnings } from "./progress.ts"

/** An account's guards, as keel.yaml and the command line set them. */
export interface RunGuards {
  /** The market's trading days and hours (NYSE's unless the config names a file). */
  readonly calendar: Calendar
  /** At most one execution per trading day that completed or placed an order. */
  readonly oncePerDay: boolean
  /** The least time between two runs of the account (zero: none). */
  readonly minInterval: Duration.Duration
  /** Pattern day trader protection applies: a margin account. */
  readonly margin: boolean
  /** The equity under which a margin account is held to three day trades in five business days. */
  readonly minimumEquity?: Decimal | undefined
  readonly limits: RiskLimits
  /** `--force`: once per trading day and the minimum interval let through, and recorded. */
  readonly force: boolean
  /** `--confirm-over-limits`: the risk limits let through, and recorded. Unattended runs never set it. */
  readonly confirmOverLimits: boolean
}

/** Earlier runs a guard looks back over: the latest runs of the account, enough for a trading day's worth. */
const LOOKBACK_RUNS = 200

/** Before the plan: once per trading day and the minimum interval, for an execution. */
export const beforePlan = (guards: RunGuards, execute: boolean, progress: Progress) =>
  Effect.gen(function*() {
    if (!execute) return progress
    const store = yield* Store
    const now = yield* Clock.currentTimeMillis
    const runs = (yield* store.listRuns(progress.lease.account, LOOKBACK_RUNS)).filter((r) => r.id !== progress.runId)
    const zone = guards.calendar.zone
    // Previews trade nothing: the interval is between executions, so a preview may come just before one.
    const executions = runs.filter((r) => r.mode === "execute")
    const verdicts: Array<Verdict> = [
      interval({ zone, now, runs: executions, minimum: guards.minInterval, force: guards.force })
    ]
    if (guards.oncePerDay) {
      const earlier = yield* Effect.forEach(recent(executions, now), (run) =>
        Effect.map(store.intents(run.id), (intents) => ({
          ...run,
          placedOrders: intents.some((i) =>
            i.brokerOrderId !== undefined || isPositive(i.filledQuantity)
          )
        })))
      verdicts.push(oncePerDay({ zone, now, runs: earlier, force: guards.force }))
    }
    return yield* settle(verdicts, progress)
  })

/** Runs that started within the last day and a half: every run of today's market day is among them. */
const recent = (runs: ReadonlyArray<Run>, now: number): ReadonlyArray<Run> =>
  runs.filter((r) => now - r.startedAt < DAY_AND_A_HALF)

const DAY_AND_A_HALF = 36 * 3_600_000

/**
 * On the plan: pattern day trader protection (margin accounts) and the risk limits. An execution
 * is stopped by a refusal; a preview only warns of it.
 */
export const onPlan = (guards: RunGuards, execute: boolean, planned: Rebalance, progress: Progress) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const orders = planned.orders.orders
    const equity = planned.plan.equity
    const verdicts: Array<Verdict> = [
      riskLimits({
        limits: guards.limits,
        orders,
        equity,
        weights: weightsAfter(planned),
        confirmed: guards.confirmOverLimits
      })
    ]
    if (guards.margin) {
      const since = now - (DayTradeLimit.days + 9) * 86_400_000
      const fills = yield* (yield* Store).accountFills(progress.lease.account, since)
      verdicts.push(dayTrades({
        calendar: guards.calendar,
        now,
        margin: true,
        equity,
        minimumEquity: guards.minimumEquity,
        fills,
        orders
      }))
    }
    if (execute) return yield* settle(verdicts, progress)
    const refusals = verdicts.flatMap((
      v
    ) => (v._tag === "Refuse" ? [`an execution would be refused: ${v.guard}: ${v.reason}`] : []))
    return withWarnings(progress, refusals)
  })

/** Each priced symbol's weight once the plan's orders fill, at the plan's prices (an unpriced one has none). */
const weightsAfter = (planned: Rebalance) =>
  planned.lines.flatMap(({ finalQuantity, line }) => {
    const price = linePrice(line)
    return price === undefined || !isPositive(line.equity)
      ? []
      : [{ symbol: line.symbol, weight: finalQuantity.times(price).div(line.equity) }]
  })

/** The run goes on with every note as a warning, or stops at the first refusal. */
const settle = (verdicts: ReadonlyArray<Verdict>, progress: Progress): Effect.Effect<Progress, Stop> => {
  const judged = judge(verdicts)
  return Result.isFailure(judged)
    ? Effect.fail(
      new Stop({
        status: "aborted",
        category: "guard",
        reason: `${judged.failure.guard}: ${judged.failure.reason}`,
        progress
      })
    )
    : Effect.succeed(withWarnings(progress, judged.success.map((n: Note) => n.note)))
}
