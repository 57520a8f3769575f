/**
 * Input files: read, parsed by extension (.json, .yaml/.yml, and .csv for targets and history),
 * and checked for their top-level shape with Schema. Everything below the top level
 * (decimals, symbols, duplicates, policy fields) is the kernel's to judge; its
 * InvalidInput is mapped back to the file here, so every problem with an input reads
 * as one line: `file: where: expected …, got …`.
 */
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type { PlatformError } from "effect/PlatformError"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { type CsvRecords, type InvalidCsv, readHistoryCsv, readTargetsCsv } from "../formats/csv.ts"
import { parseJson } from "../formats/json.ts"
import { type InputSource, type InvalidInput, show } from "../kernel/errors.ts"
import { join } from "../kernel/input.ts"

/** A problem with an input file; the CLI prints it as one line and exits 2. */
export class InputFileError extends Data.TaggedError("InputFileError")<{
  readonly file: string
  /** Where in the file and what is wrong, e.g. `positions[1].quantity: expected …, got "-5"`. */
  readonly detail: string
}> {
  override get message(): string {
    return `${this.file}: ${this.detail}`
  }
}

/** How long the one line of a problem may grow: longer lines are cut, with an ellipsis. */
export const PROBLEM_LINE_LENGTH = 400

/** Characters a terminal would act on or hide: controls, invisible formatting, line separators, lone surrogates. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu

const ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" }

/**
 * A message as one printable line: every unprintable character escaped (`\n`, `\u0000`), and cut
 * to `PROBLEM_LINE_LENGTH` with an ellipsis. Whatever a value quoted in it holds, it stays one line.
 */
export const printable = (message: string): string => {
  const escaped = message.replace(
    UNPRINTABLE,
    (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
  )
  if (escaped.length <= PROBLEM_LINE_LENGTH) return escaped
  const cut = escaped.slice(0, PROBLEM_LINE_LENGTH - 1)
  // Never end on half of a surrogate pair.
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`
}

/** A file a config names, relative to the config's folder (`dir`) unless it is absolute. */
export const inConfigDir = (dir: string, file: string): string => (file.startsWith("/") ? file : `${dir}/${file}`)

/** A parsed input file, ready for the kernel. */
export interface InputFile {
  readonly source: InputSource
  readonly file: string
  readonly data: unknown
  /** Turns a kernel path (`[3].weight`) into where it is in this file (`line 5, weight` for CSV). */
  readonly locate: (path: string) => string
}

type Format = "json" | "yaml" | "csv"

const formats: Readonly<Record<InputSource, ReadonlyArray<Format>>> = {
  snapshot: ["json", "yaml"],
  targets: ["json", "yaml", "csv"],
  policy: ["json", "yaml"],
  strategies: ["json", "yaml"],
  replacements: ["json", "yaml"],
  history: ["csv"],
  regime: ["json", "yaml"],
  calendar: ["json", "yaml"]
}

const extensions: ReadonlyArray<readonly [string, Format]> = [
  [".json", "json"],
  [".yaml", "yaml"],
  [".yml", "yaml"],
  [".csv", "csv"]
]

const formatOf = (source: InputSource, file: string): Format | undefined => {
  const lower = file.toLowerCase()
  const found = extensions.find(([extension]) => lower.endsWith(extension))
  return found !== undefined && formats[source].includes(found[1]) ? found[1] : undefined
}

const UNKNOWN_SNAPSHOT_FIELD = "a snapshot field (cash, positions, quotes)"

/**
 * A list, or a map by symbol: only its form is checked here, in one step, as the kernel reads every
 * entry anyway (a Schema of a list or record would copy each of 600 000 entries of a large file).
 */
const PerSymbol = Schema.declare(
  (u): u is ReadonlyArray<unknown> | Readonly<Record<string, unknown>> =>
    Array.isArray(u) || (typeof u === "object" && u !== null && Object.getPrototypeOf(u) === Object.prototype)
)

/**
 * The top level of each file. The snapshot rejects unknown fields: a misspelt
 * `positions` must not read as an account that holds nothing.
 */
const shapes: Readonly<Record<InputSource, Schema.Codec<unknown, unknown>>> = {
  snapshot: Schema.Struct({
    cash: Schema.optionalKey(Schema.Unknown),
    positions: Schema.optionalKey(
      PerSymbol.annotate({ message: "a list of { symbol, quantity } or a map from symbol to quantity" })
    ),
    quotes: Schema.optionalKey(
      PerSymbol.annotate({ message: "a list of { symbol, bid, ask, last, close } or a map from symbol to quote" })
    )
  }).annotate({
    message: "an object with cash, positions and quotes",
    messageUnexpectedKey: UNKNOWN_SNAPSHOT_FIELD
  }),
  targets: PerSymbol.annotate({ message: "a map from symbol to weight, or a list of { symbol, weight }" }),
  // An empty YAML policy (only comments) is the default policy.
  policy: Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)).annotate({
    message: "an object of policy fields"
  }),
  strategies: Schema.Record(Schema.String, Schema.Unknown).annotate({ message: "an object of strategies" }),
  replacements: Schema.Record(Schema.String, Schema.Unknown).annotate({
    message: "a map from set name to a list of { source, target, scale }"
  }),
  history: Schema.Array(Schema.Unknown).annotate({ message: "rows of date, symbol, close" }),
  regime: Schema.Record(Schema.String, Schema.Unknown).annotate({ message: "a map from regime to strategy" }),
  calendar: Schema.Record(Schema.String, Schema.Unknown).annotate({
    message: "an object with zone, open, close, years, holidays and earlyCloses"
  })
}

const issues = SchemaIssue.makeFormatterStandardSchemaV1()

/** The input's top level against its schema: the data, or `path: expected …, got …`. */
const checkShape = (source: InputSource, data: unknown): Result.Result<unknown, string> =>
  decodeShape(shapes[source], data)

/**
 * An annotation of a check whose failing value is never shown: a field that names an environment
 * variable may hold the secret itself, pasted in the wrong place.
 */
export const VALUE_NOT_SHOWN = "keel/valueNotShown"

/** Decodes data against a schema; a failure is one line: `path: expected …, got …` (the first issue). */
export const decodeShape = <A>(schema: Schema.Codec<A, unknown>, data: unknown): Result.Result<A, string> => {
  const decoded = Schema.decodeUnknownResult(schema, { onExcessProperty: "error" })(data)
  if (Result.isSuccess(decoded)) return Result.succeed(decoded.success)
  const first = issues(decoded.failure.issue).issues[0]
  const path = (first?.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))
  const at = path.reduce<string>((at, key) => join(at, typeof key === "number" ? key : String(key)), "")
  // An unexpected key is named by itself (a typo must be seen as written); anything else by its value.
  const unexpected = firstLeaf(decoded.failure.issue)._tag === "UnexpectedKey"
  const got = hidesValue(decoded.failure.issue)
    ? "something else (not shown: it may be a secret)"
    : unexpected
    ? show(path[path.length - 1])
    : show(valueAt(data, path))
  // Schema's own messages start with "Expected …"; the line already says "expected".
  const message = first?.message ?? "a different structure"
  const expected = message === "Missing key" ? "this required field" : message.replace(/^Expected /, "")
  return Result.fail(`${at === "" ? "" : `${at}: `}expected ${expected}, got ${got}`)
}

/** The first problem Schema found, under the pointers, filters and unions that lead to it. */
const firstLeaf = (issue: SchemaIssue.Issue): SchemaIssue.Issue => {
  switch (issue._tag) {
    case "Pointer":
    case "Filter":
    case "Encoding":
      return firstLeaf(issue.issue)
    case "Composite":
    case "AnyOf": {
      const inner = issue.issues[0]
      return inner === undefined ? issue : firstLeaf(inner)
    }
    default:
      return issue
  }
}

/** Whether a check on the way to the first problem is annotated `VALUE_NOT_SHOWN`. */
const hidesValue = (issue: SchemaIssue.Issue): boolean => {
  switch (issue._tag) {
    case "Filter":
      return issue.filter.annotations?.[VALUE_NOT_SHOWN] === true || hidesValue(issue.issue)
    case "Pointer":
    case "Encoding":
      return hidesValue(issue.issue)
    case "Composite":
    case "AnyOf": {
      const inner = issue.issues[0]
      return inner !== undefined && hidesValue(inner)
    }
    default:
      return false
  }
}

const valueAt = (data: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let value = data
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

const sameLocation = (path: string): string => path

/** Maps a kernel path on the list of CSV rows (`[3].weight`) to the file (`line 5, weight`). */
const csvLocation = (lines: ReadonlyArray<number>) => (path: string): string => {
  const match = /^\[(\d+)\](?:\.(.+))?$/.exec(path)
  const line = match === null ? undefined : lines[Number(match[1])]
  if (match === null || line === undefined) return path
  return match[2] === undefined ? `line ${line}` : `line ${line}, ${match[2]}`
}

const unreadable = (error: PlatformError): string => {
  const reason = error.reason
  if (reason._tag === "NotFound") return "no such file"
  if (reason._tag === "PermissionDenied") return "permission denied"
  if (reason._tag === "BadResource") return "not a file"
  return reason.description ?? reason._tag
}

/** The largest input file Keel reads (snapshot, targets, policy, keel.yaml, a session…), checked before parsing. */
export const InputLimits = {
  /** In MiB (2^20 bytes); the environment variable below sets another. */
  megabytes: 10,
  variable: "KEEL_MAX_INPUT_MB"
} as const

const MIB = 1024 * 1024

/** The limit in bytes: `KEEL_MAX_INPUT_MB` when set (a number above 0), else the default. */
export const maxInputBytes: Effect.Effect<number, InputFileError> = Config.String(InputLimits.variable).pipe(
  Config.withDefault(String(InputLimits.megabytes)),
  Effect.orElseSucceed(() => String(InputLimits.megabytes)),
  Effect.flatMap((text) => {
    const bytes = Math.floor(Number(text) * MIB)
    return text.trim() !== "" && Number.isFinite(bytes) && bytes >= 1
      ? Effect.succeed(bytes)
      : Effect.fail(
        new InputFileError({
          file: "environment",
          detail: `${InputLimits.variable}: expected a number of MiB above 0 (at least one byte), got ${show(text)}`
        })
      )
  })
)

const sizeOf = (bytes: number): string =>
  bytes < MIB ? `${bytes} bytes` : `${(bytes / MIB).toFixed(1).replace(/\.0$/, "")} MiB`

/** Why a file is refused for its size (`size`: `12 MiB`, `more than 10 MiB`), against a limit of `limit` bytes. */
const tooLarge = (limit: number, size: string): string =>
  `expected a file of at most ${sizeOf(limit)} (${InputLimits.variable} sets the limit), got ${size}`

/** Why a file of `bytes` is refused under a limit of `limit` bytes, or undefined when it is within it. */
export const oversize = (limit: number, bytes: number): string | undefined =>
  bytes > limit ? tooLarge(limit, sizeOf(bytes)) : undefined

/**
 * The text of an input file, its size checked against the limit before it is read, so no file is
 * parsed that would take a reader past its memory or time. `cannotRead` says why it cannot be read
 * (`cannot read the snapshot file: no such file`). A leading BOM is dropped.
 */
export const readText = Effect.fnUntraced(function*(file: string, cannotRead: (reason: string) => string) {
  const fail = (detail: string) => new InputFileError({ file, detail })
  const fs = yield* FileSystem.FileSystem
  const limit = yield* maxInputBytes
  const info = yield* fs.stat(file).pipe(Effect.mapError((error) => fail(cannotRead(unreadable(error)))))
  if (info.type === "Directory") return yield* fail(cannotRead("not a file"))
  // A pipe or a device has no size to check first; what it gave is checked once read.
  const large = info.type === "File" ? oversize(limit, Number(info.size)) : undefined
  if (large !== undefined) return yield* fail(large)
  const raw = yield* fs.readFileString(file).pipe(
    Effect.mapError((error) => fail(cannotRead(unreadable(error))))
  )
  const read = readWithin(limit, raw)
  return Result.isSuccess(read) ? read.success : yield* fail(read.failure)
})

/**
 * Text read from a file whose size could not be checked first, checked now, its leading BOM dropped.
 * Never fewer UTF-8 bytes than UTF-16 units: more units than the limit is more bytes too.
 */
export const readWithin = (limit: number, raw: string): Result.Result<string, string> => {
  if (raw.length > limit) return Result.fail(tooLarge(limit, `more than ${sizeOf(limit)}`))
  return Result.succeed(raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw)
}

/** Reads, parses and shape-checks one input file. */
export const readInput = Effect.fnUntraced(function*(source: InputSource, file: string) {
  const fail = (detail: string) => new InputFileError({ file, detail })
  const format = formatOf(source, file)
  if (format === undefined) {
    const endings = extensions.filter(([, f]) => formats[source].includes(f)).map(([extension]) => extension)
    return yield* fail(`expected a ${source} file ending in ${endings.slice(0, -1).join(", ")} or ${endings.at(-1)}`)
  }
  const text = yield* readText(file, (reason) => `cannot read the ${source} file: ${reason}`)
  let data: unknown
  let locate = sameLocation
  if (format === "csv") {
    const read: Effect.Effect<CsvRecords<unknown>, InvalidCsv> = source === "history"
      ? readHistoryCsv(text)
      : readTargetsCsv(text)
    const csv = yield* Effect.mapError(read, (error) => fail(error.message))
    data = csv.rows
    locate = csvLocation(csv.lines)
  } else {
    const parsed = format === "json"
      ? parseJson(text)
      : (yield* Effect.promise(() => import("../formats/yaml.ts"))).parseYaml(text)
    if (Result.isFailure(parsed)) return yield* fail(parsed.failure)
    // An empty YAML document is no targets, as an empty map is: the kernel says so.
    const shaped = checkShape(source, source === "targets" && parsed.success === null ? {} : parsed.success)
    if (Result.isFailure(shaped)) return yield* fail(shaped.failure)
    data = shaped.success
  }
  return { source, file, data, locate } satisfies InputFile
})

/** The kernel's InvalidInput, told against the file its source came from. */
export const explain = (input: InputFile, error: InvalidInput): InputFileError => {
  const at = error.path === "" ? "" : input.locate(error.path)
  return new InputFileError({
    file: input.file,
    detail: `${at === "" ? "" : `${at}: `}expected ${error.expected}, got ${error.value}`
  })
}
