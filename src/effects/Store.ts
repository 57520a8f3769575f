/**
 * Store: everything a run must never lose — the run and each step it reached, its plans,
 * every order intent (written before it is sent), every order update and fill, and the
 * account state at each stage. The interface speaks Keel's words only; SQLite today and
 * Postgres later are Layers behind it.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Decimal } from "../kernel/decimal.ts"
import type { Side } from "../kernel/rebalance/deltas.ts"
import type { Phase } from "../kernel/rebalance/orders.ts"
import type { Position } from "../kernel/rebalance/snapshot.ts"
import type { Attribution } from "../kernel/rebalance/targets.ts"
import { OrderStatus, type OrderUpdateKind } from "./Broker.ts"

/** A preview plans and stores the plan; an execution places the orders too. */
export const RunMode = Schema.Literals(["preview", "execute"])
export type RunMode = typeof RunMode.Type

/** What an execution does with open orders an earlier run left: cancel them, or stop. */
export const OnOpenOrders = Schema.Literals(["cancel", "abort"])
export type OnOpenOrders = typeof OnOpenOrders.Type

/** `running` until the run ends; every other status is final. */
export const RunStatus = Schema.Literals(["running", "completed", "failed", "timed_out", "aborted"])
export type RunStatus = typeof RunStatus.Type

/** How a run ended: every status but `running`. */
export const FinalStatus = RunStatus.pick(["completed", "failed", "timed_out", "aborted"])
export type FinalStatus = typeof FinalStatus.Type

/** The program's steps, in order; `status` shows the last one a run reached. */
export const RunStep = Schema.Literals([
  "load",
  "snapshot",
  "guards",
  "plan",
  "sell-phase",
  "sell-wait",
  "replan-buys",
  "buy-phase",
  "buy-wait",
  "final-snapshot",
  "reconcile",
  "done"
])
export type RunStep = typeof RunStep.Type

/** A run: its account and mode, where it stands, and when it started and finished. */
export const Run = Schema.Struct({
  id: Schema.String,
  account: Schema.String,
  mode: RunMode,
  status: RunStatus,
  step: RunStep,
  /** Why the run stopped, when it did not complete. */
  reason: Schema.optionalKey(Schema.String),
  /** Epoch milliseconds. */
  startedAt: Schema.Number,
  finishedAt: Schema.optionalKey(Schema.Number)
})
export type Run = typeof Run.Type

/** A run's plans: the plan from the start snapshot, and the buys re-planned after the sells settled. */
export const PlanStage = Schema.Literals(["plan", "buy-replan"])
export type PlanStage = typeof PlanStage.Type

/** A plan as stored: its stage, and the plan as JSON text (`rebalance plan --json`'s document). */
export interface StoredPlan {
  readonly stage: PlanStage
  readonly json: string
}

export interface StepRecord {
  readonly runId: string
  readonly seq: number
  readonly step: RunStep
  /** JSON detail (counts, ids, the error), for `rebalance status`. */
  readonly detail: string
  readonly at: number
}

/** Status of an intent: what Keel last knew of the order it stands for. */
export const IntentStatus = Schema.Literals(["pending", "unknown", ...OrderStatus.literals])
export type IntentStatus = typeof IntentStatus.Type

export interface OrderIntent {
  readonly clientOrderId: string
  readonly runId: string
  readonly phase: Phase
  readonly symbol: string
  readonly side: Side
  readonly quantity: Decimal
  /** The price the plan assumed. */
  readonly price: Decimal
  /**
   * The attribution of the order the kernel planned (strategy → weight; empty for plain
   * targets). None: unknown, for an intent stored before Keel kept it whose plans did not tell.
   */
  readonly attribution: Option.Option<Attribution>
  readonly status: IntentStatus
  readonly brokerOrderId?: string
  readonly filledQuantity: Decimal
  readonly averageFillPrice?: Decimal
  readonly reason?: string
  readonly createdAt: number
  readonly updatedAt: number
}

export interface IntentChange {
  readonly status: IntentStatus
  readonly brokerOrderId?: string
  readonly filledQuantity?: Decimal
  readonly averageFillPrice?: Decimal
  readonly reason?: string
  readonly at: number
}

export interface FillRecord {
  readonly clientOrderId: string
  readonly runId: string
  readonly symbol: string
  readonly side: Side
  readonly kind: OrderUpdateKind
  readonly quantity: Decimal
  readonly price: Decimal
  readonly commission: Decimal
  readonly at: number
}

/** When the account was snapshotted: at the start, after the sells settled, at the end. */
export const AccountStage = Schema.Literals(["start", "after-sells", "final"])
export type AccountStage = typeof AccountStage.Type

export interface AccountRecord {
  readonly runId: string
  readonly stage: AccountStage
  readonly cash: Decimal
  readonly equity: Decimal
  readonly positions: ReadonlyArray<Position>
  readonly at: number
}

/** The store could not be read or written. Nothing after it may assume the write happened. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  message: Schema.String
}) {}

export interface StoreShape {
  readonly startRun: (run: Run) => Effect.Effect<void, StoreError>
  /** Records that a run reached a step (appends a step record and moves the run's current step). */
  readonly recordStep: (runId: string, step: RunStep, detail: string, at: number) => Effect.Effect<void, StoreError>
  readonly finishRun: (
    runId: string,
    status: FinalStatus,
    reason: string | undefined,
    at: number
  ) => Effect.Effect<void, StoreError>
  readonly getRun: (runId: string) => Effect.Effect<Option.Option<Run>, StoreError>
  /** Newest first. */
  readonly listRuns: (account: string | undefined, limit: number) => Effect.Effect<ReadonlyArray<Run>, StoreError>
  readonly steps: (runId: string) => Effect.Effect<ReadonlyArray<StepRecord>, StoreError>
  /** Appends a plan; a later plan of the same stage is kept next to the first. */
  readonly savePlan: (runId: string, stage: PlanStage, json: string) => Effect.Effect<void, StoreError>
  /** In the order they were saved. */
  readonly plans: (runId: string) => Effect.Effect<ReadonlyArray<StoredPlan>, StoreError>
  /** Inserts an intent; a client order id can be stored only once, ever. */
  readonly saveIntent: (intent: OrderIntent) => Effect.Effect<void, StoreError>
  readonly updateIntent: (clientOrderId: string, change: IntentChange) => Effect.Effect<void, StoreError>
  readonly intents: (runId: string) => Effect.Effect<ReadonlyArray<OrderIntent>, StoreError>
  readonly saveFill: (fill: FillRecord) => Effect.Effect<void, StoreError>
  readonly fills: (runId: string) => Effect.Effect<ReadonlyArray<FillRecord>, StoreError>
  readonly saveAccount: (record: AccountRecord) => Effect.Effect<void, StoreError>
  readonly accounts: (runId: string) => Effect.Effect<ReadonlyArray<AccountRecord>, StoreError>
}

export class Store extends Context.Service<Store, StoreShape>()("keel/effects/Store") {}
