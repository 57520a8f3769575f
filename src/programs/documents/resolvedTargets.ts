/**
 * Resolved targets: an account's weights, each with its attribution, and how they came about
 * (the regime and its indicators, momentum rankings, substitutions, warnings).
 * `rebalance targets --json` prints it and every run keeps it as its targets.json artifact.
 */
import * as Schema from "effect/Schema"
import type { Resolved } from "../../effects/targets/resolve.ts"
import { AttributionJson } from "../../formats/attribution.ts"
import { ComputedDecimalText } from "../../formats/decimal.ts"
import { primaryStrategy } from "../../kernel/strategies/blend.ts"
import { Regime, VolatilityMeasure } from "../../kernel/strategies/regime.ts"
import { NullWhenUnknown } from "./document.ts"

/** A weight, its primary strategy (null for plain targets) and every strategy's part (none for plain targets). */
const WeightDocument = Schema.Struct({
  symbol: Schema.String,
  weight: ComputedDecimalText,
  strategy: NullWhenUnknown(Schema.String),
  attribution: AttributionJson
})

/** The regime that chose the strategy, and the readings it was classified from. */
const RegimeDocument = Schema.Struct({
  regime: Regime,
  strategy: Schema.String,
  asOf: Schema.String,
  trend: Schema.Struct({
    symbol: Schema.String,
    date: Schema.String,
    close: ComputedDecimalText,
    sma: ComputedDecimalText,
    days: Schema.Number,
    up: Schema.Boolean
  }),
  volatility: Schema.Struct({
    measure: VolatilityMeasure,
    symbol: Schema.String,
    date: Schema.String,
    level: ComputedDecimalText,
    threshold: ComputedDecimalText,
    /** Daily returns measured (realized volatility only). */
    days: Schema.optionalKey(Schema.Number),
    high: Schema.Boolean
  })
})

/** A momentum strategy's ranking of its universe, best first. */
const MomentumDocument = Schema.Struct({
  strategy: Schema.String,
  ranking: Schema.Array(Schema.Struct({
    rank: Schema.Number,
    symbol: Schema.String,
    return: ComputedDecimalText,
    from: Schema.String,
    to: Schema.String,
    weight: ComputedDecimalText
  }))
})

const SubstitutionDocument = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  scale: ComputedDecimalText,
  weightMoved: ComputedDecimalText,
  weightAdded: ComputedDecimalText
})

export const ResolvedTargetsDocument = Schema.Struct({
  /** The day the targets were resolved for. */
  asOf: Schema.String,
  weights: Schema.Array(WeightDocument),
  total: ComputedDecimalText,
  cash: ComputedDecimalText,
  regime: NullWhenUnknown(RegimeDocument),
  momentum: Schema.Array(MomentumDocument),
  substitutions: Schema.Array(SubstitutionDocument),
  warnings: Schema.Array(Schema.String)
})
export type ResolvedTargetsDocument = typeof ResolvedTargetsDocument.Type

/** The resolved targets as their document tells them. */
export const resolvedTargetsDocument = (resolved: Resolved, asOf: string): ResolvedTargetsDocument => ({
  asOf,
  weights: resolved.targets.weights.map((t) => ({ ...t, strategy: primaryStrategy(t) })),
  total: resolved.targets.total,
  cash: resolved.targets.cash,
  regime: resolved.regime,
  momentum: (resolved.momentum ?? []).map((m) => ({
    strategy: m.name,
    ranking: m.ranking.map((r) => ({ ...r, from: r.from.date, to: r.to.date }))
  })),
  substitutions: resolved.substitutions,
  warnings: resolved.warnings
})
