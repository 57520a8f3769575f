/**
 * The Alpaca broker: Alpaca's Trading API v2, Market Data API and trade_updates stream
 * behind the Broker interface.
 *
 * Errors, by what the caller can do:
 * - **reads** (account, positions, clock, quotes, orders): 429, 5xx, timeouts and connection
 *   errors are retried with backoff (`AlpacaDefaults.retry`); what still fails is
 *   RateLimited (429, with the wait Alpaca asked for) or BrokerConnectionError (everything
 *   else, Alpaca's message included). An order lookup answered 404 (or 400/422: not an id
 *   Alpaca knows) is OrderNotFound.
 * - **placeOrder** is never repeated by the adapter: 429 is RateLimited (the order was refused,
 *   nothing was placed; send it again after the wait, same client order id); 5xx, timeouts,
 *   connection loss and an unreadable 2xx answer are UnknownOutcome (look the order up by its
 *   client order id first); 401 is BrokerConnectionError (nothing was placed); any other 4xx
 *   (403 buying power, 422 invalid, …) is OrderRejected with Alpaca's message verbatim. A
 *   request Alpaca would refuse anyway is rejected before it is sent (see `orderBody`).
 *   A request that `closesPosition` is sent as `DELETE /v2/positions/{symbol}` (the exact
 *   held quantity, fractions included), with the same error meanings (404: no such position,
 *   OrderRejected); its order is known by the caller's client order id all the same (see
 *   alpaca/closes.ts).
 * - **assets**: one `GET /v2/assets?status=active&asset_class=us_equity` a trading day, retried
 *   like a read, kept for the day (alpaca/assets.ts); a symbol absent from it (inactive or
 *   unknown) is left out: not tradable.
 * - **cancelOrder** is retried like a read (cancelling twice is harmless); 404 is
 *   OrderNotFound; 422 ("not cancelable": already filled, canceled or expired, or being
 *   replaced) succeeds, as for any broker here a cancel of a finished order does: the order's
 *   status says how it ended.
 *
 * Credentials are Redacted; they only ever reach the request headers and the stream's
 * authenticate message, and every error message is scrubbed of them.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import { Decimal } from "../../../kernel/decimal.ts"
import type { Position, Quote } from "../../../kernel/rebalance/snapshot.ts"
import {
  type Asset,
  Broker,
  BrokerConnectionError,
  type BrokerOrder,
  type BrokerShape,
  type MarketClock,
  OrderNotFound,
  OrderRejected,
  type OrderRequest,
  RateLimited,
  type SentOrder,
  UnknownOutcome
} from "../../Broker.ts"
import { type AssetLists, makeAssetLists } from "./assets.ts"
import { capabilities } from "./capabilities.ts"
import { makeCloses } from "./closes.ts"
import { type AlpacaConfig, AlpacaDefaults } from "./config.ts"
import {
  type AlpacaRest,
  type Answer,
  type Api,
  type ConnectionLimits,
  type Endpoint,
  makeConnectionLimits,
  makeRest,
  type RestError,
  type RetrySettings
} from "./http.ts"
import { oneSided, toQuotes, withTrades } from "./marketData.ts"
import { orderBody, toBrokerOrder } from "./orders.ts"
import * as Alpaca from "./schemas.ts"
import { type StreamSettings, tradeUpdates } from "./stream.ts"

/** Timing knobs that `layer` takes from AlpacaDefaults unless given (tests shorten them). */
export interface AlpacaTuning {
  readonly requestTimeoutMillis: number
  readonly retry: RetrySettings
  readonly maxRateLimitWaitMillis: number
  readonly reconnect: StreamSettings["reconnect"]
  readonly handshakeTimeoutMillis: number
}

// ---------------------------------------------------------------------------
// the broker
// ---------------------------------------------------------------------------

const chunks = <A>(items: ReadonlyArray<A>, size: number): ReadonlyArray<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const minFractionalOrderValue = new Decimal(AlpacaDefaults.minFractionalOrderValue)

const rateLimited = (error: { readonly retryAfterMillis: number }) =>
  new RateLimited({ retryAfterMillis: Math.max(error.retryAfterMillis, AlpacaDefaults.minRateLimitWaitMillis) })

/**
 * The Broker of one account. `assetLists`: where the active assets are kept for the day;
 * `connections`: the rate limits of each connection (hosts and key). The registry gives every
 * account the process's, so a fleet shares them; a Broker of its own keeps its own.
 */
export const make = (
  config: AlpacaConfig,
  tuning?: Partial<AlpacaTuning>,
  assetLists: AssetLists = makeAssetLists(),
  connections: ConnectionLimits = makeConnectionLimits()
): Effect.Effect<BrokerShape, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const settings = { ...AlpacaDefaults, ...tuning }
    const rest: AlpacaRest = yield* makeRest({
      tradingUrl: config.tradingUrl,
      dataUrl: config.dataUrl,
      keyId: config.keyId,
      secretKey: config.secretKey,
      requestsPerMinute: config.requestsPerMinute ?? AlpacaDefaults.requestsPerMinute,
      requestTimeoutMillis: settings.requestTimeoutMillis,
      maxRateLimitWaitMillis: settings.maxRateLimitWaitMillis,
      retry: settings.retry
    }, connections)

    /** A read's failure: RateLimited for 429, else BrokerConnectionError with the whole story. */
    const readFailure = (error: RestError | Alpaca.PayloadError): BrokerConnectionError | RateLimited =>
      error._tag === "AlpacaStatusError" && error.status === 429
        ? rateLimited(error)
        : new BrokerConnectionError({ message: rest.scrub(`Alpaca: ${error.message}`) })

    /** An idempotent request, decoded. */
    const read = <S extends Alpaca.PayloadSchema>(api: Api, endpoint: Endpoint, schema: S) =>
      rest.sendIdempotent(api, endpoint).pipe(
        Effect.flatMap((answer) => Alpaca.decode(schema, `${endpoint.method} ${endpoint.path}`)(answer.body))
      )

    // Keel never buys on margin: the cash it plans with is what a cash purchase may spend, the
    // smaller of the cash balance and `non_marginable_buying_power` (a cash account: the cash less
    // what open buys reserve; a margin account: never borrowed money). A negative cash balance (a
    // margin account that borrows) stays negative: the kernel then refuses the snapshot.
    const account = read("trading", { method: "GET", path: "/v2/account" }, Alpaca.Account).pipe(
      Effect.map((a) => ({
        cash: a.cash.lt(a.non_marginable_buying_power) ? a.cash : a.non_marginable_buying_power,
        buyingPower: a.non_marginable_buying_power,
        equity: a.equity
      })),
      Effect.mapError(readFailure)
    )

    const positions = read("trading", { method: "GET", path: "/v2/positions" }, Alpaca.Positions).pipe(
      Effect.map((rows): ReadonlyArray<Position> => rows.map((p) => ({ symbol: p.symbol, quantity: p.qty }))),
      Effect.mapError(readFailure)
    )

    const clock = read("trading", { method: "GET", path: "/v2/clock" }, Alpaca.Clock).pipe(
      Effect.map((c): MarketClock => ({
        isOpen: c.is_open,
        nextOpen: Option.some(c.next_open),
        nextClose: Option.some(c.next_close)
      })),
      Effect.mapError(readFailure)
    )

    const latest = <S extends Alpaca.PayloadSchema>(path: string, schema: S, symbols: ReadonlyArray<string>) =>
      read("data", { method: "GET", path, params: { symbols: symbols.join(","), feed: config.feed } }, schema)

    const quotesOf = (symbols: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const quotes = toQuotes(symbols, yield* latest("/v2/stocks/quotes/latest", Alpaca.LatestQuotes, symbols))
        const lacking = oneSided(symbols, quotes)
        if (lacking.length === 0) return quotes
        // Best effort: without the trades, the one-sided quotes stand as they are.
        return yield* latest("/v2/stocks/trades/latest", Alpaca.LatestTrades, lacking).pipe(
          Effect.map((trades) => withTrades(symbols, quotes, trades)),
          Effect.catch((error) =>
            Effect.as(
              Effect.logWarning(
                rest.scrub(
                  `Alpaca: no latest trades for ${lacking.join(",")}, quotes kept as they are: ${error.message}`
                )
              ),
              quotes
            )
          )
        )
      })

    const quotes = (symbols: ReadonlyArray<string>) =>
      Effect.forEach(chunks([...new Set(symbols)], AlpacaDefaults.symbolsPerRequest), quotesOf).pipe(
        Effect.map((parts): ReadonlyArray<Quote> => parts.flat()),
        Effect.mapError(readFailure)
      )

    const activeAssets = read("trading", {
      method: "GET",
      path: "/v2/assets",
      params: { status: "active", asset_class: "us_equity" }
    }, Alpaca.AssetList)

    const assets = (symbols: ReadonlyArray<string>) =>
      assetLists.of(config.tradingUrl, activeAssets, symbols).pipe(
        Effect.map((listed) =>
          listed.map((a): Asset => ({
            symbol: a.symbol,
            tradable: a.tradable,
            fractionable: a.fractionable,
            minFractionalOrderValue
          }))
        ),
        Effect.mapError(readFailure)
      )

    const closes = makeCloses()
    const named = (order: BrokerOrder) => closes.name(order)

    /** A lookup of one order: 404 (or an id Alpaca cannot read: 400, 422) is OrderNotFound (of `id`). */
    const lookUp = (id: string, endpoint: Endpoint) =>
      read("trading", endpoint, Alpaca.Order).pipe(
        Effect.map((order) => named(toBrokerOrder(order))),
        Effect.mapError((error) =>
          error._tag === "AlpacaStatusError" && (error.status === 404 || error.status === 400 || error.status === 422)
            ? new OrderNotFound({ id })
            : readFailure(error)
        )
      )

    const orderPath = (id: string) => `/v2/orders/${encodeURIComponent(id)}`

    const getOrder = (id: string) => lookUp(id, { method: "GET", path: orderPath(id) })

    /** A lost position close, looked for among the symbol's orders since it was sent (the rule in alpaca/closes.ts). */
    const findClose = (clientOrderId: string, symbol: string, sentAt: number) =>
      read("trading", {
        method: "GET",
        path: "/v2/orders",
        params: {
          status: "all",
          symbols: symbol,
          after: new Date(sentAt - AlpacaDefaults.closeLookupSkewMillis).toISOString(),
          direction: "asc",
          limit: String(AlpacaDefaults.ordersPerRequest)
        }
      }, Alpaca.Orders).pipe(
        Effect.mapError(readFailure),
        Effect.flatMap((orders) =>
          Effect.suspend(() => {
            const found = closes.claim(clientOrderId, orders.map(toBrokerOrder), AlpacaDefaults.closeLookupSkewMillis)
            return found === undefined
              ? Effect.fail(new OrderNotFound({ id: clientOrderId }))
              : Effect.succeed(named(found))
          })
        )
      )

    const getOrderByClientId = (clientOrderId: string, sent?: SentOrder) =>
      Effect.suspend(() => {
        const closeId = closes.orderIdOf(clientOrderId)
        if (closeId !== undefined) return lookUp(clientOrderId, { method: "GET", path: orderPath(closeId) })
        // A close sent by a process that is gone: found as a lost close is, from what was stored of it.
        if (sent?.closesPosition === true && closes.lost(clientOrderId) === undefined) {
          closes.sent(clientOrderId, { symbol: sent.symbol, quantity: sent.quantity, sentAt: sent.sentAt })
          closes.answerLost(clientOrderId)
        }
        const lost = closes.lost(clientOrderId)
        if (lost !== undefined) return findClose(clientOrderId, lost.symbol, lost.sentAt)
        return lookUp(clientOrderId, {
          method: "GET",
          path: "/v2/orders:by_client_order_id",
          params: { client_order_id: clientOrderId }
        })
      })

    const openOrders = read("trading", {
      method: "GET",
      path: "/v2/orders",
      params: { status: "open", limit: String(AlpacaDefaults.ordersPerRequest) }
    }, Alpaca.Orders).pipe(
      Effect.tap((orders) =>
        orders.length >= AlpacaDefaults.ordersPerRequest
          ? Effect.logWarning(
            `Alpaca: ${orders.length} open orders answered, the most one request returns; others may exist`
          )
          : Effect.void
      ),
      Effect.map((orders) => orders.map((order) => named(toBrokerOrder(order)))),
      Effect.mapError(readFailure)
    )

    const cancelOrder = (id: string) =>
      rest.sendIdempotent("trading", { method: "DELETE", path: orderPath(id) }).pipe(
        Effect.asVoid,
        Effect.catch((error) =>
          error._tag !== "AlpacaStatusError"
            ? Effect.fail(readFailure(error))
            : error.status === 422
            ? Effect.void
            : Effect.fail(error.status === 404 ? new OrderNotFound({ id }) : readFailure(error))
        )
      )

    /** A request that places an order, sent exactly once; `clientOrderId` names the order in the errors. */
    const placing = (clientOrderId: string, endpoint: Endpoint, lost: string) =>
      rest.send("trading", endpoint).pipe(
        Effect.flatMap((answer: Answer) =>
          Alpaca.decode(Alpaca.Order, `${endpoint.method} ${endpoint.path}`)(answer.body).pipe(
            Effect.mapError((error) =>
              new UnknownOutcome({
                clientOrderId,
                message: rest.scrub(
                  `Alpaca: the order was accepted (HTTP ${answer.status}) but its answer cannot be read: ${error.message}; ${lost}`
                )
              })
            )
          )
        ),
        Effect.map(toBrokerOrder),
        Effect.catchTags({
          AlpacaTransportError: (error) =>
            Effect.fail(new UnknownOutcome({ clientOrderId, message: `Alpaca: ${error.message}; ${lost}` })),
          AlpacaStatusError: (error) => {
            if (error.status === 429) return Effect.fail(rateLimited(error))
            if (error.status === 401) {
              return Effect.fail(new BrokerConnectionError({ message: `Alpaca: ${error.message}` }))
            }
            if (error.status === 408 || error.status >= 500) {
              return Effect.fail(new UnknownOutcome({ clientOrderId, message: `Alpaca: ${error.message}; ${lost}` }))
            }
            return Effect.fail(new OrderRejected({ clientOrderId, reason: error.alpacaMessage ?? error.message }))
          }
        })
      )

    const lostAnswer = (clientOrderId: string) =>
      `look order ${clientOrderId} up by its client order id before sending it again`

    /**
     * DELETE /v2/positions/{symbol}: Alpaca sells exactly what is held, at market. The send is
     * remembered first, so a lost answer can be found (getOrderByClientId); the answer's order
     * is the intent's from then on.
     */
    const closePosition = (request: OrderRequest) =>
      Effect.gen(function*() {
        const clientOrderId = request.clientOrderId
        if (request.side !== "sell" || request.type !== "market") {
          return yield* new OrderRejected({ clientOrderId, reason: "a position close is a market sell" })
        }
        const sentAt = yield* Clock.currentTimeMillis
        yield* Effect.sync(() =>
          closes.sent(clientOrderId, { symbol: request.symbol, quantity: request.quantity, sentAt })
        )
        const order = yield* placing(
          clientOrderId,
          { method: "DELETE", path: `/v2/positions/${encodeURIComponent(request.symbol)}` },
          lostAnswer(clientOrderId)
        ).pipe(
          // Only a lost answer leaves something to find; any other failure placed nothing.
          Effect.tapError((error) =>
            Effect.sync(
              () => (error._tag === "UnknownOutcome" ? closes.answerLost(clientOrderId) : closes.refused(clientOrderId))
            )
          )
        )
        yield* Effect.sync(() => closes.placed(clientOrderId, order))
        return named(order)
      })

    const placeOrder = (request: OrderRequest) => {
      if (request.closesPosition === true) return closePosition(request)
      const body = orderBody(request, config.fractional)
      if (Result.isFailure(body)) {
        return Effect.fail(new OrderRejected({ clientOrderId: request.clientOrderId, reason: body.failure }))
      }
      return placing(
        request.clientOrderId,
        { method: "POST", path: "/v2/orders", body: body.success },
        lostAnswer(request.clientOrderId)
      )
    }

    return {
      kind: "alpaca",
      capabilities: config.marketBuyCollar === undefined
        ? capabilities
        : { ...capabilities, marketBuyCollar: config.marketBuyCollar },
      account,
      positions,
      quotes,
      clock,
      assets,
      placeOrder,
      getOrder,
      getOrderByClientId,
      cancelOrder,
      openOrders,
      updates: tradeUpdates({
        url: config.streamUrl,
        keyId: config.keyId,
        secretKey: config.secretKey,
        handshakeTimeoutMillis: settings.handshakeTimeoutMillis,
        reconnect: settings.reconnect
      }).pipe(
        Stream.filter((update) => !closes.unnamed(update.order)),
        Stream.map((update) => ({ ...update, order: named(update.order) }))
      )
    } satisfies BrokerShape
  })

/** The Alpaca Broker. `tuning` overrides AlpacaDefaults' timings (tests); `assetLists` and `connections` as for `make`. */
export const layer = (
  config: AlpacaConfig,
  tuning?: Partial<AlpacaTuning>,
  assetLists?: AssetLists,
  connections?: ConnectionLimits
): Layer.Layer<Broker, never, HttpClient.HttpClient> =>
  Layer.effect(Broker)(make(config, tuning, assetLists, connections))
