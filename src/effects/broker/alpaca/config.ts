/**
 * An Alpaca account: its block in keel.yaml (`broker: { kind: alpaca, … }`, paper by default),
 * the adapter's settings and defaults, and the settings from a block. Credentials are never in
 * the file: it names the environment variables that hold them (default APCA_API_KEY_ID /
 * APCA_API_SECRET_KEY), read as redacted Config.
 */
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { DecimalInput, readsAsDecimal } from "../../../formats/decimal.ts"
import { Decimal, isNegative } from "../../../kernel/decimal.ts"
import type { VenueContext } from "../../Broker.ts"
import { EnvName, HttpUrl, knownFields, WebSocketUrl } from "../../configFields.ts"
import { InputFileError } from "../../inputs.ts"
import { secretFromEnv } from "../../secrets.ts"

/** The market-data feed: IEX (free) or SIP (all US exchanges). */
export const Feed = Schema.Literals(["iex", "sip"])
export type Feed = typeof Feed.Type

const PositiveWholeNumber = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isSafeInteger(n) && n >= 1, { expected: "a whole number of at least 1" })
)

/** A collar: a fraction of the price from 0 up to (not including) 0.5. */
const Collar = DecimalInput.check(
  readsAsDecimal({ expected: "a fraction from 0 up to (not including) 0.5" }, (d) => !isNegative(d) && d.lt(HALF))
)
const HALF = new Decimal("0.5")

export const Config = knownFields(
  "an alpaca broker field",
  Schema.Struct({
    kind: Schema.Literal("alpaca"),
    /** Real money. Required (true) for the live trading host; without it only the paper host is allowed. */
    live: Schema.optionalKey(Schema.Boolean),
    tradingUrl: Schema.optionalKey(HttpUrl),
    dataUrl: Schema.optionalKey(HttpUrl),
    streamUrl: Schema.optionalKey(WebSocketUrl),
    feed: Schema.optionalKey(Feed),
    keyIdEnv: Schema.optionalKey(EnvName),
    secretKeyEnv: Schema.optionalKey(EnvName),
    /** An environment variable holding the account number, so recordings scrub it wherever it appears. */
    accountNumberEnv: Schema.optionalKey(EnvName),
    /** Per API host (trading, market data); default 200. */
    requestsPerMinute: Schema.optionalKey(PositiveWholeNumber),
    /** The fraction above the ask Alpaca checks a market buy's buying power at; default 0.02. */
    marketBuyCollar: Schema.optionalKey(Collar)
  })
)
export type Config = typeof Config.Type

/** The adapter's settings. */
export interface AlpacaConfig {
  /** Paper: https://paper-api.alpaca.markets; live: https://api.alpaca.markets. */
  readonly tradingUrl: string
  /** https://data.alpaca.markets */
  readonly dataUrl: string
  /** wss://paper-api.alpaca.markets/stream (see `streamUrlFor`). */
  readonly streamUrl: string
  readonly feed: Feed
  readonly keyId: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
  /** The policy trades fractional shares: non-integer quantities are sent (as `day` orders). */
  readonly fractional: boolean
  /** A whole number ≥ 1 (keel.yaml's schema checks it); default 200, Alpaca's limit per account and the free market-data plan's. */
  readonly requestsPerMinute?: number
  /** Overrides the capabilities' `marketBuyCollar` (keel.yaml's `marketBuyCollar`). */
  readonly marketBuyCollar?: Decimal | undefined
}

export const AlpacaDefaults = {
  tradingUrl: "https://paper-api.alpaca.markets",
  liveTradingUrl: "https://api.alpaca.markets",
  dataUrl: "https://data.alpaca.markets",
  feed: "iex",
  requestsPerMinute: 200,
  /** One request's time to answer, from sending to the end of the body. */
  requestTimeoutMillis: 15_000,
  /** Retries of an idempotent request: 4 after the first, from 250 ms doubling, each ≤ 4 s, jittered ±20%. */
  retry: { times: 4, baseMillis: 250, maxDelayMillis: 4_000 },
  /** The longest wait for a rate-limit reset (guards against clock skew). */
  maxRateLimitWaitMillis: 60_000,
  /** The shortest wait a RateLimited asks for (a 429 without a usable reset). */
  minRateLimitWaitMillis: 1_000,
  /**
   * Stream reconnects: from 500 ms doubling, each ≤ 30 s, jittered, without end; back to
   * 500 ms once a connection stayed listening for a minute.
   */
  reconnect: { baseMillis: 500, maxDelayMillis: 30_000, stableMillis: 60_000 },
  /** From opening the stream's socket to `listening`. */
  handshakeTimeoutMillis: 10_000,
  /** GET /v2/orders answers at most this many orders. */
  ordersPerRequest: 500,
  /** Symbols per market-data request. */
  symbolsPerRequest: 100,
  /** Where the market is: a trading day is a date there (the active assets are asked once a trading day). */
  marketTimeZone: "America/New_York",
  /** Alpaca's documented minimum value of a fractional order, in dollars. */
  minFractionalOrderValue: "1",
  /**
   * How far Alpaca's clock may be behind ours when a lost position close is looked for among
   * the symbol's orders submitted since it was sent.
   */
  closeLookupSkewMillis: 30_000
} as const

/** Alpaca's own environment variable names, used when an account names none. */
export const AlpacaEnv = { keyId: "APCA_API_KEY_ID", secretKey: "APCA_API_SECRET_KEY" } as const

/** The trade_updates URL of a trading host: `https://paper-api…` → `wss://paper-api…/stream`. */
export const streamUrlFor = (tradingUrl: string): string => {
  const url = new URL(tradingUrl)
  url.protocol = url.protocol === "http:" ? "ws:" : "wss:"
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/stream`
  url.search = ""
  url.hash = ""
  return url.toString()
}

/** A URL's host, lower case and without a trailing dot (`api.alpaca.markets.` is the same host). */
const hostOf = (url: string): string | undefined => {
  try {
    return new URL(url).host.toLowerCase().replace(/\.(?=:|$)/, "")
  } catch {
    return undefined
  }
}

/**
 * An account's settings from its block: hosts (paper unless `live: true`; the live host is
 * refused without it, so nobody trades real money by accident), and credentials read from
 * the environment; with the values a recording must scrub.
 */
export const alpacaConfig = (broker: Config, context: VenueContext) =>
  Effect.gen(function*() {
    const { at, file } = context
    const live = broker.live === true
    const tradingUrl = broker.tradingUrl ?? (live ? AlpacaDefaults.liveTradingUrl : AlpacaDefaults.tradingUrl)
    if (!live && hostOf(tradingUrl) === hostOf(AlpacaDefaults.liveTradingUrl)) {
      return yield* new InputFileError({
        file,
        detail: `${at}.tradingUrl: expected a paper host unless the account says live: true (real money), got ${
          JSON.stringify(tradingUrl)
        }`
      })
    }
    const secret = (field: string, variable: string, what: string) =>
      secretFromEnv({ file, field: `${at}.${field}`, variable, what })
    const config: AlpacaConfig = {
      tradingUrl,
      dataUrl: broker.dataUrl ?? AlpacaDefaults.dataUrl,
      streamUrl: broker.streamUrl ?? streamUrlFor(tradingUrl),
      feed: broker.feed ?? AlpacaDefaults.feed,
      keyId: yield* secret("keyIdEnv", broker.keyIdEnv ?? AlpacaEnv.keyId, "the Alpaca API key id"),
      secretKey: yield* secret("secretKeyEnv", broker.secretKeyEnv ?? AlpacaEnv.secretKey, "the Alpaca API secret key"),
      fractional: context.fractional,
      ...(broker.requestsPerMinute === undefined ? {} : { requestsPerMinute: broker.requestsPerMinute }),
      ...(broker.marketBuyCollar === undefined ? {} : { marketBuyCollar: new Decimal(String(broker.marketBuyCollar)) })
    }
    const accountNumber = broker.accountNumberEnv === undefined
      ? []
      : [yield* secret("accountNumberEnv", broker.accountNumberEnv, "the account number")]
    return { config, secrets: [config.keyId, config.secretKey, ...accountNumber] }
  })
