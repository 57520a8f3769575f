/**
 * The rebalanceAccount program end to end: the real SQLite Store on a temp file, the
 * paper broker on the same database, and a Notifier that records its summaries. Time is
 * the TestClock: the program is forked and the clock moved until it finishes.
 *
 * Market used throughout (paper: slippage 10 bp, commission 1 per order):
 *   VTI bid 199.90 / ask 200.10  → buys fill at 200.10 × 1.001 = 200.3001 → 200.31
 *   BND bid   9.99 / ask  10.01  → buys fill at  10.01 × 1.001 =  10.02001 → 10.03,
 *                                  sells at 9.99 × 0.999 = 9.98001 → 9.98
 * After `seedAndDrift` moves it: VTI bid 219.90 / ask 220.10 (mid 220) → sells fill at 219.6801 → 219.68.
 */
import { afterAll, assert, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { Books, Broker, OrderRejected } from "../../../src/effects/Broker.ts"
import * as Faults from "../../../src/effects/broker/faults/layer.ts"
import * as Paper from "../../../src/effects/broker/paper/layer.ts"
import { RunStep, Store, StoreError } from "../../../src/effects/Store.ts"
import { Decimal, format } from "../../../src/kernel/decimal.ts"
import { CLIENT_ORDER_ID_LENGTH } from "../../../src/programs/run/ids.ts"
import type { RunRequest } from "../../../src/programs/run/rebalanceAccount.ts"
import type { PlanJson } from "../../support/cli.ts"
import {
  advance,
  drive,
  finish,
  programLayer,
  type RunInput,
  runRequest,
  start,
  Summaries,
  tempFiles
} from "../../support/program.ts"

const files = tempFiles("keel-program-test-")
afterAll(files.cleanup)

const ACCOUNT = "acct"

const QUOTES = [
  { symbol: "VTI", bid: "199.90", ask: "200.10", last: "200.00" },
  { symbol: "BND", bid: "9.99", ask: "10.01", last: "10.00" }
]
const VTI_UP = { symbol: "VTI", bid: "219.90", ask: "220.10", last: "220.00" }
const QUOTES_UP = [VTI_UP, QUOTES[1]!]

const config = (overrides: Partial<Paper.PaperConfig> = {}): Paper.PaperConfig => ({
  account: ACCOUNT,
  startingCash: "10000",
  quotes: { kind: "static", quotes: QUOTES },
  slippageBps: 10,
  commission: { perOrder: "1" },
  ...overrides
})

/** The program's request; `targets` and `policy` are given as keel.yaml gives them, and validated here. */
const request = (overrides: Partial<RunInput> = {}): RunRequest =>
  runRequest({
    account: ACCOUNT,
    targets: { VTI: "0.5", BND: "0.3" },
    policy: {},
    execute: true,
    ignoreMarketHours: false,
    onOpenOrders: "abort",
    fillTimeout: "60 seconds",
    pollInterval: "5 seconds",
    ...overrides
  })

/** The account after `seedAndDrift`: 40 VTI, 99 BND, cash 992.63; equity 10782.63. */
const DRIFTED = request({
  targets: { VTI: "0.5", BND: "0.5" },
  policy: { cashReserve: "0.02", buyPriceBuffer: "0.002" }
})
/** Sells both symbols (BND 99 → 54, VTI 40 → 15) and buys nothing. */
const SELL_BOTH = request({ targets: { VTI: "0.3", BND: "0.05" } })

/** Provides a layer built afresh (`local`: nothing memoised is shared with another build, e.g. after a "restart"). */
const withLayer = <A, E, R, ROut, E2>(
  effect: Effect.Effect<A, E, R>,
  layer: Layer.Layer<ROut, E2, never>
): Effect.Effect<A, E | E2, Exclude<R, ROut>> => Effect.provide(effect, layer, { local: true })

/** The Broker it is given, as a venue whose client order ids may be at most `length` characters. */
const shorterIds = (length: number) =>
  Layer.effect(Broker)(
    Effect.gen(function*() {
      const broker = yield* Broker
      return { ...broker, capabilities: { ...broker.capabilities, clientOrderIdLength: length } }
    })
  )

/** The Broker it is given, whose `openOrders` calls fail: the faults are armed just before each. */
const openOrdersFail = Layer.effect(Broker)(
  Effect.gen(function*() {
    const broker = yield* Broker
    const faults = yield* Faults.FaultControls
    const openOrders = Effect.andThen(faults.failNextCalls(1, "connection reset by peer"), broker.openOrders)
    return { ...broker, openOrders }
  })
)

const d = (text: string): Decimal => new Decimal(text)

/** Exact decimal equality, whatever the notation. */
const same = (actual: Decimal | undefined, expected: string, what = "value") => {
  assert.isDefined(actual, `${what}: expected ${expected}, got nothing`)
  assert.isTrue(
    actual.eq(expected),
    `${what}: expected ${expected}, got ${actual === undefined ? "nothing" : format(actual)}`
  )
}

/** Decimals → text, recursively, so stored rows compare by exact value. */
const plain = (value: unknown): unknown => {
  if (value instanceof Decimal) return format(value)
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  }
  return value
}

/** Everything the Store holds about one run. */
const stored = (runId: string) =>
  Effect.gen(function*() {
    const store = yield* Store
    const run = yield* store.getRun(runId)
    assert.isTrue(Option.isSome(run), `run ${runId} is not in the store`)
    const plans = yield* store.plans(runId)
    return {
      run: Option.getOrThrow(run),
      steps: yield* store.steps(runId),
      intents: yield* store.intents(runId),
      fills: yield* store.fills(runId),
      accounts: yield* store.accounts(runId),
      plans: plans.map((p) => ({ stage: p.stage, plan: JSON.parse(p.json) as PlanJson }))
    }
  })

const held = Effect.gen(function*() {
  const broker = yield* Broker
  return (yield* broker.positions).map((p) => [p.symbol, format(p.quantity)])
})

const summaries = Effect.gen(function*() {
  return yield* Ref.get(yield* Summaries)
})

/** Fails unless the broker has no order with this id. */
const noSuchOrder = (id: string) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const error = yield* Effect.flip(broker.getOrder(id))
    expect(error._tag).toBe("OrderNotFound")
  })

const ordersOf = (plan: PlanJson) => plan.orders.map((o) => `${o.side} ${o.quantity} ${o.symbol} @ ${o.price}`)

/**
 * Buys 40 VTI and 99 BND from 10000 cash (fills 40 × 200.31 + 1 and 99 × 10.03 + 1,
 * leaving 992.63), then moves VTI to 220 so the account drifts to ~82% VTI.
 */
const seedAndDrift = Effect.gen(function*() {
  const seeded = yield* drive(request({ targets: { VTI: "0.8", BND: "0.1" } }))
  expect(seeded.run.status).toBe("completed")
  expect(yield* held).toEqual([["BND", "99"], ["VTI", "40"]])
  same((yield* (yield* Books).books).cash, "992.63", "cash after seeding")
  yield* (yield* Paper.PaperMarket).setQuotes([VTI_UP])
  return seeded
})

/** The default run without any fault, on its own account: the broker calls it makes and where it ends. */
const faultless = Effect.suspend(() =>
  withLayer(
    Effect.gen(function*() {
      const outcome = yield* drive(request())
      expect(outcome.run.status).toBe("completed")
      return { calls: yield* (yield* Faults.FaultControls).calls, held: yield* held }
    }),
    programLayer(files.freshFile(), config())
  )
)

/** Drifted holdings, the market closed, and a run whose two sells wait until it times out. */
const timedOutWithOpenSells = Effect.gen(function*() {
  yield* seedAndDrift
  yield* (yield* Paper.PaperMarket).setMarketOpen(false)
  return yield* drive({ ...SELL_BOTH, ignoreMarketHours: true })
})

/** An executed run that completes reaches every step, in order. */
const ALL_STEPS = RunStep.literals

describe("rebalanceAccount (paper broker, SQLite store, TestClock)", () => {
  it.effect(
    "1. a full rebalance from cash completes; positions equal the re-planned buys; intents, fills, " +
      "plans, steps and one summary are stored",
    () =>
      withLayer(
        Effect.gen(function*() {
          const outcome = yield* drive(request())
          expect(outcome.run.status).toBe("completed")
          expect(outcome.run.step).toBe("done")
          expect(outcome.run.reason).toBeUndefined()
          expect(outcome.discrepancies).toEqual([])

          const s = yield* stored(outcome.run.id)
          expect(s.run).toEqual(outcome.run)
          expect(s.steps.map((x) => x.step)).toEqual(ALL_STEPS)
          expect(s.steps.map((x) => x.seq)).toEqual(ALL_STEPS.map((_, i) => i + 1))

          // Budget 10000 − 2000 (cash target); 300 BND + 25 VTI would cost 8005.50, so BND is trimmed to 299.
          expect(s.plans.map((p) => p.stage)).toEqual(["plan", "buy-replan"])
          const replan = s.plans[1]!.plan
          expect(ordersOf(replan)).toEqual(["buy 299 BND @ 10.01", "buy 25 VTI @ 200.1"])
          expect(replan.cash.before).toBe("10000")

          // Final positions are exactly the re-planned buys (nothing was held before).
          const buys = outcome.buys?.orders.orders ?? []
          expect(yield* held).toEqual(buys.map((o) => [o.symbol, format(o.quantity)]))
          expect(yield* held).toEqual([["BND", "299"], ["VTI", "25"]])

          const broker = yield* Broker
          expect(s.intents.map((i) => [i.phase, i.side, i.symbol, format(i.quantity), i.status])).toEqual([
            ["buy", "buy", "BND", "299", "filled"],
            ["buy", "buy", "VTI", "25", "filled"]
          ])
          for (const intent of s.intents) {
            same(intent.filledQuantity, format(intent.quantity), `${intent.symbol} filled quantity`)
            const order = yield* broker.getOrderByClientId(intent.clientOrderId)
            expect(intent.brokerOrderId).toBe(order.id)
            expect(order.status).toBe("filled")
          }
          same(s.intents[0]!.averageFillPrice, "10.03")
          same(s.intents[1]!.averageFillPrice, "200.31")
          expect(plain(s.fills.map((f) => [f.clientOrderId, f.kind, f.quantity, f.price, f.commission]))).toEqual([
            [s.intents[0]!.clientOrderId, "fill", "299", "10.03", "1"],
            [s.intents[1]!.clientOrderId, "fill", "25", "200.31", "1"]
          ])

          // 10000 − (299 × 10.03 + 1) − (25 × 200.31 + 1) = 1991.28
          same((yield* (yield* Books).books).cash, "1991.28", "broker cash")
          expect(plain(s.accounts.map((a) => [a.stage, a.cash, a.positions]))).toEqual([
            ["start", "10000", []],
            ["after-sells", "10000", []],
            ["final", "1991.28", [{ symbol: "BND", quantity: "299" }, { symbol: "VTI", quantity: "25" }]]
          ])
          expect(yield* broker.openOrders).toEqual([])

          const sent = yield* summaries
          expect(sent).toHaveLength(1)
          expect(sent[0]).toMatchObject({
            runId: outcome.run.id,
            account: ACCOUNT,
            mode: "execute",
            status: "completed",
            step: "done",
            orders: { placed: 2, filled: 2, failed: 0 },
            cash: { before: "10000", after: "1991.28" },
            errors: {}
          })
          expect(sent[0]).toEqual(outcome.summary)
        }),
        programLayer(files.freshFile(), config())
      )
  )

  it.effect("1b. with the update stream lost, fills found by polling are stored once each, at the order's average fill price", () =>
    withLayer(
      Effect.gen(function*() {
        const broker = yield* Broker
        // The same paper venue, but its update stream never delivers (a dropped socket).
        const outcome = yield* drive(request(), { step: "1 second" }).pipe(
          Effect.provideService(Broker, { ...broker, updates: Stream.never })
        )
        expect(outcome.run.status).toBe("completed")
        const s = yield* stored(outcome.run.id)
        expect(s.intents.map((i) => i.status)).toEqual(["filled", "filled"])
        // One fill row per order, for its whole quantity, at its average price; commission is
        // not known to a poll, so it is booked as 0.
        expect(plain(s.fills.map((f) => [f.clientOrderId, f.kind, f.quantity, f.price, f.commission]))).toEqual(
          s.intents.map((i) => [i.clientOrderId, "fill", format(i.filledQuantity), format(i.averageFillPrice!), "0"])
        )
      }),
      programLayer(files.freshFile(), config({ fillLatency: "2 seconds", partialFills: 2 }))
    ))

  it.effect("1c. a fill row the Store refuses once is saved by the next poll: every fill is stored exactly once", () =>
    withLayer(
      Effect.gen(function*() {
        const broker = yield* Broker
        const store = yield* Store
        let refusals = 1
        const flaky = {
          ...store,
          bookFill: (...args: Parameters<typeof store.bookFill>) =>
            refusals-- > 0
              ? Effect.fail(new StoreError({ operation: "bookFill", message: "disk full (test)" }))
              : store.bookFill(...args)
        }
        const outcome = yield* drive(request(), { step: "1 second" }).pipe(
          Effect.provideService(Broker, { ...broker, updates: Stream.never }),
          Effect.provideService(Store, flaky)
        )
        expect(refusals).toBeLessThan(0)
        expect(outcome.run.status).toBe("completed")
        const s = yield* stored(outcome.run.id)
        expect(s.intents.map((i) => i.status)).toEqual(["filled", "filled"])
        // The refused row (the first order's) comes later, on the next poll: compare as sets.
        const byId = (rows: ReadonlyArray<readonly [string, string]>) => [...rows].sort(([a], [b]) => (a < b ? -1 : 1))
        expect(byId(s.fills.map((f) => [f.clientOrderId, format(f.quantity)]))).toEqual(
          byId(s.intents.map((i) => [i.clientOrderId, format(i.filledQuantity)]))
        )
      }),
      programLayer(files.freshFile(), config({ fillLatency: "2 seconds" }))
    ))

  it.effect("2. from drifted holdings: sells first, then buys sized from the cash the sells really left, never below the reserve", () =>
    withLayer(
      Effect.gen(function*() {
        yield* seedAndDrift
        const outcome = yield* drive(DRIFTED)
        expect(outcome.run.status).toBe("completed")
        expect(outcome.discrepancies).toEqual([])
        const s = yield* stored(outcome.run.id)
        expect(s.steps.map((x) => x.step)).toEqual(ALL_STEPS)

        // Sell first: the sell intent precedes the buy, and the buy was created only after the sell's fill.
        expect(s.intents.map((i) => [i.phase, i.side, i.symbol, format(i.quantity), i.status])).toEqual([
          ["sell", "sell", "VTI", "16", "filled"],
          ["buy", "buy", "BND", "427", "filled"]
        ])
        const [sellFill, buyFill] = s.fills
        expect(plain([sellFill?.symbol, sellFill?.quantity, sellFill?.price, sellFill?.commission])).toEqual([
          "VTI",
          "16",
          "219.68",
          "1"
        ])
        expect(plain([buyFill?.symbol, buyFill?.quantity, buyFill?.price, buyFill?.commission])).toEqual([
          "BND",
          "427",
          "10.03",
          "1"
        ])
        expect(sellFill!.at).toBeLessThanOrEqual(s.intents[1]!.createdAt)
        expect(sellFill!.at).toBeGreaterThan(s.intents[0]!.createdAt) // fillLatency 3 s: it really waited
        const replanStep = s.steps.find((x) => x.step === "replan-buys")!
        expect(replanStep.at).toBeGreaterThanOrEqual(sellFill!.at)

        // The cash the sells really left: 992.63 + 16 × 219.68 − 1 = 4506.51 (the plan assumed 16 × 219.90, no commission).
        const start = s.accounts.find((a) => a.stage === "start")!
        const afterSells = s.accounts.find((a) => a.stage === "after-sells")!
        same(start.cash, "992.63")
        same(
          afterSells.cash,
          start.cash.plus(sellFill!.quantity.times(sellFill!.price)).minus(sellFill!.commission).toFixed(),
          "after-sells cash"
        )
        same(afterSells.cash, "4506.51")

        const plan = s.plans.find((p) => p.stage === "plan")!.plan
        const replan = s.plans.find((p) => p.stage === "buy-replan")!.plan
        expect(ordersOf(plan)).toEqual(["sell 16 VTI @ 219.9", "buy 428 BND @ 10.03002"])
        expect(replan.cash.before).toBe("4506.51")
        expect(ordersOf(replan)).toEqual(["buy 427 BND @ 10.03002"])
        // The first plan's 428 would have cost 428 × 10.03 + 1 = 4293.84, leaving 212.67: below the reserve.
        expect(d("4506.51").minus(d("428").times("10.03")).minus("1").lt(replan.cash.reserve)).toBe(true)

        // Cash never below the reserve of the plan in force.
        same(s.accounts.find((a) => a.stage === "final")!.cash, "222.7")
        for (const a of s.accounts) {
          const reserve = a.stage === "start" ? plan.cash.reserve : replan.cash.reserve
          assert.isTrue(a.cash.gte(reserve), `${a.stage} cash ${format(a.cash)} is below the reserve ${reserve}`)
        }
        expect(plan.cash.reserve).toBe("215.6526") // 0.02 × 10782.63
        expect(replan.cash.reserve).toBe("215.5302") // 0.02 × 10776.51
        expect(yield* held).toEqual([["BND", "526"], ["VTI", "24"]])
        const sent = yield* summaries
        expect(sent.at(-1)).toMatchObject({
          status: "completed",
          orders: { placed: 2, filled: 2, failed: 0 },
          cash: { before: "992.63", after: "222.7" }
        })
      }),
      programLayer(files.freshFile(), config({ fillLatency: "3 seconds" }))
    ))

  it.effect("3. sells that never fill time the run out at sell-wait: no buy intents, every sell stored with its broker id", () =>
    withLayer(
      Effect.gen(function*() {
        const outcome = yield* timedOutWithOpenSells
        expect(outcome.run.status).toBe("timed_out")
        expect(outcome.run.step).toBe("sell-wait")
        expect(outcome.run.reason).toBe("2 sell order(s) not finished after 1m; no buys placed")
        // The fill timeout (1m), to within the harness's clock step (1 s): the run reaches its wait
        // after some I/O, not always before the first step.
        const waited = outcome.run.finishedAt! - outcome.run.startedAt
        expect(waited).toBeGreaterThanOrEqual(60_000)
        expect(waited).toBeLessThanOrEqual(61_000)

        const s = yield* stored(outcome.run.id)
        expect(s.run).toEqual(outcome.run)
        expect(s.steps.map((x) => x.step)).toEqual(ALL_STEPS.slice(0, 7))
        expect(s.plans.map((p) => p.stage)).toEqual(["plan"])
        expect(s.intents.map((i) => [i.phase, i.side, i.symbol, format(i.quantity), i.status])).toEqual([
          ["sell", "sell", "BND", "45", "accepted"],
          ["sell", "sell", "VTI", "25", "accepted"]
        ])
        expect(s.intents.filter((i) => i.phase === "buy")).toEqual([])
        expect(s.fills).toEqual([])

        // Nothing lost: the broker's open orders are exactly the stored intents, id for id.
        const broker = yield* Broker
        const open = yield* broker.openOrders
        expect(open.map((o) => [o.clientOrderId, o.id]).sort()).toEqual(
          s.intents.map((i) => [i.clientOrderId, i.brokerOrderId]).sort()
        )
        for (const intent of s.intents) assert.match(intent.brokerOrderId ?? "", /^paper-acct-\d+$/)

        expect(yield* held).toEqual([["BND", "99"], ["VTI", "40"]])
        same((yield* (yield* Books).books).cash, "992.63")
        expect(s.accounts.map((a) => a.stage)).toEqual(["start"])
        expect(outcome.summary).toMatchObject({
          status: "timed_out",
          step: "sell-wait",
          orders: { placed: 2, filled: 0, failed: 0 },
          errors: { timeout: 1 }
        })
        expect((yield* summaries).at(-1)).toEqual(outcome.summary)
      }),
      programLayer(files.freshFile(), config())
    ))

  // An execution reports only the broker's cash: a run that stops early (timed out, failed) must not
  // notify the plan's estimate ("992.63 → 6939.68" although nothing filled).
  it.effect("3b. a run that stopped before any fill reports the broker's real cash as cash after, not the plan's estimate", () =>
    withLayer(
      Effect.gen(function*() {
        const outcome = yield* timedOutWithOpenSells
        expect(outcome.run.status).toBe("timed_out")
        same((yield* (yield* Books).books).cash, "992.63")
        expect(outcome.summary.cash).toEqual({ before: "992.63", after: "992.63" })
      }),
      programLayer(files.freshFile(), config())
    ))

  it.effect("4. partial fills: three fills per order are recorded and the buys are re-planned from the real cash", () =>
    Effect.gen(function*() {
      const file = files.freshFile()
      yield* withLayer(seedAndDrift, programLayer(file, config()))
      // The same account, reopened with a venue that fills in three parts, 2 s apart.
      yield* withLayer(
        Effect.gen(function*() {
          const outcome = yield* drive(DRIFTED)
          expect(outcome.run.status).toBe("completed")
          expect(outcome.discrepancies).toEqual([])
          const s = yield* stored(outcome.run.id)
          const [sell, buy] = s.intents
          expect(plain(s.fills.map((f) => [f.clientOrderId, f.kind, f.quantity, f.price, f.commission]))).toEqual([
            [sell!.clientOrderId, "partial_fill", "5", "219.68", "1"],
            [sell!.clientOrderId, "partial_fill", "5", "219.68", "0"],
            [sell!.clientOrderId, "fill", "6", "219.68", "0"],
            [buy!.clientOrderId, "partial_fill", "142", "10.03", "1"],
            [buy!.clientOrderId, "partial_fill", "142", "10.03", "0"],
            [buy!.clientOrderId, "fill", "143", "10.03", "0"]
          ])
          // Chunks 2 s apart.
          expect(s.fills.map((f) => f.at - s.fills[0]!.at)).toEqual([0, 2000, 4000, 6000, 8000, 10000])
          for (const intent of s.intents) {
            expect(intent.status).toBe("filled")
            same(intent.filledQuantity, format(intent.quantity))
          }

          // Re-planned from the cash after the last sell chunk: start + Σ proceeds − Σ commission.
          const start = s.accounts.find((a) => a.stage === "start")!
          const afterSells = s.accounts.find((a) => a.stage === "after-sells")!
          const sellFills = s.fills.filter((f) => f.side === "sell")
          const expected = sellFills.reduce(
            (cash, f) => cash.plus(f.quantity.times(f.price)).minus(f.commission),
            start.cash
          )
          same(afterSells.cash, expected.toFixed(), "after-sells cash")
          same(afterSells.cash, "4506.51")
          const replan = s.plans.find((p) => p.stage === "buy-replan")!.plan
          expect(replan.cash.before).toBe("4506.51")
          expect(ordersOf(replan)).toEqual(["buy 427 BND @ 10.03002"])
          // The buy was sent only after the last sell chunk.
          expect(buy!.createdAt).toBeGreaterThanOrEqual(sellFills.at(-1)!.at)
          expect(yield* held).toEqual([["BND", "526"], ["VTI", "24"]])
          expect(outcome.summary.orders).toEqual({ placed: 2, filled: 2, failed: 0 })
        }),
        programLayer(
          file,
          config({ quotes: { kind: "static", quotes: QUOTES_UP }, partialFills: 3, fillLatency: "2 seconds" })
        )
      )
    }))

  it.effect(
    "5a. an order the venue rejects: intent rejected with the venue's reason, the run completes, the " +
      "summary counts it failed",
    () =>
      withLayer(
        Effect.gen(function*() {
          // With this seed the venue accepts the first order (BND) and rejects the second (VTI).
          const outcome = yield* drive(request())
          expect(outcome.run.status).toBe("completed")
          const s = yield* stored(outcome.run.id)
          expect(s.intents.map((i) => [i.symbol, i.status, i.reason])).toEqual([
            ["BND", "filled", undefined],
            ["VTI", "rejected", "rejected by the simulated venue (rejectionRate)"]
          ])
          expect(s.intents[1]!.brokerOrderId).toBeUndefined()
          expect(s.fills.map((f) => f.symbol)).toEqual(["BND"])
          expect(yield* held).toEqual([["BND", "299"]])
          expect(outcome.summary).toMatchObject({
            status: "completed",
            orders: { placed: 1, filled: 1, failed: 1 },
            errors: { rejected: 1 }
          })
          expect(outcome.summary.warnings).toContain(
            "VTI: buy rejected: rejected by the simulated venue (rejectionRate)"
          )
          expect((yield* summaries).at(-1)).toEqual(outcome.summary)
        }),
        programLayer(files.freshFile(), config({ rejectionRate: 0.5, seed: 2 }))
      )
  )

  it.effect("5b. a buy the slippage makes unaffordable is rejected with the broker's reason; the run still completes", () =>
    withLayer(
      Effect.gen(function*() {
        // 49 VTI at the ask 200.10 = 9804.90 fits 9805; at the fill price 200.31 plus 1 commission it needs 9816.19.
        const outcome = yield* drive(request({ targets: { VTI: "1" } }))
        expect(outcome.run.status).toBe("completed")
        const s = yield* stored(outcome.run.id)
        expect(s.intents.map((i) => [i.symbol, format(i.quantity), i.status, i.reason])).toEqual([
          ["VTI", "49", "rejected", "insufficient buying power: the order needs 9816.19, buying power is 9805"]
        ])
        expect(yield* held).toEqual([])
        same((yield* (yield* Books).books).cash, "9805")
        expect(outcome.summary.orders).toEqual({ placed: 0, filled: 0, failed: 1 })
        expect(outcome.summary.errors).toEqual({ rejected: 1 })
      }),
      programLayer(files.freshFile(), config({ startingCash: "9805" }))
    ))

  it.effect(
    "6. the broker connection fails after the sells: the run fails at replan-buys naming the error, " +
      "every order sent before is stored",
    () =>
      withLayer(
        Effect.gen(function*() {
          yield* seedAndDrift
          const store = yield* Store
          // pollInterval 30 s: nothing calls the broker while the sell waits out its 10 s latency.
          const fiber = yield* start({ ...DRIFTED, pollInterval: "30 seconds" })
          yield* advance("5 seconds")
          const waiting = (yield* store.listRuns(ACCOUNT, 10)).find((r) => r.status === "running")!
          expect([waiting.status, waiting.step]).toEqual(["running", "sell-wait"])
          yield* (yield* Faults.FaultControls).failNextCalls(1, "connection reset by peer")
          const outcome = yield* finish(fiber)

          expect(outcome.run.id).toBe(waiting.id)
          expect(outcome.run.status).toBe("failed")
          expect(outcome.run.step).toBe("replan-buys")
          expect(outcome.run.reason).toBe("snapshot: BrokerConnectionError: connection reset by peer")
          const s = yield* stored(outcome.run.id)
          expect(s.run).toEqual(outcome.run)
          expect(s.steps.map((x) => x.step)).toEqual(ALL_STEPS.slice(0, 8))
          const broker = yield* Broker
          expect(s.intents.map((i) => [i.phase, i.symbol, format(i.quantity), i.status])).toEqual([[
            "sell",
            "VTI",
            "16",
            "filled"
          ]])
          expect(s.intents[0]!.brokerOrderId).toBe((yield* broker.getOrderByClientId(s.intents[0]!.clientOrderId)).id)
          expect(plain(s.fills.map((f) => [f.symbol, f.quantity, f.price]))).toEqual([["VTI", "16", "219.68"]])
          expect(s.plans.map((p) => p.stage)).toEqual(["plan"])
          expect(s.accounts.map((a) => a.stage)).toEqual(["start"])
          expect(yield* held).toEqual([["BND", "99"], ["VTI", "24"]])
          expect(yield* broker.openOrders).toEqual([])
          expect(outcome.summary).toMatchObject({
            status: "failed",
            step: "replan-buys",
            orders: { placed: 1, filled: 1, failed: 0 },
            errors: { broker: 1 }
          })
          expect((yield* summaries).at(-1)).toEqual(outcome.summary)
        }),
        programLayer(files.freshFile(), config({ fillLatency: "10 seconds" }))
      )
  )

  it.effect("6b. the open orders cannot be read: the run fails at snapshot and stores no account", () =>
    withLayer(
      Effect.gen(function*() {
        const outcome = yield* drive(request())
        expect(outcome.run.status).toBe("failed")
        expect(outcome.run.step).toBe("snapshot")
        expect(outcome.run.reason).toBe("open orders: BrokerConnectionError: connection reset by peer")
        const s = yield* stored(outcome.run.id)
        expect(s.steps.map((x) => x.step)).toEqual(["load", "recover", "snapshot"])
        expect(s.accounts).toEqual([])
        expect(s.plans).toEqual([])
        expect(s.intents).toEqual([])
      }),
      openOrdersFail.pipe(Layer.provideMerge(programLayer(files.freshFile(), config())))
    ))

  it.effect("7a. open orders of an earlier run with onOpenOrders abort: aborted at recover, the orders left alone", () =>
    withLayer(
      Effect.gen(function*() {
        const first = yield* timedOutWithOpenSells
        const broker = yield* Broker
        const before = (yield* broker.openOrders).map((o) => o.id)
        expect(before).toHaveLength(2)

        const outcome = yield* drive({ ...SELL_BOTH, ignoreMarketHours: true, onOpenOrders: "abort" })
        expect(outcome.run.status).toBe("aborted")
        expect(outcome.run.step).toBe("recover")
        expect(outcome.run.reason).toBe(
          `2 open order(s) of earlier run ${first.run.id}; \`rebalance recover --account ${ACCOUNT}\` cancels them`
        )
        const s = yield* stored(outcome.run.id)
        expect(s.steps.map((x) => x.step)).toEqual(["load", "recover"])
        expect(s.intents).toEqual([])
        expect(s.plans).toEqual([])
        expect((yield* broker.openOrders).map((o) => o.id)).toEqual(before)
        expect(outcome.summary).toMatchObject({ status: "aborted", step: "recover", errors: { guard: 1 } })
        expect((yield* stored(first.run.id)).intents.map((i) => i.status)).toEqual(["accepted", "accepted"])
      }),
      programLayer(files.freshFile(), config())
    ))

  it.effect("7b. open orders of an earlier run with onOpenOrders cancel: recovery cancels and settles them, and the run proceeds", () =>
    withLayer(
      Effect.gen(function*() {
        const first = yield* timedOutWithOpenSells
        const broker = yield* Broker
        const old = (yield* stored(first.run.id)).intents.map((i) => i.brokerOrderId!)
        expect(old).toHaveLength(2)

        const fiber = yield* start({ ...SELL_BOTH, ignoreMarketHours: true, onOpenOrders: "cancel" })
        yield* advance("5 seconds")
        for (const id of old) {
          const order = yield* broker.getOrder(id)
          expect([order.status, order.reason]).toEqual(["canceled", "canceled by the client"])
        }
        // The new run's own sells now wait for the market; opening it lets them fill.
        const open = yield* broker.openOrders
        expect(open).toHaveLength(2)
        expect(open.some((o) => old.includes(o.id))).toBe(false)
        yield* (yield* Paper.PaperMarket).setMarketOpen(true)
        const outcome = yield* finish(fiber)

        expect(outcome.run.status).toBe("completed")
        const s = yield* stored(outcome.run.id)
        expect(s.steps.map((x) => x.step)).toEqual(ALL_STEPS)
        // Recovery cancelled them before the snapshot: the guards see none.
        expect(JSON.parse(s.steps[3]!.detail)).toEqual({ openOrders: 0 })
        expect((yield* stored(first.run.id)).intents.map((i) => i.status)).toEqual(["canceled", "canceled"])
        expect(s.intents.map((i) => [i.symbol, format(i.quantity), i.status])).toEqual([
          ["BND", "45", "filled"],
          ["VTI", "25", "filled"]
        ])
        expect(s.intents.map((i) => i.brokerOrderId).some((id) => old.includes(id!))).toBe(false)
        expect(outcome.summary.warnings).toContain(
          `run ${first.run.id} (timed_out at sell-wait) left orders unsettled; settled by ${outcome.run.id}: ` +
            "2 order(s) found at the venue, 0 fill(s) booked, 2 intent(s) closed, 2 open order(s) cancelled"
        )
        expect(yield* held).toEqual([["BND", "54"], ["VTI", "15"]])
        // 992.63 + (45 × 9.98 − 1) + (25 × 219.68 − 1) = 992.63 + 448.10 + 5491.00
        same((yield* (yield* Books).books).cash, "6931.73")
        expect(yield* broker.openOrders).toEqual([])
      }),
      programLayer(files.freshFile(), config())
    ))

  it.effect("8. a lost submit answer is settled by looking the order up: no second order, the intent ends with the broker's id", () =>
    Effect.gen(function*() {
      const baseline = yield* faultless
      yield* withLayer(
        Effect.gen(function*() {
          const controls = yield* Faults.FaultControls
          const broker = yield* Broker
          yield* controls.loseNextPlaceAnswers(1)
          const outcome = yield* drive(request())
          // Read before this test makes calls of its own.
          const calls = yield* controls.calls
          expect(outcome.run.status).toBe("completed")
          const s = yield* stored(outcome.run.id)
          // The first order sent (BND) is the one whose answer was lost.
          const lost = s.intents[0]!
          expect(lost.symbol).toBe("BND")
          const atBroker = yield* broker.getOrderByClientId(lost.clientOrderId)
          expect(lost.brokerOrderId).toBe(atBroker.id)
          expect(atBroker.id).toBe("paper-acct-1")
          expect(lost.status).toBe("filled")
          expect(s.intents.map((i) => i.status)).toEqual(["filled", "filled"])
          // Exactly two orders ever reached the venue, and one extra call was made: the look-up.
          expect(s.intents.map((i) => i.brokerOrderId)).toEqual(["paper-acct-1", "paper-acct-2"])
          yield* noSuchOrder("paper-acct-3")
          expect(calls).toBe(baseline.calls + 1)
          expect(yield* broker.openOrders).toEqual([])
          expect(yield* held).toEqual(baseline.held)
          expect(outcome.summary.orders).toEqual({ placed: 2, filled: 2, failed: 0 })
          expect(outcome.summary.warnings.filter((w) => /rejected/.test(w))).toEqual([])
        }),
        programLayer(files.freshFile(), config())
      )
    }))

  it.effect(
    "8b. a resend after a lost answer refused as a reused id is looked up again: the order is tracked, " +
      "never booked as rejected",
    () =>
      Effect.gen(function*() {
        const baseline = yield* faultless
        yield* withLayer(
          Effect.gen(function*() {
            const controls = yield* Faults.FaultControls
            yield* controls.loseNextPlaceAnswers(1)
            // The first lookup lags the venue: "no trace", so the program resends, which the
            // venue refuses (the id was used); the second lookup finds the order.
            yield* controls.missNextLookups(1)
            const outcome = yield* drive(request())
            const calls = yield* controls.calls
            expect(outcome.run.status).toBe("completed")
            const s = yield* stored(outcome.run.id)
            expect(s.intents.map((i) => [i.symbol, i.status, i.brokerOrderId])).toEqual([
              ["BND", "filled", "paper-acct-1"],
              ["VTI", "filled", "paper-acct-2"]
            ])
            yield* noSuchOrder("paper-acct-3")
            // Lookup, resend, second lookup.
            expect(calls).toBe(baseline.calls + 3)
            expect(yield* held).toEqual(baseline.held)
            expect(outcome.summary.orders).toEqual({ placed: 2, filled: 2, failed: 0 })
            expect(outcome.summary.warnings.filter((w) => /rejected/.test(w))).toEqual([])
          }),
          programLayer(files.freshFile(), config())
        )
      })
  )

  it.effect("8c. a refused resend whose order still cannot be found stops the run: the intent is unknown, nothing more is sent", () =>
    withLayer(
      Effect.gen(function*() {
        const controls = yield* Faults.FaultControls
        yield* controls.loseNextPlaceAnswers(1)
        yield* controls.missNextLookups(2)
        const outcome = yield* drive(request())
        expect([outcome.run.status, outcome.run.step]).toEqual(["failed", "buy-phase"])
        expect(outcome.run.reason).toMatch(
          /the resend after a lost answer was refused \(.*already used.*\) and the order cannot be found/
        )
        const s = yield* stored(outcome.run.id)
        expect(s.intents.map((i) => [i.symbol, i.status])).toEqual([["BND", "unknown"]])
        // The venue holds the first send only; the second symbol was never sent.
        yield* noSuchOrder("paper-acct-2")
      }),
      programLayer(files.freshFile(), config())
    ))

  it.effect("8d. fractional shares follow the venue: a symbol it trades whole is bought in whole shares, the rest in fractions", () =>
    withLayer(
      Effect.gen(function*() {
        const outcome = yield* drive(
          request({ targets: { VTI: "0.39", BND: "0.2555" }, policy: { shares: "fractional", quantityDecimals: 4 } })
        )
        expect(outcome.run.status).toBe("completed")
        const s = yield* stored(outcome.run.id)
        const quantity = (symbol: string) => s.intents.find((i) => i.symbol === symbol)!.quantity
        // VTI: 3900 / 200 (mid) = 19.5 ideal, whole: 19. BND: 2555 / 10 = 255.5, a fraction the venue takes.
        same(quantity("VTI"), "19", "VTI")
        same(quantity("BND"), "255.5", "BND")
        expect(s.intents.map((i) => i.status)).toEqual(["filled", "filled"])
        expect(outcome.summary.warnings).toContain("not fractionable at the venue, traded in whole shares: VTI")
      }),
      programLayer(files.freshFile(), config({ nonFractionable: ["VTI"] }))
    ))

  it.effect("9. a closed paper market aborts at guards unless ignoreMarketHours; with it the run proceeds", () =>
    withLayer(
      Effect.gen(function*() {
        const closed = yield* drive(request())
        expect(closed.run.status).toBe("aborted")
        expect(closed.run.step).toBe("guards")
        expect(closed.run.reason).toBe("the market is closed (next open never)")
        const s = yield* stored(closed.run.id)
        expect(s.steps.map((x) => x.step)).toEqual(["load", "recover", "snapshot", "guards"])
        expect(s.intents).toEqual([])
        expect(s.plans).toEqual([])
        yield* noSuchOrder("paper-acct-1")
        expect(closed.summary).toMatchObject({ status: "aborted", step: "guards", errors: { guard: 1 } })

        const fiber = yield* start(request({ ignoreMarketHours: true }))
        yield* advance("10 seconds")
        const store = yield* Store
        // Both runs start at the same instant: find the new one by id, not by order.
        const running = (yield* store.listRuns(ACCOUNT, 10)).find((r) => r.id !== closed.run.id)!
        expect([running.status, running.step]).toEqual(["running", "buy-wait"])
        expect((yield* store.intents(running.id)).map((i) => [i.symbol, i.status])).toEqual([
          ["BND", "accepted"],
          ["VTI", "accepted"]
        ])
        yield* (yield* Paper.PaperMarket).setMarketOpen(true)
        const proceeded = yield* finish(fiber)
        expect(proceeded.run.status).toBe("completed")
        expect(yield* held).toEqual([["BND", "299"], ["VTI", "25"]])
      }),
      programLayer(files.freshFile(), config({ marketOpen: "never" }))
    ))

  // As long as a symbol may be (32), so an id of a run (24 characters before the symbol) must be cut.
  const LONG_A = "VANGUARD.TOTAL.STOCK.MARKET.ETFA"
  const LONG_B = "VANGUARD.TOTAL.STOCK.MARKET.ETFB"

  it.effect("10. client order ids are at most 48 characters and unique per intent, long symbols included", () =>
    withLayer(
      Effect.gen(function*() {
        const first = yield* drive(request({ targets: { [LONG_A]: "0.3", [LONG_B]: "0.3", VTI: "0.2" } }))
        expect(first.run.status).toBe("completed")
        const second = yield* drive(request({ targets: { [LONG_A]: "0.1", [LONG_B]: "0.1", VTI: "0.1" } }))
        expect(second.run.status).toBe("completed")
        const ids: Array<string> = []
        for (const run of [first, second]) {
          const intents = (yield* stored(run.run.id)).intents
          expect(intents.map((i) => i.symbol).sort()).toEqual([LONG_A, LONG_B, "VTI"])
          for (const intent of intents) {
            expect(intent.clientOrderId.length).toBeLessThanOrEqual(CLIENT_ORDER_ID_LENGTH)
            expect(intent.clientOrderId.startsWith(`${run.run.id}-`)).toBe(true)
            expect(intent.status).toBe("filled")
            ids.push(intent.clientOrderId)
          }
        }
        expect(CLIENT_ORDER_ID_LENGTH).toBe(48)
        expect(ids).toHaveLength(6)
        expect(new Set(ids).size).toBe(6)
      }),
      programLayer(
        files.freshFile(),
        config({
          quotes: {
            kind: "static",
            quotes: [...QUOTES, { symbol: LONG_A, bid: "99.90", ask: "100.10", last: "100" }, {
              symbol: LONG_B,
              bid: "49.90",
              ask: "50.10",
              last: "50"
            }]
          }
        })
      )
    ))

  // Characters an id cannot hold are replaced, so a changed symbol carries a digest: "BRK B" and "BRK_B"
  // must not share an id (the second saveIntent would fail after the first order was sent).
  it.effect("10b. symbols that differ only in characters an id cannot hold still get distinct client order ids", () =>
    withLayer(
      Effect.gen(function*() {
        const outcome = yield* drive(request({ targets: { "BRK B": "0.3", BRK_B: "0.3" } })).pipe(Effect.orDie)
        expect(outcome.run.status).toBe("completed")
        const intents = (yield* stored(outcome.run.id)).intents
        expect(intents.map((i) => i.symbol).sort()).toEqual(["BRK B", "BRK_B"])
        expect(new Set(intents.map((i) => i.clientOrderId)).size).toBe(2)
      }),
      programLayer(
        files.freshFile(),
        config({
          quotes: {
            kind: "static",
            quotes: [...QUOTES, { symbol: "BRK B", bid: "9.99", ask: "10.01" }, {
              symbol: "BRK_B",
              bid: "9.99",
              ask: "10.01"
            }]
          }
        })
      )
    ))

  it.effect("10c. a venue that allows shorter client order ids than 48 gets ids within its limit, still one per intent", () =>
    withLayer(
      Effect.gen(function*() {
        const broker = yield* Broker
        expect(broker.capabilities.clientOrderIdLength).toBe(20)
        const first = yield* drive(request({ targets: { [LONG_A]: "0.3", VTI: "0.3", BND: "0.2" } }))
        const second = yield* drive(request({ targets: { [LONG_A]: "0.1", VTI: "0.1", BND: "0.1" } }))
        const ids: Array<string> = []
        for (const run of [first, second]) {
          expect(run.run.status).toBe("completed")
          for (const intent of (yield* stored(run.run.id)).intents) {
            expect(intent.clientOrderId.length).toBeLessThanOrEqual(20)
            expect(intent.status).toBe("filled")
            expect((yield* broker.getOrderByClientId(intent.clientOrderId)).symbol).toBe(intent.symbol)
            ids.push(intent.clientOrderId)
          }
        }
        expect(ids).toHaveLength(6)
        expect(new Set(ids).size).toBe(6)
      }),
      shorterIds(20).pipe(
        Layer.provideMerge(
          programLayer(
            files.freshFile(),
            config({ quotes: { kind: "static", quotes: [...QUOTES, { symbol: LONG_A, bid: "99.90", ask: "100.10" }] } })
          )
        )
      )
    ))

  it.effect("11. a preview stops after plan: the plan is stored, no intents, no broker orders", () =>
    withLayer(
      Effect.gen(function*() {
        const outcome = yield* drive(request({ execute: false }))
        expect(outcome.run.mode).toBe("preview")
        expect(outcome.run.status).toBe("completed")
        const s = yield* stored(outcome.run.id)
        expect(s.steps.map((x) => x.step)).toEqual(["load", "recover", "snapshot", "guards", "plan", "done"])
        expect(s.plans.map((p) => p.stage)).toEqual(["plan"])
        expect(ordersOf(s.plans[0]!.plan)).toEqual(["buy 299 BND @ 10.01", "buy 25 VTI @ 200.1"])
        expect(s.intents).toEqual([])
        expect(s.fills).toEqual([])
        expect(outcome.submitted).toEqual([])
        const broker = yield* Broker
        expect(yield* broker.openOrders).toEqual([])
        yield* noSuchOrder("paper-acct-1")
        expect(yield* held).toEqual([])
        same((yield* (yield* Books).books).cash, "10000")
        expect(outcome.summary).toMatchObject({
          mode: "preview",
          status: "completed",
          orders: { placed: 0, filled: 0, failed: 0 }
        })
        expect(yield* summaries).toHaveLength(1)
      }),
      programLayer(files.freshFile(), config())
    ))

  it.effect("12. runs survive a process restart: a fresh layer on the same file reads the runs, steps, intents and books back", () =>
    Effect.gen(function*() {
      const file = files.freshFile()
      const before = yield* withLayer(
        Effect.gen(function*() {
          const completed = yield* drive(request({ targets: { VTI: "0.8", BND: "0.1" } }))
          yield* (yield* Paper.PaperMarket).setQuotes([VTI_UP])
          yield* (yield* Paper.PaperMarket).setMarketOpen(false)
          const timedOut = yield* drive({ ...SELL_BOTH, ignoreMarketHours: true })
          expect([completed.run.status, timedOut.run.status]).toEqual(["completed", "timed_out"])
          return {
            completed: plain(yield* stored(completed.run.id)),
            timedOut: plain(yield* stored(timedOut.run.id)),
            ids: [completed.run.id, timedOut.run.id],
            held: yield* held,
            open: plain(yield* (yield* Broker).openOrders)
          }
        }),
        programLayer(file, config())
      )
      // A new SqliteClient, Store and paper broker on the same file, as after a restart.
      yield* withLayer(
        Effect.gen(function*() {
          const [completedId, timedOutId] = before.ids as [string, string]
          expect(plain(yield* stored(completedId))).toEqual(before.completed)
          expect(plain(yield* stored(timedOutId))).toEqual(before.timedOut)
          const runs = yield* (yield* Store).listRuns(ACCOUNT, 10)
          expect(runs.map((r) => [r.id, r.status, r.step])).toEqual([
            [timedOutId, "timed_out", "sell-wait"],
            [completedId, "completed", "done"]
          ])
          const again = yield* stored(timedOutId)
          expect(again.intents.map((i) => [i.symbol, i.status, i.brokerOrderId !== undefined])).toEqual([
            ["BND", "accepted", true],
            ["VTI", "accepted", true]
          ])
          // The paper broker continues the same books: positions and the open sells are still there.
          expect(yield* held).toEqual(before.held)
          expect(plain(yield* (yield* Broker).openOrders)).toEqual(before.open)
          expect(yield* summaries).toEqual([])
        }),
        programLayer(file, config({ quotes: { kind: "static", quotes: QUOTES_UP }, marketOpen: "never" }))
      )
    }))
})

describe("orders that are not Keel's, and sells the venue refuses", () => {
  /** A limit buy far below the market, placed by hand at the venue: it stays open. */
  const handPlaced = Effect.gen(function*() {
    return yield* (yield* Broker).placeOrder({
      clientOrderId: "my-gtc-1",
      symbol: "BND",
      side: "buy",
      quantity: new Decimal("100"),
      type: "limit",
      limitPrice: new Decimal("10"),
      timeInForce: "gtc"
    })
  })

  it.effect("an order placed outside Keel stops the run by default, untouched, and says which", () =>
    withLayer(
      Effect.gen(function*() {
        const outside = yield* handPlaced
        const outcome = yield* drive(request())
        expect(outcome.run).toMatchObject({ status: "aborted", step: "guards" })
        expect(outcome.run.reason).toBe(
          "1 open order(s) placed outside Keel (my-gtc-1): Keel leaves them alone; " +
            "set outsideOrders: reserve to rebalance around them"
        )
        expect((yield* (yield* Broker).openOrders).map((o) => o.id)).toEqual([outside.id])
        expect((yield* stored(outcome.run.id)).intents).toEqual([])
      }),
      programLayer(files.freshFile(), config())
    ))

  it.effect("with outsideOrders: reserve, the run plans around it: its cash is kept out of the plan, the order left alone", () =>
    withLayer(
      Effect.gen(function*() {
        const outside = yield* handPlaced
        const outcome = yield* drive({ ...request(), onOutsideOrders: "reserve" })
        expect(outcome.run.status).toBe("completed")
        // 10000 cash, of which the hand-placed buy holds 100 × 10.
        same(outcome.plan!.orders.cash.before, "9000")
        expect(outcome.summary.warnings).toContain(
          "1 open order(s) placed outside Keel (my-gtc-1) left alone: the cash and shares they hold are kept out of the plan"
        )
        const open = yield* (yield* Broker).openOrders
        expect(open.map((o) => [o.id, o.status])).toEqual([[outside.id, "accepted"]])
        // What the run bought never touched the cash the order holds.
        const books = yield* (yield* Books).books
        expect(books.cash.gte(new Decimal("1000"))).toBe(true)
      }),
      programLayer(files.freshFile(), config())
    ))

  it.effect("a planned sell the venue refuses leaves the account off its targets: the run is failed, never completed", () =>
    withLayer(
      Effect.gen(function*() {
        yield* seedAndDrift
        const broker = yield* Broker
        const refusing = {
          ...broker,
          placeOrder: (order: Parameters<typeof broker.placeOrder>[0]) =>
            order.side === "sell"
              ? Effect.fail(
                new OrderRejected({
                  clientOrderId: order.clientOrderId,
                  reason: "insufficient qty available for order"
                })
              )
              : broker.placeOrder(order)
        }
        const outcome = yield* drive(DRIFTED).pipe(Effect.provideService(Broker, refusing))
        expect(outcome.run.status).toBe("failed")
        expect(outcome.run.reason).toBe(
          "1 planned sell(s) refused by the venue (VTI): the account is not at its targets"
        )
        expect(outcome.summary).toMatchObject({ status: "failed", errors: { rejected: 1 } })
      }),
      programLayer(files.freshFile(), config())
    ))
})

describe("symbols the venue will not trade", () => {
  it.effect("are left out of the plan as unpriced, with a warning naming them; nothing is ordered for them", () =>
    withLayer(
      Effect.gen(function*() {
        const broker = yield* Broker
        const untradableBnd = {
          ...broker,
          assets: (symbols: ReadonlyArray<string>) =>
            Effect.map(
              broker.assets(symbols),
              (assets) => assets.map((a) => a.symbol === "BND" ? { ...a, tradable: false } : a)
            )
        }
        const outcome = yield* drive(request({ policy: { shares: "fractional" } })).pipe(
          Effect.provideService(Broker, untradableBnd)
        )
        expect(outcome.summary.warnings).toContain("not tradable at the venue, left out of the plan as unpriced: BND")
        expect(outcome.plan!.orders.orders.map((o) => o.symbol)).toEqual(["VTI"])
        expect(outcome.submitted.map((s) => s.order.symbol)).toEqual(["VTI"])
      }),
      programLayer(files.freshFile(), config())
    ))
})
