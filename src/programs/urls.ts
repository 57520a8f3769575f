/** URL fields of keel.yaml: one rule for every URL a config names (trading, data, stream, target sources). */
import * as Schema from "effect/Schema"

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
