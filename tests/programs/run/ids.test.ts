/**
 * Client order ids: deterministic, within the venue's limit (and never above 48), and distinct
 * for distinct orders however much of them had to be cut or changed.
 */
import { describe, expect, it } from "@effect/vitest"
import { CLIENT_ORDER_ID_LENGTH, clientOrderId, clientOrderIdLength } from "../../../src/programs/run/ids.ts"

const RUN = "20261122T034512-k3f9"
const LONG = "VANGUARD.TOTAL.STOCK.MARKET.INDEX.FUND.ETF.SHARES.CLASS-A"
const buy = (symbol: string) => ({ phase: "buy", side: "buy", symbol }) as const

describe("clientOrderIdLength", () => {
  it("is 48 where the venue allows more, and the venue's limit where it allows less", () => {
    expect(CLIENT_ORDER_ID_LENGTH).toBe(48)
    expect(clientOrderIdLength({ clientOrderIdLength: 128 })).toBe(48)
    expect(clientOrderIdLength({ clientOrderIdLength: 48 })).toBe(48)
    expect(clientOrderIdLength({ clientOrderIdLength: 20 })).toBe(20)
  })
})

describe("clientOrderId", () => {
  it("at 48: run id, phase and side, and the symbol as it is when it fits", () => {
    expect(clientOrderId(RUN, buy("VTI"), 48)).toBe("20261122T034512-k3f9-bb-VTI")
    expect(clientOrderId(RUN, { phase: "sell", side: "sell", symbol: "BRK.B" }, 48)).toBe(
      "20261122T034512-k3f9-ss-BRK.B"
    )
  })

  it("at 48: a changed or cut symbol is followed by a digest of the original", () => {
    const changed = clientOrderId(RUN, buy("BRK B"), 48)
    expect(changed).toMatch(/^20261122T034512-k3f9-bb-BRK_B~[0-9a-z]{7}$/)
    expect(changed).not.toBe(clientOrderId(RUN, buy("BRK_B"), 48))
    const cut = clientOrderId(RUN, buy(LONG), 48)
    expect(cut).toHaveLength(48)
    expect(cut).toMatch(/^20261122T034512-k3f9-bb-VANGUARD\.TOTAL\.S~[0-9a-z]{7}$/)
    expect(cut).not.toBe(clientOrderId(RUN, buy(`${LONG}X`), 48))
  })

  it("at a venue's 20: every id fits, the same order gets the same id, and different orders different ids", () => {
    const runs = [RUN, "20261122T034512-k3fa", "20261122T034513-k3f9"]
    const orders = [
      buy("VTI"),
      buy("BND"),
      buy(LONG),
      buy("BRK B"),
      buy("BRK_B"),
      { phase: "sell", side: "sell", symbol: "VTI" },
      { phase: "buy", side: "sell", symbol: "VTI" }
    ] as const
    const ids = runs.flatMap((run) => orders.map((order) => clientOrderId(run, order, 20)))
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(20)
    expect(new Set(ids).size).toBe(ids.length)
    expect(clientOrderId(RUN, buy("VTI"), 20)).toBe(clientOrderId(RUN, buy("VTI"), 20))
    // The run id is cut, so the digest covers the whole id: runs that differ only past the cut differ.
    expect(clientOrderId(RUN, buy("VTI"), 20)).toMatch(/^20261122T034~[0-9a-z]{7}$/)
  })
})
