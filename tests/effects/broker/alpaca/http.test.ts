/**
 * The Alpaca adapter's HTTP behaviour against a tiny scripted server on 127.0.0.1: what is
 * retried and what never is, how rate limits hold requests back, how answers map to Broker
 * errors, and that the credentials travel in their headers and nowhere else.
 *
 * Request counts are what the server received. Waits on rate limits run on the TestClock
 * (the server's `X-Ratelimit-Reset` is in the TestClock's epoch seconds); retries run live
 * with millisecond backoff. Nothing here measures real speed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/testing/TestClock"
import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { Broker, type BrokerShape, type OrderRequest } from "../../../../src/effects/Broker.ts"
import { makeAssetLists } from "../../../../src/effects/broker/alpaca/assets.ts"
import { type AlpacaConfig, AlpacaDefaults } from "../../../../src/effects/broker/alpaca/config.ts"
import { makeConnectionLimits } from "../../../../src/effects/broker/alpaca/http.ts"
import { type AlpacaTuning, layer } from "../../../../src/effects/broker/alpaca/layer.ts"
import { REDACTED } from "../../../../src/effects/secrets.ts"
import { Decimal, format } from "../../../../src/kernel/decimal.ts"

const KEY_ID = "PKHTTPTESTKEY0042"
const SECRET = "http-secret-9Xr2Lq"

// ---------------------------------------------------------------------------
// the scripted server
// ---------------------------------------------------------------------------

interface Received {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

type Reply =
  | {
    readonly status: number
    readonly body?: unknown
    readonly text?: string
    readonly headers?: Readonly<Record<string, string>>
  }
  | "drop"
  | "hang"

const received: Array<Received> = []
/** Replies for the next requests, in order; then `fallback`. */
const script: Array<Reply> = []
let fallback: (request: Received) => Reply = () => ({ status: 500 })
let server: Server
let base: string

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => {
      body += chunk
    })
    req.on("end", () => {
      const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body }
      received.push(request)
      const reply = script.shift() ?? fallback(request)
      if (reply === "hang") return
      if (reply === "drop") {
        req.socket.destroy()
        return
      }
      if (reply.text !== undefined) {
        res.writeHead(reply.status, { "content-type": "text/html", ...reply.headers })
        res.end(reply.text)
        return
      }
      res.writeHead(reply.status, {
        ...(reply.body === undefined ? {} : { "content-type": "application/json" }),
        ...reply.headers
      })
      res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

beforeEach(() => {
  received.length = 0
  script.length = 0
  fallback = () => ({ status: 500 })
})

const count = (method: string, path: string) =>
  received.filter((r) => r.method === method && r.url.split("?")[0] === path).length

// ---------------------------------------------------------------------------
// payloads and the broker
// ---------------------------------------------------------------------------

const account = {
  cash: "1000.50",
  buying_power: "2001",
  non_marginable_buying_power: "1000.50",
  equity: "1500.25",
  status: "ACTIVE"
}

const order = (fields: Record<string, unknown> = {}) => ({
  id: "904837e3-3b76-47ec-b432-046db621571b",
  client_order_id: "r1-sb-AAPL",
  created_at: "2026-07-30T14:30:00Z",
  submitted_at: "2026-07-30T14:30:00Z",
  symbol: "AAPL",
  qty: "3",
  notional: null,
  filled_qty: "0",
  filled_avg_price: null,
  type: "market",
  side: "buy",
  time_in_force: "day",
  limit_price: null,
  status: "accepted",
  ...fields
})

const request: OrderRequest = {
  clientOrderId: "r1-sb-AAPL",
  symbol: "AAPL",
  side: "buy",
  quantity: new Decimal("3"),
  type: "market",
  timeInForce: "day"
}

const config = (overrides: Partial<AlpacaConfig> = {}): AlpacaConfig => ({
  tradingUrl: base,
  dataUrl: `${base}/data`,
  streamUrl: "ws://127.0.0.1:9/stream",
  feed: "sip",
  keyId: Redacted.make(KEY_ID),
  secretKey: Redacted.make(SECRET),
  fractional: false,
  ...overrides
})

const fast: Partial<AlpacaTuning> = {
  retry: { times: 3, baseMillis: 1, maxDelayMillis: 5 },
  requestTimeoutMillis: 300,
  maxRateLimitWaitMillis: 50
}

const withBroker = <A, E>(
  f: (broker: BrokerShape) => Effect.Effect<A, E, Broker>,
  overrides: Partial<AlpacaConfig> = {},
  tuning: Partial<AlpacaTuning> = fast
) =>
  Effect.gen(function*() {
    return yield* f(yield* Broker)
  }).pipe(Effect.provide(layer(config(overrides), tuning).pipe(Layer.provide(FetchHttpClient.layer))))

/** Every message an error carries, checked for the credentials. */
const noSecrets = (error: unknown) => {
  const text = JSON.stringify(error) + String((error as { message?: unknown }).message)
  expect(text).not.toContain(KEY_ID)
  expect(text).not.toContain(SECRET)
}

/** Lets real I/O happen while the TestClock stands still. */
const realPause = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

// ---------------------------------------------------------------------------
// reads: retried
// ---------------------------------------------------------------------------

describe("reads are retried", () => {
  it.live("500, 503 then 200: the account is read on the third request", () =>
    Effect.gen(function*() {
      script.push({ status: 500 }, { status: 503, body: { code: 50300000, message: "service unavailable" } })
      fallback = () => ({ status: 200, body: account })
      const state = yield* withBroker((b) => b.account)
      expect([state.cash, state.buyingPower, state.equity].map(format)).toEqual(["1000.5", "1000.5", "1500.25"])
      expect(count("GET", "/v2/account")).toBe(3)
    }))

  it.live("a dropped connection and a request that hangs past the timeout are retried", () =>
    Effect.gen(function*() {
      script.push("drop", "hang")
      fallback = () => ({
        status: 200,
        body: { is_open: false, next_open: "2026-07-31T13:30:00Z", next_close: "2026-07-30T20:00:00Z" }
      })
      const clock = yield* withBroker((b) => b.clock)
      expect(clock.isOpen).toBe(false)
      expect(count("GET", "/v2/clock")).toBe(3)
    }))

  it.live("a 429 that persists is RateLimited after the bounded retries (1 + 3 requests)", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 429, body: { code: 42910000, message: "rate limit exceeded" } })
      const error = yield* Effect.flip(withBroker((b) => b.positions))
      expect(error._tag).toBe("RateLimited")
      expect(count("GET", "/v2/positions")).toBe(4)
    }))

  it.live("a 5xx that persists is BrokerConnectionError with Alpaca's message", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 502, body: { message: "bad gateway" } })
      const error = yield* Effect.flip(withBroker((b) => b.openOrders))
      expect(error).toMatchObject({
        _tag: "BrokerConnectionError",
        message: "Alpaca: GET /v2/orders: HTTP 502: bad gateway"
      })
      expect(count("GET", "/v2/orders")).toBe(4)
    }))

  it.live("a 4xx is not retried", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 403, body: { code: 40310000, message: "forbidden" } })
      const error = yield* Effect.flip(withBroker((b) => b.account))
      expect(error).toMatchObject({
        _tag: "BrokerConnectionError",
        message: "Alpaca: GET /v2/account: HTTP 403: forbidden"
      })
      expect(count("GET", "/v2/account")).toBe(1)
    }))

  it.live("order lookups: 404 is OrderNotFound; the client order id goes in the query", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 404, body: { code: 40410000, message: "order not found" } })
      const byClient = yield* Effect.flip(withBroker((b) => b.getOrderByClientId("r1-sb-AAPL")))
      expect(byClient).toMatchObject({ _tag: "OrderNotFound", id: "r1-sb-AAPL" })
      expect(received.map((r) => r.url)).toEqual(["/v2/orders:by_client_order_id?client_order_id=r1-sb-AAPL"])
      const byId = yield* Effect.flip(withBroker((b) => b.getOrder("904837e3-3b76-47ec-b432-046db621571b")))
      expect(byId).toMatchObject({ _tag: "OrderNotFound", id: "904837e3-3b76-47ec-b432-046db621571b" })
    }))
})

// ---------------------------------------------------------------------------
// placing: never repeated
// ---------------------------------------------------------------------------

describe("placing an order is never repeated", () => {
  it.live("sends the order once, with the credentials in their headers and the quantity as exact text", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 200, body: order() })
      const placed = yield* withBroker((b) => b.placeOrder({ ...request, quantity: new Decimal("0.123456789") }), {
        fractional: true
      })
      expect(placed).toMatchObject({
        id: "904837e3-3b76-47ec-b432-046db621571b",
        clientOrderId: "r1-sb-AAPL",
        status: "accepted"
      })
      expect(received).toHaveLength(1)
      const sent = received[0]!
      expect([sent.method, sent.url]).toEqual(["POST", "/v2/orders"])
      expect(sent.headers["apca-api-key-id"]).toBe(KEY_ID)
      expect(sent.headers["apca-api-secret-key"]).toBe(SECRET)
      expect(sent.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(sent.body)).toEqual({
        symbol: "AAPL",
        qty: "0.123456789",
        notional: null,
        side: "buy",
        type: "market",
        time_in_force: "day",
        client_order_id: "r1-sb-AAPL"
      })
    }))

  for (
    const [name, reply] of [["a 500", { status: 500, body: { message: "internal server error" } }], [
      "a dropped connection",
      "drop"
    ], ["no answer within the timeout", "hang"]] as const
  ) {
    it.live(`${name}: UnknownOutcome, and the server received exactly one POST`, () =>
      Effect.gen(function*() {
        fallback = () => reply
        const error = yield* Effect.flip(withBroker((b) => b.placeOrder(request)))
        expect(error).toMatchObject({ _tag: "UnknownOutcome", clientOrderId: "r1-sb-AAPL" })
        expect((error as { message: string }).message).toContain("look order r1-sb-AAPL up by its client order id")
        expect(count("POST", "/v2/orders")).toBe(1)
        noSecrets(error)
      }))
  }

  it.live("a 2xx answer that cannot be read (not an order, not JSON) is UnknownOutcome (the order may exist)", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 200, body: { id: "x" } })
      const error = yield* Effect.flip(withBroker((b) => b.placeOrder(request)))
      expect(error._tag).toBe("UnknownOutcome")
      expect((error as { message: string }).message).toContain(`Missing key\n  at ["client_order_id"]`)
      fallback = () => ({ status: 200, text: "<html>gateway says hello</html>" })
      const html = yield* Effect.flip(withBroker((b) => b.placeOrder(request)))
      expect(html._tag).toBe("UnknownOutcome")
      expect((html as { message: string }).message).toContain(`got "<html>gateway says hello</html>"`)
      expect(count("POST", "/v2/orders")).toBe(2)
    }))

  for (
    const [status, message] of [[403, "insufficient buying power"], [422, "qty must be <= 9 decimal places"], [
      400,
      "invalid symbol"
    ]] as const
  ) {
    it.live(`${status}: OrderRejected with Alpaca's message verbatim, sent once`, () =>
      Effect.gen(function*() {
        fallback = () => ({ status, body: { code: 40310000, message } })
        const error = yield* Effect.flip(withBroker((b) => b.placeOrder(request)))
        expect(error).toMatchObject({ _tag: "OrderRejected", clientOrderId: "r1-sb-AAPL", reason: message })
        expect(count("POST", "/v2/orders")).toBe(1)
      }))
  }

  it.live("401: BrokerConnectionError (nothing was placed), sent once", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 401, body: { code: 40110000, message: "request is not authorized" } })
      const error = yield* Effect.flip(withBroker((b) => b.placeOrder(request)))
      expect(error._tag).toBe("BrokerConnectionError")
      expect(count("POST", "/v2/orders")).toBe(1)
    }))

  it.effect("429: RateLimited for as long as Alpaca's reset says, sent once", () =>
    Effect.gen(function*() {
      // TestClock time is 0: a reset at epoch second 3 is 3 s away.
      fallback = () => ({
        status: 429,
        body: { message: "too many requests" },
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3" }
      })
      const error = yield* Effect.flip(withBroker((b) => b.placeOrder(request), {}, {}))
      expect(error).toEqual(expect.objectContaining({ _tag: "RateLimited", retryAfterMillis: 3_000 }))
      expect(count("POST", "/v2/orders")).toBe(1)
    }))

  it.live("refused locally, nothing sent: a fractional quantity on a whole-share account, more than 9 places", () =>
    Effect.gen(function*() {
      const whole = yield* Effect.flip(withBroker((b) => b.placeOrder({ ...request, quantity: new Decimal("2.5") })))
      expect(whole).toMatchObject({
        _tag: "OrderRejected",
        reason: "fractional quantity 2.5 refused: this account trades whole shares only"
      })
      const fine = yield* Effect.flip(
        withBroker((b) => b.placeOrder({ ...request, quantity: new Decimal("1.0000000001") }), { fractional: true })
      )
      expect(fine._tag).toBe("OrderRejected")
      expect(received).toHaveLength(0)
    }))
})

// ---------------------------------------------------------------------------
// closing a position: DELETE /v2/positions/{symbol}, under the caller's id
// ---------------------------------------------------------------------------

describe("a sell that closes the position", () => {
  const ALPACA_ID = "6f2b4cc4-1a06-4d43-8ad4-4f0bcbd1c7a2"
  const ALPACA_CLIENT_ID = "3f7c1f0e-alpaca-chosen"
  const close: OrderRequest = {
    clientOrderId: "r1-ss-ARKK",
    symbol: "ARKK",
    side: "sell",
    quantity: new Decimal("40.5"),
    type: "market",
    timeInForce: "day",
    closesPosition: true
  }
  const closing = (fields: Record<string, unknown> = {}) =>
    order({ id: ALPACA_ID, client_order_id: ALPACA_CLIENT_ID, symbol: "ARKK", side: "sell", qty: "40.5", ...fields })

  it.live("is one DELETE, never a POST, even for a fractional holding on a whole-share account; named by the caller's id", () =>
    Effect.gen(function*() {
      fallback = (r) =>
        r.method === "DELETE"
          ? { status: 200, body: closing() }
          : r.url.startsWith("/v2/orders?")
          ? { status: 200, body: [closing(), order({ id: "other", client_order_id: "someone-else" })] }
          : { status: 200, body: closing({ status: "filled", filled_qty: "40.5", filled_avg_price: "48.9" }) }
      yield* withBroker((b) =>
        Effect.gen(function*() {
          const placed = yield* b.placeOrder(close)
          expect(placed).toMatchObject({
            id: ALPACA_ID,
            clientOrderId: "r1-ss-ARKK",
            symbol: "ARKK",
            side: "sell",
            status: "accepted"
          })
          expect(format(placed.quantity)).toBe("40.5")
          expect(yield* b.getOrder(ALPACA_ID)).toMatchObject({ clientOrderId: "r1-ss-ARKK", status: "filled" })
          expect(yield* b.getOrderByClientId("r1-ss-ARKK")).toMatchObject({
            id: ALPACA_ID,
            clientOrderId: "r1-ss-ARKK",
            status: "filled"
          })
          expect((yield* b.openOrders).map((o) => o.clientOrderId)).toEqual(["r1-ss-ARKK", "someone-else"])
        }), { fractional: false })
      expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
        "DELETE /v2/positions/ARKK",
        `GET /v2/orders/${ALPACA_ID}`,
        // Known by its Alpaca id: no lookup by a client id Alpaca never saw.
        `GET /v2/orders/${ALPACA_ID}`,
        "GET /v2/orders?status=open&limit=500"
      ])
      expect(received[0]!.body).toBe("")
    }))

  it.live("a lost answer (500) is UnknownOutcome, never sent again; found among the symbol's orders since the send", () =>
    Effect.gen(function*() {
      const before = yield* Clock.currentTimeMillis
      let sent = 0
      yield* withBroker((b) =>
        Effect.gen(function*() {
          script.push({ status: 500, body: { message: "internal server error" } })
          const lost = yield* Effect.flip(b.placeOrder(close))
          sent = yield* Clock.currentTimeMillis
          expect(lost).toMatchObject({ _tag: "UnknownOutcome", clientOrderId: "r1-ss-ARKK" })
          const sentAt = new Date(before).toISOString()
          // Alpaca's list: a sell from long before the send, a buy, the close, and a later sell.
          script.push({
            status: 200,
            body: [
              closing({
                id: "old",
                client_order_id: "old",
                submitted_at: "2020-01-02T15:00:00Z",
                created_at: "2020-01-02T15:00:00Z"
              }),
              closing({ id: "buy", client_order_id: "buy", side: "buy", submitted_at: sentAt, created_at: sentAt }),
              closing({ submitted_at: sentAt, created_at: sentAt }),
              closing({ id: "later", client_order_id: "later", submitted_at: new Date(before + 5_000).toISOString() })
            ]
          })
          const found = yield* b.getOrderByClientId("r1-ss-ARKK")
          expect(found).toMatchObject({ id: ALPACA_ID, clientOrderId: "r1-ss-ARKK" })
          // From then on it is known by its Alpaca id.
          fallback = () => ({
            status: 200,
            body: closing({ status: "filled", filled_qty: "40.5", filled_avg_price: "48.9" })
          })
          expect(yield* b.getOrderByClientId("r1-ss-ARKK")).toMatchObject({
            clientOrderId: "r1-ss-ARKK",
            status: "filled"
          })
        })
      )
      expect(count("DELETE", "/v2/positions/ARKK")).toBe(1)
      expect(count("POST", "/v2/orders")).toBe(0)
      const lookup = new URL(received[1]!.url, "http://x")
      expect(lookup.pathname).toBe("/v2/orders")
      const { after, ...params } = Object.fromEntries(lookup.searchParams)
      expect(params).toEqual({ status: "all", symbols: "ARKK", direction: "asc", limit: "500" })
      // Since the DELETE was sent, less the allowed clock skew.
      const since = Date.parse(after!) + AlpacaDefaults.closeLookupSkewMillis
      expect(since).toBeGreaterThanOrEqual(before)
      expect(since).toBeLessThanOrEqual(sent)
      expect(received.map((r) => `${r.method} ${r.url.split("?")[0]}`).slice(2)).toEqual([
        `GET /v2/orders/${ALPACA_ID}`
      ])
    }))

  it.live("a lost answer with no such order is OrderNotFound (never by client id); refused when sent again (404)", () =>
    // The position is gone; the first send is still looked for.
    Effect.gen(function*() {
      yield* withBroker((b) =>
        Effect.gen(function*() {
          script.push("drop", { status: 200, body: [closing({ id: "old", submitted_at: "2020-01-02T15:00:00Z" })] })
          expect(yield* Effect.flip(b.placeOrder(close))).toMatchObject({ _tag: "UnknownOutcome" })
          expect(yield* Effect.flip(b.getOrderByClientId("r1-ss-ARKK"))).toMatchObject({
            _tag: "OrderNotFound",
            id: "r1-ss-ARKK"
          })
          script.push({ status: 404, body: { code: 40410000, message: "position does not exist" } })
          expect(yield* Effect.flip(b.placeOrder(close))).toMatchObject({
            _tag: "OrderRejected",
            clientOrderId: "r1-ss-ARKK",
            reason: "position does not exist"
          })
          // The first close did arrive after all, and now shows.
          const now = new Date().toISOString()
          script.push({
            status: 200,
            body: [
              closing({
                submitted_at: now,
                created_at: now,
                status: "filled",
                filled_qty: "40.5",
                filled_avg_price: "48.9"
              })
            ]
          })
          expect(yield* b.getOrderByClientId("r1-ss-ARKK")).toMatchObject({
            id: ALPACA_ID,
            clientOrderId: "r1-ss-ARKK",
            status: "filled"
          })
        })
      )
      expect(received.map((r) => `${r.method} ${r.url.split("?")[0]}`)).toEqual([
        "DELETE /v2/positions/ARKK",
        "GET /v2/orders",
        "DELETE /v2/positions/ARKK",
        "GET /v2/orders"
      ])
    }))

  it.live("a close refused outright (404) leaves nothing to look for: a lookup is by client order id again", () =>
    Effect.gen(function*() {
      yield* withBroker((b) =>
        Effect.gen(function*() {
          script.push({ status: 404, body: { code: 40410000, message: "position does not exist" } })
          expect(yield* Effect.flip(b.placeOrder(close))).toMatchObject({
            _tag: "OrderRejected",
            reason: "position does not exist"
          })
          script.push({ status: 404, body: { message: "order not found" } })
          expect(yield* Effect.flip(b.getOrderByClientId("r1-ss-ARKK"))).toMatchObject({ _tag: "OrderNotFound" })
        })
      )
      expect(received.map((r) => `${r.method} ${r.url.split("?")[0]}`)).toEqual([
        "DELETE /v2/positions/ARKK",
        "GET /v2/orders:by_client_order_id"
      ])
    }))

  it.live("a close that is not a market sell is refused before anything is sent", () =>
    Effect.gen(function*() {
      const buy = yield* Effect.flip(withBroker((b) => b.placeOrder({ ...close, side: "buy" })))
      expect(buy).toMatchObject({ _tag: "OrderRejected", reason: "a position close is a market sell" })
      const limit = yield* Effect.flip(
        withBroker((b) => b.placeOrder({ ...close, type: "limit", limitPrice: new Decimal("50") }))
      )
      expect(limit._tag).toBe("OrderRejected")
      expect(received).toHaveLength(0)
    }))
})

// ---------------------------------------------------------------------------
// assets
// ---------------------------------------------------------------------------

describe("assets", () => {
  const asset = (symbol: string, fields: Record<string, unknown> = {}) => ({
    id: "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
    class: "us_equity",
    exchange: "NASDAQ",
    symbol,
    name: null,
    status: "active",
    tradable: true,
    marginable: true,
    shortable: true,
    easy_to_borrow: true,
    fractionable: true,
    maintenance_margin_requirement: 30,
    attributes: ["fractional_eh_enabled"],
    ...fields
  })

  const list = (entries: ReadonlyArray<unknown>): Reply => ({ status: 200, body: entries })
  const assetRequests = () => received.filter((r) => r.url.startsWith("/v2/assets"))

  it.live("one GET /v2/assets?status=active&asset_class=us_equity for every symbol; a symbol not listed is left out", () =>
    Effect.gen(function*() {
      script.push({ status: 503 })
      fallback = () =>
        list([
          asset("AAPL"),
          asset("BRK.B", { fractionable: false }),
          asset("OTCX", { tradable: false }),
          // Odd entries of other symbols (or of none) are never read.
          asset("ODD", { tradable: null, fractionable: "sometimes" }),
          { name: "no symbol at all" },
          42
        ])
      const got = yield* withBroker((b) =>
        Effect.gen(function*() {
          const first = yield* b.assets(["AAPL", "NOPE", "BRK.B", "AAPL", "OTCX"])
          // Asked again the same day: the list is kept, nothing is sent.
          expect(yield* b.assets(["BRK.B"])).toEqual([first[1]])
          return first
        })
      )
      expect(got.map((a) => [a.symbol, a.tradable, a.fractionable, format(a.minFractionalOrderValue)])).toEqual([
        ["AAPL", true, true, "1"],
        ["BRK.B", true, false, "1"],
        ["OTCX", false, true, "1"]
      ])
      // The 503 retried, as any read.
      expect(assetRequests().map((r) => r.url)).toEqual([
        "/v2/assets?status=active&asset_class=us_equity",
        "/v2/assets?status=active&asset_class=us_equity"
      ])
      expect(AlpacaDefaults.minFractionalOrderValue).toBe("1")
    }))

  it.effect("the list is kept for the trading day, the date in New York: asked again only after midnight there", () =>
    Effect.gen(function*() {
      fallback = () => list([asset("AAPL")])
      const at = (iso: string) => TestClock.setTime(Date.parse(iso))
      yield* withBroker((b) =>
        Effect.gen(function*() {
          yield* at("2026-03-09T14:00:00Z") // 10:00 in New York (EDT since March 8)
          yield* b.assets(["AAPL"])
          yield* at("2026-03-10T03:59:00Z") // 23:59, the same trading day
          yield* b.assets(["AAPL"])
          expect(assetRequests()).toHaveLength(1)
          yield* at("2026-03-10T04:00:00Z") // midnight in New York: a new day
          yield* b.assets(["AAPL"])
          expect(assetRequests()).toHaveLength(2)
        })
      )
    }))

  it.live("Brokers given the same lists (the registry's: every account of the process) ask once a day per host", () =>
    Effect.gen(function*() {
      fallback = () => list([asset("AAPL")])
      const lists = makeAssetLists()
      const broker = (overrides: Partial<AlpacaConfig>) =>
        Effect.provide(
          Effect.gen(function*() {
            return yield* (yield* Broker).assets(["AAPL"])
          }),
          layer(config(overrides), fast, lists).pipe(Layer.provide(FetchHttpClient.layer))
        )
      yield* broker({})
      yield* broker({ keyId: Redacted.make("PKANOTHERACCOUNT01") })
      expect(assetRequests()).toHaveLength(1)
      // Another host (here the same server by another name) has a list of its own.
      yield* broker({ tradingUrl: base.replace("127.0.0.1", "localhost") })
      expect(assetRequests()).toHaveLength(2)
    }))

  it.live("an entry Keel reads without the fields it needs is BrokerConnectionError naming them; a failure is not kept", () =>
    Effect.gen(function*() {
      fallback = () => list([asset("AAPL"), { symbol: "MSFT", tradable: "yes" }])
      yield* withBroker((b) =>
        Effect.gen(function*() {
          // Another symbol's odd entry does not matter.
          expect((yield* b.assets(["AAPL"])).map((a) => a.symbol)).toEqual(["AAPL"])
          const bad = yield* Effect.flip(b.assets(["AAPL", "MSFT"]))
          expect(bad._tag).toBe("BrokerConnectionError")
          expect(bad.message).toContain("GET /v2/assets: the entry of MSFT: unexpected payload")
          expect(bad.message).toContain(`Expected boolean, got "yes"\n  at ["tradable"]`)
          expect(bad.message).toContain(`Missing key\n  at ["fractionable"]`)
        })
      )
      fallback = () => ({ status: 502 })
      yield* withBroker((b) =>
        Effect.gen(function*() {
          expect((yield* Effect.flip(b.assets(["AAPL"])))._tag).toBe("BrokerConnectionError")
          fallback = () => list([asset("AAPL")])
          expect((yield* b.assets(["AAPL"])).map((a) => a.symbol)).toEqual(["AAPL"])
        })
      )
    }))

  it.live("no symbols, no request", () =>
    Effect.gen(function*() {
      expect(yield* withBroker((b) => b.assets([]))).toEqual([])
      expect(received).toHaveLength(0)
    }))
})

// ---------------------------------------------------------------------------
// cancel
// ---------------------------------------------------------------------------

describe("cancel", () => {
  const id = "904837e3-3b76-47ec-b432-046db621571b"

  it.live("204 is done; a 500 before it is retried", () =>
    Effect.gen(function*() {
      script.push({ status: 500 })
      fallback = () => ({ status: 204 })
      yield* withBroker((b) => b.cancelOrder(id))
      expect(count("DELETE", `/v2/orders/${id}`)).toBe(2)
    }))

  it.live("422 (no longer cancelable) is done; 404 is OrderNotFound", () =>
    Effect.gen(function*() {
      script.push({ status: 422, body: { code: 42210000, message: "order is not cancelable" } })
      yield* withBroker((b) => b.cancelOrder(id))
      fallback = () => ({ status: 404, body: { message: "order not found" } })
      const error = yield* Effect.flip(withBroker((b) => b.cancelOrder(id)))
      expect(error).toMatchObject({ _tag: "OrderNotFound", id })
    }))
})

// ---------------------------------------------------------------------------
// quotes
// ---------------------------------------------------------------------------

describe("quotes", () => {
  const quotes = { quotes: { AAPL: { ap: 190.1, bp: 190 }, VTI: { ap: 0, bp: 245.1 } } }

  it.live("one-sided quotes get the latest trade as last, asked for those symbols only", () =>
    Effect.gen(function*() {
      script.push({ status: 200, body: quotes }, { status: 200, body: { trades: { VTI: { p: 245.17, s: 100 } } } })
      const got = yield* withBroker((b) => b.quotes(["AAPL", "VTI", "AAPL"]))
      expect(got.map((q) => [q.symbol, q.bid && format(q.bid), q.ask && format(q.ask), q.last && format(q.last)]))
        .toEqual([
          ["AAPL", "190", "190.1", undefined],
          ["VTI", "245.1", undefined, "245.17"]
        ])
      expect(received.map((r) => decodeURIComponent(r.url))).toEqual([
        "/data/v2/stocks/quotes/latest?symbols=AAPL,VTI&feed=sip",
        "/data/v2/stocks/trades/latest?symbols=VTI&feed=sip"
      ])
    }))

  it.live("without the latest trades (here: 404), the quotes stand as they are", () =>
    Effect.gen(function*() {
      script.push({ status: 200, body: quotes }, { status: 404, body: { message: "endpoint not found" } })
      const got = yield* withBroker((b) => b.quotes(["AAPL", "VTI"]))
      expect(got.map((q) => [q.symbol, q.last])).toEqual([["AAPL", undefined], ["VTI", undefined]])
    }))

  it.live("no symbols, no request", () =>
    Effect.gen(function*() {
      expect(yield* withBroker((b) => b.quotes([]))).toEqual([])
      expect(received).toHaveLength(0)
    }))
})

// ---------------------------------------------------------------------------
// rate limits (TestClock)
// ---------------------------------------------------------------------------

describe("rate limits", () => {
  it.effect("X-Ratelimit-Remaining 0 holds the next request until X-Ratelimit-Reset", () =>
    Effect.gen(function*() {
      fallback = () => ({
        status: 200,
        body: account,
        headers: { "x-ratelimit-limit": "200", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "5" }
      })
      yield* withBroker(
        (b) =>
          Effect.gen(function*() {
            yield* b.account
            expect(count("GET", "/v2/account")).toBe(1)
            const second = yield* Effect.forkChild(b.account)
            yield* realPause(100)
            expect(count("GET", "/v2/account")).toBe(1)
            yield* TestClock.adjust("4 seconds")
            yield* realPause(100)
            expect(count("GET", "/v2/account")).toBe(1)
            yield* TestClock.adjust("1 second")
            yield* Fiber.join(second)
            expect(count("GET", "/v2/account")).toBe(2)
          }),
        {},
        {}
      )
    }))

  it.effect("the client-side limit (a fixed window): requestsPerMinute go out, one beyond waits until a minute after the first", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 200, body: [] })
      yield* withBroker(
        (b) =>
          Effect.gen(function*() {
            yield* b.positions
            yield* TestClock.adjust("10 seconds")
            yield* b.positions
            const third = yield* Effect.forkChild(b.positions)
            yield* realPause(100)
            expect(count("GET", "/v2/positions")).toBe(2)
            yield* TestClock.adjust("49 seconds")
            yield* realPause(100)
            expect(count("GET", "/v2/positions")).toBe(2)
            yield* TestClock.adjust("1 second")
            yield* Fiber.join(third)
            expect(count("GET", "/v2/positions")).toBe(3)
          }),
        { requestsPerMinute: 2 },
        {}
      )
    }))

  it.effect("a fixed window, not a sliding one: limit 2, one request at 0 s and two at 31 s all go out by 31 s", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 200, body: [] })
      yield* withBroker(
        (b) =>
          Effect.gen(function*() {
            const start = yield* Clock.currentTimeMillis
            yield* b.positions
            yield* TestClock.adjust("31 seconds")
            yield* b.positions
            yield* b.positions
            // Three requests within 60 s with a limit of 2, without waiting: the counter of the
            // first (a minute / 2 long) had ended, and a new one started at 31 s.
            expect(count("GET", "/v2/positions")).toBe(3)
            expect((yield* Clock.currentTimeMillis) - start).toBe(31_000)
            // The new counter is full now: the next waits until a minute after 31 s.
            const fourth = yield* Effect.forkChild(b.positions)
            yield* TestClock.adjust("59 seconds")
            yield* realPause(100)
            expect(count("GET", "/v2/positions")).toBe(3)
            yield* TestClock.adjust("1 second")
            yield* Fiber.join(fourth)
            expect(count("GET", "/v2/positions")).toBe(4)
          }),
        { requestsPerMinute: 2 },
        {}
      )
    }))

  it.effect("accounts on one connection (hosts and key) share its limit; another key has its own", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 200, body: [] })
      const connections = makeConnectionLimits()
      const positionsOf = (overrides: Partial<AlpacaConfig>) =>
        Effect.provide(
          Effect.gen(function*() {
            return yield* (yield* Broker).positions
          }),
          layer(config({ requestsPerMinute: 2, ...overrides }), {}, makeAssetLists(), connections).pipe(
            Layer.provide(FetchHttpClient.layer)
          )
        )
      // Two accounts of a fleet on one key: two requests fill the minute between them.
      yield* positionsOf({})
      yield* positionsOf({})
      const third = yield* Effect.forkChild(positionsOf({}))
      yield* realPause(100)
      expect(count("GET", "/v2/positions")).toBe(2)
      // Another key is another connection, with a count of its own.
      yield* positionsOf({ keyId: Redacted.make("PKANOTHERACCOUNT01") })
      expect(count("GET", "/v2/positions")).toBe(3)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(third)
      expect(count("GET", "/v2/positions")).toBe(4)
    }))

  it.effect("trading and market data have separate limits", () =>
    Effect.gen(function*() {
      fallback = (r) =>
        r.url.startsWith("/data")
          ? { status: 200, body: { quotes: { AAPL: { ap: 190.1, bp: 190 } } } }
          : { status: 200, body: [], headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "30" } }
      yield* withBroker(
        (b) =>
          Effect.gen(function*() {
            yield* b.positions
            const quotes = yield* b.quotes(["AAPL"])
            expect(quotes.map((q) => [q.symbol, q.bid && format(q.bid), q.ask && format(q.ask)])).toEqual([[
              "AAPL",
              "190",
              "190.1"
            ]])
            expect(received.map((r) => r.url)).toEqual([
              "/v2/positions",
              "/data/v2/stocks/quotes/latest?symbols=AAPL&feed=sip"
            ])
          }),
        {},
        {}
      )
    }))
})

// ---------------------------------------------------------------------------
// credentials
// ---------------------------------------------------------------------------

describe("credentials", () => {
  it.live("every request carries both headers", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 200, body: account })
      yield* withBroker((b) => b.account)
      expect(received.map((r) => [r.headers["apca-api-key-id"], r.headers["apca-api-secret-key"]])).toEqual([[
        KEY_ID,
        SECRET
      ]])
    }))

  it.live("never appear in an error, even when Alpaca's answer echoes them", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 403, body: { message: `key ${KEY_ID} with secret ${SECRET} is not allowed` } })
      const rejected = yield* Effect.flip(withBroker((b) => b.placeOrder(request)))
      expect(rejected).toMatchObject({
        _tag: "OrderRejected",
        reason: `key ${REDACTED} with secret ${REDACTED} is not allowed`
      })
      noSecrets(rejected)
      const read = yield* Effect.flip(withBroker((b) => b.account))
      noSecrets(read)
      fallback = () => "drop"
      noSecrets(yield* Effect.flip(withBroker((b) => b.placeOrder(request))))
      noSecrets(yield* Effect.flip(withBroker((b) => b.clock)))
      fallback = () => ({ status: 200, body: { is_open: SECRET, id: KEY_ID } })
      noSecrets(yield* Effect.flip(withBroker((b) => b.clock)))
      noSecrets(yield* Effect.flip(withBroker((b) => b.placeOrder(request))))
    }))

  it.live("a short key (4 characters) is removed from an error message too", () =>
    Effect.gen(function*() {
      fallback = () => ({ status: 403, body: { message: "key AK42 is not allowed" } })
      const rejected = yield* Effect.flip(withBroker((b) => b.placeOrder(request), { keyId: Redacted.make("AK42") }))
      expect(rejected).toMatchObject({ _tag: "OrderRejected", reason: `key ${REDACTED} is not allowed` })
      expect(JSON.stringify(rejected)).not.toContain("AK42")
    }))

  it.live("a host that refuses connections is BrokerConnectionError, without the credentials", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(withBroker((b) => b.account, { tradingUrl: "http://127.0.0.1:9" }))
      expect(error._tag).toBe("BrokerConnectionError")
      expect((error as { message: string }).message).toMatch(/^Alpaca: GET \/v2\/account: connection failed/)
      noSecrets(error)
    }))
})
