/**
 * Execution: sending the kernel's orders and waiting for them to finish.
 *
 * - Every intent is written to the Store *before* it is sent.
 * - A submit whose answer is lost (UnknownOutcome, or a connection error mid-submit) is
 *   never blindly retried: the order is looked up by client order id first, and sent again
 *   (same id, which a broker refuses if it did arrive) only when the broker has no trace of it.
 * - Waiting follows the broker's order-update stream; a poll of the outstanding orders
 *   every `pollInterval` catches anything the stream missed, so a lost socket never loses a fill.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import { Broker, type BrokerOrder, type Fill, isTerminal, type OrderUpdate } from "../../effects/Broker.ts"
import { Store, type StoreError } from "../../effects/Store.ts"
import { type Decimal, isZero, ZERO } from "../../kernel/decimal.ts"
import type { Order } from "../../kernel/rebalance/orders.ts"
import { clientOrderId } from "./ids.ts"

/** What Keel knows of each order of this run, by client order id. */
export interface Tracker {
  readonly orders: Ref.Ref<ReadonlyMap<string, BrokerOrder>>
  /** Filled quantity and its cost already saved as fill rows, by client order id. */
  readonly booked: Ref.Ref<ReadonlyMap<string, Booked>>
  readonly signal: Queue.Queue<void>
  readonly runId: string
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

/** Why the run cannot go on sending orders. */
export class ExecutionHalted extends Data.TaggedError("ExecutionHalted")<{ readonly reason: string }> {}

const record = (tracker: Tracker, order: BrokerOrder) =>
  Ref.update(tracker.orders, (m) => new Map(m).set(order.clientOrderId, order))

/**
 * Saves a fill row for whatever of the order's filled quantity is not booked yet, once,
 * whichever path saw it first: the update stream (with the fill's own price and
 * commission) or a poll (the price implied by the order's average fill price; the
 * commission is not known there and is booked as 0). A stream update arriving after a poll
 * booked its fill adds nothing.
 */
const bookFills = (tracker: Tracker, order: BrokerOrder, at: number, fill: Fill | undefined) =>
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
    if (claimed === undefined) return
    const exact = fill !== undefined && fill.quantity.eq(claimed.quantity)
    yield* (yield* Store).saveFill({
      clientOrderId: order.clientOrderId,
      runId: tracker.runId,
      symbol: order.symbol,
      side: order.side,
      kind: order.status === "filled" ? "fill" : "partial_fill",
      quantity: claimed.quantity,
      price: exact ? fill.price : claimed.cost.div(claimed.quantity),
      commission: exact ? fill.commission : ZERO,
      at
    }).pipe(
      // Not stored (failed, or interrupted): not booked either, so the next update or poll stores it.
      Effect.onError(() => Ref.update(tracker.booked, (m) => new Map(m).set(order.clientOrderId, claimed.before)))
    )
  }))

/** An order state older than the one already known (a late update after a poll): never applied. */
const isBehind = (seen: BrokerOrder | undefined, order: BrokerOrder): boolean =>
  seen !== undefined &&
  seen.id !== "" &&
  ((isTerminal(seen.status) && !isTerminal(order.status)) || seen.filledQuantity.gt(order.filledQuantity))

/**
 * Applies what became known of one order (a stream update, or a poll's answer), under the
 * lock. Fill rows go to the Store first and the intent's status next; only then is the state
 * tracked as seen. So a fill that could not be saved stops here, and the next update or poll,
 * still seeing news, saves it.
 */
const applyNews = (tracker: Tracker, order: BrokerOrder, at: number, fill: Fill | undefined) =>
  tracker.lock.withPermit(Effect.gen(function*() {
    const store = yield* Store
    const known = yield* Ref.get(tracker.orders)
    if (!known.has(order.clientOrderId)) return
    yield* bookFills(tracker, order, at, fill)
    if (isBehind(known.get(order.clientOrderId), order)) return
    yield* store.updateIntent(order.clientOrderId, changeOf(order, at))
    yield* record(tracker, order)
    yield* Queue.offer(tracker.signal, undefined)
  }))

const changeOf = (order: BrokerOrder, at: number) => ({
  status: order.status,
  brokerOrderId: order.id,
  filledQuantity: order.filledQuantity,
  ...(order.averageFillPrice === undefined ? {} : { averageFillPrice: order.averageFillPrice }),
  ...(order.reason === undefined ? {} : { reason: order.reason }),
  at
})

/**
 * Starts following the broker's updates for this run (in the caller's scope). Started
 * before the first order is sent, so no update of ours is published before we listen.
 */
export const follow = (runId: string): Effect.Effect<Tracker, never, Broker | Store | Scope.Scope> =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const tracker: Tracker = {
      orders: yield* Ref.make<ReadonlyMap<string, BrokerOrder>>(new Map()),
      booked: yield* Ref.make<ReadonlyMap<string, Booked>>(new Map()),
      signal: yield* Queue.unbounded<void>(),
      runId,
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

export interface Submitted {
  readonly clientOrderId: string
  readonly order: Order
  /** The broker's order, or undefined when it was rejected. */
  readonly placed: BrokerOrder | undefined
  readonly rejection?: string
}

/**
 * Stores the intent, sends it, and settles a lost answer by looking the order up.
 * `closesPosition`: the sell is of everything held, and the broker may close the position its own way.
 */
export const submit = (
  tracker: Tracker,
  order: Order,
  closesPosition = false
): Effect.Effect<Submitted, ExecutionHalted | StoreError, Broker | Store> =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const store = yield* Store
    const id = clientOrderId(tracker.runId, order.phase, order.side, order.symbol)
    const now = yield* Clock.currentTimeMillis
    yield* store.saveIntent({
      clientOrderId: id,
      runId: tracker.runId,
      phase: order.phase,
      symbol: order.symbol,
      side: order.side,
      quantity: order.quantity,
      price: order.price,
      status: "pending",
      filledQuantity: order.quantity.minus(order.quantity),
      createdAt: now,
      updatedAt: now
    })
    // Tracked before it is sent, so an update racing the answer is not dropped.
    yield* Ref.update(tracker.orders, (m) => new Map(m).set(id, pendingOrder(id, order, now)))
    const send = broker.placeOrder({
      clientOrderId: id,
      symbol: order.symbol,
      side: order.side,
      quantity: order.quantity,
      type: "market",
      timeInForce: "day",
      ...(closesPosition ? { closesPosition } : {})
    })
    /** `afterLoss`: this send follows a lost answer that the broker had no trace of. */
    const settle = (
      attempt: number,
      afterLoss = false
    ): Effect.Effect<Submitted, ExecutionHalted | StoreError, Broker | Store> =>
      send.pipe(
        Effect.flatMap((placed) => adopt(tracker, id, order, placed)),
        Effect.catchTag("OrderRejected", (e) =>
          Effect.gen(function*() {
            // A resend after "no trace" refused: the first send may have arrived after all (a
            // lookup can lag the venue, and a reused id is refused), so ask once more. Still no
            // trace: the refusal cannot be told from a duplicate, so the run stops rather than
            // book an order that may exist as rejected.
            if (afterLoss) {
              const found = yield* findByClientId(id)
              if (found !== undefined && Option.isSome(found)) return yield* adopt(tracker, id, order, found.value)
              return yield* halt(
                id,
                `the resend after a lost answer was refused (${e.reason}) and the order cannot be found`
              )
            }
            yield* store.updateIntent(id, { status: "rejected", reason: e.reason, at: yield* Clock.currentTimeMillis })
            yield* Ref.update(tracker.orders, (m) => {
              const next = new Map(m)
              next.delete(id)
              return next
            })
            return { clientOrderId: id, order, placed: undefined, rejection: e.reason } satisfies Submitted
          })),
        Effect.catchTags({
          UnknownOutcome: () => lookUp(tracker, id, order, attempt, settle),
          BrokerConnectionError: () => lookUp(tracker, id, order, attempt, settle),
          RateLimited: (e) =>
            // A 429 means the request was refused before it was handled: waiting and sending again is safe.
            attempt < MAX_SUBMITS
              ? Effect.sleep(e.retryAfterMillis).pipe(Effect.andThen(settle(attempt + 1)))
              : halt(id, "rate limited")
        })
      )
    return yield* settle(1)
  })

/** How many times one intent may be sent in all (the first send, plus a resend after "no trace"). */
const MAX_SUBMITS = 2

const halt = (id: string, why: string) =>
  Effect.gen(function*() {
    const store = yield* Store
    yield* store.updateIntent(id, { status: "unknown", reason: why, at: yield* Clock.currentTimeMillis })
    return yield* Effect.fail(new ExecutionHalted({ reason: `order ${id}: ${why}` }))
  })

const lookUp = (
  tracker: Tracker,
  id: string,
  order: Order,
  attempt: number,
  settle: (
    attempt: number,
    afterLoss: boolean
  ) => Effect.Effect<Submitted, ExecutionHalted | StoreError, Broker | Store>
): Effect.Effect<Submitted, ExecutionHalted | StoreError, Broker | Store> =>
  Effect.gen(function*() {
    const found = yield* findByClientId(id)
    if (found === undefined) return yield* halt(id, "the submit's answer was lost and the order could not be looked up")
    if (Option.isSome(found)) return yield* adopt(tracker, id, order, found.value)
    if (attempt >= MAX_SUBMITS) {
      return yield* halt(id, "the submit's answer was lost twice and the broker has no trace of it")
    }
    return yield* settle(attempt + 1, true)
  })

/** The broker's order under a client order id: none when it has no trace, undefined when it could not be asked. */
const findByClientId = (id: string): Effect.Effect<Option.Option<BrokerOrder> | undefined, never, Broker> =>
  Effect.gen(function*() {
    const broker = yield* Broker
    return yield* broker.getOrderByClientId(id).pipe(
      Effect.map(Option.some),
      Effect.catchTag("OrderNotFound", () => Effect.succeed(Option.none<BrokerOrder>())),
      Effect.catchTags({
        BrokerConnectionError: () => Effect.succeed(undefined),
        RateLimited: () => Effect.succeed(undefined)
      })
    )
  })

/** The broker has the order: the intent says so, and it is tracked from here on. */
const adopt = (tracker: Tracker, id: string, order: Order, placed: BrokerOrder) =>
  tracker.lock.withPermit(Effect.gen(function*() {
    yield* mergeKnown(tracker, placed)
    // An update may have overtaken the answer: the Store gets the furthest-along state.
    const known = (yield* Ref.get(tracker.orders)).get(id) ?? placed
    yield* (yield* Store).updateIntent(id, changeOf(known, yield* Clock.currentTimeMillis))
    return { clientOrderId: id, order, placed } satisfies Submitted
  }))

/** Keeps the furthest-along view of an order (an update may have overtaken the answer). */
const mergeKnown = (tracker: Tracker, placed: BrokerOrder) =>
  Ref.update(
    tracker.orders,
    (m) => (isBehind(m.get(placed.clientOrderId), placed) ? m : new Map(m).set(placed.clientOrderId, placed))
  )

const pendingOrder = (id: string, order: Order, at: number): BrokerOrder => ({
  id: "",
  clientOrderId: id,
  symbol: order.symbol,
  side: order.side,
  quantity: order.quantity,
  type: "market",
  status: "accepted",
  filledQuantity: order.quantity.minus(order.quantity),
  submittedAt: at
})

export interface Waited {
  readonly timedOut: boolean
  readonly orders: ReadonlyArray<BrokerOrder>
}

/**
 * Waits until every given order is terminal, or `timeout` passes. Partial fills are kept
 * either way; on timeout the caller decides (the program stops before buying).
 */
export const waitFor = (
  tracker: Tracker,
  ids: ReadonlyArray<string>,
  timeout: Duration.Input,
  pollInterval: Duration.Input
): Effect.Effect<Waited, never, Broker | Store> =>
  Effect.gen(function*() {
    const current = Effect.map(Ref.get(tracker.orders), (m) => ids.flatMap((id) => (m.has(id) ? [m.get(id)!] : [])))
    const done = Effect.map(current, (orders) => orders.every((o) => isTerminal(o.status)))
    const loop = Effect.gen(function*() {
      while (!(yield* done)) {
        const woke = yield* Queue.take(tracker.signal).pipe(Effect.as(true), Effect.timeoutOption(pollInterval))
        if (Option.isNone(woke)) yield* poll(tracker, ids)
      }
    })
    const finished = yield* Effect.timeoutOption(loop, timeout)
    if (Option.isNone(finished)) yield* poll(tracker, ids)
    const orders = yield* current
    return { timedOut: Option.isNone(finished) && !orders.every((o) => isTerminal(o.status)), orders }
  })

/** Asks the broker for every outstanding order; a failed poll is simply tried again next time. */
const poll = (tracker: Tracker, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const known = yield* Ref.get(tracker.orders)
    for (const id of ids) {
      const seen = known.get(id)
      if (seen === undefined || isTerminal(seen.status) || seen.id === "") continue
      const fresh = yield* broker.getOrder(seen.id).pipe(Effect.option)
      if (
        Option.isNone(fresh) ||
        (fresh.value.status === seen.status && fresh.value.filledQuantity.eq(seen.filledQuantity))
      ) continue
      yield* applyNews(tracker, fresh.value, yield* Clock.currentTimeMillis, undefined).pipe(Effect.ignore)
    }
  })

/** What an order (or its intent) has filled so far. */
export type Filled = Pick<BrokerOrder, "side" | "symbol" | "filledQuantity">

/** Filled quantity per symbol, signed (buys positive), over the given orders. */
export const filledBySymbol = (orders: ReadonlyArray<Filled>): ReadonlyMap<string, Decimal> => {
  const out = new Map<string, Decimal>()
  for (const o of orders) {
    if (isZero(o.filledQuantity)) continue
    const signed = o.side === "buy" ? o.filledQuantity : o.filledQuantity.neg()
    const before = out.get(o.symbol)
    out.set(o.symbol, before === undefined ? signed : before.plus(signed))
  }
  return out
}
