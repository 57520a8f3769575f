/**
 * Per-strategy paper P&L from the Store: every run of an account, oldest first, its fills
 * joined to their intents and, through them, to the attribution of the order each intent
 * was sent for (stored with the intent); then the kernel's `strategyPnl`.
 *
 * A fill that cannot be joined (no intent, or an intent whose attribution is unknown: stored
 * before Keel kept it, and its run's plans could not tell) is still booked, without
 * attribution, and a warning says so: a buy then counts as unattributed, and a sell is split
 * by holdings anyway.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AccountBooks } from "../effects/Broker.ts"
import { type FillRecord, type OrderIntent, Store, type StoreError } from "../effects/Store.ts"
import { type Decimal, format, isPositive, ZERO } from "../kernel/decimal.ts"
import { byCodeUnits } from "../kernel/input.ts"
import {
  type AttributedFill,
  type StrategyPnl,
  strategyPnl,
  type StrategyPnlOptions
} from "../kernel/pnl/strategyPnl.ts"
import type { Attribution } from "../kernel/rebalance/targets.ts"

export interface AttributedFills {
  /** In the order they happened: runs oldest first, each run's fills in recorded order. */
  readonly fills: ReadonlyArray<AttributedFill>
  /** Joins that failed (the fill is booked without attribution). */
  readonly warnings: ReadonlyArray<string>
}

export interface StrategyPnlReport extends StrategyPnl {
  readonly warnings: ReadonlyArray<string>
}

/** The attribution a fill is booked with, and why it has none when its order's cannot be known. */
const attributionOf = (
  runId: string,
  fill: FillRecord,
  intent: OrderIntent | undefined
): { readonly attribution: Attribution; readonly warning?: string } => {
  const which = `run ${runId}: the fill of ${fill.clientOrderId} (${fill.side} ${fill.symbol})`
  if (intent === undefined) return { attribution: [], warning: `${which} has no intent; booked without attribution` }
  return Option.match(intent.attribution, {
    onSome: (attribution) => ({ attribution }),
    onNone: () => ({
      attribution: [],
      warning: `${which}: its attribution is unknown (its intent was stored before Keel kept attribution, ` +
        "and its run's plans do not tell); booked without attribution"
    })
  })
}

/** Every fill of the account's runs, oldest first, with the attribution of the order it filled. */
export const attributedFills = (account: string): Effect.Effect<AttributedFills, StoreError, Store> =>
  Effect.gen(function*() {
    const store = yield* Store
    const runs = [...(yield* store.listRuns(account, Number.MAX_SAFE_INTEGER))].reverse()
    const fills: Array<AttributedFill> = []
    const warnings: Array<string> = []
    for (const run of runs) {
      const recorded = yield* store.fills(run.id)
      if (recorded.length === 0) continue
      const intents = new Map<string, OrderIntent>((yield* store.intents(run.id)).map((i) => [i.clientOrderId, i]))
      for (const f of recorded) {
        const { attribution, warning } = attributionOf(run.id, f, intents.get(f.clientOrderId))
        if (warning !== undefined) warnings.push(warning)
        fills.push({
          symbol: f.symbol,
          side: f.side,
          quantity: f.quantity,
          price: f.price,
          commission: f.commission,
          attribution
        })
      }
    }
    return { fills, warnings }
  })

/** The symbols an account's fills touched, sorted (to ask for their quotes). */
const symbolsOf = (fills: ReadonlyArray<AttributedFill>): ReadonlyArray<string> =>
  [...new Set(fills.map((f) => f.symbol))].sort(byCodeUnits)

/**
 * Per-strategy P&L of an account from its stored runs, valued at `prices` (symbol → price).
 * `prices` may be an Effect of the symbols the fills touched (e.g. the broker's quotes).
 */
export const accountStrategyPnl = <E, R>(
  account: string,
  prices: (symbols: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, Decimal>, E, R>,
  options: Partial<StrategyPnlOptions> = {}
): Effect.Effect<StrategyPnlReport, StoreError | E, Store | R> =>
  Effect.gen(function*() {
    const joined = yield* attributedFills(account)
    const valuation = yield* prices(symbolsOf(joined.fills))
    const result = strategyPnl(joined.fills, valuation, options)
    const warnings = [...joined.warnings]
    for (const i of result.ignored) {
      warnings.push(`fill ${i.index + 1} of the account's recorded fills not booked: ${i.reason}`)
    }
    for (const s of result.symbols) {
      if (isPositive(s.unmatchedQuantity)) {
        warnings.push(
          `${s.symbol}: ${format(s.unmatchedQuantity)} sold beyond what the recorded fills bought; not booked`
        )
      }
    }
    return { ...result, warnings }
  })

/**
 * Where the recorded fills do not rebuild the venue's books exactly (a fill the Store never
 * saw), by symbol: one warning each.
 */
export const booksWarnings = (books: AccountBooks, report: StrategyPnlReport): ReadonlyArray<string> => {
  const bookBySymbol = new Map(books.positions.map((p) => [p.symbol, p]))
  const rebuilt = new Map(report.symbols.map((s) => [s.symbol, s]))
  return [...new Set([...bookBySymbol.keys(), ...rebuilt.keys()])].sort().flatMap((symbol) => {
    const book = bookBySymbol.get(symbol)
    const mine = rebuilt.get(symbol)
    const quantity = mine?.quantity ?? ZERO
    const realized = mine?.realizedPnl ?? ZERO
    const bookQuantity = book?.quantity ?? ZERO
    const bookRealized = book?.realizedPnl ?? ZERO
    return quantity.eq(bookQuantity) && realized.eq(bookRealized)
      ? []
      : [
        `${symbol}: the recorded fills give quantity ${format(quantity)} and realized P&L ${format(realized)}, ` +
        `the venue's books ${format(bookQuantity)} and ${format(bookRealized)} (fills missing from the store)`
      ]
  })
}
