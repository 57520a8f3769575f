/**
 * What the paper venue can do: fractions of any symbol but its configured whole-share ones, updates
 * pushed as it fills, a simulated market clock that the user may override, and books with
 * average cost and realized P&L per symbol.
 */
import type { Capabilities } from "../../Broker.ts"

export const capabilities: Capabilities = {
  fractionalOrders: true,
  // A sell of the whole position is filled like any sell: the quantity is exactly what is held.
  closesPositions: false,
  marketClock: "simulated",
  orderUpdates: true,
  clientOrderIdLength: 128,
  books: true,
  // Its cash is the account's balance: an open buy holds nothing until it fills.
  cashNetOfOpenBuys: false
}
