/**
 * Replacement sets: named lists of symbol substitutions, e.g. an IRA that may not hold a
 * leveraged ETF holds its unleveraged index instead, `ira: [{ source: TQQQ, target: QQQ,
 * scale: 3 }]`. The scale keeps the exposure: 0.3 of TQQQ becomes 0.9 of QQQ.
 */
import * as Result from "effect/Result"
import { type Decimal, isPositive, ONE, ZERO } from "../decimal.ts"
import {
  type DecimalRule,
  field,
  invalid,
  isRecord,
  join,
  passOn,
  type Read,
  readDecimal,
  readSymbol
} from "../input.ts"
import type { Attribution, Target, Targets } from "../rebalance/targets.ts"
import { apportion, makeTargets, sortAttribution } from "./blend.ts"

export interface Replacement {
  readonly source: string
  readonly target: string
  /** Target weight per unit of source weight (> 0; default 1). */
  readonly scale: Decimal
}

/**
 * Where weight freed by a scale below 1 goes: `reinvest` (the default) keeps the total, giving
 * it to the other targets; `cash` leaves it in cash, for a leveraged substitute whose smaller
 * weight holds the same exposure.
 */
export type FreedWeight = "reinvest" | "cash"

export const FREED_WEIGHT: ReadonlyArray<FreedWeight> = ["reinvest", "cash"]

export interface ReplacementSet {
  /** In the order written. */
  readonly rules: ReadonlyArray<Replacement>
  readonly freed: FreedWeight
}

/** Set name → its rules. */
export type ReplacementSets = ReadonlyMap<string, ReplacementSet>

/** One rule that matched: what it took from the source and what it gave the target. */
export interface Substitution {
  readonly source: string
  readonly target: string
  readonly scale: Decimal
  /** The source's weight, all of which left it. */
  readonly weightMoved: Decimal
  /** What the target received: weightMoved × scale, less its part of an excess (or, with nothing kept to take it, plus its part of freed weight). */
  readonly weightAdded: Decimal
}

export interface Replaced {
  readonly targets: Targets
  /** In the order of the set's rules; only rules whose source was targeted. */
  readonly substitutions: ReadonlyArray<Substitution>
}

const RULE_FIELDS = ["source", "target", "scale"] as const
const SET_FIELDS = ["rules", "freed"] as const
const RULE = "a list of { source, target, scale }"
const positive: DecimalRule = { expected: "a positive decimal", accepts: isPositive }

/**
 * Validates `{ setName: [{ source, target, scale? }, …], … }` (source `replacements`); a set
 * may also be written `{ rules: [...], freed: reinvest | cash }` to say where freed weight
 * goes (default `reinvest`). Nothing (null or absent) is no sets. Errors: a set that is
 * neither, a set or rule field other than those (a typo must not pass silently), an invalid
 * symbol, a target equal to its source, a scale that is not a positive decimal, and a source
 * named twice in a set (which of the two would apply is not obvious). A set name is trimmed
 * and may appear once.
 */
export const validateReplacements = (input: unknown): Read<ReplacementSets> => {
  const sets = new Map<string, ReplacementSet>()
  if (input === undefined || input === null) return Result.succeed(sets)
  if (!isRecord(input)) return invalid("replacements", "", input, `a map from set name to ${RULE}`)
  for (const key of Object.keys(input)) {
    const path = join("", key)
    const name = key.trim()
    if (name === "") return invalid("replacements", path, key, "a set name (a non-empty string)")
    if (sets.has(name)) return invalid("replacements", path, key, "each set name once (duplicate)")
    const set = readSet(path, field(input, key))
    if (Result.isFailure(set)) return passOn(set)
    sets.set(name, set.success)
  }
  return Result.succeed(sets)
}

const readSet = (path: string, value: unknown): Read<ReplacementSet> => {
  if (Array.isArray(value)) {
    const rules = readRules(path, value)
    return Result.isFailure(rules) ? passOn(rules) : Result.succeed({ rules: rules.success, freed: "reinvest" })
  }
  if (!isRecord(value)) return invalid("replacements", path, value, `${RULE}, or { rules, freed }`)
  for (const key of Object.keys(value)) {
    if (!(SET_FIELDS as ReadonlyArray<string>).includes(key)) {
      return invalid("replacements", join(path, key), key, `a replacement set field (${SET_FIELDS.join(", ")})`)
    }
  }
  const rawFreed = field(value, "freed")
  const freed = FREED_WEIGHT.find((f) => f === rawFreed)
  if (rawFreed !== undefined && freed === undefined) {
    return invalid("replacements", join(path, "freed"), rawFreed, FREED_WEIGHT.join(" or "))
  }
  const rules = readRules(join(path, "rules"), field(value, "rules"))
  return Result.isFailure(rules) ? passOn(rules) : Result.succeed({ rules: rules.success, freed: freed ?? "reinvest" })
}

const readRules = (path: string, value: unknown): Read<ReadonlyArray<Replacement>> => {
  if (!Array.isArray(value)) return invalid("replacements", path, value, RULE)
  const rules: Array<Replacement> = []
  const sources = new Set<string>()
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i]
    const at = join(path, i)
    if (!isRecord(item)) return invalid("replacements", at, item, "an object with source, target and scale")
    for (const key of Object.keys(item)) {
      if (!(RULE_FIELDS as ReadonlyArray<string>).includes(key)) {
        return invalid("replacements", join(at, key), key, `a replacement field (${RULE_FIELDS.join(", ")})`)
      }
    }
    const source = readSymbol("replacements", join(at, "source"), field(item, "source"))
    if (Result.isFailure(source)) return passOn(source)
    if (sources.has(source.success)) {
      return invalid("replacements", join(at, "source"), field(item, "source"), "each source once per set (duplicate)")
    }
    sources.add(source.success)
    const target = readSymbol("replacements", join(at, "target"), field(item, "target"))
    if (Result.isFailure(target)) return passOn(target)
    if (target.success === source.success) {
      return invalid("replacements", join(at, "target"), field(item, "target"), "a target different from the source")
    }
    const rawScale = field(item, "scale")
    const scale = rawScale === undefined
      ? Result.succeed(ONE)
      : readDecimal("replacements", join(at, "scale"), rawScale, positive)
    if (Result.isFailure(scale)) return passOn(scale)
    rules.push({ source: source.success, target: target.success, scale: scale.success })
  }
  return Result.succeed(rules)
}

/** A named set; an unknown name is an error that lists the known ones. */
export const replacementSet = (sets: ReplacementSets, name: string): Read<ReplacementSet> => {
  const set = sets.get(name.trim())
  if (set !== undefined) return Result.succeed(set)
  const known = [...sets.keys()].sort()
  return invalid(
    "replacements",
    join("", name),
    name,
    known.length === 0
      ? "a defined replacement set (none are defined)"
      : `a defined replacement set (${known.join(", ")})`
  )
}

/**
 * Applies a set to targets. A rule matches when its source is targeted (at any weight): the
 * source leaves the targets and its weight × scale goes to the target symbol, added to the
 * target's own weight if it has one. Attribution follows the moved weight, scaled.
 *
 * Rules apply once and simultaneously, to the original weights, never transitively: with
 * A→B and B→C in one set, A's weight goes to B (and stays there) while B's original weight
 * goes to C. A→B with B→A swaps them. Of two rules for one source (only possible for rules
 * that were not validated), the first applies.
 *
 * The sum stays exactly at the original total: a replacement changes what is held, not how
 * much is invested.
 * - An excess (with any scale above 1 the moved weights push the sum up: the leverage given
 *   up is paid for by the other weights) is taken from the weights that were not moved (the
 *   kept symbols' own weights, a target's own weight included) in proportion to them; if even
 *   all of those do not cover it, they go to 0 (and stay targeted, at 0) and the moved weights
 *   are scaled down to the original total.
 * - Freed weight (a scale below 1) goes to the kept weights in proportion to them, mirroring
 *   the excess; with no kept weight, the moved weights are scaled up to the original total.
 *   With `freed: "cash"` it stays in cash instead (the exposure is what is kept), so the sum
 *   is then min(original, kept + Σ moved × scale).
 * No weight ever goes negative; proportional shares are rounded down at the division places
 * and the remainder goes to the largest part, so sums stay exact.
 *
 * Targets whose attribution is empty (a plain targets file) stay unattributed; an attributed
 * target's attribution keeps summing to its weight exactly.
 *
 * No match at all is the identity (the same targets, no substitutions). A set without chains
 * (no target that is also a source) is idempotent: applying it twice is applying it once.
 */
export const applyReplacements = (targets: Targets, set: ReplacementSet): Replaced => {
  const bySymbol = new Map(targets.weights.map((t) => [t.symbol, t] as const))
  const matched: Array<{ readonly rule: Replacement; readonly from: Target }> = []
  const sources = new Set<string>()
  for (const rule of set.rules) {
    const from = bySymbol.get(rule.source)
    if (from === undefined || sources.has(rule.source)) continue
    matched.push({ rule, from })
    sources.add(rule.source)
  }
  if (matched.length === 0) return { targets, substitutions: [] }

  let original = ZERO
  for (const t of targets.weights) original = original.plus(t.weight)
  const kept = targets.weights.filter((t) => !sources.has(t.symbol))
  let keptWeights: ReadonlyArray<Decimal> = kept.map((t) => t.weight)
  let added: ReadonlyArray<Decimal> = matched.map((m) => m.from.weight.times(m.rule.scale))
  const keptSum = sum(keptWeights)
  const addedSum = sum(added)
  const after = keptSum.plus(addedSum)
  if (after.gt(original) || (after.lt(original) && set.freed === "reinvest")) {
    if (addedSum.lte(original) && isPositive(keptSum)) {
      keptWeights = apportion(original.minus(addedSum), keptWeights)
    } else {
      keptWeights = kept.map(() => ZERO)
      added = apportion(original, added)
    }
  }

  const merged = new Map<string, { weight: Decimal; readonly attribution: Map<string, Decimal> }>()
  const credit = (symbol: string, weight: Decimal, attribution: Attribution): void => {
    let m = merged.get(symbol)
    if (m === undefined) {
      m = { weight: ZERO, attribution: new Map() }
      merged.set(symbol, m)
    }
    m.weight = m.weight.plus(weight)
    for (const a of attribution) {
      const before = m.attribution.get(a.strategy)
      m.attribution.set(a.strategy, before === undefined ? a.weight : before.plus(a.weight))
    }
  }
  for (let i = 0; i < kept.length; i++) {
    const t = kept[i] as Target
    const weight = keptWeights[i] as Decimal
    credit(t.symbol, weight, weight.eq(t.weight) ? t.attribution : rescale(t.attribution, weight))
  }
  const substitutions: Array<Substitution> = []
  for (let i = 0; i < matched.length; i++) {
    const { rule, from } = matched[i] as (typeof matched)[number]
    const weight = added[i] as Decimal
    const scaled = from.attribution.map((a) => ({ strategy: a.strategy, weight: a.weight.times(rule.scale) }))
    credit(rule.target, weight, weight.eq(from.weight.times(rule.scale)) ? scaled : rescale(scaled, weight))
    substitutions.push({
      source: rule.source,
      target: rule.target,
      scale: rule.scale,
      weightMoved: from.weight,
      weightAdded: weight
    })
  }
  const weights: Array<Target> = []
  for (const [symbol, m] of merged) {
    weights.push({ symbol, weight: m.weight, attribution: sortAttribution(m.attribution) })
  }
  return { targets: makeTargets(weights), substitutions }
}

/** Applies the named set: `replacementSet` then `applyReplacements`. */
export const applyReplacementSet = (targets: Targets, sets: ReplacementSets, name: string): Read<Replaced> => {
  const set = replacementSet(sets, name)
  return Result.isFailure(set) ? passOn(set) : Result.succeed(applyReplacements(targets, set.success))
}

const sum = (xs: ReadonlyArray<Decimal>): Decimal => xs.reduce((s, x) => s.plus(x), ZERO)

/** An attribution scaled to a new weight, in proportion, summing to it exactly. */
const rescale = (attribution: Attribution, weight: Decimal): Attribution => {
  if (attribution.length === 0) return attribution
  const parts = apportion(weight, attribution.map((a) => a.weight))
  return attribution.map((a, i) => ({ strategy: a.strategy, weight: parts[i] as Decimal }))
}
