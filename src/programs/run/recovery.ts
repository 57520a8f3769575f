/**
 * Recovery: every earlier run of the account that did not settle (its process died, it lost its
 * lease, or it stopped with orders still open) is reconciled with the broker's truth before a
 * new run plans, or alone by `rebalance recover`.
 *
 * Each of its intents is looked up at the venue, whatever its stored status (a `pending` intent
 * may have reached the venue just before the crash). What the venue filled and the Store lacks
 * is booked, keyed by order and cumulative quantity so booking twice stores it once. Open orders
 * are cancelled, and the cancel confirmed, or the run stops (`onOpenOrders: abort`). Every
 * intent ends final, and a run still `running` is closed as `crashed`, saying what was found.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Broker, type BrokerOrder, isTerminal, type SentOrder } from "../../effects/Broker.ts"
import {
  type FillRecord,
  isFinalIntent,
  type Lease,
  type OnOpenOrders,
  type OrderIntent,
  type Run,
  Store,
  type StoreWriteError
} from "../../effects/Store.ts"
import { type Decimal, sumOf, ZERO } from "../../kernel/decimal.ts"
import { changeOf } from "./tracker.ts"

/** What recovery did to one earlier run. */
export interface RecoveredRun {
  readonly runId: string
  /** Its status and step before recovery (`running` for a run whose process died). */
  readonly status: Run["status"]
  readonly step: Run["step"]
  /** Intents whose order the venue knows. */
  readonly found: number
  /** Fill rows booked for fills the Store lacked. */
  readonly fillsBooked: number
  /** Intents that were not final and now are. */
  readonly intentsClosed: number
  /** Open orders cancelled (the cancel confirmed by the venue). */
  readonly cancelled: number
  /** The run was `running` and is now `crashed`. */
  readonly closed: boolean
}

/** How recovery treats open orders, and how long it waits for the venue to confirm a cancel. */
export interface RecoveryOptions {
  readonly onOpenOrders: OnOpenOrders
  readonly cancelTimeout: Duration.Input
  readonly pollInterval: Duration.Input
}

/** Recovery could not finish; nothing it did is undone, and the next recovery carries on from there. */
export class RecoveryStopped extends Data.TaggedError("RecoveryStopped")<{
  /** `aborted`: open orders and `onOpenOrders: abort`; `failed`: the broker could not be asked or did not confirm. */
  readonly status: "aborted" | "failed"
  readonly reason: string
}> {}

/** Recovers every unsettled earlier run of the lease's account, oldest first. */
export const recoverAccount = (
  lease: Lease,
  options: RecoveryOptions
): Effect.Effect<ReadonlyArray<RecoveredRun>, RecoveryStopped | StoreWriteError, Broker | Store> =>
  Effect.gen(function*() {
    const runs = yield* (yield* Store).unsettledRuns(lease.account, lease.runId)
    return yield* Effect.forEach(runs, (run) => recoverRun(lease, run, options))
  })

/** One earlier run: its orders looked up, open ones cancelled, fills booked, intents closed, the run closed. */
const recoverRun = (lease: Lease, run: Run, options: RecoveryOptions) =>
  Effect.gen(function*() {
    const store = yield* Store
    const intents = yield* store.intents(run.id)
    const booked = yield* store.fills(run.id)
    const held = yield* startPositions(run.id)
    const looked = yield* Effect.forEach(
      intents,
      (intent) => Effect.map(lookUp(intent, held), (order) => ({ intent, order }))
    )
    const open = looked.flatMap(({ order }) => (order !== undefined && !isTerminal(order.status) ? [order] : []))
    if (open.length > 0 && options.onOpenOrders === "abort") {
      return yield* new RecoveryStopped({
        status: "aborted",
        reason: `${open.length} open order(s) of earlier run ${run.id}; ` +
          `\`rebalance recover --account ${lease.account}\` cancels them`
      })
    }
    const final = yield* cancelAndConfirm(open, options)
    let fillsBooked = 0
    let intentsClosed = 0
    for (const { intent, order } of looked) {
      const now = order === undefined ? undefined : final.get(order.id) ?? order
      const settled = yield* settleIntent(lease, intent, now, booked)
      fillsBooked += settled.fillBooked ? 1 : 0
      intentsClosed += !isFinalIntent(intent.status) ? 1 : 0
    }
    const recovered: RecoveredRun = {
      runId: run.id,
      status: run.status,
      step: run.step,
      found: looked.filter(({ order }) => order !== undefined).length,
      fillsBooked,
      intentsClosed,
      cancelled: open.length,
      closed: run.status === "running"
    }
    if (recovered.closed) {
      yield* store.finishRun(
        run.id,
        "crashed",
        describeRecovery(lease.runId, recovered),
        yield* Clock.currentTimeMillis,
        lease
      )
    }
    return recovered
  })

/**
 * What recovery found, in words: `did not finish (running at sell-wait); closed as crashed by R: 3
 * order(s) found at the venue, …`, or for a run that ended with orders open, `(timed_out at
 * sell-wait) left orders unsettled; settled by R: …`.
 */
export const describeRecovery = (recoveredBy: string, r: RecoveredRun): string =>
  `${r.closed ? "did not finish " : ""}(${r.status} at ${r.step})${r.closed ? "" : " left orders unsettled"}; ` +
  `${r.closed ? "closed as crashed" : "settled"} by ${recoveredBy}: ${r.found} order(s) found at the venue, ` +
  `${r.fillsBooked} fill(s) booked, ${r.intentsClosed} intent(s) closed, ${r.cancelled} open order(s) cancelled`

/** A sell of everything the run held of a symbol at its start: it is sent as closing the position. */
export const closesPosition = (
  order: { readonly side: string; readonly symbol: string; readonly quantity: Decimal },
  held: ReadonlyMap<string, Decimal>
): boolean => order.side === "sell" && held.get(order.symbol)?.eq(order.quantity) === true

/** What the run held of each symbol at its start: a sell of all of it was sent as closing the position. */
const startPositions = (runId: string) =>
  Effect.map(
    Effect.flatMap(Store, (store) => store.accounts(runId)),
    (records) =>
      new Map((records.find((r) => r.stage === "start")?.positions ?? []).map((p) => [p.symbol, p.quantity] as const))
  )

/**
 * The venue's order for an intent: by the broker's id when the intent has one, else by its client
 * order id (with what was sent, for a venue that renamed a close); undefined when the venue has no
 * trace of it. A venue that cannot be asked stops recovery.
 */
const lookUp = (
  intent: OrderIntent,
  held: ReadonlyMap<string, Decimal>
): Effect.Effect<BrokerOrder | undefined, RecoveryStopped, Broker> =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const sent: SentOrder = {
      symbol: intent.symbol,
      quantity: intent.quantity,
      closesPosition: closesPosition(intent, held),
      sentAt: intent.createdAt
    }
    const ask = intent.brokerOrderId === undefined || intent.brokerOrderId === ""
      ? broker.getOrderByClientId(intent.clientOrderId, sent)
      : broker.getOrder(intent.brokerOrderId)
    return yield* ask.pipe(
      Effect.map((order): BrokerOrder | undefined => order),
      Effect.catchTag("OrderNotFound", () => Effect.succeed(undefined)),
      Effect.mapError((e) =>
        new RecoveryStopped({
          status: "failed",
          reason: `cannot look up order ${intent.clientOrderId}: ${e._tag}${"message" in e ? `: ${e.message}` : ""}`
        })
      )
    )
  })

/**
 * Cancels open orders and waits until the venue says each has ended (a cancel is asynchronous at
 * a real venue, and a fill may still come first). The orders as they ended, by the venue's order id.
 */
export const cancelAndConfirm = (
  open: ReadonlyArray<BrokerOrder>,
  options: Pick<RecoveryOptions, "cancelTimeout" | "pollInterval">
): Effect.Effect<ReadonlyMap<string, BrokerOrder>, RecoveryStopped, Broker> =>
  Effect.gen(function*() {
    if (open.length === 0) return new Map()
    const broker = yield* Broker
    const failed = (what: string) => (e: { readonly _tag: string }) =>
      new RecoveryStopped({ status: "failed", reason: `${what}: ${e._tag}` })
    yield* Effect.forEach(
      open,
      (o) => broker.cancelOrder(o.id).pipe(Effect.catchTag("OrderNotFound", () => Effect.void)),
      { discard: true }
    ).pipe(Effect.mapError(failed("cancel open orders")))
    const ended = new Map<string, BrokerOrder>()
    const poll = Effect.forEach(open.filter((o) => !ended.has(o.id)), (o) =>
      broker.getOrder(o.id).pipe(
        Effect.tap((now) => Effect.sync(() => isTerminal(now.status) && ended.set(o.id, now)))
      ), { discard: true })
    const untilEnded: Effect.Effect<void, RecoveryStopped, Broker> = Effect.gen(function*() {
      while (ended.size < open.length) {
        yield* poll.pipe(Effect.mapError(failed("confirm cancels")))
        if (ended.size < open.length) yield* Effect.sleep(options.pollInterval)
      }
    })
    const confirmed = yield* Effect.timeoutOption(untilEnded, options.cancelTimeout)
    if (Option.isNone(confirmed)) {
      return yield* new RecoveryStopped({
        status: "failed",
        reason: `${open.length - ended.size} cancel(s) not confirmed by the venue after ${
          Duration.format(Duration.fromInputUnsafe(options.cancelTimeout))
        }`
      })
    }
    return ended
  })

/**
 * An intent made final from the venue's order: the fills the Store lacks booked with its new
 * state, or the state alone. No order at the venue: a `pending` or `unknown` intent never
 * arrived (`unsent`); one the venue had accepted and no longer knows is closed as `canceled`.
 */
const settleIntent = (
  lease: Lease,
  intent: OrderIntent,
  order: BrokerOrder | undefined,
  booked: ReadonlyArray<FillRecord>
) =>
  Effect.gen(function*() {
    const store = yield* Store
    const at = yield* Clock.currentTimeMillis
    if (order === undefined) {
      if (!isFinalIntent(intent.status)) {
        const never = intent.status === "pending" || intent.status === "unknown"
        yield* store.updateIntent(intent.clientOrderId, {
          status: never ? "unsent" : "canceled",
          reason: never ? "the venue has no trace of it: it never arrived" : "the venue no longer knows this order",
          at
        }, lease)
      }
      return { fillBooked: false }
    }
    const change = changeOf(order, at)
    const fill = missingFill(intent, order, booked, at)
    if (fill !== undefined) yield* store.bookFill(fill, change, lease)
    else yield* store.updateIntent(intent.clientOrderId, change, lease)
    return { fillBooked: fill !== undefined }
  })

/** The fill the venue reports and the Store lacks, at the price implied by the venue's average; commission unknown (0). */
const missingFill = (
  intent: OrderIntent,
  order: BrokerOrder,
  booked: ReadonlyArray<FillRecord>,
  at: number
): FillRecord | undefined => {
  const mine = booked.filter((f) => f.clientOrderId === intent.clientOrderId)
  const quantity = order.filledQuantity.minus(sumOf(mine.map((f) => f.quantity)))
  if (!quantity.gt(ZERO)) return undefined
  const cost = sumOf(mine.map((f) => f.price.times(f.quantity)))
  const price: Decimal = order.averageFillPrice === undefined
    ? intent.price
    : order.averageFillPrice.times(order.filledQuantity).minus(cost).div(quantity)
  return {
    clientOrderId: intent.clientOrderId,
    runId: intent.runId,
    symbol: intent.symbol,
    side: intent.side,
    kind: order.status === "filled" ? "fill" : "partial_fill",
    quantity,
    price,
    commission: ZERO,
    cumulativeQuantity: order.filledQuantity,
    at
  }
}
