/**
 * Targets as CSV: one `symbol,weight` per line, an optional `symbol,weight` header,
 * blank lines ignored, at least one row. Fields may be double-quoted, as spreadsheets
 * export them.
 * Weights stay text: the kernel reads and checks them, and every row keeps its line
 * number so that a kernel error about row i can name the line of the file.
 */
import * as Result from "effect/Result"
import { show } from "../kernel/errors.ts"

export interface TargetRow {
  readonly symbol: string
  readonly weight: string
}

export interface CsvTargets {
  readonly rows: ReadonlyArray<TargetRow>
  /** The 1-based file line of each row. */
  readonly lines: ReadonlyArray<number>
}

/** Parses targets CSV; the failure is one line that names the line of the file. */
export const parseTargetsCsv = (text: string): Result.Result<CsvTargets, string> => {
  const rows: Array<TargetRow> = []
  const lines: Array<number> = []
  let first = true
  const all = text.split(/\r?\n/)
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!
    if (line.trim() === "") continue
    const fields = split(line)
    if (fields === undefined || fields.length !== 2) {
      return Result.fail(`line ${i + 1}: expected "symbol,weight", got ${show(line)}`)
    }
    const [symbol, weight] = fields as [string, string]
    const header = first && symbol.toLowerCase() === "symbol" && weight.toLowerCase() === "weight"
    first = false
    if (header) continue
    rows.push({ symbol, weight })
    lines.push(i + 1)
  }
  // An empty export would otherwise read as "all cash" and sell everything.
  if (rows.length === 0) return Result.fail("expected at least one \"symbol,weight\" line, got none")
  return Result.succeed({ rows, lines })
}

export interface HistoryRow {
  readonly date: string
  readonly symbol: string
  readonly close: string
}

export const HISTORY_COLUMNS = ["date", "symbol", "close"] as const

/**
 * Parses price history CSV: a header naming at least `date`, `symbol` and `close` (in any
 * order; other columns such as open or volume are ignored), then one close per line.
 */
export const parseHistoryCsv = (
  text: string
): Result.Result<{ readonly rows: ReadonlyArray<HistoryRow>; readonly lines: ReadonlyArray<number> }, string> => {
  const rows: Array<HistoryRow> = []
  const lines: Array<number> = []
  let columns: ReadonlyArray<number> | undefined
  let width = 0
  const all = text.split(/\r?\n/)
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!
    if (line.trim() === "") continue
    const fields = split(line)
    if (columns === undefined) {
      const names = (fields ?? []).map((f) => f.toLowerCase())
      const found = HISTORY_COLUMNS.map((c) => names.indexOf(c))
      if (found.some((at) => at < 0)) {
        return Result.fail(`line ${i + 1}: expected a header with date, symbol and close, got ${show(line)}`)
      }
      columns = found
      width = names.length
      continue
    }
    if (fields === undefined || fields.length !== width) {
      return Result.fail(`line ${i + 1}: expected ${width} fields like the header, got ${show(line)}`)
    }
    const [date, symbol, close] = columns.map((at) => fields[at]!) as [string, string, string]
    rows.push({ date, symbol, close })
    lines.push(i + 1)
  }
  if (rows.length === 0) return Result.fail("expected a header and at least one close, got none")
  return Result.succeed({ rows, lines })
}

/** The fields of one line, trimmed; undefined when a quote is left open or followed by text. */
const split = (line: string): Array<string> | undefined => {
  const fields: Array<string> = []
  let i = 0
  for (;;) {
    while (line[i] === " " || line[i] === "\t") i++
    let value = ""
    if (line[i] === "\"") {
      for (i++;; i++) {
        if (i >= line.length) return undefined
        if (line[i] === "\"") {
          if (line[i + 1] !== "\"") break
          i++
        }
        value += line[i]
      }
      i++
      while (line[i] === " " || line[i] === "\t") i++
      if (i < line.length && line[i] !== ",") return undefined
    } else {
      const comma = line.indexOf(",", i)
      const end = comma < 0 ? line.length : comma
      value = line.slice(i, end).trim()
      i = end
    }
    fields.push(value)
    if (i >= line.length) return fields
    i++
  }
}
