/**
 * The run's steps, each a named function: load, snapshot, guards, plan, the sell phase,
 * waiting for a phase's orders, re-planning the buys, the buy phase, the final snapshot
 * and reconciling. A step takes what the steps before it produced and returns what the
 * next needs, along with the run's `Progress` (progress.ts).
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Broker, type BrokerOrder, isTerminal } from "../../effects/Broker.ts"
import { type AccountStage, type OnOpenOrders, type PlanStage, Store, type StoreError } from "../../effects/Store.ts"
import { type Decimal, format, isZero, max, ZERO } from "../../kernel/decimal.ts"
import type { Order, Phase } from "../../kernel/rebalance/orders.ts"
import { type Policy, withVenueRules } from "../../kernel/rebalance/policy.ts"
import { makeModel, planBuys, planRebalance, type Rebalance } from "../../kernel/rebalance/rebalance.ts"
import { reconcile } from "../../kernel/rebalance/reconcile.ts"
import { type Account, bySymbol, type Position, type Quote } from "../../kernel/rebalance/snapshot.ts"
import type { Targets } from "../../kernel/rebalance/targets.ts"
import { storedPlan } from "../documents/plan.ts"
import { brokerStop, type Progress, step, Stop, withWarnings } from "./progress.ts"
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
  /** How long to wait for each phase's orders to finish (default 60 s). */
  readonly fillTimeout: Duration.Input
  /** How often to ask the broker about orders the update stream has not finished. */
  readonly pollInterval: Duration.Input
  /** Said on the run's summary (warnings from resolving the targets, e.g. a strategy left in cash). */
  readonly notes?: ReadonlyArray<string>
}

/** What the broker says of the account and of the market for its symbols, sorted by symbol. */
export interface BrokerSnapshot {
  readonly cash: Decimal
  readonly equity: Decimal
  readonly positions: ReadonlyArray<Position>
  readonly quotes: ReadonlyArray<Quote>
}

/** The targets' symbols and those held, sorted: what a run prices. */
const universe = (symbols: ReadonlyArray<string>, positions: ReadonlyArray<Position>): ReadonlyArray<string> =>
  [...new Set([...symbols, ...positions.map((p) => p.symbol)])].sort()

const readBroker = (symbols: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const account = yield* broker.account
    const positions = yield* broker.positions
    const quotes = yield* broker.quotes(universe(symbols, positions))
    return {
      cash: account.cash,
      equity: account.equity,
      positions: [...positions].sort(bySymbol),
      quotes: [...quotes].sort(bySymbol)
    } satisfies BrokerSnapshot
  })

/**
 * The account at a stage of the run: read from the broker (a failure stops the run) and saved
 * in the Store under that stage.
 */
const snapshotAt = (stage: AccountStage, symbols: ReadonlyArray<string>, progress: Progress) =>
  Effect.gen(function*() {
    const snapshot = yield* readBroker(symbols).pipe(Effect.mapError(brokerStop("snapshot", progress)))
    const { cash, equity, positions } = snapshot
    yield* (yield* Store).saveAccount({
      runId: progress.runId,
      stage,
      cash,
      equity,
      positions,
      at: yield* Clock.currentTimeMillis
    })
    return snapshot
  })

const savePlan = (runId: string, phase: PlanStage, plan: Rebalance) =>
  Effect.flatMap(Store, (store) => Effect.flatMap(storedPlan(plan), (json) => store.savePlan(runId, phase, json)))

/** What the kernel plans from: the cash and the positions actually held. */
const accountOf = (snapshot: BrokerSnapshot): Account => ({
  cash: snapshot.cash,
  positions: snapshot.positions.filter((p) => !isZero(p.quantity))
})

export interface Loaded {
  readonly progress: Progress
  /** The targets' symbols, which every snapshot prices. */
  readonly symbols: ReadonlyArray<string>
}

/** Load: the targets and policy are validated already; what the run prices is the targets' symbols. */
export const load = (request: RunRequest, progress: Progress): Effect.Effect<Loaded, StoreError, Store> =>
  step(
    "load",
    progress,
    (progress) => Effect.succeed({ progress, symbols: request.targets.weights.map((t) => t.symbol) }),
    { account: request.account }
  )

export interface Snapshotted {
  readonly progress: Progress
  readonly start: BrokerSnapshot
  /** Open orders at the broker, left by an earlier run (or placed outside Keel). */
  readonly open: ReadonlyArray<BrokerOrder>
  /** The request's policy under the venue's rules. */
  readonly policy: Policy
}

/** Snapshot: the account at the start (saved), its open orders, and the policy under the venue's rules. */
export const snapshot = (
  request: RunRequest,
  loaded: Loaded
): Effect.Effect<Snapshotted, Stop | StoreError, Broker | Store> =>
  step("snapshot", loaded.progress, (progress) =>
    Effect.gen(function*() {
      const broker = yield* Broker
      const start = yield* snapshotAt("start", loaded.symbols, progress)
      const open = yield* broker.openOrders.pipe(Effect.mapError(brokerStop("open orders", progress)))
      const known: Progress = { ...progress, cash: { before: start.cash, after: start.cash } }
      const venue = yield* venuePolicy(request.policy, universe(loaded.symbols, start.positions), known)
      return { ...venue, start, open }
    }))

/**
 * A fractional policy under the venue's rules: symbols it trades in whole shares only
 * get lots of one share, and no order is smaller than its fractional minimum. A
 * whole-share policy never asks the venue.
 */
const venuePolicy = (policy: Policy, symbols: ReadonlyArray<string>, progress: Progress) =>
  Effect.gen(function*() {
    if (policy.shares === "whole") return { policy, progress }
    const broker = yield* Broker
    const assets = yield* broker.assets(symbols).pipe(Effect.mapError(brokerStop("assets", progress)))
    const wholeShares = assets.filter((a) => !a.fractionable).map((a) => a.symbol)
    const untradable = assets.filter((a) => !a.tradable).map((a) => a.symbol)
    const minOrderValue = assets.reduce((m, a) => (a.fractionable ? max(m, a.minFractionalOrderValue) : m), ZERO)
    return {
      policy: withVenueRules(policy, { wholeShares, minOrderValue }),
      progress: withWarnings(progress, [
        ...(wholeShares.length > 0
          ? [`not fractionable at the venue, traded in whole shares: ${wholeShares.join(", ")}`]
          : []),
        ...(untradable.length > 0 ? [`not tradable at the venue: ${untradable.join(", ")}`] : [])
      ])
    }
  })

/** Guards: the market is open (or the run only previews), and open orders are dealt with as the request says. */
export const guards = (
  request: RunRequest,
  snapshotted: Snapshotted
): Effect.Effect<Progress, Stop | StoreError, Broker | Store> =>
  step(
    "guards",
    snapshotted.progress,
    (progress) =>
      marketHours(request, progress).pipe(
        Effect.flatMap((progress) => openOrders(request, snapshotted.open, progress))
      ),
    { openOrders: snapshotted.open.length }
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

const openOrders = (request: RunRequest, open: ReadonlyArray<BrokerOrder>, progress: Progress) =>
  Effect.gen(function*() {
    if (open.length === 0) return progress
    if (!request.execute) {
      // A preview never touches the account: it only says what an execution would do.
      return withWarnings(progress, [
        `${open.length} open order(s) from an earlier run; an execution would ${
          request.onOpenOrders === "abort" ? "abort" : "cancel them"
        }`
      ])
    }
    if (request.onOpenOrders === "abort") {
      return yield* new Stop({
        status: "aborted",
        category: "guard",
        reason: `${open.length} open order(s) from an earlier run`,
        progress
      })
    }
    const broker = yield* Broker
    const store = yield* Store
    yield* Effect.forEach(open, (o) => broker.cancelOrder(o.id), { discard: true }).pipe(
      Effect.mapError(brokerStop("cancel open orders", progress))
    )
    // The earlier run's intents say what became of their orders (an order placed
    // outside Keel has no intent, and that is fine).
    const at = yield* Clock.currentTimeMillis
    yield* Effect.forEach(
      open,
      (o) =>
        store.updateIntent(o.clientOrderId, { status: "canceled", reason: `cancelled by run ${progress.runId}`, at })
          .pipe(Effect.ignore),
      { discard: true }
    )
    return withWarnings(progress, [`cancelled ${open.length} open order(s) from an earlier run`])
  })

export interface Planned {
  readonly progress: Progress
  readonly plan: Rebalance
}

/** Plan: the kernel's plan from the start snapshot, saved; a preview ends here. */
export const plan = (
  request: RunRequest,
  snapshotted: Snapshotted,
  progress: Progress
): Effect.Effect<Planned, StoreError, Store> =>
  step("plan", progress, (progress) =>
    Effect.gen(function*() {
      const { policy, start } = snapshotted
      const planned = planRebalance(accountOf(start), makeModel(request.targets, start.quotes, policy))
      // A preview reports the plan's cash; an execution only ever the broker's.
      const cash = request.execute ? progress.cash : { ...progress.cash, after: planned.orders.cash.after }
      const next = withWarnings({ ...progress, plan: planned, cash }, planned.warnings.map((w) => w.message))
      yield* savePlan(progress.runId, "plan", planned)
      return { progress: next, plan: planned }
    }))

/** The sell phase: the plan's sells. A sell of everything the account held at the start closes the position. */
export const sellPhase = (
  tracker: Tracker,
  snapshotted: Snapshotted,
  planned: Planned
): Effect.Effect<Progress, Stop | StoreError, Broker | Store> =>
  sendPhase(
    "sell",
    tracker,
    planned.plan.orders.orders.filter((o) => o.phase === "sell"),
    new Map(snapshotted.start.positions.map((p) => [p.symbol, p.quantity])),
    planned.progress
  )

/** The buy phase: the re-planned buys. */
export const buyPhase = (
  tracker: Tracker,
  replanned: Planned
): Effect.Effect<Progress, Stop | StoreError, Broker | Store> =>
  sendPhase(
    "buy",
    tracker,
    replanned.plan.orders.orders.filter((o) => o.phase === "buy"),
    new Map(),
    replanned.progress
  )

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
): Effect.Effect<Progress, Stop | StoreError, Broker | Store> =>
  step(
    `${phase}-phase`,
    progress,
    (progress) =>
      Effect.reduce(orders, () => progress, (sent, order) => {
        const closesPosition = order.side === "sell" && held.get(order.symbol)?.eq(order.quantity) === true
        return submit(tracker, order, closesPosition).pipe(
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
): Effect.Effect<Progress, Stop | StoreError, Broker | Store> => {
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

/** Re-plan the buys: a fresh snapshot (saved), and the buys planned from the cash the sells really left. */
export const replanBuys = (
  request: RunRequest,
  loaded: Loaded,
  snapshotted: Snapshotted,
  progress: Progress
): Effect.Effect<Planned, Stop | StoreError, Broker | Store> =>
  step("replan-buys", progress, (progress) =>
    Effect.gen(function*() {
      const fresh = yield* snapshotAt("after-sells", loaded.symbols, progress)
      const buys = planBuys(accountOf(fresh), makeModel(request.targets, fresh.quotes, snapshotted.policy))
      yield* savePlan(progress.runId, "buy-replan", buys)
      return { progress: { ...progress, cash: { ...progress.cash, after: fresh.cash }, buys }, plan: buys }
    }))

export interface Finished {
  readonly progress: Progress
  readonly final: BrokerSnapshot
}

/** Final snapshot: the account as the broker reports it after the run (saved). */
export const finalSnapshot = (
  loaded: Loaded,
  progress: Progress
): Effect.Effect<Finished, Stop | StoreError, Broker | Store> =>
  step("final-snapshot", progress, (progress) =>
    Effect.gen(function*() {
      const final = yield* snapshotAt("final", loaded.symbols, progress)
      return { progress: { ...progress, cash: { ...progress.cash, after: final.cash } }, final }
    }))

/** Reconcile: start + every fill against the final positions; each difference is a warning, never ignored. */
export const reconcileFills = (
  snapshotted: Snapshotted,
  finished: Finished
): Effect.Effect<Progress, StoreError, Store> =>
  step("reconcile", finished.progress, (progress) => {
    const discrepancies = reconcile(snapshotted.start.positions, progress.orders, finished.final.positions)
    return Effect.succeed(
      withWarnings(
        { ...progress, discrepancies },
        discrepancies.map((d) =>
          `${d.symbol}: expected ${format(d.expected)} after the fills, broker reports ${format(d.actual)}`
        )
      )
    )
  })
