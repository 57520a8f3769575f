/**
 * The paper venue: fills, costs, books, limits, latency and partial fills, restarts on the same
 * database, a closed market, quote files and random walks. Faults in front of it are the faults
 * decorator's (tests/effects/broker/faults).
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import * as SqlClient from "effect/sql/SqlClient"
import { TestClock } from "effect/testing"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Broker, type VenueConfigError } from "../../../../src/effects/Broker.ts"
import * as Paper from "../../../../src/effects/broker/paper/layer.ts"
import { LOCKED_BOOKS_RETRY_MILLIS } from "../../../../src/effects/broker/paper/ledger.ts"
import { Decimal, format } from "../../../../src/kernel/decimal.ts"
import {
  base,
  d,
  database,
  drain,
  paper,
  paperControls,
  rejection,
  request,
  same,
  tempFiles,
  watch
} from "./fixtures.ts"

const files = tempFiles("keel-paper-test-")
const freshFile = files.freshFile
const tmpRoot = files.root

/** Another connection holds the books' write lock for the scope, as another process's transaction would. */
const holdBooks = (file: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const db = new DatabaseSync(file)
      db.exec("BEGIN IMMEDIATE")
      return db
    }),
    (db) => Effect.sync(() => db.close())
  )

/** The venue on its books file, giving up on another connection's lock after a short busy timeout. */
const impatient = (file: string, config: Paper.PaperConfig) =>
  Paper.layerFile(config, { filename: file, busyTimeout: "50 millis" })

describe("paper broker", () => {
  it.effect("a market buy fills at ask + slippage with commission; cash, position and average cost are exact", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const controls = yield* paperControls
      const updates = yield* watch
      const placed = yield* broker.placeOrder(request({ clientOrderId: "buy-1" }))
      expect(placed.status).toBe("accepted")
      expect(placed.id).toBe("paper-test-1")

      const accepted = yield* Queue.take(updates)
      expect(accepted.kind).toBe("accepted")
      const fill = yield* Queue.take(updates)
      expect(fill.kind).toBe("fill")
      // ask 100.00 × (1 + 5 bp) = 100.05; commission 1 + 10 × 0.01 = 1.10
      same(fill.fill?.quantity, "10")
      same(fill.fill?.price, "100.05")
      same(fill.fill?.commission, "1.10")
      expect(fill.order.status).toBe("filled")
      same(fill.order.filledQuantity, "10")
      same(fill.order.averageFillPrice, "100.05")

      const account = yield* broker.account
      same(account.cash, "8998.40") // 10000 − 1000.50 − 1.10
      same(account.buyingPower, "8998.40")
      same(account.equity, "9997.90") // cash + 10 × mid 99.95
      const positions = yield* broker.positions
      expect(positions.map((p) => [p.symbol, format(p.quantity)])).toEqual([["AAPL", "10"]])
      const books = yield* controls.books
      same(books.positions[0]?.averageCost, "100.16") // (1000.50 + 1.10) / 10: commissions are cost
      same(books.realizedPnl, "0")
      const stored = yield* broker.getOrder(placed.id)
      expect(stored.status).toBe("filled")
      same(stored.averageFillPrice, "100.05")
      expect(yield* broker.openOrders).toEqual([])
    }).pipe(Effect.provide(paper(freshFile(), base))))

  it.effect("a sell realizes P&L net of commission against the average cost", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const controls = yield* paperControls
      const updates = yield* watch
      yield* broker.placeOrder(request({ quantity: d("10") }))
      yield* Queue.take(updates)
      yield* Queue.take(updates)
      yield* controls.setQuotes([{ symbol: "AAPL", bid: "110.00", ask: "110.10", last: "110.05" }])
      yield* broker.placeOrder(request({ side: "sell", quantity: d("4") }))
      yield* Queue.take(updates)
      const fill = yield* Queue.take(updates)
      // bid 110.00 × (1 − 5 bp) = 109.945, rounded down to the cent: 109.94
      same(fill.fill?.price, "109.94")
      same(fill.fill?.commission, "1.04")
      const books = yield* controls.books
      // proceeds 439.76 − 1.04 = 438.72; basis 4 × 100.16 = 400.64
      same(books.realizedPnl, "38.08")
      same(books.cash, "9437.12")
      same(books.positions[0]?.quantity, "6")
      same(books.positions[0]?.averageCost, "100.16")
      same(books.positions[0]?.realizedPnl, "38.08")
      // cash + basis − realized = starting cash
      same(books.cash.plus(d("6").times(books.positions[0]!.averageCost)).minus(books.realizedPnl), "10000")

      // selling the rest leaves no position, but keeps the symbol's realized P&L
      yield* broker.placeOrder(request({ side: "sell", quantity: d("6") }))
      yield* Queue.take(updates)
      yield* Queue.take(updates)
      expect(yield* broker.positions).toEqual([])
      const after = yield* controls.books
      same(after.positions[0]?.quantity, "0")
      // 38.08 + (6 × 109.94 − 1.06 − 6 × 100.16 = 57.62)
      same(after.positions[0]?.realizedPnl, "95.70")
      same(after.cash, "10095.70")
    }).pipe(Effect.provide(paper(freshFile(), base))))

  it.effect("computed values past 20 places (realized P&L of a fractional sell) read back from the ledger", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const controls = yield* paperControls
      const updates = yield* watch
      yield* broker.placeOrder(request({ quantity: d("3") }))
      yield* Queue.take(updates)
      yield* Queue.take(updates)
      same((yield* controls.books).positions[0]?.averageCost, "100.333333333333") // 301 / 3, at 12 places
      yield* broker.placeOrder(request({ side: "sell", quantity: d("0.123456789") }))
      yield* Queue.take(updates)
      yield* Queue.take(updates)
      const books = yield* controls.books
      // 0.123456789 × 99.99 − 1 − 0.123456789 × 100.333333333333: 21 places
      same(books.realizedPnl, "-1.042386830889958847737")
      same(books.positions[0]?.realizedPnl, "-1.042386830889958847737")
      same(books.cash, "9710.34444433211")
      same((yield* broker.account).cash, "9710.34444433211")
    }).pipe(Effect.provide(paper(freshFile(), {
      ...base,
      quotes: { kind: "static", quotes: [{ symbol: "AAPL", bid: "99.99", ask: "100.00" }] },
      slippageBps: 0,
      commission: { perOrder: "1" }
    }))))

  it.effect("refuses a buy the account cannot pay for, counting open orders' reserved cost", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const reason = yield* rejection(broker.placeOrder(request({ clientOrderId: "too-big", quantity: d("5") })))
      // 5 × (100.05 + 0.01) + 1 = 501.30 > 500
      expect(reason).toBe("insufficient buying power: the order needs 501.3, buying power is 500")
      // a refused order leaves no trace, and its client order id stays free
      const lookup = yield* Effect.flip(broker.getOrderByClientId("too-big"))
      expect(lookup._tag).toBe("OrderNotFound")
      same((yield* broker.account).cash, "500")

      // a resting limit buy holds 3 × (90 + 0.01) + 1 = 271.03 of buying power
      yield* broker.placeOrder(request({ quantity: d("3"), type: "limit", limitPrice: d("90") }))
      const account = yield* broker.account
      same(account.cash, "500")
      same(account.buyingPower, "228.97")
      const second = yield* rejection(broker.placeOrder(request({ quantity: d("3") })))
      expect(second).toBe("insufficient buying power: the order needs 301.18, buying power is 228.97")
      yield* broker.placeOrder(request({ quantity: d("2") })) // 201.12 fits
    }).pipe(Effect.provide(paper(freshFile(), { ...base, startingCash: "500" }))))

  it.effect("refuses to sell more than is held (no shorts), counting open sells", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const updates = yield* watch
      const none = yield* rejection(broker.placeOrder(request({ side: "sell", quantity: d("1") })))
      expect(none).toBe("insufficient quantity of AAPL: 0 available (0 held, 0 in open sells), 1 requested")
      yield* broker.placeOrder(request({ quantity: d("10") }))
      yield* Queue.take(updates)
      yield* Queue.take(updates)
      const over = yield* rejection(broker.placeOrder(request({ side: "sell", quantity: d("10.5") })))
      expect(over).toBe("insufficient quantity of AAPL: 10 available (10 held, 0 in open sells), 10.5 requested")
      // a resting sell limit reserves its shares
      yield* broker.placeOrder(request({ side: "sell", quantity: d("8"), type: "limit", limitPrice: d("150") }))
      const reserved = yield* rejection(broker.placeOrder(request({ side: "sell", quantity: d("3") })))
      expect(reserved).toBe("insufficient quantity of AAPL: 2 available (10 held, 8 in open sells), 3 requested")
    }).pipe(Effect.provide(paper(freshFile(), base))))

  it.effect("refuses invalid requests: quantity, unknown symbol, limit price", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      expect(yield* rejection(broker.placeOrder(request({ quantity: d("0") })))).toBe(
        "quantity must be positive, got 0"
      )
      expect(yield* rejection(broker.placeOrder(request({ quantity: d("-1") })))).toBe(
        "quantity must be positive, got -1"
      )
      expect(yield* rejection(broker.placeOrder(request({ symbol: "NOPE" })))).toBe("unknown symbol NOPE: no quote")
      expect(yield* rejection(broker.placeOrder(request({ type: "limit" })))).toBe("a limit order needs a limit price")
      expect(yield* rejection(broker.placeOrder(request({ limitPrice: d("1") })))).toBe(
        "a market order takes no limit price"
      )
      expect(yield* broker.openOrders).toEqual([])
    }).pipe(Effect.provide(paper(freshFile(), base))))

  it.effect("refuses a reused client order id, even after the order was canceled", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const first = yield* broker.placeOrder(
        request({ clientOrderId: "once", type: "limit", limitPrice: d("90"), quantity: d("1") })
      )
      const again = yield* rejection(broker.placeOrder(request({ clientOrderId: "once", quantity: d("1") })))
      expect(again).toBe(`client order id once was already used (order ${first.id}, accepted)`)
      yield* broker.cancelOrder(first.id)
      const afterCancel = yield* rejection(broker.placeOrder(request({ clientOrderId: "once", quantity: d("1") })))
      expect(afterCancel).toBe(`client order id once was already used (order ${first.id}, canceled)`)
    }).pipe(Effect.provide(paper(freshFile(), base))))

  it.effect("a limit order that is not marketable rests, then is canceled; a marketable one fills at the bounded price", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const controls = yield* paperControls
      const updates = yield* watch
      const resting = yield* broker.placeOrder(request({ type: "limit", limitPrice: d("99.99"), quantity: d("5") }))
      yield* TestClock.adjust("1 hour")
      expect((yield* drain(updates)).map((u) => u.kind)).toEqual(["accepted"])
      expect((yield* broker.openOrders).map((o) => o.id)).toEqual([resting.id])

      yield* broker.cancelOrder(resting.id)
      const canceled = yield* Queue.take(updates)
      expect(canceled.kind).toBe("canceled")
      expect(canceled.order.status).toBe("canceled")
      expect(canceled.order.reason).toBe("canceled by the client")
      expect(yield* broker.openOrders).toEqual([])
      same((yield* broker.account).buyingPower, "10000")
      // canceling a terminal order is a no-op; an unknown id is OrderNotFound
      yield* broker.cancelOrder(resting.id)
      expect(yield* drain(updates)).toEqual([])
      expect((yield* Effect.flip(broker.cancelOrder("nope")))._tag).toBe("OrderNotFound")
      // the canceled order never fills, even when the market comes to it
      yield* controls.setQuotes([{ symbol: "AAPL", bid: "99.00", ask: "99.10", last: "99.05" }])
      expect(yield* drain(updates)).toEqual([])

      // a resting limit fills once the market reaches it, at the slipped price bounded by the limit
      const waiting = yield* broker.placeOrder(request({ type: "limit", limitPrice: d("98.50"), quantity: d("2") }))
      expect((yield* drain(updates)).map((u) => u.kind)).toEqual(["accepted"])
      yield* controls.setQuotes([{ symbol: "AAPL", bid: "98.40", ask: "98.48", last: "98.44" }])
      const fill = yield* Queue.take(updates)
      expect(fill.kind).toBe("fill")
      expect(fill.order.id).toBe(waiting.id)
      same(fill.fill?.price, "98.50") // 98.48 × 1.0005 = 98.53 (rounded up), bounded by 98.50
    }).pipe(Effect.provide(paper(freshFile(), base))))

  it.effect("partial fills: N chunks, each after the latency, with an exact final state", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const controls = yield* paperControls
      const updates = yield* watch
      const placed = yield* broker.placeOrder(request({ quantity: d("10") }))
      expect((yield* Queue.take(updates)).kind).toBe("accepted")

      yield* TestClock.adjust("999 millis")
      expect(yield* drain(updates)).toEqual([])
      yield* TestClock.adjust("1 millis")
      const first = yield* Queue.take(updates)
      expect(first.kind).toBe("partial_fill")
      same(first.fill?.quantity, "3")
      same(first.fill?.commission, "1.03") // the per-order commission comes with the first fill
      expect(first.order.status).toBe("partially_filled")
      expect(first.at).toBe(1000)
      expect((yield* broker.getOrder(placed.id)).status).toBe("partially_filled")
      // the unfilled rest still holds buying power: 7 × (100.05 + 0.01)
      // cash 10000 − 300.15 − 1.03 = 9698.82, minus 7 × (100.05 + 0.01) = 700.42
      same((yield* broker.account).cash, "9698.82")
      same((yield* broker.account).buyingPower, "8998.40")

      yield* TestClock.adjust("1 second")
      const second = yield* Queue.take(updates)
      expect(second.kind).toBe("partial_fill")
      same(second.fill?.quantity, "3")
      same(second.fill?.commission, "0.03")
      expect(second.at).toBe(2000)

      yield* TestClock.adjust("1 second")
      const last = yield* Queue.take(updates)
      expect(last.kind).toBe("fill")
      same(last.fill?.quantity, "4")
      same(last.fill?.commission, "0.04")
      expect(last.at).toBe(3000)
      expect(last.order.status).toBe("filled")
      same(last.order.filledQuantity, "10")
      same(last.order.averageFillPrice, "100.05")
      expect(yield* drain(updates)).toEqual([])

      const books = yield* controls.books
      same(books.cash, "8998.40")
      same(books.positions[0]?.quantity, "10")
      same(books.positions[0]?.averageCost, "100.16")
    }).pipe(Effect.provide(paper(freshFile(), { ...base, fillLatency: "1 second", partialFills: 3 }))))

  it.effect("nothing fills before the fill latency has elapsed", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const updates = yield* watch
      const placed = yield* broker.placeOrder(request({ quantity: d("1") }))
      yield* TestClock.adjust("4999 millis")
      expect((yield* drain(updates)).map((u) => u.kind)).toEqual(["accepted"])
      expect((yield* broker.getOrder(placed.id)).status).toBe("accepted")
      expect(yield* broker.positions).toEqual([])
      same((yield* broker.account).cash, "10000")
      yield* TestClock.adjust("1 millis")
      const fill = yield* Queue.take(updates)
      expect(fill.kind).toBe("fill")
      expect(fill.at).toBe(5000)
      same((yield* broker.account).cash, "9898.94") // 10000 − 100.05 − 1.01
    }).pipe(Effect.provide(paper(freshFile(), { ...base, fillLatency: "5 seconds" }))))

  it.effect("a canceled order's pending fill never happens", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const updates = yield* watch
      const placed = yield* broker.placeOrder(request({ quantity: d("4") }))
      yield* TestClock.adjust("1 second")
      expect((yield* drain(updates)).map((u) => u.kind)).toEqual(["accepted", "partial_fill"])
      yield* broker.cancelOrder(placed.id)
      yield* TestClock.adjust("1 hour")
      const rest = yield* drain(updates)
      expect(rest.map((u) => u.kind)).toEqual(["canceled"])
      same(rest[0]?.order.filledQuantity, "2")
      const order = yield* broker.getOrder(placed.id)
      expect(order.status).toBe("canceled")
      same(order.filledQuantity, "2")
      same((yield* broker.positions)[0]?.quantity, "2")
    }).pipe(Effect.provide(paper(freshFile(), { ...base, fillLatency: "1 second", partialFills: 2 }))))

  it.effect("a buy whose price ran away before its fill is canceled rather than overdrawing cash", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const controls = yield* paperControls
      const updates = yield* watch
      // 9 × (100.05 + 0.01) + 1 = 901.54 fits in 1000 when placed
      const placed = yield* broker.placeOrder(request({ quantity: d("9") }))
      expect(placed.submittedAt).toBe(0)
      yield* controls.setQuotes([{ symbol: "AAPL", bid: "119.90", ask: "120.00", last: "119.95" }])
      yield* TestClock.adjust("1 second")
      const kinds = yield* drain(updates)
      expect(kinds.map((u) => u.kind)).toEqual(["accepted", "canceled"])
      // 9 × 120.06 + 1.09 = 1081.63
      expect(kinds[1]?.order.reason).toBe("insufficient cash at fill: 1081.63 needed, 1000 available")
      same((yield* broker.account).cash, "1000")
      expect(yield* broker.positions).toEqual([])
    }).pipe(Effect.provide(paper(freshFile(), { ...base, startingCash: "1000", fillLatency: "1 second" }))))

  it.effect("rejectionRate with a seed rejects the same orders on every run", () =>
    Effect.gen(function*() {
      const outcomes = (seed: string) =>
        Effect.gen(function*() {
          const broker = yield* Broker
          const out: Array<string> = []
          for (let i = 0; i < 24; i++) {
            const result = yield* Effect.result(
              broker.placeOrder(request({ clientOrderId: `r-${i}`, quantity: d("1") }))
            )
            if (Result.isSuccess(result)) out.push("accepted")
            else if (result.failure._tag === "OrderRejected") out.push(result.failure.reason)
            else out.push(result.failure._tag)
          }
          const open = yield* broker.openOrders
          return { out, stored: open.length }
        }).pipe(Effect.provide(paper(freshFile(), { ...base, rejectionRate: 0.5, seed, fillLatency: "1 day" })))

      const first = yield* outcomes("seed-1")
      const again = yield* outcomes("seed-1")
      const other = yield* outcomes("seed-2")
      expect(again).toEqual(first)
      expect(other.out).not.toEqual(first.out)
      const accepted = first.out.filter((o) => o === "accepted").length
      expect(accepted).toBeGreaterThan(4)
      expect(accepted).toBeLessThan(20)
      expect(first.stored).toBe(accepted) // a rejected order is not stored
      for (const o of first.out) {
        if (o !== "accepted") expect(o).toBe("rejected by the simulated venue (rejectionRate)")
      }
    }))

  it.effect("state persists across two layers on the same file: books, orders, ids, and resting orders resume", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const firstRun = Effect.gen(function*() {
        const broker = yield* Broker
        const updates = yield* watch
        yield* broker.placeOrder(request({ clientOrderId: "run1-buy", quantity: d("10") }))
        yield* Queue.take(updates)
        yield* Queue.take(updates)
        const resting = yield* broker.placeOrder(
          request({ clientOrderId: "run1-limit", type: "limit", limitPrice: d("95"), quantity: d("2") })
        )
        return resting.id
      }).pipe(Effect.provide(paper(file, base)))
      const restingId = yield* firstRun

      const secondRun = Effect.gen(function*() {
        const broker = yield* Broker
        const controls = yield* paperControls
        const updates = yield* watch
        // the starting cash of an existing account is ignored
        const account = yield* broker.account
        same(account.cash, "8998.40")
        same(account.buyingPower, d("8998.40").minus("191.02").toFixed()) // 2 × (95 + 0.01) + 1
        const positions = yield* broker.positions
        expect(positions.map((p) => [p.symbol, format(p.quantity)])).toEqual([["AAPL", "10"]])
        same((yield* controls.books).positions[0]?.averageCost, "100.16")
        expect((yield* broker.getOrderByClientId("run1-buy")).status).toBe("filled")
        expect((yield* broker.openOrders).map((o) => o.id)).toEqual([restingId])
        // client order ids stay used across runs; order ids continue
        const reused = yield* rejection(broker.placeOrder(request({ clientOrderId: "run1-buy" })))
        expect(reused).toContain("client order id run1-buy was already used")
        const next = yield* broker.placeOrder(request({ clientOrderId: "run2-buy", quantity: d("1") }))
        expect(next.id).toBe("paper-test-3")
        yield* Queue.take(updates)
        yield* Queue.take(updates)
        // the resting order from the first run fills when the market reaches it
        yield* controls.setQuotes([{ symbol: "AAPL", bid: "94.90", ask: "94.95", last: "94.92" }])
        const fill = yield* Queue.take(updates)
        expect(fill.kind).toBe("fill")
        expect(fill.order.id).toBe(restingId)
        same(fill.fill?.price, "95") // 94.95 × 1.0005 = 94.998.. → 95.00, within the limit
        same((yield* broker.positions)[0]?.quantity, "13")
      }).pipe(Effect.provide(paper(file, { ...base, startingCash: "1" })))
      yield* secondRun

      // the rows are plain portable text
      const rows = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ cash: string; order_seq: number }>`SELECT cash, order_seq FROM paper_accounts`
      }).pipe(Effect.provide(database(file)))
      // 8998.40 − (100.05 + 1.01) − (2 × 95 + 1.02)
      expect(rows).toEqual([{ cash: "8706.32", order_seq: 3 }])
    }))

  it.effect("books locked past the busy timeout: placeOrder is RateLimited and stores nothing; once free, the same id is placed", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* Effect.gen(function*() {
        const broker = yield* Broker
        const refused = yield* Effect.scoped(Effect.andThen(
          holdBooks(file),
          Effect.flip(broker.placeOrder(request({ clientOrderId: "locked-1" })))
        ))
        expect(refused).toMatchObject({ _tag: "RateLimited", retryAfterMillis: LOCKED_BOOKS_RETRY_MILLIS })
        expect((yield* Effect.flip(broker.getOrderByClientId("locked-1")))._tag).toBe("OrderNotFound")
        const placed = yield* broker.placeOrder(request({ clientOrderId: "locked-1" }))
        // the refused attempt used no order number
        expect(placed.id).toBe("paper-test-1")
        expect(placed.status).toBe("accepted")
      }).pipe(Effect.provide(impatient(file, base)))
    }))

  it.effect("a fill that finds the books locked is tried again after a pause, and fills once they are free", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* Effect.gen(function*() {
        const broker = yield* Broker
        const updates = yield* watch
        const placed = yield* broker.placeOrder(request({ quantity: d("1") }))
        yield* Queue.take(updates)
        yield* Effect.scoped(Effect.gen(function*() {
          yield* holdBooks(file)
          yield* TestClock.adjust("1 second")
          expect(yield* drain(updates)).toEqual([])
        }))
        expect((yield* broker.getOrder(placed.id)).status).toBe("accepted")
        yield* TestClock.adjust(LOCKED_BOOKS_RETRY_MILLIS)
        const fill = yield* Queue.take(updates)
        expect(fill.kind).toBe("fill")
        same(fill.order.filledQuantity, "1")
      }).pipe(Effect.provide(impatient(file, { ...base, fillLatency: "1 second" })))
    }))

  it.effect("a closed market reports it, accepts orders and fills them only once it opens", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const controls = yield* paperControls
      const updates = yield* watch
      yield* TestClock.adjust("10 seconds")
      const clock = yield* broker.clock
      expect(clock.isOpen).toBe(false)
      expect(clock.nextClose).toEqual(Option.some(10_000))
      // Closed by the controls, it opens only when told to: no next open is known.
      expect(clock.nextOpen).toEqual(Option.none())
      yield* broker.placeOrder(request({ quantity: d("1") }))
      yield* TestClock.adjust("1 day")
      expect((yield* drain(updates)).map((u) => u.kind)).toEqual(["accepted"])
      yield* controls.setMarketOpen(true)
      expect((yield* broker.clock).isOpen).toBe(true)
      expect((yield* Queue.take(updates)).kind).toBe("fill")
    }).pipe(Effect.provide(paper(freshFile(), { ...base, marketOpen: "never" }))))

  it.effect("on NYSE's calendar: an order of a Saturday waits, fills at Monday's open; the clock tells the session", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const updates = yield* watch
      // Saturday 5 December 2026, 10:00 in New York (EST).
      yield* TestClock.setTime(Date.parse("2026-12-05T15:00:00Z"))
      const saturday = yield* broker.clock
      expect(saturday.isOpen).toBe(false)
      expect(saturday.nextOpen).toEqual(Option.some(Date.parse("2026-12-07T14:30:00Z")))
      yield* broker.placeOrder(request({ quantity: d("1") }))
      yield* TestClock.adjust("1 day")
      expect((yield* drain(updates)).map((u) => u.kind)).toEqual(["accepted"])
      // Monday 09:30 New York: the session opens and the waiting order fills.
      yield* TestClock.setTime(Date.parse("2026-12-07T14:30:00Z"))
      expect((yield* Queue.take(updates)).kind).toBe("fill")
      const monday = yield* broker.clock
      expect(monday.isOpen).toBe(true)
      expect(monday.nextClose).toEqual(Option.some(Date.parse("2026-12-07T21:00:00Z")))
      // Christmas Eve closes at 13:00; Christmas Day is a holiday.
      yield* TestClock.setTime(Date.parse("2026-12-24T18:30:00Z"))
      expect((yield* broker.clock).isOpen).toBe(false)
      expect((yield* broker.clock).nextOpen).toEqual(Option.some(Date.parse("2026-12-28T14:30:00Z")))
    }).pipe(Effect.provide(paper(freshFile(), { ...base, marketOpen: "calendar" }))))

  it.effect("quotes from a JSON file and from a CSV file; unknown symbols are left out", () =>
    Effect.gen(function*() {
      const dir = Path.join(tmpRoot, `quotes-${files.next()}`)
      Fs.mkdirSync(dir, { recursive: true })
      const json = Path.join(dir, "quotes.json")
      Fs.writeFileSync(
        json,
        `[{"symbol":"VTI","bid":250.10,"ask":"250.20","last":250.15},{"symbol":"BND","bid":"72.01","ask":"72.03"}]`
      )
      const csv = Path.join(dir, "quotes.csv")
      Fs.writeFileSync(csv, "symbol,bid,ask,last\nVTI,250.10,250.20,250.15\nBND,72.01,72.03,\n")
      const read = (path: string) =>
        Effect.gen(function*() {
          const broker = yield* Broker
          return (yield* broker.quotes(["VTI", "BND", "NOPE"])).map((q) => ({
            symbol: q.symbol,
            bid: q.bid?.toFixed(),
            ask: q.ask?.toFixed(),
            last: q.last?.toFixed()
          }))
        }).pipe(Effect.provide(paper(freshFile(), { ...base, quotes: { kind: "file", path } })))
      const expected = [
        { symbol: "VTI", bid: "250.1", ask: "250.2", last: "250.15" },
        { symbol: "BND", bid: "72.01", ask: "72.03", last: undefined }
      ]
      expect(yield* read(json)).toEqual(expected)
      expect(yield* read(csv)).toEqual(expected)

      Fs.writeFileSync(csv, "symbol,bid,ask,last\nVTI,abc,250.20,250.15\n")
      const error = yield* Effect.flip(read(csv))
      assert.strictEqual(error._tag, "VenueConfigError")
      expect((error as VenueConfigError).message).toContain("quotes[0].bid")
    }))

  it.effect("a seeded random walk is reproducible, moves per quotes() call, and stays on the cent grid", () =>
    Effect.gen(function*() {
      const walk = (seed: string) =>
        Effect.gen(function*() {
          const broker = yield* Broker
          const seen: Array<string> = []
          for (let i = 0; i < 6; i++) {
            for (const q of yield* broker.quotes(["AAA", "BBB"])) {
              seen.push(`${q.symbol} ${q.bid!.toFixed(2)} ${q.ask!.toFixed(2)} ${q.last!.toFixed(2)}`)
              assert.isTrue(q.bid!.lt(q.ask!))
              for (const price of [q.bid!, q.ask!, q.last!]) expect(price.eq(price.round(2))).toBe(true)
            }
          }
          return seen
        }).pipe(Effect.provide(paper(freshFile(), {
          ...base,
          quotes: { kind: "random-walk", seed, start: { AAA: "100.00", BBB: "20.00" }, volatilityBps: 50 }
        })))
      const first = yield* walk("walk-1")
      expect(yield* walk("walk-1")).toEqual(first)
      expect(yield* walk("walk-2")).not.toEqual(first)
      const aaa = first.filter((line) => line.startsWith("AAA"))
      expect(new Set(aaa).size).toBeGreaterThan(1)
    }))

  it.effect("a market order on a random walk fills at the quote last returned, slipped", () =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const updates = yield* watch
      const [quote] = yield* broker.quotes(["AAA"])
      yield* broker.placeOrder(request({ symbol: "AAA", quantity: d("1") }))
      yield* Queue.take(updates)
      const fill = yield* Queue.take(updates)
      same(fill.fill?.price, quote!.ask!.times("1.0005").round(2, Decimal.roundUp).toFixed())
    }).pipe(Effect.provide(paper(freshFile(), {
      ...base,
      quotes: { kind: "random-walk", seed: 7, start: { AAA: "50.00" }, volatilityBps: 100, spreadBps: 20 }
    }))))

  it.effect("an invalid config fails the layer with VenueConfigError", () =>
    Effect.gen(function*() {
      const fail = (config: Paper.PaperConfig) => Effect.flip(Effect.provide(Effect.void, paper(freshFile(), config)))
      const messages = [
        yield* fail({ ...base, startingCash: "lots" }),
        yield* fail({ ...base, partialFills: 0 }),
        yield* fail({ ...base, rejectionRate: 2 }),
        yield* fail({ ...base, quotes: { kind: "file", path: Path.join(tmpRoot, "missing.json") } })
      ].map((e) => e.message)
      expect(messages[0]).toContain("startingCash")
      expect(messages[1]).toContain("partialFills")
      expect(messages[2]).toContain("rejectionRate")
      expect(messages[3]).toContain("cannot read quote file")
    }))
})
