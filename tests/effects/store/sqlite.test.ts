import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as SqlClient from "effect/sql/SqlClient"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as SqliteClient from "../../../src/effects/sql/SqliteClient.ts"
import { Store, StoreError } from "../../../src/effects/Store.ts"
import * as SqliteStore from "../../../src/effects/store/sqlite.ts"
import { expectStoreError, run, sellIntent, T0, takeLease, tempFiles } from "./fixtures.ts"

const freshFile = tempFiles("keel-sqlite-store-test-")

/** Root may write anywhere: the permission cases can only be seen by another user. */

/** What a StoreError says. */
const said = (error: StoreError) => ({ operation: error.operation, message: error.message, database: error.database })

/** What the StoreError of opening the store on `filename` says. */
const openError = (filename: string) =>
  Effect.flatMap(Effect.flip(Effect.provide(Effect.void, SqliteStore.layer({ filename }))), (error) => {
    expect(error).toBeInstanceOf(StoreError)
    return Effect.succeed(said(error))
  })

/** A file with the parent folders it needs. */
const writeFile = (file: string, content: string) => {
  Fs.mkdirSync(Path.dirname(file), { recursive: true })
  Fs.writeFileSync(file, content)
}

/** Runs statements on `file` with the plain client, as another program would. */
const raw = (file: string, statements: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of statements) yield* sql.unsafe(statement)
  }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))

describe("opening the store", () => {
  it.effect("creates a new file, and takes an empty one (zero bytes) as new", () =>
    Effect.gen(function*() {
      const empty = freshFile()
      writeFile(empty, "")
      for (const file of [freshFile(), empty]) {
        const found = yield* Effect.gen(function*() {
          const store = yield* Store
          yield* store.startRun(run("r1"), yield* takeLease("r1"))
          return yield* store.getRun("r1")
        }).pipe(Effect.provide(SqliteStore.layer({ filename: file })))
        expect(Option.isSome(found)).toBe(true)
      }
    }))

  it.effect("a path that cannot be a database file says why, naming it", () =>
    Effect.gen(function*() {
      const directory = Path.dirname(freshFile())
      Fs.mkdirSync(directory, { recursive: true })
      expect(yield* openError(directory)).toStrictEqual({
        operation: "open",
        message: "is a directory",
        database: directory
      })

      const parentIsFile = Path.join(Path.dirname(freshFile()), "notes.txt")
      writeFile(parentIsFile, "not a folder")
      const below = Path.join(parentIsFile, "keel.db")
      expect(yield* openError(below)).toMatchObject({
        message: "a parent of the path is not a directory",
        database: below
      })
    }))

  it.effect("a file that is not Keel's is refused and left as it was", () =>
    Effect.gen(function*() {
      const garbage = freshFile()
      writeFile(garbage, "PK\u0003\u0004 a zip archive, say, and certainly not a database ".repeat(20))
      expect(yield* openError(garbage)).toMatchObject({ message: "not a SQLite database", database: garbage })

      // Another program's SQLite database.
      const other = freshFile()
      yield* raw(other, ["CREATE TABLE contacts (name TEXT)"])
      expect(yield* openError(other)).toMatchObject({ message: "not a Keel database", database: other })
      // Another program that also keeps effect/sql migrations.
      const effectApp = freshFile()
      yield* raw(effectApp, [
        "CREATE TABLE effect_sql_migrations (migration_id INTEGER PRIMARY KEY, name TEXT, created_at TEXT)",
        "INSERT INTO effect_sql_migrations VALUES (1, 'create_users', '2024-01-01')"
      ])
      expect(yield* openError(effectApp)).toMatchObject({ message: "not a Keel database" })
      const tables = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: other })))
      expect(tables).toEqual([{ name: "contacts" }])
    }))

  it.effect("a store written by a newer Keel (a migration this one does not know) is refused", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* Effect.provide(Effect.void, SqliteStore.layer({ filename: file }))
      yield* raw(file, ["INSERT INTO effect_sql_migrations (migration_id, name) VALUES (99, 'from_the_future')"])
      expect(yield* openError(file)).toMatchObject({ message: "written by a newer version of Keel", database: file })
    }))
})

describe("faults while it runs", () => {
  it.effect("a full disk is a StoreError saying so, naming the database; nothing is written", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* Effect.gen(function*() {
        const store = yield* Store
        const sql = yield* SqlClient.SqlClient
        const lease = yield* takeLease("r1")
        yield* store.startRun(run("r1"), lease)
        // The file may not grow by a page more: what a full disk looks like to SQLite.
        const [pages] = yield* sql<{ page_count: number }>`PRAGMA page_count`
        yield* sql.unsafe(`PRAGMA max_page_count = ${pages?.page_count ?? 0}`)
        const big = { ...sellIntent("r1"), reason: "x".repeat(64 * 1024) }
        const error = yield* expectStoreError(store.saveIntent(big, lease))
        expect(said(error)).toStrictEqual({
          operation: "saveIntent",
          message: "database or disk is full",
          database: file
        })
        expect(yield* store.intents("r1")).toEqual([])
      }).pipe(Effect.provide(SqliteStore.layer({ filename: file })))
    }))

  it.live("a write lock held longer than the busy timeout is `database is locked`", () =>
    Effect.gen(function*() {
      const file = freshFile()
      yield* Effect.provide(Effect.void, SqliteStore.layer({ filename: file }))
      const holder = Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql.withTransaction(Effect.sleep("400 millis"))
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))

      yield* Effect.gen(function*() {
        const store = yield* Store
        const held = yield* Effect.forkChild(holder)
        yield* Effect.sleep("100 millis")
        const request = { account: "acct-1", runId: "r1", pid: 1, host: "h", at: T0, ttlMillis: 1000 }
        const error = yield* expectStoreError(store.acquireLease(request))
        expect(said(error)).toStrictEqual({
          operation: "acquireLease",
          message: "database is locked",
          database: file
        })
        yield* Fiber.join(held)
      }).pipe(Effect.provide(SqliteStore.layer({ filename: file, busyTimeout: "50 millis" })))
    }))
})
