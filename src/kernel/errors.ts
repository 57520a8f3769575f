/**
 * The kernel's only error: the input cannot be planned. The caller's remedy is always
 * the same (fix the named file, field and value), so one tagged error carries where.
 */
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"

/** Which input the error is about, so a CLI can name the file it came from. */
export const InputSource = Schema.Literals([
  "snapshot",
  "targets",
  "policy",
  "strategies",
  "replacements",
  "history",
  "regime",
  "calendar"
])
export type InputSource = typeof InputSource.Type

export class InvalidInput extends Data.TaggedError("InvalidInput")<{
  readonly source: InputSource
  /** Path inside the input, e.g. `positions[2].quantity` or `lotSizes.AAPL`. */
  readonly path: string
  /** The offending value, rendered for a one-line message. */
  readonly value: string
  /** What was expected, e.g. `a non-negative decimal`. */
  readonly expected: string
}> {
  override get message(): string {
    const at = this.path === "" ? this.source : `${this.source}: ${this.path}`
    return `${at}: expected ${this.expected}, got ${this.value}`
  }
}

/** What JSON leaves raw and a terminal would act on or hide: DEL, C1 controls, invisible formatting, U+2028/U+2029. */
const UNSEEN = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu

/** A string in double quotes with every control, invisible and line-breaking character escaped. */
export const quote = (text: string): string =>
  JSON.stringify(text).replace(UNSEEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** Renders any value for an error message without calling into it (never throws). */
export const show = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return quote(value.length > 40 ? `${value.slice(0, 40)}…` : value)
    case "number":
    case "boolean":
      return String(value)
    case "bigint":
      return `${String(value)}n`
    case "undefined":
      return "nothing"
    case "symbol":
      return "a symbol value"
    case "function":
      return "a function"
    default:
      return value === null ? "null" : Array.isArray(value) ? "a list" : "an object"
  }
}
