/**
 * The paper venue as Keel builds it from a keel.yaml block: its books in a file of their own
 * (`books:`, default `.keel/paper/<account>.db`), never in the database of Keel's store, so a
 * deleted store leaves the account's cash, positions and open orders as they were.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Broker } from "../../../../src/effects/Broker.ts"
import { booksFile, Config } from "../../../../src/effects/broker/paper/config.ts"
import { venue } from "../../../../src/effects/broker/paper/venue.ts"
import * as SqliteClient from "../../../../src/effects/sql/SqliteClient.ts"
import { format } from "../../../../src/kernel/decimal.ts"
import { d, request, tempFiles, watch } from "./fixtures.ts"

const files = tempFiles("keel-paper-venue-test-")

const context = (dir: string) => ({
  file: Path.join(dir, "keel.yaml"),
  dir,
  at: "accounts[0].broker",
  account: "keep",
  fractional: true
})

/** A folder with a quotes file, and the account's block naming it. */
const account = (fields: Record<string, unknown>) => {
  const dir = Path.join(files.root, `account-${files.next()}`)
  Fs.mkdirSync(dir, { recursive: true })
  Fs.writeFileSync(Path.join(dir, "quotes.json"), `[{"symbol":"AAPL","bid":"99.90","ask":"100.00","last":"99.95"}]`)
  const block = Schema.decodeUnknownSync(Config)({
    kind: "paper",
    startingCash: "10000",
    quotes: "quotes.json",
    ...fields
  })
  return { dir, block, context: context(dir) }
}

/** The account's Broker as a run builds it, with a store database of its own beside it. */
const runLayer = (config: ReturnType<typeof account>, store: string) =>
  Layer.unwrap(Effect.map(venue.layer(config.block, config.context), (v) => v.layer)).pipe(
    Layer.provide(SqliteClient.layer({ filename: store })),
    Layer.provide(FetchHttpClient.layer)
  )

const tablesOf = (file: string): ReadonlyArray<string> => {
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) =>
      String(r["name"])
    )
  } finally {
    db.close()
  }
}

/** What a run would read of the account: cash, buying power, positions, open orders. */
const snapshot = Effect.gen(function*() {
  const broker = yield* Broker
  const account = yield* broker.account
  return {
    cash: format(account.cash),
    buyingPower: format(account.buyingPower),
    positions: (yield* broker.positions).map((p) => [p.symbol, format(p.quantity)]),
    open: (yield* broker.openOrders).map((o) => [o.clientOrderId, o.status, format(o.quantity)])
  }
})

describe("the paper block in keel.yaml", () => {
  const problem = (fields: Record<string, unknown>): string => {
    const decoded = Schema.decodeUnknownExit(Config)({ kind: "paper", ...fields })
    return decoded._tag === "Failure" ? String(decoded.cause) : "accepted"
  }

  it.each([
    [{ slippageBps: -50 }, "a number of basis points from 0 up to (not including) 10000"],
    [{ slippageBps: 10_000 }, "a number of basis points from 0 up to (not including) 10000"],
    [{ fillLatencySeconds: -1 }, "a number of seconds, at least 0"],
    [{ partialFills: 0 }, "a whole number, at least 1"],
    [{ rejectionRate: 1.5 }, "a number from 0 to 1"],
    [{ startingCash: "-1" }, "a non-negative decimal"],
    [{ commissionPerShare: "-0.01" }, "a non-negative decimal"],
    [{ randomWalk: { seed: 1, prices: { VTI: "0" } } }, "a decimal above 0"]
  ])("%j is refused when keel.yaml is read: %s", (fields, expected) => {
    expect(problem(fields)).toContain(expected)
  })

  it("the layer's own limits pass: a latency of 0, 9999 bps, a rate of 1", () => {
    expect(problem({ fillLatencySeconds: 0, slippageBps: 9999, rejectionRate: 1, partialFills: 3 })).toBe("accepted")
  })
})

describe("the paper venue's books", () => {
  it("live in .keel/paper/<account>.db under the working directory, unless the block names a file", () => {
    const { block, context } = account({})
    expect(booksFile(block, context)).toBe(".keel/paper/keep.db")
    const named = account({ books: "books/keep.db" })
    expect(booksFile(named.block, named.context)).toBe("books/keep.db")
  })

  it.effect("survive the deletion of Keel's store: cash, positions and open orders are as they were", () =>
    Effect.gen(function*() {
      const config = account({ books: Path.join(files.root, `books-${files.next()}`, "keep.db") })
      const firstStore = files.freshFile()
      const before = yield* Effect.gen(function*() {
        const broker = yield* Broker
        const updates = yield* watch
        yield* broker.placeOrder(request({ clientOrderId: "keep-buy", quantity: d("10") }))
        yield* Queue.take(updates)
        yield* Queue.take(updates)
        yield* broker.placeOrder(request({ clientOrderId: "keep-limit", type: "limit", limitPrice: d("90") }))
        return yield* snapshot
      }).pipe(Effect.provide(runLayer(config, firstStore)))
      expect(before).toEqual({
        cash: "9000",
        buyingPower: "8100",
        positions: [["AAPL", "10"]],
        open: [["keep-limit", "accepted", "10"]]
      })
      expect(tablesOf(firstStore).filter((t) => t.includes("paper"))).toEqual([])

      Fs.rmSync(Path.dirname(firstStore), { recursive: true })
      const after = yield* snapshot.pipe(Effect.provide(runLayer(config, files.freshFile())))
      expect(after).toEqual(before)
    }))
})
