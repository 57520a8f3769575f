import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as SqlClient from "effect/sql/SqlClient"
import { fileURLToPath } from "node:url"
import { type Lease, LeaseHeld, type LeaseRequest, Store } from "../../../src/effects/Store.ts"
import { runScript, startTogether } from "../sql/processes.ts"
import {
  accountStart,
  dec,
  expectLeaseLost,
  fill,
  plain,
  run,
  sellIntent,
  storeWithSql,
  T0,
  takeLease,
  tempFiles
} from "./fixtures.ts"

const freshFile = tempFiles("keel-lease-test-")

const request = (runId: string, at: number, overrides: Partial<LeaseRequest> = {}): LeaseRequest => ({
  account: "acct-1",
  runId,
  pid: 4711,
  host: "host-a",
  at,
  ttlMillis: 1000,
  ...overrides
})

/** Fails the test unless `effect` fails with LeaseHeld; returns the holder it names. */
const expectHeld = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.flip(effect), (error) => {
    expect(error).toBeInstanceOf(LeaseHeld)
    return Effect.succeed((error as LeaseHeld).holder)
  })

describe("acquireLease", () => {
  it.effect("grants a free account with token 1 and refuses it to another run until it expires", () =>
    Effect.gen(function*() {
      const store = yield* Store
      expect(yield* store.leaseHolder("acct-1")).toEqual(Option.none())
      const first = yield* store.acquireLease(request("r1", T0))
      expect(first).toStrictEqual({ account: "acct-1", runId: "r1", token: 1 })
      const holder = {
        account: "acct-1",
        runId: "r1",
        token: 1,
        pid: 4711,
        host: "host-a",
        acquiredAt: T0,
        heartbeatAt: T0,
        expiresAt: T0 + 1000
      }
      expect(yield* store.leaseHolder("acct-1")).toStrictEqual(Option.some(holder))
      expect(yield* expectHeld(store.acquireLease(request("r2", T0 + 999, { pid: 99 })))).toStrictEqual(holder)

      // The heartbeat moves the expiry, not the start.
      yield* store.renewLease(first, T0 + 500, 1000)
      const renewed = { ...holder, heartbeatAt: T0 + 500, expiresAt: T0 + 1500 }
      expect(yield* store.leaseHolder("acct-1")).toStrictEqual(Option.some(renewed))
      expect(yield* expectHeld(store.acquireLease(request("r2", T0 + 1499)))).toStrictEqual(renewed)

      // Expired: taken over, with the next token.
      const second = yield* store.acquireLease(request("r2", T0 + 1500, { pid: 99, host: "host-b" }))
      expect(second).toStrictEqual({ account: "acct-1", runId: "r2", token: 2 })
      expect(yield* store.leaseHolder("acct-1")).toStrictEqual(Option.some({
        account: "acct-1",
        runId: "r2",
        token: 2,
        pid: 99,
        host: "host-b",
        acquiredAt: T0 + 1500,
        heartbeatAt: T0 + 1500,
        expiresAt: T0 + 2500
      }))

      // Another account has a lease of its own.
      expect(yield* store.acquireLease(request("r9", T0, { account: "acct-2" }))).toStrictEqual({
        account: "acct-2",
        runId: "r9",
        token: 1
      })
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("replacing a run takes its lease at once, but only while that run holds it", () =>
    Effect.gen(function*() {
      const store = yield* Store
      yield* store.acquireLease(request("r1", T0))
      const wrong = yield* expectHeld(store.acquireLease(request("r2", T0 + 1, { replacing: "r0" })))
      expect(wrong.runId).toBe("r1")
      expect(yield* store.acquireLease(request("r2", T0 + 1, { replacing: "r1" }))).toStrictEqual({
        account: "acct-1",
        runId: "r2",
        token: 2
      })
      // r1 is no longer the holder to replace.
      expect((yield* expectHeld(store.acquireLease(request("r3", T0 + 2, { replacing: "r1" })))).runId).toBe("r2")
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("a lease released is free at once, and the token keeps growing", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const first = yield* store.acquireLease(request("r1", T0))
      yield* store.releaseLease(first)
      expect(yield* store.leaseHolder("acct-1")).toEqual(Option.none())
      const second = yield* store.acquireLease(request("r2", T0 + 1))
      expect(second.token).toBe(2)
      // Releasing a lease that was taken over leaves the new holder's alone.
      yield* store.releaseLease(first)
      expect(Option.map(yield* store.leaseHolder("acct-1"), (h) => h.runId)).toEqual(Option.some("r2"))
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("renewing a lease taken over is LeaseLost, and moves nothing", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const first = yield* store.acquireLease(request("r1", T0))
      yield* store.acquireLease(request("r2", T0 + 1000))
      const lost = yield* expectLeaseLost(store.renewLease(first, T0 + 1001, 1000))
      expect(lost).toMatchObject({ account: "acct-1", runId: "r1", operation: "renewLease" })
      expect(Option.map(yield* store.leaseHolder("acct-1"), (h) => h.expiresAt)).toEqual(Option.some(T0 + 2000))
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.live("two processes racing for the same accounts: each account goes to exactly one", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const script = fileURLToPath(new URL("leaseRacer.ts", import.meta.url))
      const at = startTogether()
      // One from the first account, one from the last: they meet in the middle.
      const results = yield* Effect.promise(() =>
        Promise.all([
          runScript(script, [file, "run-a", at, "200"]),
          runScript(script, [file, "run-b", at, "200", "reverse"])
        ])
      )
      expect(results.map((r) => [r.code, r.stderr])).toEqual([[0, ""], [0, ""]])
      const won = results.map((r) => JSON.parse(r.stdout) as ReadonlyArray<{ account: string; token: number }>)
      expect(won.flat().map((w) => w.account).sort()).toEqual(Array.from({ length: 200 }, (_, i) => `acct-${i}`).sort())
      expect(won.flat().every((w) => w.token === 1)).toBe(true)
    }))
})

describe("fencing", () => {
  /** acct-1's run r1 with an intent, written under a lease that r2 has since taken over. */
  const takenOver = Effect.gen(function*() {
    const store = yield* Store
    const old = yield* takeLease("r1")
    yield* store.startRun(run("r1"), old)
    yield* store.saveIntent(sellIntent("r1"), old)
    const current = yield* takeLease("r2")
    return { old, current }
  })

  /** Everything a run writes, so a test can see that nothing of it was. */
  const written = Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const count = (table: string) =>
      Effect.map(sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql(table)}`, (rows) => rows[0]?.n)
    return {
      runs: yield* sql`SELECT id, status, step, finished_at FROM runs ORDER BY id`,
      intents: yield* sql`SELECT client_order_id, status, updated_at FROM order_intents`,
      steps: yield* count("run_steps"),
      plans: yield* count("plans"),
      fills: yield* count("fills"),
      accounts: yield* count("account_states")
    }
  })

  /** Every write that takes a lease, each of acct-1's run r1 (or its intent). */
  const everyWrite = (lease: Lease) => {
    const store = Store.use((s) => Effect.succeed(s))
    return [
      Effect.flatMap(store, (s) => s.startRun(run("r3"), lease)),
      Effect.flatMap(store, (s) => s.recordStep("r1", "plan", "{}", T0 + 1, lease)),
      Effect.flatMap(store, (s) => s.finishRun("r1", "crashed", "lost", T0 + 2, lease)),
      Effect.flatMap(store, (s) => s.savePlan("r1", "plan", "{}", lease)),
      Effect.flatMap(store, (s) => s.saveIntent(sellIntent("r1", "keel-r1-sell-2"), lease)),
      Effect.flatMap(store, (s) => s.updateIntent("keel-r1-sell-1", { status: "canceled", at: T0 + 3 }, lease)),
      Effect.flatMap(
        store,
        (s) => s.bookFill(fill("r1"), { status: "filled", filledQuantity: dec("1"), at: T0 + 4 }, lease)
      ),
      Effect.flatMap(store, (s) => s.saveAccount(accountStart("r1"), lease)),
      Effect.flatMap(store, (s) => s.renewLease(lease, T0 + 5, 1000))
    ] as const
  }
  const operations = [
    "startRun",
    "recordStep",
    "finishRun",
    "savePlan",
    "saveIntent",
    "updateIntent",
    "bookFill",
    "saveAccount",
    "renewLease"
  ]

  it.effect("a lease taken over writes nothing: every write is LeaseLost", () =>
    Effect.gen(function*() {
      const { old } = yield* takenOver
      const before = yield* written
      for (const [i, write] of everyWrite(old).entries()) {
        const lost = yield* expectLeaseLost(write)
        expect(lost).toMatchObject({ account: "acct-1", runId: "r1", operation: operations[i] })
      }
      expect(yield* written).toStrictEqual(before)
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("the lease that took over writes the earlier run's rows (recovery), even past its expiry", () =>
    Effect.gen(function*() {
      const { current } = yield* takenOver
      // takeLease grants leases that expire at once: nobody has taken this one over, so it still writes.
      for (const write of everyWrite(current)) yield* write
      const after = yield* written
      expect(plain(after)).toMatchObject({ steps: 1, plans: 1, fills: 1, accounts: 1 })
      expect(after.runs).toEqual([
        { id: "r1", status: "crashed", step: "plan", finished_at: T0 + 2 },
        { id: "r3", status: "running", step: "load", finished_at: null }
      ])
    }).pipe(Effect.provide(storeWithSql(":memory:"))))

  it.effect("a lease writes only its own account's rows", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const other = yield* takeLease("b1", "acct-2")
      yield* store.startRun(run("b1", { account: "acct-2" }), other)
      yield* store.saveIntent(sellIntent("b1", "b1-sell"), other)
      const lease = yield* takeLease("r1")
      const before = yield* written

      const wrongAccount = [
        store.startRun(run("b2", { account: "acct-2" }), lease),
        store.recordStep("b1", "plan", "{}", T0, lease),
        store.finishRun("b1", "crashed", undefined, T0, lease),
        store.savePlan("b1", "plan", "{}", lease),
        store.saveIntent(sellIntent("b1", "b1-sell-2"), lease),
        store.updateIntent("b1-sell", { status: "canceled", at: T0 }, lease),
        store.bookFill({ ...fill("b1"), clientOrderId: "b1-sell" }, { status: "filled", at: T0 }, lease),
        store.saveAccount(accountStart("b1"), lease)
      ]
      for (const write of wrongAccount) {
        expect(yield* expectLeaseLost(write)).toMatchObject({ account: "acct-1", runId: "r1" })
      }
      expect(yield* written).toStrictEqual(before)
    }).pipe(Effect.provide(storeWithSql(":memory:"))))
})
