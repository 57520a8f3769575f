/**
 * Targets: symbol → weight, a fraction of total equity. The weights sum to at most 1;
 * the remainder is the cash target.
 */
import * as Result from "effect/Result"
import { type Decimal, type DecimalInput, ONE, ZERO } from "./decimal.ts"
import { entries, fraction, invalid, type Read, readDecimal, uniqueSymbol, passOn } from "./input.ts"
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

export type TargetsInput =
  | ReadonlyArray<{ readonly symbol: string; readonly weight: DecimalInput }>
  | Readonly<Record<string, DecimalInput>>

export const validateTargets = (input: unknown, policy: Policy): Read<Targets> => {
  const items = entries("targets", "", input, "symbol", "weight")
  if (Result.isFailure(items)) return passOn(items)
  const seen = new Set<string>()
  const weights: Array<Target> = []
  let total = ZERO
  for (const item of items.success) {
    const symbol = uniqueSymbol("targets", seen, item)
    if (Result.isFailure(symbol)) return passOn(symbol)
    if (policy.exclude.has(symbol.success)) {
      return invalid("targets", item.keyPath, item.key, "a symbol that the policy does not exclude")
    }
    const weight = readDecimal("targets", item.path, item.value, fraction)
    if (Result.isFailure(weight)) return passOn(weight)
    weights.push({ symbol: symbol.success, weight: weight.success, attribution: [] })
    total = total.plus(weight.success)
  }
  if (total.gt(ONE.plus(policy.weightTolerance))) {
    return invalid("targets", "sum of weights", total.toFixed(), `weights that sum to at most 1 (tolerance ${policy.weightTolerance.toFixed()})`)
  }
  const cash = total.gte(ONE) ? ZERO : ONE.minus(total)
  return Result.succeed({ weights: weights.sort(bySymbol), total, cash })
}
