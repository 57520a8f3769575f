/**
 * A stateful Alpaca emulator for end-to-end tests: a real HTTP server (Trading API v2), a
 * second real HTTP server (market data v2: latest quotes and latest trades) and a websocket
 * server (`/stream` on the trading server, `trade_updates`), all on 127.0.0.1 with
 * ephemeral ports.
 *
 * It behaves like an Alpaca *cash* paper account for the endpoints Keel uses (see
 * /work/shared/docs/brokers.md and the 2022 OpenAPI documents in tests/fixtures/alpaca/):
 * orders are validated like Alpaca validates them (fractional orders only for fractionable
 * assets, and at least $1 for a fractional buy, qty or notional), go `new` →
 * (`partially_filled`) → `filled` after a real-time delay at the current ask (buys) / bid
 * (sells), and move cash and positions when they fill; open buys reserve buying power, open
 * sells hold shares. A cancel is asynchronous, as at Alpaca: with `cancelDelayMillis` the order
 * sits in `pending_cancel` (204 to the DELETE, still holding its shares or cash, so a sell or a
 * position close of them is refused 403 `insufficient qty available for order`), then `canceled`.
 * A market buy is checked against buying power at the ask plus `marketBuyCollar` (Alpaca's collar).
 * `GET /v2/assets` (the list, filtered by `status` and `asset_class`) and `GET /v2/assets/{symbol}`
 * say which symbols are fractionable (`fractionable`), not tradable (`untradable`: `tradable:
 * false`) or no longer listed (`inactive`: `status: inactive`, not tradable), and an order of
 * a symbol that is not tradable is refused (422); `requestsByPath` counts the requests;
 * `DELETE /v2/positions/{symbol}` places a real market sell of the held
 * quantity under a client_order_id of the emulator's own choosing, as Alpaca does. Requests
 * are rate-limited per server in a fixed window (200 a minute; both configurable, so a test
 * can hit the limit and wait it out). Every request is recorded (secret redacted) and faults
 * can be injected, one-shot or counted, in a deterministic order.
 *
 * Plain TypeScript on node:http and `ws`; amounts are exact (big.js), cash moves by the fill
 * amount rounded half-up to the cent.
 */
import Big from "big.js"
import { createHash, randomUUID } from "node:crypto"
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES
} from "node:http"
import type { AddressInfo } from "node:net"
import { type RawData, WebSocket, WebSocketServer } from "ws"

// ---------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------

export interface QuoteInput {
  readonly bid: string
  readonly ask: string
  /** Last trade; `current_price` of a position (default: the mid). */
  readonly last?: string
  /** Previous close; `lastday_price` of a position (default: the current price). */
  readonly close?: string
  readonly bidSize?: number
  readonly askSize?: number
}

export interface PositionInput {
  readonly qty: string
  /** Default: the symbol's current price (so unrealized P&L starts at 0). */
  readonly avgEntryPrice?: string
}

export type Exchange = "AMEX" | "ARCA" | "BATS" | "NYSE" | "NASDAQ" | "NYSEARCA" | "OTC"

export interface EmulatorOptions {
  /** Starting cash (default "100000"). */
  readonly cash?: string
  /** symbol → quantity, or quantity and average entry price. */
  readonly positions?: Readonly<Record<string, string | PositionInput>>
  /** symbol → bid/ask (strings). A symbol is a known asset if it is quoted or held. */
  readonly quotes?: Readonly<Record<string, QuoteInput>>
  /**
   * Symbols that accept fractional qty / notional orders (`fractionable` in GET /v2/assets);
   * "all" (default) or a list: every other known symbol is not fractionable.
   */
  readonly fractionable?: ReadonlyArray<string> | "all"
  /** symbol → listing exchange (default NASDAQ). */
  readonly exchanges?: Readonly<Record<string, Exchange>>
  /** Known symbols Alpaca lists as active but `tradable: false` (data only); orders of them are refused. */
  readonly untradable?: ReadonlyArray<string>
  /** Known symbols Alpaca lists as `status: inactive` (delisted), not tradable; orders of them are refused. */
  readonly inactive?: ReadonlyArray<string>
  /** Delay before each fill step, in real milliseconds (default 50). */
  readonly fillDelayMillis?: number
  /**
   * How long a cancelled order stays `pending_cancel` before it is `canceled`, in real
   * milliseconds (default 0: at once). Meanwhile it fills no more and still holds its shares (a
   * sell) or buying power (a buy), as at Alpaca, where a cancel is asynchronous.
   */
  readonly cancelDelayMillis?: number
  /**
   * Alpaca's collar on market buys, a fraction of the ask: a market buy is checked against (and
   * reserves) buying power at ask × (1 + collar), as Alpaca turns it into a limit order there
   * (its support pages say 2%). Default "0": at the ask.
   */
  readonly marketBuyCollar?: string
  /** Fill each order in this many chunks, `fillDelayMillis` apart (default 1: one fill). */
  readonly partialFill?: number
  readonly keyId?: string
  readonly secretKey?: string
  /** Send websocket frames as binary, like Alpaca's paper stream (default true). */
  readonly binaryFrames?: boolean
  /** Requests per server (trading, data) per fixed window (default 200). */
  readonly requestsPerMinute?: number
  /** The rate-limit window in real milliseconds (default 60000, Alpaca's minute); shorter in a test that hits the limit. */
  readonly rateLimitWindowMillis?: number
  /** Default true. */
  readonly marketOpen?: boolean
  /** `last_equity` of the account (default: the starting equity). */
  readonly lastEquity?: string
  /** `account_number` (default "PA3EMULATOR1"); `id` is a random uuid unless given. */
  readonly accountNumber?: string
  readonly accountId?: string
}

export interface RecordedRequest {
  readonly seq: number
  readonly server: "trading" | "data"
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  /** Lower-case names; the secret header's value is replaced by "[redacted]". */
  readonly headers: Readonly<Record<string, string>>
  /** Parsed JSON body (or the raw text when not JSON; undefined when empty). */
  readonly body: unknown
  /** Both key headers were present and matched the configured key id and secret. */
  readonly authorized: boolean
  /** The response status (undefined while pending, or when the answer was lost / hung). */
  status: number | undefined
  /** The fault applied to this request, if any. */
  fault: string | undefined
}

export interface StreamMessage {
  /** Client messages as parsed JSON; `secret` (or the legacy `secret_key`) replaced by "[redacted]". */
  readonly message: unknown
  readonly at: string
}

export interface FaultMatch {
  /** Any method when omitted. */
  readonly method?: string
  /** The exact path (without query), or a RegExp tested against it. */
  readonly path: string | RegExp
  /** Data or trading server; both when omitted. */
  readonly server?: "trading" | "data"
}

export interface FaultEffect {
  /** Wait this long (real ms) before doing anything else. */
  readonly delayMillis?: number
  /** Answer with this status without processing the request (default Alpaca-style body). */
  readonly status?: number
  readonly body?: unknown
  /** Process the request for real (e.g. accept the order), then destroy the socket without answering. */
  readonly loseAnswer?: boolean
  /** Never answer (until close). */
  readonly hang?: boolean
  /** How many matching requests this applies to (default 1). */
  readonly times?: number
  /**
   * Response headers set on a `status` answer, over the usual ones: e.g. a 429 whose
   * `X-Ratelimit-Reset` is a second away rather than the end of the minute's window.
   */
  readonly headers?: Readonly<Record<string, string>>
}

export type TradeEvent = "new" | "partial_fill" | "fill" | "pending_cancel" | "canceled" | "rejected" | "expired"

export interface TradeUpdate {
  readonly event: TradeEvent
  readonly execution_id: string
  readonly order: OrderJson
  readonly timestamp: string
  readonly price?: string
  readonly qty?: string
  readonly position_qty?: string
}

export type OrderJson = Readonly<Record<string, unknown>> & {
  readonly id: string
  readonly client_order_id: string
  readonly status: string
  readonly symbol: string
  readonly side: string
  readonly qty: string | null
  readonly notional: string | null
  readonly filled_qty: string
  readonly filled_avg_price: string | null
}

export type PositionJson = Readonly<Record<string, unknown>> & {
  readonly symbol: string
  readonly qty: string
  readonly qty_available: string
  readonly avg_entry_price: string
}

export type AccountJson = Readonly<Record<string, unknown>> & {
  readonly cash: string
  readonly buying_power: string
  readonly equity: string
}

export interface Faults {
  /** The next `times` (default 1) requests matching `match` get `effect`, in registration order. */
  readonly next: (match: FaultMatch, effect: FaultEffect) => void
  /** Close every websocket connection abruptly (no close frame); resolves with how many were dropped. */
  readonly dropSocket: () => number
  /** While true, new websocket connections are refused (HTTP 503 to the upgrade), like a stream outage. */
  readonly refuseStream: (refuse: boolean) => void
  /** The next accepted order is answered 200 (`new`), then rejected on the stream after the fill delay. */
  readonly rejectNextOrder: (reason?: string) => void
  readonly setMarketOpen: (open: boolean) => void
  /** Merge quotes (symbol → bid/ask); waiting limit orders are re-checked. */
  readonly setQuotes: (quotes: Readonly<Record<string, QuoteInput>>) => void
  /** No fill happens while paused; orders keep their status. */
  readonly pauseFills: () => void
  readonly resumeFills: () => void
  /** Expire every open order (event `expired`), like a day order at the close. */
  readonly expireOpenOrders: () => void
  /** Start a fresh rate-limit window on both servers. */
  readonly resetRateLimit: () => void
  /** Registered HTTP faults not yet used up. */
  readonly pending: () => number
  /** Drop every registered fault (HTTP faults and a pending rejection). */
  readonly clear: () => void
}

export interface AlpacaEmulator {
  readonly tradingUrl: string
  readonly dataUrl: string
  readonly streamUrl: string
  readonly keyId: string
  readonly secretKey: string
  /** Every HTTP request, in arrival order (live array). */
  readonly requests: ReadonlyArray<RecordedRequest>
  /** How many HTTP requests each `METHOD path` received (both servers; answered or not). */
  readonly requestsByPath: () => Readonly<Record<string, number>>
  /** Every client message received on the stream, in order (live array). */
  readonly streamMessages: ReadonlyArray<StreamMessage>
  /** Every trade update the emulator emitted, in order (live array), whether or not anyone listened. */
  readonly tradeUpdates: ReadonlyArray<TradeUpdate>
  /** Every order, oldest first, as Alpaca's JSON. */
  readonly orders: () => Array<OrderJson>
  readonly positions: () => Array<PositionJson>
  readonly account: () => AccountJson
  /** How many orders were created with this client order id (0 or 1: reuse is refused). */
  readonly ordersPlacedFor: (clientOrderId: string) => number
  /** How many POST /v2/orders carried this client order id (accepted or not). */
  readonly submissionsFor: (clientOrderId: string) => number
  /** Websocket connections currently open. */
  readonly streamClients: () => number
  /** Resolves once no order has a fill step scheduled (waiting limit orders and paused fills count as idle). */
  readonly idle: () => Promise<void>
  readonly faults: Faults
  readonly close: () => Promise<void>
}

// ---------------------------------------------------------------------------------------
// Decimals
// ---------------------------------------------------------------------------------------

type Dec = Big
const D: Big.BigConstructor = (() => {
  const C = Big()
  C.DP = 20
  C.RM = C.roundHalfUp
  C.NE = -1_000_000
  C.PE = 1_000_000
  return C
})()
const ZERO = new D(0)
/** Alpaca's minimum value of a fractional buy (qty or notional), in dollars. */
const MIN_FRACTIONAL_BUY = new D(1)
const ROUND_DOWN = 0
const ROUND_HALF_UP = 1

const fmt = (d: Dec): string => {
  const s = d.toFixed()
  return s === "-0" ? "0" : s
}
const decimalPlaces = (d: Dec): number => Math.max(0, d.c.length - d.e - 1)
const isWhole = (d: Dec): boolean => decimalPlaces(d) === 0
const DECIMAL_TEXT = /^(?:\d+(?:\.\d*)?|\.\d+)$/

/** A non-negative decimal from a JSON value (string or number), or undefined if it is not one. */
const parseDecimal = (value: unknown): Dec | undefined => {
  if (typeof value === "string") return DECIMAL_TEXT.test(value.trim()) ? new D(value.trim()) : undefined
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return new D(value)
  return undefined
}

// ---------------------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------------------

const OPEN_STATUSES = new Set([
  "new",
  "accepted",
  "pending_new",
  "partially_filled",
  "accepted_for_bidding",
  "pending_cancel",
  "pending_replace"
])

interface OrderRec {
  readonly id: string
  readonly clientOrderId: string
  readonly symbol: string
  readonly side: "buy" | "sell"
  readonly type: "market" | "limit"
  readonly timeInForce: string
  readonly qty: Dec | null
  readonly notional: Dec | null
  readonly limitPrice: Dec | null
  readonly extendedHours: boolean
  /** Price used to reserve buying power (buys) at submission. */
  readonly reservePrice: Dec
  /** Shares held for a sell (qty, or notional / bid at submission). */
  readonly holdQty: Dec
  status: string
  readonly createdAt: string
  updatedAt: string
  readonly submittedAt: string
  filledAt: string | null
  expiredAt: string | null
  canceledAt: string | null
  failedAt: string | null
  filledQty: Dec
  filledValue: Dec
  /** The quantity to fill, fixed at the first fill (for notional orders). */
  targetQty: Dec | undefined
  chunkQty: Dec | undefined
  partsLeft: number
  rejectReason: string | undefined
  timer: NodeJS.Timeout | undefined
  /** While `pending_cancel`: the moment it becomes `canceled`. */
  cancelTimer: NodeJS.Timeout | undefined
}

interface Position {
  qty: Dec
  costBasis: Dec
}

interface Quote {
  bid: Dec
  ask: Dec
  last: Dec | undefined
  close: Dec | undefined
  bidSize: number
  askSize: number
  t: string
}

interface Fault {
  readonly match: FaultMatch
  readonly effect: FaultEffect
  remaining: number
}

interface Answer {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
}

/** An answer other than 2xx, thrown from deep in a handler and turned into the response. */
class ApiError extends Error {
  readonly status: number
  readonly body: Readonly<Record<string, unknown>>
  constructor(status: number, body: Readonly<Record<string, unknown>>) {
    super(`HTTP ${status}`)
    this.status = status
    this.body = body
  }
}

const apiError = (status: number, code: number, message: string, extra: Readonly<Record<string, unknown>> = {}) =>
  new ApiError(status, { code, message, ...extra })

const UNAUTHORIZED = { code: 40110000, message: "request is not authorized" }
const RATE_LIMITED = { code: 42910000, message: "rate limit exceeded" }

const defaultFaultBody = (status: number): Record<string, unknown> => {
  if (status === 429) return { ...RATE_LIMITED }
  if (status === 401) return { ...UNAUTHORIZED }
  return { code: status * 100_000 + 10_000, message: (STATUS_CODES[status] ?? "error").toLowerCase() }
}

/** A stable uuid-shaped id for an asset (derived from its symbol). */
const assetId = (symbol: string): string => {
  const h = createHash("sha1").update(`alpaca-emulator-asset:${symbol}`).digest("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const nowIso = (): string => new Date().toISOString()

const TAPE: Readonly<Record<Exchange, string>> = {
  NASDAQ: "C",
  NYSE: "A",
  AMEX: "B",
  ARCA: "B",
  NYSEARCA: "B",
  BATS: "B",
  OTC: "C"
}
const SIP_EXCHANGE: Readonly<Record<Exchange, string>> = {
  NASDAQ: "Q",
  NYSE: "N",
  AMEX: "A",
  ARCA: "P",
  NYSEARCA: "P",
  BATS: "Z",
  OTC: "Q"
}

// ---------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------

export const startAlpacaEmulator = async (options: EmulatorOptions = {}): Promise<AlpacaEmulator> => {
  const keyId = options.keyId ?? "TEST-KEY-ID"
  const secretKey = options.secretKey ?? "TEST-SECRET-KEY"
  const fillDelayMillis = options.fillDelayMillis ?? 50
  const cancelDelayMillis = options.cancelDelayMillis ?? 0
  const collar = new D(1).plus(options.marketBuyCollar ?? "0")
  const parts = Math.max(1, Math.floor(options.partialFill ?? 1))
  const binaryFrames = options.binaryFrames ?? true
  const limitPerMinute = options.requestsPerMinute ?? 200
  const windowMillis = options.rateLimitWindowMillis ?? 60_000
  const accountIdValue = options.accountId ?? randomUUID()
  const accountNumber = options.accountNumber ?? "PA3EMULATOR1"
  const accountCreatedAt = nowIso()

  // ----- state
  let cash = new D(options.cash ?? "100000")
  let marketOpen = options.marketOpen ?? true
  let fillsPaused = false
  const quotes = new Map<string, Quote>()
  const positions = new Map<string, Position>()
  const orders: Array<OrderRec> = []
  const ordersById = new Map<string, OrderRec>()
  const usedClientIds = new Map<string, number>()
  const submissions = new Map<string, number>()
  const requests: Array<RecordedRequest> = []
  const streamMessages: Array<StreamMessage> = []
  const tradeUpdates: Array<TradeUpdate> = []
  const faults: Array<Fault> = []
  const rejections: Array<string> = []
  const idleWaiters: Array<() => void> = []
  let seq = 0
  let closed = false

  const setQuote = (symbol: string, q: QuoteInput) => {
    quotes.set(symbol, {
      bid: new D(q.bid),
      ask: new D(q.ask),
      last: q.last === undefined ? undefined : new D(q.last),
      close: q.close === undefined ? undefined : new D(q.close),
      bidSize: q.bidSize ?? 100,
      askSize: q.askSize ?? 100,
      t: nowIso()
    })
  }
  for (const [symbol, q] of Object.entries(options.quotes ?? {})) setQuote(symbol, q)

  const isKnown = (symbol: string) => quotes.has(symbol) || positions.has(symbol)
  const isFractionable = (symbol: string) =>
    options.fractionable === undefined || options.fractionable === "all" || options.fractionable.includes(symbol)
  const exchangeOf = (symbol: string): Exchange => options.exchanges?.[symbol] ?? "NASDAQ"
  const isActive = (symbol: string) => !(options.inactive ?? []).includes(symbol)
  const isTradable = (symbol: string) => isActive(symbol) && !(options.untradable ?? []).includes(symbol)

  /** current_price of a position: last, else mid, else the one side quoted. */
  const currentPrice = (symbol: string): Dec | undefined => {
    const q = quotes.get(symbol)
    if (q === undefined) return undefined
    if (q.last !== undefined && q.last.gt(0)) return q.last
    if (q.bid.gt(0) && q.ask.gt(0)) return q.bid.plus(q.ask).div(2)
    if (q.ask.gt(0)) return q.ask
    if (q.bid.gt(0)) return q.bid
    return undefined
  }

  for (const [symbol, p] of Object.entries(options.positions ?? {})) {
    const input: PositionInput = typeof p === "string" ? { qty: p } : p
    const qty = new D(input.qty)
    const avg = input.avgEntryPrice !== undefined ? new D(input.avgEntryPrice) : (currentPrice(symbol) ?? ZERO)
    if (qty.gt(0)) positions.set(symbol, { qty, costBasis: qty.times(avg) })
  }

  // ----- derived amounts
  const isOpen = (o: OrderRec) => OPEN_STATUSES.has(o.status)
  const reservedFor = (o: OrderRec): Dec => {
    if (o.side !== "buy" || !isOpen(o)) return ZERO
    if (o.notional !== null) {
      const left = o.notional.minus(o.filledValue)
      return left.gt(0) ? left : ZERO
    }
    return (o.qty ?? ZERO).minus(o.filledQty).times(o.reservePrice)
  }
  const heldFor = (symbol: string): Dec => {
    let held = ZERO
    for (const o of orders) {
      if (o.symbol !== symbol || o.side !== "sell" || !isOpen(o)) continue
      const left = (o.targetQty ?? o.holdQty).minus(o.filledQty)
      if (left.gt(0)) held = held.plus(left)
    }
    return held
  }
  const buyingPower = (): Dec => {
    let bp = cash
    for (const o of orders) bp = bp.minus(reservedFor(o))
    return bp
  }
  const longMarketValue = (): Dec => {
    let v = ZERO
    for (const [symbol, p] of positions) v = v.plus(p.qty.times(currentPrice(symbol) ?? p.costBasis.div(p.qty)))
    return v
  }
  const startingEquity = cash.plus(longMarketValue())
  const lastEquity = options.lastEquity !== undefined ? new D(options.lastEquity) : startingEquity

  // ----- JSON views
  const accountJson = (): AccountJson => {
    const lmv = longMarketValue()
    const equity = cash.plus(lmv)
    const bp = fmt(buyingPower())
    // After 2026-07-06 Alpaca no longer sends pattern_day_trader, daytrade_count,
    // daytrading_buying_power, last_daytrade_count, bod_dtbp, pdt_check.
    return {
      id: accountIdValue,
      account_number: accountNumber,
      status: "ACTIVE",
      crypto_status: "INACTIVE",
      currency: "USD",
      cash: fmt(cash),
      buying_power: bp,
      regt_buying_power: bp,
      non_marginable_buying_power: bp,
      options_buying_power: bp,
      accrued_fees: "0",
      pending_transfer_in: "0",
      portfolio_value: fmt(equity),
      equity: fmt(equity),
      last_equity: fmt(lastEquity),
      long_market_value: fmt(lmv),
      short_market_value: "0",
      position_market_value: fmt(lmv),
      initial_margin: "0",
      maintenance_margin: "0",
      last_maintenance_margin: "0",
      sma: "0",
      multiplier: "1",
      shorting_enabled: false,
      trading_blocked: false,
      transfers_blocked: false,
      account_blocked: false,
      trade_suspended_by_user: false,
      options_approved_level: 0,
      options_trading_level: 0,
      created_at: accountCreatedAt,
      balance_asof: accountCreatedAt.slice(0, 10)
    }
  }

  const positionJson = (symbol: string, p: Position): PositionJson => {
    const price = currentPrice(symbol) ?? p.costBasis.div(p.qty)
    const lastday = quotes.get(symbol)?.close ?? price
    const marketValue = p.qty.times(price)
    const pl = marketValue.minus(p.costBasis)
    const intradayPl = p.qty.times(price.minus(lastday))
    const lastdayValue = p.qty.times(lastday)
    const ratio = (a: Dec, b: Dec) => (b.eq(0) ? "0" : fmt(a.div(b).round(16)))
    return {
      asset_id: assetId(symbol),
      symbol,
      exchange: exchangeOf(symbol),
      asset_class: "us_equity",
      asset_marginable: true,
      qty: fmt(p.qty),
      avg_entry_price: fmt(p.costBasis.div(p.qty).round(9)),
      side: "long",
      market_value: fmt(marketValue),
      cost_basis: fmt(p.costBasis),
      unrealized_pl: fmt(pl),
      unrealized_plpc: ratio(pl, p.costBasis),
      unrealized_intraday_pl: fmt(intradayPl),
      unrealized_intraday_plpc: ratio(intradayPl, lastdayValue),
      current_price: fmt(price),
      lastday_price: fmt(lastday),
      change_today: ratio(price.minus(lastday), lastday),
      qty_available: fmt(p.qty.minus(heldFor(symbol)))
    }
  }

  const orderJson = (o: OrderRec): OrderJson => ({
    id: o.id,
    client_order_id: o.clientOrderId,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
    submitted_at: o.submittedAt,
    filled_at: o.filledAt,
    expired_at: o.expiredAt,
    canceled_at: o.canceledAt,
    failed_at: o.failedAt,
    replaced_at: null,
    replaced_by: null,
    replaces: null,
    asset_id: assetId(o.symbol),
    symbol: o.symbol,
    asset_class: "us_equity",
    notional: o.notional === null ? null : fmt(o.notional),
    qty: o.qty === null ? null : fmt(o.qty),
    filled_qty: fmt(o.filledQty),
    filled_avg_price: o.filledQty.gt(0) ? fmt(o.filledValue.div(o.filledQty).round(9)) : null,
    order_class: "",
    order_type: o.type,
    type: o.type,
    side: o.side,
    position_intent: o.side === "buy" ? "buy_to_open" : "sell_to_close",
    time_in_force: o.timeInForce,
    limit_price: o.limitPrice === null ? null : fmt(o.limitPrice),
    stop_price: null,
    status: o.status,
    extended_hours: o.extendedHours,
    legs: null,
    trail_percent: null,
    trail_price: null,
    hwm: null,
    subtag: null,
    source: null
  })

  // ----- websocket clients and trade updates
  interface Client {
    readonly socket: WebSocket
    authorized: boolean
    listening: boolean
  }
  const clients = new Set<Client>()
  const sendFrame = (socket: WebSocket, message: unknown) => {
    if (socket.readyState !== WebSocket.OPEN) return
    const text = JSON.stringify(message)
    if (binaryFrames) socket.send(Buffer.from(text, "utf8"), { binary: true })
    else socket.send(text, { binary: false })
  }
  const emit = (event: TradeEvent, o: OrderRec, fill?: { price: Dec; qty: Dec }) => {
    const update: TradeUpdate = {
      event,
      execution_id: randomUUID(),
      order: orderJson(o),
      timestamp: o.updatedAt,
      ...(fill === undefined
        ? {}
        : { price: fmt(fill.price), qty: fmt(fill.qty), position_qty: fmt(positions.get(o.symbol)?.qty ?? ZERO) })
    }
    tradeUpdates.push(update)
    for (const c of clients) {
      if (c.authorized && c.listening) sendFrame(c.socket, { stream: "trade_updates", data: update })
    }
  }

  // ----- the fill engine
  const busy = (o: OrderRec) => o.timer !== undefined || o.cancelTimer !== undefined
  const notifyIdle = () => {
    if (orders.some(busy)) return
    for (const w of idleWaiters.splice(0)) w()
  }
  const marketable = (o: OrderRec, price: Dec) =>
    o.limitPrice === null || (o.side === "buy" ? price.lte(o.limitPrice) : price.gte(o.limitPrice))

  const fills = (o: OrderRec) => isOpen(o) && o.status !== "pending_cancel"
  const schedule = (o: OrderRec) => {
    if (closed || o.timer !== undefined || !fills(o) || !marketOpen || fillsPaused) return
    if (o.rejectReason === undefined) {
      const q = quotes.get(o.symbol)
      const price = o.side === "buy" ? q?.ask : q?.bid
      if (price === undefined || price.lte(0) || !marketable(o, price)) return
    }
    o.timer = setTimeout(() => {
      o.timer = undefined
      step(o)
      notifyIdle()
    }, fillDelayMillis)
  }
  const scheduleAll = () => {
    for (const o of orders) schedule(o)
  }

  const step = (o: OrderRec) => {
    if (!fills(o) || !marketOpen || fillsPaused) return
    if (o.rejectReason !== undefined) {
      o.status = "rejected"
      o.failedAt = o.updatedAt = nowIso()
      emit("rejected", o)
      return
    }
    const q = quotes.get(o.symbol)
    const price = o.side === "buy" ? q?.ask : q?.bid
    if (price === undefined || price.lte(0) || !marketable(o, price)) return
    if (o.targetQty === undefined) {
      let target = o.qty ?? (o.notional ?? ZERO).div(price).round(9, ROUND_DOWN)
      if (o.side === "sell") {
        const held = positions.get(o.symbol)?.qty ?? ZERO
        if (target.gt(held)) target = held
      }
      if (target.lte(0)) {
        o.status = "rejected"
        o.failedAt = o.updatedAt = nowIso()
        o.rejectReason = "qty resolves to zero"
        emit("rejected", o)
        return
      }
      o.targetQty = target
      const chunk = target.div(parts).round(isWhole(target) ? 0 : 9, ROUND_DOWN)
      o.chunkQty = chunk.gt(0) ? chunk : target
      o.partsLeft = parts
    }
    const remaining = o.targetQty.minus(o.filledQty)
    const chunkQty = o.chunkQty ?? remaining
    const qty = o.partsLeft <= 1 || chunkQty.gte(remaining) ? remaining : chunkQty
    o.partsLeft -= 1
    // Move cash and the position.
    const amount = qty.times(price).round(2, ROUND_HALF_UP)
    const pos = positions.get(o.symbol)
    if (o.side === "buy") {
      cash = cash.minus(amount)
      if (pos === undefined) positions.set(o.symbol, { qty, costBasis: qty.times(price) })
      else {
        pos.qty = pos.qty.plus(qty)
        pos.costBasis = pos.costBasis.plus(qty.times(price))
      }
    } else {
      cash = cash.plus(amount)
      if (pos !== undefined) {
        const left = pos.qty.minus(qty)
        if (left.lte(0)) positions.delete(o.symbol)
        else {
          pos.costBasis = pos.costBasis.times(left).div(pos.qty)
          pos.qty = left
        }
      }
    }
    o.filledQty = o.filledQty.plus(qty)
    o.filledValue = o.filledValue.plus(qty.times(price))
    o.updatedAt = nowIso()
    if (o.filledQty.gte(o.targetQty)) {
      o.status = "filled"
      o.filledAt = o.updatedAt
      emit("fill", o, { price, qty })
    } else {
      o.status = "partially_filled"
      emit("partial_fill", o, { price, qty })
      schedule(o)
    }
  }

  const stopTimer = (o: OrderRec) => {
    if (o.timer !== undefined) clearTimeout(o.timer)
    o.timer = undefined
  }
  const stopCancel = (o: OrderRec) => {
    if (o.cancelTimer !== undefined) clearTimeout(o.cancelTimer)
    o.cancelTimer = undefined
  }

  // ----- order submission
  const submitOrder = (body: unknown, closing = false): OrderRec => {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw apiError(400, 40010000, "request body format is invalid")
    }
    const b = body as Record<string, unknown>
    const present = (k: string) => b[k] !== undefined && b[k] !== null && b[k] !== ""
    const symbol = typeof b["symbol"] === "string" ? b["symbol"].trim() : ""
    if (symbol === "") throw apiError(422, 40010001, "symbol is required")
    const side = b["side"]
    if (side !== "buy" && side !== "sell") throw apiError(422, 40010001, "invalid side")
    const type = b["type"] ?? b["order_type"]
    if (type !== "market" && type !== "limit") {
      if (typeof type === "string" && ["stop", "stop_limit", "trailing_stop"].includes(type)) {
        throw apiError(422, 42210000, `order type ${type} is not supported by the emulator`)
      }
      throw apiError(422, 40010001, "invalid order type")
    }
    const tif = b["time_in_force"]
    if (typeof tif !== "string" || !["day", "gtc", "opg", "cls", "ioc", "fok"].includes(tif)) {
      throw apiError(422, 40010001, "invalid time_in_force")
    }
    const clientOrderId = present("client_order_id") ? b["client_order_id"] : randomUUID()
    if (typeof clientOrderId !== "string") throw apiError(422, 40010001, "invalid client_order_id")
    if (!closing) submissions.set(clientOrderId, (submissions.get(clientOrderId) ?? 0) + 1)
    if (clientOrderId.length > 128) throw apiError(422, 40010001, "client_order_id must be no more than 128 characters")
    if (present("qty") && present("notional")) {
      throw apiError(422, 40010001, "only one of qty or notional can be specified")
    }
    if (!present("qty") && !present("notional")) throw apiError(422, 40010001, "qty or notional is required")
    let qty: Dec | null = null
    let notional: Dec | null = null
    if (present("qty")) {
      const q = parseDecimal(b["qty"])
      if (q === undefined) throw apiError(422, 40010001, "invalid qty")
      if (q.lte(0)) throw apiError(422, 40010001, "qty must be > 0")
      if (decimalPlaces(q) > 9) throw apiError(422, 40010001, "qty must be limited to 9 decimal places")
      qty = q
    } else {
      const n = parseDecimal(b["notional"])
      if (n === undefined) throw apiError(422, 40010001, "invalid notional")
      if (n.lte(0)) throw apiError(422, 40010001, "notional must be > 0")
      if (decimalPlaces(n) > 2) throw apiError(422, 40010001, "notional must be limited to 2 decimal places")
      notional = n
    }
    let limitPrice: Dec | null = null
    if (type === "limit") {
      if (!present("limit_price")) throw apiError(422, 40010001, "limit_price is required for limit orders")
      const lp = parseDecimal(b["limit_price"])
      if (lp === undefined || lp.lte(0)) throw apiError(422, 40010001, "invalid limit_price")
      if (decimalPlaces(lp) > (lp.gte(1) ? 2 : 4)) {
        throw apiError(
          422,
          42210000,
          "invalid limit_price. sub-penny increment does not fulfill minimum pricing criteria"
        )
      }
      limitPrice = lp
    } else if (present("limit_price")) {
      throw apiError(422, 40010001, "limit_price must not be specified for market orders")
    }
    const extendedHours = b["extended_hours"] === true
    if (extendedHours && (type !== "limit" || tif !== "day")) {
      throw apiError(422, 42210000, "extended hours order must be DAY limit orders")
    }
    if (!isKnown(symbol)) throw apiError(422, 40010001, `asset "${symbol}" not found`)
    if (!isTradable(symbol)) throw apiError(422, 42210000, `asset ${symbol} is not tradable`)
    const fractional = notional !== null || (qty !== null && !isWhole(qty))
    if (fractional && !closing) {
      if (!isFractionable(symbol)) throw apiError(422, 42210000, `requested asset is not fractionable`)
      if (tif !== "day") throw apiError(422, 42210000, "fractional orders must be DAY orders")
      if (notional !== null && type !== "market") throw apiError(422, 42210000, "notional orders must be market orders")
      if (extendedHours) throw apiError(422, 42210000, "fractional orders cannot be extended hours")
    }
    if (usedClientIds.has(clientOrderId)) throw apiError(422, 40010001, "client_order_id must be unique")
    const quote = quotes.get(symbol)
    let reservePrice = ZERO
    let holdQty = ZERO
    if (side === "buy") {
      const price = limitPrice ?? quote?.ask?.times(collar)
      if (notional === null && (price === undefined || price.lte(0))) {
        throw apiError(422, 42210000, `no quote available for ${symbol}`)
      }
      reservePrice = price ?? ZERO
      const cost = notional ?? (qty ?? ZERO).times(reservePrice)
      if (fractional && cost.lt(MIN_FRACTIONAL_BUY)) throw apiError(422, 42210000, "cost basis must be >= 1")
      const bp = buyingPower()
      if (cost.gt(bp)) {
        throw apiError(403, 40310000, "insufficient buying power", {
          buying_power: fmt(bp),
          cost_basis: fmt(cost.round(2, 3))
        })
      }
    } else {
      const held = positions.get(symbol)?.qty ?? ZERO
      const inOrders = heldFor(symbol)
      const available = held.minus(inOrders)
      if (notional !== null) {
        const bid = quote?.bid
        if (bid === undefined || bid.lte(0)) throw apiError(422, 42210000, `no quote available for ${symbol}`)
        holdQty = notional.div(bid).round(9, 3)
      } else holdQty = qty ?? ZERO
      if (holdQty.gt(available)) {
        throw apiError(
          403,
          40310000,
          `insufficient qty available for order (requested: ${fmt(holdQty)}, available: ${fmt(available)})`,
          {
            symbol,
            available: fmt(available),
            existing_qty: fmt(held),
            held_for_orders: fmt(inOrders)
          }
        )
      }
    }
    const at = nowIso()
    const o: OrderRec = {
      id: randomUUID(),
      clientOrderId,
      symbol,
      side,
      type,
      timeInForce: tif,
      qty,
      notional,
      limitPrice,
      extendedHours,
      reservePrice,
      holdQty,
      status: marketOpen ? "new" : "accepted",
      createdAt: at,
      updatedAt: at,
      submittedAt: at,
      filledAt: null,
      expiredAt: null,
      canceledAt: null,
      failedAt: null,
      filledQty: ZERO,
      filledValue: ZERO,
      targetQty: undefined,
      chunkQty: undefined,
      partsLeft: parts,
      rejectReason: rejections.shift(),
      timer: undefined,
      cancelTimer: undefined
    }
    orders.push(o)
    ordersById.set(o.id, o)
    usedClientIds.set(clientOrderId, (usedClientIds.get(clientOrderId) ?? 0) + 1)
    if (o.status === "new") emit("new", o)
    schedule(o)
    return o
  }

  /** A cancel: `pending_cancel` for `cancelDelayMillis` (no more fills, still holding), then `canceled`. */
  const cancelOrder = (o: OrderRec) => {
    if (o.status === "pending_cancel") return
    if (!isOpen(o)) throw apiError(422, 42210000, `order is already in "${o.status}" state`)
    stopTimer(o)
    if (cancelDelayMillis <= 0) return finishCancel(o)
    o.status = "pending_cancel"
    o.updatedAt = nowIso()
    emit("pending_cancel", o)
    o.cancelTimer = setTimeout(() => finishCancel(o), cancelDelayMillis)
  }
  const finishCancel = (o: OrderRec) => {
    o.cancelTimer = undefined
    o.status = "canceled"
    o.canceledAt = o.updatedAt = nowIso()
    emit("canceled", o)
    notifyIdle()
  }

  // ----- HTTP plumbing
  interface Window {
    start: number
    count: number
  }
  const windows: Record<"trading" | "data", Window> = { trading: { start: 0, count: 0 }, data: { start: 0, count: 0 } }
  const rateHeaders = (w: Window, remaining: number) => ({
    "X-Ratelimit-Limit": String(limitPerMinute),
    "X-Ratelimit-Remaining": String(Math.max(0, remaining)),
    "X-Ratelimit-Reset": String(Math.ceil((w.start + windowMillis) / 1000))
  })
  const currentWindow = (server: "trading" | "data"): Window => {
    const w = windows[server]
    const now = Date.now()
    if (now >= w.start + windowMillis) {
      w.start = now
      w.count = 0
    }
    return w
  }

  const findFault = (server: "trading" | "data", method: string, path: string): Fault | undefined => {
    const f = faults.find(
      (x) =>
        x.remaining > 0 &&
        (x.match.server === undefined || x.match.server === server) &&
        (x.match.method === undefined || x.match.method.toUpperCase() === method) &&
        (typeof x.match.path === "string" ? x.match.path === path : x.match.path.test(path))
    )
    if (f !== undefined) {
      f.remaining -= 1
      if (f.remaining === 0) faults.splice(faults.indexOf(f), 1)
    }
    return f
  }

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      let text = ""
      req.setEncoding("utf8")
      req.on("data", (chunk: string) => {
        text += chunk
      })
      req.on("end", () => resolve(text))
      req.on("error", reject)
    })

  const redactHeaders = (headers: IncomingHttpHeaders): Record<string, string> => {
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined) continue
      out[k] = k === "apca-api-secret-key" ? "[redacted]" : Array.isArray(v) ? v.join(", ") : v
    }
    return out
  }

  const isAuthorized = (headers: IncomingHttpHeaders) =>
    headers["apca-api-key-id"] === keyId && headers["apca-api-secret-key"] === secretKey

  const send = (res: ServerResponse, answer: Answer, extraHeaders: Readonly<Record<string, string>>) => {
    const headers: Record<string, string> = { ...extraHeaders, ...answer.headers }
    if (answer.body === undefined) {
      res.writeHead(answer.status, headers)
      res.end()
      return
    }
    const text = JSON.stringify(answer.body)
    headers["Content-Type"] = "application/json; charset=UTF-8"
    headers["Content-Length"] = String(Buffer.byteLength(text))
    res.writeHead(answer.status, headers)
    res.end(text)
  }

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

  const handler = (
    server: "trading" | "data",
    route: (method: string, path: string, query: URLSearchParams, body: unknown) => Answer
  ) =>
  async (req: IncomingMessage, res: ServerResponse) => {
    const text = await readBody(req).catch(() => "")
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const method = (req.method ?? "GET").toUpperCase()
    let body: unknown = undefined
    if (text !== "") {
      try {
        body = JSON.parse(text)
      } catch {
        body = text
      }
    }
    const authorized = isAuthorized(req.headers)
    const record: RecordedRequest = {
      seq: ++seq,
      server,
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: redactHeaders(req.headers),
      body,
      authorized,
      status: undefined,
      fault: undefined
    }
    requests.push(record)
    const reply = (answer: Answer, headers: Readonly<Record<string, string>>) => {
      record.status = answer.status
      send(res, answer, headers)
    }
    const w = currentWindow(server)
    if (!authorized) return reply({ status: 401, body: UNAUTHORIZED }, rateHeaders(w, limitPerMinute - w.count))
    w.count += 1
    if (w.count > limitPerMinute) return reply({ status: 429, body: RATE_LIMITED }, rateHeaders(w, 0))
    const headers = rateHeaders(w, limitPerMinute - w.count)
    const fault = findFault(server, method, url.pathname)
    if (fault !== undefined) {
      const e = fault.effect
      record.fault = JSON.stringify(e)
      if (e.delayMillis !== undefined) await sleep(e.delayMillis)
      if (closed) return
      if (e.hang === true) return
      if (e.status !== undefined) {
        return reply(
          {
            status: e.status,
            body: e.body ?? defaultFaultBody(e.status),
            ...(e.headers === undefined ? {} : { headers: e.headers })
          },
          e.status === 429 ? rateHeaders(w, 0) : headers
        )
      }
    }
    let answer: Answer
    try {
      answer = route(method, url.pathname, url.searchParams, body)
    } catch (error) {
      if (error instanceof ApiError) answer = { status: error.status, body: error.body }
      else answer = { status: 500, body: { code: 50010000, message: String(error) } }
    }
    if (fault?.effect.loseAnswer === true) {
      req.socket.destroy()
      return
    }
    reply(answer, headers)
  }

  // ----- trading routes
  const notFound = (what = "endpoint not found") => apiError(404, 40410000, what)

  const findOrder = (id: string): OrderRec => {
    const o = ordersById.get(id)
    if (o === undefined) throw notFound("order not found")
    return o
  }

  const listOrders = (query: URLSearchParams): Array<OrderJson> => {
    const status = query.get("status") ?? "open"
    if (!["open", "closed", "all"].includes(status)) throw apiError(422, 40010001, "invalid status")
    const limitText = query.get("limit")
    let limit = 50
    if (limitText !== null) {
      limit = Number(limitText)
      if (!Number.isInteger(limit) || limit <= 0) throw apiError(422, 40010001, "invalid limit")
      limit = Math.min(limit, 500)
    }
    const direction = query.get("direction") ?? "desc"
    if (direction !== "asc" && direction !== "desc") throw apiError(422, 40010001, "invalid direction")
    const symbols = query.get("symbols")?.split(",").map((s) => s.trim()).filter((s) => s !== "")
    const after = query.get("after")
    const until = query.get("until")
    let list = orders.filter(
      (o) =>
        (status === "all" || (status === "open") === isOpen(o)) &&
        (symbols === undefined || symbols.length === 0 || symbols.includes(o.symbol)) &&
        (after === null || Date.parse(o.submittedAt) > Date.parse(after)) &&
        (until === null || Date.parse(o.submittedAt) < Date.parse(until))
    )
    if (direction === "desc") list = list.reverse()
    return list.slice(0, limit).map(orderJson)
  }

  const closePosition = (symbol: string, query: URLSearchParams): OrderRec => {
    const pos = positions.get(symbol)
    if (pos === undefined) throw notFound("position does not exist")
    const qtyText = query.get("qty")
    const pctText = query.get("percentage")
    if (qtyText !== null && pctText !== null) {
      throw apiError(422, 40010001, "only one of qty or percentage can be specified")
    }
    let qty = pos.qty
    if (qtyText !== null) {
      const q = parseDecimal(qtyText)
      if (q === undefined || q.lte(0)) throw apiError(422, 40010001, "invalid qty")
      qty = q
    } else if (pctText !== null) {
      const p = parseDecimal(pctText)
      if (p === undefined || p.lte(0) || p.gt(100)) {
        throw apiError(422, 40010001, "percentage must be between 0 and 100")
      }
      qty = pos.qty.times(p).div(100).round(isWhole(pos.qty) ? 0 : 9, ROUND_DOWN)
      if (qty.lte(0)) throw apiError(422, 40010001, "qty resolves to zero")
    }
    return submitOrder({ symbol, side: "sell", type: "market", time_in_force: "day", qty: fmt(qty) }, true)
  }

  const knownSymbols = () => [...new Set([...quotes.keys(), ...positions.keys()])].sort()

  const assetJson = (symbol: string) => ({
    id: assetId(symbol),
    class: "us_equity",
    exchange: exchangeOf(symbol),
    symbol,
    name: `${symbol} (emulated)`,
    status: isActive(symbol) ? "active" : "inactive",
    tradable: isTradable(symbol),
    marginable: true,
    maintenance_margin_requirement: 30,
    shortable: false,
    easy_to_borrow: false,
    fractionable: isFractionable(symbol),
    attributes: []
  })

  /** GET /v2/assets: every known symbol, filtered as Alpaca filters (`status`, `asset_class`, `exchange`). */
  const listAssets = (query: URLSearchParams) => {
    const status = query.get("status")
    if (status !== null && status !== "active" && status !== "inactive") throw apiError(422, 40010001, "invalid status")
    const assetClass = query.get("asset_class") ?? "us_equity"
    if (assetClass !== "us_equity" && assetClass !== "crypto") throw apiError(422, 40010001, "invalid asset_class")
    const exchange = query.get("exchange")
    return knownSymbols().map(assetJson).filter((a) =>
      a.class === assetClass && (status === null || a.status === status) &&
      (exchange === null || a.exchange === exchange)
    )
  }

  const tradingRoute = (method: string, path: string, query: URLSearchParams, body: unknown): Answer => {
    const parts = path.split("/").filter((s) => s !== "")
    const tail = parts[2] === undefined ? undefined : decodeURIComponent(parts[2])
    if (parts.length > 3 || parts[0] !== "v2") throw notFound()
    switch (parts[1]) {
      case "account":
        if (method === "GET" && tail === undefined) return { status: 200, body: accountJson() }
        break
      case "clock": {
        if (method !== "GET" || tail !== undefined) break
        const now = Date.now()
        const hour = 3_600_000
        return {
          status: 200,
          body: {
            timestamp: new Date(now).toISOString(),
            is_open: marketOpen,
            next_open: new Date(marketOpen ? now + 24 * hour : now + hour).toISOString(),
            next_close: new Date(marketOpen ? now + hour : now + 7.5 * hour).toISOString()
          }
        }
      }
      case "positions": {
        if (tail === undefined) {
          if (method === "GET") {
            return {
              status: 200,
              body: [...positions].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, p]) => positionJson(s, p))
            }
          }
          break
        }
        const symbol = [...positions.keys()].find((s) => s === tail || assetId(s) === tail)
        if (method === "GET") {
          const p = symbol === undefined ? undefined : positions.get(symbol)
          if (symbol === undefined || p === undefined) throw notFound("position does not exist")
          return { status: 200, body: positionJson(symbol, p) }
        }
        if (method === "DELETE") return { status: 200, body: orderJson(closePosition(symbol ?? tail, query)) }
        break
      }
      case "orders":
        if (tail === undefined) {
          if (method === "GET") return { status: 200, body: listOrders(query) }
          if (method === "POST") return { status: 200, body: orderJson(submitOrder(body)) }
          if (method === "DELETE") {
            const results = orders.filter(isOpen).map((o) => {
              cancelOrder(o)
              return { id: o.id, status: 200 }
            })
            return { status: 207, body: results }
          }
          break
        }
        if (method === "GET") return { status: 200, body: orderJson(findOrder(tail)) }
        if (method === "DELETE") {
          cancelOrder(findOrder(tail))
          return { status: 204 }
        }
        break
      case "orders:by_client_order_id": {
        if (method !== "GET" || tail !== undefined) break
        const id = query.get("client_order_id") ?? ""
        const o = orders.find((x) => x.clientOrderId === id)
        if (o === undefined) throw notFound("order not found")
        return { status: 200, body: orderJson(o) }
      }
      case "assets": {
        if (method !== "GET") break
        if (tail === undefined) return { status: 200, body: listAssets(query) }
        const symbol = knownSymbols().find((s) => s === tail || assetId(s) === tail)
        if (symbol === undefined) throw notFound("asset not found")
        return { status: 200, body: assetJson(symbol) }
      }
    }
    throw notFound()
  }

  // ----- market data routes
  const dataRoute = (method: string, path: string, query: URLSearchParams): Answer => {
    if (method !== "GET" || (path !== "/v2/stocks/quotes/latest" && path !== "/v2/stocks/trades/latest")) {
      throw notFound()
    }
    const symbols = (query.get("symbols") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
    if (symbols.length === 0) throw apiError(400, 40010001, "missing symbols")
    const feed = query.get("feed") ?? "iex"
    if (!["iex", "sip", "otc"].includes(feed)) throw apiError(400, 40010001, "invalid feed")
    return path === "/v2/stocks/trades/latest" ? latestTrades(symbols, feed) : latestQuotes(symbols, feed)
  }

  /**
   * The latest trade of each quoted symbol: its `last` (else the mid, else the one side
   * quoted: the position's current price); a symbol with no price at all has no trade.
   */
  const latestTrades = (symbols: ReadonlyArray<string>, feed: string): Answer => {
    const out: Record<string, unknown> = {}
    for (const symbol of symbols) {
      const q = quotes.get(symbol)
      const price = currentPrice(symbol)
      if (q === undefined || price === undefined) continue
      out[symbol] = {
        t: q.t,
        x: feed === "iex" ? "V" : SIP_EXCHANGE[exchangeOf(symbol)],
        p: Number(price.toFixed()),
        s: 100,
        c: ["@"],
        i: tradeIdOf(symbol),
        z: TAPE[exchangeOf(symbol)]
      }
    }
    return { status: 200, body: { trades: out } }
  }
  const tradeIdOf = (symbol: string): number =>
    Number.parseInt(createHash("sha1").update(`trade:${symbol}`).digest("hex").slice(0, 8), 16)

  const latestQuotes = (symbols: ReadonlyArray<string>, feed: string): Answer => {
    const out: Record<string, unknown> = {}
    for (const symbol of symbols) {
      const q = quotes.get(symbol)
      if (q === undefined) continue
      const ex = feed === "iex" ? "V" : SIP_EXCHANGE[exchangeOf(symbol)]
      out[symbol] = {
        t: q.t,
        ax: ex,
        ap: Number(q.ask.toFixed()),
        as: q.askSize,
        bx: ex,
        bp: Number(q.bid.toFixed()),
        bs: q.bidSize,
        c: ["R"],
        z: TAPE[exchangeOf(symbol)]
      }
    }
    return { status: 200, body: { quotes: out } }
  }

  // ----- servers
  const trading: Server = createServer((req, res) => void handler("trading", tradingRoute)(req, res))
  const data: Server = createServer((req, res) => void handler("data", (m, p, q) => dataRoute(m, p, q))(req, res))
  trading.keepAliveTimeout = 5_000
  data.keepAliveTimeout = 5_000

  let streamRefused = false
  const wss = new WebSocketServer({
    server: trading,
    path: "/stream",
    verifyClient: (_info, accept) => (streamRefused ? accept(false, 503, "stream unavailable") : accept(true))
  })
  wss.on("connection", (socket: WebSocket) => {
    const client: Client = { socket, authorized: false, listening: false }
    clients.add(client)
    socket.on("close", () => clients.delete(client))
    socket.on("error", () => clients.delete(client))
    socket.on("message", (raw: RawData) => {
      const text = Array.isArray(raw)
        ? Buffer.concat(raw).toString("utf8")
        : Buffer.from(raw as ArrayBuffer).toString("utf8")
      let msg: unknown
      try {
        msg = JSON.parse(text)
      } catch {
        streamMessages.push({ message: text, at: nowIso() })
        sendFrame(socket, { stream: "listening", data: { error: "invalid syntax" } })
        return
      }
      const m = (typeof msg === "object" && msg !== null ? msg : {}) as Record<string, unknown> & {
        action?: unknown
        data?: Record<string, unknown>
      }
      const d = typeof m.data === "object" && m.data !== null ? m.data : {}
      streamMessages.push({ message: redactedMessage(m, d), at: nowIso() })
      if (m.action === "authenticate" || m.action === "auth") {
        // The current form carries `key` and `secret`; the legacy one `data.key_id` and `data.secret_key`.
        client.authorized = m.action === "auth"
          ? m["key"] === keyId && m["secret"] === secretKey
          : d["key_id"] === keyId && d["secret_key"] === secretKey
        sendFrame(socket, {
          stream: "authorization",
          data: { status: client.authorized ? "authorized" : "unauthorized", action: "authenticate" }
        })
        return
      }
      if (m.action === "listen") {
        if (!client.authorized) {
          sendFrame(socket, { stream: "authorization", data: { status: "unauthorized", action: "listen" } })
          return
        }
        const wanted = Array.isArray(d["streams"]) ? d["streams"].filter((s): s is string => typeof s === "string") : []
        client.listening = wanted.includes("trade_updates")
        sendFrame(socket, { stream: "listening", data: { streams: client.listening ? ["trade_updates"] : [] } })
        return
      }
      sendFrame(socket, { stream: "listening", data: { error: "invalid action" } })
    })
  })

  /** A client message as recorded: the secret of either authentication form redacted. */
  const redactedMessage = (m: Record<string, unknown>, d: Record<string, unknown>): unknown => ({
    ...m,
    ...("secret" in m ? { secret: "[redacted]" } : {}),
    ...("secret_key" in d ? { data: { ...d, secret_key: "[redacted]" } } : {})
  })

  const listen = (server: Server) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
    })
  const tradingPort = await listen(trading)
  const dataPort = await listen(data)

  const faultsApi: Faults = {
    next: (match, effect) => {
      faults.push({ match, effect, remaining: Math.max(1, Math.floor(effect.times ?? 1)) })
    },
    dropSocket: () => {
      const n = clients.size
      for (const c of [...clients]) c.socket.terminate()
      clients.clear()
      return n
    },
    refuseStream: (refuse) => {
      streamRefused = refuse
    },
    rejectNextOrder: (reason = "rejected by the emulator") => {
      rejections.push(reason)
    },
    setMarketOpen: (open) => {
      marketOpen = open
      if (open) {
        for (const o of orders) {
          if (o.status === "accepted") {
            o.status = "new"
            o.updatedAt = nowIso()
            emit("new", o)
          }
        }
      }
      if (!open) { for (const o of orders) stopTimer(o) }
      scheduleAll()
      notifyIdle()
    },
    setQuotes: (qs) => {
      for (const [symbol, q] of Object.entries(qs)) setQuote(symbol, q)
      scheduleAll()
    },
    pauseFills: () => {
      fillsPaused = true
      for (const o of orders) stopTimer(o)
      notifyIdle()
    },
    resumeFills: () => {
      fillsPaused = false
      scheduleAll()
    },
    expireOpenOrders: () => {
      for (const o of orders) {
        if (isOpen(o)) {
          stopTimer(o)
          stopCancel(o)
          o.status = "expired"
          o.expiredAt = o.updatedAt = nowIso()
          emit("expired", o)
        }
      }
      notifyIdle()
    },
    resetRateLimit: () => {
      windows.trading = { start: 0, count: 0 }
      windows.data = { start: 0, count: 0 }
    },
    pending: () => faults.reduce((n, f) => n + f.remaining, 0),
    clear: () => {
      faults.length = 0
      rejections.length = 0
    }
  }

  const close = async () => {
    if (closed) return
    closed = true
    for (const o of orders) {
      stopTimer(o)
      stopCancel(o)
    }
    for (const w of idleWaiters.splice(0)) w()
    for (const c of clients) c.socket.terminate()
    clients.clear()
    await new Promise<void>((resolve) => wss.close(() => resolve()))
    const shut = (server: Server) =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    await Promise.all([shut(trading), shut(data)])
  }

  return {
    tradingUrl: `http://127.0.0.1:${tradingPort}`,
    dataUrl: `http://127.0.0.1:${dataPort}`,
    streamUrl: `ws://127.0.0.1:${tradingPort}/stream`,
    keyId,
    secretKey,
    requests,
    requestsByPath: () => {
      const counts: Record<string, number> = {}
      for (const r of requests) counts[`${r.method} ${r.path}`] = (counts[`${r.method} ${r.path}`] ?? 0) + 1
      return counts
    },
    streamMessages,
    tradeUpdates,
    orders: () => orders.map(orderJson),
    positions: () => [...positions].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, p]) => positionJson(s, p)),
    account: accountJson,
    ordersPlacedFor: (id) => usedClientIds.get(id) ?? 0,
    submissionsFor: (id) => submissions.get(id) ?? 0,
    streamClients: () => clients.size,
    idle: () =>
      new Promise<void>((resolve) => {
        if (closed || !orders.some(busy)) resolve()
        else idleWaiters.push(resolve)
      }),
    faults: faultsApi,
    close
  }
}
