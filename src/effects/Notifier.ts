/**
 * Notifier: one summary per run, to wherever the user looks (console, a chat webhook).
 * A failed notification never fails the run: the run's outcome is already stored.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { RunMode } from "./Store.ts"

export interface RunSummary {
  readonly runId: string
  readonly account: string
  readonly mode: RunMode
  readonly status: string
  /** Where the run stopped, and why, when it did not complete. */
  readonly step: string
  readonly reason?: string
  readonly orders: { readonly placed: number; readonly filled: number; readonly failed: number }
  readonly cash: { readonly before: string; readonly after: string }
  readonly warnings: ReadonlyArray<string>
  /** Error counts by category (broker, store, timeout, guard, input). */
  readonly errors: Readonly<Record<string, number>>
}

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
