/**
 * `rebalance targets --account NAME [--json]`: the account's resolved weights, each with
 * its attribution, and how they came about (the regime and its indicators, momentum
 * rankings, substitutions, warnings), without touching a broker or the Store.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import { Command, Flag } from "effect/cli"
import { parseDecimal } from "../kernel/decimal.ts"
import { findAccount, loadConfig } from "./config.ts"
import { targetsJson } from "./resolved.ts"
import { accountInputs, configFlag, jsonFlag } from "./run.ts"

/** A weight as a percentage with two places, for reading (the JSON keeps it exact). */
const percent = (weight: string): string => {
  const d = parseDecimal(weight)
  return typeof d === "string" ? weight : `${d.times("100").round(2).toFixed(2)}%`
}

export const targetsTable = (doc: ReturnType<typeof targetsJson>): string => {
  const lines: Array<string> = []
  if (doc.regime !== null) {
    const { trend, volatility } = doc.regime
    lines.push(
      `Regime ${doc.regime.regime} on ${doc.regime.asOf} → strategy ${doc.regime.strategy}`,
      `  trend: ${trend.symbol} close ${trend.close} (${trend.date}) ${trend.up ? ">=" : "<"} ${trend.days}-day average ${trend.sma}`,
      `  volatility: ${volatility.symbol} ${volatility.measure === "index" ? "index" : `realized ${volatility.days ?? ""}-day`} ${volatility.level} ${volatility.high ? ">" : "<="} ${volatility.threshold}`,
      ""
    )
  }
  for (const m of doc.momentum) {
    lines.push(`Momentum ${m.strategy}:`, ...m.ranking.map((r) => `  ${String(r.rank).padStart(3)}. ${r.symbol.padEnd(8)} ${r.return.padStart(16)}  ${r.from} → ${r.to}  weight ${r.weight}`), "")
  }
  lines.push("SYMBOL    WEIGHT      STRATEGY        ATTRIBUTION")
  for (const w of doc.weights) {
    const attribution = w.attribution.map((a) => `${a.strategy} ${percent(a.weight)}`).join(", ")
    lines.push(`${w.symbol.padEnd(8)} ${percent(w.weight).padStart(8)}    ${(w.strategy ?? "-").padEnd(15)} ${attribution}`)
  }
  lines.push(`cash     ${percent(doc.cash).padStart(8)}`)
  if (doc.substitutions.length > 0) {
    lines.push("", "Substitutions:", ...doc.substitutions.map((s) => `  ${s.source} → ${s.target} × ${s.scale}: moved ${s.weightMoved}, added ${s.weightAdded}`))
  }
  if (doc.warnings.length > 0) lines.push("", "Warnings:", ...doc.warnings.map((w) => `  ${w}`))
  return lines.join("\n")
}

export const targets = Command.make(
  "targets",
  { account: Flag.String("account").pipe(Flag.withDescription("Account name in the config")), config: configFlag, json: jsonFlag },
  (flags) =>
    Effect.gen(function* () {
      const loaded = yield* loadConfig(flags.config)
      const account = yield* findAccount(loaded, flags.account)
      const inputs = yield* accountInputs(loaded, account).pipe(Effect.provide(FetchHttpClient.layer))
      const doc = targetsJson(inputs.resolved, inputs.asOf)
      yield* Console.log(flags.json ? JSON.stringify(doc, null, 2) : targetsTable(doc))
    })
).pipe(Command.withDescription("The account's resolved target weights with attribution (no broker, no store)"))
