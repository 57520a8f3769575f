/**
 * Weights from a source (a file, an HTTP answer): fractions or percentages, and either
 * "at most 1, the rest is cash" (a hand-written file) or "a full allocation" (a signal
 * service, whose weights must sum to 1 within a tolerance, or be normalized to 1 when the
 * source says its numbers are only proportions).
 *
 * Whatever a tolerance lets pass, a source hands on weights that sum to at most 1: a sum
 * above 1 is scaled down to 1 here, and the caller says so. So nothing later (a blend, a
 * replacement set, the policy's own check) can find a source's rounding excess and blame
 * something else for it. The policy's checks (excluded symbols) come later, on the
 * resolved targets.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { Decimal, isPositive, ONE, sumOf } from "../decimal.ts"
import type { InputSource } from "../errors.ts"
import {
  type DecimalRule,
  entries,
  invalid,
  nonNegative,
  passOn,
  type Read,
  readDecimal,
  uniqueSymbol
} from "../input.ts"
import { CASH, noTargets, type Target, type Targets } from "../rebalance/targets.ts"
import { apportion, divideDown, makeTargets } from "./blend.ts"

/** How a source writes weights: fractions of 1, or percentages. */
export const WeightUnit = Schema.Literals(["fraction", "percent"])
export type WeightUnit = typeof WeightUnit.Type

/** How a source's sum of weights is checked. */
export const WeightSum = Schema.Literals([
  /** At most 1 + tolerance; the rest is the cash target (a targets file). */
  "partial",
  /** 1 within the tolerance, either side (a signal service's full allocation). */
  "full",
  /** Any positive sum: the numbers are proportions, scaled to sum to exactly 1. */
  "normalize"
])
export type WeightSum = typeof WeightSum.Type

export interface WeightsOptions {
  readonly unit: WeightUnit
  readonly sum: WeightSum
  /** How far the sum may be from 1, as a fraction of the whole (0.01 percentage points per 0.0001). */
  readonly tolerance: Decimal
}

export interface Weights {
  readonly targets: Targets
  /** Σ weights as the source wrote them (percentages with unit percent), before any scaling. */
  readonly sum: Decimal
  /** The sum was above 1 (within the tolerance): the weights were scaled down to sum to 1 (`scaleDownToOne`). */
  readonly scaledDown: boolean
}

const HUNDRED: Decimal = new Decimal("100")
const PER_CENT: Decimal = new Decimal("0.01")

/**
 * Reads `{ SYMBOL: weight }` or `[{ symbol, weight }]` (`fields` names them in the list
 * form) into targets, in `source`'s terms for errors. Each weight is in [0, 1] (or [0, 100]
 * percent; any non-negative number when normalizing). Sums are checked and reported in the
 * source's own unit, so a percent file summing to 110 says `got "110"`.
 */
export const readWeights = (
  source: InputSource,
  input: unknown,
  options: WeightsOptions,
  fields: { readonly symbol: string; readonly weight: string } = { symbol: "symbol", weight: "weight" }
): Read<Weights> => {
  const percent = options.unit === "percent"
  const whole = percent ? HUNDRED : ONE
  const items = entries(source, "", input, fields.symbol, fields.weight)
  if (Result.isFailure(items)) return passOn(items)
  if (items.success.length === 0) return noTargets(source)
  const rule: DecimalRule = {
    expected: percent ? "a percentage between 0 and 100" : "a fraction between 0 and 1",
    accepts: (d) => nonNegative.accepts(d) && (options.sum === "normalize" || d.lte(whole))
  }
  const seen = new Set<string>()
  const symbols: Array<string> = []
  const written: Array<Decimal> = []
  for (const item of items.success) {
    const symbol = uniqueSymbol(source, seen, item)
    if (Result.isFailure(symbol)) return passOn(symbol)
    const weight = readDecimal(source, item, item.value, rule)
    if (Result.isFailure(weight)) return passOn(weight)
    symbols.push(symbol.success)
    written.push(weight.success)
  }
  const total = sumOf(written)
  // Exact: a percentage × 0.01 needs no rounding (a division would round at 12 places).
  const fractions = percent ? written.map((w) => w.times(PER_CENT)) : written
  const slack = whole.times(options.tolerance)
  const what = percent ? "percentages" : "weights"
  let weights: ReadonlyArray<Decimal> = fractions
  if (options.sum === "normalize") {
    if (!isPositive(total)) {
      return invalid(source, "sum of weights", total.toFixed(), `${what} with a positive sum to normalize`)
    }
    weights = apportion(ONE, fractions)
  } else if (options.sum === "full" ? total.minus(whole).abs().gt(slack) : total.gt(whole.plus(slack))) {
    const expected = options.sum === "full"
      ? `${what} that sum to ${whole.toFixed()} (tolerance ${slack.toFixed()}), or normalize: true`
      : `${what} that sum to at most ${whole.toFixed()} (tolerance ${slack.toFixed()})`
    return invalid(source, "sum of weights", total.toFixed(), expected)
  }
  // The cash line counted in the sums; it is no position (see targets.ts `CASH`).
  const targets = makeTargets(
    symbols.flatMap((symbol, i): Array<Target> =>
      symbol === CASH ? [] : [{ symbol, weight: weights[i] as Decimal, attribution: [] }]
    )
  )
  const scaledDown = targets.total.gt(ONE)
  return Result.succeed({ targets: scaledDown ? scaleDownToOne(targets) : targets, sum: total, scaledDown })
}

/** What a caller says when `readWeights` scaled a source down (prefixed with the source's name): never a silent change. */
export const scaledDownNote = (weights: Weights, unit: WeightUnit, allowedBy: string): string =>
  `${unit === "percent" ? "percentages" : "weights"} sum to ${weights.sum.toFixed()}, above ${
    unit === "percent" ? "100" : "1"
  } (within ${allowedBy}): scaled down to sum to 1`

/**
 * Targets that sum above 1 scaled down to sum to at most 1: every attribution part (or an
 * unattributed weight) divided by the total, rounded down at the division places, and each
 * weight the sum of its parts (so attribution still sums to it exactly). What rounding cuts
 * (under one unit of the 12th place per part) goes to cash, never above 1. Targets summing
 * to at most 1 are returned as they are.
 */
export const scaleDownToOne = (targets: Targets): Targets => {
  const total = targets.total
  if (!total.gt(ONE)) return targets
  return makeTargets(
    targets.weights.map((t) => {
      if (t.attribution.length === 0) return { ...t, weight: divideDown(t.weight, total) }
      const attribution = t.attribution.map((a) => ({ strategy: a.strategy, weight: divideDown(a.weight, total) }))
      return { symbol: t.symbol, weight: sumOf(attribution.map((a) => a.weight)), attribution }
    })
  )
}

/** Places a resolved weight keeps: blends and replacements multiply exactly, and a targets file holds at most 20. */
export const TARGET_PLACES = 12

/**
 * Targets with every weight at most `places` decimal places: each attribution part is
 * rounded down and the weight is their sum (so attribution still sums to it exactly); an
 * unattributed weight is rounded down. What is cut (under one unit of the last place per
 * part) stays in cash, never more than the sources gave.
 */
export const atMostPlaces = (targets: Targets, places: number = TARGET_PLACES): Targets =>
  makeTargets(
    targets.weights.map((t) => {
      if (t.attribution.length === 0) return { ...t, weight: t.weight.round(places, Decimal.roundDown) }
      const attribution = t.attribution.map((a) => ({
        strategy: a.strategy,
        weight: a.weight.round(places, Decimal.roundDown)
      }))
      return { symbol: t.symbol, weight: sumOf(attribution.map((a) => a.weight)), attribution }
    })
  )
