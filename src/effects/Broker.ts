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
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { Decimal } from "../kernel/decimal.ts"
import type { Position, Quote } from "../kernel/rebalance/snapshot.ts"

export type OrderSide = "buy" | "sell"
export type OrderType = "market" | "limit"
export type TimeInForce = "day" | "gtc"

/** Terminal statuses end an order's life; no further update follows them. */
export type OrderStatus = "accepted" | "partially_filled" | "filled" | "canceled" | "rejected" | "expired"

export const isTerminal = (status: OrderStatus): boolean =>
  status === "filled" || status === "canceled" || status === "rejected" || status === "expired"

/** What an order is, as asked for and as the broker keeps it. */
export interface OrderFields {
  /** Unique forever per intent: brokers refuse a reused id even after a cancel. */
  readonly clientOrderId: string
  readonly symbol: string
  readonly side: OrderSide
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

export type OrderUpdateKind = "accepted" | "partial_fill" | "fill" | "canceled" | "rejected" | "expired"

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
  /** Epoch milliseconds. */
  readonly nextOpen: number
  readonly nextClose: number
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

export type BrokerError = BrokerConnectionError | OrderRejected | OrderNotFound | RateLimited | UnknownOutcome

export interface BrokerShape {
  /** "paper", "alpaca", "replay", …: guards (market hours) depend on it. */
  readonly kind: string
  readonly account: Effect.Effect<AccountState, BrokerConnectionError | RateLimited>
  readonly positions: Effect.Effect<ReadonlyArray<Position>, BrokerConnectionError | RateLimited>
  readonly quotes: (
    symbols: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Quote>, BrokerConnectionError | RateLimited>
  readonly clock: Effect.Effect<MarketClock, BrokerConnectionError | RateLimited>
  /** Trading rules of the given symbols; a symbol the venue does not know is left out. */
  readonly assets: (
    symbols: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Asset>, BrokerConnectionError | RateLimited>
  readonly placeOrder: (
    request: OrderRequest
  ) => Effect.Effect<BrokerOrder, BrokerConnectionError | OrderRejected | RateLimited | UnknownOutcome>
  readonly getOrder: (id: string) => Effect.Effect<BrokerOrder, BrokerConnectionError | OrderNotFound | RateLimited>
  readonly getOrderByClientId: (
    clientOrderId: string
  ) => Effect.Effect<BrokerOrder, BrokerConnectionError | OrderNotFound | RateLimited>
  readonly cancelOrder: (id: string) => Effect.Effect<void, BrokerConnectionError | OrderNotFound | RateLimited>
  readonly openOrders: Effect.Effect<ReadonlyArray<BrokerOrder>, BrokerConnectionError | RateLimited>
  /** Every order update from the moment of subscription on. */
  readonly updates: Stream.Stream<OrderUpdate, BrokerConnectionError>
}

export class Broker extends Context.Service<Broker, BrokerShape>()("keel/effects/Broker") {}
