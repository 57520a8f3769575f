/**
 * The rule that finds a lost position close and names Alpaca's orders by the caller's id
 * (src/effects/broker/alpaca/closes.ts), on plain orders.
 */
import { describe, expect, it } from "@effect/vitest"
import type { BrokerOrder } from "../../../../src/effects/Broker.ts"
import { makeCloses } from "../../../../src/effects/broker/alpaca/closes.ts"
import { Decimal } from "../../../../src/kernel/decimal.ts"

const SENT = Date.parse("2026-07-30T14:30:00Z")
const SKEW = 30_000
const HELD = new Decimal("40.5")

const order = (id: string, fields: Partial<BrokerOrder> = {}): BrokerOrder => ({
  id,
  clientOrderId: `alpaca-${id}`,
  symbol: "ARKK",
  side: "sell",
  quantity: new Decimal("40.5"),
  type: "market",
  status: "accepted",
  filledQuantity: new Decimal("0"),
  submittedAt: SENT + 100,
  ...fields
})

describe("finding a lost close", () => {
  it("takes the earliest sell of the symbol for the held quantity since the send, less the skew; nothing else", () => {
    // Not buys, other symbols, other sizes or older orders.
    const closes = makeCloses()
    closes.sent("r1-ss-ARKK", { symbol: "ARKK", quantity: HELD, sentAt: SENT })
    const found = closes.claim("r1-ss-ARKK", [
      order("older", { submittedAt: SENT - SKEW - 1 }),
      order("buy", { side: "buy", submittedAt: SENT - 10 }),
      order("other", { symbol: "VTI", submittedAt: SENT - 10 }),
      // Someone's partial sell just before the close (an earlier run, or by hand): not the close.
      order("partial", { quantity: new Decimal("10"), submittedAt: SENT - 12_000 }),
      order("later", { submittedAt: SENT + 900 }),
      // Alpaca's clock 5 s behind ours: still the one.
      order("close", { submittedAt: SENT - 5_000 })
    ], SKEW)
    expect(found?.id).toBe("close")
    expect(closes.orderIdOf("r1-ss-ARKK")).toBe("close")
    expect(closes.lost("r1-ss-ARKK")).toBeUndefined()
  })

  it("never takes an order that is already another intent's", () => {
    const closes = makeCloses()
    closes.sent("r1-ss-ARKK", { symbol: "ARKK", quantity: HELD, sentAt: SENT })
    closes.placed("r1-ss-ARKK", order("first"))
    closes.sent("r2-ss-ARKK", { symbol: "ARKK", quantity: HELD, sentAt: SENT })
    expect(closes.claim("r2-ss-ARKK", [order("first")], SKEW)).toBeUndefined()
    expect(closes.lost("r2-ss-ARKK")).toEqual({ symbol: "ARKK", quantity: HELD, sentAt: SENT })
    expect(closes.claim("r2-ss-ARKK", [order("first"), order("second", { submittedAt: SENT + 200 })], SKEW)?.id).toBe(
      "second"
    )
  })

  it("nothing is looked for once the close was refused (nothing placed), or when none was sent", () => {
    const closes = makeCloses()
    closes.sent("r1-ss-ARKK", { symbol: "ARKK", quantity: HELD, sentAt: SENT })
    closes.refused("r1-ss-ARKK")
    expect(closes.lost("r1-ss-ARKK")).toBeUndefined()
    expect(closes.claim("r1-ss-ARKK", [order("x")], SKEW)).toBeUndefined()
    expect(closes.claim("never-sent", [order("x")], SKEW)).toBeUndefined()
  })
})

describe("naming Alpaca's orders", () => {
  it("a close's order, by its id or Alpaca's client id, carries the caller's id; other orders are left as they are", () => {
    const closes = makeCloses()
    closes.sent("r1-ss-ARKK", { symbol: "ARKK", quantity: HELD, sentAt: SENT })
    closes.placed("r1-ss-ARKK", order("a1"))
    expect(closes.name(order("a1")).clientOrderId).toBe("r1-ss-ARKK")
    expect(closes.name({ ...order("a1"), id: "unknown-id" }).clientOrderId).toBe("r1-ss-ARKK")
    expect(closes.name(order("b2", { clientOrderId: "r1-bb-VTI" })).clientOrderId).toBe("r1-bb-VTI")
  })

  it("while a close is unanswered, an unnamed sell of that symbol is held back; buys and other symbols are not", () => {
    const closes = makeCloses()
    expect(closes.unnamed(order("a1"))).toBe(false)
    closes.sent("r1-ss-ARKK", { symbol: "ARKK", quantity: HELD, sentAt: SENT })
    expect(closes.unnamed(order("a1"))).toBe(true)
    expect(closes.unnamed(order("b1", { side: "buy" }))).toBe(false)
    expect(closes.unnamed(order("c1", { symbol: "VTI" }))).toBe(false)
    closes.placed("r1-ss-ARKK", order("a1"))
    expect(closes.unnamed(order("a1"))).toBe(false)
  })
})

describe("a close sent again after a lost answer", () => {
  it("is looked for from the first send's time, even when the second send was refused", () => {
    const closes = makeCloses()
    closes.sent("r1-ss-ARKK", { symbol: "ARKK", quantity: HELD, sentAt: SENT })
    closes.answerLost("r1-ss-ARKK")
    // Not found yet (the venue lags); the program sends it again a minute later, and Alpaca refuses it: the position is gone.
    expect(closes.claim("r1-ss-ARKK", [], SKEW)).toBeUndefined()
    closes.sent("r1-ss-ARKK", { symbol: "ARKK", quantity: HELD, sentAt: SENT + 60_000 })
    closes.refused("r1-ss-ARKK")
    expect(closes.lost("r1-ss-ARKK")).toEqual({ symbol: "ARKK", quantity: HELD, sentAt: SENT })
    expect(closes.claim("r1-ss-ARKK", [order("first", { submittedAt: SENT + 50 })], SKEW)?.id).toBe("first")
  })
})
