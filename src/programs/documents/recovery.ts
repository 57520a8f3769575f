/** What `rebalance recover --json` prints: the account, who recovered it, and what was done to each earlier run. */
import * as Schema from "effect/Schema"
import { RunStatus, RunStep } from "../../effects/Store.ts"

export const RecoveryDocument = Schema.Struct({
  account: Schema.String,
  /** The id the recovery held the account's lease under (`recover-…`). */
  recoveredBy: Schema.String,
  runs: Schema.Array(Schema.Struct({
    runId: Schema.String,
    /** Its status and step before recovery. */
    status: RunStatus,
    step: RunStep,
    found: Schema.Number,
    fillsBooked: Schema.Number,
    intentsClosed: Schema.Number,
    cancelled: Schema.Number,
    /** It was `running` and is now `crashed`. */
    closed: Schema.Boolean
  }))
})
export type RecoveryDocument = typeof RecoveryDocument.Type
