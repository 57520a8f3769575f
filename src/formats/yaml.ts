/**
 * YAML input (1.2 core schema, so `NO` stays a string). Numbers reach the kernel as
 * written (see exact.ts); a repeated key, a second document or an alias bomb is an error,
 * and so is any tag (`!!set`, `!pct`): Keel's files need none, and a parser would read an
 * unknown one as a plain string without a word.
 *
 * js-yaml's parser turns the text into a flat list of events; the values are built from them
 * here, in one pass, so every rule above is checked where the node is and no document tree is
 * ever made (a 10 MiB file reads in about a second). Loaded only when a YAML file is given, to
 * keep the CLI's startup lean.
 */
import * as Result from "effect/Result"
import {
  boolCoreTag,
  type Event,
  EVENT_ID,
  floatCoreTag,
  getScalarValue,
  intCoreTag,
  NOT_RESOLVED,
  nullCoreTag,
  parseEvents,
  SCALAR_STYLE,
  type ScalarEvent,
  YAMLException
} from "js-yaml"
import { show } from "../kernel/errors.ts"
import { exactNumber } from "./exact.ts"

/**
 * How many nodes aliases may repeat in one file, all aliases together (an alias repeats the
 * whole node it names). Far above any real use of anchors; an alias bomb (aliases of aliases,
 * doubling at each level) passes it within a few levels.
 */
const MAX_ALIASED_NODES = 100_000

/**
 * Keys from which a map is filled without a prototype, and given one when complete: V8 adds a key to
 * a large plain object several times slower (a 600 000-symbol targets map: 1 s instead of 0.3 s).
 */
const LARGE_MAP = 1000

/** A problem at `at` (an offset in the text); thrown while building, caught at the top. */
class Failure extends Error {
  readonly at: number
  /** Whether the file is no YAML Keel reads at all (a second document), rather than a value in it that is wrong. */
  readonly invalid: boolean
  constructor(at: number, message: string, invalid = false) {
    super(message)
    this.at = at
    this.invalid = invalid
  }
}

/** Parses YAML text; the failure is one line that locates the problem. */
export const parseYaml = (text: string): Result.Result<unknown, string> => {
  const flat = flatMap(text)
  if (flat !== undefined) return Result.succeed(flat)
  let events: Array<Event>
  try {
    events = parseEvents(text, {})
  } catch (thrown) {
    if (!(thrown instanceof YAMLException) || thrown.mark === undefined) throw thrown
    return Result.fail(
      `invalid YAML: ${thrown.reason} at line ${thrown.mark.line + 1}, column ${thrown.mark.column + 1}`
    )
  }
  try {
    return Result.succeed(build(text, events))
  } catch (thrown) {
    if (!(thrown instanceof Failure)) throw thrown
    const { column, line } = position(text, thrown.at)
    return Result.fail(
      thrown.invalid
        ? `invalid YAML: ${thrown.message} at line ${line}, column ${column}`
        : `line ${line}, column ${column}: ${thrown.message}`
    )
  }
}

/** The plain scalars the core schema reads as something else than a string, in its order. */
const CORE_TAGS = [nullCoreTag, boolCoreTag, intCoreTag, floatCoreTag] as const

/** A node being built, and what a finished one weighs: itself and every node its aliases repeat. */
interface Anchored {
  readonly value: unknown
  /** Undefined while the node is still open: an alias inside it would make a cycle. */
  readonly weight: number | undefined
}

/** The one document's value (null for an empty file), built from the parser's events. */
const build = (text: string, events: ReadonlyArray<Event>): unknown => {
  let i = 0
  /** Nodes built so far, aliases counted as the nodes they repeat. */
  let weight = 0
  let aliased = 0
  const anchors = new Map<string, Anchored>()

  const slice = (start: number, end: number): string => text.slice(start, end)

  const untagged = (event: { readonly tagStart: number; readonly tagEnd: number }): void => {
    if (event.tagStart < 0) return
    const tag = shortTag(slice(event.tagStart, event.tagEnd))
    throw new Failure(event.tagStart, `expected no YAML tag (Keel's files use none), got ${show(tag)}`)
  }

  const scalar = (event: ScalarEvent): unknown => {
    const value = getScalarValue(text, event)
    return event.style === SCALAR_STYLE.PLAIN ? plain(value) : value
  }

  const alias = (at: number, name: string): unknown => {
    const anchored = anchors.get(name)
    if (anchored === undefined) {
      throw new Failure(at, `expected an alias to an anchor defined before it, got ${show(`*${name}`)}`)
    }
    if (anchored.weight === undefined) {
      throw new Failure(at, `expected an alias outside the node it names, got ${show(`*${name}`)}`)
    }
    weight += anchored.weight
    aliased += anchored.weight
    if (aliased > MAX_ALIASED_NODES) {
      throw new Failure(at, `expected aliases that repeat at most ${MAX_ALIASED_NODES} nodes in all (an alias bomb?)`)
    }
    return anchored.value
  }

  /** The node starting at event i; i moves past it. */
  const node = (): unknown => {
    const event = events[i++]!
    switch (event.type) {
      case EVENT_ID.ALIAS:
        return alias(event.anchorStart - 1, slice(event.anchorStart, event.anchorEnd))
      case EVENT_ID.SCALAR:
        untagged(event)
        weight++
        return anchor(event.anchorStart, event.anchorEnd, () => scalar(event))
      case EVENT_ID.SEQUENCE:
        untagged(event)
        return anchor(event.anchorStart, event.anchorEnd, sequence)
      case EVENT_ID.MAPPING:
        untagged(event)
        return anchor(event.anchorStart, event.anchorEnd, () => mapping(event.start))
      default:
        // The parser nests its events; a document or a close here would be its bug.
        throw new Error(`YAML: unexpected event ${event.type}`)
    }
  }

  /** Builds a node with `make`, keeping it under its anchor, if it has one, with its weight. */
  const anchor = <A>(start: number, end: number, make: () => A): A => {
    if (start < 0) return make()
    const name = slice(start, end)
    const before = weight
    // Named while open, so that an alias inside it is seen as a cycle.
    anchors.set(name, { value: undefined, weight: undefined })
    const value = make()
    anchors.set(name, { value, weight: weight - before })
    return value
  }

  const sequence = (): Array<unknown> => {
    weight++
    const out: Array<unknown> = []
    while (events[i]!.type !== EVENT_ID.POP) out.push(node())
    i++
    return out
  }

  const mapping = (start: number): Record<string, unknown> => {
    weight++
    let out: Record<string, unknown> = {}
    let size = 0
    while (events[i]!.type !== EVENT_ID.POP) {
      // An empty key has no place of its own: its map's is told.
      const at = startOf(events[i]) ?? start
      // Compared as the object keys they become: `1` and `"1"` are one key.
      const key = keyOf(at, node())
      // Without a prototype, `in` is exact, and many times faster than Object.hasOwn.
      if (size >= LARGE_MAP ? key in out : Object.hasOwn(out, key)) {
        throw new Failure(at, `expected each key at most once (duplicate), got ${show(key)}`)
      }
      if (++size === LARGE_MAP) out = Object.assign(Object.create(null) as Record<string, unknown>, out)
      const value = node()
      // An own property even for "__proto__", as JSON.parse makes it.
      if (key === "__proto__") {
        Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true })
      } else out[key] = value
    }
    i++
    return size < LARGE_MAP ? out : (Object.setPrototypeOf(out, Object.prototype) as Record<string, unknown>)
  }

  let documents = 0
  let result: unknown = null
  while (i < events.length) {
    const event = events[i++]!
    if (event.type !== EVENT_ID.DOCUMENT) throw new Error(`YAML: unexpected event ${event.type}`)
    if (++documents > 1) {
      throw new Failure(startOf(events[i]) ?? text.length, "expected one document, got a second", true)
    }
    if (events[i]!.type !== EVENT_ID.POP) result = node()
    i++
  }
  return result
}

/** A plain scalar as the core schema reads it: null, a boolean, a number (exact, as written) or the text. */
const plain = (value: string): unknown => {
  for (const tag of CORE_TAGS) {
    const read: unknown = tag.resolve(value, false, tag.tagName)
    if (read === NOT_RESOLVED) continue
    return typeof read === "number" ? exactNumber(read, value) : read
  }
  return value
}

/**
 * One line of the flat form: a plain key at the start of the line, `: `, a plain number, and
 * perhaps a comment after a space. Nothing in it can be a tag, an anchor, a flow or a block.
 */
const FLAT_LINE =
  /^([A-Za-z0-9_$][A-Za-z0-9_.$/-]*): +([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)(?: +#.*| *)$/
const BLANK_OR_COMMENT = /^ *(?:#.*)?$/

/**
 * The flat file most inputs are (targets: a symbol and its weight per line, comments and blank
 * lines between), read line by line: the parser's event list for a 10 MiB one would need several
 * hundred MB. Undefined when the text is anything else, or a line could mean something subtler
 * (a repeated key, indentation, a directive): the full parser reads it and alone says what is wrong.
 */
const flatMap = (text: string): Record<string, unknown> | undefined => {
  let out: Record<string, unknown> | undefined
  for (const line of text.split(/\r?\n/)) {
    const entry = FLAT_LINE.exec(line)
    if (entry === null) {
      if (BLANK_OR_COMMENT.test(line)) continue
      return undefined
    }
    const key = keyOf(0, plain(entry[1]!))
    out ??= Object.create(null) as Record<string, unknown>
    if (key === "__proto__" || key in out) return undefined
    out[key] = plain(entry[2]!)
  }
  return out === undefined ? undefined : (Object.setPrototypeOf(out, Object.prototype) as Record<string, unknown>)
}

/** A key's text: a scalar (or an alias of one) as the object key it becomes; null is the empty key. */
const keyOf = (at: number, key: unknown): string => {
  if (typeof key === "string") return key
  if (typeof key === "number" || typeof key === "boolean") return String(key)
  if (key === null) return ""
  throw new Failure(at, `expected a key that is a single value, got ${Array.isArray(key) ? "a list" : "a map"}`)
}

/** Where a node starts in the text (for a quoted scalar, its opening quote); undefined for an empty one. */
const startOf = (event: Event | undefined): number | undefined => {
  const at = event === undefined ? -1 : offsetOf(event)
  return at >= 0 ? at : undefined
}

const offsetOf = (event: Event): number => {
  switch (event.type) {
    case EVENT_ID.SCALAR:
      return event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED
        ? event.valueStart - 1
        : event.valueStart
    case EVENT_ID.SEQUENCE:
    case EVENT_ID.MAPPING:
      return event.start
    case EVENT_ID.ALIAS:
      return event.anchorStart - 1
    default:
      return -1
  }
}

/** A tag as it is usually written: `!!set` for the YAML namespace's own, also when written verbatim. */
const shortTag = (tag: string): string => tag.replace(/^!<tag:yaml\.org,2002:(.*)>$/, "!!$1")

const position = (text: string, at: number): { line: number; column: number } => {
  let line = 1
  let start = 0
  for (let i = text.indexOf("\n"); i >= 0 && i < at; i = text.indexOf("\n", i + 1)) {
    line++
    start = i + 1
  }
  return { line, column: at - start + 1 }
}
