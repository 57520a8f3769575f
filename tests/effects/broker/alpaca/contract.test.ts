/**
 * Contract test: the Alpaca adapter against Alpaca's published OpenAPI specs
 * (tests/fixtures/alpaca/, copies of Alpaca's own documents), served by Prism.
 *
 * 1. Every request the adapter sends must validate against the spec: Prism answers an invalid
 *    request with 422/400 and lists the problems in an `sl-violations` header (Prism also uses
 *    that header for its *own* generated responses; only `request` violations count here).
 *    Prism also checks the two credential headers the spec's security scheme requires.
 * 2. The adapter must read what the spec promises, and fail clearly where it cannot:
 *    - Market data: the spec carries real examples (`examples` on the media type); Prism
 *      serves them, and the adapter must decode them exactly.
 *    - Trading: the spec's examples are `x-examples`, which Prism does not serve; it generates
 *      answers from the schemas instead, with the text "string" in every decimal field. The
 *      adapter must refuse those with a decode error naming each field (never a made-up
 *      number). Fields without decimals (the clock) decode exactly.
 *    - The `x-examples` themselves, Alpaca's documented payloads, are decoded directly.
 * 3. `GET /v2/orders:by_client_order_id` is not in the 2022 spec (it predates the endpoint):
 *    Prism answers 404 for it, which the adapter reads as OrderNotFound. Its real shape is
 *    covered by tests/effects/broker/alpaca/schemas.test.ts and the emulator tests.
 * 4. `GET /v2/assets` (the adapter asks `?status=active&asset_class=us_equity` once a trading
 *    day) is not in the 2022 spec either, but each entry of its answer is: the `Assets`
 *    component. Its x-example is decoded here, as a list of one, and
 *    tests/effects/broker/alpaca/emulator.test.ts validates the emulator's lists against that
 *    component and the documented parameters (through Prism, on the spec with the path added);
 *    tests/effects/broker/alpaca/layer.test.ts checks the adapter's query against the emulator.
 *
 * No test talks to a real Alpaca host.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as UrlParams from "effect/http/UrlParams"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { parse } from "yaml"
import { Broker, type BrokerShape, type OrderRequest } from "../../../../src/effects/Broker.ts"
import type { AlpacaConfig } from "../../../../src/effects/broker/alpaca/config.ts"
import { layer } from "../../../../src/effects/broker/alpaca/layer.ts"
import { toBrokerOrder } from "../../../../src/effects/broker/alpaca/orders.ts"
import * as Alpaca from "../../../../src/effects/broker/alpaca/schemas.ts"
import { Decimal, format } from "../../../../src/kernel/decimal.ts"
import { type Prism, startPrism } from "../../../support/prism.ts"

const fixture = (name: string) => fileURLToPath(new URL(`../../../fixtures/alpaca/${name}`, import.meta.url))
const TRADING_SPEC = fixture("trading-openapi.yaml")
const DATA_SPEC = fixture("market-data-openapi.yaml")

const KEY_ID = "PKCONTRACTKEY0001"
const SECRET = "contract-secret-Zq8w3"

// ---------------------------------------------------------------------------
// Prism, and a client that records every exchange
// ---------------------------------------------------------------------------

let trading: Prism
let data: Prism

beforeAll(async () => {
  ;[trading, data] = await Promise.all([startPrism(TRADING_SPEC), startPrism(DATA_SPEC)])
}, 120_000)

afterAll(async () => {
  await Promise.all([trading?.stop(), data?.stop()])
})

interface Violation {
  readonly location: ReadonlyArray<string>
  readonly message: string
}

interface Exchange {
  readonly method: string
  readonly url: URL
  readonly status: number
  readonly requestViolations: ReadonlyArray<Violation>
}

const exchanges: Array<Exchange> = []
/** A `Prefer` header to send (Prism's way to pick a documented response). */
let prefer: string | undefined

const recording = Layer.effect(HttpClient.HttpClient)(Effect.gen(function*() {
  const client = yield* HttpClient.HttpClient
  return client.pipe(
    HttpClient.mapRequest((
      request
    ) => (prefer === undefined ? request : HttpClientRequest.setHeader(request, "prefer", prefer))),
    HttpClient.tap((response) =>
      Effect.sync(() => {
        const raw = response.headers["sl-violations"]
        const violations = raw === undefined ? [] : JSON.parse(raw) as ReadonlyArray<Violation>
        exchanges.push({
          method: response.request.method,
          url: new URL(`${response.request.url}?${UrlParams.toString(response.request.urlParams)}`),
          status: response.status,
          requestViolations: violations.filter((v) => v.location[0] === "request")
        })
      })
    )
  )
})).pipe(Layer.provide(FetchHttpClient.layer))

const config = (): AlpacaConfig => ({
  tradingUrl: trading.url,
  dataUrl: data.url,
  streamUrl: "ws://127.0.0.1:9/stream",
  feed: "iex",
  keyId: Redacted.make(KEY_ID),
  secretKey: Redacted.make(SECRET),
  fractional: true
})

/** Runs `f` with the Alpaca broker on Prism; returns its exit and the exchanges it made. */
const run = <A, E>(f: (broker: BrokerShape) => Effect.Effect<A, E, Broker>, preferHeader?: string) =>
  Effect.gen(function*() {
    exchanges.length = 0
    prefer = preferHeader
    const use = Effect.gen(function*() {
      return yield* f(yield* Broker)
    })
    const exit = yield* Effect.exit(use.pipe(
      Effect.provide(
        layer(config(), { retry: { times: 0, baseMillis: 1, maxDelayMillis: 1 } }).pipe(Layer.provide(recording))
      )
    ))
    prefer = undefined
    return { exit, exchanges: [...exchanges] }
  })

/** Every exchange was a valid request: accepted by Prism, no request violation. */
const expectValid = (sent: ReadonlyArray<Exchange>) => {
  expect(sent.length).toBeGreaterThan(0)
  for (const exchange of sent) {
    expect(exchange.requestViolations, `${exchange.method} ${exchange.url.pathname}`).toEqual([])
    expect([400, 401, 422]).not.toContain(exchange.status)
  }
}

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (!Exit.isFailure(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit)}`)
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isNone(error)) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return error.value
}

const success = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (!Exit.isSuccess(exit)) throw new Error(`expected a success, got ${String(exit.cause)}`)
  return exit.value
}

const noSecrets = (text: string) => {
  expect(text).not.toContain(KEY_ID)
  expect(text).not.toContain(SECRET)
}

const d = (text: string) => new Decimal(text)

// ---------------------------------------------------------------------------
// requests validate; answers decode (or fail naming the field)
// ---------------------------------------------------------------------------

describe("Alpaca adapter against Alpaca's published spec (Prism)", () => {
  it.live("GET /v2/account: valid request; the generated account is refused field by field", () =>
    // Its decimals are "string", and it has no non_marginable_buying_power.
    Effect.gen(function*() {
      const { exit, exchanges: sent } = yield* run((b) => b.account)
      expectValid(sent)
      expect(sent.map((e) => `${e.method} ${e.url.pathname}`)).toEqual(["GET /v2/account"])
      const error = failure(exit)
      expect(error._tag).toBe("BrokerConnectionError")
      const message = (error as { message: string }).message
      expect(message).toContain("GET /v2/account: unexpected payload")
      for (const field of ["cash", "buying_power", "equity"]) {
        expect(message).toContain(`Expected a decimal, got "string"\n  at ["${field}"]`)
      }
      expect(message).toContain(`Missing key\n  at ["non_marginable_buying_power"]`)
      noSecrets(message)
    }))

  it.live("GET /v2/positions: valid request; \"string\" quantities are refused naming the element", () =>
    Effect.gen(function*() {
      const { exit, exchanges: sent } = yield* run((b) => b.positions)
      expectValid(sent)
      const message = (failure(exit) as { message: string }).message
      expect(message).toContain(`Expected a decimal, got "string"\n  at [0]["qty"]`)
    }))

  it.live("GET /v2/clock: valid request; decodes exactly", () =>
    Effect.gen(function*() {
      const { exit, exchanges: sent } = yield* run((b) => b.clock)
      expectValid(sent)
      expect(success(exit)).toEqual({
        isOpen: true,
        nextOpen: Option.some(Date.parse("2019-08-24T14:15:22Z")),
        nextClose: Option.some(Date.parse("2019-08-24T14:15:22Z"))
      })
    }))

  it.live("GET /v2/orders?status=open&limit=500: valid request; \"string\" decimals are refused", () =>
    Effect.gen(function*() {
      const { exit, exchanges: sent } = yield* run((b) => b.openOrders)
      expectValid(sent)
      expect(sent[0]!.url.search).toBe("?status=open&limit=500")
      const message = (failure(exit) as { message: string }).message
      expect(message).toContain("GET /v2/orders: unexpected payload")
      expect(message).toContain(`at [0]["filled_qty"]`)
    }))

  it.live("GET /v2/orders/{id}: valid request", () =>
    Effect.gen(function*() {
      const { exit, exchanges: sent } = yield* run((b) => b.getOrder("61e69015-8549-4bfd-b9c3-01e75843f47d"))
      expectValid(sent)
      expect(sent[0]!.url.pathname).toBe("/v2/orders/61e69015-8549-4bfd-b9c3-01e75843f47d")
      expect((failure(exit) as { message: string }).message).toContain(`at ["qty"]`)
    }))

  it.live("GET /v2/orders:by_client_order_id is not in the 2022 spec: Prism's 404 is OrderNotFound", () =>
    Effect.gen(function*() {
      const { exit, exchanges: sent } = yield* run((b) => b.getOrderByClientId("run-1-sb-AAPL"))
      expect(sent.map((e) => [e.method, e.url.pathname, e.url.search, e.status])).toEqual([
        ["GET", "/v2/orders:by_client_order_id", "?client_order_id=run-1-sb-AAPL", 404]
      ])
      expect(failure(exit)).toMatchObject({ _tag: "OrderNotFound", id: "run-1-sb-AAPL" })
    }))

  const request: OrderRequest = {
    clientOrderId: "run-1-sb-AAPL",
    symbol: "AAPL",
    side: "buy",
    quantity: d("1.5"),
    type: "market",
    timeInForce: "gtc"
  }

  it.live("POST /v2/orders (market, fractional): valid request, sent once; the unreadable answer is UnknownOutcome", () =>
    Effect.gen(function*() {
      const { exit, exchanges: sent } = yield* run((b) => b.placeOrder(request))
      expectValid(sent)
      expect(sent.map((e) => `${e.method} ${e.url.pathname}`)).toEqual(["POST /v2/orders"])
      const error = failure(exit)
      expect(error._tag).toBe("UnknownOutcome")
      expect(error).toMatchObject({ clientOrderId: "run-1-sb-AAPL" })
      expect((error as { message: string }).message).toContain(
        "the order was accepted (HTTP 200) but its answer cannot be read"
      )
    }))

  it.live("POST /v2/orders (limit, whole shares): valid request", () =>
    Effect.gen(function*() {
      const { exchanges: sent } = yield* run((b) =>
        b.placeOrder({ ...request, quantity: d("3"), type: "limit", limitPrice: d("189.25"), timeInForce: "gtc" })
      )
      expectValid(sent)
    }))

  it.live("POST /v2/orders answered with the spec's 403 and 422 (no body): OrderRejected, nothing repeated", () =>
    Effect.gen(function*() {
      for (const code of [403, 422]) {
        const { exit, exchanges: sent } = yield* run((b) => b.placeOrder(request), `code=${code}`)
        expect(sent.map((e) => [e.method, e.status, e.requestViolations])).toEqual([["POST", code, []]])
        expect(failure(exit)).toMatchObject({
          _tag: "OrderRejected",
          clientOrderId: "run-1-sb-AAPL",
          reason: `POST /v2/orders: HTTP ${code}`
        })
      }
    }))

  it.live("DELETE /v2/orders/{id}: valid request, 204 is done; the spec's 422 (not cancelable) is done too", () =>
    Effect.gen(function*() {
      const id = "61e69015-8549-4bfd-b9c3-01e75843f47d"
      const ok = yield* run((b) => b.cancelOrder(id))
      expectValid(ok.exchanges)
      expect(ok.exchanges.map((e) => [e.method, e.url.pathname, e.status])).toEqual([[
        "DELETE",
        `/v2/orders/${id}`,
        204
      ]])
      expect(Exit.isSuccess(ok.exit)).toBe(true)
      const refused = yield* run((b) => b.cancelOrder(id), "code=422")
      expect(refused.exchanges.map((e) => [e.status, e.requestViolations])).toEqual([[422, []]])
      expect(Exit.isSuccess(refused.exit)).toBe(true)
    }))

  it.live("a close is DELETE /v2/positions/{symbol}, valid, sent once; its lost-answer lookup (GET /v2/orders) is valid too", () =>
    // The lookup: GET /v2/orders?status=all&symbols&after&direction.
    Effect.gen(function*() {
      const close: OrderRequest = {
        ...request,
        side: "sell",
        quantity: d("40.5"),
        timeInForce: "day",
        closesPosition: true
      }
      const { exit, exchanges: sent } = yield* run((b) =>
        Effect.gen(function*() {
          // Prism's generated answer ("string" decimals) cannot be read: the outcome is unknown.
          const lost = yield* Effect.flip(b.placeOrder(close))
          expect(lost).toMatchObject({ _tag: "UnknownOutcome", clientOrderId: "run-1-sb-AAPL" })
          return yield* b.getOrderByClientId(close.clientOrderId)
        })
      )
      expectValid(sent)
      expect(sent.map((e) => `${e.method} ${e.url.pathname}`)).toEqual(["DELETE /v2/positions/AAPL", "GET /v2/orders"])
      expect([...sent[1]!.url.searchParams.keys()]).toEqual(["status", "symbols", "after", "direction", "limit"])
      // Prism's generated orders cannot be read either; what matters here is that both requests are the spec's.
      expect((failure(exit) as { readonly _tag: string })._tag).toBe("BrokerConnectionError")
    }))

  it.live("GET /v2/stocks/quotes/latest: valid request; the spec's example decodes exactly", () =>
    Effect.gen(function*() {
      const { exit, exchanges: sent } = yield* run((b) => b.quotes(["AAPL", "TSLA"]))
      expectValid(sent)
      expect(sent.map((e) => `${e.method} ${e.url.pathname}${decodeURIComponent(e.url.search)}`)).toEqual([
        "GET /v2/stocks/quotes/latest?symbols=AAPL,TSLA&feed=iex"
      ])
      const quotes = success(exit).map((q) => ({
        symbol: q.symbol,
        bid: q.bid && format(q.bid),
        ask: q.ask && format(q.ask)
      }))
      expect(quotes).toEqual([
        { symbol: "AAPL", bid: "156.45", ask: "156.47" },
        { symbol: "TSLA", bid: "798", ask: "850" }
      ])
    }))

  it.live("GET /v2/stocks/trades/latest: asked only for symbols without a two-sided quote; valid request", () =>
    Effect.gen(function*() {
      // The example answers AAPL and TSLA whatever is asked: MSFT has neither quote nor trade.
      const { exit, exchanges: sent } = yield* run((b) => b.quotes(["AAPL", "MSFT"]))
      expectValid(sent)
      expect(sent.map((e) => `${e.url.pathname}${decodeURIComponent(e.url.search)}`)).toEqual([
        "/v2/stocks/quotes/latest?symbols=AAPL,MSFT&feed=iex",
        "/v2/stocks/trades/latest?symbols=MSFT&feed=iex"
      ])
      expect(success(exit).map((q) => q.symbol)).toEqual(["AAPL"])
    }))

  it.live("requests carry both credential headers (Prism refuses a request without them)", () =>
    Effect.gen(function*() {
      const response = yield* Effect.promise(() => fetch(`${trading.url}/v2/clock`))
      expect(response.status).toBe(401)
      const { exchanges: sent } = yield* run((b) => b.clock)
      expect(sent.map((e) => e.status)).toEqual([200])
    }))

  it.live("harness check: Prism does refuse an invalid request (an order without the spec's required `notional`)", () =>
    Effect.gen(function*() {
      // Why the adapter sends `"notional": null`: the spec's order schema, shared by request
      // and answer, requires the key (nullable). Alpaca reads null as absent.
      const response = yield* Effect.promise(() =>
        fetch(`${trading.url}/v2/orders`, {
          method: "POST",
          headers: { "content-type": "application/json", "apca-api-key-id": KEY_ID, "apca-api-secret-key": SECRET },
          body: JSON.stringify({ symbol: "AAPL", qty: "1", side: "buy", type: "market", time_in_force: "day" })
        })
      )
      expect(response.status).toBe(422)
      expect(JSON.parse(response.headers.get("sl-violations") ?? "[]")).toEqual([
        expect.objectContaining({
          location: ["request", "body"],
          message: "Request body must have required property 'notional'"
        })
      ])
    }))
})

// ---------------------------------------------------------------------------
// Alpaca's documented examples (x-examples), decoded directly
// ---------------------------------------------------------------------------

const specExamples = (path: string) => {
  const spec = parse(readFileSync(path, "utf8")) as {
    components: { schemas: Record<string, { "x-examples"?: Record<string, unknown> }> }
  }
  return (schema: string, example: string): unknown => {
    const value = spec.components.schemas[schema]?.["x-examples"]?.[example]
    if (value === undefined) throw new Error(`no x-example ${schema}.${example}`)
    return value
  }
}

describe("Alpaca's documented examples (the specs' x-examples)", () => {
  const tradingExample = specExamples(TRADING_SPEC)
  const dataExample = specExamples(DATA_SPEC)

  it.effect("Account: the 2022 example predates non_marginable_buying_power, and is refused for it alone", () =>
    Effect.gen(function*() {
      const example = tradingExample("Account", "example-1") as Record<string, unknown>
      const refused = yield* Effect.flip(Alpaca.decode(Alpaca.Account, "account")(example))
      expect(refused.message).toBe(`account: unexpected payload: Missing key\n  at ["non_marginable_buying_power"]`)
      // With the field Alpaca sends today, the rest of the example (PDT fields included) decodes.
      const account = yield* Alpaca.decode(Alpaca.Account, "account")({
        ...example,
        non_marginable_buying_power: "51840.28"
      })
      expect([account.cash, account.buying_power, account.equity].map(format)).toEqual([
        "-23140.2",
        "262113.632",
        "103820.56"
      ])
    }))

  it.effect("Assets: the example decodes, as an entry of the list", () =>
    // The 2022 spec has the component but no /v2/assets path; the emulator's answers are checked
    // against the component in emulator.test.ts.
    Effect.gen(function*() {
      const [entry] = yield* Alpaca.decode(Alpaca.AssetList, "assets")([tradingExample("Assets", "example-1")])
      const asset = yield* Alpaca.decode(Alpaca.Asset, "asset")(entry)
      expect(asset).toEqual({ symbol: "AAPL", tradable: true, fractionable: true })
    }))

  it.effect("Order: the notional example decodes (no quantity until filled)", () =>
    Effect.gen(function*() {
      const order = toBrokerOrder(yield* Alpaca.decode(Alpaca.Order, "order")(tradingExample("Order", "example-1")))
      expect(order).toMatchObject({
        id: "61e69015-8549-4bfd-b9c3-01e75843f47d",
        clientOrderId: "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4",
        symbol: "AAPL",
        side: "buy",
        type: "market",
        status: "accepted",
        submittedAt: Date.parse("2021-03-16T18:38:01.937734Z")
      })
      expect(format(order.quantity)).toBe("0")
      expect(order.averageFillPrice).toBeUndefined()
    }))

  it.effect("Position close answer (PositionClosedReponse.body): a sell of the whole quantity", () =>
    Effect.gen(function*() {
      const closed = tradingExample("PositionClosedReponse", "example-1") as { body: unknown }
      const order = toBrokerOrder(yield* Alpaca.decode(Alpaca.Order, "order")(closed.body))
      expect({ side: order.side, quantity: format(order.quantity), status: order.status }).toEqual({
        side: "sell",
        quantity: "2",
        status: "accepted"
      })
    }))

  it.effect("Position: both examples decode, quantities exact", () =>
    Effect.gen(function*() {
      const rows = yield* Alpaca.decode(Alpaca.Positions, "positions")([
        tradingExample("Position", "example-1"),
        tradingExample("Position", "example-2")
      ])
      expect(rows.map((p) => [p.symbol, format(p.qty)])).toEqual([["AAPL", "5"], ["AAPL", "2"]])
    }))

  it.effect("Clock: decodes", () =>
    Effect.gen(function*() {
      const clock = yield* Alpaca.decode(Alpaca.Clock, "clock")(tradingExample("Clock", "example-1"))
      expect(clock.is_open).toBe(true)
      expect(clock.next_close).toBe(Date.parse("2019-08-24T14:15:22Z"))
    }))

  it.effect("Quote: the one-sided IEX example (bp 0) keeps its exact ask", () =>
    Effect.gen(function*() {
      const latest = yield* Alpaca.decode(Alpaca.LatestQuotes, "quotes")({
        quotes: { BRK: dataExample("Quote", "example-1") }
      })
      expect(format(latest.quotes["BRK"]!.ap!)).toBe("18696.3338")
      expect(format(latest.quotes["BRK"]!.bp!)).toBe("0")
    }))
})
