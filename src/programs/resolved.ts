/**
 * Resolved targets as one JSON document: `rebalance targets --json` prints it and every
 * run keeps it as its targets.json artifact. Every decimal is an exact string.
 */
import type { Resolved } from "../effects/targets/resolve.ts"
import { format } from "../kernel/decimal.ts"
import { primaryStrategy } from "../kernel/strategies/blend.ts"

/** The resolved targets as one JSON document (also the run's targets.json artifact). */
export const targetsJson = (resolved: Resolved, asOf: string) => ({
  asOf,
  weights: resolved.targets.weights.map((t) => ({
    symbol: t.symbol,
    weight: format(t.weight),
    strategy: primaryStrategy(t) ?? null,
    attribution: t.attribution.map((a) => ({ strategy: a.strategy, weight: format(a.weight) }))
  })),
  total: format(resolved.targets.total),
  cash: format(resolved.targets.cash),
  regime: resolved.regime === undefined
    ? null
    : {
      regime: resolved.regime.regime,
      strategy: resolved.regime.strategy,
      asOf: resolved.regime.asOf,
      trend: {
        ...resolved.regime.trend,
        close: format(resolved.regime.trend.close),
        sma: format(resolved.regime.trend.sma)
      },
      volatility: {
        ...resolved.regime.volatility,
        level: format(resolved.regime.volatility.level),
        threshold: format(resolved.regime.volatility.threshold)
      }
    },
  momentum: (resolved.momentum ?? []).map((m) => ({
    strategy: m.name,
    ranking: m.ranking.map((r) => ({
      rank: r.rank,
      symbol: r.symbol,
      return: format(r.return),
      from: r.from.date,
      to: r.to.date,
      weight: format(r.weight)
    }))
  })),
  substitutions: resolved.substitutions.map((s) => ({
    source: s.source,
    target: s.target,
    scale: format(s.scale),
    weightMoved: format(s.weightMoved),
    weightAdded: format(s.weightAdded)
  })),
  warnings: resolved.warnings
})
