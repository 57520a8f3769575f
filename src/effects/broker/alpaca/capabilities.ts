/**
 * What Alpaca can do: fractional orders (per asset), closing a position by `DELETE /v2/positions`,
 * its own market clock, the trade_updates stream, and client order ids of up to 128 characters. Its
 * positions carry an average entry price, not the books Keel reports (average cost net of
 * commissions and realized P&L per symbol).
 */
import type { Capabilities } from "../../Broker.ts"

export const capabilities: Capabilities = {
  fractionalOrders: true,
  closesPositions: true,
  marketClock: "venue",
  orderUpdates: true,
  clientOrderIdLength: 128,
  books: false
}
