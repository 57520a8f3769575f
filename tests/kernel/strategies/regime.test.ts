/**
 * Price history and the regime classifier: validation, staleness, monotone classification,
 * the tie rules at the exact thresholds, and the regime → strategy mapping.
 */
import * as Result from "effect/Result"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  dayNumber,
  format,
  type PriceHistory,
  type Read,
  readRegime,
  type RegimeOptions,
  type RegimeReading,
  strategyFor,
  validateHistory,
  validateRegimeMap,
  validateRegimeOptions
} from "../../../src/kernel/index.ts"
import { check, dateAt, DAY_MS, dec, err, ok, scaled } from "../helpers.ts"

const RUNS = { numRuns: 1000 }

type Row = { date: string; symbol: string; close: string }

/** Rows for a symbol: one close per consecutive day, the last on day `lastDay`. */
const series = (symbol: string, closes: ReadonlyArray<string>, lastDay: number): Array<Row> =>
  closes.map((close, i) => ({ date: dateAt(lastDay - (closes.length - 1 - i)), symbol, close }))

const history = (...rows: ReadonlyArray<Array<Row>>): PriceHistory => ok(validateHistory(rows.flat()))

/** Small, short-window options so that examples and properties stay readable. */
const SMALL: Partial<RegimeOptions> = { trendDays: 5, realizedDays: 4 }

const closesArb = (min: number, max: number): fc.Arbitrary<Array<string>> =>
  fc.array(fc.integer({ min: 1, max: 50_000 }).map((c) => scaled(c, 2)), { minLength: min, maxLength: max })

describe("history: validation", () => {
  it("validates rows, groups them per symbol and sorts by date; extra fields are ignored", () => {
    const h = ok(
      validateHistory([
        { date: "2024-01-03", symbol: "SPY", close: "101" },
        { date: " 2024-01-02", symbol: " SPY ", close: 100, volume: "123" },
        { date: "2024-01-02", symbol: "VIX", close: "14.5" }
      ])
    )
    expect([...h.keys()]).toEqual(["SPY", "VIX"])
    expect(h.get("SPY")!.map((c) => [c.date, format(c.close)])).toEqual([
      ["2024-01-02", "100"],
      ["2024-01-03", "101"]
    ])
  })

  it("rejects bad dates, closes and duplicates, naming the row", () => {
    const where = (input: unknown): [string, string, string] => {
      const e = err(validateHistory(input))
      return [e.source, e.path, e.value]
    }
    expect(where({ SPY: [] })).toEqual(["history", "", "an object"])
    expect(where([{ date: "2023-02-29", symbol: "SPY", close: "1" }])).toEqual([
      "history",
      "[0].date",
      "\"2023-02-29\""
    ])
    expect(where([{ date: "2024-2-01", symbol: "SPY", close: "1" }])).toEqual(["history", "[0].date", "\"2024-2-01\""])
    expect(where([{ date: "2024-13-01", symbol: "SPY", close: "1" }])).toEqual([
      "history",
      "[0].date",
      "\"2024-13-01\""
    ])
    expect(where([{ date: "2024-01-02", symbol: "", close: "1" }])).toEqual(["history", "[0].symbol", "\"\""])
    expect(where([{ date: "2024-01-02", symbol: "SPY", close: "0" }])).toEqual(["history", "[0].close", "\"0\""])
    expect(where([{ date: "2024-01-02", symbol: "SPY", close: "-3" }])).toEqual(["history", "[0].close", "\"-3\""])
    expect(
      where([{ date: "2024-01-02", symbol: "SPY", close: "1" }, { date: "2024-01-02", symbol: "SPY ", close: "2" }])
    ).toEqual([
      "history",
      "[1]",
      "\"2024-01-02 SPY\""
    ])
    expect(err(validateHistory([{ date: "2024-02-30", symbol: "SPY", close: "1" }])).message).toBe(
      "history: [0].date: expected a date YYYY-MM-DD, got \"2024-02-30\""
    )
  })

  it("dayNumber counts calendar days exactly (leap years included), like Date.UTC", () => {
    // Protects: staleness is measured in real calendar days, with no Date object in the kernel.
    fc.assert(
      fc.property(fc.integer({ min: -719_528, max: 2_932_896 }), /* 0000-01-01 .. 9999-12-31 */ (day) => {
        const date = new Date(day * DAY_MS).toISOString().slice(0, 10)
        check(dayNumber(date) === day, () => `${date}: ${String(dayNumber(date))} ≠ ${day}`)
      }),
      RUNS
    )
    expect([dayNumber("2024-02-29"), dayNumber("2023-02-29"), dayNumber("1900-02-29"), dayNumber("2000-02-29")])
      .toEqual([19782, undefined, undefined, 11016])
  })
})

describe("regime: properties", () => {
  it("raising the benchmark's last close never turns an uptrend into a downtrend", () => {
    // Protects: the trend verdict is monotone in the close (no inverted comparison, no rounding flip).
    fc.assert(
      fc.property(
        closesArb(5, 12),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1000, max: 4000 }),
        (closes, raise, vix) => {
          const last = closes.length - 1
          const higher = [...closes.slice(0, last), format(dec(closes[last]!).plus(dec(scaled(raise, 2))))]
          const at = (c: ReadonlyArray<string>) =>
            ok(readRegime(history(series("SPY", c, 30), series("VIX", [scaled(vix, 2)], 30)), dateAt(30), SMALL))
          const before = at(closes)
          const after = at(higher)
          check(!before.trend.up || after.trend.up, () => "uptrend turned into downtrend")
          // The verdict is close ≥ average of the last 5 closes, exactly.
          const window = closes.slice(-5).map(dec)
          const total = window.reduce((s, x) => s.plus(x))
          check(before.trend.up === dec(closes[last]!).times(dec("5")).gte(total), () => "trend verdict")
          check(before.volatility.high === dec(scaled(vix, 2)).gt(dec("20")), () => "index verdict")
        }
      ),
      RUNS
    )
  })

  it("raising the volatility level never turns high volatility into low", () => {
    // Protects: the volatility verdict is monotone in the level, for the index and for realized volatility.
    fc.assert(
      fc.property(
        closesArb(5, 8),
        fc.integer({ min: 1, max: 8000 }),
        fc.integer({ min: 1, max: 2000 }),
        (closes, vix, raise) => {
          const at = (v: number) =>
            ok(readRegime(history(series("SPY", closes, 30), series("VIX", [scaled(v, 2)], 29)), dateAt(30), SMALL))
          const before = at(vix)
          const after = at(vix + raise)
          check(!before.volatility.high || after.volatility.high, () => "high turned into low")
          check(before.trend.up === after.trend.up, () => "the index moved the trend")
        }
      ),
      RUNS
    )
    // Realized: widening every daily move (same direction, larger size) never lowers the verdict.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -300, max: 300 }), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (moves, k) => {
          const path = (m: number): Array<string> => {
            const out = ["1000"]
            // Each close moves by k × move basis points from a fixed base, so returns scale with k roughly linearly.
            for (const move of moves) {
              out.push(
                format(dec(out[out.length - 1]!).times(dec("1").plus(dec(scaled(move * m, 4)))))
              )
            }
            return out
          }
          const options = { ...SMALL, volatilityIndex: undefined, realizedThreshold: "0.3" }
          const before = ok(readRegime(history(series("SPY", path(1), 30)), dateAt(30), options))
          const after = ok(readRegime(history(series("SPY", path(k), 30)), dateAt(30), options))
          check(
            !before.volatility.high || after.volatility.high,
            () => `k=${k}: ${format(before.volatility.level)} → ${format(after.volatility.level)}`
          )
          // The exact verdict agrees with the reported (rounded) level away from the threshold.
          const level = before.volatility.level
          if (level.minus(dec("0.3")).abs().gt(dec("1e-9"))) {
            check(
              before.volatility.high === level.gt(dec("0.3")),
              () => "level and verdict disagree"
            )
          }
        }
      ),
      RUNS
    )
  })

  it("stale history is an error naming the symbol and its last date exactly when older than maxStaleDays", () => {
    // Protects: a regime is never read from old data, and the error tells which symbol and how old.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 10 }),
        fc.boolean(),
        (gap, maxStaleDays, staleIndex) => {
          const closes = ["100", "101", "102", "103", "104"]
          const h = history(
            series("SPY", closes, staleIndex ? 40 : 40 - gap),
            series("VIX", ["15"], staleIndex ? 40 - gap : 40)
          )
          const r = readRegime(h, dateAt(40), { ...SMALL, maxStaleDays })
          if (gap <= maxStaleDays) {
            check(Result.isSuccess(r), () => `gap ${gap} ≤ ${maxStaleDays} rejected`)
            return
          }
          const e = err(r)
          const symbol = staleIndex ? "VIX" : "SPY"
          check(
            e.source === "history" && e.path === symbol && e.value === JSON.stringify(dateAt(40 - gap)),
            () => e.message
          )
        }
      ),
      RUNS
    )
  })

  it("closes after asOf are ignored: the reading as of a date equals the reading on history cut at that date", () => {
    // Protects: no look-ahead — replaying a past date sees only what was known then.
    fc.assert(
      fc.property(closesArb(12, 20), closesArb(12, 20), fc.integer({ min: 0, max: 6 }), (spy, vix, cut) => {
        const full = history(series("SPY", spy, 50), series("VIX", vix, 50))
        const cutRows = (rows: Array<Row>) => rows.filter((row) => row.date <= dateAt(50 - cut))
        const partial = history(cutRows(series("SPY", spy, 50)), cutRows(series("VIX", vix, 50)))
        const a = ok(readRegime(full, dateAt(50 - cut), SMALL))
        const b = ok(readRegime(partial, dateAt(50 - cut), SMALL))
        check(JSON.stringify(a) === JSON.stringify(b), () => "look-ahead")
      }),
      RUNS
    )
  })
})

describe("regime: examples", () => {
  const spy = ["100", "102", "98", "101", "99"] // Σ 500, SMA 100
  it("a close exactly at its average is an uptrend; one cent below is a downtrend", () => {
    const at = (last: string, vix = "15") =>
      ok(
        readRegime(history(series("SPY", [...spy.slice(0, 4), last], 10), series("VIX", [vix], 10)), dateAt(10), SMALL)
      )
    // 100 + 102 + 98 + 101 + 99 = 500 → SMA 100, close 99: downtrend.
    expect([at("99").regime, format(at("99").trend.sma)]).toEqual(["downtrend_low_vol", "100"])
    // Close 100: Σ 501, SMA 100.2 > 100 → downtrend; close 100.25: Σ 501.25, SMA 100.25 = close → uptrend.
    expect(at("100").regime).toBe("downtrend_low_vol")
    expect([at("100.25").regime, format(at("100.25").trend.sma), format(at("100.25").trend.close)]).toEqual([
      "uptrend_low_vol",
      "100.25",
      "100.25"
    ])
    expect(at("100.24").regime).toBe("downtrend_low_vol")
  })

  it("an index exactly at its threshold is low volatility; above it is high", () => {
    const at = (vix: string) =>
      ok(readRegime(history(series("SPY", ["1", "1", "1", "1", "2"], 10), series("VIX", [vix], 10)), dateAt(10), SMALL))
    expect(at("20").regime).toBe("uptrend_low_vol")
    expect(at("20.01").regime).toBe("uptrend_high_vol")
    const r = at("20.01")
    expect([
      r.volatility.measure,
      r.volatility.symbol,
      format(r.volatility.level),
      format(r.volatility.threshold),
      r.volatility.date
    ]).toEqual([
      "index",
      "VIX",
      "20.01",
      "20",
      dateAt(10)
    ])
  })

  it("realized volatility exactly at its threshold is low; just below the level is high", () => {
    // Returns +0.1 and −0.1 (100 → 110 → 99): sample variance 0.02; × 50 days = 1; volatility 1.
    const h = history(series("SPY", ["100", "110", "99"], 10))
    const at = (threshold: string) =>
      ok(
        readRegime(h, dateAt(10), {
          trendDays: 3,
          volatilityIndex: undefined,
          realizedDays: 2,
          annualizationDays: 50,
          realizedThreshold: threshold
        })
      )
    expect([at("1").regime, format(at("1").volatility.level), at("1").volatility.measure, at("1").volatility.days])
      .toEqual(["downtrend_low_vol", "1", "realized", 2])
    expect(at("0.999999999999").regime).toBe("downtrend_high_vol")
  })

  it("defaults: SPY against its 200-day average, VIX against 20", () => {
    const closes = Array.from({ length: 200 }, (_, i) => String(300 + i))
    const r = ok(readRegime(history(series("SPY", closes, 300), series("VIX", ["25"], 299)), dateAt(300)))
    expect([r.regime, format(r.trend.sma), format(r.trend.close), r.trend.days]).toEqual([
      "uptrend_high_vol",
      "399.5",
      "499",
      200
    ])
    const e = err(readRegime(history(series("SPY", closes.slice(50), 300), series("VIX", ["25"], 300)), dateAt(300)))
    expect(e.message).toBe(`history: SPY: expected at least 200 closes up to ${dateAt(300)} (200-day average), got 150`)
  })

  it("missing and stale history name the symbol and the last date", () => {
    const h = history(series("SPY", spy, 10), series("VIX", ["15"], 3))
    expect(err(readRegime(h, dateAt(10), SMALL)).message).toBe(
      `history: VIX: expected a last close at most 5 calendar days before ${dateAt(10)}, got "${dateAt(3)}"`
    )
    expect(err(readRegime(history(series("SPY", spy, 10)), dateAt(10), SMALL)).message).toBe(
      `history: VIX: expected closes up to ${dateAt(10)} (volatility index), got nothing`
    )
    // History only after asOf is missing as of then.
    expect(err(readRegime(h, dateAt(-5), SMALL)).message).toBe(
      `history: SPY: expected closes up to ${dateAt(-5)} (5-day average), got nothing`
    )
    expect(err(readRegime(h, dateAt(10), { ...SMALL, volatilityIndex: undefined, realizedDays: 5 })).message).toBe(
      `history: SPY: expected at least 6 closes up to ${dateAt(10)} (5-day realized volatility), got 5`
    )
  })

  it("invalid options and asOf", () => {
    const h = history(series("SPY", spy, 10), series("VIX", ["15"], 10))
    const where = (r: Read<RegimeReading>): [string, string, string] => {
      const e = err(r)
      return [e.source, e.path, e.value]
    }
    expect(where(readRegime(h, "2024-1-10", SMALL))).toEqual(["history", "asOf", "\"2024-1-10\""])
    expect(where(readRegime(h, dateAt(10), { ...SMALL, maxStaleDays: -1 }))).toEqual(["history", "maxStaleDays", "-1"])
    expect(where(readRegime(h, dateAt(10), { ...SMALL, trendDays: 0 }))).toEqual(["regime", "trendDays", "0"])
    expect(where(readRegime(h, dateAt(10), { ...SMALL, realizedDays: 1 }))).toEqual(["regime", "realizedDays", "1"])
    expect(where(readRegime(h, dateAt(10), { ...SMALL, indexThreshold: "-1" }))).toEqual([
      "regime",
      "indexThreshold",
      "\"-1\""
    ])
    expect(where(readRegime(h, dateAt(10), { ...SMALL, benchmark: " " }))).toEqual(["regime", "benchmark", "\" \""])
  })
})

describe("regime: configuration checked without history", () => {
  it(
    "validateRegimeOptions fails exactly when readRegime fails on its options," +
      " with the same error; otherwise only the history can fail",
    () => {
      // Protects: a regime's configuration (an unselected strategy's too) can be checked before any history is read, and
      // that check misses nothing the reading would refuse.
      const h = history(series("SPY", ["100", "101", "102", "103", "104", "105"], 10), series("VIX", ["15"], 10))
      const option = <A>(a: fc.Arbitrary<A>) => fc.oneof(a, fc.anything())
      fc.assert(
        fc.property(
          fc.record(
            {
              benchmark: option(fc.constantFrom("SPY", "QQQ")),
              trendDays: option(fc.integer({ min: -1, max: 8 })),
              volatilityIndex: option(fc.constantFrom("VIX", undefined)),
              indexThreshold: option(fc.constantFrom("20", -1)),
              realizedDays: option(fc.integer({ min: 0, max: 4 })),
              maxStaleDays: option(fc.integer({ min: -1, max: 5 }))
            },
            { requiredKeys: [] }
          ),
          (options) => {
            const checked = validateRegimeOptions(dateAt(10), options as Partial<RegimeOptions>)
            const read = readRegime(h, dateAt(10), options as Partial<RegimeOptions>)
            if (Result.isFailure(checked)) {
              check(
                Result.isFailure(read) && read.failure.message === checked.failure.message,
                () => checked.failure.message
              )
            } else if (Result.isFailure(read)) {
              check(
                read.failure.source === "history" && read.failure.path !== "maxStaleDays" &&
                  read.failure.path !== "asOf",
                () => read.failure.message
              )
            }
          }
        ),
        RUNS
      )
    }
  )
})

describe("regime: mapping", () => {
  it("maps regimes to strategies; an unknown regime or strategy is an error; an unmapped regime fails only when selected", () => {
    const map = ok(
      validateRegimeMap({ uptrend_low_vol: "growth", uptrend_high_vol: " balanced ", downtrend_low_vol: "balanced" }, [
        "growth",
        "balanced",
        "cash"
      ])
    )
    expect(ok(strategyFor(map, "uptrend_high_vol"))).toBe("balanced")
    expect(err(strategyFor(map, "downtrend_high_vol")).message).toBe(
      "regime: downtrend_high_vol: expected a strategy for the selected regime, got nothing"
    )
    expect(err(validateRegimeMap({ uptrend_low_vol: "growth", bull: "growth" })).message).toBe(
      "regime: bull: expected a regime (uptrend_low_vol, uptrend_high_vol, downtrend_low_vol, downtrend_high_vol), got \"bull\""
    )
    expect(err(validateRegimeMap({ uptrend_low_vol: "growht" }, ["growth", "cash"])).message).toBe(
      "regime: uptrend_low_vol: expected a defined strategy (growth, cash), got \"growht\""
    )
    expect(err(validateRegimeMap({ uptrend_low_vol: 3 })).path).toBe("uptrend_low_vol")
    expect(err(validateRegimeMap(["growth"])).path).toBe("")
  })
})

describe("history and regime: totality", () => {
  it("any rows, options, dates and mappings: a value or one InvalidInput, never a throw", () => {
    // Protects: untrusted history files, configs and dates can never make the kernel throw.
    const row = fc.record({
      date: fc.oneof(fc.constantFrom("2024-01-02", "2024-01-03", "2024-02-30"), fc.anything()),
      symbol: fc.oneof(fc.constantFrom("SPY", "VIX"), fc.anything()),
      close: fc.oneof(fc.constantFrom("100", "0", "-1", 20), fc.anything())
    }, { requiredKeys: [] })
    const option = <A>(a: fc.Arbitrary<A>) => fc.oneof(a, fc.anything())
    fc.assert(
      fc.property(
        fc.oneof(fc.array(row, { maxLength: 8 }), fc.anything()),
        fc.record(
          {
            benchmark: option(fc.constant("SPY")),
            trendDays: option(fc.integer({ min: -1, max: 3 })),
            volatilityIndex: option(fc.constantFrom("VIX", undefined)),
            indexThreshold: option(fc.constantFrom("20", dec("20"), -1)),
            realizedDays: option(fc.integer({ min: 0, max: 3 })),
            realizedThreshold: option(fc.constant("0.2")),
            annualizationDays: option(fc.integer({ min: 0, max: 300 })),
            maxStaleDays: option(fc.integer({ min: -1, max: 5 }))
          },
          { requiredKeys: [] }
        ),
        option(fc.constantFrom("2024-01-03", "2024-01-10")),
        fc.oneof(
          fc.anything(),
          fc.dictionary(fc.constantFrom("uptrend_low_vol", "bull", "downtrend_high_vol"), fc.anything())
        ),
        (rows, options, asOf, mapping) => {
          const h = validateHistory(rows)
          if (Result.isSuccess(h)) readRegime(h.success, asOf as string, options as Partial<RegimeOptions>)
          const m = validateRegimeMap(mapping)
          if (Result.isSuccess(m)) strategyFor(m.success, "uptrend_low_vol")
        }
      ),
      RUNS
    )
  })
})
