/**
 * JSON input, read strictly by a small reader of its own rather than JSON.parse, for
 * three things JSON.parse cannot give:
 * - a key repeated within one object is an error (JSON.parse keeps the last, so
 *   `{"AAPL": 0.3, "AAPL": 0.2}` would silently become one target);
 * - numbers reach the kernel as written (see exact.ts);
 * - every syntax error names its line and column (V8's messages often do not).
 */
import * as Result from "effect/Result"
import { show } from "../kernel/errors.ts"
import { exactNumber } from "./exact.ts"

/** Deeper input is refused rather than risking the stack; real inputs nest three levels. */
const MAX_DEPTH = 256

/** A syntax error at offset `at`; thrown inside the reader, caught at its top. */
class Failure extends Error {
  readonly at: number
  constructor(at: number, message: string) {
    super(message)
    this.at = at
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const WHITESPACE = /[ \t\n\r]*/y

/** Parses JSON text; the failure is one line that locates the problem. */
export const parseJson = (text: string): Result.Result<unknown, string> => {
  let i = 0

  const skip = (): void => {
    WHITESPACE.lastIndex = i
    WHITESPACE.exec(text)
    i = WHITESPACE.lastIndex
  }
  const got = (): string => (i >= text.length ? "the end of the file" : show(text.slice(i, i + 12).split("\n", 1)[0]))
  const expected = (what: string): Failure => new Failure(i, `invalid JSON: expected ${what}, got ${got()}`)

  const string = (): string => {
    const start = i
    for (i++; text[i] !== "\""; i++) {
      if (i >= text.length) throw new Failure(start, "invalid JSON: a string is not closed")
      if (text.charCodeAt(i) < 0x20) throw new Failure(i, "invalid JSON: a control character inside a string")
      if (text[i] === "\\") i++
    }
    i++
    try {
      return JSON.parse(text.slice(start, i)) as string
    } catch {
      throw new Failure(start, "invalid JSON: an invalid escape in a string")
    }
  }

  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new Failure(i, `invalid JSON: nested deeper than ${MAX_DEPTH} levels`)
    skip()
    const c = text[i]
    if (c === "{") return object(depth)
    if (c === "[") return array(depth)
    if (c === "\"") return string()
    for (const [word, literal] of LITERALS) {
      if (text.startsWith(word, i)) {
        i += word.length
        return literal
      }
    }
    NUMBER.lastIndex = i
    const number = NUMBER.exec(text)
    if (number === null) throw expected("a value")
    i = NUMBER.lastIndex
    return exactNumber(Number(number[0]), number[0])
  }

  const object = (depth: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    const keys = new Set<string>()
    i++
    skip()
    if (text[i] === "}") {
      i++
      return out
    }
    for (;;) {
      skip()
      if (text[i] !== "\"") throw expected("a key in double quotes")
      const keyAt = i
      const key = string()
      if (keys.has(key)) {
        throw new Failure(keyAt, `expected each key at most once (duplicate), got ${show(key)}`)
      }
      keys.add(key)
      skip()
      if (text[i] !== ":") throw expected("\":\"")
      i++
      // An own property even for "__proto__", as JSON.parse makes it.
      Object.defineProperty(out, key, { value: value(depth + 1), writable: true, enumerable: true, configurable: true })
      skip()
      if (text[i] === "}") {
        i++
        return out
      }
      if (text[i] !== ",") throw expected("\",\" or \"}\"")
      i++
    }
  }

  const array = (depth: number): Array<unknown> => {
    const out: Array<unknown> = []
    i++
    skip()
    if (text[i] === "]") {
      i++
      return out
    }
    for (;;) {
      out.push(value(depth + 1))
      skip()
      if (text[i] === "]") {
        i++
        return out
      }
      if (text[i] !== ",") throw expected("\",\" or \"]\"")
      i++
    }
  }

  try {
    const data = value(0)
    skip()
    if (i < text.length) throw expected("the end of the file")
    return Result.succeed(data)
  } catch (thrown) {
    if (!(thrown instanceof Failure)) throw thrown
    const { line, column } = position(text, thrown.at)
    return Result.fail(`line ${line}, column ${column}: ${thrown.message}`)
  }
}

const LITERALS: ReadonlyArray<readonly [string, unknown]> = [
  ["true", true],
  ["false", false],
  ["null", null]
]

const position = (text: string, at: number): { line: number; column: number } => {
  let line = 1
  let start = 0
  for (let i = 0; i < at; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      start = i + 1
    }
  }
  return { line, column: at - start + 1 }
}
