/**
 * The submit protocol: how one of the kernel's orders reaches the broker.
 *
 * - Every intent is written to the Store *before* it is sent, with the attribution of its order.
 * - A submit whose answer is lost (UnknownOutcome, or a connection error mid-submit) is
 *   never blindly retried: the order is looked up by client order id first, and sent again
 *   (same id, which a broker refuses if it did arrive) only when the broker has no trace of it.
 * - A 429 was refused before it was handled: it is sent again after the wait it names.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Broker, type BrokerOrder } from "../../effects/Broker.ts"
import { Store, type StoreWriteError } from "../../effects/Store.ts"
import type { Order } from "../../kernel/rebalance/orders.ts"
import { clientOrderId, clientOrderIdLength } from "./ids.ts"
import { applyAnswer, forget, track, type Tracker } from "./tracker.ts"

/** Why the run cannot go on sending orders. */
export class ExecutionHalted extends Data.TaggedError("ExecutionHalted")<{ readonly reason: string }> {}

export interface Submitted {
  readonly clientOrderId: string
  readonly order: Order
  /** The broker's order, or undefined when it was rejected. */
  readonly placed: BrokerOrder | undefined
  readonly rejection?: string
}

/** How many times one intent may be sent in all (the first send, plus a resend after "no trace"). */
const MAX_SUBMITS = 2

type Settle = (
  attempt: number,
  afterLoss?: boolean
) => Effect.Effect<Submitted, ExecutionHalted | StoreWriteError, Broker | Store>

/**
 * Stores the intent, sends it, and settles a lost answer by looking the order up.
 * `closesPosition`: the sell is of everything held, and the broker may close the position its own way.
 */
export const submit = (
  tracker: Tracker,
  order: Order,
  closesPosition = false
): Effect.Effect<Submitted, ExecutionHalted | StoreWriteError, Broker | Store> =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const store = yield* Store
    const id = clientOrderId(tracker.runId, order, clientOrderIdLength(broker.capabilities))
    const now = yield* Clock.currentTimeMillis
    yield* store.saveIntent({
      clientOrderId: id,
      runId: tracker.runId,
      phase: order.phase,
      symbol: order.symbol,
      side: order.side,
      quantity: order.quantity,
      price: order.price,
      attribution: Option.some(order.attribution),
      status: "pending",
      filledQuantity: order.quantity.minus(order.quantity),
      createdAt: now,
      updatedAt: now
    }, tracker.lease)
    yield* track(tracker, pendingOrder(id, order, now))
    const send = broker.placeOrder({
      clientOrderId: id,
      symbol: order.symbol,
      side: order.side,
      quantity: order.quantity,
      type: "market",
      timeInForce: "day",
      ...(closesPosition ? { closesPosition } : {})
    })
    const adopt = (placed: BrokerOrder) =>
      Effect.as(applyAnswer(tracker, placed), { clientOrderId: id, order, placed } satisfies Submitted)
    /** `afterLoss`: this send follows a lost answer that the broker had no trace of. */
    const settle: Settle = (attempt, afterLoss = false) =>
      send.pipe(
        Effect.flatMap(adopt),
        Effect.catchTag("OrderRejected", (e) =>
          Effect.gen(function*() {
            // A resend after "no trace" refused: the first send may have arrived after all (a
            // lookup can lag the venue, and a reused id is refused), so ask once more. Still no
            // trace: the refusal cannot be told from a duplicate, so the run stops rather than
            // book an order that may exist as rejected.
            if (afterLoss) {
              const found = yield* findByClientId(id)
              if (found !== undefined && Option.isSome(found)) return yield* adopt(found.value)
              return yield* halt(
                tracker,
                id,
                `the resend after a lost answer was refused (${e.reason}) and the order cannot be found`
              )
            }
            const at = yield* Clock.currentTimeMillis
            yield* store.updateIntent(id, { status: "rejected", reason: e.reason, at }, tracker.lease)
            yield* forget(tracker, id)
            return { clientOrderId: id, order, placed: undefined, rejection: e.reason } satisfies Submitted
          })),
        Effect.catchTags({
          UnknownOutcome: () => lookUp(tracker, id, attempt, adopt, settle),
          BrokerConnectionError: () => lookUp(tracker, id, attempt, adopt, settle),
          RateLimited: (e) =>
            // A 429 means the request was refused before it was handled: waiting and sending again is safe.
            attempt < MAX_SUBMITS
              ? Effect.sleep(e.retryAfterMillis).pipe(Effect.andThen(settle(attempt + 1)))
              : halt(tracker, id, "rate limited")
        })
      )
    return yield* settle(1)
  })

/** The intent's status is unknown: the run stops sending, and says which order and why. */
const halt = (tracker: Tracker, id: string, why: string) =>
  Effect.gen(function*() {
    const store = yield* Store
    yield* store.updateIntent(id, { status: "unknown", reason: why, at: yield* Clock.currentTimeMillis }, tracker.lease)
    return yield* Effect.fail(new ExecutionHalted({ reason: `order ${id}: ${why}` }))
  })

/** A lost answer: the order found is adopted; no trace of it is sent again (once); no answer stops the run. */
const lookUp = (
  tracker: Tracker,
  id: string,
  attempt: number,
  adopt: (placed: BrokerOrder) => Effect.Effect<Submitted, StoreWriteError, Store>,
  settle: Settle
): Effect.Effect<Submitted, ExecutionHalted | StoreWriteError, Broker | Store> =>
  Effect.gen(function*() {
    const found = yield* findByClientId(id)
    if (found === undefined) {
      return yield* halt(tracker, id, "the submit's answer was lost and the order could not be looked up")
    }
    if (Option.isSome(found)) {
      return yield* adopt(found.value)
    }
    if (attempt >= MAX_SUBMITS) {
      return yield* halt(tracker, id, "the submit's answer was lost twice and the broker has no trace of it")
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

/** The order as tracked before the broker has answered: no broker id yet, nothing filled. */
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
