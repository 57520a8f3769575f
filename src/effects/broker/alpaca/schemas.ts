/**
 * Schemas of every Alpaca payload Keel reads: the REST answers of the Trading API
 * (account, positions, orders, clock, assets), the Market Data API (latest quotes and
 * trades) and the trade_updates stream's messages.
 *
 * Leniency, where Alpaca is known to change: a schema names only the fields Keel reads, so
 * every other field — unknown, removed, null or of another type — passes untouched:
 * - the account requires only its money fields (`cash`, `buying_power`,
 *   `non_marginable_buying_power`, `equity`): Alpaca removed `pattern_day_trader`,
 *   `daytrade_count`, `daytrading_buying_power`, `last_daytrade_count`, `bod_dtbp` and
 *   `pdt_check` on 2026-07-06, and `status` or `id` may come as null;
 * - a position is its `symbol` and `qty`; an asset its `symbol`, `tradable` and `fractionable`, and
 *   an asset of the list that a run does not ask about is not read at all;
 * - an order's `status` and `type` are any string (a new status must not break a run; the
 *   mapping in orders.ts decides what it means).
 *
 * Decimals stay exact: the Trading API sends them as JSON strings, read by the kernel's
 * `parseDecimal`. The Market Data API sends prices as JSON numbers; those are read through
 * their shortest round-trip text (`156.47` is 156.47), never through arithmetic.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
import { DecimalFromInput, DecimalText } from "../../../formats/decimal.ts"
import { Side } from "../../../kernel/rebalance/deltas.ts"

// ---------------------------------------------------------------------------
// leaves
// ---------------------------------------------------------------------------

/**
 * A market-data price: a JSON number, read through its shortest round-trip text (`156.47` is
 * 156.47, never arithmetic), or, tolerated, a decimal string; either way as the kernel reads it.
 */
export const Price = DecimalFromInput

/** An RFC 3339 timestamp (nanoseconds and offsets allowed), as epoch milliseconds. */
export const Timestamp = Schema.String.pipe(Schema.decodeTo(
  Schema.Number,
  SchemaTransformation.transformEffect<number, string>({
    decode: (text, options) => {
      const millis = text.includes("T") ? Date.parse(text) : Number.NaN
      return Number.isFinite(millis)
        ? Effect.succeed(millis)
        : Effect.fail(new SchemaIssue.InvalidValue({ expected: "an RFC 3339 timestamp" }, text, options))
    },
    encode: (millis) => Effect.succeed(new Date(millis).toISOString())
  })
))

const optional = Schema.optionalKey
const nullable = <S extends Schema.Top>(schema: S) => Schema.optionalKey(Schema.NullOr(schema))

// ---------------------------------------------------------------------------
// Trading API
// ---------------------------------------------------------------------------

/** GET /v2/account: the four money fields; every other field (there are dozens, and they change) is ignored. */
export const Account = Schema.Struct({
  cash: DecimalText,
  buying_power: DecimalText,
  non_marginable_buying_power: DecimalText,
  equity: DecimalText
})
export type Account = typeof Account.Type

/** One element of GET /v2/positions. `qty` is negative for a short position. */
export const Position = Schema.Struct({
  symbol: Schema.String,
  qty: DecimalText
})
export type Position = typeof Position.Type
export const Positions = Schema.Array(Position)

/** An order, as the REST API and the trade_updates stream both send it. */
export const Order = Schema.Struct({
  id: Schema.String,
  client_order_id: Schema.String,
  symbol: Schema.String,
  side: Side,
  type: Schema.String,
  time_in_force: Schema.String,
  status: Schema.String,
  /** Null for a notional order. */
  qty: nullable(DecimalText),
  filled_qty: DecimalText,
  filled_avg_price: nullable(DecimalText),
  limit_price: nullable(DecimalText),
  created_at: Timestamp,
  submitted_at: nullable(Timestamp),
  updated_at: nullable(Timestamp),
  replaced_by: nullable(Schema.String)
})
export type Order = typeof Order.Type
export const Orders = Schema.Array(Order)

/** GET /v2/clock. */
export const Clock = Schema.Struct({
  is_open: Schema.Boolean,
  next_open: Timestamp,
  next_close: Timestamp
})
export type Clock = typeof Clock.Type

/**
 * One entry of GET /v2/assets: what Keel needs to know to order a symbol. The 2022 spec has
 * no such path, only the `Assets` component each entry is.
 */
export const Asset = Schema.Struct({
  symbol: Schema.String,
  tradable: Schema.Boolean,
  fractionable: Schema.Boolean
})
export type Asset = typeof Asset.Type

/**
 * GET /v2/assets: a list of thousands of entries, of which a run reads a few. Only the list is
 * decoded here; an entry is read as an `Asset` when a run asks for its symbol (alpaca/assets.ts),
 * so an odd entry of another symbol never sinks the list.
 */
export const AssetList = Schema.Array(Schema.Unknown)

/** What indexes an entry of the list: its symbol. */
export const Listed = Schema.Struct({ symbol: Schema.String })

// ---------------------------------------------------------------------------
// Market Data API
// ---------------------------------------------------------------------------

/** One latest quote: ask and bid price (`ap`, `bp`); IEX sends 0 for a missing side (null is read the same way). */
export const Quote = Schema.Struct({
  ap: nullable(Price),
  bp: nullable(Price)
})

/** GET /v2/stocks/quotes/latest. */
export const LatestQuotes = Schema.Struct({
  quotes: Schema.Record(Schema.String, Quote)
})
export type LatestQuotes = typeof LatestQuotes.Type

/** GET /v2/stocks/trades/latest. */
export const LatestTrades = Schema.Struct({
  trades: Schema.Record(Schema.String, Schema.Struct({ p: Price }))
})
export type LatestTrades = typeof LatestTrades.Type

// ---------------------------------------------------------------------------
// trade_updates stream
// ---------------------------------------------------------------------------

/** Every stream message: `{"stream": "...", "data": {...}}`. */
export const StreamMessage = Schema.Struct({
  stream: Schema.String,
  data: Schema.Unknown
})

/**
 * `{"stream":"authorization","data":{"action":"authenticate","status":"authorized"}}`; only the
 * status is read, so an answer naming `action: "auth"` reads the same.
 */
export const Authorization = Schema.Struct({
  status: Schema.String
})

/** `{"stream":"listening","data":{"streams":["trade_updates"]}}` */
export const Listening = Schema.Struct({
  streams: optional(Schema.Array(Schema.String)),
  error: optional(Schema.String)
})

/** One trade update; `price` and `qty` are this execution's, present on fills. */
export const TradeUpdate = Schema.Struct({
  event: Schema.String,
  order: Order,
  price: nullable(DecimalText),
  qty: nullable(DecimalText),
  timestamp: nullable(Timestamp)
})
export type TradeUpdate = typeof TradeUpdate.Type

// ---------------------------------------------------------------------------
// decoding
// ---------------------------------------------------------------------------

/** Why a payload is not what Keel expects: every offending field, by path. */
export class PayloadError extends Schema.TaggedError<PayloadError>()("PayloadError", {
  message: Schema.String
}) {}

/** A schema of a payload: decoding needs no services. */
export type PayloadSchema = Schema.Constraint & { readonly DecodingServices: never }

const MAX_MESSAGE = 2_000

/**
 * Decodes `input` as `schema`, reporting every failing field with the value found there
 * (`what` names the payload; the message is cut at 2,000 characters).
 */
export const decode = <S extends PayloadSchema>(schema: S, what: string) => {
  const run = Schema.decodeUnknownEffect(schema, { errors: "all", reportInput: true })
  return (input: unknown): Effect.Effect<S["Type"], PayloadError> =>
    Effect.mapError(run(input), (error) => {
      const message = `${what}: unexpected payload: ${error.message}`
      return new PayloadError({ message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message })
    })
}
