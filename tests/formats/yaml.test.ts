/**
 * parseYaml: the YAML Keel reads. A tag is refused wherever it stands (Keel's files need none,
 * and the parser would read an unknown one as a plain string); anchors and aliases still work.
 */
import * as Result from "effect/Result"
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
