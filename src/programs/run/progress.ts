/**
 * The run's progress: what it has learnt so far, how it enters a step, and how it stops.
 *
 * Each step takes the progress and returns it grown, so the summary can be told wherever
 * the run ends. `step` records that a run entered a step before the step runs, and is the
 * only place that does. A run that cannot go on fails its step with a `Stop`, which carries
 * the progress it had made (its step included).
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type { BrokerOrder } from "../../effects/Broker.ts"
import type { ErrorCategory } from "../../effects/Notifier.ts"
import { type FinalStatus, type Lease, type RunStep, Store, type StoreWriteError } from "../../effects/Store.ts"
import { type Decimal, ZERO } from "../../kernel/decimal.ts"
import type { Rebalance } from "../../kernel/rebalance/rebalance.ts"
import type { Discrepancy } from "../../kernel/rebalance/reconcile.ts"
import type { Submitted } from "./submit.ts"

/** What a run has learnt so far: all its summary and outcome say, wherever it ends. */
export interface Progress {
  readonly runId: string
  /** The account lease the run writes under. */
  readonly lease: Lease
  /** The last step entered: where the run ends if it stops. */
  readonly step: RunStep
  readonly warnings: ReadonlyArray<string>
  /** The broker's cash at the start and at the last snapshot (for a preview, the plan's estimate). */
  readonly cash: { readonly before: Decimal; readonly after: Decimal }
  readonly plan: Rebalance | undefined
  readonly buys: Rebalance | undefined
  readonly submitted: ReadonlyArray<Submitted>
  /** The broker's last word on every order waited for. */
  readonly orders: ReadonlyArray<BrokerOrder>
  readonly discrepancies: ReadonlyArray<Discrepancy>
}

/** A run that has just begun: at its first step, knowing nothing yet but the notes it was given. */
export const initialProgress = (lease: Lease, notes: ReadonlyArray<string>): Progress => ({
  runId: lease.runId,
  lease,
  step: "load",
  warnings: notes,
  cash: { before: ZERO, after: ZERO },
  plan: undefined,
  buys: undefined,
  submitted: [],
  orders: [],
  discrepancies: []
})

/** Why a run stopped early: the status it ends with, the error category for the summary, and how far it got. */
export class Stop extends Data.TaggedError("Stop")<{
  readonly status: Exclude<FinalStatus, "completed">
  readonly category: Exclude<ErrorCategory, "rejected">
  readonly reason: string
  readonly progress: Progress
}> {}

/** A broker call failed: the run stops, naming the call and the error. */
export const brokerStop =
  (what: string, progress: Progress) => (e: { readonly _tag: string; readonly message?: string }) =>
    new Stop({
      status: "failed",
      category: "broker",
      reason: `${what}: ${e._tag}${e.message ? `: ${e.message}` : ""}`,
      progress
    })

/**
 * Enters a step: records it in the Store (so `rebalance status` shows where a run stands),
 * then runs `body` with the progress marked at this step.
 */
export const step = <A, E, R>(
  name: RunStep,
  progress: Progress,
  body: (progress: Progress) => Effect.Effect<A, E, R>,
  detail: Readonly<Record<string, unknown>> = {}
): Effect.Effect<A, E | StoreWriteError, R | Store> =>
  Effect.gen(function*() {
    const store = yield* Store
    yield* store.recordStep(
      progress.runId,
      name,
      JSON.stringify(detail),
      yield* Clock.currentTimeMillis,
      progress.lease
    )
    return yield* body({ ...progress, step: name })
  })

/** The progress with more warnings, in the order they arose. */
export const withWarnings = <P extends Progress>(progress: P, warnings: ReadonlyArray<string>): P =>
  warnings.length === 0 ? progress : { ...progress, warnings: [...progress.warnings, ...warnings] }
