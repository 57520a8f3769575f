/**
 * Broker: the one interface every venue (paper, replay, Alpaca, …) sits behind.
 *
 * Orders are placed with a client order id chosen by the caller, so an intent can be
 * stored before it is sent and found again after a lost answer. Errors are grouped by
 * what the caller can do: retry later (connection, rate limit), stop and report
 * (rejected), or look the order up before anything else (unknown outcome).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Migrator from "effect/sql/Migrator"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type * as Stream from "effect/Stream"
import type { Decimal } from "../kernel/decimal.ts"
import type { Calendar } from "../kernel/guards/calendar.ts"
import type { Side } from "../kernel/rebalance/deltas.ts"
import type { Position, Quote } from "../kernel/rebalance/snapshot.ts"
import type { InputFileError } from "./inputs.ts"

export const OrderType = Schema.Literals(["market", "limit"])
export type OrderType = typeof OrderType.Type

export const TimeInForce = Schema.Literals(["day", "gtc"])
export type TimeInForce = typeof TimeInForce.Type

/** Where an order stands at the venue. Terminal statuses end its life; no further update follows them. */
export const OrderStatus = Schema.Literals([
  "accepted",
  "partially_filled",
  "filled",
  "canceled",
  "rejected",
  "expired"
])
export type OrderStatus = typeof OrderStatus.Type

export const isTerminal = (status: OrderStatus): boolean =>
  status === "filled" || status === "canceled" || status === "rejected" || status === "expired"

/** What an order is, as asked for and as the broker keeps it. */
export interface OrderFields {
  /** Unique forever per intent: brokers refuse a reused id even after a cancel. */
  readonly clientOrderId: string
  readonly symbol: string
  readonly side: Side
  readonly quantity: Decimal
  readonly type: OrderType
  readonly limitPrice?: Decimal
}

export interface OrderRequest extends OrderFields {
  readonly timeInForce: TimeInForce
  /**
   * A sell of the whole position (`quantity` is all the account holds). A broker may close
   * the position its own way, so no fractional dust is left and a whole-share account can
   * still sell a fractional holding (Alpaca: `DELETE /v2/positions/{symbol}`); the order is
   * known by `clientOrderId` all the same, in answers, lookups and updates.
   */
  readonly closesPosition?: boolean
}

/** What a caller stored of an order it sent: enough to find it again at a venue that renamed it. */
export interface SentOrder {
  readonly symbol: string
  readonly quantity: Decimal
  /** It was sent as closing the position (`OrderRequest.closesPosition`). */
  readonly closesPosition: boolean
  /** No later than the order was sent (its intent was stored just before); epoch milliseconds. */
  readonly sentAt: number
}

/** What a venue allows for one symbol. */
export interface Asset {
  readonly symbol: string
  readonly tradable: boolean
  /** Fractional quantities may be ordered. */
  readonly fractionable: boolean
  /** The smallest order value the venue takes for a fractional order of it (Alpaca: 1). */
  readonly minFractionalOrderValue: Decimal
}

export interface BrokerOrder extends OrderFields {
  readonly id: string
  readonly status: OrderStatus
  readonly filledQuantity: Decimal
  /** Volume-weighted price of the fills so far. */
  readonly averageFillPrice?: Decimal
  /** The broker's words, for a rejection or cancel. */
  readonly reason?: string
  /** Epoch milliseconds (from Effect's Clock). */
  readonly submittedAt: number
}

/** What an order update says happened. */
export const OrderUpdateKind = Schema.Literals(["accepted", "partial_fill", "fill", "canceled", "rejected", "expired"])
export type OrderUpdateKind = typeof OrderUpdateKind.Type

export interface Fill {
  readonly quantity: Decimal
  readonly price: Decimal
  /** Commission charged for this fill. */
  readonly commission: Decimal
}

export interface OrderUpdate {
  readonly kind: OrderUpdateKind
  /** The order as it stands after this update. */
  readonly order: BrokerOrder
  /** Present for partial_fill and fill. */
  readonly fill?: Fill
  /** Epoch milliseconds. */
  readonly at: number
}

export interface AccountState {
  /** Settled cash available to trade. */
  readonly cash: Decimal
  readonly buyingPower: Decimal
  /** Equity as the broker reports it. */
  readonly equity: Decimal
}

export interface MarketClock {
  readonly isOpen: boolean
  /** Epoch milliseconds; none for a market that is never going to open (a paper market configured closed). */
  readonly nextOpen: Option.Option<number>
  /** Epoch milliseconds; none for a market that is never going to close. */
  readonly nextClose: Option.Option<number>
}

/** Where the market clock comes from: the venue's own (a run obeys it), or a simulated market's. */
export const MarketClockSource = Schema.Literals(["venue", "simulated"])
export type MarketClockSource = typeof MarketClockSource.Type

/**
 * What a venue can do, so that programs ask a question instead of testing a venue's name.
 * Every adapter states its own (see `broker/registry.ts`).
 */
export interface Capabilities {
  /** Orders may be for fractions of a share (which symbols, `assets` says). */
  readonly fractionalOrders: boolean
  /** A sell of the whole position can be sent as closing it (`closesPosition`), the venue's own way. */
  readonly closesPositions: boolean
  /**
   * `venue`: the market clock is the venue's and a run obeys it. `simulated`: a simulated market whose
   * clock the user may override (`--ignore-market-hours`).
   */
  readonly marketClock: MarketClockSource
  /** The venue pushes order updates (`updates`); without it, waiting relies on polls alone. */
  readonly orderUpdates: boolean
  /**
   * The longest client order id the venue accepts: at least 8, the length of the digest form a run
   * uses for an id it has to cut (`~` and 7 characters; programs/run/ids.ts).
   */
  readonly clientOrderIdLength: number
  /** The venue keeps the account's books (average cost and realized P&L per symbol); its layer provides `Books`. */
  readonly books: boolean
  /**
   * The cash the venue reports already leaves out what its open buy orders hold (Alpaca's
   * `non_marginable_buying_power`), so a run must not take an outside buy's cost off it again.
   */
  readonly cashNetOfOpenBuys: boolean
  /**
   * The venue checks a market buy's buying power at the ask plus this fraction (Alpaca's collar):
   * so that no buy is refused for it, a run keeps this much of equity in cash, as a reserve.
   */
  readonly marketBuyCollar?: Decimal | undefined
}

/** The connection failed or timed out: safe to retry a read later. */
export class BrokerConnectionError extends Schema.TaggedError<BrokerConnectionError>()("BrokerConnectionError", {
  message: Schema.String
}) {}

/** The broker refused the order; its reason is kept verbatim. */
export class OrderRejected extends Schema.TaggedError<OrderRejected>()("OrderRejected", {
  clientOrderId: Schema.String,
  reason: Schema.String
}) {}

export class OrderNotFound extends Schema.TaggedError<OrderNotFound>()("OrderNotFound", {
  id: Schema.String
}) {}

export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  /** Milliseconds until the limit resets. */
  retryAfterMillis: Schema.Number
}) {}

/** A submit whose answer was lost: look the order up by client order id before anything else. */
export class UnknownOutcome extends Schema.TaggedError<UnknownOutcome>()("UnknownOutcome", {
  clientOrderId: Schema.String,
  message: Schema.String
}) {}

/** A venue was configured with something it cannot use (a quote file it cannot read, a negative slippage); nothing was started. */
export class VenueConfigError extends Schema.TaggedError<VenueConfigError>()("VenueConfigError", {
  message: Schema.String
}) {}

export interface BrokerShape {
  /** "paper", "alpaca", …: the venue's name, for the record (a session header); programs ask `capabilities`. */
  readonly kind: string
  readonly capabilities: Capabilities
  readonly account: Effect.Effect<AccountState, BrokerConnectionError | RateLimited>
  readonly positions: Effect.Effect<ReadonlyArray<Position>, BrokerConnectionError | RateLimited>
  readonly quotes: (
    symbols: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Quote>, BrokerConnectionError | RateLimited>
  readonly clock: Effect.Effect<MarketClock, BrokerConnectionError | RateLimited>
  /** Trading rules of the given symbols; a symbol the venue does not know (or no longer lists) is left out: not tradable. */
  readonly assets: (
    symbols: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Asset>, BrokerConnectionError | RateLimited>
  readonly placeOrder: (
    request: OrderRequest
  ) => Effect.Effect<BrokerOrder, BrokerConnectionError | OrderRejected | RateLimited | UnknownOutcome>
  readonly getOrder: (id: string) => Effect.Effect<BrokerOrder, BrokerConnectionError | OrderNotFound | RateLimited>
  /**
   * The order sent under a client order id. `sent`: what the caller stored of it, for a venue that
   * places some orders under ids of its own (Alpaca's position closes) and must find them by what
   * was sent and when, in a process that did not send them (recovery after a crash).
   */
  readonly getOrderByClientId: (
    clientOrderId: string,
    sent?: SentOrder
  ) => Effect.Effect<BrokerOrder, BrokerConnectionError | OrderNotFound | RateLimited>
  readonly cancelOrder: (id: string) => Effect.Effect<void, BrokerConnectionError | OrderNotFound | RateLimited>
  readonly openOrders: Effect.Effect<ReadonlyArray<BrokerOrder>, BrokerConnectionError | RateLimited>
  /** Every order update from the moment of subscription on. */
  readonly updates: Stream.Stream<OrderUpdate, BrokerConnectionError>
}

export class Broker extends Context.Service<Broker, BrokerShape>()("keel/effects/Broker") {}

// ---------------------------------------------------------------------------
// books
// ---------------------------------------------------------------------------

/** One symbol in a venue's books; a symbol sold out keeps its row (quantity 0) for its realized P&L. */
export interface BookEntry {
  readonly symbol: string
  readonly quantity: Decimal
  /** Cost basis per share, commissions included. */
  readonly averageCost: Decimal
  readonly realizedPnl: Decimal
}

/** The account's books as the venue keeps them, beyond what the Broker interface shows. */
export interface AccountBooks {
  readonly cash: Decimal
  readonly realizedPnl: Decimal
  /** Every symbol ever held, zero quantities included. */
  readonly positions: ReadonlyArray<BookEntry>
}

/** The books of a venue that keeps them (`capabilities.books`), provided by its layer beside the Broker. */
export class Books extends Context.Service<Books, {
  readonly books: Effect.Effect<AccountBooks, BrokerConnectionError>
}>()("keel/effects/Broker/Books") {}

// ---------------------------------------------------------------------------
// venues
// ---------------------------------------------------------------------------

/** Where a venue's block sits in keel.yaml, and what the account around it says. */
export interface VenueContext {
  /** The config file, for messages. */
  readonly file: string
  /** Its folder: relative paths in the block are resolved against it. */
  readonly dir: string
  /** The block's path in the file, e.g. `accounts[0].broker`. */
  readonly at: string
  /** The account's name. */
  readonly account: string
  /** The account's policy trades fractional shares. */
  readonly fractional: boolean
  /** The account's trading calendar (a simulated market may follow it); none: the venue's default. */
  readonly calendar?: Calendar | undefined
}

/** A venue's Broker for one account, ready to build, and the values a recording of it must scrub. */
export interface VenueBroker {
  readonly layer: Layer.Layer<
    Broker,
    VenueConfigError | SqlError | Migrator.MigrationError,
    SqlClient.SqlClient | HttpClient.HttpClient
  >
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
}

/**
 * What each venue folder gives the registry: the Schema of its keel.yaml block (`kind` names the
 * venue), its capabilities, and its Broker from a decoded block. `layer` checks what the block
 * needs from outside the file (credentials in the environment) before any run starts, and
 * loads the venue's modules only then. It is a method, so its parameter is checked bivariantly:
 * any venue is a `Venue` of the union of every venue's block, as the registry looks it up.
 */
export interface Venue<Config extends Schema.Top & { readonly Type: { readonly kind: string } }> {
  readonly Config: Config
  readonly capabilities: Capabilities
  layer(config: Config["Type"], context: VenueContext): Effect.Effect<VenueBroker, InputFileError>
}
