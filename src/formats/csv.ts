/**
 * CSV, for every CSV file Keel reads or writes (targets, price history, paper quotes,
 * a run's orders.csv), on effect's `Csv`: RFC 4180 (quoted fields may hold commas,
 * doubled quotes and line breaks), LF, CRLF or CR line endings, and a BOM.
 *
 * Readers keep the 1-based line of the file each record starts on, so a kernel error
 * about row i names the line of the file. Effect's Csv tells that line only in its own
 * errors, so it is counted here: a record starts one line after the previous record
 * ends, and a record spans one line plus the line breaks inside its quoted cells.
 * Cells are trimmed and stay text (the kernel reads decimals and dates exactly); a
 * blank line is no record. A quote opens a field only as its first character, as RFC
 * 4180 has it (`VTI, "0.6"` is a syntax error). Every problem is one `InvalidCsv`, one
 * line that says where, what was expected and what was found: `line 4: expected …,
 * got "…"`; a syntax error reads so too, quoting the line it starts on.
 *
 * Readers and the writer are Effects, not Results: effect's Csv is a Channel, and
 * turning it into a value takes running it, which library code leaves to its caller
 * (no hidden `Effect.runSync`). They need no services and never wait.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Csv from "effect/encoding/Csv"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import { show } from "../kernel/errors.ts"

/** A CSV file that cannot be read; the caller adds which file. */
export class InvalidCsv extends Data.TaggedError("InvalidCsv")<{
  /** The 1-based line of the file, or undefined when the file as a whole falls short (no rows). */
  readonly line: number | undefined
  readonly expected: string
  /** What was found, rendered for a one-line message (the line as written, or e.g. `none`). */
  readonly got: string
}> {
  override get message(): string {
    return `${this.line === undefined ? "" : `line ${this.line}: `}expected ${this.expected}, got ${this.got}`
  }
}

/** Rows for the kernel, and the 1-based line of the file each row starts on. */
export interface CsvRecords<A> {
  readonly rows: ReadonlyArray<A>
  readonly lines: ReadonlyArray<number>
}

// ---------------------------------------------------------------------------
// decoding
// ---------------------------------------------------------------------------

/** A record that is not blank: its cells (untrimmed) and the first and last line of the file it spans. */
interface Row {
  readonly cells: ReadonlyArray<string>
  readonly line: number
  readonly last: number
}

/** A file as effect's Csv read it: the rows before a syntax error, and the line of that error. */
interface Decoded {
  /** The text without its BOM, to quote lines from. */
  readonly text: string
  readonly rows: ReadonlyArray<Row>
  readonly broken: number | undefined
}

/** A line break as effect's Csv counts them: CRLF, CR or LF. */
const LINE_BREAK = /\r\n|\r|\n/g
const HAS_LINE_BREAK = /[\r\n]/

/** Rows numbered so far, and the line the next record starts on. */
interface Numbered {
  readonly rows: Array<Row>
  line: number
}

/** Numbers a record by line and keeps it unless it is blank (one cell of nothing but spaces). */
const numbered = (acc: Numbered, cells: Csv.Row): Numbered => {
  let last = acc.line
  for (const cell of cells) {
    if (HAS_LINE_BREAK.test(cell)) last += cell.match(LINE_BREAK)!.length
  }
  // A copy: effect's Csv grows each record's array as it goes, with room for many more cells.
  if (cells.length > 1 || cells[0]!.trim() !== "") acc.rows.push({ cells: cells.slice(), line: acc.line, last })
  acc.line = last + 1
  return acc
}

/**
 * How much text effect's Csv is given at a time (each piece ends at a line break, one piece per
 * chunk): it hands on the records of each piece as it goes, and they are numbered as they come.
 * Given the whole text at once, it holds every record's working state until the end (a 10 MiB file
 * took over 500 MB and a second; in pieces, under 150 MB and 0.2 s).
 */
const PIECE_LENGTH = 64 * 1024

function* piecesOf(text: string): Generator<string> {
  for (let start = 0; start < text.length;) {
    const cut = text.indexOf("\n", start + PIECE_LENGTH)
    const end = cut < 0 ? text.length : cut + 1
    yield text.slice(start, end)
    start = end
  }
}

const recordsIn = (text: string) =>
  Stream.fromIterable(piecesOf(text), { chunkSize: 1 }).pipe(
    Stream.pipeThroughChannel(Csv.decodeString()),
    Stream.runFold((): Numbered => ({ rows: [], line: 1 }), numbered),
    Effect.map((numbered) => numbered.rows)
  )

/** Where the 1-based `line` starts in `text`. */
const startOf = (text: string, line: number): number => {
  let start = 0
  const breaks = text.matchAll(LINE_BREAK)
  for (let n = 1; n < line; n++) {
    const found = breaks.next()
    if (found.done === true) return text.length
    start = found.value.index + found.value[0].length
  }
  return start
}

/**
 * Reads every record of `text`. At a syntax error, the records before it are read once
 * more: a problem on an earlier line is reported first, as a reader going down the file
 * meets it. The error's line is where its record starts, so the text before it ends with
 * a whole record, which read once already and cannot fail.
 */
const rowsIn = (text: string): Effect.Effect<Pick<Decoded, "rows" | "broken">> =>
  recordsIn(text).pipe(
    Effect.map((rows) => ({ rows, broken: undefined })),
    Effect.catchTag("CsvError", (error) =>
      recordsIn(text.slice(0, startOf(text, error.line))).pipe(
        Effect.orDie,
        Effect.map((rows) => ({ rows, broken: error.line }))
      ))
  )

const decode = (raw: string): Effect.Effect<Decoded> => {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw
  return rowsIn(text).pipe(Effect.map(({ broken, rows }) => ({ text, rows, broken })))
}

/** Lines `from` to `to` of the text, as written, for an error message. */
const quoteLines = (text: string, from: number, to: number): string =>
  show(text.split(LINE_BREAK).slice(from - 1, to).join("\n"))

const badRow = (text: string, row: Row, expected: string): InvalidCsv =>
  new InvalidCsv({ line: row.line, expected, got: quoteLines(text, row.line, row.last) })

/** A CSV syntax error (a quote left open or followed by text) reads as a line of the wrong shape. */
const badSyntax = (text: string, line: number, expected: string): InvalidCsv =>
  new InvalidCsv({ line, expected, got: quoteLines(text, line, line) })

const none = (expected: string): InvalidCsv => new InvalidCsv({ line: undefined, expected, got: "none" })

// ---------------------------------------------------------------------------
// records under a header
// ---------------------------------------------------------------------------

/** The columns a reader wants; names are matched case-insensitively, in any order. */
export interface CsvColumns<R extends string, O extends string> {
  /** Columns the header must name; their cells are kept, empty ones too. */
  readonly required: ReadonlyArray<R>
  /** Columns the header may name; an empty cell leaves the key out (as effect's Csv does). */
  readonly optional?: ReadonlyArray<O> | undefined
  /** Any other column: ignored (the default), or the header is wrong. */
  readonly others?: "ignore" | "reject" | undefined
  /** The header as errors describe it; by default `a header with date, symbol and close`. */
  readonly expected?: string | undefined
  /** When set, a file without rows is wrong: `expected <this>, got none`. */
  readonly nonEmpty?: string | undefined
}

/** One row under a header: every required column, and the optional ones that have a value. */
export type CsvRecord<R extends string, O extends string> =
  & { readonly [K in R]: string }
  & { readonly [K in O]?: string }

const listed = (names: ReadonlyArray<string>): string =>
  names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`

/** A wanted column and where the header has it. */
interface ColumnAt<N extends string> {
  readonly name: N
  readonly at: number
  readonly required: boolean
}

/** Where each wanted column is in the header's cells, or undefined when the header is wrong. */
const columnsAt = <R extends string, O extends string>(
  cells: ReadonlyArray<string>,
  columns: CsvColumns<R, O>
): ReadonlyArray<ColumnAt<R | O>> | undefined => {
  const names = cells.map((cell) => cell.trim().toLowerCase())
  const wanted: ReadonlyArray<readonly [R | O, boolean]> = [
    ...columns.required.map((name) => [name, true] as const),
    ...(columns.optional ?? []).map((name) => [name, false] as const)
  ]
  const known = new Set<string>(wanted.map(([name]) => name))
  if (columns.others === "reject" && names.some((name) => !known.has(name))) return undefined
  const found: Array<ColumnAt<R | O>> = []
  for (const [name, required] of wanted) {
    const at = names.indexOf(name)
    // A column named twice is ambiguous, never a choice made silently.
    if (at !== names.lastIndexOf(name)) return undefined
    if (at >= 0) found.push({ name, at, required })
    else if (required) return undefined
  }
  return found
}

const recordsOf = <R extends string, O extends string>(
  columns: CsvColumns<R, O>,
  { broken, rows, text }: Decoded
): Result.Result<CsvRecords<CsvRecord<R, O>>, InvalidCsv> => {
  const expected = columns.expected ?? `a header with ${listed(columns.required)}`
  const header = rows[0]
  if (header === undefined) {
    if (broken !== undefined) return Result.fail(badSyntax(text, broken, expected))
    if (columns.nonEmpty !== undefined) return Result.fail(none(columns.nonEmpty))
    return Result.fail(new InvalidCsv({ line: undefined, expected, got: "an empty file" }))
  }
  const found = columnsAt(header.cells, columns)
  if (found === undefined) return Result.fail(badRow(text, header, expected))
  const like = `${header.cells.length} fields like the header`
  const records: Array<CsvRecord<R, O>> = []
  const lines: Array<number> = []
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r]!
    if (row.cells.length !== header.cells.length) return Result.fail(badRow(text, row, like))
    const record: Record<string, string> = {}
    for (const column of found) {
      const cell = row.cells[column.at]!.trim()
      if (column.required || cell !== "") record[column.name] = cell
    }
    records.push(record as CsvRecord<R, O>)
    lines.push(row.line)
  }
  if (broken !== undefined) return Result.fail(badSyntax(text, broken, like))
  if (columns.nonEmpty !== undefined && records.length === 0) return Result.fail(none(columns.nonEmpty))
  return Result.succeed({ rows: records, lines })
}

/**
 * Reads CSV whose first record is a header: the cells of the wanted columns, by name,
 * one record per row, each with its line. Every row has as many fields as the header.
 */
export const readCsv = <R extends string, O extends string = never>(
  text: string,
  columns: CsvColumns<R, O>
): Effect.Effect<CsvRecords<CsvRecord<R, O>>, InvalidCsv> =>
  decode(text).pipe(Effect.flatMap((decoded) => Effect.fromResult(recordsOf(columns, decoded))))

// ---------------------------------------------------------------------------
// targets and history
// ---------------------------------------------------------------------------

export interface TargetRow {
  readonly symbol: string
  readonly weight: string
}

const TARGET_LINE = "\"symbol,weight\""

const targetsOf = ({ broken, rows, text }: Decoded): Result.Result<CsvRecords<TargetRow>, InvalidCsv> => {
  const targets: Array<TargetRow> = []
  const lines: Array<number> = []
  for (const row of rows) {
    if (row.cells.length !== 2) return Result.fail(badRow(text, row, TARGET_LINE))
    const symbol = row.cells[0]!.trim()
    const weight = row.cells[1]!.trim()
    const header = row === rows[0] && symbol.toLowerCase() === "symbol" && weight.toLowerCase() === "weight"
    if (header) continue
    targets.push({ symbol, weight })
    lines.push(row.line)
  }
  if (broken !== undefined) return Result.fail(badSyntax(text, broken, TARGET_LINE))
  // An empty export would otherwise read as "all cash" and sell everything.
  if (targets.length === 0) {
    return Result.fail(none("at least one \"symbol,weight\" line (all cash is written \"$CASH,1\")"))
  }
  return Result.succeed({ rows: targets, lines })
}

/**
 * Targets: one `symbol,weight` per line, an optional `symbol,weight` header (any case),
 * at least one row. Weights stay text: the kernel reads and checks them.
 */
export const readTargetsCsv = (text: string): Effect.Effect<CsvRecords<TargetRow>, InvalidCsv> =>
  decode(text).pipe(Effect.flatMap((decoded) => Effect.fromResult(targetsOf(decoded))))

export type HistoryRow = CsvRecord<"date" | "symbol" | "close", never>

const HISTORY: CsvColumns<"date" | "symbol" | "close", never> = {
  required: ["date", "symbol", "close"],
  nonEmpty: "a header and at least one close"
}

/**
 * Price history: a header naming at least `date`, `symbol` and `close` (in any order;
 * other columns such as open or volume are ignored), then one close per line.
 */
export const readHistoryCsv = (text: string): Effect.Effect<CsvRecords<HistoryRow>, InvalidCsv> =>
  readCsv(text, HISTORY)

// ---------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------

/**
 * Writes `columns` as the header, then one line per row with the cells under those
 * names, each line ending in "\n". A cell is quoted only when it holds a comma, a quote
 * or a line break (or starts with a BOM); a missing cell is empty.
 */
export const writeCsv = <C extends string>(
  columns: ReadonlyArray<C>,
  rows: Iterable<{ readonly [K in C]?: string | undefined }>
): Effect.Effect<string> =>
  Stream.fromIterable(rows).pipe(
    Stream.pipeThroughChannel(Csv.encodeString({ columns, headers: true, newline: "\n" })),
    Stream.runCollect,
    Effect.map((lines) => lines.join(""))
  )
