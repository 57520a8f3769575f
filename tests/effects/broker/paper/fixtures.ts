/**
 * The paper venue as its tests use it: a real SQLite file per case, a two-symbol market, and
 * helpers to place orders and watch their updates. The faults decorator's tests run it too.
 */
import { afterAll, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Books, Broker, type OrderRequest, type OrderUpdate } from "../../../../src/effects/Broker.ts"
import * as Paper from "../../../../src/effects/broker/paper/layer.ts"
import * as SqliteClient from "../../../../src/effects/sql/SqliteClient.ts"
import { Decimal, format } from "../../../../src/kernel/decimal.ts"

/** A temp folder for the test file, removed after it; `freshFile()` is a new database file in it. */
export const tempFiles = (prefix: string) => {
  const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  afterAll(() => Fs.rmSync(root, { recursive: true, force: true }))
  let counter = 0
  return {
    root,
    next: () => ++counter,
    freshFile: () => Path.join(root, `case-${++counter}`, "paper.db")
  }
}

/** A real SQLite file, to read what the venue wrote in its books. */
export const database = (filename: string) => SqliteClient.layer({ filename })

/** The paper venue on its own books file, as Keel builds it. */
export const paper = (filename: string, config: Paper.PaperConfig) => Paper.layerFile(config, { filename })

/** The venue's market hooks and its books, in one object. */
export const paperControls = Effect.gen(function*() {
  const market = yield* Paper.PaperMarket
  const { books } = yield* Books
  return { ...market, books }
})

export const base: Paper.PaperConfig = {
  account: "test",
  startingCash: "10000",
  quotes: {
    kind: "static",
    quotes: [
      { symbol: "AAPL", bid: "99.90", ask: "100.00", last: "99.95" },
      { symbol: "MSFT", bid: "399.50", ask: "400.50", last: "400.00" }
    ]
  },
  slippageBps: 5,
  commission: { perOrder: "1", perShare: "0.01" }
}

export const d = (s: string): Decimal => new Decimal(s)

/** Compares exactly: equal decimals, however they are written. */
export const same = (actual: Decimal | undefined, expected: string) => {
  assert.isDefined(actual, `expected ${expected}, got nothing`)
  assert.isTrue(actual?.eq(expected), `expected ${expected}, got ${actual === undefined ? "nothing" : format(actual)}`)
}

let orderCounter = 0
export const request = (fields: Partial<OrderRequest> = {}): OrderRequest => ({
  clientOrderId: `c-${++orderCounter}`,
  symbol: "AAPL",
  side: "buy",
  quantity: d("10"),
  type: "market",
  timeInForce: "day",
  ...fields
})

/**
 * Subscribes to the broker's updates; every update lands in the queue. `startImmediately`
 * matters: it subscribes before the fork returns, where a plain fork would subscribe
 * only once the fiber first runs and miss what is published before.
 */
export const watch = Effect.gen(function*() {
  const broker = yield* Broker
  const queue = yield* Queue.unbounded<OrderUpdate>()
  yield* broker.updates.pipe(
    Stream.runForEach((update) => Queue.offer(queue, update)),
    Effect.forkChild({ startImmediately: true })
  )
  return queue
})

/** Lets background fibers run without moving the clock, then returns what arrived. */
export const drain = (queue: Queue.Queue<OrderUpdate>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow
    return yield* Queue.clear(queue)
  })

export const rejection = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.flip(effect), (error) => {
    const e = error as { _tag?: string; reason?: string }
    assert.strictEqual(e._tag, "OrderRejected", `expected OrderRejected, got ${String(e._tag)}`)
    return e.reason ?? ""
  })
