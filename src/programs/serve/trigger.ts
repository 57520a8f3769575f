/**
 * What a trigger asks for: `POST /v1/trigger` with `{ accounts | group, reason, idempotencyKey }`.
 * The body is decoded with Schema (unknown fields refused); exactly one of `accounts` and `group`.
 * The same idempotency key twice starts one set of runs: the second answer says which.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { knownFields } from "../../effects/configFields.ts"
import { decodeShape } from "../../effects/inputs.ts"
import type { Selection } from "../fleet/selection.ts"

/** Printable, 1–128 characters: a key the sender makes unique per event (a strategy's publication id). */
const IdempotencyKey = Schema.String.check(
  Schema.makeFilter((key: string) => /^[\x21-\x7e]{1,128}$/.test(key), {
    expected: "1 to 128 printable ASCII characters without spaces"
  })
)

export const TriggerBody = knownFields(
  "a trigger field",
  Schema.Struct({
    accounts: Schema.optionalKey(Schema.NonEmptyArray(Schema.NonEmptyString)),
    group: Schema.optionalKey(Schema.NonEmptyString),
    /** Why the runs start (a strategy's name and publication), kept with them. */
    reason: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(500)),
    idempotencyKey: IdempotencyKey
  })
)
export type TriggerBody = typeof TriggerBody.Type

/** The body's selection, or why it is not a trigger, in one line. */
export const readTrigger = (
  parsed: unknown
): Result.Result<{ readonly body: TriggerBody; readonly selection: Selection }, string> => {
  const decoded = decodeShape(TriggerBody as Schema.Codec<TriggerBody, unknown>, parsed)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const body = decoded.success
  if ((body.accounts === undefined) === (body.group === undefined)) {
    return Result.fail("expected exactly one of accounts (a list of names) and group")
  }
  return Result.succeed({
    body,
    selection: body.group === undefined
      ? { _tag: "Listed", names: [...new Set(body.accounts)] }
      : { _tag: "Group", group: body.group }
  })
}
