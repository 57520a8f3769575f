/**
 * parseYaml: the YAML Keel reads. A tag is refused wherever it stands (Keel's files need none,
 * and the parser would read an unknown one as a plain string); anchors and aliases still work.
 */
import * as Result from "effect/Result"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { parseYaml } from "../../src/formats/yaml.ts"

const failure = (text: string): string => {
  const r = parseYaml(text)
  if (Result.isSuccess(r)) throw new Error(`expected a failure, got ${JSON.stringify(r.success)}`)
  return r.failure
}

describe("tags", () => {
  it.each([
    ["a set", "VTI: !!set {a}\n", "!!set"],
    ["a local tag", "cash: !pct 5\n", "!pct"],
    ["an unknown tag", "VTI: !custom 0.5\n", "!custom"],
    ["a core tag on a value", "cash: !!str 100\n", "!!str"],
    ["a core tag on a number", "VTI: !!float 1\n", "!!float"],
    ["a tag on the document", "!!map\nVTI: 1\n", "!!map"],
    ["a tag on a list", "positions: !!seq []\n", "!!seq"],
    ["a tag on a key", "? !!str VTI\n: 1\n", "!!str"],
    ["a verbatim tag", "VTI: !<tag:yaml.org,2002:str> x\n", "!!str"],
    ["the non-specific tag", "VTI: ! x\n", "!"]
  ])("%s is refused, naming the tag and its line", (_name, text, tag) => {
    expect(failure(text)).toMatch(new RegExp(`^line \\d+, column \\d+: expected no YAML tag .*, got "${tag}"$`))
  })

  it("a file without tags reads as before, anchors and aliases included", () => {
    expect(parseYaml("a: &x 1\nb: *x\nc: [NO, 0.1]\n")).toEqual(Result.succeed({ a: 1, b: 1, c: ["NO", 0.1] }))
  })
})

describe("the core schema, numbers as written", () => {
  it("reads NO as a string, 0x1F as a number, and a decimal a double cannot hold as its text", () => {
    expect(parseYaml("a: NO\nb: 0x1F\nc: 0.10000000000000000001\nd: 0.1\ne: ~\nf: true\ng: '1.5'\n")).toEqual(
      Result.succeed({ a: "NO", b: 31, c: "0.10000000000000000001", d: 0.1, e: null, f: true, g: "1.5" })
    )
  })
})

describe("keys", () => {
  it("a repeated key is named with its line, also as another spelling of the same key", () => {
    expect(failure("a: 1\nb: 2\n'a': 3\n")).toBe(
      "line 3, column 1: expected each key at most once (duplicate), got \"a\""
    )
    expect(failure("1: x\n\"1\": y\n")).toBe("line 2, column 1: expected each key at most once (duplicate), got \"1\"")
  })

  it("a large map (a targets file of many symbols) reads as a plain object, and its repeated key is found", () => {
    const symbols = Array.from({ length: 5000 }, (_, i) => `S${i}`)
    const read = parseYaml(`${symbols.map((s) => `${s}: 0.0002`).join("\n")}\n__proto__: 1\n`)
    if (Result.isFailure(read)) throw new Error(read.failure)
    const map = read.success as Record<string, unknown>
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype)
    expect(Object.keys(map)).toHaveLength(5001)
    expect(Object.hasOwn(map, "__proto__")).toBe(true)
    expect(failure(`${symbols.map((s) => `${s}: 0.0002`).join("\n")}\nS4999: 1\n`)).toBe(
      "line 5001, column 1: expected each key at most once (duplicate), got \"S4999\""
    )
  })

  it("a key that is a list or a map is refused", () => {
    expect(failure("? [a, b]\n: 1\n")).toMatch(/^line 1, column 3: expected a key that is a single value, got a list$/)
  })
})

describe("documents and aliases", () => {
  it("an empty file is null; a second document is refused", () => {
    expect(parseYaml("# only a comment\n")).toEqual(Result.succeed(null))
    expect(failure("a: 1\n---\nb: 2\n")).toBe("invalid YAML: expected one document, got a second at line 3, column 1")
  })

  it("an alias of an unknown anchor, or inside the node it names, is refused", () => {
    expect(failure("a: *x\n")).toBe("line 1, column 4: expected an alias to an anchor defined before it, got \"*x\"")
    expect(failure("a: &x [1, *x]\n")).toMatch(/expected an alias outside the node it names, got "\*x"$/)
  })

  it("an alias bomb is refused before it is expanded", () => {
    const levels = Array.from(
      { length: 10 },
      (_, i) => `l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(", ")}]`
    )
    expect(failure(`l0: &l0 [x]\n${levels.join("\n")}\n`)).toMatch(/expected aliases that repeat at most 100000 nodes/)
  })

  it("a syntax error is one line with its place", () => {
    expect(failure("a: [1\n")).toMatch(/^invalid YAML: .* at line \d+, column \d+$/)
  })
})

describe("the flat form, read line by line", () => {
  const key = fc.oneof(
    fc.constantFrom("VTI", "BRK.B", "$CASH", "null", "true", "1", "01", "0x1F", "1e3", "a/b", "x-y"),
    fc.stringMatching(/^[A-Z][A-Z0-9.]{0,6}$/)
  )
  const number = fc.oneof(
    fc.constantFrom("0", "1", "-0", "+1", ".5", "1.", "0.45", "1e-3", "2E+2", "0.000000000000000000001"),
    fc.stringMatching(/^[0-9]{1,3}\.[0-9]{1,12}$/)
  )
  const line = fc.tuple(key, number, fc.constantFrom("", " ", "  # a comment")).map(([k, n, tail]) =>
    `${k}: ${n}${tail}`
  )
  const file = fc.array(fc.oneof(line, fc.constantFrom("", "# note", "  ")), { maxLength: 12 })

  it("reads every flat file as the full parser does, or leaves it to it", () => {
    fc.assert(
      fc.property(file, fc.constantFrom("\n", "\r\n"), (lines, newline) => {
        const text = lines.join(newline)
        // A document marker is not the flat form: the text goes to the full parser (its lines one lower).
        const full = Result.mapError(
          parseYaml(`---${newline}${text}`),
          (message) => message.replace(/line (\d+)/, (_, n: string) => `line ${Number(n) - 1}`)
        )
        expect(parseYaml(text)).toEqual(full)
      }),
      { numRuns: 500 }
    )
  })

  it("leaves a repeated key to the full parser, which names it where it is", () => {
    expect(parseYaml("A: 1\nB: 2\nA: 3\n")).toEqual(
      Result.fail("line 3, column 1: expected each key at most once (duplicate), got \"A\"")
    )
  })
})
