/**
 * What a run that cannot go on says in its one line on stderr, when the Store fails, its lease
 * is taken over or recovery cannot finish: the database and the cause, never a stack trace.
 */
import type { LeaseLost, StoreError } from "../../effects/Store.ts"
import type { RecoveryStopped } from "./recovery.ts"

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
