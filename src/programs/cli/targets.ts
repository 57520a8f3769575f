/**
 * `rebalance targets --account NAME [--json]`: the account's resolved weights, each with
 * its attribution, and how they came about (the regime and its indicators, momentum
 * rankings, substitutions, warnings), without touching a broker or the Store.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Command } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { format } from "../../kernel/decimal.ts"
import { accountInputs } from "../accountInputs.ts"
import { findAccount, loadConfig } from "../config.ts"
import { printed } from "../documents/document.ts"
import { ResolvedTargetsDocument, resolvedTargetsDocument } from "../documents/resolvedTargets.ts"
import { accountFlag, configFlag, jsonFlag } from "./flags.ts"
import { indent, left, percent, right, section, table } from "./render.ts"

type Regime = NonNullable<ResolvedTargetsDocument["regime"]>

/** The regime, what it chose, and the two readings it was classified from. */
const regimeLines = ({ trend, volatility, ...regime }: Regime): ReadonlyArray<string> => [
  `Regime ${regime.regime} on ${regime.asOf} → strategy ${regime.strategy}`,
  ...indent([
    `trend: ${trend.symbol} close ${format(trend.close)} (${trend.date}) ${trend.up ? ">=" : "<"} ${trend.days}-day ` +
    `average ${format(trend.sma)}`,
    `volatility: ${volatility.symbol} ${
      volatility.measure === "index" ? "index" : `realized ${volatility.days ?? ""}-day`
    } ${format(volatility.level)} ${volatility.high ? ">" : "<="} ${format(volatility.threshold)}`
  ]),
  ""
]

/** A momentum strategy's ranking, best first. */
const momentumLines = (m: ResolvedTargetsDocument["momentum"][number]): ReadonlyArray<string> => [
  `Momentum ${m.strategy}:`,
  ...indent(table(
    [right(), left(), right(), left(), left()],
    m.ranking.map((
      r
    ) => [`${r.rank}.`, r.symbol, percent(r.return), `${r.from} → ${r.to}`, `weight ${percent(r.weight)}`])
  )),
  ""
]

const targetsTable = (doc: ResolvedTargetsDocument): string =>
  [
    ...(doc.regime === undefined ? [] : regimeLines(doc.regime)),
    ...doc.momentum.flatMap(momentumLines),
    ...table(
      [left("SYMBOL"), right("WEIGHT"), left("STRATEGY"), left("ATTRIBUTION")],
      [
        ...doc.weights.map((w) => [
          w.symbol,
          percent(w.weight),
          w.strategy ?? "-",
          w.attribution.map((a) => `${a.strategy} ${percent(a.weight)}`).join(", ")
        ]),
        ["cash", percent(doc.cash)]
      ]
    ),
    ...section(
      "Substitutions:",
      doc.substitutions.map((s) =>
        `${s.source} → ${s.target} × ${format(s.scale)}: moved ${format(s.weightMoved)}, added ${format(s.weightAdded)}`
      )
    ),
    ...section("Warnings:", doc.warnings)
  ].join("\n")

const printTargets = printed(ResolvedTargetsDocument)

export const targetsCommand = Command.make(
  "targets",
  {
    account: accountFlag,
    config: configFlag,
    json: jsonFlag
  },
  (flags) =>
    Effect.gen(function*() {
      const loaded = yield* loadConfig(flags.config)
      const account = yield* findAccount(loaded, flags.account)
      const inputs = yield* accountInputs(loaded, account).pipe(Effect.provide(NodeHttpClient.layerUndici))
      const doc = resolvedTargetsDocument(inputs.resolved, inputs.asOf)
      yield* Console.log(flags.json ? printTargets(doc) : targetsTable(doc))
    })
).pipe(Command.withDescription("The account's resolved target weights with attribution (no broker, no store)"))
