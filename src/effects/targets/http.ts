/**
 * Target weights from a signal service: GET a URL that answers JSON, either
 * `{ "allocations": [ { "symbol", "allocation" } ] }` (the list's dotted path and the field
 * names are configurable) or a plain `{ SYMBOL: weight }` map.
 *
 * The answer is decoded with a Schema built from the mapping (its shape: the list where the
 * mapping says, each entry a symbol and a weight), then read by the kernel (decimals, ranges,
 * duplicates, the sum). It is a full allocation: weights must sum to 1 within the tolerance,
 * unless `normalize` says the numbers are only proportions; a sum above 1 that the tolerance
 * lets pass is scaled down to 1, with a warning.
 *
 * Each attempt has a timeout; transport errors, timeouts, 429 and 5xx are retried a bounded
 * number of times with exponential backoff (a GET changes nothing, so retrying is safe); any
 * other status is final. Redirects are followed a bounded number of times.
 *
 * Secrets: header values come from environment variables (redacted) and are never sent to
 * another origin than the configured URL's (a redirect elsewhere goes without them); errors
 * name the URL without its query string (where tokens hide), never a header.
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { DecimalInput } from "../../formats/decimal.ts"
import { parseJson } from "../../formats/json.ts"
import { type Decimal, parseDecimal } from "../../kernel/decimal.ts"
import { isRecord, join } from "../../kernel/input.ts"
import type { Targets } from "../../kernel/rebalance/targets.ts"
import { readWeights, scaledDownNote, type WeightUnit } from "../../kernel/strategies/weights.ts"
import { decodeShape, InputFileError } from "../inputs.ts"

export interface HttpSource {
  readonly url: string
  /** Header name → environment variable holding its value (e.g. Authorization → SIGNALS_TOKEN). */
  readonly headers: Readonly<Record<string, string>>
  readonly timeout: Duration.Input
  /** Retries after the first attempt. */
  readonly retries: number
  /**
   * Where the list is (`list`, a dotted path such as `data.weights`) and what its entries'
   * fields are called; a plain map answer needs none of it.
   */
  readonly mapping: { readonly list: string; readonly symbol: string; readonly weight: string }
  readonly unit: WeightUnit
  readonly normalize: boolean
  /** How far from 1 the answer's sum may be (a fraction of the whole). */
  readonly tolerance: Decimal
}

export const HttpSourceDefaults = {
  timeoutSeconds: 10,
  retries: 2,
  mapping: { list: "allocations", symbol: "symbol", weight: "allocation" },
  /** A full allocation's rounding: four places of a fraction (0.01 percentage points). */
  tolerance: parseDecimal("0.0001") as Decimal,
  /** The first retry waits this long, then twice as long each time. */
  backoff: "250 millis",
  /** Redirects followed per attempt; a service behind a CDN needs one or two, a loop is an error. */
  maxRedirects: 5
} as const

/** What a signal service gave: its targets, and what was done to them (a sum scaled down to 1). */
export interface Fetched {
  readonly targets: Targets
  readonly warnings: ReadonlyArray<string>
}

/** The URL as errors show it: no query string, no user info. */
export const publicUrl = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return "the targets URL"
  }
}

class Attempt {
  readonly _tag = "Attempt"
  readonly detail: string
  readonly retryable: boolean
  constructor(detail: string, retryable: boolean) {
    this.detail = detail
    this.retryable = retryable
  }
}

/**
 * The configured headers' values from their environment variables; an unset variable is an
 * error naming it (and the URL), before any request.
 */
export const headerValues = (source: HttpSource) =>
  Effect.forEach(Object.entries(source.headers), ([name, variable]) =>
    Config.Redacted(variable).pipe(
      Effect.mapError(
        () =>
          new InputFileError({
            file: publicUrl(source.url),
            detail: `header ${name}: expected the environment variable ${variable} to hold its value, got nothing`
          })
      ),
      Effect.map((value) => [name, value] as const)
    ))

const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/** Anything beside the mapped fields passes: a service may add fields without breaking its clients. */
const Rest = [Schema.Record(Schema.String, Schema.Unknown)] as const

/**
 * The answer's shape for a mapping: `{ data: { weights: [ { ticker, pct } ] } }` for
 * `list: data.weights, symbol: ticker, weight: pct`.
 */
const listAnswer = (mapping: HttpSource["mapping"], path: ReadonlyArray<string>): Schema.Codec<unknown, unknown> => {
  const { list, symbol, weight } = mapping
  const entry = Schema.StructWithRest(
    Schema.Struct({
      [symbol]: Schema.String.pipe(Schema.annotateKey({ messageMissingKey: `a symbol (mapping.symbol ${symbol})` })),
      [weight]: DecimalInput.annotate({ message: "a weight (a decimal as a string or a number)" }).pipe(
        Schema.annotateKey({ messageMissingKey: `a weight (mapping.weight ${weight})` })
      )
    }),
    Rest
  )
  let shape = Schema.Array(entry).annotate({
    message: `a list of { ${symbol}, ${weight} } (mapping.list ${list})`
  }) as Schema.Codec<unknown, unknown>
  for (const key of [...path].reverse()) {
    shape = Schema.StructWithRest(
      Schema.Struct({
        [key]: shape.pipe(Schema.annotateKey({ messageMissingKey: `the list at ${list} (mapping.list)` }))
      }),
      Rest
    ).annotate({ message: `an object holding the list at ${list} (mapping.list)` })
  }
  return shape
}

/** A plain map, chosen when the answer has no `list`: so a weight that is not one says where a list was looked for. */
const mapAnswer = (list: string): Schema.Codec<unknown, unknown> =>
  Schema.Record(
    Schema.String,
    DecimalInput.annotate({
      message: `a weight (a decimal; without ${list}, the answer is read as a map from symbol to weight)`
    })
  ).annotate({
    message: `an object: the list at ${list} (mapping.list), or a map from symbol to weight`
  })

/** Fetches and reads the weights; every failure is one line naming the URL and where. */
export const fetchTargets = (source: HttpSource): Effect.Effect<Fetched, InputFileError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const shown = publicUrl(source.url)
    const fail = (detail: string) => new InputFileError({ file: shown, detail })
    const headers = yield* headerValues(source)
    const client = yield* HttpClient.HttpClient
    const origin = new URL(source.url).origin
    const requestFor = (url: string) => {
      const sameOrigin = new URL(url).origin === origin
      return headers.reduce(
        (req, [name, value]) => (sameOrigin ? HttpClientRequest.setHeader(req, name, Redacted.value(value)) : req),
        HttpClientRequest.get(url).pipe(HttpClientRequest.acceptJson)
      )
    }
    /** One request, following redirects (the client's own following is off, so this loop decides where headers go). */
    const send = (url: string, redirects: number): Effect.Effect<HttpClientResponse.HttpClientResponse, Attempt> =>
      client.execute(requestFor(url)).pipe(
        Effect.mapError(() => new Attempt("the connection failed", true)),
        Effect.flatMap((response) => {
          const location = response.headers["location"]
          if (!REDIRECTS.has(response.status) || location === undefined) return Effect.succeed(response)
          if (redirects >= HttpSourceDefaults.maxRedirects) {
            return Effect.fail(
              new Attempt(`HTTP ${response.status}: more than ${HttpSourceDefaults.maxRedirects} redirects`, false)
            )
          }
          const next = URL.parse(location, url)
          if (next === null || !/^https?:$/.test(next.protocol)) {
            return Effect.fail(
              new Attempt(
                `HTTP ${response.status}: a redirect to something other than an http:// or https:// URL`,
                false
              )
            )
          }
          // Read the redirect's body to release its connection.
          return response.text.pipe(Effect.ignore, Effect.andThen(send(next.href, redirects + 1)))
        })
      )
    const timeoutText = Duration.format(Duration.fromInputUnsafe(source.timeout))
    const attempt = send(source.url, 0).pipe(
      Effect.flatMap((response) =>
        response.status >= 200 && response.status < 300
          ? response.text.pipe(Effect.mapError(() => new Attempt("the answer was cut off", true)))
          : Effect.fail(new Attempt(`HTTP ${response.status}`, response.status === 429 || response.status >= 500))
      ),
      Effect.timeoutOrElse({
        duration: source.timeout,
        orElse: () => Effect.fail(new Attempt(`no answer within ${timeoutText}`, true))
      })
    )
    const text = yield* attempt.pipe(
      Effect.retry({
        schedule: Schedule.exponential(HttpSourceDefaults.backoff),
        times: source.retries,
        while: (e: Attempt) => e.retryable
      }),
      Effect.mapError((e) =>
        fail(`${e.detail}${e.retryable ? ` (${source.retries + 1} attempt${source.retries === 0 ? "" : "s"})` : ""}`)
      ),
      // A fetch-based client would follow redirects itself, headers and all.
      Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" })
    )
    const body = parseJson(text)
    if (Result.isFailure(body)) return yield* fail(`expected a JSON answer: ${body.failure}`)
    const data = body.success
    const { list, symbol, weight } = source.mapping
    const path = list.split(".")
    const listed = isRecord(data) && Object.hasOwn(data, path[0] as string)
    const shaped = decodeShape(listed ? listAnswer(source.mapping, path) : mapAnswer(list), data)
    if (Result.isFailure(shaped)) return yield* fail(shaped.failure)
    let input: unknown = shaped.success
    if (listed) { for (const key of path) input = (input as Record<string, unknown>)[key] }
    const read = readWeights("targets", input, {
      unit: source.unit,
      sum: source.normalize ? "normalize" : "full",
      tolerance: source.tolerance
    }, { symbol, weight })
    if (Result.isFailure(read)) {
      const e = read.failure
      const at = e.path === ""
        ? ""
        : listed && e.path.startsWith("[")
        ? `${path.reduce<string>(join, "")}${e.path}: `
        : `${e.path}: `
      return yield* fail(`${at}expected ${e.expected}, got ${e.value}`)
    }
    return {
      targets: read.success.targets,
      warnings: read.success.scaledDown
        ? [`${shown}: ${scaledDownNote(read.success, source.unit, "the source's tolerance")}`]
        : []
    }
  })
