/**
 * `rebalance history`: recent runs, newest first, from the Store only, never a broker, so it
 * works while a run is stuck or after a crash.
 */
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type Run, Store } from "../../effects/Store.ts"
import { printed } from "../documents/document.ts"
import { HistoryDocument } from "../documents/runs.ts"
import { configuredStore } from "../layers.ts"
import { configFlag, jsonFlag } from "./flags.ts"
import { left, table, time } from "./render.ts"

/** One run a line; why a run stopped, when it did, last. */
const runsTable = (runs: ReadonlyArray<Run>): string =>
  runs.length === 0
    ? "No runs recorded yet."
    : table(
      [left("RUN"), left("ACCOUNT"), left("MODE"), left("STATUS"), left("STEP"), left("STARTED"), left()],
      runs.map((r) => [r.id, r.account, r.mode, r.status, r.step, time(r.startedAt), r.reason ?? ""])
    ).join("\n")

const printHistory = printed(HistoryDocument)

export const historyCommand = Command.make(
  "history",
  {
    account: Flag.String("account").pipe(Flag.withDescription("Only this account"), Flag.optional),
    limit: Flag.Int("limit").pipe(
      Flag.filter((runs) => runs >= 0, () => "a whole number of runs, at least 0"),
      Flag.withDescription("How many runs (default 20)"),
      Flag.withDefault(20)
    ),
    config: configFlag,
    json: jsonFlag
  },
  (flags) =>
    Effect.flatMap(configuredStore(flags.config), (layer) =>
      Effect.gen(function*() {
        const store = yield* Store
        const runs = yield* store.listRuns(Option.getOrUndefined(flags.account), flags.limit)
        yield* Console.log(flags.json ? printHistory(runs) : runsTable(runs))
      }).pipe(Effect.provide(layer)))
).pipe(Command.withDescription("Recent runs, newest first"))
