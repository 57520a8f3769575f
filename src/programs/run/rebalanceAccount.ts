/**
 * rebalanceAccount: one account, one run, against whatever Broker and Store the Layers supply.
 *
 * load → snapshot → guards → plan (persisted; a preview stops here) → sell phase → wait
 * for the sells → fresh snapshot and re-plan the buys from the cash really there → buy
 * phase → wait → final snapshot → reconcile. Every step is recorded before it starts, so
 * `rebalance status` shows where a run stands and why it stopped; every intent is stored
 * before it is sent. The run's outcome is returned, never thrown: only a Store that cannot
 * be written fails the program (then nothing can be promised).
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import { Broker, type BrokerOrder } from "../../effects/Broker.ts"
import { Notifier, type RunSummary } from "../../effects/Notifier.ts"
import {
  type AccountStage,
  type OnOpenOrders,
  type Run,
  type RunStatus,
  type RunStep,
  Store,
  type StoreError
} from "../../effects/Store.ts"
import { type Decimal, format, isZero, max, ZERO } from "../../kernel/decimal.ts"
import type { Order, Phase } from "../../kernel/rebalance/orders.ts"
import type { Model } from "../../kernel/rebalance/plan.ts"
import { type Policy, validatePolicy, withVenueRules } from "../../kernel/rebalance/policy.ts"
import { makeModel, planBuys, planRebalance, type Rebalance } from "../../kernel/rebalance/rebalance.ts"
import { type Account, bySymbol, type Position } from "../../kernel/rebalance/snapshot.ts"
import { validateTargets } from "../../kernel/rebalance/targets.ts"
import { planJson } from "../cli/plan.ts"
import {
  ExecutionHalted,
  type Filled,
  filledBySymbol,
  follow,
  submit,
  type Submitted,
  type Tracker,
  waitFor
} from "./execution.ts"
import { makeRunId } from "./ids.ts"

export interface RunRequest {
  readonly account: string
  /** Raw targets and policy, as read from their files; validated here by the kernel. */
  readonly targets: unknown
  readonly policy: unknown
  readonly execute: boolean
  /** Only honoured for a paper broker: real markets are traded only when open. */
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

export interface Discrepancy {
  readonly symbol: string
  readonly expected: Decimal
  readonly actual: Decimal
}

export interface RunOutcome {
  readonly run: Run
  readonly plan: Rebalance | undefined
  readonly buys: Rebalance | undefined
  readonly submitted: ReadonlyArray<Submitted>
  /** The broker's last word on every order of the run. */
  readonly orders: ReadonlyArray<BrokerOrder>
  readonly discrepancies: ReadonlyArray<Discrepancy>
  readonly summary: RunSummary
}

/** Why a run stopped early: the status it ends with and the error category for the summary. */
class Stop extends Data.TaggedError("Stop")<{
  readonly status: Exclude<RunStatus, "running" | "completed">
  readonly category: "input" | "broker" | "guard" | "timeout"
  readonly reason: string
}> {}

const brokerStop = (what: string) => (e: { readonly _tag: string; readonly message?: string }) =>
  new Stop({ status: "failed", category: "broker", reason: `${what}: ${e._tag}${e.message ? `: ${e.message}` : ""}` })

export const rebalanceAccount = (
  request: RunRequest
): Effect.Effect<RunOutcome, StoreError, Broker | Store | Notifier> =>
  Effect.scoped(
    Effect.gen(function*() {
      const broker = yield* Broker
      const store = yield* Store
      const notifier = yield* Notifier
      const id = yield* makeRunId
      const startedAt = yield* Clock.currentTimeMillis
      const mode = request.execute ? "execute" : "preview"
      yield* store.startRun({ id, account: request.account, mode, status: "running", step: "load", startedAt })
      const reached = yield* Ref.make<RunStep>("load")
      const enter = (step: RunStep, detail: Record<string, unknown> = {}) =>
        Effect.gen(function*() {
          yield* Ref.set(reached, step)
          yield* store.recordStep(id, step, JSON.stringify(detail), yield* Clock.currentTimeMillis)
        })
      const saveAccount = (stage: AccountStage, cash: Decimal, equity: Decimal, positions: ReadonlyArray<Position>) =>
        Effect.gen(function*() {
          yield* store.saveAccount({ runId: id, stage, cash, equity, positions, at: yield* Clock.currentTimeMillis })
        })

      const state = {
        plan: undefined as Rebalance | undefined,
        buys: undefined as Rebalance | undefined,
        submitted: [] as Array<Submitted>,
        orders: [] as ReadonlyArray<BrokerOrder>,
        discrepancies: [] as ReadonlyArray<Discrepancy>,
        cashBefore: ZERO,
        cashAfter: ZERO,
        warnings: [...(request.notes ?? [])] as Array<string>
      }

      const snapshot = (symbols: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          const account = yield* broker.account
          const positions = yield* broker.positions
          const all = [...new Set([...symbols, ...positions.map((p) => p.symbol)])].sort()
          const quotes = yield* broker.quotes(all)
          return { account, positions: [...positions].sort(bySymbol), quotes: [...quotes].sort(bySymbol) }
        }).pipe(Effect.mapError(brokerStop("snapshot")))

      const body = Effect.gen(function*() {
        yield* enter("load", { account: request.account })
        const policy = validatePolicy(request.policy)
        if (Result.isFailure(policy)) {
          return yield* new Stop({ status: "failed", category: "input", reason: policy.failure.message })
        }
        const targets = validateTargets(request.targets, policy.success)
        if (Result.isFailure(targets)) {
          return yield* new Stop({ status: "failed", category: "input", reason: targets.failure.message })
        }
        const symbols = targets.success.weights.map((t) => t.symbol)

        yield* enter("snapshot")
        const first = yield* snapshot(symbols)
        const open = yield* broker.openOrders.pipe(Effect.mapError(brokerStop("open orders")))
        state.cashBefore = first.account.cash
        state.cashAfter = first.account.cash
        yield* saveAccount("start", first.account.cash, first.account.equity, first.positions)
        const tradingPolicy = yield* venuePolicy(
          policy.success,
          [
            ...new Set([
              ...symbols,
              ...first.positions.map((p) => p.symbol)
            ])
          ].sort()
        )

        yield* enter("guards", { openOrders: open.length })
        const clock = yield* broker.clock.pipe(Effect.mapError(brokerStop("market clock")))
        if (!clock.isOpen && !(broker.capabilities.marketClock === "simulated" && request.ignoreMarketHours)) {
          const closed = `the market is closed (next open ${nextOpen(clock.nextOpen)})`
          // A preview changes nothing, so it may plan while the market is closed.
          if (!request.execute) state.warnings.push(closed)
          else return yield* new Stop({ status: "aborted", category: "guard", reason: closed })
        }
        if (open.length > 0 && !request.execute) {
          // A preview never touches the account: it only says what an execution would do.
          state.warnings.push(
            `${open.length} open order(s) from an earlier run; an execution would ${
              request.onOpenOrders === "abort" ? "abort" : "cancel them"
            }`
          )
        } else if (open.length > 0) {
          if (request.onOpenOrders === "abort") {
            return yield* new Stop({
              status: "aborted",
              category: "guard",
              reason: `${open.length} open order(s) from an earlier run`
            })
          }
          yield* Effect.forEach(open, (o) => broker.cancelOrder(o.id), { discard: true }).pipe(
            Effect.mapError(brokerStop("cancel open orders"))
          )
          // The earlier run's intents say what became of their orders (an order placed
          // outside Keel has no intent, and that is fine).
          const at = yield* Clock.currentTimeMillis
          yield* Effect.forEach(
            open,
            (o) =>
              store.updateIntent(o.clientOrderId, { status: "canceled", reason: `cancelled by run ${id}`, at }).pipe(
                Effect.ignore
              ),
            { discard: true }
          )
          state.warnings.push(`cancelled ${open.length} open order(s) from an earlier run`)
        }

        yield* enter("plan")
        const market = makeModel(targets.success, first.quotes, tradingPolicy)
        const planned = planRebalance(accountOf(first.account.cash, first.positions), market)
        state.plan = planned
        // A preview reports the plan's cash; an execution only ever the broker's.
        if (!request.execute) state.cashAfter = planned.orders.cash.after
        state.warnings.push(...planned.warnings.map((w) => w.message))
        yield* store.savePlan(id, "plan", JSON.stringify(planJson(planned)))
        if (!request.execute) return

        const tracker = yield* follow(id)
        const sells = planned.orders.orders.filter((o) => o.phase === "sell")
        yield* phase(tracker, "sell", sells, new Map(first.positions.map((p) => [p.symbol, p.quantity])))

        yield* enter("replan-buys")
        const fresh = yield* snapshot(symbols)
        state.cashAfter = fresh.account.cash
        yield* saveAccount("after-sells", fresh.account.cash, fresh.account.equity, fresh.positions)
        const rebuilt: Model = makeModel(targets.success, fresh.quotes, tradingPolicy)
        const buys = planBuys(accountOf(fresh.account.cash, fresh.positions), rebuilt)
        state.buys = buys
        yield* store.savePlan(id, "buy-replan", JSON.stringify(planJson(buys)))
        yield* phase(tracker, "buy", buys.orders.orders.filter((o) => o.phase === "buy"), new Map())

        yield* enter("final-snapshot")
        const last = yield* snapshot(symbols)
        state.cashAfter = last.account.cash
        yield* saveAccount("final", last.account.cash, last.account.equity, last.positions)

        yield* enter("reconcile")
        state.discrepancies = reconcile(first.positions, state.orders, last.positions)
        state.warnings.push(
          ...state.discrepancies.map((d) =>
            `${d.symbol}: expected ${format(d.expected)} after the fills, broker reports ${format(d.actual)}`
          )
        )
      })

      /**
       * A fractional policy under the venue's rules: symbols it trades in whole shares only
       * get lots of one share, and no order is smaller than its fractional minimum. A
       * whole-share policy never asks the venue.
       */
      const venuePolicy = (policy: Policy, symbols: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          if (policy.shares === "whole") return policy
          const assets = yield* broker.assets(symbols).pipe(Effect.mapError(brokerStop("assets")))
          const wholeShares = assets.filter((a) => !a.fractionable).map((a) => a.symbol)
          if (wholeShares.length > 0) {
            state.warnings.push(`not fractionable at the venue, traded in whole shares: ${wholeShares.join(", ")}`)
          }
          const untradable = assets.filter((a) => !a.tradable).map((a) => a.symbol)
          if (untradable.length > 0) state.warnings.push(`not tradable at the venue: ${untradable.join(", ")}`)
          const minOrderValue = assets.reduce((m, a) => (a.fractionable ? max(m, a.minFractionalOrderValue) : m), ZERO)
          return withVenueRules(policy, { wholeShares, minOrderValue })
        })

      /**
       * Sends one phase's orders (intents stored first) and waits for them to finish. A sell of
       * everything `held` says the account holds closes the position.
       */
      const phase = (
        tracker: Tracker,
        name: Phase,
        orders: ReadonlyArray<Order>,
        held: ReadonlyMap<string, Decimal>
      ) =>
        Effect.gen(function*() {
          yield* enter(name === "sell" ? "sell-phase" : "buy-phase", { orders: orders.length })
          for (const order of orders) {
            const closesPosition = order.side === "sell" && held.get(order.symbol)?.eq(order.quantity) === true
            state.submitted.push(
              yield* submit(tracker, order, closesPosition).pipe(
                Effect.catchTag(
                  "ExecutionHalted",
                  (e: ExecutionHalted) =>
                    Effect.fail(new Stop({ status: "failed", category: "broker", reason: e.reason }))
                )
              )
            )
          }
          const ids = state.submitted.filter((s) => s.order.phase === name && s.placed !== undefined).map((s) =>
            s.clientOrderId
          )
          yield* enter(name === "sell" ? "sell-wait" : "buy-wait", { orders: ids.length })
          const waited = yield* waitFor(tracker, ids, request.fillTimeout, request.pollInterval)
          const known = new Map(state.orders.map((o) => [o.clientOrderId, o]))
          for (const o of waited.orders) known.set(o.clientOrderId, o)
          state.orders = [...known.values()]
          if (waited.timedOut) {
            const open = waited.orders.filter((o) => o.status === "accepted" || o.status === "partially_filled").length
            return yield* new Stop({
              status: "timed_out",
              category: "timeout",
              reason: `${open} ${name} order(s) not finished after ${
                Duration.format(Duration.fromInputUnsafe(request.fillTimeout))
              }${name === "sell" ? "; no buys placed" : ""}`
            })
          }
        })

      const stopped = yield* body.pipe(
        Effect.as(undefined),
        Effect.catchTag("Stop", (stop: Stop) => Effect.succeed(stop)),
        // The Store itself failed: try once to mark the run failed, so it is not left "running".
        Effect.tapError((e) =>
          Effect.flatMap(
            Clock.currentTimeMillis,
            (at) => store.finishRun(id, "failed", `store: ${e.operation}: ${e.message}`, at)
          ).pipe(
            Effect.ignore
          )
        )
      )
      const step = yield* Ref.get(reached)
      const status: Exclude<RunStatus, "running"> = stopped === undefined ? "completed" : stopped.status
      const finishedAt = yield* Clock.currentTimeMillis
      if (stopped === undefined) yield* enter("done")
      yield* store.finishRun(id, status, stopped?.reason, finishedAt)
      const rejected = state.submitted.filter((s) => s.placed === undefined)
      // Accepted first and rejected later (Alpaca's usual way): said like a refusal at submit.
      const rejectedLater = state.orders.filter((o) => o.status === "rejected")
      const summary: RunSummary = {
        runId: id,
        account: request.account,
        mode,
        status,
        step: stopped === undefined ? "done" : step,
        ...(stopped === undefined ? {} : { reason: stopped.reason }),
        orders: {
          placed: state.submitted.length - rejected.length,
          filled: state.orders.filter((o) => o.status === "filled").length,
          failed: rejected.length + state.orders.filter((o) => o.status === "rejected" || o.status === "expired").length
        },
        cash: { before: format(state.cashBefore), after: format(state.cashAfter) },
        warnings: [
          ...state.warnings,
          ...rejected.map((r) => `${r.order.symbol}: ${r.order.side} rejected: ${r.rejection}`),
          ...rejectedLater.map((o) =>
            `${o.symbol}: ${o.side} rejected after it was accepted${o.reason === undefined ? "" : `: ${o.reason}`}`
          )
        ],
        errors: errorCounts(stopped, rejected.length + rejectedLater.length)
      }
      const notified = yield* notifier.notify(summary).pipe(Effect.result)
      const run: Run = {
        id,
        account: request.account,
        mode,
        status,
        step: summary.step as RunStep,
        ...(stopped === undefined ? {} : { reason: stopped.reason }),
        startedAt,
        finishedAt
      }
      return {
        run,
        plan: state.plan,
        buys: state.buys,
        submitted: state.submitted,
        orders: state.orders,
        discrepancies: state.discrepancies,
        summary: Result.isFailure(notified)
          ? { ...summary, warnings: [...summary.warnings, `notification failed: ${notified.failure.message}`] }
          : summary
      }
    })
  )

/** The next open, or "never" for a market that is not going to open (a paper market configured closed). */
const nextOpen = (at: Option.Option<number>): string =>
  Option.match(at, { onNone: () => "never", onSome: (millis) => new Date(millis).toISOString() })

const accountOf = (cash: Decimal, positions: ReadonlyArray<Position>): Account => ({
  cash,
  positions: positions.filter((p) => !isZero(p.quantity))
})

const errorCounts = (stopped: Stop | undefined, rejections: number): Readonly<Record<string, number>> => {
  const out: Record<string, number> = {}
  if (rejections > 0) out["rejected"] = rejections
  if (stopped !== undefined) out[stopped.category] = (out[stopped.category] ?? 0) + 1
  return out
}

/** What the account holds once every fill of `orders` is applied to `start` (buys positive). */
export const heldAfterFills = (
  start: ReadonlyArray<Position>,
  orders: ReadonlyArray<Filled>
): ReadonlyMap<string, Decimal> => {
  const held = new Map<string, Decimal>()
  for (const p of start) held.set(p.symbol, p.quantity)
  for (const [symbol, change] of filledBySymbol(orders)) held.set(symbol, (held.get(symbol) ?? ZERO).plus(change))
  return held
}

/**
 * Expected positions = start + every fill of the run (buys positive); any symbol where the
 * broker reports something else is a discrepancy, reported and never ignored.
 */
export const reconcile = (
  start: ReadonlyArray<Position>,
  orders: ReadonlyArray<BrokerOrder>,
  final: ReadonlyArray<Position>
): ReadonlyArray<Discrepancy> => {
  const expected = heldAfterFills(start, orders)
  const actual = new Map(final.map((p) => [p.symbol, p.quantity]))
  const symbols = [...new Set([...expected.keys(), ...actual.keys()])].sort()
  const out: Array<Discrepancy> = []
  for (const symbol of symbols) {
    const e = expected.get(symbol) ?? ZERO
    const a = actual.get(symbol) ?? ZERO
    if (!e.eq(a)) out.push({ symbol, expected: e, actual: a })
  }
  return out
}
