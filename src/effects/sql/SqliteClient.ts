/**
 * Keel's SQLite client: an effect/sql `SqlClient` over Node's built-in
 * `node:sqlite` (`DatabaseSync`, Node >= 22.13 / 24).
 *
 * Everything SQLite-specific (opening the file, pragmas, statement caching,
 * value binding, error classification) stays in this module. Code that only
 * needs SQL depends on the generic `SqlClient.SqlClient` service, which
 * `layer` also provides, so a Postgres layer (@effect/sql-pg) can replace this
 * one without touching callers.
 *
 * Written against effect 4.1.0 (effect/sql). Notes on effect/sql 4.1 that were
 * not obvious from the docs:
 *
 * - `SqlClient.make` needs a `Reactivity` service; `layer` provides
 *   `Reactivity.layer` itself. It also requires a `driver` name.
 * - `SqlClient.makeSqliteAcquirers` returns acquirer, borrower,
 *   transactionAcquirer, onCommitFailure and isTransaction; pass all of them
 *   on to `SqlClient.make`. Without onCommitFailure a failed COMMIT (e.g. a
 *   deferred foreign key) leaves the single shared connection inside an open
 *   transaction.
 * - Nested `withTransaction` uses `SAVEPOINT effect_sql_<depth>`. Savepoints
 *   are NOT released unless `releaseSavepoint` is given, so we pass
 *   `RELEASE SAVEPOINT`.
 * - `SqlError.classifySqliteError` reads `code`/`errno`, but node:sqlite puts
 *   the string "ERR_SQLITE_ERROR" in `code` and the SQLite result code in
 *   `errcode`, so it would classify every node:sqlite error as UnknownError.
 *   We classify from `errcode` ourselves. This matters beyond diagnostics:
 *   the Migrator treats ConstraintError/UniqueViolation on its own table as
 *   "another migrator is running". A fault of the file or the disk (locked,
 *   read-only, I/O error, full, not a database) gets a short message in words,
 *   and a failed open says why (a directory, permission denied, …).
 * - Transactions start with `BEGIN IMMEDIATE` (see `make`), so two processes
 *   writing one file wait for each other instead of failing.
 * - node:sqlite's `prepare` silently ignores everything after the first
 *   statement ("CREATE TABLE a(..); CREATE TABLE b(..)" creates only `a`).
 *   We detect the leftover text via `StatementSync.sourceSQL` and run the
 *   remaining statements one by one (only when there are no parameters;
 *   otherwise the call fails with a SqlError instead of silently dropping SQL).
 * - node:sqlite returns rows as null-prototype objects; they are copied into
 *   plain objects here. It cannot bind `undefined` (bound as NULL here) and
 *   throws a RangeError when reading an INTEGER beyond 2^53 unless BigInt
 *   reading is on: provide `SqlClient.SafeIntegers` = true to read INTEGER
 *   columns as `bigint`.
 */
import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { hasProperty } from "effect/Predicate"
import type * as Pull from "effect/Pull"
import * as Reactivity from "effect/reactivity/Reactivity"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlConnection from "effect/sql/SqlConnection"
import {
  AuthorizationError,
  ConnectionError,
  ConstraintError,
  LockTimeoutError,
  SqlError,
  type SqlErrorReason,
  SqlSyntaxError,
  UniqueViolation,
  UnknownError
} from "effect/sql/SqlError"
import * as Statement from "effect/sql/Statement"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite"

// ---------------------------------------------------------------------------
// config & service
// ---------------------------------------------------------------------------

export interface SqliteClientConfig {
  /** Path of the database file, or ":memory:". Missing parent directories are created. */
  readonly filename: string
  /** How long a statement waits for another process's lock (SQLITE_BUSY). Default 5 seconds. */
  readonly busyTimeout?: Duration.Input | undefined
  /**
   * When a commit waits for the disk (SQLite's `synchronous` under WAL). `full` (the default): a
   * committed transaction survives a power loss. `normal`: it survives a crash of the process,
   * and the file never corrupts, but the last commits may be lost with the machine; about ten
   * times faster per commit.
   */
  readonly synchronous?: "full" | "normal" | undefined
  /** How many prepared statements to keep, keyed by SQL text. Default 200. */
  readonly preparedCacheSize?: number | undefined
  /** Extra span attributes for every statement and transaction. */
  readonly spanAttributes?: Readonly<Record<string, unknown>> | undefined
  /** Rename result columns, e.g. snake_case -> camelCase. */
  readonly transformResultNames?: ((name: string) => string) | undefined
  /** Rename identifiers in queries (`sql("name")`, `sql.insert`), e.g. camelCase -> snake_case. */
  readonly transformQueryNames?: ((name: string) => string) | undefined
}

const TypeId = "~keel/sql/SqliteClient" as const

export interface SqliteClient extends SqlClient.SqlClient {
  readonly [TypeId]: typeof TypeId
  readonly config: SqliteClientConfig
}

export const SqliteClient = Context.Service<SqliteClient>("keel/sql/SqliteClient")

/** Driver name exposed as `SqlClient.driver`. */
export const driver = "keel-sqlite"

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

// SQLite extended result codes that mean "duplicate key". Postgres reports a
// primary-key clash as unique_violation too, so both map to UniqueViolation.
const SQLITE_CONSTRAINT_UNIQUE = 2067
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555
const SQLITE_CANTOPEN = 14

/**
 * Primary result codes that are a fault of the file, the disk or another process rather than
 * of the statement, in the few words a user reads (`StoreError.message`, a CLI's one line).
 */
const faults: ReadonlyMap<number, string> = new Map([
  [5, "database is locked"], // SQLITE_BUSY
  [6, "database table is locked"], // SQLITE_LOCKED
  [8, "database is read-only"], // SQLITE_READONLY
  [10, "disk I/O error"], // SQLITE_IOERR
  [11, "database file is corrupt"], // SQLITE_CORRUPT
  [13, "database or disk is full"], // SQLITE_FULL
  [SQLITE_CANTOPEN, "cannot open the database file"],
  [26, "not a SQLite database"] // SQLITE_NOTADB
])

/** What a file-system error code means for opening a database, in words. */
const fileSystemFaults: ReadonlyMap<string, string> = new Map([
  ["EACCES", "permission denied"],
  ["EPERM", "permission denied"],
  ["EROFS", "read-only file system"],
  ["ENOSPC", "no space left on the disk"],
  ["ENOTDIR", "a parent of the path is not a directory"],
  ["EEXIST", "a parent of the path is not a directory"]
])

const errorMessage = (cause: unknown): string =>
  hasProperty(cause, "message") && typeof cause.message === "string" ? cause.message : String(cause)

/** The SQLite result code node:sqlite reports (`errcode`), if the error came from SQLite. */
const resultCode = (cause: unknown): number | undefined =>
  hasProperty(cause, "errcode") && typeof cause.errcode === "number" ? cause.errcode : undefined

/** SQLite's message, or for a fault the few words of `faults`. */
const inWords = (cause: unknown): string => {
  const code = resultCode(cause)
  return (code === undefined ? undefined : faults.get(code & 0xff)) ?? errorMessage(cause)
}

const classify = (cause: unknown, operation: string): SqlErrorReason => {
  const code = resultCode(cause)
  const props = { cause, message: inWords(cause), operation }
  if (code === undefined) {
    return new UnknownError(props)
  }
  if (code === SQLITE_CONSTRAINT_UNIQUE || code === SQLITE_CONSTRAINT_PRIMARYKEY) {
    const at = props.message.indexOf("constraint failed:")
    const constraint = at === -1 ? "" : props.message.slice(at + "constraint failed:".length).trim()
    return new UniqueViolation({ ...props, constraint: constraint === "" ? "unknown" : constraint })
  }
  switch (code & 0xff) {
    case 1: // SQLITE_ERROR: syntax errors, but also "no such table" and friends
      return /syntax error|incomplete input|unrecognized token/i.test(props.message)
        ? new SqlSyntaxError(props)
        : new UnknownError(props)
    case 3: // SQLITE_PERM
    case 23: // SQLITE_AUTH (authorizer denied)
      return new AuthorizationError(props)
    case 5: // SQLITE_BUSY
    case 6: // SQLITE_LOCKED
      return new LockTimeoutError(props)
    case SQLITE_CANTOPEN:
    case 26: // SQLITE_NOTADB
      return new ConnectionError(props)
    case 19: // SQLITE_CONSTRAINT (foreign key, check, not null, ...)
      return new ConstraintError(props)
    default:
      return new UnknownError(props)
  }
}

const toSqlError = (cause: unknown, operation: string): SqlError => new SqlError({ reason: classify(cause, operation) })

// ---------------------------------------------------------------------------
// connection
// ---------------------------------------------------------------------------

type Rows = ReadonlyArray<Record<string, unknown>>
type TransformRows = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

interface Prepared {
  readonly statement: StatementSync
  /** SQL after the first statement, when it holds more than whitespace, `;` and comments. */
  readonly rest: string | undefined
}

/** True when `sql` holds only whitespace, semicolons and comments. */
const isBlankSql = (sql: string): boolean => {
  let i = 0
  while (i < sql.length) {
    const c = sql.charCodeAt(i)
    // ';', space, \t, \n, \v, \f, \r
    if (c === 59 || c === 32 || (c >= 9 && c <= 13)) {
      i++
    } else if (sql.startsWith("--", i)) {
      const end = sql.indexOf("\n", i)
      if (end === -1) return true
      i = end + 1
    } else if (sql.startsWith("/*", i)) {
      const end = sql.indexOf("*/", i + 2)
      if (end === -1) return true
      i = end + 2
    } else {
      return false
    }
  }
  return true
}

const bindValue = (value: unknown, index: number): SQLInputValue => {
  switch (typeof value) {
    case "string":
    case "number":
    case "bigint":
      return value
    case "boolean":
      return value ? 1 : 0
    case "undefined":
      return null
  }
  if (value === null || value instanceof Uint8Array) {
    return value
  }
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  }
  if (value instanceof Date) {
    return value.toISOString()
  }
  throw new TypeError(
    `Cannot bind a value of type ${Object.prototype.toString.call(value)} to SQLite parameter ${index + 1}`
  )
}

const bind = (params: ReadonlyArray<unknown>): Array<SQLInputValue> => params.map(bindValue)

// node:sqlite rows have a null prototype; hand out ordinary objects.
const toPlainRows = (rows: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> => {
  const out = new Array<Record<string, unknown>>(rows.length)
  for (let i = 0; i < rows.length; i++) out[i] = { ...rows[i] }
  return out
}

type Mode = "rows" | "values" | "raw"

interface SqliteConnection extends SqlConnection.Connection {
  readonly clearCache: () => void
}

const STREAM_CHUNK_SIZE = 128

const makeConnection = (db: DatabaseSync, preparedCacheSize: number): SqliteConnection => {
  // Insertion-ordered Map used as an LRU cache of prepared statements.
  const cache = new Map<string, Prepared>()

  const prepareUncached = (sql: string): Prepared => {
    const statement = db.prepare(sql)
    const source = statement.sourceSQL
    const rest = source.length < sql.length && sql.startsWith(source) ? sql.slice(source.length) : undefined
    return { statement, rest: rest === undefined || isBlankSql(rest) ? undefined : rest }
  }

  const prepareCached = (sql: string): Prepared => {
    const hit = cache.get(sql)
    if (hit !== undefined) {
      cache.delete(sql)
      cache.set(sql, hit)
      return hit
    }
    const prepared = prepareUncached(sql)
    if (preparedCacheSize > 0) {
      cache.set(sql, prepared)
      if (cache.size > preparedCacheSize) {
        const oldest = cache.keys().next()
        if (oldest.done !== true) cache.delete(oldest.value)
      }
    }
    return prepared
  }

  const runOne = (prepared: Prepared, args: Array<SQLInputValue>, mode: Mode, safeIntegers: boolean): unknown => {
    const statement = prepared.statement
    statement.setReadBigInts(safeIntegers)
    if (mode === "raw") {
      return statement.columns().length === 0 ? statement.run(...args) : toPlainRows(statement.all(...args))
    }
    if (mode === "values") {
      statement.setReturnArrays(true)
      try {
        return statement.all(...args)
      } finally {
        statement.setReturnArrays(false)
      }
    }
    return toPlainRows(statement.all(...args))
  }

  // Runs every statement in `sql` and returns the result of the last one.
  const runAll = (
    sql: string,
    params: ReadonlyArray<unknown>,
    prepare: (sql: string) => Prepared,
    mode: Mode,
    safeIntegers: boolean
  ): unknown => {
    let prepared = prepare(sql)
    if (prepared.rest !== undefined && params.length > 0) {
      throw new Error("SQL with several statements cannot take parameters; run the statements separately")
    }
    let result = runOne(prepared, bind(params), mode, safeIntegers)
    while (prepared.rest !== undefined) {
      prepared = prepare(prepared.rest)
      result = runOne(prepared, [], mode, safeIntegers)
    }
    return result
  }

  const attempt = <A>(operation: string, f: (safeIntegers: boolean) => A): Effect.Effect<A, SqlError> =>
    Effect.withFiber((fiber) => {
      const safeIntegers = fiber.getRef(SqlClient.SafeIntegers)
      try {
        return Effect.succeed(f(safeIntegers))
      } catch (cause) {
        return Effect.fail(toSqlError(cause, operation))
      }
    })

  const rows = (operation: string, prepare: (sql: string) => Prepared) =>
  (
    sql: string,
    params: ReadonlyArray<unknown>,
    transformRows: TransformRows
  ): Effect.Effect<Rows, SqlError> =>
    attempt(operation, (safe) => {
      const result = runAll(sql, params, prepare, "rows", safe) as Rows
      return transformRows === undefined ? result : transformRows(result)
    })

  const values = (operation: string, prepare: (sql: string) => Prepared) =>
  (
    sql: string,
    params: ReadonlyArray<unknown>
  ): Effect.Effect<ReadonlyArray<ReadonlyArray<unknown>>, SqlError> =>
    attempt(operation, (safe) => runAll(sql, params, prepare, "values", safe) as ReadonlyArray<ReadonlyArray<unknown>>)

  const executeStream = (
    sql: string,
    params: ReadonlyArray<unknown>,
    transformRows: TransformRows
  ): Stream.Stream<Record<string, unknown>, SqlError> =>
    Stream.unwrap(Effect.map(
      Effect.acquireRelease(
        attempt("executeStream", (safe) => {
          // A fresh statement: a cached one could be reset by another query
          // on the same connection while this stream is still reading.
          const prepared = prepareUncached(sql)
          if (prepared.rest !== undefined) {
            throw new Error("executeStream supports a single SQL statement")
          }
          prepared.statement.setReadBigInts(safe)
          return prepared.statement.iterate(...bind(params))
        }),
        (iterator) => Effect.sync(() => void iterator.return?.())
      ),
      (iterator) =>
        Stream.fromPull(
          Effect.succeed(Effect.suspend((): Pull.Pull<Arr.NonEmptyReadonlyArray<Record<string, unknown>>, SqlError> => {
            const chunk: Array<Record<string, unknown>> = []
            try {
              while (chunk.length < STREAM_CHUNK_SIZE) {
                const next = iterator.next()
                if (next.done === true) break
                chunk.push({ ...next.value })
              }
            } catch (cause) {
              return Effect.fail(toSqlError(cause, "executeStream"))
            }
            const out = transformRows === undefined ? chunk : transformRows(chunk)
            return Arr.isReadonlyArrayNonEmpty(out) ? Effect.succeed(out) : Cause.done()
          }))
        )
    ))

  return {
    execute: rows("execute", prepareCached),
    executeUnprepared: rows("executeUnprepared", prepareUncached),
    executeValues: values("executeValues", prepareCached),
    executeValuesUnprepared: values("executeValuesUnprepared", prepareUncached),
    executeRaw: (sql, params) => attempt("executeRaw", (safe) => runAll(sql, params, prepareCached, "raw", safe)),
    executeStream,
    clearCache: () => cache.clear()
  }
}

// ---------------------------------------------------------------------------
// open / make / layer
// ---------------------------------------------------------------------------

const isMemory = (filename: string): boolean => filename === ":memory:" || filename === ""

/**
 * Why SQLite could not open the file, in words: it says only "cannot open"; the file system
 * says whether the path is a directory or its folder may not be written.
 */
const cannotOpen = (file: string): string => {
  const path = Path.resolve(file)
  if (Fs.existsSync(path) && Fs.statSync(path).isDirectory()) return "is a directory"
  try {
    Fs.accessSync(Path.dirname(path), Fs.constants.W_OK)
  } catch {
    return "permission denied"
  }
  return faults.get(SQLITE_CANTOPEN)!
}

/** The cause of a failed open in words: the file system's, or SQLite's fault (it is locked, not a database…). */
const openFailure = (file: string, cause: unknown): string => {
  const fileSystem = hasProperty(cause, "code") && typeof cause.code === "string"
    ? fileSystemFaults.get(cause.code)
    : undefined
  if (fileSystem !== undefined) return fileSystem
  return resultCode(cause) === SQLITE_CANTOPEN ? cannotOpen(file) : inWords(cause)
}

const open = (config: SqliteClientConfig): Effect.Effect<DatabaseSync, SqlError> =>
  Effect.try({
    try: () => {
      const file = config.filename
      if (!isMemory(file)) {
        Fs.mkdirSync(Path.dirname(Path.resolve(file)), { recursive: true })
        // SQLite would open a file it may not write read-only, and fail only at the first write.
        if (Fs.existsSync(file)) Fs.accessSync(file, Fs.constants.R_OK | Fs.constants.W_OK)
      }
      const db = new DatabaseSync(file, {
        enableForeignKeyConstraints: true,
        timeout: Math.max(0, Math.round(Duration.toMillis(config.busyTimeout ?? Duration.seconds(5))))
      })
      try {
        db.exec("PRAGMA foreign_keys = ON")
        if (!isMemory(file)) {
          db.exec("PRAGMA journal_mode = WAL")
          db.exec(`PRAGMA synchronous = ${config.synchronous === "normal" ? "NORMAL" : "FULL"}`)
        }
      } catch (cause) {
        db.close()
        throw cause
      }
      return db
    },
    catch: (cause) =>
      new SqlError({
        reason: new ConnectionError({ cause, message: openFailure(config.filename, cause), operation: "open" })
      })
  })

/**
 * Opens the database and builds the client. The database is closed when the
 * surrounding scope closes.
 */
export const make = (
  config: SqliteClientConfig
): Effect.Effect<SqliteClient, SqlError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(open(config), (db) =>
      Effect.sync(() => {
        if (db.isOpen) db.close()
      }))
    const connection = makeConnection(db, config.preparedCacheSize ?? 200)
    // Runs before the database closes (finalizers run in reverse order).
    yield* Effect.addFinalizer(() => Effect.sync(connection.clearCache))

    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore: Semaphore.makeUnsafe(1),
      isTransaction: () => db.isOpen && db.isTransaction
    })

    const spanAttributes: Array<readonly [string, unknown]> = [
      ...Object.entries(config.spanAttributes ?? {}),
      ["db.system.name", "sqlite"]
    ]
    if (!isMemory(config.filename)) {
      spanAttributes.push(["db.namespace", Path.basename(config.filename)])
    }

    const client = yield* SqlClient.make({
      acquirer: acquirers.acquirer,
      borrower: acquirers.borrower,
      transactionAcquirer: acquirers.transactionAcquirer,
      onCommitFailure: acquirers.onCommitFailure,
      isTransaction: acquirers.isTransaction,
      compiler: Statement.makeCompilerSqlite(config.transformQueryNames),
      driver,
      spanAttributes,
      transformRows: config.transformResultNames === undefined
        ? undefined
        : Statement.defaultTransforms(config.transformResultNames).array,
      // A transaction takes the write lock up front, waiting up to the busy timeout for
      // another process's. A plain BEGIN would take it only at the first write, and in WAL mode
      // a reader that must upgrade fails at once ("database is locked"), without waiting.
      beginTransaction: "BEGIN IMMEDIATE",
      // SQLite prepares BEGIN/COMMIT/SAVEPOINT fine, so they hit the statement cache.
      prepareTransactionControls: true,
      releaseSavepoint: (name) => `RELEASE SAVEPOINT ${name}`
    })

    return Object.assign(client, { [TypeId]: TypeId, config }) as SqliteClient
  })

/**
 * Provides both `SqliteClient` and the generic `SqlClient.SqlClient`. The
 * database is closed when the layer's scope closes.
 */
export const layer = (
  config: SqliteClientConfig
): Layer.Layer<SqliteClient | SqlClient.SqlClient, SqlError> =>
  Layer.effectContext(
    Effect.map(make(config), (client) =>
      Context.make(SqliteClient, client).pipe(
        Context.add(SqlClient.SqlClient, client)
      ))
  ).pipe(Layer.provide(Reactivity.layer))
