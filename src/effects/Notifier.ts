/**
 * Notifier: one summary per run, to wherever the user looks (console, a chat webhook).
 * A failed notification never fails the run: the run's outcome is already stored.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { FinalStatus, RunMode, RunStep } from "./Store.ts"

/**
 * What went wrong in a run, counted on its summary: orders the broker refused (`rejected`),
 * and the stop of a run that could not go on: a broker call that failed (`broker`), a guard
 * (market closed, open orders left by an earlier run: `guard`), orders not finished in time
 * (`timeout`).
 */
export const ErrorCategory = Schema.Literals(["rejected", "broker", "guard", "timeout"])
export type ErrorCategory = typeof ErrorCategory.Type

/** A run's summary: what a notification tells, and `rebalance run --json` prints. */
export const RunSummary = Schema.Struct({
  runId: Schema.String,
  account: Schema.String,
  mode: RunMode,
  status: FinalStatus,
  /** Where the run stopped, and why, when it did not complete. */
  step: RunStep,
  reason: Schema.optionalKey(Schema.String),
  orders: Schema.Struct({ placed: Schema.Number, filled: Schema.Number, failed: Schema.Number }),
  cash: Schema.Struct({ before: Schema.String, after: Schema.String }),
  warnings: Schema.Array(Schema.String),
  /** Error counts by category; a category that did not occur is absent. */
  errors: Schema.Record(ErrorCategory, Schema.optionalKey(Schema.Number))
})
export type RunSummary = typeof RunSummary.Type

export class NotifyError extends Schema.TaggedError<NotifyError>()("NotifyError", {
  notifier: Schema.String,
  message: Schema.String
}) {}

export interface NotifierShape {
  readonly notify: (summary: RunSummary) => Effect.Effect<void, NotifyError>
}

export class Notifier extends Context.Service<Notifier, NotifierShape>()("keel/effects/Notifier") {}

/** One line of plain text: what a chat message or a console shows first. */
export const headline = (s: RunSummary): string => {
  const outcome = s.status === "completed"
    ? "completed"
    : `${s.status} at ${s.step}${s.reason === undefined ? "" : `: ${s.reason}`}`
  return (
    `Keel ${s.mode} ${s.account} (${s.runId}) ${outcome}; orders placed ${s.orders.placed}, filled ${s.orders.filled}, ` +
    `failed ${s.orders.failed}; cash ${s.cash.before} → ${s.cash.after}` +
    (s.warnings.length > 0 ? `; ${s.warnings.length} warning(s)` : "")
  )
}
