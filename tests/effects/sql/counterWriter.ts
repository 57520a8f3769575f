/**
 * One of several processes bumping a counter in one SQLite file, for SqliteClient.test.ts:
 * `counterWriter.ts FILE ROUNDS START_AT`. From START_AT (epoch ms, so the processes start
 * together), each round reads the counter and writes it + 1 in one transaction, pausing in
 * between so that another process's transaction would interleave if it could.
 */
import * as Effect from "effect/Effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as SqliteClient from "../../../src/effects/sql/SqliteClient.ts"

const [file = "", rounds = "0", startAt = "0"] = process.argv.slice(2)

const bump = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ n: number }>`SELECT n FROM counter`
  yield* Effect.sleep("1 millis")
  yield* sql`UPDATE counter SET n = ${(row?.n ?? 0) + 1}`
})

const program = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* Effect.sleep(Math.max(0, Number(startAt) - Date.now()))
  for (let i = 0; i < Number(rounds); i++) yield* sql.withTransaction(bump)
}).pipe(Effect.provide(SqliteClient.layer({ filename: file })))

Effect.runPromise(program).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exitCode = 1
})
