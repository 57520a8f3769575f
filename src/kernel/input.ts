/**
 * Reading untrusted input (a parsed file, a caller's object) into kernel values.
 * Every reader returns a value or an InvalidInput naming the source, path and value;
 * none of them calls a method on the input, so no input can make them throw.
 */
import * as Result from "effect/Result"
import { type Decimal, isNegative, ONE, parseDecimal } from "./decimal.ts"
import { type InputSource, InvalidInput, quote, show } from "./errors.ts"

export type Read<A> = Result.Result<A, InvalidInput>

export const invalid = (source: InputSource, path: string, value: unknown, expected: string): Read<never> =>
  Result.fail(new InvalidInput({ source, path, value: show(value), expected }))

export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** An own property, so `toString` or `__proto__` in the input are never mistaken for fields. */
export const field = (record: Record<string, unknown>, key: string): unknown =>
  Object.hasOwn(record, key) ? record[key] : undefined

/** A key that reads plainly in a path; any other (empty, spaces, line breaks, dots) is quoted. */
const PLAIN_KEY = /^[A-Za-z0-9_$/:^-][A-Za-z0-9_$/:^.-]*$/

export const join = (path: string, key: string | number): string =>
  typeof key === "number"
    ? `${path}[${key}]`
    : !PLAIN_KEY.test(key)
    ? `${path}[${quote(key)}]`
    : path === ""
    ? key
    : `${path}.${key}`

export interface DecimalRule {
  readonly expected: string
  readonly accepts: (d: Decimal) => boolean
}

export const nonNegative: DecimalRule = { expected: "a non-negative decimal", accepts: (d) => !isNegative(d) }

export const fraction: DecimalRule = {
  expected: "a fraction between 0 and 1",
  accepts: (d) => !isNegative(d) && d.lte(ONE)
}

export const readDecimal = (source: InputSource, path: string, value: unknown, rule: DecimalRule): Read<Decimal> => {
  const d = parseDecimal(value)
  if (d === "not-a-number") return invalid(source, path, value, rule.expected)
  if (d === "out-of-range") {
    return invalid(source, path, value, `${rule.expected} with at most 15 integer digits and 20 decimal places`)
  }
  return rule.accepts(d) ? Result.succeed(d) : invalid(source, path, value, rule.expected)
}

/** A symbol: a non-empty string, surrounding spaces trimmed, case kept. */
export const readSymbol = (source: InputSource, path: string, value: unknown): Read<string> => {
  if (typeof value !== "string") return invalid(source, path, value, "a symbol (a non-empty string)")
  const symbol = value.trim()
  return symbol === "" ? invalid(source, path, value, "a symbol (a non-empty string)") : Result.succeed(symbol)
}

/** The list form (`[{ symbol, … }]`) or the map form (`{ SYMBOL: … }`) of per-symbol input. */
export interface Entry {
  readonly path: string
  readonly key: unknown
  readonly keyPath: string
  readonly value: unknown
}

export const entries = (
  source: InputSource,
  path: string,
  value: unknown,
  keyField: string,
  valueField: string | undefined
): Read<ReadonlyArray<Entry>> => {
  if (Array.isArray(value)) {
    const out: Array<Entry> = []
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      const at = join(path, i)
      if (!isRecord(item)) return invalid(source, at, item, `an object with "${keyField}"`)
      out.push({
        path: valueField === undefined ? at : join(at, valueField),
        key: field(item, keyField),
        keyPath: join(at, keyField),
        value: valueField === undefined ? item : field(item, valueField)
      })
    }
    return Result.succeed(out)
  }
  if (isRecord(value)) {
    return Result.succeed(
      Object.keys(value).map((key) => ({ path: join(path, key), key, keyPath: join(path, key), value: value[key] }))
    )
  }
  return invalid(source, path, value, `a list of { ${keyField}, … } or a map from symbol to value`)
}

/** Symbols must be unique after trimming: two entries for one symbol are an error, not a merge. */
export const uniqueSymbol = (source: InputSource, seen: Set<string>, entry: Entry): Read<string> => {
  const symbol = readSymbol(source, entry.keyPath, entry.key)
  if (Result.isFailure(symbol)) return passOn(symbol)
  if (seen.has(symbol.success)) return invalid(source, entry.keyPath, entry.key, "each symbol at most once (duplicate)")
  seen.add(symbol.success)
  return symbol
}

/** Passes a failure on as the caller's own result type. */
export const passOn = <A>(failure: Result.Failure<unknown, InvalidInput>): Read<A> => Result.fail(failure.failure)
