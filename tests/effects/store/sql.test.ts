import { assert, describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import * as Fs from "node:fs"
import * as SqliteClient from "../../../src/effects/sql/SqliteClient.ts"
import { type FinalStatus, type IntentStatus, type Run, Store, type StoreError } from "../../../src/effects/Store.ts"
import { storeMigrations } from "../../../src/effects/store/migrations.ts"
import * as StoreSql from "../../../src/effects/store/sql.ts"
import { format } from "../../../src/kernel/decimal.ts"
import {
  accountFinal,
  accountStart,
  buyIntent,
  dec,
  expectStoreError,
  fill,
  onFile,
  plain,
  run,
  sellIntent,
  storeWithSql,
  T0,
  takeLease,
  tempFiles
} from "./fixtures.ts"

const freshFile = tempFiles("keel-store-test-")

/** Writes one complete run (steps, plans, intents and their updates, fills, account states) through the Store. */
const writeFullRun = (runId: string) =>
  Effect.gen(function*() {
    const store = yield* Store
    const lease = yield* takeLease(runId)
    yield* store.startRun(run(runId), lease)
    yield* store.saveAccount(accountStart(runId), lease)
    yield* store.recordStep(runId, "snapshot", `{"positions":2}`, T0 + 2, lease)
    yield* store.recordStep(runId, "plan", "{}", T0 + 3, lease)
    yield* store.savePlan(runId, "plan", `{"orders":[{"symbol":"VTI","quantity":"0.000001"}]}`, lease)
    yield* store.saveIntent(sellIntent(runId), lease)
    yield* store.updateIntent("keel-r1-sell-1", { status: "accepted", brokerOrderId: "broker-1", at: T0 + 30 }, lease)
    const filled = {
      status: "filled",
      filledQuantity: dec("0.000001"),
      averageFillPrice: dec("123456789.123456789"),
      at: T0 + 40
    } as const
    yield* store.bookFill(fill(runId), filled, lease)
    yield* store.savePlan(runId, "buy-replan", `{"orders":[]}`, lease)
    yield* store.saveIntent(buyIntent(runId), lease)
    yield* store.saveAccount(accountFinal(runId), lease)
    yield* store.recordStep(runId, "done", "{}", T0 + 60, lease)
    yield* store.finishRun(runId, "completed", undefined, T0 + 61, lease)
  })

/** Reads back what `writeFullRun` wrote and asserts it is exactly that. */
const expectFullRun = (runId: string) =>
  Effect.gen(function*() {
    const store = yield* Store
    const stored = yield* store.getRun(runId)
    expect(Option.map(stored, plain)).toStrictEqual(Option.some({
      id: runId,
      account: "acct-1",
      mode: "execute",
      status: "completed",
      step: "done",
      startedAt: T0,
      finishedAt: T0 + 61
    }))
    expect(yield* store.steps(runId)).toStrictEqual([
      { runId, seq: 1, step: "snapshot", detail: `{"positions":2}`, at: T0 + 2 },
      { runId, seq: 2, step: "plan", detail: "{}", at: T0 + 3 },
      { runId, seq: 3, step: "done", detail: "{}", at: T0 + 60 }
    ])
    expect(yield* store.plans(runId)).toStrictEqual([
      { stage: "plan", json: `{"orders":[{"symbol":"VTI","quantity":"0.000001"}]}` },
      { stage: "buy-replan", json: `{"orders":[]}` }
    ])
    const intents = yield* store.intents(runId)
    expect(intents.map(plain)).toStrictEqual([
      {
        clientOrderId: "keel-r1-sell-1",
        runId,
        phase: "sell",
        symbol: "VTI",
        side: "sell",
        quantity: "0.000001",
        price: "123456789.123456789",
        attribution: Option.some([
          { strategy: "core", weight: "0.36" },
          { strategy: "outer/growth", weight: "0.00000000000000000001" }
        ]),
        status: "filled",
        brokerOrderId: "broker-1",
        filledQuantity: "0.000001",
        averageFillPrice: "123456789.123456789",
        createdAt: T0 + 10,
        updatedAt: T0 + 40
      },
      {
        clientOrderId: "keel-r1-buy-1",
        runId,
        phase: "buy",
        symbol: "BND",
        side: "buy",
        quantity: "12.5",
        price: "72.31",
        attribution: Option.some([]),
        status: "unknown",
        brokerOrderId: "broker-77",
        filledQuantity: "0.5",
        averageFillPrice: "72.3",
        reason: "lost answer",
        createdAt: T0 + 20,
        updatedAt: T0 + 21
      }
    ])
    // Decoded values are real decimals that compute exactly.
    expect(format(intents[0]!.quantity.times(intents[0]!.price))).toBe("123.456789123456789")
    expect((yield* store.fills(runId)).map(plain)).toStrictEqual([plain(fill(runId))])
    expect((yield* store.accounts(runId)).map(plain)).toStrictEqual([
      {
        runId,
        stage: "start",
        cash: "1000.01",
        equity: "123456789012345.12345678901234567891",
        positions: [{ symbol: "VTI", quantity: "3.000001" }, { symbol: "BND", quantity: "-2" }],
        at: T0 + 1
      },
      { runId, stage: "final", cash: "1123.4567", equity: "2000", positions: [], at: T0 + 50 }
    ])
  })

/** Tables and indexes, and the ids the store's migrations table records. */
const describeSchema = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const schema = yield* sql<{ type: string; name: string; sql: string | null }>`
    SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`
  const recorded = yield* sql<{ migration_id: number; name: string }>`
    SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`
  return { schema, recorded }
})

/** The store's migrations before `id`, exactly as they shipped (a shipped migration is never edited). */
const migrationsBefore = (id: number) =>
  Object.fromEntries(Object.entries(storeMigrations).filter(([key]) => Number(key.slice(0, 4)) < id))

describe("migrations", () => {
  it.effect("apply once on a file; opening the same file again changes nothing", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const first = yield* onFile(file, describeSchema)
      expect(first.recorded.map((r) => [r.migration_id, r.name])).toEqual([
        [1, "runs"],
        [2, "run_steps"],
        [3, "plans"],
        [4, "order_intents"],
        [5, "fills"],
        [6, "account_states"],
        [7, "intent_attribution"],
        [8, "account_leases"],
        [9, "notification_deliveries"],
        [10, "triggers"],
        [11, "intents_by_run"]
      ])
      expect(first.schema.filter((o) => o.type === "table").map((o) => o.name)).toEqual([
        "account_leases",
        "account_states",
        "effect_sql_migrations",
        "fills",
        "notification_deliveries",
        "order_intents",
        "plans",
        "run_steps",
        "runs",
        "triggers"
      ])
      expect(first.schema.filter((o) => o.type === "index").map((o) => o.name)).toEqual(
        expect.arrayContaining([
          "fills_by_order_cumulative",
          "order_intents_by_run",
          "runs_by_account",
          "runs_by_started"
        ])
      )

      const second = yield* onFile(file, describeSchema)
      expect(second.schema).toEqual(first.schema)
      expect(second.recorded).toEqual(first.recorded)
    }))

  it.effect("the Store layer migrates on every open, and keeps the data", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* onFile(
        file,
        Effect.flatMap(takeLease("r1"), (lease) => Effect.flatMap(Store, (s) => s.startRun(run("r1"), lease)))
      )
      const again = yield* onFile(file, Effect.flatMap(Store, (s) => s.getRun("r1")))
      expect(Option.isSome(again)).toBe(true)
    }))

  it.effect("the store's migrations table is its own: a module migrating with its own table neither hides nor is hidden", () =>
    Effect.gen(function*() {
      const file = freshFile()
      // A store as an earlier Keel left it (migrations 1..7), then a module that migrates its own tables.
      yield* Migrator.make({})({ loader: Migrator.fromRecord(migrationsBefore(8)) }).pipe(
        Effect.provide(SqliteClient.layer({ filename: file }))
      )
      const otherModule = Migrator.make({})({
        loader: Migrator.fromRecord({
          "0101_other_orders": Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE other_orders (id TEXT)`)
        }),
        table: "keel_other_migrations"
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))

      expect(yield* otherModule).toEqual([[101, "other_orders"]])
      // Its id 101 is not in the store's table, so the store's next migration still applies.
      const store = yield* onFile(file, describeSchema)
      expect(store.recorded.map((r) => r.migration_id)).toEqual(Object.keys(storeMigrations).map((_, i) => i + 1))
      expect(store.schema.map((o) => o.name)).toEqual(expect.arrayContaining(["other_orders", "keel_other_migrations"]))
      expect(yield* otherModule).toEqual([])
    }))

  it.effect("store migration ids count 1, 2, … with no gap (the Migrator applies only ids above the highest recorded)", () =>
    Effect.sync(() => {
      const ids = Object.keys(storeMigrations).map((key) => Number(key.split("_")[0]))
      expect(ids).toEqual(ids.map((_, i) => i + 1))
    }))
})

describe("0007_intent_attribution on a database written before it", () => {
  const previous = migrationsBefore(7)

  /** An order of a stored plan, as `rebalance plan --json` wrote it (attribution only when there is some). */
  const order = (phase: string, side: string, symbol: string, attribution?: ReadonlyArray<unknown>) => ({
    symbol,
    side,
    quantity: "1",
    price: "10",
    value: "10",
    phase,
    ...(attribution === undefined ? {} : { strategy: "?", attribution })
  })
  const planText = (orders: ReadonlyArray<unknown>) =>
    JSON.stringify({
      equity: "1000",
      cash: { before: "1000", after: "990", reserve: "0" },
      plan: [],
      orders,
      warnings: []
    })

  /** A database at migration 6 with runs, plans and intents written as the store wrote them then (no attribution column). */
  const oldDatabase = (file: string) =>
    Effect.gen(function*() {
      yield* Migrator.make({})({ loader: Migrator.fromRecord(previous) })
      const sql = yield* SqlClient.SqlClient
      const runs = ["blend", "plain", "damaged", "bad-replan", "no-plans", "twice"]
      for (const id of runs) {
        yield* sql`INSERT INTO runs (id, account, mode, status, step, reason, started_at, finished_at)
          VALUES (${id}, 'acct-1', 'execute', 'completed', 'done', NULL, ${T0}, ${T0 + 1})`
      }
      const plans: ReadonlyArray<readonly [string, string, string]> = [
        [
          "blend",
          "plan",
          planText([
            order("sell", "sell", "VTI", [{ strategy: "core", weight: "0.3" }, { strategy: "growth", weight: "0.1" }]),
            order("buy", "buy", "BND", [{ strategy: "core", weight: "0.2" }]),
            order("buy", "buy", "GLD", [{ strategy: "growth", weight: "0.19" }])
          ])
        ],
        // The buys were sent from the re-plan: BND's attribution changed; GLD's weight is a JSON number.
        [
          "blend",
          "buy-replan",
          planText([
            order("buy", "buy", "BND", [{ strategy: "core", weight: "0.25" }]),
            order("buy", "buy", "GLD", [{ strategy: "growth", weight: 0.19 }])
          ])
        ],
        ["plain", "plan", planText([order("sell", "sell", "VTI"), order("buy", "buy", "BND")])],
        ["damaged", "plan", "{\"orders\": [ not json"],
        ["bad-replan", "plan", planText([order("sell", "sell", "VTI", [{ strategy: "core", weight: "1" }])])],
        ["bad-replan", "buy-replan", planText([order("buy", "buy", "BND", [{ strategy: "core", weight: "abc" }])])],
        ["twice", "plan", planText([order("sell", "sell", "VTI", [{ strategy: "first", weight: "1" }])])],
        ["twice", "plan", planText([order("sell", "sell", "VTI", [{ strategy: "second", weight: "1" }])])]
      ]
      for (const [seq, [runId, phase, json]] of plans.entries()) {
        yield* sql`INSERT INTO plans (run_id, seq, phase, plan_json) VALUES (${runId}, ${seq + 1}, ${phase}, ${json})`
      }
      const intents: ReadonlyArray<readonly [string, string, string, string]> = [
        ["blend", "blend-sell-VTI", "sell", "VTI"],
        ["blend", "blend-buy-BND", "buy", "BND"],
        ["blend", "blend-buy-GLD", "buy", "GLD"],
        ["blend", "blend-buy-VXUS", "buy", "VXUS"],
        ["plain", "plain-sell-VTI", "sell", "VTI"],
        ["plain", "plain-buy-BND", "buy", "BND"],
        ["damaged", "damaged-sell-VTI", "sell", "VTI"],
        ["bad-replan", "bad-replan-sell-VTI", "sell", "VTI"],
        ["bad-replan", "bad-replan-buy-BND", "buy", "BND"],
        ["no-plans", "no-plans-sell-VTI", "sell", "VTI"],
        ["twice", "twice-sell-VTI", "sell", "VTI"]
      ]
      for (const [seq, [runId, id, side, symbol]] of intents.entries()) {
        yield* sql`INSERT INTO order_intents (client_order_id, run_id, seq, phase, symbol, side, quantity, price,
            status, broker_order_id, filled_quantity, average_fill_price, reason, created_at, updated_at)
          VALUES (${id}, ${runId}, ${seq + 1}, ${side}, ${symbol}, ${side}, '1', '10', 'filled', NULL, '1', '10',
            NULL, ${T0}, ${T0})`
      }
    }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))

  it.effect("fills each intent's attribution from its run's plans; what they cannot tell stays unknown", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* oldDatabase(file)
      const { intents, recorded, column } = yield* onFile(
        file,
        Effect.gen(function*() {
          const store = yield* Store
          const sql = yield* SqlClient.SqlClient
          const runs = yield* store.listRuns(undefined, 10)
          const intents = (yield* Effect.forEach(runs, (r) => store.intents(r.id))).flat()
          const column = yield* sql<{ client_order_id: string; attribution: string | null }>`
            SELECT client_order_id, attribution FROM order_intents WHERE run_id = 'blend' ORDER BY seq`
          return { intents, recorded: (yield* describeSchema).recorded, column }
        })
      )
      expect(recorded.map((r) => r.migration_id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
      const attribution = Object.fromEntries(intents.map((i) => [i.clientOrderId, plain(i.attribution)]))
      expect(attribution).toStrictEqual({
        "blend-sell-VTI": Option.some([{ strategy: "core", weight: "0.3" }, { strategy: "growth", weight: "0.1" }]),
        "blend-buy-BND": Option.some([{ strategy: "core", weight: "0.25" }]),
        "blend-buy-GLD": Option.some([{ strategy: "growth", weight: "0.19" }]),
        // Not in the re-plan the buys were sent from.
        "blend-buy-VXUS": Option.none(),
        // Plain targets: no attribution, which is known.
        "plain-sell-VTI": Option.some([]),
        "plain-buy-BND": Option.some([]),
        "damaged-sell-VTI": Option.none(),
        "bad-replan-sell-VTI": Option.some([{ strategy: "core", weight: "1" }]),
        "bad-replan-buy-BND": Option.none(),
        "no-plans-sell-VTI": Option.none(),
        // The last plan stored under a stage is the one the run went on with.
        "twice-sell-VTI": Option.some([{ strategy: "second", weight: "1" }])
      })
      // The column holds what the store writes: JSON text with decimal weights as text, or NULL.
      expect(column).toEqual([
        {
          client_order_id: "blend-sell-VTI",
          attribution: `[{"strategy":"core","weight":"0.3"},{"strategy":"growth","weight":"0.1"}]`
        },
        { client_order_id: "blend-buy-BND", attribution: `[{"strategy":"core","weight":"0.25"}]` },
        { client_order_id: "blend-buy-GLD", attribution: `[{"strategy":"growth","weight":"0.19"}]` },
        { client_order_id: "blend-buy-VXUS", attribution: null }
      ])
    }))

  it.effect("is atomic: when the backfill fails, neither the column nor the migration is recorded; a retry applies it", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* oldDatabase(file)
      const raw = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
        Effect.provide(effect, SqliteClient.layer({ filename: file }))
      const columns = raw(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return (yield* sql<{ name: string }>`PRAGMA table_info(order_intents)`).map((c) => c.name)
      }))
      // The backfill's UPDATE of one intent is refused.
      yield* raw(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`CREATE TRIGGER refuse_backfill BEFORE UPDATE ON order_intents
          WHEN OLD.client_order_id = 'blend-buy-GLD' BEGIN SELECT RAISE(ABORT, 'backfill refused'); END`)
      )

      const failed = yield* Effect.flip(onFile(file, Effect.void))
      expect(failed.message).toContain("backfill refused")
      expect(yield* columns).not.toContain("attribution")
      const before = yield* raw(Effect.map(describeSchema, (s) => s.recorded.map((r) => r.migration_id)))
      expect(before).toEqual([1, 2, 3, 4, 5, 6])

      yield* raw(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP TRIGGER refuse_backfill`))
      const after = yield* onFile(
        file,
        Effect.gen(function*() {
          const intents = yield* (yield* Store).intents("blend")
          return { intents, recorded: (yield* describeSchema).recorded.map((r) => r.migration_id) }
        })
      )
      expect(after.recorded).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
      expect(yield* columns).toContain("attribution")
      expect(Object.fromEntries(after.intents.map((i) => [i.clientOrderId, plain(i.attribution)]))).toStrictEqual({
        "blend-sell-VTI": Option.some([{ strategy: "core", weight: "0.3" }, { strategy: "growth", weight: "0.1" }]),
        "blend-buy-BND": Option.some([{ strategy: "core", weight: "0.25" }]),
        "blend-buy-GLD": Option.some([{ strategy: "growth", weight: "0.19" }]),
        "blend-buy-VXUS": Option.none()
      })
    }))

  it.effect("a database whose store had no intents migrates too, and new intents carry their attribution", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* Migrator.make({})({ loader: Migrator.fromRecord(previous) }).pipe(
        Effect.provide(SqliteClient.layer({ filename: file }))
      )
      yield* onFile(file, writeFullRun("after-7"))
      yield* onFile(file, expectFullRun("after-7"))
    }))
})

describe("0008_account_leases on a database written before it", () => {
  /** A database at migration 7 with fills as the store booked them then (no cumulative quantity). */
  const oldDatabase = (file: string) =>
    Effect.gen(function*() {
      yield* Migrator.make({})({ loader: Migrator.fromRecord(migrationsBefore(8)) })
      const sql = yield* SqlClient.SqlClient
      for (const id of ["r1", "damaged"]) {
        yield* sql`INSERT INTO runs (id, account, mode, status, step, reason, started_at, finished_at)
          VALUES (${id}, 'acct-1', 'execute', 'completed', 'done', NULL, ${T0}, ${T0 + 1})`
      }
      const fills: ReadonlyArray<readonly [string, string, string]> = [
        ["r1", "r1-VTI", "1.50"],
        ["r1", "r1-BND", "7"],
        ["r1", "r1-VTI", "2.25"],
        ["r1", "r1-VTI", "0.25"],
        ["damaged", "d-VTI", "2"],
        ["damaged", "d-VTI", "abc"],
        ["damaged", "d-VTI", "0"],
        ["damaged", "d-VTI", "1"]
      ]
      for (const [seq, [runId, order, quantity]] of fills.entries()) {
        yield* sql`INSERT INTO fills (run_id, seq, client_order_id, symbol, side, kind, quantity, price, commission,
            recorded_at)
          VALUES (${runId}, ${seq + 1}, ${order}, 'VTI', 'buy', 'partial_fill', ${quantity}, '10', '0', ${T0 + seq})`
      }
    }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))

  const cumulative = Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ client_order_id: string; cumulative_quantity: string | null }>`
      SELECT client_order_id, cumulative_quantity FROM fills ORDER BY seq`.withoutTransform
  )

  it.effect("keys each fill by the running sum of its order's quantities, in the order they were booked", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* oldDatabase(file)
      const { fills, column } = yield* onFile(
        file,
        Effect.gen(function*() {
          return { fills: yield* (yield* Store).fills("r1"), column: yield* cumulative }
        })
      )
      expect(fills.map((f) => [f.clientOrderId, format(f.cumulativeQuantity)])).toEqual([
        ["r1-VTI", "1.5"],
        ["r1-BND", "7"],
        ["r1-VTI", "3.75"],
        ["r1-VTI", "4"]
      ])
      // Canonical text; a fill whose quantity does not read, or is zero, keeps no key and takes no other's.
      expect(column.map((row) => row.cumulative_quantity)).toEqual(["1.5", "7", "3.75", "4", "2", null, null, "3"])
    }))

  it.effect("is atomic: when the backfill fails, nothing of it is left and it is not recorded; a retry applies it", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* oldDatabase(file)
      const raw = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
        Effect.provide(effect, SqliteClient.layer({ filename: file }))
      yield* raw(Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`CREATE TRIGGER refuse_backfill BEFORE UPDATE ON fills
          WHEN OLD.quantity = '7' BEGIN SELECT RAISE(ABORT, 'backfill refused'); END`))

      const failed = yield* Effect.flip(onFile(file, Effect.void))
      expect(failed).toMatchObject({ operation: "open", database: file })
      expect(failed.message).toContain("backfill refused")
      const left = yield* raw(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const columns = (yield* sql<{ name: string }>`PRAGMA table_info(fills)`).map((c) => c.name)
        const tables = (yield* describeSchema).schema.map((o) => o.name)
        return { columns, tables, recorded: (yield* describeSchema).recorded.map((r) => r.migration_id) }
      }))
      expect(left.columns).not.toContain("cumulative_quantity")
      expect(left.tables).not.toContain("account_leases")
      expect(left.tables).toContain("fills_by_order")
      expect(left.recorded).toEqual([1, 2, 3, 4, 5, 6, 7])

      yield* raw(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP TRIGGER refuse_backfill`))
      const column = yield* onFile(file, cumulative)
      expect(column.map((row) => row.cumulative_quantity)).toEqual(["1.5", "7", "3.75", "4", "2", null, null, "3"])
    }))
})

describe("notification deliveries", () => {
  it.effect("0009 on a database at 8 adds the table and keeps the runs; deliveries read back per subject, in order", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* Effect.gen(function*() {
        yield* Migrator.make({})({ loader: Migrator.fromRecord(migrationsBefore(9)) })
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO runs (id, account, mode, status, step, reason, started_at, finished_at)
          VALUES ('r1', 'acct-1', 'execute', 'completed', 'done', NULL, ${T0}, ${T0 + 1})`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))

      const { run, r1, fleet, other, recorded } = yield* onFile(
        file,
        Effect.gen(function*() {
          const store = yield* Store
          yield* store.saveDeliveries([
            { subject: "r1", channel: "ops", status: "failed", attempts: 3, error: "EAUTH: Invalid login", at: T0 + 5 },
            { subject: "fleet-1", channel: "chat", status: "delivered", attempts: 1, at: T0 + 6 },
            { subject: "r1", channel: "chat", fleetId: "fleet-1", status: "delivered", attempts: 2, at: T0 + 6 }
          ])
          yield* store.saveDeliveries([])
          return {
            run: yield* store.getRun("r1"),
            r1: yield* store.deliveries("r1"),
            fleet: yield* store.deliveries("fleet-1"),
            other: yield* store.deliveries("r2"),
            recorded: (yield* describeSchema).recorded.map((r) => r.migration_id)
          }
        })
      )
      expect(recorded).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
      expect(Option.isSome(run)).toBe(true)
      expect(r1).toStrictEqual([
        { subject: "r1", channel: "ops", status: "failed", attempts: 3, error: "EAUTH: Invalid login", at: T0 + 5 },
        { subject: "r1", channel: "chat", fleetId: "fleet-1", status: "delivered", attempts: 2, at: T0 + 6 }
      ])
      expect(fleet).toStrictEqual([{
        subject: "fleet-1",
        channel: "chat",
        status: "delivered",
        attempts: 1,
        at: T0 + 6
      }])
      expect(other).toEqual([])
    }))

  it.effect("a batch is one transaction: a record that cannot be stored stores none of them", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const { error, stored } = yield* onFile(
        file,
        Effect.gen(function*() {
          const store = yield* Store
          const error = yield* expectStoreError(store.saveDeliveries([
            { subject: "r1", channel: "ops", status: "delivered", attempts: 1, at: T0 },
            { subject: "r1", channel: "ops", status: "delivered", attempts: 1.5, at: T0 }
          ]))
          return { error, stored: yield* store.deliveries("r1") }
        })
      )
      expect(error.message).toMatch(/^cannot store notification_deliveries\.attempts/)
      expect(stored).toEqual([])
    }))
})

layer(storeWithSql(":memory:"))(":memory: store", (it) => {
  it.effect("round-trips a run with steps, plans, intents, updates, fills and account states exactly", () =>
    Effect.gen(function*() {
      yield* writeFullRun("mem-r1")
      yield* expectFullRun("mem-r1")
    }))

  it.effect("getRun of an unknown run is None; reads of an unknown run are empty", () =>
    Effect.gen(function*() {
      const store = yield* Store
      expect(Option.isNone(yield* store.getRun("nope"))).toBe(true)
      expect(yield* store.steps("nope")).toEqual([])
      expect(yield* store.intents("nope")).toEqual([])
      expect(yield* store.fills("nope")).toEqual([])
      expect(yield* store.accounts("nope")).toEqual([])
      expect(yield* store.plans("nope")).toEqual([])
    }))
})

describe("file store", () => {
  it.effect("stores decimals as plain TEXT, times as integers, positions as JSON text", () =>
    Effect.gen(function*() {
      yield* writeFullRun("mem-r2")
      const sql = yield* SqlClient.SqlClient
      const intents = yield* sql<{ quantity: string; price: string; created_at: number }>`
        SELECT quantity, price, created_at FROM order_intents WHERE run_id = 'mem-r2' ORDER BY seq`
      expect(intents).toEqual([
        { quantity: "0.000001", price: "123456789.123456789", created_at: T0 + 10 },
        { quantity: "12.5", price: "72.31", created_at: T0 + 20 }
      ])
      const [start] = yield* sql<{ positions: string }>`
        SELECT positions FROM account_states WHERE run_id = 'mem-r2' AND stage = 'start'`
      expect(start?.positions).toBe(`[{"symbol":"VTI","quantity":"3.000001"},{"symbol":"BND","quantity":"-2"}]`)
      const attributions = yield* sql<{ attribution: string | null }>`
        SELECT attribution FROM order_intents WHERE run_id = 'mem-r2' ORDER BY seq`
      expect(attributions).toEqual([
        {
          attribution:
            `[{"strategy":"core","weight":"0.36"},{"strategy":"outer/growth","weight":"0.00000000000000000001"}]`
        },
        { attribution: "[]" }
      ])
    }).pipe(Effect.provide(storeWithSql(freshFile()))))

  it.effect("round-trips a full run on a SQLite file", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* onFile(file, writeFullRun("file-r1"))
      yield* onFile(file, expectFullRun("file-r1"))
    }))

  it.effect("a run survives closing the layer and reopening the same file (process restart)", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const inProcess = <A, E>(effect: Effect.Effect<A, E, Store>) => onFile(file, effect)

      // Process 1: the run starts, reaches "sell-phase" and writes an intent, then dies.
      yield* inProcess(Effect.gen(function*() {
        const store = yield* Store
        const lease = yield* takeLease("crash-1")
        yield* store.startRun(run("crash-1", { step: "load" }), lease)
        yield* store.recordStep("crash-1", "plan", "{}", T0 + 1, lease)
        yield* store.recordStep("crash-1", "sell-phase", "{}", T0 + 2, lease)
        yield* store.saveIntent(sellIntent("crash-1", "crash-1-sell"), lease)
      }))
      // Nothing of the old connection is left open: the WAL was checkpointed away.
      expect(Fs.existsSync(`${file}-wal`)).toBe(false)

      // Process 2: finds the run where it stopped, and carries on numbering its steps.
      yield* inProcess(Effect.gen(function*() {
        const store = yield* Store
        const lease = yield* takeLease("restart-1")
        const found = yield* store.getRun("crash-1")
        assert.isTrue(Option.isSome(found))
        if (Option.isSome(found)) {
          expect(found.value.status).toBe("running")
          expect(found.value.step).toBe("sell-phase")
        }
        const intents = yield* store.intents("crash-1")
        expect(intents.map(plain)).toStrictEqual([plain(sellIntent("crash-1", "crash-1-sell"))])
        // Still the same id forever: a restarted run cannot reuse it.
        yield* expectStoreError(store.saveIntent(sellIntent("crash-1", "crash-1-sell"), lease))
        yield* store.updateIntent("crash-1-sell", { status: "unknown", reason: "restart", at: T0 + 100 }, lease)
        yield* store.recordStep("crash-1", "sell-wait", "{}", T0 + 101, lease)
        yield* store.finishRun("crash-1", "aborted", "restarted", T0 + 102, lease)
      }))

      // Process 3: reads the finished run.
      const [found, steps, intents] = yield* inProcess(Effect.gen(function*() {
        const store = yield* Store
        return [yield* store.getRun("crash-1"), yield* store.steps("crash-1"), yield* store.intents("crash-1")] as const
      }))
      expect(Option.getOrUndefined(found)).toStrictEqual({
        ...run("crash-1"),
        status: "aborted",
        step: "sell-wait",
        reason: "restarted",
        finishedAt: T0 + 102
      })
      expect(steps.map((s) => [s.seq, s.step])).toEqual([[1, "plan"], [2, "sell-phase"], [3, "sell-wait"]])
      expect(intents.map((i) => [i.status, i.reason, i.updatedAt])).toEqual([["unknown", "restart", T0 + 100]])
    }))
})

describe("intents", () => {
  it.effect("a client order id is stored once, ever: a duplicate is a StoreError and changes nothing", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("r1")
      yield* store.startRun(run("r1"), lease)
      yield* store.startRun(run("r2"), lease)
      yield* store.saveIntent(sellIntent("r1", "dup-1"), lease)

      const again = yield* expectStoreError(
        store.saveIntent({ ...sellIntent("r1", "dup-1"), quantity: dec("5") }, lease)
      )
      expect(again.operation).toBe("saveIntent")
      expect(again.message).toContain("dup-1")
      // Not even under another run.
      yield* expectStoreError(store.saveIntent(sellIntent("r2", "dup-1"), lease))

      expect((yield* store.intents("r1")).map(plain)).toStrictEqual([plain(sellIntent("r1", "dup-1"))])
      expect(yield* store.intents("r2")).toEqual([])
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("an unknown attribution is stored as NULL and read back unknown, apart from no attribution ([])", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("r1")
      const sql = yield* SqlClient.SqlClient
      yield* store.startRun(run("r1"), lease)
      yield* store.saveIntent({ ...sellIntent("r1", "unknown-1"), attribution: Option.none() }, lease)
      yield* store.saveIntent({ ...sellIntent("r1", "plain-1"), attribution: Option.some([]) }, lease)
      expect((yield* store.intents("r1")).map((i) => [i.clientOrderId, i.attribution])).toStrictEqual([
        ["unknown-1", Option.none()],
        ["plain-1", Option.some([])]
      ])
      expect(yield* sql`SELECT attribution FROM order_intents ORDER BY seq`).toEqual([
        { attribution: null },
        { attribution: "[]" }
      ])
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("the primary key alone rejects a duplicate (the guard holds for a concurrent writer)", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("r1")
      const sql = yield* SqlClient.SqlClient
      yield* store.startRun(run("r1"), lease)
      yield* store.saveIntent(sellIntent("r1", "dup-2"), lease)
      const error = yield* Effect.flip(sql`INSERT INTO order_intents
        (client_order_id, run_id, seq, phase, symbol, side, quantity, price, status, filled_quantity,
         created_at, updated_at)
        VALUES ('dup-2', 'r1', 99, 'sell', 'VTI', 'sell', '1', '1', 'pending', '0', 1, 1)`)
      expect(error.reason._tag).toBe("UniqueViolation")
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("updateIntent changes status, filled quantity and average price; absent fields keep their value", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("r1")
      yield* store.startRun(run("r1"), lease)
      yield* store.saveIntent(sellIntent("r1", "u-1"), lease)

      yield* store.updateIntent("u-1", { status: "accepted", brokerOrderId: "b-9", at: T0 + 1 }, lease)
      yield* store.updateIntent("u-1", {
        status: "partially_filled",
        filledQuantity: dec("0.0000005"),
        averageFillPrice: dec("99.999999999999999999"),
        at: T0 + 2
      }, lease)
      const [partial] = yield* store.intents("r1")
      expect(plain(partial)).toMatchObject({
        status: "partially_filled",
        brokerOrderId: "b-9",
        filledQuantity: "0.0000005",
        averageFillPrice: "99.999999999999999999",
        updatedAt: T0 + 2,
        createdAt: T0 + 10
      })

      yield* store.updateIntent("u-1", { status: "canceled", reason: "day ended", at: T0 + 3 }, lease)
      const [canceled] = yield* store.intents("r1")
      expect(plain(canceled)).toStrictEqual({
        ...(plain(sellIntent("r1", "u-1")) as object),
        status: "canceled",
        brokerOrderId: "b-9",
        filledQuantity: "0.0000005",
        averageFillPrice: "99.999999999999999999",
        reason: "day ended",
        updatedAt: T0 + 3
      })

      const missing = yield* expectStoreError(store.updateIntent("no-such-id", { status: "filled", at: T0 }, lease))
      expect(missing.operation).toBe("updateIntent")
      expect(missing.message).toContain("no-such-id")
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("a decimal that could not be read back is refused at write time, and nothing is stored", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("r1")
      yield* store.startRun(run("r1"), lease)
      // 21 decimal places: beyond Keel's limit, so parseDecimal would reject it on read.
      const tooFine = dec("0.00000000000000000001").times(dec("0.1"))
      const error = yield* expectStoreError(
        store.saveIntent({ ...sellIntent("r1", "fine-1"), quantity: tooFine }, lease)
      )
      expect(error.operation).toBe("saveIntent")
      expect(error.message).toContain("order_intents.quantity")
      expect(yield* store.intents("r1")).toEqual([])
      // The failed attempt did not burn the id.
      yield* store.saveIntent(sellIntent("r1", "fine-1"), lease)
      expect((yield* store.intents("r1")).length).toBe(1)

      const badTime = yield* expectStoreError(store.startRun(run("r2", { startedAt: 1.5 }), lease))
      expect(badTime.message).toContain("runs.started_at")
      expect(Option.isNone(yield* store.getRun("r2"))).toBe(true)
    }).pipe(Effect.provide(storeWithSql(":memory:"))))
})

describe("accountFills", () => {
  it.effect("reads an account's fills across its runs from a time on, and no other account's", () =>
    Effect.gen(function*() {
      const store = yield* Store
      yield* writeFullRun("r1")
      const other = yield* takeLease("r2", "acct-2")
      yield* store.startRun(run("r2", { account: "acct-2" }), other)
      expect(yield* store.accountFills("acct-1", 0)).toStrictEqual([fill("r1")])
      expect(yield* store.accountFills("acct-1", T0 + 40)).toStrictEqual([fill("r1")])
      expect(yield* store.accountFills("acct-1", T0 + 41)).toStrictEqual([])
      expect(yield* store.accountFills("acct-2", 0)).toStrictEqual([])
    }).pipe(Effect.provide(storeWithSql(":memory:"))))
})

describe("runs", () => {
  it.effect("listRuns is newest first (ties by id, descending), filtered by account, limited", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("r1")
      const other = yield* takeLease("b", "acct-2")
      yield* store.startRun(run("a", { account: "acct-1", startedAt: 100 }), lease)
      yield* store.startRun(run("b", { account: "acct-2", startedAt: 300 }), other)
      yield* store.startRun(run("c", { account: "acct-1", startedAt: 200 }), lease)
      yield* store.startRun(run("d", { account: "acct-1", startedAt: 200, mode: "preview" }), lease)

      const ids = (runs: ReadonlyArray<Run>) => runs.map((r) => r.id)
      expect(ids(yield* store.listRuns(undefined, 10))).toEqual(["b", "d", "c", "a"])
      expect(ids(yield* store.listRuns("acct-1", 10))).toEqual(["d", "c", "a"])
      expect(ids(yield* store.listRuns("acct-2", 10))).toEqual(["b"])
      expect(ids(yield* store.listRuns("acct-3", 10))).toEqual([])
      expect(ids(yield* store.listRuns(undefined, 2))).toEqual(["b", "d"])
      expect(ids(yield* store.listRuns("acct-1", 1))).toEqual(["d"])
      expect(yield* store.listRuns(undefined, 0)).toEqual([])
      expect((yield* store.listRuns("acct-1", 1))[0]).toStrictEqual(
        run("d", { account: "acct-1", startedAt: 200, mode: "preview" })
      )

      const bad = yield* expectStoreError(store.listRuns(undefined, -1))
      expect(bad.operation).toBe("listRuns")
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("recordStep appends seq 1, 2, … per run and moves the run's step", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("r1")
      yield* store.startRun(run("r1"), lease)
      yield* store.startRun(run("r2"), lease)
      yield* store.recordStep("r1", "snapshot", "{}", T0 + 1, lease)
      yield* store.recordStep("r2", "snapshot", "{}", T0 + 2, lease)
      yield* store.recordStep("r1", "guards", `{"ok":true}`, T0 + 3, lease)
      expect((yield* store.steps("r1")).map((s) => [s.seq, s.step, s.detail])).toEqual([
        [1, "snapshot", "{}"],
        [2, "guards", `{"ok":true}`]
      ])
      expect((yield* store.steps("r2")).map((s) => s.seq)).toEqual([1])
      expect(Option.map(yield* store.getRun("r1"), (r) => r.step)).toEqual(Option.some("guards"))
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("recordStep is one transaction: when the step cannot be appended the run's step does not move", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("r1")
      const sql = yield* SqlClient.SqlClient
      yield* store.startRun(run("r1"), lease)
      yield* store.recordStep("r1", "snapshot", "{}", T0 + 1, lease)
      yield* sql`DROP TABLE run_steps`
      const error = yield* expectStoreError(store.recordStep("r1", "guards", "{}", T0 + 2, lease))
      expect(error.operation).toBe("recordStep")
      expect(Option.map(yield* store.getRun("r1"), (r) => r.step)).toEqual(Option.some("snapshot"))
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("writes for an unknown run, or a second run with the same id, are StoreErrors", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("r1")
      yield* store.startRun(run("r1"), lease)

      const dup = yield* expectStoreError(store.startRun(run("r1"), lease))
      expect(dup.operation).toBe("startRun")
      expect(dup.message).toBe("UNIQUE constraint failed: runs.id")

      const step = yield* expectStoreError(store.recordStep("ghost", "plan", "{}", T0, lease))
      expect(step).toMatchObject({ operation: "recordStep", message: "no run ghost" })
      expect(yield* store.steps("ghost")).toEqual([])

      const finish = yield* expectStoreError(store.finishRun("ghost", "failed", "x", T0, lease))
      expect(finish.operation).toBe("finishRun")

      // Nothing may hang off a run, or an intent, that does not exist.
      const filled = { status: "filled", at: T0 } as const
      expect(yield* expectStoreError(store.bookFill(fill("ghost"), filled, lease))).toMatchObject({
        operation: "bookFill",
        message: "no intent with client order id keel-r1-sell-1"
      })
      expect((yield* expectStoreError(store.saveIntent(sellIntent("ghost"), lease))).operation).toBe("saveIntent")
      expect((yield* expectStoreError(store.saveAccount(accountFinal("ghost"), lease))).operation).toBe("saveAccount")
      expect((yield* expectStoreError(store.savePlan("ghost", "plan", "{}", lease))).operation).toBe("savePlan")
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("finishRun records status, reason and time, once: a run that ended stays as it ended", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("r1")
      yield* store.startRun(run("r1"), lease)
      yield* store.finishRun("r1", "timed_out", "sells did not fill", T0 + 9, lease)
      expect(Option.getOrUndefined(yield* store.getRun("r1"))).toStrictEqual({
        ...run("r1"),
        status: "timed_out",
        reason: "sells did not fill",
        finishedAt: T0 + 9
      })
      yield* store.finishRun("r1", "crashed", undefined, T0 + 10, lease)
      expect(Option.getOrUndefined(yield* store.getRun("r1"))).toStrictEqual({
        ...run("r1"),
        status: "timed_out",
        reason: "sells did not fill",
        finishedAt: T0 + 9
      })
    }).pipe(Effect.provide(storeWithSql(":memory:"))))
})

describe("corrupt rows", () => {
  /** Writes a full run, damages one column with raw SQL, and returns the StoreError of `read`. */
  const damaged = <A>(
    damage: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>,
    read: (store: Store["Service"]) => Effect.Effect<A, StoreError>
  ) =>
    Effect.gen(function*() {
      yield* writeFullRun("r1")
      const sql = yield* SqlClient.SqlClient
      const store = yield* Store
      yield* Effect.orDie(damage(sql))
      return yield* expectStoreError(read(store))
    }).pipe(Effect.provide(storeWithSql(":memory:")))

  it.effect("a bad decimal is a StoreError naming the table and column", () =>
    Effect.gen(function*() {
      const error = yield* damaged(
        (sql) => sql`UPDATE order_intents SET quantity = 'abc' WHERE client_order_id = 'keel-r1-buy-1'`,
        (store) => store.intents("r1")
      )
      expect(error.operation).toBe("intents")
      expect(error.message).toBe(
        `corrupt value in order_intents.quantity (row client_order_id="keel-r1-buy-1"): Expected a decimal, got "abc"`
      )
    }))

  it.effect("a decimal beyond Keel's limits is refused on read too", () =>
    Effect.gen(function*() {
      const error = yield* damaged(
        (sql) => sql`UPDATE fills SET commission = '1e99'`,
        (store) => store.fills("r1")
      )
      expect(error.message).toContain("fills.commission")
    }))

  it.effect("a bad quantity inside the positions JSON names the column and the element", () =>
    Effect.gen(function*() {
      const error = yield* damaged(
        (sql) => sql`UPDATE account_states SET positions = '[{"symbol":"VTI","quantity":"x1"}]' WHERE stage = 'start'`,
        (store) => store.accounts("r1")
      )
      expect(error.message).toContain("account_states.positions[0].quantity")
    }))

  it.effect("an attribution that is not JSON, or whose weight is not a decimal, names the column, element and row", () =>
    Effect.gen(function*() {
      const notJson = yield* damaged(
        (sql) => sql`UPDATE order_intents SET attribution = 'core' WHERE client_order_id = 'keel-r1-sell-1'`,
        (store) => store.intents("r1")
      )
      expect(notJson.message).toContain(
        `corrupt value in order_intents.attribution (row client_order_id="keel-r1-sell-1")`
      )

      const weight = yield* damaged(
        (sql) =>
          sql`UPDATE order_intents SET attribution = '[{"strategy":"core","weight":0.5}]'
            WHERE client_order_id = 'keel-r1-buy-1'`,
        (store) => store.intents("r1")
      )
      expect(weight.message).toBe(
        `corrupt value in order_intents.attribution[0].weight (row client_order_id="keel-r1-buy-1"): ` +
          "Expected string, got 0.5"
      )
    }))

  it.effect("positions that are not JSON, an unknown status or mode, and a bad or fractional time are caught", () =>
    Effect.gen(function*() {
      const notJson = yield* damaged(
        (sql) => sql`UPDATE account_states SET positions = 'not json'`,
        (store) => store.accounts("r1")
      )
      expect(notJson.message).toContain("account_states.positions")

      const status = yield* damaged(
        (sql) => sql`UPDATE runs SET status = 'paused'`,
        (store) => store.getRun("r1")
      )
      expect(status.operation).toBe("getRun")
      expect(status.message).toContain("runs.status")
      expect(status.message).toContain("paused")

      const listed = yield* damaged(
        (sql) => sql`UPDATE runs SET mode = 'live'`,
        (store) => store.listRuns(undefined, 10)
      )
      expect(listed.message).toContain("runs.mode")

      const time = yield* damaged(
        (sql) => sql`UPDATE run_steps SET recorded_at = 'yesterday' WHERE seq = 2`,
        (store) => store.steps("r1")
      )
      expect(time.message).toContain("run_steps.recorded_at")

      const fraction = yield* damaged(
        (sql) => sql`UPDATE order_intents SET created_at = 1.5`,
        (store) => store.intents("r1")
      )
      expect(fraction.message).toContain("order_intents.created_at")
    }))
})

describe("generic SqlClient", () => {
  it.effect("integers read as bigint (SafeIntegers) decode to the same numbers", () =>
    Effect.gen(function*() {
      yield* writeFullRun("r1")
      yield* expectFullRun("r1").pipe(Effect.provideService(SqlClient.SafeIntegers, true))
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("a client that renames result columns (snake_case → camelCase) does not confuse the store", () =>
    Effect.gen(function*() {
      yield* writeFullRun("r1")
      yield* expectFullRun("r1")
    }).pipe(Effect.provide(Layer.provideMerge(
      StoreSql.layer({ database: ":memory:" }),
      SqliteClient.layer({
        filename: ":memory:",
        transformResultNames: (name) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
        transformQueryNames: (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
      })
    ))))
})

describe("bookFill", () => {
  /** A run with one sell intent (keel-r1-sell-1), and its lease. */
  const withIntent = Effect.gen(function*() {
    const store = yield* Store
    const lease = yield* takeLease("r1")
    yield* store.startRun(run("r1"), lease)
    yield* store.saveIntent({ ...sellIntent("r1"), quantity: dec("1") }, lease)
    return { store, lease }
  })
  const part = (quantity: string, cumulative: string) => ({
    ...fill("r1"),
    kind: "partial_fill" as const,
    quantity: dec(quantity),
    cumulativeQuantity: dec(cumulative)
  })
  const partially = (filled: string, at: number) =>
    ({ status: "partially_filled", filledQuantity: dec(filled), at }) as const

  it.effect("books a fill once per (order, cumulative quantity), and applies the intent's change every time", () =>
    Effect.gen(function*() {
      const { lease, store } = yield* withIntent
      yield* store.bookFill(part("0.4", "0.4"), partially("0.4", T0 + 41), lease)
      // The same fill again (a replayed update, recovery after a crash): not stored twice.
      yield* store.bookFill(part("0.4", "0.4"), partially("0.4", T0 + 42), lease)
      yield* store.bookFill(part("0.6", "1.00"), { status: "filled", filledQuantity: dec("1"), at: T0 + 43 }, lease)
      // The key is the decimal, not its spelling.
      yield* store.bookFill(part("0.6", "1"), { status: "filled", filledQuantity: dec("1"), at: T0 + 44 }, lease)

      expect((yield* store.fills("r1")).map((f) => [format(f.quantity), format(f.cumulativeQuantity)])).toEqual([
        ["0.4", "0.4"],
        ["0.6", "1"]
      ])
      const [intent] = yield* store.intents("r1")
      expect(plain(intent)).toMatchObject({ status: "filled", filledQuantity: "1", updatedAt: T0 + 44 })
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("is one transaction: when the intent cannot be updated, the fill is not booked either", () =>
    Effect.gen(function*() {
      const { lease, store } = yield* withIntent
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TRIGGER refuse_update BEFORE UPDATE ON order_intents
        BEGIN SELECT RAISE(ABORT, 'intent update refused'); END`
      const error = yield* expectStoreError(store.bookFill(part("0.4", "0.4"), partially("0.4", T0 + 41), lease))
      expect(error).toMatchObject({ operation: "bookFill", message: "intent update refused", database: ":memory:" })
      expect(yield* store.fills("r1")).toEqual([])
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("refuses a fill that names another run than its intent's, and books nothing", () =>
    Effect.gen(function*() {
      const { lease, store } = yield* withIntent
      yield* store.startRun(run("r2"), lease)
      const error = yield* expectStoreError(
        store.bookFill({ ...part("0.4", "0.4"), runId: "r2" }, partially("0.4", T0 + 41), lease)
      )
      expect(error.message).toBe("the fill of keel-r1-sell-1 names run r2, but its intent is run r1's")
      expect(yield* store.fills("r2")).toEqual([])
      expect((yield* store.intents("r1"))[0]?.status).toBe("pending")
    }).pipe(Effect.provide(storeWithSql(":memory:"))))
})

describe("unsettledRuns", () => {
  it.effect("are the account's runs still running or with an intent not final, oldest first, the current run excepted", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const lease = yield* takeLease("current")
      /** A run of acct-1 that ended `status`, with intents left in `intents`. */
      const ended = (
        id: string,
        startedAt: number,
        status: FinalStatus | "running",
        intents: ReadonlyArray<IntentStatus>
      ) =>
        Effect.gen(function*() {
          yield* store.startRun(run(id, { startedAt }), lease)
          for (const [i, intentStatus] of intents.entries()) {
            yield* store.saveIntent({ ...sellIntent(id, `${id}-${i}`), status: intentStatus }, lease)
          }
          if (status !== "running") yield* store.finishRun(id, status, undefined, startedAt + 1, lease)
        })
      yield* ended("open-order", 300, "completed", ["filled", "accepted"])
      yield* ended("crashed-earlier", 100, "running", [])
      yield* ended("clean", 200, "completed", ["filled", "canceled", "rejected", "expired", "unsent"])
      yield* ended("unknown-answer", 400, "failed", ["unknown"])
      yield* ended("never-sent", 500, "crashed", ["pending"])
      yield* ended("current", 600, "running", ["pending"])
      const other = yield* takeLease("elsewhere", "acct-2")
      yield* store.startRun(run("elsewhere", { account: "acct-2", startedAt: 50 }), other)

      const unsettled = yield* store.unsettledRuns("acct-1", "current")
      expect(unsettled.map((r) => r.id)).toEqual(["crashed-earlier", "open-order", "unknown-answer", "never-sent"])
      expect(unsettled[0]).toStrictEqual(run("crashed-earlier", { startedAt: 100 }))
      expect(yield* store.unsettledRuns("acct-3", "current")).toEqual([])
    }).pipe(Effect.provide(storeWithSql(":memory:"))))
})
