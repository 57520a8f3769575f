/**
 * Target weights from a signal service: GET a URL that answers JSON, either
 * `{ "allocations": [ { "symbol", "allocation" } ] }` (the field names are configurable)
 * or a plain `{ SYMBOL: weight }` map.
 *
 * The answer is a full allocation: weights must sum to 1 within the tolerance, unless
 * `normalize` says the numbers are only proportions. Each attempt has a timeout; transport
 * errors, timeouts, 429 and 5xx are retried a bounded number of times with exponential
 * backoff (a GET changes nothing, so retrying is safe); any other status is final.
 *
 * Secrets: header values come from environment variables (redacted), and errors name the
 * URL without its query string (where tokens hide), never a header.
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import { parseJson } from "../../formats/json.ts"
import type { Decimal } from "../../kernel/decimal.ts"
import type { Targets } from "../../kernel/targets.ts"
import { readWeights, type WeightUnit } from "../../kernel/weights.ts"
import { InputFileError } from "../inputs.ts"

export interface HttpSource {
  readonly url: string
  /** Header name → environment variable holding its value (e.g. Authorization → SIGNALS_TOKEN). */
  readonly headers: Readonly<Record<string, string>>
  readonly timeout: Duration.Input
  /** Retries after the first attempt. */
  readonly retries: number
  /** Where the list is and what its fields are called; a plain map answer needs none of it. */
  readonly mapping: { readonly list: string; readonly symbol: string; readonly weight: string }
  readonly unit: WeightUnit
  readonly normalize: boolean
  readonly tolerance: Decimal
}

export const HttpSourceDefaults = {
  timeoutSeconds: 10,
  retries: 2,
  mapping: { list: "allocations", symbol: "symbol", weight: "allocation" },
  /** The first retry waits this long, then twice as long each time. */
  backoff: "250 millis"
} as const

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

const headerValues = (source: HttpSource, fail: (detail: string) => InputFileError) =>
  Effect.forEach(Object.entries(source.headers), ([name, variable]) =>
    Config.Redacted(variable).pipe(
      Effect.mapError(() => fail(`header ${name}: expected the environment variable ${variable} to hold its value, got nothing`)),
      Effect.map((value) => [name, value] as const)
    )
  )

/** Fetches and reads the weights; every failure is one line naming the URL and where. */
export const fetchTargets = (source: HttpSource): Effect.Effect<Targets, InputFileError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const shown = publicUrl(source.url)
    const fail = (detail: string) => new InputFileError({ file: shown, detail })
    const headers = yield* headerValues(source, fail)
    const client = yield* HttpClient.HttpClient
    const request = headers.reduce(
      (req, [name, value]) => HttpClientRequest.setHeader(req, name, Redacted.value(value)),
      HttpClientRequest.get(source.url).pipe(HttpClientRequest.acceptJson)
    )
    const timeoutText = Duration.format(Duration.fromInputUnsafe(source.timeout))
    const attempt = client.execute(request).pipe(
      Effect.mapError(() => new Attempt("the connection failed", true)),
      Effect.flatMap((response) =>
        response.status >= 200 && response.status < 300
          ? response.text.pipe(Effect.mapError(() => new Attempt("the answer was cut off", true)))
          : Effect.fail(new Attempt(`HTTP ${response.status}`, response.status === 429 || response.status >= 500))
      ),
      Effect.timeoutOrElse({ duration: source.timeout, orElse: () => Effect.fail(new Attempt(`no answer within ${timeoutText}`, true)) })
    )
    const text = yield* attempt.pipe(
      Effect.retry({
        schedule: Schedule.exponential(HttpSourceDefaults.backoff),
        times: source.retries,
        while: (e: Attempt) => e.retryable
      }),
      Effect.mapError((e) => fail(`${e.detail}${e.retryable ? ` (${source.retries + 1} attempt${source.retries === 0 ? "" : "s"})` : ""}`))
    )
    const body = parseJson(text)
    if (Result.isFailure(body)) return yield* fail(`expected a JSON answer: ${body.failure}`)
    const data = body.success
    const { list, symbol, weight } = source.mapping
    const listed = typeof data === "object" && data !== null && !Array.isArray(data) && Object.hasOwn(data, list)
    const input = listed ? (data as Record<string, unknown>)[list] : data
    if (listed && !Array.isArray(input)) return yield* fail(`${list}: expected a list of { ${symbol}, ${weight} }, got ${typeof input}`)
    const targets = readWeights("targets", input, { unit: source.unit, normalize: source.normalize, full: true, tolerance: source.tolerance }, { symbol, weight })
    if (Result.isFailure(targets)) {
      const e = targets.failure
      const at = e.path === "" ? "" : listed && e.path.startsWith("[") ? `${list}${e.path}: ` : `${e.path}: `
      return yield* fail(`${at}expected ${e.expected}, got ${e.value}`)
    }
    return targets.success
  })
