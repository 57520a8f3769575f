/**
 * `rebalance run --all | --accounts a,b | --group NAME`: a fleet run, reported as it goes
 * (a live view on a terminal, else one line per account as it ends, both on stderr) and summed
 * up at the end on stdout: a table, or one JSON object with --json. Exit 0 when every account
 * completed, 3 when any did not.
 */
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { artifactsRoot, ConfigDefaults, type LoadedConfig } from "../config.ts"
import { printed } from "../documents/document.ts"
import { FleetDocument, fleetDocument, type FleetEntry } from "../documents/fleet.ts"
import { driftText, makeBoard, plainLines } from "../fleet/board.ts"
import { type FleetOptions, runFleet } from "../fleet/fleet.ts"
import { selectAccounts, type Selection } from "../fleet/selection.ts"
import { startLiveView } from "../fleet/view.ts"
import { left, right, section, table } from "./render.ts"

/** A fleet run in which some account did not complete: already reported, the CLI only sets the exit code. */
export class FleetNotCompleted extends Data.TaggedError("FleetNotCompleted")<{ readonly notCompleted: number }> {}

export interface FleetFlags extends Omit<FleetOptions, "concurrency"> {
  readonly json: boolean
  /** From the command line; else keel.yaml's `fleet.concurrency`, else the default. */
  readonly concurrency: number | undefined
}

const printFleet = printed(FleetDocument)

/** Runs the selected accounts, shows progress, prints the summary and fails with FleetNotCompleted when one did not complete. */
export const runSelection = (loaded: LoadedConfig, selection: Selection, flags: FleetFlags) =>
  Effect.gen(function*() {
    const accounts = yield* selectAccounts(loaded, selection)
    const live = process.stderr.isTTY === true
    const board = yield* makeBoard(accounts.map((a) => a.name), live ? () => Effect.void : plainLines)
    const stopView = live ? yield* startLiveView(board, process.stderr) : Effect.void
    const concurrency = flags.concurrency ?? loaded.config.fleet?.concurrency ?? ConfigDefaults.fleetConcurrency
    const entries = yield* runFleet(loaded, accounts, { ...flags, concurrency }, board).pipe(Effect.ensuring(stopView))
    const document = fleetDocument(flags.execute ? "execute" : "preview", entries)
    yield* Console.log(flags.json ? printFleet(document) : describeFleet(document.entries, artifactsRoot(loaded)))
    const notCompleted = document.accounts - document.completed
    if (notCompleted > 0) return yield* new FleetNotCompleted({ notCompleted })
  })

/** The summary table, then why each account that did not complete stopped. */
const describeFleet = (entries: ReadonlyArray<FleetEntry>, artifacts: string): string =>
  [
    ...table(
      [
        left("account"),
        left("status"),
        right("placed"),
        right("filled"),
        right("cash before"),
        right("cash after"),
        right("drift before"),
        right("drift after"),
        right("warnings")
      ],
      entries.map((e) => {
        const s = e.summary
        return [
          e.account,
          e.status,
          s === undefined ? "-" : String(s.orders.placed),
          s === undefined ? "-" : String(s.orders.filled),
          s?.cash.before ?? "-",
          s?.cash.after ?? "-",
          driftText(s?.drift?.before),
          driftText(s?.drift?.after),
          String(s?.warnings.length ?? 0)
        ]
      })
    ),
    ...section(
      "Not completed:",
      entries.filter((e) => e.status !== "completed").map((e) =>
        `${e.account}: ${e.summary === undefined ? "" : `${e.summary.step}: `}${e.reason ?? ""}`
      )
    ),
    "",
    `${
      entries.filter((e) => e.status === "completed").length
    } of ${entries.length} accounts completed; artifacts in ${artifacts}`
  ].join("\n")
