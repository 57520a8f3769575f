/**
 * `rebalance status [RUN]`: where a run stands and why it stopped, from the Store only, never
 * a broker, so it works while a run is stuck or after a crash.
 */
import { Argument, Command } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InputFileError } from "../../effects/inputs.ts"
import {
  type DeliveryRecord,
  type LeaseHolder,
  type OrderIntent,
  type Run,
  type StepRecord,
  Store
} from "../../effects/Store.ts"
import { format } from "../../kernel/decimal.ts"
import { primaryStrategy } from "../../kernel/strategies/blend.ts"
import { printed } from "../documents/document.ts"
import { StatusDocument, statusDocument } from "../documents/runs.ts"
import { configuredStore } from "../layers.ts"
import { isGone } from "../run/lease.ts"
import { configFlag, jsonFlag } from "./flags.ts"
import { indent, left, right, section, table, time } from "./render.ts"

/** The run's steps: when it entered each, and the detail it recorded (none: `{}`). */
const stepLines = (steps: ReadonlyArray<StepRecord>): ReadonlyArray<string> =>
  table(
    [left(), left(), left()],
    steps.map((s) => [time(s.at), s.step, s.detail === "{}" ? "" : s.detail])
  )

/** Each intent: its order, what became of it, and the strategy it was for (when known). */
const intentLines = (intents: ReadonlyArray<OrderIntent>): ReadonlyArray<string> =>
  table(
    [left(), left(), left(), right(), left(), left()],
    intents.map((i) => [
      i.clientOrderId,
      i.side,
      i.symbol,
      format(i.quantity),
      i.status,
      `filled ${format(i.filledQuantity)}` +
      (i.averageFillPrice === undefined ? "" : ` @ ${format(i.averageFillPrice)}`) +
      (i.reason === undefined ? "" : `  (${i.reason})`) +
      Option.match(i.attribution, {
        onNone: () => "",
        onSome: (attribution) => `  [${primaryStrategy({ attribution }) ?? ""}]`
      })
    ])
  )

/**
 * Whether a `running` run is alive: its process holds the account's lease, or nobody does and the
 * next run of the account (or `rebalance recover`) recovers it and closes it as `crashed`.
 */
const liveness = (run: Run, holder: Option.Option<LeaseHolder>): ReadonlyArray<string> => {
  if (run.status !== "running") return []
  return Option.isSome(holder) && holder.value.runId === run.id && !isGone(holder.value)
    ? [`Running in pid ${holder.value.pid} on ${holder.value.host}, last heartbeat ${time(holder.value.heartbeatAt)}`]
    : [
      `Not running: its process is gone (no lease on ${run.account}); ` +
      `the next run of ${run.account}, or \`rebalance recover --account ${run.account}\`, recovers it`
    ]
}

/** Each delivery of the run's notification: the channel, whether it arrived, after how many attempts, and why not. */
const deliveryLines = (deliveries: ReadonlyArray<DeliveryRecord>): ReadonlyArray<string> =>
  table(
    [left(), left(), left(), left()],
    deliveries.map((d) => [
      time(d.at),
      d.channel,
      `${d.status} after ${d.attempts} attempt(s)${d.fleetId === undefined ? "" : ` in ${d.fleetId}'s digest`}`,
      d.error ?? ""
    ])
  )

const describeRun = (
  run: Run,
  holder: Option.Option<LeaseHolder>,
  steps: ReadonlyArray<StepRecord>,
  intents: ReadonlyArray<OrderIntent>,
  deliveries: ReadonlyArray<DeliveryRecord>
): string =>
  [
    `Run ${run.id} (${run.account}, ${run.mode}): ${run.status}, last step ${run.step}`,
    ...liveness(run, holder),
    ...(run.reason === undefined
      ? []
      : [`${run.status === "crashed" ? "Recovery" : "Stopped because"}: ${run.reason}`]),
    `Started ${time(run.startedAt)}, finished ${time(run.finishedAt)}`,
    "",
    "Steps:",
    ...indent(stepLines(steps)),
    ...section("Order intents:", intentLines(intents)),
    ...section("Notifications:", deliveryLines(deliveries))
  ].join("\n")

const printStatus = printed(StatusDocument)

/** The run asked for, or the latest; none is exit 2. */
const findRun = (asked: Option.Option<string>) =>
  Effect.gen(function*() {
    const store = yield* Store
    const id = Option.isSome(asked) ? asked.value : (yield* store.listRuns(undefined, 1))[0]?.id
    const found = id === undefined ? Option.none<Run>() : yield* store.getRun(id)
    if (Option.isSome(found)) return found.value
    return yield* new InputFileError({
      file: "run",
      detail: id === undefined ? "no runs recorded yet" : `expected a known run id, got "${id}"`
    })
  })

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
      const run = yield* findRun(flags.run)
      const steps = yield* store.steps(run.id)
      const intents = yield* store.intents(run.id)
      const holder = yield* store.leaseHolder(run.account)
      const deliveries = yield* store.deliveries(run.id)
      yield* Console.log(
        flags.json
          ? printStatus(statusDocument(run, steps, intents, deliveries))
          : describeRun(run, holder, steps, intents, deliveries)
      )
    }).pipe((self) => Effect.flatMap(configuredStore(flags.config), (layer) => Effect.provide(self, layer)))
).pipe(Command.withDescription("Where a run stands and why it stopped (default: the latest run)"))
