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
import { isTerminal, OrderStatus, type OrderUpdateKind } from "./Broker.ts"

/** A preview plans and stores the plan; an execution places the orders too. */
export const RunMode = Schema.Literals(["preview", "execute"])
export type RunMode = typeof RunMode.Type

/** What an execution does with open orders an earlier run left: cancel them, or stop. */
export const OnOpenOrders = Schema.Literals(["cancel", "abort"])
export type OnOpenOrders = typeof OnOpenOrders.Type

/**
 * What a run does with open orders placed outside Keel (their client order id is not Keel's):
 * stop with one line, or leave them alone and keep the cash and shares they hold out of the plan.
 */
export const OnOutsideOrders = Schema.Literals(["abort", "reserve"])
export type OnOutsideOrders = typeof OnOutsideOrders.Type

/**
 * `running` until the run ends; every other status is final. `crashed`: the run's process died
 * (or lost its lease) before it ended, and a later run or `rebalance recover` reconciled it with
 * the broker and closed it.
 */
export const RunStatus = Schema.Literals(["running", "completed", "failed", "timed_out", "aborted", "crashed"])
export type RunStatus = typeof RunStatus.Type

/** How a run ended: every status but `running`. */
export const FinalStatus = RunStatus.pick(["completed", "failed", "timed_out", "aborted", "crashed"])
export type FinalStatus = typeof FinalStatus.Type

/** The program's steps, in order; `status` shows the last one a run reached. */
export const RunStep = Schema.Literals([
  "load",
  "recover",
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

/**
 * Status of an intent: what Keel last knew of the order it stands for. `pending`: stored, maybe
 * sent; `unknown`: sent, and the answer could not be settled; `unsent`: recovery found no trace of
 * it at the venue (it never arrived), so it is final.
 */
export const IntentStatus = Schema.Literals(["pending", "unknown", "unsent", ...OrderStatus.literals])
export type IntentStatus = typeof IntentStatus.Type

/** Intent statuses after which nothing more can happen to the order. */
export const isFinalIntent = (status: IntentStatus): boolean =>
  status === "unsent" || (status !== "pending" && status !== "unknown" && isTerminal(status))

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
  /** The run of the intent the fill belongs to (a fill booked by recovery keeps its order's run). */
  readonly runId: string
  readonly symbol: string
  readonly side: Side
  readonly kind: OrderUpdateKind
  readonly quantity: Decimal
  readonly price: Decimal
  readonly commission: Decimal
  /**
   * The order's filled quantity at the venue once this fill is counted. With the client order id
   * it keys the fill: booking the same (order, cumulative quantity) twice stores it once.
   */
  readonly cumulativeQuantity: Decimal
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

/** How a notification's delivery to a channel ended, after its retries. */
export const DeliveryStatus = Schema.Literals(["delivered", "failed"])
export type DeliveryStatus = typeof DeliveryStatus.Type

/**
 * One delivery of a notification to a channel, for `status`. Its subject is the run it told
 * about; a fleet's digest is recorded under the fleet's id and under each run it carried (with
 * `fleetId`); an account whose run did not start, under the fleet's id, or its name outside a fleet.
 */
export interface DeliveryRecord {
  readonly subject: string
  readonly channel: string
  /** The fleet whose digest carried the notification. */
  readonly fleetId?: string
  readonly status: DeliveryStatus
  /** Attempts made, the first included. */
  readonly attempts: number
  /** The last attempt's error, without secrets; absent once delivered. */
  readonly error?: string
  readonly at: number
}

/**
 * A trigger the service accepted (`POST /v1/trigger`): its idempotency key, the fleet it started
 * and for which accounts, kept so that the same key again starts nothing, across restarts too.
 */
export interface TriggerRecord {
  readonly key: string
  readonly fleetId: string
  readonly accounts: ReadonlyArray<string>
  readonly reason: string
  /** Epoch milliseconds. */
  readonly receivedAt: number
}

/** Whether a trigger is the first with its key (it may start runs) or repeats an earlier one. */
export type TriggerClaim =
  | { readonly _tag: "First" }
  | { readonly _tag: "Repeated"; readonly first: TriggerRecord }

/** The store could not be read or written. Nothing after it may assume the write happened. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  /** The cause in words (`disk I/O error`, `database is locked`, `corrupt value in …`). */
  message: Schema.String,
  /** The database, for the one line a user sees (a file path; a URL without its credentials). */
  database: Schema.optionalKey(Schema.String)
}) {}

/**
 * One writer per account: the run holding an account's lease is the only one that may write its
 * runs, intents and fills. `token` grows with every grant of the account's lease (a fencing
 * token): a write carries the lease it was made under, and a lease taken over refuses it.
 */
export interface Lease {
  readonly account: string
  readonly runId: string
  readonly token: number
}

/** Who holds an account's lease, for the one line a second run prints and for `status`. */
export const LeaseHolder = Schema.Struct({
  account: Schema.String,
  runId: Schema.String,
  token: Schema.Number,
  pid: Schema.Number,
  host: Schema.String,
  /** Epoch milliseconds. */
  acquiredAt: Schema.Number,
  heartbeatAt: Schema.Number,
  /** The lease is free for the taking from this moment unless renewed. */
  expiresAt: Schema.Number
})
export type LeaseHolder = typeof LeaseHolder.Type

export interface LeaseRequest {
  readonly account: string
  readonly runId: string
  readonly pid: number
  readonly host: string
  readonly at: number
  readonly ttlMillis: number
  /**
   * Take the lease over from this run even if it has not expired: the caller has proved it dead
   * (its process is gone on this host). Granted only if that run still holds the lease.
   */
  readonly replacing?: string
}

/** The account's lease is held by another run whose lease has not expired. */
export class LeaseHeld extends Schema.TaggedError<LeaseHeld>()("LeaseHeld", {
  holder: LeaseHolder
}) {}

/** The lease a write was made under is no longer held (it expired and was taken over): nothing was written. */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {
  account: Schema.String,
  runId: Schema.String,
  operation: Schema.String
}) {}

/** What a write of a run can fail with: the store, or a lease taken over. */
export type StoreWriteError = StoreError | LeaseLost

export interface StoreShape {
  /** Grants the account's lease to a run: when free, expired, or `replacing` the run holding it. */
  readonly acquireLease: (request: LeaseRequest) => Effect.Effect<Lease, LeaseHeld | StoreError>
  /** Moves the lease's expiry to `at + ttlMillis`; LeaseLost when it was taken over. */
  readonly renewLease: (lease: Lease, at: number, ttlMillis: number) => Effect.Effect<void, StoreWriteError>
  /** Frees the lease if this lease still holds it (a lease taken over is left to its new holder). */
  readonly releaseLease: (lease: Lease) => Effect.Effect<void, StoreError>
  /** Who holds the account's lease, expired or not; none when it is free. */
  readonly leaseHolder: (account: string) => Effect.Effect<Option.Option<LeaseHolder>, StoreError>
  readonly startRun: (run: Run, lease: Lease) => Effect.Effect<void, StoreWriteError>
  /** Records that a run reached a step (appends a step record and moves the run's current step). */
  readonly recordStep: (
    runId: string,
    step: RunStep,
    detail: string,
    at: number,
    lease: Lease
  ) => Effect.Effect<void, StoreWriteError>
  /** Ends a `running` run (its own, or a crashed one during recovery); a run already ended is left as it is. */
  readonly finishRun: (
    runId: string,
    status: FinalStatus,
    reason: string | undefined,
    at: number,
    lease: Lease
  ) => Effect.Effect<void, StoreWriteError>
  readonly getRun: (runId: string) => Effect.Effect<Option.Option<Run>, StoreError>
  /** Newest first. */
  readonly listRuns: (account: string | undefined, limit: number) => Effect.Effect<ReadonlyArray<Run>, StoreError>
  /**
   * The account's runs that recovery must look at, oldest first: those still `running`, and any
   * other with an intent not final (`isFinalIntent`), the current run excluded.
   */
  readonly unsettledRuns: (account: string, exceptRunId: string) => Effect.Effect<ReadonlyArray<Run>, StoreError>
  readonly steps: (runId: string) => Effect.Effect<ReadonlyArray<StepRecord>, StoreError>
  /** Appends a plan; a later plan of the same stage is kept next to the first. */
  readonly savePlan: (
    runId: string,
    stage: PlanStage,
    json: string,
    lease: Lease
  ) => Effect.Effect<void, StoreWriteError>
  /** In the order they were saved. */
  readonly plans: (runId: string) => Effect.Effect<ReadonlyArray<StoredPlan>, StoreError>
  /** Inserts an intent; a client order id can be stored only once, ever. */
  readonly saveIntent: (intent: OrderIntent, lease: Lease) => Effect.Effect<void, StoreWriteError>
  readonly updateIntent: (
    clientOrderId: string,
    change: IntentChange,
    lease: Lease
  ) => Effect.Effect<void, StoreWriteError>
  readonly intents: (runId: string) => Effect.Effect<ReadonlyArray<OrderIntent>, StoreError>
  /**
   * Books a fill and its intent's new state in one transaction. A fill already booked under the
   * same (client order id, cumulative quantity) is not stored again; the change still applies.
   */
  readonly bookFill: (fill: FillRecord, change: IntentChange, lease: Lease) => Effect.Effect<void, StoreWriteError>
  readonly fills: (runId: string) => Effect.Effect<ReadonlyArray<FillRecord>, StoreError>
  /** Every fill of an account's runs recorded at or after `since` (epoch milliseconds), oldest first. */
  readonly accountFills: (account: string, since: number) => Effect.Effect<ReadonlyArray<FillRecord>, StoreError>
  readonly saveAccount: (record: AccountRecord, lease: Lease) => Effect.Effect<void, StoreWriteError>
  readonly accounts: (runId: string) => Effect.Effect<ReadonlyArray<AccountRecord>, StoreError>
  /** Appends deliveries, all in one transaction. Not a run's rows: no lease (they are written after the run). */
  readonly saveDeliveries: (records: ReadonlyArray<DeliveryRecord>) => Effect.Effect<void, StoreError>
  /** A run's (or a fleet's) deliveries, in the order they were saved. */
  readonly deliveries: (subject: string) => Effect.Effect<ReadonlyArray<DeliveryRecord>, StoreError>
  /** Records a trigger unless its key was recorded before; that earlier one is returned instead (one transaction). */
  readonly claimTrigger: (trigger: TriggerRecord) => Effect.Effect<TriggerClaim, StoreError>
}

export class Store extends Context.Service<Store, StoreShape>()("keel/effects/Store") {}
