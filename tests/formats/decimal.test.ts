/**
 * The decimal Schemas of every boundary: text ⇄ Decimal, a JSON/YAML number or text ⇄ Decimal
 * (numbers read through their shortest text), and the check that keeps a written value as written.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { DecimalFromInput, DecimalInput, DecimalText, readsAsDecimal } from "../../src/formats/decimal.ts"
import { Decimal, format, isNegative } from "../../src/kernel/decimal.ts"

/** The decoded decimal as text, or the failure's message. */
const decoded = <E>(schema: Schema.Codec<Decimal, E>, input: unknown): string => {
  const result = Schema.decodeUnknownResult(schema, { reportInput: true })(input)
  return Result.isSuccess(result) ? format(result.success) : `fails: ${result.failure.message}`
}

const encoded = <E>(schema: Schema.Codec<Decimal, E>, d: Decimal): unknown => {
  const result = Schema.encodeUnknownResult(schema, { reportInput: true })(d)
  return Result.isSuccess(result) ? result.success : `fails: ${result.failure.message}`
}

describe("DecimalText", () => {
  it("reads text exactly as the kernel does, and writes plain notation", () => {
    expect(decoded(DecimalText, "0.1")).toBe("0.1")
    expect(decoded(DecimalText, " 1e-7\t")).toBe("0.0000001")
    expect(decoded(DecimalText, "-0")).toBe("0")
    expect(encoded(DecimalText, new Decimal("123456789.123456789"))).toBe("123456789.123456789")
  })

  it("refuses what is not text, not a decimal, or beyond Keel's limits, both ways", () => {
    expect(decoded(DecimalText, 0.1)).toBe("fails: Expected string, got 0.1")
    expect(decoded(DecimalText, "abc")).toBe(`fails: Expected a decimal, got "abc"`)
    expect(decoded(DecimalText, "1e15")).toBe(
      `fails: Expected a decimal within Keel's limits (15 integer digits, 20 places), got "1e15"`
    )
    expect(encoded(DecimalText, new Decimal("1e-21"))).toBe(
      `fails: Expected a decimal within Keel's limits (15 integer digits, 20 places), got "0.000000000000000000001"`
    )
  })

  // Regression: encoding re-read the written text, and text longer than any decimal within the
  // limits is refused before parsing, so a decimal far out of range was called "not a decimal".
  it("names the limits when it refuses to write a decimal far beyond them", () => {
    expect(encoded(DecimalText, new Decimal("1e70"))).toBe(
      `fails: Expected a decimal within Keel's limits (15 integer digits, 20 places), got "1${"0".repeat(70)}"`
    )
  })
})

describe("DecimalFromInput", () => {
  it("reads a number through its shortest text, never through arithmetic, and text as DecimalText does", () => {
    expect(decoded(DecimalFromInput, 0.1)).toBe("0.1")
    expect(decoded(DecimalFromInput, 156.47)).toBe("156.47")
    expect(decoded(DecimalFromInput, 1e-7)).toBe("0.0000001")
    expect(decoded(DecimalFromInput, "0.30000000000000004")).toBe("0.30000000000000004")
    expect(encoded(DecimalFromInput, new Decimal("0.1"))).toBe("0.1")
  })

  it("names what it refuses as it was written", () => {
    expect(decoded(DecimalFromInput, true)).toBe("fails: Expected string | number, got true")
    expect(decoded(DecimalFromInput, Number.NaN)).toBe("fails: Expected a decimal, got NaN")
    expect(decoded(DecimalFromInput, "1,5")).toBe(`fails: Expected a decimal, got "1,5"`)
  })
})

describe("readsAsDecimal", () => {
  const Tolerance = DecimalInput.check(readsAsDecimal({ expected: "a decimal" })).check(
    readsAsDecimal({ expected: "a non-negative decimal" }, (d) => !isNegative(d))
  )
  const check = (input: unknown) => {
    const result = Schema.decodeUnknownResult(Tolerance, { reportInput: true })(input)
    return Result.isSuccess(result) ? result.success : `fails: ${result.failure.message}`
  }

  it("keeps the value as written when it reads and passes", () => {
    expect(check(0.5)).toBe(0.5)
    expect(check("0.50")).toBe("0.50")
  })

  it("says which check failed, naming the value as written", () => {
    expect(check("x")).toBe(`fails: Expected a decimal, got "x"`)
    expect(check(-0.1)).toBe("fails: Expected a non-negative decimal, got -0.1")
  })
})
