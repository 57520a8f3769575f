/** The JSON reader on its own: JSON.parse's results, exact numbers, and syntax errors with their line and column. */
import { describe, expect, it } from "@effect/vitest"
import * as Result from "effect/Result"
import fc from "fast-check"
import { exactNumber } from "../../src/formats/exact.ts"
import { parseJson } from "../../src/formats/json.ts"

describe("parseJson", () => {
  it("reads every JSON document as JSON.parse does", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined)
        // JSON.parse with the same rule for numbers: a double that is not the written decimal stays text.
        const expected: unknown = JSON.parse(
          text,
          (_key, v: unknown, context?: { source?: string }) =>
            typeof v === "number" && context?.source !== undefined ? exactNumber(v, context.source) : v
        )
        expect(parseJson(text)).toEqual(Result.succeed(expected))
      }),
      { numRuns: 300 }
    )
  })

  it("keeps __proto__ an own field, as JSON.parse does", () => {
    const parsed = parseJson("{\"__proto__\": {\"polluted\": true}}")
    expect(Result.isSuccess(parsed) && Object.hasOwn(parsed.success as object, "__proto__")).toBe(true)
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
  })

  it("names the line and column of every kind of syntax error", () => {
    expect(parseJson("{\"a\": 1,}")).toEqual(
      Result.fail("line 1, column 9: invalid JSON: expected a key in double quotes, got \"}\"")
    )
    expect(parseJson("{\"a\" 1}")).toEqual(Result.fail("line 1, column 6: invalid JSON: expected \":\", got \"1}\""))
    expect(parseJson("[1 2]")).toEqual(
      Result.fail("line 1, column 4: invalid JSON: expected \",\" or \"]\", got \"2]\"")
    )
    expect(parseJson("{\"a\": \"x")).toEqual(Result.fail("line 1, column 7: invalid JSON: a string is not closed"))
    expect(parseJson(String.raw`["\\q", "a\u00e9\n"]`)).toEqual(Result.succeed(["\\q", "a\u00e9\n"]))
    expect(parseJson(String.raw`["\x"]`)).toEqual(
      Result.fail("line 1, column 2: invalid JSON: an invalid escape in a string")
    )
    expect(parseJson("{}\n\n x")).toEqual(
      Result.fail("line 3, column 2: invalid JSON: expected the end of the file, got \"x\"")
    )
    expect(parseJson("")).toEqual(
      Result.fail("line 1, column 1: invalid JSON: expected a value, got the end of the file")
    )
    expect(parseJson("[01]")).toEqual(
      Result.fail("line 1, column 3: invalid JSON: expected \",\" or \"]\", got \"1]\"")
    )
    expect(parseJson("[".repeat(300))).toEqual(
      Result.fail("line 1, column 258: invalid JSON: nested deeper than 256 levels")
    )
  })
})
