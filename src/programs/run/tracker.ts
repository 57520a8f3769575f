/**
 * The order tracker: what Keel knows of each order of a run, kept in step with the Store.
 *
 * News of an order (a stream update, a submit's answer, a poll) is applied under one lock,
 * and the furthest-along state wins whichever arrives last. Fills are booked as fill rows
 * exactly once, whichever path saw them first; a fill row the Store refuses is booked again
 * by the next news of that order.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import { Broker, type BrokerOrder, type Fill, isTerminal } from "../../effects/Broker.ts"
import { type IntentChange, type Lease, Store, type StoreWriteError } from "../../effects/Store.ts"
import { type Decimal, ZERO } from "../../kernel/decimal.ts"

/** What Keel knows of each order of this run, by client order id. */
export interface Tracker {
  readonly orders: Ref.Ref<ReadonlyMap<string, BrokerOrder>>
  /** Filled quantity and its cost already saved as fill rows, by client order id. */
  readonly booked: Ref.Ref<ReadonlyMap<string, Booked>>
  /** Offered whenever an order's state moves, so a waiter wakes without polling. */
  readonly signal: Queue.Queue<void>
  readonly runId: string
  /** The account lease every write of the run is made under. */
  readonly lease: Lease
  /**
   * Held while an order's news is applied (stream update, submit answer, poll), so the
   * furthest-along state is the one the Store ends with, whichever arrives last.
   */
  readonly lock: Semaphore.Semaphore
}

interface Booked {
  readonly quantity: Decimal
  readonly cost: Decimal
}

/**
 * Starts following the broker's updates for this run (in the caller's scope). Started
 * before the first order is sent, so no update of ours is published before we listen.
 */
export const follow = (lease: Lease): Effect.Effect<Tracker, never, Broker | Store | Scope.Scope> =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const tracker: Tracker = {
      orders: yield* Ref.make<ReadonlyMap<string, BrokerOrder>>(new Map()),
      booked: yield* Ref.make<ReadonlyMap<string, Booked>>(new Map()),
      signal: yield* Queue.unbounded<void>(),
      runId: lease.runId,
      lease,
      lock: yield* Semaphore.make(1)
    }
    // A stream failure (dropped socket) only ends the stream: polling keeps waiting correct.
    yield* broker.updates.pipe(
      Stream.runForEach((update) => applyNews(tracker, update.order, update.at, update.fill).pipe(Effect.ignore)),
      Effect.ignore,
      // Started at once, so the subscription exists before the first order is sent.
      Effect.forkScoped({ startImmediately: true })
    )
    return tracker
  })

/** An order about to be sent, tracked before it is, so an update racing the submit's answer is not dropped. */
export const track = (tracker: Tracker, pending: BrokerOrder): Effect.Effect<void> =>
  Ref.update(tracker.orders, (m) => new Map(m).set(pending.clientOrderId, pending))

/** An order the broker refused at submit: no news of it will come. */
export const forget = (tracker: Tracker, clientOrderId: string): Effect.Effect<void> =>
  Ref.update(tracker.orders, (m) => {
    const next = new Map(m)
    next.delete(clientOrderId)
    return next
  })

/** The known state of the given orders (those tracked), in the given order. */
export const knownOrders = (
  tracker: Tracker,
  ids: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<BrokerOrder>> =>
  Effect.map(Ref.get(tracker.orders), (m) => ids.flatMap((id) => (m.has(id) ? [m.get(id)!] : [])))

/**
 * Applies what became known of one order (a stream update, a submit's answer, or a poll's), under
 * the lock. A fill beyond what is booked is saved with the intent's new state in one transaction;
 * only then is the state tracked as seen. So a fill that could not be saved stops here, and the
 * next update or poll, still seeing news, saves it.
 */
export const applyNews = (
  tracker: Tracker,
  order: BrokerOrder,
  at: number,
  fill: Fill | undefined
): Effect.Effect<void, StoreWriteError, Store> =>
  tracker.lock.withPermit(Effect.gen(function*() {
    const seen = (yield* Ref.get(tracker.orders)).get(order.clientOrderId)
    if (seen === undefined) return
    const ahead = !isBehind(seen, order)
    const change = changeOf(ahead ? order : seen, at)
    const booked = yield* bookFills(tracker, order, at, fill, change)
    if (!ahead) return
    if (!booked) yield* (yield* Store).updateIntent(order.clientOrderId, change, tracker.lease)
    yield* Ref.update(tracker.orders, (m) => new Map(m).set(order.clientOrderId, order))
    yield* Queue.offer(tracker.signal, undefined)
  }))

/**
 * The broker's answer to a submit: the order is tracked from here on and its intent says so,
 * with any fill the answer already reports. An update may have overtaken the answer: the Store
 * gets the furthest-along state.
 */
export const applyAnswer = (
  tracker: Tracker,
  placed: BrokerOrder
): Effect.Effect<void, StoreWriteError, Store> =>
  Effect.flatMap(Clock.currentTimeMillis, (at) => applyNews(tracker, placed, at, undefined))

/**
 * Saves a fill row for whatever of the order's filled quantity is not booked yet, once,
 * whichever path saw it first, together with the intent's `change`: the update stream (with
 * the fill's own price and commission) or a submit's answer or a poll (the price implied by
 * the order's average fill price; the commission is not known there and is booked as 0). A
 * stream update arriving after a poll booked its fill adds nothing. True when a fill was saved.
 */
const bookFills = (tracker: Tracker, order: BrokerOrder, at: number, fill: Fill | undefined, change: IntentChange) =>
  // Claim and save are one step: an interruption between them would book a fill never saved.
  Effect.uninterruptible(Effect.gen(function*() {
    const claimed = yield* Ref.modify(
      tracker.booked,
      (m): readonly [(Booked & { readonly before: Booked }) | undefined, ReadonlyMap<string, Booked>] => {
        const before = m.get(order.clientOrderId) ?? { quantity: ZERO, cost: ZERO }
        if (!order.filledQuantity.gt(before.quantity)) return [undefined, m]
        const quantity = order.filledQuantity.minus(before.quantity)
        const cost = fill !== undefined && fill.quantity.eq(quantity)
          ? fill.price.times(quantity)
          : order.averageFillPrice === undefined
          ? ZERO
          : order.averageFillPrice.times(order.filledQuantity).minus(before.cost)
        return [
          { quantity, cost, before },
          new Map(m).set(order.clientOrderId, { quantity: order.filledQuantity, cost: before.cost.plus(cost) })
        ]
      }
    )
    if (claimed === undefined) return false
    const exact = fill !== undefined && fill.quantity.eq(claimed.quantity)
    yield* (yield* Store).bookFill(
      {
        clientOrderId: order.clientOrderId,
        runId: tracker.runId,
        symbol: order.symbol,
        side: order.side,
        kind: order.status === "filled" ? "fill" : "partial_fill",
        quantity: claimed.quantity,
        price: exact ? fill.price : claimed.cost.div(claimed.quantity),
        commission: exact ? fill.commission : ZERO,
        cumulativeQuantity: order.filledQuantity,
        at
      },
      change,
      tracker.lease
    ).pipe(
      // Not stored (failed, or interrupted): not booked either, so the next update or poll stores it.
      Effect.onError(() => Ref.update(tracker.booked, (m) => new Map(m).set(order.clientOrderId, claimed.before)))
    )
    return true
  }))

/** An order state older than the one already known (a late update after a poll): never applied. */
const isBehind = (seen: BrokerOrder | undefined, order: BrokerOrder): boolean =>
  seen !== undefined &&
  seen.id !== "" &&
  ((isTerminal(seen.status) && !isTerminal(order.status)) || seen.filledQuantity.gt(order.filledQuantity))

/** The intent's state from the broker's order. */
export const changeOf = (order: BrokerOrder, at: number): IntentChange => ({
  status: order.status,
  brokerOrderId: order.id,
  filledQuantity: order.filledQuantity,
  ...(order.averageFillPrice === undefined ? {} : { averageFillPrice: order.averageFillPrice }),
  ...(order.reason === undefined ? {} : { reason: order.reason }),
  at
})
