/**
 * Drift: the largest |weight − target weight| at the plan's prices, before, as planned and as
 * held later. Worked by hand: equity 10,000 (cash 4,000, 60 of A at 100), targets A 0.5, B 0.4.
 */
import * as Result from "effect/Result"
import { describe, expect, it } from "vitest"
import { heldAsPlanned, heldAtStart, heldIn, largestDrift } from "../../../src/kernel/rebalance/drift.ts"
import { rebalance } from "../../../src/kernel/rebalance/rebalance.ts"
import { dec } from "../helpers.ts"

const planned = rebalance({
  snapshot: {
    cash: "4000",
    positions: [{ symbol: "A", quantity: "60" }],
    quotes: [{ symbol: "A", bid: "100", ask: "100" }, { symbol: "B", bid: "50", ask: "50" }]
  },
  targets: { A: "0.5", B: "0.4" }
})
if (Result.isFailure(planned)) throw new Error("the example must plan")
const plan = planned.success

describe("largestDrift", () => {
  it("is the largest gap at the start: A at 0.6 against 0.5, B at 0 against 0.4", () => {
    expect(largestDrift(plan, heldAtStart(plan)).eq(dec("0.4"))).toBe(true)
  })

  it("as planned: A sold to 50, B bought to 80, so no gap is left", () => {
    expect(largestDrift(plan, heldAsPlanned(plan)).eq(dec("0"))).toBe(true)
  })

  it("as later held, at the plan's prices: 55 A and 70 B with 1,000 cash is 0.55 − 0.5 and 0.4 − 0.35", () => {
    const held = heldIn(dec("1000"), [{ symbol: "A", quantity: dec("55") }, { symbol: "B", quantity: dec("70") }])
    expect(largestDrift(plan, held).eq(dec("0.05"))).toBe(true)
  })

  it("is zero for an account with nothing in it", () => {
    expect(largestDrift(plan, heldIn(dec("0"), [])).eq(dec("0"))).toBe(true)
  })
})
