/**
 * Input files, read from real files in a temp dir: formats, exact numbers, duplicate
 * keys, top-level shapes, and kernel errors mapped back to the file (CSV lines included).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { explain, type InputFile, printable, PROBLEM_LINE_LENGTH, readInput } from "../../src/effects/inputs.ts"
import type { InputSource } from "../../src/kernel/errors.ts"
import { rebalance } from "../../src/kernel/rebalance/rebalance.ts"

const dir = mkdtempSync(join(tmpdir(), "keel-inputs-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const write = (name: string, text: string): string => {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

/** Reads a file written with `text`; the input, or the one-line error message. */
const read = (source: InputSource, name: string, text: string) =>
  readInput(source, write(name, text)).pipe(
    Effect.result,
    Effect.map((
      r
    ) => (Result.isSuccess(r) ? { data: r.success.data, input: r.success } : { error: r.failure.message })),
    Effect.provide(NodeServices.layer)
  )

const errorOf = (source: InputSource, name: string, text: string) =>
  read(source, name, text).pipe(
    Effect.map((r) => ("error" in r ? r.error.slice(dir.length + 1) : `no error: ${JSON.stringify(r.data)}`))
  )

const dataOf = (source: InputSource, name: string, text: string) =>
  read(source, name, text).pipe(Effect.map((r) => ("data" in r ? r.data : `error: ${r.error}`)))

describe("JSON", () => {
  it.effect("keeps numbers a double holds exactly, and hands on the written text otherwise", () =>
    Effect.gen(function*() {
      const data = yield* dataOf(
        "snapshot",
        "exact.json",
        "{\"cash\": 0.1, \"positions\": {\"A\": 12345678901234567.25, \"B\": 1e400, \"C\": 100}}"
      )
      expect(data).toEqual({ cash: 0.1, positions: { A: "12345678901234567.25", B: "1e400", C: 100 } })
    }))

  it.effect("rejects a key repeated within one object, naming its line", () =>
    Effect.gen(function*() {
      const error = yield* errorOf(
        "targets",
        "dup.json",
        "{\n  \"AAPL\": \"0.3\",\n  \"MSFT\": \"0.2\",\n  \"AAPL\": \"0.1\"\n}"
      )
      expect(error).toBe("dup.json: line 4, column 3: expected each key at most once (duplicate), got \"AAPL\"")
    }))

  it.effect("allows the same key in different objects, and keys that look like values", () =>
    Effect.gen(function*() {
      const data = yield* dataOf(
        "snapshot",
        "nested.json",
        "{\"cash\": \"1\", \"quotes\": [{\"symbol\": \"A\", \"bid\": \"1\"}, {\"symbol\": \"B\", \"bid\": \"2\"}], "
          + "\"positions\": {\"symbol\": \"1\"}}"
      )
      expect(data).toEqual({
        cash: "1",
        quotes: [{ symbol: "A", bid: "1" }, { symbol: "B", bid: "2" }],
        positions: { symbol: "1" }
      })
    }))

  it.effect("reports a syntax error as invalid JSON with its position", () =>
    Effect.gen(function*() {
      const error = yield* errorOf("snapshot", "bad.json", "{\n  \"cash\": \"1\",\n  \"positions\": [\n}")
      expect(error).toBe("bad.json: line 4, column 1: invalid JSON: expected a value, got \"}\"")
    }))

  it.effect("ignores a byte order mark", () =>
    Effect.gen(function*() {
      expect(yield* dataOf("targets", "bom.json", "\uFEFF{\"A\": \"1\"}")).toEqual({ A: "1" })
    }))
})

describe("YAML", () => {
  it.effect("reads the 1.2 core schema, with numbers as written", () =>
    Effect.gen(function*() {
      const data = yield* dataOf(
        "snapshot",
        "s.yaml",
        "cash: 0.30000000000000000001\npositions:\n  NO: 5\n  'Y': 2.5\n"
      )
      expect(data).toEqual({ cash: "0.30000000000000000001", positions: { NO: 5, Y: 2.5 } })
    }))

  it.effect("rejects a repeated key, naming the line and the key", () =>
    Effect.gen(function*() {
      const error = yield* errorOf("policy", "dup.yaml", "cashReserve: 0.01\ndriftBand: 0.02\ncashReserve: 0.02\n")
      expect(error).toBe("dup.yaml: line 3, column 1: expected each key at most once (duplicate), got \"cashReserve\"")
    }))

  it.effect("reports a syntax error as invalid YAML on one line", () =>
    Effect.gen(function*() {
      const error = yield* errorOf("policy", "bad.yml", "driftBand: [0.02\nmode: full\n")
      expect(error).toMatch(/^bad\.yml: invalid YAML: .*line \d+, column \d+$/)
    }))

  it.effect("rejects a second document", () =>
    Effect.gen(function*() {
      expect(yield* errorOf("policy", "two.yaml", "mode: full\n---\nmode: buy-only\n")).toMatch(
        /^two\.yaml: invalid YAML: /
      )
    }))

  it.effect("reads a policy of only comments as the default policy", () =>
    Effect.gen(function*() {
      expect(yield* dataOf("policy", "empty.yaml", "# nothing to change\n")).toBeNull()
    }))
})

describe("CSV targets", () => {
  it.effect("takes an optional header, skips blank lines, and reads quoted fields and CRLF", () =>
    Effect.gen(function*() {
      const data = yield* dataOf(
        "targets",
        "t.csv",
        "Symbol,Weight\r\n\r\nAAPL, 0.3\r\n\"BRK.B\",\"0.2\"\r\n  \r\nMSFT,0.25\r\n"
      )
      expect(data).toEqual([
        { symbol: "AAPL", weight: "0.3" },
        { symbol: "BRK.B", weight: "0.2" },
        { symbol: "MSFT", weight: "0.25" }
      ])
    }))

  it.effect("rejects a line without exactly two fields, naming the line", () =>
    Effect.gen(function*() {
      expect(yield* errorOf("targets", "three.csv", "symbol,weight\nAAPL,0.3\n\nMSFT,0.2,x\n")).toBe(
        "three.csv: line 4: expected \"symbol,weight\", got \"MSFT,0.2,x\""
      )
      expect(yield* errorOf("targets", "one.csv", "AAPL 0.3\n")).toBe(
        "one.csv: line 1: expected \"symbol,weight\", got \"AAPL 0.3\""
      )
      expect(yield* errorOf("targets", "quote.csv", "AAPL,\"0.3\n")).toBe(
        "quote.csv: line 1: expected \"symbol,weight\", got \"AAPL,\\\"0.3\""
      )
    }))

  it.effect("rejects a file without rows, which would otherwise mean all cash", () =>
    Effect.gen(function*() {
      const none = "expected at least one \"symbol,weight\" line (all cash is written \"$CASH,1\"), got none"
      expect(yield* errorOf("targets", "empty.csv", "")).toBe(`empty.csv: ${none}`)
      expect(yield* errorOf("targets", "header.csv", "symbol,weight\n\n")).toBe(`header.csv: ${none}`)
    }))

  it.effect("treats a first line that is not exactly the header as data", () =>
    Effect.gen(function*() {
      expect(yield* dataOf("targets", "noheader.csv", "ticker,weight\n")).toEqual([{
        symbol: "ticker",
        weight: "weight"
      }])
    }))
})

describe("top-level shape", () => {
  const cases: ReadonlyArray<readonly [InputSource, string, string, string]> = [
    ["snapshot", "list.json", "[]", "list.json: expected an object with cash, positions and quotes, got a list"],
    [
      "snapshot",
      "typo.json",
      "{\"cash\": \"1\", \"postions\": []}",
      "typo.json: postions: expected a snapshot field (cash, positions, quotes), got \"postions\""
    ],
    [
      "snapshot",
      "positions.yaml",
      "cash: 1\npositions: 5\n",
      "positions.yaml: positions: expected a list of { symbol, quantity } or a map from symbol to quantity, got 5"
    ],
    [
      "targets",
      "string.json",
      "\"AAPL\"",
      "string.json: expected a map from symbol to weight, or a list of { symbol, weight }, got \"AAPL\""
    ],
    ["policy", "list.yaml", "- mode\n", "list.yaml: expected an object of policy fields, got a list"],
    ["policy", "policy.csv", "a,b\n", "policy.csv: expected a policy file ending in .json, .yaml or .yml"],
    ["snapshot", "snapshot.txt", "{}", "snapshot.txt: expected a snapshot file ending in .json, .yaml or .yml"]
  ]
  for (const [source, name, text, message] of cases) {
    it.effect(`${source} ${name}`, () =>
      Effect.gen(function*() {
        expect(yield* errorOf(source, name, text)).toBe(message)
      }))
  }

  it.effect("names a file that does not exist, or is not a file", () =>
    Effect.gen(function*() {
      const missing = yield* readInput("targets", join(dir, "missing.csv")).pipe(
        Effect.flip,
        Effect.provide(NodeServices.layer)
      )
      expect(missing.message).toBe(`${join(dir, "missing.csv")}: cannot read the targets file: no such file`)
      mkdirSync(join(dir, "folder.json"))
      const folder = yield* readInput("snapshot", join(dir, "folder.json")).pipe(
        Effect.flip,
        Effect.provide(NodeServices.layer)
      )
      expect(folder.message).toBe(`${join(dir, "folder.json")}: cannot read the snapshot file: not a file`)
    }))
})

describe("kernel errors told against the file", () => {
  const kernelError = (snapshot: InputFile, targets: InputFile): string => {
    const result = rebalance({ snapshot: snapshot.data, targets: targets.data })
    if (Result.isSuccess(result)) return "no error"
    const file = result.failure.source === "snapshot" ? snapshot : targets
    return explain(file, result.failure).message.slice(dir.length + 1)
  }
  const input = (source: InputSource, name: string, text: string) =>
    read(source, name, text).pipe(Effect.flatMap((r) => ("input" in r ? Effect.succeed(r.input) : Effect.die(r.error))))

  it.effect("maps a CSV row to its line", () =>
    Effect.gen(function*() {
      const snapshot = yield* input("snapshot", "ok.json", "{\"cash\": \"100\"}")
      const bad = yield* input("targets", "bad.csv", "symbol,weight\n\nAAPL,0.3\nMSFT,lots\n")
      expect(kernelError(snapshot, bad)).toBe(
        "bad.csv: line 4, weight: expected a fraction between 0 and 1, got \"lots\""
      )
      const dup = yield* input("targets", "dup.csv", "AAPL,0.3\n\nAAPL,0.2\n")
      expect(kernelError(snapshot, dup)).toBe(
        "dup.csv: line 3, symbol: expected each symbol at most once (duplicate), got \"AAPL\""
      )
    }))

  it.effect("keeps the kernel path for JSON and YAML", () =>
    Effect.gen(function*() {
      const snapshot = yield* input(
        "snapshot",
        "neg.yaml",
        "cash: 100\npositions:\n  - { symbol: A, quantity: 1 }\n  - { symbol: B, quantity: '-5' }\n"
      )
      const targets = yield* input("targets", "t.json", "{\"A\": \"0.5\"}")
      expect(kernelError(snapshot, targets)).toBe(
        "neg.yaml: positions[1].quantity: expected a quantity of at least 0 (long positions only), got \"-5\""
      )
    }))
})

describe("the size limit", () => {
  const withLimit = (megabytes: string) =>
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { KEEL_MAX_INPUT_MB: megabytes } })))

  it.effect("a file above the limit is refused before it is parsed, naming its size and the variable", () =>
    Effect.gen(function*() {
      // Not even valid JSON: the size is checked first.
      const error = yield* errorOf("targets", "big.json", `{${" ".repeat(3000)}`).pipe(withLimit("0.002"))
      expect(error).toBe(
        "big.json: expected a file of at most 2097 bytes (KEEL_MAX_INPUT_MB sets the limit), got 3001 bytes"
      )
      expect(yield* dataOf("targets", "small.json", "{\"VTI\": 1}").pipe(withLimit("0.002"))).toEqual({ VTI: 1 })
    }))

  it.effect("a limit that is not a positive number is refused", () =>
    Effect.gen(function*() {
      for (const limit of ["-5", "0", "ten", "1e-300"]) {
        const r = yield* read("targets", "t.json", "{}").pipe(withLimit(limit))
        expect("error" in r ? r.error : "no error").toBe(
          `environment: KEEL_MAX_INPUT_MB: expected a number of MiB above 0 (at least one byte), got "${limit}"`
        )
      }
    }))
})

describe("printable", () => {
  it("escapes every control, invisible and line-breaking character, so a problem stays one line", () => {
    expect(printable("a\nb\tc\u0000d\u001b[31me\u007f\u0085\u202e\u2028\ud800")).toBe(
      "a\\nb\\tc\\u0000d\\u001b[31me\\u007f\\u0085\\u202e\\u2028\\ud800"
    )
    expect(printable("plain text, émoji 🙂 kept")).toBe("plain text, émoji 🙂 kept")
  })

  it("cuts a long line with an ellipsis, never inside a surrogate pair", () => {
    const cut = printable(`${"x".repeat(PROBLEM_LINE_LENGTH - 2)}🙂🙂🙂`)
    expect(cut.length).toBeLessThanOrEqual(PROBLEM_LINE_LENGTH)
    expect(cut.endsWith("…")).toBe(true)
    expect(cut.isWellFormed()).toBe(true)
  })
})
