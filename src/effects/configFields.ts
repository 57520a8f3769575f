/**
 * Building blocks of keel.yaml's Schemas that more than one module uses: structs that name
 * the fields they know when given one they do not, and URL fields (trading, market data,
 * stream, target sources). keel.yaml is decoded with `onExcessProperty: "error"`, so a
 * misspelt field is an error, never a default.
 */
import * as Schema from "effect/Schema"

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
