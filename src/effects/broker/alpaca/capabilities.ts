/**
 * What Alpaca can do: fractional orders (per asset), closing a position by `DELETE /v2/positions`,
 * its own market clock, the trade_updates stream, and client order ids of up to 128 characters.
 */
import type { Capabilities } from "../../Broker.ts"

export const capabilities: Capabilities = {
  fractionalOrders: true,
  closesPositions: true,
  marketClock: "venue",
  orderUpdates: true,
  clientOrderIdLength: 128
}
