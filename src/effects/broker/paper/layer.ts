/**
 * The paper broker: a brokerage paper account behind the Broker interface.
 *
 * It is a simulator, not a mock: it refuses what a real broker refuses (a buy the
 * account cannot pay for, a sell of shares it does not hold, a reused client order id,
 * a symbol without a quote), fills asynchronously after a latency and possibly in
 * parts, charges slippage and commission, and keeps its books in SQL so that the next
 * run continues from the same cash, positions and open orders. Keel gives it a SQLite file
 * of its own (`layerFile`), never its Store's: deleting the store does not reset the account.
 *
 * Time is Effect's Clock and randomness is Effect's Random with a seed, so tests drive
 * fills with TestClock and every run with the same seed and calls is the same run.
 *
 * Concurrency: every change to the books (place, fill, cancel) runs under one lock,
 * in one SQL transaction that re-reads what it depends on, and publishes its update before
 * the lock is released, so subscribers see updates in the order the books changed. Other
 * processes may use the same books (a run and `rebalance paper-venue`): their transactions
 * take turns, and what they change is seen by reads, not on this process's update stream.
 * Books another process holds past the busy timeout are RateLimited: nothing was changed,
 * and the same call may be sent again after the wait.
 *
 * Failures of the connection (lost answers, refused calls, lagging lookups) are not the
 * venue's: tests put the faults decorator (broker/faults) in front of it, as of any venue.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import { isSqlError, type SqlError } from "effect/sql/SqlError"
import * as Stream from "effect/Stream"
import {
  type Decimal,
  type DecimalInput,
  decimalPlaces,
  format,
  isPositive,
  parseDecimal,
  ZERO
} from "../../../kernel/decimal.ts"
import type { Calendar } from "../../../kernel/guards/calendar.ts"
import { nyse } from "../../../kernel/guards/nyse.ts"
import type { Position, Quote, QuoteInput } from "../../../kernel/rebalance/snapshot.ts"
import {
  type AccountBooks,
  Books,
  Broker,
  BrokerConnectionError,
  type BrokerShape,
  isTerminal,
  type MarketClock,
  OrderNotFound,
  OrderRejected,
  type OrderRequest,
  type OrderUpdate,
  RateLimited,
  VenueConfigError
} from "../../Broker.ts"
import * as SqliteClient from "../../sql/SqliteClient.ts"
import { capabilities } from "./capabilities.ts"
import type { MarketOpen } from "./config.ts"
import { clockAt, type PaperHours } from "./hours.ts"
import {
  isLocked,
  LOCKED_BOOKS_RETRY_MILLIS,
  makeLedger,
  paperMigrations,
  type PaperOrder,
  toBrokerOrder
} from "./ledger.ts"
import { makeMatcher, type MatcherSettings } from "./matcher.ts"
import {
  fromBps,
  loadQuoteFile,
  makeMarket,
  type Market,
  marketPrice,
  mid,
  type QuoteSource,
  readQuotes,
  walkSpreadBps,
  walkStart
} from "./quotes.ts"

// ---------------------------------------------------------------------------
// config
// ---------------------------------------------------------------------------

export interface PaperCommission {
  /** Charged once per order, with its first fill. Default "0". */
  readonly perOrder?: string
  /** Charged per share filled. Default "0". */
  readonly perShare?: string
}

export interface PaperConfig {
  /** The account's name; several paper accounts can share one database. */
  readonly account: string
  /** Cash of a new account. Ignored once the account exists: a run continues the last one. */
  readonly startingCash: string
  readonly quotes: QuoteSource
  /** Market orders fill at ask × (1 + slip) (buys) or bid × (1 − slip) (sells). Default 0. */
  readonly slippageBps?: DecimalInput
  readonly commission?: PaperCommission
  /** Delay before each fill (Effect's Clock). Default 0. */
  readonly fillLatency?: Duration.Input
  /** Fill each order in this many chunks, each after `fillLatency`. Default 1. */
  readonly partialFills?: number
  /** Share of valid orders the venue rejects anyway, drawn from `seed`. Default 0. */
  readonly rejectionRate?: number
  /** Seed of the venue's own randomness (rejections). Default "keel-paper". */
  readonly seed?: string | number
  /**
   * A paper market that never opens keeps accepted orders waiting; one on a calendar opens in its
   * sessions (`calendar`, NYSE's when none is given). Default "always".
   */
  readonly marketOpen?: MarketOpen
  readonly calendar?: Calendar
  /** Symbols the venue trades in whole shares only: a fractional quantity of one is rejected. Default none. */
  readonly nonFractionable?: ReadonlyArray<string>
}

interface Settings extends MatcherSettings {
  readonly account: string
  readonly startingCash: Decimal
  readonly rejectionRate: number
  readonly seed: string | number
  readonly hours: PaperHours
  readonly nonFractionable: ReadonlySet<string>
}

/** The market's hours from the block: always or never open, or a calendar's sessions (NYSE's by default). */
const hoursOf = (marketOpen: MarketOpen, calendar: Calendar | undefined): PaperHours =>
  marketOpen === "calendar"
    ? { _tag: "Calendar", calendar: calendar ?? nyse }
    : { _tag: "Fixed", open: marketOpen === "always" }

const nonNegativeDecimal = (name: string, value: unknown): Result.Result<Decimal, string> => {
  const d = parseDecimal(value)
  return typeof d === "string" || d.lt(ZERO)
    ? Result.fail(`${name}: expected a non-negative decimal, got ${JSON.stringify(value)}`)
    : Result.succeed(d)
}

const validate = (config: PaperConfig): Result.Result<Settings, string> => {
  if (config.account.trim() === "") return Result.fail("account: expected a name, got an empty string")
  const startingCash = nonNegativeDecimal("startingCash", config.startingCash)
  if (Result.isFailure(startingCash)) return Result.fail(startingCash.failure)
  const slippage = nonNegativeDecimal("slippageBps", config.slippageBps ?? "0")
  if (Result.isFailure(slippage)) return Result.fail(slippage.failure)
  if (slippage.success.gte("10000")) return Result.fail("slippageBps: expected less than 10000 (100%)")
  const perOrder = nonNegativeDecimal("commission.perOrder", config.commission?.perOrder ?? "0")
  if (Result.isFailure(perOrder)) return Result.fail(perOrder.failure)
  const perShare = nonNegativeDecimal("commission.perShare", config.commission?.perShare ?? "0")
  if (Result.isFailure(perShare)) return Result.fail(perShare.failure)
  const latency = Duration.fromInput(config.fillLatency ?? 0)
  if (latency._tag === "None" || !Duration.isFinite(latency.value)) {
    return Result.fail(`fillLatency: expected a finite duration, got ${JSON.stringify(config.fillLatency)}`)
  }
  const partialFills = config.partialFills ?? 1
  if (!Number.isSafeInteger(partialFills) || partialFills < 1) {
    return Result.fail(`partialFills: expected a whole number >= 1, got ${partialFills}`)
  }
  const rejectionRate = config.rejectionRate ?? 0
  if (!(rejectionRate >= 0 && rejectionRate <= 1)) {
    return Result.fail(`rejectionRate: expected a number from 0 to 1, got ${rejectionRate}`)
  }
  return Result.succeed({
    account: config.account,
    startingCash: startingCash.success,
    slip: fromBps(slippage.success),
    perOrder: perOrder.success,
    perShare: perShare.success,
    fillLatency: latency.value,
    partialFills,
    rejectionRate,
    seed: config.seed ?? "keel-paper",
    hours: hoursOf(config.marketOpen ?? "always", config.calendar),
    nonFractionable: new Set(config.nonFractionable ?? [])
  })
}

// ---------------------------------------------------------------------------
// controls
// ---------------------------------------------------------------------------

/** Scenario hooks on the simulated market: move it, open or close it. */
export interface PaperMarketShape {
  /** Replaces the quotes of the given symbols; open limit orders are checked against them. */
  readonly setQuotes: (quotes: ReadonlyArray<QuoteInput>) => Effect.Effect<void, VenueConfigError>
  readonly setMarketOpen: (open: boolean) => Effect.Effect<void>
}

export class PaperMarket extends Context.Service<PaperMarket, PaperMarketShape>()(
  "keel/effects/broker/PaperMarket"
) {}

// ---------------------------------------------------------------------------
// the venue
// ---------------------------------------------------------------------------

const toConnectionError = (error: SqlError) =>
  new BrokerConnectionError({ message: `paper ledger unavailable: ${error.message}` })

/** Locked books refused the call before handling it (see `isLocked`); any other failure is the connection's. */
const toBrokerError = (error: SqlError): RateLimited | BrokerConnectionError =>
  isLocked(error) ? new RateLimited({ retryAfterMillis: LOCKED_BOOKS_RETRY_MILLIS }) : toConnectionError(error)

/** The paper venue: its broker, its market's controls and its books; all live as long as the scope. */
export interface PaperVenue {
  readonly broker: BrokerShape
  readonly market: PaperMarketShape
  readonly books: Effect.Effect<AccountBooks, BrokerConnectionError>
  /** Fills the open orders of the books this venue is not filling yet (see matcher.ts `sweep`). */
  readonly sweep: Effect.Effect<void, SqlError>
}

/** Builds the paper venue on a database whose paper tables are migrated (`paperMigrations`). */
export const make = (
  config: PaperConfig
): Effect.Effect<PaperVenue, VenueConfigError | SqlError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const checked = validate(config)
    if (Result.isFailure(checked)) return yield* new VenueConfigError({ message: `paper broker: ${checked.failure}` })
    const settings = checked.success
    const market = yield* openMarket(config.quotes)
    const sql = yield* SqlClient.SqlClient
    const ledger = makeLedger(sql, settings.account)
    const venueRandom = yield* seeded(settings.seed)
    const lock = yield* Semaphore.make(1)
    const pubsub = yield* PubSub.unbounded<OrderUpdate>()
    yield* Effect.addFinalizer(() => PubSub.shutdown(pubsub))

    const state = {
      hours: settings.hours,
      /** Completed whenever the market moves or opens: waiting orders look again. */
      moved: yield* Deferred.make<void>()
    }

    const marketMoved = Effect.suspend(() => {
      const previous = state.moved
      state.moved = Deferred.makeUnsafe<void>()
      return Deferred.succeed(previous, undefined)
    })

    yield* ledger.openAccount(settings.startingCash, yield* Clock.currentTimeMillis)

    const publish = (update: OrderUpdate) => PubSub.publish(pubsub, update)

    /** Runs a change to the books: one at a time, and never cut off between commit and publish. */
    const exclusive = <A, E>(effect: Effect.Effect<A, E>) => lock.withPermits(1)(Effect.uninterruptible(effect))

    const matcher = yield* makeMatcher({ settings, sql, ledger, market, state, exclusive, publish })

    /**
     * A call to the venue. The ledger is its back end: locked books are busy (RateLimited), and
     * when the ledger fails otherwise, the venue is unreachable.
     */
    const call = <A, E>(
      effect: Effect.Effect<A, E>
    ): Effect.Effect<A, Exclude<E, SqlError> | BrokerConnectionError | RateLimited> =>
      Effect.mapError(effect, (error) => isSqlError(error) ? toBrokerError(error) : (error as Exclude<E, SqlError>))

    /** Buying power an open buy holds: what its unfilled rest costs at its reserve price. */
    const reserved = (order: PaperOrder): Decimal => {
      if (order.side !== "buy") {
        return ZERO
      }
      const rest = order.quantity.minus(order.filledQuantity)
      const commission = rest.times(settings.perShare).plus(order.fillCount === 0 ? settings.perOrder : ZERO)
      return rest.times(order.reservePrice).plus(commission)
    }

    /** Cash less what open buys hold: what a new buy may spend (like a cash account's). */
    const buyingPowerOf = (cash: Decimal, open: ReadonlyArray<PaperOrder>): Decimal =>
      open.reduce((left, order) => left.minus(reserved(order)), cash)

    // Under the lock and in one transaction, so cash, open orders and positions are read
    // between two changes, this process's or another's.
    const accountState = lock.withPermits(1)(sql.withTransaction(Effect.gen(function*() {
      const books = yield* ledger.account
      if (books === undefined) return yield* Effect.die(new Error(`paper account ${settings.account} is missing`))
      const open = yield* ledger.openOrders
      const positions = yield* ledger.positions
      let equity = books.cash
      for (const p of positions) {
        const quote = market.get(p.symbol)
        // Without any price the position is worth its cost: never a made-up number.
        const price = (quote === undefined ? undefined : mid(quote)) ?? p.averageCost
        equity = equity.plus(p.quantity.times(price))
      }
      return { cash: books.cash, buyingPower: buyingPowerOf(books.cash, open), equity }
    })))

    // -- placing ------------------------------------------------------------

    const reject = (request: OrderRequest, reason: string) =>
      Effect.fail(new OrderRejected({ clientOrderId: request.clientOrderId, reason }))

    /** Why the request itself is invalid, before looking at the account. */
    const invalid = (request: OrderRequest): string | undefined => {
      if (request.clientOrderId.trim() === "") return "client order id is empty"
      if (request.clientOrderId.length > capabilities.clientOrderIdLength) {
        return `client order id is longer than ${capabilities.clientOrderIdLength} characters`
      }
      if (!isPositive(request.quantity)) return `quantity must be positive, got ${format(request.quantity)}`
      if (request.side !== "buy" && request.side !== "sell") return `unknown side ${String(request.side)}`
      if (request.type === "limit") {
        if (request.limitPrice === undefined) return "a limit order needs a limit price"
        if (!isPositive(request.limitPrice)) return `limit price must be positive, got ${format(request.limitPrice)}`
      } else if (request.type === "market") {
        if (request.limitPrice !== undefined) return "a market order takes no limit price"
      } else {
        return `unknown order type ${String(request.type)}`
      }
      if (request.timeInForce !== "day" && request.timeInForce !== "gtc") {
        return `unknown time in force ${String(request.timeInForce)}`
      }
      if (settings.nonFractionable.has(request.symbol) && decimalPlaces(request.quantity) > 0) {
        return `${request.symbol} is not fractionable: ${format(request.quantity)} is not a whole number of shares`
      }
      return undefined
    }

    const admit = (request: OrderRequest, now: number) =>
      Effect.gen(function*() {
        const problem = invalid(request)
        if (problem !== undefined) return yield* reject(request, problem)
        const previous = yield* ledger.orderByClientId(request.clientOrderId)
        if (previous !== undefined) {
          return yield* reject(
            request,
            `client order id ${request.clientOrderId} was already used (order ${previous.id}, ${previous.status})`
          )
        }
        const quote = market.get(request.symbol)
        if (quote === undefined) return yield* reject(request, `unknown symbol ${request.symbol}: no quote`)
        const marketSide = marketPrice(request.side, quote, settings.slip)
        if (request.type === "market" && marketSide === undefined) {
          return yield* reject(request, `no ${request.side === "buy" ? "ask" : "bid"} for ${request.symbol}`)
        }
        const reservePrice = request.limitPrice ?? marketSide!
        const open = yield* ledger.openOrders
        if (request.side === "sell") {
          const held = (yield* ledger.position(request.symbol))?.quantity ?? ZERO
          const selling = open
            .filter((o) => o.side === "sell" && o.symbol === request.symbol)
            .reduce((sum, o) => sum.plus(o.quantity.minus(o.filledQuantity)), ZERO)
          const available = held.minus(selling)
          if (request.quantity.gt(available)) {
            return yield* reject(
              request,
              `insufficient quantity of ${request.symbol}: ${format(available)} available ` +
                `(${format(held)} held, ${format(selling)} in open sells), ${format(request.quantity)} requested`
            )
          }
        } else {
          const cash = (yield* ledger.account)?.cash ?? ZERO
          const buyingPower = buyingPowerOf(cash, open)
          const cost = request.quantity.times(reservePrice.plus(settings.perShare)).plus(settings.perOrder)
          if (cost.gt(buyingPower)) {
            return yield* reject(
              request,
              `insufficient buying power: the order needs ${format(cost)}, buying power is ${format(buyingPower)}`
            )
          }
        }
        if (settings.rejectionRate > 0 && venueRandom.nextDoubleUnsafe() < settings.rejectionRate) {
          return yield* reject(request, "rejected by the simulated venue (rejectionRate)")
        }
        const number = yield* ledger.nextOrderNumber(now)
        const order: PaperOrder = {
          id: `paper-${settings.account}-${number}`,
          clientOrderId: request.clientOrderId,
          symbol: request.symbol,
          side: request.side,
          quantity: request.quantity,
          type: request.type,
          ...(request.limitPrice === undefined ? {} : { limitPrice: request.limitPrice }),
          timeInForce: request.timeInForce,
          status: "accepted",
          filledQuantity: ZERO,
          submittedAt: now,
          updatedAt: now,
          reservePrice,
          fillCount: 0,
          commission: ZERO
        }
        yield* ledger.insertOrder(order)
        return order
      })

    // The fill fiber starts inside the same uninterruptible step, so an accepted order
    // can never be left without one (a forked fiber is interruptible all the same).
    const place = (request: OrderRequest) =>
      exclusive(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const order = toBrokerOrder(yield* sql.withTransaction(admit(request, now)))
        yield* publish({ kind: "accepted", order, at: now })
        yield* matcher.fill(order.id)
        return order
      }))

    // -- canceling ----------------------------------------------------------

    const cancel = (id: string) =>
      Effect.gen(function*() {
        yield* exclusive(Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const canceled = yield* sql.withTransaction(Effect.gen(function*() {
            const order = yield* ledger.order(id)
            if (order === undefined) return yield* new OrderNotFound({ id })
            if (isTerminal(order.status)) return undefined
            return yield* ledger.cancelOrder(order, "canceled by the client", now)
          }))
          if (canceled !== undefined) yield* publish({ kind: "canceled", order: toBrokerOrder(canceled), at: now })
        }))
        yield* matcher.stop(id)
      })

    // -- reading ------------------------------------------------------------

    const positions = Effect.map(
      ledger.positions,
      (rows): ReadonlyArray<Position> =>
        rows.filter((p) => !p.quantity.eq(ZERO)).map((p) => ({ symbol: p.symbol, quantity: p.quantity }))
    )

    const quotes = (symbols: ReadonlyArray<string>) =>
      exclusive(Effect.gen(function*() {
        if (market.step()) yield* marketMoved
        const out: Array<Quote> = []
        for (const symbol of new Set(symbols)) {
          const quote = market.get(symbol)
          if (quote !== undefined) out.push(quote)
        }
        return out
      }))

    const clock = Effect.map(Clock.currentTimeMillis, (now): MarketClock => clockAt(state.hours, now))

    const found = <A>(what: string) => (value: A | undefined) =>
      value === undefined ? Effect.fail(new OrderNotFound({ id: what })) : Effect.succeed(value)

    const broker: BrokerShape = {
      kind: "paper",
      capabilities,
      account: call(accountState),
      positions: call(positions),
      quotes: (symbols) => call(quotes(symbols)),
      clock: call(clock),
      // Every symbol trades here; fractions of all but the configured whole-share ones, with no minimum value.
      assets: (symbols) =>
        call(Effect.succeed([...new Set(symbols)].map((symbol) => ({
          symbol,
          tradable: true,
          fractionable: !settings.nonFractionable.has(symbol),
          minFractionalOrderValue: ZERO
        })))),
      placeOrder: (request) => call(place(request)),
      getOrder: (id) => call(Effect.flatMap(ledger.order(id), found(id)).pipe(Effect.map(toBrokerOrder))),
      getOrderByClientId: (clientOrderId) =>
        call(
          Effect.flatMap(ledger.orderByClientId(clientOrderId), found(clientOrderId)).pipe(Effect.map(toBrokerOrder))
        ),
      cancelOrder: (id) => call(cancel(id)),
      openOrders: call(Effect.map(ledger.openOrders, (orders) => orders.map(toBrokerOrder))),
      updates: Stream.fromPubSub(pubsub)
    }

    const controls: PaperMarketShape = {
      setQuotes: (input) =>
        Effect.gen(function*() {
          const read = readQuotes("setQuotes", input)
          if (Result.isFailure(read)) return yield* new VenueConfigError({ message: read.failure })
          yield* exclusive(Effect.gen(function*() {
            market.set(read.success)
            yield* marketMoved
          }))
        }),
      setMarketOpen: (open) =>
        exclusive(Effect.gen(function*() {
          state.hours = { _tag: "Fixed", open }
          yield* marketMoved
        }))
    }

    const books = Effect.mapError(
      sql.withTransaction(Effect.gen(function*() {
        const account = yield* ledger.account
        const positions = yield* ledger.positions
        return { cash: account?.cash ?? ZERO, realizedPnl: account?.realizedPnl ?? ZERO, positions }
      })),
      toConnectionError
    )

    // Orders left open by the previous run carry on, from their next chunk.
    yield* matcher.sweep

    return { broker, market: controls, books, sweep: matcher.sweep }
  })

/**
 * The paper venue's own migrations table: the Migrator only applies ids above the highest one
 * applied, so the paper tables and the Store's must not share one (see programs/layers.ts).
 */
export const PAPER_MIGRATIONS_TABLE = "keel_paper_migrations"

/** Migrates the paper tables (only a paper account's database has them), then builds the venue. */
const migratedVenue = (config: PaperConfig) =>
  Migrator.make({})({ loader: Migrator.fromRecord(paperMigrations), table: PAPER_MIGRATIONS_TABLE }).pipe(
    Effect.andThen(make(config))
  )

export type PaperLayerError = VenueConfigError | SqlError | Migrator.MigrationError

/**
 * The paper venue: its Broker, PaperMarket and Books, on the SqlClient it is given (an embedding
 * program's, a test's); it migrates its own tables there. Keel itself uses `layerFile`.
 */
export const layer = (
  config: PaperConfig
): Layer.Layer<Broker | PaperMarket | Books, PaperLayerError, SqlClient.SqlClient> =>
  Layer.effectContext(
    Effect.map(migratedVenue(config), ({ books, broker, market }) =>
      Context.make(Broker, broker).pipe(Context.add(PaperMarket, market), Context.add(Books, { books })))
  )

/**
 * Books that cannot be opened or migrated (a folder, no permission, locked past the busy timeout)
 * are named with their file, in one line for the user.
 */
export const onBooksFile =
  (filename: string) => <A>(books: Layer.Layer<A, PaperLayerError>): Layer.Layer<A, VenueConfigError> =>
    Layer.catchTag(books, ["SqlError", "MigrationError"], (error) =>
      Layer.effectContext<A, VenueConfigError, never>(
        Effect.fail(
          new VenueConfigError({ message: `paper broker: cannot use the books ${filename}: ${error.message}` })
        )
      ))

/**
 * The paper venue on a SQLite file of its own, as a broker keeps its books apart from its clients'.
 * A simulator's books need not outlive a power loss, only a crashed process: its commits do not
 * wait for the disk (`synchronous: normal`), unless the caller says otherwise.
 */
export const layerFile = (
  config: PaperConfig,
  books: SqliteClient.SqliteClientConfig
): Layer.Layer<Broker | PaperMarket | Books, VenueConfigError> =>
  layer(config).pipe(
    Layer.provide(SqliteClient.layer({ synchronous: "normal", ...books })),
    onBooksFile(books.filename)
  )

/**
 * The venue's matcher alone, while no run is active (`rebalance paper-venue`): it fills the open
 * orders of the books as a run's venue would, and every `sweepEvery` it looks for open orders it
 * is not filling yet, such as those another process placed since. A sweep that fails is logged;
 * the next one tries again.
 */
export const matcherLayer = (
  config: PaperConfig,
  sweepEvery: Duration.Input
): Layer.Layer<never, PaperLayerError, SqlClient.SqlClient> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const venue = yield* migratedVenue(config)
    const sweep = venue.sweep.pipe(
      Effect.catchTag("SqlError", (error) => Effect.logWarning(`paper venue ${config.account}: sweep failed`, error))
    )
    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(sweepEvery)))
  }))

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/** A generator of Effect's Random, seeded, kept for the life of the layer. */
const seeded = (seed: string | number): Effect.Effect<Random.Random> =>
  Random.withSeed(
    Effect.gen(function*() {
      return yield* Random.Random
    }),
    seed
  )

const openMarket = (source: QuoteSource): Effect.Effect<Market, VenueConfigError> =>
  Effect.gen(function*() {
    switch (source.kind) {
      case "static":
        return makeMarket(yield* Effect.fromResult(readQuotes("quotes", source.quotes)), undefined)
      case "file":
        return makeMarket(yield* loadQuoteFile(source.path), undefined)
      case "random-walk": {
        const start = yield* Effect.fromResult(walkStart(source))
        const random = yield* seeded(source.seed)
        return makeMarket(start, { volatility: source.volatilityBps, spread: walkSpreadBps(source), random })
      }
    }
  }).pipe(Effect.mapError((message) => new VenueConfigError({ message: `paper broker: ${message}` })))
