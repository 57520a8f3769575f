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
import { Books, Broker } from "../../effects/Broker.ts"
import { capabilitiesOf, venueKinds } from "../../effects/broker/registry.ts"
import { InputFileError } from "../../effects/inputs.ts"
import { type Decimal, format, ONE } from "../../kernel/decimal.ts"
import { prices } from "../../kernel/rebalance/prices.ts"
import { accountStrategyPnl, booksWarnings } from "../accountPnl.ts"
import { type AccountConfig, findAccount, loadConfig, type LoadedConfig } from "../config.ts"
import { printed } from "../documents/document.ts"
import {
  ByStrategyDocument,
  byStrategyDocument,
  heldSymbols,
  type Holding,
  PositionsDocument,
  positionsDocument
} from "../documents/positions.ts"
import { brokerLayer, databaseFile, readOnlyStore } from "../layers.ts"
import { accountFlag, configFlag, jsonFlag } from "./flags.ts"
import { amount, left, right, section, table } from "./render.ts"

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
      Layer.provideMerge(readOnlyStore(databaseFile(loaded))),
      Layer.provide(NodeHttpClient.layerUndici)
    )
  })

/** Holdings for people: one row per symbol, `?` where a holding has no price. */
const holdingsTable = (holdings: ReadonlyArray<Holding>): ReadonlyArray<string> =>
  table(
    [
      left("SYMBOL"),
      right("QUANTITY"),
      right("AVG COST"),
      right("PRICE"),
      right("VALUE"),
      right("UNREALIZED"),
      right("REALIZED")
    ],
    holdings.map((h) => [
      h.symbol,
      format(h.quantity),
      format(h.averageCost),
      amount(h.price),
      amount(h.value),
      amount(h.unrealizedPnl),
      format(h.realizedPnl)
    ])
  )

const positionsTable = (doc: PositionsDocument): string =>
  [
    `Account ${doc.account}: cash ${format(doc.cash)}, realized P&L ${format(doc.realizedPnl)}`,
    "",
    ...holdingsTable(doc.positions)
  ].join("\n")

const byStrategyTable = (doc: ByStrategyDocument): string =>
  [
    `Account ${doc.account} by strategy: realized P&L ${format(doc.realizedPnl)}`,
    ...(doc.strategies.length === 0 ? ["", "No recorded fills."] : []),
    ...doc.strategies.flatMap((s) => [
      "",
      `Strategy ${s.strategy}: value ${amount(s.totals.value)}, unrealized ${amount(s.totals.unrealizedPnl)}, ` +
      `realized ${format(s.totals.realizedPnl)}`,
      ...holdingsTable(s.positions)
    ]),
    ...section("Warnings:", doc.warnings)
  ].join("\n")

const printPositions = printed(PositionsDocument)
const printByStrategy = printed(ByStrategyDocument)

export const positionsCommand = Command.make(
  "positions",
  {
    account: accountFlag,
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
          return byStrategyDocument(account.name, report, [...report.warnings, ...booksWarnings(books, report)])
        }).pipe(Effect.provide(layer))
        return yield* Console.log(flags.json ? printByStrategy(doc) : byStrategyTable(doc))
      }
      const doc = yield* Effect.gen(function*() {
        const books = yield* venueBooks
        return positionsDocument(account.name, books, yield* valuation(heldSymbols(books)))
      }).pipe(Effect.provide(layer))
      yield* Console.log(flags.json ? printPositions(doc) : positionsTable(doc))
    })
).pipe(Command.withDescription("Holdings, average cost and P&L of an account"))
