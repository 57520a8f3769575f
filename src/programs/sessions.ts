/**
 * A run as a session's outcome line tells it, and the comparison of two such lines.
 *
 * Both sides are read from a Store by the same function: the recording from the real
 * Store after the run, the replay from its in-memory Store (even when the replay stopped
 * at a divergence, whatever the program had decided by then is there).
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Struct from "effect/Struct"
import { OutcomeJson, type Placed, type Planned, PlannedJson } from "../effects/broker/recording/session.ts"
import { type PlanStage, Store, StoreError } from "../effects/Store.ts"
import { format, isZero } from "../kernel/decimal.ts"
import { heldAfterFills } from "../kernel/rebalance/reconcile.ts"

/** The run as a session's outcome line tells it, without the line's type and time. */
export const OutcomeLine = OutcomeJson.mapFields(Struct.omit(["type", "t"]))
export type OutcomeLine = typeof OutcomeLine.Type

/** The orders of a stored plan (the plan document, src/programs/documents/plan.ts), as an outcome line keeps them. */
const decodePlanned = Schema.decodeUnknownEffect(
  Schema.fromJsonString(Schema.Struct({ orders: Schema.Array(PlannedJson) }))
)

const plannedOf = (json: string | undefined): Effect.Effect<ReadonlyArray<Planned> | null, StoreError> =>
  json === undefined ? Effect.succeed(null) : decodePlanned(json).pipe(
    Effect.map((plan) => plan.orders),
    Effect.mapError((e) => new StoreError({ operation: "plans", message: `a stored plan is not a plan: ${e.message}` }))
  )

/** The run's plan, buy re-plan, intents and final positions, from the Store. */
export const outcomeOf = (runId: string): Effect.Effect<OutcomeLine, StoreError, Store> =>
  Effect.gen(function*() {
    const store = yield* Store
    const run = yield* store.getRun(runId)
    const plans = yield* store.plans(runId)
    const planned = (stage: PlanStage) => plannedOf(plans.findLast((p) => p.stage === stage)?.json)
    const plan = yield* planned("plan")
    const buyReplan = yield* planned("buy-replan")
    const intents = yield* store.intents(runId)
    const accounts = yield* store.accounts(runId)
    const final = accounts.find((a) => a.stage === "final")
    const start = accounts.find((a) => a.stage === "start")
    return {
      status: Option.match(run, { onNone: () => "unknown", onSome: (r) => r.status }),
      step: Option.match(run, { onNone: () => "unknown", onSome: (r) => r.step }),
      plan,
      buyReplan,
      orders: intents.map((i) => ({
        clientOrderId: i.clientOrderId,
        phase: i.phase,
        side: i.side,
        symbol: i.symbol,
        quantity: format(i.quantity),
        status: i.status,
        filledQuantity: format(i.filledQuantity)
      })),
      positions: final !== undefined
        ? final.positions.map((p) => ({ symbol: p.symbol, quantity: format(p.quantity) }))
        : start === undefined
        ? null
        // Stopped before its final snapshot: the start positions plus every fill the Store holds.
        : [...heldAfterFills(start.positions, intents)]
          .filter(([, q]) => !isZero(q))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([symbol, q]) => ({ symbol, quantity: format(q) }))
    }
  })

const keyed = <A>(items: ReadonlyArray<A>, key: (a: A) => string): Map<string, A> =>
  new Map(items.map((a) => [key(a), a]))

/** Planned orders by phase, side and symbol: what changed, appeared or went. */
const plannedDifferences = (
  what: string,
  recorded: ReadonlyArray<Planned> | null,
  replayed: ReadonlyArray<Planned> | null
) => {
  if (recorded === null && replayed === null) return []
  if (recorded === null) return [`${what}: not made in the recording, now ${replayed!.length} order(s)`]
  if (replayed === null) return [`${what}: ${recorded.length} order(s) in the recording, not reached now`]
  // A phase only ever holds its own side (sells, then buys), so side and symbol name an order.
  const key = (o: Planned) => `${o.side} ${o.symbol}`
  const before = keyed(recorded, key)
  const after = keyed(replayed, key)
  const out: Array<string> = []
  for (const [k, o] of before) {
    const now = after.get(k)
    if (now === undefined) out.push(`${what}: ${k} ${o.quantity} no longer planned`)
    else if (now.quantity !== o.quantity) out.push(`${what}: ${k} recorded ${o.quantity}, now ${now.quantity}`)
  }
  for (const [k, o] of after) if (!before.has(k)) out.push(`${what}: ${k} ${o.quantity} is new`)
  return out
}

/** Placed orders compared without their client order ids (those embed each run's id). */
const placedDifferences = (recorded: ReadonlyArray<Placed>, replayed: ReadonlyArray<Placed>) => {
  const key = (o: Placed) => `${o.side} ${o.symbol}`
  const show = (o: Placed) => `${o.quantity} ${o.status} (filled ${o.filledQuantity})`
  const before = keyed(recorded, key)
  const after = keyed(replayed, key)
  const out: Array<string> = []
  for (const [k, o] of before) {
    const now = after.get(k)
    if (now === undefined) out.push(`orders: ${k} ${show(o)} not placed now`)
    else if (show(now) !== show(o)) out.push(`orders: ${k} recorded ${show(o)}, now ${show(now)}`)
  }
  for (const [k, o] of after) if (!before.has(k)) out.push(`orders: ${k} ${show(o)} is new`)
  return out
}

const positionDifferences = (recorded: OutcomeLine["positions"], replayed: OutcomeLine["positions"]) => {
  if (recorded === null || replayed === null) {
    return recorded === replayed
      ? []
      : [
        `final positions: ${recorded === null ? "none recorded" : "recorded"}, ${
          replayed === null ? "none now" : "present now"
        }`
      ]
  }
  const before = keyed(recorded, (p) => p.symbol)
  const after = keyed(replayed, (p) => p.symbol)
  const symbols = [...new Set([...before.keys(), ...after.keys()])].sort()
  return symbols.flatMap((s) => {
    const a = before.get(s)?.quantity ?? "0"
    const b = after.get(s)?.quantity ?? "0"
    return a === b ? [] : [`final positions: ${s} recorded ${a}, now ${b}`]
  })
}

/** Every difference between the recorded outcome and the replayed one, one line each. */
export const outcomeDifferences = (recorded: OutcomeLine, replayed: OutcomeLine): ReadonlyArray<string> => [
  ...(recorded.status === replayed.status && recorded.step === replayed.step
    ? []
    : [`run: recorded ${recorded.status} at ${recorded.step}, now ${replayed.status} at ${replayed.step}`]),
  ...plannedDifferences("plan", recorded.plan, replayed.plan),
  ...plannedDifferences("buy re-plan", recorded.buyReplan, replayed.buyReplan),
  ...placedDifferences(recorded.orders, replayed.orders),
  ...positionDifferences(recorded.positions, replayed.positions)
]
