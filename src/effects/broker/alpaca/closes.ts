/**
 * Position closes under the caller's client order id.
 *
 * A sell of a whole position (`closesPosition`) is sent as `DELETE /v2/positions/{symbol}`,
 * and Alpaca gives the order it places a client_order_id of its own. Keel knows every order
 * by the id its intent was stored under, so the adapter keeps, in memory, which of Alpaca's
 * orders is which intent (by Alpaca's order id and by Alpaca's client_order_id) and names the
 * order by the caller's id in every answer, lookup and update.
 *
 * A close whose answer was lost is found without its client id. The rule (`claim`): the
 * earliest sell of that symbol, for exactly the quantity the close was sent for (all that
 * was held), submitted no earlier than the DELETE was sent, less the allowed clock skew,
 * that is not already the order of another intent. An earlier partial sell, or any sell of
 * another size, is never taken for the close. None is "not found":
 * the program may then send the close once more. If that second DELETE is refused (Alpaca
 * answers 404 for a position already closed, which it is when the first close did arrive),
 * the first send is still looked for, from the time it was sent.
 *
 * Updates of a close that arrive before its order is known (the DELETE's answer still on its
 * way, or lost and not yet found) name no intent, so they are dropped (`unnamed`); once the
 * order is known, every later update is named, and the program's poll of the order catches
 * up with whatever was dropped. Held updates would save a poll, but would have to be kept for
 * closes that are never found.
 *
 * The state lives as long as the Broker layer: a close is found again within one process.
 */
import type { Decimal } from "../../../kernel/decimal.ts"
import type { BrokerOrder } from "../../Broker.ts"

/** When, and for which symbol, a close was sent. */
export interface CloseSent {
  readonly symbol: string
  /** What the position held when it was sent: the close's order is for exactly this. */
  readonly quantity: Decimal
  /** Epoch milliseconds, Effect's Clock. */
  readonly sentAt: number
}

interface Pending extends CloseSent {
  /** Its answer was lost: an order may exist that nobody was told of. */
  readonly lost: boolean
}

export interface Closes {
  /** A DELETE is about to be sent for the intent `clientOrderId`. */
  readonly sent: (clientOrderId: string, close: CloseSent) => void
  /** The DELETE was answered with `order`: it is the intent's order from now on. */
  readonly placed: (clientOrderId: string, order: BrokerOrder) => void
  /** The DELETE's answer was lost (UnknownOutcome): its order may exist. */
  readonly answerLost: (clientOrderId: string) => void
  /** The DELETE was refused (nothing placed by it): nothing is left to find, unless an earlier send's answer was lost. */
  readonly refused: (clientOrderId: string) => void
  /** The close sent and not known yet (the earliest send whose answer was lost, if any). */
  readonly lost: (clientOrderId: string) => CloseSent | undefined
  /** Alpaca's order id of the intent's close, once known. */
  readonly orderIdOf: (clientOrderId: string) => string | undefined
  /**
   * Picks the lost close's order among Alpaca's orders (see the rule above) and makes it the
   * intent's order; undefined when none fits.
   */
  readonly claim: (
    clientOrderId: string,
    candidates: ReadonlyArray<BrokerOrder>,
    skewMillis: number
  ) => BrokerOrder | undefined
  /** The order named by its caller's id when it is a close Keel sent; any other order as it is. */
  readonly name: (order: BrokerOrder) => BrokerOrder
  /** An order that may be a close sent but not known yet (a sell of a symbol being closed, not named). */
  readonly unnamed: (order: BrokerOrder) => boolean
}

export const makeCloses = (): Closes => {
  /** Alpaca's order id → the caller's id. */
  const byOrderId = new Map<string, string>()
  /** Alpaca's client_order_id → the caller's id. */
  const byAlpacaClientId = new Map<string, string>()
  /** The caller's id → Alpaca's order id. */
  const orderIds = new Map<string, string>()
  /** Closes sent and not answered (in flight, or lost), by the caller's id. */
  const pending = new Map<string, Pending>()

  const placed = (clientOrderId: string, order: BrokerOrder) => {
    pending.delete(clientOrderId)
    byOrderId.set(order.id, clientOrderId)
    byAlpacaClientId.set(order.clientOrderId, clientOrderId)
    orderIds.set(clientOrderId, order.id)
  }

  const callerOf = (order: BrokerOrder): string | undefined =>
    byOrderId.get(order.id) ?? byAlpacaClientId.get(order.clientOrderId)

  return {
    sent: (clientOrderId, close) => {
      // A send after a lost one: the lost one is what may have arrived, from its own time on.
      if (pending.get(clientOrderId)?.lost !== true) pending.set(clientOrderId, { ...close, lost: false })
    },
    placed,
    answerLost: (clientOrderId) => {
      const close = pending.get(clientOrderId)
      if (close !== undefined) pending.set(clientOrderId, { ...close, lost: true })
    },
    refused: (clientOrderId) => {
      if (pending.get(clientOrderId)?.lost !== true) pending.delete(clientOrderId)
    },
    lost: (clientOrderId) => {
      const close = orderIds.has(clientOrderId) ? undefined : pending.get(clientOrderId)
      return close === undefined ? undefined : { symbol: close.symbol, quantity: close.quantity, sentAt: close.sentAt }
    },
    orderIdOf: (clientOrderId) => orderIds.get(clientOrderId),
    claim: (clientOrderId, candidates, skewMillis) => {
      const close = pending.get(clientOrderId)
      if (close === undefined) return undefined
      const found = candidates
        .filter((o) =>
          o.symbol === close.symbol &&
          o.side === "sell" &&
          o.quantity.eq(close.quantity) &&
          o.submittedAt >= close.sentAt - skewMillis &&
          (callerOf(o) === undefined || callerOf(o) === clientOrderId)
        )
        .sort((a, b) => a.submittedAt - b.submittedAt)[0]
      if (found !== undefined) placed(clientOrderId, found)
      return found
    },
    name: (order) => {
      const caller = callerOf(order)
      return caller === undefined ? order : { ...order, clientOrderId: caller }
    },
    unnamed: (order) => {
      if (order.side !== "sell" || callerOf(order) !== undefined) return false
      for (const close of pending.values()) if (close.symbol === order.symbol) return true
      return false
    }
  }
}
