/**
 * What a run that cannot start or go on says in its one line on stderr: bad input, its account
 * held by another run, the Store failing, its lease taken over, or recovery that cannot
 * finish. The database and the cause, never a stack trace.
 */
import type { VenueConfigError } from "../../effects/Broker.ts"
import type { InputFileError } from "../../effects/inputs.ts"
import type { LeaseHeld, LeaseLost, StoreError } from "../../effects/Store.ts"
import { leaseHeldMessage } from "./lease.ts"
import type { RecoveryStopped } from "./recovery.ts"

/**
 * An error's first line, for a one-line report: its message (a defect's with its name, unless it
 * is a plain Error), never a stack trace.
 */
export const errorLine = (error: unknown): string => {
  const text = error instanceof Error
    ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}`
    : typeof error === "object" && error !== null && "message" in error
    ? String(error.message)
    : String(error)
  return text.split("\n", 1)[0] ?? ""
}

export const storeProblem = (error: StoreError | LeaseLost | RecoveryStopped): string => {
  switch (error._tag) {
    case "StoreError":
      return `${error.database ?? "store"}: ${error.operation}: ${error.message}`
    case "LeaseLost":
      return `run ${error.runId} lost its lease on account ${error.account} to another run (at ${error.operation}); ` +
        "it wrote nothing more"
    case "RecoveryStopped":
      return `recovery ${error.status}: ${error.reason}`
  }
}

/** Why a run could not be made or finished, as its one line; `invalid` when the cause is the user's input (exit 2). */
export interface RunProblem {
  readonly line: string
  readonly invalid: boolean
}

export type RunProblemError = InputFileError | VenueConfigError | LeaseHeld | StoreError | LeaseLost | RecoveryStopped

const problemTags: ReadonlySet<string> = new Set<RunProblemError["_tag"]>([
  "InputFileError",
  "VenueConfigError",
  "LeaseHeld",
  "StoreError",
  "LeaseLost",
  "RecoveryStopped"
])

/** Whether an error is one a run reports in one line (and not a defect). */
export const isRunProblem = (error: unknown): error is RunProblemError =>
  typeof error === "object" && error !== null && "_tag" in error && problemTags.has(String(error._tag))

export const runProblem = (error: RunProblemError): RunProblem => {
  switch (error._tag) {
    case "InputFileError":
    case "VenueConfigError":
      return { line: error.message, invalid: true }
    case "LeaseHeld":
      return { line: leaseHeldMessage(error), invalid: false }
    default:
      return { line: storeProblem(error), invalid: false }
  }
}
