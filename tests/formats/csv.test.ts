/**
 * The CSV module: line numbers that survive quoted line breaks, CRLF, CR, a BOM and blank
 * lines; one-line errors that name the line; the header reader the paper quotes use; and
 * the writer, read back by the reader.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { readCsv, readHistoryCsv, readTargetsCsv, writeCsv } from "../../src/formats/csv.ts"

const message = <A, E extends { readonly message: string }>(read: Effect.Effect<A, E>) =>
  read.pipe(Effect.flip, Effect.map((error) => error.message))

/** How paper quotes read their CSV (see the report of issue 11). */
const QUOTES = {
  required: ["symbol"],
  optional: ["bid", "ask", "last", "close"],
  others: "reject",
  expected: "a header such as \"symbol,bid,ask,last\""
} as const

describe("line numbers", () => {
  it.effect("count the line breaks inside quoted fields", () =>
    Effect.gen(function*() {
      const read = yield* readTargetsCsv("symbol,weight\n\"BRK\nB\",0.3\nMSFT,\"0\n.\n2\"\nVTI,0.1\n")
      expect(read.rows).toEqual([
        { symbol: "BRK\nB", weight: "0.3" },
        { symbol: "MSFT", weight: "0\n.\n2" },
        { symbol: "VTI", weight: "0.1" }
      ])
      expect(read.lines).toEqual([2, 4, 7])
    }))

  it.effect("count CRLF and CR as one line break, inside quotes and between records", () =>
    Effect.gen(function*() {
      const read = yield* readTargetsCsv("\"A\r\nX\",0.1\r\nB,0.2\rC,\"0\r.3\"\rD,0.4")
      expect(read.rows.map((row) => row.symbol)).toEqual(["A\r\nX", "B", "C", "D"])
      expect(read.lines).toEqual([1, 3, 4, 6])
    }))

  it.effect("skip a BOM and blank lines, spaces-only ones too, and trim cells", () =>
    Effect.gen(function*() {
      const read = yield* readTargetsCsv("\uFEFFSYMBOL,Weight\n\n   \nAAPL , 0.3\n\t\n\"MSFT\",\" 0.2 \"\n")
      expect(read.rows).toEqual([{ symbol: "AAPL", weight: "0.3" }, { symbol: "MSFT", weight: "0.2" }])
      expect(read.lines).toEqual([4, 6])
    }))

  it.effect("of history rows, under a header found after blank lines", () =>
    Effect.gen(function*() {
      const read = yield* readHistoryCsv(
        "\n\nVolume,Close,Symbol,Date\n1,\"101\",SPY,2026-03-02\r\n\r\n2,102,SPY,2026-03-03"
      )
      expect(read.rows).toEqual([
        { date: "2026-03-02", symbol: "SPY", close: "101" },
        { date: "2026-03-03", symbol: "SPY", close: "102" }
      ])
      expect(read.lines).toEqual([4, 6])
    }))
})

describe("a large file", () => {
  it.effect("read in pieces keeps every record and its line, quoted line breaks and CRLF across the pieces", () =>
    Effect.gen(function*() {
      // Over 64 KiB many times: records with a quoted line break fall across every piece boundary.
      const rows = Array.from({ length: 20_000 }, (_, i) => i % 7 === 0 ? `S${i},"note\r\nover two lines"` : `S${i},x`)
      const read = yield* readCsv(`symbol,note\r\n${rows.join("\r\n")}\r\n`, { required: ["symbol", "note"] })
      expect(read.rows).toHaveLength(20_000)
      let line = 2
      const lines = rows.map((row) => {
        const at = line
        line += row.includes("\n") ? 2 : 1
        return at
      })
      expect(read.lines).toEqual(lines)
      expect(read.rows[19_999]).toEqual({ symbol: "S19999", note: "note\r\nover two lines" })
      expect(read.rows[19_998]).toEqual({ symbol: "S19998", note: "x" })
      expect(read.rows[19_992]).toEqual({ symbol: "S19992", note: "note\r\nover two lines" })
    }))

  it.effect("names the line of a syntax error far into the file", () =>
    Effect.gen(function*() {
      const rows = Array.from({ length: 30_000 }, (_, i) => `S${i},0.00001`)
      rows[25_000] = "S25000,\"0.1"
      expect(yield* message(readTargetsCsv(`${rows.join("\n")}\n`))).toMatch(/^line 25001: /)
    }))
})

describe("errors name the line", () => {
  it.effect("a targets line without two fields, after a record over several lines", () =>
    Effect.gen(function*() {
      expect(yield* message(readTargetsCsv("\"A\nB\",0.1\n\nC,0.2,x\n"))).toBe(
        "line 4: expected \"symbol,weight\", got \"C,0.2,x\""
      )
      expect(yield* message(readTargetsCsv("A,0.1\n\"B\nC\",0.2,x\n"))).toBe(
        "line 2: expected \"symbol,weight\", got \"\\\"B\\nC\\\",0.2,x\""
      )
    }))

  it.effect("a CSV syntax error, as the line it starts on", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["A,0.1\r\nB,\"0.2\r\nC,0.3\r\n", "line 2: expected \"symbol,weight\", got \"B,\\\"0.2\""],
        ["A,0.1\n\nB, \"0.2\"\n", "line 3: expected \"symbol,weight\", got \"B, \\\"0.2\\\"\""],
        ["\"A\nB\",0.1\n\"C\"D,0.2\n", "line 3: expected \"symbol,weight\", got \"\\\"C\\\"D,0.2\""]
      ]
      for (const [text, error] of cases) expect(yield* message(readTargetsCsv(text))).toBe(error)
    }))

  it.effect("the first problem going down the file, before a later syntax error", () =>
    Effect.gen(function*() {
      expect(yield* message(readTargetsCsv("A,0.1\nB\nC,\"0.3\n"))).toBe(
        "line 2: expected \"symbol,weight\", got \"B\""
      )
      expect(yield* message(readHistoryCsv("date,symbol,close\n2026-03-02,SPY\n2026-03-03,\"SPY,1\n"))).toBe(
        "line 2: expected 3 fields like the header, got \"2026-03-02,SPY\""
      )
    }))

  it.effect("no rows: nothing to plan, never all cash", () =>
    Effect.gen(function*() {
      for (const text of ["", "\n \n", "Symbol,Weight\r\n"]) {
        expect(yield* message(readTargetsCsv(text))).toBe(
          "expected at least one \"symbol,weight\" line (all cash is written \"$CASH,1\"), got none"
        )
      }
      for (const text of ["", "date,symbol,close\n\n"]) {
        expect(yield* message(readHistoryCsv(text))).toBe("expected a header and at least one close, got none")
      }
    }))

  it.effect("a history header without date, symbol and close, or naming one twice", () =>
    Effect.gen(function*() {
      expect(yield* message(readHistoryCsv("\nsymbol,weight\nSPY,1\n"))).toBe(
        "line 2: expected a header with date, symbol and close, got \"symbol,weight\""
      )
      expect(yield* message(readHistoryCsv("date,symbol,close,Close\n"))).toBe(
        "line 1: expected a header with date, symbol and close, got \"date,symbol,close,Close\""
      )
      expect(yield* message(readHistoryCsv("date,\"symbol\nclose\n"))).toBe(
        "line 1: expected a header with date, symbol and close, got \"date,\\\"symbol\""
      )
      expect(yield* message(readHistoryCsv("date,symbol,close\n2026-03-02,SPY,\"1\"0\n"))).toBe(
        "line 2: expected 3 fields like the header, got \"2026-03-02,SPY,\\\"1\\\"0\""
      )
    }))
})

describe("readCsv", () => {
  it.effect("reads paper quotes: optional columns in any order, an empty cell is no price", () =>
    Effect.gen(function*() {
      const read = yield* readCsv("Last,SYMBOL,bid,ask\n190.1,AAPL,190,190.2\n,BND,,\n", QUOTES)
      expect(read.rows).toEqual([{ symbol: "AAPL", bid: "190", ask: "190.2", last: "190.1" }, { symbol: "BND" }])
      expect(read.lines).toEqual([2, 3])
      expect(yield* readCsv("symbol,bid,ask,last\n", QUOTES)).toEqual({ rows: [], lines: [] })
    }))

  it.effect("rejects an unknown or missing column when told to, and an empty file", () =>
    Effect.gen(function*() {
      expect(yield* message(readCsv("symbol,bid,ask,mid\n", QUOTES))).toBe(
        "line 1: expected a header such as \"symbol,bid,ask,last\", got \"symbol,bid,ask,mid\""
      )
      expect(yield* message(readCsv("bid,ask\n", QUOTES))).toBe(
        "line 1: expected a header such as \"symbol,bid,ask,last\", got \"bid,ask\""
      )
      expect(yield* message(readCsv("\n", QUOTES))).toBe(
        "expected a header such as \"symbol,bid,ask,last\", got an empty file"
      )
      expect(yield* message(readCsv("symbol,bid\nAAPL,1,2\n", QUOTES))).toBe(
        "line 2: expected 2 fields like the header, got \"AAPL,1,2\""
      )
    }))

  it.effect("keeps an empty cell of a required column, for the kernel to judge", () =>
    Effect.gen(function*() {
      expect((yield* readHistoryCsv("date,symbol,close\n2026-03-02,SPY,\n")).rows).toEqual([
        { date: "2026-03-02", symbol: "SPY", close: "" }
      ])
    }))
})

describe("writeCsv", () => {
  it.effect("writes a header and one \"\\n\" line per row, quoting only where needed", () =>
    Effect.gen(function*() {
      const text = yield* writeCsv(["id", "reason", "note"], [
        { id: "1", reason: "no \"cash\", sorry\nreally", note: undefined },
        { id: "2", reason: "" }
      ])
      expect(text).toBe("id,reason,note\n1,\"no \"\"cash\"\", sorry\nreally\",\n2,,\n")
      expect(yield* writeCsv(["id", "reason"], [])).toBe("id,reason\n")
    }))

  it.effect("round-trips a cell with a comma, a quote and a line break through readCsv, lines and all", () =>
    Effect.gen(function*() {
      const rows = [
        { symbol: "A,B", note: "say \"hi\"\r\nthen\nbye" },
        { symbol: "C", note: "plain" }
      ]
      const read = yield* readCsv(yield* writeCsv(["symbol", "note"], rows), { required: ["symbol", "note"] })
      expect(read.rows).toEqual(rows)
      expect(read.lines).toEqual([2, 5])
    }))

  it("round-trips any cells without outer spaces, and numbers lines by the breaks before", () => {
    const cell = fc.string({ unit: fc.constantFrom("a", " ", ",", "\"", "\n", "\r", "\r\n", "é", "\uFEFF") })
      .filter((value) => value === value.trim())
    const row = fc.record({ a: cell, b: cell, c: cell })
    fc.assert(
      fc.property(fc.array(row, { maxLength: 8 }), (rows) => {
        const read = Effect.runSync(
          writeCsv(["a", "b", "c"], rows).pipe(Effect.flatMap((text) => readCsv(text, { required: ["a", "b", "c"] })))
        )
        expect(read.rows).toEqual(rows)
        let line = 2
        const lines = rows.map((r) => {
          const at = line
          line += 1 + [r.a, r.b, r.c].reduce((breaks, value) => breaks + value.split(/\r\n|\r|\n/).length - 1, 0)
          return at
        })
        expect(read.lines).toEqual(lines)
      }),
      { numRuns: 300 }
    )
  })
})
