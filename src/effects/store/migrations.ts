/**
 * The Store's schema, as effect/sql migrations (`Migrator.fromRecord`, ids 1..6).
 *
 * Portable on purpose: the same statements run on SQLite today and Postgres later.
 * - Decimals are TEXT in plain notation (never REAL/NUMERIC: no float, no rescaling).
 * - Timestamps are BIGINT epoch milliseconds (Postgres INTEGER is 32-bit).
 * - No AUTOINCREMENT/SERIAL: ordered child rows get `seq`, counted per run by the
 *   store itself, so a row's position never depends on the engine.
 * - One statement per call: drivers that prepare statements run only one at a time.
 *
 * Ids stay small: other modules (the paper broker, from 101) share the same
 * migrations table. Never edit a migration that has shipped; add the next id.
 */
import * as Effect from "effect/Effect"
import * as SqlClient from "effect/sql/SqlClient"

/** What `Migrator.fromRecord` takes: `<id>_<name>` → the migration. */
export type MigrationRecord = Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>>

/** Runs the statements in order, one call each. */
const statements = (...make: ReadonlyArray<(sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of make) yield* statement(sql)
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
  )
}
