/**
 * `rebalance run --account NAME [--execute]`: one account's rebalance through the
 * program, against the Layers its keel.yaml entry names. A preview unless --execute.
 * Exit 0 when the run completed, 3 when it stopped (failed, timed out, aborted),
 * 2 on invalid config or input.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Command, Flag } from "effect/cli"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type * as SqlClient from "effect/sql/SqlClient"
import * as Recording from "../../effects/broker/recording/layer.ts"
import { explain, InputFileError, readInput } from "../../effects/inputs.ts"
import type { RunStatus } from "../../effects/Store.ts"
import { resolveTargets } from "../../effects/targets/resolve.ts"
import { validatePolicy } from "../../kernel/rebalance/policy.ts"
import { targetsInput, validateTargets } from "../../kernel/rebalance/targets.ts"
import { discrepancyRows, orderRows, writeArtifacts } from "../artifacts.ts"
import { type AccountConfig, ConfigDefaults, findAccount, loadConfig, type LoadedConfig } from "../config.ts"
import { brokerLayer, databaseFile, notifierLayer, storeLayer } from "../layers.ts"
import { targetsJson } from "../resolved.ts"
import { day } from "../run/ids.ts"
import { rebalanceAccount, type RunOutcome, type RunRequest } from "../run/rebalanceAccount.ts"
import { outcomeOf } from "../sessions.ts"
import { toSource } from "../targetsConfig.ts"
import { keelVersion } from "../version.ts"
import { planJson, planTable } from "./plan.ts"

/** A run that did not complete: already reported, the CLI only sets the exit code. */
export class RunNotCompleted extends Data.TaggedError("RunNotCompleted")<{ readonly status: RunStatus }> {}

export const configFlag = Flag.String("config").pipe(
  Flag.withDescription("Keel config file (default ./keel.yaml)"),
  Flag.withDefault("keel.yaml")
)
export const jsonFlag = Flag.Boolean("json").pipe(
  Flag.withDescription("Print one JSON object on stdout"),
  Flag.withDefault(false)
)

/** Where an account's input files are: relative to keel.yaml. */
export const inConfigDir =
  (loaded: LoadedConfig) => (file: string) => (file.startsWith("/") ? file : `${loaded.dir}/${file}`)

/**
 * The account's targets (resolved from their sources, replacement set applied) and policy,
 * read and validated before any run starts: bad input, or a source that cannot be
 * resolved, is exit 2, never a run on unresolved targets.
 */
export const accountInputs = (loaded: LoadedConfig, account: AccountConfig) =>
  Effect.gen(function*() {
    const at = inConfigDir(loaded)
    const index = loaded.config.accounts.indexOf(account)
    const policyFile = typeof account.policy === "string" ? yield* readInput("policy", at(account.policy)) : undefined
    const policyData = policyFile === undefined ? account.policy : policyFile.data
    const policy = validatePolicy(policyData)
    if (Result.isFailure(policy)) {
      return yield* policyFile === undefined
        ? Effect.fail(
          new InputFileError({
            file: loaded.file,
            detail:
              `accounts[${index}].policy.${policy.failure.path}: expected ${policy.failure.expected}, got ${policy.failure.value}`
          })
        )
        : Effect.fail(explain(policyFile, policy.failure))
    }
    const asOf = day(yield* Clock.currentTimeMillis)
    const resolved = yield* resolveTargets(
      toSource(account.targets, at),
      account.replacements === undefined
        ? undefined
        : { file: at(account.replacements.file), set: account.replacements.set },
      {
        asOf,
        configFile: loaded.file,
        at: `accounts[${index}].targets`,
        weightTolerance: policy.success.weightTolerance
      }
    )
    // The policy's own checks on the resolved weights, in the config's terms. Resolved weights
    // never sum above 1 (each source checked its sum against its own tolerance, naming itself),
    // so what this can still refuse is a symbol the policy excludes. The run gets the validated
    // targets; a session records the raw ones, which a replay validates the same way.
    const rawTargets = targetsInput(resolved.targets)
    const targets = validateTargets(rawTargets, policy.success)
    if (Result.isFailure(targets)) {
      const e = targets.failure
      const symbol = resolved.targets.weights[Number(/^\[(\d+)\]/.exec(e.path)?.[1] ?? -1)]?.symbol
      return yield* new InputFileError({
        file: loaded.file,
        detail: `accounts[${index}].targets${
          symbol === undefined ? "" : ` (${symbol})`
        }: expected ${e.expected}, got ${e.value}`
      })
    }
    return { targets: targets.success, policy: policy.success, resolved, asOf, rawTargets, rawPolicy: policyData }
  })

/**
 * The Layers of one account: Store and the given broker on the configured database, and
 * the notifiers.
 */
export const accountLayers = <ROut, E>(
  loaded: LoadedConfig,
  json: boolean,
  broker: Layer.Layer<ROut, E, SqlClient.SqlClient | HttpClient.HttpClient>
) =>
  Layer.mergeAll(
    broker.pipe(Layer.provideMerge(storeLayer(databaseFile(loaded)))),
    notifierLayer(loaded, { stderr: json })
  ).pipe(
    Layer.provide(NodeHttpClient.layerUndici)
  )

const describeOutcome = (outcome: RunOutcome, artifacts: string): string => {
  const { run, summary } = outcome
  const lines = [
    `Run ${run.id} (${run.account}, ${run.mode}): ${run.status}${
      run.status === "completed" ? "" : ` at ${run.step}: ${run.reason ?? ""}`
    }`
  ]
  if (outcome.plan !== undefined) lines.push("", planTable(outcome.plan))
  const orders = orderRows(outcome)
  if (orders.length > 0) {
    lines.push("", "Orders:")
    for (const o of orders) {
      lines.push(
        `  ${o.phase.padEnd(4)} ${o.side.padEnd(4)} ${o.symbol.padEnd(8)} ${o.quantity.padStart(12)}  ` +
          `${o.status.padEnd(16)} filled ${o.filledQuantity}` +
          (o.strategy === undefined || o.strategy === null ? "" : `  [${o.strategy}]`) +
          (o.averageFillPrice === null ? "" : ` @ ${o.averageFillPrice}`) +
          (o.status === "rejected" && o.reason !== null ? `  (${o.reason})` : "")
      )
    }
  }
  // What the plan table cannot show: notes from the guards, rejections, a failed notification.
  const planned = new Set(outcome.plan?.warnings.map((w) => w.message) ?? [])
  const notes = summary.warnings.filter((w) => !planned.has(w))
  if (notes.length > 0) lines.push("", "Notes:", ...notes.map((n) => `  ${n}`))
  lines.push("", `Cash ${summary.cash.before} → ${summary.cash.after}`, `Artifacts: ${artifacts}`)
  return lines.join("\n")
}

export const outcomeJson = (outcome: RunOutcome, artifacts: string) => ({
  run: outcome.run,
  summary: outcome.summary,
  plan: outcome.plan === undefined ? null : planJson(outcome.plan),
  buyReplan: outcome.buys === undefined ? null : planJson(outcome.buys),
  orders: orderRows(outcome).map(({ assumedPrice: _, ...row }) => row),
  discrepancies: discrepancyRows(outcome),
  artifacts
})

export interface RunOptions {
  readonly config: string
  readonly account: string
  readonly execute: boolean
  readonly json: boolean
  readonly ignoreMarketHours: boolean
  /** A new session file to record the broker's answers in (see `rebalance replay`). */
  readonly record?: string | undefined
}

/** Loads the config, runs the program on the account's Layers, writes artifacts and prints. */
export const runAccount = (options: RunOptions) =>
  Effect.gen(function*() {
    const loaded = yield* loadConfig(options.config)
    const account = yield* findAccount(loaded, options.account)
    const inputs = yield* accountInputs(loaded, account).pipe(Effect.provide(NodeHttpClient.layerUndici))
    const timeouts = loaded.config.timeouts
    const request: RunRequest = {
      account: account.name,
      targets: inputs.targets,
      policy: inputs.policy,
      execute: options.execute,
      ignoreMarketHours: options.ignoreMarketHours,
      onOpenOrders: account.openOrders ?? "cancel",
      fillTimeout: `${timeouts?.fillSeconds ?? ConfigDefaults.fillSeconds} seconds`,
      pollInterval: `${timeouts?.pollSeconds ?? ConfigDefaults.pollSeconds} seconds`,
      notes: inputs.resolved.warnings
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
      targetsJson(inputs.resolved, inputs.asOf)
    )
    yield* Console.log(
      options.json ? JSON.stringify(outcomeJson(outcome, artifacts), null, 2) : describeOutcome(outcome, artifacts)
    )
    if (recordingProblem !== undefined) yield* Console.error(`${options.record}: ${recordingProblem}`)
    return outcome
  })

export const runCommand = Command.make(
  "run",
  {
    account: Flag.String("account").pipe(Flag.withDescription("Account name in the config")),
    execute: Flag.Boolean("execute").pipe(
      Flag.withDescription("Place the orders (default: preview only)"),
      Flag.withDefault(false)
    ),
    config: configFlag,
    json: jsonFlag,
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
