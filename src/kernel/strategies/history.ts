/**
 * Price history: daily closes per symbol, the input of the regime classifier and the
 * momentum strategy. Dates are calendar dates (`YYYY-MM-DD`) compared as text and counted
 * in days with integer arithmetic: no Date object, no time zone, no clock.
 */
import * as Result from "effect/Result"
import { type Decimal, isPositive, trimBlanks } from "../decimal.ts"
import type { InputSource } from "../errors.ts"
import {
  byCodeUnits,
  type DecimalRule,
  field,
  invalid,
  isRecord,
  join,
  passOn,
  type Path,
  type Read,
  readDecimal,
  readSymbol,
  subPath
} from "../input.ts"

export interface Close {
  /** `YYYY-MM-DD`. */
  readonly date: string
  readonly close: Decimal
}

/** Symbol → its closes, oldest first, one per date. */
export type PriceHistory = ReadonlyMap<string, ReadonlyArray<Close>>

/** How old the last close may be, in calendar days before `asOf`: a long weekend plus a holiday. */
export const HistoryDefaults = { maxStaleDays: 5 } as const

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_EXPECTED = "a date YYYY-MM-DD"
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0

/** Days since 1970-01-01 of a valid `YYYY-MM-DD`, else undefined (proleptic Gregorian calendar). */
export const dayNumber = (date: string): number | undefined => {
  const m = DATE.exec(date)
  if (m === null) return undefined
  const y = Number(m[1])
  const month = Number(m[2])
  const d = Number(m[3])
  if (month < 1 || month > 12) return undefined
  const last = month === 2 && isLeap(y) ? 29 : (DAYS_IN_MONTH[month - 1] as number)
  if (d < 1 || d > last) return undefined
  // Days from civil (H. Hinnant): the year starts in March so the leap day comes last.
  const yy = month <= 2 ? y - 1 : y
  const era = Math.floor(yy / 400)
  const yoe = yy - era * 400
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

/**
 * A date read from input: text `YYYY-MM-DD` (spaces around it trimmed) that is a real calendar
 * day; with its `dayNumber`.
 */
const readDate = (
  source: InputSource,
  path: Path,
  value: unknown
): Read<{ readonly date: string; readonly day: number }> => {
  if (typeof value !== "string") return invalid(source, path, value, DATE_EXPECTED)
  const date = trimBlanks(value)
  const day = dayNumber(date)
  return day === undefined ? invalid(source, path, value, DATE_EXPECTED) : Result.succeed({ date, day })
}

const positive: DecimalRule = { expected: "a positive decimal", accepts: isPositive }

/**
 * Validates rows `[{ date, symbol, close }]` (CSV `date,symbol,close`), source `history`:
 * a real date, a symbol, a positive close, and at most one row per (date, symbol). Other
 * fields (open, volume, …) are ignored: vendors' files carry them. Rows may come in any order.
 * (A history may hold many rows: rows are read in the plain form, without Result.gen.)
 */
export const validateHistory = (input: unknown): Read<PriceHistory> => {
  if (!Array.isArray(input)) return invalid("history", "", input, "a list of { date, symbol, close }")
  const series = new Map<string, Array<Close>>()
  const seen = new Set<string>()
  for (let i = 0; i < input.length; i++) {
    const row = readRow(input[i], i)
    if (Result.isFailure(row)) return passOn(row)
    const { symbol, close } = row.success
    // A date has no spaces, so "date symbol" identifies the pair.
    const key = `${close.date} ${symbol}`
    if (seen.has(key)) return invalid("history", join("", i), key, "one row per date and symbol (duplicate)")
    seen.add(key)
    let closes = series.get(symbol)
    if (closes === undefined) {
      closes = []
      series.set(symbol, closes)
    }
    closes.push(close)
  }
  for (const closes of series.values()) closes.sort((a, b) => byCodeUnits(a.date, b.date))
  return Result.succeed(series)
}

const readRow = (row: unknown, index: number): Read<{ readonly symbol: string; readonly close: Close }> => {
  const at = subPath("", index)
  if (!isRecord(row)) return invalid("history", at, row, "an object with date, symbol and close")
  const date = readDate("history", subPath(at, "date"), field(row, "date"))
  if (Result.isFailure(date)) return passOn(date)
  const symbol = readSymbol("history", subPath(at, "symbol"), field(row, "symbol"))
  if (Result.isFailure(symbol)) return passOn(symbol)
  const close = readDecimal("history", subPath(at, "close"), field(row, "close"), positive)
  if (Result.isFailure(close)) return passOn(close)
  return Result.succeed({ symbol: symbol.success, close: { date: date.success.date, close: close.success } })
}

/** The date a reading is made as of, and how stale its history may be. */
export interface AsOf {
  readonly asOf: string
  /** `dayNumber(asOf)`. */
  readonly day: number
  readonly maxStaleDays: number
}

/** Checks a caller's `asOf` and `maxStaleDays` once (source `history`). */
export const readAsOf = (asOf: unknown, maxStaleDays: unknown): Read<AsOf> =>
  Result.gen(function*() {
    const { date, day } = yield* readDate("history", "asOf", asOf)
    if (!Number.isSafeInteger(maxStaleDays) || (maxStaleDays as number) < 0) {
      return yield* invalid("history", "maxStaleDays", maxStaleDays, "a whole number of days, at least 0")
    }
    return { asOf: date, day, maxStaleDays: maxStaleDays as number }
  })

/**
 * The last `count` closes of a symbol dated on or before `asOf` (later rows are ignored, so a
 * past date replays what was known then). Errors (source `history`, path the symbol): no close
 * up to `asOf` (missing); a last close more than `maxStaleDays` calendar days before `asOf`
 * (stale; the value is that last date); fewer than `count` closes (the value is how many there
 * are, and `purpose` says what needs them).
 */
export const lastCloses = (
  history: PriceHistory,
  symbol: string,
  asOf: AsOf,
  count: number,
  purpose: string
): Read<ReadonlyArray<Close>> => {
  const path = subPath("", symbol)
  const all = history.get(symbol) ?? []
  let end = all.length
  while (end > 0 && (all[end - 1] as Close).date > asOf.asOf) end--
  const last = all[end - 1]
  if (last === undefined) return invalid("history", path, undefined, `closes up to ${asOf.asOf} (${purpose})`)
  const age = asOf.day - (dayNumber(last.date) as number)
  if (age > asOf.maxStaleDays) {
    return invalid(
      "history",
      path,
      last.date,
      `a last close at most ${String(asOf.maxStaleDays)} calendar days before ${asOf.asOf}`
    )
  }
  if (end < count) {
    return invalid("history", path, end, `at least ${String(count)} closes up to ${asOf.asOf} (${purpose})`)
  }
  return Result.succeed(all.slice(end - count, end))
}
