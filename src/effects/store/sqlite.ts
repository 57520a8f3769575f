/**
 * The Store on a SQLite file: our node:sqlite client (../sql/SqliteClient.ts) opens or creates
 * the file, and the Store over SQL (sql.ts) checks and migrates it. Whatever stops the file from
 * opening (a directory, permission denied, not a SQLite database, a full disk) is a StoreError
 * naming the file, so a caller has one error to report in one line.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as SqlClient from "effect/sql/SqlClient"
import * as SqliteClient from "../sql/SqliteClient.ts"
import { type Store, StoreError } from "../Store.ts"
import * as SqlStore from "./sql.ts"

export interface SqliteStoreOptions {
  /** The database file; missing parent directories are created. */
  readonly filename: string
  /** How long a write waits for another process's (SQLite's busy timeout). Default 5 seconds. */
  readonly busyTimeout?: Duration.Input | undefined
}

/** The client, its failure to open as a StoreError. */
const client = (options: SqliteStoreOptions): Layer.Layer<SqlClient.SqlClient, StoreError> =>
  Layer.effectContext(
    Effect.mapError(
      Layer.build(SqliteClient.layer(options)),
      (error) => new StoreError({ operation: "open", message: error.message, database: options.filename })
    )
  )

/** The Store, and the SqlClient it runs on (for a venue that keeps its tables in the same file). */
export const layer = (options: SqliteStoreOptions): Layer.Layer<Store | SqlClient.SqlClient, StoreError> =>
  SqlStore.layer({ database: options.filename }).pipe(Layer.provideMerge(client(options)))
