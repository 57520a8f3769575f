/**
 * A run's outcome: what `rebalance run --json` prints, and what its artifacts keep (result.json
 * is the outcome without the first plan, which plan.json holds, and without the orders, which
 * orders.csv holds).
 */
import * as Schema from "effect/Schema"
import * as Struct from "effect/Struct"
import { OrderStatus } from "../../effects/Broker.ts"
import { RunSummary } from "../../effects/Notifier.ts"
import { Run } from "../../effects/Store.ts"
import { ComputedDecimalText } from "../../formats/decimal.ts"
import { ZERO } from "../../kernel/decimal.ts"
import { Side } from "../../kernel/rebalance/deltas.ts"
import { Phase } from "../../kernel/rebalance/orders.ts"
import type { RunOutcome } from "../run/rebalanceAccount.ts"
import { attributed, AttributedFields } from "./attribution.ts"
import { NullWhenUnknown } from "./document.ts"
import { PlanDocument, planIfMade } from "./plan.ts"

/** Each order of a run as the broker last reported it, with the price the plan assumed (orders.csv's rows). */
export const RunOrderDocument = Schema.Struct({
  clientOrderId: Schema.String,
  phase: Phase,
  symbol: Schema.String,
  side: Side,
  quantity: ComputedDecimalText,
  assumedPrice: ComputedDecimalText,
  /** A rejected order never reached the broker. */
  status: OrderStatus,
  filledQuantity: ComputedDecimalText,
  averageFillPrice: NullWhenUnknown(ComputedDecimalText),
  reason: NullWhenUnknown(Schema.String),
  ...AttributedFields
})
export type RunOrder = typeof RunOrderDocument.Type

/** What the final positions do not explain by the start and the fills. */
const DiscrepancyDocument = Schema.Struct({
  symbol: Schema.String,
  expected: ComputedDecimalText,
  actual: ComputedDecimalText
})

export const OutcomeDocument = Schema.Struct({
  /** The run as it ended; `reason` only for a run that stopped. */
  run: Run,
  /** The Notifier's summary of the run. */
  summary: RunSummary,
  plan: NullWhenUnknown(PlanDocument),
  buyReplan: NullWhenUnknown(PlanDocument),
  orders: Schema.Array(RunOrderDocument.mapFields(Struct.omit(["assumedPrice"]))),
  discrepancies: Schema.Array(DiscrepancyDocument),
  /** The run's artifacts folder. */
  artifacts: Schema.String
})
export type OutcomeDocument = typeof OutcomeDocument.Type

/** result.json: the outcome's run, summary, buy re-plan and discrepancies. */
export const ResultDocument = Schema.Struct(
  Struct.pick(OutcomeDocument.fields, ["run", "summary", "buyReplan", "discrepancies"])
)

/** Each order of a run as the broker last reported it (a rejected one never reached it). */
export const runOrders = (outcome: RunOutcome): ReadonlyArray<RunOrder> => {
  const known = new Map(outcome.orders.map((o) => [o.clientOrderId, o]))
  return outcome.submitted.map((s) => {
    const o = known.get(s.clientOrderId) ?? s.placed
    return {
      clientOrderId: s.clientOrderId,
      phase: s.order.phase,
      symbol: s.order.symbol,
      side: s.order.side,
      quantity: s.order.quantity,
      assumedPrice: s.order.price,
      status: o?.status ?? "rejected",
      filledQuantity: o?.filledQuantity ?? ZERO,
      averageFillPrice: o?.averageFillPrice,
      reason: s.rejection ?? o?.reason,
      ...attributed(s.order)
    }
  })
}

/** The run's outcome as its document tells it; `artifacts` is the run's artifacts folder. */
export const outcomeDocument = (outcome: RunOutcome, artifacts: string): OutcomeDocument => ({
  run: outcome.run,
  summary: outcome.summary,
  plan: planIfMade(outcome.plan),
  buyReplan: planIfMade(outcome.buys),
  orders: runOrders(outcome),
  discrepancies: outcome.discrepancies,
  artifacts
})
