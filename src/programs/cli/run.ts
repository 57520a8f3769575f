/**
 * `rebalance run --account NAME [--execute]`: one account's rebalance through the
 * program, against the Layers its keel.yaml entry names. A preview unless --execute.
 * Exit 0 when the run completed, 3 when it stopped (failed, timed out, aborted),
 * 2 on invalid config or input.
 */
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Recording from "../../effects/broker/recording/layer.ts"
import { InputFileError } from "../../effects/inputs.ts"
import type { RunStatus } from "../../effects/Store.ts"
import { format } from "../../kernel/decimal.ts"
import { show } from "../../kernel/errors.ts"
import { writeArtifacts } from "../artifacts.ts"
import { artifactsRoot, ConfigDefaults, findAccount, loadConfig } from "../config.ts"
import { printed } from "../documents/document.ts"
import { OutcomeDocument, outcomeDocument, runOrders } from "../documents/outcome.ts"
import { resolvedTargetsDocument } from "../documents/resolvedTargets.ts"
import { parseAccountList, type Selection } from "../fleet/selection.ts"
import { accountLayers } from "../layers.ts"
import { rebalanceAccount, type RunOutcome } from "../run/rebalanceAccount.ts"
import { prepareRun } from "../runRequest.ts"
import { outcomeOf } from "../sessions.ts"
import { keelVersion } from "../version.ts"
import { configFlag, jsonFlag, waitFlag } from "./flags.ts"
import { runSelection } from "./fleet.ts"
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
    const { request, inputs, venue } = yield* prepareRun(loaded, account, options)
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
    const broker = venue.layer
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
            Recording.layer({ ...recording, secrets: venue.secrets }).pipe(Layer.provide(broker))
          )
        )
      )
    const artifacts = yield* writeArtifacts(
      artifactsRoot(loaded),
      outcome,
      resolvedTargetsDocument(inputs.resolved, inputs.asOf)
    )
    yield* Console.log(
      options.json ? printOutcome(outcomeDocument(outcome, artifacts)) : describeOutcome(outcome, artifacts)
    )
    if (recordingProblem !== undefined) yield* Console.error(`${options.record}: ${recordingProblem}`)
    return outcome
  })

const optionalText = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional, Flag.map(Option.getOrUndefined))

export const runCommand = Command.make(
  "run",
  {
    account: optionalText("account", "Account name in the config (one run)"),
    all: Flag.Boolean("all").pipe(
      Flag.withDescription("A fleet run: every account in the config"),
      Flag.withDefault(false)
    ),
    accounts: optionalText("accounts", "A fleet run: these accounts, comma-separated"),
    group: optionalText("group", "A fleet run: the accounts of this group (keel.yaml's groups)"),
    concurrency: Flag.Int("concurrency").pipe(
      Flag.filter((n) => n >= 1, () => "a whole number of accounts, at least 1"),
      Flag.withDescription(
        `A fleet run: accounts rebalanced at once (default: keel.yaml's fleet.concurrency, else ${ConfigDefaults.fleetConcurrency})`
      ),
      Flag.optional,
      Flag.map(Option.getOrUndefined)
    ),
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
    force: Flag.Boolean("force").pipe(
      Flag.withDescription(
        "Run even if the account executed today, or ran less than its minimum interval ago (recorded)"
      ),
      Flag.withDefault(false)
    ),
    confirmOverLimits: Flag.Boolean("confirm-over-limits").pipe(
      Flag.withDescription("Execute a plan that breaks the account's risk limits (recorded)"),
      Flag.withDefault(false)
    ),
    record: optionalText(
      "record",
      "Record every broker call and answer in this new session file (replay it with `rebalance replay`; one account only)"
    )
  },
  (flags) =>
    Effect.gen(function*() {
      const selection = yield* selectionOf(flags)
      if (selection === undefined) {
        const outcome = yield* runAccount({ ...flags, account: flags.account! })
        if (outcome.run.status !== "completed") return yield* new RunNotCompleted({ status: outcome.run.status })
        return
      }
      yield* runSelection(yield* loadConfig(flags.config), selection, flags)
    })
).pipe(
  Command.withDescription("Rebalance one account, or a fleet of them: a preview, or with --execute the orders too")
)

/** A combination of flags that does not make a run: one line naming the command, exit 2. */
const usage = ({ detail }: { readonly detail: string }) => new InputFileError({ file: "rebalance run", detail })

/**
 * Which run the flags ask for: one account (undefined) or a fleet. Exactly one of --account,
 * --all, --accounts and --group; --record only for one account.
 */
const selectionOf = (flags: {
  readonly account: string | undefined
  readonly all: boolean
  readonly accounts: string | undefined
  readonly group: string | undefined
  readonly concurrency: number | undefined
  readonly record: string | undefined
}): Effect.Effect<Selection | undefined, InputFileError> => {
  const given = [
    flags.account === undefined ? [] : ["--account"],
    flags.all ? ["--all"] : [],
    flags.accounts === undefined ? [] : ["--accounts"],
    flags.group === undefined ? [] : ["--group"]
  ].flat()
  if (given.length !== 1) {
    return Effect.fail(
      usage({
        detail: given.length === 0
          ? "expected --account NAME, --all, --accounts a,b or --group NAME"
          : `expected one of ${given.join(", ")}, not both`
      })
    )
  }
  if (flags.account !== undefined) {
    return flags.concurrency === undefined
      ? Effect.succeed(undefined)
      : Effect.fail(usage({ detail: "--concurrency is for a fleet run (--all, --accounts, --group)" }))
  }
  if (flags.record !== undefined) {
    return Effect.fail(usage({ detail: "--record records one account's run: use it with --account" }))
  }
  if (flags.all) return Effect.succeed({ _tag: "All" })
  if (flags.group !== undefined) return Effect.succeed({ _tag: "Group", group: flags.group })
  const names = parseAccountList(flags.accounts ?? "")
  return names === undefined
    ? Effect.fail(
      usage({ detail: `--accounts: expected account names separated by commas, got ${show(flags.accounts ?? "")}` })
    )
    : Effect.succeed({ _tag: "Listed", names })
}
