/**
 * The kernel's `Attribution` (each strategy's part of a weight) as written in JSON: a list of
 * `{ strategy, weight }` with the weight as decimal text. One shape for every place that writes
 * it: the Store's column, the plan and outcome documents.
 */
import * as Schema from "effect/Schema"
import { DecimalText } from "./decimal.ts"

export const AttributionJson = Schema.Array(Schema.Struct({ strategy: Schema.String, weight: DecimalText }))
