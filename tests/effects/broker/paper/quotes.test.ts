/**
 * The paper venue's quote file is read as every input file is: under the input size limit
 * (`KEEL_MAX_INPUT_MB`), checked before it is read, its BOM dropped, and strict JSON or CSV.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { loadQuoteFile } from "../../../../src/effects/broker/paper/quotes.ts"
import { tempFiles } from "./fixtures.ts"

const files = tempFiles("keel-paper-quotes-test-")

const write = (name: string, text: string): string => {
  const dir = Path.join(files.root, `quotes-${files.next()}`)
  Fs.mkdirSync(dir, { recursive: true })
  Fs.writeFileSync(Path.join(dir, name), text)
  return Path.join(dir, name)
}

const withLimit = (megabytes: string) =>
  Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { KEEL_MAX_INPUT_MB: megabytes } })))

describe("the quote file", () => {
  it.effect("above the size limit is refused before it is read, naming the limit", () =>
    Effect.gen(function*() {
      const path = write("quotes.csv", `symbol,last\nVTI,250\n${" ".repeat(2000)}\n`)
      expect(yield* Effect.flip(loadQuoteFile(path).pipe(withLimit("0.001")))).toBe(
        `quote file ${path}: expected a file of at most 1048 bytes (KEEL_MAX_INPUT_MB sets the limit), got 2021 bytes`
      )
      expect(yield* loadQuoteFile(path).pipe(withLimit("1"))).toHaveLength(1)
    }))

  it.effect("with a BOM reads as without one, JSON too", () =>
    Effect.gen(function*() {
      const quotes = yield* loadQuoteFile(write("quotes.json", "\uFEFF[{\"symbol\":\"VTI\",\"last\":\"250.10\"}]"))
      expect(quotes.map((q) => [q.symbol, q.last?.toFixed()])).toEqual([["VTI", "250.1"]])
    }))

  it.effect("with a repeated key is refused as every JSON input is", () =>
    Effect.gen(function*() {
      const path = write("quotes.json", "[{\"symbol\":\"VTI\",\"last\":\"1\",\"last\":\"2\"}]")
      expect(yield* Effect.flip(loadQuoteFile(path))).toMatch(
        /expected each key at most once \(duplicate\), got "last"$/
      )
    }))
})
