/**
 * `rebalance positions --account NAME`: holdings with average cost and P&L, for an account
 * whose venue keeps books (`capabilities.books`: the paper venue keeps average cost and
 * realized P&L per symbol); unrealized P&L is valued at the latest quotes (mid, like the
 * kernel's valuation). Any other account is refused with one line, exit 2, before anything
 * is opened.
 *
 * `--by-strategy` splits the same P&L by strategy, from the fills the Store recorded and the
 * attribution of the orders they filled (src/programs/accountPnl.ts, src/kernel/pnl/strategyPnl.ts):
 * per strategy its symbols and totals, valued at the same quotes. Buys without attribution
 * count for the strategy "unattributed". When the recorded fills do not add up to the venue's
 * books (a fill the Store never saw), a warning names the symbol.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { type AccountBooks, Books, Broker } from "../../effects/Broker.ts"
import { capabilitiesOf, venueKinds } from "../../effects/broker/registry.ts"
import { InputFileError } from "../../effects/inputs.ts"
import { type Decimal, format, isZero, ONE, ZERO } from "../../kernel/decimal.ts"
import { StrategyPnlDefaults } from "../../kernel/pnl/strategyPnl.ts"
import { prices } from "../../kernel/rebalance/prices.ts"
import { accountStrategyPnl, type StrategyPnlReport } from "../accountPnl.ts"
import { type AccountConfig, findAccount, loadConfig, type LoadedConfig } from "../config.ts"
import { brokerLayer, databaseFile, storeLayer } from "../layers.ts"
import { configFlag, jsonFlag } from "./run.ts"

const orNull = (d: Decimal | undefined): string | null => (d === undefined ? null : format(d))

/** Quotes → valuation price (mid, else last, else close, else the one side), as the kernel values. */
const valuation = (symbols: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const quotes = yield* broker.quotes(symbols)
    const out = new Map<string, Decimal>()
    for (const q of quotes) {
      const price = prices(q, ONE).valuation?.price
      if (price !== undefined) out.set(q.symbol, price)
    }
    return out
  })

/** The venue's books; its capabilities promised them. */
const venueBooks = Effect.flatMap(
  Effect.serviceOption(Books),
  Option.match({
    onNone: () => Effect.die(new Error("the venue says it keeps books, but its layer provides none")),
    onSome: (books) => books.books
  })
)

const keepBooks = venueKinds.filter((kind) => capabilitiesOf(kind).books)

/**
 * The account's venue with its books, on the account's database; an account whose venue keeps
 * none is refused before anything is opened (no credentials read, no database created).
 */
const booksLayer = (loaded: LoadedConfig, account: AccountConfig) =>
  Effect.gen(function*() {
    const kind = account.broker.kind
    if (!capabilitiesOf(kind).books) {
      return yield* new InputFileError({
        file: loaded.file,
        detail: `accounts: expected an account whose venue keeps books with average cost and P&L (${
          keepBooks.join(", ")
        }), got ${JSON.stringify(account.name)} (${kind}); see the broker's own positions`
      })
    }
    // Nothing is ordered here, so the policy's share mode does not matter.
    const broker = yield* brokerLayer(loaded, account, { fractional: false })
    return broker.layer.pipe(
      Layer.provideMerge(storeLayer(databaseFile(loaded))),
      Layer.provide(NodeHttpClient.layerUndici)
    )
  })

/** The `--by-strategy --json` document. */
const byStrategyJson = (account: string, books: AccountBooks, report: StrategyPnlReport) => {
  const warnings = [...report.warnings]
  // The recorded fills should rebuild the venue's books exactly; say where they do not.
  const bookBySymbol = new Map(books.positions.map((p) => [p.symbol, p]))
  const rebuilt = new Map(report.symbols.map((s) => [s.symbol, s]))
  for (const symbol of [...new Set([...bookBySymbol.keys(), ...rebuilt.keys()])].sort()) {
    const book = bookBySymbol.get(symbol)
    const mine = rebuilt.get(symbol)
    const quantity = mine?.quantity ?? ZERO
    const realized = mine?.realizedPnl ?? ZERO
    if (!quantity.eq(book?.quantity ?? ZERO) || !realized.eq(book?.realizedPnl ?? ZERO)) {
      warnings.push(
        `${symbol}: the recorded fills give quantity ${format(quantity)} and realized P&L ${
          format(realized)
        }, the venue's books ${format(book?.quantity ?? ZERO)} and ${
          format(book?.realizedPnl ?? ZERO)
        } (fills missing from the store)`
      )
    }
  }
  let realizedPnl = ZERO
  for (const t of report.strategies) realizedPnl = realizedPnl.plus(t.realizedPnl)
  return {
    account,
    unattributed: StrategyPnlDefaults.unattributed,
    realizedPnl: format(realizedPnl),
    strategies: report.strategies.map((t) => ({
      strategy: t.strategy,
      positions: report.holdings
        .filter((h) => h.strategy === t.strategy && (!isZero(h.quantity) || !isZero(h.realizedPnl)))
        .map((h) => ({
          symbol: h.symbol,
          quantity: format(h.quantity),
          averageCost: format(h.averageCost),
          costBasis: format(h.costBasis),
          price: orNull(h.price),
          value: orNull(h.value),
          unrealizedPnl: orNull(h.unrealizedPnl),
          realizedPnl: format(h.realizedPnl)
        })),
      totals: {
        costBasis: format(t.costBasis),
        value: orNull(t.value),
        unrealizedPnl: orNull(t.unrealizedPnl),
        realizedPnl: format(t.realizedPnl)
      }
    })),
    warnings
  }
}

/** Columns padded to their widest cell; the first is left-aligned, the rest (numbers) right-aligned. */
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)))
  const render = (row: ReadonlyArray<string>) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ").trimEnd()
  return [render(header), ...rows.map(render)].join("\n")
}

const byStrategyTable = (doc: ReturnType<typeof byStrategyJson>): string => {
  const out = [`Account ${doc.account} by strategy: realized P&L ${doc.realizedPnl}`]
  if (doc.strategies.length === 0) out.push("", "No recorded fills.")
  for (const s of doc.strategies) {
    out.push(
      "",
      `Strategy ${s.strategy}: value ${s.totals.value ?? "?"}, unrealized ${
        s.totals.unrealizedPnl ?? "?"
      }, realized ${s.totals.realizedPnl}`,
      table(
        ["SYMBOL", "QUANTITY", "AVG COST", "PRICE", "VALUE", "UNREALIZED", "REALIZED"],
        s.positions.map((
          r
        ) => [
          r.symbol,
          r.quantity,
          r.averageCost,
          r.price ?? "?",
          r.value ?? "?",
          r.unrealizedPnl ?? "?",
          r.realizedPnl
        ])
      )
    )
  }
  if (doc.warnings.length > 0) out.push("", "Warnings:", ...doc.warnings.map((w) => `  ${w}`))
  return out.join("\n")
}

export const positionsCommand = Command.make(
  "positions",
  {
    account: Flag.String("account").pipe(Flag.withDescription("Account name in the config")),
    config: configFlag,
    json: jsonFlag,
    byStrategy: Flag.Boolean("by-strategy").pipe(
      Flag.withDescription("Split holdings and P&L by strategy, from the recorded fills and their orders' attribution"),
      Flag.withDefault(false)
    )
  },
  (flags) =>
    Effect.gen(function*() {
      const loaded = yield* loadConfig(flags.config)
      const account = yield* findAccount(loaded, flags.account)
      const layer = yield* booksLayer(loaded, account)
      if (flags.byStrategy) {
        const doc = yield* Effect.gen(function*() {
          const books = yield* venueBooks
          const report = yield* accountStrategyPnl(account.name, valuation)
          return byStrategyJson(account.name, books, report)
        }).pipe(Effect.provide(layer))
        return yield* Console.log(flags.json ? JSON.stringify(doc, null, 2) : byStrategyTable(doc))
      }
      const report = yield* Effect.gen(function*() {
        const books = yield* venueBooks
        const held = books.positions.filter((p) => !isZero(p.quantity) || !isZero(p.realizedPnl))
        const valued = yield* valuation(held.map((p) => p.symbol))
        const rows = held.map((p) => {
          const price = valued.get(p.symbol)
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
        return {
          account: account.name,
          cash: format(books.cash),
          realizedPnl: format(books.realizedPnl),
          positions: rows
        }
      }).pipe(Effect.provide(layer))
      if (flags.json) return yield* Console.log(JSON.stringify(report, null, 2))
      const lines = [
        `Account ${report.account}: cash ${report.cash}, realized P&L ${report.realizedPnl}`,
        "",
        "SYMBOL    QUANTITY   AVG COST      PRICE        VALUE   UNREALIZED     REALIZED",
        ...report.positions.map(
          (r) =>
            `${r.symbol.padEnd(8)}${r.quantity.padStart(10)}${r.averageCost.padStart(11)}${
              (r.price ?? "?").padStart(11)
            }${(r.value ?? "?").padStart(13)}${(r.unrealizedPnl ?? "?").padStart(13)}${r.realizedPnl.padStart(13)}`
        )
      ]
      yield* Console.log(lines.join("\n"))
    })
).pipe(Command.withDescription("Holdings, average cost and P&L of an account"))
