/**
 * A fleet run: many accounts rebalanced in one process, a few at a time. Each account's run is
 * an ordinary run (its own lease, store rows, recovery and artifacts) on a Store, notifiers and
 * HTTP client the fleet shares; one account's failure never stops the others. The board tells
 * the progress view where each account stands.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type ErrorCategory, Notifier } from "../../effects/Notifier.ts"
import { type RunMode, Store } from "../../effects/Store.ts"
import { writeArtifacts } from "../artifacts.ts"
import { artifactsRoot, type LoadedConfig } from "../config.ts"
import type { AccountConfig } from "../config.ts"
import type { FleetEntry } from "../documents/fleet.ts"
import { resolvedTargetsDocument } from "../documents/resolvedTargets.ts"
import { fleetLayers } from "../layers.ts"
import { makeRunId } from "../run/ids.ts"
import { errorLine, isRunProblem, runProblem } from "../run/problems.ts"
import { rebalanceAccount } from "../run/rebalanceAccount.ts"
import { prepareRun, type RunFlags } from "../runRequest.ts"
import { type Board, reportingSteps } from "./board.ts"

export interface FleetOptions extends RunFlags {
  /** Accounts rebalanced at once. */
  readonly concurrency: number
  /** The fleet's id (a trigger's answer names it); none: a new one. */
  readonly id?: string
}

/** Runs every account, `concurrency` at a time; the entries come back in the accounts' order. */
export const runFleet = (
  loaded: LoadedConfig,
  accounts: ReadonlyArray<AccountConfig>,
  options: FleetOptions,
  board: Board
) =>
  Effect.scoped(
    Effect.gen(function*() {
      const fleet = {
        id: options.id ?? `fleet-${yield* makeRunId}`,
        mode: options.execute ? "execute" : "preview",
        accounts: accounts.map((a) => a.name)
      } as const
      // The notifiers' digests go out when this scope closes, once every account has ended.
      const shared = yield* Layer.build(fleetLayers(loaded, fleet))
      return yield* Effect.forEach(
        accounts,
        (account) =>
          runOne(loaded, account, options, board).pipe(
            Effect.tap((entry) => (entry.summary === undefined ? notStarted(entry, fleet.mode) : Effect.void)),
            Effect.provide(shared),
            Effect.tap((entry) => board.end(entry))
          ),
        { concurrency: options.concurrency }
      )
    })
  )

/** One account of the fleet: its run and artifacts, or the one line that says why it has none. */
const runOne = (loaded: LoadedConfig, account: AccountConfig, flags: RunFlags, board: Board) =>
  Effect.gen(function*() {
    const { inputs, request, venue } = yield* prepareRun(loaded, account, flags)
    const store = yield* reportingSteps(board, account.name)
    const outcome = yield* rebalanceAccount(request).pipe(
      Effect.provide(venue.layer),
      Effect.provideService(Store, store)
    )
    const artifacts = yield* writeArtifacts(
      artifactsRoot(loaded),
      outcome,
      resolvedTargetsDocument(inputs.resolved, inputs.asOf)
    )
    return {
      account: account.name,
      status: outcome.summary.status,
      reason: outcome.run.reason,
      summary: outcome.summary,
      artifacts
    } satisfies FleetEntry
  }).pipe(
    Effect.catch((error) => {
      if (!isRunProblem(error)) return Effect.succeed(failed(account, errorLine(error), "broker"))
      const problem = runProblem(error)
      return Effect.succeed(failed(account, problem.line, categoryOf(error._tag, problem.invalid)))
    }),
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : Effect.succeed(failed(account, `unexpected error: ${errorLine(Cause.squash(cause))}`, "broker"))
    )
  )

/** Tells the notifiers of an account whose run could not be made or finished. */
const notStarted = (entry: FleetEntry, mode: RunMode) =>
  Effect.gen(function*() {
    const notifier = yield* Notifier
    yield* notifier.notify({
      _tag: "NotStarted",
      account: entry.account,
      mode,
      category: entry.category ?? "input",
      reason: entry.reason ?? ""
    })
  }).pipe(Effect.ignore)

const failed = (account: AccountConfig, reason: string, category: ErrorCategory): FleetEntry => ({
  account: account.name,
  status: "error",
  reason,
  category
})

/**
 * What kind of problem kept an account from its run: its input (`input`), its account held by
 * another run (`guard`), or the store or an unexpected failure (`broker`: outside the input).
 */
const categoryOf = (tag: string, invalid: boolean): ErrorCategory =>
  invalid ? "input" : tag === "LeaseHeld" ? "guard" : "broker"
