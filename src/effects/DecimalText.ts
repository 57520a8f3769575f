/**
 * DecimalText: a decimal as plain text at a boundary (a database column, a session
 * file, a broker's JSON). Decoding goes through the kernel's `parseDecimal`, so every
 * boundary accepts exactly what the kernel accepts; encoding refuses a value that
 * would not read back (outside Keel's limits).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
import { Decimal, format, parseDecimal } from "../kernel/decimal.ts"

const expectedDecimal = (problem: "not-a-number" | "out-of-range"): string =>
  problem === "out-of-range" ? "a decimal within Keel's limits (15 integer digits, 20 places)" : "a decimal"

export const DecimalText = Schema.String.pipe(Schema.decodeTo(
  Schema.declare((u): u is Decimal => u instanceof Decimal, { expected: "Decimal" }),
  SchemaTransformation.transformEffect<Decimal, string>({
    decode: (text, options) => {
      const d = parseDecimal(text)
      return typeof d === "string"
        ? Effect.fail(new SchemaIssue.InvalidValue({ expected: expectedDecimal(d) }, text, options))
        : Effect.succeed(d)
    },
    encode: (d, options) => {
      const text = format(d)
      const back = parseDecimal(text)
      return typeof back === "string"
        ? Effect.fail(new SchemaIssue.InvalidValue({ expected: expectedDecimal(back) }, text, options))
        : Effect.succeed(text)
    }
  })
))
