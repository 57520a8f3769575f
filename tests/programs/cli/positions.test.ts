/**
 * `rebalance positions --by-strategy` as a real process: the bundled paper account, its
 * targets a blend of two file strategies, executed twice (the second time with changed
 * targets and quotes, so that it sells), then the per-strategy P&L checked against the
 * paper books that `rebalance positions --json` prints.
 *
 * The blend: core (share 0.6: VTI 0.6, BND 0.39) and growth (share 0.4: VTI 0.3, VXUS 0.5,
 * GLD 0.19), so VTI is attributed core 0.36 : growth 0.12 = 3 : 1, and the first run's
 * 196 VTI split 147 : 49. The second run drops VXUS from growth (a liquidation: the order has
 * no attribution, and growth, the only holder, sells all 326) and trims VTI to 0.2 (VTI sells
 * 15, split by holdings 147 : 49 → 11.25 : 3.75, leaving 135.75 : 45.25).
 */
import { afterAll, describe, expect, it } from "vitest"
import { Decimal } from "../../../src/kernel/decimal.ts"
import {
  type ByStrategyJson,
  firstAccount,
  type OutcomeJson,
  parseJson,
  type PositionsJson,
  singleLine,
  type Workspace,
  workspace
} from "../../support/cli.ts"

const workspaces: Array<Workspace> = []
afterAll(() => {
  for (const ws of workspaces) ws.cleanup()
})

const dec = (text: string): Decimal => new Decimal(text)
const sum = (texts: ReadonlyArray<string>): Decimal => texts.reduce((a, t) => a.plus(dec(t)), dec("0"))

/** Per symbol: Σ over strategies of a field, as exact decimals. */
const sumBySymbol = (
  doc: ByStrategyJson,
  field: "quantity" | "realizedPnl" | "unrealizedPnl"
): Map<string, Decimal> => {
  const out = new Map<string, Decimal>()
  for (const s of doc.strategies) {
    for (const p of s.positions) {
      const v = p[field]
      if (v === null) throw new Error(`${s.strategy} ${p.symbol}: no ${field}`)
      out.set(p.symbol, (out.get(p.symbol) ?? dec("0")).plus(dec(v)))
    }
  }
  return out
}

/** Rows (strategy, symbol, quantity, realized) of the per-strategy document. */
const holdings = (doc: ByStrategyJson) =>
  doc.strategies.flatMap((s) => s.positions.map((p) => [s.strategy, p.symbol, p.quantity, p.realizedPnl]))

/** The per-strategy document adds up to the paper books: quantities, realized and unrealized P&L, exactly. */
const expectSumsToBooks = (doc: ByStrategyJson, books: PositionsJson): void => {
  const quantities = sumBySymbol(doc, "quantity")
  const realized = sumBySymbol(doc, "realizedPnl")
  const unrealized = sumBySymbol(doc, "unrealizedPnl")
  const held = books.positions.filter((p) => !dec(p.quantity).eq(dec("0")) || !dec(p.realizedPnl).eq(dec("0")))
  expect([...quantities.keys()].sort()).toEqual(held.map((p) => p.symbol).sort())
  for (const p of books.positions) {
    expect(quantities.get(p.symbol)?.eq(dec(p.quantity)) ?? dec(p.quantity).eq(dec("0")), `${p.symbol} quantity`).toBe(
      true
    )
    expect(realized.get(p.symbol)?.eq(dec(p.realizedPnl)) ?? dec(p.realizedPnl).eq(dec("0")), `${p.symbol} realized`)
      .toBe(true)
    if (p.unrealizedPnl !== null && quantities.has(p.symbol)) {
      expect(unrealized.get(p.symbol)?.eq(dec(p.unrealizedPnl)), `${p.symbol} unrealized`).toBe(true)
    }
  }
  // Per-strategy totals: the sum of their rows; together, the books' realized P&L.
  for (const s of doc.strategies) {
    expect(sum(s.positions.map((p) => p.realizedPnl)).eq(dec(s.totals.realizedPnl)), `${s.strategy} total realized`)
      .toBe(true)
  }
  expect(sum(doc.strategies.map((s) => s.totals.realizedPnl)).eq(dec(books.realizedPnl))).toBe(true)
  expect(dec(doc.realizedPnl).eq(dec(books.realizedPnl))).toBe(true)
}

describe("rebalance positions --by-strategy", () => {
  const ws = workspace("keel-strategy-pnl-", ["keel.yaml", "policy.yaml", "quotes.csv"])
  workspaces.push(ws)
  ws.write("core.csv", "symbol,weight\nVTI,0.6\nBND,0.39\n")
  ws.write("growth.csv", "symbol,weight\nVTI,0.3\nVXUS,0.5\nGLD,0.19\n")
  ws.editConfig((c) => {
    ;(firstAccount(c) as Record<string, unknown>).targets = {
      blend: {
        strategies: [
          { name: "core", share: "0.6", source: { file: "core.csv" } },
          { name: "growth", share: "0.4", source: { file: "growth.csv" } }
        ]
      }
    }
  })
  const positions = async (...extra: Array<string>) => {
    const r = await ws.run(["positions", "--account", "demo", ...extra])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    return r.stdout
  }
  const execute = async (): Promise<OutcomeJson> => {
    const r = await ws.run(["run", "--account", "demo", "--execute", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const out = parseJson<OutcomeJson>(r.stdout)
    expect(out.run.status).toBe("completed")
    return out
  }

  it("after one run: every buy is split by its attribution, and the strategies add up to the books", async () => {
    const out = await execute()
    expect(out.orders.map((o) => [o.side, o.symbol, o.status])).toEqual([
      ["buy", "BND", "filled"],
      ["buy", "GLD", "filled"],
      ["buy", "VTI", "filled"],
      ["buy", "VXUS", "filled"]
    ])
    const doc = parseJson<ByStrategyJson>(await positions("--by-strategy", "--json"))
    expect(doc.account).toBe("demo")
    expect(doc.warnings).toEqual([])
    expect(holdings(doc)).toEqual([
      ["core", "BND", "322", "0"],
      ["core", "VTI", "147", "0"],
      ["growth", "GLD", "35", "0"],
      ["growth", "VTI", "49", "0"],
      ["growth", "VXUS", "326", "0"]
    ])
    // One fill per symbol: every strategy's average cost is the books' (fill + 0.005 commission).
    const books = parseJson<PositionsJson>(await positions("--json"))
    const cost = new Map(books.positions.map((p) => [p.symbol, p.averageCost]))
    for (const s of doc.strategies) for (const p of s.positions) expect(p.averageCost).toBe(cost.get(p.symbol))
    expectSumsToBooks(doc, books)
  })

  it("after a second run that sells: sells are split by holdings, and realized P&L adds up to the books", async () => {
    ws.write("growth.csv", "symbol,weight\nVTI,0.2\nGLD,0.79\n")
    ws.write(
      "quotes.csv",
      "symbol,bid,ask,last\nVTI,245.10,245.20,245.15\nVXUS,61.30,61.36,61.33\nBND,72.48,72.52,72.50\nGLD,235.30,235.50,235.40\n"
    )
    const out = await execute()
    const sells = out.orders.filter((o) => o.side === "sell")
    expect(sells.map((o) => [o.symbol, o.quantity, o.status])).toEqual([
      ["VTI", "15", "filled"],
      ["VXUS", "326", "filled"]
    ])
    const doc = parseJson<ByStrategyJson>(await positions("--by-strategy", "--json"))
    expect(doc.warnings).toEqual([])
    expect(holdings(doc).map(([strategy, symbol, quantity]) => [strategy, symbol, quantity])).toEqual([
      ["core", "BND", "322"],
      ["core", "VTI", "135.75"],
      ["growth", "GLD", "135"],
      ["growth", "VTI", "45.25"],
      ["growth", "VXUS", "0"]
    ])
    const books = parseJson<PositionsJson>(await positions("--json"))
    expect(dec(books.realizedPnl).eq(dec("0"))).toBe(false)
    expectSumsToBooks(doc, books)
  })

  it("prints a table per strategy without --json", async () => {
    const text = await positions("--by-strategy")
    const lines = text.split("\n")
    expect(lines[0]).toMatch(/^Account demo by strategy: realized P&L -?\d/)
    expect(lines.filter((l) => l.startsWith("Strategy "))).toHaveLength(2)
    expect(text).toMatch(/^Strategy core: value \d.*, unrealized .*, realized .*$/m)
    expect(text).toMatch(/^SYMBOL +QUANTITY +AVG COST +PRICE +VALUE +UNREALIZED +REALIZED$/m)
    expect(text).toMatch(/^VTI +135\.75 /m)
    expect(text).not.toMatch(/Warnings/)
  })
})

describe("rebalance positions --by-strategy on plain targets", () => {
  it("credits everything to one unattributed strategy, whose rows are the books' rows", async () => {
    const ws = workspace("keel-strategy-pnl-plain-")
    workspaces.push(ws)
    const r = await ws.run(["run", "--account", "demo", "--execute", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const by = await ws.run(["positions", "--account", "demo", "--by-strategy", "--json"])
    expect(by.code, by.stderr).toBe(0)
    const doc = parseJson<ByStrategyJson>(by.stdout)
    const books = parseJson<PositionsJson>((await ws.run(["positions", "--account", "demo", "--json"])).stdout)
    expect(doc.strategies.map((s) => s.strategy)).toEqual(["unattributed"])
    expect(doc.strategies[0]?.positions.map(({ costBasis: _, ...rest }) => rest)).toEqual(books.positions)
    expect(doc.warnings).toEqual([])
  })
})

describe("rebalance positions on a venue that keeps no books", () => {
  it("an Alpaca account is refused with one line, exit 2, before anything is opened (no credentials, no database)", async () => {
    const ws = workspace("keel-positions-alpaca-")
    workspaces.push(ws)
    const config = ws.editConfig((c) => {
      firstAccount(c).broker = { kind: "alpaca" }
    }, "alpaca.yaml")
    for (const flags of [[], ["--by-strategy"], ["--json"]]) {
      const r = await ws.run(["positions", "--account", "demo", "--config", config, ...flags], {
        APCA_API_KEY_ID: undefined,
        APCA_API_SECRET_KEY: undefined
      })
      expect(r.code).toBe(2)
      expect(r.stdout).toBe("")
      expect(singleLine(r.stderr)).toBe(
        "alpaca.yaml: accounts: expected an account whose venue keeps books with average cost and P&L (paper), " +
          "got \"demo\" (alpaca); see the broker's own positions"
      )
    }
    expect(ws.exists(".keel")).toBe(false)
  })
})
