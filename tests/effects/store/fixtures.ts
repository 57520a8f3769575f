/**
 * What the Store tests share: runs, intents and fills written as a run writes them, a lease to
 * write them under, temp database files, and comparing decimals by their exact text.
 */
import { afterAll, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as SqlClient from "effect/sql/SqlClient"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as SqliteClient from "../../../src/effects/sql/SqliteClient.ts"
import {
  type AccountRecord,
  type FillRecord,
  type Lease,
  LeaseLost,
  type OrderIntent,
  type Run,
  Store,
  StoreError
} from "../../../src/effects/Store.ts"
import * as StoreSql from "../../../src/effects/store/sql.ts"
import { Decimal, format, parseDecimal } from "../../../src/kernel/decimal.ts"

/** Database paths in a temp folder of the test file's own, removed after its tests. */
export const tempFiles = (prefix: string) => {
  const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  afterAll(() => Fs.rmSync(root, { recursive: true, force: true }))
  let counter = 0
  /** A database file in a folder that does not exist yet. */
  return () => Path.join(root, `case-${++counter}`, "keel.db")
}

/** The Store plus the raw SqlClient (to inspect or damage rows behind the Store's back). */
export const storeWithSql = (filename: string) =>
  Layer.provideMerge(StoreSql.layer({ database: filename }), SqliteClient.layer({ filename }))

/** Opens the Store (which migrates) on a file, runs `effect` with the raw SqlClient too, and closes it. */
export const onFile = <A, E>(file: string, effect: Effect.Effect<A, E, Store | SqlClient.SqlClient>) =>
  Effect.provide(effect, storeWithSql(file))

export const dec = (text: string): Decimal => {
  const d = parseDecimal(text)
  if (typeof d === "string") throw new Error(`bad test decimal ${text}`)
  return d
}

/** Decimals → their text, recursively (inside Options too), so results compare by exact value and shape. */
export const plain = (value: unknown): unknown => {
  if (value instanceof Decimal) return format(value)
  if (Option.isOption(value)) return Option.map(value, plain)
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  }
  return value
}

/** Fails the test unless `effect` fails with a StoreError; returns it. */
export const expectStoreError = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.flip(effect), (error) => {
    assert.instanceOf(error, StoreError)
    return Effect.succeed(error)
  })

export const T0 = 1_700_000_000_000

export const run = (id: string, overrides: Partial<Run> = {}): Run => ({
  id,
  account: "acct-1",
  mode: "execute",
  status: "running",
  step: "load",
  startedAt: T0,
  ...overrides
})

export const sellIntent = (runId: string, clientOrderId = "keel-r1-sell-1"): OrderIntent => ({
  clientOrderId,
  runId,
  phase: "sell",
  symbol: "VTI",
  side: "sell",
  quantity: dec("0.000001"),
  price: dec("123456789.123456789"),
  attribution: Option.some([
    { strategy: "core", weight: dec("0.36") },
    { strategy: "outer/growth", weight: dec("0.00000000000000000001") }
  ]),
  status: "pending",
  filledQuantity: dec("0"),
  createdAt: T0 + 10,
  updatedAt: T0 + 10
})

export const buyIntent = (runId: string): OrderIntent => ({
  clientOrderId: "keel-r1-buy-1",
  runId,
  phase: "buy",
  symbol: "BND",
  side: "buy",
  quantity: dec("12.5"),
  price: dec("72.31"),
  // Plain targets: no attribution (which is not the same as an unknown one).
  attribution: Option.some([]),
  status: "unknown",
  brokerOrderId: "broker-77",
  filledQuantity: dec("0.5"),
  averageFillPrice: dec("72.30"),
  reason: "lost answer",
  createdAt: T0 + 20,
  updatedAt: T0 + 21
})

export const fill = (runId: string): FillRecord => ({
  clientOrderId: "keel-r1-sell-1",
  runId,
  symbol: "VTI",
  side: "sell",
  kind: "fill",
  quantity: dec("0.000001"),
  price: dec("123456789.123456789"),
  commission: dec("0.00000000000000000001"),
  cumulativeQuantity: dec("0.000001"),
  at: T0 + 40
})

export const accountStart = (runId: string): AccountRecord => ({
  runId,
  stage: "start",
  cash: dec("1000.01"),
  equity: dec("123456789012345.12345678901234567891"),
  positions: [{ symbol: "VTI", quantity: dec("3.000001") }, { symbol: "BND", quantity: dec("-2") }],
  at: T0 + 1
})

export const accountFinal = (runId: string): AccountRecord => ({
  runId,
  stage: "final",
  cash: dec("1123.4567"),
  equity: dec("2000"),
  positions: [],
  at: T0 + 50
})

/** Fails the test unless `effect` fails with LeaseLost; returns it. */
export const expectLeaseLost = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.flip(effect), (error) => {
    assert.instanceOf(error, LeaseLost)
    return Effect.succeed(error)
  })

/**
 * Takes the account's lease for `runId`, from whoever held it: the lease expires as it is
 * granted, so the next take succeeds too (a lease past its expiry still writes until taken over).
 */
export const takeLease = (runId: string, account = "acct-1"): Effect.Effect<Lease, never, Store> =>
  Effect.orDie(
    Effect.flatMap(Store, (store) =>
      store.acquireLease({ account, runId, pid: 4242, host: "test-host", at: T0, ttlMillis: 0 }))
  )
