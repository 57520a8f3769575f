/**
 * Keel's kernel: pure, total, exact. weights → plan → deltas → orders.
 * No I/O, no clock, no randomness; every input yields a result or an InvalidInput.
 */
export * from "./decimal.ts"
export * from "./errors.ts"
export { MAX_SYMBOL_LENGTH, type Read } from "./input.ts"
export * from "./pnl/strategyPnl.ts"
export * from "./rebalance/allocation.ts"
export * from "./rebalance/deltas.ts"
export * from "./rebalance/orders.ts"
export * from "./rebalance/plan.ts"
export * from "./rebalance/policy.ts"
export * from "./rebalance/prices.ts"
export * from "./rebalance/rebalance.ts"
export * from "./rebalance/reconcile.ts"
export * from "./rebalance/snapshot.ts"
export * from "./rebalance/targets.ts"
export * from "./rebalance/warnings.ts"
export * from "./strategies/blend.ts"
export * from "./strategies/history.ts"
export * from "./strategies/momentum.ts"
export * from "./strategies/regime.ts"
export * from "./strategies/replacement.ts"
