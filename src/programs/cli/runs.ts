/**
 * `rebalance status [RUN]` and `rebalance history`: what the Store knows of runs. They
 * read the Store only, never a broker, so they work while a run is stuck or after a crash.
 */
import { Argument, Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import { InputFileError } from "../../effects/inputs.ts"
import { type OrderIntent, type Run, Store } from "../../effects/Store.ts"
import { format } from "../../kernel/decimal.ts"
import type { Attribution } from "../../kernel/rebalance/targets.ts"
import { primaryStrategy } from "../../kernel/strategies/blend.ts"
import { ConfigDefaults, loadConfig } from "../config.ts"
import { databaseFile, storeLayer } from "../layers.ts"
import { attributed } from "./plan.ts"
import { configFlag, jsonFlag } from "./run.ts"

/** The Store of the config; with no config file at the default path, the default store. */
export const configuredStore = (config: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(config).pipe(Effect.orElseSucceed(() => false))
    if (!exists && config === "keel.yaml") return storeLayer(ConfigDefaults.sqlite)
    return storeLayer(databaseFile(yield* loadConfig(config)))
  })

const time = (millis: number | undefined): string => (millis === undefined ? "-" : new Date(millis).toISOString())

const runLine = (r: Run): string =>
  `${r.id}  ${r.account.padEnd(12)} ${r.mode.padEnd(8)} ${r.status.padEnd(10)} ${r.step.padEnd(15)} ${
    time(r.startedAt)
  }${r.reason === undefined ? "" : `  ${r.reason}`}`

const runJson = (r: Run) => ({ ...r, reason: r.reason ?? null, finishedAt: r.finishedAt ?? null })

/** An intent's strategy and attribution for `--json`, as the plan shows its order's (none when unknown). */
const intentAttribution = (intent: OrderIntent) =>
  attributed({ attribution: Option.getOrElse(intent.attribution, (): Attribution => []) })

export const statusCommand = Command.make(
  "status",
  {
    run: Argument.String("run").pipe(Argument.withDescription("Run id (default: the latest run)"), Argument.optional),
    config: configFlag,
    json: jsonFlag
  },
  (flags) =>
    Effect.gen(function*() {
      const store = yield* Store
      const id = Option.isSome(flags.run) ? flags.run.value : (yield* store.listRuns(undefined, 1))[0]?.id
      const found = id === undefined ? Option.none<Run>() : yield* store.getRun(id)
      if (Option.isNone(found)) {
        return yield* new InputFileError({
          file: "run",
          detail: id === undefined ? "no runs recorded yet" : `expected a known run id, got "${id}"`
        })
      }
      const run = found.value
      const steps = yield* store.steps(run.id)
      const intents = yield* store.intents(run.id)
      if (flags.json) {
        yield* Console.log(
          JSON.stringify(
            {
              run: runJson(run),
              steps: steps.map((s) => ({ step: s.step, at: s.at, detail: JSON.parse(s.detail) as unknown })),
              intents: intents.map((i) => ({
                clientOrderId: i.clientOrderId,
                phase: i.phase,
                symbol: i.symbol,
                side: i.side,
                quantity: format(i.quantity),
                status: i.status,
                brokerOrderId: i.brokerOrderId ?? null,
                filledQuantity: format(i.filledQuantity),
                averageFillPrice: i.averageFillPrice === undefined ? null : format(i.averageFillPrice),
                reason: i.reason ?? null,
                ...intentAttribution(i)
              }))
            },
            null,
            2
          )
        )
        return
      }
      const lines = [
        `Run ${run.id} (${run.account}, ${run.mode}): ${run.status}, last step ${run.step}`,
        ...(run.reason === undefined ? [] : [`Stopped because: ${run.reason}`]),
        `Started ${time(run.startedAt)}, finished ${time(run.finishedAt)}`,
        "",
        "Steps:",
        ...steps.map((s) => `  ${time(s.at)}  ${s.step.padEnd(15)} ${s.detail === "{}" ? "" : s.detail}`)
      ]
      if (intents.length > 0) {
        lines.push("", "Order intents:")
        for (const i of intents) {
          lines.push(
            `  ${i.clientOrderId}  ${i.side.padEnd(4)} ${i.symbol.padEnd(8)} ${format(i.quantity).padStart(12)}  ${
              i.status.padEnd(16)
            } filled ${format(i.filledQuantity)}` +
              (i.averageFillPrice === undefined ? "" : ` @ ${format(i.averageFillPrice)}`) +
              (i.reason === undefined ? "" : `  (${i.reason})`) +
              Option.match(i.attribution, {
                onNone: () => "",
                onSome: (attribution) => `  [${primaryStrategy({ attribution }) ?? ""}]`
              })
          )
        }
      }
      yield* Console.log(lines.join("\n"))
    }).pipe((self) => Effect.flatMap(configuredStore(flags.config), (layer) => Effect.provide(self, layer)))
).pipe(Command.withDescription("Where a run stands and why it stopped (default: the latest run)"))

export const historyCommand = Command.make(
  "history",
  {
    account: Flag.String("account").pipe(Flag.withDescription("Only this account"), Flag.optional),
    limit: Flag.Int("limit").pipe(Flag.withDescription("How many runs (default 20)"), Flag.withDefault(20)),
    config: configFlag,
    json: jsonFlag
  },
  (flags) =>
    Effect.flatMap(configuredStore(flags.config), (layer) =>
      Effect.gen(function*() {
        const store = yield* Store
        const runs = yield* store.listRuns(Option.getOrUndefined(flags.account), flags.limit)
        yield* Console.log(
          flags.json
            ? JSON.stringify(runs.map(runJson), null, 2)
            : runs.length === 0
            ? "No runs recorded yet."
            : ["RUN                   ACCOUNT      MODE     STATUS     STEP            STARTED", ...runs.map(runLine)]
              .join("\n")
        )
      }).pipe(Effect.provide(layer)))
).pipe(Command.withDescription("Recent runs, newest first"))
