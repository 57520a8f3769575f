/**
 * The chaos suite's counting, on books and Stores written by hand: a clean session counts 0, and
 * each violation the issue names is counted once, where it is.
 */
import { describe, expect, it } from "vitest"
import { Decimal } from "../../src/kernel/decimal.ts"
import { checkBooks, type Evidence, executingRuns, NO_FINDINGS, tradedBy } from "./invariants.ts"
import type { StoredIntent, StoreRecords } from "./keelStore.ts"
import type { VenueBooks, VenueOrder } from "./venueBooks.ts"

const order = (id: string, clientOrderId: string, symbol: string, side: string, filled: string): VenueOrder => ({
  id,
  clientOrderId,
  symbol,
  side,
  status: "filled",
  filledQuantity: new Decimal(filled)
})

const intent = (clientOrderId: string, runId: string, change: Partial<StoredIntent> = {}): StoredIntent => ({
  clientOrderId,
  runId,
  symbol: "VTI",
  side: "buy",
  status: "filled",
  brokerOrderId: undefined,
  reason: undefined,
  ...change
})

const fill = (clientOrderId: string, quantity: string) => ({ clientOrderId, quantity: new Decimal(quantity) })

/** A run that sold 40 VTI (Alpaca closed the position under its own client id) and bought 170 BND. */
const venue: VenueBooks = {
  cash: new Decimal("12.5"),
  orders: [order("o1", "alpaca-own-id", "VTI", "sell", "40"), order("o2", "r1-bb-BND", "BND", "buy", "170")],
  refusedForCash: []
}
const store: StoreRecords = {
  runs: [{ id: "r1", status: "completed", step: "done" }],
  intents: [
    intent("r1-ss-VTI", "r1", { side: "sell", brokerOrderId: "o1" }),
    intent("r1-bb-BND", "r1", { symbol: "BND" })
  ],
  fills: [fill("r1-ss-VTI", "40"), fill("r1-bb-BND", "85"), fill("r1-bb-BND", "85")]
}
const clean: Evidence = {
  venue,
  store,
  before: new Set(),
  baseline: tradedBy(venue.orders, new Set()),
  step: new Decimal("1")
}

describe("checkBooks", () => {
  it("counts nothing in a session that kept every promise, matching a close by its broker order id", () => {
    expect(checkBooks(clean)).toEqual(NO_FINDINGS)
  })

  it("counts each violation once, and says where", () => {
    const broken: Evidence = {
      ...clean,
      venue: {
        cash: new Decimal("-0.01"),
        orders: [
          ...venue.orders,
          // Bought again by a second run: 2 more than the uninterrupted 170 (one step is allowed).
          order("o3", "r2-bb-BND", "BND", "buy", "2"),
          order("o4", "stranger", "GLD", "buy", "0")
        ],
        refusedForCash: ["r2-bb-GLD"]
      },
      store: {
        runs: [...store.runs, { id: "r2", status: "running", step: "buy-wait" }],
        intents: [
          ...store.intents,
          intent("r2-bb-BND", "r2", { symbol: "BND", status: "partially_filled" }),
          intent("r2-bb-IEF", "r2", { symbol: "IEF", status: "rejected", reason: "insufficient buying power" })
        ],
        // The Store lost the fill of r1's BND buy half way, and never saw r2's.
        fills: [fill("r1-ss-VTI", "40"), fill("r1-bb-BND", "85")]
      }
    }
    const { counts, notes } = checkBooks(broken)
    expect(counts).toEqual({
      duplicateOrders: 1,
      overspends: 3,
      lostFills: 2,
      intentsNotFinal: 1,
      runsLeftRunning: 1,
      ordersWithoutIntent: 1,
      doubleExecutedPlans: 0,
      unexpectedExits: 0,
      leaseNotReported: 0
    })
    expect(notes).toContain("BND buy: traded 172, uninterrupted 170")
    expect(notes).toContain("r1-bb-BND: venue filled 170, Store's fills 85")
    expect(notes).toContain("venue order o4 (stranger)")
    expect(executingRuns(broken, new Set())).toEqual(["r1", "r2"])
    expect(executingRuns(broken, new Set(["r1"]))).toEqual(["r2"])
  })
})
