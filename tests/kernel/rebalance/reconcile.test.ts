/**
 * Reconcile: start positions + a run's fills against the broker's final positions. Examples
 * first, then the invariants as properties: exact fills never disagree, one changed final
 * quantity is reported once with both sides, and the order of the orders is irrelevant.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type Decimal, format, isZero } from "../../../src/kernel/decimal.ts"
import type { Side } from "../../../src/kernel/rebalance/deltas.ts"
import {
  type Discrepancy,
  type Filled,
  filledBySymbol,
  heldAfterFills,
  reconcile
} from "../../../src/kernel/rebalance/reconcile.ts"
import type { Position } from "../../../src/kernel/rebalance/snapshot.ts"
import { dec, scaled } from "../helpers.ts"

const RUNS = { numRuns: 1000 }

const position = (symbol: string, quantity: string): Position => ({ symbol, quantity: dec(quantity) })
const filled = (side: Side, symbol: string, quantity: string): Filled => ({
  side,
  symbol,
  filledQuantity: dec(quantity)
})

/** Decimals as text, so results compare by exact value whatever the notation. */
const shown = (m: ReadonlyMap<string, Decimal>) => [...m].map(([s, q]) => [s, format(q)] as const)
const rows = (ds: ReadonlyArray<Discrepancy>) => ds.map((d) => [d.symbol, format(d.expected), format(d.actual)])

describe("filledBySymbol", () => {
  it("sums each symbol's fills, buys positive and sells negative; unfilled orders add nothing", () => {
    const fills = [
      filled("buy", "VTI", "10"),
      filled("sell", "BND", "4.5"),
      filled("buy", "VTI", "2.25"),
      filled("sell", "VTI", "1"),
      filled("buy", "GLD", "0")
    ]
    expect(shown(filledBySymbol(fills))).toEqual([["VTI", "11.25"], ["BND", "-4.5"]])
    expect(shown(filledBySymbol([]))).toEqual([])
  })
})

describe("heldAfterFills", () => {
  it("applies the fills to the start positions; a symbol bought from nothing appears, one sold out is 0", () => {
    const start = [position("BND", "99"), position("VTI", "40")]
    const fills = [filled("sell", "VTI", "40"), filled("buy", "GLD", "3"), filled("buy", "BND", "1")]
    expect(shown(heldAfterFills(start, fills))).toEqual([["BND", "100"], ["VTI", "0"], ["GLD", "3"]])
  })
})

describe("reconcile", () => {
  it("finds nothing when the broker holds exactly start + fills (a symbol sold out may be absent)", () => {
    const start = [position("BND", "99"), position("VTI", "40")]
    const fills = [filled("sell", "VTI", "40"), filled("buy", "BND", "1")]
    expect(reconcile(start, fills, [position("BND", "100")])).toEqual([])
    expect(reconcile(start, fills, [position("BND", "100.00"), position("VTI", "0")])).toEqual([])
  })

  it("reports every differing symbol, sorted, with what the fills say and what the broker says", () => {
    const start = [position("VTI", "40")]
    const fills = [filled("sell", "VTI", "16"), filled("buy", "BND", "427")]
    const final = [position("VTI", "24"), position("BND", "426"), position("GLD", "1")]
    expect(rows(reconcile(start, fills, final))).toEqual([["BND", "427", "426"], ["GLD", "0", "1"]])
  })
})

// Properties: a small universe, so symbols collide across start, fills and final.
const SYMBOLS = ["A", "B", "C", "D", "E"]

const quantityArb = (min: number): fc.Arbitrary<Decimal> =>
  fc.tuple(fc.integer({ min, max: 1_000_000 }), fc.integer({ min: 0, max: 4 })).map(([units, places]) =>
    dec(scaled(units, places))
  )

const startArb: fc.Arbitrary<ReadonlyArray<Position>> = fc
  .uniqueArray(fc.constantFrom(...SYMBOLS), { maxLength: SYMBOLS.length })
  .chain((symbols) =>
    fc.tuple(...symbols.map((symbol) => quantityArb(1).map((quantity): Position => ({ symbol, quantity }))))
  )

const fillArb: fc.Arbitrary<Filled> = fc.record({
  side: fc.constantFrom<Side>("buy", "sell"),
  symbol: fc.constantFrom(...SYMBOLS),
  filledQuantity: quantityArb(0)
})

const fillsArb = fc.array(fillArb, { maxLength: 12 })

/** The oracle, written apart from the code under test: a symbol's start quantity plus its buys minus its sells. */
const expectedOf = (start: ReadonlyArray<Position>, fills: ReadonlyArray<Filled>, symbol: string): Decimal =>
  fills
    .filter((f) => f.symbol === symbol)
    .reduce(
      (held, f) => (f.side === "buy" ? held.plus(f.filledQuantity) : held.minus(f.filledQuantity)),
      start.find((p) => p.symbol === symbol)?.quantity ?? dec("0")
    )

/** The broker's positions when it agrees with the fills; a symbol at 0 is left out, as brokers do. */
const agreeing = (start: ReadonlyArray<Position>, fills: ReadonlyArray<Filled>): ReadonlyArray<Position> =>
  SYMBOLS.map((symbol) => ({ symbol, quantity: expectedOf(start, fills, symbol) })).filter((p) => !isZero(p.quantity))

/** The items re-ordered by the random keys. */
const permute = <A>(items: ReadonlyArray<A>, keys: ReadonlyArray<number>): Array<A> =>
  items
    .map((item, i) => ({ item, key: keys[i] ?? 0, i }))
    .sort((x, y) => x.key - y.key || x.i - y.i)
    .map((x) => x.item)

const keysArb = fc.array(fc.nat(1000), { minLength: 12, maxLength: 12 })

describe("reconcile (properties)", () => {
  it("start + exactly the fills against the matching final positions: nothing to report", () => {
    fc.assert(
      fc.property(startArb, fillsArb, (start, fills) => {
        expect(reconcile(start, fills, agreeing(start, fills))).toEqual([])
      }),
      RUNS
    )
  })

  it("any single changed final quantity is reported exactly once, with the expected and the actual quantity", () => {
    fc.assert(
      fc.property(
        startArb,
        fillsArb,
        fc.constantFrom(...SYMBOLS),
        quantityArb(1),
        fc.boolean(),
        (start, fills, symbol, change, up) => {
          const expected = expectedOf(start, fills, symbol)
          const actual = up ? expected.plus(change) : expected.minus(change)
          const final = [...agreeing(start, fills).filter((p) => p.symbol !== symbol), { symbol, quantity: actual }]
          expect(rows(reconcile(start, fills, final))).toEqual([[symbol, format(expected), format(actual)]])
        }
      ),
      RUNS
    )
  })

  it("the order of the orders does not matter (nor that of the positions)", () => {
    fc.assert(
      fc.property(startArb, fillsArb, startArb, keysArb, (start, fills, final, keys) => {
        const before = rows(reconcile(start, fills, final))
        expect(rows(reconcile(permute(start, keys), permute(fills, keys), permute(final, [...keys].reverse()))))
          .toEqual(before)
        expect(new Map(shown(filledBySymbol(permute(fills, keys))))).toEqual(new Map(shown(filledBySymbol(fills))))
      }),
      RUNS
    )
  })

  it("reports each symbol at most once, sorted, and only where the two sides differ", () => {
    fc.assert(
      fc.property(startArb, fillsArb, startArb, (start, fills, final) => {
        const found = reconcile(start, fills, final)
        const symbols = found.map((d) => d.symbol)
        expect(symbols).toEqual([...new Set(symbols)].sort())
        for (const d of found) expect(d.expected.eq(d.actual)).toBe(false)
      }),
      RUNS
    )
  })

  it("heldAfterFills: every symbol held or filled is start + its buys − its sells", () => {
    fc.assert(
      fc.property(startArb, fillsArb, (start, fills) => {
        const held = heldAfterFills(start, fills)
        for (const symbol of SYMBOLS) {
          const touched = start.some((p) => p.symbol === symbol) ||
            fills.some((f) => f.symbol === symbol && !isZero(f.filledQuantity))
          if (touched) expect(format(held.get(symbol)!)).toBe(format(expectedOf(start, fills, symbol)))
          else expect(held.has(symbol)).toBe(false)
        }
      }),
      RUNS
    )
  })

  it("filledBySymbol: each symbol's signed total is its buys minus its sells, and unfilled symbols are absent", () => {
    fc.assert(
      fc.property(fillsArb, (fills) => {
        const totals = filledBySymbol(fills)
        for (const symbol of SYMBOLS) {
          const own = fills.filter((f) => f.symbol === symbol)
          const net = expectedOf([], fills, symbol)
          if (own.every((f) => isZero(f.filledQuantity))) expect(totals.has(symbol)).toBe(false)
          else expect(format(totals.get(symbol)!)).toBe(format(net))
        }
      }),
      RUNS
    )
  })
})
