/**
 * Per-strategy paper P&L (src/kernel/pnl/strategyPnl.ts): worked examples, then properties over
 * random fill sequences. The reference for the unsplit books is the paper broker's own
 * `bookFill` (src/effects/broker/paper/ledger.ts), replayed here fill by fill.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { BookEntry } from "../../../src/effects/Broker.ts"
import { bookFill } from "../../../src/effects/broker/paper/ledger.ts"
import {
  apportionWithin,
  type AttributedFill,
  type Decimal,
  format,
  type Side,
  type StrategyPnl,
  strategyPnl
} from "../../../src/kernel/index.ts"
import { D0, dec, scaled } from "../helpers.ts"

const RUNS = { numRuns: 1000 }

type Weights = ReadonlyArray<readonly [string, string]>

const fill = (
  side: Side,
  symbol: string,
  quantity: string,
  price: string,
  commission: string,
  attribution: Weights = []
): AttributedFill => ({
  symbol,
  side,
  quantity: dec(quantity),
  price: dec(price),
  commission: dec(commission),
  attribution: attribution.map(([strategy, weight]) => ({ strategy, weight: dec(weight) }))
})

const prices = (map: Readonly<Record<string, string>>): ReadonlyMap<string, Decimal> =>
  new Map(Object.entries(map).map(([s, p]) => [s, dec(p)]))

/** Holdings as rows of text: strategy, symbol, quantity, cost basis, average cost, realized, unrealized. */
const rows = (r: StrategyPnl) =>
  r.holdings.map((h) => [
    h.strategy,
    h.symbol,
    format(h.quantity),
    format(h.costBasis),
    format(h.averageCost),
    format(h.realizedPnl),
    h.unrealizedPnl === undefined ? null : format(h.unrealizedPnl)
  ])

const check = (ok: boolean, message: () => string): void => {
  if (!ok) throw new Error(message())
}

describe("strategy P&L examples", () => {
  it("splits buys by attribution and sells by holdings, with exact average-cost P&L", () => {
    const r = strategyPnl(
      [
        // 10 @ 100 + 1 commission, attribution 0.3 : 0.2 → a 6 (cost 600.6), b 4 (cost 400.4).
        fill("buy", "X", "10", "100", "1", [["a", "0.3"], ["b", "0.2"]]),
        // 10 @ 110, all a: a 16 (basis 1700.6), b 4 (400.4); unsplit 20 at (1001 + 1100) / 20 = 105.05.
        fill("buy", "X", "10", "110", "0", [["a", "0.1"]]),
        // Sell 10 @ 120 − 0.5, attributed to b only: still split by holdings 16 : 4 → a 8, b 2;
        // commission 0.4 / 0.1; released bases 850.3 / 200.2 (= 10 × 105.05 together);
        // realized a 960 − 0.4 − 850.3 = 109.3, b 240 − 0.1 − 200.2 = 39.7 (together 149).
        fill("sell", "X", "10", "120", "0.5", [["b", "1"]])
      ],
      prices({ X: "130" })
    )
    expect(rows(r)).toEqual([
      // a: 8 × 130 = 1040 − 850.3 = 189.7; b: 2 × 130 = 260 − 200.2 = 59.8.
      ["a", "X", "8", "850.3", "106.2875", "109.3", "189.7"],
      ["b", "X", "2", "200.2", "100.1", "39.7", "59.8"]
    ])
    const [x] = r.symbols
    expect(
      x &&
        [
          format(x.quantity),
          format(x.averageCost),
          format(x.costBasis),
          format(x.realizedPnl),
          format(x.unmatchedQuantity)
        ]
    ).toEqual([
      "10",
      "105.05",
      "1050.5",
      "149",
      "0"
    ])
    expect(
      r.strategies.map((
        s
      ) => [
        s.strategy,
        format(s.costBasis),
        format(s.realizedPnl),
        s.value && format(s.value),
        s.unrealizedPnl && format(s.unrealizedPnl)
      ])
    ).toEqual([
      ["a", "850.3", "109.3", "1040", "189.7"],
      ["b", "200.2", "39.7", "260", "59.8"]
    ])
    expect(r.ignored).toEqual([])
  })

  it("credits a buy without attribution (or only zero weights) to the unattributed strategy", () => {
    const r = strategyPnl(
      [
        fill("buy", "X", "5", "10", "0"),
        fill("buy", "X", "5", "10", "0", [["a", "0"]]),
        fill("buy", "Y", "1", "3", "0", [["a", "0.5"]])
      ],
      new Map(),
      { unattributed: "manual" }
    )
    expect(rows(r)).toEqual([
      ["a", "Y", "1", "3", "3", "0", null],
      ["manual", "X", "10", "100", "10", "0", null]
    ])
    expect(strategyPnl([fill("buy", "X", "1", "1", "0")], new Map()).holdings[0]?.strategy).toBe("unattributed")
    // No price: no value and no unrealized P&L, for the holding and the strategy's totals.
    expect(r.strategies.map((s) => [s.strategy, s.value, s.unrealizedPnl])).toEqual([
      ["a", undefined, undefined],
      ["manual", undefined, undefined]
    ])
  })

  it("a liquidation (no attribution) is sold by the holders, never by the unattributed strategy", () => {
    const r = strategyPnl(
      [fill("buy", "X", "9", "10", "0", [["a", "2"], ["b", "1"]]), fill("sell", "X", "9", "12", "0.9")],
      prices({ X: "12" })
    )
    // a 6 (basis 60), b 3 (basis 30); all sold: a 72 − 0.6 − 60 = 11.4, b 36 − 0.3 − 30 = 5.7.
    expect(rows(r)).toEqual([
      ["a", "X", "0", "0", "0", "11.4", "0"],
      ["b", "X", "0", "0", "0", "5.7", "0"]
    ])
  })

  it("splits exactly when the weights do not divide: thirds sum to the fill", () => {
    const r = strategyPnl([fill("buy", "X", "10", "3", "0", [["a", "1"], ["b", "1"], ["c", "1"]])], prices({ X: "3" }))
    // 10 / 3 rounded down at 12 places, the remainder to the first of the equal weights.
    expect(r.holdings.map((h) => [h.strategy, format(h.quantity), format(h.costBasis)])).toEqual([
      ["a", "3.333333333334", "10.000000000002"],
      ["b", "3.333333333333", "9.999999999999"],
      ["c", "3.333333333333", "9.999999999999"]
    ])
  })

  it("a sell beyond the book books the held part and reports the rest as unmatched", () => {
    const r = strategyPnl(
      [fill("buy", "X", "4", "10", "0", [["a", "1"]]), fill("sell", "X", "6", "11", "0.6")],
      new Map()
    )
    // 4 of 6 matched: commission 0.4 on them; realized 44 − 0.4 − 40 = 3.6.
    expect(rows(r)).toEqual([["a", "X", "0", "0", "0", "3.6", null]])
    expect(r.symbols.map((s) => [format(s.quantity), format(s.realizedPnl), format(s.unmatchedQuantity)])).toEqual([[
      "0",
      "3.6",
      "2"
    ]])
    // A sell of a symbol never bought is unmatched entirely.
    const none = strategyPnl([fill("sell", "Y", "3", "1", "0")], new Map())
    expect(none.holdings).toEqual([])
    expect(none.symbols.map((s) => format(s.unmatchedQuantity))).toEqual(["3"])
  })

  it("ignores fills it cannot book, saying why, and books the rest", () => {
    const bad = [
      fill("buy", "X", "0", "1", "0"),
      fill("buy", "X", "1", "-1", "0"),
      fill("buy", "X", "1", "1", "-0.01"),
      fill("buy", "", "1", "1", "0"),
      { ...fill("buy", "X", "1", "1", "0"), side: "short" } as unknown as AttributedFill,
      { ...fill("buy", "X", "1", "1", "0"), quantity: 1 } as unknown as AttributedFill,
      fill("buy", "X", "2", "5", "0", [["a", "1"]])
    ]
    const r = strategyPnl(bad, new Map())
    expect(r.ignored.map((i) => i.index)).toEqual([0, 1, 2, 3, 4, 5])
    expect(r.ignored[4]?.reason).toBe("side short is neither buy nor sell")
    expect(rows(r)).toEqual([["a", "X", "2", "10", "5", "0", null]])
  })

  it("apportionWithin never exceeds a cap and sums to the total", () => {
    const shares = apportionWithin(dec("0.000000000003"), [
      dec("0.000000000001"),
      dec("0.000000000001"),
      dec("0.000000000002")
    ])
    expect(shares.map(format)).toEqual(["0.000000000001", "0", "0.000000000002"])
    expect(apportionWithin(dec("5"), [dec("2"), dec("3")]).map(format)).toEqual(["2", "3"])
  })
})

// ---------------------------------------------------------------------------------------
// properties
// ---------------------------------------------------------------------------------------

const SYMBOLS = ["A", "B", "C"] as const
const STRATEGIES = ["s1", "s2", "s3", "s4"] as const

const quantityArb = fc.oneof(
  fc.integer({ min: 1, max: 500 }).map(String),
  fc.integer({ min: 1, max: 50_000_000 }).map((u) => scaled(u, 6))
)
const priceArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant("0") },
  { weight: 20, arbitrary: fc.integer({ min: 1, max: 5_000_000 }).map((u) => scaled(u, 4)) }
)
const commissionArb = fc.integer({ min: 0, max: 50_000 }).map((u) => scaled(u, 3))
const weightArb = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000 }).map((u) => scaled(u, 6)),
  fc.constantFrom("0.333333333333", "1", "0.25")
)
const attributionArb: fc.Arbitrary<Weights> = fc
  .subarray([...STRATEGIES])
  .chain((names) =>
    fc.tuple(...names.map(() => weightArb)).map((ws) => names.map((n, i) => [n, ws[i] as string] as const))
  )

interface Op {
  readonly symbol: string
  readonly side: Side
  /** A sell of everything held. */
  readonly all: boolean
  readonly quantity: string
  readonly price: string
  readonly commission: string
  readonly attribution: Weights
}

const opArb: fc.Arbitrary<Op> = fc.record({
  symbol: fc.constantFrom(...SYMBOLS),
  side: fc.constantFrom("buy", "sell"),
  all: fc.boolean(),
  quantity: quantityArb,
  price: priceArb,
  commission: commissionArb,
  attribution: attributionArb
})
const opsArb = fc.array(opArb, { maxLength: 30 })

/** Fills as the paper broker could produce them: a sell never exceeds what is held (dropped when nothing is). */
const paperFills = (ops: ReadonlyArray<Op>): Array<AttributedFill> => {
  const held = new Map<string, Decimal>()
  const out: Array<AttributedFill> = []
  for (const op of ops) {
    const before = held.get(op.symbol) ?? D0
    let quantity = dec(op.quantity)
    if (op.side === "sell") {
      if (before.eq(D0)) continue
      if (op.all || quantity.gt(before)) quantity = before
    }
    held.set(op.symbol, op.side === "buy" ? before.plus(quantity) : before.minus(quantity))
    out.push({ ...fill(op.side, op.symbol, op.quantity, op.price, op.commission, op.attribution), quantity })
  }
  return out
}

/** Fills as written: sells may exceed what is held. */
const rawFills = (ops: ReadonlyArray<Op>): Array<AttributedFill> =>
  ops.map((op) => fill(op.side, op.symbol, op.quantity, op.price, op.commission, op.attribution))

const pricesArb = fc.record(
  { A: priceArb, B: priceArb, C: priceArb },
  { requiredKeys: [] }
).map((m) => new Map(Object.entries(m).filter(([, p]) => p !== "0").map(([s, p]) => [s, dec(p)])))

/** The paper broker's books for the same fills, by symbol. */
const paperBooks = (fills: ReadonlyArray<AttributedFill>): Map<string, BookEntry> => {
  const books = new Map<string, BookEntry>()
  for (const f of fills) {
    const before = books.get(f.symbol) ?? { symbol: f.symbol, quantity: D0, averageCost: D0, realizedPnl: D0 }
    books.set(f.symbol, bookFill(D0, before, f).position)
  }
  return books
}

const sumOf = (ds: ReadonlyArray<Decimal>): Decimal => ds.reduce((a, b) => a.plus(b), D0)

/** Checks that, per symbol, the strategies' books sum exactly to the unsplit book. */
const checkSums = (r: StrategyPnl): void => {
  for (const s of r.symbols) {
    const mine = r.holdings.filter((h) => h.symbol === s.symbol)
    const q = sumOf(mine.map((h) => h.quantity))
    const basis = sumOf(mine.map((h) => h.costBasis))
    const realized = sumOf(mine.map((h) => h.realizedPnl))
    check(q.eq(s.quantity), () => `${s.symbol}: Σ quantity ${format(q)} ≠ ${format(s.quantity)}`)
    check(basis.eq(s.costBasis), () => `${s.symbol}: Σ cost basis ${format(basis)} ≠ ${format(s.costBasis)}`)
    check(realized.eq(s.realizedPnl), () => `${s.symbol}: Σ realized ${format(realized)} ≠ ${format(s.realizedPnl)}`)
    if (s.unrealizedPnl !== undefined) {
      check(
        mine.every((h) => h.unrealizedPnl !== undefined),
        () => `${s.symbol}: priced, but a holding has no unrealized P&L`
      )
      const unrealized = sumOf(mine.map((h) => h.unrealizedPnl ?? D0))
      check(
        unrealized.eq(s.unrealizedPnl),
        () => `${s.symbol}: Σ unrealized ${format(unrealized)} ≠ ${format(s.unrealizedPnl!)}`
      )
    }
  }
  for (const t of r.strategies) {
    const mine = r.holdings.filter((h) => h.strategy === t.strategy)
    check(sumOf(mine.map((h) => h.realizedPnl)).eq(t.realizedPnl), () => `${t.strategy}: totals' realized ≠ Σ holdings`)
    check(sumOf(mine.map((h) => h.costBasis)).eq(t.costBasis), () => `${t.strategy}: totals' cost basis ≠ Σ holdings`)
  }
}

describe("strategy P&L properties", () => {
  it("per symbol, the strategies' quantity, cost basis, realized and unrealized P&L sum exactly to the unsplit book", () => {
    // Invariant: for every symbol, Σ over strategies of quantity held, cost basis and realized
    // P&L equals the unsplit book's quantity, quantity × average cost and realized P&L, with
    // no tolerance (and unrealized P&L too when the symbol has a price); each strategy's
    // totals are the sums of its holdings.
    fc.assert(
      fc.property(opsArb, pricesArb, (ops, ps) => {
        checkSums(strategyPnl(paperFills(ops), ps))
      }),
      RUNS
    )
  })

  it("the unsplit book is the paper broker's book, whatever the attribution", () => {
    // Invariant: replaying the same fills through the paper broker's bookFill gives, per
    // symbol, the same quantity, average cost and realized P&L as the unsplit book, exactly;
    // splitting among strategies never changes the account's totals.
    fc.assert(
      fc.property(opsArb, (ops) => {
        const fills = paperFills(ops)
        const paper = paperBooks(fills)
        const r = strategyPnl(fills, new Map())
        check(r.symbols.length === paper.size, () => `${r.symbols.length} symbols, paper has ${paper.size}`)
        for (const s of r.symbols) {
          const p = paper.get(s.symbol)!
          check(
            s.quantity.eq(p.quantity),
            () => `${s.symbol}: quantity ${format(s.quantity)} ≠ paper ${format(p.quantity)}`
          )
          check(
            s.averageCost.eq(p.averageCost),
            () => `${s.symbol}: average cost ${format(s.averageCost)} ≠ paper ${format(p.averageCost)}`
          )
          check(
            s.realizedPnl.eq(p.realizedPnl),
            () => `${s.symbol}: realized ${format(s.realizedPnl)} ≠ paper ${format(p.realizedPnl)}`
          )
          check(s.unmatchedQuantity.eq(D0), () => `${s.symbol}: unmatched ${format(s.unmatchedQuantity)}`)
        }
      }),
      RUNS
    )
  })

  it("no strategy ever holds a negative quantity, after any prefix of the fills, even when sells exceed the book", () => {
    // Invariant: after every prefix of any fill sequence (including sells larger than what is
    // held, and sells whose attribution names strategies that hold nothing), every strategy's
    // quantity of every symbol is ≥ 0, and the sums above still hold.
    fc.assert(
      fc.property(opsArb, fc.boolean(), (ops, raw) => {
        const fills = raw ? rawFills(ops) : paperFills(ops)
        for (let n = 0; n <= fills.length; n++) {
          const r = strategyPnl(fills.slice(0, n), new Map())
          for (const h of r.holdings) {
            check(!h.quantity.lt(D0), () => `after ${n} fills ${h.strategy} holds ${format(h.quantity)} ${h.symbol}`)
          }
          for (const s of r.symbols) {
            check(!s.quantity.lt(D0), () => `after ${n} fills the book holds ${format(s.quantity)} ${s.symbol}`)
          }
          checkSums(r)
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("a single strategy with attribution 1 reproduces the unsplit ledger exactly", () => {
    // Invariant: when every fill is attributed to one strategy (attribution [{ solo, 1 }], or
    // none with unattributed = solo), that strategy's book of each symbol is the unsplit
    // (paper) book: same quantity, average cost, cost basis, realized and unrealized P&L.
    fc.assert(
      fc.property(opsArb, pricesArb, fc.boolean(), (ops, ps, viaUnattributed) => {
        const fills = paperFills(ops).map((f) => ({
          ...f,
          attribution: viaUnattributed ? [] : [{ strategy: "solo", weight: dec("1") }]
        }))
        const r = strategyPnl(fills, ps, { unattributed: "solo" })
        const paper = paperBooks(fills)
        check(
          r.holdings.length === r.symbols.length,
          () => `${r.holdings.length} holdings for ${r.symbols.length} symbols`
        )
        for (const s of r.symbols) {
          const h = r.holdings.find((x) => x.symbol === s.symbol)!
          const p = paper.get(s.symbol)!
          check(h.strategy === "solo", () => `strategy ${h.strategy}`)
          check(h.quantity.eq(p.quantity), () => `${s.symbol}: quantity ${format(h.quantity)} ≠ ${format(p.quantity)}`)
          check(
            h.averageCost.eq(p.averageCost),
            () => `${s.symbol}: average cost ${format(h.averageCost)} ≠ ${format(p.averageCost)}`
          )
          check(h.costBasis.eq(p.quantity.times(p.averageCost)), () => `${s.symbol}: cost basis ${format(h.costBasis)}`)
          check(
            h.realizedPnl.eq(p.realizedPnl),
            () => `${s.symbol}: realized ${format(h.realizedPnl)} ≠ ${format(p.realizedPnl)}`
          )
          const price = ps.get(s.symbol)
          if (price !== undefined) {
            const unrealized = p.quantity.times(price).minus(p.quantity.times(p.averageCost))
            check(h.unrealizedPnl !== undefined && h.unrealizedPnl.eq(unrealized), () => `${s.symbol}: unrealized`)
          }
        }
      }),
      RUNS
    )
  })

  it("a buy is split in proportion to the attribution weights, a sell in proportion to the holdings", () => {
    // Invariant: a first buy gives each strategy quantity × weight_i ÷ Σ weights to within
    // one unit of the 12th place per strategy (the parts summing to the fill exactly); a
    // following sell of a fraction of the book leaves each holder the same fraction of its
    // holding, to within twice that bound.
    fc.assert(
      fc.property(
        quantityArb,
        priceArb,
        attributionArb.filter((a) => a.some(([, w]) => dec(w).gt(D0))),
        fc.integer({ min: 0, max: 1000 }),
        (quantity, price, attribution, permille) => {
          const bought = strategyPnl([fill("buy", "X", quantity, price, "0", attribution)], new Map())
          const total = sumOf(attribution.map(([, w]) => dec(w)))
          const bound = dec("0.000000000001").times(String(STRATEGIES.length))
          for (const [strategy, w] of attribution) {
            const h = bought.holdings.find((x) => x.strategy === strategy)
            const got = h?.quantity ?? D0
            const want = dec(quantity).times(w).div(total)
            check(got.minus(want).abs().lte(bound), () => `${strategy}: ${format(got)} vs ${format(want)}`)
          }
          const sold = dec(quantity).times(String(permille)).div("1000")
          if (sold.eq(D0)) return
          const after = strategyPnl(
            [fill("buy", "X", quantity, price, "0", attribution), {
              ...fill("sell", "X", "1", price, "0"),
              quantity: sold
            }],
            new Map()
          )
          const kept = D0.plus("1").minus(sold.div(quantity))
          for (const h of bought.holdings) {
            const now = after.holdings.find((x) => x.strategy === h.strategy)!.quantity
            const want = h.quantity.times(kept)
            check(
              now.minus(want).abs().lte(bound.times("2")),
              () => `${h.strategy}: kept ${format(now)} vs ${format(want)}`
            )
          }
        }
      ),
      RUNS
    )
  })

  it("apportionWithin: exact sum, no part above its cap or below zero", () => {
    // Invariant: for caps ≥ 0 and 0 ≤ total ≤ Σ caps, the shares sum to the total exactly and
    // 0 ≤ share_i ≤ cap_i for every part.
    const capArb = fc.oneof(
      fc.integer({ min: 0, max: 1000 }).map(String),
      fc.integer({ min: 0, max: 10_000_000 }).map((u) => scaled(u, 14))
    )
    fc.assert(
      fc.property(
        fc.array(capArb, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (caps, ppm) => {
          const ds = caps.map(dec)
          const total = sumOf(ds).times(scaled(ppm, 6))
          const shares = apportionWithin(total, ds)
          check(sumOf(shares).eq(total), () => `Σ ${format(sumOf(shares))} ≠ ${format(total)}`)
          shares.forEach((s, i) =>
            check(!s.lt(D0) && s.lte(ds[i]!), () => `share ${format(s)} outside [0, ${caps[i]}]`)
          )
        }
      ),
      RUNS
    )
  })
})
