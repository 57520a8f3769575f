/**
 * Waiting for a phase's orders to finish. Waiting follows the broker's order-update stream
 * (through the tracker); a poll of the outstanding orders every `pollInterval` catches
 * anything the stream missed, so a lost socket never loses a fill.
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import { Broker, type BrokerOrder, isTerminal } from "../../effects/Broker.ts"
import type { Store } from "../../effects/Store.ts"
import { applyNews, knownOrders, type Tracker } from "./tracker.ts"

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
    const current = knownOrders(tracker, ids)
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
