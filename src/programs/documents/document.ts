/**
 * What Keel's documents share. A document is a Schema of a JSON value Keel prints or writes
 * (a plan, a run's outcome, a replay report, …): its Type holds Keel's own values (decimals,
 * its enums), and encoding a value through it is the one place its JSON is written. Decimals
 * are exact strings (`ComputedDecimalText`); what Keel does not know is `null`; a key that does not
 * apply (attribution of plain targets) is left out.
 *
 * The documents sit below the run, the artifacts and the CLI, so each of them can write the
 * same document without depending on another.
 */
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"

/**
 * A value Keel may not know (a holding without a price, a run not finished yet): optional, or
 * undefined, in the document's Type; always written, as null when unknown.
 */
export const NullWhenUnknown = <S extends Schema.Top>(schema: S) =>
  Schema.NullOr(schema).pipe(
    Schema.decodeTo(
      Schema.optional(Schema.toType(schema)),
      SchemaTransformation.transformOptional<S["Type"] | undefined, S["Encoded"] | null>({
        decode: (written) => Option.filter(written, Predicate.isNotNull),
        encode: (known) => Option.some(Option.getOrNull(Option.filter(known, Predicate.isNotUndefined)))
      })
    )
  )

/** A document as Keel prints it, and writes it to a file: JSON indented by two spaces. */
export const printed = <A, E>(schema: Schema.Codec<A, E>): (document: A) => string =>
  Schema.encodeSync(Schema.fromJsonString(schema, { space: 2 }))
