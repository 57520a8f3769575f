/**
 * Strategy blend: several strategies, each with its own target weights and a share of the
 * account, combined into one set of targets. Every combined weight says which strategies it
 * came from (its attribution), so a run can explain each order by strategy.
 *
 * Also home of what every targets source shares: strategy names, strategy warnings and the
 * exact apportioning of a total over parts (used by replacement sets and momentum).
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { Decimal, type DecimalInput, format, isDecimal, isPositive, isZero, ONE, sumOf, ZERO } from "../decimal.ts"
import { type InputSource, show } from "../errors.ts"
import { byCodeUnits, type DecimalRule, invalid, isRecord, join, type Read, readDecimal } from "../input.ts"
import { ROUNDING_TOLERANCE } from "../rebalance/policy.ts"
import { bySymbol } from "../rebalance/snapshot.ts"
import type { Attribution, Target, Targets } from "../rebalance/targets.ts"

// ---------------------------------------------------------------------------------------
// Shared by the targets sources
// ---------------------------------------------------------------------------------------

/** Separates an outer from an inner strategy in a nested blend's attribution (`outer/inner`). */
export const NESTING = "/"

/**
 * A strategy name: a non-empty string, surrounding spaces trimmed, without `/` (which would
 * make a nested attribution such as `outer/inner` ambiguous).
 */
export const readStrategyName = (source: InputSource, path: string, value: unknown): Read<string> => {
  const expected = `a strategy name (a non-empty string without "${NESTING}")`
  if (typeof value !== "string") return invalid(source, path, value, expected)
  const name = value.trim()
  return name === "" || name.includes(NESTING) ? invalid(source, path, value, expected) : Result.succeed(name)
}

export const StrategyWarningCode = Schema.Literals([
  /** A blended strategy failed; with `onStrategyFailure: "cash"` its share stays in cash. */
  "STRATEGY_FAILED",
  /** A momentum strategy found no symbol it may hold: it holds cash. */
  "NO_POSITIVE_MOMENTUM"
])
export type StrategyWarningCode = typeof StrategyWarningCode.Type

/** Like the plan's warnings (warnings.ts), but about a strategy rather than a symbol. */
export interface StrategyWarning {
  readonly code: StrategyWarningCode
  readonly strategy: string
  readonly message: string
}

/** 10^-DP: the last place the kernel's divisions keep. */
const PLACES = Decimal.DP
const ULP: Decimal = new Decimal(`1e-${String(PLACES)}`)

/** a ÷ b rounded down (never up) at the kernel's division places; b must be positive. */
export const divideDown = (a: Decimal, b: Decimal): Decimal => {
  const q = a.div(b)
  return q.times(b).gt(a) ? q.minus(ULP) : q
}

/**
 * Splits `total` (≥ 0) over `parts` (each ≥ 0) in proportion to them, exactly: every share is
 * rounded down at the division places and what rounding leaves over (under 1e-12 per part)
 * goes to the largest part (the first of equals), so the shares sum to `total` exactly and
 * none is negative. With parts that sum to zero, everything goes to the first part. One
 * division per part (not one shared factor: a rounded factor times a large part would lose
 * more than the last place).
 */
export const apportion = (total: Decimal, parts: ReadonlyArray<Decimal>): ReadonlyArray<Decimal> => {
  if (parts.length === 0) return []
  const sum = sumOf(parts)
  let largest = 0
  for (let i = 0; i < parts.length; i++) if ((parts[i] as Decimal).gt(parts[largest] as Decimal)) largest = i
  const shares: Array<Decimal> = new Array<Decimal>(parts.length)
  if (isZero(sum)) {
    shares.fill(ZERO)
    largest = 0
  } else {
    for (let i = 0; i < parts.length; i++) shares[i] = divideDown((parts[i] as Decimal).times(total), sum)
  }
  shares[largest] = (shares[largest] as Decimal).plus(total.minus(sumOf(shares)))
  return shares
}

/** Weight per symbol gathered from several parts (strategies, replacements), with where each part came from. */
export type Gathered = Map<string, Gathering>

/** One symbol's weight so far, and each strategy's part of it. */
export interface Gathering {
  weight: Decimal
  readonly attribution: Map<string, Decimal>
}

/** The gathering of one symbol, started at 0 if it has none yet. */
export const gathering = (gathered: Gathered, symbol: string): Gathering => {
  let g = gathered.get(symbol)
  if (g === undefined) {
    g = { weight: ZERO, attribution: new Map() }
    gathered.set(symbol, g)
  }
  return g
}

/** Adds weight to a strategy's part of an attribution. */
export const credit = (attribution: Map<string, Decimal>, strategy: string, weight: Decimal): void => {
  const before = attribution.get(strategy)
  attribution.set(strategy, before === undefined ? weight : before.plus(weight))
}

/** The gathered weights as targets, each attribution in its canonical order. */
export const gatheredTargets = (gathered: Gathered): Targets => {
  const weights: Array<Target> = []
  for (const [symbol, g] of gathered) {
    weights.push({ symbol, weight: g.weight, attribution: sortAttribution(g.attribution) })
  }
  return makeTargets(weights)
}

/** Attribution in its canonical order: by strategy name (code units), each name once. */
const sortAttribution = (byStrategy: ReadonlyMap<string, Decimal>): Attribution =>
  [...byStrategy.entries()]
    .sort(([a], [b]) => byCodeUnits(a, b))
    .map(([strategy, weight]) => ({ strategy, weight }))

/** Targets from weights: sorted by symbol, with their total and the cash left (never below 0). */
export const makeTargets = (weights: ReadonlyArray<Target>): Targets => {
  const total = sumOf(weights.map((t) => t.weight))
  return { weights: [...weights].sort(bySymbol), total, cash: total.gte(ONE) ? ZERO : ONE.minus(total) }
}

/**
 * The strategy a target mostly comes from: its largest contributor, the first by name among
 * equals. Undefined when the target has no attribution (a plain targets file).
 */
export const primaryStrategy = (target: { readonly attribution: Attribution }): string | undefined => {
  let best: Attribution[number] | undefined
  for (const a of target.attribution) {
    if (best === undefined || a.weight.gt(best.weight) || (a.weight.eq(best.weight) && a.strategy < best.strategy)) {
      best = a
    }
  }
  return best?.strategy
}

// ---------------------------------------------------------------------------------------
// The blend
// ---------------------------------------------------------------------------------------

/** What a failed strategy does to its blend: fail it, or leave its share in cash (with a warning). */
export const OnStrategyFailure = Schema.Literals(["fail", "cash"])
export type OnStrategyFailure = typeof OnStrategyFailure.Type

export interface BlendOptions {
  /** How far Σ shares may be from 1 (shares written to a few places, e.g. thirds). */
  readonly shareTolerance: Decimal
  /** A failed strategy fails the blend (`fail`), or leaves its share in cash with a warning (`cash`). */
  readonly onStrategyFailure: OnStrategyFailure
}

/**
 * Defaults: failing loudly is the safe choice for money; the tolerance is the targets' default
 * `weightTolerance`, tight enough that only rounding in written shares passes.
 */
export const BlendDefaults: BlendOptions = {
  shareTolerance: ROUNDING_TOLERANCE,
  onStrategyFailure: "fail"
}

/** One strategy of a blend: its weights, or why it has none (e.g. its source could not be read). */
export type BlendStrategy = {
  readonly name: string
  /** A fraction in (0, 1]; untrusted (from a config), so it is validated here. */
  readonly share: Decimal | DecimalInput
} & ({ readonly targets: Targets } | { readonly failed: string })

export interface Blend {
  readonly targets: Targets
  readonly warnings: ReadonlyArray<StrategyWarning>
}

const shareRule: DecimalRule = {
  expected: "a share greater than 0 and at most 1",
  accepts: (d) => isPositive(d) && d.lte(ONE)
}

/**
 * The part of a blend its configuration decides, checked before any strategy is loaded:
 * names (valid, each once) and shares (each in (0, 1], summing to 1 within the tolerance).
 * The shares, in order. Errors as `blend`'s.
 */
export const validateShares = (
  strategies: ReadonlyArray<{ readonly name: string; readonly share: Decimal | DecimalInput }>,
  options: Partial<BlendOptions> = {}
): Read<ReadonlyArray<Decimal>> =>
  Result.gen(function*() {
    const o: BlendOptions = { ...BlendDefaults, ...options }
    const names = new Set<string>()
    const shares: Array<Decimal> = []
    let shareSum = ZERO
    for (let i = 0; i < strategies.length; i++) {
      const s: unknown = strategies[i]
      if (!isRecord(s)) {
        return yield* invalid("strategies", join("", i), s, "a strategy with name, share and targets (or failed)")
      }
      const at = join(join("", i), "name")
      const name = yield* readStrategyName("strategies", at, s["name"])
      if (names.has(name)) return yield* invalid("strategies", at, s["name"], "each strategy name once (duplicate)")
      names.add(name)
      const raw: unknown = s["share"]
      const share = yield* readDecimal(
        "strategies",
        join(join("", name), "share"),
        isDecimal(raw) ? format(raw) : raw,
        shareRule
      )
      shares.push(share)
      shareSum = shareSum.plus(share)
    }
    if (shareSum.minus(ONE).abs().gt(o.shareTolerance)) {
      const expected = `shares that sum to 1 (tolerance ${format(o.shareTolerance)})`
      return yield* invalid("strategies", "sum of shares", format(shareSum), expected)
    }
    return shares
  })

/** What `blend` expects when, with `onStrategyFailure: "cash"`, every strategy failed. */
export const SOME_STRATEGY =
  "at least one strategy that produced targets (onStrategyFailure: cash keeps a failed strategy's share in cash, never the whole account)"

/**
 * Combines strategies: weight(symbol) = Σ share × strategy weight, so overlapping symbols add
 * up and Σ combined = Σ share × Σ strategy weights, exactly (no division anywhere).
 *
 * Attribution: a strategy contributes share × weight under its own name. Targets that carry
 * attribution already (a nested blend) keep it, renamed `outer/inner` and scaled by the share;
 * any part of such a weight its attribution does not explain is attributed to the outer
 * strategy itself, so a target's attribution always sums to its weight exactly. A strategy
 * that names a symbol at weight 0 stays attributed to it (at 0).
 *
 * Errors (source `strategies`): those of `validateShares` (an invalid or repeated name
 * `[i].name`, a share outside (0, 1] `NAME.share`, `sum of shares`; failed strategies' shares
 * count); with `onStrategyFailure: "fail"` the first failed strategy (`NAME`, its reason as
 * the value); with `"cash"`, every strategy failed (path empty, expected `SOME_STRATEGY`): a
 * warning must never stand for selling the whole account.
 */
export const blend = (strategies: ReadonlyArray<BlendStrategy>, options: Partial<BlendOptions> = {}): Read<Blend> =>
  Result.gen(function*() {
    const o: BlendOptions = { ...BlendDefaults, ...options }
    const shares = yield* validateShares(strategies, o)
    if (o.onStrategyFailure === "cash" && strategies.length > 0 && strategies.every((s) => "failed" in s)) {
      const failed = `${String(strategies.length)} of ${String(strategies.length)} failed`
      return yield* invalid("strategies", "", failed, SOME_STRATEGY)
    }
    const warnings: Array<StrategyWarning> = []
    const combined: Gathered = new Map()
    for (let i = 0; i < strategies.length; i++) {
      const s = strategies[i] as BlendStrategy
      const name = s.name.trim()
      const share = shares[i] as Decimal
      if (!("failed" in s)) {
        for (const t of s.targets.weights) contribute(combined, t, name, share)
        continue
      }
      if (o.onStrategyFailure === "fail") {
        const expected = `a strategy that produced targets (it failed; onStrategyFailure: cash would keep its share ${
          format(share)
        } in cash)`
        return yield* invalid("strategies", join("", name), s.failed, expected)
      }
      warnings.push({
        code: "STRATEGY_FAILED",
        strategy: name,
        message: `strategy ${name} failed (${typeof s.failed === "string" ? s.failed : show(s.failed)}): its share ${
          format(share)
        } stays in cash`
      })
    }
    return { targets: gatheredTargets(combined), warnings }
  })

/** Adds share × one strategy target to the combined weights, with its attribution. */
const contribute = (combined: Gathered, t: Target, name: string, share: Decimal): void => {
  const c = gathering(combined, t.symbol)
  c.weight = c.weight.plus(share.times(t.weight))
  if (t.attribution.length === 0) {
    credit(c.attribution, name, share.times(t.weight))
    return
  }
  let explained = ZERO
  for (const a of t.attribution) {
    credit(c.attribution, `${name}${NESTING}${a.strategy}`, share.times(a.weight))
    explained = explained.plus(a.weight)
  }
  const rest = t.weight.minus(explained)
  if (!isZero(rest)) credit(c.attribution, name, share.times(rest))
}
