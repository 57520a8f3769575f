/**
 * The Store's rows at the boundary: every row read is decoded with Schema and every row written
 * is encoded through the same schema, and whatever goes wrong is a StoreError that names the
 * operation, the database, and the table, column and row.
 */
import * as Effect from "effect/Effect"
import { hasProperty } from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { isSqlError, type SqlError } from "effect/sql/SqlError"
import { StoreError } from "../Store.ts"

export type RowSchema<A, E> = Schema.Codec<A, E>

const formatPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path.map((segment) => {
    const key = typeof segment === "object" ? segment.key : segment
    return typeof key === "number" ? `[${key}]` : `.${String(key)}`
  }).join("")

const issueFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** Where ("<table>.<column>[…]") and what, for the first problem Schema reports. */
const locateIssue = (table: string, issue: SchemaIssue.Issue): { readonly at: string; readonly message: string } => {
  const first = issueFormatter(issue).issues[0]
  return first === undefined
    ? { at: table, message: "invalid row" }
    : { at: `${table}${formatPath(first.path ?? [])}`, message: first.message }
}

/** `(client_order_id="x")`: which row, from its key columns as stored. */
const describeKey = (row: unknown, keys: ReadonlyArray<string>): string => {
  const parts = keys.map((key) => `${key}=${JSON.stringify(hasProperty(row, key) ? String(row[key]) : null)}`)
  return parts.length === 0 ? "" : ` (row ${parts.join(", ")})`
}

/**
 * A read: rows → decoded values, or a StoreError naming the table, the column and
 * the row (by its `keys`).
 */
export const decodeRows = <A, E>(
  operation: string,
  table: string,
  schema: RowSchema<A, E>,
  keys: ReadonlyArray<string>
) => {
  const decode = Schema.decodeUnknownResult(schema, { reportInput: true })
  return (rows: ReadonlyArray<unknown>): Effect.Effect<Array<A>, StoreError> => {
    const out: Array<A> = []
    for (const row of rows) {
      const result = decode(row)
      if (Result.isFailure(result)) {
        const { at, message } = locateIssue(table, result.failure.issue)
        const where = `${at}${describeKey(row, keys)}`
        return Effect.fail(new StoreError({ operation, message: `corrupt value in ${where}: ${message}` }))
      }
      out.push(result.success)
    }
    return Effect.succeed(out)
  }
}

/** A write: value → columns, or a StoreError saying which column cannot be stored. */
export const encodeRow = <A, E>(operation: string, table: string, schema: RowSchema<A, E>) => {
  const encode = Schema.encodeUnknownResult(schema, { reportInput: true })
  return (value: A): Effect.Effect<E, StoreError> => {
    const result = encode(value)
    if (Result.isSuccess(result)) return Effect.succeed(result.success)
    const { at, message } = locateIssue(table, result.failure.issue)
    return Effect.fail(new StoreError({ operation, message: `cannot store ${at}: ${message}` }))
  }
}

/**
 * Wraps the Store's operations on one database: a SqlError becomes a StoreError naming the
 * operation, its message the cause in words (the client's: `disk I/O error`, `database is
 * locked`), and every StoreError names the database.
 */
export const operations = (database: string) =>
<A, E, R>(
  operation: string,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, SqlError> | StoreError, R> =>
  Effect.mapError(effect, (error) => {
    if (isSqlError(error)) return new StoreError({ operation, message: error.message, database })
    if (error instanceof StoreError) {
      return new StoreError({ operation: error.operation, message: error.message, database })
    }
    // Neither a SqlError nor a StoreError: a Lease error, passed on as it is.
    return error as Exclude<E, SqlError>
  })
