/**
 * The Store's schema, as effect/sql migrations (`Migrator.fromRecord`, ids 1..10).
 *
 * Portable on purpose: the same statements run on SQLite today and Postgres later.
 * - Decimals are TEXT in plain notation (never REAL/NUMERIC: no float, no rescaling).
 * - Timestamps are BIGINT epoch milliseconds (Postgres INTEGER is 32-bit).
 * - No AUTOINCREMENT/SERIAL: ordered child rows get `seq`, counted per run by the
 *   store itself, so a row's position never depends on the engine.
 * - One statement per call: drivers that prepare statements run only one at a time.
 * - A column filled from older rows is filled here in TypeScript, through the store's own
 *   column codecs (columns.ts), never with an engine's JSON functions.
 *
 * They are recorded in effect/sql's default migrations table (`effect_sql_migrations`), which
 * is the Store's alone: the Migrator only applies ids above the highest one recorded, so two
 * modules cannot share a table (a venue's higher ids would hide the Store's next migration).
 * A venue that keeps tables migrates them with its own table (the paper venue:
 * `keel_paper_migrations`). Never edit a migration that has shipped; add the next id.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { DecimalFromInput, DecimalText } from "../../formats/decimal.ts"
import { add, type Decimal, isPositive, ZERO } from "../../kernel/decimal.ts"
import type { Attribution } from "../../kernel/rebalance/targets.ts"
import { Integer } from "../sql/columns.ts"
import type { PlanStage } from "../Store.ts"
import { AttributionColumn } from "./columns.ts"

/** What `Migrator.fromRecord` takes: `<id>_<name>` → the migration. */
type MigrationRecord = Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>>

/** Runs the statements in order, one call each. */
const statements = (...make: ReadonlyArray<(sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of make) yield* statement(sql)
  })

// ---------------------------------------------------------------------------
// 0007: the attribution of intents stored before the column, from their run's plans
// ---------------------------------------------------------------------------

/**
 * The orders of a stored plan (`rebalance plan --json`'s document), as far as the backfill reads
 * them: an order without attribution has none (plain targets); phase and side are matched as
 * text. A plan in which any order does not read tells nothing.
 */
const StoredPlanOrders = Schema.fromJsonString(Schema.Struct({
  orders: Schema.Array(Schema.Struct({
    phase: Schema.String,
    symbol: Schema.String,
    side: Schema.String,
    attribution: Schema.optionalKey(Schema.Array(Schema.Struct({ strategy: Schema.String, weight: DecimalFromInput })))
  }))
}))

const PlanRow = Schema.Struct({ phase: Schema.String, plan_json: Schema.String })
const IntentRow = Schema.Struct({
  client_order_id: Schema.String,
  phase: Schema.String,
  symbol: Schema.String,
  side: Schema.String
})
const RunIdRow = Schema.Struct({ run_id: Schema.String })

/** Rows that read; a damaged one is left out (its intent keeps an unknown attribution). */
const readRows = <A>(schema: Schema.Codec<A, unknown>) => {
  const decode = Schema.decodeUnknownResult(schema)
  return (rows: ReadonlyArray<unknown>): Array<A> =>
    rows.flatMap((row) => {
      const read = decode(row)
      return Result.isSuccess(read) ? [read.success] : []
    })
}

const orderKey = (phase: string, symbol: string, side: string): string => JSON.stringify([phase, symbol, side])

/** (phase, symbol, side) → attribution of a stored plan's orders; undefined when the plan does not read. */
const planAttributions = (json: string): ReadonlyMap<string, Attribution> | undefined => {
  const plan = Schema.decodeUnknownResult(StoredPlanOrders)(json)
  if (Result.isFailure(plan)) return undefined
  return new Map(plan.success.orders.map((o) => [orderKey(o.phase, o.symbol, o.side), o.attribution ?? []]))
}

/** Weights that decoded within Keel's limits always encode. */
const encodeAttribution = Schema.encodeSync(AttributionColumn)

/**
 * Each intent gets the attribution of the order it was sent for: sell-phase intents from the
 * run's last `plan`, buy-phase ones from its last `buy-replan` when there is one (what the buys
 * were sent from), else from its `plan`; matched on phase, symbol and side. An intent whose plan
 * is missing, does not read, or has no such order keeps NULL: unknown.
 */
const backfillAttribution = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError> =>
  Effect.gen(function*() {
    const runs = readRows(RunIdRow)(yield* sql`SELECT DISTINCT run_id FROM order_intents`.withoutTransform)
    for (const { run_id } of runs) {
      const stored = yield* sql`SELECT phase, plan_json FROM plans WHERE run_id = ${run_id} ORDER BY seq`
        .withoutTransform
      // The last plan of each stage is the one that counts: only it is decoded.
      const last = new Map(readRows(PlanRow)(stored).map((plan) => [plan.phase, plan.plan_json]))
      const plans = new Map([...last].map(([stage, json]) => [stage, planAttributions(json)]))
      const intents = yield* sql`SELECT client_order_id, phase, symbol, side FROM order_intents
        WHERE run_id = ${run_id}`.withoutTransform
      for (const intent of readRows(IntentRow)(intents)) {
        const stage: PlanStage = intent.phase === "buy" && plans.has("buy-replan") ? "buy-replan" : "plan"
        const found = plans.get(stage)?.get(orderKey(intent.phase, intent.symbol, intent.side))
        if (found === undefined) continue
        yield* sql`UPDATE order_intents SET attribution = ${encodeAttribution(Option.some(found))}
          WHERE client_order_id = ${intent.client_order_id}`.withoutTransform
      }
    }
  })

// ---------------------------------------------------------------------------
// 0008: the key of fills booked before it, the running sum of their order's quantities
// ---------------------------------------------------------------------------

const FillQuantityRow = Schema.Struct({
  run_id: Schema.String,
  seq: Integer,
  client_order_id: Schema.String,
  quantity: DecimalText
})
const cumulativeText = Schema.encodeResult(DecimalText)

/**
 * The cumulative quantity of each fill an order had: its fills summed in the order they were
 * booked (what the venue reports: the order's filled quantity once the fill is counted), as the
 * store's canonical text. A fill whose quantity does not read, or is not above zero, keeps NULL:
 * its row is damaged, and it must not take the key of another fill of its order.
 */
const backfillCumulativeQuantity = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError> =>
  Effect.gen(function*() {
    const rows = yield* sql`SELECT run_id, seq, client_order_id, quantity FROM fills ORDER BY run_id, seq`
      .withoutTransform
    const filled = new Map<string, Decimal>()
    for (const fill of readRows(FillQuantityRow)(rows)) {
      if (!isPositive(fill.quantity)) continue
      const cumulative = add(filled.get(fill.client_order_id) ?? ZERO, fill.quantity)
      filled.set(fill.client_order_id, cumulative)
      const text = cumulativeText(cumulative)
      if (Result.isFailure(text)) continue
      yield* sql`UPDATE fills SET cumulative_quantity = ${text.success}
        WHERE run_id = ${fill.run_id} AND seq = ${fill.seq}`.withoutTransform
    }
  })

export const storeMigrations: MigrationRecord = {
  "0001_runs": statements(
    (sql) =>
      sql`CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        step TEXT NOT NULL,
        reason TEXT,
        started_at BIGINT NOT NULL,
        finished_at BIGINT
      )`,
    // `rebalance status` lists the newest runs, overall or for one account.
    (sql) => sql`CREATE INDEX runs_by_started ON runs (started_at, id)`,
    (sql) => sql`CREATE INDEX runs_by_account ON runs (account, started_at, id)`
  ),
  "0002_run_steps": statements(
    // The primary key (run_id, seq) is also the index for reading a run's steps.
    (sql) =>
      sql`CREATE TABLE run_steps (
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq INTEGER NOT NULL,
        step TEXT NOT NULL,
        detail TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        PRIMARY KEY (run_id, seq)
      )`
  ),
  "0003_plans": statements(
    // Append-only: a re-plan of the same phase is kept next to the first one.
    (sql) =>
      sql`CREATE TABLE plans (
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq INTEGER NOT NULL,
        phase TEXT NOT NULL,
        plan_json TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
      )`
  ),
  "0004_order_intents": statements(
    // client_order_id is the primary key: that is the idempotency guard (an id is
    // stored once, ever). seq keeps the intents in the order they were planned.
    (sql) =>
      sql`CREATE TABLE order_intents (
        client_order_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq INTEGER NOT NULL,
        phase TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        quantity TEXT NOT NULL,
        price TEXT NOT NULL,
        status TEXT NOT NULL,
        broker_order_id TEXT,
        filled_quantity TEXT NOT NULL,
        average_fill_price TEXT,
        reason TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (run_id, seq)
      )`
  ),
  "0005_fills": statements(
    // No foreign key to order_intents: a fill the broker reports must be kept even
    // when its intent is missing (that is exactly what reconcile needs to see).
    (sql) =>
      sql`CREATE TABLE fills (
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq INTEGER NOT NULL,
        client_order_id TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        kind TEXT NOT NULL,
        quantity TEXT NOT NULL,
        price TEXT NOT NULL,
        commission TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        PRIMARY KEY (run_id, seq)
      )`,
    (sql) => sql`CREATE INDEX fills_by_order ON fills (client_order_id)`
  ),
  "0006_account_states": statements(
    // positions: JSON text of [{ "symbol": …, "quantity": "<decimal>" }].
    (sql) =>
      sql`CREATE TABLE account_states (
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq INTEGER NOT NULL,
        stage TEXT NOT NULL,
        cash TEXT NOT NULL,
        equity TEXT NOT NULL,
        positions TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        PRIMARY KEY (run_id, seq)
      )`
  ),
  "0007_intent_attribution": statements(
    // attribution: JSON text of [{ "strategy": …, "weight": "<decimal>" }] (columns.ts); `[]` for
    // plain targets; NULL when unknown. Intents stored before it get it from their run's plans.
    (sql) => sql`ALTER TABLE order_intents ADD COLUMN attribution TEXT`,
    backfillAttribution
  ),
  "0008_account_leases": statements(
    // One row per account that ever had a lease: the run holding it (NULL once released), the
    // fencing token (grows with every grant, never reset), and who and until when.
    (sql) =>
      sql`CREATE TABLE account_leases (
        account TEXT PRIMARY KEY,
        run_id TEXT,
        token BIGINT NOT NULL,
        pid BIGINT NOT NULL,
        host TEXT NOT NULL,
        acquired_at BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      )`,
    // A fill's key with its order: the order's filled quantity at the venue once the fill is
    // counted (decimal text, canonical), so booking a fill twice stores it once. Filled here
    // for older fills; NULL only for a damaged one (NULLs never clash in a UNIQUE index).
    (sql) => sql`ALTER TABLE fills ADD COLUMN cumulative_quantity TEXT`,
    backfillCumulativeQuantity,
    (sql) => sql`CREATE UNIQUE INDEX fills_by_order_cumulative ON fills (client_order_id, cumulative_quantity)`,
    // The unique index serves the look-ups by order too.
    (sql) => sql`DROP INDEX fills_by_order`
  ),
  "0009_notification_deliveries": statements(
    // Each delivery of a notification to a channel, after its retries: numbered per subject (a run
    // id, a fleet id, or an account that did not start), so no foreign key to runs. status:
    // delivered | failed; error: the last attempt's, without secrets; NULL once delivered.
    (sql) =>
      sql`CREATE TABLE notification_deliveries (
        subject TEXT NOT NULL,
        seq INTEGER NOT NULL,
        channel TEXT NOT NULL,
        fleet_id TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        error TEXT,
        recorded_at BIGINT NOT NULL,
        PRIMARY KEY (subject, seq)
      )`
  ),
  "0010_triggers": statements(
    // Each trigger the service accepted, by its idempotency key: the fleet it started, its
    // accounts (JSON text of a list of names), why, and when (epoch milliseconds).
    (sql) =>
      sql`CREATE TABLE triggers (
        idempotency_key TEXT PRIMARY KEY,
        fleet_id TEXT NOT NULL,
        accounts TEXT NOT NULL,
        reason TEXT NOT NULL,
        received_at BIGINT NOT NULL
      )`
  ),
  "0011_intents_by_run": statements(
    // A run's intents, and recovery's "runs with an intent not final", are read by run: without
    // this index each read scans every intent ever stored (a fleet's store holds thousands).
    (sql) => sql`CREATE INDEX order_intents_by_run ON order_intents (run_id, status)`
  )
}
