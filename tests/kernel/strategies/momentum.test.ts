/**
 * Momentum strategy: the top K by trailing return, exact weights summing to 1 (or cash with a
 * warning), deterministic ties, and the same history checks as the regime classifier.
 */
import * as Result from "effect/Result"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type Decimal,
  format,
  type Momentum,
  momentum,
  type MomentumOptions,
  MomentumWeighting,
  type PriceHistory,
  type Read,
  validateHistory,
  validateMomentum
} from "../../../src/kernel/index.ts"
import { check, D0, D1, dateAt, dec, err, ok, scaled, sum } from "../helpers.ts"

const RUNS = { numRuns: 1000 }
const UNIVERSE = ["XLB", "XLE", "XLF", "XLK", "XLU", "XLV", "xly", "QQQ"] as const

const AS_OF = 100

type Row = { date: string; symbol: string; close: string }

/** One close per day, the last on AS_OF. */
const rowsOf = (symbol: string, closes: ReadonlyArray<string>): Array<Row> =>
  closes.map((close, i) => ({ date: dateAt(AS_OF - (closes.length - 1 - i)), symbol, close }))

const historyOf = (closes: Readonly<Record<string, ReadonlyArray<string>>>): PriceHistory =>
  ok(validateHistory(Object.entries(closes).flatMap(([symbol, c]) => rowsOf(symbol, c))))

/** A few round prices make equal returns (ties) common; the rest are random cents. */
const priceArb = fc.oneof(
  fc.constantFrom("10", "20", "30", "15", "12.5", "40"),
  fc.integer({ min: 1, max: 100_000 }).map((c) => scaled(c, 2))
)

interface Case {
  readonly universe: ReadonlyArray<string>
  readonly closes: Record<string, Array<string>>
  readonly options: Partial<MomentumOptions>
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    universe: fc.uniqueArray(fc.constantFrom(...UNIVERSE), { minLength: 1, maxLength: UNIVERSE.length }),
    lookbackDays: fc.integer({ min: 1, max: 6 }),
    extra: fc.integer({ min: 0, max: 3 }),
    top: fc.integer({ min: 1, max: 10 }),
    weighting: fc.constantFrom(...MomentumWeighting.literals),
    positiveOnly: fc.boolean()
  })
  .chain(({ universe, lookbackDays, extra, top, weighting, positiveOnly }) =>
    fc.tuple(
      ...universe.map(() =>
        fc.array(priceArb, { minLength: lookbackDays + 1 + extra, maxLength: lookbackDays + 1 + extra })
      )
    ).map((series) => ({
      universe,
      closes: Object.fromEntries(universe.map((s, i) => [s, series[i]!])),
      options: { lookbackDays, top, weighting, positiveOnly }
    }))
  )

const run = (c: Case, universe: ReadonlyArray<string> = c.universe): Momentum =>
  ok(momentum({ strategy: "rotation", universe, history: historyOf(c.closes), asOf: dateAt(AS_OF) }, c.options))

/** end/start of a symbol over the lookback, as [end, start] (compared by cross-multiplying). */
const ratioOf = (c: Case, symbol: string): [Decimal, Decimal] => {
  const closes = c.closes[symbol]!
  const n = c.options.lookbackDays!
  return [dec(closes[closes.length - 1]!), dec(closes[closes.length - 1 - n]!)]
}

/** > 0 when a's return beats b's, exactly. */
const beats = (c: Case, a: string, b: string): number => {
  const [ea, sa] = ratioOf(c, a)
  const [eb, sb] = ratioOf(c, b)
  return ea.times(sb).cmp(eb.times(sa))
}

describe("momentum: properties", () => {
  it("holds the top K: every held symbol's return is ≥ every other's, equal returns going to the first symbol", () => {
    // Protects: the selection is exactly the K best by trailing return, with ties settled by symbol.
    fc.assert(
      fc.property(caseArb, (c) => {
        const m = run(c)
        const held = new Set(m.targets.weights.map((t) => t.symbol))
        const k = Math.min(c.options.top!, c.universe.length)
        const filtered = c.options.weighting === "score" || c.options.positiveOnly === true
        const leaders = m.ranking.slice(0, k).map((s) => s.symbol)
        if (!filtered) check(held.size === k, () => `held ${held.size}, expected ${k}`)
        for (const h of held) {
          check(leaders.includes(h), () => `${h} held but not a leader`)
          for (const o of c.universe) {
            if (held.has(o)) continue
            const cmp = beats(c, h, o)
            if (leaders.includes(o)) continue // a leader left out for a non-positive return
            check(cmp > 0 || (cmp === 0 && h < o), () => `${h} held over ${o}`)
          }
        }
        // Leaders left out are exactly those whose (rounded) return is not positive.
        for (const s of m.ranking.slice(0, k)) {
          check(held.has(s.symbol) === (!filtered || s.return.gt(D0)), () => `${s.symbol}: held ${held.has(s.symbol)}`)
        }
        // The ranking is the whole universe, best first, ranks 1..n.
        check(m.ranking.length === c.universe.length && m.ranking.every((s, i) => s.rank === i + 1), () => "ranks")
        for (let i = 1; i < m.ranking.length; i++) {
          const cmp = beats(c, m.ranking[i - 1]!.symbol, m.ranking[i]!.symbol)
          check(
            cmp > 0 || (cmp === 0 && m.ranking[i - 1]!.symbol < m.ranking[i]!.symbol),
            () => `ranking order at ${i}`
          )
        }
      }),
      RUNS
    )
  })

  it("weights sum to exactly 1, none negative, each attributed to the strategy; or all cash with one warning", () => {
    // Protects: momentum targets are fully invested, explained by the strategy — and an empty selection is never silent.
    fc.assert(
      fc.property(caseArb, (c) => {
        const m = run(c)
        if (m.targets.weights.length === 0) {
          check(
            m.warnings.length === 1 && m.warnings[0]!.code === "NO_POSITIVE_MOMENTUM" &&
              m.warnings[0]!.strategy === "rotation",
            () => "no cash warning"
          )
          check(m.targets.total.eq(D0) && m.targets.cash.eq(D1), () => "cash")
          return
        }
        check(m.warnings.length === 0, () => "warning while invested")
        const total = sum(m.targets.weights.map((t) => t.weight))
        check(total.eq(D1) && m.targets.total.eq(D1) && m.targets.cash.eq(D0), () => `Σ ${format(total)}`)
        for (const t of m.targets.weights) {
          check(t.weight.gt(D0) || c.options.weighting === "score", () => `${t.symbol}: ${format(t.weight)}`)
          check(!t.weight.lt(D0), () => `${t.symbol}: negative`)
          check(
            t.attribution.length === 1 && t.attribution[0]!.strategy === "rotation" &&
              t.attribution[0]!.weight.eq(t.weight),
            () => "attribution"
          )
          check(m.ranking.find((s) => s.symbol === t.symbol)!.weight.eq(t.weight), () => "ranking weight")
        }
        // Equal weights differ by at most the remainder; score weights follow the scores.
        const ws = m.targets.weights.map((t) => t.weight)
        if (c.options.weighting === "equal") {
          const lo = ws.reduce((a, b) => (a.lt(b) ? a : b))
          const hi = ws.reduce((a, b) => (a.gt(b) ? a : b))
          check(hi.minus(lo).lte(dec("1e-11")), () => "unequal equal weights")
        } else {
          const held = m.ranking.filter((s) => s.weight.gt(D0) || m.targets.weights.some((t) => t.symbol === s.symbol))
          const scores = sum(held.map((s) => s.return))
          for (const s of held) {
            check(s.weight.minus(s.return.div(scores)).abs().lte(dec("1e-10")), () => `${s.symbol}: not proportional`)
          }
          for (let i = 1; i < held.length; i++) {
            check(!held[i]!.weight.gt(held[i - 1]!.weight), () => "a lower score got more weight")
          }
        }
      }),
      RUNS
    )
  })

  it("ties are deterministic: the universe's order does not change anything", () => {
    // Protects: equal returns are settled by symbol, never by input order (replays give the same targets).
    fc.assert(
      fc.property(
        caseArb.chain((c) =>
          fc.shuffledSubarray([...c.universe], { minLength: c.universe.length, maxLength: c.universe.length }).map((
            u
          ) => [c, u] as const)
        ),
        ([c, shuffled]) => {
          const render = (m: Momentum) =>
            JSON.stringify([
              m.targets.weights.map((t) => [t.symbol, format(t.weight)]),
              m.ranking.map((s) => [s.symbol, s.rank, format(s.return), format(s.weight)])
            ])
          check(render(run(c)) === render(run(c, shuffled)), () => "order-dependent")
        }
      ),
      RUNS
    )
  })
})

describe("momentum: configuration checked without history", () => {
  it(
    "validateMomentum fails exactly when momentum fails on its configuration," +
      " with the same error; otherwise only the history can fail",
    () => {
      // Protects: a momentum strategy's configuration can be checked before its history is read (eagerly, for every
      // strategy of a blend or regime), missing nothing the run would refuse.
      const h = historyOf({ QQQ: ["10", "11", "12", "13"], XLK: ["20", "19", "18", "17"] })
      const option = <A>(a: fc.Arbitrary<A>) => fc.oneof(a, fc.anything())
      fc.assert(
        fc.property(
          option(fc.constantFrom("rotation", "a/b", "")),
          option(fc.constantFrom<ReadonlyArray<string>>(["QQQ", "XLK"], ["QQQ", "QQQ"], [], ["QQQ", "ARKK"])),
          fc.record(
            {
              lookbackDays: option(fc.integer({ min: 0, max: 5 })),
              top: option(fc.integer({ min: 0, max: 3 })),
              weighting: option(fc.constantFrom("equal", "score")),
              positiveOnly: option(fc.boolean()),
              maxStaleDays: option(fc.integer({ min: -1, max: 5 }))
            },
            { requiredKeys: [] }
          ),
          (strategy, universe, options) => {
            const input = {
              strategy: strategy as string,
              universe: universe as ReadonlyArray<string>,
              asOf: dateAt(AS_OF)
            }
            const checked = validateMomentum(input, options as Partial<MomentumOptions>)
            const result = momentum({ ...input, history: h }, options as Partial<MomentumOptions>)
            if (Result.isFailure(checked)) {
              check(
                Result.isFailure(result) && result.failure.message === checked.failure.message,
                () => checked.failure.message
              )
            } else if (Result.isFailure(result)) {
              check(
                result.failure.source === "history" && result.failure.path !== "maxStaleDays",
                () => result.failure.message
              )
            }
          }
        ),
        RUNS
      )
    }
  )
})

describe("momentum: examples", () => {
  // 3-day returns: A +20%, B +10%, C −5%, D +10% (ties with B), E 0%.
  const closes = {
    A: ["100", "105", "110", "120"],
    B: ["50", "51", "52", "55"],
    C: ["20", "19", "18", "19"],
    D: ["10", "12", "9", "11"],
    E: ["7", "8", "6", "7"]
  }
  const input = {
    strategy: "rotation",
    universe: ["E", "D", "C", "B", "A"],
    history: historyOf(closes),
    asOf: dateAt(AS_OF)
  }
  const rows = (m: Momentum) => m.targets.weights.map((t) => [t.symbol, format(t.weight)])

  it("ranks by return, a tie going to the first symbol; equal weights over the top K", () => {
    const m = ok(momentum(input, { lookbackDays: 3, top: 2 }))
    expect(m.ranking.map((s) => [s.rank, s.symbol, format(s.return), format(s.weight)])).toEqual([
      [1, "A", "0.2", "0.5"],
      [2, "B", "0.1", "0.5"],
      [3, "D", "0.1", "0"],
      [4, "E", "0", "0"],
      [5, "C", "-0.05", "0"]
    ])
    expect(rows(m)).toEqual([
      ["A", "0.5"],
      ["B", "0.5"]
    ])
    expect(m.targets.weights[0]!.attribution).toEqual([{ strategy: "rotation", weight: dec("0.5") }])
  })

  it("thirds: each rounded down, the remainder to the best-ranked, summing to 1", () => {
    expect(rows(ok(momentum(input, { lookbackDays: 3, top: 3 })))).toEqual([
      ["A", "0.333333333334"],
      ["B", "0.333333333333"],
      ["D", "0.333333333333"]
    ])
  })

  it("score weighting: in proportion to the return, non-positive returns get nothing", () => {
    // Top 5 with scores 0.2, 0.1, 0.1 (E at 0 and C below are left out): 0.5, 0.25, 0.25.
    expect(rows(ok(momentum(input, { lookbackDays: 3, top: 5, weighting: "score" })))).toEqual([
      ["A", "0.5"],
      ["B", "0.25"],
      ["D", "0.25"]
    ])
  })

  it("no positive return to hold: all cash, with a warning", () => {
    const m = ok(momentum({ ...input, universe: ["C", "E"] }, { lookbackDays: 3, positiveOnly: true }))
    expect([m.targets.weights.length, format(m.targets.cash)]).toEqual([0, "1"])
    expect(m.warnings).toEqual([
      {
        code: "NO_POSITIVE_MOMENTUM",
        strategy: "rotation",
        message: "momentum strategy rotation: none of the top 2 has a positive 3-day return, so it holds cash"
      }
    ])
    // Without the filter, equal weighting holds the leaders whatever their sign.
    expect(rows(ok(momentum({ ...input, universe: ["C", "E"] }, { lookbackDays: 3, top: 1 })))).toEqual([["E", "1"]])
  })

  it("missing, stale and short history, and invalid input, are errors naming the place", () => {
    const message = (r: Read<Momentum>) => err(r).message
    expect(message(momentum({ ...input, universe: ["A", "F"] }, { lookbackDays: 3 }))).toBe(
      `history: F: expected closes up to ${dateAt(AS_OF)} (3-day momentum), got nothing`
    )
    expect(message(momentum({ ...input, asOf: dateAt(AS_OF + 6) }, { lookbackDays: 3 }))).toBe(
      `history: E: expected a last close at most 5 calendar days before ${dateAt(AS_OF + 6)}, got "${dateAt(AS_OF)}"`
    )
    expect(message(momentum(input, { lookbackDays: 4 }))).toBe(
      `history: E: expected at least 5 closes up to ${dateAt(AS_OF)} (4-day momentum), got 4`
    )
    expect(message(momentum({ ...input, universe: [] }))).toBe(
      "strategies: rotation.universe: expected a non-empty list of symbols, got a list"
    )
    expect(message(momentum({ ...input, universe: ["A", " A"] }, { lookbackDays: 3 }))).toBe(
      "strategies: rotation.universe[1]: expected each symbol once (duplicate), got \" A\""
    )
    expect(message(momentum(input, { top: 0 }))).toBe(
      "strategies: rotation.top: expected a whole number, at least 1, got 0"
    )
    expect(message(momentum(input, { lookbackDays: 2.5 }))).toBe(
      "strategies: rotation.lookbackDays: expected a whole number, at least 1, got 2.5"
    )
    expect(err(momentum({ ...input, strategy: "a/b" })).path).toBe("name")
    expect(err(momentum({ ...input, asOf: "yesterday" })).path).toBe("asOf")
  })
})

describe("momentum: totality", () => {
  it("any universe, name, date and options: a Momentum or one InvalidInput, never a throw", () => {
    // Protects: untrusted strategy configs can never make the kernel throw.
    const h = historyOf({ A: ["1", "2", "3"], B: ["3", "2", "1"] })
    const option = <A>(a: fc.Arbitrary<A>) => fc.oneof(a, fc.anything())
    fc.assert(
      fc.property(
        option(fc.constant("rotation")),
        option(fc.array(fc.oneof(fc.constantFrom("A", "B", "C", " A"), fc.anything()), { maxLength: 3 })),
        option(fc.constant(dateAt(AS_OF))),
        fc.record(
          {
            lookbackDays: option(fc.integer({ min: -1, max: 3 })),
            top: option(fc.integer({ min: -1, max: 3 })),
            weighting: option(fc.constantFrom("equal", "score")),
            positiveOnly: option(fc.boolean()),
            maxStaleDays: option(fc.integer({ min: -1, max: 5 }))
          },
          { requiredKeys: [] }
        ),
        (strategy, universe, asOf, options) => {
          const r = momentum({ strategy, universe, history: h, asOf } as never, options as Partial<MomentumOptions>)
          check(Result.isResult(r), () => "not a Result")
        }
      ),
      RUNS
    )
  })
})
