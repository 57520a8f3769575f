/**
 * Every decimal Schema Keel needs at its boundaries, defined once: a database column, a
 * session file, a broker's JSON, keel.yaml. Each reads through the kernel's `parseDecimal`,
 * so every boundary accepts exactly what the kernel accepts, and numbers are read through
 * their shortest round-trip text (`0.1` is 0.1), never through binary arithmetic.
 *
 * It lives in formats/ because that is the layer that reads what was written exactly (as
 * exact.ts does for JSON and YAML numbers), and it sits below every layer that has a
 * boundary: the effects (the Store, the brokers, the recordings) and the programs (keel.yaml)
 * can all import it, while the kernel stays free of boundary codecs.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
import {
  Decimal,
  DecimalLimits,
  type DecimalProblem,
  format,
  isDecimal,
  limitProblem,
  parseDecimal
} from "../kernel/decimal.ts"

const expectedDecimal = (problem: DecimalProblem): string =>
  problem === "out-of-range"
    ? `a decimal within Keel's limits (${DecimalLimits.integerDigits} integer digits, ${DecimalLimits.decimalPlaces} places)`
    : "a decimal"

const DecimalValue = Schema.declare(isDecimal, { expected: "Decimal" })

/**
 * Text ⇄ Decimal through `parseDecimal`. Encoding writes plain notation and refuses a value
 * that would not read back (outside Keel's limits), so nothing is written that cannot be read.
 */
const throughText = <E extends string | number>() =>
  SchemaTransformation.transformEffect<Decimal, E>({
    decode: (written, options) => {
      const d = parseDecimal(written)
      return typeof d === "string"
        ? Effect.fail(new SchemaIssue.InvalidValue({ expected: expectedDecimal(d) }, written, options))
        : Effect.succeed(d)
    },
    encode: (d, options) => {
      const text = format(d)
      const problem = limitProblem(d)
      return problem === undefined
        ? Effect.succeed(text as E)
        : Effect.fail(new SchemaIssue.InvalidValue({ expected: expectedDecimal(problem) }, text, options))
    }
  })

/** A decimal as plain text (a database column, a session file, the Trading API's amounts) ⇄ Decimal. */
export const DecimalText = Schema.String.pipe(Schema.decodeTo(DecimalValue, throughText<string>()))

/**
 * Any decimal as plain text ⇄ Decimal, exactly, without Keel's input limits: for the documents
 * Keel writes from what it computed (plans, outcomes). A product of two inputs can carry more
 * places than any input may (a 20-place quantity times a 20-place price), and a plan that the
 * kernel made must always print; what such a document holds reads back digit for digit.
 */
export const ComputedDecimalText = Schema.String.pipe(Schema.decodeTo(
  DecimalValue,
  SchemaTransformation.transformEffect<Decimal, string>({
    decode: (written, options) =>
      PLAIN_DECIMAL.test(written)
        ? Effect.succeed(new Decimal(written))
        : Effect.fail(new SchemaIssue.InvalidValue({ expected: "a decimal in plain notation" }, written, options)),
    encode: (d) => Effect.succeed(format(d))
  })
))

/** `-12.5`, `0.000…1`: what `format` writes, and nothing else. */
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/

/**
 * A decimal as written in JSON or YAML: a string or a number, not read yet. For values that
 * are kept as written and read later (by the kernel, or by `DecimalFromInput`), so an error
 * shows them as the user wrote them. The Schema of the kernel's `DecimalInput`.
 */
export const DecimalInput = Schema.Union([Schema.String, Schema.Number])
export type DecimalInput = typeof DecimalInput.Type

/**
 * A decimal written as a string or a number (keel.yaml, a market-data price) ⇄ Decimal, read
 * exactly; it encodes as text.
 */
export const DecimalFromInput = DecimalInput.pipe(Schema.decodeTo(DecimalValue, throughText<DecimalInput>()))

/**
 * A check on a decimal as written: it reads as a decimal, and the decimal passes `test` (any
 * decimal, by default). The value itself stays as written: for config that is read later.
 */
export const readsAsDecimal = (
  annotations: { readonly expected: string },
  test: (d: Decimal) => boolean = () => true
) =>
  Schema.makeFilter((written: DecimalInput) => {
    const d = parseDecimal(written)
    return typeof d !== "string" && test(d)
  }, annotations)
