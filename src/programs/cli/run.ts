/**
 * `rebalance run --account NAME [--execute]`: one account's rebalance through the
 * program, against the Layers its keel.yaml entry names. A preview unless --execute.
 * Exit 0 when the run completed, 3 when it stopped (failed, timed out, aborted),
 * 2 on invalid config or input.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Recording from "../../effects/broker/recording/layer.ts"
import type { RunStatus } from "../../effects/Store.ts"
import { format } from "../../kernel/decimal.ts"
import { accountInputs } from "../accountInputs.ts"
import { writeArtifacts } from "../artifacts.ts"
import { ConfigDefaults, findAccount, leaseSettings, loadConfig, runTimeouts } from "../config.ts"
import { printed } from "../documents/document.ts"
import { OutcomeDocument, outcomeDocument, runOrders } from "../documents/outcome.ts"
import { resolvedTargetsDocument } from "../documents/resolvedTargets.ts"
import { accountLayers, brokerLayer } from "../layers.ts"
import { rebalanceAccount, type RunOutcome, type RunRequest } from "../run/rebalanceAccount.ts"
import { outcomeOf } from "../sessions.ts"
import { keelVersion } from "../version.ts"
import { accountFlag, configFlag, jsonFlag, waitFlag } from "./flags.ts"
import { planTable } from "./plan.ts"
import { left, right, section, table } from "./render.ts"

/** A run that did not complete: already reported, the CLI only sets the exit code. */
export class RunNotCompleted extends Data.TaggedError("RunNotCompleted")<{ readonly status: RunStatus }> {}

/** The run's orders, one line each: as the broker last reported them, with their strategy. */
const orderLines = (outcome: RunOutcome): ReadonlyArray<string> =>
  table(
    [left(), left(), left(), right(), left(), left()],
    runOrders(outcome).map((o) => [
      o.phase,
      o.side,
      o.symbol,
      format(o.quantity),
      o.status,
      `filled ${format(o.filledQuantity)}` +
      (o.strategy === undefined || o.strategy === null ? "" : `  [${o.strategy}]`) +
      (o.averageFillPrice === undefined ? "" : ` @ ${format(o.averageFillPrice)}`) +
      (o.status === "rejected" && o.reason !== undefined ? `  (${o.reason})` : "")
    ])
  )

const describeOutcome = (outcome: RunOutcome, artifacts: string): string => {
  const { run, summary } = outcome
  // What the plan table cannot show: notes from the guards, rejections, a failed notification.
  const planned = new Set(outcome.plan?.warnings.map((w) => w.message) ?? [])
  return [
    `Run ${run.id} (${run.account}, ${run.mode}): ${run.status}${
      run.status === "completed" ? "" : ` at ${run.step}: ${run.reason ?? ""}`
    }`,
    ...(outcome.plan === undefined ? [] : ["", planTable(outcome.plan)]),
    ...section("Orders:", orderLines(outcome)),
    ...section("Notes:", summary.warnings.filter((w) => !planned.has(w))),
    "",
    `Cash ${summary.cash.before} → ${summary.cash.after}`,
    `Artifacts: ${artifacts}`
  ].join("\n")
}

const printOutcome = printed(OutcomeDocument)

export interface RunOptions {
  readonly config: string
  readonly account: string
  readonly execute: boolean
  readonly json: boolean
  readonly ignoreMarketHours: boolean
  /** A new session file to record the broker's answers in (see `rebalance replay`). */
  readonly record?: string | undefined
  /** Seconds to wait while another run holds the account. */
  readonly wait?: number
}

/** Loads the config, runs the program on the account's Layers, writes artifacts and prints. */
export const runAccount = (options: RunOptions) =>
  Effect.gen(function*() {
    const loaded = yield* loadConfig(options.config)
    const account = yield* findAccount(loaded, options.account)
    const inputs = yield* accountInputs(loaded, account).pipe(Effect.provide(NodeHttpClient.layerUndici))
    const request: RunRequest = {
      account: account.name,
      targets: inputs.targets,
      policy: inputs.policy,
      execute: options.execute,
      ignoreMarketHours: options.ignoreMarketHours,
      onOpenOrders: account.openOrders ?? "cancel",
      onOutsideOrders: account.outsideOrders ?? "abort",
      ...runTimeouts(loaded),
      notes: inputs.resolved.warnings,
      lease: leaseSettings(loaded, options.wait ?? 0)
    }
    const recording = options.record === undefined
      ? undefined
      : {
        file: options.record,
        header: {
          keel: keelVersion(),
          account: account.name,
          run: {
            execute: request.execute,
            ignoreMarketHours: request.ignoreMarketHours,
            onOpenOrders: request.onOpenOrders,
            fillTimeoutMillis: Duration.toMillis(Duration.fromInputUnsafe(request.fillTimeout)),
            pollIntervalMillis: Duration.toMillis(Duration.fromInputUnsafe(request.pollInterval))
          },
          policy: inputs.rawPolicy ?? null,
          targets: inputs.rawTargets
        }
      }
    const choice = yield* brokerLayer(loaded, account, { fractional: inputs.policy.shares === "fractional" })
    const broker = choice.layer
    const { outcome, recordingProblem } = yield* recording === undefined
      ? rebalanceAccount(request).pipe(
        Effect.map((outcome) => ({ outcome, recordingProblem: undefined })),
        Effect.provide(accountLayers(loaded, options.json, broker))
      )
      : Effect.gen(function*() {
        const outcome = yield* rebalanceAccount(request)
        const log = yield* Recording.SessionLog
        yield* log.outcome(yield* outcomeOf(outcome.run.id))
        return { outcome, recordingProblem: yield* log.problem }
      }).pipe(
        Effect.provide(
          accountLayers(
            loaded,
            options.json,
            Recording.layer({ ...recording, secrets: choice.secrets }).pipe(Layer.provide(broker))
          )
        )
      )
    const artifacts = yield* writeArtifacts(
      loaded.config.artifacts ?? ConfigDefaults.artifacts,
      outcome,
      resolvedTargetsDocument(inputs.resolved, inputs.asOf)
    )
    yield* Console.log(
      options.json ? printOutcome(outcomeDocument(outcome, artifacts)) : describeOutcome(outcome, artifacts)
    )
    if (recordingProblem !== undefined) yield* Console.error(`${options.record}: ${recordingProblem}`)
    return outcome
  })

export const runCommand = Command.make(
  "run",
  {
    account: accountFlag,
    execute: Flag.Boolean("execute").pipe(
      Flag.withDescription("Place the orders (default: preview only)"),
      Flag.withDefault(false)
    ),
    config: configFlag,
    json: jsonFlag,
    wait: waitFlag,
    ignoreMarketHours: Flag.Boolean("ignore-market-hours").pipe(
      Flag.withDescription("Simulated markets only (the paper venue): trade even when the market is closed"),
      Flag.withDefault(false)
    ),
    record: Flag.String("record").pipe(
      Flag.withDescription(
        "Record every broker call and answer in this new session file (replay it with `rebalance replay`)"
      ),
      Flag.optional,
      Flag.map(Option.getOrUndefined)
    )
  },
  (flags) =>
    runAccount(flags).pipe(
      Effect.flatMap((outcome) => (outcome.run.status === "completed"
        ? Effect.void
        : Effect.fail(new RunNotCompleted({ status: outcome.run.status })))
      )
    )
).pipe(Command.withDescription("Rebalance one account: a preview, or with --execute the orders too"))
