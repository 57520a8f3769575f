/**
 * The Store over effect/sql's generic `SqlClient`: SQLite today (our node:sqlite
 * client), Postgres later, with the same statements.
 *
 * The database is a boundary like any file: every row read is decoded with Schema
 * (the column codecs of columns.ts), and a row that does not decode is a
 * StoreError naming its table and column, never a half-built value. Writes are
 * encoded through the same row schemas, so nothing is stored that could not be
 * read back (a decimal outside Keel's limits, a fractional timestamp).
 *
 * One writer per account: every write of a run's rows carries the lease it is made under
 * (leases.ts), checked in the writing transaction, so a run whose lease was taken over writes
 * nothing. Every StoreError names the database, and opening one that is not Keel's, or cannot
 * be written, is a StoreError in words, never a SQL error.
 *
 * Portability rules kept here: no `INSERT OR …`/`ON CONFLICT`, no engine-made ids
 * (`seq` is counted per run inside the writing transaction), `RETURNING` only to
 * learn whether an UPDATE found its row (SQLite ≥ 3.35 and Postgres both have it),
 * and reads run `withoutTransform`, so a client that renames columns
 * (snake_case → camelCase) cannot break the row schemas.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import { isSqlError } from "effect/sql/SqlError"
import { DecimalText } from "../../formats/decimal.ts"
import { Side } from "../../kernel/rebalance/deltas.ts"
import { Phase } from "../../kernel/rebalance/orders.ts"
import { OrderUpdateKind } from "../Broker.ts"
import { Integer } from "../sql/columns.ts"
import {
  type AccountRecord,
  AccountStage,
  type DeliveryRecord,
  DeliveryStatus,
  type FillRecord,
  type FinalStatus,
  type IntentChange,
  IntentStatus,
  isFinalIntent,
  type Lease,
  type OrderIntent,
  PlanStage,
  type Run,
  RunMode,
  RunStatus,
  RunStep,
  type StepRecord,
  Store,
  StoreError,
  type StoreShape,
  type TriggerClaim,
  type TriggerRecord
} from "../Store.ts"
import { AttributionColumn, PositionsJson } from "./columns.ts"
import { makeLeases } from "./leases.ts"
import { storeMigrations } from "./migrations.ts"
import { decodeRows, encodeRow, operations, type RowSchema } from "./rows.ts"

// ---------------------------------------------------------------------------
// rows (column names exactly as in migrations.ts)
// ---------------------------------------------------------------------------

const RunRow = Schema.Struct({
  id: Schema.String,
  account: Schema.String,
  mode: RunMode,
  status: RunStatus,
  step: RunStep,
  reason: Schema.NullOr(Schema.String),
  started_at: Integer,
  finished_at: Schema.NullOr(Integer)
})

const StepRow = Schema.Struct({
  run_id: Schema.String,
  seq: Integer,
  step: RunStep,
  detail: Schema.String,
  recorded_at: Integer
})

const PlanRow = Schema.Struct({
  run_id: Schema.String,
  seq: Integer,
  phase: PlanStage,
  plan_json: Schema.String
})

const IntentRow = Schema.Struct({
  client_order_id: Schema.String,
  run_id: Schema.String,
  seq: Integer,
  phase: Phase,
  symbol: Schema.String,
  side: Side,
  quantity: DecimalText,
  price: DecimalText,
  attribution: AttributionColumn,
  status: IntentStatus,
  broker_order_id: Schema.NullOr(Schema.String),
  filled_quantity: DecimalText,
  average_fill_price: Schema.NullOr(DecimalText),
  reason: Schema.NullOr(Schema.String),
  created_at: Integer,
  updated_at: Integer
})

const FillRow = Schema.Struct({
  run_id: Schema.String,
  seq: Integer,
  client_order_id: Schema.String,
  symbol: Schema.String,
  side: Side,
  kind: OrderUpdateKind,
  quantity: DecimalText,
  price: DecimalText,
  commission: DecimalText,
  cumulative_quantity: DecimalText,
  recorded_at: Integer
})

const AccountRow = Schema.Struct({
  run_id: Schema.String,
  seq: Integer,
  stage: AccountStage,
  cash: DecimalText,
  equity: DecimalText,
  positions: PositionsJson,
  recorded_at: Integer
})

const DeliveryRow = Schema.Struct({
  subject: Schema.String,
  seq: Integer,
  channel: Schema.String,
  fleet_id: Schema.NullOr(Schema.String),
  status: DeliveryStatus,
  attempts: Integer,
  error: Schema.NullOr(Schema.String),
  recorded_at: Integer
})

const TriggerRow = Schema.Struct({
  idempotency_key: Schema.String,
  fleet_id: Schema.String,
  accounts: Schema.fromJsonString(Schema.Array(Schema.String)),
  reason: Schema.String,
  received_at: Integer
})

/** The columns changed by `updateIntent`; absent ones keep their value. */
const IntentChangeRow = Schema.Struct({
  status: IntentStatus,
  broker_order_id: Schema.NullOr(Schema.String),
  filled_quantity: Schema.NullOr(DecimalText),
  average_fill_price: Schema.NullOr(DecimalText),
  reason: Schema.NullOr(Schema.String),
  updated_at: Integer
})

const SeqRow = Schema.Struct({ next_seq: Integer })
const AccountOfRow = Schema.Struct({ account: Schema.String })
const IntentOwnerRow = Schema.Struct({ run_id: Schema.String, account: Schema.String })

// ---------------------------------------------------------------------------
// rows <-> domain
// ---------------------------------------------------------------------------

const toRun = (row: typeof RunRow.Type): Run => ({
  id: row.id,
  account: row.account,
  mode: row.mode,
  status: row.status,
  step: row.step,
  ...(row.reason === null ? {} : { reason: row.reason }),
  startedAt: row.started_at,
  ...(row.finished_at === null ? {} : { finishedAt: row.finished_at })
})

const toStep = (row: typeof StepRow.Type): StepRecord => ({
  runId: row.run_id,
  seq: row.seq,
  step: row.step,
  detail: row.detail,
  at: row.recorded_at
})

const toIntent = (row: typeof IntentRow.Type): OrderIntent => ({
  clientOrderId: row.client_order_id,
  runId: row.run_id,
  phase: row.phase,
  symbol: row.symbol,
  side: row.side,
  quantity: row.quantity,
  price: row.price,
  attribution: row.attribution,
  status: row.status,
  ...(row.broker_order_id === null ? {} : { brokerOrderId: row.broker_order_id }),
  filledQuantity: row.filled_quantity,
  ...(row.average_fill_price === null ? {} : { averageFillPrice: row.average_fill_price }),
  ...(row.reason === null ? {} : { reason: row.reason }),
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

const toFill = (row: typeof FillRow.Type): FillRecord => ({
  clientOrderId: row.client_order_id,
  runId: row.run_id,
  symbol: row.symbol,
  side: row.side,
  kind: row.kind,
  quantity: row.quantity,
  price: row.price,
  commission: row.commission,
  cumulativeQuantity: row.cumulative_quantity,
  at: row.recorded_at
})

const toAccount = (row: typeof AccountRow.Type): AccountRecord => ({
  runId: row.run_id,
  stage: row.stage,
  cash: row.cash,
  equity: row.equity,
  positions: row.positions,
  at: row.recorded_at
})

const toDelivery = (row: typeof DeliveryRow.Type): DeliveryRecord => ({
  subject: row.subject,
  channel: row.channel,
  ...(row.fleet_id === null ? {} : { fleetId: row.fleet_id }),
  status: row.status,
  attempts: row.attempts,
  ...(row.error === null ? {} : { error: row.error }),
  at: row.recorded_at
})

const toTrigger = (row: typeof TriggerRow.Type): TriggerRecord => ({
  key: row.idempotency_key,
  fleetId: row.fleet_id,
  accounts: row.accounts,
  reason: row.reason,
  receivedAt: row.received_at
})

// ---------------------------------------------------------------------------
// the store
// ---------------------------------------------------------------------------

/** The tables whose rows are numbered per run by `seq`. */
type SeqTable = "run_steps" | "plans" | "order_intents" | "fills" | "account_states"

/** The intent statuses after which nothing more can happen (`isFinalIntent`), for `unsettledRuns`. */
const finalIntentStatuses = IntentStatus.literals.filter(isFinalIntent)

export const makeSqlStore = (
  options: { readonly database: string }
): Effect.Effect<StoreShape, never, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const op = operations(options.database)
    const leases = makeLeases(sql, op)

    /** The next `seq` for a run; call it inside the transaction that inserts the row. */
    const nextSeq = (operation: string, table: SeqTable, runId: string) =>
      sql`SELECT COALESCE(MAX(seq), 0) + 1 AS next_seq FROM ${sql(table)} WHERE run_id = ${runId}`.withoutTransform
        .pipe(
          Effect.flatMap(decodeRows(operation, table, SeqRow, [])),
          Effect.map((rows) => rows[0]?.next_seq ?? 1)
        )

    /**
     * Inserts a row numbered `seq` = next for its run. Run it inside a transaction,
     * so the count and the insert cannot interleave with another writer's.
     */
    const insertNext = <A, E extends Record<string, unknown>>(
      operation: string,
      table: SeqTable,
      schema: RowSchema<A, E>,
      runId: string,
      row: (seq: number) => A
    ) => {
      const encode = encodeRow(operation, table, schema)
      return Effect.gen(function*() {
        const seq = yield* nextSeq(operation, table, runId)
        const columns = yield* encode(row(seq))
        yield* sql`INSERT INTO ${sql(table)} ${sql.insert(columns)}`.withoutTransform
      })
    }

    const notFound = (operation: string, what: string) => new StoreError({ operation, message: `no ${what}` })

    /** A write of a run's rows: in one transaction, after the run's account passed the lease's fence. */
    const underLeaseOfRun = <A, E, R>(operation: string, lease: Lease, runId: string, write: Effect.Effect<A, E, R>) =>
      sql.withTransaction(Effect.gen(function*() {
        const [run] = yield* sql`SELECT account FROM runs WHERE id = ${runId}`.withoutTransform.pipe(
          Effect.flatMap(decodeRows(operation, "runs", AccountOfRow, []))
        )
        if (run === undefined) return yield* notFound(operation, `run ${runId}`)
        yield* leases.fence(operation, lease, run.account)
        return yield* write
      }))

    /** An intent's run and account, read inside the transaction that writes it; StoreError when there is none. */
    const ownerOfIntent = (operation: string, clientOrderId: string) =>
      sql`SELECT order_intents.run_id, runs.account FROM order_intents JOIN runs ON runs.id = order_intents.run_id
        WHERE order_intents.client_order_id = ${clientOrderId}`.withoutTransform.pipe(
        Effect.flatMap(decodeRows(operation, "order_intents", IntentOwnerRow, [])),
        Effect.flatMap(([owner]) =>
          owner === undefined
            ? Effect.fail(notFound(operation, `intent with client order id ${clientOrderId}`))
            : Effect.succeed(owner)
        )
      )

    const encodeRun = encodeRow("startRun", "runs", RunRow)
    const startRun = (run: Run, lease: Lease) =>
      op(
        "startRun",
        sql.withTransaction(Effect.gen(function*() {
          yield* leases.fence("startRun", lease, run.account)
          const columns = yield* encodeRun({
            id: run.id,
            account: run.account,
            mode: run.mode,
            status: run.status,
            step: run.step,
            reason: run.reason ?? null,
            started_at: run.startedAt,
            finished_at: run.finishedAt ?? null
          })
          yield* sql`INSERT INTO runs ${sql.insert(columns)}`.withoutTransform
        }))
      )

    const encodeStep = encodeRow("recordStep", "runs", Schema.Struct({ step: RunStep }))
    const recordStep = (runId: string, step: RunStep, detail: string, at: number, lease: Lease) =>
      op(
        "recordStep",
        underLeaseOfRun(
          "recordStep",
          lease,
          runId,
          Effect.gen(function*() {
            const columns = yield* encodeStep({ step })
            yield* sql`UPDATE runs SET step = ${columns.step} WHERE id = ${runId}`.withoutTransform
            yield* insertNext("recordStep", "run_steps", StepRow, runId, (seq) => ({
              run_id: runId,
              seq,
              step,
              detail,
              recorded_at: at
            }))
          })
        )
      )

    const encodeFinish = encodeRow(
      "finishRun",
      "runs",
      Schema.Struct({ status: RunStatus, reason: Schema.NullOr(Schema.String), finished_at: Integer })
    )
    const finishRun = (runId: string, status: FinalStatus, reason: string | undefined, at: number, lease: Lease) =>
      op(
        "finishRun",
        underLeaseOfRun(
          "finishRun",
          lease,
          runId,
          Effect.gen(function*() {
            const c = yield* encodeFinish({ status, reason: reason ?? null, finished_at: at })
            // Only a run still running ends: how a run ended is never rewritten.
            yield* sql`UPDATE runs SET status = ${c.status}, reason = ${c.reason}, finished_at = ${c.finished_at}
              WHERE id = ${runId} AND status = 'running'`.withoutTransform
          })
        )
      )

    const runColumns = sql`id, account, mode, status, step, reason, started_at, finished_at`
    const decodeRuns = (operation: string) => decodeRows(operation, "runs", RunRow, ["id"])

    const getRun = (runId: string) =>
      op(
        "getRun",
        sql`SELECT ${runColumns} FROM runs WHERE id = ${runId}`.withoutTransform.pipe(
          Effect.flatMap(decodeRuns("getRun")),
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toRun))
        )
      )

    const listRuns = (account: string | undefined, limit: number) =>
      op(
        "listRuns",
        Effect.gen(function*() {
          if (!Number.isSafeInteger(limit) || limit < 0) {
            const message = `limit must be a whole number ≥ 0, got ${limit}`
            return yield* new StoreError({ operation: "listRuns", message })
          }
          // Newest first; runs started in the same millisecond by id, also descending.
          const rows = account === undefined
            ? yield* sql`SELECT ${runColumns} FROM runs
                ORDER BY started_at DESC, id DESC LIMIT ${limit}`.withoutTransform
            : yield* sql`SELECT ${runColumns} FROM runs WHERE account = ${account}
                ORDER BY started_at DESC, id DESC LIMIT ${limit}`.withoutTransform
          return (yield* decodeRuns("listRuns")(rows)).map(toRun)
        })
      )

    const unsettledRuns = (account: string, exceptRunId: string) =>
      op(
        "unsettledRuns",
        sql`SELECT ${runColumns} FROM runs
          WHERE account = ${account} AND id <> ${exceptRunId} AND (status = 'running' OR EXISTS (
            SELECT 1 FROM order_intents
            WHERE order_intents.run_id = runs.id AND order_intents.status NOT IN ${sql.in(finalIntentStatuses)}))
          ORDER BY started_at, id`.withoutTransform.pipe(
          Effect.flatMap(decodeRuns("unsettledRuns")),
          Effect.map((rows) => rows.map(toRun))
        )
      )

    const steps = (runId: string) =>
      op(
        "steps",
        sql`SELECT run_id, seq, step, detail, recorded_at FROM run_steps WHERE run_id = ${runId} ORDER BY seq`
          .withoutTransform.pipe(
            Effect.flatMap(decodeRows("steps", "run_steps", StepRow, ["run_id", "seq"])),
            Effect.map((rows) => rows.map(toStep))
          )
      )

    const savePlan = (runId: string, stage: PlanStage, json: string, lease: Lease) =>
      op(
        "savePlan",
        underLeaseOfRun(
          "savePlan",
          lease,
          runId,
          insertNext(
            "savePlan",
            "plans",
            PlanRow,
            runId,
            (seq) => ({ run_id: runId, seq, phase: stage, plan_json: json })
          )
        )
      )

    const plans = (runId: string) =>
      op(
        "plans",
        sql`SELECT run_id, seq, phase, plan_json FROM plans WHERE run_id = ${runId} ORDER BY seq`.withoutTransform.pipe(
          Effect.flatMap(decodeRows("plans", "plans", PlanRow, ["run_id", "seq"])),
          Effect.map((rows) => rows.map((row) => ({ stage: row.phase, json: row.plan_json })))
        )
      )

    const saveIntent = (intent: OrderIntent, lease: Lease) =>
      op(
        "saveIntent",
        underLeaseOfRun(
          "saveIntent",
          lease,
          intent.runId,
          Effect.gen(function*() {
            // The primary key is the real guard (it also holds against a concurrent
            // writer); this look-up only gives the common case a clear message.
            const existing =
              yield* sql`SELECT client_order_id FROM order_intents WHERE client_order_id = ${intent.clientOrderId}`
                .withoutTransform
            if (existing.length > 0) {
              return yield* new StoreError({
                operation: "saveIntent",
                message: `client order id ${intent.clientOrderId} is already stored; an id can be used only once`
              })
            }
            yield* insertNext("saveIntent", "order_intents", IntentRow, intent.runId, (seq) => ({
              client_order_id: intent.clientOrderId,
              run_id: intent.runId,
              seq,
              phase: intent.phase,
              symbol: intent.symbol,
              side: intent.side,
              quantity: intent.quantity,
              price: intent.price,
              attribution: intent.attribution,
              status: intent.status,
              broker_order_id: intent.brokerOrderId ?? null,
              filled_quantity: intent.filledQuantity,
              average_fill_price: intent.averageFillPrice ?? null,
              reason: intent.reason ?? null,
              created_at: intent.createdAt,
              updated_at: intent.updatedAt
            }))
          })
        )
      )

    /** Applies a change to an intent known to exist; absent fields keep their value. */
    const applyChange = (operation: string, clientOrderId: string, change: IntentChange) => {
      const encode = encodeRow(operation, "order_intents", IntentChangeRow)
      return Effect.gen(function*() {
        const c = yield* encode({
          status: change.status,
          broker_order_id: change.brokerOrderId ?? null,
          filled_quantity: change.filledQuantity ?? null,
          average_fill_price: change.averageFillPrice ?? null,
          reason: change.reason ?? null,
          updated_at: change.at
        })
        yield* sql`UPDATE order_intents SET
            status = ${c.status},
            broker_order_id = COALESCE(${c.broker_order_id}, broker_order_id),
            filled_quantity = COALESCE(${c.filled_quantity}, filled_quantity),
            average_fill_price = COALESCE(${c.average_fill_price}, average_fill_price),
            reason = COALESCE(${c.reason}, reason),
            updated_at = ${c.updated_at}
          WHERE client_order_id = ${clientOrderId}`.withoutTransform
      })
    }

    const updateIntent = (clientOrderId: string, change: IntentChange, lease: Lease) =>
      op(
        "updateIntent",
        sql.withTransaction(Effect.gen(function*() {
          const owner = yield* ownerOfIntent("updateIntent", clientOrderId)
          yield* leases.fence("updateIntent", lease, owner.account)
          yield* applyChange("updateIntent", clientOrderId, change)
        }))
      )

    const intents = (runId: string) =>
      op(
        "intents",
        sql`SELECT client_order_id, run_id, seq, phase, symbol, side, quantity, price, attribution, status,
              broker_order_id, filled_quantity, average_fill_price, reason, created_at, updated_at
            FROM order_intents WHERE run_id = ${runId} ORDER BY seq`.withoutTransform.pipe(
          Effect.flatMap(decodeRows("intents", "order_intents", IntentRow, ["client_order_id"])),
          Effect.map((rows) => rows.map(toIntent))
        )
      )

    const encodeFillKey = encodeRow("bookFill", "fills", Schema.Struct({ cumulative_quantity: DecimalText }))
    /** Inserts the fill unless one of its order with the same cumulative quantity is stored. */
    const insertFill = (fill: FillRecord) =>
      Effect.gen(function*() {
        const key = yield* encodeFillKey({ cumulative_quantity: fill.cumulativeQuantity })
        const booked = yield* sql`SELECT seq FROM fills
          WHERE client_order_id = ${fill.clientOrderId} AND cumulative_quantity = ${key.cumulative_quantity}`
          .withoutTransform
        if (booked.length > 0) return
        yield* insertNext("bookFill", "fills", FillRow, fill.runId, (seq) => ({
          run_id: fill.runId,
          seq,
          client_order_id: fill.clientOrderId,
          symbol: fill.symbol,
          side: fill.side,
          kind: fill.kind,
          quantity: fill.quantity,
          price: fill.price,
          commission: fill.commission,
          cumulative_quantity: fill.cumulativeQuantity,
          recorded_at: fill.at
        }))
      })

    const bookFill = (fill: FillRecord, change: IntentChange, lease: Lease) =>
      op(
        "bookFill",
        sql.withTransaction(Effect.gen(function*() {
          const owner = yield* ownerOfIntent("bookFill", fill.clientOrderId)
          yield* leases.fence("bookFill", lease, owner.account)
          if (owner.run_id !== fill.runId) {
            const message =
              `the fill of ${fill.clientOrderId} names run ${fill.runId}, but its intent is run ${owner.run_id}'s`
            return yield* new StoreError({ operation: "bookFill", message })
          }
          yield* insertFill(fill)
          yield* applyChange("bookFill", fill.clientOrderId, change)
        }))
      )

    const fills = (runId: string) =>
      op(
        "fills",
        sql`SELECT run_id, seq, client_order_id, symbol, side, kind, quantity, price, commission, cumulative_quantity,
              recorded_at
            FROM fills WHERE run_id = ${runId} ORDER BY seq`.withoutTransform.pipe(
          Effect.flatMap(decodeRows("fills", "fills", FillRow, ["run_id", "seq"])),
          Effect.map((rows) => rows.map(toFill))
        )
      )

    const accountFills = (account: string, since: number) =>
      op(
        "accountFills",
        sql`SELECT f.run_id, f.seq, f.client_order_id, f.symbol, f.side, f.kind, f.quantity, f.price, f.commission,
              f.cumulative_quantity, f.recorded_at
            FROM fills f JOIN runs r ON r.id = f.run_id
            WHERE r.account = ${account} AND f.recorded_at >= ${since}
            ORDER BY f.recorded_at, f.run_id, f.seq`.withoutTransform.pipe(
          Effect.flatMap(decodeRows("accountFills", "fills", FillRow, ["run_id", "seq"])),
          Effect.map((rows) => rows.map(toFill))
        )
      )

    const saveAccount = (record: AccountRecord, lease: Lease) =>
      op(
        "saveAccount",
        underLeaseOfRun(
          "saveAccount",
          lease,
          record.runId,
          insertNext("saveAccount", "account_states", AccountRow, record.runId, (seq) => ({
            run_id: record.runId,
            seq,
            stage: record.stage,
            cash: record.cash,
            equity: record.equity,
            positions: record.positions.map((p) => ({ symbol: p.symbol, quantity: p.quantity })),
            recorded_at: record.at
          }))
        )
      )

    const accounts = (runId: string) =>
      op(
        "accounts",
        sql`SELECT run_id, seq, stage, cash, equity, positions, recorded_at
            FROM account_states WHERE run_id = ${runId} ORDER BY seq`.withoutTransform.pipe(
          Effect.flatMap(decodeRows("accounts", "account_states", AccountRow, ["run_id", "seq"])),
          Effect.map((rows) => rows.map(toAccount))
        )
      )

    const encodeDelivery = encodeRow("saveDeliveries", "notification_deliveries", DeliveryRow)
    /** Numbered per subject, like a run's rows (`seq` counted inside the transaction). */
    const saveDeliveries = (records: ReadonlyArray<DeliveryRecord>) =>
      op(
        "saveDeliveries",
        sql.withTransaction(Effect.forEach(records, (record) =>
          Effect.gen(function*() {
            const [next] = yield* sql`SELECT COALESCE(MAX(seq), 0) + 1 AS next_seq FROM notification_deliveries
              WHERE subject = ${record.subject}`.withoutTransform.pipe(
              Effect.flatMap(decodeRows("saveDeliveries", "notification_deliveries", SeqRow, []))
            )
            const columns = yield* encodeDelivery({
              subject: record.subject,
              seq: next?.next_seq ?? 1,
              channel: record.channel,
              fleet_id: record.fleetId ?? null,
              status: record.status,
              attempts: record.attempts,
              error: record.error ?? null,
              recorded_at: record.at
            })
            yield* sql`INSERT INTO notification_deliveries ${sql.insert(columns)}`.withoutTransform
          }), { discard: true }))
      )

    const deliveries = (subject: string) =>
      op(
        "deliveries",
        sql`SELECT subject, seq, channel, fleet_id, status, attempts, error, recorded_at
            FROM notification_deliveries WHERE subject = ${subject} ORDER BY seq`.withoutTransform.pipe(
          Effect.flatMap(decodeRows("deliveries", "notification_deliveries", DeliveryRow, ["subject", "seq"])),
          Effect.map((rows) => rows.map(toDelivery))
        )
      )

    const encodeTrigger = encodeRow("claimTrigger", "triggers", TriggerRow)
    /** Read and insert in one transaction, so two requests with one key cannot both be first. */
    const claimTrigger = (trigger: TriggerRecord) =>
      op(
        "claimTrigger",
        sql.withTransaction(Effect.gen(function*() {
          const [first] = yield* sql`SELECT idempotency_key, fleet_id, accounts, reason, received_at
            FROM triggers WHERE idempotency_key = ${trigger.key}`.withoutTransform.pipe(
            Effect.flatMap(decodeRows("claimTrigger", "triggers", TriggerRow, ["idempotency_key"]))
          )
          if (first !== undefined) return { _tag: "Repeated", first: toTrigger(first) } satisfies TriggerClaim
          const columns = yield* encodeTrigger({
            idempotency_key: trigger.key,
            fleet_id: trigger.fleetId,
            accounts: trigger.accounts,
            reason: trigger.reason,
            received_at: trigger.receivedAt
          })
          yield* sql`INSERT INTO triggers ${sql.insert(columns)}`.withoutTransform
          return { _tag: "First" } satisfies TriggerClaim
        }))
      )

    return Store.of({
      acquireLease: leases.acquireLease,
      renewLease: leases.renewLease,
      releaseLease: leases.releaseLease,
      leaseHolder: leases.leaseHolder,
      startRun,
      recordStep,
      finishRun,
      getRun,
      listRuns,
      unsettledRuns,
      steps,
      savePlan,
      plans,
      saveIntent,
      updateIntent,
      intents,
      bookFill,
      fills,
      accountFills,
      saveAccount,
      accounts,
      saveDeliveries,
      deliveries,
      claimTrigger
    })
  })

// ---------------------------------------------------------------------------
// opening: the database is Keel's, and migrated
// ---------------------------------------------------------------------------

/** The store's migrations by id → name, as the Migrator records them (`0008_account_leases` → 8, "account_leases"). */
const migrationNames: ReadonlyMap<number, string> = new Map(
  Object.keys(storeMigrations).map((key) => {
    const at = key.indexOf("_")
    return [Number(key.slice(0, at)), key.slice(at + 1)]
  })
)

const TableRow = Schema.Struct({ name: Schema.String })
const MigrationRow = Schema.Struct({ migration_id: Integer, name: Schema.String })

/** The database's tables (SQLite's catalogue; Postgres's information_schema). */
const tableNames = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({
    pg: () => sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`,
    orElse: () => sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
  }).withoutTransform.pipe(
    Effect.flatMap(decodeRows("open", "tables", TableRow, [])),
    Effect.map((rows) => rows.map((row) => row.name))
  )

/**
 * Why the database is not one the store may migrate: it holds tables but no record of the
 * store's migrations (another program's database), records them under other names (another
 * program's migrations), or records migrations this Keel does not know (a newer Keel's store).
 */
const foreignDatabase = (sql: SqlClient.SqlClient) =>
  Effect.gen(function*() {
    const tables = yield* tableNames(sql)
    if (tables.length === 0) return undefined
    if (!tables.includes("effect_sql_migrations")) return "not a Keel database"
    const recorded = yield* sql`SELECT migration_id, name FROM effect_sql_migrations`.withoutTransform.pipe(
      Effect.flatMap(decodeRows("open", "effect_sql_migrations", MigrationRow, ["migration_id"]))
    )
    for (const { migration_id, name } of recorded) {
      const known = migrationNames.get(migration_id)
      if (known === undefined) return "written by a newer version of Keel"
      if (known !== name) return "not a Keel database"
    }
    return undefined
  })

/** A failed migration in words: which one, and the cause as the client says it. */
const migrationFailure = (error: Migrator.MigrationError): string =>
  isSqlError(error.cause) ? `${error.message}: ${error.cause.message}` : error.message

/**
 * Checks that the database is Keel's (or new), then runs the store's migrations (migrations.ts)
 * in effect/sql's default migrations table, which is the store's alone; all in one transaction.
 */
const open = (database: string): Effect.Effect<void, StoreError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const checkAndMigrate = Effect.gen(function*() {
      const foreign = yield* foreignDatabase(sql)
      if (foreign !== undefined) return yield* new StoreError({ operation: "open", message: foreign })
      yield* Migrator.make({})({ loader: Migrator.fromRecord(storeMigrations) }).pipe(
        Effect.catchTag("MigrationError", (error) =>
          Effect.fail(new StoreError({ operation: "open", message: migrationFailure(error) })))
      )
    })
    yield* operations(database)("open", sql.withTransaction(checkAndMigrate))
  })

/** Opens the database (checked and migrated), then provides the Store over whichever SqlClient is given. */
export const layer = (options: { readonly database: string }): Layer.Layer<Store, StoreError, SqlClient.SqlClient> =>
  Layer.effect(Store, Effect.andThen(open(options.database), makeSqlStore(options)))
