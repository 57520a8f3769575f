/**
 * The kernel end to end: validate → plan → deltas → orders, as one total function.
 * Each stage is exported on its own; this module only composes them and states the
 * final action of every symbol (a wanted trade can end as a hold: rounding, minimum
 * order value, or no cash).
 */
import * as Result from "effect/Result"
import { add, type Decimal, isZero, subtract } from "../decimal.ts"
import { field, isRecord, passOn, type Read } from "../input.ts"
import { type Delta, deltas } from "./deltas.ts"
import { type Order, type Orders, orders } from "./orders.ts"
import { type Action, type Model, type Plan, plan, type PlanLine, type Reason } from "./plan.ts"
import { type Policy, validatePolicy } from "./policy.ts"
import { priceBook } from "./prices.ts"
import { type Account, type Quote, validateAccount, validateQuotes } from "./snapshot.ts"
import { validateTargets } from "./targets.ts"
import type { Warning } from "./warnings.ts"

export interface Line {
  readonly line: PlanLine
  /** What happens to the symbol after rounding and cash: the plan's action, or hold. */
  readonly action: Action
  readonly reason: Reason
  /** Quantity held once the orders fill at their prices. */
  readonly finalQuantity: Decimal
  /** The rounded target quantity (the deltas' target), or the held quantity for a hold. */
  readonly targetQuantity: Decimal
}

export interface Rebalance {
  readonly plan: Plan
  readonly deltas: ReadonlyArray<Delta>
  readonly orders: Orders
  readonly lines: ReadonlyArray<Line>
  readonly warnings: ReadonlyArray<Warning>
}

export interface RebalanceInput {
  readonly snapshot: unknown
  readonly targets: unknown
  readonly policy?: unknown
}

/** Validates the parts shared by every account that follows one model portfolio. */
export const validateModel = (targets: unknown, quotes: unknown, policyInput?: unknown): Read<Model> => {
  const policy = validatePolicy(policyInput)
  if (Result.isFailure(policy)) return passOn(policy)
  const validTargets = validateTargets(targets, policy.success)
  if (Result.isFailure(validTargets)) return passOn(validTargets)
  const validQuotes = validateQuotes(quotes)
  if (Result.isFailure(validQuotes)) return passOn(validQuotes)
  return Result.succeed(makeModel(validTargets.success, validQuotes.success, policy.success))
}

export const makeModel = (targets: Model["targets"], quotes: ReadonlyArray<Quote>, policy: Policy): Model => ({
  targets,
  prices: priceBook(quotes, policy),
  policy
})

/** Plans, rounds and orders one validated account. */
export const planRebalance = (account: Account, on: Model): Rebalance => {
  const planned = plan(account, on)
  const moves = deltas(planned)
  const placed = orders(planned, moves)
  return {
    plan: planned,
    deltas: moves,
    orders: placed,
    lines: lines(planned, moves, placed),
    warnings: [...planned.warnings, ...placed.warnings]
  }
}

/** The whole pipeline from untrusted input: a rebalance, or the first InvalidInput. */
export const rebalance = (input: RebalanceInput): Read<Rebalance> => {
  const account = validateAccount(input.snapshot)
  if (Result.isFailure(account)) return passOn(account)
  const quotes = isRecord(input.snapshot) ? field(input.snapshot, "quotes") : undefined
  const model = validateModel(input.targets, quotes, input.policy)
  if (Result.isFailure(model)) return passOn(model)
  return Result.succeed(planRebalance(account.success, model.success))
}

/**
 * The buy phase again, from a fresh snapshot taken after the sells settled: buys are
 * sized from the cash that is really there, and nothing is sold.
 */
export const planBuys = (account: Account, on: Model): Rebalance => planRebalance(account, { ...on, buyPhase: true })

/** Held once the order (if any) fills at its quantity. */
const finalQuantity = (held: Decimal, o: Order | undefined): Decimal =>
  o === undefined
    ? held
    : o.side === "sell"
    ? subtract(held, o.quantity)
    : isZero(held)
    ? o.quantity
    : add(held, o.quantity)

/**
 * Each line's outcome. The deltas, the sell orders and the buy orders each come in the order
 * of the plan's lines (a subset of them), so each is read by walking it alongside the lines.
 */
const lines = (planned: Plan, moves: ReadonlyArray<Delta>, placed: Orders): ReadonlyArray<Line> => {
  const orders = placed.orders
  const firstBuy = orders.findIndex((o) => o.phase === "buy")
  const sellEnd = firstBuy < 0 ? orders.length : firstBuy
  let delta = 0
  let sell = 0
  let buy = sellEnd
  return planned.lines.map((line) => {
    const move = moves[delta]?.line === line ? moves[delta++] : undefined
    const o = sell < sellEnd && orders[sell]!.symbol === line.symbol
      ? orders[sell++]
      : orders[buy]?.symbol === line.symbol
      ? orders[buy++]
      : undefined
    const skip = placed.skipped.get(line.symbol)
    return {
      line,
      action: o === undefined ? "hold" : line.action,
      reason: o === undefined && skip !== undefined ? skip : line.reason,
      finalQuantity: finalQuantity(line.quantity, o),
      targetQuantity: move?.targetQuantity ?? line.quantity
    }
  })
}
