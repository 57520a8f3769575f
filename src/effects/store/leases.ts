/**
 * Account leases over SQL: one row per account in `account_leases`, holding the run that may
 * write the account's rows and a fencing token that grows with every grant.
 *
 * Every check and its write run in one transaction. On SQLite a transaction takes the write
 * lock up front (`BEGIN IMMEDIATE`), so two processes granting or fencing cannot interleave;
 * Postgres will lock the lease row instead. A released lease keeps its row (run_id NULL) so
 * the token keeps growing.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { Integer } from "../sql/columns.ts"
import {
  type Lease,
  LeaseHeld,
  type LeaseHolder,
  LeaseLost,
  type LeaseRequest,
  type StoreError,
  type StoreShape
} from "../Store.ts"
import { decodeRows, encodeRow, type operations } from "./rows.ts"

const LeaseRow = Schema.Struct({
  account: Schema.String,
  /** NULL once released. */
  run_id: Schema.NullOr(Schema.String),
  token: Integer,
  pid: Integer,
  host: Schema.String,
  acquired_at: Integer,
  heartbeat_at: Integer,
  expires_at: Integer
})
type LeaseRow = typeof LeaseRow.Type

const toHolder = (row: LeaseRow, runId: string): LeaseHolder => ({
  account: row.account,
  runId,
  token: row.token,
  pid: row.pid,
  host: row.host,
  acquiredAt: row.acquired_at,
  heartbeatAt: row.heartbeat_at,
  expiresAt: row.expires_at
})

/** The run holding the row against `request`; undefined when it is free, expired, or held by the run it replaces. */
const holdingRun = (row: LeaseRow, request: LeaseRequest): string | undefined =>
  row.run_id === null || row.expires_at <= request.at || row.run_id === request.replacing ? undefined : row.run_id

type LeaseOperations = Pick<StoreShape, "acquireLease" | "renewLease" | "releaseLease" | "leaseHolder">

export interface Leases extends LeaseOperations {
  /**
   * Refuses a write (LeaseLost) unless `lease` still holds its account and the row written
   * belongs to that account. Run it inside the writing transaction, before the write.
   */
  readonly fence: (operation: string, lease: Lease, account: string) => Effect.Effect<void, LeaseLost | SqlError>
}

export const makeLeases = (sql: SqlClient.SqlClient, op: ReturnType<typeof operations>): Leases => {
  const columns = sql`account, run_id, token, pid, host, acquired_at, heartbeat_at, expires_at`

  const read = (operation: string, account: string): Effect.Effect<Option.Option<LeaseRow>, StoreError | SqlError> =>
    sql`SELECT ${columns} FROM account_leases WHERE account = ${account}`.withoutTransform.pipe(
      Effect.flatMap(decodeRows(operation, "account_leases", LeaseRow, ["account"])),
      Effect.map((rows) => Option.fromNullishOr(rows[0]))
    )

  const lost = (operation: string, lease: Lease) =>
    Effect.fail(new LeaseLost({ account: lease.account, runId: lease.runId, operation }))

  const encodeGrant = encodeRow("acquireLease", "account_leases", LeaseRow)

  /** Writes the grant: a new row with token 1, or the row of the previous grant with its token + 1. */
  const grant = (request: LeaseRequest, previous: Option.Option<LeaseRow>) =>
    Effect.gen(function*() {
      const token = Option.match(previous, { onNone: () => 1, onSome: (row) => row.token + 1 })
      const row = yield* encodeGrant({
        account: request.account,
        run_id: request.runId,
        token,
        pid: request.pid,
        host: request.host,
        acquired_at: request.at,
        heartbeat_at: request.at,
        expires_at: request.at + request.ttlMillis
      })
      if (Option.isNone(previous)) {
        yield* sql`INSERT INTO account_leases ${sql.insert(row)}`.withoutTransform
      } else {
        yield* sql`UPDATE account_leases SET run_id = ${row.run_id}, token = ${row.token}, pid = ${row.pid},
            host = ${row.host}, acquired_at = ${row.acquired_at}, heartbeat_at = ${row.heartbeat_at},
            expires_at = ${row.expires_at}
          WHERE account = ${request.account}`.withoutTransform
      }
      return { account: request.account, runId: request.runId, token }
    })

  const acquireLease = (request: LeaseRequest) =>
    op(
      "acquireLease",
      sql.withTransaction(Effect.gen(function*() {
        const previous = yield* read("acquireLease", request.account)
        if (Option.isSome(previous)) {
          const holding = holdingRun(previous.value, request)
          if (holding !== undefined) return yield* new LeaseHeld({ holder: toHolder(previous.value, holding) })
        }
        return yield* grant(request, previous)
      }))
    )

  const encodeRenewal = encodeRow(
    "renewLease",
    "account_leases",
    Schema.Struct({ heartbeat_at: Integer, expires_at: Integer })
  )
  const renewLease = (lease: Lease, at: number, ttlMillis: number) =>
    op(
      "renewLease",
      Effect.gen(function*() {
        const c = yield* encodeRenewal({ heartbeat_at: at, expires_at: at + ttlMillis })
        const renewed =
          yield* sql`UPDATE account_leases SET heartbeat_at = ${c.heartbeat_at}, expires_at = ${c.expires_at}
          WHERE account = ${lease.account} AND run_id = ${lease.runId} AND token = ${lease.token}
          RETURNING account`.withoutTransform
        if (renewed.length === 0) return yield* lost("renewLease", lease)
      })
    )

  const releaseLease = (lease: Lease) =>
    op(
      "releaseLease",
      Effect.asVoid(
        sql`UPDATE account_leases SET run_id = NULL
        WHERE account = ${lease.account} AND run_id = ${lease.runId} AND token = ${lease.token}`.withoutTransform
      )
    )

  const leaseHolder = (account: string) =>
    op(
      "leaseHolder",
      Effect.map(
        read("leaseHolder", account),
        Option.flatMap((row) => row.run_id === null ? Option.none() : Option.some(toHolder(row, row.run_id)))
      )
    )

  const fence = (operation: string, lease: Lease, account: string) =>
    Effect.gen(function*() {
      if (account !== lease.account) return yield* lost(operation, lease)
      const held = yield* sql`SELECT token FROM account_leases
        WHERE account = ${lease.account} AND run_id = ${lease.runId} AND token = ${lease.token}`.withoutTransform
      if (held.length === 0) return yield* lost(operation, lease)
    })

  return { acquireLease, renewLease, releaseLease, leaseHolder, fence }
}
