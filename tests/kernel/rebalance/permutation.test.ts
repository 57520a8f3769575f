/**
 * Order independence: the output is a function of the account, not of how its lists were
 * written down.
 */
import fc from "fast-check"
import { describe, it } from "vitest"
import type { RebalanceInput } from "../../../src/kernel/index.ts"
import { build, check, mixedArb, render, run } from "../helpers.ts"

/** The items re-ordered by the random keys (ties keep their order). */
const permute = <A>(items: ReadonlyArray<A>, keys: ReadonlyArray<number>): Array<A> =>
  items
    .map((item, i) => ({ item, key: keys[i % Math.max(1, keys.length)] ?? 0, i }))
    .sort((x, y) => x.key - y.key || x.i - y.i)
    .map((x) => x.item)

interface Layout {
  readonly keys: ReadonlyArray<ReadonlyArray<number>>
  /** Map form instead of list form, per list (positions, quotes, targets). */
  readonly maps: ReadonlyArray<boolean>
  /** Surrounding whitespace added to every symbol (trimmed by the kernel). */
  readonly pad: ReadonlyArray<string>
}

const layoutArb: fc.Arbitrary<Layout> = fc.record({
  keys: fc.array(fc.array(fc.nat(1000), { minLength: 16, maxLength: 16 }), { minLength: 5, maxLength: 5 }),
  maps: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  pad: fc.array(fc.constantFrom("", " ", "\t", "  "), { minLength: 16, maxLength: 16 })
})

type Row = { readonly symbol: string } & Record<string, unknown>

/** The same account written down differently. */
const relayout = (input: RebalanceInput, layout: Layout): RebalanceInput => {
  let n = 0
  const pads = new Map<string, string>()
  const padded = (symbol: string): string => {
    if (!pads.has(symbol)) pads.set(symbol, layout.pad[n++ % layout.pad.length] ?? "")
    const p = pads.get(symbol)!
    return `${p}${symbol}${p}`
  }
  const snapshot = input.snapshot as { cash: string; positions: ReadonlyArray<Row>; quotes: ReadonlyArray<Row> }
  const policy = input.policy as Record<string, unknown>
  const form = (rows: ReadonlyArray<Row>, keys: ReadonlyArray<number>, map: boolean, value?: string): unknown => {
    const shuffled = permute(rows, keys).map((row) => ({ ...row, symbol: padded(row.symbol) }))
    if (!map) return shuffled
    return Object.fromEntries(
      shuffled.map((
        { symbol, ...rest }
      ) => [symbol, value === undefined ? rest : (rest as Record<string, unknown>)[value]])
    )
  }
  const out: Record<string, unknown> = { ...policy }
  if (policy["exclude"] !== undefined) {
    out["exclude"] = permute(policy["exclude"] as ReadonlyArray<string>, layout.keys[3]!).map(padded)
  }
  if (policy["lotSizes"] !== undefined) {
    const lots = Object.entries(policy["lotSizes"] as Record<string, string>)
    out["lotSizes"] = Object.fromEntries(permute(lots, layout.keys[4]!).map(([s, lot]) => [padded(s), lot]))
  }
  return {
    snapshot: {
      cash: snapshot.cash,
      positions: form(snapshot.positions, layout.keys[0]!, layout.maps[0]!, "quantity"),
      quotes: form(snapshot.quotes, layout.keys[1]!, layout.maps[1]!)
    },
    targets: form(input.targets as ReadonlyArray<Row>, layout.keys[2]!, layout.maps[2]!, "weight"),
    policy: out
  }
}

describe("order independence", () => {
  it("6. shuffling positions, quotes, targets, exclusions and lots (list or map form, padded symbols) changes nothing", () => {
    // Invariant: the whole output (plan totals, lines, deltas, orders, skipped reasons, cash,
    // warnings) is identical however the input lists are ordered, whichever of the list and
    // map forms is used, and whatever whitespace surrounds the symbols.
    fc.assert(
      fc.property(mixedArb(), layoutArb, (s, layout) => {
        const input = build(s)
        const expected = render(run(input))
        const actual = render(run(relayout(input, layout)))
        check(actual === expected, () => `output changed:\n${expected}\n${actual}`)
      }),
      { numRuns: 1000 }
    )
  })
})
