/**
 * Runs as the Store keeps them: `rebalance status --json` (a run, its steps and its order
 * intents) and `rebalance history --json` (runs, newest first).
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Struct from "effect/Struct"
import {
  type DeliveryRecord,
  DeliveryStatus,
  IntentStatus,
  type OrderIntent,
  Run,
  RunStep,
  type StepRecord
} from "../../effects/Store.ts"
import { ComputedDecimalText } from "../../formats/decimal.ts"
import { Side } from "../../kernel/rebalance/deltas.ts"
import { Phase } from "../../kernel/rebalance/orders.ts"
import type { Attribution } from "../../kernel/rebalance/targets.ts"
import { attributed, AttributedFields } from "./attribution.ts"
import { NullWhenUnknown } from "./document.ts"

/** A run as stored: a reason and a finish that are not known (yet) are null. */
export const StoredRunDocument = Run.mapFields(
  Struct.assign({ reason: NullWhenUnknown(Schema.String), finishedAt: NullWhenUnknown(Schema.Number) })
)

/** A step the run reached; its detail (counts, ids, the error) is the JSON the run recorded. */
const StepDocument = Schema.Struct({
  step: RunStep,
  at: Schema.Number,
  detail: Schema.flip(Schema.fromJsonString(Schema.Unknown))
})

/** An order intent: what Keel last knew of the order it stands for. */
const IntentDocument = Schema.Struct({
  clientOrderId: Schema.String,
  phase: Phase,
  symbol: Schema.String,
  side: Side,
  quantity: ComputedDecimalText,
  status: IntentStatus,
  brokerOrderId: NullWhenUnknown(Schema.String),
  filledQuantity: ComputedDecimalText,
  averageFillPrice: NullWhenUnknown(ComputedDecimalText),
  reason: NullWhenUnknown(Schema.String),
  ...AttributedFields
})

/** A notification of the run, as it was delivered to one channel (alone, or in a fleet's digest). */
const DeliveryDocument = Schema.Struct({
  channel: Schema.String,
  fleetId: NullWhenUnknown(Schema.String),
  status: DeliveryStatus,
  attempts: Schema.Number,
  error: NullWhenUnknown(Schema.String),
  at: Schema.Number
})

export const StatusDocument = Schema.Struct({
  run: StoredRunDocument,
  steps: Schema.Array(StepDocument),
  intents: Schema.Array(IntentDocument),
  notifications: Schema.Array(DeliveryDocument)
})
export type StatusDocument = typeof StatusDocument.Type

/** Runs, newest first. */
export const HistoryDocument = Schema.Array(StoredRunDocument)

/** An intent's strategy and attribution, as the plan shows its order's (none when unknown). */
const intentDocument = ({ attribution, ...intent }: OrderIntent): typeof IntentDocument.Type => ({
  ...intent,
  ...attributed({ attribution: Option.getOrElse(attribution, (): Attribution => []) })
})

export const statusDocument = (
  run: Run,
  steps: ReadonlyArray<StepRecord>,
  intents: ReadonlyArray<OrderIntent>,
  deliveries: ReadonlyArray<DeliveryRecord>
): StatusDocument => ({
  run,
  steps,
  intents: intents.map(intentDocument),
  notifications: deliveries.map(({ subject: _, ...delivery }) => delivery)
})
