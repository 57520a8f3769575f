/**
 * Momentum strategy: rank a universe by trailing return and hold the leaders. Its targets
 * are attributed to the strategy's name, ready to be blended with other strategies.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { type Decimal, isPositive, ONE, ZERO } from "../decimal.ts"
import { byCodeUnits, invalid, join, type Read, readLiteral, readSymbol } from "../input.ts"
import type { Target, Targets } from "../rebalance/targets.ts"
import { apportion, makeTargets, readStrategyName, type StrategyWarning } from "./blend.ts"
import { type AsOf, type Close, HistoryDefaults, lastCloses, type PriceHistory, readAsOf } from "./history.ts"

/** `equal`: 1/K each; `score`: in proportion to the return. */
export const MomentumWeighting = Schema.Literals(["equal", "score"])
export type MomentumWeighting = typeof MomentumWeighting.Type

export interface MomentumOptions {
  /** N: the return is close_t ÷ close_{t−N} − 1, N closes (trading days) back. */
  readonly lookbackDays: number
  /** K: how many of the best-ranked symbols to hold. */
  readonly top: number
  readonly weighting: MomentumWeighting
  /** Hold only symbols whose return is positive (always so with `score` weighting). */
  readonly positiveOnly: boolean
  /** How old (calendar days before asOf) each symbol's last close may be. */
  readonly maxStaleDays: number
}

/** Six months (126 trading days), the top 3, equal weights: a common relative-momentum rotation. */
export const MomentumDefaults: MomentumOptions = {
  lookbackDays: 126,
  top: 3,
  weighting: "equal",
  positiveOnly: false,
  maxStaleDays: HistoryDefaults.maxStaleDays
}

export interface MomentumInput {
  /** The strategy's name: the attribution of its targets. */
  readonly strategy: string
  readonly universe: ReadonlyArray<string>
  readonly history: PriceHistory
  /** `YYYY-MM-DD`: closes after it are ignored. */
  readonly asOf: string
}

export interface MomentumScore {
  readonly symbol: string
  /** 1 = best. */
  readonly rank: number
  /** close_t ÷ close_{t−N} − 1, rounded at the division places. */
  readonly return: Decimal
  readonly from: Close
  readonly to: Close
  /** Its target weight; 0 when not held. */
  readonly weight: Decimal
}

export interface Momentum {
  readonly targets: Targets
  /** The whole universe, best first. */
  readonly ranking: ReadonlyArray<MomentumScore>
  readonly warnings: ReadonlyArray<StrategyWarning>
}

/**
 * Ranks the universe by trailing N-day return, best first; equal returns (compared exactly,
 * by cross-multiplying closes) rank by symbol. Holds the top K (all of them if the universe is
 * smaller). With `score` weighting, or `positiveOnly`, a symbol needs a return above 0 (at the
 * division places) to be held: a non-positive score cannot be a weight, and with momentum
 * gone cash is the safer holding. When nothing is held the targets are empty (all cash) and a
 * `NO_POSITIVE_MOMENTUM` warning says so — never silently.
 *
 * Held weights sum to 1 exactly: each is rounded down at the division places and the
 * remainder goes to the largest (the best-ranked among equals).
 *
 * Errors (source `strategies`, paths under the strategy name): an invalid name, an empty or
 * repeated universe symbol, invalid options; and (source `history`) a symbol with missing,
 * stale or too short history (it needs N + 1 closes).
 */
export const momentum = (input: MomentumInput, options: Partial<MomentumOptions> = {}): Read<Momentum> =>
  Result.gen(function*() {
    const { strategy, universe, options: o, when } = yield* validateMomentum(input, options)
    const scored: Array<Omit<MomentumScore, "rank" | "weight">> = []
    for (const symbol of universe) {
      const purpose = `${String(o.lookbackDays)}-day momentum`
      const closes = yield* lastCloses(input.history, symbol, when, o.lookbackDays + 1, purpose)
      const from = closes[0] as Close
      const to = closes[closes.length - 1] as Close
      scored.push({ symbol, return: to.close.div(from.close).minus(ONE), from, to })
    }
    return holdLeaders(strategy, o, scored)
  })

/** Ranks the scored universe and holds its leaders. */
const holdLeaders = (
  strategy: string,
  o: MomentumOptions,
  scored: Array<Omit<MomentumScore, "rank" | "weight">>
): Momentum => {
  scored.sort((a, b) => {
    // a.to/a.from vs b.to/b.from, exactly (closes are positive).
    const c = b.to.close.times(a.from.close).cmp(a.to.close.times(b.from.close))
    return c !== 0 ? c : byCodeUnits(a.symbol, b.symbol)
  })
  const leaders = scored.slice(0, o.top)
  const held = o.weighting === "score" || o.positiveOnly ? leaders.filter((s) => isPositive(s.return)) : leaders
  const weights = apportion(ONE, o.weighting === "score" ? held.map((s) => s.return) : held.map(() => ONE))
  const targets: Array<Target> = held.map((s, i) => {
    const weight = weights[i] as Decimal
    return { symbol: s.symbol, weight, attribution: [{ strategy, weight }] }
  })
  const weightOf = new Map(targets.map((t) => [t.symbol, t.weight]))
  const warnings: Array<StrategyWarning> = held.length === 0
    ? [
      {
        code: "NO_POSITIVE_MOMENTUM",
        strategy,
        message: `momentum strategy ${strategy}: none of the top ${String(leaders.length)} has a positive ${
          String(o.lookbackDays)
        }-day return, so it holds cash`
      }
    ]
    : []
  const ranking = scored.map((s, i) => ({ ...s, rank: i + 1, weight: weightOf.get(s.symbol) ?? ZERO }))
  return { targets: makeTargets(targets), ranking, warnings }
}

/** A momentum strategy's configuration, checked: what `momentum` reads the history with. */
export interface MomentumConfig {
  readonly strategy: string
  readonly universe: ReadonlyArray<string>
  readonly options: MomentumOptions
  readonly when: AsOf
}

/**
 * Everything about a momentum strategy but its history (its name, options, universe and
 * the day it is read as of), so a configuration can be checked before any history is
 * read. Errors as `momentum`'s, less the history's.
 */
export const validateMomentum = (
  input: Omit<MomentumInput, "history">,
  options: Partial<MomentumOptions> = {}
): Read<MomentumConfig> =>
  Result.gen(function*() {
    const o: MomentumOptions = { ...MomentumDefaults, ...options }
    const strategy = yield* readStrategyName("strategies", "name", input.strategy)
    const at = (key: string): string => join(join("", strategy), key)
    yield* checkOptions(o, at)
    const when = yield* readAsOf(input.asOf, o.maxStaleDays)
    const universe = yield* readUniverse(input.universe, at("universe"))
    return { strategy, universe, options: o, when }
  })

const checkOptions = (o: MomentumOptions, at: (key: string) => string): Read<MomentumOptions> =>
  Result.gen(function*() {
    const whole = (key: "lookbackDays" | "top", least: number): Read<number> =>
      Number.isSafeInteger(o[key]) && o[key] >= least
        ? Result.succeed(o[key])
        : invalid("strategies", at(key), o[key], `a whole number, at least ${String(least)}`)
    yield* whole("lookbackDays", 1)
    yield* whole("top", 1)
    yield* readLiteral("strategies", at("weighting"), o.weighting, MomentumWeighting)
    if (typeof o.positiveOnly !== "boolean") {
      return yield* invalid("strategies", at("positiveOnly"), o.positiveOnly, "true or false")
    }
    return o
  })

const readUniverse = (universe: unknown, path: string): Read<ReadonlyArray<string>> =>
  Result.gen(function*() {
    if (!Array.isArray(universe) || universe.length === 0) {
      return yield* invalid("strategies", path, universe, "a non-empty list of symbols")
    }
    const symbols: Array<string> = []
    const seen = new Set<string>()
    for (let i = 0; i < universe.length; i++) {
      const symbol = yield* readSymbol("strategies", join(path, i), universe[i])
      if (seen.has(symbol)) {
        return yield* invalid("strategies", join(path, i), universe[i], "each symbol once (duplicate)")
      }
      seen.add(symbol)
      symbols.push(symbol)
    }
    return symbols
  })
