/**
 * Alpaca's REST APIs through effect/http: base URLs, authentication headers, rate limits,
 * timeouts and retries. Answers come back as status and parsed JSON; what they mean is
 * decided by the caller (layer.ts), which knows whether a request may be repeated.
 *
 * - **Credentials** go only into the `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers, read
 *   from their Redacted values at the last moment. Both header names are added to the
 *   redacted header names, and every message this module builds is scrubbed of both values.
 * - **Rate limits**: one limit per API host (trading, market data) of `requestsPerMinute`
 *   requests a minute, through Effect's fixed-window RateLimiter (effect/persistence, in
 *   memory, on Effect's Clock). That is a counter per host, not a sliding window: it starts
 *   with the first request after the last counter expired, each request counted adds a minute
 *   / `requestsPerMinute` to its life (a full counter lasts a minute from its first request),
 *   and a request beyond the limit waits until it expires. So a burst across a counter's end can
 *   send up to twice `requestsPerMinute` within 60 s (limit 2: one request at 0 s and two at
 *   31 s all go out by 31 s). Alpaca's own limit holds then: once a response says
 *   `X-Ratelimit-Remaining: 0`, or on a 429, every later request waits until
 *   `X-Ratelimit-Reset` (epoch seconds; or `Retry-After`), each wait capped
 *   (`maxRateLimitWaitMillis`) against clock skew. A refused read is retried here; a refused
 *   POST is not: it is answered RateLimited, and the program sends it again after the wait with
 *   the same client order id.
 * - **Retries** (only through `sendIdempotent`): 429, 5xx, timeouts and connection errors are
 *   retried with the adapter's backoff (backoff.ts) and a bounded number of attempts. `send`
 *   never retries anything; order submission goes through it.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Layer from "effect/Layer"
import { RateLimiter } from "effect/persistence"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { createHash } from "node:crypto"
import { scrub } from "../../secrets.ts"
import { backoff, type BackoffSettings } from "./backoff.ts"

export type Api = "trading" | "data"

export interface RestSettings {
  readonly tradingUrl: string
  readonly dataUrl: string
  readonly keyId: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
  readonly requestsPerMinute: number
  readonly requestTimeoutMillis: number
  readonly maxRateLimitWaitMillis: number
  readonly retry: RetrySettings
}

export interface RetrySettings extends BackoffSettings {
  /** Retries after the first attempt. */
  readonly times: number
}

export interface Endpoint {
  readonly method: "GET" | "POST" | "DELETE"
  /** Path and nothing else; query parameters go in `params`. */
  readonly path: string
  readonly params?: Readonly<Record<string, string>>
  readonly body?: unknown
}

/** An answer with a 2xx status; `body` is the parsed JSON (the text if it is not JSON), or undefined when empty. */
export interface Answer {
  readonly status: number
  readonly body: unknown
}

/** A non-2xx answer. `message` is Alpaca's own message when the body carries one. */
export class AlpacaStatusError extends Data.TaggedError("AlpacaStatusError")<{
  readonly status: number
  readonly message: string
  /** Alpaca's message verbatim, when its body had one. */
  readonly alpacaMessage: string | undefined
  /** How long the limiter will hold the next request (0 when it is not holding). */
  readonly retryAfterMillis: number
}> {}

/** No answer: connection refused, reset or dropped, or no answer within the timeout. */
export class AlpacaTransportError extends Data.TaggedError("AlpacaTransportError")<{
  readonly message: string
}> {}

export type RestError = AlpacaStatusError | AlpacaTransportError

export interface AlpacaRest {
  /** One attempt, never repeated (for requests that must not be sent twice: order submission). */
  readonly send: (api: Api, endpoint: Endpoint) => Effect.Effect<Answer, RestError>
  /** Repeats 429, 5xx, timeouts and connection errors with backoff (for idempotent requests). */
  readonly sendIdempotent: (api: Api, endpoint: Endpoint) => Effect.Effect<Answer, RestError>
  /** Removes both credentials from a text that is about to leave the adapter. */
  readonly scrub: (text: string) => string
}

// ---------------------------------------------------------------------------
// rate limits
// ---------------------------------------------------------------------------

/** The limits of one API host. */
interface HostLimit {
  /** Waits until a request may be sent, and counts it. */
  readonly admit: Effect.Effect<void>
  /** Reads a response's status and rate-limit headers. */
  readonly observe: (status: number, headers: Headers.Headers) => Effect.Effect<void>
  /** Milliseconds until the server's limit lets the next request through (0 when it does now). */
  readonly blockedFor: Effect.Effect<number>
}

const header = (headers: Headers.Headers, name: string): number | undefined => {
  const raw = headers[name]
  if (raw === undefined || raw.trim() === "") return undefined
  const n = Number(raw)
  return Number.isFinite(n) ? n : undefined
}

/** Each host's own limit of `perMinute` requests, and Alpaca's headers and 429 answers. Time is Effect's Clock. */
const makeHostLimits = (perMinute: number, maxWaitMillis: number) =>
  Effect.gen(function*() {
    const limiter = yield* RateLimiter.make
    const host = (api: Api): HostLimit => {
      let blockedUntil = 0
      const blockedFor = Effect.map(Clock.currentTimeMillis, (now) => Math.max(0, blockedUntil - now))
      const serverWait: Effect.Effect<void> = Effect.flatMap(
        blockedFor,
        (wait) => (wait <= 0 ? Effect.void : Effect.andThen(Effect.sleep(Duration.millis(wait)), serverWait))
      )
      const blockUntil = (now: number, until: number) => {
        blockedUntil = Math.max(blockedUntil, Math.min(until, now + maxWaitMillis))
      }
      return {
        admit: RateLimiter.sleep(limiter, { key: api, limit: perMinute, window: "1 minute" }).pipe(
          // The in-memory store never fails.
          Effect.orDie,
          Effect.andThen(serverWait)
        ),
        observe: (status, headers) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            const remaining = header(headers, "x-ratelimit-remaining")
            const reset = header(headers, "x-ratelimit-reset")
            const retryAfter = header(headers, "retry-after")
            if ((remaining === 0 || status === 429) && reset !== undefined) blockUntil(now, reset * 1000)
            if (status === 429 && retryAfter !== undefined) blockUntil(now, now + retryAfter * 1000)
          }),
        blockedFor
      }
    }
    return { trading: host("trading"), data: host("data") } satisfies Record<Api, HostLimit>
  }).pipe(Effect.provide(Layer.fresh(RateLimiter.layerStoreMemory)))

/**
 * Rate limits by connection: Alpaca counts requests per API key and host, so the accounts of one
 * process that share a key and hosts (a fleet's) share one count and one server-side wait.
 */
export interface ConnectionLimits {
  readonly of: (settings: RestSettings) => Effect.Effect<Record<Api, HostLimit>>
}

/** A connection's key: its hosts and a digest of its key id (never the id itself, even in memory). */
const connectionKey = (settings: RestSettings): string =>
  [
    settings.tradingUrl,
    settings.dataUrl,
    createHash("sha256").update(Redacted.value(settings.keyId)).digest("hex")
  ].join(" ")

export const makeConnectionLimits = (): ConnectionLimits => {
  const made = new Map<string, Effect.Effect<Record<Api, HostLimit>>>()
  return {
    of: (settings) =>
      Effect.suspend(() => {
        const key = connectionKey(settings)
        const known = made.get(key)
        if (known !== undefined) return known
        // The first account on a connection makes its limits; every later one finds them.
        const limits = Effect.runSync(
          Effect.cached(makeHostLimits(settings.requestsPerMinute, settings.maxRateLimitWaitMillis))
        )
        made.set(key, limits)
        return limits
      })
  }
}

/** The process's connections: every Alpaca account the registry builds shares them. */
export const processConnectionLimits: ConnectionLimits = makeConnectionLimits()

// ---------------------------------------------------------------------------
// the client
// ---------------------------------------------------------------------------

const KEY_HEADER = "apca-api-key-id"
const SECRET_HEADER = "apca-api-secret-key"

/** Statuses worth repeating for an idempotent request. */
const isTransientStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

const isTransient = (error: RestError): boolean =>
  error._tag === "AlpacaTransportError" || isTransientStatus(error.status)

/** The adapter's backoff, `times` retries. */
const retrySchedule = (retry: RetrySettings) => backoff(retry).pipe(Schedule.upTo({ times: retry.times }))

const MAX_ERROR_TEXT = 500

/** Alpaca's error message from a body, if it has one (`{"code":…,"message":"…"}`). */
const alpacaMessage = (text: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === "object" && parsed !== null && "message" in parsed && typeof parsed.message === "string") {
      return parsed.message
    }
  } catch {
    // not JSON
  }
  return undefined
}

/** What went wrong on the wire, in words: the failure's kind and the system error code, never the request. */
const describeFailure = (error: HttpClientError.HttpClientError): string => {
  const reason = error.reason
  const kind = reason._tag === "TransportError" ? "connection failed" : reason._tag
  const code = errorCode(reason.cause)
  return code === undefined ? kind : `${kind} (${code})`
}

const errorCode = (cause: unknown, depth = 0): string | undefined => {
  if (typeof cause !== "object" || cause === null || depth > 3) return undefined
  if ("code" in cause && typeof cause.code === "string") return cause.code
  return "cause" in cause ? errorCode(cause.cause, depth + 1) : undefined
}

export const makeRest = (
  settings: RestSettings,
  connections: ConnectionLimits = makeConnectionLimits()
): Effect.Effect<AlpacaRest, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const limits = yield* connections.of(settings)
    const bases: Record<Api, string> = {
      trading: settings.tradingUrl.replace(/\/+$/, ""),
      data: settings.dataUrl.replace(/\/+$/, "")
    }
    const secrets = [Redacted.value(settings.keyId), Redacted.value(settings.secretKey)]
    const scrubbed = (text: string): string => scrub(text, secrets, { minLength: 1 })
    const timeout = Duration.millis(settings.requestTimeoutMillis)

    const request = (api: Api, endpoint: Endpoint) => {
      const base = HttpClientRequest.make(endpoint.method)(`${bases[api]}${endpoint.path}`).pipe(
        HttpClientRequest.setUrlParams(endpoint.params ?? {}),
        HttpClientRequest.acceptJson,
        HttpClientRequest.setHeader(KEY_HEADER, Redacted.value(settings.keyId)),
        HttpClientRequest.setHeader(SECRET_HEADER, Redacted.value(settings.secretKey))
      )
      return endpoint.body === undefined ? base : HttpClientRequest.bodyJsonUnsafe(base, endpoint.body)
    }

    const once = (api: Api, endpoint: Endpoint): Effect.Effect<Answer, RestError> => {
      const what = `${endpoint.method} ${endpoint.path}`
      const limit = limits[api]
      const exchange = Effect.gen(function*() {
        const response = yield* client.execute(request(api, endpoint))
        yield* limit.observe(response.status, response.headers)
        const text = yield* response.text
        if (response.status >= 200 && response.status < 300) {
          if (text.trim() === "") return { status: response.status, body: undefined }
          try {
            return { status: response.status, body: JSON.parse(text) as unknown }
          } catch {
            // Not JSON: handed on as text, for the caller's decoder to refuse.
            return { status: response.status, body: text }
          }
        }
        const message = alpacaMessage(text)
        const detail = message ?? (text.trim() === "" ? "" : text.trim().slice(0, MAX_ERROR_TEXT))
        return yield* new AlpacaStatusError({
          status: response.status,
          message: scrubbed(`${what}: HTTP ${response.status}${detail === "" ? "" : `: ${detail}`}`),
          alpacaMessage: message === undefined ? undefined : scrubbed(message),
          retryAfterMillis: response.status === 429 ? yield* limit.blockedFor : 0
        })
      })
      const bounded = exchange.pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () =>
            Effect.fail(
              new AlpacaTransportError({ message: `${what}: no answer within ${settings.requestTimeoutMillis} ms` })
            )
        }),
        Effect.catchTag(
          "HttpClientError",
          (error) => Effect.fail(new AlpacaTransportError({ message: scrubbed(`${what}: ${describeFailure(error)}`) }))
        )
      )
      return limit.admit.pipe(
        Effect.andThen(bounded),
        Effect.provideService(Headers.CurrentRedactedNames, [
          ...Headers.CurrentRedactedNames.defaultValue(),
          KEY_HEADER,
          SECRET_HEADER
        ])
      )
    }

    const schedule = retrySchedule(settings.retry)
    return {
      send: once,
      sendIdempotent: (api, endpoint) => Effect.retry(once(api, endpoint), { schedule, while: isTransient }),
      scrub: scrubbed
    }
  })
