/**
 * The venue's books as the invariants read them: its cash, every order it holds, and the orders it
 * refused or cancelled for lack of cash. The venue is the truth Keel's Store is checked against.
 * The paper venue's are read here from its SQLite file (read-only, node:sqlite, with the tables and
 * columns of src/effects/broker/paper/ledger.ts); the Alpaca emulator's come from its own state.
 */
import * as Schema from "effect/Schema"
import { DatabaseSync } from "node:sqlite"
import { ComputedDecimalText } from "../../src/formats/decimal.ts"
import type { Decimal } from "../../src/kernel/decimal.ts"

export interface VenueOrder {
  readonly id: string
  readonly clientOrderId: string
  readonly symbol: string
  readonly side: string
  readonly status: string
  readonly filledQuantity: Decimal
}

export interface VenueBooks {
  readonly cash: Decimal
  readonly orders: ReadonlyArray<VenueOrder>
  /** Client order ids of orders the venue refused or cancelled for buying power or cash. */
  readonly refusedForCash: ReadonlyArray<string>
}

const AccountRow = Schema.Struct({ cash: ComputedDecimalText })
const OrderRow = Schema.Struct({
  id: Schema.String,
  client_order_id: Schema.String,
  symbol: Schema.String,
  side: Schema.String,
  status: Schema.String,
  filled_quantity: ComputedDecimalText,
  reason: Schema.NullOr(Schema.String)
})
const decodeAccount = Schema.decodeUnknownSync(AccountRow)
const decodeOrders = Schema.decodeUnknownSync(Schema.Array(OrderRow))

/** The paper venue cancels a buy at its fill when the cash is not there (ledger: "insufficient cash at fill"). */
const CASH_REFUSAL = /insufficient (cash|buying power)/

/** A paper account's books, from the file that holds them (see `booksFile` in workspace.ts). */
export const readPaperBooks = (file: string, account: string): VenueBooks => {
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    const { cash } = decodeAccount(db.prepare("SELECT cash FROM paper_accounts WHERE name = ?").get(account))
    const rows = decodeOrders(
      db.prepare(
        "SELECT id, client_order_id, symbol, side, status, filled_quantity, reason FROM paper_orders WHERE account = ?"
      ).all(account)
    )
    return {
      cash,
      orders: rows.map((row) => ({
        id: row.id,
        clientOrderId: row.client_order_id,
        symbol: row.symbol,
        side: row.side,
        status: row.status,
        filledQuantity: row.filled_quantity
      })),
      refusedForCash: rows.filter((row) => CASH_REFUSAL.test(row.reason ?? "")).map((row) => row.client_order_id)
    }
  } finally {
    db.close()
  }
}
