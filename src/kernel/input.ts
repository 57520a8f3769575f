/**
 * Reading untrusted input (a parsed file, a caller's object) into kernel values.
 * Every reader returns a value or an InvalidInput naming the source, path and value;
 * none of them calls a method on the input, so no input can make them throw.
 *
 * Paths are built only when an error names them: valid input, the common case, never
 * pays for the text of a path it does not need.
 */
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import { compare, type Decimal, DecimalLimits, isNegative, ONE, parseDecimal } from "./decimal.ts"
import { type InputSource, InvalidInput, quote, show } from "./errors.ts"

export type Read<A> = Result.Result<A, InvalidInput>

/** Where a value sits in its input: a path, or a place that builds its path only when asked. */
export type Path = string | { readonly path: string }

const pathText = (path: Path): string => (typeof path === "string" ? path : path.path)

/** One key below another path. */
class Step {
  readonly parent: Path
  readonly key: string | number
  constructor(parent: Path, key: string | number) {
    this.parent = parent
    this.key = key
  }
  get path(): string {
    return join(pathText(this.parent), this.key)
  }
}

/** `join` for a path built only when an error names it. */
export const subPath = (parent: Path, key: string | number): Path => new Step(parent, key)

export const invalid = (source: InputSource, path: Path, value: unknown, expected: string): Read<never> =>
  Result.fail(new InvalidInput({ source, path: pathText(path), value: show(value), expected }))

export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** An own property, so `toString` or `__proto__` in the input are never mistaken for fields. */
export const field = (record: Record<string, unknown>, key: string): unknown =>
  Object.hasOwn(record, key) ? record[key] : undefined

/**
 * A record that has no field but `known` (`what` names them in the error: "a position field"):
 * a misspelt or foreign field (`Bid`, `price`, `side`) is refused, never ignored, since ignoring
 * it would change what the input means without a word.
 */
export const onlyFields = (
  source: InputSource,
  path: Path,
  record: Record<string, unknown>,
  known: ReadonlyArray<string>,
  what: string
): Read<void> => {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) return invalid(source, subPath(path, key), key, `${what} (${known.join(", ")})`)
  }
  return Result.void
}

/** A key that reads plainly in a path; any other (empty, spaces, line breaks, dots) is quoted. */
const PLAIN_KEY = /^[A-Za-z0-9_$/:^-][A-Za-z0-9_$/:^.-]*$/

/** Keys longer than this are shown cut (`show`), so a path stays readable on one line. */
const LONGEST_PLAIN_KEY = 40

export const join = (path: string, key: string | number): string =>
  typeof key === "number"
    ? `${path}[${key}]`
    : key.length > LONGEST_PLAIN_KEY
    ? `${path}[${show(key)}]`
    : !PLAIN_KEY.test(key)
    ? `${path}[${quote(key)}]`
    : path === ""
    ? key
    : `${path}.${key}`

/** Text in UTF-16 code unit order: the order of every sorted kernel list (never the locale's). */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export interface DecimalRule {
  readonly expected: string
  readonly accepts: (d: Decimal) => boolean
}

export const nonNegative: DecimalRule = { expected: "a non-negative decimal", accepts: (d) => !isNegative(d) }

export const fraction: DecimalRule = {
  expected: "a fraction between 0 and 1",
  accepts: (d) => !isNegative(d) && compare(d, ONE) <= 0
}

export const readDecimal = (source: InputSource, path: Path, value: unknown, rule: DecimalRule): Read<Decimal> => {
  const d = parseDecimal(value)
  if (typeof d !== "string" && rule.accepts(d)) return Result.succeed(d)
  if (d === "out-of-range") {
    const { integerDigits, decimalPlaces } = DecimalLimits
    const limits = `at most ${integerDigits} integer digits and ${decimalPlaces} decimal places`
    return invalid(source, path, value, `${rule.expected} with ${limits}`)
  }
  return invalid(source, path, value, rule.expected)
}

/** One of the strings of a `Schema.Literals` (an enum), exactly as written. */
export const readLiteral = <const L extends ReadonlyArray<string>>(
  source: InputSource,
  path: Path,
  value: unknown,
  schema: Schema.Literals<L>
): Read<L[number]> => {
  const literal = schema.literals.find((l) => l === value)
  return literal === undefined
    ? invalid(source, path, value, `one of ${schema.literals.join(", ")}`)
    : Result.succeed(literal)
}

/** The longest symbol read: room for any ticker, an OCC option symbol (21) or a crypto pair. */
export const MAX_SYMBOL_LENGTH = 32

const SYMBOL = `a symbol (1 to ${MAX_SYMBOL_LENGTH} characters, none of them a control or invisible character)`

/** Controls (NUL, tab, line breaks…), invisible formatting, line and paragraph separators, lone surrogates. */
const NOT_IN_SYMBOL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u

/**
 * A symbol: a string, surrounding spaces trimmed, case kept, of 1 to `MAX_SYMBOL_LENGTH`
 * characters that all print (a symbol reaches order ids, file names and terminals);
 * undefined for anything else.
 */
const symbolOf = (value: unknown): string | undefined => {
  const symbol = typeof value === "string" ? value.trim() : ""
  return symbol === "" || symbol.length > MAX_SYMBOL_LENGTH || NOT_IN_SYMBOL.test(symbol) ? undefined : symbol
}

export const readSymbol = (source: InputSource, path: Path, value: unknown): Read<string> => {
  const symbol = symbolOf(value)
  return symbol === undefined ? invalid(source, path, value, SYMBOL) : Result.succeed(symbol)
}

/**
 * One entry of per-symbol input, in the list form (`[{ symbol, … }]`) or the map form
 * (`{ SYMBOL: … }`). An entry is also the Path of its value.
 */
export class Entry {
  readonly key: unknown
  readonly value: unknown
  readonly #parent: string
  /** The index in the list form, the key in the map form. */
  readonly #at: string | number
  readonly #keyField: string
  readonly #valueField: string | undefined

  constructor(
    key: unknown,
    value: unknown,
    parent: string,
    at: string | number,
    keyField: string,
    valueField: string | undefined
  ) {
    this.key = key
    this.value = value
    this.#parent = parent
    this.#at = at
    this.#keyField = keyField
    this.#valueField = valueField
  }

  /** Where the value is: `positions[2].quantity` (list form), `positions.AAPL` (map form). */
  get path(): string {
    return this.#pathOf(this.#valueField)
  }

  /** Where the symbol is: `positions[2].symbol` (list form), `positions.AAPL` (map form). */
  get keyPath(): string {
    return this.#pathOf(this.#keyField)
  }

  /** The entry's own path, with `itemField` below it in the list form (when there is one). */
  #pathOf(itemField: string | undefined): string {
    const at = join(this.#parent, this.#at)
    return typeof this.#at === "string" || itemField === undefined ? at : join(at, itemField)
  }
}

/** In the list form, the fields an item may have (`what` names them in the error); unset: any. */
export interface ItemFields {
  readonly known: ReadonlyArray<string>
  readonly what: string
}

export const entries = (
  source: InputSource,
  path: string,
  value: unknown,
  keyField: string,
  valueField: string | undefined,
  fields?: ItemFields
): Read<ReadonlyArray<Entry>> => {
  if (Array.isArray(value)) {
    const out: Array<Entry> = []
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      if (!isRecord(item)) return invalid(source, join(path, i), item, `an object with "${keyField}"`)
      if (fields !== undefined) {
        const only = onlyFields(source, subPath(path, i), item, fields.known, fields.what)
        if (Result.isFailure(only)) return passOn(only)
      }
      const itemValue = valueField === undefined ? item : field(item, valueField)
      out.push(new Entry(field(item, keyField), itemValue, path, i, keyField, valueField))
    }
    return Result.succeed(out)
  }
  if (isRecord(value)) {
    return Result.succeed(Object.keys(value).map((key) => new Entry(key, value[key], path, key, keyField, valueField)))
  }
  return invalid(source, path, value, `a list of { ${keyField}, … } or a map from symbol to value`)
}

/** Symbols must be unique after trimming: two entries for one symbol are an error, not a merge. */
export const uniqueSymbol = (source: InputSource, seen: Set<string>, entry: Entry): Read<string> => {
  const symbol = symbolOf(entry.key)
  if (symbol === undefined) return invalid(source, entry.keyPath, entry.key, SYMBOL)
  if (seen.has(symbol)) return invalid(source, entry.keyPath, entry.key, "each symbol at most once (duplicate)")
  seen.add(symbol)
  return Result.succeed(symbol)
}

/** Passes a failure on as the caller's own result type. */
export const passOn = <A>(failure: Result.Failure<unknown, InvalidInput>): Read<A> => Result.fail(failure.failure)
