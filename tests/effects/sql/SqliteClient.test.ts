import { afterAll, assert, describe, expect, it, layer } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import { isSqlError, SqlError } from "effect/sql/SqlError"
import * as SqlSchema from "effect/sql/SqlSchema"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as SqliteClient from "../../../src/effects/sql/SqliteClient.ts"
import { runScript, startTogether } from "./processes.ts"

const tmpRoot = Fs.mkdtempSync(Path.join(Os.tmpdir(), "keel-sqlite-test-"))
afterAll(() => Fs.rmSync(tmpRoot, { recursive: true, force: true }))

let fileCounter = 0
/** A fresh database path inside a directory that does not exist yet. */
const freshFile = () => Path.join(tmpRoot, `case-${++fileCounter}`, "nested", "keel.db")

/** Fails the test unless `effect` fails with a SqlError; returns that error. */
const expectSqlError = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.flip(effect), (error) => {
    assert.isTrue(isSqlError(error), `expected a SqlError, got ${String(error)}`)
    return Effect.succeed(error as unknown as SqlError)
  })

// Decimal strings that a REAL column or a float round trip would mangle.
const decimals = [
  "0.1",
  "1.10",
  "-0.000",
  "100.00000000",
  "123456789012345678901234567890.123456789012345678901234567890",
  "0.30000000000000000000000000000001",
  "1e-7"
]

const Position = Schema.Struct({
  account: Schema.String,
  symbol: Schema.String,
  quantity: Schema.String,
  lots: Schema.Number
})

layer(SqliteClient.layer({ filename: ":memory:" }))(":memory: database", (it) => {
  it.effect("provides the generic SqlClient and the SqliteClient as the same client", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const sqlite = yield* SqliteClient.SqliteClient
      expect(sqlite).toBe(sql)
      expect(sql.driver).toBe("keel-sqlite")
      expect(sqlite.config.filename).toBe(":memory:")
      const [fk] = yield* sql<{ foreign_keys: number }>`PRAGMA foreign_keys`
      expect(fk?.foreign_keys).toBe(1)
    }))

  it.effect("creates, inserts and selects with tagged templates; values round-trip exactly", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE vals (
        id INTEGER PRIMARY KEY,
        amount TEXT NOT NULL,
        big INTEGER,
        note TEXT,
        payload BLOB,
        flag INTEGER
      )`
      for (const [i, amount] of decimals.entries()) {
        yield* sql`INSERT INTO vals (id, amount) VALUES (${i + 1}, ${amount})`
      }
      const rows = yield* sql<{ id: number; amount: string }>`SELECT id, amount FROM vals ORDER BY id`
      expect(rows.map((r) => r.amount)).toEqual(decimals)
      for (const row of rows) {
        expect(typeof row.amount).toBe("string")
        expect(Object.getPrototypeOf(row)).toBe(Object.prototype)
      }

      const payload = new Uint8Array([0, 1, 2, 254, 255])
      yield* sql`INSERT INTO vals ${
        sql.insert({ id: 100, amount: "5", big: 2n ** 40n, note: null, payload, flag: true })
      }`
      yield* sql`INSERT INTO vals ${sql.insert({ id: 101, amount: "6", note: undefined, flag: false })}`
      const [row100] = yield* sql<
        { big: number; note: null; payload: Uint8Array; flag: number }
      >`SELECT big, note, payload, flag FROM vals WHERE id = ${100}`
      expect(row100).toEqual({ big: 2 ** 40, note: null, payload, flag: 1 })
      expect(row100?.payload).toBeInstanceOf(Uint8Array)
      const [row101] = yield* sql<{ note: null; flag: number }>`SELECT note, flag FROM vals WHERE id = ${101}`
      expect(row101).toEqual({ note: null, flag: 0 })

      // identifiers and IN lists
      const some = yield* sql<{ id: number }>`SELECT ${sql("id")} FROM ${sql("vals")} WHERE id IN ${
        sql.in([1, 2, 100])
      } ORDER BY id`
      expect(some.map((r) => r.id)).toEqual([1, 2, 100])
    }))

  it.effect("inserts several rows with sql.insert and supports RETURNING", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE positions (
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        quantity TEXT NOT NULL,
        lots INTEGER NOT NULL,
        PRIMARY KEY (account, symbol)
      )`
      const inserted = yield* sql<{ symbol: string }>`INSERT INTO positions ${
        sql.insert([
          { account: "A", symbol: "VTI", quantity: "10.5", lots: 2 },
          { account: "A", symbol: "BND", quantity: "0.000001", lots: 1 },
          { account: "B", symbol: "VTI", quantity: "3", lots: 1 }
        ]).returning("symbol")
      }`
      expect(inserted.map((r) => r.symbol)).toEqual(["VTI", "BND", "VTI"])
      const count = yield* sql<{ n: number }>`SELECT count(*) AS n FROM positions`
      expect(count).toEqual([{ n: 3 }])
    }))

  it.effect("decodes rows with SqlSchema.findAll / findOne", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE holdings (
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        quantity TEXT NOT NULL,
        lots INTEGER NOT NULL,
        PRIMARY KEY (account, symbol)
      )`
      yield* sql`INSERT INTO holdings ${
        sql.insert([
          { account: "A", symbol: "VTI", quantity: "10.5", lots: 2 },
          { account: "A", symbol: "BND", quantity: "0.000001", lots: 1 },
          { account: "B", symbol: "VTI", quantity: "3", lots: 1 }
        ])
      }`
      const byAccount = SqlSchema.findAll({
        Request: Schema.String,
        Result: Position,
        execute: (account) => sql`SELECT * FROM holdings WHERE account = ${account} ORDER BY symbol`
      })
      const one = SqlSchema.findOne({
        Request: Schema.Struct({ account: Schema.String, symbol: Schema.String }),
        Result: Position,
        execute: ({ account, symbol }) => sql`SELECT * FROM holdings WHERE account = ${account} AND symbol = ${symbol}`
      })

      const a = yield* byAccount("A")
      expect(a).toEqual([
        { account: "A", symbol: "BND", quantity: "0.000001", lots: 1 },
        { account: "A", symbol: "VTI", quantity: "10.5", lots: 2 }
      ])
      expect(yield* byAccount("nobody")).toEqual([])

      const vti = yield* one({ account: "B", symbol: "VTI" })
      expect(vti).toEqual({ account: "B", symbol: "VTI", quantity: "3", lots: 1 })

      const missing = yield* Effect.flip(one({ account: "B", symbol: "BND" }))
      expect(Cause.isNoSuchElementError(missing)).toBe(true)

      // a row that does not match the schema is a SchemaError, not a silent cast
      const wrong = SqlSchema.findAll({
        Request: Schema.Void,
        Result: Schema.Struct({ quantity: Schema.Number }),
        execute: () => sql`SELECT quantity FROM holdings`
      })
      const err = yield* Effect.flip(wrong(undefined))
      expect(err._tag).toBe("SchemaError")
    }))

  it.effect("rolls back a failed transaction and commits a successful one", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE runs (id TEXT PRIMARY KEY, status TEXT NOT NULL)`

      const failed = yield* sql`INSERT INTO runs VALUES ('r1', 'started')`.pipe(
        Effect.andThen(sql`UPDATE runs SET status = 'planned' WHERE id = 'r1'`),
        Effect.andThen(Effect.fail("boom" as const)),
        sql.withTransaction,
        Effect.flip
      )
      expect(failed).toBe("boom")
      expect(yield* sql`SELECT * FROM runs WHERE id = 'r1'`).toEqual([])

      yield* sql`INSERT INTO runs VALUES ('r2', 'started')`.pipe(
        Effect.andThen(sql`UPDATE runs SET status = 'done' WHERE id = 'r2'`),
        sql.withTransaction
      )
      expect(yield* sql`SELECT * FROM runs`).toEqual([{ id: "r2", status: "done" }])
    }))

  it.effect("nested transactions use savepoints: an inner failure rolls back only the inner work", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE fills (id TEXT PRIMARY KEY)`
      yield* Effect.gen(function*() {
        yield* sql`INSERT INTO fills VALUES ('outer-1')`
        const inner = yield* sql`INSERT INTO fills VALUES ('inner')`.pipe(
          Effect.andThen(Effect.fail("inner failed" as const)),
          sql.withTransaction,
          Effect.flip
        )
        expect(inner).toBe("inner failed")
        // the inner savepoint commits into the outer transaction
        yield* sql.withTransaction(sql`INSERT INTO fills VALUES ('inner-ok')`)
        yield* sql`INSERT INTO fills VALUES ('outer-2')`
      }).pipe(sql.withTransaction)
      const ids = yield* sql<{ id: string }>`SELECT id FROM fills ORDER BY id`
      expect(ids.map((r) => r.id)).toEqual(["inner-ok", "outer-1", "outer-2"])

      // an outer failure also discards a committed savepoint
      yield* sql.withTransaction(sql`INSERT INTO fills VALUES ('lost')`).pipe(
        Effect.andThen(Effect.fail("outer failed")),
        sql.withTransaction,
        Effect.ignore
      )
      expect(yield* sql`SELECT id FROM fills WHERE id = 'lost'`).toEqual([])
    }))

  it.effect("serialises concurrent transactions on the single connection", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE counter (n INTEGER NOT NULL)`
      yield* sql`INSERT INTO counter VALUES (0)`
      const bump = Effect.gen(function*() {
        const [row] = yield* sql<{ n: number }>`SELECT n FROM counter`
        yield* Effect.yieldNow
        yield* sql`UPDATE counter SET n = ${(row?.n ?? 0) + 1}`
      }).pipe(sql.withTransaction)
      yield* Effect.all(Array.from({ length: 20 }, () => bump), { concurrency: "unbounded" })
      expect(yield* sql`SELECT n FROM counter`).toEqual([{ n: 20 }])
    }))

  it.effect("turns a SQL syntax error into a SqlError carrying the SQLite error", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const error = yield* expectSqlError(sql`SELEC 1`)
      expect(error._tag).toBe("SqlError")
      expect(error.reason._tag).toBe("SqlSyntaxError")
      expect(error.reason.operation).toBe("execute")
      expect(error.message).toMatch(/syntax error/)
      const cause = error.reason.cause as { code?: unknown; errcode?: unknown; message?: unknown }
      expect(cause).toBeInstanceOf(Error)
      expect(cause.code).toBe("ERR_SQLITE_ERROR")
      expect(cause.errcode).toBe(1)

      const noTable = yield* expectSqlError(sql`SELECT * FROM no_such_table`)
      expect(noTable.reason._tag).toBe("UnknownError")
      expect(noTable.message).toMatch(/no such table/)
    }))

  it.effect("classifies constraint violations; foreign keys are enforced", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE plans (id TEXT PRIMARY KEY, code TEXT UNIQUE)`
      yield* sql`CREATE TABLE intents (id TEXT PRIMARY KEY, plan_id TEXT NOT NULL REFERENCES plans(id))`
      yield* sql`INSERT INTO plans VALUES ('p1', 'c1')`

      const pk = yield* expectSqlError(sql`INSERT INTO plans VALUES ('p1', 'c2')`)
      expect(pk.reason._tag).toBe("UniqueViolation")
      const unique = yield* expectSqlError(sql`INSERT INTO plans VALUES ('p2', 'c1')`)
      assert(unique.reason._tag === "UniqueViolation")
      expect(unique.reason.constraint).toBe("plans.code")

      const fk = yield* expectSqlError(sql`INSERT INTO intents VALUES ('i1', 'missing-plan')`)
      expect(fk.reason._tag).toBe("ConstraintError")
      expect(fk.message).toMatch(/FOREIGN KEY/)
      const notNull = yield* expectSqlError(sql`INSERT INTO intents (id) VALUES ('i2')`)
      expect(notNull.reason._tag).toBe("ConstraintError")

      // bind failures are SqlErrors too, not defects
      const badBind = yield* expectSqlError(sql`SELECT ${{ not: "bindable" }} AS x`)
      expect(badBind.message).toMatch(/Cannot bind/)
    }))

  it.effect("runs every statement of a multi-statement string, and refuses one with parameters", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql`
        CREATE TABLE m1 (a TEXT); -- first
        CREATE TABLE m2 (b TEXT);
        /* comment */ INSERT INTO m2 VALUES ('x;y');
        SELECT b FROM m2;
      `
      expect(rows).toEqual([{ b: "x;y" }])
      const tables = yield* sql<
        { name: string }
      >`SELECT name FROM sqlite_master WHERE name IN ('m1', 'm2') ORDER BY name`
      expect(tables.map((t) => t.name)).toEqual(["m1", "m2"])

      const error = yield* expectSqlError(sql`INSERT INTO m1 VALUES (${"a"}); INSERT INTO m1 VALUES ('b')`)
      expect(error.message).toMatch(/several statements/)
      expect(yield* sql`SELECT * FROM m1`).toEqual([])
    }))

  it.effect("supports values, raw, unprepared and stream", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE s (i INTEGER PRIMARY KEY, v TEXT)`
      const raw = yield* sql`INSERT INTO s ${sql.insert([{ i: 1, v: "a" }, { i: 2, v: "b" }])}`.raw
      expect(raw).toEqual({ changes: 2, lastInsertRowid: 2 })
      yield* sql`WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 298)
        INSERT INTO s SELECT k + 2, 'x' || k FROM n`
      expect(yield* sql`SELECT i, v FROM s WHERE i <= 2 ORDER BY i`.values).toEqual([[1, "a"], [2, "b"]])
      expect(yield* sql`SELECT v FROM s WHERE i = ${1}`.unprepared).toEqual([{ v: "a" }])

      const streamed = yield* sql<{ i: number }>`SELECT i FROM s ORDER BY i`.stream.pipe(Stream.runCollect)
      expect(streamed.length).toBe(300)
      expect(streamed[299]).toEqual({ i: 300 })
      // an early-terminated stream releases the connection
      const firstTwo = yield* sql<{ i: number }>`SELECT i FROM s ORDER BY i`.stream.pipe(
        Stream.take(2),
        Stream.runCollect
      )
      expect(firstTwo).toEqual([{ i: 1 }, { i: 2 }])
      expect(yield* sql`SELECT count(*) AS n FROM s`).toEqual([{ n: 300 }])

      const streamError = yield* expectSqlError(sql`SELEC nothing`.stream.pipe(Stream.runCollect))
      expect(streamError.reason._tag).toBe("SqlSyntaxError")
    }))

  it.effect("reads integers beyond 2^53 as bigint under SqlClient.SafeIntegers, and fails loudly otherwise", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const huge = 2n ** 62n + 1n
      yield* sql`CREATE TABLE big (v INTEGER)`
      yield* sql`INSERT INTO big VALUES (${huge})`
      const error = yield* expectSqlError(sql`SELECT v FROM big`)
      expect(error.message).toMatch(/too large/)
      const rows = yield* sql`SELECT v FROM big`.pipe(Effect.provideService(SqlClient.SafeIntegers, true))
      expect(rows).toEqual([{ v: huge }])
    }))
})

describe("file database", () => {
  it.effect("creates missing parent directories, uses WAL, foreign keys and a busy timeout", () =>
    Effect.gen(function*() {
      const file = freshFile()
      expect(Fs.existsSync(Path.dirname(file))).toBe(false)
      const pragmas = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const [journal] = yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`
        const [fk] = yield* sql<{ foreign_keys: number }>`PRAGMA foreign_keys`
        const [busy] = yield* sql<{ timeout: number }>`PRAGMA busy_timeout`
        return { journal: journal?.journal_mode, fk: fk?.foreign_keys, busy: busy?.timeout }
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))
      expect(pragmas).toEqual({ journal: "wal", fk: 1, busy: 5000 })
      expect(Fs.existsSync(file)).toBe(true)
    }))

  it.effect("keeps data across closing the layer and opening the same file again", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const withDb = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
        Effect.provide(effect, SqliteClient.layer({ filename: file }))

      yield* withDb(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE orders (id TEXT PRIMARY KEY, qty TEXT NOT NULL)`
        yield* sql.withTransaction(
          sql`INSERT INTO orders ${
            sql.insert([{ id: "o1", qty: "0.1" }, { id: "o2", qty: "12345678901234567890.000000001" }])
          }`
        )
      }))
      // A clean close checkpoints the WAL and removes it: the layer really closed the database.
      expect(Fs.existsSync(`${file}-wal`)).toBe(false)

      const rows = yield* withDb(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql`SELECT id, qty FROM orders ORDER BY id`
      }))
      expect(rows).toEqual([{ id: "o1", qty: "0.1" }, { id: "o2", qty: "12345678901234567890.000000001" }])
    }))

  it.effect("runs the effect/sql Migrator idempotently on the same file", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const applied: Array<string> = []
      const migrate = Migrator.make({})({
        loader: Migrator.fromRecord({
          "0001_create_runs": Effect.gen(function*() {
            applied.push("0001")
            const sql = yield* SqlClient.SqlClient
            yield* sql`CREATE TABLE runs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL)`
          }),
          "0002_create_plans_and_intents": Effect.gen(function*() {
            applied.push("0002")
            const sql = yield* SqlClient.SqlClient
            // several statements in one template: all of them must run
            yield* sql`
              CREATE TABLE plans (id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id));
              CREATE TABLE order_intents (id TEXT PRIMARY KEY, plan_id TEXT NOT NULL REFERENCES plans(id), qty TEXT NOT NULL);
            `
          })
        })
      })
      const run = Effect.gen(function*() {
        const done = yield* migrate
        const sql = yield* SqlClient.SqlClient
        const tables = yield* sql<{ name: string }>`
          SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
        const recorded = yield* sql<{ migration_id: number; name: string }>`
          SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`
        return { done, tables: tables.map((t) => t.name), recorded }
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))

      const first = yield* run
      expect(first.done).toEqual([[1, "create_runs"], [2, "create_plans_and_intents"]])
      expect(first.tables).toEqual(["effect_sql_migrations", "order_intents", "plans", "runs"])
      expect(first.recorded).toEqual([
        { migration_id: 1, name: "create_runs" },
        { migration_id: 2, name: "create_plans_and_intents" }
      ])

      // second "process": nothing to apply, schema and bookkeeping unchanged
      const second = yield* run
      expect(second.done).toEqual([])
      expect(second.tables).toEqual(first.tables)
      expect(second.recorded).toEqual(first.recorded)
      expect(applied).toEqual(["0001", "0002"])
    }))

  it.effect("rolls back a migration that fails, leaving no partial schema", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const result = yield* Effect.gen(function*() {
        const exit = yield* Effect.exit(
          Migrator.make({})({
            loader: Migrator.fromRecord({
              "0001_ok": Effect.gen(function*() {
                const sql = yield* SqlClient.SqlClient
                yield* sql`CREATE TABLE a (x TEXT)`
              }),
              "0002_broken": Effect.gen(function*() {
                const sql = yield* SqlClient.SqlClient
                yield* sql`CREATE TABLE b (x TEXT)`
                yield* sql`CREAT TABLE c (x TEXT)`
              })
            })
          })
        )
        const sql = yield* SqlClient.SqlClient
        const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE name IN ('a', 'b')`
        const recorded = yield* sql`SELECT * FROM effect_sql_migrations`
        return { exit, tables, recorded }
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))
      assert(Exit.isFailure(result.exit))
      const error = Cause.squash(result.exit.cause) as { _tag?: string; kind?: string }
      expect(error._tag).toBe("MigrationError")
      expect(error.kind).toBe("Failed")
      expect(result.tables).toEqual([])
      expect(result.recorded).toEqual([])
    }))

  it.live("a second connection waiting on a held write lock fails with LockTimeoutError after the busy timeout", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const setup = Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t (x TEXT)`
      })
      yield* Effect.provide(setup, SqliteClient.layer({ filename: file }))

      const writer = Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql.withTransaction(Effect.gen(function*() {
          yield* sql`INSERT INTO t VALUES ('held')`
          yield* Effect.sleep("500 millis")
        }))
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))
      const fiber = yield* Effect.forkChild(writer)
      yield* Effect.sleep("50 millis")

      const blocked = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* expectSqlError(sql`INSERT INTO t VALUES ('blocked')`)
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file, busyTimeout: "20 millis" })))
      expect(blocked.reason._tag).toBe("LockTimeoutError")
      expect(blocked.message).toBe("database is locked")
      expect(blocked.isRetryable).toBe(true)

      yield* Fiber.join(fiber)
      const rows = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql`SELECT x FROM t`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))
      expect(rows).toEqual([{ x: "held" }])
    }))

  it.effect("fails to open with a SqlError(ConnectionError) when the path cannot be a database", () =>
    Effect.gen(function*() {
      const dir = Path.join(tmpRoot, `case-${++fileCounter}`)
      Fs.mkdirSync(dir, { recursive: true })
      // the path is an existing directory
      const error = yield* expectSqlError(
        Effect.provide(Effect.void, SqliteClient.layer({ filename: dir }))
      )
      expect(error.reason._tag).toBe("ConnectionError")
      expect(error.reason.operation).toBe("open")
      expect(error.message).toBe("is a directory")
      expect(error.reason.cause).toBeInstanceOf(Error)
    }))

  it.effect("says in a few words what is wrong with the file or the disk", () =>
    Effect.gen(function*() {
      const garbage = freshFile()
      Fs.mkdirSync(Path.dirname(garbage), { recursive: true })
      Fs.writeFileSync(garbage, "not a database, just text ".repeat(20))
      const notADatabase = yield* expectSqlError(Effect.provide(Effect.void, SqliteClient.layer({ filename: garbage })))
      expect([notADatabase.reason._tag, notADatabase.message]).toEqual(["ConnectionError", "not a SQLite database"])

      const full = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t (x TEXT)`
        const [pages] = yield* sql<{ page_count: number }>`PRAGMA page_count`
        yield* sql.unsafe(`PRAGMA max_page_count = ${pages?.page_count ?? 0}`)
        return yield* expectSqlError(sql`INSERT INTO t VALUES (${"x".repeat(64 * 1024)})`)
      }).pipe(Effect.provide(SqliteClient.layer({ filename: freshFile() })))
      expect(full.message).toBe("database or disk is full")
      // The SQLite error stays the cause, for whoever needs its details.
      expect((full.reason.cause as { errcode?: number }).errcode).toBe(13)
    }))
})

describe("two processes on one file", () => {
  it.live("transactions that read then write wait for each other: no update is lost, no lock is reported", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE counter (n INTEGER NOT NULL)`
        yield* sql`INSERT INTO counter VALUES (0)`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))

      const script = fileURLToPath(new URL("counterWriter.ts", import.meta.url))
      const args = [file, "60", startTogether()]
      const results = yield* Effect.promise(() => Promise.all([runScript(script, args), runScript(script, args)]))
      expect(results).toEqual([{ code: 0, stdout: "", stderr: "" }, { code: 0, stdout: "", stderr: "" }])

      const rows = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql`SELECT n FROM counter`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))
      expect(rows).toEqual([{ n: 120 }])
    }))
})
