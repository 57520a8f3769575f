/**
 * Keel's Store as the harness reads it: straight from the SQLite file, read-only, with node:sqlite
 * and the Store's table and column names (src/effects/store/migrations.ts), never through Keel's
 * own code, so what the invariants see is what is on disk, not what Keel believes. Rows are
 * decoded with Schema; statuses stay text, so a status Keel adds later is seen, not refused.
 */
import * as Schema from "effect/Schema"
import { existsSync } from "node:fs"
import { DatabaseSync } from "node:sqlite"
import { ComputedDecimalText } from "../../src/formats/decimal.ts"
import type { Decimal } from "../../src/kernel/decimal.ts"

export interface StoredRun {
  readonly id: string
  readonly status: string
  readonly step: string
}

export interface StoredIntent {
  readonly clientOrderId: string
  readonly runId: string
  readonly symbol: string
  readonly side: string
  readonly status: string
  readonly brokerOrderId: string | undefined
  readonly reason: string | undefined
}

export interface StoredFill {
  readonly clientOrderId: string
  readonly quantity: Decimal
}

export interface StoreRecords {
  readonly runs: ReadonlyArray<StoredRun>
  readonly intents: ReadonlyArray<StoredIntent>
  readonly fills: ReadonlyArray<StoredFill>
}

const RunRow = Schema.Struct({ id: Schema.String, status: Schema.String, step: Schema.String })
const IntentRow = Schema.Struct({
  client_order_id: Schema.String,
  run_id: Schema.String,
  symbol: Schema.String,
  side: Schema.String,
  status: Schema.String,
  broker_order_id: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String)
})
const FillRow = Schema.Struct({ client_order_id: Schema.String, quantity: ComputedDecimalText })

const decodeRuns = Schema.decodeUnknownSync(Schema.Array(RunRow))
const decodeIntents = Schema.decodeUnknownSync(Schema.Array(IntentRow))
const decodeFills = Schema.decodeUnknownSync(Schema.Array(FillRow))

const openReadOnly = (file: string): DatabaseSync => new DatabaseSync(file, { readOnly: true })

/** Every run, intent and fill in the Store; nothing when the file does not exist (no run got that far). */
export const readStore = (file: string): StoreRecords => {
  if (!existsSync(file)) return { runs: [], intents: [], fills: [] }
  const db = openReadOnly(file)
  try {
    return {
      runs: decodeRuns(db.prepare("SELECT id, status, step FROM runs").all()),
      intents: decodeIntents(
        db.prepare("SELECT client_order_id, run_id, symbol, side, status, broker_order_id, reason FROM order_intents")
          .all()
      ).map((row) => ({
        clientOrderId: row.client_order_id,
        runId: row.run_id,
        symbol: row.symbol,
        side: row.side,
        status: row.status,
        brokerOrderId: row.broker_order_id ?? undefined,
        reason: row.reason ?? undefined
      })),
      fills: decodeFills(db.prepare("SELECT client_order_id, quantity FROM fills").all()).map((row) => ({
        clientOrderId: row.client_order_id,
        quantity: row.quantity
      }))
    }
  } finally {
    db.close()
  }
}

/** The ids of the runs in the Store now: a later run is one not among them. */
export const runIds = (file: string): Set<string> => new Set(readStore(file).runs.map((run) => run.id))

/** Where runs stand while a process works, for the kill points: one read-only connection, polled. */
export interface StoreWatch {
  /** The newest run not in `known`, and its step; undefined before it is stored (or while the file is busy). */
  readonly newestRun: (known: ReadonlySet<string>) => StoredRun | undefined
  readonly close: () => void
}

export const watchStore = (file: string): StoreWatch => {
  let db: DatabaseSync | undefined
  const newestRun = (known: ReadonlySet<string>): StoredRun | undefined => {
    try {
      db ??= openReadOnly(file)
      const rows = decodeRuns(db.prepare("SELECT id, status, step FROM runs ORDER BY started_at DESC, id DESC").all())
      return rows.find((run) => !known.has(run.id))
    } catch {
      // Being created or migrated by the run itself: read again at the next poll.
      return undefined
    }
  }
  return { newestRun, close: () => db?.close() }
}
