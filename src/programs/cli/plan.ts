/**
 * `rebalance plan`: read the snapshot, targets and policy files, run the kernel once,
 * and print the plan as a table for people or as one JSON object for programs.
 * Every amount is printed exactly as the kernel computed it; only the weights in the
 * table are rounded, to percent with two places, for reading (render.ts); the JSON is the
 * plan document (src/programs/documents/plan.ts).
 */
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import { explain, type InputFile, readInput } from "../../effects/inputs.ts"
import { format } from "../../kernel/decimal.ts"
import { describeReason, lineWeight } from "../../kernel/rebalance/plan.ts"
import { type Rebalance, rebalance } from "../../kernel/rebalance/rebalance.ts"
import { printed } from "../documents/document.ts"
import { PlanDocument, planDocument } from "../documents/plan.ts"
import { jsonFlag } from "./flags.ts"
import { left, percent, right, section, table } from "./render.ts"

/** The plan for people: one row per symbol, then cash and warnings. */
export const planTable = (result: Rebalance): string => {
  const bySymbol = new Map(result.orders.orders.map((o) => [o.symbol, o]))
  const rows = result.lines.map(({ line, action, reason }) => {
    const order = bySymbol.get(line.symbol)
    return [
      line.symbol,
      `${percent(lineWeight(line))} → ${percent(line.targetWeight)}`,
      action,
      describeReason[reason],
      order === undefined ? "" : format(order.quantity),
      order === undefined ? "" : format(order.value)
    ]
  })
  const { before, after, reserve } = result.orders.cash
  return [
    `Equity ${format(result.plan.equity)}`,
    "",
    ...table(
      [
        left("SYMBOL"),
        left("WEIGHT → TARGET"),
        left("ACTION"),
        left("REASON"),
        right("QUANTITY"),
        right("ORDER VALUE")
      ],
      rows
    ),
    "",
    `Cash: before ${format(before)}, after ${format(after)}, reserve ${format(reserve)}`,
    ...section("Warnings:", result.warnings.map((w) => `${w.code}: ${w.message}`))
  ].join("\n")
}

const printPlan = printed(PlanDocument)

export const planCommand = Command.make(
  "plan",
  {
    snapshot: Flag.String("snapshot").pipe(
      Flag.withDescription("Account snapshot: cash, positions, quotes (.json, .yaml)")
    ),
    targets: Flag.String("targets").pipe(Flag.withDescription("Target weights by symbol (.json, .yaml, .csv)")),
    policy: Flag.String("policy").pipe(Flag.withDescription("Rebalancing policy (.json, .yaml)"), Flag.optional),
    json: jsonFlag
  },
  Effect.fnUntraced(function*(flags) {
    // Read in a fixed order, so the first problem reported is always the same one.
    const snapshot = yield* readInput("snapshot", flags.snapshot)
    const targets = yield* readInput("targets", flags.targets)
    const policy = Option.isSome(flags.policy) ? yield* readInput("policy", flags.policy.value) : undefined
    const result = rebalance({ snapshot: snapshot.data, targets: targets.data, policy: policy?.data })
    if (Result.isFailure(result)) {
      const files: Readonly<Record<string, InputFile | undefined>> = { snapshot, targets, policy }
      const file = files[result.failure.source]
      // The default policy is valid, so a policy error always has a policy file.
      if (file === undefined) return yield* Effect.die(result.failure)
      return yield* explain(file, result.failure)
    }
    yield* Console.log(flags.json ? printPlan(planDocument(result.success)) : planTable(result.success))
  })
).pipe(Command.withDescription("Plan the orders that bring an account to its target weights"))
