/**
 * Faults: a Broker decorator that injects the failures a program must survive, in front of
 * any venue (paper, Alpaca against its emulator, a replay): connection failures and rate
 * limits that never reach the venue, placeOrder answers lost after the venue acted on them,
 * and order lookups that miss an order the venue has (an index that lags the order book).
 *
 * Every fault is a counter: "the next n calls". The decorator counts calls as well, so a test
 * can say how many reached the broker. `updates` passes through untouched.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import {
  Broker,
  BrokerConnectionError,
  type BrokerShape,
  OrderNotFound,
  RateLimited,
  UnknownOutcome
} from "../../Broker.ts"

/** Faults armed from the start (the same counters `FaultControls` sets). */
export interface ArmedFaults {
  readonly failNextCalls?: number
  readonly loseNextPlaceAnswers?: number
}

export interface FaultControlsShape {
  /** The next `count` broker calls fail with BrokerConnectionError without reaching the venue. */
  readonly failNextCalls: (count: number, message?: string) => Effect.Effect<void>
  /** The next `count` broker calls fail with RateLimited without reaching the venue. */
  readonly rateLimitNextCalls: (count: number, retryAfterMillis: number) => Effect.Effect<void>
  /**
   * The next `count` placeOrder calls reach the venue (the order is placed, or rejected) but
   * answer UnknownOutcome: a lost answer.
   */
  readonly loseNextPlaceAnswers: (count: number) => Effect.Effect<void>
  /**
   * The next `count` getOrderByClientId calls answer OrderNotFound even for an order the venue
   * has, without reaching it: a lookup index that lags the order book.
   */
  readonly missNextLookups: (count: number) => Effect.Effect<void>
  /** Broker calls made so far (every method but `updates`), failed ones included. */
  readonly calls: Effect.Effect<number>
}

export class FaultControls extends Context.Service<FaultControls, FaultControlsShape>()(
  "keel/effects/broker/FaultControls"
) {}

/** `inner` with faults in front of it, and the controls that arm them. */
const make = (
  inner: BrokerShape,
  armed: ArmedFaults = {}
): { readonly broker: BrokerShape; readonly controls: FaultControlsShape } => {
  const defaultMessage = `${inner.kind} broker: simulated connection failure`
  const state = {
    calls: 0,
    failNext: armed.failNextCalls ?? 0,
    failMessage: defaultMessage,
    rateLimitNext: 0,
    retryAfterMillis: 0,
    loseNext: armed.loseNextPlaceAnswers ?? 0,
    missNext: 0
  }

  /** Every call passes the connection faults first, as a real connection would fail first. */
  const call = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | BrokerConnectionError | RateLimited> =>
    Effect.suspend((): Effect.Effect<A, E | BrokerConnectionError | RateLimited> => {
      state.calls++
      if (state.failNext > 0) {
        state.failNext--
        return Effect.fail(new BrokerConnectionError({ message: state.failMessage }))
      }
      if (state.rateLimitNext > 0) {
        state.rateLimitNext--
        return Effect.fail(new RateLimited({ retryAfterMillis: state.retryAfterMillis }))
      }
      return effect
    })

  const broker: BrokerShape = {
    kind: inner.kind,
    capabilities: inner.capabilities,
    account: call(inner.account),
    positions: call(inner.positions),
    quotes: (symbols) => call(inner.quotes(symbols)),
    clock: call(inner.clock),
    assets: (symbols) => call(inner.assets(symbols)),
    placeOrder: (request) =>
      call(Effect.gen(function*() {
        if (state.loseNext <= 0) return yield* inner.placeOrder(request)
        state.loseNext--
        // The venue acts on the request; only its answer is lost.
        yield* Effect.exit(inner.placeOrder(request))
        return yield* new UnknownOutcome({
          clientOrderId: request.clientOrderId,
          message: `${inner.kind} broker: simulated lost answer to placeOrder`
        })
      })),
    getOrder: (id) => call(inner.getOrder(id)),
    getOrderByClientId: (clientOrderId, sent) =>
      call(Effect.suspend(() => {
        if (state.missNext <= 0) return inner.getOrderByClientId(clientOrderId, sent)
        state.missNext--
        return Effect.fail(new OrderNotFound({ id: clientOrderId }))
      })),
    cancelOrder: (id) => call(inner.cancelOrder(id)),
    openOrders: call(inner.openOrders),
    updates: inner.updates
  }

  const controls: FaultControlsShape = {
    failNextCalls: (count, message) =>
      Effect.sync(() => {
        state.failNext = count
        state.failMessage = message ?? defaultMessage
      }),
    rateLimitNextCalls: (count, retryAfterMillis) =>
      Effect.sync(() => {
        state.rateLimitNext = count
        state.retryAfterMillis = retryAfterMillis
      }),
    loseNextPlaceAnswers: (count) => Effect.sync(() => void (state.loseNext = count)),
    missNextLookups: (count) => Effect.sync(() => void (state.missNext = count)),
    calls: Effect.sync(() => state.calls)
  }

  return { broker, controls }
}

/** The Broker the layer is given, under faults (none armed unless `armed` says so); and its FaultControls. */
export const layer = (armed: ArmedFaults = {}): Layer.Layer<Broker | FaultControls, never, Broker> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const { broker, controls } = make(yield* Broker, armed)
      return Context.make(Broker, broker).pipe(Context.add(FaultControls, controls))
    })
  )
