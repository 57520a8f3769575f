/**
 * Reading Alpaca's payloads: realistic account, position, order, clock, quote and
 * trade_updates payloads decode exactly (decimals never pass through a JS number), Alpaca's
 * known changes decode leniently, and a bad payload fails naming the field.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type { OrderRequest } from "../../../../src/effects/Broker.ts"
import { streamUrlFor } from "../../../../src/effects/broker/alpaca/config.ts"
import { oneSided, toQuotes, withTrades } from "../../../../src/effects/broker/alpaca/marketData.ts"
import { orderBody, orderStatus, toBrokerOrder } from "../../../../src/effects/broker/alpaca/orders.ts"
import * as Alpaca from "../../../../src/effects/broker/alpaca/schemas.ts"
import { readFrame, tradeUpdateOf } from "../../../../src/effects/broker/alpaca/stream.ts"
import { Decimal, format } from "../../../../src/kernel/decimal.ts"

const d = (text: string) => new Decimal(text)
const text = (value: Decimal | undefined) => (value === undefined ? undefined : format(value))

// ---------------------------------------------------------------------------
// account
// ---------------------------------------------------------------------------

/** An account as Alpaca answers after 2026-07-06: no PDT fields. */
const accountNow = {
  id: "c8f1ef5d-edc0-4f23-9ee4-378f19cb92a4",
  account_number: "PA3TS8Z1Y2WX",
  status: "ACTIVE",
  crypto_status: "ACTIVE",
  currency: "USD",
  buying_power: "200183.78",
  regt_buying_power: "200183.78",
  non_marginable_buying_power: "99841.89",
  options_buying_power: "99841.89",
  cash: "99841.89",
  accrued_fees: "0",
  portfolio_value: "100341.89",
  equity: "100341.89",
  last_equity: "100212.02",
  long_market_value: "500",
  short_market_value: "0",
  initial_margin: "250",
  maintenance_margin: "150",
  last_maintenance_margin: "149.61",
  sma: "100213.17",
  multiplier: "2",
  shorting_enabled: true,
  trading_blocked: false,
  transfers_blocked: false,
  account_blocked: false,
  trade_suspended_by_user: false,
  created_at: "2024-03-04T17:18:39.012345Z",
  balance_asof: "2026-07-30",
  // Fields Keel has never heard of must not break a run.
  intraday_adjustments: "0",
  crypto_tier: 1,
  admin_configurations: { max_options_trading_level: 2 }
}

/** The same account as Alpaca answered before 2026-07-06. */
const accountBefore = {
  ...accountNow,
  pattern_day_trader: false,
  daytrade_count: 0,
  daytrading_buying_power: "0",
  last_daytrade_count: 0,
  bod_dtbp: "0"
}

const decodeAccount = Alpaca.decode(Alpaca.Account, "GET /v2/account")

describe("account", () => {
  const money = (
    account: {
      readonly cash: Decimal
      readonly buying_power: Decimal
      readonly non_marginable_buying_power: Decimal
      readonly equity: Decimal
    }
  ) => [account.cash, account.buying_power, account.non_marginable_buying_power, account.equity].map(format)

  it.effect("decodes without the PDT fields removed on 2026-07-06, ignoring unknown fields", () =>
    Effect.gen(function*() {
      const account = yield* decodeAccount(accountNow)
      expect(money(account)).toEqual(["99841.89", "200183.78", "99841.89", "100341.89"])
      // Only the money fields are read: nothing else is kept to be relied on.
      expect(Object.keys(account).sort()).toEqual(["buying_power", "cash", "equity", "non_marginable_buying_power"])
    }))

  it.effect("decodes an account from before the change, PDT fields included", () =>
    Effect.gen(function*() {
      expect(money(yield* decodeAccount(accountBefore))).toEqual(["99841.89", "200183.78", "99841.89", "100341.89"])
    }))

  it.effect("nulls and changed types in the fields Keel does not read never fail a decode", () =>
    Effect.gen(function*() {
      const account = yield* decodeAccount({
        ...accountBefore,
        pattern_day_trader: null,
        daytrade_count: "0",
        daytrading_buying_power: null,
        last_daytrade_count: { today: 0 },
        status: null,
        id: null,
        account_number: 42,
        currency: null,
        multiplier: 2,
        shorting_enabled: "false",
        trading_blocked: null,
        created_at: "yesterday"
      })
      expect(money(account)).toEqual(["99841.89", "200183.78", "99841.89", "100341.89"])
    }))

  it.effect("unknown extra fields of any shape pass", () =>
    Effect.gen(function*() {
      const account = yield* decodeAccount({
        ...accountNow,
        intraday_adjustments: null,
        pdt_replacement_rule: { version: 2, limits: [1, 2, 3] },
        options_buying_power: 123
      })
      expect(format(account.equity)).toBe("100341.89")
    }))

  it.effect("needs only the four money fields", () =>
    Effect.gen(function*() {
      const account = yield* decodeAccount({
        cash: "1",
        buying_power: "2",
        non_marginable_buying_power: "1",
        equity: "3"
      })
      expect(format(account.equity)).toBe("3")
    }))

  it.effect("keeps decimals exact, far beyond double precision", () =>
    Effect.gen(function*() {
      const account = yield* decodeAccount({ ...accountNow, cash: "123456789012345.12345678901234567891" })
      expect(format(account.cash)).toBe("123456789012345.12345678901234567891")
    }))

  it.effect("refuses a missing, numeric or malformed money field, naming each", () =>
    Effect.gen(function*() {
      const { non_marginable_buying_power: _, ...missing } = accountNow
      const error = yield* Effect.flip(decodeAccount({ ...missing, cash: 99841.89, equity: "1e", buying_power: null }))
      expect(error.message).toBe(
        "GET /v2/account: unexpected payload: Expected string, got 99841.89\n  at [\"cash\"]\n" +
          "Expected string, got null\n  at [\"buying_power\"]\n" +
          "Missing key\n  at [\"non_marginable_buying_power\"]\n" +
          "Expected a decimal, got \"1e\"\n  at [\"equity\"]"
      )
    }))
})

// ---------------------------------------------------------------------------
// positions
// ---------------------------------------------------------------------------

describe("positions", () => {
  const position = (symbol: string, qty: string, side = "long") => ({
    asset_id: "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
    symbol,
    exchange: "NASDAQ",
    asset_class: "us_equity",
    asset_marginable: true,
    qty,
    qty_available: qty,
    avg_entry_price: "174.78",
    side,
    market_value: "348.58",
    cost_basis: "349.56",
    unrealized_pl: "-0.98",
    unrealized_plpc: "-0.0028035244307129",
    unrealized_intraday_pl: "-0.98",
    unrealized_intraday_plpc: "-0.0028035244307129",
    current_price: "174.29",
    lastday_price: "174.61",
    change_today: "-0.0018326556325525"
  })

  it.effect("decodes fractional quantities exactly; a short position keeps its negative quantity", () =>
    Effect.gen(function*() {
      const rows = yield* Alpaca.decode(Alpaca.Positions, "GET /v2/positions")([
        position("AAPL", "2.123456789"),
        position("VTI", "0.000000001"),
        position("TSLA", "-3", "short")
      ])
      expect(rows.map((p) => [p.symbol, format(p.qty)])).toEqual([
        ["AAPL", "2.123456789"],
        ["VTI", "0.000000001"],
        ["TSLA", "-3"]
      ])
    }))

  it.effect("nulls and changed types in the fields Keel does not read (all but symbol and qty) pass", () =>
    Effect.gen(function*() {
      const rows = yield* Alpaca.decode(Alpaca.Positions, "GET /v2/positions")([
        {
          ...position("AAPL", "2"),
          side: null,
          asset_class: 1,
          qty_available: null,
          market_value: 348.58,
          exchange: null,
          new_field: []
        }
      ])
      expect(rows.map((p) => [p.symbol, format(p.qty)])).toEqual([["AAPL", "2"]])
    }))

  it.effect("names the element and field of a bad quantity", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Alpaca.decode(Alpaca.Positions, "GET /v2/positions")([position("AAPL", "2"), position("VTI", "")])
      )
      expect(error.message).toBe(`GET /v2/positions: unexpected payload: Expected a decimal, got ""\n  at [1]["qty"]`)
    }))
})

// ---------------------------------------------------------------------------
// orders
// ---------------------------------------------------------------------------

/** An order as Alpaca sends it (REST and stream alike). */
const alpacaOrder = (fields: Record<string, unknown> = {}) => ({
  id: "904837e3-3b76-47ec-b432-046db621571b",
  client_order_id: "r20260730-sb-AAPL",
  created_at: "2026-07-30T14:30:00.123456789Z",
  updated_at: "2026-07-30T14:30:00.523456Z",
  submitted_at: "2026-07-30T14:30:00.128Z",
  filled_at: null,
  expired_at: null,
  canceled_at: null,
  failed_at: null,
  replaced_at: null,
  replaced_by: null,
  replaces: null,
  asset_id: "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
  symbol: "AAPL",
  asset_class: "us_equity",
  notional: null,
  qty: "10.5",
  filled_qty: "0",
  filled_avg_price: null,
  order_class: "",
  order_type: "market",
  type: "market",
  side: "buy",
  position_intent: "buy_to_open",
  time_in_force: "day",
  limit_price: null,
  stop_price: null,
  status: "new",
  extended_hours: false,
  legs: null,
  trail_percent: null,
  trail_price: null,
  hwm: null,
  subtag: null,
  source: "access_key",
  expires_at: "2026-07-30T20:00:00Z",
  ...fields
})

const decodeOrder = Alpaca.decode(Alpaca.Order, "order")

describe("orders", () => {
  it.effect("reads an order: ids, exact quantities, submission time", () =>
    Effect.gen(function*() {
      const order = toBrokerOrder(
        yield* decodeOrder(alpacaOrder({ filled_qty: "4.25", filled_avg_price: "189.905", status: "partially_filled" }))
      )
      expect(order).toMatchObject({
        id: "904837e3-3b76-47ec-b432-046db621571b",
        clientOrderId: "r20260730-sb-AAPL",
        symbol: "AAPL",
        side: "buy",
        type: "market",
        status: "partially_filled",
        submittedAt: Date.parse("2026-07-30T14:30:00.128Z")
      })
      expect([order.quantity, order.filledQuantity, order.averageFillPrice].map(text)).toEqual([
        "10.5",
        "4.25",
        "189.905"
      ])
      expect(order.reason).toBeUndefined()
    }))

  it.effect("a limit order keeps its limit price", () =>
    Effect.gen(function*() {
      const order = toBrokerOrder(
        yield* decodeOrder(alpacaOrder({ type: "limit", order_type: "limit", limit_price: "189.25" }))
      )
      expect([order.type, text(order.limitPrice)]).toEqual(["limit", "189.25"])
    }))

  const cases: ReadonlyArray<
    readonly [status: string, filled: string, tif: string, expected: string, reason?: string]
  > = [
    ["new", "0", "day", "accepted"],
    ["accepted", "0", "day", "accepted"],
    ["pending_new", "0", "day", "accepted"],
    ["accepted_for_bidding", "0", "day", "accepted"],
    ["held", "0", "day", "accepted"],
    ["some_future_status", "0", "day", "accepted"],
    ["partially_filled", "4", "day", "partially_filled"],
    ["pending_cancel", "4", "day", "partially_filled"],
    ["pending_replace", "0", "day", "accepted"],
    ["stopped", "0", "day", "accepted"],
    ["suspended", "0", "day", "accepted"],
    ["filled", "10.5", "day", "filled"],
    ["canceled", "0", "day", "canceled", "Alpaca status canceled"],
    ["canceled", "3", "day", "canceled", "Alpaca status canceled"],
    ["expired", "0", "day", "expired", "Alpaca status expired"],
    ["rejected", "0", "day", "rejected", "Alpaca status rejected"],
    ["replaced", "0", "day", "canceled", "Alpaca status replaced"],
    ["pending_cancel", "0", "day", "accepted"],
    ["done_for_day", "0", "day", "accepted"],
    ["done_for_day", "2", "day", "partially_filled"],
    ["done_for_day", "2", "gtc", "partially_filled"],
    ["calculated", "10.5", "day", "filled"],
    ["calculated", "2", "day", "partially_filled"],
    ["calculated", "0", "gtc", "accepted"]
  ]
  for (const [status, filled, tif, expected, reason] of cases) {
    it.effect(`status ${status} (filled ${filled}, ${tif}) is ${expected}`, () =>
      Effect.gen(function*() {
        const raw = yield* decodeOrder(alpacaOrder({ status, filled_qty: filled, time_in_force: tif }))
        expect(orderStatus(raw)).toBe(expected)
        expect(toBrokerOrder(raw).reason).toBe(reason)
      }))
  }

  it.effect("a replaced order names its replacement", () =>
    Effect.gen(function*() {
      const raw = yield* decodeOrder(
        alpacaOrder({ status: "replaced", replaced_by: "0b11f089-722d-4ced-9beb-e2eeed3637dc" })
      )
      expect(toBrokerOrder(raw).reason).toBe("Alpaca status replaced (by order 0b11f089-722d-4ced-9beb-e2eeed3637dc)")
    }))

  it.effect("a notional order (placed outside Keel) reads its quantity as the filled quantity", () =>
    Effect.gen(function*() {
      const order = toBrokerOrder(yield* decodeOrder(alpacaOrder({ qty: null, notional: "500", filled_qty: "2.6" })))
      expect(text(order.quantity)).toBe("2.6")
    }))

  it.effect("nulls and changed types in the fields Keel does not read pass (notional, legs, order_class, extended_hours, …)", () =>
    Effect.gen(function*() {
      const order = toBrokerOrder(
        yield* decodeOrder(alpacaOrder({
          notional: 500,
          order_class: null,
          order_type: null,
          extended_hours: "false",
          legs: {},
          asset_id: null,
          asset_class: 7,
          filled_at: "soon",
          position_intent: null,
          brand_new_field: { nested: [null] }
        }))
      )
      expect(order).toMatchObject({ clientOrderId: "r20260730-sb-AAPL", status: "accepted" })
      expect(text(order.quantity)).toBe("10.5")
    }))

  it.effect("a stop order (placed outside Keel) reads as market, a stop-limit as limit", () =>
    Effect.gen(function*() {
      const stop = toBrokerOrder(yield* decodeOrder(alpacaOrder({ type: "stop", stop_price: "150" })))
      const stopLimit = toBrokerOrder(yield* decodeOrder(alpacaOrder({ type: "stop_limit", limit_price: "149" })))
      expect([stop.type, stopLimit.type]).toEqual(["market", "limit"])
    }))

  it.effect("refuses an order without a client order id, a bad side and a bad timestamp, naming each", () =>
    Effect.gen(function*() {
      const { client_order_id: _, ...order } = alpacaOrder({ side: "short", created_at: "yesterday" })
      const error = yield* Effect.flip(decodeOrder(order))
      expect(error.message).toContain(`Missing key\n  at ["client_order_id"]`)
      expect(error.message).toContain(`Expected "buy" | "sell", got "short"\n  at ["side"]`)
      expect(error.message).toContain(`Expected an RFC 3339 timestamp, got "yesterday"\n  at ["created_at"]`)
    }))
})

// ---------------------------------------------------------------------------
// order requests
// ---------------------------------------------------------------------------

describe("order requests", () => {
  const request: OrderRequest = {
    clientOrderId: "r1-sb-AAPL",
    symbol: "AAPL",
    side: "buy",
    quantity: d("3"),
    type: "market",
    timeInForce: "gtc"
  }

  it("a whole-share order keeps its time in force; qty is the exact decimal text; notional is null", () => {
    expect(orderBody(request, false)).toEqual(Result.succeed({
      symbol: "AAPL",
      qty: "3",
      notional: null,
      side: "buy",
      type: "market",
      time_in_force: "gtc",
      client_order_id: "r1-sb-AAPL"
    }))
  })

  it("a fractional order is a day order, up to 9 decimal places", () => {
    const body = orderBody({ ...request, quantity: d("0.123456789") }, true)
    expect(Result.isSuccess(body) && [body.success.qty, body.success.time_in_force]).toEqual(["0.123456789", "day"])
  })

  it("a limit order sends its limit price", () => {
    const body = orderBody({ ...request, type: "limit", limitPrice: d("189.25") }, false)
    expect(Result.isSuccess(body) && body.success.limit_price).toBe("189.25")
  })

  it("refuses locally what must never be sent", () => {
    expect(orderBody({ ...request, quantity: d("2.5") }, false)).toEqual(
      Result.fail("fractional quantity 2.5 refused: this account trades whole shares only")
    )
    expect(orderBody({ ...request, quantity: d("0.1234567891") }, true)).toEqual(
      Result.fail("quantity 0.1234567891 has more than 9 decimal places (Alpaca's limit)")
    )
    expect(orderBody({ ...request, quantity: d("0") }, true)).toEqual(Result.fail("quantity must be positive, got 0"))
    expect(orderBody({ ...request, type: "limit" }, true)).toEqual(Result.fail("a limit order needs a limit price"))
  })
})

// ---------------------------------------------------------------------------
// assets
// ---------------------------------------------------------------------------

describe("assets", () => {
  const decodeAsset = Alpaca.decode(Alpaca.Asset, "GET /v2/assets: the entry of AAPL")

  it.effect("reads symbol, tradable and fractionable; every other field may be missing, null or new", () =>
    Effect.gen(function*() {
      const asset = yield* decodeAsset({
        id: null,
        class: "us_equity",
        exchange: null,
        symbol: "AAPL",
        name: 7,
        status: "active",
        tradable: true,
        fractionable: false,
        margin_requirement_long: "30",
        attributes: ["ptp_no_exception"]
      })
      expect(asset).toEqual({ symbol: "AAPL", tradable: true, fractionable: false })
    }))

  it.effect("refuses an answer without them, naming each", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decodeAsset({ symbol: "AAPL", tradable: null }))
      expect(error.message).toBe(
        `GET /v2/assets: the entry of AAPL: unexpected payload: Expected boolean, got null\n  at ["tradable"]\n` +
          `Missing key\n  at ["fractionable"]`
      )
    }))

  it.effect("the list is any array: its entries are read one by one, by symbol (alpaca/assets.ts); not an array is refused", () =>
    Effect.gen(function*() {
      const odd = [{ symbol: "AAPL", tradable: true, fractionable: true }, null, 42, { name: "no symbol" }]
      expect(yield* Alpaca.decode(Alpaca.AssetList, "GET /v2/assets")(odd)).toEqual(odd)
      expect([{ symbol: "AAPL" }, { symbol: 7 }, null].map(Schema.is(Alpaca.Listed))).toEqual([true, false, false])
      const error = yield* Effect.flip(Alpaca.decode(Alpaca.AssetList, "GET /v2/assets")({ assets: [] }))
      expect(error.message).toContain("GET /v2/assets: unexpected payload: Expected array")
    }))
})

// ---------------------------------------------------------------------------
// clock
// ---------------------------------------------------------------------------

describe("clock", () => {
  it.effect("reads Alpaca's offsets and fractions as epoch milliseconds", () =>
    Effect.gen(function*() {
      const clock = yield* Alpaca.decode(Alpaca.Clock, "GET /v2/clock")({
        timestamp: "2026-07-30T10:15:03.123456789-04:00",
        is_open: true,
        next_open: "2026-07-31T09:30:00-04:00",
        next_close: "2026-07-30T16:00:00-04:00"
      })
      expect(clock).toEqual({
        is_open: true,
        next_open: Date.parse("2026-07-31T13:30:00Z"),
        next_close: Date.parse("2026-07-30T20:00:00Z")
      })
    }))

  it.effect("the server's own timestamp is not read: null or odd, it passes", () =>
    Effect.gen(function*() {
      const clock = yield* Alpaca.decode(Alpaca.Clock, "GET /v2/clock")({
        timestamp: null,
        is_open: false,
        next_open: "2026-07-31T09:30:00-04:00",
        next_close: "2026-07-31T16:00:00-04:00",
        session: "closed"
      })
      expect(clock.is_open).toBe(false)
    }))

  it.effect("refuses a missing flag and a date without a time", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Alpaca.decode(Alpaca.Clock, "GET /v2/clock")({
          next_open: "2026-07-31",
          next_close: "2026-07-30T16:00:00-04:00"
        })
      )
      expect(error.message).toBe(
        "GET /v2/clock: unexpected payload: Missing key\n  at [\"is_open\"]\n" +
          "Expected an RFC 3339 timestamp, got \"2026-07-31\"\n  at [\"next_open\"]"
      )
    }))
})

// ---------------------------------------------------------------------------
// quotes
// ---------------------------------------------------------------------------

describe("quotes", () => {
  const decodeQuotes = Alpaca.decode(Alpaca.LatestQuotes, "GET /v2/stocks/quotes/latest")
  const quote = (ap: number, bp: number) => ({
    t: "2026-07-30T14:30:00.514830169Z",
    ax: "V",
    ap,
    as: 3,
    bx: "V",
    bp,
    bs: 1,
    c: ["R"],
    z: "C"
  })

  it.effect("maps bp/ap to bid/ask exactly; a zero side is no price; an unanswered symbol has no quote", () =>
    Effect.gen(function*() {
      const latest = yield* decodeQuotes({
        quotes: { AAPL: quote(156.47, 156.45), VTI: quote(0, 245.1), SPY: quote(550.125, 0), ZERO: quote(0, 0) }
      })
      const symbols = ["AAPL", "VTI", "SPY", "ZERO", "GONE"]
      const quotes = toQuotes(symbols, latest)
      expect(quotes.map((q) => [q.symbol, text(q.bid), text(q.ask)])).toEqual([
        ["AAPL", "156.45", "156.47"],
        ["VTI", "245.1", undefined],
        ["SPY", undefined, "550.125"],
        ["ZERO", undefined, undefined]
      ])
      expect(oneSided(symbols, quotes)).toEqual(["VTI", "SPY", "ZERO", "GONE"])
    }))

  it.effect("a null side is no price either; the fields Keel does not read (t, sizes, conditions) may be anything", () =>
    Effect.gen(function*() {
      const latest = yield* decodeQuotes({
        quotes: { VTI: { ...quote(0, 245.1), ap: null, t: null, as: "3", c: null } }
      })
      expect(toQuotes(["VTI"], latest).map((q) => [q.symbol, text(q.bid), text(q.ask)])).toEqual([[
        "VTI",
        "245.1",
        undefined
      ]])
    }))

  it.effect("adds the latest trade as last where a side is missing (a zero trade is no price)", () =>
    Effect.gen(function*() {
      const latest = yield* decodeQuotes({ quotes: { AAPL: quote(156.47, 156.45), VTI: quote(0, 245.1) } })
      const trades = yield* Alpaca.decode(Alpaca.LatestTrades, "GET /v2/stocks/trades/latest")({
        trades: {
          VTI: { t: "2026-07-30T14:29:59.1Z", x: "V", p: 245.17, s: 100, c: ["@"], i: 9924, z: "B" },
          GONE: { t: "2026-07-30T14:29:59.1Z", x: "V", p: 12.5, s: 1 },
          ZERO: { p: 0 }
        }
      })
      const symbols = ["AAPL", "VTI", "GONE", "ZERO"]
      const quotes = withTrades(symbols, toQuotes(symbols, latest), trades)
      expect(quotes.map((q) => [q.symbol, text(q.bid), text(q.ask), text(q.last)])).toEqual([
        ["AAPL", "156.45", "156.47", undefined],
        ["VTI", "245.1", undefined, "245.17"],
        ["GONE", undefined, undefined, "12.5"]
      ])
    }))

  it.effect("refuses a price that is not a number, naming the symbol", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decodeQuotes({ quotes: { AAPL: { ap: true, bp: 1 } } }))
      expect(error.message).toContain(`at ["quotes"]["AAPL"]["ap"]`)
    }))
})

// ---------------------------------------------------------------------------
// trade_updates
// ---------------------------------------------------------------------------

describe("trade_updates", () => {
  const NOW = Date.parse("2026-07-30T14:31:00Z")
  const event = (data: Record<string, unknown>) => JSON.stringify({ stream: "trade_updates", data })
  const binary = (s: string) => new TextEncoder().encode(s)

  const partial = event({
    event: "partial_fill",
    execution_id: "7922ab44-c3b5-4b0d-8e0a-3ff34a1f1e3e",
    order: alpacaOrder({ status: "partially_filled", filled_qty: "4", filled_avg_price: "189.9" }),
    price: "189.9",
    qty: "4",
    position_qty: "4",
    timestamp: "2026-07-30T14:30:01.000000123Z"
  })
  const fill = event({
    event: "fill",
    execution_id: "f1ea3b5c-99a2-4c4e-b5b5-2b1f0b0c6f11",
    order: alpacaOrder({ status: "filled", filled_qty: "10.5", filled_avg_price: "189.95428571428" }),
    price: "189.99",
    qty: "6.5",
    position_qty: "10.5",
    timestamp: "2026-07-30T14:30:02.5Z"
  })

  const read = (frame: string | Uint8Array) =>
    Effect.gen(function*() {
      const message = readFrame(frame)
      if (Result.isFailure(message)) return yield* Effect.die(message.failure)
      expect(message.success.stream).toBe("trade_updates")
      return yield* tradeUpdateOf(message.success.data, NOW)
    })

  for (const [name, frame] of [["text", partial], ["binary", binary(partial)]] as const) {
    it.effect(`a partial fill (${name} frame) carries the execution's quantity and price, commission 0`, () =>
      Effect.gen(function*() {
        const update = yield* read(frame)
        expect(update?.kind).toBe("partial_fill")
        expect(update?.at).toBe(Date.parse("2026-07-30T14:30:01.000Z"))
        expect([update?.fill?.quantity, update?.fill?.price, update?.fill?.commission].map(text)).toEqual([
          "4",
          "189.9",
          "0"
        ])
        expect([update?.order.status, text(update?.order.filledQuantity)]).toEqual(["partially_filled", "4"])
      }))
  }

  for (const [name, frame] of [["text", fill], ["binary", binary(fill)]] as const) {
    it.effect(`a fill (${name} frame) ends the order`, () =>
      Effect.gen(function*() {
        const update = yield* read(frame)
        expect(update?.kind).toBe("fill")
        expect([update?.fill?.quantity, update?.fill?.price].map(text)).toEqual(["6.5", "189.99"])
        expect([update?.order.status, text(update?.order.averageFillPrice)]).toEqual(["filled", "189.95428571428"])
      }))
  }

  it.effect("new/accepted/pending_new are accepted, without a fill; an event without a timestamp is dated by the order", () =>
    Effect.gen(function*() {
      for (const name of ["new", "accepted", "pending_new"]) {
        const update = yield* read(event({ event: name, order: alpacaOrder() }))
        expect([update?.kind, update?.fill, update?.at]).toEqual([
          "accepted",
          undefined,
          Date.parse("2026-07-30T14:30:00.523Z")
        ])
      }
    }))

  it.effect("canceled, expired and rejected are followed; other events are not", () =>
    Effect.gen(function*() {
      for (const name of ["canceled", "expired", "rejected"]) {
        const update = yield* read(
          event({ event: name, order: alpacaOrder({ status: name }), timestamp: "2026-07-30T14:30:09Z" })
        )
        expect([update?.kind, update?.order.status]).toEqual([name, name])
      }
      for (const name of ["done_for_day", "replaced", "pending_cancel", "order_cancel_rejected", "calculated"]) {
        expect(yield* read(event({ event: name, order: alpacaOrder() }))).toBeUndefined()
      }
    }))

  it.effect("an event without order or with a bad fill price fails naming the field", () =>
    Effect.gen(function*() {
      const noOrder = yield* Effect.flip(tradeUpdateOf({ event: "fill", price: "1", qty: "1" }, NOW))
      expect(noOrder.message).toBe(`trade_updates event: unexpected payload: Missing key\n  at ["order"]`)
      const badPrice = yield* Effect.flip(
        tradeUpdateOf({ event: "fill", order: alpacaOrder(), price: 189.99, qty: "1" }, NOW)
      )
      expect(badPrice.message).toContain(`Expected string | null, got 189.99\n  at ["price"]`)
    }))

  it("frames that are not JSON, or not stream messages, are refused", () => {
    expect(readFrame("not json")).toEqual(Result.fail("trade_updates: a frame that is not JSON text"))
    expect(readFrame(new Uint8Array([0xff, 0xfe]))).toEqual(Result.fail("trade_updates: a frame that is not JSON text"))
    const noStream = readFrame(JSON.stringify({ data: {} }))
    expect(Result.isFailure(noStream) && noStream.failure).toContain(`Missing key\n  at ["stream"]`)
  })

  it("the stream URL of a trading host", () => {
    expect(streamUrlFor("https://paper-api.alpaca.markets")).toBe("wss://paper-api.alpaca.markets/stream")
    expect(streamUrlFor("https://api.alpaca.markets/")).toBe("wss://api.alpaca.markets/stream")
    expect(streamUrlFor("http://127.0.0.1:8080")).toBe("ws://127.0.0.1:8080/stream")
  })
})
