/**
 * The fleet board: where each account of a fleet run stands (waiting, at a step, or ended), for
 * the progress view. Runs report the steps they enter through their Store (see `reportingSteps`),
 * so the program itself knows nothing of fleets.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { RunStep } from "../../effects/Store.ts"
import { Store } from "../../effects/Store.ts"
import { Decimal } from "../../kernel/decimal.ts"
import { percent } from "../cli/render.ts"
import type { FleetEntry } from "../documents/fleet.ts"

export type AccountState =
  | { readonly _tag: "Waiting" }
  | { readonly _tag: "Running"; readonly step: RunStep }
  | { readonly _tag: "Ended"; readonly entry: FleetEntry }

export interface Board {
  readonly enter: (account: string, step: RunStep) => Effect.Effect<void>
  readonly end: (entry: FleetEntry) => Effect.Effect<void>
  /** Every account in the fleet's order, with where it stands. */
  readonly states: Effect.Effect<ReadonlyArray<readonly [string, AccountState]>>
}

/**
 * A board for `accounts`, all waiting. `ended` is told of each account as it ends (the plain
 * progress lines use it).
 */
export const makeBoard = (accounts: ReadonlyArray<string>, ended: (entry: FleetEntry) => Effect.Effect<void>) =>
  Effect.map(
    Ref.make<ReadonlyMap<string, AccountState>>(new Map(accounts.map((a) => [a, { _tag: "Waiting" }]))),
    (ref): Board => ({
      enter: (account, step) => Ref.update(ref, (states) => new Map(states).set(account, { _tag: "Running", step })),
      end: (entry) =>
        Ref.update(ref, (states) => new Map(states).set(entry.account, { _tag: "Ended", entry })).pipe(
          Effect.andThen(ended(entry))
        ),
      states: Effect.map(Ref.get(ref), (states) => [...states])
    })
  )

/** The Store an account's run writes to, telling the board every step the run enters. */
export const reportingSteps = (board: Board, account: string) =>
  Store.useSync((store) =>
    Store.of({
      ...store,
      recordStep: (runId, step, detail, at, lease) =>
        store.recordStep(runId, step, detail, at, lease).pipe(Effect.tap(() => board.enter(account, step)))
    })
  )

/** An account's end in one line: how its run ended, its orders, cash and drift, or why it did not run. */
export const endLine = (entry: FleetEntry): string => {
  const s = entry.summary
  if (s === undefined) return `${entry.account}: ${entry.status}: ${entry.reason ?? ""}`
  const how = s.status === "completed" ? "completed" : `${s.status} at ${s.step}: ${s.reason ?? ""}`
  return `${entry.account}: ${how}; orders placed ${s.orders.placed}, filled ${s.orders.filled}; ` +
    `cash ${s.cash.before} → ${s.cash.after}` +
    (s.drift === undefined ? "" : `; drift ${driftText(s.drift.before)} → ${driftText(s.drift.after)}`)
}

/** A drift (a fraction, as the summary writes it) in percent; unknown: `?`. */
export const driftText = (drift: string | undefined): string =>
  percent(drift === undefined ? undefined : new Decimal(drift))

/** The plain progress: one line per account on stderr as it ends. */
export const plainLines = (entry: FleetEntry): Effect.Effect<void> => Console.error(endLine(entry))
