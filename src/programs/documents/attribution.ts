/**
 * Attribution in documents: which strategies a weight, a plan line or an order is for. Targets
 * from strategies (a blend, a regime, momentum) carry it; a plain targets file does not, and
 * then a plan line or an order says nothing about strategies: its keys are left out.
 */
import * as Schema from "effect/Schema"
import { AttributionJson } from "../../formats/attribution.ts"
import type { Attribution } from "../../kernel/rebalance/targets.ts"
import { primaryStrategy } from "../../kernel/strategies/blend.ts"

/** The fields of a plan line or an order with attribution: its primary strategy, and every strategy's part. */
export const AttributedFields = {
  strategy: Schema.optionalKey(Schema.NullOr(Schema.String)),
  attribution: Schema.optionalKey(AttributionJson)
}

/** Strategy and attribution, only when the targets carry attribution. */
export const attributed = (
  x: { readonly attribution: Attribution }
): { readonly strategy?: string | null; readonly attribution?: Attribution } =>
  x.attribution.length === 0 ? {} : { strategy: primaryStrategy(x) ?? null, attribution: x.attribution }
