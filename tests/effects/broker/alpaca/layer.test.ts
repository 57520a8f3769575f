/**
 * The Alpaca adapter against the stateful emulator (tests/support/alpacaEmulator.ts), over
 * real HTTP and a real websocket on 127.0.0.1:
 *
 * - a sell that closes the position goes out as DELETE /v2/positions/{symbol} and is known by
 *   the caller's client order id everywhere (answer, getOrder, getOrderByClientId,
 *   openOrders, trade_updates), although Alpaca gives it a client_order_id of its own;
 * - a close whose answer is lost is found among the symbol's orders since the send, never
 *   sent again by the adapter; its updates from before it was found are dropped, the later
 *   ones named by the caller's id;
 * - Alpaca's rate limit, actually hit (a short window): the adapter waits for the reset and
 *   never sends an order twice;
 * - assets as the emulator lists them: one request, whatever the symbols.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { afterEach } from "vitest"
import { Broker, type BrokerShape, type OrderRequest, type OrderUpdate } from "../../../../src/effects/Broker.ts"
import type { AlpacaConfig } from "../../../../src/effects/broker/alpaca/config.ts"
import { layer } from "../../../../src/effects/broker/alpaca/layer.ts"
import { Decimal, format } from "../../../../src/kernel/decimal.ts"
import { type AlpacaEmulator, type EmulatorOptions, startAlpacaEmulator } from "../../../support/alpacaEmulator.ts"
import { config } from "./fixtures.ts"

const emulators: Array<AlpacaEmulator> = []
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.close()))
})

const QUOTES = {
  ARKK: { bid: "48.90", ask: "48.95" },
  VTI: { bid: "245.10", ask: "245.16" },
  VNQ: { bid: "88.37", ask: "88.43" }
}

const start = (options: EmulatorOptions = {}) =>
  Effect.promise(async () => {
    const emu = await startAlpacaEmulator({ cash: "10000", quotes: QUOTES, ...options })
    emulators.push(emu)
    return emu
  })

const withBroker = <A, E, R>(
  emu: AlpacaEmulator,
  f: (broker: BrokerShape) => Effect.Effect<A, E, R>,
  overrides: Partial<AlpacaConfig> = {}
) =>
  Effect.gen(function*() {
    return yield* f(yield* Broker)
  }).pipe(
    Effect.provide(
      layer(config(emu, overrides), { reconnect: { baseMillis: 20, maxDelayMillis: 100, stableMillis: 1_000 } }).pipe(
        Layer.provide(FetchHttpClient.layer)
      )
    )
  )

const sleep = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** Polls `check` every 10 ms until it holds (fails after `millis`). */
const until = (check: () => boolean, millis = 5_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + millis
    while (!check()) {
      if (Date.now() > deadline) throw new Error("condition not met in time")
      await new Promise((r) => setTimeout(r, 10))
    }
  })

/** Follows the broker's updates into `into`, and waits until the emulator has the socket listening. */
const follow = (emu: AlpacaEmulator, broker: BrokerShape, into: Array<OrderUpdate>) =>
  Effect.gen(function*() {
    yield* Stream.runForEach(broker.updates, (u) => Effect.sync(() => void into.push(u))).pipe(Effect.forkScoped)
    yield* until(() =>
      emu.streamClients() > 0 && emu.streamMessages.some((m) => (m.message as { action?: string }).action === "listen")
    )
  })

const close = (symbol: string, quantity: string): OrderRequest => ({
  clientOrderId: `r1-ss-${symbol}`,
  symbol,
  side: "sell",
  quantity: new Decimal(quantity),
  type: "market",
  timeInForce: "day",
  closesPosition: true
})

const requestsTo = (emu: AlpacaEmulator, method: string, path: string) =>
  emu.requests.filter((r) => r.method === method && r.path === path)

describe("a sell that closes the position, against the emulator", () => {
  it.live("a whole-share account sells a fractional holding with one DELETE; Alpaca's ids are translated to the caller's everywhere", () =>
    Effect.scoped(Effect.gen(function*() {
      const emu = yield* start({ positions: { ARKK: "40.5" }, fillDelayMillis: 300 })
      const updates: Array<OrderUpdate> = []
      yield* withBroker(emu, (broker) =>
        Effect.gen(function*() {
          yield* follow(emu, broker, updates)
          const placed = yield* broker.placeOrder(close("ARKK", "40.5"))
          const alpaca = emu.orders()[0]!
          expect(alpaca.client_order_id).not.toBe("r1-ss-ARKK")
          expect(placed).toMatchObject({ id: alpaca.id, clientOrderId: "r1-ss-ARKK", symbol: "ARKK", side: "sell" })
          expect(format(placed.quantity)).toBe("40.5")
          expect((yield* broker.openOrders).map((o) => [o.id, o.clientOrderId])).toEqual([[alpaca.id, "r1-ss-ARKK"]])
          yield* until(() => emu.orders()[0]!.status === "filled")
          expect(yield* broker.getOrder(alpaca.id)).toMatchObject({ clientOrderId: "r1-ss-ARKK", status: "filled" })
          const byClientId = yield* broker.getOrderByClientId("r1-ss-ARKK")
          expect(byClientId).toMatchObject({ id: alpaca.id, clientOrderId: "r1-ss-ARKK", status: "filled" })
          expect(format(byClientId.filledQuantity)).toBe("40.5")
          yield* until(() => updates.some((u) => u.kind === "fill"))
        }))
      expect(emu.positions()).toEqual([])
      expect(requestsTo(emu, "DELETE", "/v2/positions/ARKK").map((r) => r.status)).toEqual([200])
      expect(requestsTo(emu, "POST", "/v2/orders")).toEqual([])
      // Known by its Alpaca id: never looked up by a client id Alpaca does not know.
      expect(requestsTo(emu, "GET", "/v2/orders:by_client_order_id")).toEqual([])
      // Every update passed on names the caller's id (an early `new` may have been dropped).
      expect(updates.length).toBeGreaterThan(0)
      for (const u of updates) expect(u.order.clientOrderId).toBe("r1-ss-ARKK")
      const fill = updates.find((u) => u.kind === "fill")!
      expect([format(fill.fill!.quantity), format(fill.fill!.price)]).toEqual(["40.5", "48.9"])
    })))

  it.live("after a restart: a close is found by what was stored of it (symbol, quantity, time), never without it", () =>
    Effect.scoped(Effect.gen(function*() {
      const emu = yield* start({ positions: { ARKK: "40", VTI: "3" } })
      const sentAt = Date.now()
      const placed = yield* withBroker(emu, (broker) => broker.placeOrder(close("ARKK", "40")))
      // A sell of another symbol is never taken for the close.
      yield* withBroker(emu, (broker) => broker.placeOrder({ ...close("VTI", "3"), clientOrderId: "other-VTI" }))
      const sent = { symbol: "ARKK", quantity: new Decimal("40"), closesPosition: true, sentAt }
      // Another quantity, or a send after the order was submitted, is not this close either.
      yield* withBroker(emu, (broker) =>
        Effect.gen(function*() {
          const wrongSize = yield* Effect.flip(
            broker.getOrderByClientId("r1-ss-ARKK", { ...sent, quantity: new Decimal("39") })
          )
          expect(wrongSize._tag).toBe("OrderNotFound")
        }))
      yield* withBroker(emu, (broker) =>
        Effect.gen(function*() {
          const tooLate = yield* Effect.flip(
            broker.getOrderByClientId("r1-ss-ARKK", { ...sent, sentAt: sentAt + 600_000 })
          )
          expect(tooLate._tag).toBe("OrderNotFound")
        }))
      // A new Broker is a new process: it knows nothing of the close the first one sent.
      yield* withBroker(emu, (broker) =>
        Effect.gen(function*() {
          const blind = yield* Effect.flip(broker.getOrderByClientId("r1-ss-ARKK"))
          expect(blind._tag).toBe("OrderNotFound")
          const found = yield* broker.getOrderByClientId("r1-ss-ARKK", sent)
          expect(found).toMatchObject({ id: placed.id, clientOrderId: "r1-ss-ARKK", symbol: "ARKK" })
        }))
    })))

  it.live("a lost answer: found among ARKK's orders since the send, never sent again; later updates named", () =>
    // Updates from before it was found are dropped.
    Effect.scoped(Effect.gen(function*() {
      const emu = yield* start({ positions: { ARKK: "40.5", VTI: "2" }, fillDelayMillis: 600, partialFill: 2 })
      const updates: Array<OrderUpdate> = []
      yield* withBroker(emu, (broker) =>
        Effect.gen(function*() {
          yield* follow(emu, broker, updates)
          // An order of another symbol placed meanwhile is not taken for the close.
          yield* broker.placeOrder({ ...close("VTI", "1"), clientOrderId: "r1-ss-VTI", closesPosition: false })
          emu.faults.next({ method: "DELETE", path: "/v2/positions/ARKK" }, { loseAnswer: true })
          const lost = yield* Effect.flip(broker.placeOrder(close("ARKK", "40.5")))
          expect(lost).toMatchObject({ _tag: "UnknownOutcome", clientOrderId: "r1-ss-ARKK" })
          // Its `new` reaches the adapter before the order is known (and is dropped).
          yield* sleep(200)
          const found = yield* broker.getOrderByClientId("r1-ss-ARKK")
          const alpaca = emu.orders().find((o) => o.symbol === "ARKK")!
          expect(found).toMatchObject({ id: alpaca.id, clientOrderId: "r1-ss-ARKK", side: "sell", symbol: "ARKK" })
          yield* until(() => updates.some((u) => u.kind === "fill" && u.order.symbol === "ARKK"))
          expect(yield* broker.getOrder(alpaca.id)).toMatchObject({ clientOrderId: "r1-ss-ARKK", status: "filled" })
        }))
      const arkk = emu.orders().filter((o) => o.symbol === "ARKK")
      expect(arkk).toHaveLength(1)
      expect(requestsTo(emu, "DELETE", "/v2/positions/ARKK").map((r) => r.status)).toEqual([undefined])
      const lookups = requestsTo(emu, "GET", "/v2/orders")
      expect(lookups.map((r) => [r.query["status"], r.query["symbols"], r.query["direction"], r.status])).toEqual([[
        "all",
        "ARKK",
        "asc",
        200
      ]])
      expect(emu.tradeUpdates.filter((u) => u.order.symbol === "ARKK").map((u) => u.event)).toEqual([
        "new",
        "partial_fill",
        "fill"
      ])
      // Passed on: the two fills, found after the lookup, under the caller's id; the early `new` was dropped.
      expect(updates.filter((u) => u.order.symbol === "ARKK").map((u) => [u.kind, u.order.clientOrderId])).toEqual([
        ["partial_fill", "r1-ss-ARKK"],
        ["fill", "r1-ss-ARKK"]
      ])
      expect(emu.positions().map((p) => p.symbol)).toEqual(["VTI"])
    })))

  it.live("a lost close that never arrived is OrderNotFound; sent again, a close of a position already gone is OrderRejected", () =>
    Effect.scoped(Effect.gen(function*() {
      const emu = yield* start({ positions: { ARKK: "40.5" } })
      yield* withBroker(emu, (broker) =>
        Effect.gen(function*() {
          // Refused before it was handled: no order at all.
          emu.faults.next({ method: "DELETE", path: "/v2/positions/ARKK" }, { status: 503 })
          expect(yield* Effect.flip(broker.placeOrder(close("ARKK", "40.5")))).toMatchObject({ _tag: "UnknownOutcome" })
          expect(yield* Effect.flip(broker.getOrderByClientId("r1-ss-ARKK"))).toMatchObject({
            _tag: "OrderNotFound",
            id: "r1-ss-ARKK"
          })
          const placed = yield* broker.placeOrder(close("ARKK", "40.5"))
          expect(placed.clientOrderId).toBe("r1-ss-ARKK")
          yield* until(() => emu.positions().length === 0)
          const again = yield* Effect.flip(broker.placeOrder({ ...close("ARKK", "40.5"), clientOrderId: "r2-ss-ARKK" }))
          expect(again).toMatchObject({
            _tag: "OrderRejected",
            clientOrderId: "r2-ss-ARKK",
            reason: "position does not exist"
          })
        }))
      expect(requestsTo(emu, "DELETE", "/v2/positions/ARKK").map((r) => r.status)).toEqual([503, 200, 404])
      expect(emu.orders()).toHaveLength(1)
    })))
})

describe("Alpaca's rate limit, hit for real (a 1.5 s window)", () => {
  it.live("X-Ratelimit-Remaining 0: the next request, an order, waits for the reset and is sent once", () =>
    Effect.gen(function*() {
      const emu = yield* start({ requestsPerMinute: 3, rateLimitWindowMillis: 1_500 })
      const held = yield* withBroker(emu, (broker) =>
        Effect.gen(function*() {
          for (let i = 0; i < 3; i++) yield* broker.clock
          const before = Date.now()
          const placed = yield* broker.placeOrder({
            ...close("VTI", "1"),
            side: "buy",
            closesPosition: false,
            clientOrderId: "r1-bb-VTI"
          })
          expect(placed.clientOrderId).toBe("r1-bb-VTI")
          return Date.now() - before
        }))
      // The third answer said 0 remaining, reset at the window's end (at least 1.5 s after the first request, rounded up to the second).
      expect(held).toBeGreaterThanOrEqual(1_000)
      // So the order went out in the next window: answered, not refused, and sent once.
      expect(emu.requests.map((r) => [r.method, r.path, r.status])).toEqual([
        ["GET", "/v2/clock", 200],
        ["GET", "/v2/clock", 200],
        ["GET", "/v2/clock", 200],
        ["POST", "/v2/orders", 200]
      ])
      expect(emu.ordersPlacedFor("r1-bb-VTI")).toBe(1)
    }))

  it.live("a 429 on an order: RateLimited, not re-sent by the adapter; after the wait the same id is placed once", () =>
    Effect.gen(function*() {
      const emu = yield* start({ requestsPerMinute: 3, rateLimitWindowMillis: 1_500 })
      const buy: OrderRequest = { ...close("VTI", "1"), side: "buy", closesPosition: false, clientOrderId: "r1-bb-VTI" }
      const elapsed = yield* withBroker(emu, (broker) =>
        Effect.gen(function*() {
          yield* broker.clock
          // Another client of the same account uses up the window meanwhile.
          yield* Effect.promise(() =>
            Promise.all([1, 2].map(() =>
              fetch(`${emu.tradingUrl}/v2/clock`, {
                headers: { "apca-api-key-id": emu.keyId, "apca-api-secret-key": emu.secretKey }
              })
            ))
          )
          const refused = yield* Effect.flip(broker.placeOrder(buy))
          expect(refused._tag).toBe("RateLimited")
          const wait = (refused as { retryAfterMillis: number }).retryAfterMillis
          expect(wait).toBeGreaterThan(0)
          expect(wait).toBeLessThanOrEqual(2_500)
          // What the program does: wait as told, send the same id again.
          const before = Date.now()
          const placed = yield* broker.placeOrder(buy)
          expect(placed.clientOrderId).toBe("r1-bb-VTI")
          return Date.now() - before
        }))
      expect(requestsTo(emu, "POST", "/v2/orders").map((r) => r.status)).toEqual([429, 200])
      expect(emu.ordersPlacedFor("r1-bb-VTI")).toBe(1)
      expect(emu.requests.filter((r) => r.status === 429)).toHaveLength(1)
      // The second send was held by the adapter until the reset (the window's end), not refused again.
      expect(elapsed).toBeGreaterThanOrEqual(1_000)
    }))
})

describe("assets, against the emulator", () => {
  it.live("one list for every symbol: fractionable as configured; unknown and inactive left out; untradable said; $1 minimum", () =>
    Effect.gen(function*() {
      const emu = yield* start({
        quotes: { ...QUOTES, BND: { bid: "72.49", ask: "72.52" }, GONE: { bid: "1.00", ask: "1.10" } },
        fractionable: ["ARKK", "VTI"],
        untradable: ["BND"],
        inactive: ["GONE"]
      })
      const assets = yield* withBroker(emu, (broker) => broker.assets(["VTI", "VNQ", "NOPE", "ARKK", "BND", "GONE"]))
      expect(assets.map((a) => [a.symbol, a.tradable, a.fractionable, format(a.minFractionalOrderValue)])).toEqual([
        ["VTI", true, true, "1"],
        ["VNQ", true, false, "1"],
        ["ARKK", true, true, "1"],
        ["BND", false, false, "1"]
      ])
      expect(requestsTo(emu, "GET", "/v2/assets").map((r) => [r.query, r.status])).toEqual([
        [{ status: "active", asset_class: "us_equity" }, 200]
      ])
      expect(emu.requestsByPath()).toEqual({ "GET /v2/assets": 1 })
    }))
})

describe("the account, against the emulator", () => {
  it.live("cash for buys is the smaller of cash and non_marginable_buying_power: an open buy's reservation is not spent twice", () =>
    Effect.gen(function*() {
      const emu = yield* start({ marketBuyCollar: "0.02" })
      emu.faults.pauseFills()
      const account = yield* withBroker(emu, (broker) =>
        Effect.andThen(
          broker.placeOrder({
            clientOrderId: "outside-1",
            symbol: "VTI",
            side: "buy",
            quantity: new Decimal("10"),
            type: "market",
            timeInForce: "day"
          }),
          broker.account
        ))
      // Reserved at the ask plus Alpaca's 2% collar: 10 × 245.16 × 1.02 = 2500.632.
      expect(emu.account()).toMatchObject({ cash: "10000", non_marginable_buying_power: "7499.368" })
      expect([format(account.cash), format(account.buyingPower)]).toEqual(["7499.368", "7499.368"])
    }))
})
