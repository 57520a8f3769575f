/**
 * `rebalance targets --account NAME [--json]`: the account's resolved weights, each with
 * its attribution, and how they came about (the regime and its indicators, momentum
 * rankings, substitutions, warnings), without touching a broker or the Store.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { parseDecimal } from "../../kernel/decimal.ts"
import { findAccount, loadConfig } from "../config.ts"
import { targetsJson } from "../resolved.ts"
import { accountInputs, configFlag, jsonFlag } from "./run.ts"

/** A weight as a percentage with two places, for reading (the JSON keeps it exact). */
const percent = (weight: string): string => {
  const d = parseDecimal(weight)
  return typeof d === "string" ? weight : `${d.times("100").round(2).toFixed(2)}%`
}

/** Columns padded to their widest cell (`right`: numbers, aligned right), trailing spaces trimmed. */
const columns = (rows: ReadonlyArray<ReadonlyArray<string>>, right: ReadonlySet<number>): Array<string> => {
  const widths: Array<number> = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows.map((row) =>
    row
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd()
  )
}

export const targetsTable = (doc: ReturnType<typeof targetsJson>): string => {
  const lines: Array<string> = []
  if (doc.regime !== null) {
    const { trend, volatility } = doc.regime
    lines.push(
      `Regime ${doc.regime.regime} on ${doc.regime.asOf} → strategy ${doc.regime.strategy}`,
      `  trend: ${trend.symbol} close ${trend.close} (${trend.date}) ${
        trend.up ? ">=" : "<"
      } ${trend.days}-day average ${trend.sma}`,
      `  volatility: ${volatility.symbol} ${
        volatility.measure === "index" ? "index" : `realized ${volatility.days ?? ""}-day`
      } ${volatility.level} ${volatility.high ? ">" : "<="} ${volatility.threshold}`,
      ""
    )
  }
  for (const m of doc.momentum) {
    lines.push(
      `Momentum ${m.strategy}:`,
      ...columns(
        m.ranking.map((
          r
        ) => [`${r.rank}.`, r.symbol, percent(r.return), `${r.from} → ${r.to}`, `weight ${percent(r.weight)}`]),
        new Set([0, 2])
      ).map((l) => `  ${l}`),
      ""
    )
  }
  const rows = doc.weights.map((w) => [
    w.symbol,
    percent(w.weight),
    w.strategy ?? "-",
    w.attribution.map((a) => `${a.strategy} ${percent(a.weight)}`).join(", ")
  ])
  lines.push(
    ...columns([["SYMBOL", "WEIGHT", "STRATEGY", "ATTRIBUTION"], ...rows, ["cash", percent(doc.cash)]], new Set([1]))
  )
  if (doc.substitutions.length > 0) {
    lines.push(
      "",
      "Substitutions:",
      ...doc.substitutions.map((s) =>
        `  ${s.source} → ${s.target} × ${s.scale}: moved ${s.weightMoved}, added ${s.weightAdded}`
      )
    )
  }
  if (doc.warnings.length > 0) lines.push("", "Warnings:", ...doc.warnings.map((w) => `  ${w}`))
  return lines.join("\n")
}

export const targetsCommand = Command.make(
  "targets",
  {
    account: Flag.String("account").pipe(Flag.withDescription("Account name in the config")),
    config: configFlag,
    json: jsonFlag
  },
  (flags) =>
    Effect.gen(function*() {
      const loaded = yield* loadConfig(flags.config)
      const account = yield* findAccount(loaded, flags.account)
      const inputs = yield* accountInputs(loaded, account).pipe(Effect.provide(NodeHttpClient.layerUndici))
      const doc = targetsJson(inputs.resolved, inputs.asOf)
      yield* Console.log(flags.json ? JSON.stringify(doc, null, 2) : targetsTable(doc))
    })
).pipe(Command.withDescription("The account's resolved target weights with attribution (no broker, no store)"))
