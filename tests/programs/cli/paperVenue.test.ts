/**
 * `rebalance paper-venue` as real processes on the bundled paper account's books: it fills what
 * a venue that has since closed left open and what another process places while it runs, two of
 * them never fill one order twice, and it starts, refuses and stops with the lines and exit codes
 * the CLI promises. Orders are placed by this test's own venue on the same books file, with its
 * market closed so that only the matcher processes fill.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { mkdirSync } from "node:fs"
import { DatabaseSync } from "node:sqlite"
import { afterAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { Books, Broker, type BrokerOrder, isTerminal, type OrderRequest } from "../../../src/effects/Broker.ts"
import { Config, paperConfig } from "../../../src/effects/broker/paper/config.ts"
import * as Paper from "../../../src/effects/broker/paper/layer.ts"
import { Decimal, format } from "../../../src/kernel/decimal.ts"
import { startCli } from "../../support/background.ts"
import { firstAccount, type KeelYaml, singleLine, type Workspace, workspace } from "../../support/cli.ts"

const workspaces: Array<Workspace> = []
afterAll(() => {
  for (const ws of workspaces) ws.cleanup()
})

const BOOKS = ".keel/paper/demo.db"
const STARTED = `paper venue: matching demo (books ${BOOKS})`

/** The bundled account with round costs (no slippage, 1 per order and 0.01 per share), filling in parts. */
const fresh = (fill: { readonly latencySeconds: number; readonly parts: number }): Workspace => {
  const ws = workspace("keel-paper-venue-")
  workspaces.push(ws)
  ws.editConfig((config) => {
    firstAccount(config).broker = {
      kind: "paper",
      startingCash: "100000",
      quotes: "quotes.csv",
      commissionPerOrder: "1",
      commissionPerShare: "0.01",
      fillLatencySeconds: fill.latencySeconds,
      partialFills: fill.parts
    }
  })
  return ws
}

/** This test's venue on the account's books: the same settings, its own market closed, so it never fills. */
const placing = (ws: Workspace) => {
  const block = Schema.decodeUnknownSync(Config)(firstAccount(parseConfig(ws)).broker)
  const context = {
    file: ws.path("keel.yaml"),
    dir: ws.dir,
    at: "accounts[0].broker",
    account: "demo",
    fractional: true
  }
  return Paper.layerFile({ ...paperConfig(block, context), marketOpen: "never" }, { filename: ws.path(BOOKS) })
}

const parseConfig = (ws: Workspace) => parse(ws.read("keel.yaml")) as KeelYaml

let counter = 0
const buy = (symbol: string, quantity: string): OrderRequest => ({
  clientOrderId: `pv-${++counter}`,
  symbol,
  side: "buy",
  quantity: new Decimal(quantity),
  type: "market",
  timeInForce: "day"
})

/** Polls the books, as a run polls a venue, until every order is done. */
const untilDone = (ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    for (let i = 0; i < 200; i++) {
      const orders = yield* Effect.forEach(ids, (id) => broker.getOrder(id))
      if (orders.every((o) => isTerminal(o.status))) return orders
      yield* Effect.sleep("100 millis")
    }
    return yield* Effect.die(new Error("the orders were not done within 20 seconds"))
  })

/** What the orders cost at the quotes' asks (quotes.csv): quantity × ask, 1 per order, 0.01 per share. */
const ASK: Record<string, string> = { VTI: "245.20", VXUS: "61.36", BND: "72.52", GLD: "215.50", ARKK: "49.00" }
const costOf = (orders: ReadonlyArray<BrokerOrder>): Decimal =>
  orders.reduce(
    (sum, o) => sum.plus(o.quantity.times(ASK[o.symbol]!).plus(o.quantity.times("0.01")).plus("1")),
    new Decimal("0")
  )

const cashOf = Effect.flatMap(Books, (b) => Effect.map(b.books, (books) => format(books.cash)))

describe.concurrent("rebalance paper-venue", () => {
  it("fills an order a closed venue left open and one placed while it runs; SIGTERM stops it with exit 0", async () => {
    const ws = fresh({ latencySeconds: 0.2, parts: 2 })
    const left = await Effect.runPromise(
      Effect.flatMap(Broker, (broker) => broker.placeOrder(buy("VTI", "10"))).pipe(Effect.provide(placing(ws)))
    )
    const matcher = startCli(["paper-venue", "--poll-seconds", "0.1"], ws.dir)
    expect(await matcher.lines(1)).toEqual([STARTED])

    const { cash, orders } = await Effect.runPromise(
      Effect.gen(function*() {
        const broker = yield* Broker
        const later = yield* broker.placeOrder(buy("VXUS", "4"))
        const orders = yield* untilDone([left.id, later.id])
        return { orders, cash: yield* cashOf }
      }).pipe(Effect.provide(placing(ws)))
    )
    expect(orders.map((o) => [o.status, format(o.filledQuantity)])).toEqual([["filled", "10"], ["filled", "4"]])
    // 100000 − (2452 + 1 + 0.10) − (245.44 + 1 + 0.04)
    expect(cash).toBe("97300.42")
    expect(cash).toBe(new Decimal("100000").minus(costOf(orders)).toFixed())

    const stopped = await matcher.stop("SIGTERM")
    expect(stopped).toEqual({ code: 0, stdout: `${STARTED}\n`, stderr: "" })
    // the matcher is the venue's: Keel's store is never opened
    expect(ws.exists(".keel/keel.db")).toBe(false)
  })

  it("two matchers on the same books never fill an order twice: every order filled exactly, in its parts, cash exact", async () => {
    const parts = 5
    const ws = fresh({ latencySeconds: 0.05, parts })
    const matchers = [0, 1].map(() => startCli(["paper-venue", "--poll-seconds", "0.1"], ws.dir))
    for (const m of matchers) expect(await m.lines(1)).toEqual([STARTED])

    const requests = [
      buy("VTI", "7"),
      buy("VXUS", "13"),
      buy("BND", "9"),
      buy("GLD", "6"),
      buy("ARKK", "11"),
      buy("VTI", "5")
    ]
    const { cash, orders } = await Effect.runPromise(
      Effect.gen(function*() {
        const broker = yield* Broker
        const placed = yield* Effect.forEach(requests, (r) => broker.placeOrder(r))
        const orders = yield* untilDone(placed.map((o) => o.id))
        return { orders, cash: yield* cashOf }
      }).pipe(Effect.provide(placing(ws)))
    )
    for (const o of orders) {
      expect([o.status, format(o.filledQuantity)]).toEqual(["filled", format(o.quantity)])
    }
    expect(cash).toBe(new Decimal("100000").minus(costOf(orders)).toFixed())
    const db = new DatabaseSync(ws.path(BOOKS), { readOnly: true })
    const fillCounts = db.prepare("SELECT fill_count FROM paper_orders").all().map((r) => r["fill_count"])
    db.close()
    expect(fillCounts).toEqual(requests.map(() => parts))

    expect((await matchers[0]!.stop("SIGINT")).code).toBe(0)
    expect((await matchers[1]!.stop("SIGTERM")).code).toBe(0)
  })

  it("refuses with one line and exit 2: a bad config, no paper account, one that is not, a poll of 0, books in a folder", async () => {
    const ws = fresh({ latencySeconds: 0, parts: 1 })
    ws.editConfig((config) => {
      firstAccount(config).broker = { kind: "alpaca" }
    }, "alpaca.yaml")
    ws.editConfig((config) => {
      firstAccount(config).broker["books"] = "taken"
    }, "folder.yaml")
    mkdirSync(ws.path("taken"))
    const refusals = await Promise.all([
      ws.run(["paper-venue", "--config", "missing.yaml"]),
      ws.run(["paper-venue", "--account", "nope"]),
      ws.run(["paper-venue", "--poll-seconds", "0"]),
      ws.run(["paper-venue", "--config", "alpaca.yaml"]),
      ws.run(["paper-venue", "--config", "alpaca.yaml", "--account", "demo"]),
      ws.run(["paper-venue", "--config", "folder.yaml"])
    ])
    for (const r of refusals) expect([r.code, r.stdout]).toEqual([2, ""])
    expect(refusals.map((r) => singleLine(r.stderr))).toEqual([
      "missing.yaml: cannot read the config file (use --config FILE)",
      "keel.yaml: accounts: expected an account named \"nope\" (known: demo)",
      "rebalance paper-venue: Invalid value for flag --poll-seconds: \"0\". Expected: seconds above 0; see rebalance paper-venue --help",
      "alpaca.yaml: accounts: expected at least one account of kind paper, got demo (alpaca)",
      "alpaca.yaml: accounts: expected an account of kind paper, got demo (alpaca)",
      "paper broker: cannot use the books taken: is a directory"
    ])
    expect(ws.exists(".keel")).toBe(false)
  })
})
