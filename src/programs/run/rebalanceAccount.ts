/**
 * rebalanceAccount: one account, one run, against whatever Broker and Store the Layers supply.
 *
 * load → snapshot → guards → plan (persisted; a preview stops here) → sell phase → wait
 * for the sells → fresh snapshot and re-plan the buys from the cash really there → buy
 * phase → wait → final snapshot → reconcile → summary. Every step is recorded before it
 * starts, so `rebalance status` shows where a run stands and why it stopped; every intent
 * is stored before it is sent. The run's outcome is returned, never thrown: only a Store
 * that cannot be written fails the program (then nothing can be promised).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type { Broker, BrokerOrder } from "../../effects/Broker.ts"
import { type ErrorCategory, Notifier, type RunSummary } from "../../effects/Notifier.ts"
import {
  type FinalStatus,
  type LeaseHeld,
  type Run,
  type RunMode,
  Store,
  type StoreWriteError
} from "../../effects/Store.ts"
import { format } from "../../kernel/decimal.ts"
import { heldAsPlanned, heldAtStart, heldIn, largestDrift } from "../../kernel/rebalance/drift.ts"
import type { Rebalance } from "../../kernel/rebalance/rebalance.ts"
import type { Discrepancy } from "../../kernel/rebalance/reconcile.ts"
import { artifactsFolder, makeRunId } from "./ids.ts"
import { holdLease, LeaseDefaults } from "./lease.ts"
import { errorLine } from "./problems.ts"
import { initialProgress, type Progress, step, type Stop } from "./progress.ts"
import {
  awaitPhase,
  buyPhase,
  finalSnapshot,
  guards,
  load,
  plan,
  reconcileFills,
  recover,
  replanBuys,
  type RunRequest,
  sellPhase,
  snapshot
} from "./steps.ts"
import type { Submitted } from "./submit.ts"
import { follow } from "./tracker.ts"

export type { RunRequest } from "./steps.ts"

export interface RunOutcome {
  readonly run: Run
  readonly plan: Rebalance | undefined
  readonly buys: Rebalance | undefined
  readonly submitted: ReadonlyArray<Submitted>
  /** The broker's last word on every order of the run. */
  readonly orders: ReadonlyArray<BrokerOrder>
  readonly discrepancies: ReadonlyArray<Discrepancy>
  readonly summary: RunSummary
}

export const rebalanceAccount = (
  request: RunRequest
): Effect.Effect<RunOutcome, StoreWriteError | LeaseHeld, Broker | Store | Notifier> =>
  Effect.scoped(
    Effect.gen(function*() {
      const begun = yield* begin(request)
      const ended = yield* steps(request, begun.progress).pipe(
        Effect.map((progress): Ended => ({ progress, stop: undefined })),
        Effect.catchTag("Stop", (stop) => Effect.succeed<Ended>({ progress: stop.progress, stop })),
        // The Store itself failed, or a defect: try once to mark the run failed, so it is not left "running".
        Effect.tapError((e) => markEnded(begun.progress, "failed", `store: ${e.operation}: ${e.message}`)),
        Effect.tapDefect((defect) => markEnded(begun.progress, "failed", `unexpected error: ${errorLine(defect)}`)),
        // Stopped from outside (SIGINT, SIGTERM, a service shutting down): ended, never left "running";
        // what it sent and did not see finish is the next run's recovery to settle.
        Effect.onInterrupt(() => markEnded(begun.progress, "aborted", INTERRUPTED))
      )
      return yield* finish(request, begun.startedAt, ended)
    })
  )

/** The steps of an execution, in order; a preview ends after the plan. */
const steps = (request: RunRequest, begun: Progress) =>
  Effect.gen(function*() {
    // An execution listens to the venue's order updates from its start: a stream that is still
    // connecting when the first order fills would leave that fill to the next poll.
    const tracker = request.execute ? yield* follow(begun.lease) : undefined
    const loaded = yield* load(request, begun)
    const recovered = yield* recover(request, loaded)
    const [started, snapshotted] = yield* snapshot(request, recovered)
    const guarded = yield* guards(request, snapshotted.open, started)
    const planned = yield* plan(request, snapshotted, guarded)
    if (tracker === undefined) return planned
    const sold = yield* sellPhase(tracker, snapshotted.start, planned)
    const sellsDone = yield* awaitPhase(request, "sell", tracker, sold)
    const replanned = yield* replanBuys(request, snapshotted, sellsDone)
    const bought = yield* buyPhase(tracker, replanned)
    const buysDone = yield* awaitPhase(request, "buy", tracker, bought)
    const [finished, final] = yield* finalSnapshot(buysDone)
    return yield* reconcileFills(snapshotted.start, final, finished)
  })

/** Where the steps left the run: completed, or stopped early. */
interface Ended {
  readonly progress: Progress
  readonly stop: Stop | undefined
}

/** A new run in the Store, at its first step, holding its account's lease (for as long as the scope lasts). */
const begin = (request: RunRequest) =>
  Effect.gen(function*() {
    const store = yield* Store
    const id = yield* makeRunId
    const lease = yield* holdLease(request.account, id, request.lease ?? LeaseDefaults)
    const startedAt = yield* Clock.currentTimeMillis
    yield* store.startRun({
      id,
      account: request.account,
      mode: modeOf(request),
      status: "running",
      step: "load",
      startedAt
    }, lease)
    return { startedAt, progress: initialProgress(lease, request.notes ?? []) }
  })

const modeOf = (request: RunRequest): RunMode => (request.execute ? "execute" : "preview")

/** Ends the run in the Store without its summary, once (a Store that fails here cannot be helped). */
const markEnded = (progress: Progress, status: Exclude<FinalStatus, "completed">, reason: string) =>
  Effect.flatMap(
    Clock.currentTimeMillis,
    (at) => Effect.flatMap(Store, (store) => store.finishRun(progress.runId, status, reason, at, progress.lease))
  )
    .pipe(Effect.ignore)

const INTERRUPTED = "interrupted (the process was asked to stop); orders it sent are settled by the next run's recovery"

/** Summary: the run finished in the Store (a completed one at `done`), the summary sent, the outcome returned. */
const finish = (request: RunRequest, startedAt: number, ended: Ended) =>
  Effect.gen(function*() {
    const store = yield* Store
    const notifier = yield* Notifier
    const { stop } = ended
    const refused = refusedSells(ended.progress)
    const status: FinalStatus = stop?.status ?? (refused === undefined ? "completed" : "failed")
    const reason = stop?.reason ?? refused
    const finishedAt = yield* Clock.currentTimeMillis
    const progress = stop === undefined ? yield* step("done", ended.progress, Effect.succeed) : ended.progress
    yield* store.finishRun(progress.runId, status, reason, finishedAt, progress.lease)
    const summary = summarize(request, progress, status, reason, stop, yield* driftOf(request, progress))
    const artifacts = request.artifacts === undefined
      ? {}
      : { artifacts: artifactsFolder(request.artifacts, request.account, startedAt, progress.runId) }
    const notified = yield* notifier.notify({ _tag: "Run", summary, ...artifacts }).pipe(Effect.result)
    const run: Run = {
      id: progress.runId,
      account: request.account,
      mode: modeOf(request),
      status,
      step: progress.step,
      ...(reason === undefined ? {} : { reason }),
      startedAt,
      finishedAt
    }
    return {
      run,
      plan: progress.plan,
      buys: progress.buys,
      submitted: progress.submitted,
      orders: progress.orders,
      discrepancies: progress.discrepancies,
      summary: Result.isFailure(notified)
        ? { ...summary, warnings: [...summary.warnings, `notification failed: ${notified.failure.message}`] }
        : summary
    } satisfies RunOutcome
  })

/**
 * A planned sell the venue refused (at submit, or after accepting it) leaves the account off its
 * targets, however well the rest went: such a run is never "completed". Why, in words; undefined when none was.
 */
const refusedSells = (progress: Progress): string | undefined => {
  const refused = [
    ...progress.submitted.filter((s) => s.placed === undefined && s.order.side === "sell").map((s) => s.order.symbol),
    ...progress.orders.filter((o) => o.status === "rejected" && o.side === "sell").map((o) => o.symbol)
  ]
  return refused.length === 0
    ? undefined
    : `${refused.length} planned sell(s) refused by the venue (${
      refused.join(", ")
    }): the account is not at its targets`
}

/**
 * Drift at the start and after the run, at the plan's prices: after an execution from the final
 * snapshot the run stored (none when it stopped before it), after a preview as planned.
 */
const driftOf = (request: RunRequest, progress: Progress) =>
  Effect.gen(function*() {
    const plan = progress.plan
    if (plan === undefined) return undefined
    const before = format(largestDrift(plan, heldAtStart(plan)).round(DRIFT_PLACES))
    if (!request.execute) {
      return { before, after: format(largestDrift(plan, heldAsPlanned(plan)).round(DRIFT_PLACES)) }
    }
    const final = (yield* (yield* Store).accounts(progress.runId)).find((a) => a.stage === "final")
    return final === undefined
      ? { before }
      : { before, after: format(largestDrift(plan, heldIn(final.cash, final.positions)).round(DRIFT_PLACES)) }
  }).pipe(Effect.orElseSucceed(() => undefined))

/** Drift is shown to a hundredth of a basis point. */
const DRIFT_PLACES = 6

const summarize = (
  request: RunRequest,
  progress: Progress,
  status: FinalStatus,
  reason: string | undefined,
  stop: Stop | undefined,
  drift: RunSummary["drift"]
): RunSummary => {
  const rejected = progress.submitted.filter((s) => s.placed === undefined)
  // Accepted first and rejected later (Alpaca's usual way): said like a refusal at submit.
  const rejectedLater = progress.orders.filter((o) => o.status === "rejected")
  return {
    runId: progress.runId,
    account: request.account,
    mode: modeOf(request),
    status,
    step: progress.step,
    ...(reason === undefined ? {} : { reason }),
    orders: {
      placed: progress.submitted.length - rejected.length,
      filled: progress.orders.filter((o) => o.status === "filled").length,
      failed: rejected.length + progress.orders.filter((o) => o.status === "rejected" || o.status === "expired").length
    },
    cash: { before: format(progress.cash.before), after: format(progress.cash.after) },
    ...(drift === undefined ? {} : { drift }),
    warnings: [
      ...progress.warnings,
      ...rejected.map((r) => `${r.order.symbol}: ${r.order.side} rejected: ${r.rejection}`),
      ...rejectedLater.map((o) =>
        `${o.symbol}: ${o.side} rejected after it was accepted${o.reason === undefined ? "" : `: ${o.reason}`}`
      )
    ],
    errors: errorCounts(stop, rejected.length + rejectedLater.length)
  }
}

const errorCounts = (
  stop: Stop | undefined,
  rejections: number
): Readonly<Partial<Record<ErrorCategory, number>>> => {
  const out: Partial<Record<ErrorCategory, number>> = {}
  if (rejections > 0) out.rejected = rejections
  if (stop !== undefined) out[stop.category] = (out[stop.category] ?? 0) + 1
  return out
}
