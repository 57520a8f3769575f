/**
 * Exact decimals for every amount, price, quantity and weight.
 *
 * Keel uses its own big.js constructor so that its settings never leak into, or
 * depend on, other code in the same process. It is strict: a JavaScript number
 * can never silently become a money value, only a string can.
 *
 * The plan's per-symbol arithmetic goes through `multiply`, `add`, `subtract`, `sumOf`,
 * `compare` and `differsByMore` below: the same exact results as big.js's methods, without
 * their per-call copies (a plan of 500 symbols makes thousands of these operations).
 */
import Big from "big.js"
import * as Schema from "effect/Schema"

export type Decimal = Big

/** Significant places kept by the (rare) divisions: weights and pro-rata factors. */
const DIVISION_PLACES = 12

export const Decimal: Big.BigConstructor = (() => {
  const D = Big()
  D.strict = true
  D.DP = DIVISION_PLACES
  D.RM = D.roundHalfUp
  // Never switch to exponential notation in toString().
  D.NE = -1_000_000
  D.PE = 1_000_000
  return D
})()

export const ZERO: Decimal = new Decimal("0")
export const ONE: Decimal = new Decimal("1")
export const HALF: Decimal = new Decimal("0.5")

/** What a file or caller may give for a decimal: a string, or a number written in JSON/YAML. */
export type DecimalInput = string | number

/**
 * The representable domain. Anything outside it is a typed error, never a guess:
 * 15 integer digits is a thousand trillion, far above any real account, and
 * 20 decimal places is finer than any broker's quantity or price increment.
 */
export const DecimalLimits = { integerDigits: 15, decimalPlaces: 20 } as const

/** Longer text cannot be within the limits below (it is rejected before parsing). */
const MAX_TEXT = 64
const PLUS = 43

const SPACE = 32
const TAB = 9
const isBlank = (code: number): boolean => code === SPACE || code === TAB

/**
 * Spaces and tabs around a written value (a number, a date) are tolerated; other whitespace
 * (a line break) is part of the value, and makes it invalid.
 */
export const trimBlanks = (text: string): string =>
  text.length > 0 && (isBlank(text.charCodeAt(0)) || isBlank(text.charCodeAt(text.length - 1)))
    ? text.replace(/^[ \t]+|[ \t]+$/g, "")
    : text

/** Why an input is not a usable decimal. */
export const DecimalProblem = Schema.Literals(["not-a-number", "out-of-range"])
export type DecimalProblem = typeof DecimalProblem.Type

/**
 * Parses a decimal from a string or a JSON number. Numbers are read through their
 * shortest round-trip text (`0.1` stays `0.1`), never through binary arithmetic.
 */
export const parseDecimal = (input: unknown): Decimal | DecimalProblem => {
  let text: string
  if (typeof input === "string") text = trimBlanks(input)
  else if (typeof input === "number" && Number.isFinite(input)) text = String(input)
  else return "not-a-number"
  if (text.length > MAX_TEXT) return "not-a-number"
  let d = plain(text)
  if (d === undefined) {
    try {
      // Exponents and other rare forms: big.js validates the text (it only lacks a leading "+").
      d = new Decimal(text.charCodeAt(0) === PLUS ? text.slice(1) : text)
    } catch {
      return "not-a-number"
    }
  }
  if (isZero(d)) return ZERO
  return limitProblem(d) ?? d
}

/** Why a decimal is outside `DecimalLimits`, if it is: what `parseDecimal` would say of its text. */
export const limitProblem = (d: Decimal): DecimalProblem | undefined =>
  d.e >= DecimalLimits.integerDigits || decimalPlaces(d) > DecimalLimits.decimalPlaces ? "out-of-range" : undefined

const ZERO_CODE = 48
const DOT = 46
const MINUS = 45

/**
 * The common case, `[+-]digits[.digits]`, read in one pass straight into big.js's
 * documented normal form (sign `s`, exponent `e`, coefficient digits `c`). Returns
 * undefined for any other text, which then goes through big.js's own parser.
 */
const plain = (text: string): Decimal | undefined => {
  const length = text.length
  let i = 0
  let sign = 1
  const first = text.charCodeAt(0)
  if (first === MINUS || first === PLUS) {
    sign = first === MINUS ? -1 : 1
    i = 1
  }
  if (i === length) return undefined
  const digits: Array<number> = []
  let point = -1
  let leading = 0
  let seen = 0
  for (; i < length; i++) {
    const code = text.charCodeAt(i)
    if (code === DOT) {
      if (point >= 0) return undefined
      point = seen
      continue
    }
    const digit = code - ZERO_CODE
    if (digit < 0 || digit > 9) return undefined
    seen++
    if (digits.length === 0 && digit === 0) {
      leading++
      continue
    }
    digits.push(digit)
  }
  if (seen === 0) return undefined
  if (digits.length === 0) return normal(sign, 0, [0])
  while (digits[digits.length - 1] === 0) digits.pop()
  // A copy of exactly its length: an array grown by push keeps spare room (17 slots at first),
  // which a table of quotes held for a whole session would carry for every price.
  return normal(sign, (point < 0 ? seen : point) - leading - 1, digits.slice())
}

export const isZero = (d: Decimal): boolean => d.c[0] === 0

export const isNegative = (d: Decimal): boolean => d.s < 0 && !isZero(d)

export const isPositive = (d: Decimal): boolean => d.s > 0 && !isZero(d)

export const max = (a: Decimal, b: Decimal): Decimal => (compare(a, b) >= 0 ? a : b)

/** Digits after the decimal point, trailing zeros aside (`1.50` has 1; `12` has 0). */
export const decimalPlaces = (d: Decimal): number => Math.max(0, d.c.length - 1 - d.e)

/** A double-precision estimate, used only to choose quantities; money stays exact. */
export const estimate = (d: Decimal): number => {
  // Horner over the digit array: faster than toString + parseFloat, and deterministic.
  const n = coefficient(d.c)
  const shift = lowest(d)
  const scaled = shift >= 0 ? n * 10 ** shift : n / 10 ** -shift
  return d.s < 0 ? -scaled : scaled
}

/** An exact decimal from a whole number of units chosen in floating point (rounded to the nearest). */
export const fromInteger = (n: number): Decimal =>
  Number.isSafeInteger(n) ? integer(n) : plain(n.toFixed(0)) ?? new Decimal(n.toFixed(0))

/** A safe integer in big.js's normal form, its digits taken arithmetically (no text). */
const integer = (n: number): Decimal => (n === 0 ? ZERO : scaledInteger(n < 0 ? -1 : 1, n < 0 ? -n : n, 0))

/** Powers of ten that a double holds exactly, 10^0 to 10^15. */
const POWERS: ReadonlyArray<number> = Array.from({ length: 16 }, (_, i) => 10 ** i)

/** Integers below 10^15 (15 digits) are exact in a double, and so are their sums. */
const SAFE_DIGITS = 15
const MAX_UNITS = 10 ** SAFE_DIGITS

/** A safe integer is split at 10^8, so each half's digits come from 32-bit integer arithmetic. */
const HALF_SPLIT = 100_000_000
const HALF_DIGITS = 8

/** Scratch for the digits of one integer, least significant first (16 for a safe integer). */
const scratch = new Int8Array(16)

/** The digits of a non-negative 32-bit integer, least significant first, from `at` in scratch; returns the new end. */
const putDigits = (n: number, at: number, atLeast: number): number => {
  let rest = n
  let end = at
  while (rest > 0 || end - at < atLeast) {
    const next = (rest / 10) | 0
    scratch[end++] = rest - next * 10
    rest = next
  }
  return end
}

/** sign × n × 10^low in big.js's normal form (no leading or trailing zeros), for a positive safe integer n. */
const scaledInteger = (sign: number, n: number, low: number): Decimal => {
  let high = Math.floor(n / HALF_SPLIT)
  let rest = n - high * HALF_SPLIT
  // The quotient of doubles may round up by one near a multiple of 10^8.
  if (rest < 0) {
    high--
    rest += HALF_SPLIT
  }
  const count = high > 0 ? putDigits(high, putDigits(rest, 0, HALF_DIGITS), 0) : putDigits(rest, 0, 0)
  let zeros = 0
  while (scratch[zeros] === 0) zeros++
  const c: Array<number> = new Array<number>(count - zeros)
  for (let i = 0; i < c.length; i++) c[i] = scratch[count - 1 - i] as number
  return normal(sign, low + count - 1, c)
}

/** A decimal straight from big.js's documented normal form: sign, exponent, coefficient digits. */
const normal = (s: number, e: number, c: Array<number>): Decimal => {
  const d = Object.create(Decimal.prototype as object) as Decimal & { constructor: unknown }
  d.s = s
  d.e = e
  d.c = c
  d.constructor = Decimal
  return d
}

// ---------------------------------------------------------------------------------------
// Exact arithmetic for the per-symbol path. big.js copies its argument and builds digit
// arrays on every operation; these give the same value, in the same form, from integers
// held exactly in doubles when the operands are short, and ask big.js otherwise.
// ---------------------------------------------------------------------------------------

/** The coefficient's digits as one integer (exact up to SAFE_DIGITS digits; an estimate beyond). */
const coefficient = (c: ReadonlyArray<number>): number => {
  let n = 0
  for (let i = 0; i < c.length; i++) n = n * 10 + (c[i] as number)
  return n
}

/** The exponent of a decimal's last digit. */
const lowest = (d: Decimal): number => d.e - d.c.length + 1

/** Does |d| counted in units of 10^low (at or below its last digit) stay within SAFE_DIGITS digits? */
const fitsAligned = (d: Decimal, low: number): boolean => d.e - low < SAFE_DIGITS

/** |d| in units of 10^low: exact in a double when `fitsAligned(d, low)`. */
const unitsOf = (d: Decimal, low: number): number => coefficient(d.c) * (POWERS[lowest(d) - low] as number)

const isOne = (d: Decimal): boolean => d.s === 1 && d.e === 0 && d.c.length === 1 && d.c[0] === 1

/** a × b, exactly: the same decimal as `a.times(b)`. */
export const multiply = (a: Decimal, b: Decimal): Decimal => {
  const ac = a.c
  const bc = b.c
  if (ac.length > SAFE_DIGITS || bc.length > SAFE_DIGITS) return a.times(b)
  // One times a number is that number (a step of one share, a price without markup).
  if (isOne(a)) return b
  if (isOne(b)) return a
  const sign = a.s === b.s ? 1 : -1
  if (ac[0] === 0 || bc[0] === 0) return normal(sign, 0, [0])
  const product = coefficient(ac) * coefficient(bc)
  // Below 2^53 the double product of two exact integers is exact.
  if (product > Number.MAX_SAFE_INTEGER) return a.times(b)
  return scaledInteger(sign, product, lowest(a) + lowest(b))
}

/** a + b, exactly: the same decimal as `a.plus(b)`. */
export const add = (a: Decimal, b: Decimal): Decimal => sum(a, b, b.s) ?? a.plus(b)

/** a − b, exactly: the same decimal as `a.minus(b)`. */
export const subtract = (a: Decimal, b: Decimal): Decimal => sum(a, b, -b.s) ?? a.minus(b)

/** a + bSign × |b| from aligned integers; undefined when big.js must decide (long operands, a zero). */
const sum = (a: Decimal, b: Decimal, bSign: number): Decimal | undefined => {
  if (isZero(a) || isZero(b)) return undefined
  // Both operands are aligned to the lower of their last digits.
  const aLow = lowest(a)
  const bLow = lowest(b)
  const low = aLow < bLow ? aLow : bLow
  if (!fitsAligned(a, low) || !fitsAligned(b, low)) return undefined
  const total = a.s * unitsOf(a, low) + bSign * unitsOf(b, low)
  if (total === 0) return undefined
  return total < 0 ? scaledInteger(-1, -total, low) : scaledInteger(1, total, low)
}

/**
 * Σ xs, exactly: the same decimal as adding them one by one with big.js. Short addends are
 * summed as one integer held in a double (exact below 10^15); any other by big.js.
 */
export const sumOf = (xs: ReadonlyArray<Decimal>): Decimal => {
  // The running integer counts units of 10^low.
  let units = 0
  let low = 0
  let rest = ZERO
  for (const x of xs) {
    if (isZero(x)) continue
    const xLow = lowest(x)
    // Re-aligned to the finer of the two units, both parts must stay within SAFE_DIGITS digits.
    const shift = units === 0 ? 0 : low - xLow
    const fits = fitsAligned(x, shift < 0 ? low : xLow) &&
      (shift <= 0 || (shift < POWERS.length && Math.abs(units) * (POWERS[shift] as number) < MAX_UNITS))
    if (!fits) {
      rest = add(rest, x)
      continue
    }
    if (units === 0) low = xLow
    else if (shift > 0) {
      units *= POWERS[shift] as number
      low = xLow
    }
    units += x.s * unitsOf(x, low)
    if (Math.abs(units) >= MAX_UNITS) {
      // Past what stays exact: hand the integer to big.js and start again.
      rest = add(rest, scaledInteger(units < 0 ? -1 : 1, Math.abs(units), low))
      units = 0
    }
  }
  if (units === 0) return rest
  const counted = scaledInteger(units < 0 ? -1 : 1, Math.abs(units), low)
  return isZero(rest) ? counted : add(rest, counted)
}

/** |a − b| > limit, exactly (a drift band's test), without building a − b when the operands are short. */
export const differsByMore = (a: Decimal, b: Decimal, limit: Decimal): boolean => {
  const low = Math.min(lowest(a), lowest(b), lowest(limit))
  if (!fitsAligned(a, low) || !fitsAligned(b, low) || !fitsAligned(limit, low)) {
    const gap = subtract(a, b)
    return compare(gap.s < 0 ? gap.neg() : gap, limit) > 0
  }
  const gap = a.s * unitsOf(a, low) - b.s * unitsOf(b, low)
  return Math.abs(gap) > limit.s * unitsOf(limit, low)
}

/** −1, 0 or 1 as a is below, equal to or above b: `a.cmp(b)` without copying b. */
export const compare = (a: Decimal, b: Decimal): number => {
  const ac = a.c
  const bc = b.c
  if (ac[0] === 0 || bc[0] === 0) return ac[0] === 0 ? (bc[0] === 0 ? 0 : -b.s) : a.s
  if (a.s !== b.s) return a.s
  const negative = a.s < 0
  if (a.e !== b.e) return (a.e > b.e) !== negative ? 1 : -1
  const shorter = ac.length < bc.length ? ac.length : bc.length
  for (let i = 0; i < shorter; i++) {
    if (ac[i] !== bc[i]) return ((ac[i] as number) > (bc[i] as number)) !== negative ? 1 : -1
  }
  return ac.length === bc.length ? 0 : (ac.length > bc.length) !== negative ? 1 : -1
}

export const isDecimal = (u: unknown): u is Decimal => u instanceof Decimal

/** `count` steps of `step`, exactly (the common one-share step costs no multiplication). */
export const stepsOf = (count: number, step: Decimal): Decimal =>
  step === ONE || compare(step, ONE) === 0 ? fromInteger(count) : multiply(fromInteger(count), step)

/** Plain notation, never exponential, exactly as stored. */
export const format = (d: Decimal): string => d.toFixed()
