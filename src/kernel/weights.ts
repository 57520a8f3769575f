/**
 * Weights from a source (a file, an HTTP answer): fractions or percentages, and either
 * "at most 1, the rest is cash" (a hand-written file) or "a full allocation" (a signal
 * service, whose weights must sum to 1 within a tolerance, or be normalized to 1 when the
 * source says its numbers are only proportions). The policy's checks (excluded symbols)
 * come later, on the resolved targets.
 */
import * as Result from "effect/Result"
import { apportion, makeTargets } from "./blend.ts"
import { Decimal, isPositive, ONE, ZERO } from "./decimal.ts"
import type { InputSource } from "./errors.ts"
import { entries, invalid, nonNegative, passOn, type Read, readDecimal, uniqueSymbol } from "./input.ts"
import type { Target, Targets } from "./targets.ts"

export type WeightUnit = "fraction" | "percent"

export interface WeightsOptions {
  readonly unit: WeightUnit
  /** The weights are a full allocation: they must sum to 1 within `tolerance`. */
  readonly full: boolean
  /** Scale the weights to sum to exactly 1 (only positive sums); implies a full allocation. */
  readonly normalize: boolean
  readonly tolerance: Decimal
}

export const WeightsDefaults: WeightsOptions = { unit: "fraction", full: false, normalize: false, tolerance: new Decimal("0.0001") }

const HUNDRED: Decimal = new Decimal("100")

/**
 * Reads `{ SYMBOL: weight }` or `[{ symbol, weight }]` (`weightField` names the weight in
 * the list form) into targets, in `source`'s terms for errors.
 */
export const readWeights = (
  source: InputSource,
  input: unknown,
  options: Partial<WeightsOptions> = {},
  fields: { readonly symbol: string; readonly weight: string } = { symbol: "symbol", weight: "weight" }
): Read<Targets> => {
  const o = { ...WeightsDefaults, ...options }
  const items = entries(source, "", input, fields.symbol, fields.weight)
  if (Result.isFailure(items)) return passOn(items)
  const seen = new Set<string>()
  const symbols: Array<string> = []
  const raw: Array<Decimal> = []
  let total = ZERO
  const limit = o.unit === "percent" ? HUNDRED : ONE
  for (const item of items.success) {
    const symbol = uniqueSymbol(source, seen, item)
    if (Result.isFailure(symbol)) return passOn(symbol)
    const weight = readDecimal(source, item.path, item.value, {
      expected: o.unit === "percent" ? "a percentage between 0 and 100" : "a fraction between 0 and 1",
      accepts: (d) => nonNegative.accepts(d) && (o.normalize || d.lte(limit))
    })
    if (Result.isFailure(weight)) return passOn(weight)
    symbols.push(symbol.success)
    const w = o.unit === "percent" ? weight.success.div(HUNDRED) : weight.success
    raw.push(w)
    total = total.plus(w)
  }
  let weights: ReadonlyArray<Decimal> = raw
  if (o.normalize) {
    if (!isPositive(total)) return invalid(source, "sum of weights", total.toFixed(), "weights with a positive sum to normalize")
    weights = apportion(ONE, raw)
  } else if (total.gt(ONE.plus(o.tolerance))) {
    return invalid(source, "sum of weights", total.toFixed(), `weights that sum to at most 1 (tolerance ${o.tolerance.toFixed()})`)
  } else if (o.full && total.lt(ONE.minus(o.tolerance))) {
    return invalid(source, "sum of weights", total.toFixed(), `weights that sum to 1 (tolerance ${o.tolerance.toFixed()}), or normalize: true`)
  }
  const targets: Array<Target> = symbols.map((symbol, i) => ({ symbol, weight: weights[i] as Decimal, attribution: [] }))
  return Result.succeed(makeTargets(targets))
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
      const attribution = t.attribution.map((a) => ({ strategy: a.strategy, weight: a.weight.round(places, Decimal.roundDown) }))
      return { symbol: t.symbol, weight: attribution.reduce((sum, a) => sum.plus(a.weight), ZERO), attribution }
    })
  )
