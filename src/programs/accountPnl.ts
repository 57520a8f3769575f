/**
 * Per-strategy paper P&L from the Store: every run of an account, oldest first, its fills
 * joined to their intents (phase, symbol, side) and, through them, to the attribution of the
 * order the run planned for that phase, symbol and side; then the kernel's `strategyPnl`.
 *
 * Which stored plan an order came from: sell-phase orders from the run's plan ("plan"),
 * buy-phase orders from its buy re-plan ("buy-replan", which is what the buys were sent
 * from), else from its plan. A fill that cannot be joined (no intent, no plan, no such order
 * in the plan, an unreadable plan) is still booked, without attribution, and a warning says
 * so: a buy then counts as unattributed, and a sell is split by holdings anyway.
 */
import * as Effect from "effect/Effect"
import { type OrderIntent, Store, type StoreError } from "../effects/Store.ts"
import { type Decimal, format, isPositive, parseDecimal } from "../kernel/decimal.ts"
import {
  type AttributedFill,
  type StrategyPnl,
  strategyPnl,
  type StrategyPnlOptions
} from "../kernel/pnl/strategyPnl.ts"
import type { Attribution } from "../kernel/rebalance/targets.ts"

export interface AttributedFills {
  /** In the order they happened: runs oldest first, each run's fills in recorded order. */
  readonly fills: ReadonlyArray<AttributedFill>
  /** Joins that failed (the fill is booked without attribution). */
  readonly warnings: ReadonlyArray<string>
}

export interface StrategyPnlReport extends StrategyPnl {
  readonly warnings: ReadonlyArray<string>
}

const key = (phase: string, symbol: string, side: string): string => JSON.stringify([phase, symbol, side])

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The attribution of a stored attribution list (`[{ strategy, weight }]`, weights as text), or undefined if it does not read. */
const readAttribution = (raw: unknown): Attribution | undefined => {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) return undefined
  const out: Array<{ strategy: string; weight: Decimal }> = []
  for (const part of raw as ReadonlyArray<unknown>) {
    if (!isRecord(part) || typeof part.strategy !== "string") return undefined
    const weight = parseDecimal(part.weight)
    if (typeof weight === "string") return undefined
    out.push({ strategy: part.strategy, weight })
  }
  return out
}

/** A stored plan's orders: (phase, symbol, side) → attribution; a string says why it does not read. */
export const planAttributions = (json: string): ReadonlyMap<string, Attribution> | string => {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return "it is not JSON"
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.orders)) return "it has no orders list"
  const out = new Map<string, Attribution>()
  for (const order of parsed.orders as ReadonlyArray<unknown>) {
    if (
      !isRecord(order) || typeof order.symbol !== "string" || typeof order.side !== "string" ||
      typeof order.phase !== "string"
    ) {
      return "an order has no symbol, side or phase"
    }
    const attribution = readAttribution(order.attribution)
    if (attribution === undefined) return `the attribution of ${order.symbol} does not read`
    out.set(key(order.phase, order.symbol, order.side), attribution)
  }
  return out
}

/**
 * The attribution of each of a run's intents, from its stored plans (sells from the plan,
 * buys from the buy re-plan when there is one), by client order id; plans that do not read
 * leave their intents out.
 */
export const intentAttributions = (runId: string): Effect.Effect<ReadonlyMap<string, Attribution>, StoreError, Store> =>
  Effect.gen(function*() {
    const store = yield* Store
    const plans = new Map<string, ReadonlyMap<string, Attribution> | string>()
    for (const p of yield* store.plans(runId)) plans.set(p.phase, planAttributions(p.json))
    const out = new Map<string, Attribution>()
    for (const intent of yield* store.intents(runId)) {
      const plan = plans.get(intent.phase === "buy" && plans.has("buy-replan") ? "buy-replan" : "plan")
      const found = typeof plan === "object" ? plan.get(key(intent.phase, intent.symbol, intent.side)) : undefined
      if (found !== undefined) out.set(intent.clientOrderId, found)
    }
    return out
  })

/** Every fill of the account's runs, oldest first, with the attribution of the order it filled. */
export const attributedFills = (account: string): Effect.Effect<AttributedFills, StoreError, Store> =>
  Effect.gen(function*() {
    const store = yield* Store
    const runs = [...(yield* store.listRuns(account, Number.MAX_SAFE_INTEGER))].reverse()
    const fills: Array<AttributedFill> = []
    const warnings: Array<string> = []
    for (const run of runs) {
      const recorded = yield* store.fills(run.id)
      if (recorded.length === 0) continue
      const intents = new Map<string, OrderIntent>((yield* store.intents(run.id)).map((i) => [i.clientOrderId, i]))
      const plans = new Map<string, ReadonlyMap<string, Attribution> | string>()
      // The last plan stored under each phase name.
      for (const p of yield* store.plans(run.id)) plans.set(p.phase, planAttributions(p.json))
      for (const f of recorded) {
        const intent = intents.get(f.clientOrderId)
        let attribution: Attribution = []
        if (intent === undefined) {
          warnings.push(
            `run ${run.id}: the fill of ${f.clientOrderId} (${f.side} ${f.symbol}) has no intent; booked without attribution`
          )
        } else {
          const name = intent.phase === "buy" && plans.has("buy-replan") ? "buy-replan" : "plan"
          const plan = plans.get(name)
          const found = typeof plan === "object" ? plan.get(key(intent.phase, intent.symbol, intent.side)) : undefined
          if (found !== undefined) attribution = found
          else {
            const why = plan === undefined
              ? `the run has no stored ${name}`
              : typeof plan === "string"
              ? `its ${name} does not read (${plan})`
              : `its ${name} has no ${intent.phase}-phase ${intent.side} of ${intent.symbol}`
            warnings.push(
              `run ${run.id}: the fill of ${f.clientOrderId} (${f.side} ${f.symbol}): ${why}; booked without attribution`
            )
          }
        }
        fills.push({
          symbol: f.symbol,
          side: f.side,
          quantity: f.quantity,
          price: f.price,
          commission: f.commission,
          attribution
        })
      }
    }
    return { fills, warnings }
  })

/** The symbols an account's fills touched, sorted (to ask for their quotes). */
export const symbolsOf = (fills: ReadonlyArray<AttributedFill>): ReadonlyArray<string> =>
  [...new Set(fills.map((f) => f.symbol))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

/**
 * Per-strategy P&L of an account from its stored runs, valued at `prices` (symbol → price).
 * `prices` may be an Effect of the symbols the fills touched (e.g. the broker's quotes).
 */
export const accountStrategyPnl = <E, R>(
  account: string,
  prices: (symbols: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, Decimal>, E, R>,
  options: Partial<StrategyPnlOptions> = {}
): Effect.Effect<StrategyPnlReport, StoreError | E, Store | R> =>
  Effect.gen(function*() {
    const joined = yield* attributedFills(account)
    const valuation = yield* prices(symbolsOf(joined.fills))
    const result = strategyPnl(joined.fills, valuation, options)
    const warnings = [...joined.warnings]
    for (const i of result.ignored) {
      warnings.push(`fill ${i.index + 1} of the account's recorded fills not booked: ${i.reason}`)
    }
    for (const s of result.symbols) {
      if (isPositive(s.unmatchedQuantity)) {
        warnings.push(
          `${s.symbol}: ${format(s.unmatchedQuantity)} sold beyond what the recorded fills bought; not booked`
        )
      }
    }
    return { ...result, warnings }
  })
