/**
 * Allocation examples: the box around the nearest step, the cash line, the budget, and
 * trimming. The regression cases were kernel bugs, since fixed.
 */
import { describe, expect, it } from "vitest"
import { format } from "../../../src/kernel/index.ts"
import { dec, flat, orderRows, run, warningRows } from "../helpers.ts"

describe("whole-share allocation", () => {
  it("chooses within one step of the nearest step, counting the cash line", () => {
    // Targets 300 each: A 300 / 70 = 4.29 shares, B 300 / 110 = 2.73 (boxes A 3..5, B 2..4).
    // A 4 + B 3 = 610 does not fit 600. A 4 + B 2 = 500 has errors (−20)² + (−80)² + 100²
    // (cash) = 16,800; A 3 + B 3 = 540: 90² + 30² + 60² = 12,600; A 5 + B 2 = 570:
    // 50² + (−80)² + 30² = 9,800, the least.
    const r = run({ snapshot: { cash: "600", quotes: flat({ A: "70", B: "110" }) }, targets: { A: "0.5", B: "0.5" } })
    expect(orderRows(r)).toEqual([
      ["buy", "A", "5", "70", "350"],
      ["buy", "B", "2", "110", "220"]
    ])
    expect(format(r.orders.cash.after)).toBe("30")
    expect(r.warnings).toEqual([])
  })

  // Regression: exhaustive() only tried combinations costing at most budget − 1e-9 × budget,
  // so one that spends the budget exactly was never chosen: this bought nothing.
  it("buys a share that costs exactly the cash there is", () => {
    const r = run({ snapshot: { cash: "100", quotes: flat({ A: "100" }) }, targets: { A: "1" } })
    expect(orderRows(r)).toEqual([["buy", "A", "1", "100", "100"]])
  })

  // Regression: the same; this bought only B, leaving 50 in cash.
  it("spends the whole budget when two shares fit it exactly", () => {
    const r = run({ snapshot: { cash: "100", quotes: flat({ A: "50", B: "50" }) }, targets: { A: "0.5", B: "0.5" } })
    expect(orderRows(r)).toEqual([
      ["buy", "A", "1", "50", "50"],
      ["buy", "B", "1", "50", "50"]
    ])
  })

  // Regression: after trimming, the exhaustive box was start ± 1, so cash that buys more
  // under-target steps was left. H is bid 1 / ask 4.01 (valued 2.505); floors (2 A, 2 H =
  // 10.02) exceed 8: the kernel bought 2 A + 1 H and left 1.99; 3 A + 1 H leaves 0.99 and has
  // the lower error (9.09 vs 12.40).
  it("after trimming, does not leave cash that buys another under-target share", () => {
    const r = run({
      snapshot: { cash: "8", quotes: { A: { bid: "1", ask: "1" }, H: { bid: "1", ask: "4.01" } } },
      targets: { A: "0.333334", H: "0.666666" }
    })
    expect(orderRows(r)).toEqual([
      ["buy", "A", "3", "1", "3"],
      ["buy", "H", "1", "4.01", "4.01"]
    ])
    expect(warningRows(r)).toEqual([["BUYS_TRIMMED", ""]])
  })

  // Regression: with more than 8 buys, sweep() enumerated one move per step from the trimmed
  // start to round(ideal) + 1: 10 buys at 0.01 with 20,000 in cash took ~0.8 s and ~400 MB,
  // 1,000,000 exhausted a 4 GB heap. It now answers in a few ms.
  it("trims many cheap buys in bounded time", () => {
    const quotes: Record<string, { bid: string; ask: string }> = { X: { bid: "1", ask: "1" } }
    const targets: Record<string, string> = {}
    for (let i = 0; i < 10; i++) {
      quotes[`S${i}`] = { bid: "0.01", ask: "0.01" }
      targets[`S${i}`] = "0.1"
    }
    const r = run({
      snapshot: { cash: "20000", positions: { X: "20000" }, quotes },
      targets,
      policy: { exclude: ["X"] }
    })
    expect(warningRows(r)).toEqual([["BUYS_TRIMMED", ""]])
    // Every cent spent: 10 buys of 200,000 shares at 0.01.
    expect(format(r.orders.cash.after)).toBe("0")
  })
})

describe("whole-share allocation: trimmed leftovers", () => {
  // Regression (a kernel bug, fixed): after trimming, sweep() listed one move per step the
  // leftover cash could pay for and topUp() added one step at a time, so time and memory grew
  // with leftover ÷ the cheapest step (A at 0.0001 next to B at 53,333.33 exhausted a 4 GB
  // heap). The leftover is now handed out in bulk first.
  it("trims a cheap and an expensive buy in bounded time", () => {
    const r = run({
      snapshot: { cash: "1000000", positions: { X: "1000000" }, quotes: flat({ X: "1", A: "0.001", B: "5333.33" }) },
      targets: { A: "0.5", B: "0.5" },
      policy: { exclude: ["X"] }
    })
    expect(warningRows(r)).toEqual([["BUYS_TRIMMED", ""]])
    expect(r.orders.cash.after.lt(dec("0.001"))).toBe(true)
  })
})

describe("fractional allocation", () => {
  it("trims pro rata on the ideal quantities, then hands the rest out by largest remainder", () => {
    // Cash 10, X 10 × 1 excluded (equity 20): A at 1 wants 11, B at 3 wants 9 (3 shares).
    // Half of what each wants: A 5.5 → 5, B 1.5 → 1 (8 spent). Remainders tie at 0.5, A
    // first: A 6; B's next share (3) does not fit the 1 left, so A takes it: A 7, B 1.
    const r = run({
      snapshot: { cash: "10", positions: { X: "10" }, quotes: flat({ X: "1", A: "1", B: "3" }) },
      targets: { A: "0.55", B: "0.45" },
      policy: { shares: "fractional", quantityDecimals: 0, exclude: ["X"] }
    })
    expect(orderRows(r)).toEqual([
      ["buy", "A", "7", "1", "7"],
      ["buy", "B", "1", "3", "3"]
    ])
    expect(format(r.orders.cash.after)).toBe("0")
    expect(warningRows(r)).toEqual([["BUYS_TRIMMED", ""]])
  })

  // Regression (kernel bug fixed in ab0f766): an untrimmed fractional buy was floor(ideal)
  // with the ideal estimated in doubles (0.3 ÷ 0.1 = 2.9999999999999996): it bought 2.
  it("buys the exact number of steps a target is worth", () => {
    const r = run({
      snapshot: { cash: "0.3", quotes: flat({ A: "0.1" }) },
      targets: { A: "1" },
      policy: { shares: "fractional", quantityDecimals: 0 }
    })
    expect(orderRows(r)).toEqual([["buy", "A", "3", "0.1", "0.3"]])
  })

  // Regression (kernel bug fixed in ab0f766): largestRemainders() topped up only buys with a
  // positive remainder; A's pro-rata share is exactly 5 (remainder 0), so the 1 left stayed idle.
  it("gives cash left by trimming to a buy whose share fell on a whole step", () => {
    const r = run({
      snapshot: { cash: "10", positions: { X: "10" }, quotes: flat({ X: "1", A: "1", B: "4" }) },
      targets: { A: "0.5", B: "0.5" },
      policy: { shares: "fractional", quantityDecimals: 0, exclude: ["X"] }
    })
    expect(orderRows(r)).toEqual([
      ["buy", "A", "6", "1", "6"],
      ["buy", "B", "1", "4", "4"]
    ])
  })

  // Regression (kernel bug fixed in ab0f766): the final fill took floor((budget − spent) ÷ step
  // cost) in doubles: (1 − 0.9) ÷ 0.1 = 0.9999999999999998 → 0, leaving one step's cash idle.
  it("spends the last step's worth of cash after trimming", () => {
    const r = run({
      snapshot: { cash: "1", positions: { X: "1.641" }, quotes: flat({ X: "1", C: "1", G: "4" }) },
      targets: { C: "0.492308", G: "0.507692" },
      policy: { shares: "fractional", quantityDecimals: 1, exclude: ["X"] }
    })
    expect(orderRows(r)).toEqual([
      ["buy", "C", "0.6", "1", "0.6"],
      ["buy", "G", "0.1", "4", "0.4"]
    ])
  })
})
