/**
 * Targets: symbol → weight, a fraction of total equity. The weights sum to at most 1;
 * the remainder is the cash target. An input names at least one target: an empty one is a
 * failed export far more often than a wish to sell everything, so all cash is said as
 * `$CASH: 1` (see `CASH`).
 */
import * as Result from "effect/Result"
import { add, compare, type Decimal, ONE, ZERO } from "../decimal.ts"
import { type InputSource, InvalidInput } from "../errors.ts"
import {
  byCodeUnits,
  entries,
  field,
  fraction,
  invalid,
  isRecord,
  passOn,
  type Read,
  readDecimal,
  subPath,
  uniqueSymbol
} from "../input.ts"
import type { Policy } from "./policy.ts"
import { bySymbol } from "./snapshot.ts"

/** Which strategies a weight came from (filled by the strategy-blend targets; empty for a plain file). */
export type Attribution = ReadonlyArray<{ readonly strategy: string; readonly weight: Decimal }>

export interface Target {
  readonly symbol: string
  readonly weight: Decimal
  readonly attribution: Attribution
}

export interface Targets {
  /** Sorted by symbol. */
  readonly weights: ReadonlyArray<Target>
  /** Σ weights. */
  readonly total: Decimal
  /** 1 − Σ weights, never below 0. */
  readonly cash: Decimal
}

const NO_ATTRIBUTION: Read<Attribution> = Result.succeed([])

/**
 * The cash line, named explicitly (`$CASH: 1` is all cash). Its weight counts in the sum like
 * any other, and it is never a position: the cash target stays 1 − Σ the other weights. `$`
 * keeps it apart from every ticker (there is a listed `CASH`).
 */
export const CASH = "$CASH"

/** What an input without a single target is told. */
export const NO_TARGETS = `at least one target (all cash is written "${CASH}": 1)`

/** An input with no entry at all: refused, never read as all cash. */
export const noTargets = (source: InputSource): Read<never> =>
  Result.fail(new InvalidInput({ source, path: "", value: "none", expected: NO_TARGETS }))

/**
 * The attribution of a list entry, when it has one: `[{ strategy, weight }]`, each
 * strategy once, summing exactly to the entry's weight (a resolved blend says where
 * every part of a weight came from; anything else is a corrupted input).
 */
const readAttribution = (item: unknown, index: number, weight: Decimal): Read<Attribution> => {
  const raw = isRecord(item) ? field(item, "attribution") : undefined
  if (raw === undefined) return NO_ATTRIBUTION
  const path = subPath(subPath("", index), "attribution")
  if (!Array.isArray(raw)) return invalid("targets", path, raw, "a list of { strategy, weight }")
  const out: Array<{ strategy: string; weight: Decimal }> = []
  let sum = ZERO
  for (const [i, part] of raw.entries()) {
    const strategy = isRecord(part) ? field(part, "strategy") : undefined
    if (typeof strategy !== "string" || strategy === "" || out.some((o) => o.strategy === strategy)) {
      return invalid("targets", subPath(subPath(path, i), "strategy"), strategy, "a strategy name, each once")
    }
    const w = readDecimal(
      "targets",
      subPath(subPath(path, i), "weight"),
      isRecord(part) ? field(part, "weight") : undefined,
      fraction
    )
    if (Result.isFailure(w)) return passOn(w)
    out.push({ strategy, weight: w.success })
    sum = add(sum, w.success)
  }
  if (compare(sum, weight) !== 0) {
    return invalid("targets", path, sum.toFixed(), `attribution weights that sum to the weight ${weight.toFixed()}`)
  }
  return Result.succeed(out.sort((a, b) => byCodeUnits(a.strategy, b.strategy)))
}

/** Targets as input again (weights and attribution as exact strings): what a session or artifact stores. */
export const targetsInput = (targets: Targets) =>
  targets.weights.length === 0 ? [{ symbol: CASH, weight: "1" }] : targets.weights.map((t) => ({
    symbol: t.symbol,
    weight: t.weight.toFixed(),
    ...(t.attribution.length === 0
      ? {}
      : { attribution: t.attribution.map((a) => ({ strategy: a.strategy, weight: a.weight.toFixed() })) })
  }))

export const validateTargets = (input: unknown, policy: Policy): Read<Targets> => {
  const items = entries("targets", "", input, "symbol", "weight")
  if (Result.isFailure(items)) return passOn(items)
  if (items.success.length === 0) return noTargets("targets")
  const seen = new Set<string>()
  const weights: Array<Target> = []
  let total = ZERO
  let stated = ZERO
  for (let index = 0; index < items.success.length; index++) {
    const item = items.success[index]!
    const symbol = uniqueSymbol("targets", seen, item)
    if (Result.isFailure(symbol)) return passOn(symbol)
    if (policy.exclude.has(symbol.success)) {
      return invalid("targets", item.keyPath, item.key, "a symbol that the policy does not exclude")
    }
    const weight = readDecimal("targets", item, item.value, fraction)
    if (Result.isFailure(weight)) return passOn(weight)
    const attribution = Array.isArray(input) ? readAttribution(input[index], index, weight.success) : NO_ATTRIBUTION
    if (Result.isFailure(attribution)) return passOn(attribution)
    stated = add(stated, weight.success)
    if (symbol.success === CASH) continue
    weights.push({ symbol: symbol.success, weight: weight.success, attribution: attribution.success })
    total = add(total, weight.success)
  }
  if (stated.gt(ONE.plus(policy.weightTolerance))) {
    return invalid(
      "targets",
      "sum of weights",
      stated.toFixed(),
      `weights that sum to at most 1 (tolerance ${policy.weightTolerance.toFixed()})`
    )
  }
  const cash = total.gte(ONE) ? ZERO : ONE.minus(total)
  return Result.succeed({ weights: weights.sort(bySymbol), total, cash })
}
