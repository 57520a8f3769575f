/**
 * The per-strategy P&L join over a real (in-memory SQLite) Store: each fill takes the
 * attribution stored with its intent; a fill with no intent, or whose intent's attribution is
 * unknown (stored before Keel kept it), is booked without attribution, with a warning.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as SqlClient from "effect/sql/SqlClient"
import * as SqliteClient from "../../src/effects/sql/SqliteClient.ts"
import { type FillRecord, type OrderIntent, Store } from "../../src/effects/Store.ts"
import * as SqlStore from "../../src/effects/store/sql.ts"
import { Decimal, format } from "../../src/kernel/decimal.ts"
import type { Attribution } from "../../src/kernel/rebalance/targets.ts"
import { accountStrategyPnl, attributedFills } from "../../src/programs/accountPnl.ts"

const T0 = 1_700_000_000_000
const d = (text: string) => new Decimal(text)

const memoryStore = SqlStore.layer({ database: ":memory:" }).pipe(
  Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }))
)

const intent = (
  runId: string,
  clientOrderId: string,
  symbol: string,
  attribution: Option.Option<Attribution>
): OrderIntent => ({
  clientOrderId,
  runId,
  phase: "buy",
  symbol,
  side: "buy",
  quantity: d("10"),
  price: d("10"),
  attribution,
  status: "filled",
  filledQuantity: d("10"),
  createdAt: T0,
  updatedAt: T0
})

const fill = (runId: string, clientOrderId: string, symbol: string, at: number): FillRecord => ({
  clientOrderId,
  runId,
  symbol,
  side: "buy",
  kind: "fill",
  quantity: d("10"),
  price: d("10"),
  commission: d("0"),
  cumulativeQuantity: d("10"),
  at
})

const filled = (at: number) => ({ status: "filled" as const, filledQuantity: d("10"), averageFillPrice: d("10"), at })

/**
 * Two runs of acct-1 (and one of another account, left out): a blend, an unknown attribution, a
 * fill with no intent (the Store never books one: it stands for a row an older Keel left).
 */
const recorded = Effect.gen(function*() {
  const store = yield* Store
  const leaseOf = (account: string) =>
    store.acquireLease({ account, runId: `writer-${account}`, pid: 1, host: "test", at: T0, ttlMillis: 60_000 })
  const leases = { "acct-1": yield* leaseOf("acct-1"), "acct-2": yield* leaseOf("acct-2") }
  const r1 = leases["acct-1"]
  for (
    const [id, account, startedAt] of [["r1", "acct-1", T0], ["r2", "acct-1", T0 + 10], ["x", "acct-2", T0]] as const
  ) {
    yield* store.startRun(
      { id, account, mode: "execute", status: "completed", step: "done", startedAt },
      leases[account]
    )
  }
  yield* store.saveIntent(
    intent(
      "r1",
      "r1-VTI",
      "VTI",
      Option.some([{ strategy: "core", weight: d("0.3") }, { strategy: "growth", weight: d("0.1") }])
    ),
    r1
  )
  yield* store.saveIntent(intent("r1", "r1-BND", "BND", Option.none()), r1)
  yield* store.saveIntent(intent("r2", "r2-GLD", "GLD", Option.some([])), r1)
  yield* store.saveIntent(
    intent("x", "x-VTI", "VTI", Option.some([{ strategy: "other", weight: d("1") }])),
    leases["acct-2"]
  )
  yield* store.bookFill(fill("r1", "r1-VTI", "VTI", T0 + 1), filled(T0 + 1), r1)
  yield* store.bookFill(fill("r1", "r1-BND", "BND", T0 + 2), filled(T0 + 2), r1)
  const sql = yield* SqlClient.SqlClient
  yield* sql`INSERT INTO fills (run_id, seq, client_order_id, symbol, side, kind, quantity, price, commission,
    cumulative_quantity, recorded_at) VALUES ('r1', 3, 'r1-ghost', 'VXUS', 'buy', 'fill', '10', '10', '0', '10', ${
    T0 + 3
  })`
  yield* store.bookFill(fill("r2", "r2-GLD", "GLD", T0 + 11), filled(T0 + 11), r1)
  yield* store.bookFill(fill("x", "x-VTI", "VTI", T0 + 1), filled(T0 + 1), leases["acct-2"])
})

describe("attributedFills", () => {
  it.effect("takes each fill's attribution from its intent, runs oldest first; warns of no intent and of unknown attribution", () =>
    Effect.gen(function*() {
      yield* recorded
      const joined = yield* attributedFills("acct-1")
      expect(
        joined.fills.map((f) => [f.symbol, f.attribution.map((a) => `${a.strategy} ${format(a.weight)}`)])
      ).toEqual([
        ["VTI", ["core 0.3", "growth 0.1"]],
        ["BND", []],
        ["VXUS", []],
        ["GLD", []]
      ])
      expect(joined.warnings).toEqual([
        "run r1: the fill of r1-BND (buy BND): its attribution is unknown (its intent was stored before Keel kept " +
        "attribution, and its run's plans do not tell); booked without attribution",
        "run r1: the fill of r1-ghost (buy VXUS) has no intent; booked without attribution"
      ])
    }).pipe(Effect.provide(memoryStore)))

  it.effect("the P&L books what cannot be attributed as unattributed, and keeps the warnings", () =>
    Effect.gen(function*() {
      yield* recorded
      const report = yield* accountStrategyPnl(
        "acct-1",
        (symbols) => Effect.succeed(new Map(symbols.map((s) => [s, d("11")])))
      )
      expect(report.holdings.map((h) => [h.strategy, h.symbol, format(h.quantity)])).toEqual([
        ["core", "VTI", "7.5"],
        ["growth", "VTI", "2.5"],
        ["unattributed", "BND", "10"],
        ["unattributed", "GLD", "10"],
        ["unattributed", "VXUS", "10"]
      ])
      expect(report.warnings).toHaveLength(2)
    }).pipe(Effect.provide(memoryStore)))
})
