/**
 * A fleet run's outcome: what `rebalance run --all --json` prints. One entry per account, in the
 * order keel.yaml lists them: its run's summary and artifacts, or, for an account whose run could
 * not be made or finished (bad input, the account held by another run, the store failing), `error`
 * and the one line that says why.
 */
import * as Schema from "effect/Schema"
import { ErrorCategory, RunSummary } from "../../effects/Notifier.ts"
import { FinalStatus, RunMode } from "../../effects/Store.ts"
import { NullWhenUnknown } from "./document.ts"

/** How an account's part of a fleet run ended: its run's final status, or `error` when there was no run to end. */
export const FleetStatus = Schema.Union([FinalStatus, Schema.Literal("error")])
export type FleetStatus = typeof FleetStatus.Type

export const FleetEntry = Schema.Struct({
  account: Schema.String,
  status: FleetStatus,
  /** Why the run did not complete, in one line. */
  reason: NullWhenUnknown(Schema.String),
  /** For an account with no run (`error`): what kind of problem stopped it (`input`, `guard`, `broker`). */
  category: NullWhenUnknown(ErrorCategory),
  summary: NullWhenUnknown(RunSummary),
  /** The run's artifacts folder. */
  artifacts: NullWhenUnknown(Schema.String)
})
export type FleetEntry = typeof FleetEntry.Type

export const FleetDocument = Schema.Struct({
  mode: RunMode,
  /** Accounts in the fleet run, and how many completed. */
  accounts: Schema.Number,
  completed: Schema.Number,
  entries: Schema.Array(FleetEntry)
})
export type FleetDocument = typeof FleetDocument.Type

export const fleetDocument = (mode: RunMode, entries: ReadonlyArray<FleetEntry>): FleetDocument => ({
  mode,
  accounts: entries.length,
  completed: entries.filter((e) => e.status === "completed").length,
  entries
})
