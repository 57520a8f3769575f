/** The shared rendering for people: tables line up, nothing ends in spaces, weights read as percentages. */
import { describe, expect, it } from "vitest"
import { Decimal } from "../../../src/kernel/decimal.ts"
import { amount, left, percent, right, section, table, time } from "../../../src/programs/cli/render.ts"

describe("table", () => {
  it("pads each column to its widest cell, title included: text to the left, numbers to the right", () => {
    expect(table([left("SYMBOL"), right("QTY")], [["VTI", "1"], ["VXUS", "12345678"]])).toEqual([
      "SYMBOL       QTY",
      "VTI            1",
      "VXUS    12345678"
    ])
  })

  it("leaves no line ending in spaces, and a short row's missing cells empty", () => {
    const lines = table([left("A"), left("B"), left("C")], [["x", "", ""], ["y"], ["long", "b", "c"]])
    expect(lines).toEqual(["A     B  C", "x", "y", "long  b  c"])
  })

  it("has no title line when no column has a title", () => {
    expect(table([right(), left()], [["1.", "QQQ"], ["10.", "VTI"]])).toEqual([" 1.  QQQ", "10.  VTI"])
  })

  it("is only its title line without rows, and nothing at all untitled", () => {
    expect(table([left("RUN"), left("STARTED")], [])).toEqual(["RUN  STARTED"])
    expect(table([left()], [])).toEqual([])
  })
})

describe("values for reading", () => {
  it("a weight as a percentage with two places, rounded half up; unknown as ?", () => {
    expect(percent(new Decimal("0.25"))).toBe("25.00%")
    expect(percent(new Decimal("0.123456"))).toBe("12.35%")
    expect(percent(new Decimal("-0.05"))).toBe("-5.00%")
    expect(percent(undefined)).toBe("?")
  })

  it("an amount exactly, unknown as ?; a time in ISO 8601, none as -", () => {
    expect(amount(new Decimal("1234.5000"))).toBe("1234.5")
    expect(amount(undefined)).toBe("?")
    expect(time(0)).toBe("1970-01-01T00:00:00.000Z")
    expect(time(undefined)).toBe("-")
  })

  it("a section is a blank line, its heading and its lines indented; nothing without lines", () => {
    expect(section("Warnings:", ["one", "two"])).toEqual(["", "Warnings:", "  one", "  two"])
    expect(section("Warnings:", [])).toEqual([])
  })
})
