/**
 * `rebalance plan`: read the snapshot, targets and policy files, run the kernel once,
 * and print the plan as a table for people or as one JSON object for programs.
 * Every amount is printed exactly as the kernel computed it; only the weights in the
 * table are rounded, to percent with two places, for reading.
 */
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import { explain, type InputFile, readInput } from "../../effects/inputs.ts"
import { type Decimal, format } from "../../kernel/decimal.ts"
import { describeReason, linePrice, lineWeight } from "../../kernel/rebalance/plan.ts"
import { type Rebalance, rebalance } from "../../kernel/rebalance/rebalance.ts"
import type { Attribution } from "../../kernel/rebalance/targets.ts"
import { primaryStrategy } from "../../kernel/strategies/blend.ts"

const orNull = (d: Decimal | undefined): string | null => (d === undefined ? null : format(d))

/** Strategy and attribution, only when the targets carry attribution (a plain file has none). */
export const attributed = (x: { readonly attribution: Attribution }) =>
  x.attribution.length === 0
    ? {}
    : {
      strategy: primaryStrategy(x) ?? null,
      attribution: x.attribution.map((a) => ({ strategy: a.strategy, weight: format(a.weight) }))
    }

/** The `--json` document: every decimal as a string, unknown values as null. */
export const planJson = (result: Rebalance) => ({
  equity: format(result.plan.equity),
  cash: {
    before: format(result.orders.cash.before),
    after: format(result.orders.cash.after),
    reserve: format(result.orders.cash.reserve)
  },
  plan: result.lines.map(({ line, action, reason, targetQuantity, finalQuantity }) => ({
    symbol: line.symbol,
    quantity: format(line.quantity),
    price: orNull(linePrice(line)),
    value: orNull(line.value),
    weight: orNull(lineWeight(line)),
    targetWeight: format(line.targetWeight),
    targetQuantity: format(targetQuantity),
    finalQuantity: format(finalQuantity),
    action,
    reason,
    ...attributed(line)
  })),
  orders: result.orders.orders.map((o) => ({
    symbol: o.symbol,
    side: o.side,
    quantity: format(o.quantity),
    price: format(o.price),
    value: format(o.value),
    phase: o.phase,
    ...attributed(o)
  })),
  warnings: result.warnings.map((w) =>
    w.symbol === undefined
      ? { code: w.code, message: w.message }
      : { code: w.code, symbol: w.symbol, message: w.message }
  )
})

const HUNDRED = "100"

const percent = (d: Decimal | undefined): string => (d === undefined ? "?" : `${d.times(HUNDRED).round(2).toFixed(2)}%`)

/** Columns padded to their widest cell; `right` columns hold numbers. */
const table = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  right: ReadonlySet<number>
): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)))
  const render = (row: ReadonlyArray<string>) =>
    row
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd()
  return [render(header), ...rows.map(render)].join("\n")
}

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
  const out = [
    `Equity ${format(result.plan.equity)}`,
    "",
    table(["SYMBOL", "WEIGHT → TARGET", "ACTION", "REASON", "QUANTITY", "ORDER VALUE"], rows, new Set([4, 5])),
    "",
    `Cash: before ${format(before)}, after ${format(after)}, reserve ${format(reserve)}`
  ]
  if (result.warnings.length > 0) {
    out.push("", "Warnings:", ...result.warnings.map((w) => `  ${w.code}: ${w.message}`))
  }
  return out.join("\n")
}

export const planCommand = Command.make(
  "plan",
  {
    snapshot: Flag.String("snapshot").pipe(
      Flag.withDescription("Account snapshot: cash, positions, quotes (.json, .yaml)")
    ),
    targets: Flag.String("targets").pipe(Flag.withDescription("Target weights by symbol (.json, .yaml, .csv)")),
    policy: Flag.String("policy").pipe(Flag.withDescription("Rebalancing policy (.json, .yaml)"), Flag.optional),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print one JSON object on stdout"), Flag.withDefault(false))
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
    yield* Console.log(flags.json ? JSON.stringify(planJson(result.success), null, 2) : planTable(result.success))
  })
).pipe(Command.withDescription("Plan the orders that bring an account to its target weights"))
