/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return
   -- the emulator's and Prism's JSON answers are read loosely here: each assertion checks the shape it reads */
/**
 * The Alpaca emulator (tests/support/alpacaEmulator.ts), checked twice:
 *
 * 1. against Alpaca's published OpenAPI documents (tests/fixtures/alpaca/, the 2022 specs):
 *    every endpoint Keel uses is called through Prism running as a validating proxy
 *    (`prism proxy <spec> <emulator> --errors`), which validates the request and the
 *    emulator's response and, with --errors, turns a response violation into a 500
 *    problem+json (and reports every violation in the `sl-violations` header).
 *    Where the 2022 spec is out of date, the exact known deviation is named and asserted —
 *    nothing else may differ:
 *    - Order `trail_percent`, `trail_price`, `hwm`: declared as (non-nullable) strings, but
 *      Alpaca sends `null` for orders that are not trailing stops (the spec's own Order
 *      example shows them as null). The emulator sends null, like Alpaca.
 *    - POST /v2/orders request: the spec reuses the Order schema for the request body,
 *      which makes `qty` and `notional` both required (nullable); Alpaca takes exactly one
 *      of them and the other may be omitted. Requests through Prism therefore send the other
 *      one as `null`; a body that omits it is refused by Prism with exactly that violation.
 *    - GET /v2/orders:by_client_order_id is not in the 2022 spec at all (Prism: no path
 *      matched); its body is checked to be the same Order as GET /v2/orders/{id}.
 *    - Account: the PDT fields Alpaca removed on 2026-07-06 (pattern_day_trader,
 *      daytrade_count, daytrading_buying_power, …) are not `required` in the 2022 spec, so
 *      their absence is no violation; the test asserts they are absent.
 *    - Order `client_order_id` has maxLength 48 in the 2022 spec; Alpaca now allows 128 and so
 *      does the emulator. Ids of at most 48 characters (Keel's) are spec-valid.
 *    - GET /v2/assets and GET /v2/assets/{symbol} are not in the 2022 spec, but their answers,
 *      an array of the `Assets` component and one of it, are: they go through Prism on a copy of
 *      the spec with those two paths added (the list's `status` and `asset_class` parameters
 *      as Alpaca documents them, `asset_class` the spec's `AssetClass`), answering that
 *      component (nothing else of the spec is changed).
 *
 * 2. behaviour: fills move cash and positions, client order ids are unique forever,
 *    validation errors (the $1 fractional minimum, non-fractionable assets), assets, position
 *    closes, rate limiting (with a window short enough to wait out), faults (lost answers
 *    place the order exactly once), and the trade_updates websocket (binary frames,
 *    handshake, events, dropped sockets).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { parse, stringify } from "yaml"
import {
  type AlpacaEmulator,
  type EmulatorOptions,
  type OrderJson,
  startAlpacaEmulator
} from "../../../support/alpacaEmulator.ts"
import { type Prism, startPrism } from "../../../support/prism.ts"

const ROOT = fileURLToPath(new URL("../../../..", import.meta.url))
const TRADING_SPEC = `${ROOT}tests/fixtures/alpaca/trading-openapi.yaml`
const DATA_SPEC = `${ROOT}tests/fixtures/alpaca/market-data-openapi.yaml`

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

const call = async (
  base: string,
  method: string,
  path: string,
  options: {
    readonly body?: unknown
    readonly auth?: { readonly keyId: string; readonly secretKey: string } | "none"
  } = {}
): Promise<Reply> => {
  const headers: Record<string, string> = { accept: "application/json" }
  if (options.auth !== "none" && options.auth !== undefined) {
    headers["APCA-API-KEY-ID"] = options.auth.keyId
    headers["APCA-API-SECRET-KEY"] = options.auth.secretKey
  }
  const init: RequestInit = { method, headers }
  if (options.body !== undefined) {
    headers["content-type"] = "application/json"
    init.body = JSON.stringify(options.body)
  }
  const res = await fetch(base + path, init)
  const text = await res.text()
  let body: unknown = text
  try {
    body = text === "" ? undefined : JSON.parse(text)
  } catch {
    // keep the text
  }
  return { status: res.status, headers: res.headers, body }
}

/** Polls `check` until it returns a value other than undefined (or fails after `ms`). */
const until = async <A>(check: () => A | undefined | Promise<A | undefined>, ms = 3_000): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Prism's violations for a response, by location (from the `sl-violations` header). */
const violations = (reply: Reply): Array<string> => {
  const header = reply.headers.get("sl-violations")
  if (header === null) return []
  return (JSON.parse(header) as Array<{ location: Array<string>; message: string }>).map((v) =>
    `${v.location.join(".")}: ${v.message}`
  )
}

/** The known deviation of every Order (see the file comment), for an order at `prefix` of the body. */
const trailingNulls = (prefix: string): Array<string> =>
  ["trail_percent", "trail_price", "hwm"].map((f) =>
    `response.body.${prefix}${f}: Response body property ${prefix}${f} must be string`
  )

const expectOnlyKnownOrderViolations = (reply: Reply, orderCount = 1, isArray = false) => {
  const expected = isArray
    ? Array.from({ length: orderCount }, (_, i) => trailingNulls(`${i}.`)).flat()
    : trailingNulls("")
  expect(reply.status).toBe(500)
  expect(reply.body.type).toBe("https://stoplight.io/prism/errors#VIOLATIONS")
  expect(violations(reply).sort()).toEqual(expected.sort())
}

const expectValid = (reply: Reply, status: number) => {
  expect(violations(reply)).toEqual([])
  expect(reply.headers.get("sl-violations")).toBeNull()
  expect(reply.status).toBe(status)
}

const QUOTES = {
  SPY: { bid: "500.00", ask: "500.02" },
  AAPL: { bid: "189.90", ask: "190.10", last: "190.00", close: "188.50" },
  BRK: { bid: "700000.00", ask: "700100.00" }
} as const

const emulators: Array<AlpacaEmulator> = []
const start = async (options: EmulatorOptions = {}) => {
  const emu = await startAlpacaEmulator({ cash: "10000", quotes: QUOTES, fractionable: ["SPY", "AAPL"], ...options })
  emulators.push(emu)
  return emu
}
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.close()))
})

const order = (
  symbol: string,
  side: "buy" | "sell",
  size: { qty: string } | { notional: string },
  extra: Record<string, unknown> = {}
) => ({
  symbol,
  side,
  type: "market",
  time_in_force: "day",
  ...size,
  ...extra
})

// ---------------------------------------------------------------------------------------
// 1. Against Alpaca's published spec
// ---------------------------------------------------------------------------------------

describe("the emulator against Alpaca's 2022 OpenAPI documents (Prism validating proxy)", () => {
  let emu: AlpacaEmulator
  let trading: Prism
  let data: Prism
  let auth: { keyId: string; secretKey: string }

  beforeAll(async () => {
    emu = await startAlpacaEmulator({
      cash: "10000",
      positions: { AAPL: { qty: "5", avgEntryPrice: "150.25" } },
      quotes: QUOTES,
      fractionable: ["SPY", "AAPL"]
    })
    auth = { keyId: emu.keyId, secretKey: emu.secretKey }
    ;[trading, data] = await Promise.all([
      startPrism(TRADING_SPEC, { upstream: emu.tradingUrl }),
      startPrism(DATA_SPEC, { upstream: emu.dataUrl })
    ])
  }, 30_000)
  afterAll(async () => {
    await Promise.all([trading?.stop(), data?.stop()])
    await emu?.close()
  })

  it("GET /v2/account is valid, a cash account without the removed PDT fields", async () => {
    const reply = await call(trading.url, "GET", "/v2/account", { auth })
    expectValid(reply, 200)
    expect(reply.body).toMatchObject({
      status: "ACTIVE",
      currency: "USD",
      multiplier: "1",
      cash: "10000",
      buying_power: "10000",
      trading_blocked: false
    })
    for (
      const removed of [
        "pattern_day_trader",
        "daytrade_count",
        "daytrading_buying_power",
        "last_daytrade_count",
        "bod_dtbp",
        "pdt_check"
      ]
    ) {
      expect(reply.body).not.toHaveProperty(removed)
    }
    // Equity = cash + long market value (5 AAPL at its last price 190).
    expect(reply.body).toMatchObject({
      long_market_value: "950",
      equity: "10950",
      non_marginable_buying_power: "10000"
    })
  })

  it("GET /v2/positions and /v2/positions/{symbol} are valid", async () => {
    const all = await call(trading.url, "GET", "/v2/positions", { auth })
    expectValid(all, 200)
    expect(all.body).toHaveLength(1)
    expect(all.body[0]).toMatchObject({
      symbol: "AAPL",
      qty: "5",
      qty_available: "5",
      side: "long",
      avg_entry_price: "150.25",
      cost_basis: "751.25",
      current_price: "190",
      market_value: "950",
      unrealized_pl: "198.75",
      lastday_price: "188.5",
      asset_class: "us_equity"
    })
    expectValid(await call(trading.url, "GET", "/v2/positions/AAPL", { auth }), 200)
  })

  it("GET /v2/clock is valid", async () => {
    const reply = await call(trading.url, "GET", "/v2/clock", { auth })
    expectValid(reply, 200)
    expect(reply.body.is_open).toBe(true)
  })

  it("POST /v2/orders, GET /v2/orders and /v2/orders/{id}: valid but for the known trailing-field deviation", async () => {
    const placed = await call(trading.url, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "2" }, { notional: null, client_order_id: "spec-qty-1" })
    })
    expectOnlyKnownOrderViolations(placed)
    const notional = await call(trading.url, "POST", "/v2/orders", {
      auth,
      body: order("AAPL", "buy", { notional: "25.50" }, { qty: null, client_order_id: "spec-notional-1" })
    })
    expectOnlyKnownOrderViolations(notional)
    const limit = await call(trading.url, "POST", "/v2/orders", {
      auth,
      body: {
        symbol: "SPY",
        side: "buy",
        type: "limit",
        limit_price: "400.00",
        time_in_force: "gtc",
        qty: "1",
        notional: null,
        client_order_id: "spec-limit-1"
      }
    })
    expectOnlyKnownOrderViolations(limit)
    // Each went through to the emulator exactly once.
    for (const id of ["spec-qty-1", "spec-notional-1", "spec-limit-1"]) expect(emu.ordersPlacedFor(id)).toBe(1)
    await until(() => (emu.orders().filter((o) => o.status === "filled").length === 2 ? true : undefined))

    const list = await call(trading.url, "GET", "/v2/orders?status=all&limit=10", { auth })
    expectOnlyKnownOrderViolations(list, 3, true)
    const open = await call(trading.url, "GET", "/v2/orders?status=open", { auth })
    expectOnlyKnownOrderViolations(open, 1, true)

    const spy = emu.orders().find((o) => o.client_order_id === "spec-qty-1")!
    const one = await call(trading.url, "GET", `/v2/orders/${spy.id}`, { auth })
    expectOnlyKnownOrderViolations(one)
  })

  it("POST /v2/orders: a body without the other size field has exactly the known request deviation", async () => {
    const before = emu.requests.length
    const reply = await call(trading.url, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "1" }, { client_order_id: "spec-no-notional" })
    })
    expect(reply.status).toBe(422)
    expect(reply.body.validation).toEqual([{
      location: ["body"],
      severity: "Error",
      code: "required",
      message: "Request body must have required property 'notional'"
    }])
    // Prism refused it itself: the emulator never saw it.
    expect(emu.requests.length).toBe(before)
  })

  it("403 and 422 answers pass the spec unaltered (declared without a body schema)", async () => {
    const both = await call(trading.url, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "1" }, { notional: "10" })
    })
    expectValid(both, 422)
    expect(both.body).toEqual({ code: 40010001, message: "only one of qty or notional can be specified" })
    const tooMuch = await call(trading.url, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "1000" }, { notional: null })
    })
    expectValid(tooMuch, 403)
    expect(tooMuch.body).toMatchObject({ code: 40310000, message: "insufficient buying power" })
  })

  it("DELETE /v2/orders/{id}: 204 while open, then 422; both valid", async () => {
    const limit = emu.orders().find((o) => o.client_order_id === "spec-limit-1")!
    expectValid(await call(trading.url, "DELETE", `/v2/orders/${limit.id}`, { auth }), 204)
    const again = await call(trading.url, "DELETE", `/v2/orders/${limit.id}`, { auth })
    expectValid(again, 422)
    expect(again.body).toEqual({ code: 42210000, message: "order is already in \"canceled\" state" })
  })

  it("GET /v2/orders:by_client_order_id is not in the 2022 spec; it answers the same Order as /v2/orders/{id}", async () => {
    const viaPrism = await call(trading.url, "GET", "/v2/orders:by_client_order_id?client_order_id=spec-qty-1", {
      auth
    })
    expect(viaPrism.status).toBe(404)
    expect(viaPrism.body.type).toBe("https://stoplight.io/prism/errors#NO_PATH_MATCHED_ERROR")
    const direct = await call(emu.tradingUrl, "GET", "/v2/orders:by_client_order_id?client_order_id=spec-qty-1", {
      auth
    })
    expect(direct.status).toBe(200)
    const byId = await call(emu.tradingUrl, "GET", `/v2/orders/${direct.body.id}`, { auth })
    expect(direct.body).toEqual(byId.body)
    const missing = await call(emu.tradingUrl, "GET", "/v2/orders:by_client_order_id?client_order_id=nope", { auth })
    expect(missing).toMatchObject({ status: 404, body: { code: 40410000, message: "order not found" } })
  })

  it("DELETE /v2/positions/{symbol} answers the closing order (known deviation only)", async () => {
    // 5 shares plus the fractional notional buy above.
    const held = emu.positions().find((p) => p.symbol === "AAPL")!.qty
    const reply = await call(trading.url, "DELETE", "/v2/positions/AAPL", { auth })
    expectOnlyKnownOrderViolations(reply)
    const sell = await until(() => emu.orders().find((o) => o.side === "sell" && o.status === "filled"))
    expect(sell).toMatchObject({
      symbol: "AAPL",
      qty: held,
      filled_qty: held,
      type: "market",
      time_in_force: "day",
      filled_avg_price: "189.9"
    })
    expect(emu.positions().find((p) => p.symbol === "AAPL")).toBeUndefined()
  })

  it("GET /v2/stocks/quotes/latest is valid against the market-data spec, for iex and sip", async () => {
    for (const feed of ["iex", "sip"]) {
      const reply = await call(data.url, "GET", `/v2/stocks/quotes/latest?symbols=SPY,AAPL,UNKNOWN&feed=${feed}`, {
        auth
      })
      expectValid(reply, 200)
      expect(Object.keys(reply.body.quotes).sort()).toEqual(["AAPL", "SPY"])
      expect(reply.body.quotes.SPY).toMatchObject({
        ap: 500.02,
        bp: 500,
        as: 100,
        bs: 100,
        c: ["R"],
        z: "C",
        ax: feed === "iex" ? "V" : "Q"
      })
      expect(typeof reply.body.quotes.SPY.t).toBe("string")
    }
  })

  it("GET /v2/stocks/trades/latest is valid against the market-data spec, for iex and sip", async () => {
    for (const feed of ["iex", "sip"]) {
      const reply = await call(data.url, "GET", `/v2/stocks/trades/latest?symbols=SPY,AAPL,UNKNOWN&feed=${feed}`, {
        auth
      })
      expectValid(reply, 200)
      expect(Object.keys(reply.body.trades).sort()).toEqual(["AAPL", "SPY"])
      expect(reply.body.trades.AAPL).toMatchObject({ p: 190, s: 100, c: ["@"], z: "C", x: feed === "iex" ? "V" : "Q" })
      expect(Number.isInteger(reply.body.trades.AAPL.i)).toBe(true)
      expect(typeof reply.body.trades.AAPL.t).toBe("string")
    }
  })
})

describe("GET /v2/assets and /v2/assets/{symbol} against the spec's Assets component (Prism validating proxy, the paths added)", () => {
  let emu: AlpacaEmulator
  let trading: Prism
  let dir: string

  beforeAll(async () => {
    // The 2022 spec with the two paths it lacks, answering its own Assets component.
    const spec = parse(readFileSync(TRADING_SPEC, "utf8")) as { paths: Record<string, unknown> }
    const assets = { $ref: "#/components/schemas/Assets" }
    spec.paths["/v2/assets"] = {
      get: {
        operationId: "getAssets",
        parameters: [
          { name: "status", in: "query", schema: { type: "string", enum: ["active", "inactive"] } },
          { name: "asset_class", in: "query", schema: { $ref: "#/components/schemas/AssetClass" } },
          { name: "exchange", in: "query", schema: { type: "string" } }
        ],
        responses: {
          "200": {
            description: "OK",
            content: { "application/json": { schema: { type: "array", items: assets } } }
          }
        }
      }
    }
    spec.paths["/v2/assets/{symbol_or_asset_id}"] = {
      get: {
        operationId: "getAsset",
        parameters: [{ name: "symbol_or_asset_id", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          "200": {
            description: "OK",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Assets" } } }
          },
          "404": { description: "Not Found" }
        }
      }
    }
    dir = mkdtempSync(join(tmpdir(), "keel-assets-spec-"))
    writeFileSync(join(dir, "trading-with-assets.yaml"), stringify(spec))
    emu = await startAlpacaEmulator({
      cash: "10000",
      positions: { AAPL: "5", GONE: "3" },
      quotes: { ...QUOTES, OTCX: { bid: "1.00", ask: "1.02" } },
      fractionable: ["SPY", "AAPL"],
      untradable: ["OTCX"],
      inactive: ["GONE"]
    })
    trading = await startPrism(join(dir, "trading-with-assets.yaml"), { upstream: emu.tradingUrl })
  }, 30_000)
  afterAll(async () => {
    await trading?.stop()
    await emu?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it("a fractionable and a non-fractionable asset are valid Assets; an unknown symbol is 404", async () => {
    const auth = authOf(emu)
    const spy = await call(trading.url, "GET", "/v2/assets/SPY", { auth })
    expectValid(spy, 200)
    expect(spy.body).toMatchObject({
      symbol: "SPY",
      tradable: true,
      fractionable: true,
      class: "us_equity",
      status: "active"
    })
    const brk = await call(trading.url, "GET", "/v2/assets/BRK", { auth })
    expectValid(brk, 200)
    expect(brk.body).toMatchObject({ symbol: "BRK", tradable: true, fractionable: false })
    // By asset id too, as Alpaca allows.
    const byId = await call(trading.url, "GET", `/v2/assets/${spy.body.id}`, { auth })
    expect(byId.body).toEqual(spy.body)
    const unknown = await call(trading.url, "GET", "/v2/assets/NOPE", { auth })
    expect(unknown).toMatchObject({ status: 404, body: { code: 40410000, message: "asset not found" } })
  })

  it("the list: valid Assets, active ones for status=active (an untradable one as tradable: false), inactive ones apart", async () => {
    const auth = authOf(emu)
    const listed = async (query: string) => {
      const reply = await call(trading.url, "GET", `/v2/assets${query}`, { auth })
      expectValid(reply, 200)
      return (reply.body as ReadonlyArray<any>).map((a) => [a.symbol, a.status, a.tradable, a.fractionable])
    }
    expect(await listed("?status=active&asset_class=us_equity")).toEqual([
      ["AAPL", "active", true, true],
      ["BRK", "active", true, false],
      ["OTCX", "active", false, false],
      ["SPY", "active", true, true]
    ])
    expect(await listed("?status=inactive")).toEqual([["GONE", "inactive", false, false]])
    expect(await listed("?asset_class=crypto")).toEqual([])
    expect((await call(trading.url, "GET", "/v2/assets/GONE", { auth })).body).toMatchObject({ tradable: false })
    // A value the spec does not allow is refused by Prism before it reaches the emulator.
    expect((await call(trading.url, "GET", "/v2/assets?status=delisted", { auth })).status).toBe(422)
  })

  it("harness check: a list with an entry that is not an Assets is refused by this proxy", async () => {
    emu.faults.next({ method: "GET", path: "/v2/assets" }, { status: 200, body: [{ symbol: "SPY", tradable: "yes" }] })
    const reply = await call(trading.url, "GET", "/v2/assets?status=active", { auth: authOf(emu) })
    expect(reply.status).toBe(500)
    expect(violations(reply)).toEqual(
      expect.arrayContaining(["response.body.0: Response body property 0 must have required property 'fractionable'"])
    )
  })

  it("harness check: an answer that is not an Assets is refused by this proxy", async () => {
    emu.faults.next({ method: "GET", path: "/v2/assets/SPY" }, {
      status: 200,
      body: { symbol: "SPY", tradable: "yes" }
    })
    const reply = await call(trading.url, "GET", "/v2/assets/SPY", { auth: authOf(emu) })
    expect(reply.status).toBe(500)
    expect(violations(reply)).toEqual(
      expect.arrayContaining(["response.body: Response body must have required property 'fractionable'"])
    )
  })
})

// ---------------------------------------------------------------------------------------
// 2. Behaviour
// ---------------------------------------------------------------------------------------

const authOf = (emu: AlpacaEmulator) => ({ keyId: emu.keyId, secretKey: emu.secretKey })

const waitForStatus = (emu: AlpacaEmulator, clientOrderId: string, status: string): Promise<OrderJson> =>
  until(() => emu.orders().find((o) => o.client_order_id === clientOrderId && o.status === status))

describe("orders, cash and positions", () => {
  it("a buy reserves buying power while open, then fills at the ask and moves cash and the position", async () => {
    const emu = await start()
    const auth = authOf(emu)
    emu.faults.pauseFills()
    const placed = await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "3" }, { client_order_id: "buy-1" })
    })
    expect(placed.status).toBe(200)
    expect(placed.body).toMatchObject({
      client_order_id: "buy-1",
      status: "new",
      qty: "3",
      notional: null,
      filled_qty: "0",
      filled_avg_price: null,
      order_class: "",
      legs: null
    })
    expect(emu.account()).toMatchObject({ cash: "10000", buying_power: "8499.94" })
    emu.faults.resumeFills()
    const filled = await waitForStatus(emu, "buy-1", "filled")
    expect(filled).toMatchObject({ filled_qty: "3", filled_avg_price: "500.02" })
    expect(filled.filled_at).not.toBeNull()
    expect(emu.account()).toMatchObject({
      cash: "8499.94",
      buying_power: "8499.94",
      long_market_value: "1500.03",
      equity: "9999.97"
    })
    expect(emu.positions()).toEqual([
      expect.objectContaining({
        symbol: "SPY",
        qty: "3",
        qty_available: "3",
        avg_entry_price: "500.02",
        cost_basis: "1500.06"
      })
    ])
    const fromApi = await call(emu.tradingUrl, "GET", `/v2/orders/${placed.body.id}`, { auth })
    expect(fromApi.body.status).toBe("filled")
  })

  it("a sell holds the shares while open and frees cash only on its fill; partial fills come in chunks", async () => {
    const emu = await start({ positions: { SPY: "10" }, partialFill: 2 })
    const auth = authOf(emu)
    emu.faults.pauseFills()
    await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "sell", { qty: "5" }, { client_order_id: "sell-1" })
    })
    expect(emu.positions()[0]).toMatchObject({ qty: "10", qty_available: "5" })
    expect(emu.account().cash).toBe("10000")
    const tooMany = await call(emu.tradingUrl, "POST", "/v2/orders", { auth, body: order("SPY", "sell", { qty: "6" }) })
    expect(tooMany.status).toBe(403)
    expect(tooMany.body).toMatchObject({
      code: 40310000,
      message: "insufficient qty available for order (requested: 6, available: 5)",
      symbol: "SPY"
    })
    emu.faults.resumeFills()
    await waitForStatus(emu, "sell-1", "filled")
    expect(
      emu.tradeUpdates.filter((u) => u.order.client_order_id === "sell-1").map((u) => [u.event, u.qty, u.position_qty])
    ).toEqual([
      ["new", undefined, undefined],
      ["partial_fill", "2", "8"],
      ["fill", "3", "5"]
    ])
    expect(emu.account().cash).toBe("12500")
    expect(emu.positions()[0]).toMatchObject({ qty: "5", qty_available: "5" })
  })

  it("a cancel is asynchronous: pending_cancel holds the shares (a sell or a close of them is refused 403), then canceled", async () => {
    const emu = await start({ positions: { SPY: "10" }, cancelDelayMillis: 300 })
    const auth = authOf(emu)
    emu.faults.pauseFills()
    const sell = await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "sell", { qty: "10" }, { client_order_id: "held-1" })
    })
    expect((await call(emu.tradingUrl, "DELETE", `/v2/orders/${sell.body.id}`, { auth })).status).toBe(204)
    // Asked twice: still 204, still pending.
    expect((await call(emu.tradingUrl, "DELETE", `/v2/orders/${sell.body.id}`, { auth })).status).toBe(204)
    emu.faults.resumeFills()
    expect((await call(emu.tradingUrl, "GET", `/v2/orders/${sell.body.id}`, { auth })).body).toMatchObject({
      status: "pending_cancel",
      filled_qty: "0",
      canceled_at: null
    })
    expect(emu.positions()[0]).toMatchObject({ qty: "10", qty_available: "0" })
    const close = await call(emu.tradingUrl, "DELETE", "/v2/positions/SPY", { auth })
    const resell = await call(emu.tradingUrl, "POST", "/v2/orders", { auth, body: order("SPY", "sell", { qty: "1" }) })
    for (const refused of [close, resell]) {
      expect(refused.status).toBe(403)
      expect(refused.body.message).toMatch(/^insufficient qty available for order /)
    }
    await emu.idle()
    expect(emu.orders().map((o) => [o.client_order_id, o.status, o.filled_qty])).toEqual([["held-1", "canceled", "0"]])
    expect(emu.tradeUpdates.map((u) => u.event)).toEqual(["new", "pending_cancel", "canceled"])
    expect(emu.positions()[0]).toMatchObject({ qty: "10", qty_available: "10" })
    expect((await call(emu.tradingUrl, "DELETE", "/v2/positions/SPY", { auth })).status).toBe(200)
  })

  it("a pending cancel of a buy keeps its buying power reserved until it is canceled", async () => {
    const emu = await start({ cancelDelayMillis: 200 })
    const auth = authOf(emu)
    emu.faults.pauseFills()
    const buy = await call(emu.tradingUrl, "POST", "/v2/orders", { auth, body: order("SPY", "buy", { qty: "3" }) })
    await call(emu.tradingUrl, "DELETE", `/v2/orders/${buy.body.id}`, { auth })
    expect(emu.account().buying_power).toBe("8499.94")
    await emu.idle()
    expect(emu.account().buying_power).toBe("10000")
  })

  it("a client_order_id is refused when reused, even after the first order was canceled", async () => {
    const emu = await start()
    const auth = authOf(emu)
    emu.faults.pauseFills()
    const first = await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "1" }, { client_order_id: "once" })
    })
    const cancel = await call(emu.tradingUrl, "DELETE", `/v2/orders/${first.body.id}`, { auth })
    expect(cancel.status).toBe(204)
    expect(emu.orders()[0]).toMatchObject({ status: "canceled" })
    expect(emu.orders()[0]?.canceled_at).not.toBeNull()
    expect(emu.account().buying_power).toBe("10000")
    const again = await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "1" }, { client_order_id: "once" })
    })
    expect(again).toMatchObject({ status: 422, body: { code: 40010001, message: "client_order_id must be unique" } })
    expect(emu.ordersPlacedFor("once")).toBe(1)
    expect(emu.submissionsFor("once")).toBe(2)
  })

  it("validates orders like Alpaca", async () => {
    const emu = await start()
    const auth = authOf(emu)
    const post = (body: unknown) => call(emu.tradingUrl, "POST", "/v2/orders", { auth, body })
    expect(await post(order("SPY", "buy", { qty: "1" }, { notional: "10" }))).toMatchObject({
      status: 422,
      body: { message: "only one of qty or notional can be specified" }
    })
    expect(await post({ symbol: "SPY", side: "buy", type: "market", time_in_force: "day" })).toMatchObject({
      status: 422,
      body: { message: "qty or notional is required" }
    })
    expect(await post(order("SPY", "buy", { notional: "0.99" }))).toMatchObject({
      status: 422,
      body: { message: "cost basis must be >= 1" }
    })
    expect(await post(order("BRK", "buy", { qty: "0.001" }))).toMatchObject({
      status: 422,
      body: { message: "requested asset is not fractionable" }
    })
    expect(await post(order("BRK", "buy", { notional: "100" }))).toMatchObject({
      status: 422,
      body: { message: "requested asset is not fractionable" }
    })
    expect(await post(order("SPY", "buy", { qty: "0.5" }, { time_in_force: "gtc" }))).toMatchObject({
      status: 422,
      body: { message: "fractional orders must be DAY orders" }
    })
    expect(await post(order("SPY", "buy", { qty: "1" }, { type: "limit" }))).toMatchObject({
      status: 422,
      body: { message: "limit_price is required for limit orders" }
    })
    expect(await post(order("NOPE", "buy", { qty: "1" }))).toMatchObject({
      status: 422,
      body: { message: "asset \"NOPE\" not found" }
    })
    expect(await post(order("BRK", "buy", { qty: "1" }))).toMatchObject({
      status: 403,
      body: { code: 40310000, message: "insufficient buying power", buying_power: "10000", cost_basis: "700100" }
    })
    expect(await post(order("SPY", "sell", { qty: "1" }))).toMatchObject({ status: 403, body: { code: 40310000 } })
    expect(await post(order("SPY", "buy", { qty: "1" }, { client_order_id: "x".repeat(129) }))).toMatchObject({
      status: 422
    })
    expect(emu.orders()).toEqual([])
    // Fractional and notional orders are fine on a fractionable asset.
    const fractional = await post(order("SPY", "buy", { qty: "0.5" }, { client_order_id: "frac" }))
    expect(fractional).toMatchObject({ status: 200, body: { qty: "0.5" } })
    const notional = await post(order("SPY", "buy", { notional: "1.00" }, { client_order_id: "notional" }))
    expect(notional).toMatchObject({ status: 200, body: { notional: "1", qty: null } })
    // A notional buy fills qty = notional / ask rounded down to 9 decimals.
    const filled = await waitForStatus(emu, "notional", "filled")
    expect(filled).toMatchObject({ filled_qty: "0.00199992", filled_avg_price: "500.02" })
  })

  it("Alpaca's $1 minimum holds for fractional qty buys too (at the ask, or the limit); not whole shares or sells", async () => {
    const emu = await start({
      positions: { SPY: "0.001" },
      quotes: { ...QUOTES, PENNY: { bid: "0.40", ask: "0.41" } },
      fractionable: ["SPY", "AAPL", "PENNY"]
    })
    const auth = authOf(emu)
    const post = (body: unknown) => call(emu.tradingUrl, "POST", "/v2/orders", { auth, body })
    // SPY asks 500.02: 0.0019 is $0.95.
    expect(await post(order("SPY", "buy", { qty: "0.0019" }, { client_order_id: "small" }))).toMatchObject({
      status: 422,
      body: { code: 42210000, message: "cost basis must be >= 1" }
    })
    expect(
      await post(
        order("SPY", "buy", { qty: "0.002" }, { type: "limit", limit_price: "450", client_order_id: "small-limit" })
      )
    ).toMatchObject({
      status: 422,
      body: { message: "cost basis must be >= 1" }
    })
    expect(emu.ordersPlacedFor("small")).toBe(0)
    expect(await post(order("SPY", "buy", { qty: "0.002" }, { client_order_id: "dollar" }))).toMatchObject({
      status: 200
    })
    // A whole share under $1, and a fractional sell under $1, are taken.
    expect(await post(order("PENNY", "buy", { qty: "1" }, { client_order_id: "penny" }))).toMatchObject({ status: 200 })
    expect(await post(order("SPY", "sell", { qty: "0.001" }, { client_order_id: "dust" }))).toMatchObject({
      status: 200
    })
  })

  it("GET /v2/assets/{symbol}: fractionable as configured; a fractional order of a non-fractionable asset is refused", async () => {
    const emu = await start({ positions: { VNQ: "3" } })
    const auth = authOf(emu)
    const asset = async (symbol: string) => (await call(emu.tradingUrl, "GET", `/v2/assets/${symbol}`, { auth })).body
    expect(
      [await asset("SPY"), await asset("BRK"), await asset("VNQ")].map((a) => [a.symbol, a.tradable, a.fractionable])
    ).toEqual([
      ["SPY", true, true],
      ["BRK", true, false],
      ["VNQ", true, false]
    ])
    expect(await call(emu.tradingUrl, "POST", "/v2/orders", { auth, body: order("BRK", "buy", { qty: "0.5" }) }))
      .toMatchObject({
        status: 422,
        body: { message: "requested asset is not fractionable" }
      })
  })

  it("an order of a symbol not tradable (tradable: false, or inactive) is refused; requests are counted per path", async () => {
    const emu = await start({ untradable: ["BRK"], inactive: ["AAPL"] })
    const auth = authOf(emu)
    for (const symbol of ["BRK", "AAPL"]) {
      expect(await call(emu.tradingUrl, "POST", "/v2/orders", { auth, body: order(symbol, "buy", { qty: "1" }) }))
        .toMatchObject({ status: 422, body: { code: 42210000, message: `asset ${symbol} is not tradable` } })
    }
    expect(emu.orders()).toEqual([])
    await call(emu.tradingUrl, "GET", "/v2/assets?status=active", { auth })
    expect(emu.requestsByPath()).toEqual({ "POST /v2/orders": 2, "GET /v2/assets": 1 })
  })

  it("DELETE /v2/positions/{symbol}: a market sell of all that is held, under Alpaca's own client_order_id", async () => {
    // It fills, on the stream too; a second close is 404.
    const emu = await start({ positions: { AAPL: "40.5" } })
    const auth = authOf(emu)
    const stream = await connect(emu.streamUrl)
    await handshake(stream, emu.keyId, emu.secretKey)
    try {
      const reply = await call(emu.tradingUrl, "DELETE", "/v2/positions/AAPL", { auth })
      expect(reply.status).toBe(200)
      expect(reply.body).toMatchObject({
        symbol: "AAPL",
        side: "sell",
        type: "market",
        time_in_force: "day",
        qty: "40.5",
        status: "new"
      })
      const alpacaId = reply.body.client_order_id as string
      expect(alpacaId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/)
      const filled = await waitForStatus(emu, alpacaId, "filled")
      expect(filled).toMatchObject({ id: reply.body.id, filled_qty: "40.5", filled_avg_price: "189.9" })
      expect(emu.positions()).toEqual([])
      // 10000 + 40.5 × 189.90 = 17690.95
      expect(emu.account().cash).toBe("17690.95")
      const events = [await stream.next(), await stream.next()].map((e) => e.message.data)
      expect(events.map((e) => [e.event, e.order.client_order_id, e.order.id])).toEqual([
        ["new", alpacaId, reply.body.id],
        ["fill", alpacaId, reply.body.id]
      ])
      expect(await call(emu.tradingUrl, "DELETE", "/v2/positions/AAPL", { auth })).toMatchObject({
        status: 404,
        body: { code: 40410000, message: "position does not exist" }
      })
      expect(emu.orders()).toHaveLength(1)
    } finally {
      stream.socket.terminate()
    }
  })

  it("a closed market leaves orders accepted until it opens; limit orders wait until marketable", async () => {
    const emu = await start()
    const auth = authOf(emu)
    emu.faults.setMarketOpen(false)
    expect((await call(emu.tradingUrl, "GET", "/v2/clock", { auth })).body.is_open).toBe(false)
    const placed = await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "1" }, { client_order_id: "queued" })
    })
    expect(placed.body.status).toBe("accepted")
    await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth,
      body: {
        symbol: "SPY",
        side: "buy",
        type: "limit",
        limit_price: "499.50",
        time_in_force: "day",
        qty: "1",
        client_order_id: "limit"
      }
    })
    await new Promise((r) => setTimeout(r, 80))
    expect(emu.orders().map((o) => o.status)).toEqual(["accepted", "accepted"])
    emu.faults.setMarketOpen(true)
    await waitForStatus(emu, "queued", "filled")
    await emu.idle()
    expect(emu.orders().find((o) => o.client_order_id === "limit")?.status).toBe("new")
    emu.faults.setQuotes({ SPY: { bid: "499.00", ask: "499.40" } })
    const limit = await waitForStatus(emu, "limit", "filled")
    expect(limit.filled_avg_price).toBe("499.4")
  })

  it("GET /v2/orders filters by status and limit, newest first", async () => {
    const emu = await start()
    const auth = authOf(emu)
    emu.faults.pauseFills()
    for (const id of ["a", "b", "c"]) {
      await call(emu.tradingUrl, "POST", "/v2/orders", {
        auth,
        body: order("SPY", "buy", { qty: "1" }, { client_order_id: id })
      })
    }
    await call(emu.tradingUrl, "DELETE", `/v2/orders/${emu.orders()[0]!.id}`, { auth })
    const ids = async (q: string) =>
      ((await call(emu.tradingUrl, "GET", `/v2/orders${q}`, { auth })).body as Array<OrderJson>).map((o) =>
        o.client_order_id
      )
    expect(await ids("")).toEqual(["c", "b"])
    expect(await ids("?status=closed")).toEqual(["a"])
    expect(await ids("?status=all&limit=2")).toEqual(["c", "b"])
    expect(await ids("?status=all&direction=asc")).toEqual(["a", "b", "c"])
  })
})

describe("authentication, rate limiting and the request log", () => {
  it("refuses missing or wrong keys with Alpaca's 401 and records every request with the secret redacted", async () => {
    const emu = await start({ keyId: "KEY", secretKey: "SUPER-SECRET" })
    const none = await call(emu.tradingUrl, "GET", "/v2/account", { auth: "none" })
    expect(none).toMatchObject({ status: 401, body: { code: 40110000, message: "request is not authorized" } })
    const wrong = await call(emu.tradingUrl, "GET", "/v2/account", { auth: { keyId: "KEY", secretKey: "WRONG" } })
    expect(wrong.status).toBe(401)
    const wrongData = await call(emu.dataUrl, "GET", "/v2/stocks/quotes/latest?symbols=SPY", {
      auth: { keyId: "KEY", secretKey: "WRONG" }
    })
    expect(wrongData.status).toBe(401)
    const ok = await call(emu.tradingUrl, "GET", "/v2/account?x=1", {
      auth: { keyId: "KEY", secretKey: "SUPER-SECRET" }
    })
    expect(ok.status).toBe(200)
    expect(emu.requests.map((r) => [r.server, r.method, r.path, r.authorized, r.status])).toEqual([
      ["trading", "GET", "/v2/account", false, 401],
      ["trading", "GET", "/v2/account", false, 401],
      ["data", "GET", "/v2/stocks/quotes/latest", false, 401],
      ["trading", "GET", "/v2/account", true, 200]
    ])
    expect(emu.requests[3]).toMatchObject({
      query: { x: "1" },
      headers: { "apca-api-key-id": "KEY", "apca-api-secret-key": "[redacted]" }
    })
    expect(JSON.stringify(emu.requests)).not.toContain("SUPER-SECRET")
  })

  it("limits requests per minute with X-Ratelimit headers and Alpaca's 429", async () => {
    const emu = await start({ requestsPerMinute: 3 })
    const auth = authOf(emu)
    const replies = []
    for (let i = 0; i < 4; i++) replies.push(await call(emu.tradingUrl, "GET", "/v2/clock", { auth }))
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429])
    expect(replies.map((r) => r.headers.get("x-ratelimit-remaining"))).toEqual(["2", "1", "0", "0"])
    for (const r of replies) expect(r.headers.get("x-ratelimit-limit")).toBe("3")
    const reset = Number(replies[3]!.headers.get("x-ratelimit-reset"))
    const nowSeconds = Date.now() / 1000
    expect(reset).toBeGreaterThan(nowSeconds)
    expect(reset).toBeLessThanOrEqual(Math.ceil(nowSeconds) + 60)
    expect(replies[3]!.body).toEqual({ code: 42910000, message: "rate limit exceeded" })
    // The data server counts separately.
    expect((await call(emu.dataUrl, "GET", "/v2/stocks/quotes/latest?symbols=SPY", { auth })).status).toBe(200)
    emu.faults.resetRateLimit()
    expect((await call(emu.tradingUrl, "GET", "/v2/clock", { auth })).status).toBe(200)
  })

  it("the window can be shortened for a test: X-Ratelimit-Reset names its end, and after it requests pass again", async () => {
    const emu = await start({ requestsPerMinute: 2, rateLimitWindowMillis: 1_000 })
    const auth = authOf(emu)
    const first = await call(emu.tradingUrl, "GET", "/v2/clock", { auth })
    const started = Date.now()
    await call(emu.tradingUrl, "GET", "/v2/clock", { auth })
    const refused = await call(emu.tradingUrl, "GET", "/v2/clock", { auth })
    expect(refused.status).toBe(429)
    const reset = Number(refused.headers.get("x-ratelimit-reset")) * 1000
    expect(reset).toBe(Number(first.headers.get("x-ratelimit-reset")) * 1000)
    expect(reset).toBeLessThanOrEqual(started + 2_000)
    await new Promise((r) => setTimeout(r, Math.max(0, reset - Date.now()) + 20))
    expect((await call(emu.tradingUrl, "GET", "/v2/clock", { auth })).status).toBe(200)
  })
})

describe("faults", () => {
  it("status faults are one-shot or counted, and match method and path", async () => {
    const emu = await start()
    const auth = authOf(emu)
    emu.faults.next({ method: "GET", path: "/v2/positions" }, { status: 500 })
    emu.faults.next({ path: /^\/v2\/account$/ }, { status: 429, times: 2 })
    expect(emu.faults.pending()).toBe(3)
    expect((await call(emu.tradingUrl, "GET", "/v2/clock", { auth })).status).toBe(200)
    const failed = await call(emu.tradingUrl, "GET", "/v2/positions", { auth })
    expect(failed).toMatchObject({ status: 500, body: { code: 50010000 } })
    expect((await call(emu.tradingUrl, "GET", "/v2/positions", { auth })).status).toBe(200)
    const limited = await call(emu.tradingUrl, "GET", "/v2/account", { auth })
    expect(limited).toMatchObject({ status: 429, body: { code: 42910000, message: "rate limit exceeded" } })
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0")
    expect((await call(emu.tradingUrl, "GET", "/v2/account", { auth })).status).toBe(429)
    expect((await call(emu.tradingUrl, "GET", "/v2/account", { auth })).status).toBe(200)
    expect(emu.faults.pending()).toBe(0)
    expect(emu.requests.filter((r) => r.fault !== undefined).map((r) => r.path)).toEqual([
      "/v2/positions",
      "/v2/account",
      "/v2/account"
    ])
  })

  it("loseAnswer really places the order, exactly once, and drops the answer", async () => {
    const emu = await start()
    const auth = authOf(emu)
    emu.faults.next({ method: "POST", path: "/v2/orders" }, { loseAnswer: true })
    await expect(
      call(emu.tradingUrl, "POST", "/v2/orders", {
        auth,
        body: order("SPY", "buy", { qty: "2" }, { client_order_id: "lost-1" })
      })
    ).rejects.toThrow()
    // The order is there: look it up by client order id, like Keel does before any resend.
    const found = await call(emu.tradingUrl, "GET", "/v2/orders:by_client_order_id?client_order_id=lost-1", { auth })
    expect(found.status).toBe(200)
    // A blind resend is refused.
    const resend = await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "2" }, { client_order_id: "lost-1" })
    })
    expect(resend).toMatchObject({ status: 422, body: { message: "client_order_id must be unique" } })
    await waitForStatus(emu, "lost-1", "filled")
    await emu.idle()
    expect(emu.ordersPlacedFor("lost-1")).toBe(1)
    expect(emu.positions()).toEqual([expect.objectContaining({ symbol: "SPY", qty: "2" })])
    expect(emu.tradeUpdates.filter((u) => u.event === "fill")).toHaveLength(1)
    expect(emu.requests.find((r) => r.method === "POST")?.status).toBeUndefined()
  })

  it("rejectNextOrder: accepted, then rejected on the stream with status rejected", async () => {
    const emu = await start()
    const auth = authOf(emu)
    emu.faults.rejectNextOrder("emulated rejection")
    const placed = await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "1" }, { client_order_id: "rej" })
    })
    expect(placed).toMatchObject({ status: 200, body: { status: "new" } })
    const rejected = await waitForStatus(emu, "rej", "rejected")
    expect(rejected.failed_at).not.toBeNull()
    expect(emu.tradeUpdates.map((u) => u.event)).toEqual(["new", "rejected"])
    expect(emu.account()).toMatchObject({ cash: "10000", buying_power: "10000" })
    // Only the next order.
    await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth,
      body: order("SPY", "buy", { qty: "1" }, { client_order_id: "ok" })
    })
    await waitForStatus(emu, "ok", "filled")
  })
})

describe("market data", () => {
  it("latest trades: the last trade, else the mid, else the one side quoted; one-sided quotes send 0 for the missing side", async () => {
    const emu = await start({
      quotes: {
        ...QUOTES,
        BIDONLY: { bid: "48.90", ask: "0" },
        ASKONLY: { bid: "0", ask: "12.34" },
        TRADED: { bid: "0", ask: "0", last: "7.5" },
        DARK: { bid: "0", ask: "0" }
      }
    })
    const auth = authOf(emu)
    const symbols = "SPY,AAPL,BIDONLY,ASKONLY,TRADED,DARK,UNKNOWN"
    const trades = await call(emu.dataUrl, "GET", `/v2/stocks/trades/latest?symbols=${symbols}&feed=iex`, { auth })
    expect(trades.status).toBe(200)
    expect(
      Object.fromEntries(Object.entries(trades.body.trades as Record<string, { p: number }>).map(([s, t]) => [s, t.p]))
    ).toEqual({
      SPY: 500.01,
      AAPL: 190,
      BIDONLY: 48.9,
      ASKONLY: 12.34,
      TRADED: 7.5
    })
    const quotes = await call(emu.dataUrl, "GET", `/v2/stocks/quotes/latest?symbols=BIDONLY,ASKONLY&feed=iex`, { auth })
    expect(quotes.body.quotes.BIDONLY).toMatchObject({ bp: 48.9, ap: 0 })
    expect(quotes.body.quotes.ASKONLY).toMatchObject({ bp: 0, ap: 12.34 })
    // Same rules as the quotes endpoint: symbols required, a known feed, the data server only.
    expect((await call(emu.dataUrl, "GET", "/v2/stocks/trades/latest?feed=iex", { auth })).status).toBe(400)
    expect((await call(emu.dataUrl, "GET", "/v2/stocks/trades/latest?symbols=SPY&feed=nope", { auth })).status).toBe(
      400
    )
    expect((await call(emu.tradingUrl, "GET", "/v2/stocks/trades/latest?symbols=SPY", { auth })).status).toBe(404)
    expect((await call(emu.dataUrl, "GET", "/v2/stocks/trades/latest?symbols=SPY", { auth: "none" })).status).toBe(401)
  })
})

// ---------------------------------------------------------------------------------------
// The trade_updates stream
// ---------------------------------------------------------------------------------------

interface StreamClient {
  readonly socket: WebSocket
  readonly frames: Array<{ readonly binary: boolean; readonly message: any }>
  /** The next frame not yet taken (waits for it). */
  readonly next: () => Promise<{ readonly binary: boolean; readonly message: any }>
  readonly closed: Promise<number>
}

const connect = async (url: string): Promise<StreamClient> => {
  const socket = new WebSocket(url)
  const frames: Array<{ binary: boolean; message: any }> = []
  let taken = 0
  socket.on("message", (raw, isBinary) => {
    frames.push({ binary: isBinary, message: JSON.parse(Buffer.from(raw as Buffer).toString("utf8")) })
  })
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve())
    socket.once("error", reject)
  })
  return { socket, frames, closed, next: () => until(() => (frames.length > taken ? frames[taken++] : undefined)) }
}

const handshake = async (client: StreamClient, keyId: string, secretKey: string) => {
  client.socket.send(JSON.stringify({ action: "authenticate", data: { key_id: keyId, secret_key: secretKey } }))
  const auth = await client.next()
  client.socket.send(JSON.stringify({ action: "listen", data: { streams: ["trade_updates"] } }))
  const listening = await client.next()
  return [auth, listening]
}

describe("the trade_updates websocket", () => {
  const clients: Array<StreamClient> = []
  afterEach(() => {
    for (const c of clients.splice(0)) c.socket.terminate()
  })

  it("authenticates, listens and sends binary frames for new, partial_fill and fill", async () => {
    const emu = await start({ partialFill: 2 })
    const client = await connect(emu.streamUrl)
    clients.push(client)
    client.socket.send(JSON.stringify({ action: "authenticate", data: { key_id: emu.keyId, secret_key: "wrong" } }))
    expect(await client.next()).toEqual({
      binary: true,
      message: { stream: "authorization", data: { status: "unauthorized", action: "authenticate" } }
    })
    const [auth, listening] = await handshake(client, emu.keyId, emu.secretKey)
    expect(auth).toEqual({
      binary: true,
      message: { stream: "authorization", data: { status: "authorized", action: "authenticate" } }
    })
    expect(listening).toEqual({ binary: true, message: { stream: "listening", data: { streams: ["trade_updates"] } } })
    expect(JSON.stringify(emu.streamMessages)).not.toContain(emu.secretKey)

    await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth: authOf(emu),
      body: order("SPY", "buy", { qty: "4" }, { client_order_id: "ws-1" })
    })
    const events = [await client.next(), await client.next(), await client.next()]
    for (const e of events) {
      expect(e.binary).toBe(true)
      expect(e.message.stream).toBe("trade_updates")
      expect(e.message.data.order.client_order_id).toBe("ws-1")
      expect(typeof e.message.data.execution_id).toBe("string")
      expect(typeof e.message.data.timestamp).toBe("string")
    }
    expect(events.map((e) => [e.message.data.event, e.message.data.order.status])).toEqual([
      ["new", "new"],
      ["partial_fill", "partially_filled"],
      ["fill", "filled"]
    ])
    expect(events[1]!.message.data).toMatchObject({ price: "500.02", qty: "2", position_qty: "2" })
    expect(events[2]!.message.data).toMatchObject({ price: "500.02", qty: "2", position_qty: "4" })
    expect(events[2]!.message.data.order).toMatchObject({ filled_qty: "4", filled_avg_price: "500.02" })
  })

  it("authentication in the current form ({action: auth, key, secret}) and the legacy one: each answered as Alpaca does", async () => {
    const emu = await start()
    const answers = async (message: unknown) => {
      const client = await connect(emu.streamUrl)
      clients.push(client)
      client.socket.send(JSON.stringify(message))
      const auth = await client.next()
      client.socket.send(JSON.stringify({ action: "listen", data: { streams: ["trade_updates"] } }))
      return [auth.message, (await client.next()).message]
    }
    const authorization = (status: string) => ({ stream: "authorization", data: { status, action: "authenticate" } })
    const listening = { stream: "listening", data: { streams: ["trade_updates"] } }
    const refusedListen = { stream: "authorization", data: { status: "unauthorized", action: "listen" } }
    expect(await answers({ action: "auth", key: emu.keyId, secret: emu.secretKey })).toEqual([
      authorization("authorized"),
      listening
    ])
    expect(await answers({ action: "auth", key: emu.keyId, secret: "wrong" })).toEqual([
      authorization("unauthorized"),
      refusedListen
    ])
    // The legacy form's fields do not count in the current form, nor the other way round.
    expect(await answers({ action: "auth", data: { key_id: emu.keyId, secret_key: emu.secretKey } })).toEqual([
      authorization("unauthorized"),
      refusedListen
    ])
    expect(await answers({ action: "authenticate", data: { key_id: emu.keyId, secret_key: emu.secretKey } }))
      .toEqual([authorization("authorized"), listening])
    expect(await answers({ action: "authenticate", key: emu.keyId, secret: emu.secretKey })).toEqual([
      authorization("unauthorized"),
      refusedListen
    ])
    expect(JSON.stringify(emu.streamMessages)).not.toContain(emu.secretKey)
    expect(emu.streamMessages[0]?.message).toEqual({ action: "auth", key: emu.keyId, secret: "[redacted]" })
  })

  it("refuseStream: new connections are refused (503) until allowed again; open ones are not touched", async () => {
    const emu = await start()
    const open = await connect(emu.streamUrl)
    clients.push(open)
    emu.faults.refuseStream(true)
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(emu.streamUrl)
      socket.once("unexpected-response", (_req, res) => {
        resolve(res.statusCode ?? 0)
        socket.terminate()
      })
      socket.once("open", () => resolve(101))
      socket.once("error", () => undefined)
    })
    expect(refused).toBe(503)
    const [auth] = await handshake(open, emu.keyId, emu.secretKey)
    expect(auth?.message.data.status).toBe("authorized")
    emu.faults.refuseStream(false)
    const again = await connect(emu.streamUrl)
    clients.push(again)
    await until(() => (emu.streamClients() === 2 ? true : undefined))
  })

  it("sends text frames when asked to", async () => {
    const emu = await start({ binaryFrames: false })
    const client = await connect(emu.streamUrl)
    clients.push(client)
    const [auth] = await handshake(client, emu.keyId, emu.secretKey)
    expect(auth?.binary).toBe(false)
  })

  it("dropSocket closes every connection abruptly; a reconnect authenticates again and gets the next events", async () => {
    const emu = await start()
    const first = await connect(emu.streamUrl)
    const second = await connect(emu.streamUrl)
    clients.push(first, second)
    await handshake(first, emu.keyId, emu.secretKey)
    await until(() => (emu.streamClients() === 2 ? true : undefined))
    expect(emu.faults.dropSocket()).toBe(2)
    expect(await first.closed).toBe(1006)
    expect(await second.closed).toBe(1006)
    expect(emu.streamClients()).toBe(0)

    const again = await connect(emu.streamUrl)
    clients.push(again)
    const [auth] = await handshake(again, emu.keyId, emu.secretKey)
    expect(auth?.message.data.status).toBe("authorized")
    await call(emu.tradingUrl, "POST", "/v2/orders", {
      auth: authOf(emu),
      body: order("SPY", "buy", { qty: "1" }, { client_order_id: "after-drop" })
    })
    expect((await again.next()).message.data.event).toBe("new")
    expect((await again.next()).message.data).toMatchObject({ event: "fill", position_qty: "1" })
  })
})
