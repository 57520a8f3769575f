/**
 * `rebalance positions --account NAME`: holdings with average cost and P&L. A paper
 * account keeps average cost and realized P&L per symbol in its books; unrealized P&L is
 * valued at the latest quotes (mid, like the kernel's valuation).
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Command, Flag } from "effect/cli"
import { format, isZero, ONE } from "../kernel/decimal.ts"
import { prices } from "../kernel/prices.ts"
import { Broker } from "../effects/Broker.ts"
import { PaperControls } from "../effects/broker/paper.ts"
import { findAccount, loadConfig } from "./config.ts"
import { databaseFile, paperLayer, storeLayer } from "./layers.ts"
import { InputFileError } from "../effects/inputs.ts"
import { configFlag, jsonFlag } from "./run.ts"

export const positions = Command.make(
  "positions",
  { account: Flag.String("account").pipe(Flag.withDescription("Account name in the config")), config: configFlag, json: jsonFlag },
  (flags) =>
    Effect.gen(function* () {
      const loaded = yield* loadConfig(flags.config)
      const account = yield* findAccount(loaded, flags.account)
      if (account.broker.kind !== "paper") {
        return yield* Effect.fail(
          new InputFileError({
            file: loaded.file,
            detail: `accounts: expected a paper account (only paper accounts keep books with average cost and P&L here), got ${JSON.stringify(account.name)} (${account.broker.kind}); see the broker's own positions`
          })
        )
      }
      const paper = account.broker
      const report = yield* Effect.gen(function* () {
        const broker = yield* Broker
        const books = yield* (yield* PaperControls).books
        const held = books.positions.filter((p) => !isZero(p.quantity) || !isZero(p.realizedPnl))
        const quotes = yield* broker.quotes(held.map((p) => p.symbol))
        const valuation = new Map(quotes.map((q) => [q.symbol, prices(q, ONE).valuation?.price]))
        const rows = held.map((p) => {
          const price = valuation.get(p.symbol)
          const value = price === undefined ? undefined : p.quantity.times(price)
          return {
            symbol: p.symbol,
            quantity: format(p.quantity),
            averageCost: format(p.averageCost),
            price: price === undefined ? null : format(price),
            value: value === undefined ? null : format(value),
            unrealizedPnl: value === undefined ? null : format(value.minus(p.quantity.times(p.averageCost))),
            realizedPnl: format(p.realizedPnl)
          }
        })
        return { account: account.name, cash: format(books.cash), realizedPnl: format(books.realizedPnl), positions: rows }
      }).pipe(Effect.provide(paperLayer(loaded, account.name, paper).pipe(Layer.provide(storeLayer(databaseFile(loaded))))))
      if (flags.json) return yield* Console.log(JSON.stringify(report, null, 2))
      const lines = [
        `Account ${report.account}: cash ${report.cash}, realized P&L ${report.realizedPnl}`,
        "",
        "SYMBOL    QUANTITY   AVG COST      PRICE        VALUE   UNREALIZED     REALIZED",
        ...report.positions.map(
          (r) =>
            `${r.symbol.padEnd(8)}${r.quantity.padStart(10)}${r.averageCost.padStart(11)}${(r.price ?? "?").padStart(11)}${(r.value ?? "?").padStart(13)}${(r.unrealizedPnl ?? "?").padStart(13)}${r.realizedPnl.padStart(13)}`
        )
      ]
      yield* Console.log(lines.join("\n"))
    })
).pipe(Command.withDescription("Holdings, average cost and P&L of an account"))
