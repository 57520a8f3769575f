/**
 * The faults decorator in front of real venues: the paper venue on a SQLite file, and the Alpaca
 * adapter against the stateful emulator over real HTTP on 127.0.0.1. A fault either never
 * reaches the venue (a connection failure, a rate limit, a lookup that misses) or reaches it
 * and loses only the answer (placeOrder).
 */
import { afterEach, assert, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import { Broker } from "../../../../src/effects/Broker.ts"
import * as Alpaca from "../../../../src/effects/broker/alpaca/layer.ts"
import * as Faults from "../../../../src/effects/broker/faults/layer.ts"
import { type AlpacaEmulator, startAlpacaEmulator } from "../../../support/alpacaEmulator.ts"
import { config } from "../alpaca/fixtures.ts"
import { base, d, paper, rejection, request, same, tempFiles, watch } from "../paper/fixtures.ts"

const { freshFile } = tempFiles("keel-faults-test-")

/** The paper venue under faults, armed or not. */
const faultyPaper = (armed: Faults.ArmedFaults = {}) =>
  Faults.layer(armed).pipe(Layer.provideMerge(paper(freshFile(), base)))

describe("faults in front of the paper venue", () => {
  it.effect("a lost answer: the order is placed, placeOrder says UnknownOutcome, and the client id finds it", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const controls = yield* Faults.FaultControls
      const updates = yield* watch
      yield* controls.loseNextPlaceAnswers(1)
      const lost = yield* Effect.flip(broker.placeOrder(request({ clientOrderId: "lost", quantity: d("2") })))
      expect(lost._tag).toBe("UnknownOutcome")
      const found = yield* broker.getOrderByClientId("lost")
      expect(found.clientOrderId).toBe("lost")
      same(found.quantity, "2")
      expect((yield* Queue.take(updates)).kind).toBe("accepted")
      expect((yield* Queue.take(updates)).kind).toBe("fill")
      expect((yield* broker.getOrderByClientId("lost")).status).toBe("filled")
      // resubmitting the same intent is refused, as at a real broker
      expect(yield* rejection(broker.placeOrder(request({ clientOrderId: "lost" })))).toContain("already used")
      // only one answer was lost
      const ok = yield* broker.placeOrder(request({ clientOrderId: "answered", quantity: d("1") }))
      expect(ok.clientOrderId).toBe("answered")
    }).pipe(Effect.provide(faultyPaper())))

  it.effect("injected connection failures and rate limits fail the next calls without reaching the venue", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const controls = yield* Faults.FaultControls
      yield* controls.failNextCalls(2)
      const failed = yield* Effect.flip(broker.placeOrder(request({ clientOrderId: "never-sent" })))
      expect(failed._tag).toBe("BrokerConnectionError")
      expect((yield* Effect.flip(broker.account))._tag).toBe("BrokerConnectionError")
      same((yield* broker.account).cash, "10000")
      // a failed call never placed anything: the client id is still free
      expect((yield* Effect.flip(broker.getOrderByClientId("never-sent")))._tag).toBe("OrderNotFound")
      yield* broker.placeOrder(request({ clientOrderId: "never-sent", quantity: d("1") }))

      yield* controls.rateLimitNextCalls(1, 1500)
      const limited = yield* Effect.flip(broker.quotes(["AAPL"]))
      assert.strictEqual(limited._tag, "RateLimited")
      if (limited._tag === "RateLimited") expect(limited.retryAfterMillis).toBe(1500)
      expect((yield* broker.quotes(["AAPL"])).length).toBe(1)
      expect(yield* controls.calls).toBe(7)
    }).pipe(Effect.provide(faultyPaper())))

  it.effect("a lookup that misses answers OrderNotFound for an order the venue has, then finds it", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const controls = yield* Faults.FaultControls
      yield* broker.placeOrder(request({ clientOrderId: "lagging", quantity: d("1") }))
      yield* controls.missNextLookups(1)
      expect((yield* Effect.flip(broker.getOrderByClientId("lagging")))._tag).toBe("OrderNotFound")
      expect((yield* broker.getOrderByClientId("lagging")).clientOrderId).toBe("lagging")
    }).pipe(Effect.provide(faultyPaper())))

  it.effect("lost answers and failures can be armed from the start", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      expect((yield* Effect.flip(broker.clock))._tag).toBe("BrokerConnectionError")
      const lost = yield* Effect.flip(broker.placeOrder(request({ clientOrderId: "cfg-lost", quantity: d("1") })))
      expect(lost._tag).toBe("UnknownOutcome")
      expect((yield* broker.getOrderByClientId("cfg-lost")).clientOrderId).toBe("cfg-lost")
    }).pipe(Effect.provide(faultyPaper({ failNextCalls: 1, loseNextPlaceAnswers: 1 }))))
})

describe("faults in front of the Alpaca adapter (emulator)", () => {
  const emulators: Array<AlpacaEmulator> = []
  afterEach(async () => {
    await Promise.all(emulators.splice(0).map((e) => e.close()))
  })

  const faultyAlpaca = (emu: AlpacaEmulator) =>
    Faults.layer().pipe(
      Layer.provideMerge(
        Alpaca.layer(config(emu))
      ),
      Layer.provide(FetchHttpClient.layer)
    )

  const withEmulator = <A, E>(use: (emu: AlpacaEmulator) => Effect.Effect<A, E, Broker | Faults.FaultControls>) =>
    Effect.gen(function*() {
      const emu = yield* Effect.promise(() =>
        startAlpacaEmulator({ cash: "10000", quotes: { VTI: { bid: "245.10", ask: "245.16" } } })
      )
      emulators.push(emu)
      return yield* use(emu).pipe(Effect.provide(faultyAlpaca(emu)))
    })

  it.live("failures never reach Alpaca; a lost answer leaves the order at Alpaca, found by its client order id", () =>
    withEmulator((emu) =>
      Effect.gen(function*() {
        const broker = yield* Broker
        const controls = yield* Faults.FaultControls
        yield* controls.failNextCalls(1, "connection reset by peer")
        const failed = yield* Effect.flip(broker.account)
        assert.strictEqual(failed._tag, "BrokerConnectionError")
        if (failed._tag === "BrokerConnectionError") expect(failed.message).toBe("connection reset by peer")
        expect(emu.requests).toHaveLength(0)
        same((yield* broker.account).cash, "10000")

        yield* controls.loseNextPlaceAnswers(1)
        const order = request({ clientOrderId: "alpaca-lost", symbol: "VTI", quantity: d("2") })
        const lost = yield* Effect.flip(broker.placeOrder(order))
        expect(lost._tag).toBe("UnknownOutcome")
        expect(emu.ordersPlacedFor("alpaca-lost")).toBe(1)
        const found = yield* broker.getOrderByClientId("alpaca-lost")
        expect(found.clientOrderId).toBe("alpaca-lost")
        same(found.quantity, "2")
        // Sending it again is refused by Alpaca itself: the client order id is taken.
        expect((yield* Effect.flip(broker.placeOrder(order)))._tag).toBe("OrderRejected")
        expect(emu.submissionsFor("alpaca-lost")).toBe(2)
        expect(emu.ordersPlacedFor("alpaca-lost")).toBe(1)
        expect(yield* controls.calls).toBe(5)
      })
    ))
})
