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
 * Portability rules kept here: no `INSERT OR …`/`ON CONFLICT`, no engine-made ids
 * (`seq` is counted per run inside the writing transaction), `RETURNING` only to
 * learn whether an UPDATE found its row (SQLite ≥ 3.35 and Postgres both have it),
 * and reads run `withoutTransform`, so a client that renames columns
 * (snake_case → camelCase) cannot break the row schemas.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import { isSqlError, SqlError, UnknownError } from "effect/sql/SqlError"
import { DecimalText } from "../../formats/decimal.ts"
import { Side } from "../../kernel/rebalance/deltas.ts"
import { Phase } from "../../kernel/rebalance/orders.ts"
import { OrderUpdateKind } from "../Broker.ts"
import { Integer } from "../sql/columns.ts"
import {
  type AccountRecord,
  AccountStage,
  type FillRecord,
  type FinalStatus,
  type IntentChange,
  IntentStatus,
  type OrderIntent,
  PlanStage,
  type Run,
  RunMode,
  RunStatus,
  RunStep,
  type StepRecord,
  Store,
  StoreError,
  type StoreShape
} from "../Store.ts"
import { AttributionColumn, PositionsJson } from "./columns.ts"
import { storeMigrations } from "./migrations.ts"

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

// ---------------------------------------------------------------------------
// errors and codecs at the boundary
// ---------------------------------------------------------------------------

const fromSqlError = (operation: string) => (error: SqlError): StoreError =>
  new StoreError({ operation, message: `${error.reason._tag}: ${error.message}` })

const formatPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path.map((segment) => {
    const key = typeof segment === "object" ? segment.key : segment
    return typeof key === "number" ? `[${key}]` : `.${String(key)}`
  }).join("")

const issueFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** Where ("<table>.<column>[…]") and what, for the first problem Schema reports. */
const locateIssue = (table: string, issue: SchemaIssue.Issue): { readonly at: string; readonly message: string } => {
  const first = issueFormatter(issue).issues[0]
  return first === undefined
    ? { at: table, message: "invalid row" }
    : { at: `${table}${formatPath(first.path ?? [])}`, message: first.message }
}

type RowSchema<A, E> = Schema.Codec<A, E>

/** `(client_order_id="x")`: which row, from its key columns as stored. */
const describeKey = (row: unknown, keys: ReadonlyArray<string>): string => {
  const parts = keys.map((key) => `${key}=${JSON.stringify(hasProperty(row, key) ? String(row[key]) : null)}`)
  return parts.length === 0 ? "" : ` (row ${parts.join(", ")})`
}

/**
 * A read: rows → decoded values, or a StoreError naming the table, the column and
 * the row (by its `keys`).
 */
const decodeRows = <A, E>(operation: string, table: string, schema: RowSchema<A, E>, keys: ReadonlyArray<string>) => {
  const decode = Schema.decodeUnknownResult(schema, { reportInput: true })
  return (rows: ReadonlyArray<unknown>): Effect.Effect<Array<A>, StoreError> => {
    const out: Array<A> = []
    for (const row of rows) {
      const result = decode(row)
      if (Result.isFailure(result)) {
        const { at, message } = locateIssue(table, result.failure.issue)
        const where = `${at}${describeKey(row, keys)}`
        return Effect.fail(new StoreError({ operation, message: `corrupt value in ${where}: ${message}` }))
      }
      out.push(result.success)
    }
    return Effect.succeed(out)
  }
}

/** A write: value → columns, or a StoreError saying which column cannot be stored. */
const encodeRow = <A, E>(operation: string, table: string, schema: RowSchema<A, E>) => {
  const encode = Schema.encodeUnknownResult(schema, { reportInput: true })
  return (value: A): Effect.Effect<E, StoreError> => {
    const result = encode(value)
    if (Result.isSuccess(result)) return Effect.succeed(result.success)
    const { at, message } = locateIssue(table, result.failure.issue)
    return Effect.fail(new StoreError({ operation, message: `cannot store ${at}: ${message}` }))
  }
}

// ---------------------------------------------------------------------------
// the store
// ---------------------------------------------------------------------------

/** The tables whose rows are numbered per run by `seq`. */
type SeqTable = "run_steps" | "plans" | "order_intents" | "fills" | "account_states"

export const makeSqlStore: Effect.Effect<StoreShape, never, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  /** Wraps one Store operation: every SqlError becomes a StoreError naming the operation. */
  const op = <A, R>(operation: string, effect: Effect.Effect<A, StoreError | SqlError, R>) =>
    Effect.catchTag(effect, "SqlError", (error) => Effect.fail(fromSqlError(operation)(error)))

  /** The next `seq` for a run; call it inside the transaction that inserts the row. */
  const nextSeq = (operation: string, table: SeqTable, runId: string) =>
    sql`SELECT COALESCE(MAX(seq), 0) + 1 AS next_seq FROM ${sql(table)} WHERE run_id = ${runId}`.withoutTransform.pipe(
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

  const encodeRun = encodeRow("startRun", "runs", RunRow)
  const startRun = (run: Run) =>
    op(
      "startRun",
      Effect.gen(function*() {
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
      })
    )

  const encodeStep = encodeRow("recordStep", "runs", Schema.Struct({ step: RunStep }))
  const recordStep = (runId: string, step: RunStep, detail: string, at: number) =>
    op(
      "recordStep",
      sql.withTransaction(Effect.gen(function*() {
        const columns = yield* encodeStep({ step })
        const moved = yield* sql`UPDATE runs SET step = ${columns.step} WHERE id = ${runId} RETURNING id`
          .withoutTransform
        if (moved.length === 0) return yield* notFound("recordStep", `run ${runId}`)
        yield* insertNext("recordStep", "run_steps", StepRow, runId, (seq) => ({
          run_id: runId,
          seq,
          step,
          detail,
          recorded_at: at
        }))
      }))
    )

  const encodeFinish = encodeRow(
    "finishRun",
    "runs",
    Schema.Struct({ status: RunStatus, reason: Schema.NullOr(Schema.String), finished_at: Integer })
  )
  const finishRun = (runId: string, status: FinalStatus, reason: string | undefined, at: number) =>
    op(
      "finishRun",
      Effect.gen(function*() {
        const c = yield* encodeFinish({ status, reason: reason ?? null, finished_at: at })
        const done = yield* sql`UPDATE runs
          SET status = ${c.status}, reason = ${c.reason}, finished_at = ${c.finished_at}
          WHERE id = ${runId} RETURNING id`.withoutTransform
        if (done.length === 0) return yield* notFound("finishRun", `run ${runId}`)
      })
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

  const steps = (runId: string) =>
    op(
      "steps",
      sql`SELECT run_id, seq, step, detail, recorded_at FROM run_steps WHERE run_id = ${runId} ORDER BY seq`
        .withoutTransform.pipe(
          Effect.flatMap(decodeRows("steps", "run_steps", StepRow, ["run_id", "seq"])),
          Effect.map((rows) => rows.map(toStep))
        )
    )

  const savePlan = (runId: string, stage: PlanStage, json: string) =>
    op(
      "savePlan",
      sql.withTransaction(
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

  const saveIntent = (intent: OrderIntent) =>
    op(
      "saveIntent",
      sql.withTransaction(Effect.gen(function*() {
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
      }))
    )

  const encodeChange = encodeRow("updateIntent", "order_intents", IntentChangeRow)
  const updateIntent = (clientOrderId: string, change: IntentChange) =>
    op(
      "updateIntent",
      Effect.gen(function*() {
        const c = yield* encodeChange({
          status: change.status,
          broker_order_id: change.brokerOrderId ?? null,
          filled_quantity: change.filledQuantity ?? null,
          average_fill_price: change.averageFillPrice ?? null,
          reason: change.reason ?? null,
          updated_at: change.at
        })
        const updated = yield* sql`UPDATE order_intents SET
            status = ${c.status},
            broker_order_id = COALESCE(${c.broker_order_id}, broker_order_id),
            filled_quantity = COALESCE(${c.filled_quantity}, filled_quantity),
            average_fill_price = COALESCE(${c.average_fill_price}, average_fill_price),
            reason = COALESCE(${c.reason}, reason),
            updated_at = ${c.updated_at}
          WHERE client_order_id = ${clientOrderId}
          RETURNING client_order_id`.withoutTransform
        if (updated.length === 0) return yield* notFound("updateIntent", `intent with client order id ${clientOrderId}`)
      })
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

  const saveFill = (fill: FillRecord) =>
    op(
      "saveFill",
      sql.withTransaction(insertNext("saveFill", "fills", FillRow, fill.runId, (seq) => ({
        run_id: fill.runId,
        seq,
        client_order_id: fill.clientOrderId,
        symbol: fill.symbol,
        side: fill.side,
        kind: fill.kind,
        quantity: fill.quantity,
        price: fill.price,
        commission: fill.commission,
        recorded_at: fill.at
      })))
    )

  const fills = (runId: string) =>
    op(
      "fills",
      sql`SELECT run_id, seq, client_order_id, symbol, side, kind, quantity, price, commission, recorded_at
          FROM fills WHERE run_id = ${runId} ORDER BY seq`.withoutTransform.pipe(
        Effect.flatMap(decodeRows("fills", "fills", FillRow, ["run_id", "seq"])),
        Effect.map((rows) => rows.map(toFill))
      )
    )

  const saveAccount = (record: AccountRecord) =>
    op(
      "saveAccount",
      sql.withTransaction(insertNext("saveAccount", "account_states", AccountRow, record.runId, (seq) => ({
        run_id: record.runId,
        seq,
        stage: record.stage,
        cash: record.cash,
        equity: record.equity,
        positions: record.positions.map((p) => ({ symbol: p.symbol, quantity: p.quantity })),
        recorded_at: record.at
      })))
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

  return Store.of({
    startRun,
    recordStep,
    finishRun,
    getRun,
    listRuns,
    steps,
    savePlan,
    plans,
    saveIntent,
    updateIntent,
    intents,
    saveFill,
    fills,
    saveAccount,
    accounts
  })
})

// ---------------------------------------------------------------------------
// migrations and the layer
// ---------------------------------------------------------------------------

/**
 * Runs the store's migrations (migrations.ts) in effect/sql's default migrations table, which is
 * the store's alone. A failed migration is a SqlError whose message names it.
 */
const migrate: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Migrator.make({})({
  loader: Migrator.fromRecord(storeMigrations)
}).pipe(
  Effect.asVoid,
  Effect.catchTag("MigrationError", (error) =>
    Effect.fail(
      new SqlError({
        reason: new UnknownError({
          cause: error,
          message: isSqlError(error.cause) ? `${error.message}: ${error.cause.message}` : error.message,
          operation: "migrate"
        })
      })
    ))
)

/** Migrates, then provides the Store over whichever SqlClient is given. */
export const layer: Layer.Layer<Store, SqlError, SqlClient.SqlClient> = Layer.effect(
  Store,
  Effect.andThen(migrate, makeSqlStore)
)
