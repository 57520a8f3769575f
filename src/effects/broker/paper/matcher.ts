/**
 * The paper venue's matcher: it fills open orders by the venue's rules (after the latency, in
 * chunks, at the market's price, never past the cash or the holdings), one transaction per fill.
 *
 * Several processes may match the same books at once (a run and `rebalance paper-venue`, or two
 * runs): each fill re-reads the order, the cash and the position inside its transaction, so two
 * matchers take turns (the SQLite client's write transactions wait for each other) and a chunk is
 * never filled twice. A fill made by another process is not published on this process's update
 * stream: a poller sees it through getOrder and openOrders.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { Decimal, decimalPlaces, format, ZERO } from "../../../kernel/decimal.ts"
import { isTerminal, type OrderUpdate } from "../../Broker.ts"
import { isOpenAt, type PaperHours, untilOpen } from "./hours.ts"
import { isLocked, type Ledger, LOCKED_BOOKS_RETRY_MILLIS, type PaperOrder, toBrokerOrder } from "./ledger.ts"
import { fillPrice, type Market } from "./quotes.ts"

/** The venue's settings a fill needs. */
export interface MatcherSettings {
  readonly slip: Decimal
  readonly perOrder: Decimal
  readonly perShare: Decimal
  readonly fillLatency: Duration.Duration
  readonly partialFills: number
}

/** When the simulated market is open, and the signal that it moved or opened (the layer owns both). */
export interface MarketState {
  readonly hours: PaperHours
  readonly moved: Deferred.Deferred<void>
}

/** What the matcher works with: the venue's books and market, its lock and its update stream. */
export interface MatcherParts {
  readonly settings: MatcherSettings
  readonly sql: SqlClient.SqlClient
  readonly ledger: Ledger
  readonly market: Market
  readonly state: MarketState
  /** Runs a change to the books under the venue's lock, never cut off between commit and publish. */
  readonly exclusive: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  readonly publish: (update: OrderUpdate) => Effect.Effect<unknown>
}

export interface Matcher {
  /** Fills the order until it is done, unless this process is filling it already. */
  readonly fill: (id: string) => Effect.Effect<void>
  /** Stops filling the order (it was canceled). */
  readonly stop: (id: string) => Effect.Effect<void>
  /**
   * Fills every open order of the books that this process is not filling yet: one an earlier
   * process left open, one another process placed, one whose filling stopped on a failure.
   */
  readonly sweep: Effect.Effect<void, SqlError>
}

/**
 * The next chunk of an order split into `parts`: an equal share rounded down to the
 * order's own precision (at least one unit of it), the last chunk taking the rest.
 */
const nextChunk = (order: PaperOrder, parts: number): Decimal => {
  const remaining = order.quantity.minus(order.filledQuantity)
  if (order.fillCount + 1 >= parts) return remaining
  const places = decimalPlaces(order.quantity)
  const unit = new Decimal(`1e-${places}`)
  const share = order.quantity.div(new Decimal(String(parts))).round(places, Decimal.roundDown)
  const chunk = share.gt(unit) ? share : unit
  return chunk.lt(remaining) ? chunk : remaining
}

type Step = "next-chunk" | "wait-for-market" | "done"

/** Fill fibers live as long as the scope; they run with the services the matcher was made with. */
export const makeMatcher = (parts: MatcherParts): Effect.Effect<Matcher, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { exclusive, ledger, market, publish, settings, sql, state } = parts
    const fills = yield* FiberMap.make<string>()
    // Never a caller's services: a caller inside its own SQL transaction must not lend it to a fill.
    const services = yield* Effect.context<never>()

    /** The order's next chunk as one transaction, from the order, cash and position read inside it. */
    const book = (id: string, now: number) =>
      sql.withTransaction(Effect.gen(function*() {
        const order = yield* ledger.order(id)
        if (order === undefined || isTerminal(order.status)) return undefined
        const price = fillPrice(order, market.get(order.symbol), settings.slip)
        if (price === undefined) return "wait-for-market" as const
        const quantity = nextChunk(order, settings.partialFills)
        const commission = quantity.times(settings.perShare).plus(order.fillCount === 0 ? settings.perOrder : ZERO)
        // The price may have moved since the order was accepted: a cash account
        // never goes below zero, and nothing is ever sold short.
        if (order.side === "buy") {
          const cash = (yield* ledger.account)?.cash ?? ZERO
          const cost = quantity.times(price).plus(commission)
          if (cost.gt(cash)) {
            const reason = `insufficient cash at fill: ${format(cost)} needed, ${format(cash)} available`
            return { kind: "canceled" as const, order: yield* ledger.cancelOrder(order, reason, now) }
          }
        } else {
          const held = (yield* ledger.position(order.symbol))?.quantity ?? ZERO
          if (quantity.gt(held)) {
            const reason = `insufficient quantity at fill: ${format(quantity)} needed, ${format(held)} held`
            return { kind: "canceled" as const, order: yield* ledger.cancelOrder(order, reason, now) }
          }
        }
        const after = yield* ledger.recordFill(order, { side: order.side, quantity, price, commission }, now)
        return {
          kind: after.status === "filled" ? "fill" as const : "partial_fill" as const,
          order: after,
          fill: { quantity, price, commission }
        }
      }))

    /** One fill attempt: books the next chunk if the order can fill now. */
    const fillOnce = (id: string): Effect.Effect<Step, SqlError> =>
      exclusive(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (!isOpenAt(state.hours, now)) return "wait-for-market" as const
        const outcome = yield* book(id, now)
        if (outcome === undefined) return "done" as const
        if (outcome === "wait-for-market") return outcome
        yield* publish({ ...outcome, order: toBrokerOrder(outcome.order), at: now })
        return isTerminal(outcome.order.status) ? "done" as const : "next-chunk" as const
      }))

    /** Books another process holds longer than the busy timeout are tried again after a pause. */
    const fillOnceWhenFree = (id: string) =>
      fillOnce(id).pipe(
        Effect.retry({ while: isLocked, schedule: Schedule.spaced(Duration.millis(LOCKED_BOOKS_RETRY_MILLIS)) })
      )

    /** Until a calendar market's next session opens (a fixed market opens only when its state moves). */
    const opening: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const wait = untilOpen(state.hours, now)
      return wait === undefined ? Effect.never : Effect.sleep(Duration.millis(wait))
    })

    /** Waits out the latency, then fills as soon as the market allows, chunk by chunk. */
    const fillLoop = (id: string) =>
      Effect.gen(function*() {
        for (;;) {
          yield* Duration.isZero(settings.fillLatency) ? Effect.yieldNow : Effect.sleep(settings.fillLatency)
          for (;;) {
            const moved = state.moved
            const step = yield* fillOnceWhenFree(id)
            if (step === "done") return
            if (step === "next-chunk") break
            yield* Effect.raceFirst(Deferred.await(moved), opening)
          }
        }
      }).pipe(
        Effect.catchTag(
          "SqlError",
          (error) =>
            Effect.logError(`paper broker: stopped filling order ${id}; the next sweep or start resumes it`, error)
        )
      )

    const fill = (id: string) =>
      FiberMap.run(fills, id, Effect.provideContext(fillLoop(id), services), { onlyIfMissing: true }).pipe(
        Effect.asVoid
      )

    return {
      fill,
      stop: (id) => FiberMap.remove(fills, id),
      sweep: Effect.flatMap(ledger.openOrders, (open) => Effect.forEach(open, (o) => fill(o.id), { discard: true }))
    }
  })
