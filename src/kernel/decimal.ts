/**
 * Exact decimals for every amount, price, quantity and weight.
 *
 * Keel uses its own big.js constructor so that its settings never leak into, or
 * depend on, other code in the same process. It is strict: a JavaScript number
 * can never silently become a money value, only a string can.
 */
import Big from "big.js"

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

/** Why an input is not a usable decimal, in words that fit "expected …". */
export type DecimalProblem = "not-a-number" | "out-of-range"

/**
 * Parses a decimal from a string or a JSON number. Numbers are read through their
 * shortest round-trip text (`0.1` stays `0.1`), never through binary arithmetic.
 */
export const parseDecimal = (input: unknown): Decimal | DecimalProblem => {
  let text: string
  // Spaces and tabs around a number are tolerated; other whitespace (line breaks) is not a number.
  if (typeof input === "string") text = input.replace(/^[ \t]+|[ \t]+$/g, "")
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
  if (d.e >= DecimalLimits.integerDigits || decimalPlaces(d) > DecimalLimits.decimalPlaces) return "out-of-range"
  return d
}

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
  const d = Object.create(Decimal.prototype) as Decimal & { constructor: unknown }
  d.s = sign
  if (digits.length === 0) {
    d.e = 0
    d.c = [0]
  } else {
    while (digits[digits.length - 1] === 0) digits.pop()
    d.e = (point < 0 ? seen : point) - leading - 1
    d.c = digits
  }
  d.constructor = Decimal
  return d
}

export const isZero = (d: Decimal): boolean => d.c[0] === 0

export const isNegative = (d: Decimal): boolean => d.s < 0 && !isZero(d)

export const isPositive = (d: Decimal): boolean => d.s > 0 && !isZero(d)

export const max = (a: Decimal, b: Decimal): Decimal => (a.gte(b) ? a : b)

/** Digits after the decimal point, trailing zeros aside (`1.50` has 1; `12` has 0). */
export const decimalPlaces = (d: Decimal): number => Math.max(0, d.c.length - 1 - d.e)

/** A double-precision estimate, used only to choose quantities; money stays exact. */
export const estimate = (d: Decimal): number => {
  // Horner over the digit array: faster than toString + parseFloat, and deterministic.
  const c = d.c
  let n = 0
  for (let i = 0; i < c.length; i++) n = n * 10 + (c[i] as number)
  const shift = d.e - (c.length - 1)
  const scaled = shift >= 0 ? n * 10 ** shift : n / 10 ** -shift
  return d.s < 0 ? -scaled : scaled
}

/** An exact decimal from a whole number of units chosen in floating point. */
export const fromInteger = (n: number): Decimal => plain(n.toFixed(0)) ?? new Decimal(n.toFixed(0))

/** `count` steps of `step`, exactly (the common one-share step costs no multiplication). */
export const stepsOf = (count: number, step: Decimal): Decimal =>
  step === ONE || step.eq(ONE) ? fromInteger(count) : fromInteger(count).times(step)

/** Plain notation, never exponential, exactly as stored. */
export const format = (d: Decimal): string => d.toFixed()
