/**
 * The JSON the service answers with, beside the run documents `status` and `history` print
 * (documents/runs.ts): a trigger's answer, the accounts it serves, and a refusal.
 */
import * as Schema from "effect/Schema"
import { RunMode, RunStatus } from "../../effects/Store.ts"
import { NullWhenUnknown } from "../documents/document.ts"

/** `POST /v1/trigger`: the fleet run the key started (the first time), and whether this answer repeats it. */
export const TriggerAnswer = Schema.Struct({
  fleetId: Schema.String,
  accounts: Schema.Array(Schema.String),
  duplicate: Schema.Boolean
})

/** `GET /v1/accounts`: each account in keel.yaml, its last run and its next scheduled one. */
export const AccountsDocument = Schema.Array(Schema.Struct({
  name: Schema.String,
  broker: Schema.String,
  groups: Schema.Array(Schema.String),
  lastRun: Schema.NullOr(Schema.Struct({
    id: Schema.String,
    status: RunStatus,
    finishedAt: NullWhenUnknown(Schema.Number)
  })),
  /** Epoch milliseconds, the schedule's mode and which schedule. */
  nextScheduled: Schema.NullOr(Schema.Struct({ at: Schema.Number, mode: RunMode, schedule: Schema.String }))
}))
export type AccountsDocument = typeof AccountsDocument.Type

/** Anything refused: one line. */
export const Refusal = Schema.Struct({ error: Schema.String })
