/**
 * What Alpaca can do: fractional orders (per asset), closing a position by `DELETE /v2/positions`,
 * its own market clock, the trade_updates stream, and client order ids of up to 128 characters. Its
 * positions carry an average entry price, not the books Keel reports (average cost net of
 * commissions and realized P&L per symbol).
 */
import { Decimal } from "../../../kernel/decimal.ts"
import type { Capabilities } from "../../Broker.ts"

export const capabilities: Capabilities = {
  fractionalOrders: true,
  closesPositions: true,
  marketClock: "venue",
  orderUpdates: true,
  clientOrderIdLength: 128,
  books: false,
  // Cash for buys is min(cash, non_marginable_buying_power), and the latter nets open buys.
  cashNetOfOpenBuys: true,
  // A market buy is checked as a limit order 2% above the ask (Alpaca's support pages); keel.yaml's
  // `marketBuyCollar` sets another for an account.
  marketBuyCollar: new Decimal("0.02")
}
