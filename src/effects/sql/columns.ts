/**
 * Column codecs shared by every module that keeps rows in SQL (the Store, the paper venue's
 * ledger), so a row is decoded the same way whichever driver read it.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"

/**
 * An INTEGER/BIGINT column as a JS number. Drivers disagree on the JS type: SQLite
 * gives numbers (bigints under `SafeIntegers`), Postgres gives int8 as a string.
 */
export const Integer = Schema.Union([Schema.Number, Schema.BigInt, Schema.String]).pipe(Schema.decodeTo(
  Schema.Number,
  SchemaTransformation.transformEffect<number, number | bigint | string>({
    decode: (value, options) => {
      const n = typeof value === "string" ? (/^-?\d+$/.test(value) ? Number(value) : Number.NaN) : Number(value)
      return Number.isSafeInteger(n)
        ? Effect.succeed(n)
        : Effect.fail(new SchemaIssue.InvalidValue({ expected: "a whole number" }, value, options))
    },
    encode: (n, options) =>
      Number.isSafeInteger(n)
        ? Effect.succeed(n)
        : Effect.fail(new SchemaIssue.InvalidValue({ expected: "a whole number" }, n, options))
  })
))
