/**
 * The kernel's own exact arithmetic (multiply, add, subtract, compare, fromInteger) gives
 * exactly what big.js gives: the same sign, exponent and digits, zeros and long operands
 * included.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  add,
  compare,
  type Decimal,
  decimalPlaces,
  differsByMore,
  fromInteger,
  multiply,
  parseDecimal,
  subtract,
  sumOf,
  trimBlanks
} from "../../src/kernel/index.ts"
import { dec, scaled } from "./helpers.ts"

/** Decimals from short to long (past 15 digits), either sign, zeros included. */
const decimalArb: fc.Arbitrary<Decimal> = fc.oneof(
  fc.tuple(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: 0, max: 6 }))
    .map(([units, places]) => dec(scaled(units, places))),
  fc.tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 20 }))
    .map(([units, places]) => dec(`${units}e-${places}`)),
  fc.constantFrom("0", "-0", "1", "-1", "0.5", "100", "999999999999999", "1e15", "1e-20").map(dec)
)

/** Around the split at 10^8 and the edges of what a double holds exactly. */
const edges = fc.constantFrom(
  0,
  -0,
  99_999_999,
  100_000_000,
  100_000_001,
  199_999_999,
  1_000_000_000_000_000,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  1e21
)

/** The fields of big.js's normal form, so equal values in different forms do not pass. */
const form = (d: Decimal): [number, number, string] => [d.s, d.e, d.c.join("")]

describe("exact arithmetic", () => {
  it("multiply, add and subtract give big.js's own results", () => {
    fc.assert(
      fc.property(decimalArb, decimalArb, (a, b) => {
        expect(form(multiply(a, b))).toEqual(form(a.times(b)))
        expect(form(add(a, b))).toEqual(form(a.plus(b)))
        expect(form(subtract(a, b))).toEqual(form(a.minus(b)))
      }),
      { numRuns: 5000 }
    )
  })

  it("sumOf is the sum big.js gives, added one by one", () => {
    fc.assert(
      fc.property(fc.array(decimalArb, { maxLength: 40 }), (xs) => {
        expect(form(sumOf(xs))).toEqual(form(xs.reduce((s, x) => s.plus(x), dec("0"))))
      }),
      { numRuns: 3000 }
    )
    // Many short addends, past what one double holds exactly.
    const many = Array.from({ length: 2000 }, (_, i) => dec(scaled(987_654_321 + i, 2)))
    expect(form(sumOf(many))).toEqual(form(many.reduce((s, x) => s.plus(x), dec("0"))))
  })

  it("compare is big.js's cmp", () => {
    fc.assert(
      fc.property(decimalArb, decimalArb, (a, b) => {
        expect(compare(a, b)).toBe(a.cmp(b))
        expect(compare(a, a)).toBe(0)
      }),
      { numRuns: 5000 }
    )
  })

  it("differsByMore is |a − b| > limit", () => {
    fc.assert(
      fc.property(decimalArb, decimalArb, decimalArb, (a, b, limit) => {
        expect(differsByMore(a, b, limit)).toBe(a.minus(b).abs().gt(limit))
        expect(differsByMore(a, a.plus(limit.abs()), limit.abs())).toBe(false)
      }),
      { numRuns: 5000 }
    )
  })

  it("fromInteger is the integer's own text, parsed", () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.maxSafeInteger(), edges), (n) => {
        expect(form(fromInteger(n))).toEqual(form(dec(n.toFixed(0))))
      })
    )
  })

  it("decimal places and blanks", () => {
    expect([dec("1.50"), dec("12"), dec("0.001"), dec("1e3")].map(decimalPlaces)).toEqual([1, 0, 3, 0])
    expect([" 1 ", "\t2", "3", "", " \n4"].map(trimBlanks)).toEqual(["1", "2", "3", "", "\n4"])
    expect(parseDecimal("1\n")).toBe("not-a-number")
  })
})
