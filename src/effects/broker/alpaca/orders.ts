/**
 * Orders between Keel and Alpaca: the request body Keel sends, and Alpaca's orders and
 * trade updates read back as Broker orders and updates.
 *
 * Status mapping (Alpaca → Broker OrderStatus):
 *
 * | Alpaca status | Broker status |
 * |---|---|
 * | `filled` | `filled` |
 * | `canceled` | `canceled` |
 * | `replaced` | `canceled` (the original order ends; Keel never replaces, so this is someone else's doing) |
 * | `expired` | `expired` |
 * | `rejected` | `rejected` |
 * | `calculated` | `filled` when fully filled (the fills are final), else working |
 * | any other (below) | working: `partially_filled` when something has filled, else `accepted` |
 *
 * Working statuses: `new`, `accepted`, `pending_new`, `accepted_for_bidding`, `partially_filled`,
 * `pending_cancel`, `pending_replace`, `stopped`, `suspended`, `held`, `done_for_day`, and any status
 * Alpaca adds later. Only Alpaca's final statuses end an order here: a cancel is asynchronous
 * (`pending_cancel` still holds its shares or cash, sometimes for minutes), and Alpaca still
 * cancels a `done_for_day` order, so a caller that waits for a cancel waits until it is final.
 *
 * A terminal status other than `filled` carries the reason `Alpaca status <status>` (Alpaca's
 * order object has no reason text of its own).
 */
import * as Result from "effect/Result"
import { decimalPlaces, format, isPositive, isZero, ZERO } from "../../../kernel/decimal.ts"
import type { Side } from "../../../kernel/rebalance/deltas.ts"
import type {
  BrokerOrder,
  OrderRequest,
  OrderStatus,
  OrderType,
  OrderUpdate,
  OrderUpdateKind,
  TimeInForce
} from "../../Broker.ts"
import type { Order, TradeUpdate } from "./schemas.ts"

/** Alpaca accepts at most 9 decimal places in `qty`. */
export const QUANTITY_DECIMALS = 9

const working = (order: Order): OrderStatus => (isZero(order.filled_qty) ? "accepted" : "partially_filled")

const fullyFilled = (order: Order): boolean => order.qty != null && order.filled_qty.gte(order.qty)

/** Alpaca's status as a Broker status (see the table above). */
export const orderStatus = (order: Order): OrderStatus => {
  switch (order.status) {
    case "filled":
      return "filled"
    case "canceled":
    case "replaced":
      return "canceled"
    case "expired":
      return "expired"
    case "rejected":
      return "rejected"
    case "calculated":
      return fullyFilled(order) ? "filled" : working(order)
    default:
      return working(order)
  }
}

/** Keel's two order types; Alpaca's stop types (never sent by Keel) are read as their closest kind. */
const orderType = (type: string): OrderType => (type === "limit" || type === "stop_limit" ? "limit" : "market")

export const toBrokerOrder = (order: Order): BrokerOrder => {
  const status = orderStatus(order)
  const ended = status === "canceled" || status === "expired" || status === "rejected"
  const reason = !ended
    ? undefined
    : order.status === "replaced" && order.replaced_by != null
    ? `Alpaca status replaced (by order ${order.replaced_by})`
    : `Alpaca status ${order.status}`
  return {
    id: order.id,
    clientOrderId: order.client_order_id,
    symbol: order.symbol,
    side: order.side,
    // A notional order (never placed by Keel) has no quantity until it fills.
    quantity: order.qty ?? order.filled_qty,
    type: orderType(order.type),
    ...(order.limit_price == null ? {} : { limitPrice: order.limit_price }),
    status,
    filledQuantity: order.filled_qty,
    ...(order.filled_avg_price == null || isZero(order.filled_qty) ? {} : { averageFillPrice: order.filled_avg_price }),
    ...(reason === undefined ? {} : { reason }),
    submittedAt: order.submitted_at ?? order.created_at
  }
}

/** The JSON body of POST /v2/orders. */
export interface OrderBody {
  readonly symbol: string
  readonly qty: string
  /**
   * Always null: Keel orders by quantity. Alpaca's published spec lists `notional` as a
   * required (nullable) property of the order request; Alpaca reads null as absent.
   */
  readonly notional: null
  readonly side: Side
  readonly type: OrderType
  readonly time_in_force: TimeInForce
  readonly client_order_id: string
  readonly limit_price?: string
}

/**
 * The body for a Broker request, or why it must be refused before anything is sent: a
 * quantity that is not positive or has more than 9 decimal places, a fractional quantity on
 * a whole-share account, a limit order without a limit price. A fractional quantity is always
 * a `day` order (Alpaca's rule).
 */
export const orderBody = (request: OrderRequest, fractional: boolean): Result.Result<OrderBody, string> => {
  const quantity = request.quantity
  if (!isPositive(quantity)) return Result.fail(`quantity must be positive, got ${format(quantity)}`)
  const places = decimalPlaces(quantity)
  if (places > QUANTITY_DECIMALS) {
    return Result.fail(
      `quantity ${format(quantity)} has more than ${QUANTITY_DECIMALS} decimal places (Alpaca's limit)`
    )
  }
  if (places > 0 && !fractional) {
    return Result.fail(`fractional quantity ${format(quantity)} refused: this account trades whole shares only`)
  }
  if (request.type === "limit" && request.limitPrice === undefined) {
    return Result.fail("a limit order needs a limit price")
  }
  return Result.succeed({
    symbol: request.symbol,
    qty: format(quantity),
    notional: null,
    side: request.side,
    type: request.type,
    time_in_force: places > 0 ? "day" : request.timeInForce,
    client_order_id: request.clientOrderId,
    ...(request.type === "limit" && request.limitPrice !== undefined ? { limit_price: format(request.limitPrice) } : {})
  })
}

/**
 * The Broker update for a trade_updates event, or undefined for the events Keel does not
 * follow (done_for_day, replaced, pending_cancel, order_cancel_rejected, …): polling sees
 * their outcome. Alpaca charges no commission, so every fill's commission is 0.
 */
export const toOrderUpdate = (event: TradeUpdate, now: number): OrderUpdate | undefined => {
  const kind = updateKind(event.event)
  if (kind === undefined) return undefined
  const order = toBrokerOrder(event.order)
  const fill = (kind === "fill" || kind === "partial_fill") && event.qty != null && event.price != null
    ? { quantity: event.qty, price: event.price, commission: ZERO }
    : undefined
  return {
    kind,
    order,
    ...(fill === undefined ? {} : { fill }),
    at: event.timestamp ?? event.order.updated_at ?? now
  }
}

const updateKind = (event: string): OrderUpdateKind | undefined => {
  switch (event) {
    case "new":
    case "accepted":
    case "pending_new":
      return "accepted"
    case "partial_fill":
      return "partial_fill"
    case "fill":
      return "fill"
    case "canceled":
      return "canceled"
    case "expired":
      return "expired"
    case "rejected":
      return "rejected"
    default:
      return undefined
  }
}
