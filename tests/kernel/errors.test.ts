/**
 * Invalid input: one InvalidInput naming the input (source), the place (path), the value
 * and what was expected; the first problem found wins.
 */
import { describe, expect, it } from "vitest"
import { CASH, format, MAX_SYMBOL_LENGTH, NO_TARGETS, type RebalanceInput } from "../../src/kernel/index.ts"
import { failure, flat, run } from "./helpers.ts"

const snapshot = { cash: "1000", positions: { A: "1" }, quotes: flat({ A: "10", B: "20" }) }

/** [source, path, value] of the failure. */
const where = (input: RebalanceInput): [string, string, string] => {
  const f = failure(input)
  return [f.source, f.path, f.value]
}

describe("invalid targets", () => {
  it("a negative weight", () => {
    expect(where({ snapshot, targets: { A: "-0.1" } })).toEqual(["targets", "A", "\"-0.1\""])
    expect(failure({ snapshot, targets: { A: "-0.1" } }).expected).toBe("a fraction between 0 and 1")
  })

  it("a NaN weight (list form)", () => {
    expect(where({ snapshot, targets: [{ symbol: "A", weight: Number.NaN }] })).toEqual([
      "targets",
      "[0].weight",
      "NaN"
    ])
  })

  it("a non-numeric weight", () => {
    expect(where({ snapshot, targets: { A: "0.1", B: "ten percent" } })).toEqual(["targets", "B", "\"ten percent\""])
    expect(where({ snapshot, targets: { A: "1e999" } })).toEqual(["targets", "A", "\"1e999\""])
    expect(where({ snapshot, targets: { A: null } })).toEqual(["targets", "A", "null"])
  })

  it("a single weight above 1", () => {
    expect(where({ snapshot, targets: { A: "1.0000000001" } })).toEqual(["targets", "A", "\"1.0000000001\""])
  })

  it("weights summing above 1 beyond 1e-9 are invalid; 1 + 1e-10 is accepted", () => {
    expect(where({ snapshot, targets: { A: "0.6", B: "0.4000000011" } })).toEqual([
      "targets",
      "sum of weights",
      "\"1.0000000011\""
    ])
    const f = failure({ snapshot, targets: { A: "0.6", B: "0.4000000011" } })
    expect(f.message).toBe(
      "targets: sum of weights: expected weights that sum to at most 1 (tolerance 0.000000001), got \"1.0000000011\""
    )
    const r = run({ snapshot, targets: { A: "0.6", B: "0.4000000001" } })
    expect(format(r.plan.cashTarget)).toBe("0")
    expect(r.lines.map((l) => format(l.line.targetWeight))).toEqual(["0.6", "0.4000000001"])
  })

  it("a duplicate symbol, including one that differs only by surrounding spaces", () => {
    expect(where({ snapshot, targets: [{ symbol: "AAPL", weight: "0.1" }, { symbol: " AAPL", weight: "0.1" }] }))
      .toEqual(["targets", "[1].symbol", "\" AAPL\""])
    // A key that does not read plainly is quoted in the path.
    expect(where({ snapshot, targets: { AAPL: "0.1", "AAPL ": "0.1" } })).toEqual([
      "targets",
      "[\"AAPL \"]",
      "\"AAPL \""
    ])
    // Case matters: these are two symbols.
    expect(run({ snapshot, targets: { AAPL: "0.1", aapl: "0.1" } }).lines.map((l) => l.line.symbol)).toEqual([
      "A",
      "AAPL",
      "aapl"
    ])
  })

  it("an empty symbol", () => {
    expect(where({ snapshot, targets: [{ symbol: "  ", weight: "0.1" }] })).toEqual(["targets", "[0].symbol", "\"  \""])
    expect(where({ snapshot, targets: [{ weight: "0.1" }] })).toEqual(["targets", "[0].symbol", "nothing"])
  })

  it("a target on an excluded symbol", () => {
    expect(where({ snapshot, targets: [{ symbol: "B", weight: "0.1" }], policy: { exclude: ["B"] } })).toEqual([
      "targets",
      "[0].symbol",
      "\"B\""
    ])
  })

  it("targets that are neither a list nor a map", () => {
    expect(where({ snapshot, targets: "A=1" })).toEqual(["targets", "", "\"A=1\""])
    expect(failure({ snapshot, targets: 5 }).message).toBe(
      "targets: expected a list of { symbol, … } or a map from symbol to value, got 5"
    )
  })
})

describe("invalid snapshot", () => {
  it("a negative quantity", () => {
    expect(where({ snapshot: { ...snapshot, positions: { A: "-1" } }, targets: { "$CASH": "1" } })).toEqual([
      "snapshot",
      "positions.A",
      "\"-1\""
    ])
    expect(where({ snapshot: { ...snapshot, positions: [{ symbol: "A", quantity: -1 }] }, targets: { "$CASH": "1" } }))
      .toEqual([
        "snapshot",
        "positions[0].quantity",
        "-1"
      ])
  })

  it("negative, missing or malformed cash", () => {
    expect(where({ snapshot: { ...snapshot, cash: "-1" }, targets: { "$CASH": "1" } })).toEqual([
      "snapshot",
      "cash",
      "\"-1\""
    ])
    expect(where({ snapshot: { positions: {} }, targets: { "$CASH": "1" } })).toEqual(["snapshot", "cash", "nothing"])
    expect(where({ snapshot: { cash: Number.POSITIVE_INFINITY }, targets: { "$CASH": "1" } })).toEqual([
      "snapshot",
      "cash",
      "Infinity"
    ])
    expect(failure({ snapshot: { cash: "1e15" }, targets: { "$CASH": "1" } }).expected).toBe(
      "a non-negative decimal with at most 15 integer digits and 20 decimal places"
    )
  })

  it("a duplicate position, including one that differs only by surrounding spaces", () => {
    expect(
      where({
        snapshot: { ...snapshot, positions: [{ symbol: "AAPL", quantity: 1 }, { symbol: " AAPL", quantity: 2 }] },
        targets: { "$CASH": "1" }
      })
    ).toEqual([
      "snapshot",
      "positions[1].symbol",
      "\" AAPL\""
    ])
  })

  it("a negative price, a duplicate quote, a quote that is not an object", () => {
    expect(where({ snapshot: { cash: "1", quotes: { A: { bid: "-1" } } }, targets: { "$CASH": "1" } })).toEqual([
      "snapshot",
      "quotes.A.bid",
      "\"-1\""
    ])
    expect(
      where({
        snapshot: { cash: "1", quotes: [{ symbol: "A", last: 1 }, { symbol: "A ", last: 2 }] },
        targets: { "$CASH": "1" }
      })
    ).toEqual(["snapshot", "quotes[1].symbol", "\"A \""])
    expect(where({ snapshot: { cash: "1", quotes: { A: 10 } }, targets: { "$CASH": "1" } })).toEqual([
      "snapshot",
      "quotes.A",
      "10"
    ])
  })

  it("a snapshot that is not an object", () => {
    expect(where({ snapshot: [], targets: { "$CASH": "1" } })).toEqual(["snapshot", "", "a list"])
  })
})

describe("targets that say nothing, and all cash said explicitly", () => {
  it("no entry at all (a map or a list) is refused, never read as all cash", () => {
    for (const targets of [{}, []]) {
      const f = failure({ snapshot, targets })
      expect([f.source, f.path, f.value, f.expected]).toEqual(["targets", "", "none", NO_TARGETS])
    }
  })

  it("$CASH: 1 is all cash: every holding is sold and the cash target is the whole equity", () => {
    const r = run({ snapshot, targets: { [CASH]: "1" } })
    expect(r.orders.orders.map((o) => [o.side, o.symbol, format(o.quantity)])).toEqual([["sell", "A", "1"]])
    expect([format(r.plan.cashTarget), r.lines.map((l) => format(l.line.targetWeight))]).toEqual(["1010", ["0"]])
  })

  it("$CASH counts in the sum like any weight, and is never a position", () => {
    expect(where({ snapshot, targets: { A: "0.6", [CASH]: "0.5" } })).toEqual(["targets", "sum of weights", "\"1.1\""])
    const r = run({ snapshot, targets: [{ symbol: "A", weight: "0.5" }, { symbol: CASH, weight: "0.5" }] })
    expect(r.lines.map((l) => l.line.symbol)).toEqual(["A"])
    expect(format(r.plan.cashTarget)).toBe("505")
  })
})

describe("symbols that are not symbols", () => {
  const symbolIn = (symbol: string): [string, string, string] => where({ snapshot, targets: { [symbol]: "0.1" } })
  it.each([
    ["NUL", "A\u0000B", "\"A\\u0000B\""],
    ["a tab", "A\tB", "\"A\\tB\""],
    ["a line break", "A\nB", "\"A\\nB\""],
    ["DEL", "A\u007fB", "\"A\\u007fB\""],
    ["a right-to-left override", "A\u202eB", "\"A\\u202eB\""],
    ["a zero-width space", "A\u200bB", "\"A\\u200bB\""],
    ["a lone surrogate", "A\ud800B", "\"A\\ud800B\""]
  ])("%s inside a symbol is refused", (_name, symbol, shown) => {
    const [source, , value] = symbolIn(symbol)
    expect([source, value]).toEqual(["targets", shown])
  })

  it(`a symbol of more than ${MAX_SYMBOL_LENGTH} characters is refused, and cut in the message`, () => {
    expect(run({ snapshot, targets: { ["X".repeat(MAX_SYMBOL_LENGTH)]: "0.1" } }).lines.length).toBe(2)
    const f = failure({ snapshot, targets: { ["X".repeat(10_000)]: "0.1" } })
    expect(f.message.length).toBeLessThan(300)
    expect(f.expected).toContain(`1 to ${MAX_SYMBOL_LENGTH} characters`)
  })

  it("the same rule holds in positions, quotes and the policy", () => {
    expect(where({ snapshot: { cash: "1", positions: { "A\nB": "1" } }, targets: { A: "1" } })[1]).toBe(
      "positions[\"A\\nB\"]"
    )
    expect(where({ snapshot: { cash: "1", quotes: [{ symbol: "A\u0000" }] }, targets: { A: "1" } })[1]).toBe(
      "quotes[0].symbol"
    )
    expect(where({ snapshot, targets: { A: "1" }, policy: { exclude: ["B\tC"] } })[1]).toBe("exclude[0]")
  })
})

describe("positions and quotes are read strictly", () => {
  it.each([
    ["a short side", { positions: [{ symbol: "A", quantity: "1", side: "short" }] }, "positions[0].side"],
    ["a misspelt field", { positions: [{ symbol: "A", qty: "1" }] }, "positions[0].qty"],
    ["a capitalised price", { quotes: [{ symbol: "A", Bid: "1" }] }, "quotes[0].Bid"],
    ["a price field", { quotes: { A: { price: "1" } } }, "quotes.A.price"],
    ["a side on a quote", { quotes: { A: { bid: "1", side: "buy" } } }, "quotes.A.side"]
  ])("%s is refused, naming the field", (_name, fields, path) => {
    expect(where({ snapshot: { cash: "1", ...fields }, targets: { A: "1" } }).slice(0, 2)).toEqual(["snapshot", path])
  })

  it("a negative quantity is a short position: refused, never read as long", () => {
    const f = failure({ snapshot: { cash: "1", positions: [{ symbol: "A", quantity: "-3" }] }, targets: { A: "1" } })
    expect([f.path, f.expected]).toEqual(["positions[0].quantity", "a quantity of at least 0 (long positions only)"])
  })
})

describe("invalid policy", () => {
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ["shares", "half", "\"half\""],
    ["quantityDecimals", 10, "10"],
    ["quantityDecimals", -1, "-1"],
    ["quantityDecimals", 1.5, "1.5"],
    ["quantityDecimals", "2", "\"2\""],
    ["cashReserve", "1", "\"1\""],
    ["cashReserve", "-0.1", "\"-0.1\""],
    ["minCash", "-1", "\"-1\""],
    ["driftBand", "1.5", "\"1.5\""],
    ["driftBand", "-0.01", "\"-0.01\""],
    ["relativeDriftBand", "-0.1", "\"-0.1\""],
    ["minOrderValue", "-1", "\"-1\""],
    ["mode", "hold", "\"hold\""],
    ["liquidateUntargeted", "yes", "\"yes\""],
    ["exclude", "A", "\"A\""],
    ["buyPriceBuffer", "1", "\"1\""],
    ["buyPriceBuffer", "-0.01", "\"-0.01\""],
    ["weightTolerance", "0.002", "\"0.002\""],
    ["weightTolerance", "-1e-9", "\"-1e-9\""]
  ]
  it.each(cases)("%s = %j is out of range", (field, value, shown) => {
    expect(where({ snapshot, targets: { "$CASH": "1" }, policy: { [field]: value } })).toEqual(["policy", field, shown])
  })

  it("lot sizes must be whole and at least 1", () => {
    expect(where({ snapshot, targets: { "$CASH": "1" }, policy: { lotSizes: { A: 0 } } })).toEqual([
      "policy",
      "lotSizes.A",
      "0"
    ])
    expect(where({ snapshot, targets: { "$CASH": "1" }, policy: { lotSizes: { A: "1.5" } } })).toEqual([
      "policy",
      "lotSizes.A",
      "\"1.5\""
    ])
    expect(where({ snapshot, targets: { "$CASH": "1" }, policy: { lotSizes: { A: -10 } } })).toEqual([
      "policy",
      "lotSizes.A",
      "-10"
    ])
    expect(where({ snapshot, targets: { "$CASH": "1" }, policy: { lotSizes: [{ symbol: "A", lotSize: "0.5" }] } }))
      .toEqual([
        "policy",
        "lotSizes[0].lotSize",
        "\"0.5\""
      ])
  })

  it("an empty symbol in exclude", () => {
    expect(where({ snapshot, targets: { "$CASH": "1" }, policy: { exclude: ["A", " "] } })).toEqual([
      "policy",
      "exclude[1]",
      "\" \""
    ])
  })

  it("an unknown policy field (a typo must not pass silently)", () => {
    const f = failure({ snapshot, targets: { "$CASH": "1" }, policy: { driftband: "0.05" } })
    expect([f.source, f.path, f.value]).toEqual(["policy", "driftband", "\"driftband\""])
    expect(f.expected).toContain("driftBand")
  })

  it("a policy that is not an object", () => {
    expect(where({ snapshot, targets: { "$CASH": "1" }, policy: "whole" })).toEqual(["policy", "", "\"whole\""])
  })
})

describe("error messages", () => {
  it("are one line naming the source, path, expectation and value", () => {
    expect(failure({ snapshot: { cash: "1", positions: { AAPL: "-2" } }, targets: { "$CASH": "1" } }).message).toBe(
      "snapshot: positions.AAPL: expected a quantity of at least 0 (long positions only), got \"-2\""
    )
  })

  // Regression (kernel bug fixed in 364ca10): keys went into the path as written, so a key
  // with a line break made a two-line message and an empty key an empty path.
  it("stay on one line when a key contains a line break (the key is quoted)", () => {
    const f = failure({ snapshot: { cash: "1" }, targets: { "A\nB": "-1" } })
    expect(f.message).not.toMatch(/[\n\r]/)
    expect(f.path).toBe("[\"A\\nB\"]")
    const g = failure({ snapshot: { cash: "1" }, targets: { "$CASH": "1" }, policy: { "mode\r": "full" } })
    expect(g.message).not.toMatch(/[\n\r]/)
  })

  // Regression (kernel bug fixed in ab0f766): paths and values were quoted with JSON.stringify,
  // which leaves U+2028 / U+2029 (line and paragraph separators) as they are.
  it("stay on one line when a key or value contains U+2028 or U+2029", () => {
    expect(failure({ snapshot: { cash: "1" }, targets: { "A\u2028B": "-1" } }).message).not.toMatch(/[\u2028\u2029]/)
    expect(failure({ snapshot: { cash: "1\u2029" }, targets: { "$CASH": "1" } }).message).not.toMatch(/[\u2028\u2029]/)
  })

  it("name a non-empty path for an entry whose key is empty", () => {
    expect(failure({ snapshot: { cash: "1" }, targets: { "": "0.1" } }).path).toBe("[\"\"]")
    expect(failure({ snapshot: { cash: "1" }, targets: { "$CASH": "1" }, policy: { "": 1 } }).path).toBe("[\"\"]")
    expect(failure({ snapshot: { cash: "1", positions: { "": 1 } }, targets: { "$CASH": "1" } }).path).toBe(
      "positions[\"\"]"
    )
  })
})

describe("valid oddities", () => {
  it("JSON numbers are read through their shortest text; padded and signed decimal text is accepted", () => {
    const r = run({
      snapshot: {
        cash: 0.3,
        positions: [{ symbol: " A ", quantity: "+2" }],
        quotes: { A: { bid: 0.1, ask: " 0.2 " } }
      },
      targets: { A: 0.1 },
      policy: { shares: "fractional", quantityDecimals: 2 }
    })
    // Equity 0.3 + 2 × 0.15 = 0.6 exactly (no binary rounding).
    expect(format(r.plan.equity)).toBe("0.6")
    expect(format(r.lines[0]!.line.targetValue)).toBe("0.06")
  })
})
