/**
 * Building blocks of keel.yaml's Schemas that more than one module uses: structs that name
 * the fields they know when given one they do not, and URL fields (trading, market data,
 * stream, target sources). keel.yaml is decoded with `onExcessProperty: "error"`, so a
 * misspelt field is an error, never a default.
 */
import * as Schema from "effect/Schema"
import { DecimalInput, readsAsDecimal } from "../formats/decimal.ts"
import { isPositive } from "../kernel/decimal.ts"
import { VALUE_NOT_SHOWN } from "./inputs.ts"
import { ENV_NAME, ENV_NAME_EXPECTED } from "./secrets.ts"

/** A struct whose unknown keys are reported with the fields it has: `what` reads "an alpaca broker field". */
export const knownFields = <S extends Schema.Struct<Schema.Struct.Fields>>(what: string, struct: S): S["Rebuild"] =>
  struct.annotate({ messageUnexpectedKey: `${what} (${Object.keys(struct.fields).join(", ")})` })

const isUrlOf = (text: string, schemes: ReadonlyArray<string>): boolean => {
  try {
    const url = new URL(text)
    return schemes.includes(url.protocol) && url.hostname !== ""
  } catch {
    return false
  }
}

/** A URL with one of `schemes` (`"https:"`) and a host; the error says `expected`. */
const UrlOf = (schemes: ReadonlyArray<string>, expected: string) =>
  Schema.String.check(Schema.makeFilter((text: string) => isUrlOf(text, schemes), { expected }))

export const HttpUrl = UrlOf(["http:", "https:"], "an http(s) URL")
export const WebSocketUrl = UrlOf(["ws:", "wss:"], "a ws(s) URL")

/**
 * The name of an environment variable (`^[A-Za-z_][A-Za-z0-9_]*$`), where keel.yaml names where a
 * secret is. Anything else may be the secret itself, typed in the wrong place: it is refused
 * without being shown.
 */
export const EnvName = Schema.String.check(
  Schema.makeFilter((text: string) => ENV_NAME.test(text), { expected: ENV_NAME_EXPECTED, [VALUE_NOT_SHOWN]: true })
)

/** A number of seconds above 0 (a wait of 0 or less would never give the other side time to answer). */
export const PositiveSeconds = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isFinite(n) && n > 0, { expected: "a number of seconds above 0" })
)

/** A decimal above 0, written as a string or a number (a paper random walk's price, a guard's limit). */
export const PositiveDecimal = DecimalInput.check(readsAsDecimal({ expected: "a decimal above 0" }, isPositive))
