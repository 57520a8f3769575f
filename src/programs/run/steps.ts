/**
 * The run's steps, each a named function: load, snapshot, guards, plan, the sell phase,
 * waiting for a phase's orders, re-planning the buys, the buy phase, the final snapshot
 * and reconciling. A step takes the run's current `Progress` (progress.ts) and returns it
 * grown; a snapshot step also returns what later steps need that the progress does not
 * hold (the start account, its open orders, the venue's policy; the final positions).
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Broker, type BrokerOrder, isTerminal } from "../../effects/Broker.ts"
import {
  type AccountStage,
  type Lease,
  type OnOpenOrders,
  type OnOutsideOrders,
  type PlanStage,
  Store,
  type StoreWriteError
} from "../../effects/Store.ts"
import { type Decimal, format, isZero, max, ZERO } from "../../kernel/decimal.ts"
import type { Order, Phase } from "../../kernel/rebalance/orders.ts"
import { type Policy, withVenueRules } from "../../kernel/rebalance/policy.ts"
import { makeModel, planBuys, planRebalance, type Rebalance } from "../../kernel/rebalance/rebalance.ts"
import { reconcile } from "../../kernel/rebalance/reconcile.ts"
import { type Account, bySymbol, type Position, type Quote } from "../../kernel/rebalance/snapshot.ts"
import type { Targets } from "../../kernel/rebalance/targets.ts"
import { storedPlan } from "../documents/plan.ts"
import { beforePlan, onPlan, type RunGuards } from "./guards.ts"
import { isKeelOrderId } from "./ids.ts"
import type { LeaseSettings } from "./lease.ts"
import { brokerStop, type Progress, step, Stop, withWarnings } from "./progress.ts"
import { cancelAndConfirm, closesPosition, describeRecovery, recoverAccount, type RecoveryOptions } from "./recovery.ts"
import { submit } from "./submit.ts"
import type { Tracker } from "./tracker.ts"
import { waitFor } from "./wait.ts"

export interface RunRequest {
  readonly account: string
  /** Validated where they entered (keel.yaml, a session's header): the run trusts them. */
  readonly targets: Targets
  readonly policy: Policy
  readonly execute: boolean
  /** Only honoured on a simulated market (the paper venue): real markets are traded only when open. */
  readonly ignoreMarketHours: boolean
  /** What to do with open orders left by an earlier run. */
  readonly onOpenOrders: OnOpenOrders
  /** What to do with open orders placed outside Keel (default `abort`). */
  readonly onOutsideOrders?: OnOutsideOrders
  /** How long to wait for each phase's orders to finish (default 60 s). */
  readonly fillTimeout: Duration.Input
  /** How often to ask the broker about orders the update stream has not finished. */
  readonly pollInterval: Duration.Input
  /** Said on the run's summary (warnings from resolving the targets, e.g. a strategy left in cash). */
  readonly notes?: ReadonlyArray<string>
  /** How long the account lease lives without a heartbeat, and how long to wait for a held one (LeaseDefaults). */
  readonly lease?: LeaseSettings
  /** The trading guards (none: only market hours and open orders are checked, as for a replay). */
  readonly guards?: RunGuards
  /** Where the run's artifacts go (the root folder): its notification points to the run's own folder there. */
  readonly artifacts?: string
}

/** What the broker says of the account: its cash and positions, sorted by symbol. */
export interface Holdings {
  readonly cash: Decimal
  readonly equity: Decimal
  readonly positions: ReadonlyArray<Position>
}

/** What the broker says of the account and of the market for its symbols, sorted by symbol. */
export interface BrokerSnapshot extends Holdings {
  readonly quotes: ReadonlyArray<Quote>
}

/** The targets' symbols and those held, sorted: what a run prices. */
const universe = (request: RunRequest, positions: ReadonlyArray<Position>): ReadonlyArray<string> =>
  [...new Set([...request.targets.weights.map((t) => t.symbol), ...positions.map((p) => p.symbol)])].sort()

/** The account, as the broker reports it, without a quote (a failure stops the run). */
const readHoldings = (progress: Progress) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const account = yield* broker.account
    const positions = yield* broker.positions
    return { cash: account.cash, equity: account.equity, positions: [...positions].sort(bySymbol) } satisfies Holdings
  }).pipe(Effect.mapError(brokerStop("snapshot", progress)))

/** The account and the market for its symbols, as the broker reports them (a failure stops the run). */
const readBroker = (request: RunRequest, progress: Progress) =>
  Effect.gen(function*() {
    const holdings = yield* readHoldings(progress)
    const quotes = yield* (yield* Broker).quotes(universe(request, holdings.positions)).pipe(
      Effect.mapError(brokerStop("snapshot", progress))
    )
    return { ...holdings, quotes: [...quotes].sort(bySymbol) } satisfies BrokerSnapshot
  })

/** Saves the account in the Store under a stage of the run. */
const saveAccount = (lease: Lease, stage: AccountStage, { cash, equity, positions }: Holdings) =>
  Effect.gen(function*() {
    const at = yield* Clock.currentTimeMillis
    yield* (yield* Store).saveAccount({ runId: lease.runId, stage, cash, equity, positions, at }, lease)
  })

/** The account at a stage of the run: read from the broker, then saved in the Store under that stage. */
const snapshotAt = (stage: AccountStage, request: RunRequest, progress: Progress) =>
  Effect.tap(readBroker(request, progress), (snapshot) => saveAccount(progress.lease, stage, snapshot))

const savePlan = (lease: Lease, stage: PlanStage, plan: Rebalance) =>
  Effect.flatMap(Store, (store) => store.savePlan(lease.runId, stage, storedPlan(plan), lease))

/**
 * What the kernel plans from: the cash and the positions actually held, less what open orders
 * placed outside Keel hold (`outsideOrders: reserve`): a buy's unfilled rest at its limit (else
 * the ask, the last, the bid; unpriced, all the cash), a sell's unfilled shares.
 */
const accountOf = (
  snapshot: BrokerSnapshot,
  outside: ReadonlyArray<BrokerOrder>,
  cashNetOfOpenBuys: boolean
): Account => {
  const quotes = new Map(snapshot.quotes.map((q) => [q.symbol, q]))
  let cash = snapshot.cash
  const selling = new Map<string, Decimal>()
  for (const o of outside) {
    const rest = o.quantity.minus(o.filledQuantity)
    if (o.side === "sell") {
      selling.set(o.symbol, (selling.get(o.symbol) ?? ZERO).plus(rest))
      continue
    }
    if (cashNetOfOpenBuys) continue
    const quote = quotes.get(o.symbol)
    const price = o.limitPrice ?? quote?.ask ?? quote?.last ?? quote?.bid
    cash = price === undefined ? ZERO : cash.minus(rest.times(price))
  }
  return {
    cash: max(cash, ZERO),
    positions: snapshot.positions
      .map((p) => ({ ...p, quantity: max(p.quantity.minus(selling.get(p.symbol) ?? ZERO), ZERO) }))
      .filter((p) => !isZero(p.quantity))
  }
}

/** The quotes of the symbols the venue trades: one it will not trade is unpriced to the kernel, so no order is planned for it. */
const tradable = (quotes: ReadonlyArray<Quote>, snapshotted: Snapshotted): ReadonlyArray<Quote> =>
  snapshotted.untradable.size === 0 ? quotes : quotes.filter((q) => !snapshotted.untradable.has(q.symbol))

/** Open orders placed outside Keel that the run leaves alone and plans around (`outsideOrders: reserve`). */
const reservedFor = (request: RunRequest, open: ReadonlyArray<BrokerOrder>): ReadonlyArray<BrokerOrder> =>
  request.onOutsideOrders === "reserve" ? open.filter((o) => !isKeelOrderId(o.clientOrderId)) : []

/** Load: the targets and policy are validated already. */
export const load = (request: RunRequest, progress: Progress): Effect.Effect<Progress, StoreWriteError, Store> =>
  step("load", progress, Effect.succeed, { account: request.account })

/** How recovery and the guards treat open orders: as the request says, a cancel confirmed within the fill timeout. */
const recoveryOptions = (request: RunRequest): RecoveryOptions => ({
  onOpenOrders: request.onOpenOrders,
  cancelTimeout: request.fillTimeout,
  pollInterval: request.pollInterval
})

/**
 * Recover: every earlier run of the account that did not settle is reconciled with the broker
 * (recovery.ts) before anything is planned. A preview never touches the account: it only says
 * what an execution would recover.
 */
export const recover = (
  request: RunRequest,
  progress: Progress
): Effect.Effect<Progress, Stop | StoreWriteError, Broker | Store> =>
  step("recover", progress, (progress) =>
    Effect.gen(function*() {
      if (!request.execute) {
        const unsettled = yield* (yield* Store).unsettledRuns(request.account, progress.runId)
        return withWarnings(
          progress,
          unsettled.map((r) => `run ${r.id} (${r.status} at ${r.step}) is not settled; an execution recovers it first`)
        )
      }
      const recovered = yield* recoverAccount(progress.lease, recoveryOptions(request)).pipe(
        Effect.catchTag("RecoveryStopped", (e) =>
          Effect.fail(
            new Stop({
              status: e.status,
              category: e.status === "aborted" ? "guard" : "broker",
              reason: e.reason,
              progress
            })
          ))
      )
      return withWarnings(progress, recovered.map((r) => `run ${r.runId} ${describeRecovery(progress.runId, r)}`))
    }))

/** What the run learnt at its start, beyond its progress: later steps plan and reconcile from it. */
export interface Snapshotted {
  readonly start: BrokerSnapshot
  /** Open orders at the broker, left by an earlier run (or placed outside Keel). */
  readonly open: ReadonlyArray<BrokerOrder>
  /** The request's policy under the venue's rules. */
  readonly policy: Policy
  /** Symbols the venue will not trade: left out of every plan as unpriced. */
  readonly untradable: ReadonlySet<string>
  /** The venue's cash already nets its open buys (`Capabilities.cashNetOfOpenBuys`). */
  readonly cashNetOfOpenBuys: boolean
}

/**
 * Snapshot: the account at the start, its open orders, then the start saved (a run whose
 * open orders cannot be read stores no account), and the policy under the venue's rules.
 */
export const snapshot = (
  request: RunRequest,
  progress: Progress
): Effect.Effect<readonly [Progress, Snapshotted], Stop | StoreWriteError, Broker | Store> =>
  step("snapshot", progress, (progress) =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const start = yield* readBroker(request, progress)
      const open = yield* broker.openOrders.pipe(Effect.mapError(brokerStop("open orders", progress)))
      yield* saveAccount(progress.lease, "start", start)
      const known: Progress = withWarnings(
        { ...progress, cash: { before: start.cash, after: start.cash } },
        yield* newStoreNote(request, start, open, progress)
      )
      const venue = yield* venuePolicy(request.policy, universe(request, start.positions), known)
      return [venue.progress, {
        start,
        open,
        policy: venue.policy,
        untradable: venue.untradable,
        cashNetOfOpenBuys: broker.capabilities.cashNetOfOpenBuys
      }] as const
    }))

/**
 * A store that knows no earlier run of an account the venue shows holdings or open orders for is
 * new (or was deleted): the run says so, and starts from the venue's truth, as always.
 */
const newStoreNote = (
  request: RunRequest,
  start: BrokerSnapshot,
  open: ReadonlyArray<BrokerOrder>,
  progress: Progress
) =>
  Effect.gen(function*() {
    if (start.positions.length === 0 && open.length === 0) return []
    const runs = yield* (yield* Store).listRuns(request.account, 2)
    if (runs.some((r) => r.id !== progress.runId)) return []
    return [
      `the store knows no earlier run of ${request.account} (it is new): ` +
      "the venue's positions and open orders are taken as they are"
    ]
  })

/**
 * The symbols the venue will not trade, under any policy: those it answers as not tradable,
 * and those it does not answer for (unknown, or no longer listed). And a fractional policy
 * under the venue's rules: symbols it trades in whole shares only get lots of one share, and
 * no order is smaller than its fractional minimum.
 */
const venuePolicy = (policy: Policy, symbols: ReadonlyArray<string>, progress: Progress) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const answered = yield* broker.assets(symbols).pipe(Effect.mapError(brokerStop("assets", progress)))
    const assets = answered.filter((a) => a.tradable)
    const tradable = new Set(assets.map((a) => a.symbol))
    const untradable = symbols.filter((symbol) => !tradable.has(symbol))
    const wholeShares = policy.shares === "fractional" ? assets.filter((a) => !a.fractionable).map((a) => a.symbol) : []
    const minOrderValue = assets.reduce((m, a) => (a.fractionable ? max(m, a.minFractionalOrderValue) : m), ZERO)
    const collar = broker.capabilities.marketBuyCollar
    return {
      policy: withVenueRules(policy, {
        wholeShares,
        minOrderValue,
        ...(collar === undefined ? {} : { cashReserve: collar })
      }),
      untradable: new Set(untradable),
      progress: withWarnings(progress, [
        ...(wholeShares.length > 0
          ? [`not fractionable at the venue, traded in whole shares: ${wholeShares.join(", ")}`]
          : []),
        ...(untradable.length > 0
          ? [`not tradable at the venue, left out of the plan as unpriced: ${untradable.join(", ")}`]
          : [])
      ])
    }
  })

/** Guards: the market is open (or the run only previews), and open orders are dealt with as the request says. */
export const guards = (
  request: RunRequest,
  open: ReadonlyArray<BrokerOrder>,
  progress: Progress
): Effect.Effect<Progress, Stop | StoreWriteError, Broker | Store> =>
  step(
    "guards",
    progress,
    (progress) =>
      marketHours(request, progress).pipe(
        Effect.flatMap((progress) => openOrders(request, open, progress)),
        Effect.flatMap((progress) =>
          request.guards === undefined
            ? Effect.succeed(progress)
            : beforePlan(request.guards, request.execute, progress)
        )
      ),
    // An override asked for on the command line is recorded with the step.
    {
      openOrders: open.length,
      ...(request.guards?.force === true ? { force: true } : {}),
      ...(request.guards?.confirmOverLimits === true ? { confirmOverLimits: true } : {})
    }
  )

const marketHours = (request: RunRequest, progress: Progress) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const clock = yield* broker.clock.pipe(Effect.mapError(brokerStop("market clock", progress)))
    if (clock.isOpen || (broker.capabilities.marketClock === "simulated" && request.ignoreMarketHours)) {
      return progress
    }
    const closed = `the market is closed (next open ${nextOpen(clock.nextOpen)})`
    // A preview changes nothing, so it may plan while the market is closed.
    if (!request.execute) return withWarnings(progress, [closed])
    return yield* new Stop({ status: "aborted", category: "guard", reason: closed, progress })
  })

/** The next open, or "never" for a market that is not going to open (a simulated market configured closed). */
const nextOpen = (at: Option.Option<number>): string =>
  Option.match(at, { onNone: () => "never", onSome: (millis) => new Date(millis).toISOString() })

/** Open orders at the venue: those placed outside Keel, then Keel's own that no unfinished run of this store placed. */
const openOrders = (request: RunRequest, open: ReadonlyArray<BrokerOrder>, progress: Progress) =>
  Effect.flatMap(
    outsideOrders(request, open.filter((o) => !isKeelOrderId(o.clientOrderId)), progress),
    (progress) => keelOrders(request, open.filter((o) => isKeelOrderId(o.clientOrderId)), progress)
  )

/**
 * Orders placed outside Keel (a hand-placed GTC order) are never Keel's to cancel: the run stops
 * and says so (`outsideOrders: abort`, the default), or plans around them (`reserve`).
 */
const outsideOrders = (request: RunRequest, outside: ReadonlyArray<BrokerOrder>, progress: Progress) =>
  Effect.gen(function*() {
    if (outside.length === 0) return progress
    const which = `${outside.length} open order(s) placed outside Keel (${
      outside.map((o) => o.clientOrderId).join(", ")
    })`
    if (request.onOutsideOrders === "reserve") {
      return withWarnings(progress, [`${which} left alone: the cash and shares they hold are kept out of the plan`])
    }
    const reason = `${which}: Keel leaves them alone; set outsideOrders: reserve to rebalance around them`
    if (!request.execute) return withWarnings(progress, [`${reason} (an execution would stop)`])
    return yield* new Stop({ status: "aborted", category: "guard", reason, progress })
  })

/** Keel's own open orders that recovery did not settle (a store deleted since): cancelled, or the run stops. */
const keelOrders = (request: RunRequest, open: ReadonlyArray<BrokerOrder>, progress: Progress) =>
  Effect.gen(function*() {
    if (open.length === 0) return progress
    if (!request.execute) {
      // A preview never touches the account: it only says what an execution would do.
      return withWarnings(progress, [
        `${open.length} open order(s) at the venue; an execution would ${
          request.onOpenOrders === "abort" ? "abort" : "cancel them"
        }`
      ])
    }
    if (request.onOpenOrders === "abort") {
      return yield* new Stop({
        status: "aborted",
        category: "guard",
        reason: `${open.length} open order(s) at the venue that no run of this store placed`,
        progress
      })
    }
    yield* cancelAndConfirm(open, recoveryOptions(request)).pipe(
      Effect.catchTag(
        "RecoveryStopped",
        (e) => Effect.fail(new Stop({ status: "failed", category: "broker", reason: e.reason, progress }))
      )
    )
    return withWarnings(progress, [
      `cancelled ${open.length} open order(s) at the venue that no run of this store placed`
    ])
  })

/** The progress once the plan is made. */
export type Planned = Progress & { readonly plan: Rebalance }

/** The progress once the buys are re-planned. */
export type Replanned = Progress & { readonly buys: Rebalance }

/** Plan: the kernel's plan from the start snapshot, saved; a preview ends here. */
export const plan = (
  request: RunRequest,
  snapshotted: Snapshotted,
  progress: Progress
): Effect.Effect<Planned, Stop | StoreWriteError, Store> =>
  step("plan", progress, (progress) =>
    Effect.gen(function*() {
      const { policy, start } = snapshotted
      const account = accountOf(start, reservedFor(request, snapshotted.open), snapshotted.cashNetOfOpenBuys)
      const planned = planRebalance(account, makeModel(request.targets, tradable(start.quotes, snapshotted), policy))
      // A preview reports the plan's cash; an execution only ever the broker's.
      const cash = request.execute ? progress.cash : { ...progress.cash, after: planned.orders.cash.after }
      const next = withWarnings({ ...progress, plan: planned, cash }, planned.warnings.map((w) => w.message))
      yield* savePlan(progress.lease, "plan", planned)
      // The plan is stored first, so a refused one can be read in `status` and the artifacts.
      return request.guards === undefined
        ? next
        : { ...yield* onPlan(request.guards, request.execute, planned, next), plan: planned }
    }))

/** The sell phase: the plan's sells. A sell of everything the account held at the start closes the position. */
export const sellPhase = (
  tracker: Tracker,
  start: BrokerSnapshot,
  planned: Planned
): Effect.Effect<Progress, Stop | StoreWriteError, Broker | Store> =>
  sendPhase(
    "sell",
    tracker,
    planned.plan.orders.orders.filter((o) => o.phase === "sell"),
    new Map(start.positions.map((p) => [p.symbol, p.quantity])),
    planned
  )

/** The buy phase: the re-planned buys. */
export const buyPhase = (
  tracker: Tracker,
  replanned: Replanned
): Effect.Effect<Progress, Stop | StoreWriteError, Broker | Store> =>
  sendPhase("buy", tracker, replanned.buys.orders.orders.filter((o) => o.phase === "buy"), new Map(), replanned)

/**
 * A phase's orders, sent one by one (each intent stored first). A sell of everything `held`
 * says the account holds closes the position. A submit that cannot be settled stops the run.
 */
const sendPhase = (
  phase: Phase,
  tracker: Tracker,
  orders: ReadonlyArray<Order>,
  held: ReadonlyMap<string, Decimal>,
  progress: Progress
): Effect.Effect<Progress, Stop | StoreWriteError, Broker | Store> =>
  step(
    `${phase}-phase`,
    progress,
    (progress) =>
      Effect.reduce(orders, () => progress, (sent, order) => {
        return submit(tracker, order, closesPosition(order, held)).pipe(
          Effect.map((submitted): Progress => ({ ...sent, submitted: [...sent.submitted, submitted] })),
          Effect.catchTag(
            "ExecutionHalted",
            (e) => Effect.fail(new Stop({ status: "failed", category: "broker", reason: e.reason, progress: sent }))
          )
        )
      }),
    { orders: orders.length }
  )

/**
 * Waits for the phase's placed orders to finish. Orders not finished in time stop the run
 * (after the sells: no buy is placed); what they filled is kept either way.
 */
export const awaitPhase = (
  request: RunRequest,
  phase: Phase,
  tracker: Tracker,
  progress: Progress
): Effect.Effect<Progress, Stop | StoreWriteError, Broker | Store> => {
  const ids = progress.submitted
    .filter((s) => s.order.phase === phase && s.placed !== undefined)
    .map((s) => s.clientOrderId)
  return step(`${phase}-wait`, progress, (progress) =>
    Effect.gen(function*() {
      const waited = yield* waitFor(tracker, ids, request.fillTimeout, request.pollInterval)
      const known = new Map(progress.orders.map((o) => [o.clientOrderId, o]))
      for (const o of waited.orders) known.set(o.clientOrderId, o)
      const next: Progress = { ...progress, orders: [...known.values()] }
      if (!waited.timedOut) return next
      const open = waited.orders.filter((o) => !isTerminal(o.status)).length
      return yield* new Stop({
        status: "timed_out",
        category: "timeout",
        reason: `${open} ${phase} order(s) not finished after ${
          Duration.format(Duration.fromInputUnsafe(request.fillTimeout))
        }${phase === "sell" ? "; no buys placed" : ""}`,
        progress: next
      })
    }), { orders: ids.length })
}

/**
 * Re-plan the buys: a fresh snapshot (saved), and the buys planned from the cash the sells
 * really left. A run that placed no sell and found no open order at the start has changed
 * nothing at the venue since: its start stands for after the sells, and the venue is not asked.
 */
export const replanBuys = (
  request: RunRequest,
  snapshotted: Snapshotted,
  progress: Progress
): Effect.Effect<Replanned, Stop | StoreWriteError, Broker | Store> =>
  step("replan-buys", progress, (progress) =>
    Effect.gen(function*() {
      const fresh = unchangedSinceStart(snapshotted, progress)
        ? yield* Effect.as(saveAccount(progress.lease, "after-sells", snapshotted.start), snapshotted.start)
        : yield* snapshotAt("after-sells", request, progress)
      // Outside orders as they stood at the start: one that filled since holds its cash twice, never too little.
      const account = accountOf(fresh, reservedFor(request, snapshotted.open), snapshotted.cashNetOfOpenBuys)
      const buys = planBuys(
        account,
        makeModel(request.targets, tradable(fresh.quotes, snapshotted), snapshotted.policy)
      )
      yield* savePlan(progress.lease, "buy-replan", buys)
      return { ...progress, cash: { ...progress.cash, after: fresh.cash }, buys }
    }))

/** No sell was placed, and no open order (another run's, or outside Keel's) was there to change the account meanwhile. */
const unchangedSinceStart = (snapshotted: Snapshotted, progress: Progress): boolean =>
  snapshotted.open.length === 0 && progress.submitted.every((s) => s.placed === undefined)

/** Final snapshot: the account as the broker reports it after the run (saved, no quote asked); its positions, to reconcile. */
export const finalSnapshot = (
  progress: Progress
): Effect.Effect<readonly [Progress, ReadonlyArray<Position>], Stop | StoreWriteError, Broker | Store> =>
  step("final-snapshot", progress, (progress) =>
    Effect.gen(function*() {
      const final = yield* readHoldings(progress)
      yield* saveAccount(progress.lease, "final", final)
      return [{ ...progress, cash: { ...progress.cash, after: final.cash } }, final.positions] as const
    }))

/** Reconcile: start + every fill against the final positions; each difference is a warning, never ignored. */
export const reconcileFills = (
  start: BrokerSnapshot,
  final: ReadonlyArray<Position>,
  progress: Progress
): Effect.Effect<Progress, StoreWriteError, Store> =>
  step("reconcile", progress, (progress) => {
    const discrepancies = reconcile(start.positions, progress.orders, final)
    return Effect.succeed(
      withWarnings(
        { ...progress, discrepancies },
        discrepancies.map((d) =>
          `${d.symbol}: expected ${format(d.expected)} after the fills, broker reports ${format(d.actual)}`
        )
      )
    )
  })
