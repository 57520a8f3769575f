/**
 * Market regime: trend × volatility, from price history, so that a mapping can pick the
 * strategy for the current regime. Comparisons are exact (cross-multiplied, no rounded
 * average or square root decides anything); the averages and levels reported are rounded
 * at the division places, for display only.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { Decimal, type DecimalInput, format, fromInteger, isDecimal, ONE, ZERO } from "../decimal.ts"
import { field, invalid, isRecord, join, nonNegative, type Read, readDecimal, readSymbol } from "../input.ts"
import { readStrategyName } from "./blend.ts"
import { type AsOf, type Close, HistoryDefaults, lastCloses, type PriceHistory, readAsOf } from "./history.ts"

/** Trend × volatility: what the classifier reads from the history. */
export const Regime = Schema.Literals([
  "uptrend_low_vol",
  "uptrend_high_vol",
  "downtrend_low_vol",
  "downtrend_high_vol"
])
export type Regime = typeof Regime.Type

/** How volatility was measured: a volatility index's level, or the benchmark's realized volatility. */
export const VolatilityMeasure = Schema.Literals(["index", "realized"])
export type VolatilityMeasure = typeof VolatilityMeasure.Type

export interface RegimeOptions {
  /** Its last close against its simple moving average gives the trend. */
  readonly benchmark: string
  /** Closes in the moving average, the last one included. */
  readonly trendDays: number
  /** A volatility index (its last close is the level); undefined: the benchmark's realized volatility. */
  readonly volatilityIndex: string | undefined
  /** High volatility when the index closes above this (index points). */
  readonly indexThreshold: Decimal | DecimalInput
  /** Daily returns in the realized volatility (it needs one close more). */
  readonly realizedDays: number
  /** High volatility when the annualized realized volatility is above this (a fraction: 0.2 = 20%). */
  readonly realizedThreshold: Decimal | DecimalInput
  /** Trading days per year, to annualize: stdev × √days. */
  readonly annualizationDays: number
  /** How old (calendar days before asOf) the last close may be. */
  readonly maxStaleDays: number
}

/**
 * The common defaults: SPY against its 200-day average, VIX against 20. Without an index,
 * 20 daily returns of SPY annualized over 252 trading days against 20% — VIX 20 means an
 * implied volatility of 20%, so both measures draw the line at the same level.
 */
export const RegimeDefaults: RegimeOptions = {
  benchmark: "SPY",
  trendDays: 200,
  volatilityIndex: "VIX",
  indexThreshold: new Decimal("20"),
  realizedDays: 20,
  realizedThreshold: new Decimal("0.2"),
  annualizationDays: 252,
  maxStaleDays: HistoryDefaults.maxStaleDays
}

export interface TrendReading {
  readonly symbol: string
  /** Date of the last close. */
  readonly date: string
  readonly close: Decimal
  /** The simple moving average, rounded at the division places. */
  readonly sma: Decimal
  readonly days: number
  /** close ≥ sma, compared exactly. */
  readonly up: boolean
}

export interface VolatilityReading {
  readonly measure: VolatilityMeasure
  /** The index, or the benchmark whose returns were measured. */
  readonly symbol: string
  readonly date: string
  /** The index's close, or the annualized realized volatility (rounded at the division places). */
  readonly level: Decimal
  readonly threshold: Decimal
  /** Daily returns measured (realized only). */
  readonly days?: number
  /** level > threshold, compared exactly. */
  readonly high: boolean
}

export interface RegimeReading {
  readonly regime: Regime
  readonly asOf: string
  readonly trend: TrendReading
  readonly volatility: VolatilityReading
}

/** The regime of a trend and a volatility verdict. */
export const classify = (up: boolean, high: boolean): Regime =>
  up ? (high ? "uptrend_high_vol" : "uptrend_low_vol") : high ? "downtrend_high_vol" : "downtrend_low_vol"

/**
 * Reads the regime as of a date. Ties never raise the alarm: a close exactly at its average is
 * an uptrend, a level exactly at its threshold is low volatility.
 *
 * Realized volatility is the sample standard deviation (n − 1) of the last `realizedDays`
 * daily simple returns (each close ÷ the one before − 1, at the division places) × √
 * `annualizationDays`; it is compared exactly as annualizationDays × (n Σr² − (Σr)²) against
 * threshold² × n (n − 1).
 *
 * Errors: invalid options (source `regime`, path the option; `asOf`/`maxStaleDays` source
 * `history`), and missing, stale or too short history (see `lastCloses`).
 */
export const readRegime = (
  history: PriceHistory,
  asOf: string,
  options: Partial<RegimeOptions> = {}
): Read<RegimeReading> =>
  Result.gen(function*() {
    const { options: o, when } = yield* validateRegimeOptions(asOf, options)
    const { benchmark, trendDays } = o
    const trend = readTrend(
      yield* lastCloses(history, benchmark, when, trendDays, `${String(trendDays)}-day average`),
      o
    )
    const volatility = yield* readVolatility(history, when, o)
    return { regime: classify(trend.up, volatility.high), asOf: when.asOf, trend, volatility }
  })

/** The benchmark's last close against its simple moving average over `closes`. */
const readTrend = (closes: ReadonlyArray<Close>, o: RegimeSettings): TrendReading => {
  const last = closes[closes.length - 1] as Close
  let total = ZERO
  for (const c of closes) total = total.plus(c.close)
  const n = fromInteger(o.trendDays)
  return {
    symbol: o.benchmark,
    date: last.date,
    close: last.close,
    sma: total.div(n),
    days: o.trendDays,
    up: last.close.times(n).gte(total)
  }
}

/** The volatility index's last close, or the benchmark's realized volatility, against the threshold. */
const readVolatility = (history: PriceHistory, when: AsOf, o: RegimeSettings): Read<VolatilityReading> =>
  Result.gen(function*() {
    const { benchmark, volatilityIndex, threshold } = o
    if (volatilityIndex !== undefined) {
      const c = (yield* lastCloses(history, volatilityIndex, when, 1, "volatility index"))[0] as Close
      return {
        measure: "index",
        symbol: volatilityIndex,
        date: c.date,
        level: c.close,
        threshold,
        high: c.close.gt(threshold)
      }
    }
    const days = o.realizedDays
    const window = yield* lastCloses(history, benchmark, when, days + 1, `${String(days)}-day realized volatility`)
    return realized(window, days, fromInteger(o.annualizationDays), threshold, benchmark)
  })

const realized = (
  closes: ReadonlyArray<Close>,
  days: number,
  annualization: Decimal,
  threshold: Decimal,
  symbol: string
): VolatilityReading => {
  let sum = ZERO
  let squares = ZERO
  for (let i = 1; i < closes.length; i++) {
    const r = (closes[i] as Close).close.div((closes[i - 1] as Close).close).minus(ONE)
    sum = sum.plus(r)
    squares = squares.plus(r.times(r))
  }
  const n = fromInteger(days)
  // n Σr² − (Σr)² = n (n − 1) × sample variance, never negative (Cauchy–Schwarz, exactly).
  const spread = n.times(squares).minus(sum.times(sum))
  const denominator = n.times(n.minus(ONE))
  const variance = annualization.times(spread)
  const last = closes[closes.length - 1] as Close
  return {
    measure: "realized",
    symbol,
    date: last.date,
    level: variance.div(denominator).sqrt(),
    threshold,
    days,
    high: variance.gt(threshold.times(threshold).times(denominator))
  }
}

/** The options as `validateRegimeOptions` checked them: the threshold of the measure in use. */
export interface RegimeSettings {
  readonly benchmark: string
  readonly trendDays: number
  readonly volatilityIndex: string | undefined
  readonly threshold: Decimal
  readonly realizedDays: number
  readonly annualizationDays: number
  readonly maxStaleDays: number
}

const whole = (path: string, value: unknown, least: number): Read<number> =>
  Number.isSafeInteger(value) && (value as number) >= least
    ? Result.succeed(value as number)
    : invalid("regime", path, value, `a whole number, at least ${String(least)}`)

const readThreshold = (path: string, value: unknown): Read<Decimal> =>
  readDecimal("regime", path, isDecimal(value) ? format(value) : value, nonNegative)

/**
 * The classifier's options and the day it reads as of, checked without any history, so a
 * configuration can be checked before its history is read. Errors as `readRegime`'s, less
 * the history's.
 */
export const validateRegimeOptions = (
  asOf: string,
  options: Partial<RegimeOptions> = {}
): Read<{ readonly options: RegimeSettings; readonly when: AsOf }> =>
  Result.gen(function*() {
    const o = yield* readOptions({ ...RegimeDefaults, ...options })
    return { options: o, when: yield* readAsOf(asOf, o.maxStaleDays) }
  })

/** Options from a caller (or a config): checked, so no input can make the arithmetic throw. */
const readOptions = (o: RegimeOptions): Read<RegimeSettings> =>
  Result.gen(function*() {
    const benchmark = yield* readSymbol("regime", "benchmark", o.benchmark)
    const trendDays = yield* whole("trendDays", o.trendDays, 1)
    // Two returns at least: a sample standard deviation divides by n − 1.
    const realizedDays = yield* whole("realizedDays", o.realizedDays, 2)
    const annualizationDays = yield* whole("annualizationDays", o.annualizationDays, 1)
    const volatilityIndex = o.volatilityIndex === undefined
      ? undefined
      : yield* readSymbol("regime", "volatilityIndex", o.volatilityIndex)
    const threshold = volatilityIndex === undefined
      ? yield* readThreshold("realizedThreshold", o.realizedThreshold)
      : yield* readThreshold("indexThreshold", o.indexThreshold)
    return {
      benchmark,
      trendDays,
      volatilityIndex,
      threshold,
      realizedDays,
      annualizationDays,
      maxStaleDays: o.maxStaleDays
    }
  })

// ---------------------------------------------------------------------------------------
// Regime → strategy
// ---------------------------------------------------------------------------------------

export type RegimeMap = ReadonlyMap<Regime, string>

const isRegime = Schema.is(Regime)

/**
 * Validates `{ uptrend_low_vol: strategyName, … }` (source `regime`). An unknown regime name
 * is an error (a typo must not leave a regime unmapped silently); a regime may be left out,
 * which is an error only when it is the one selected (`strategyFor`). With `strategies`, each
 * name must be one of them.
 */
export const validateRegimeMap = (input: unknown, strategies?: ReadonlyArray<string>): Read<RegimeMap> =>
  Result.gen(function*() {
    if (!isRecord(input)) return yield* invalid("regime", "", input, "a map from regime to strategy name")
    const map = new Map<Regime, string>()
    for (const key of Object.keys(input)) {
      const path = join("", key)
      if (!isRegime(key)) return yield* invalid("regime", path, key, `a regime (${Regime.literals.join(", ")})`)
      const name = yield* readStrategyName("regime", path, field(input, key))
      if (strategies !== undefined && !strategies.includes(name)) {
        return yield* invalid("regime", path, name, `a defined strategy (${strategies.join(", ")})`)
      }
      map.set(key, name)
    }
    return map
  })

/** The strategy of the selected regime; a regime the mapping leaves out is an error naming it. */
export const strategyFor = (map: RegimeMap, regime: Regime): Read<string> => {
  const name = map.get(regime)
  return name === undefined
    ? invalid("regime", regime, undefined, "a strategy for the selected regime")
    : Result.succeed(name)
}
