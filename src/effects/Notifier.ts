/**
 * Notifier: what a run (or a fleet of runs) tells the people who look after it, and the one
 * interface every channel implements (console, email, ntfy, Slack, a generic webhook). Which
 * channel hears what, retries and the record of each delivery are the dispatcher's
 * (notifier/dispatch.ts): a failed notification never fails the run, whose outcome is stored.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { FinalStatus, RunMode, RunStep } from "./Store.ts"

/**
 * What went wrong, for the summary's counts and for routing: orders the broker refused
 * (`rejected`); the stop of a run that could not go on: a broker call that failed (`broker`), a
 * guard (market closed, open orders left by an earlier run: `guard`), orders not finished in time
 * (`timeout`), positions that disagree with the fills (`reconciliation`); input that could not be
 * read (`input`); and an earlier run of the account that crashed and was recovered
 * (`crash-recovered`).
 */
export const ErrorCategory = Schema.Literals([
  "rejected",
  "broker",
  "guard",
  "timeout",
  "input",
  "reconciliation",
  "crash-recovered"
])
export type ErrorCategory = typeof ErrorCategory.Type

/** How urgent a message is: `info` a completed run, `warning` one with warnings, `error` one that did not complete. */
export const Severity = Schema.Literals(["info", "warning", "error"])
export type Severity = typeof Severity.Type

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
  /**
   * The largest |weight − target weight| (a fraction) at the start and after the run (as
   * filled, or for a preview as planned), at the plan's prices; absent without a plan, and
   * `after` absent for a run that stopped before its final snapshot.
   */
  drift: Schema.optionalKey(Schema.Struct({ before: Schema.String, after: Schema.optionalKey(Schema.String) })),
  warnings: Schema.Array(Schema.String),
  /** Error counts by category; a category that did not occur is absent. */
  errors: Schema.Record(ErrorCategory, Schema.optionalKey(Schema.Number))
})
export type RunSummary = typeof RunSummary.Type

export class NotifyError extends Schema.TaggedError<NotifyError>()("NotifyError", {
  notifier: Schema.String,
  message: Schema.String
}) {}

/**
 * One account's run: its summary and where its report is (`artifacts`, the folder the run's files
 * were written to; `reportUrl`, where a served report can be read), either, both or none.
 */
export const RunNotification = Schema.TaggedStruct("Run", {
  summary: RunSummary,
  artifacts: Schema.optionalKey(Schema.String),
  reportUrl: Schema.optionalKey(Schema.String)
})
export type RunNotification = typeof RunNotification.Type

/** An account whose run could not start (input that does not read, the account held by another run): why. */
export const NotStarted = Schema.TaggedStruct("NotStarted", {
  account: Schema.String,
  mode: RunMode,
  category: ErrorCategory,
  reason: Schema.String
})
export type NotStarted = typeof NotStarted.Type

/** What is told about one account. */
export const Notification = Schema.Union([RunNotification, NotStarted])
export type Notification = typeof Notification.Type

/** A fleet run's one message per channel: every account's notification routed to the channel, in the fleet's order. */
export const Digest = Schema.TaggedStruct("Digest", {
  fleetId: Schema.String,
  mode: RunMode,
  notifications: Schema.Array(Notification)
})
export type Digest = typeof Digest.Type

/** What a channel sends. */
export const Message = Schema.Union([RunNotification, NotStarted, Digest])
export type Message = typeof Message.Type

export interface NotifierShape {
  readonly notify: (message: Message) => Effect.Effect<void, NotifyError>
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
