/**
 * The paper account's books: cash, positions and orders, kept in SQL so that the next
 * run (a new layer on the same database) continues where the last one ended. Keel runs them
 * in a file of their own (`books:` in keel.yaml), as a broker's books are never the client's.
 *
 * Only portable SQL is used, so the Postgres client can run the same migrations:
 * decimals are TEXT (exact, as written by big.js), times are BIGINT epoch milliseconds
 * (INTEGER is 32-bit in Postgres), and upserts are read-then-write inside the caller's
 * transaction rather than a dialect's ON CONFLICT.
 *
 * Cost basis includes commissions, so realized P&L is net of every cost, and
 * `cash + Σ quantity × averageCost − realizedPnl` stays equal to the starting cash
 * (up to the 12 places kept by the average-cost division).
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import { isSqlError, type SqlError } from "effect/sql/SqlError"
import { ComputedDecimalText, DecimalText } from "../../../formats/decimal.ts"
import { Decimal, format, isZero, ZERO } from "../../../kernel/decimal.ts"
import { Side } from "../../../kernel/rebalance/deltas.ts"
import { type BookEntry, type BrokerOrder, OrderStatus, OrderType, TimeInForce } from "../../Broker.ts"
import { decodeShape } from "../../inputs.ts"
import { Integer } from "../../sql/columns.ts"
import type { SqliteClient } from "../../sql/SqliteClient.ts"

// ---------------------------------------------------------------------------
// migrations
// ---------------------------------------------------------------------------

/**
 * For `Migrator.fromRecord`, run by the paper layer with its own migrations table
 * (`PAPER_MIGRATIONS_TABLE`): the Migrator only applies ids above the highest applied, so
 * modules must not share one. The ids start at 101, from the days they shared the Store's.
 */
export const paperMigrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "0101_paper_accounts": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE paper_accounts (
      name TEXT PRIMARY KEY,
      cash TEXT NOT NULL,
      realized_pnl TEXT NOT NULL,
      order_seq BIGINT NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`
  }),
  "0102_paper_positions": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE paper_positions (
      account TEXT NOT NULL REFERENCES paper_accounts (name),
      symbol TEXT NOT NULL,
      quantity TEXT NOT NULL,
      average_cost TEXT NOT NULL,
      realized_pnl TEXT NOT NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (account, symbol)
    )`
  }),
  "0103_paper_orders": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE paper_orders (
      id TEXT PRIMARY KEY,
      account TEXT NOT NULL REFERENCES paper_accounts (name),
      client_order_id TEXT NOT NULL,
      symbol TEXT NOT NULL,
      side TEXT NOT NULL,
      quantity TEXT NOT NULL,
      order_type TEXT NOT NULL,
      limit_price TEXT,
      time_in_force TEXT NOT NULL,
      status TEXT NOT NULL,
      filled_quantity TEXT NOT NULL,
      average_fill_price TEXT,
      reason TEXT,
      submitted_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      reserve_price TEXT NOT NULL,
      fill_count INTEGER NOT NULL,
      commission TEXT NOT NULL,
      UNIQUE (account, client_order_id)
    )`
    yield* sql`CREATE INDEX paper_orders_by_status ON paper_orders (account, status)`
  })
}

// ---------------------------------------------------------------------------
// locks
// ---------------------------------------------------------------------------

/**
 * Another process held the books longer than the SQLite client's busy timeout: the
 * transaction never committed, so the change may be tried again as it was.
 */
export const isLocked = (error: unknown): boolean => isSqlError(error) && error.reason._tag === "LockTimeoutError"

/** How long to wait before trying books that were locked again (a fill, or the client's resend of an order). */
export const LOCKED_BOOKS_RETRY_MILLIS = 1_000

// ---------------------------------------------------------------------------
// rows
// ---------------------------------------------------------------------------

export interface AccountRow {
  readonly name: string
  readonly cash: Decimal
  readonly realizedPnl: Decimal
}

/** A BrokerOrder plus what only the paper venue needs to keep. */
export interface PaperOrder extends BrokerOrder {
  readonly timeInForce: TimeInForce
  /** Price per share a buy holds buying power at: its limit, or the slipped ask when accepted. */
  readonly reservePrice: Decimal
  /** Fills so far: the first one pays the per-order commission, and it picks the next chunk. */
  readonly fillCount: number
  /** Commission charged so far. */
  readonly commission: Decimal
  readonly updatedAt: number
}

/** The order as the Broker contract shows it (the venue's own fields left out). */
export const toBrokerOrder = (o: PaperOrder): BrokerOrder => ({
  id: o.id,
  clientOrderId: o.clientOrderId,
  symbol: o.symbol,
  side: o.side,
  quantity: o.quantity,
  type: o.type,
  ...(o.limitPrice === undefined ? {} : { limitPrice: o.limitPrice }),
  status: o.status,
  filledQuantity: o.filledQuantity,
  ...(o.averageFillPrice === undefined ? {} : { averageFillPrice: o.averageFillPrice }),
  ...(o.reason === undefined ? {} : { reason: o.reason }),
  submittedAt: o.submittedAt
})

// Rows are decoded with the columns' Schemas (decimals as the kernel reads them, enums as the
// Broker defines them). What the ledger computed (cash, costs, P&L, fill prices, sums of
// quantities) reads as `ComputedDecimalText`: a product of an average cost at 12 places and a
// quantity can carry more places than an input may. What the request carried reads as
// `DecimalText`. A row that does not read back is a damaged database, not an expected
// failure: it dies with DamagedBooks, naming the books, the column and its value.

const AccountColumns = Schema.Struct({
  name: Schema.String,
  cash: ComputedDecimalText,
  realized_pnl: ComputedDecimalText
})

const PositionColumns = Schema.Struct({
  symbol: Schema.String,
  quantity: ComputedDecimalText,
  average_cost: ComputedDecimalText,
  realized_pnl: ComputedDecimalText
})

const OrderColumns = Schema.Struct({
  id: Schema.String,
  client_order_id: Schema.String,
  symbol: Schema.String,
  side: Side,
  quantity: DecimalText,
  order_type: OrderType,
  limit_price: Schema.NullOr(DecimalText),
  time_in_force: TimeInForce,
  status: OrderStatus,
  filled_quantity: ComputedDecimalText,
  average_fill_price: Schema.NullOr(ComputedDecimalText),
  reason: Schema.NullOr(Schema.String),
  submitted_at: Integer,
  updated_at: Integer,
  reserve_price: ComputedDecimalText,
  fill_count: Integer,
  commission: ComputedDecimalText
})

const OrderSeqColumns = Schema.Struct({ order_seq: Integer })

/**
 * A row of the paper books that does not read back (a cash of `lots`): the books were changed
 * outside Keel, or damaged. Nothing can be done with them until they are mended or removed, so it
 * is raised as a defect; the CLI shows its message as one line.
 */
export class DamagedBooks extends Schema.TaggedError<DamagedBooks>()("DamagedBooks", {
  /** The books' file, when the client can tell it. */
  books: Schema.optionalKey(Schema.String),
  table: Schema.String,
  /** The column and what is wrong with it: `cash: expected a decimal …, got "lots"`. */
  detail: Schema.String
}) {
  override get message(): string {
    return `paper books${this.books === undefined ? "" : ` ${this.books}`}: ${this.table}.${this.detail}`
  }
}

/** The file of books on Keel's SQLite client; another client (an embedding program's) may have none to tell. */
const booksFile = (sql: SqlClient.SqlClient): string | undefined =>
  (sql as Partial<Pick<SqliteClient, "config">>).config?.filename

const reader = <S extends Schema.Codec<unknown, unknown> & { readonly fields: Schema.Struct.Fields }, A>(
  table: string,
  columns: S,
  to: (row: S["Type"]) => A
) => {
  const decode = Schema.decodeUnknownResult(columns)
  const known = Object.keys(columns.fields)
  return (sql: SqlClient.SqlClient, row: unknown): A => {
    const decoded = decode(row)
    if (Result.isSuccess(decoded)) return to(decoded.success)
    // Told from the row's own columns only (`SELECT *` has more), as the first problem with its value.
    const own = Object.fromEntries(known.map((column) => [column, (row as Record<string, unknown>)[column]]))
    const told = decodeShape(columns, own)
    const detail = Result.isFailure(told) ? told.failure : decoded.failure.message
    const books = booksFile(sql)
    throw new DamagedBooks({ ...(books === undefined ? {} : { books }), table, detail })
  }
}

const readAccount = reader("paper_accounts", AccountColumns, (row): AccountRow => ({
  name: row.name,
  cash: row.cash,
  realizedPnl: row.realized_pnl
}))

const readPosition = reader("paper_positions", PositionColumns, (row): BookEntry => ({
  symbol: row.symbol,
  quantity: row.quantity,
  averageCost: row.average_cost,
  realizedPnl: row.realized_pnl
}))

const readOrder = reader("paper_orders", OrderColumns, (row): PaperOrder => ({
  id: row.id,
  clientOrderId: row.client_order_id,
  symbol: row.symbol,
  side: row.side,
  quantity: row.quantity,
  type: row.order_type,
  ...(row.limit_price === null ? {} : { limitPrice: row.limit_price }),
  timeInForce: row.time_in_force,
  status: row.status,
  filledQuantity: row.filled_quantity,
  ...(row.average_fill_price === null ? {} : { averageFillPrice: row.average_fill_price }),
  ...(row.reason === null ? {} : { reason: row.reason }),
  submittedAt: row.submitted_at,
  updatedAt: row.updated_at,
  reservePrice: row.reserve_price,
  fillCount: row.fill_count,
  commission: row.commission
}))

const readOrderSeq = reader("paper_accounts", OrderSeqColumns, (row) => row.order_seq)

// ---------------------------------------------------------------------------
// booking a fill (pure)
// ---------------------------------------------------------------------------

export interface FillInput {
  readonly side: Side
  readonly quantity: Decimal
  readonly price: Decimal
  readonly commission: Decimal
}

export interface Booked {
  readonly cash: Decimal
  readonly position: BookEntry
  /** Realized by this fill (zero for a buy). */
  readonly realized: Decimal
}

/**
 * What one fill does to cash and to the symbol's position. A buy adds its full cost
 * (commission included) to the cost basis; a sell realizes proceeds net of commission
 * minus the basis of the shares sold, and leaves the average cost of the rest alone.
 */
export const bookFill = (cash: Decimal, before: BookEntry, fill: FillInput): Booked => {
  const notional = fill.quantity.times(fill.price)
  if (fill.side === "buy") {
    const cost = notional.plus(fill.commission)
    const quantity = before.quantity.plus(fill.quantity)
    const basis = before.quantity.times(before.averageCost).plus(cost)
    return {
      cash: cash.minus(cost),
      position: { ...before, quantity, averageCost: basis.div(quantity) },
      realized: ZERO
    }
  }
  const proceeds = notional.minus(fill.commission)
  const realized = proceeds.minus(fill.quantity.times(before.averageCost))
  const quantity = before.quantity.minus(fill.quantity)
  return {
    cash: cash.plus(proceeds),
    position: {
      ...before,
      quantity,
      averageCost: isZero(quantity) ? ZERO : before.averageCost,
      realizedPnl: before.realizedPnl.plus(realized)
    },
    realized
  }
}

/** The order after a fill: filled quantity, volume-weighted price, status, commission. */
const orderAfterFill = (order: PaperOrder, fill: FillInput, at: number): PaperOrder => {
  const filledQuantity = order.filledQuantity.plus(fill.quantity)
  const paid = (order.averageFillPrice ?? ZERO).times(order.filledQuantity).plus(fill.price.times(fill.quantity))
  return {
    ...order,
    filledQuantity,
    averageFillPrice: paid.div(filledQuantity),
    status: filledQuantity.gte(order.quantity) ? "filled" : "partially_filled",
    fillCount: order.fillCount + 1,
    commission: order.commission.plus(fill.commission),
    updatedAt: at
  }
}

// ---------------------------------------------------------------------------
// the ledger
// ---------------------------------------------------------------------------

const OPEN: ReadonlyArray<OrderStatus> = ["accepted", "partially_filled"]

export interface Ledger {
  readonly account: Effect.Effect<AccountRow | undefined, SqlError>
  /** Creates the account with its starting cash unless it exists; returns it either way. */
  readonly openAccount: (startingCash: Decimal, at: number) => Effect.Effect<AccountRow, SqlError>
  /** All rows, zero quantities included (they keep the symbol's realized P&L). */
  readonly positions: Effect.Effect<ReadonlyArray<BookEntry>, SqlError>
  readonly position: (symbol: string) => Effect.Effect<BookEntry | undefined, SqlError>
  readonly order: (id: string) => Effect.Effect<PaperOrder | undefined, SqlError>
  readonly orderByClientId: (clientOrderId: string) => Effect.Effect<PaperOrder | undefined, SqlError>
  /** Accepted and partially filled orders, oldest first. */
  readonly openOrders: Effect.Effect<ReadonlyArray<PaperOrder>, SqlError>
  /** The next order number of this account (never reused, across runs). */
  readonly nextOrderNumber: (at: number) => Effect.Effect<number, SqlError>
  readonly insertOrder: (order: PaperOrder) => Effect.Effect<void, SqlError>
  /**
   * Books a fill: the order, the cash and realized P&L, and the position. Run it inside
   * a transaction so the three move together or not at all.
   */
  readonly recordFill: (order: PaperOrder, fill: FillInput, at: number) => Effect.Effect<PaperOrder, SqlError>
  /** Ends an open order as canceled, keeping what already filled. */
  readonly cancelOrder: (order: PaperOrder, reason: string, at: number) => Effect.Effect<PaperOrder, SqlError>
}

export const makeLedger = (sql: SqlClient.SqlClient, name: string): Ledger => {
  const account = Effect.map(
    sql`SELECT name, cash, realized_pnl FROM paper_accounts WHERE name = ${name}`,
    (rows) => (rows[0] === undefined ? undefined : readAccount(sql, rows[0]))
  )

  const position = (symbol: string) =>
    Effect.map(
      sql`SELECT symbol, quantity, average_cost, realized_pnl FROM paper_positions
        WHERE account = ${name} AND symbol = ${symbol}`,
      (rows) => (rows[0] === undefined ? undefined : readPosition(sql, rows[0]))
    )

  const findOrder = (rows: ReadonlyArray<unknown>) => (rows[0] === undefined ? undefined : readOrder(sql, rows[0]))

  const writeOrder = (o: PaperOrder) =>
    sql`UPDATE paper_orders SET
        status = ${o.status},
        filled_quantity = ${format(o.filledQuantity)},
        average_fill_price = ${o.averageFillPrice === undefined ? null : format(o.averageFillPrice)},
        reason = ${o.reason ?? null},
        updated_at = ${o.updatedAt},
        fill_count = ${o.fillCount},
        commission = ${format(o.commission)}
      WHERE id = ${o.id} AND account = ${name}`

  const writePosition = (existing: boolean, p: BookEntry, at: number) =>
    existing
      ? sql`UPDATE paper_positions SET
          quantity = ${format(p.quantity)},
          average_cost = ${format(p.averageCost)},
          realized_pnl = ${format(p.realizedPnl)},
          updated_at = ${at}
        WHERE account = ${name} AND symbol = ${p.symbol}`
      : sql`INSERT INTO paper_positions (account, symbol, quantity, average_cost, realized_pnl, updated_at)
        VALUES (${name}, ${p.symbol}, ${format(p.quantity)}, ${format(p.averageCost)}, ${format(p.realizedPnl)}, ${at})`

  return {
    account,

    openAccount: (startingCash, at) =>
      sql.withTransaction(Effect.gen(function*() {
        const existing = yield* account
        if (existing !== undefined) return existing
        yield* sql`INSERT INTO paper_accounts (name, cash, realized_pnl, order_seq, created_at, updated_at)
          VALUES (${name}, ${format(startingCash)}, ${"0"}, ${0}, ${at}, ${at})`
        return { name, cash: startingCash, realizedPnl: ZERO }
      })),

    positions: Effect.map(
      sql`SELECT symbol, quantity, average_cost, realized_pnl FROM paper_positions
        WHERE account = ${name} ORDER BY symbol`,
      (rows) => rows.map((row) => readPosition(sql, row))
    ),

    position,

    order: (id) => Effect.map(sql`SELECT * FROM paper_orders WHERE account = ${name} AND id = ${id}`, findOrder),

    orderByClientId: (clientOrderId) =>
      Effect.map(
        sql`SELECT * FROM paper_orders WHERE account = ${name} AND client_order_id = ${clientOrderId}`,
        findOrder
      ),

    openOrders: Effect.map(
      sql`SELECT * FROM paper_orders WHERE account = ${name} AND ${sql.in("status", OPEN)}
        ORDER BY submitted_at, id`,
      (rows) => rows.map((row) => readOrder(sql, row))
    ),

    nextOrderNumber: (at) =>
      Effect.gen(function*() {
        yield* sql`UPDATE paper_accounts SET order_seq = order_seq + 1, updated_at = ${at} WHERE name = ${name}`
        const rows = yield* sql`SELECT order_seq FROM paper_accounts WHERE name = ${name}`
        return readOrderSeq(sql, rows[0])
      }),

    insertOrder: (o) =>
      sql`INSERT INTO paper_orders (
          id, account, client_order_id, symbol, side, quantity, order_type, limit_price, time_in_force,
          status, filled_quantity, average_fill_price, reason, submitted_at, updated_at,
          reserve_price, fill_count, commission
        ) VALUES (
          ${o.id}, ${name}, ${o.clientOrderId}, ${o.symbol}, ${o.side}, ${format(o.quantity)}, ${o.type},
          ${o.limitPrice === undefined ? null : format(o.limitPrice)}, ${o.timeInForce},
          ${o.status}, ${format(o.filledQuantity)},
          ${o.averageFillPrice === undefined ? null : format(o.averageFillPrice)}, ${o.reason ?? null},
          ${o.submittedAt}, ${o.updatedAt}, ${format(o.reservePrice)}, ${o.fillCount}, ${format(o.commission)}
        )`.pipe(Effect.asVoid),

    recordFill: (order, fill, at) =>
      Effect.gen(function*() {
        const books = yield* account
        if (books === undefined) return yield* Effect.die(new Error(`paper ledger: account ${name} is missing`))
        const before = yield* position(order.symbol)
        const booked = bookFill(
          books.cash,
          before ?? { symbol: order.symbol, quantity: ZERO, averageCost: ZERO, realizedPnl: ZERO },
          fill
        )
        const after = orderAfterFill(order, fill, at)
        yield* writeOrder(after)
        yield* sql`UPDATE paper_accounts SET
            cash = ${format(booked.cash)},
            realized_pnl = ${format(books.realizedPnl.plus(booked.realized))},
            updated_at = ${at}
          WHERE name = ${name}`
        yield* writePosition(before !== undefined, booked.position, at)
        return after
      }),

    cancelOrder: (order, reason, at) =>
      Effect.gen(function*() {
        const after: PaperOrder = { ...order, status: "canceled", reason, updatedAt: at }
        yield* writeOrder(after)
        return after
      })
  }
}
