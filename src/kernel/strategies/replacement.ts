/**
 * Replacement sets: named lists of symbol substitutions, e.g. an IRA that may not hold a
 * leveraged ETF holds its unleveraged index instead, `ira: [{ source: TQQQ, target: QQQ,
 * scale: 3 }]`. The scale keeps the exposure: 0.3 of TQQQ becomes 0.9 of QQQ.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { type Decimal, isPositive, ONE, sumOf, ZERO } from "../decimal.ts"
import { type DecimalRule, field, invalid, isRecord, join, type Read, readDecimal, readSymbol } from "../input.ts"
import type { Attribution, Target, Targets } from "../rebalance/targets.ts"
import { apportion, credit, type Gathered, gatheredTargets, gathering } from "./blend.ts"

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
export const FreedWeight = Schema.Literals(["reinvest", "cash"])
export type FreedWeight = typeof FreedWeight.Type

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
  /**
   * What the target received: weightMoved × scale, less its part of an excess (or, with
   * nothing kept to take it, plus its part of freed weight).
   */
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
export const validateReplacements = (input: unknown): Read<ReplacementSets> =>
  Result.gen(function*() {
    const sets = new Map<string, ReplacementSet>()
    if (input === undefined || input === null) return sets
    if (!isRecord(input)) return yield* invalid("replacements", "", input, `a map from set name to ${RULE}`)
    for (const key of Object.keys(input)) {
      const path = join("", key)
      const name = key.trim()
      if (name === "") return yield* invalid("replacements", path, key, "a set name (a non-empty string)")
      if (sets.has(name)) return yield* invalid("replacements", path, key, "each set name once (duplicate)")
      sets.set(name, yield* readSet(path, field(input, key)))
    }
    return sets
  })

const readSet = (path: string, value: unknown): Read<ReplacementSet> =>
  Result.gen(function*() {
    if (Array.isArray(value)) return { rules: yield* readRules(path, value), freed: "reinvest" as const }
    if (!isRecord(value)) return yield* invalid("replacements", path, value, `${RULE}, or { rules, freed }`)
    yield* onlyFields(path, value, SET_FIELDS, "a replacement set field")
    const rawFreed = field(value, "freed")
    const freed = FreedWeight.literals.find((f) => f === rawFreed)
    if (rawFreed !== undefined && freed === undefined) {
      return yield* invalid("replacements", join(path, "freed"), rawFreed, FreedWeight.literals.join(" or "))
    }
    return { rules: yield* readRules(join(path, "rules"), field(value, "rules")), freed: freed ?? "reinvest" }
  })

/** A field other than `fields` is an error: a typo must not pass silently. */
const onlyFields = (
  path: string,
  value: Record<string, unknown>,
  fields: ReadonlyArray<string>,
  what: string
): Read<void> => {
  const unknown = Object.keys(value).find((key) => !fields.includes(key))
  return unknown === undefined
    ? Result.void
    : invalid("replacements", join(path, unknown), unknown, `${what} (${fields.join(", ")})`)
}

const readRules = (path: string, value: unknown): Read<ReadonlyArray<Replacement>> =>
  Result.gen(function*() {
    if (!Array.isArray(value)) return yield* invalid("replacements", path, value, RULE)
    const rules: Array<Replacement> = []
    const sources = new Set<string>()
    for (let i = 0; i < value.length; i++) {
      const rule = yield* readRule(join(path, i), value[i], sources)
      sources.add(rule.source)
      rules.push(rule)
    }
    return rules
  })

/** One rule; its source must not be one of `sources` (those of the rules before it). */
const readRule = (at: string, item: unknown, sources: ReadonlySet<string>): Read<Replacement> =>
  Result.gen(function*() {
    if (!isRecord(item)) return yield* invalid("replacements", at, item, "an object with source, target and scale")
    yield* onlyFields(at, item, RULE_FIELDS, "a replacement field")
    const source = yield* readSymbol("replacements", join(at, "source"), field(item, "source"))
    if (sources.has(source)) {
      const duplicate = "each source once per set (duplicate)"
      return yield* invalid("replacements", join(at, "source"), field(item, "source"), duplicate)
    }
    const target = yield* readSymbol("replacements", join(at, "target"), field(item, "target"))
    if (target === source) {
      return yield* invalid(
        "replacements",
        join(at, "target"),
        field(item, "target"),
        "a target different from the source"
      )
    }
    const rawScale = field(item, "scale")
    const scale = rawScale === undefined
      ? ONE
      : yield* readDecimal("replacements", join(at, "scale"), rawScale, positive)
    return { source, target, scale }
  })

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
  const matched = matches(targets, set)
  if (matched.length === 0) return { targets, substitutions: [] }
  const sources = new Set(matched.map((m) => m.rule.source))
  const kept = targets.weights.filter((t) => !sources.has(t.symbol))
  const weights = keepTotal(sumOf(targets.weights.map((t) => t.weight)), kept, matched, set.freed)
  const merged: Gathered = new Map()
  const give = (symbol: string, weight: Decimal, attribution: Attribution): void => {
    const m = gathering(merged, symbol)
    m.weight = m.weight.plus(weight)
    for (const a of attribution) credit(m.attribution, a.strategy, a.weight)
  }
  for (let i = 0; i < kept.length; i++) {
    const t = kept[i] as Target
    const weight = weights.kept[i] as Decimal
    give(t.symbol, weight, weight.eq(t.weight) ? t.attribution : rescale(t.attribution, weight))
  }
  const substitutions: Array<Substitution> = []
  for (let i = 0; i < matched.length; i++) {
    const { rule, from } = matched[i] as Match
    const weight = weights.added[i] as Decimal
    const scaled = from.attribution.map((a) => ({ strategy: a.strategy, weight: a.weight.times(rule.scale) }))
    give(rule.target, weight, weight.eq(from.weight.times(rule.scale)) ? scaled : rescale(scaled, weight))
    substitutions.push({
      source: rule.source,
      target: rule.target,
      scale: rule.scale,
      weightMoved: from.weight,
      weightAdded: weight
    })
  }
  return { targets: gatheredTargets(merged), substitutions }
}

/** A rule whose source is targeted, with that target. */
interface Match {
  readonly rule: Replacement
  readonly from: Target
}

/** The rules whose source is targeted, in the set's order; of two rules for one source, the first. */
const matches = (targets: Targets, set: ReplacementSet): ReadonlyArray<Match> => {
  const bySymbol = new Map(targets.weights.map((t) => [t.symbol, t] as const))
  const matched: Array<Match> = []
  const sources = new Set<string>()
  for (const rule of set.rules) {
    const from = bySymbol.get(rule.source)
    if (from === undefined || sources.has(rule.source)) continue
    matched.push({ rule, from })
    sources.add(rule.source)
  }
  return matched
}

/**
 * The kept weights and the weights the targets receive (source × scale), adjusted so the sum
 * stays at the original total: an excess taken from the kept weights (or, past them, from
 * the moved ones), freed weight given to them, unless it stays in cash.
 */
const keepTotal = (
  original: Decimal,
  kept: ReadonlyArray<Target>,
  matched: ReadonlyArray<Match>,
  freed: FreedWeight
): { readonly kept: ReadonlyArray<Decimal>; readonly added: ReadonlyArray<Decimal> } => {
  const keptWeights = kept.map((t) => t.weight)
  const added = matched.map((m) => m.from.weight.times(m.rule.scale))
  const keptSum = sumOf(keptWeights)
  const addedSum = sumOf(added)
  const after = keptSum.plus(addedSum)
  if (!(after.gt(original) || (after.lt(original) && freed === "reinvest"))) return { kept: keptWeights, added }
  if (addedSum.lte(original) && isPositive(keptSum)) {
    return { kept: apportion(original.minus(addedSum), keptWeights), added }
  }
  return { kept: kept.map(() => ZERO), added: apportion(original, added) }
}

/** An attribution scaled to a new weight, in proportion, summing to it exactly. */
const rescale = (attribution: Attribution, weight: Decimal): Attribution => {
  if (attribution.length === 0) return attribution
  const parts = apportion(weight, attribution.map((a) => a.weight))
  return attribution.map((a, i) => ({ strategy: a.strategy, weight: parts[i] as Decimal }))
}
