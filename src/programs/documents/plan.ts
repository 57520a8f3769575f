/**
 * The plan document: what `rebalance plan --json` prints, what a run stores in the Store for
 * each of its plans (a replay compares their orders), and a run's plan.json artifact. Every
 * amount exactly as the kernel computed it.
 */
import * as Schema from "effect/Schema"
import { ComputedDecimalText } from "../../formats/decimal.ts"
import { Side } from "../../kernel/rebalance/deltas.ts"
import { Phase } from "../../kernel/rebalance/orders.ts"
import { Action, linePrice, lineWeight, Reason } from "../../kernel/rebalance/plan.ts"
import type { Rebalance } from "../../kernel/rebalance/rebalance.ts"
import { WarningCode } from "../../kernel/rebalance/warnings.ts"
import { attributed, AttributedFields } from "./attribution.ts"
import { NullWhenUnknown } from "./document.ts"

/** One symbol: where it stands, where it should be, and what the plan does with it. */
const PlanLineDocument = Schema.Struct({
  symbol: Schema.String,
  quantity: ComputedDecimalText,
  /** The valuation price; null when the symbol has none. */
  price: NullWhenUnknown(ComputedDecimalText),
  value: NullWhenUnknown(ComputedDecimalText),
  weight: NullWhenUnknown(ComputedDecimalText),
  targetWeight: ComputedDecimalText,
  targetQuantity: ComputedDecimalText,
  finalQuantity: ComputedDecimalText,
  action: Action,
  reason: Reason,
  ...AttributedFields
})

const PlannedOrderDocument = Schema.Struct({
  symbol: Schema.String,
  side: Side,
  quantity: ComputedDecimalText,
  price: ComputedDecimalText,
  value: ComputedDecimalText,
  phase: Phase,
  ...AttributedFields
})

const PlanWarningDocument = Schema.Struct({
  code: WarningCode,
  symbol: Schema.optionalKey(Schema.String),
  message: Schema.String
})

export const PlanDocument = Schema.Struct({
  equity: ComputedDecimalText,
  cash: Schema.Struct({ before: ComputedDecimalText, after: ComputedDecimalText, reserve: ComputedDecimalText }),
  plan: Schema.Array(PlanLineDocument),
  orders: Schema.Array(PlannedOrderDocument),
  warnings: Schema.Array(PlanWarningDocument)
})
export type PlanDocument = typeof PlanDocument.Type

/** The kernel's rebalance as the plan document tells it. */
export const planDocument = (result: Rebalance): PlanDocument => ({
  equity: result.plan.equity,
  cash: result.orders.cash,
  plan: result.lines.map(({ action, finalQuantity, line, reason, targetQuantity }) => ({
    symbol: line.symbol,
    quantity: line.quantity,
    price: linePrice(line),
    value: line.value,
    weight: lineWeight(line),
    targetWeight: line.targetWeight,
    targetQuantity,
    finalQuantity,
    action,
    reason,
    ...attributed(line)
  })),
  orders: result.orders.orders.map((o) => ({
    symbol: o.symbol,
    side: o.side,
    quantity: o.quantity,
    price: o.price,
    value: o.value,
    phase: o.phase,
    ...attributed(o)
  })),
  warnings: result.warnings
})

/** A plan that may not have been made (a run that stopped before it). */
export const planIfMade = (result: Rebalance | undefined): PlanDocument | undefined =>
  result === undefined ? undefined : planDocument(result)

const encodePlan = Schema.encodeSync(PlanDocument)

/** The plan document as a JSON value. */
export const planJson = (result: Rebalance): typeof PlanDocument.Encoded => encodePlan(planDocument(result))

const encodeStored = Schema.encodeSync(Schema.fromJsonString(PlanDocument))

/**
 * The plan as the Store keeps it: the document as JSON text on one line. Computed amounts
 * always print; the only bounded values, attribution weights, come from validated targets.
 */
export const storedPlan = (result: Rebalance): string => encodeStored(planDocument(result))
