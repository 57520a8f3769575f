/**
 * The plan document from a kernel rebalance: unknown values null, attribution keys only for
 * targets that carry attribution, the same document stored on one line and printed indented.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import { rebalance } from "../../../src/kernel/rebalance/rebalance.ts"
import { printed } from "../../../src/programs/documents/document.ts"
import { PlanDocument, planDocument, storedPlan } from "../../../src/programs/documents/plan.ts"

describe("the plan document", () => {
  const snapshot = {
    cash: "1000",
    positions: [{ symbol: "OLD", quantity: "3" }],
    quotes: [{ symbol: "A", bid: "9.9", ask: "10.1" }, { symbol: "B", last: "20" }]
  }
  const planOf = (targets: unknown) => {
    const result = rebalance({ snapshot, targets, policy: { shares: "whole" } })
    if (Result.isFailure(result)) throw new Error(result.failure.message)
    return result.success
  }

  it("gives a holding without a price null for its price, value and weight; plain targets no attribution keys", () => {
    const doc = Schema.encodeSync(PlanDocument)(planDocument(planOf({ A: "0.5", B: "0.4" })))
    const old = doc.plan.find((l) => l.symbol === "OLD")
    expect(old).toMatchObject({ price: null, value: null, weight: null })
    expect(Object.keys(old ?? {})).toEqual([
      "symbol",
      "quantity",
      "price",
      "value",
      "weight",
      "targetWeight",
      "targetQuantity",
      "finalQuantity",
      "action",
      "reason"
    ])
    for (const o of doc.orders) {
      expect(Object.keys(o)).toEqual(["symbol", "side", "quantity", "price", "value", "phase"])
    }
  })

  it("with attribution, each line and order says its primary strategy and every strategy's part", () => {
    const targets = [
      {
        symbol: "A",
        weight: "0.5",
        attribution: [{ strategy: "core", weight: "0.3" }, { strategy: "x", weight: "0.2" }]
      },
      { symbol: "B", weight: "0.4", attribution: [{ strategy: "x", weight: "0.4" }] }
    ]
    const doc = Schema.encodeSync(PlanDocument)(planDocument(planOf(targets)))
    expect(doc.orders.find((o) => o.symbol === "A")).toMatchObject({
      strategy: "core",
      attribution: [{ strategy: "core", weight: "0.3" }, { strategy: "x", weight: "0.2" }]
    })
    expect(doc.plan.find((l) => l.symbol === "B")).toMatchObject({ strategy: "x" })
  })

  it("is stored as the same document on one line, and printed indented by two spaces", () => {
    const result = planOf({ A: "0.5", B: "0.4" })
    const stored = storedPlan(result)
    expect(stored).not.toContain("\n")
    const text = printed(PlanDocument)(planDocument(result))
    expect(text.startsWith("{\n  \"equity\": \"1000\",")).toBe(true)
    expect(JSON.parse(text)).toEqual(JSON.parse(stored))
  })
})
