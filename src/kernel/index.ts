/**
 * Keel's kernel: pure, total, exact. weights → plan → deltas → orders.
 * No I/O, no clock, no randomness; every input yields a result or an InvalidInput.
 */
export * from "./allocation.ts"
export * from "./blend.ts"
export * from "./decimal.ts"
export * from "./deltas.ts"
export * from "./errors.ts"
export * from "./history.ts"
export type { Read } from "./input.ts"
export * from "./momentum.ts"
export * from "./orders.ts"
export * from "./plan.ts"
export * from "./policy.ts"
export * from "./prices.ts"
export * from "./rebalance.ts"
export * from "./regime.ts"
export * from "./replacement.ts"
export * from "./snapshot.ts"
export * from "./strategyPnl.ts"
export * from "./targets.ts"
export * from "./warnings.ts"
